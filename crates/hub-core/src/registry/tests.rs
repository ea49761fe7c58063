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
        Contribution { server: 0, id: "srv_a", lists: &a, prefix: Prefix::Always },
        Contribution { server: 3, id: "b", lists: &b, prefix: Prefix::Always },
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
    let reg =
        Registry::build([Contribution { server: 1, id: "s", lists: &a, prefix: Prefix::Always }]);
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

#[test]
fn servers_without_prefix_keep_their_names_and_the_first_keeps_a_shared_one() {
    let conf = Lists {
        tools: items(json!([{"name": "echo"}, {"name": "only_conf"}])),
        resources: items(json!([{"uri": "test://static-text"}])),
        resource_templates: items(json!([{"uriTemplate": "test://template/{id}/data"}])),
        prompts: items(json!([{"name": "greet"}])),
    };
    let other = Lists {
        tools: items(json!([{"name": "echo"}, {"name": "mine"}])),
        resource_templates: items(json!([{"uriTemplate": "other://{+path}"}])),
        ..Lists::default()
    };
    let prefixed = Lists { tools: items(json!([{"name": "echo"}])), ..Lists::default() };
    let reg = Registry::build([
        Contribution { server: 0, id: "conf", lists: &conf, prefix: Prefix::Never },
        Contribution { server: 1, id: "other", lists: &other, prefix: Prefix::Never },
        Contribution { server: 2, id: "p", lists: &prefixed, prefix: Prefix::Always },
    ]);
    let names: Vec<_> = reg.tools.items.iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["echo", "only_conf", "other__echo", "mine", "p__echo"]);
    assert_eq!(reg.collisions, [("other".to_owned(), "echo".to_owned())]);
    let route = |name| reg.lookup(ListKind::Tools, name).map(|t| (t.server, t.original.as_str()));
    assert_eq!(route("echo"), Some((0, "echo")));
    assert_eq!(route("other__echo"), Some((1, "echo")));
    assert_eq!(route("mine"), Some((1, "mine")));
    assert_eq!(reg.resources.items[0]["uri"], "test://static-text", "URIs untouched too");

    // URIs: listed, expanded from a template (matched per server), else the first bare server.
    let server = |uri| reg.lookup_resource(uri).map(|t| (t.server, t.original));
    assert_eq!(server("test://static-text"), Some((0, "test://static-text".into())));
    assert_eq!(server("test://template/123/data"), Some((0, "test://template/123/data".into())));
    assert_eq!(server("other://a/b/c"), Some((1, "other://a/b/c".into())));
    assert_eq!(server("unknown://x"), Some((0, "unknown://x".into())));
    assert_eq!(server("p__file:///x"), Some((2, "file:///x".into())), "prefixed form still works");
    assert_eq!(
        reg.lookup_template("test://template/{id}/data").map(|t| t.server),
        Some(0),
        "completion refs name templates as listed"
    );
}

#[test]
fn without_any_bare_server_an_unknown_uri_is_unknown() {
    let a = Lists { resources: items(json!([{"uri": "file:///a"}])), ..Lists::default() };
    let reg =
        Registry::build([Contribution { server: 0, id: "a", lists: &a, prefix: Prefix::Always }]);
    assert_eq!(reg.lookup_resource("file:///a"), None, "only the prefixed URI is listed");
    assert_eq!(reg.lookup_resource("unknown://x"), None);
}

#[test]
fn uri_templates_match_literals_in_order_and_simple_expressions_within_a_segment() {
    for (template, uri, expected) in [
        ("test://template/{id}/data", "test://template/123/data", true),
        ("test://template/{id}/data", "test://template/1/2/data", false),
        ("test://template/{id}/data", "test://template//data", false),
        ("test://template/{id}/data", "test://template/123/data/x", false),
        ("file:///{+path}", "file:///a/b/c.txt", true),
        ("a{x}b{y}", "a1b2", true),
        ("a{x}b{y}", "ab2", false),
        ("plain://x", "plain://x", true),
        ("plain://x", "plain://y", false),
    ] {
        assert_eq!(template_matches(template, uri), expected, "{template} vs {uri}");
    }
    assert!(!template_matches("x://{+p}", &format!("x://{}", "a".repeat(MAX_URI_MATCH))));
}

#[test]
fn tool_names_are_kept_within_mcps_rules() {
    let none = |_: &str| false;
    assert_eq!(valid_tool_name("srv__get-file.v2", none), "srv__get-file.v2");
    assert_eq!(valid_tool_name("srv__get file/now", none), "srv__get_file_now");
    let long = format!("srv__{}", "x".repeat(200));
    let valid = valid_tool_name(&long, none);
    assert_eq!(valid.len(), MAX_TOOL_NAME);
    assert!(valid.ends_with("_1"));
    let taken = |n: &str| n.ends_with("_1");
    assert!(valid_tool_name(&long, taken).ends_with("_2"), "a taken name gets the next number");
    // Through the registry: a long upstream name is listed valid and routes back to it.
    let l = Lists {
        tools: items(json!([{"name": "x".repeat(200)}, {"name": "a b"}])),
        ..Lists::default()
    };
    let reg =
        Registry::build([Contribution { server: 0, id: "s", lists: &l, prefix: Prefix::Always }]);
    let names: Vec<String> =
        reg.tools.items.iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect();
    assert!(names.iter().all(|n| n.len() <= MAX_TOOL_NAME));
    assert_eq!(names[1], "s__a_b");
    assert_eq!(reg.lookup(ListKind::Tools, &names[0]).unwrap().original, "x".repeat(200));
    assert_eq!(reg.lookup(ListKind::Tools, "s__a_b").unwrap().original, "a b");
}

#[test]
fn cursors_are_opaque_and_checked() {
    let c = cursor(ListKind::Tools, 50);
    assert!(c.chars().all(|ch| ch.is_ascii_hexdigit()), "{c}");
    assert_eq!(cursor_offset(ListKind::Tools, &c), Some(50));
    assert_eq!(cursor_offset(ListKind::Prompts, &c), None, "another list's cursor");
    for forged in ["", "zz", "abc", "746f6f6c73", &"ab".repeat(100)] {
        assert_eq!(cursor_offset(ListKind::Tools, forged), None, "{forged}");
    }
}
