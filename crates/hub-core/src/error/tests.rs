use std::time::Duration;

use hub_protocol::jsonrpc;
use serde_json::{Value, json};

use super::*;

fn data(e: &ErrorObject) -> Value {
    serde_json::from_str(e.data.as_ref().expect("data").get()).expect("json")
}

#[test]
fn an_open_breaker_is_a_json_rpc_error_naming_the_server_and_the_retry_time() {
    let e = RouteError::CircuitOpen {
        server: "files".to_owned(),
        retry_in: Some(Duration::from_millis(12_300)),
    };
    assert!(e.to_tool_result().is_none(), "not a tool result: the tool never ran");
    let obj = e.to_jsonrpc();
    assert_eq!(obj.code, UPSTREAM_UNAVAILABLE);
    assert_eq!(
        obj.message,
        "server 'files' is failing its calls, so the hub is not sending it any (circuit breaker \
         open); a call will be let through again in 12s"
    );
    assert_eq!(data(&obj), json!({"server": "files", "retryAfterMs": 12_300}));
}

#[test]
fn while_a_probe_is_in_flight_there_is_no_retry_time() {
    let obj = RouteError::CircuitOpen { server: "s".to_owned(), retry_in: None }.to_jsonrpc();
    assert!(obj.message.ends_with("a trial call is in flight; try again shortly"), "{obj}");
    assert_eq!(data(&obj), json!({"server": "s"}));
}

#[test]
fn the_other_failures_keep_their_mapping() {
    let closed = RouteError::from_transport(
        "s",
        hub_transport::Error::Closed { reason: "process exited with status 3".to_owned() },
    );
    assert_eq!(closed.to_jsonrpc().code, jsonrpc::INTERNAL_ERROR);
    assert!(closed.to_tool_result().is_some(), "a failed path to a known tool is a tool result");
    let timeout = RouteError::from_transport(
        "s",
        hub_transport::Error::Timeout { method: "tools/call".to_owned(), after: Duration::ZERO },
    );
    assert_eq!(timeout.to_jsonrpc().code, jsonrpc::REQUEST_TIMEOUT);
    let answer = RouteError::from_transport(
        "s",
        hub_transport::Error::Rpc(ErrorObject::new(jsonrpc::INVALID_PARAMS, "bad")),
    );
    assert_eq!(answer.to_jsonrpc().code, jsonrpc::INVALID_PARAMS);
    assert!(answer.to_tool_result().is_none());
}
