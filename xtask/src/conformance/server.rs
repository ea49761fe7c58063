//! The suite's server scenarios (`server --suite all`) against `mcp-conformance-fixture`, alone
//! and behind the hub; see [`RUNS`]. Every process started here is stopped (SIGTERM, then
//! SIGKILL) when the run ends, also on error, and every wait is bounded.

use std::{
    fs::File,
    io::{Read as _, Write as _},
    net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream},
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};

use super::{Suite, strip_ansi};

/// What a server run puts in front of the suite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Setup {
    /// The fixture alone over HTTP: the calibration (it says whether a failure is the hub's).
    FixtureDirect,
    /// The hub, fronting the fixture as a stdio upstream (`"command"`).
    HubStdio,
    /// The hub, fronting the fixture as a streamable-HTTP upstream (`"url"`) on its own port.
    HubHttp,
    /// The hub with its default `<id>__<name>` prefixes, fronting the reference
    /// `server-everything` (the pinned peer, over stdio): the scenarios that need no fixture
    /// names (initialize, ping, logging, lists, subscriptions, DNS rebinding, SSE streams).
    HubEverything,
}

/// One server run: its name (results under `target/conformance/results-<name>`, expected
/// failures in `xtask/conformance/<name>.yml`), what it tests, its setup.
pub(crate) struct Run {
    pub(crate) name: &'static str,
    pub(crate) what: &'static str,
    setup: Setup,
}

/// The server runs, in order.
pub(crate) const RUNS: [Run; 4] = [
    Run {
        name: "fixture-direct",
        what: "the fixture alone over streamable HTTP (calibration)",
        setup: Setup::FixtureDirect,
    },
    Run {
        name: "hub-stdio",
        what: "the hub in front of the fixture as a stdio upstream, \"prefix\": \"never\"",
        setup: Setup::HubStdio,
    },
    Run {
        name: "hub-http",
        what: "the hub in front of the fixture as a streamable-HTTP upstream, \"prefix\": \"never\"",
        setup: Setup::HubHttp,
    },
    Run {
        name: "hub-everything",
        what: "the hub with prefixes in front of server-everything (stdio): the scenarios that \
               need no fixture names",
        setup: Setup::HubEverything,
    },
];

/// The binaries of `tests/` that the server runs start.
pub(crate) const BINARIES: [&str; 2] = ["mcp-conformance-fixture", "mcp-hub-it"];

/// How long a started server gets to answer its health check (the hub: to report `ready`).
const READY_LIMIT: Duration = Duration::from_secs(30);
/// How long one suite run (32 scenarios) may take.
const SUITE_LIMIT: Duration = Duration::from_secs(600);
/// How long a process gets to exit after SIGTERM before it is killed.
const STOP_GRACE: Duration = Duration::from_secs(10);

/// What the suite said about one server run.
pub(crate) struct Verdict {
    pub(crate) passed: bool,
    /// The suite's `Total: N passed, M failed` line, or why there is none.
    pub(crate) total: String,
    /// The scenarios the run's expected-failures file lists.
    pub(crate) expected: Vec<String>,
}

/// Runs `run`: starts its servers, runs the suite, stops everything. An error is a setup
/// failure (a server that would not start); the suite's own verdict is in [`Verdict`].
pub(crate) fn server_run(root: &Path, suite: &Suite, run: &Run) -> anyhow::Result<Verdict> {
    let dir = root.join("target/conformance");
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs)?;
    let fixture = root.join("target/debug/mcp-conformance-fixture");
    let hub = root.join("target/debug/mcp-hub-it");
    let baseline = root.join(format!("xtask/conformance/{}.yml", run.name));
    let expected = expected_failures(&baseline)?;
    println!("\n== server run {}: {}", run.name, run.what);

    // Dropped at the end of this function, on every path: each one is stopped.
    let mut procs: Vec<Proc> = Vec::new();
    let log = |what: &str| logs.join(format!("{}-{what}.log", run.name));
    let port = match run.setup {
        Setup::FixtureDirect => {
            let port = free_port()?;
            let mut cmd = Command::new(&fixture);
            cmd.args(["--port", &port.to_string()]);
            procs.push(Proc::start("fixture", &mut cmd, &log("fixture"))?);
            wait_ready(port, false, &mut procs)?;
            port
        }
        Setup::HubStdio | Setup::HubHttp | Setup::HubEverything => {
            let (name, upstream) = if run.setup == Setup::HubEverything {
                let peers = crate::peers::ensure(root)?;
                let everything = peers
                    .join("npm/node_modules/@modelcontextprotocol/server-everything/dist/index.js");
                let args = json!([path_str(&everything)?, "stdio"]);
                ("everything", json!({"command": path_str(&suite.node)?, "args": args}))
            } else if run.setup == Setup::HubStdio {
                ("conf", json!({"command": path_str(&fixture)?, "prefix": "never"}))
            } else {
                let port = free_port()?;
                let mut cmd = Command::new(&fixture);
                cmd.args(["--port", &port.to_string()]);
                procs.push(Proc::start("fixture", &mut cmd, &log("fixture"))?);
                wait_ready(port, false, &mut procs)?;
                let upstream = json!({
                    "url": format!("http://127.0.0.1:{port}/mcp"),
                    "type": "streamable-http",
                    "prefix": "never",
                });
                ("conf", upstream)
            };
            let config = dir.join(format!("{}.json", run.name));
            let text = serde_json::to_string_pretty(&json!({"mcpServers": {name: upstream}}))?;
            std::fs::write(&config, text + "\n")
                .with_context(|| format!("cannot write {}", config.display()))?;
            let port = free_port()?;
            let mut cmd = Command::new(&hub);
            cmd.args(["--port", &port.to_string()]).arg("--config").arg(&config);
            cmd.env("RUST_LOG", "info");
            procs.push(Proc::start("hub", &mut cmd, &log("hub"))?);
            wait_ready(port, true, &mut procs)?;
            port
        }
    };
    let url = format!("http://localhost:{port}/mcp");
    let verdict = suite_run(root, suite, run, &url, &baseline, expected);
    for proc in &mut procs {
        proc.stop();
    }
    verdict
}

/// The scenario names listed under `server:` (one `  - name  # reason` a line).
fn expected_failures(path: &Path) -> anyhow::Result<Vec<String>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the expected failures {}", path.display()))?;
    Ok(text
        .lines()
        .filter_map(|line| line.trim_start().strip_prefix("- "))
        .map(|item| item.split('#').next().unwrap_or_default().trim().to_owned())
        .filter(|name| !name.is_empty())
        .collect())
}

/// Runs the suite against `url`, bounded by [`SUITE_LIMIT`]; its whole output goes to
/// `<results>/suite.log`, the summary (minus the passing scenarios) to stdout.
fn suite_run(
    root: &Path,
    suite: &Suite,
    run: &Run,
    url: &str,
    baseline: &Path,
    expected: Vec<String>,
) -> anyhow::Result<Verdict> {
    let results = format!("target/conformance/results-{}", run.name);
    let results_dir = root.join(&results);
    // Only this run's scenarios in it (the suite adds a timestamped directory per scenario).
    if results_dir.exists() {
        std::fs::remove_dir_all(&results_dir)
            .with_context(|| format!("cannot clear {}", results_dir.display()))?;
    }
    std::fs::create_dir_all(&results_dir)?;
    let log_path = results_dir.join("suite.log");
    let log = File::create(&log_path)?;
    let mut cmd = Command::new(&suite.node);
    cmd.arg(&suite.index)
        .args(["server", "--url", url, "--suite", "all", "-o", &results, "--expected-failures"])
        .arg(baseline)
        .current_dir(root)
        .stdin(Stdio::null())
        .stdout(log.try_clone()?)
        .stderr(log);
    println!(
        "$ {} {} server --url {url} --suite all -o {results} --expected-failures {}  \
         (output: {})",
        suite.node.display(),
        suite.index.display(),
        baseline.strip_prefix(root).unwrap_or(baseline).display(),
        log_path.strip_prefix(root).unwrap_or(&log_path).display(),
    );
    let started = Instant::now();
    let mut child = cmd.spawn().with_context(|| format!("cannot run {}", suite.node.display()))?;
    let status = loop {
        if let Some(status) = child.try_wait()? {
            break Some(status);
        }
        if started.elapsed() > SUITE_LIMIT {
            child.kill().ok();
            child.wait().ok();
            break None;
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let output = strip_ansi(&std::fs::read_to_string(&log_path).unwrap_or_default());
    // The summary, without the scenarios that passed: failures, the total, the baseline check.
    for line in output.lines().skip_while(|l| !l.starts_with("=== SUMMARY ===")) {
        if !line.starts_with('✓') && !line.trim().is_empty() {
            println!("  {line}");
        }
    }
    let took = started.elapsed().as_secs_f64();
    let total = output.lines().map(str::trim).rfind(|l| l.starts_with("Total:"));
    let Some(status) = status else {
        return Ok(Verdict {
            passed: false,
            total: format!("timed out after {SUITE_LIMIT:?}"),
            expected,
        });
    };
    println!("  ({took:.1} s, {status})");
    let total =
        total.map_or_else(|| format!("no summary from the suite ({status})"), str::to_owned);
    // With --expected-failures the suite exits 0 iff exactly the listed scenarios fail.
    Ok(Verdict { passed: status.success(), total, expected })
}

/// A process this run started, with its output in a log file; stopped on drop.
struct Proc {
    name: &'static str,
    child: Child,
    log: PathBuf,
    stopped: bool,
}

impl Proc {
    fn start(name: &'static str, cmd: &mut Command, log: &Path) -> anyhow::Result<Proc> {
        let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        cmd.stdin(Stdio::null()).stdout(file.try_clone()?).stderr(file);
        println!(
            "$ {} {}  (log: {})",
            cmd.get_program().to_string_lossy(),
            cmd.get_args().map(|a| a.to_string_lossy()).collect::<Vec<_>>().join(" "),
            log.display()
        );
        let child = cmd.spawn().with_context(|| format!("cannot start the {name}"))?;
        Ok(Proc { name, child, log: log.to_owned(), stopped: false })
    }

    /// SIGTERM, then SIGKILL after [`STOP_GRACE`]; once.
    fn stop(&mut self) {
        if std::mem::replace(&mut self.stopped, true) {
            return;
        }
        if let Ok(Some(status)) = self.child.try_wait() {
            println!("  {} had already exited ({status})", self.name);
            return;
        }
        // SIGTERM lets the hub stop its own upstreams; SIGKILL would leave that to its reaper.
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        println!("  {} did not exit within {STOP_GRACE:?} of SIGTERM; killed", self.name);
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nobody listens on right now (the OS's pick for port 0).
fn free_port() -> anyhow::Result<u16> {
    let listener =
        TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("cannot find a free port")?;
    Ok(listener.local_addr()?.port())
}

/// Waits until `/api/health` on `port` answers 200 (for the hub: `"state": "ready"` and every
/// server `connected`), failing early when one of `procs` exits.
fn wait_ready(port: u16, hub: bool, procs: &mut [Proc]) -> anyhow::Result<()> {
    let started = Instant::now();
    loop {
        for proc in procs.iter_mut() {
            if let Some(status) = proc.exited() {
                bail!(
                    "the {} exited ({status}) before it was ready; see {}",
                    proc.name,
                    proc.log.display()
                );
            }
        }
        if let Some(health) = http_get_json(port, "/api/health") {
            if !hub {
                return Ok(());
            }
            if health["state"] == "ready" {
                let servers = health["servers"].as_array().cloned().unwrap_or_default();
                let down: Vec<String> = servers
                    .iter()
                    .filter(|s| s["status"] != "connected")
                    .map(|s| format!("{} is {} ({})", s["name"], s["status"], s["error"]))
                    .collect();
                if down.is_empty() && !servers.is_empty() {
                    return Ok(());
                }
                bail!("the hub is ready but its upstream is not connected: {}", down.join("; "));
            }
        }
        if started.elapsed() > READY_LIMIT {
            let name = procs.last().map_or("server", |p| p.name);
            bail!("the {name} on port {port} was not ready within {READY_LIMIT:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `GET http://127.0.0.1:<port><path>` (HTTP/1.1, one connection); the body as JSON if the
/// status is 200.
fn http_get_json(port: u16, path: &str) -> Option<Value> {
    let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(1)).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request =
        format!("GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n");
    stream.write_all(request.as_bytes()).ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    let (head, body) = response.split_once("\r\n\r\n")?;
    let status = head.lines().next()?.split_whitespace().nth(1)?;
    if status != "200" {
        return None;
    }
    serde_json::from_str(body).ok()
}

fn path_str(path: &Path) -> anyhow::Result<&str> {
    path.to_str().with_context(|| format!("{} is not UTF-8", path.display()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_run_has_an_expected_failures_file_the_reader_understands() {
        let root = crate::root();
        for run in &super::RUNS {
            let path = root.join(format!("xtask/conformance/{}.yml", run.name));
            let names = super::expected_failures(&path).unwrap();
            assert!(names.iter().all(|n| !n.contains(' ')), "{}: {names:?}", path.display());
        }
        let dir = std::env::temp_dir().join(format!("xtask-ef-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ef.yml");
        std::fs::write(
            &file,
            "# why\nserver:\n  - tools-call-sampling  # no sampling yet\n  - ping\n",
        )
        .unwrap();
        assert_eq!(super::expected_failures(&file).unwrap(), ["tools-call-sampling", "ping"]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
