use bytes::{BufMut, Bytes, BytesMut};
use proptest::prelude::*;
use tokio_util::codec::Decoder;

use super::{SseCodec, SseEvent, SseFrame};

/// Feeds `chunks` one by one, decoding after each, then signals end of stream.
fn decode_chunks(max: usize, chunks: &[&[u8]]) -> Vec<SseFrame> {
    let mut codec = SseCodec::new(max);
    let mut buf = BytesMut::new();
    let mut frames = Vec::new();
    for chunk in chunks {
        buf.put_slice(chunk);
        while let Some(frame) = codec.decode(&mut buf).expect("never fails") {
            frames.push(frame);
        }
    }
    while let Some(frame) = codec.decode_eof(&mut buf).expect("never fails") {
        frames.push(frame);
    }
    frames
}

fn decode_all(max: usize, input: &[u8]) -> Vec<SseFrame> {
    decode_chunks(max, &[input])
}

fn event(
    data: Option<&str>,
    event: Option<&str>,
    id: Option<&str>,
    retry: Option<u64>,
) -> SseFrame {
    SseFrame::Event(SseEvent {
        event: event.map(str::to_owned),
        data: data.map(|d| Bytes::copy_from_slice(d.as_bytes())),
        id: id.map(str::to_owned),
        retry,
    })
}

fn data(d: &str) -> SseFrame {
    event(Some(d), None, None, None)
}

#[test]
fn fields_comments_and_multi_line_data() {
    let input = b": keep-alive\n\
        event: message\nid: 7\nretry: 500\ndata: {\"a\":1}\n\n\
        data: line one\ndata:line two\ndata:  indented\n\n\
        id: only-an-id\ndata\n\n\
        unknown: field\n\n\
        retry: soon\nid: a\0b\n\n";
    assert_eq!(
        decode_all(1024, input),
        vec![
            event(Some("{\"a\":1}"), Some("message"), Some("7"), Some(500)),
            data("line one\nline two\n indented"),
            event(Some(""), None, Some("only-an-id"), None),
            // `unknown: field` alone and the invalid retry / NUL id block yield nothing.
        ]
    );
}

#[test]
fn every_line_ending_and_a_bom() {
    let input = b"\xEF\xBB\xBFdata: lf\n\ndata: crlf\r\n\r\ndata: cr\r\rdata: mixed\r\n\n";
    assert_eq!(decode_all(1024, input), vec![data("lf"), data("crlf"), data("cr"), data("mixed")]);
}

#[test]
fn a_crlf_split_across_reads_is_one_line_end() {
    let frames = decode_chunks(1024, &[b"data: a\r", b"\ndata: b\r", b"\n\r", b"\n"]);
    assert_eq!(frames, vec![data("a\nb")]);
}

#[test]
fn unterminated_last_event_is_dropped() {
    assert_eq!(decode_all(1024, b"data: complete\n\ndata: cut off\n"), vec![data("complete")]);
}

#[test]
fn invalid_utf8_in_data_is_kept_as_bytes_and_the_stream_goes_on() {
    let frames = decode_all(1024, b"data: \xFF\xFE\n\nevent: \xFF\ndata: next\n\n");
    assert_eq!(
        frames,
        vec![
            SseFrame::Event(SseEvent {
                data: Some(Bytes::from_static(b"\xFF\xFE")),
                ..SseEvent::default()
            }),
            event(Some("next"), Some("\u{FFFD}"), None, None),
        ]
    );
}

#[test]
fn oversized_event_is_dropped_and_the_next_one_decoded() {
    let big = format!("data: {}\n\n", "x".repeat(100));
    let many_lines = "data: 0123456789\n".repeat(10) + "\n";
    let input = format!("data: before\n\n{big}{many_lines}data: after\n\n");
    assert_eq!(
        decode_all(64, input.as_bytes()),
        vec![
            data("before"),
            SseFrame::TooLarge { len: 107 },
            SseFrame::TooLarge { len: 170 },
            data("after"),
        ]
    );
}

#[test]
fn an_endless_line_never_grows_the_buffer_past_the_cap() {
    let max = 1024;
    let mut codec = SseCodec::new(max);
    let mut buf = BytesMut::new();
    buf.put_slice(b"data: ");
    let chunk = [b'x'; 4096];
    for _ in 0..256 {
        buf.put_slice(&chunk);
        assert_eq!(codec.decode(&mut buf).expect("never fails"), None);
        assert!(buf.len() <= max + chunk.len(), "buffer grew to {}", buf.len());
    }
    buf.put_slice(b"\n\ndata: ok\n\n");
    assert_eq!(
        codec.decode(&mut buf).expect("never fails"),
        Some(SseFrame::TooLarge { len: 6 + 256 * 4096 + 1 })
    );
    assert_eq!(codec.decode(&mut buf).expect("never fails"), Some(data("ok")));
}

#[test]
fn an_event_exactly_at_the_cap_passes() {
    // `data: 12345\n` is 12 bytes.
    assert_eq!(decode_all(12, b"data: 12345\n\n"), vec![data("12345")]);
    assert_eq!(decode_all(11, b"data: 12345\n\n"), vec![SseFrame::TooLarge { len: 12 }]);
}

proptest! {
    /// However the input is cut into reads, the frames are the same.
    #[test]
    fn chunking_does_not_matter(
        events in prop::collection::vec(
            (prop::sample::select(vec!["", "data: x", r#"data: {"id":1}"#, "id: 3", "retry: 10",
                ": c", "event: e", "data: a longer line of data"]),
             prop::sample::select(vec!["\n", "\r\n", "\r"])),
            0..40,
        ),
        cuts in prop::collection::vec(0_usize..400, 0..12),
        max in 8_usize..64,
    ) {
        let input: Vec<u8> = events
            .iter()
            .flat_map(|(line, end)| line.bytes().chain(end.bytes()))
            .collect();
        let whole = decode_all(max, &input);
        let mut cuts: Vec<usize> = cuts.into_iter().map(|c| c.min(input.len())).collect();
        cuts.sort_unstable();
        let mut chunks = Vec::new();
        let mut at = 0;
        for cut in cuts {
            chunks.push(&input[at..cut]);
            at = cut;
        }
        chunks.push(&input[at..]);
        prop_assert_eq!(decode_chunks(max, &chunks), whole);
    }
}
