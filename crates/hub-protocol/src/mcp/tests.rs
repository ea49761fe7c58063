use proptest::prelude::*;
use serde_json::{Value, json};

use super::*;

fn raw(v: &Value) -> Box<RawValue> {
    serde_json::value::to_raw_value(v).unwrap()
}

#[test]
fn initialize_params_keep_unknown_fields() {
    let v = json!({
        "protocolVersion": "2025-11-25",
        "capabilities": {"roots": {"listChanged": true}, "x-custom": 1},
        "clientInfo": {"name": "c", "version": "1", "title": "Client", "icons": []},
        "_meta": {"k": "v"},
        "futureField": [1, 2]
    });
    let p: InitializeParams = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(p.protocol_version, "2025-11-25");
    assert_eq!(p.client_info.extra["title"], "Client");
    assert_eq!(serde_json::to_value(&p).unwrap(), v);
}

#[test]
fn initialize_result_round_trips() {
    let v = json!({
        "protocolVersion": "2025-06-18",
        "capabilities": {"tools": {"listChanged": true}},
        "serverInfo": {"name": "s", "version": "2"},
        "instructions": "use me",
        "_meta": {}
    });
    let r: InitializeResult = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(r.instructions.as_deref(), Some("use me"));
    assert_eq!(serde_json::to_value(&r).unwrap(), v);
}

#[test]
fn list_kinds_map_methods_keys_and_capabilities() {
    for k in ListKind::ALL {
        assert_eq!(ListKind::from_method(k.method()), Some(k));
    }
    assert_eq!(ListKind::from_method("tools/call"), None);
    assert_eq!(ListKind::ResourceTemplates.result_key(), "resourceTemplates");
    assert_eq!(ListKind::ResourceTemplates.item_key(), "uriTemplate");
    assert_eq!(ListKind::ResourceTemplates.capability(), "resources");
}

#[test]
fn list_page_reads_items_cursor_and_extras() {
    let result = json!({
        "tools": [{"name": "a", "inputSchema": {"type": "object"}, "icons": [1]}, 7, {"name": "b"}],
        "nextCursor": "p2",
        "_meta": {"x": 1}
    });
    let page = ListPage::from_result(ListKind::Tools, &raw(&result)).unwrap();
    assert_eq!(page.items.len(), 2, "non-object items are dropped");
    assert_eq!(page.items[0]["icons"], json!([1]));
    assert_eq!(page.next_cursor.as_deref(), Some("p2"));
    assert_eq!(page.extra["_meta"], json!({"x": 1}));

    let empty = ListPage::from_result(ListKind::Prompts, &raw(&json!({"nextCursor": ""}))).unwrap();
    assert!(empty.items.is_empty());
    assert_eq!(empty.next_cursor, None, "an empty cursor ends pagination");

    let err = ListPage::from_result(ListKind::Prompts, &raw(&json!([1]))).unwrap_err();
    assert!(err.message.contains("prompts/list"), "{}", err.message);
}

#[test]
fn call_params_keep_meta() {
    let v = json!({"name": "t", "arguments": {"a": 1}, "_meta": {"progressToken": 5}});
    let p: CallToolParams = serde_json::from_value(v.clone()).unwrap();
    assert_eq!(p.extra["_meta"]["progressToken"], 5);
    assert_eq!(serde_json::to_value(&p).unwrap(), v);
    let g: GetPromptParams = serde_json::from_value(json!({"name": "p"})).unwrap();
    assert_eq!(g.arguments, None);
    let r: ReadResourceParams = serde_json::from_value(json!({"uri": "file:///x"})).unwrap();
    assert_eq!(r.uri, "file:///x");
}

fn arb_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        any::<i64>().prop_map(Value::from),
        ".{0,8}".prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Null),
    ]
}

fn arb_extra() -> impl Strategy<Value = Extra> {
    prop::collection::btree_map("x[a-zA-Z_]{0,6}", arb_leaf(), 0..5)
        .prop_map(|m| m.into_iter().collect())
}

proptest! {
    #[test]
    fn unknown_fields_survive_typed_views(extra in arb_extra(), name in ".{1,10}") {
        let mut v = json!({"name": name, "arguments": {"k": 1}});
        v.as_object_mut().unwrap().extend(extra.clone());
        let p: CallToolParams = serde_json::from_value(v.clone()).unwrap();
        prop_assert_eq!(&p.extra, &extra);
        prop_assert_eq!(serde_json::to_value(&p).unwrap(), v);
    }

    #[test]
    fn list_page_round_trips(items in prop::collection::vec(arb_extra(), 0..5),
                             cursor in prop::option::of("[a-z0-9]{1,8}"),
                             extra in arb_extra()) {
        let page = ListPage { items, next_cursor: cursor, extra };
        let v = page.to_result(ListKind::Resources);
        let back = ListPage::from_result(ListKind::Resources, &raw(&v)).unwrap();
        prop_assert_eq!(back, page);
    }
}

#[test]
fn cancelled_params_take_either_id_form_and_refuse_others() {
    let p: CancelledParams =
        serde_json::from_str(r#"{"requestId": 7, "reason": "user", "_meta": {}}"#).unwrap();
    assert_eq!((p.request_id, p.reason.as_deref()), (crate::Id::Number(7), Some("user")));
    assert!(p.extra.contains_key("_meta"));
    let p: CancelledParams = serde_json::from_str(r#"{"requestId": "a-1"}"#).unwrap();
    assert_eq!(p.request_id, crate::Id::String("a-1".into()));
    for bad in [r#"{"requestId": 1.5}"#, r#"{"requestId": null}"#, r#"{"reason": "x"}"#] {
        assert!(serde_json::from_str::<CancelledParams>(bad).is_err(), "{bad}");
    }
}
