//! The limiter against a local server that holds every request until told to answer.

use std::{
    sync::{
        Arc,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use axum::{Router, routing::get};
use tokio::{net::TcpListener, sync::watch};

use super::*;

/// Counts requests in flight (and the most at once) and answers once `release` turns true.
#[derive(Clone, Default)]
struct Held {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
    served: Arc<AtomicUsize>,
}

async fn server(held: Held, release: watch::Receiver<bool>) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let app = Router::new().route(
        "/",
        get(move || {
            let (held, mut release) = (held.clone(), release.clone());
            async move {
                let now = held.now.fetch_add(1, Ordering::SeqCst) + 1;
                held.most.fetch_max(now, Ordering::SeqCst);
                release.wait_for(|r| *r).await.expect("the test holds the sender");
                held.now.fetch_sub(1, Ordering::SeqCst);
                held.served.fetch_add(1, Ordering::SeqCst);
                "ok"
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await });
    port
}

/// Waits (bounded) until `f` holds.
async fn until(what: &str, f: impl Fn() -> bool) {
    let waited = tokio::time::timeout(Duration::from_secs(10), async {
        while !f() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    assert!(waited.is_ok(), "timed out waiting for {what}");
}

#[tokio::test]
async fn a_limit_of_two_lets_exactly_two_requests_run_at_once() {
    let held = Held::default();
    let (release, gate) = watch::channel(false);
    let port = server(held.clone(), gate).await;
    let settings = PoolSettings { max_connections: Some(2), ..PoolSettings::default() };
    let pool = Arc::new(Pool::new(&settings).expect("builds"));
    let url = format!("http://127.0.0.1:{port}/");
    // Two upstreams on the same origin (different paths) share one cap.
    let (a, b) = (pool.limit(&url).expect("a limit"), pool.limit(&format!("{url}?b")).expect("b"));
    assert!(Arc::ptr_eq(&a, &b), "same origin, same semaphore");
    let mut tasks = Vec::new();
    for i in 0..6 {
        let (client, url) = (pool.client().clone(), url.clone());
        let limit = if i % 2 == 0 { Arc::clone(&a) } else { Arc::clone(&b) };
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.expect("open");
            client.get(&url).send().await.expect("answer").text().await.expect("body")
        }));
    }
    until("two requests in flight", || held.now.load(Ordering::SeqCst) == 2).await;
    // Give the other four every chance to get through if the cap leaked.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(held.now.load(Ordering::SeqCst), 2, "exactly two at once");
    release.send_replace(true);
    for t in tasks {
        let body = tokio::time::timeout(Duration::from_secs(10), t).await.expect("bounded");
        assert_eq!(body.expect("task"), "ok");
    }
    assert_eq!(held.served.load(Ordering::SeqCst), 6);
    assert_eq!(held.most.load(Ordering::SeqCst), 2);
}

#[test]
fn origins_are_capped_separately_and_forgotten_when_unused() {
    let limiter = OriginLimiter::new(3);
    assert_eq!(limiter.max(), 3);
    let a = limiter.for_url("http://127.0.0.1:1/mcp").expect("a URL");
    let same = limiter.for_url("http://127.0.0.1:1/other").expect("a URL");
    let other_port = limiter.for_url("http://127.0.0.1:2/mcp").expect("a URL");
    let other_host = limiter.for_url("http://localhost:1/mcp").expect("a URL");
    let https = limiter.for_url("https://127.0.0.1:1/mcp").expect("a URL");
    assert!(Arc::ptr_eq(&a, &same));
    for o in [&other_port, &other_host, &https] {
        assert!(!Arc::ptr_eq(&a, o));
    }
    assert_eq!(a.available_permits(), 3);
    assert!(limiter.for_url("not a url").is_none());
    // Nobody holds the origin any more: a new semaphore (and the old entry is gone).
    drop((a, same));
    let again = limiter.for_url("http://127.0.0.1:1/mcp").expect("a URL");
    assert_eq!(again.available_permits(), 3);
    assert_eq!(OriginLimiter::new(0).max(), 1, "at least one");
}

#[test]
fn no_cap_without_max_connections() {
    let pool = Pool::new(&PoolSettings { max_connections: None, ..PoolSettings::default() })
        .expect("builds");
    assert!(pool.limit("http://127.0.0.1:1/mcp").is_none());
}
