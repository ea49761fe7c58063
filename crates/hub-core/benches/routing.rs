//! Name routing: building the registry for 20 servers × 50 tools (done on every list change) and
//! resolving a namespaced name to its upstream (done on every call).
//!
//! Run: `cargo bench -p hub-core --features bench-internals -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, reason = "criterion_group! generates undocumented public items")]
#![allow(clippy::unwrap_used, reason = "benchmark fixtures are known-good")]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hub_core::bench::{Lists, Registry};
use hub_protocol::mcp::Extra;
use serde_json::json;

const SERVERS: usize = 20;
const TOOLS: usize = 50;
const RESOURCES: usize = 20;

fn obj(v: serde_json::Value) -> Extra {
    serde_json::from_value(v).unwrap()
}

fn servers() -> Vec<(String, Lists)> {
    (0..SERVERS)
        .map(|s| {
            let tools = (0..TOOLS)
                .map(|t| {
                    obj(json!({
                        "name": format!("tool_{t}"),
                        "description": format!("Tool {t} of server {s}: does a useful thing."),
                        "inputSchema": {
                            "type": "object",
                            "properties": {"path": {"type": "string"}, "limit": {"type": "integer"}},
                            "required": ["path"]
                        }
                    }))
                })
                .collect();
            let resources = (0..RESOURCES)
                .map(|r| obj(json!({"uri": format!("file:///srv{s}/doc_{r}.md"), "name": format!("doc {r}")})))
                .collect();
            (format!("server_{s}"), Lists::new(tools, resources))
        })
        .collect()
}

fn bench_routing(c: &mut Criterion) {
    let servers = servers();
    let mut g = c.benchmark_group("routing");

    g.throughput(Throughput::Elements((SERVERS * (TOOLS + RESOURCES)) as u64));
    g.bench_function("build_20x50_tools_20_resources", |b| {
        b.iter(|| Registry::build(black_box(&servers)))
    });

    let reg = Registry::build(&servers);
    g.throughput(Throughput::Elements(1));
    let name = "server_13__tool_42";
    assert_eq!(reg.lookup_tool(name), Some((13, "tool_42")));
    g.bench_function("lookup_tool_hit", |b| b.iter(|| reg.lookup_tool(black_box(name))));
    let missing = "server_13__no_such_tool";
    assert_eq!(reg.lookup_tool(missing), None);
    g.bench_function("lookup_tool_miss", |b| b.iter(|| reg.lookup_tool(black_box(missing))));

    let listed = "server_7__file:///srv7/doc_3.md";
    assert_eq!(reg.lookup_resource(listed), Some((7, "file:///srv7/doc_3.md".to_owned())));
    g.bench_function("lookup_resource_listed", |b| {
        b.iter(|| reg.lookup_resource(black_box(listed)))
    });
    // A URI expanded from a template: not listed, resolved through the `<id>__<uri>` fallback.
    let expanded = "server_7__file:///srv7/expanded/2025/report.md";
    assert_eq!(
        reg.lookup_resource(expanded),
        Some((7, "file:///srv7/expanded/2025/report.md".to_owned()))
    );
    g.bench_function("lookup_resource_template_fallback", |b| {
        b.iter(|| reg.lookup_resource(black_box(expanded)))
    });
    g.finish();
}

criterion_group!(benches, bench_routing);
criterion_main!(benches);
