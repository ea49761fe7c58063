//! The HTTP transports against scripted fake servers on 127.0.0.1 (see `fake`).

mod fake;

use std::{
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use futures_util::future::join_all;
use hub_protocol::{Id, Message, Response};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use self::fake::{End, Fake, Reply, Seen, event, notification, result};
use super::{HttpSettings, HttpSpec, HttpTransport, SESSION_EXPIRED, SESSION_UNKNOWN, connect};
use crate::{
    Error, Incoming, Peer,
    testing::{LONG, json, next_notification, params, within},
};

const SESSION: &str = "sess-1";
const VERSION: &str = "2025-06-18";

/// A plain reqwest client. The ring provider is installed first: when this crate is built
/// together with hub-pool, reqwest has `rustls-no-provider` and panics without one.
fn client() -> reqwest::Client {
    if rustls::crypto::CryptoProvider::get_default().is_none()
        && rustls::crypto::ring::default_provider().install_default().is_err()
    {
        // Another test installed it meanwhile.
    }
    reqwest::Client::builder().build().expect("builds")
}

/// Short delays, so reconnection tests stay fast.
fn settings() -> HttpSettings {
    HttpSettings {
        connect_timeout: Duration::from_secs(2),
        send_timeout: Duration::from_secs(2),
        shutdown_timeout: Duration::from_secs(1),
        default_retry: Duration::from_millis(50),
        max_retry: Duration::from_millis(200),
        resume_attempts: 3,
        ..HttpSettings::default()
    }
}

fn spec(url: String, transport: HttpTransport) -> HttpSpec {
    HttpSpec {
        url,
        headers: vec![("x-api-key".to_owned(), "k3y".to_owned())],
        transport,
        limit: None,
    }
}

async fn open(fake: &Fake, path: &str, transport: HttpTransport) -> (Peer, Incoming) {
    within(5, connect("fake", &spec(fake.url(path), transport), &settings(), client()))
        .await
        .expect("connects")
}

fn init_params() -> Option<Box<hub_protocol::RawValue>> {
    params(&json!({
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": { "name": "test", "version": "0" },
    }))
}

fn init_result(id: &Value) -> Value {
    result(
        id,
        json!({ "protocolVersion": VERSION, "capabilities": {}, "serverInfo": { "name": "fake", "version": "1" } }),
    )
}

/// `initialize` then `notifications/initialized`, as the hub does.
async fn initialize(peer: &Peer) {
    let init =
        within(5, peer.request("initialize", init_params(), LONG)).await.expect("initialized");
    assert_eq!(json(&init)["protocolVersion"], VERSION);
    within(5, peer.notify("notifications/initialized", None)).await.expect("accepted");
}

/// What a plain streamable server answers: GET 405, notifications and responses 202, `echo`
/// its params as JSON, anything else -32601.
fn plain(seen: &Seen) -> Reply {
    if seen.method == "GET" {
        return Reply::Status(405);
    }
    if seen.body.get("id").is_none() || seen.body.get("method").is_none() {
        return Reply::Status(202);
    }
    match seen.rpc() {
        Some("echo") => Reply::Json(200, result(&seen.id(), seen.body["params"].clone()), vec![]),
        _ => Reply::Json(
            200,
            json!({ "jsonrpc": "2.0", "id": seen.id(), "error": { "code": -32601, "message": "no such method" } }),
            vec![],
        ),
    }
}

/// A streamable server at `/mcp`: `initialize` is answered with JSON, protocol `VERSION` and
/// session `SESSION`; afterwards a POST or GET without the session gets 400; DELETE gets 200;
/// everything else is `other`'s.
fn streamable(
    other: impl Fn(&Seen) -> Reply + Send + Sync + 'static,
) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |seen| {
        if seen.path != "/mcp" {
            return Reply::Status(404);
        }
        if seen.is("POST", "initialize") {
            return Reply::Json(
                200,
                init_result(&seen.id()),
                vec![("mcp-session-id", SESSION.to_owned())],
            );
        }
        if seen.header("mcp-session-id") != Some(SESSION) {
            return Reply::Text(400, "missing session");
        }
        if seen.method == "DELETE" {
            return Reply::Status(200);
        }
        other(seen)
    }
}

#[test]
fn settings_defaults() {
    let settings = HttpSettings::default();
    assert_eq!(settings.connect_timeout, Duration::from_secs(10));
    assert_eq!(settings.send_timeout, Duration::from_secs(30));
    assert_eq!(settings.shutdown_timeout, Duration::from_secs(2));
    assert_eq!(settings.max_event_bytes, 16 * 1024 * 1024);
    assert_eq!(settings.max_body_bytes, 16 * 1024 * 1024);
    assert_eq!(settings.resume_attempts, 5);
    assert_eq!(settings.default_retry, Duration::from_secs(1));
    assert_eq!(settings.max_retry, Duration::from_secs(30));
    assert_eq!(settings.incoming_capacity, 1024);
}

#[test]
fn spec_debug_hides_header_values_credentials_and_query() {
    let spec = HttpSpec {
        url: "https://user:pa55@example.com/mcp?api_key=k3y".to_owned(),
        headers: vec![("Authorization".to_owned(), "Bearer s3cr3t".to_owned())],
        transport: HttpTransport::Auto,
        limit: None,
    };
    let debug = format!("{spec:?}");
    assert!(debug.contains("Authorization"), "{debug}");
    assert!(debug.contains(r#"url: "https://example.com/mcp?…""#), "{debug}");
    for secret in ["s3cr3t", "pa55", "k3y", "user"] {
        assert!(!debug.contains(secret), "{secret} in {debug}");
    }
}

#[tokio::test]
async fn invalid_specs_are_refused_without_showing_header_values() {
    let ftp = HttpSpec { url: "ftp://example.com/".to_owned(), ..HttpSpec::default() };
    let error = connect("x", &ftp, &settings(), client()).await.expect_err("refused");
    assert_eq!(
        error.to_string(),
        "invalid remote server spec: URL scheme `ftp` is not http or https"
    );
    let garbage = HttpSpec { url: "not a url".to_owned(), ..HttpSpec::default() };
    assert!(matches!(
        connect("x", &garbage, &settings(), client()).await,
        Err(Error::InvalidSpec { .. })
    ));
    let header = HttpSpec {
        url: "http://127.0.0.1:9/".to_owned(),
        headers: vec![("Authorization".to_owned(), "Bearer s3cr3t\nx".to_owned())],
        transport: HttpTransport::StreamableHttp,
        limit: None,
    };
    let error = connect("x", &header, &settings(), client()).await.expect_err("refused");
    assert_eq!(
        error.to_string(),
        "invalid remote server spec: invalid value for header `Authorization`"
    );
}

#[tokio::test]
async fn json_answers_with_session_and_protocol_version_headers() {
    let fake = Fake::start(streamable(plain)).await;
    let (peer, _incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    assert_eq!(peer.transport(), "streamable-http");
    assert_eq!(peer.pid(), None);
    initialize(&peer).await;
    let echoed = within(5, peer.request("echo", params(&json!({ "x": 1 })), LONG)).await;
    assert_eq!(json(&echoed.expect("answered")), json!({ "x": 1 }));
    let error = within(5, peer.request("nope", None, LONG)).await.expect_err("fails");
    assert!(matches!(&error, Error::Rpc(object) if object.code == -32601), "{error:?}");

    let seen = fake.seen();
    let init = seen.iter().find(|s| s.is("POST", "initialize")).expect("initialize was POSTed");
    assert_eq!(init.header("accept"), Some("application/json, text/event-stream"));
    assert_eq!(init.header("content-type"), Some("application/json"));
    assert_eq!(init.header("x-api-key"), Some("k3y"), "the spec's headers go with every request");
    assert_eq!(init.header("mcp-session-id"), None);
    assert_eq!(init.header("mcp-protocol-version"), None);
    for later in seen.iter().filter(|s| !s.is("POST", "initialize")) {
        assert_eq!(later.header("mcp-session-id"), Some(SESSION), "{later:?}");
        assert_eq!(later.header("mcp-protocol-version"), Some(VERSION), "{later:?}");
        assert_eq!(later.header("x-api-key"), Some("k3y"), "{later:?}");
    }
    assert!(seen.iter().any(|s| s.is("POST", "notifications/initialized")));
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn json_batch_answer_is_routed_element_wise() {
    let fake = Fake::start(streamable(|seen| match seen.rpc() {
        Some("batch") => Reply::Json(
            200,
            json!([
                notification("test/in_batch", json!({})),
                result(&seen.id(), json!({ "batched": true }))
            ]),
            vec![],
        ),
        _ => plain(seen),
    }))
    .await;
    let (peer, mut incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    let answered = within(5, peer.request("batch", None, LONG)).await.expect("answered");
    assert_eq!(json(&answered), json!({ "batched": true }));
    assert_eq!(next_notification(&mut incoming).await.method, "test/in_batch");
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn many_requests_in_flight_are_correlated_by_id() {
    // Each answer is delayed so that they come back in reverse order.
    let fake = Fake::start(streamable(|seen| match seen.rpc() {
        Some("slow_echo") => {
            let k = seen.body["params"]["k"].as_u64().expect("has k");
            let answer = Reply::Json(200, result(&seen.id(), seen.body["params"].clone()), vec![]);
            Reply::After(Duration::from_millis(20 * (10 - k)), Box::new(answer))
        }
        _ => plain(seen),
    }))
    .await;
    let (peer, _incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    let calls = (0..10).map(|k| peer.request("slow_echo", params(&json!({ "k": k })), LONG));
    for (k, answered) in within(5, join_all(calls)).await.into_iter().enumerate() {
        assert_eq!(json(&answered.expect("answered")), json!({ "k": k }));
    }
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn a_shared_limit_of_two_lets_exactly_two_requests_run_at_once() {
    // Each `slow` request is answered after HELD; two links share a cap of two.
    const HELD: Duration = Duration::from_millis(300);
    let fake = Fake::start(streamable(|seen| match seen.rpc() {
        Some("slow") => {
            Reply::After(HELD, Box::new(Reply::Json(200, result(&seen.id(), json!({})), vec![])))
        }
        _ => plain(seen),
    }))
    .await;
    let limit = Arc::new(tokio::sync::Semaphore::new(2));
    let mut peers = Vec::new();
    for _ in 0..2 {
        let spec = HttpSpec {
            limit: Some(Arc::clone(&limit)),
            ..spec(fake.url("/mcp"), HttpTransport::StreamableHttp)
        };
        let (peer, incoming) =
            within(5, connect("fake", &spec, &settings(), client())).await.expect("connects");
        initialize(&peer).await;
        peers.push((peer, incoming));
    }
    let calls = (0..6).map(|k| peers[k % 2].0.request("slow", None, LONG));
    for answered in within(10, join_all(calls)).await {
        answered.expect("answered");
    }
    assert_eq!(limit.available_permits(), 2, "every permit returned");
    let mut arrivals: Vec<_> =
        fake.seen().into_iter().filter(|s| s.rpc() == Some("slow")).map(|s| s.at).collect();
    arrivals.sort();
    assert_eq!(arrivals.len(), 6);
    // Three waves of two: a request arrives only once an earlier one has been answered.
    for wave in arrivals.chunks(2) {
        assert!(wave[1] - wave[0] < HELD / 2, "two run at once: {arrivals:?}");
    }
    for i in 2..6 {
        assert!(arrivals[i] - arrivals[i - 2] >= HELD, "never a third at once: {arrivals:?}");
    }
    for (peer, _) in peers {
        within(5, peer.shutdown()).await;
    }
    fake.stop().await;
}

#[tokio::test]
async fn sse_answer_delivers_messages_before_the_response() {
    let fake = Fake::start(streamable(|seen| match seen.rpc() {
        Some("work") => Reply::Sse(
            vec![
                event(Some("1"), Some(1000), None), // priming event
                event(Some("2"), None, Some(&notification("notifications/progress", json!({ "p": 1 })))),
                "data: this is not json\n\n".to_owned(),
                event(
                    Some("3"),
                    None,
                    Some(&json!({ "jsonrpc": "2.0", "id": "srv-1", "method": "sampling/createMessage", "params": {} })),
                ),
                ": a comment\n\n".to_owned(),
                event(Some("4"), None, Some(&result(&seen.id(), json!({ "done": true })))),
            ],
            End::Close,
            vec![],
        ),
        _ => plain(seen),
    }))
    .await;
    let (peer, mut incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    let answered = within(5, peer.request("work", None, LONG)).await.expect("answered");
    assert_eq!(json(&answered), json!({ "done": true }));
    // The notification and the server's request arrived first, in order; the garbage was dropped.
    assert_eq!(next_notification(&mut incoming).await.method, "notifications/progress");
    let request = match within(5, incoming.recv()).await {
        Some(Message::Request(request)) => request,
        other => panic!("expected a request, got {other:?}"),
    };
    assert_eq!(request.method, "sampling/createMessage");
    assert_eq!(request.id, Id::from("srv-1"));
    // The answer to it is POSTed, with the session.
    within(5, peer.respond(Response::ok_value(request.id, &json!({ "a": 2 }))))
        .await
        .expect("accepted");
    let posted = fake.wait_for(|s| s.method == "POST" && s.id() == "srv-1").await;
    assert_eq!(posted.body, json!({ "jsonrpc": "2.0", "id": "srv-1", "result": { "a": 2 } }));
    assert_eq!(posted.header("mcp-session-id"), Some(SESSION));
    assert!(!peer.is_closed());
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn get_stream_delivers_notifications_and_pings_are_answered() {
    let fake = Fake::start(streamable(|seen| {
        if seen.method == "GET" {
            return Reply::Sse(
                vec![
                    event(
                        None,
                        None,
                        Some(&json!({ "jsonrpc": "2.0", "id": "ping-1", "method": "ping" })),
                    ),
                    event(
                        None,
                        None,
                        Some(&notification("notifications/tools/list_changed", json!({}))),
                    ),
                ],
                End::Hang,
                vec![],
            );
        }
        plain(seen)
    }))
    .await;
    let (peer, mut incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    assert_eq!(next_notification(&mut incoming).await.method, "notifications/tools/list_changed");
    let pong = fake.wait_for(|s| s.method == "POST" && s.id() == "ping-1").await;
    assert_eq!(pong.body, json!({ "jsonrpc": "2.0", "id": "ping-1", "result": {} }));
    assert_eq!(pong.header("mcp-session-id"), Some(SESSION));
    assert!(incoming.try_recv().is_err(), "the ping must not reach Incoming");
    let get = fake.wait_for(|s| s.method == "GET").await;
    assert_eq!(get.header("accept"), Some("text/event-stream"));
    assert_eq!(get.header("mcp-protocol-version"), Some(VERSION));
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn get_stream_reconnects_with_last_event_id() {
    let gets = Arc::new(AtomicUsize::new(0));
    let fake = Fake::start(streamable({
        let gets = Arc::clone(&gets);
        move |seen| {
            if seen.method != "GET" {
                return plain(seen);
            }
            let note = |n: u64| notification("test/n", json!({ "n": n }));
            match gets.fetch_add(1, Ordering::SeqCst) {
                // The first stream drops after one event.
                0 => Reply::Sse(
                    vec![event(Some("g1"), Some(20), Some(&note(1)))],
                    End::Close,
                    vec![],
                ),
                _ => Reply::Sse(vec![event(Some("g2"), None, Some(&note(2)))], End::Hang, vec![]),
            }
        }
    }))
    .await;
    let (peer, mut incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    for n in [1, 2] {
        let note = next_notification(&mut incoming).await;
        assert_eq!(json(note.params.as_deref().expect("has params")), json!({ "n": n }));
    }
    let gets: Vec<Seen> = fake.seen().into_iter().filter(|s| s.method == "GET").collect();
    assert_eq!(gets.len(), 2, "{gets:#?}");
    assert_eq!(gets[0].header("last-event-id"), None);
    assert_eq!(gets[1].header("last-event-id"), Some("g1"));
    assert!(gets[1].at - gets[0].at >= Duration::from_millis(20), "the retry delay was honoured");
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn post_stream_dropped_before_the_response_is_resumed_with_get() {
    let pending = Arc::new(Mutex::new(None::<Value>));
    let fake = Fake::start(streamable({
        let pending = Arc::clone(&pending);
        move |seen| match (seen.method.as_str(), seen.rpc()) {
            ("POST", Some("slow")) => {
                *pending.lock().expect("not poisoned") = Some(seen.id());
                // A priming event with an id and a retry delay, then the connection drops.
                Reply::Sse(vec![event(Some("ev-1"), Some(100), None)], End::Close, vec![])
            }
            ("GET", _) if seen.header("last-event-id") == Some("ev-1") => {
                let id = pending.lock().expect("not poisoned").clone().expect("slow was POSTed");
                Reply::Sse(
                    vec![event(Some("ev-2"), None, Some(&result(&id, json!({ "late": true }))))],
                    End::Close,
                    vec![],
                )
            }
            _ => plain(seen),
        }
    }))
    .await;
    let (peer, _incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    let answered =
        within(5, peer.request("slow", None, LONG)).await.expect("answered after resuming");
    assert_eq!(json(&answered), json!({ "late": true }));
    let post = fake.wait_for(|s| s.is("POST", "slow")).await;
    let resume = fake.wait_for(|s| s.method == "GET" && s.header("last-event-id").is_some()).await;
    assert_eq!(resume.header("last-event-id"), Some("ev-1"));
    assert_eq!(resume.header("mcp-session-id"), Some(SESSION));
    assert!(resume.at - post.at >= Duration::from_millis(100), "waited the retry delay");
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn a_response_stream_that_cannot_be_resumed_fails_the_request() {
    let fake = Fake::start(streamable(|seen| match (seen.method.as_str(), seen.rpc()) {
        // No event id: nothing to resume from.
        ("POST", Some("no_id")) => Reply::Sse(vec![event(None, None, None)], End::Close, vec![]),
        // An id, but every resumption comes back empty.
        ("POST", Some("empty")) => {
            Reply::Sse(vec![event(Some("e1"), Some(10), None)], End::Close, vec![])
        }
        ("GET", _) if seen.header("last-event-id").is_some() => {
            Reply::Sse(vec![], End::Close, vec![])
        }
        _ => plain(seen),
    }))
    .await;
    let (peer, _incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    let error = within(5, peer.request("no_id", None, LONG)).await.expect_err("fails");
    assert!(
        matches!(&error, Error::Protocol { reason } if reason.contains("without an event id")),
        "{error:?}"
    );
    let error = within(5, peer.request("empty", None, LONG)).await.expect_err("fails");
    assert!(
        matches!(&error, Error::Protocol { reason } if reason.contains("3 times")),
        "{error:?}"
    );
    let resumes = fake.seen().iter().filter(|s| s.header("last-event-id") == Some("e1")).count();
    assert_eq!(resumes, 3, "bounded by resume_attempts");
    assert!(!peer.is_closed());
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn session_404_closes_the_peer() {
    let fake = Fake::start(streamable(|seen| match seen.rpc() {
        Some("expire") => Reply::Text(404, "no such session"),
        _ => plain(seen),
    }))
    .await;
    let (peer, mut incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    let error = within(5, peer.request("expire", None, LONG)).await.expect_err("fails");
    assert!(matches!(&error, Error::Closed { reason } if reason == SESSION_EXPIRED), "{error:?}");
    assert_eq!(within(5, peer.closed()).await, "session expired (HTTP 404)");
    assert!(peer.is_closed());
    assert!(matches!(within(5, peer.request("echo", None, LONG)).await, Err(Error::Closed { .. })));
    assert!(within(5, incoming.recv()).await.is_none(), "Incoming ends with the peer");
    within(5, peer.shutdown()).await;
    assert!(!fake.seen().iter().any(|s| s.method == "DELETE"), "an expired session is not DELETEd");
    fake.stop().await;
}

/// The TypeScript SDK answers an unknown session with 400 and says so in the body; any other
/// 400 stays an ordinary error.
#[tokio::test]
async fn session_400_from_the_typescript_sdk_closes_the_peer_too() {
    let fake = Fake::start(streamable(|seen| match seen.rpc() {
        Some("forgotten") => Reply::Text(
            400,
            r#"{"jsonrpc":"2.0","error":{"code":-32000,"message":"Bad Request: No valid session ID provided"},"id":null}"#,
        ),
        Some("bad") => Reply::Text(400, "bad arguments"),
        _ => plain(seen),
    }))
    .await;
    let (peer, _incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    let error = within(5, peer.request("bad", None, LONG)).await.expect_err("fails");
    assert!(matches!(&error, Error::Http { status: 400, .. }), "{error:?}");
    assert!(!peer.is_closed(), "an unrelated 400 keeps the session");
    let error = within(5, peer.request("forgotten", None, LONG)).await.expect_err("fails");
    assert!(matches!(&error, Error::Closed { reason } if reason == SESSION_UNKNOWN), "{error:?}");
    assert_eq!(within(5, peer.closed()).await, SESSION_UNKNOWN);
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn shutdown_deletes_the_session_and_closes_the_peer() {
    let fake = Fake::start(streamable(plain)).await;
    let (peer, mut incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    within(5, peer.shutdown()).await;
    let delete = fake.wait_for(|s| s.method == "DELETE").await;
    assert_eq!(delete.header("mcp-session-id"), Some(SESSION));
    assert_eq!(delete.header("mcp-protocol-version"), Some(VERSION));
    assert_eq!(within(5, peer.closed()).await, "shut down");
    assert!(matches!(
        within(5, peer.request("echo", None, LONG)).await,
        Err(Error::Closed { reason }) if reason == "shut down"
    ));
    assert!(within(5, incoming.recv()).await.is_none(), "Incoming ends with the peer");
    within(5, peer.shutdown()).await; // idempotent
    fake.stop().await;
}

#[tokio::test]
async fn http_errors_are_errors_not_hangs() {
    let fake = Fake::start(streamable(|seen| match seen.rpc() {
        Some("boom") => Reply::Text(500, "internal kaboom"),
        Some("unauthorized") => Reply::Status(401),
        Some("forbidden") => Reply::Status(403),
        Some("html") => Reply::Typed(200, "text/html", "<html></html>".to_owned()),
        Some("accepted") => Reply::Status(202),
        Some("test/refused") => Reply::Text(500, "no notifications today"),
        _ => plain(seen),
    }))
    .await;
    let (peer, _incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    let error = within(5, peer.request("boom", None, LONG)).await.expect_err("fails");
    assert!(
        matches!(&error, Error::Http { status: 500, body } if body == "internal kaboom"),
        "{error:?}"
    );
    assert_eq!(error.to_string(), "HTTP 500: internal kaboom");
    let error = within(5, peer.request("unauthorized", None, LONG)).await.expect_err("fails");
    assert!(matches!(error, Error::Unauthorized { status: 401 }), "{error:?}");
    assert_eq!(error.to_string(), "not authorized by the server (HTTP 401)");
    let error = within(5, peer.request("forbidden", None, LONG)).await.expect_err("fails");
    assert!(matches!(error, Error::Unauthorized { status: 403 }), "{error:?}");
    let error = within(5, peer.request("html", None, LONG)).await.expect_err("fails");
    assert!(
        matches!(&error, Error::Protocol { reason } if reason.contains("text/html")),
        "{error:?}"
    );
    let error = within(5, peer.request("accepted", None, LONG)).await.expect_err("fails");
    assert!(matches!(&error, Error::Protocol { reason } if reason.contains("202")), "{error:?}");
    let error = within(5, peer.notify("test/refused", None)).await.expect_err("fails");
    assert!(matches!(&error, Error::Http { status: 500, .. }), "{error:?}");
    // None of it closed the connection.
    assert!(!peer.is_closed());
    let echoed = within(5, peer.request("echo", params(&json!([1])), LONG)).await;
    assert_eq!(json(&echoed.expect("answered")), json!([1]));
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn connection_errors_fail_the_request() {
    // Bind and drop: nothing listens on the port any more.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let url = format!("http://{}/mcp", listener.local_addr().expect("has an address"));
    drop(listener);
    let (peer, _incoming) = within(
        5,
        connect("gone", &spec(url, HttpTransport::StreamableHttp), &settings(), client()),
    )
    .await
    .expect("connect does no I/O for streamable HTTP");
    let error =
        within(5, peer.request("initialize", init_params(), LONG)).await.expect_err("fails");
    assert!(matches!(error, Error::Request { .. }), "{error:?}");
    let error = within(5, peer.notify("x", None)).await.expect_err("fails");
    assert!(matches!(error, Error::Request { .. }), "{error:?}");
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn oversized_sse_event_is_dropped() {
    let fake = Fake::start(streamable(|seen| match seen.rpc() {
        Some("big") => Reply::Sse(
            vec![
                event(
                    None,
                    None,
                    Some(&notification("test/huge", json!({ "x": "y".repeat(5000) }))),
                ),
                event(None, None, Some(&notification("test/small", json!({})))),
                event(None, None, Some(&result(&seen.id(), json!({ "ok": true })))),
            ],
            End::Close,
            vec![],
        ),
        _ => plain(seen),
    }))
    .await;
    let settings = HttpSettings { max_event_bytes: 1024, ..settings() };
    let spec = spec(fake.url("/mcp"), HttpTransport::StreamableHttp);
    let (peer, mut incoming) =
        within(5, connect("fake", &spec, &settings, client())).await.expect("connects");
    initialize(&peer).await;
    let answered = within(5, peer.request("big", None, LONG)).await.expect("answered");
    assert_eq!(json(&answered), json!({ "ok": true }));
    assert_eq!(next_notification(&mut incoming).await.method, "test/small");
    assert!(incoming.try_recv().is_err());
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn timeout_posts_notifications_cancelled() {
    let fake = Fake::start(streamable(|seen| match seen.rpc() {
        // Accepts the request, then never answers.
        Some("hang") => Reply::Sse(vec![event(Some("h1"), None, None)], End::Hang, vec![]),
        _ => plain(seen),
    }))
    .await;
    let (peer, _incoming) = open(&fake, "/mcp", HttpTransport::StreamableHttp).await;
    initialize(&peer).await;
    let error = within(5, peer.request("hang", None, Duration::from_millis(300)))
        .await
        .expect_err("times out");
    assert!(matches!(error, Error::Timeout { .. }), "{error:?}");
    let hang = fake.wait_for(|s| s.is("POST", "hang")).await;
    let cancelled = fake.wait_for(|s| s.is("POST", "notifications/cancelled")).await;
    assert_eq!(cancelled.body["params"], json!({ "requestId": hang.id(), "reason": "timeout" }));
    assert_eq!(cancelled.header("mcp-session-id"), Some(SESSION));
    let echoed = within(5, peer.request("echo", params(&json!("alive")), LONG)).await;
    assert_eq!(json(&echoed.expect("answered")), json!("alive"));
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

/// A legacy HTTP+SSE server: `GET /sse` opens the stream and announces `/messages?s=1`; a POST
/// there is answered on the stream (requests with `echo`-like results, `initialize` with a
/// result) and acknowledged with 202. `/mcp`-style POSTs to the SSE URL get `probe_status`.
/// `stream` lets the test push its own events or end the stream (by taking the sender).
fn legacy(
    probe_status: u16,
    stream: Arc<Mutex<Option<mpsc::UnboundedSender<String>>>>,
) -> impl Fn(&Seen) -> Reply + Send + Sync + 'static {
    move |seen| match (seen.method.as_str(), seen.path.as_str()) {
        ("GET", "/sse") => {
            let (tx, rx) = mpsc::unbounded_channel();
            tx.send("event: endpoint\ndata: /messages?s=1\n\n".to_owned()).expect("open");
            *stream.lock().expect("not poisoned") = Some(tx);
            Reply::Live(rx)
        }
        ("POST", "/sse") => Reply::Status(probe_status),
        ("POST", "/messages?s=1") => {
            let answer = match seen.rpc() {
                Some("initialize") => Some(init_result(&seen.id())),
                Some(_) if seen.body.get("id").is_some() => Some(result(
                    &seen.id(),
                    seen.body.get("params").cloned().unwrap_or(Value::Null),
                )),
                _ => None,
            };
            if let Some(answer) = answer
                && let Some(tx) = stream.lock().expect("not poisoned").as_ref()
            {
                tx.send(format!("event: message\ndata: {answer}\n\n")).expect("stream open");
            }
            Reply::Status(202)
        }
        _ => Reply::Status(404),
    }
}

#[tokio::test]
async fn legacy_sse_flow() {
    let stream = Arc::new(Mutex::new(None));
    let fake = Fake::start(legacy(405, Arc::clone(&stream))).await;
    let (peer, mut incoming) = open(&fake, "/sse", HttpTransport::Sse).await;
    assert_eq!(peer.transport(), "sse");
    initialize(&peer).await;
    let echoed = within(5, peer.request("echo", params(&json!({ "legacy": true })), LONG)).await;
    assert_eq!(json(&echoed.expect("answered")), json!({ "legacy": true }));
    // A notification pushed by the server arrives on Incoming.
    let tx = stream.lock().expect("not poisoned").clone().expect("stream open");
    tx.send(format!("event: message\ndata: {}\n\n", notification("test/pushed", json!({}))))
        .expect("stream open");
    assert_eq!(next_notification(&mut incoming).await.method, "test/pushed");
    let seen = fake.seen();
    let get = seen.iter().find(|s| s.method == "GET").expect("the stream was opened");
    assert_eq!(get.header("accept"), Some("text/event-stream"));
    assert_eq!(get.header("x-api-key"), Some("k3y"));
    let posts: Vec<&Seen> = seen.iter().filter(|s| s.method == "POST").collect();
    assert!(posts.iter().all(|s| s.path == "/messages?s=1"), "{posts:#?}");
    assert!(posts.iter().all(|s| s.header("x-api-key") == Some("k3y")), "{posts:#?}");
    assert!(posts.iter().any(|s| s.rpc() == Some("notifications/initialized")));
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn legacy_stream_end_closes_the_peer() {
    let stream = Arc::new(Mutex::new(None));
    let fake = Fake::start(legacy(405, Arc::clone(&stream))).await;
    let (peer, mut incoming) = open(&fake, "/sse", HttpTransport::Sse).await;
    initialize(&peer).await;
    drop(stream.lock().expect("not poisoned").take()); // the server ends the stream
    assert_eq!(within(5, peer.closed()).await, "the server ended the SSE stream");
    assert!(within(5, incoming.recv()).await.is_none());
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn legacy_endpoint_on_another_origin_is_refused() {
    let fake = Fake::start(|seen| match seen.method.as_str() {
        "GET" => Reply::Sse(
            vec!["event: endpoint\ndata: http://elsewhere.invalid/messages\n\n".to_owned()],
            End::Hang,
            vec![],
        ),
        _ => Reply::Status(404),
    })
    .await;
    let spec = spec(fake.url("/sse"), HttpTransport::Sse);
    let error =
        within(5, connect("fake", &spec, &settings(), client())).await.expect_err("refused");
    assert!(
        matches!(&error, Error::Protocol { reason } if reason.contains("another origin")),
        "{error:?}"
    );
    fake.stop().await;
}

#[tokio::test]
async fn auto_falls_back_to_legacy_after_405() {
    let stream = Arc::new(Mutex::new(None));
    let fake = Fake::start(legacy(405, Arc::clone(&stream))).await;
    let (peer, _incoming) = open(&fake, "/sse", HttpTransport::Auto).await;
    assert_eq!(peer.transport(), "auto");
    initialize(&peer).await;
    assert_eq!(peer.transport(), "sse");
    let echoed = within(5, peer.request("echo", params(&json!(7)), LONG)).await;
    assert_eq!(json(&echoed.expect("answered")), json!(7));
    // The probe, then the stream, then the same initialize again at the endpoint.
    let seen = fake.seen();
    let order: Vec<(&str, &str)> =
        seen.iter().take(3).map(|s| (s.method.as_str(), s.path.as_str())).collect();
    assert_eq!(order, [("POST", "/sse"), ("GET", "/sse"), ("POST", "/messages?s=1")]);
    assert_eq!(seen[0].body, seen[2].body, "the probe's message is re-sent unchanged");
    assert_eq!(seen[0].rpc(), Some("initialize"));
    within(5, peer.shutdown()).await;
    fake.stop().await;
}

#[tokio::test]
async fn auto_stays_streamable_on_a_streamable_server() {
    let fake = Fake::start(streamable(plain)).await;
    let (peer, _incoming) = open(&fake, "/mcp", HttpTransport::Auto).await;
    initialize(&peer).await;
    assert_eq!(peer.transport(), "streamable-http");
    let echoed = within(5, peer.request("echo", params(&json!(8)), LONG)).await;
    assert_eq!(json(&echoed.expect("answered")), json!(8));
    let seen = fake.seen();
    assert!(seen[0].is("POST", "initialize"));
    assert!(seen[1].is("POST", "notifications/initialized"), "no legacy GET: {seen:#?}");
    within(5, peer.shutdown()).await;
    fake.stop().await;
}
