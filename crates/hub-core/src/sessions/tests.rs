use std::sync::Arc;

use hub_http::{ClientSink, SessionHandle, SessionInfo, Transport};
use hub_protocol::{Message, ProtocolVersion};
use serde_json::json;

use super::*;

struct Nowhere;
impl ClientSink for Nowhere {
    fn send(&self, _: &Message) -> bool {
        true
    }
}

fn add(sessions: &Sessions, id: &str, capabilities: serde_json::Value) {
    let info = SessionInfo {
        id: Arc::from(id),
        transport: Transport::StreamableHttp,
        protocol_version: ProtocolVersion::LATEST,
    };
    let handle = SessionHandle::new(info.id.clone(), Arc::new(Nowhere));
    let capabilities = serde_json::from_value(capabilities).unwrap();
    sessions.initialized(info, handle, capabilities);
}

#[test]
fn log_levels_order_and_the_most_verbose_request_wins_upstream() {
    assert!(LogLevel::Debug < LogLevel::Info && LogLevel::Alert < LogLevel::Emergency);
    assert_eq!(LogLevel::parse("warning"), Some(LogLevel::Warning));
    assert_eq!(LogLevel::parse("verbose"), None);
    assert_eq!(LogLevel::Notice.as_str(), "notice");
    let s = Sessions::default();
    add(&s, "a", json!({}));
    add(&s, "b", json!({}));
    assert_eq!(s.log_level(), None, "nobody asked: the servers keep their default");
    assert!(s.log_listeners(Some(LogLevel::Error)).is_empty(), "nobody asked for logs");
    s.set_log_level("a", LogLevel::Error);
    assert_eq!(s.log_level(), Some(LogLevel::Debug), "b asked for nothing, so it gets everything");
    s.set_log_level("b", LogLevel::Info);
    assert_eq!(s.log_level(), Some(LogLevel::Info), "the most verbose level asked for");
    assert_eq!(s.log_listeners(Some(LogLevel::Warning)).len(), 1, "only b wants warnings");
    assert_eq!(s.log_listeners(Some(LogLevel::Error)).len(), 2);
    assert_eq!(s.log_listeners(None).len(), 2, "a message without a known level goes to both");
    let b = s.get("b").unwrap();
    assert!(!b.wants_log(Some(LogLevel::Debug)) && b.wants_log(Some(LogLevel::Info)));
    s.closed("b");
    assert_eq!(s.log_level(), Some(LogLevel::Error));
}

#[test]
fn a_server_request_no_call_claims_goes_to_the_only_able_client() {
    let s = Sessions::default();
    add(&s, "plain", json!({}));
    assert_eq!(s.only_supporting(ClientCapability::Sampling).map(|c| c.info.id), Err(0));
    add(&s, "sampler", json!({"sampling": {}, "roots": {"listChanged": true}}));
    let only = s.only_supporting(ClientCapability::Sampling).unwrap();
    assert_eq!(&*only.info.id, "sampler");
    assert!(
        only.supports(ClientCapability::Roots) && !only.supports(ClientCapability::Elicitation)
    );
    add(&s, "another", json!({"sampling": {}}));
    assert_eq!(s.only_supporting(ClientCapability::Sampling).map(|c| c.info.id), Err(2));
    assert_eq!(
        ClientCapability::for_method("elicitation/create"),
        Some(ClientCapability::Elicitation)
    );
    assert_eq!(ClientCapability::for_method("tools/list"), None);
}

#[test]
fn subscriptions_are_counted_per_resource_and_end_with_their_sessions() {
    let s = Sessions::default();
    add(&s, "a", json!({}));
    add(&s, "b", json!({}));
    let key = ("srv".to_owned(), "test://x".to_owned());
    assert!(
        s.subscribe(key.clone(), Arc::from("a"), "srv__test://x".into()),
        "first: upstream too"
    );
    assert!(!s.subscribe(key.clone(), Arc::from("b"), "test://x".into()), "second: hub only");
    let uris: Vec<_> = s.subscribers(&key).into_iter().map(|(_, uri)| uri).collect();
    assert_eq!(uris, ["srv__test://x", "test://x"], "each with the URI it used");
    assert_eq!(s.subscribed_on("srv"), ["test://x"]);
    assert!(!s.unsubscribe(&key, "a"), "b still subscribed");
    assert!(!s.unsubscribe(&key, "a"), "unsubscribing twice changes nothing");
    assert_eq!(s.closed("b"), std::slice::from_ref(&key), "the last subscriber's session ended");
    assert!(s.subscribed_on("srv").is_empty());
    assert!(!s.unsubscribe(&key, "b"));
}
