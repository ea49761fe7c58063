use proptest::prelude::*;
use serde_json::json;

use super::*;

fn dec(s: &str) -> Result<Message, DecodeError> {
    decode(s.as_bytes())
}

fn code_of(s: &str) -> i64 {
    dec(s).expect_err("should not decode").code()
}

#[test]
fn decodes_request_with_number_and_string_ids() {
    let Message::Request(r) = dec(r#"{"jsonrpc":"2.0","id":7,"method":"tools/list"}"#).unwrap()
    else {
        panic!("not a request")
    };
    assert_eq!(r.id, Id::Number(7));
    assert_eq!(r.method, "tools/list");
    assert!(r.params.is_none());

    let Message::Request(r) =
        dec(r#"{"jsonrpc":"2.0","id":"abc","method":"x","params":{"a":1}}"#).unwrap()
    else {
        panic!("not a request")
    };
    assert_eq!(r.id, Id::String("abc".into()));
    assert_eq!(r.params.unwrap().get(), r#"{"a":1}"#);
}

#[test]
fn decodes_notification_and_responses() {
    assert!(matches!(
        dec(r#"{"jsonrpc":"2.0","method":"notifications/initialized"}"#).unwrap(),
        Message::Notification(n) if n.method == "notifications/initialized"
    ));
    let Message::Response(r) = dec(r#"{"jsonrpc":"2.0","id":1,"result":{"ok":true}}"#).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.outcome.unwrap().get(), r#"{"ok":true}"#);
    let Message::Response(r) =
        dec(r#"{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"bad"}}"#).unwrap()
    else {
        panic!()
    };
    assert_eq!(r.id, None);
    assert_eq!(r.outcome.unwrap_err().code, -32700);
    // A null result is still a result.
    let Message::Response(r) = dec(r#"{"jsonrpc":"2.0","id":2,"result":null}"#).unwrap() else {
        panic!()
    };
    assert_eq!(r.outcome.unwrap().get(), "null");
}

#[test]
fn malformed_json_is_parse_error() {
    for s in ["", "{", "{\"jsonrpc\":", "not json", "{\"a\":1}}", "[1,"] {
        assert_eq!(code_of(s), PARSE_ERROR, "{s:?}");
    }
    assert_eq!(
        decode(b"{\"jsonrpc\":\"2.0\",\"method\":\"\xff\"}").unwrap_err().code(),
        PARSE_ERROR
    );
}

#[test]
fn wrong_shapes_are_invalid_request() {
    let cases = [
        "5",
        "\"str\"",
        "null",
        r#"{"id":1,"method":"x"}"#,
        r#"{"jsonrpc":"1.0","id":1,"method":"x"}"#,
        r#"{"jsonrpc":2.0,"id":1,"method":"x"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":5}"#,
        r#"{"jsonrpc":"2.0","id":null,"method":"x"}"#,
        r#"{"jsonrpc":"2.0","id":1.5,"method":"x"}"#,
        r#"{"jsonrpc":"2.0","id":true,"method":"x"}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","params":3}"#,
        r#"{"jsonrpc":"2.0","id":1}"#,
        r#"{"jsonrpc":"2.0"}"#,
        r#"{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"m"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":"x"}}"#,
        r#"{"jsonrpc":"2.0","id":1,"method":"x","result":{}}"#,
    ];
    for s in cases {
        assert_eq!(code_of(s), INVALID_REQUEST, "{s}");
    }
}

#[test]
fn invalid_request_keeps_a_readable_id() {
    let err = dec(r#"{"jsonrpc":"1.0","id":"k","method":"x"}"#).unwrap_err();
    assert_eq!(err.to_response().id, Some(Id::String("k".into())));
    let err = dec("not json").unwrap_err();
    let resp = Message::Response(err.to_response());
    let v: serde_json::Value = serde_json::from_slice(&resp.to_vec()).unwrap();
    assert_eq!(v["id"], serde_json::Value::Null);
    assert_eq!(v["error"]["code"], json!(-32700));
}

#[test]
fn batches_are_detected_and_decoded_element_wise() {
    let body = r#"[{"jsonrpc":"2.0","id":1,"method":"a"}, 5, {"jsonrpc":"2.0","method":"n"}]"#;
    assert_eq!(dec(body).unwrap_err(), DecodeError::Batch);
    let items = decode_batch(body.as_bytes()).unwrap();
    assert!(matches!(items[0], Ok(Message::Request(_))));
    assert_eq!(items[1].as_ref().unwrap_err().code(), INVALID_REQUEST);
    assert!(matches!(items[2], Ok(Message::Notification(_))));
    assert_eq!(decode_batch(b"[]").unwrap_err().code(), INVALID_REQUEST);
    assert_eq!(decode_batch(b"[[]]").unwrap()[0].as_ref().unwrap_err().code(), INVALID_REQUEST);
}

#[test]
fn encoding_has_exact_shape() {
    let req = Message::Request(Request::new(3, "ping", None));
    assert_eq!(
        String::from_utf8(req.to_vec()).unwrap(),
        r#"{"jsonrpc":"2.0","id":3,"method":"ping"}"#
    );
    let err = Message::Response(Response::err(
        Some(Id::from("x")),
        ErrorObject::new(METHOD_NOT_FOUND, "nope").with_data(&json!({"m":"q"})),
    ));
    assert_eq!(
        String::from_utf8(err.to_vec()).unwrap(),
        r#"{"jsonrpc":"2.0","id":"x","error":{"code":-32601,"message":"nope","data":{"m":"q"}}}"#
    );
}

#[test]
fn params_parse_into_typed_views_with_clear_errors() {
    #[derive(serde::Deserialize)]
    struct P {
        name: String,
    }
    let r = Request::new(1, "tools/call", Some(&json!({"name": "t"})));
    assert_eq!(r.parse_params::<P>().unwrap().name, "t");
    let r = Request::new(1, "tools/call", None);
    let e = r.parse_params::<P>().err().unwrap();
    assert_eq!(e.code, INVALID_PARAMS);
    assert!(e.message.contains("name"), "{}", e.message);
}

fn arb_json() -> impl Strategy<Value = serde_json::Value> {
    let leaf = prop_oneof![
        Just(serde_json::Value::Null),
        any::<bool>().prop_map(serde_json::Value::from),
        any::<i64>().prop_map(serde_json::Value::from),
        any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(serde_json::Value::from),
        ".{0,12}".prop_map(serde_json::Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
        ]
    })
}

fn arb_id() -> impl Strategy<Value = Id> {
    prop_oneof![any::<i64>().prop_map(Id::Number), ".{0,10}".prop_map(Id::String)]
}

fn arb_params() -> impl Strategy<Value = Option<serde_json::Value>> {
    prop::option::of(
        prop::collection::btree_map("[a-z_]{1,6}", arb_json(), 0..4)
            .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
    )
}

fn arb_message() -> impl Strategy<Value = Message> {
    prop_oneof![
        (arb_id(), "[a-z/]{1,16}", arb_params())
            .prop_map(|(id, m, p)| Message::Request(Request::new(id, m, p.as_ref()))),
        ("[a-z/]{1,16}", arb_params())
            .prop_map(|(m, p)| Message::Notification(Notification::new(m, p.as_ref()))),
        (arb_id(), arb_json()).prop_map(|(id, r)| Message::Response(Response::ok_value(id, &r))),
        (prop::option::of(arb_id()), any::<i64>(), ".{0,10}", prop::option::of(arb_json()))
            .prop_map(|(id, code, msg, data)| {
                let mut e = ErrorObject::new(code, msg);
                if let Some(d) = data {
                    e = e.with_data(&d);
                }
                Message::Response(Response::err(id, e))
            }),
    ]
}

proptest! {
    #[test]
    fn decode_encode_round_trip(msg in arb_message()) {
        let bytes = msg.to_vec();
        let back = decode(&bytes).unwrap();
        prop_assert_eq!(&back, &msg);
        prop_assert_eq!(back.to_vec(), bytes);
    }

    #[test]
    fn params_are_forwarded_byte_for_byte(p in arb_params().prop_filter("some", Option::is_some)) {
        // Whatever the upstream or client wrote inside params comes out unchanged, including key
        // order and numbers the hub never looks at.
        let text = serde_json::to_string(&p).unwrap();
        let wire = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"m","params":{text}}}"#);
        let Message::Request(r) = decode(wire.as_bytes()).unwrap() else { panic!() };
        let params = r.params.unwrap();
        prop_assert_eq!(params.get(), text.as_str());
    }

    #[test]
    fn decode_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        // Whatever the bytes, the answer is a message or one of the two decode error codes.
        if let Err(e) = decode(&bytes) {
            prop_assert!([PARSE_ERROR, INVALID_REQUEST].contains(&e.code()));
        }
        if let Err(e) = decode_batch(&bytes) {
            prop_assert!([PARSE_ERROR, INVALID_REQUEST].contains(&e.code()));
        }
    }
}
