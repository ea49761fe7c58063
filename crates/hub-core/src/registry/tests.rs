use serde_json::json;

use super::*;

fn items(v: serde_json::Value) -> Vec<Extra> {
    serde_json::from_value(v).unwrap()
}

#[test]
fn ids_are_sanitized_like_mcp_hub() {
    assert_eq!(sanitize_id("github"), "github");
    assert_eq!(sanitize_id("my-server.v2"), "my_server_v2");
    assert_eq!(sanitize_id("naïve"), "na_ve");
}

#[test]
fn colliding_ids_get_stable_suffixes_in_config_order() {
    assert_eq!(
        assign_ids(["a-b", "a.b", "a_b", "c"], &HashSet::new()),
        ["a_b", "a_b_1", "a_b_2", "c"]
    );
    // A name that sanitizes to an already-suffixed id still gets a unique one.
    assert_eq!(assign_ids(["x_1", "x-1", "x", "x."], &HashSet::new()), ["x_1", "x_1_1", "x", "x_"]);
}

#[test]
fn build_namespaces_and_indexes_every_kind() {
    let a = Lists {
        tools: items(
            json!([{"name": "echo", "inputSchema": {"type": "object"}, "annotations": {"x": 1}}]),
        ),
        resources: items(json!([{"uri": "file:///a", "name": "a"}])),
        resource_templates: items(json!([{"uriTemplate": "file:///{p}", "name": "t"}])),
        prompts: items(json!([{"name": "greet"}, {"name": "greet", "dup": true}])),
    };
    let b = Lists { tools: items(json!([{"name": "echo"}, {"no_name": 1}])), ..Lists::default() };
    let reg = Registry::build([
        Contribution { server: 0, id: "srv_a", lists: &a },
        Contribution { server: 3, id: "b", lists: &b },
    ]);
    let names: Vec<_> = reg.tools.items.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["srv_a__echo", "b__echo"]);
    assert_eq!(reg.tools.items[0]["annotations"], json!({"x": 1}), "definitions pass untouched");
    assert_eq!(
        reg.lookup(ListKind::Tools, "b__echo"),
        Some(&Target { server: 3, original: "echo".into() })
    );
    assert_eq!(reg.lookup(ListKind::Tools, "echo"), None);
    assert_eq!(reg.prompts.items.len(), 1, "duplicate names inside one server keep the first");
    assert_eq!(reg.resources.items[0]["uri"], "srv_a__file:///a");
    assert_eq!(reg.resource_templates.items[0]["uriTemplate"], "srv_a__file:///{p}");
}

#[test]
fn resource_lookup_falls_back_to_id_prefix_for_template_uris() {
    let a = Lists { resources: items(json!([{"uri": "demo://x__y"}])), ..Lists::default() };
    let reg = Registry::build([Contribution { server: 1, id: "s", lists: &a }]);
    assert_eq!(
        reg.lookup_resource("s__demo://x__y"),
        Some(Target { server: 1, original: "demo://x__y".into() })
    );
    assert_eq!(
        reg.lookup_resource("s__file:///expanded/1"),
        Some(Target { server: 1, original: "file:///expanded/1".into() })
    );
    assert_eq!(reg.lookup_resource("other__file:///x"), None);
    assert_eq!(reg.lookup_resource("no-delimiter"), None);
}

#[test]
fn hidden_capabilities_are_left_out() {
    let lists = Lists {
        tools: items(json!([{"name": "keep"}, {"name": "drop"}])),
        resources: items(json!([{"uri": "a://1"}, {"uri": "a://2"}])),
        resource_templates: items(json!([{"uriTemplate": "t://{x}"}])),
        prompts: items(json!([{"name": "p"}])),
    };
    let hidden = hub_config::Hidden {
        tools: vec!["drop".into(), "absent".into()],
        resources: vec!["a://2".into()],
        resource_templates: vec!["t://{x}".into()],
        prompts: vec![],
    };
    let v = lists.visible(&hidden);
    assert_eq!(v.tools, items(json!([{"name": "keep"}])));
    assert_eq!(v.resources, items(json!([{"uri": "a://1"}])));
    assert!(v.resource_templates.is_empty());
    assert_eq!(v.prompts.len(), 1);
    assert_eq!(lists.visible(&hub_config::Hidden::default()), lists);
}
