//! The typed MCP views (`CallToolParams`, `InitializeParams`, `ListPage`) on arbitrary JSON.
//!
//! Checks: no panic; whatever parses serializes back and re-parses to an equal value; and nothing
//! the input carried is lost (every member of the input is in the output with the same value,
//! recursively through the typed levels), apart from these documented normalizations:
//! `"arguments": null` is omitted; a list result drops non-object items, an empty or non-string
//! `nextCursor`, and a non-array item member (it becomes `[]`).

#![no_main]

use hub_protocol::{
    RawValue,
    mcp::{CallToolParams, InitializeParams, ListKind, ListPage},
};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

/// Every member of `orig` is in `new` with an equal value; objects are compared this way
/// recursively, everything else by equality.
fn assert_kept(orig: &Value, new: &Value, path: &str) {
    match (orig, new) {
        (Value::Object(o), Value::Object(n)) => {
            for (k, v) in o {
                let Some(nv) = n.get(k) else { panic!("{path}.{k} was lost") };
                assert_kept(v, nv, &format!("{path}.{k}"));
            }
        }
        _ => assert_eq!(orig, new, "{path} changed"),
    }
}

fn call_tool(data: &[u8]) {
    let Ok(p) = serde_json::from_slice::<CallToolParams>(data) else { return };
    let bytes = serde_json::to_vec(&p).expect("serializes");
    let again: CallToolParams = serde_json::from_slice(&bytes).expect("own output re-parses");
    assert_eq!(p, again);
    let mut orig: Value = serde_json::from_slice(data).expect("it parsed as a view");
    if let Some(o) = orig.as_object_mut()
        && o.get("arguments").is_some_and(Value::is_null)
    {
        o.remove("arguments");
    }
    assert_kept(&orig, &serde_json::from_slice(&bytes).expect("valid JSON"), "");
}

fn initialize(data: &[u8]) {
    let Ok(p) = serde_json::from_slice::<InitializeParams>(data) else { return };
    let bytes = serde_json::to_vec(&p).expect("serializes");
    let again: InitializeParams = serde_json::from_slice(&bytes).expect("own output re-parses");
    assert_eq!(p, again);
    let orig: Value = serde_json::from_slice(data).expect("it parsed as a view");
    assert_kept(&orig, &serde_json::from_slice(&bytes).expect("valid JSON"), "");
}

fn list_page(text: &str) {
    let Ok(raw) = serde_json::from_str::<Box<RawValue>>(text) else { return };
    for kind in ListKind::ALL {
        let Ok(page) = ListPage::from_result(kind, &raw) else { continue };
        let out = page.to_result(kind);
        let out_raw = serde_json::value::to_raw_value(&out).expect("serializes");
        let again = ListPage::from_result(kind, &out_raw).expect("own output re-parses");
        assert_eq!(page, again);

        let Ok(Value::Object(mut orig)) = serde_json::from_str::<Value>(raw.get()) else {
            panic!("a list result that is not an object parsed")
        };
        let items = match orig.remove(kind.result_key()) {
            Some(Value::Array(items)) => items.into_iter().filter(Value::is_object).collect(),
            _ => Vec::new(),
        };
        match orig.remove("nextCursor") {
            Some(Value::String(c)) if !c.is_empty() => {
                assert_eq!(out["nextCursor"], Value::String(c));
            }
            _ => assert!(out.get("nextCursor").is_none(), "a cursor appeared"),
        }
        assert_eq!(out[kind.result_key()], Value::Array(items), "items changed");
        assert_kept(&Value::Object(orig), &out, "");
    }
}

/// serde_json's own marker key for `RawValue`: an object whose key is exactly this is read back
/// as a raw value, not an object, by serde_json itself (a serde_json quirk, not the hub's; an
/// upstream can only garble its own data with it). Found by this target; such inputs are skipped.
const SERDE_RAW_MARKER: &[u8] = b"$serde_json::private::RawValue";

fuzz_target!(|data: &[u8]| {
    if data.windows(SERDE_RAW_MARKER.len()).any(|w| w == SERDE_RAW_MARKER) {
        return;
    }
    call_tool(data);
    initialize(data);
    if let Ok(text) = std::str::from_utf8(data) {
        list_page(text);
    }
});
