//! The hub binary with the bundled demo server, driven over HTTP by a hand-written Rust client.

use std::time::Duration;

use serde_json::{Value, json};

use crate::support::{ACCEPT, HUB, Hub, Session, children_of, demo, is_running, names, reaper_of};

#[tokio::test]
async fn one_endpoint_lists_calls_reads_and_gets_across_servers() {
    let hub = Hub::start(&json!({"mcpServers": {
        // A page size of 2 makes the hub follow nextCursor to get every item.
        "demo": demo(&["--page-size", "2"]),
        "second-demo": demo(&[]),
    }}))
    .await;
    let mut s = Session::open(&hub).await;

    let tools = s.ok("tools/list", json!({})).await;
    let tool_names = names(&tools["tools"], "name");
    for t in ["echo", "add", "word_count", "utc_now", "sleep", "get_env", "toggle_bonus_tool"] {
        assert!(tool_names.contains(&format!("demo__{t}")), "{t} missing from {tool_names:?}");
        assert!(
            tool_names.contains(&format!("second_demo__{t}")),
            "{t} missing from {tool_names:?}"
        );
    }
    assert_eq!(tool_names.len(), 14);
    let add = tools["tools"].as_array().unwrap().iter().find(|t| t["name"] == "demo__add").unwrap();
    assert!(add["outputSchema"].is_object(), "definitions are forwarded untouched: {add}");

    let resources = s.ok("resources/list", json!({})).await;
    assert_eq!(
        names(&resources["resources"], "uri"),
        ["demo__demo://readme", "second_demo__demo://readme"]
    );
    let templates = s.ok("resources/templates/list", json!({})).await;
    assert_eq!(
        names(&templates["resourceTemplates"], "uriTemplate")[0],
        "demo__demo://greeting/{name}"
    );
    let prompts = s.ok("prompts/list", json!({})).await;
    assert_eq!(names(&prompts["prompts"], "name"), ["demo__summarize", "second_demo__summarize"]);

    let r = s.ok("tools/call", json!({"name": "demo__add", "arguments": {"a": 2, "b": 40}})).await;
    assert_eq!(r["content"][0]["text"], "42");
    assert_eq!(r["structuredContent"]["sum"], 42.0);
    assert_eq!(
        s.tool_text("second_demo__echo", json!({"text": "hi there"})).await,
        (false, "hi there".to_owned())
    );

    let read = s.ok("resources/read", json!({"uri": "demo__demo://readme"})).await;
    assert!(read["contents"][0]["text"].as_str().unwrap().contains("mcp-hub demo"), "{read}");
    assert_eq!(read["contents"][0]["uri"], "demo://readme", "the upstream saw its own URI");
    let expanded = s.ok("resources/read", json!({"uri": "second_demo__demo://greeting/Ada"})).await;
    assert_eq!(expanded["contents"][0]["text"], "Hello, Ada!");

    let prompt = s
        .ok(
            "prompts/get",
            json!({"name": "demo__summarize", "arguments": {"text": "Rust is fast."}}),
        )
        .await;
    assert!(
        prompt["messages"][0]["content"]["text"].as_str().unwrap().ends_with("Rust is fast."),
        "{prompt}"
    );

    // Unknown names are JSON-RPC -32602 with the name in the message.
    for (method, params, needle) in [
        ("tools/call", json!({"name": "demo__nope"}), "unknown tool 'demo__nope'"),
        ("tools/call", json!({"name": "nope"}), "unknown tool 'nope'"),
        ("prompts/get", json!({"name": "x__y"}), "unknown prompt 'x__y'"),
        ("resources/read", json!({"uri": "nobody__file:///x"}), "unknown resource"),
    ] {
        let v = s.call(method, params).await;
        assert_eq!(v["error"]["code"], -32602, "{v}");
        assert!(v["error"]["message"].as_str().unwrap().contains(needle), "{v}");
    }
    // An upstream's own JSON-RPC error is forwarded as it is.
    let v = s.call("tools/call", json!({"name": "demo__add", "arguments": {"a": 1}})).await;
    assert_eq!(v["error"]["code"], -32602);
    assert!(v["error"]["message"].as_str().unwrap().contains("'b'"), "{v}");
    // Unknown methods get an error (the Python SDK probes `server/discover` and falls back).
    let v = s.call("server/discover", json!({})).await;
    assert_eq!(v["error"]["code"], -32601);
    assert_eq!(s.ok("ping", json!({})).await, json!({}));

    let health: Value = crate::support::http_client()
        .get(hub.url("/api/health"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(health["server_id"], "mcp-hub");
    assert_eq!(health["status"], "ok");
    assert_eq!(health["version"], "4.2.1");
    assert_eq!(health["mcpEndpoint"]["registeredCapabilities"]["tools"], 14);
    assert_eq!(health["mcpEndpoint"]["activeClients"], 1);
    assert_eq!(hub.stop().await, Some(0));
}

#[tokio::test]
async fn broken_disabled_and_invalid_entries_do_not_stop_the_others() {
    let hub = Hub::start(&json!({"mcpServers": {
        "missing-binary": {"command": "/nonexistent/mcp-server-xyz", "args": []},
        "off": {"command": HUB, "args": ["demo-server"], "disabled": true},
        "typo": {"command": HUB, "args": "demo-server"},
        "needs-var": {"command": HUB, "args": ["demo-server", "${HUB_IT_SURELY_UNSET_VAR}"]},
        "demo": demo(&[]),
    }}))
    .await;
    let missing = hub.server("missing-binary").await;
    assert_eq!(missing["status"], "disconnected");
    let err = missing["error"].as_str().unwrap();
    assert!(err.contains("failed to start `/nonexistent/mcp-server-xyz`"), "{err}");
    assert!(err.contains("No such file"), "{err}");
    assert_eq!(hub.server("off").await["status"], "disabled");
    let typo = hub.server("typo").await;
    assert_eq!(typo["status"], "disconnected");
    assert!(typo["error"].as_str().unwrap().contains("mcpServers.typo.args"), "{typo}");
    let var = hub.server("needs-var").await;
    assert!(
        var["error"].as_str().unwrap().contains("'HUB_IT_SURELY_UNSET_VAR' not found"),
        "{var}"
    );

    let d = hub.server("demo").await;
    assert_eq!(d["status"], "connected");
    assert_eq!(d["transportType"], "stdio");
    assert_eq!(d["serverInfo"]["name"], "mcp-hub-demo");
    assert_eq!(d["capabilities"]["tools"].as_array().unwrap().len(), 7);
    assert!(d["config_source"].as_str().unwrap().ends_with(".json"));
    assert!(d["lastStarted"].as_str().unwrap().ends_with('Z'));

    let mut s = Session::open(&hub).await;
    assert_eq!(s.tool_text("demo__echo", json!({"text": "still here"})).await.1, "still here");
    let log = hub.log.lock().unwrap().clone();
    assert!(log.contains("mcpServers.typo.args"), "config problems are logged: {log}");
    hub.stop().await;
}

#[tokio::test]
async fn child_environment_is_the_allowlist_plus_the_servers_env() {
    let hub = Hub::start(&json!({"mcpServers": {
        "demo": {"command": HUB, "args": ["demo-server"], "env": {"GREETING": "hello ${HOME}"}},
    }}))
    .await;
    let mut s = Session::open(&hub).await;
    let home = std::env::var("HOME").unwrap();
    assert_eq!(
        s.tool_text("demo__get_env", json!({"name": "GREETING"})).await,
        (false, format!("hello {home}"))
    );
    assert_eq!(s.tool_text("demo__get_env", json!({"name": "HOME"})).await.1, home);
    // Cargo sets CARGO_PKG_NAME for the test process, so the hub has it; the child must not.
    let (is_error, text) = s.tool_text("demo__get_env", json!({"name": "CARGO_PKG_NAME"})).await;
    assert!(is_error, "the hub's other variables are not inherited: {text}");
    hub.stop().await;
}

#[tokio::test]
async fn sessions_origin_and_protocol_version_are_enforced() {
    let hub = Hub::start(&json!({"mcpServers": {"demo": demo(&[])}})).await;
    let http = crate::support::http_client();
    let mcp = hub.url("/mcp");
    let list = json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"});
    let r = http.post(&mcp).header("accept", ACCEPT).json(&list).send().await.unwrap();
    assert_eq!(r.status(), 400, "a session is required");
    let r = http
        .post(&mcp)
        .header("accept", ACCEPT)
        .header("mcp-session-id", "0123456789abcdef")
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404, "unknown session");

    let s = Session::open(&hub).await;
    assert_eq!(s.id.len(), 32);
    assert!(s.id.chars().all(|c| c.is_ascii_hexdigit()));
    let r = http
        .post(&mcp)
        .header("accept", ACCEPT)
        .header("mcp-session-id", &s.id)
        .header("mcp-protocol-version", "1999-01-01")
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400, "unsupported protocol version");
    let r = http
        .post(&mcp)
        .header("accept", ACCEPT)
        .header("mcp-session-id", &s.id)
        .header("origin", "http://evil.example.com")
        .json(&list)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403, "DNS-rebinding protection");
    let r =
        http.get(hub.url("/api/servers")).header("host", "evil.example.com").send().await.unwrap();
    assert_eq!(r.status(), 403, "Host is checked on the REST API too");

    let r = http.delete(&mcp).header("mcp-session-id", &s.id).send().await.unwrap();
    assert!(r.status().is_success());
    let r = s.post(&list).await;
    assert_eq!(r.status(), 404, "a deleted session is gone");
    hub.stop().await;
}

#[tokio::test]
async fn a_crashed_server_is_noticed_and_the_others_keep_working() {
    // Automatic restarts off (mcp-hub's behaviour), so the crashed server stays down while the
    // test looks; tests/it/supervision.rs covers the restart.
    let hub = Hub::start(&json!({
        "mcpServers": {"fragile": demo(&["--test-tools"]), "steady": demo(&[])},
        "hub": {"supervision": {"restart": {"maxRestarts": 0}}},
    }))
    .await;
    let mut s = Session::open(&hub).await;
    let (is_error, text) = s.tool_text("fragile__crash", json!({})).await;
    assert!(is_error, "the caller gets an answer, not a hang: {text}");
    assert!(text.contains("fragile"), "{text}");

    let mut status = Value::Null;
    for _ in 0..50 {
        status = hub.server("fragile").await;
        if status["status"] == "disconnected" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status["status"], "disconnected", "{status}");
    assert!(status["error"].as_str().unwrap().contains("exit"), "{status}");
    let tools = names(&s.ok("tools/list", json!({})).await["tools"], "name");
    assert!(tools.iter().all(|t| !t.starts_with("fragile__")), "{tools:?}");
    // Its tools are unlisted, but a call still says what happened rather than "unknown tool".
    let (is_error, text) = s.tool_text("fragile__echo", json!({"text": "x"})).await;
    assert!(is_error, "{text}");
    assert!(text.contains("server 'fragile' is not connected") && text.contains("exit"), "{text}");
    let v = s.call("tools/call", json!({"name": "nosuch__echo", "arguments": {}})).await;
    assert_eq!(v["error"]["code"], -32602, "a name no server owns is unknown: {v}");
    assert_eq!(s.tool_text("steady__echo", json!({"text": "fine"})).await.1, "fine");
    hub.stop().await;
}

#[tokio::test]
async fn tool_list_changes_reach_an_open_get_stream() {
    let hub = Hub::start(&json!({"mcpServers": {"demo": demo(&[])}})).await;
    let mut s = Session::open(&hub).await;
    let mut stream = s.open_stream().await;
    assert_eq!(s.tool_text("demo__toggle_bonus_tool", json!({})).await.1, "bonus tool added");
    let got = stream.wait_for("notifications/tools/list_changed", Duration::from_secs(10)).await;
    assert!(got, "stream so far: {:?}", stream.seen);
    let tools = names(&s.ok("tools/list", json!({})).await["tools"], "name");
    assert!(tools.contains(&"demo__bonus".to_owned()), "{tools:?}");
    hub.stop().await;
}

#[tokio::test]
async fn sigterm_stops_the_hub_and_every_child() {
    let hub = Hub::start(&json!({"mcpServers": {"a": demo(&[]), "b": demo(&[])}})).await;
    let children = children_of(hub.pid());
    assert_eq!(children.len(), 2, "one process per server: {children:?}");
    assert_eq!(hub.stop().await, Some(0), "clean exit");
    for pid in children {
        let gone = matches!(
            nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid), None),
            Err(nix::errno::Errno::ESRCH)
        ) || std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .is_ok_and(|s| s.contains(") Z"));
        assert!(gone, "child {pid} outlived the hub");
    }
}

#[tokio::test]
async fn no_child_or_grandchild_outlives_a_hub_killed_with_sigkill() {
    // `b` leaves a grandchild in its process group, as `npx` or a shell wrapper would.
    let b = json!({"command": "sh", "args": ["-c", format!("sleep 300 & exec {HUB} demo-server")]});
    let hub = Hub::start(&json!({"mcpServers": {"a": demo(&[]), "b": b}})).await;
    let children = children_of(hub.pid());
    assert_eq!(children.len(), 2, "one process per server: {children:?}");
    let grandchildren: Vec<i32> =
        children.iter().flat_map(|&c| children_of(u32::try_from(c).unwrap())).collect();
    assert_eq!(grandchildren.len(), 1, "b's sleep: {grandchildren:?}");
    let reaper = reaper_of(hub.pid()).expect("the hub runs a reaper");
    // No chance to stop anything in order: the reaper must clean up.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(i32::try_from(hub.pid()).unwrap()),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let everyone: Vec<i32> = children.iter().chain(&grandchildren).copied().collect();
    let gone = tokio::time::timeout(Duration::from_secs(10), async {
        while everyone.iter().any(|&p| is_running(p)) || is_running(reaper) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    let left: Vec<i32> = everyone.iter().copied().filter(|&p| is_running(p)).collect();
    assert!(gone.is_ok(), "still running 10 s after the hub was killed: {left:?}, reaper {reaper}");
}

#[tokio::test]
async fn disabled_tools_and_prompts_are_hidden_from_mcp_but_listed_in_the_api() {
    let mut entry = demo(&[]);
    entry["disabled_tools"] = json!(["add", "sleep"]);
    entry["disabled_prompts"] = json!(["summarize"]);
    entry["disabled_resourceTemplates"] = json!(["demo://greeting/{name}"]);
    let hub = Hub::start(&json!({"mcpServers": {"demo": entry}})).await;
    let mut s = Session::open(&hub).await;
    let tools = names(&s.ok("tools/list", json!({})).await["tools"], "name");
    assert!(
        !tools.contains(&"demo__add".to_owned()) && !tools.contains(&"demo__sleep".to_owned()),
        "{tools:?}"
    );
    assert!(tools.contains(&"demo__echo".to_owned()), "{tools:?}");
    let v = s.call("tools/call", json!({"name": "demo__add", "arguments": {"a": 1, "b": 2}})).await;
    assert_eq!(v["error"]["code"], -32602, "a hidden tool cannot be called: {v}");
    assert!(s.ok("prompts/list", json!({})).await["prompts"].as_array().unwrap().is_empty());
    assert!(
        s.ok("resources/templates/list", json!({})).await["resourceTemplates"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    let api = hub.server("demo").await;
    let api_tools = names(&api["capabilities"]["tools"], "name");
    assert!(
        api_tools.contains(&"add".to_owned()),
        "the editor still sees everything: {api_tools:?}"
    );
    hub.stop().await;
}

#[tokio::test]
async fn a_client_cancellation_stops_the_call_here_and_upstream() {
    let hub = Hub::start(&json!({"mcpServers": {"demo": demo(&["--test-tools"])}})).await;
    let mut s = Session::open(&hub).await;
    let call = json!({"jsonrpc": "2.0", "id": "slow-1", "method": "tools/call",
                      "params": {"name": "demo__sleep", "arguments": {"ms": 30000}}});
    let waiting = s.fork();
    let started = tokio::time::Instant::now();
    let pending = tokio::spawn(async move { waiting.post(&call).await.json::<Value>().await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cancel = json!({"jsonrpc": "2.0", "method": "notifications/cancelled",
                        "params": {"requestId": "slow-1", "reason": "user pressed stop"}});
    assert_eq!(s.post(&cancel).await.status(), 202);
    let answer = tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("answered at once, not after the 30 s sleep")
        .unwrap()
        .unwrap();
    assert_eq!(answer["error"]["code"], -32800, "{answer}");
    assert!(started.elapsed() < Duration::from_secs(5));
    // The upstream was told too, and stopped its work.
    assert!(
        saw_one_cancellation(&mut s).await,
        "the demo server never saw notifications/cancelled"
    );
    // Cancelling something already answered, or unknown, is harmless.
    assert_eq!(s.post(&cancel).await.status(), 202);
    assert_eq!(s.tool_text("demo__echo", json!({"text": "still fine"})).await.1, "still fine");
    hub.stop().await;
}

#[tokio::test]
async fn closing_a_session_cancels_what_it_still_waits_for() {
    let hub = Hub::start(&json!({"mcpServers": {"demo": demo(&["--test-tools"])}})).await;
    let s = Session::open(&hub).await;
    let call = json!({"jsonrpc": "2.0", "id": 7, "method": "tools/call",
                      "params": {"name": "demo__sleep", "arguments": {"ms": 30000}}});
    let waiting = s.fork();
    let pending = tokio::spawn(async move { waiting.post(&call).await.status() });
    tokio::time::sleep(Duration::from_millis(300)).await;
    let deleted = s.http.delete(&s.url).header("mcp-session-id", &s.id).send().await.unwrap();
    assert_eq!(deleted.status(), 200);
    tokio::time::timeout(Duration::from_secs(5), pending)
        .await
        .expect("the pending call ended with the session")
        .unwrap();
    let mut other = Session::open(&hub).await;
    assert!(
        saw_one_cancellation(&mut other).await,
        "the upstream call of a closed session was not cancelled"
    );
    hub.stop().await;
}

#[tokio::test]
async fn lists_are_paged_with_the_hubs_own_cursors_when_a_page_size_is_set() {
    let config = json!({"hub": {"http": {"pageSize": 2}},
                        "mcpServers": {"a": demo(&[]), "b": demo(&[])}});
    let hub = Hub::start(&config).await;
    let mut s = Session::open(&hub).await;
    let mut names_seen = Vec::new();
    let mut cursor: Option<String> = None;
    for _ in 0..20 {
        let params = match &cursor {
            Some(c) => json!({"cursor": c}),
            None => json!({}),
        };
        let page = s.ok("tools/list", params).await;
        let tools = page["tools"].as_array().unwrap();
        assert!(tools.len() <= 2, "{page}");
        names_seen.extend(names(&page["tools"], "name"));
        match page["nextCursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    let mut sorted = names_seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names_seen.len(), "no tool twice: {names_seen:?}");
    assert!(
        names_seen.contains(&"a__echo".to_owned()) && names_seen.contains(&"b__echo".to_owned())
    );
    assert!(names_seen.len() > 4, "every page was followed: {names_seen:?}");
    // A cursor of another list, or a made-up one, is refused.
    let tools_cursor = s.ok("tools/list", json!({})).await["nextCursor"].clone();
    let v = s.call("prompts/list", json!({"cursor": tools_cursor})).await;
    assert_eq!(v["error"]["code"], -32602, "{v}");
    let v = s.call("tools/list", json!({"cursor": "not-ours"})).await;
    assert_eq!(v["error"]["code"], -32602, "{v}");
    hub.stop().await;
}

#[tokio::test]
async fn a_client_that_drops_its_connection_mid_call_cancels_the_call_upstream() {
    let hub = Hub::start(&json!({"mcpServers": {"demo": demo(&["--test-tools"])}})).await;
    let mut s = Session::open(&hub).await;
    let call = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call",
                      "params": {"name": "demo__sleep", "arguments": {"ms": 30000}}});
    // A client that gives up after 300 ms and closes its connection, sending nothing else.
    let impatient = crate::support::http_client()
        .post(hub.url("/mcp"))
        .header("accept", crate::support::ACCEPT)
        .header("mcp-session-id", &s.id)
        .header("mcp-protocol-version", "2025-11-25")
        .timeout(Duration::from_millis(300))
        .json(&call)
        .send()
        .await;
    assert!(impatient.is_err(), "the call cannot have been answered in 300 ms");
    assert!(
        saw_one_cancellation(&mut s).await,
        "the upstream call outlived its client's connection"
    );
    hub.stop().await;
}

/// Whether the demo server (`--test-tools`) reports within 5 s that one request was stopped by
/// `notifications/cancelled`.
async fn saw_one_cancellation(s: &mut Session) -> bool {
    let counted = tokio::time::timeout(Duration::from_secs(5), async {
        while s.tool_text("demo__cancellations", json!({})).await.1 != "1" {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    });
    counted.await.is_ok()
}
