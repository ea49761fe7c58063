//! `hub_protocol::jsonrpc::decode` and `decode_batch` on arbitrary bytes.
//!
//! Checks: neither panics; a decoded message encodes, and the encoding decodes to an equal message
//! (params/result compared as raw text, i.e. forwarded byte for byte) and re-encodes to the same
//! bytes; every decode error turns into an error response that itself round-trips with the right
//! code; a batch's elements obey the same rules.

#![no_main]

use hub_protocol::{
    Message,
    jsonrpc::{DecodeError, decode, decode_batch},
};
use libfuzzer_sys::fuzz_target;

fn round_trip(msg: &Message) {
    let bytes = msg.to_vec();
    let again = decode(&bytes).unwrap_or_else(|e| {
        panic!("own encoding does not decode: {e}: {}", String::from_utf8_lossy(&bytes))
    });
    assert_eq!(msg, &again, "decode(encode(m)) != m");
    assert_eq!(again.to_vec(), bytes, "encoding is not stable");
}

fn check_error(e: &DecodeError) {
    let response = Message::Response(e.to_response());
    round_trip(&response);
    let Message::Response(r) = decode(&response.to_vec()).expect("checked above") else {
        panic!("an error response decoded as something else")
    };
    let err = r.outcome.expect_err("an error response decoded as a success");
    assert_eq!(err.code, e.code());
}

fuzz_target!(|data: &[u8]| {
    match decode(data) {
        Ok(msg) => round_trip(&msg),
        Err(e) => check_error(&e),
    }
    match decode_batch(data) {
        Ok(items) => {
            assert!(!items.is_empty(), "an empty batch must be rejected");
            for item in &items {
                match item {
                    Ok(msg) => round_trip(msg),
                    Err(e) => check_error(e),
                }
            }
        }
        Err(e) => check_error(&e),
    }
});
