//! Tests of version negotiation helpers.

use hub_protocol::{Id, ProtocolVersion as V, Request, Response};
use serde_json::json;

use super::{negotiated_version, requested_version};

#[test]
fn requested_version_negotiates() {
    let r = |p: serde_json::Value| Request::new(1, "initialize", Some(&p));
    assert_eq!(requested_version(&r(json!({"protocolVersion": "2025-03-26"}))), V::V2025_03_26);
    assert_eq!(requested_version(&r(json!({"protocolVersion": "2099-01-01"}))), V::LATEST);
    assert_eq!(requested_version(&r(json!({}))), V::LATEST);
    assert_eq!(requested_version(&Request::new(1, "initialize", None)), V::LATEST);
}

#[test]
fn negotiated_version_reads_the_result() {
    let ok = |v: serde_json::Value| Response::ok_value(Id::Number(1), &v);
    let guess = V::V2025_11_25;
    assert_eq!(
        negotiated_version(&ok(json!({"protocolVersion": "2024-11-05"})), guess),
        V::V2024_11_05
    );
    assert_eq!(negotiated_version(&ok(json!({"protocolVersion": "bogus"})), guess), guess);
    assert_eq!(negotiated_version(&ok(json!([])), guess), guess);
    let err = Response::err(None, hub_protocol::ErrorObject::new(-1, "x"));
    assert_eq!(negotiated_version(&err, guess), guess);
}
