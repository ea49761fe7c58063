//! The client stack against a one-shot HTTP/1.1 server on 127.0.0.1.

use std::time::Duration;

use tokio::{
    io::{AsyncReadExt as _, AsyncWriteExt as _},
    net::TcpListener,
};

use super::{PoolSettings, http_client, install_crypto_provider};

#[test]
fn defaults() {
    let settings = PoolSettings::default();
    // The mcp-hub fork's `connectionPool` defaults: timeout, keepAliveTimeout,
    // maxFreeConnections, maxConnections.
    assert_eq!(settings.connect_timeout, Duration::from_secs(30));
    assert_eq!(settings.pool_idle_timeout, Some(Duration::from_secs(60)));
    assert_eq!(settings.pool_max_idle_per_host, 10);
    assert_eq!(settings.max_connections, Some(50));
    assert_eq!(settings.tcp_keepalive, Some(Duration::from_secs(60)));
    assert!(settings.tcp_nodelay);
    assert!(settings.user_agent.starts_with("mcp-hub/"), "{}", settings.user_agent);
    assert_eq!(settings.max_redirects, 10);
}

#[test]
fn provider_install_is_idempotent_and_clients_build_repeatedly() {
    install_crypto_provider();
    install_crypto_provider();
    assert!(rustls::crypto::CryptoProvider::get_default().is_some());
    http_client(&PoolSettings::default()).expect("builds");
    http_client(&PoolSettings::default()).expect("builds again");
}

/// Reads one request head.
async fn read_head(socket: &mut tokio::net::TcpStream) -> String {
    let mut head = Vec::new();
    let mut buf = [0_u8; 1024];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = socket.read(&mut buf).await.expect("reads");
        assert!(n > 0, "client closed before the end of the head");
        head.extend_from_slice(&buf[..n]);
    }
    String::from_utf8(head).expect("ASCII head")
}

/// Answers `requests` requests, one per connection: `GET /echo` with its own request head as
/// the body, `GET /here` with a redirect to `/echo`, `GET /away` with a redirect to `elsewhere`.
async fn serve(listener: TcpListener, requests: usize, elsewhere: String) {
    for _ in 0..requests {
        let (mut socket, _) = listener.accept().await.expect("accepts");
        let head = read_head(&mut socket).await;
        let (status, location, body) = match head.split(' ').nth(1).unwrap_or_default() {
            "/echo" => ("200 OK", None, head.clone()),
            "/here" => ("307 Temporary Redirect", Some("/echo".to_owned()), String::new()),
            "/away" => ("307 Temporary Redirect", Some(elsewhere.clone()), String::new()),
            _ => ("404 Not Found", None, String::new()),
        };
        let location = location.map(|l| format!("location: {l}\r\n")).unwrap_or_default();
        let response = format!(
            "HTTP/1.1 {status}\r\n{location}content-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        socket.write_all(response.as_bytes()).await.expect("writes");
    }
}

async fn get(client: &reqwest::Client, url: &str) -> reqwest::Response {
    tokio::time::timeout(Duration::from_secs(5), client.get(url).send())
        .await
        .expect("in time")
        .expect("answered")
}

#[tokio::test]
async fn client_speaks_http_with_the_configured_user_agent() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let base = format!("http://{}", listener.local_addr().expect("has an address"));
    let server = tokio::spawn(serve(listener, 1, String::new()));
    let settings = PoolSettings { user_agent: "hub-test/1".to_owned(), ..PoolSettings::default() };
    let client = http_client(&settings).expect("builds");
    let response = get(&client, &format!("{base}/echo")).await;
    assert_eq!(response.status(), 200);
    let head = response.text().await.expect("has a body").to_ascii_lowercase();
    assert!(head.starts_with("get /echo http/1.1\r\n"), "{head}");
    assert!(head.contains("user-agent: hub-test/1\r\n"), "{head}");
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("in time").expect("ran");
}

#[tokio::test]
async fn redirects_are_followed_within_the_origin_only() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("binds");
    let base = format!("http://{}", listener.local_addr().expect("has an address"));
    // Same host, other port: another origin.
    let server = tokio::spawn(serve(listener, 3, "http://127.0.0.1:9/echo".to_owned()));
    let client = http_client(&PoolSettings::default()).expect("builds");
    let followed = get(&client, &format!("{base}/here")).await;
    assert_eq!(followed.status(), 200);
    assert_eq!(followed.url().path(), "/echo");
    let stopped = get(&client, &format!("{base}/away")).await;
    assert_eq!(stopped.status(), 307, "a redirect to another origin is returned, not followed");
    assert_eq!(stopped.headers()["location"], "http://127.0.0.1:9/echo");
    tokio::time::timeout(Duration::from_secs(5), server).await.expect("in time").expect("ran");
}

#[tokio::test]
async fn connect_errors_are_errors_not_panics() {
    // Bind and drop: nothing listens on the port any more.
    let port = TcpListener::bind("127.0.0.1:0")
        .await
        .expect("binds")
        .local_addr()
        .expect("has an address")
        .port();
    let client = http_client(&PoolSettings::default()).expect("builds");
    let result = tokio::time::timeout(
        Duration::from_secs(5),
        client.get(format!("http://127.0.0.1:{port}/")).send(),
    )
    .await
    .expect("in time");
    assert!(result.expect_err("nothing listens").is_connect());
}
