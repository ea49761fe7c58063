//! `LineCodec` over a buffer of many lines: small lines (typical requests and notifications) and
//! 64 KB lines (large tool results), fed in one chunk and in 4 KB chunks (a pipe read's size).
//! The copy into the codec's buffer is included, as `FramedRead` does it too.
//!
//! Run: `cargo bench -p hub-transport -- --warm-up-time 1 --measurement-time 3`.

#![allow(missing_docs, reason = "criterion_group! generates undocumented public items")]
#![allow(clippy::unwrap_used, reason = "the codec never fails on content")]

use std::hint::black_box;

use bytes::BytesMut;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hub_transport::{Frame, LineCodec};
use tokio_util::codec::Decoder;

/// The hub's default cap (`hub_transport::Settings::default().max_line_bytes`).
const MAX_LINE: usize = 16 * 1024 * 1024;

/// `count` newline-terminated JSON-looking lines of exactly `len` bytes each (before `\n`).
fn lines(count: usize, len: usize) -> Vec<u8> {
    let prefix = br#"{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":""#;
    let suffix = br#""}]}}"#;
    assert!(len >= prefix.len() + suffix.len());
    let mut out = Vec::with_capacity(count * (len + 1));
    for _ in 0..count {
        out.extend_from_slice(prefix);
        out.extend((0..len - prefix.len() - suffix.len()).map(|i| b'a' + (i % 26) as u8));
        out.extend_from_slice(suffix);
        out.push(b'\n');
    }
    out
}

/// Feeds `input` in chunks of `chunk` bytes, decoding after each; returns the number of frames.
fn decode(max_line: usize, input: &[u8], chunk: usize) -> usize {
    let mut codec = LineCodec::new(max_line);
    let mut buf = BytesMut::with_capacity(chunk.min(input.len()).max(8 * 1024));
    let mut n = 0;
    for piece in input.chunks(chunk) {
        buf.extend_from_slice(piece);
        while let Some(frame) = codec.decode(&mut buf).unwrap() {
            black_box(&frame);
            n += 1;
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buf).unwrap() {
        black_box(&frame);
        n += 1;
    }
    n
}

fn bench_line_codec(c: &mut Criterion) {
    let mut g = c.benchmark_group("line_codec");
    let cases = [
        ("small_200B_x10000", lines(10_000, 200), 10_000),
        ("large_64KB_x32", lines(32, 64 * 1024), 32),
    ];
    for (name, input, expected) in &cases {
        g.throughput(Throughput::Bytes(input.len() as u64));
        assert_eq!(decode(MAX_LINE, input, input.len()), *expected);
        g.bench_function(format!("{name}/one_chunk"), |b| {
            b.iter(|| decode(MAX_LINE, black_box(input), input.len()))
        });
        g.bench_function(format!("{name}/4KB_chunks"), |b| {
            b.iter(|| decode(MAX_LINE, black_box(input), 4096))
        });
    }
    // The discard path: every 64 KB line is over a 16 KB cap.
    let (_, input, _) = &cases[1];
    let mut codec = LineCodec::new(16 * 1024);
    let mut buf = BytesMut::from(&input[..]);
    assert_eq!(codec.decode(&mut buf).unwrap(), Some(Frame::TooLong { len: 64 * 1024 }));
    g.throughput(Throughput::Bytes(input.len() as u64));
    g.bench_function("too_long_64KB_x32_cap_16KB/4KB_chunks", |b| {
        b.iter(|| decode(16 * 1024, black_box(input), 4096))
    });
    g.finish();
}

criterion_group!(benches, bench_line_codec);
criterion_main!(benches);
