//! The processes `hub-load` starts (the hub, the direct demo-server child) and the `/proc`
//! sampler of the hub's RSS and CPU.

use std::{
    path::{Path, PathBuf},
    process::Stdio,
    sync::{Arc, Mutex},
    time::Duration,
};

use anyhow::{Context as _, bail};
use hub_transport::{Peer, Settings, Spec};
use serde_json::{Value, json};
use tokio::{
    io::{AsyncBufReadExt, BufReader},
    process::Child,
    sync::watch,
    task::JoinHandle,
    time::Instant,
};

/// The hub under test. Stopped by [`Hub::stop`] (SIGTERM, bounded wait, then SIGKILL); killed
/// when dropped on an error path.
pub struct Hub {
    child: Option<Child>,
    pub base: String,
    pub pid: u32,
    log: Arc<Mutex<String>>,
}

impl Hub {
    /// The hub with the bundled demo server as its one upstream (the steady/ramp/spike setup).
    pub async fn start(bin: &Path, out: &Path) -> anyhow::Result<Hub> {
        let config = out.join("hub-load-config.json");
        let cfg = json!({"mcpServers": {"demo": {"command": bin, "args": ["demo-server"]}}});
        std::fs::write(&config, serde_json::to_vec_pretty(&cfg)?)
            .with_context(|| format!("write {}", config.display()))?;
        Hub::start_with(bin, &config, "warn,hub_bin=info", None).await
    }

    /// The hub with the config file `config`, logging at `rust_log`; every line of its log
    /// (stderr) also goes to `log_file` when given (the in-memory copy is capped at 1 MiB).
    pub async fn start_with(
        bin: &Path,
        config: &Path,
        rust_log: &str,
        log_file: Option<&Path>,
    ) -> anyhow::Result<Hub> {
        let mut file = match log_file {
            Some(p) => {
                Some(std::fs::File::create(p).with_context(|| format!("create {}", p.display()))?)
            }
            None => None,
        };
        let mut child = tokio::process::Command::new(bin)
            .args(["--host", "127.0.0.1", "--port", "0", "--config"])
            .arg(config)
            .env("RUST_LOG", rust_log)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .with_context(|| format!("start {}", bin.display()))?;
        let pid = child.id().context("hub pid")?;
        let stderr = child.stderr.take().context("hub stderr")?;
        let log = Arc::new(Mutex::new(String::new()));
        let mut hub = Hub { child: Some(child), base: String::new(), pid, log: Arc::clone(&log) };
        let (tx, rx) = tokio::sync::oneshot::channel::<String>();
        tokio::spawn(async move {
            let mut tx = Some(tx);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(rest) = line.split("listening: MCP on http://").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(rest.split('/').next().unwrap_or_default().to_owned());
                }
                if let Some(f) = &mut file {
                    // Unbuffered, so the file is complete whenever the hub is judged.
                    let _ = std::io::Write::write_all(f, format!("{line}\n").as_bytes());
                }
                if let Ok(mut l) = log.lock()
                    && l.len() < 1 << 20
                {
                    l.push_str(&line);
                    l.push('\n');
                }
            }
        });
        let Ok(Ok(addr)) = tokio::time::timeout(Duration::from_secs(20), rx).await else {
            bail!("the hub did not report its address; log:\n{}", hub.log())
        };
        hub.base = format!("http://{addr}");
        wait_ready(&hub.base).await.with_context(|| format!("log:\n{}", hub.log()))?;
        Ok(hub)
    }

    /// `None` while the hub process runs; how it ended otherwise.
    pub fn exited(&mut self) -> Option<String> {
        match self.child.as_mut().map(Child::try_wait) {
            Some(Ok(None)) => None,
            Some(Ok(Some(status))) => Some(status.to_string()),
            Some(Err(e)) => Some(format!("cannot tell: {e}")),
            None => Some("stopped".to_owned()),
        }
    }

    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }

    /// SIGTERM, then up to 15 s for a clean exit, then SIGKILL.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.child.take() else { return Ok(()) };
        if let Ok(pid) = i32::try_from(self.pid) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        match tokio::time::timeout(Duration::from_secs(15), child.wait()).await {
            Ok(Ok(status)) if status.success() => Ok(()),
            Ok(Ok(status)) => bail!("the hub exited with {status} after SIGTERM"),
            Ok(Err(e)) => Err(e.into()),
            Err(_) => {
                let _ = child.kill().await;
                bail!("the hub did not exit within 15 s of SIGTERM; killed")
            }
        }
    }
}

impl Drop for Hub {
    fn drop(&mut self) {
        if let Some(child) = &mut self.child {
            let _ = child.start_kill();
        }
    }
}

/// Waits (bounded) until `/api/health` says `ready`, that is every upstream tried.
async fn wait_ready(base: &str) -> anyhow::Result<()> {
    hub_pool::install_crypto_provider();
    let http = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = http.get(format!("{base}/api/health")).send().await
            && let Ok(v) = r.json::<Value>().await
            && v["state"] == "ready"
        {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    bail!("the hub was not ready after 30 s")
}

/// One demo-server child over stdio, initialized: the direct baseline. Shut down by the caller
/// ([`Peer::shutdown`]); the transport kills it if the handle is dropped.
pub async fn direct_peer(bin: &Path) -> anyhow::Result<Peer> {
    let spec = Spec {
        command: bin.display().to_string(),
        args: vec!["demo-server".to_owned()],
        env: Vec::new(),
        cwd: None,
    };
    let (peer, _incoming) = hub_transport::spawn("demo-direct", &spec, &Settings::default())
        .await
        .context("start the direct demo server")?;
    let params = serde_json::value::to_raw_value(&json!({
        "protocolVersion": "2025-11-25", "capabilities": {},
        "clientInfo": {"name": "hub-load", "version": "0"}}))?;
    let init = peer.request("initialize", Some(params), Duration::from_secs(10)).await;
    if let Err(e) = init {
        peer.shutdown().await;
        bail!("direct demo server: initialize failed: {e}");
    }
    peer.notify("notifications/initialized", None).await.context("initialized")?;
    Ok(peer)
}

/// What the sampler saw over a window.
#[derive(Debug, Clone, Copy, Default)]
pub struct Usage {
    pub max_rss_mib: f64,
    pub mean_cpu_pct: f64,
    pub samples: usize,
}

/// Samples `/proc/<pid>` every 200 ms until stopped; CPU is averaged between `measure_from`
/// and the stop.
pub struct Sampler {
    stop: watch::Sender<bool>,
    task: JoinHandle<Usage>,
}

/// The kernel's `USER_HZ`, the unit of `utime`/`stime` in `/proc/<pid>/stat`: 100 on every
/// Linux architecture Rust supports (reading it needs `sysconf`, which is unsafe FFI).
const CLK_TCK: f64 = 100.0;

impl Sampler {
    pub fn start(pid: u32, measure_from: Instant) -> Sampler {
        let (stop, mut stopped) = watch::channel(false);
        let task = tokio::spawn(async move {
            let status = PathBuf::from(format!("/proc/{pid}/status"));
            let stat = PathBuf::from(format!("/proc/{pid}/stat"));
            let mut usage = Usage::default();
            let mut first: Option<(Instant, u64)> = None;
            let mut last: Option<(Instant, u64)> = None;
            let mut tick = tokio::time::interval(Duration::from_millis(200));
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stopped.changed() => break,
                }
                if let Some(kib) = rss_kib(&status) {
                    usage.max_rss_mib = usage.max_rss_mib.max(kib as f64 / 1024.0);
                    usage.samples += 1;
                }
                let now = Instant::now();
                if now >= measure_from
                    && let Some(t) = cpu_ticks(&stat)
                {
                    first.get_or_insert((now, t));
                    last = Some((now, t));
                }
            }
            if let (Some((t0, c0)), Some((t1, c1))) = (first, last) {
                let secs = (t1 - t0).as_secs_f64();
                if secs > 0.0 {
                    usage.mean_cpu_pct = (c1 - c0) as f64 / CLK_TCK / secs * 100.0;
                }
            }
            usage
        });
        Sampler { stop, task }
    }

    pub async fn finish(self) -> Usage {
        let _ = self.stop.send(true);
        self.task.await.unwrap_or_default()
    }
}

fn rss_kib(status: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(status).ok()?;
    let line = text.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn cpu_ticks(stat: &Path) -> Option<u64> {
    let text = std::fs::read_to_string(stat).ok()?;
    // The command name (field 2) may hold spaces; fields after its closing paren are plain.
    let rest = &text[text.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15 of the whole line, 12 and 13 after the paren.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}
