use hub_protocol::{Id, Request, jsonrpc::METHOD_NOT_FOUND};
use serde_json::{Value, json};

use super::{Scenario, answer};

fn request(method: &str, params: &Value) -> Request {
    Request::new(7, method, Some(params))
}

fn result(request: &Request) -> Value {
    let response = answer(request);
    assert_eq!(response.id, Some(Id::Number(7)));
    serde_json::from_str(response.outcome.expect("a result").get()).unwrap()
}

#[test]
fn elicitation_is_accepted_with_every_schema_default() {
    // The schema of the suite's elicitation-sep1034-client-defaults scenario, plus a property
    // without a default, which stays out of the content.
    let params = json!({
        "message": "please accept with defaults",
        "requestedSchema": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "default": "John Doe"},
                "age": {"type": "integer", "default": 30},
                "score": {"type": "number", "default": 95.5},
                "status": {"type": "string", "enum": ["active", "inactive"], "default": "active"},
                "verified": {"type": "boolean", "default": true},
                "nickname": {"type": "string"}
            }
        }
    });
    assert_eq!(
        result(&request("elicitation/create", &params)),
        json!({
            "action": "accept",
            "content": {
                "name": "John Doe", "age": 30, "score": 95.5, "status": "active", "verified": true
            }
        })
    );
}

#[test]
fn elicitation_without_schema_is_accepted_empty() {
    let params = json!({"mode": "form", "message": "ok?", "requestedSchema": {"type": "object"}});
    assert_eq!(
        result(&request("elicitation/create", &params)),
        json!({"action": "accept", "content": {}})
    );
}

#[test]
fn url_elicitation_is_refused() {
    let params = json!({"mode": "url", "message": "log in", "url": "https://example.com"});
    let error = answer(&request("elicitation/create", &params)).outcome.unwrap_err();
    assert_eq!(error.code, hub_protocol::jsonrpc::INVALID_PARAMS);
}

#[test]
fn other_requests_are_method_not_found() {
    let error = answer(&request("sampling/createMessage", &json!({}))).outcome.unwrap_err();
    assert_eq!(error.code, METHOD_NOT_FOUND);
    assert!(error.message.contains("sampling/createMessage"), "{}", error.message);
}

#[test]
fn scenarios_map_to_what_the_client_does() {
    assert_eq!(Scenario::parse("initialize"), Some(Scenario::Initialize));
    assert_eq!(Scenario::parse("tools_call"), Some(Scenario::ToolsCall));
    assert_eq!(Scenario::parse("sse-retry"), Some(Scenario::CallFirstTool));
    assert_eq!(
        Scenario::parse("elicitation-sep1034-client-defaults"),
        Some(Scenario::CallFirstTool)
    );
    assert_eq!(Scenario::parse("auth/metadata-default"), None);
    assert_eq!(Scenario::parse(""), None);
}
