//! Starting the hub binary on a config, talking MCP to it, and stopping it.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{
        Arc, Mutex,
        atomic::{AtomicUsize, Ordering},
    },
    time::Duration,
};

use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Child,
};

pub const HUB: &str = env!("CARGO_BIN_EXE_mcp-hub-it");

/// A config entry that runs the bundled demo server.
pub fn demo(extra_args: &[&str]) -> Value {
    let mut args = vec!["demo-server"];
    args.extend_from_slice(extra_args);
    json!({"command": HUB, "args": args})
}

/// A running hub process, stopped (SIGTERM, then kill) when dropped or by [`Hub::stop`].
pub struct Hub {
    child: Option<Child>,
    pub base: String,
    pub log: Arc<Mutex<String>>,
    /// The temporary config file [`Hub::start`] wrote, removed on drop; `None` for
    /// [`Hub::start_with`], whose caller owns its files.
    config: Option<PathBuf>,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

impl Hub {
    /// Writes `config` to a temporary file and starts the hub on a free port; returns once the
    /// hub reports `ready` (every server tried).
    pub async fn start(config: &Value) -> Hub {
        let path = std::env::temp_dir().join(format!(
            "hub-it-{}-{}.json",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        ));
        std::fs::write(&path, serde_json::to_vec_pretty(config).unwrap()).unwrap();
        Hub::spawn(&[&path], &[], Some(path.clone())).await
    }

    /// Starts the hub on config files the caller owns (each passed as `--config <file>`, in
    /// order; a file need not exist yet) plus `extra_args` such as `--watch`; returns once the
    /// hub reports `ready`. The files are left alone when the hub stops.
    pub async fn start_with(files: &[impl AsRef<Path>], extra_args: &[&str]) -> Hub {
        Hub::spawn(files, extra_args, None).await
    }

    async fn spawn(files: &[impl AsRef<Path>], extra_args: &[&str], owned: Option<PathBuf>) -> Hub {
        let mut cmd = tokio::process::Command::new(HUB);
        // Under `cargo llvm-cov` the demo servers the hub starts must write their profiles too;
        // the hub passes children only an allowlist of its environment, plus MCP_HUB_ENV.
        if let Ok(profile) = std::env::var("LLVM_PROFILE_FILE") {
            cmd.env("MCP_HUB_ENV", json!({"LLVM_PROFILE_FILE": profile}).to_string());
        }
        cmd.args(["--port", "0"]);
        for file in files {
            cmd.arg("--config").arg(file.as_ref());
        }
        let mut child = cmd
            .args(extra_args)
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("hub starts");
        let log = Arc::new(Mutex::new(String::new()));
        let (addr_tx, addr_rx) = tokio::sync::oneshot::channel::<String>();
        let stderr = child.stderr.take().unwrap();
        let log2 = log.clone();
        tokio::spawn(async move {
            let mut addr_tx = Some(addr_tx);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("listening: MCP on http://").nth(1) {
                    let addr = rest.split('/').next().unwrap_or_default().to_owned();
                    if let Some(tx) = addr_tx.take() {
                        let _ = tx.send(addr);
                    }
                }
                let mut l = log2.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let addr = tokio::time::timeout(Duration::from_secs(20), addr_rx)
            .await
            .unwrap_or_else(|_| {
                panic!("hub did not report its address; log:\n{}", log.lock().unwrap())
            })
            .expect("address");
        let hub = Hub { child: Some(child), base: format!("http://{addr}"), log, config: owned };
        hub.wait_ready().await;
        hub
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().and_then(Child::id).unwrap()
    }

    async fn wait_ready(&self) {
        for _ in 0..300 {
            if let Ok(r) = http_client().get(self.url("/api/health")).send().await
                && let Ok(v) = r.json::<Value>().await
                && v["state"] == "ready"
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("hub not ready after 30 s; log:\n{}", self.log.lock().unwrap());
    }

    pub async fn servers(&self) -> Vec<Value> {
        let v: Value =
            http_client().get(self.url("/api/servers")).send().await.unwrap().json().await.unwrap();
        v["servers"].as_array().unwrap().clone()
    }

    pub async fn server(&self, name: &str) -> Value {
        self.servers()
            .await
            .into_iter()
            .find(|s| s["name"] == name)
            .unwrap_or_else(|| panic!("no server {name}"))
    }

    /// SIGTERM, then wait (bounded) for a clean exit; returns the exit code.
    pub async fn stop(mut self) -> Option<i32> {
        let mut child = self.child.take().unwrap();
        let pid = nix::unistd::Pid::from_raw(child.id().unwrap() as i32);
        nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
        match tokio::time::timeout(Duration::from_secs(15), child.wait()).await {
            Ok(status) => status.unwrap().code(),
            Err(_) => {
                let _ = child.kill().await;
                panic!(
                    "hub did not exit within 15 s of SIGTERM; log:\n{}",
                    self.log.lock().unwrap()
                );
            }
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(config) = &self.config {
            let _ = std::fs::remove_file(config);
        }
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
    }
}

/// A streamable-HTTP MCP session driven by hand with reqwest.
pub struct Session {
    pub http: reqwest::Client,
    pub url: String,
    pub id: String,
    next: i64,
}

pub const ACCEPT: &str = "application/json, text/event-stream";

impl Session {
    pub async fn open(hub: &Hub) -> Session {
        Session::open_with(hub, json!({})).await
    }

    /// A session whose client declares `capabilities` (e.g. `{"sampling": {}}`).
    pub async fn open_with(hub: &Hub, capabilities: Value) -> Session {
        let http = http_client();
        let url = hub.url("/mcp");
        let resp = http
            .post(&url)
            .header("accept", ACCEPT)
            .json(&json!({"jsonrpc": "2.0", "id": 0, "method": "initialize", "params": {
                "protocolVersion": "2025-11-25", "capabilities": capabilities,
                "clientInfo": {"name": "hub-it", "version": "0"}}}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200);
        let id = resp.headers()["mcp-session-id"].to_str().unwrap().to_owned();
        let body: Value = resp.json().await.unwrap();
        assert_eq!(body["result"]["protocolVersion"], "2025-11-25", "{body}");
        let s = Session { http, url, id, next: 1 };
        let r = s.post(&json!({"jsonrpc": "2.0", "method": "notifications/initialized"})).await;
        assert_eq!(r.status(), 202);
        s
    }

    /// Opens the session's GET notification stream; the returned [`Stream`] waits for text.
    pub async fn open_stream(&self) -> Stream {
        let response = self
            .http
            .get(&self.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &self.id)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        let content_type = response.headers()["content-type"].to_str().unwrap().to_owned();
        assert!(content_type.starts_with("text/event-stream"), "{content_type}");
        let body = Box::pin(response.bytes_stream());
        // Give the stream a moment to register before the caller makes something happen.
        tokio::time::sleep(Duration::from_millis(200)).await;
        Stream { body, seen: String::new() }
    }

    /// `GET /mcp` with `Last-Event-ID: last`: the rest of one of the session's SSE answers.
    pub async fn resume(&self, last: &str) -> reqwest::Response {
        self.http
            .get(&self.url)
            .header("accept", "text/event-stream")
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", "2025-11-25")
            .header("last-event-id", last)
            .send()
            .await
            .unwrap()
    }

    pub async fn post(&self, body: &Value) -> reqwest::Response {
        self.http
            .post(&self.url)
            .header("accept", ACCEPT)
            .header("mcp-session-id", &self.id)
            .header("mcp-protocol-version", "2025-11-25")
            .json(body)
            .send()
            .await
            .unwrap()
    }

    /// Another handle on the same session (same id and client), for a request that runs
    /// alongside this handle's; its request ids start at 1 000 000 so the two never collide.
    pub fn fork(&self) -> Session {
        Session {
            http: self.http.clone(),
            url: self.url.clone(),
            id: self.id.clone(),
            next: 1_000_000,
        }
    }

    /// Sends a request and returns the whole JSON-RPC response.
    pub async fn call(&mut self, method: &str, params: Value) -> Value {
        self.next += 1;
        let id = self.next;
        let resp = self
            .post(&json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}))
            .await;
        assert_eq!(resp.status(), 200, "{method}");
        let v: Value = resp.json().await.unwrap();
        assert_eq!(v["id"], id);
        v
    }

    /// The `result` of a request that must succeed.
    pub async fn ok(&mut self, method: &str, params: Value) -> Value {
        let v = self.call(method, params).await;
        assert!(v.get("error").is_none(), "{method} failed: {v}");
        v["result"].clone()
    }

    pub async fn tool_text(&mut self, name: &str, args: Value) -> (bool, String) {
        let r = self.ok("tools/call", json!({"name": name, "arguments": args})).await;
        let text = r["content"][0]["text"].as_str().unwrap_or_default().to_owned();
        (r["isError"] == true, text)
    }
}

pub fn names(list: &Value, key: &str) -> Vec<String> {
    list.as_array().unwrap().iter().map(|i| i[key].as_str().unwrap().to_owned()).collect()
}

/// An open SSE response body and the text read from it so far.
pub struct Stream {
    body: std::pin::Pin<Box<dyn futures_util::Stream<Item = reqwest::Result<bytes::Bytes>> + Send>>,
    pub seen: String,
}

impl Stream {
    /// The body of an SSE response, read as text.
    pub fn of(response: reqwest::Response) -> Stream {
        Stream { body: Box::pin(response.bytes_stream()), seen: String::new() }
    }

    /// The JSON-RPC messages read so far (the `data:` of each event that holds one).
    pub fn messages(&self) -> Vec<Value> {
        let data = self.seen.lines().filter_map(|l| l.strip_prefix("data: "));
        data.filter_map(|d| serde_json::from_str(d).ok()).collect()
    }

    /// Reads until `needle` has arrived (true) or `timeout` passed / the stream ended (false).
    pub async fn wait_for(&mut self, needle: &str, timeout: Duration) -> bool {
        self.wait_for_count(needle, 1, timeout).await
    }

    /// Reads until `needle` has arrived `n` times in all (true) or `timeout` passed / the
    /// stream ended (false).
    pub async fn wait_for_count(&mut self, needle: &str, n: usize, timeout: Duration) -> bool {
        use futures_util::StreamExt;
        let got = tokio::time::timeout(timeout, async {
            while self.seen.matches(needle).count() < n {
                let Some(chunk) = self.body.next().await else { return false };
                self.seen.push_str(&String::from_utf8_lossy(&chunk.unwrap()));
            }
            true
        })
        .await;
        got == Ok(true)
    }
}

/// The hub's upstream child processes (its reaper, see [`reaper_of`], not counted).
pub fn children_of(pid: u32) -> Vec<i32> {
    processes_of(pid).into_iter().filter(|&c| !is_reaper(c)).collect()
}

/// The hub's reaper process (`mcp-hub reaper`), if it has one.
pub fn reaper_of(pid: u32) -> Option<i32> {
    processes_of(pid).into_iter().find(|&c| is_reaper(c))
}

fn is_reaper(pid: i32) -> bool {
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .is_ok_and(|c| c.split(|&b| b == 0).nth(1) == Some(b"reaper".as_slice()))
}

/// Whether `pid` still runs (a zombie waiting to be reaped does not count).
pub fn is_running(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        let state = stat.rsplit_once(')').map(|(_, r)| r.trim_start()).unwrap_or_default();
        !state.starts_with('Z') && !state.starts_with('X')
    })
}

/// Every direct child process of `pid`.
fn processes_of(pid: u32) -> Vec<i32> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(child) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{child}/stat")) else { continue };
        // Fields after the parenthesised command name: state, ppid, …
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        if after.split_whitespace().nth(1) == Some(&pid.to_string()) {
            out.push(child);
        }
    }
    out
}

/// A plain HTTP client for the tests. reqwest is built with `rustls-no-provider` (the hub
/// installs ring itself), so the provider must be installed before any client is built.
pub fn http_client() -> reqwest::Client {
    hub_pool::install_crypto_provider();
    reqwest::Client::new()
}

/// The cut-off for a whole test, so that a hub that stops answering fails the test, never hangs it.
pub const TEST_LIMIT: Duration = Duration::from_secs(60);

/// Runs a test body, failing it if it takes longer than [`TEST_LIMIT`].
pub async fn bounded(test: impl std::future::Future<Output = ()>) {
    if tokio::time::timeout(TEST_LIMIT, test).await.is_err() {
        panic!("the test did not finish within {TEST_LIMIT:?}");
    }
}
