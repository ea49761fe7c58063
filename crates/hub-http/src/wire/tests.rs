//! Tests of the header helpers.

use axum::http::{HeaderMap, HeaderValue, header};

use super::{Accept, is_json_content, new_session_id};

fn accept(values: &[&'static str]) -> Accept {
    let mut headers = HeaderMap::new();
    for v in values {
        headers.append(header::ACCEPT, HeaderValue::from_static(v));
    }
    Accept::from_headers(&headers)
}

#[test]
fn accept_parsing() {
    let none = accept(&[]);
    assert!(none.allows_post_answer() && none.allows_stream() && !none.wants_sse_answer());
    let both = accept(&["application/json, text/event-stream"]);
    assert!(both.allows_post_answer() && !both.wants_sse_answer());
    let sse = accept(&["text/event-stream"]);
    assert!(sse.allows_post_answer() && sse.wants_sse_answer() && sse.allows_stream());
    let split = accept(&["text/event-stream", "application/json;q=0.9"]);
    assert!(!split.wants_sse_answer());
    let html = accept(&["text/html"]);
    assert!(!html.allows_post_answer() && !html.allows_stream());
    let json = accept(&["application/json"]);
    assert!(json.allows_post_answer() && !json.allows_stream());
    let any = accept(&["*/*"]);
    assert!(any.allows_post_answer() && any.allows_stream() && !any.wants_sse_answer());
    // Who may get the messages of a request on its own SSE answer.
    assert!(both.allows_sse_answer() && sse.allows_sse_answer() && any.allows_sse_answer());
    assert!(!none.allows_sse_answer() && !json.allows_sse_answer() && !html.allows_sse_answer());
}

#[test]
fn content_type() {
    let mut headers = HeaderMap::new();
    assert!(!is_json_content(&headers));
    headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("Application/JSON; charset=utf-8"));
    assert!(is_json_content(&headers));
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/jsonl"));
    assert!(!is_json_content(&headers));
}

#[test]
fn session_ids_are_32_hex_and_distinct() {
    let a = new_session_id().unwrap();
    let b = new_session_id().unwrap();
    assert_eq!(a.len(), 32);
    assert!(a.bytes().all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
    assert_ne!(a, b);
}
