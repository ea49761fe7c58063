//! `cargo xtask latency`: what one `tools/call` costs through the hub, against the same call made
//! directly to the upstream over stdio. Both sides use the release build of the bundled demo
//! server's `echo` tool and one sequential client, so the difference is the hub's own cost
//! (HTTP parsing, session lookup, routing, the stdio hop being common to both).

use std::{
    io::{BufRead, BufReader, Read, Write},
    net::TcpStream,
    path::Path,
    process::{Child, Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};

use crate::run;

const WARMUP: usize = 200;

struct Stats {
    samples: Vec<Duration>,
}

impl Stats {
    fn pct(&self, p: f64) -> Duration {
        let i = ((self.samples.len() as f64 - 1.0) * p).round() as usize;
        self.samples[i]
    }

    fn mean(&self) -> Duration {
        self.samples.iter().sum::<Duration>() / self.samples.len() as u32
    }

    fn new(mut samples: Vec<Duration>) -> Self {
        samples.sort();
        Stats { samples }
    }

    fn line(&self, label: &str) -> String {
        format!(
            "{label:<12} p50 {:>8.1} µs   p90 {:>8.1} µs   p99 {:>8.1} µs   mean {:>8.1} µs",
            us(self.pct(0.5)),
            us(self.pct(0.9)),
            us(self.pct(0.99)),
            us(self.mean())
        )
    }
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}

pub(crate) fn latency(root: &Path, n: usize) -> anyhow::Result<()> {
    run(Command::new(crate::cargo()).args(["build", "--release", "-p", "hub-bin"]))?;
    let bin = root.join("target/release/mcp-hub");
    let direct = Stats::new(direct(&bin, n)?);
    let hub = Stats::new(through_hub(root, &bin, n)?);
    println!("\ntools/call `echo`, {n} sequential calls after {WARMUP} warm-up calls:");
    println!("{}", direct.line("direct"));
    println!("{}", hub.line("through hub"));
    println!(
        "hub overhead: p50 +{:.1} µs, p99 +{:.1} µs",
        us(hub.pct(0.5)) - us(direct.pct(0.5)),
        us(hub.pct(0.99)) - us(direct.pct(0.99))
    );
    Ok(())
}

fn call_body(id: usize) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","id":{id},"method":"tools/call","params":{{"name":"NAME","arguments":{{"text":"hello"}}}}}}"#
    )
}

fn direct(bin: &Path, n: usize) -> anyhow::Result<Vec<Duration>> {
    let mut child = Command::new(bin)
        .arg("demo-server")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .context("start demo server")?;
    let mut stdin = child.stdin.take().context("stdin")?;
    let mut stdout = BufReader::new(child.stdout.take().context("stdout")?);
    let mut line = String::new();
    let mut rpc = |body: &str| -> anyhow::Result<()> {
        stdin.write_all(body.as_bytes())?;
        stdin.write_all(b"\n")?;
        stdin.flush()?;
        line.clear();
        stdout.read_line(&mut line)?;
        if !line.contains("\"result\"") {
            bail!("unexpected answer: {line}");
        }
        Ok(())
    };
    rpc(
        r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#,
    )?;
    let mut samples = Vec::with_capacity(n);
    for i in 0..WARMUP + n {
        let body = call_body(i + 1).replace("NAME", "echo");
        let t = Instant::now();
        rpc(&body)?;
        if i >= WARMUP {
            samples.push(t.elapsed());
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    Ok(samples)
}

/// A minimal HTTP/1.1 keep-alive client: enough for JSON request/response exchanges.
struct Http {
    stream: BufReader<TcpStream>,
    addr: String,
}

impl Http {
    fn connect(addr: &str) -> anyhow::Result<Self> {
        let s = TcpStream::connect(addr)?;
        s.set_nodelay(true)?;
        Ok(Http { stream: BufReader::new(s), addr: addr.to_owned() })
    }

    fn post(
        &mut self,
        session: Option<&str>,
        body: &str,
    ) -> anyhow::Result<(Option<String>, String)> {
        let mut req = format!(
            "POST /mcp HTTP/1.1\r\nhost: {}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\ncontent-length: {}\r\n",
            self.addr,
            body.len()
        );
        if let Some(s) = session {
            req.push_str(&format!("mcp-session-id: {s}\r\nmcp-protocol-version: 2025-11-25\r\n"));
        }
        req.push_str("\r\n");
        req.push_str(body);
        self.stream.get_mut().write_all(req.as_bytes())?;
        let mut len = 0usize;
        let mut sid = None;
        let mut line = String::new();
        loop {
            line.clear();
            self.stream.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            let lower = l.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                len = v.trim().parse()?;
            }
            if lower.starts_with("mcp-session-id:") {
                sid = Some(l["mcp-session-id:".len()..].trim().to_owned());
            }
        }
        let mut buf = vec![0; len];
        self.stream.read_exact(&mut buf)?;
        Ok((sid, String::from_utf8_lossy(&buf).into_owned()))
    }
}

fn through_hub(root: &Path, bin: &Path, n: usize) -> anyhow::Result<Vec<Duration>> {
    let config = root.join("target/latency-hub.json");
    std::fs::write(
        &config,
        format!(
            r#"{{"mcpServers": {{"demo": {{"command": {:?}, "args": ["demo-server"]}}}}}}"#,
            bin.display().to_string()
        ),
    )?;
    let mut hub = Command::new(bin)
        .args(["--port", "0", "--config"])
        .arg(&config)
        .env("RUST_LOG", "warn,hub_bin=info")
        .stderr(Stdio::piped())
        .spawn()
        .context("start hub")?;
    let result = measure_hub(&mut hub, n);
    let _ = Command::new("kill").arg(hub.id().to_string()).status();
    let _ = hub.wait();
    result
}

fn measure_hub(hub: &mut Child, n: usize) -> anyhow::Result<Vec<Duration>> {
    let stderr = hub.stderr.take().context("stderr")?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(rest) = line.split("listening: MCP on http://").nth(1) {
                let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
            }
        }
    });
    let addr =
        rx.recv_timeout(Duration::from_secs(20)).context("hub did not report its address")?;
    let mut http = Http::connect(&addr)?;
    // The hub answers initialize at once; wait until the demo server is connected.
    let (sid, body) = http.post(None, r#"{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-11-25","capabilities":{},"clientInfo":{"name":"bench","version":"0"}}}"#)?;
    let sid = sid.with_context(|| format!("no session id: {body}"))?;
    let started = Instant::now();
    loop {
        let (_, body) =
            http.post(Some(&sid), r#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#)?;
        if body.contains("demo__echo") {
            break;
        }
        if started.elapsed() > Duration::from_secs(20) {
            bail!("demo server did not connect: {body}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut samples = Vec::with_capacity(n);
    for i in 0..WARMUP + n {
        let body = call_body(i + 2).replace("NAME", "demo__echo");
        let t = Instant::now();
        let (_, answer) = http.post(Some(&sid), &body)?;
        if i >= WARMUP {
            samples.push(t.elapsed());
        }
        if !answer.contains("\"result\"") {
            bail!("unexpected answer: {answer}");
        }
    }
    Ok(samples)
}
