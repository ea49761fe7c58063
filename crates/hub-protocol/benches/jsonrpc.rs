//! Decode and encode of realistic JSON-RPC messages: the hub decodes every message a client or an
//! upstream sends and encodes every message it forwards.
//!
//! Run: `cargo bench -p hub-protocol -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, reason = "criterion_group! generates undocumented public items")]
#![allow(clippy::unwrap_used, reason = "benchmark fixtures are known-good")]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hub_protocol::{
    Message, RawValue,
    jsonrpc::{decode, decode_batch},
    mcp::{CallToolParams, ListKind, ListPage},
};
use serde_json::json;

/// A `tools/call` request as an MCP client sends it (~200 bytes).
fn tools_call() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "jsonrpc": "2.0",
        "id": 42,
        "method": "tools/call",
        "params": {
            "name": "github__search_repositories",
            "arguments": {"query": "language:rust model context protocol", "page": 1, "perPage": 30},
            "_meta": {"progressToken": "b5c1e0f2-7a41-4d0e-9c1a-2f6f3e8d9a10"}
        }
    }))
    .unwrap()
}

/// One tool definition shaped like those of real servers (~440 bytes).
fn tool(i: usize) -> serde_json::Value {
    json!({
        "name": format!("srv{}__tool_number_{i}", i % 7),
        "description": format!(
            "Does thing number {i}: reads the given path, filters the entries by pattern and \
             returns at most limit of them."
        ),
        "inputSchema": {
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "Absolute path of the directory"},
                "pattern": {"type": "string", "description": "Glob pattern"},
                "limit": {"type": "integer", "minimum": 1, "maximum": 1000}
            },
            "required": ["path"]
        },
        "annotations": {"readOnlyHint": true}
    })
}

/// A `tools/list` response with 50 tools (~22 KB), as the hub sends it to a client.
fn tools_list_response() -> Vec<u8> {
    let tools: Vec<_> = (0..50).map(tool).collect();
    serde_json::to_vec(&json!({"jsonrpc": "2.0", "id": 7, "result": {"tools": tools}})).unwrap()
}

/// A progress notification, the most frequent notification during a long tool call.
fn notification() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "jsonrpc": "2.0",
        "method": "notifications/progress",
        "params": {"progressToken": "b5c1e0f2-7a41-4d0e-9c1a-2f6f3e8d9a10", "progress": 37, "total": 100, "message": "indexing"}
    }))
    .unwrap()
}

fn messages() -> [(&'static str, Vec<u8>); 3] {
    [
        ("tools_call_request", tools_call()),
        ("tools_list_response_50", tools_list_response()),
        ("progress_notification", notification()),
    ]
}

fn bench_decode(c: &mut Criterion) {
    let mut g = c.benchmark_group("decode");
    for (name, bytes) in messages() {
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(name, |b| b.iter(|| decode(black_box(&bytes)).unwrap()));
    }
    // A batch of the three (2025-03-26 only), decoded element by element.
    let batch = {
        let mut v = b"[".to_vec();
        for (i, (_, bytes)) in messages().iter().enumerate() {
            if i > 0 {
                v.push(b',');
            }
            v.extend_from_slice(bytes);
        }
        v.push(b']');
        v
    };
    g.throughput(Throughput::Bytes(batch.len() as u64));
    g.bench_function("batch_of_3", |b| b.iter(|| decode_batch(black_box(&batch)).unwrap()));
    g.finish();
}

fn bench_encode(c: &mut Criterion) {
    let mut g = c.benchmark_group("encode");
    for (name, bytes) in messages() {
        let msg: Message = decode(&bytes).unwrap();
        g.throughput(Throughput::Bytes(bytes.len() as u64));
        g.bench_function(name, |b| b.iter(|| black_box(&msg).to_vec()));
    }
    g.finish();
}

/// The typed views the hub reads on the routing path: `tools/call` params (to find the upstream)
/// and a `tools/list` page (to namespace it).
fn bench_typed_views(c: &mut Criterion) {
    let mut g = c.benchmark_group("typed_views");
    let Message::Request(call) = decode(&tools_call()).unwrap() else { unreachable!() };
    let params = call.params.unwrap();
    g.throughput(Throughput::Bytes(params.get().len() as u64));
    g.bench_function("call_tool_params", |b| {
        b.iter(|| serde_json::from_str::<CallToolParams>(black_box(params.get())).unwrap())
    });
    let tools: Vec<_> = (0..50).map(tool).collect();
    let result: Box<RawValue> = serde_json::value::to_raw_value(&json!({"tools": tools})).unwrap();
    g.throughput(Throughput::Bytes(result.get().len() as u64));
    g.bench_function("list_page_50_tools", |b| {
        b.iter(|| ListPage::from_result(ListKind::Tools, black_box(&result)).unwrap())
    });
    g.finish();
}

criterion_group!(benches, bench_decode, bench_encode, bench_typed_views);
criterion_main!(benches);
