//! `hub_transport::SseCodec` (the client side's server-sent-events parser) on an arbitrary byte
//! stream, cut into arbitrary chunks.
//!
//! Input layout: byte 0 is the event cap (`16 * byte`), byte 1 says how many of the following
//! bytes are chunk sizes (0..=8, each 1..=256, used in turn; 0 means one chunk); the rest is the
//! stream.
//!
//! Checks: no panic and no error on any content; every event's data is within the cap; decoding
//! in chunks gives the same frames as decoding in one go (how reads split the stream must not
//! matter); the buffer stays bounded by the cap plus the last read.

#![no_main]

use hub_transport::{SseCodec, SseFrame};
use libfuzzer_sys::fuzz_target;

#[path = "chunked.rs"]
mod chunked;

fn decode_chunked(max: usize, input: &[u8], sizes: &[usize]) -> Vec<SseFrame> {
    chunked::decode_chunked(SseCodec::new(max), input, sizes, |n| max.saturating_add(2) + n, false)
}

fuzz_target!(|data: &[u8]| {
    let [cap, k, rest @ ..] = data else { return };
    let max = usize::from(*cap) * 16;
    let k = usize::from(*k % 9).min(rest.len());
    let (sizes, stream) = rest.split_at(k);
    let sizes: Vec<usize> = sizes.iter().map(|&b| usize::from(b) + 1).collect();

    let chunked = decode_chunked(max, stream, &sizes);
    for f in &chunked {
        if let SseFrame::Event(e) = f {
            let len = e.data.as_ref().map_or(0, |d| d.len());
            assert!(len <= max, "an event of {len} data bytes passed a cap of {max}");
        }
    }
    let one_shot = decode_chunked(max, stream, &[]);
    assert_eq!(chunked, one_shot, "chunking changed the frames");
});
