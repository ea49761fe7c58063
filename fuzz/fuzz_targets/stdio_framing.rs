//! `hub_transport::LineCodec` on an arbitrary byte stream, cut into arbitrary chunks.
//!
//! Input layout: byte 0 is the line cap (0..=255), byte 1 says how many of the following bytes
//! are chunk sizes (0..=8, each 1..=256, used in turn; 0 means one chunk); the rest is the stream.
//!
//! Checks: no panic; every `Frame::Line` has no `\n`, is at most the cap, is not blank, and does
//! not end in a `\r` that was part of a CRLF; decoding in chunks gives the same frames as decoding
//! in one go; both equal a plain reference model (split on `\n`, strip one `\r`, skip blank lines,
//! lines over the cap become `TooLong { len }`).

#![no_main]

use bytes::Bytes;
use hub_transport::{Frame, LineCodec};
use libfuzzer_sys::fuzz_target;

#[path = "chunked.rs"]
mod chunked;

fn decode_chunked(max: usize, input: &[u8], sizes: &[usize]) -> Vec<Frame> {
    // The buffer never holds a whole over-long line.
    chunked::decode_chunked(LineCodec::new(max), input, sizes, |n| max.saturating_add(1) + n, true)
}

fn reference(max: usize, input: &[u8]) -> Vec<Frame> {
    let mut pieces: Vec<&[u8]> = input.split(|&b| b == b'\n').collect();
    if pieces.last().is_some_and(|p| p.is_empty()) {
        pieces.pop();
    }
    pieces
        .into_iter()
        .filter_map(|raw| {
            if raw.len() > max {
                return Some(Frame::TooLong { len: raw.len() });
            }
            let stripped = raw.strip_suffix(b"\r").unwrap_or(raw);
            if stripped.iter().all(u8::is_ascii_whitespace) {
                None
            } else {
                Some(Frame::Line(Bytes::copy_from_slice(stripped)))
            }
        })
        .collect()
}

fuzz_target!(|data: &[u8]| {
    let [cap, k, rest @ ..] = data else { return };
    let max = usize::from(*cap);
    let k = usize::from(*k % 9).min(rest.len());
    let (sizes, stream) = rest.split_at(k);
    let sizes: Vec<usize> = sizes.iter().map(|&b| usize::from(b) + 1).collect();

    let chunked = decode_chunked(max, stream, &sizes);
    for f in &chunked {
        if let Frame::Line(line) = f {
            assert!(!line.contains(&b'\n'), "a line contains a newline");
            assert!(line.len() <= max, "a line of {} bytes passed a cap of {max}", line.len());
            assert!(!line.iter().all(u8::is_ascii_whitespace), "a blank line was yielded");
        }
    }
    let one_shot = decode_chunked(max, stream, &[]);
    assert_eq!(chunked, one_shot, "chunking changed the frames");
    assert_eq!(one_shot, reference(max, stream), "the codec disagrees with the reference");
});
