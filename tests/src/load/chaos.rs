//! `--scenario chaos`: SIGKILLs the hub's upstream children at random while sessions call tools
//! on every upstream, then checks that no request hung, every error names the server it was
//! routed to (or says it is down), every upstream came back, and the hub lived through it.
//!
//! The hub gets several demo-server upstreams (`s1`…`sN`, each with `HUB_CHAOS_SERVER=sK` in its
//! environment so a child process can be told apart from the hub's other children, such as its
//! reaper) and short restart backoff. Each session calls `sK__echo` (3 calls in 4) and
//! `sK__sleep` of 200 ms (1 in 4, so that kills land on calls in flight), round robin over the
//! upstreams. The killer picks a random live demo-server child of the hub every
//! `--kill-every` ms and sends it `SIGKILL`. A monitor polls `/api/servers` throughout. When the
//! run ends the killer stops and the upstreams must all be `connected`, and answer a call each,
//! within `--recovery` s. The hub's log goes to `<out>/chaos-hub.log`; its restart lines are
//! counted.

use std::{
    collections::{BTreeMap, btree_map},
    fmt::Write as _,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, bail};
use hdrhistogram::Histogram;
use nix::{sys::signal::Signal, unistd::Pid};
use serde_json::{Value, json};
use tokio::{sync::watch, time::Instant};

use super::{
    Args,
    client::{self, Answer, HttpSession},
    proc::Hub,
    stats::{ErrorKind, round},
};

/// The environment variable that names a demo-server child's upstream.
const MARK: &str = "HUB_CHAOS_SERVER";
/// How long the sleep calls take.
const SLEEP_MS: u64 = 200;
/// How often the monitor and the recovery check read `/api/servers`.
const POLL: Duration = Duration::from_millis(50);
/// At most this many example messages are kept per kind of failure.
const SAMPLES: usize = 10;

/// The class of an error answer to a call routed to `server`, when the message names that
/// server or says the tool's server is gone; `None` when it cannot be attributed (which includes
/// a message naming a *different* server: a misrouted call).
pub fn classify(server: &str, message: &str) -> Option<&'static str> {
    let named = format!("server '{server}'");
    if message.contains(&format!("{named} is not connected")) {
        Some("not_connected")
    } else if message.contains(&format!("{named}: connection closed")) {
        Some("connection_closed")
    } else if message.contains(&named) && message.contains("circuit breaker open") {
        Some("breaker_open")
    } else if message.contains(&format!("{named}: no response to")) {
        Some("upstream_timeout")
    } else if message.starts_with(&format!("{named}:")) || message.starts_with(&format!("{named} "))
    {
        Some("server_other")
    } else if message.starts_with(&format!("unknown tool '{server}__")) {
        // The hub withdraws a server's tools while it is down; the namespace names the server.
        Some("tool_withdrawn")
    } else {
        None
    }
}

fn histogram() -> Histogram<u64> {
    // 1 µs to 100 s, 3 significant digits.
    Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds")
}

fn micros(d: Duration) -> u64 {
    u64::try_from(d.as_micros()).unwrap_or(u64::MAX).max(1)
}

fn quantiles(h: &Histogram<u64>) -> Value {
    let q = |p: f64| if h.is_empty() { 0 } else { h.value_at_quantile(p) };
    json!({"count": h.len(), "p50": q(0.5), "p99": q(0.99),
           "max": if h.is_empty() { 0 } else { h.max() }})
}

/// What the sessions saw.
struct Tally {
    requests: u64,
    ok_echo: Histogram<u64>,
    ok_sleep: Histogram<u64>,
    /// Latency of attributed error answers.
    failed: Histogram<u64>,
    classes: BTreeMap<&'static str, u64>,
    class_samples: BTreeMap<&'static str, String>,
    /// Per server: (ok, attributed errors).
    by_server: BTreeMap<String, (u64, u64)>,
    /// No answer within the client's per-request timeout.
    hung: u64,
    /// No JSON-RPC answer at all: an HTTP error status, a broken connection, an unreadable body.
    no_answer: u64,
    /// An answer whose message names neither the server nor its absence.
    unattributed: u64,
    samples: Vec<String>,
    /// Sessions that could not be opened (the hub itself answers `initialize`).
    open_failures: u64,
}

impl Tally {
    fn new() -> Tally {
        Tally {
            requests: 0,
            ok_echo: histogram(),
            ok_sleep: histogram(),
            failed: histogram(),
            classes: BTreeMap::new(),
            class_samples: BTreeMap::new(),
            by_server: BTreeMap::new(),
            hung: 0,
            no_answer: 0,
            unattributed: 0,
            samples: Vec::new(),
            open_failures: 0,
        }
    }

    fn sample(&mut self, s: String) {
        if self.samples.len() < SAMPLES {
            self.samples.push(s);
        }
    }

    fn record(
        &mut self,
        server: &str,
        tool: &str,
        latency: Duration,
        r: Result<Answer, ErrorKind>,
    ) {
        self.requests += 1;
        let entry = self.by_server.entry(server.to_owned()).or_default();
        let (message, shown) = match r {
            Ok(Answer::Ok) => {
                entry.0 += 1;
                let h = if tool == "sleep" { &mut self.ok_sleep } else { &mut self.ok_echo };
                h.saturating_record(micros(latency));
                return;
            }
            Ok(Answer::ToolError(m)) => (m.clone(), format!("tool error: {m}")),
            Ok(Answer::RpcError { code, message }) => {
                let shown = format!("JSON-RPC error {code}: {message}");
                (message, shown)
            }
            Err(ErrorKind::Timeout) => {
                self.hung += 1;
                self.sample(format!("hung: {tool} on {server}: no answer within {latency:?}"));
                return;
            }
            Err(kind) => {
                self.no_answer += 1;
                self.sample(format!("no answer: {tool} on {server}: {kind:?} after {latency:?}"));
                return;
            }
        };
        match classify(server, &message) {
            Some(class) => {
                entry.1 += 1;
                self.failed.saturating_record(micros(latency));
                *self.classes.entry(class).or_default() += 1;
                self.class_samples.entry(class).or_insert(shown);
            }
            None => {
                self.unattributed += 1;
                self.sample(format!("unattributed: {tool} on {server}: {shown}"));
            }
        }
    }
}

/// A small xorshift generator: the run prints its seed, and `--seed` repeats the kill schedule.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn between(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi.saturating_sub(lo) + 1)
    }
}

/// The live demo-server children of `hub` and the upstream each serves: processes whose parent
/// is the hub, not zombies, and whose environment carries [`MARK`].
fn upstream_children(hub: u32) -> Vec<(i32, String)> {
    let mut out = Vec::new();
    let Ok(dir) = std::fs::read_dir("/proc") else { return out };
    let parent = hub.to_string();
    for entry in dir.flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else { continue };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
        // Fields after the parenthesised command name: state, ppid, …
        let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
        let mut fields = after.split_whitespace();
        let (Some(state), Some(ppid)) = (fields.next(), fields.next()) else { continue };
        if ppid != parent || state == "Z" || state == "X" {
            continue;
        }
        let Ok(environ) = std::fs::read(format!("/proc/{pid}/environ")) else { continue };
        let server = environ
            .split(|b| *b == 0)
            .filter_map(|kv| std::str::from_utf8(kv).ok())
            .find_map(|kv| kv.strip_prefix(MARK).and_then(|v| v.strip_prefix('=')));
        if let Some(s) = server {
            out.push((pid, s.to_owned()));
        }
    }
    out
}

/// One kill.
struct Kill {
    at: Instant,
    server: String,
}

/// Until `end`: every `every` ms (a random value in the range), SIGKILL a random upstream child.
/// Returns the kills and how many times there was no child to kill.
async fn killer(hub: u32, end: Instant, every: (u64, u64), mut rng: Rng) -> (Vec<Kill>, u64) {
    let mut kills = Vec::new();
    let mut idle = 0;
    loop {
        tokio::time::sleep(Duration::from_millis(rng.between(every.0, every.1))).await;
        if Instant::now() >= end {
            break;
        }
        let children = upstream_children(hub);
        if children.is_empty() {
            idle += 1;
            continue;
        }
        let pick = usize::try_from(rng.next() % children.len() as u64).unwrap_or(0);
        let (pid, server) = &children[pick];
        if nix::sys::signal::kill(Pid::from_raw(*pid), Signal::SIGKILL).is_ok() {
            kills.push(Kill { at: Instant::now(), server: server.clone() });
        } else {
            idle += 1;
        }
    }
    (kills, idle)
}

/// One session: calls round robin over the upstreams until `end`.
async fn session(
    base: String,
    index: usize,
    names: Arc<Vec<String>>,
    end: Instant,
    tally: Arc<Mutex<Tally>>,
) {
    let mut i = index;
    while Instant::now() < end {
        let opened = tokio::time::timeout(client::REQUEST_TIMEOUT, HttpSession::open(&base)).await;
        let mut s = match opened {
            Ok(Ok(s)) => s,
            Ok(Err(kind)) => {
                {
                    let mut t = tally.lock().unwrap_or_else(PoisonError::into_inner);
                    t.open_failures += 1;
                    t.sample(format!("session open failed: {kind:?}"));
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
            Err(_) => {
                let mut t = tally.lock().unwrap_or_else(PoisonError::into_inner);
                t.open_failures += 1;
                t.hung += 1;
                t.sample("hung: initialize not answered".to_owned());
                continue;
            }
        };
        while Instant::now() < end {
            i += 1;
            // Every upstream in turn, and every 4th call a sleep, landing on each in turn too.
            let server = &names[(i + i / 4) % names.len()];
            let (tool, args) = if i.is_multiple_of(4) {
                ("sleep", json!({"ms": SLEEP_MS}))
            } else {
                ("echo", json!({"text": "chaos"}))
            };
            let t = Instant::now();
            let r = s.call_tool(&format!("{server}__{tool}"), args).await;
            let broken = matches!(r, Err(ErrorKind::Http | ErrorKind::Transport));
            tally.lock().unwrap_or_else(PoisonError::into_inner).record(
                server,
                tool,
                t.elapsed(),
                r,
            );
            if broken {
                break;
            }
        }
        s.close().await;
    }
}

/// `(name, status, error)` of every server, from `/api/servers`.
async fn servers(http: &reqwest::Client, base: &str) -> Option<Vec<(String, String, String)>> {
    let v: Value = http.get(format!("{base}/api/servers")).send().await.ok()?.json().await.ok()?;
    let list = v["servers"].as_array()?;
    Some(
        list.iter()
            .map(|s| {
                let text = |k: &str| s[k].as_str().unwrap_or_default().to_owned();
                (text("name"), text("status"), text("error"))
            })
            .collect(),
    )
}

/// What the monitor saw on `/api/servers`.
#[derive(Default)]
struct Outages {
    /// Transitions away from `connected`.
    count: u64,
    /// Ended outages' lengths, in ms.
    lengths: Vec<u64>,
    /// Statuses seen, with how many polls saw each.
    statuses: BTreeMap<String, u64>,
    /// The fewest upstreams connected at once.
    min_connected: usize,
    /// Distinct `error` texts that say the hub gave up.
    gave_up: Vec<String>,
    polls: u64,
}

/// Polls `/api/servers` until `stop` changes.
async fn monitor(base: String, mut stop: watch::Receiver<bool>) -> Outages {
    let http = http_client();
    let mut o = Outages { min_connected: usize::MAX, ..Outages::default() };
    let mut down_since: BTreeMap<String, Instant> = BTreeMap::new();
    loop {
        tokio::select! {
            () = tokio::time::sleep(POLL) => {}
            _ = stop.changed() => break,
        }
        let Some(list) = servers(&http, &base).await else { continue };
        o.polls += 1;
        let now = Instant::now();
        let mut connected = 0;
        for (name, status, error) in list {
            *o.statuses.entry(status.clone()).or_default() += 1;
            if error.contains("gave up") && !o.gave_up.contains(&error) {
                o.gave_up.push(error);
            }
            if status == "connected" {
                connected += 1;
                if let Some(t) = down_since.remove(&name) {
                    o.lengths.push(u64::try_from((now - t).as_millis()).unwrap_or(u64::MAX));
                }
            } else if let btree_map::Entry::Vacant(e) = down_since.entry(name) {
                o.count += 1;
                e.insert(now);
            }
        }
        o.min_connected = o.min_connected.min(connected);
    }
    if o.min_connected == usize::MAX {
        o.min_connected = 0;
    }
    o
}

fn http_client() -> reqwest::Client {
    // reqwest is built without a default crypto provider (the hub installs ring).
    hub_pool::install_crypto_provider();
    reqwest::Client::builder().timeout(client::REQUEST_TIMEOUT).build().unwrap_or_default()
}

/// Waits until every upstream is `connected` and answers a call, for at most `bound`; the time
/// it took, or what was still wrong at the end.
async fn recover(base: &str, names: &[String], bound: Duration) -> Result<Duration, String> {
    let t0 = Instant::now();
    let http = http_client();
    let mut session: Option<HttpSession> = None;
    let mut last = String::from("nothing read yet");
    while t0.elapsed() < bound {
        match servers(&http, base).await {
            Some(list) => {
                let down: Vec<String> = list
                    .iter()
                    .filter(|(_, status, _)| status != "connected")
                    .map(|(n, status, error)| format!("{n} {status} ({error})"))
                    .collect();
                if down.is_empty() {
                    if session.is_none() {
                        session = HttpSession::open(base).await.ok();
                    }
                    if let Some(s) = &mut session {
                        let mut failing = Vec::new();
                        for n in names {
                            let r =
                                s.call_tool(&format!("{n}__echo"), json!({"text": "back"})).await;
                            if r != Ok(Answer::Ok) {
                                failing.push(format!("{n}: {r:?}"));
                            }
                        }
                        if failing.is_empty() {
                            s_close(session.take()).await;
                            return Ok(t0.elapsed());
                        }
                        last = format!("all connected, but calls fail: {}", failing.join("; "));
                    } else {
                        last = "all connected, but no MCP session could be opened".to_owned();
                    }
                } else {
                    last = format!("not connected: {}", down.join("; "));
                }
            }
            None => "GET /api/servers failed".clone_into(&mut last),
        }
        tokio::time::sleep(POLL).await;
    }
    s_close(session).await;
    Err(last)
}

async fn s_close(s: Option<HttpSession>) {
    if let Some(s) = s {
        s.close().await;
    }
}

/// Restart events in the hub's log, per server where the line names one.
#[derive(Default)]
struct LogCounts {
    down: BTreeMap<String, u64>,
    connected: BTreeMap<String, u64>,
    gave_up: u64,
    refused: u64,
    errors: u64,
    panics: u64,
}

fn count_log(text: &str) -> LogCounts {
    let mut c = LogCounts::default();
    for line in text.lines() {
        let server = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("server="))
            .map(|s| s.trim_matches('"').to_owned())
            .unwrap_or_default();
        if line.contains("server down; restarting") {
            *c.down.entry(server).or_default() += 1;
        } else if line.contains("server connected") {
            *c.connected.entry(server).or_default() += 1;
        } else if line.contains("gave up restarting") {
            c.gave_up += 1;
        } else if line.contains("not retrying until the config changes") {
            c.refused += 1;
        }
        if line.contains(" ERROR ") {
            c.errors += 1;
        }
        if line.contains("panicked") {
            c.panics += 1;
        }
    }
    c
}

fn sum(m: &BTreeMap<String, u64>) -> u64 {
    m.values().sum()
}

/// Runs the chaos scenario; fails when any check fails (after printing and writing the report).
pub async fn run(a: &Args) -> anyhow::Result<()> {
    if a.external.is_some() {
        bail!("--scenario chaos starts its own hub; it cannot measure an external one");
    }
    let n = a.servers;
    let sessions = a.sessions.iter().copied().max().unwrap_or(16);
    let duration = Duration::from_secs_f64(a.duration.unwrap_or(if a.quick { 5.0 } else { 20.0 }));
    let recovery_bound = Duration::from_secs_f64(a.recovery);
    let seed = a.seed.unwrap_or_else(|| {
        SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_nanos() as u64).unwrap_or(1)
    }) | 1;
    let names: Vec<String> = (1..=n).map(|k| format!("s{k}")).collect();
    let supervision = json!({"restart": {
        "initialDelay": "100ms", "maxDelay": "1s", "maxRestarts": 1000, "window": "10m"}});
    let mut upstreams = serde_json::Map::new();
    for name in &names {
        upstreams.insert(
            name.clone(),
            json!({"command": a.hub_bin, "args": ["demo-server"], "env": {MARK: name}}),
        );
    }
    let cfg = json!({"hub": {"supervision": supervision}, "mcpServers": upstreams});
    let config = a.out.join("chaos-config.json");
    std::fs::write(&config, serde_json::to_vec_pretty(&cfg)?)
        .with_context(|| format!("write {}", config.display()))?;
    let log_path = a.out.join("chaos-hub.log");
    println!(
        "\n== chaos: {n} demo-server upstreams, {sessions} sessions, {:.0} s, a SIGKILL every \
         {}–{} ms, seed {seed} ==",
        duration.as_secs_f64(),
        a.kill_every.0,
        a.kill_every.1
    );
    println!("hub log: {}", log_path.display());
    let mut hub = Hub::start_with(&a.hub_bin, &config, "info", Some(&log_path)).await?;
    let measured = measure(a, &mut hub, &names, sessions, duration, recovery_bound, seed).await;
    let alive = hub.exited();
    let stopped = hub.stop().await;
    let mut m = measured?;
    let log = std::fs::read_to_string(&log_path).unwrap_or_default();
    let lc = count_log(&log);
    // Each kill must show in the log as a failure the hub noticed (a restart it scheduled).
    let noticed = sum(&lc.down) + lc.gave_up + lc.refused;
    let kills = m.kills.len() as u64;
    let connects_after_start = sum(&lc.connected).saturating_sub(n as u64);
    let mut checks: Vec<(&str, bool, String)> = Vec::new();
    let t = &m.tally;
    checks.push(("upstreams were killed", kills > 0, format!("{kills} kills")));
    checks.push((
        "no hung request",
        t.hung == 0,
        format!("{} requests had no answer within {:?}", t.hung, client::REQUEST_TIMEOUT),
    ));
    checks.push((
        "every request answered",
        t.no_answer == 0 && t.open_failures == 0,
        format!(
            "{} without a JSON-RPC answer, {} sessions not opened",
            t.no_answer, t.open_failures
        ),
    ));
    checks.push((
        "every error attributable",
        t.unattributed == 0,
        format!(
            "{} errors name neither their server nor its absence ({} name it only through the \
             tool's namespace: `unknown tool`, the hub withdrew the tools of a server that is down)",
            t.unattributed,
            t.classes.get("tool_withdrawn").copied().unwrap_or(0)
        ),
    ));
    checks.push((
        "every kill noticed",
        noticed >= kills,
        format!("{kills} kills, {noticed} failures in the hub log"),
    ));
    checks.push((
        "never gave up",
        lc.gave_up == 0 && lc.refused == 0 && m.outages.gave_up.is_empty(),
        format!("{} give-ups, {} refusals in the log", lc.gave_up, lc.refused),
    ));
    checks.push((
        "all upstreams back",
        m.recovery.is_ok(),
        match &m.recovery {
            Ok(d) => format!("within {} ms of the end of the load", d.as_millis()),
            Err(e) => format!("not within {recovery_bound:?}: {e}"),
        },
    ));
    checks.push((
        "hub alive",
        alive.is_none(),
        alive.clone().map_or_else(|| "running".to_owned(), |s| format!("exited: {s}")),
    ));
    checks.push((
        "hub stops cleanly",
        stopped.is_ok(),
        stopped.as_ref().err().map_or_else(|| "exit 0 on SIGTERM".to_owned(), |e| format!("{e:#}")),
    ));
    checks.push(("no panic in the hub log", lc.panics == 0, format!("{} lines", lc.panics)));

    // The figures.
    let ok = t.ok_echo.len() + t.ok_sleep.len();
    let errors: u64 = t.classes.values().sum();
    let last_kill = m.kills.last().map(|k| k.at);
    let from_last_kill = match (&m.recovery, last_kill) {
        (Ok(d), Some(k)) => Some(u64::try_from((m.end + *d - k).as_millis()).unwrap_or(0)),
        _ => None,
    };
    let mut kills_by: BTreeMap<&str, u64> = BTreeMap::new();
    for k in &m.kills {
        *kills_by.entry(k.server.as_str()).or_default() += 1;
    }
    let lengths = &mut m.outages.lengths;
    lengths.sort_unstable();
    let mean_outage =
        if lengths.is_empty() { 0 } else { lengths.iter().sum::<u64>() / lengths.len() as u64 };
    let max_outage = lengths.last().copied().unwrap_or(0);
    let us = |h: &Histogram<u64>, q: f64| if h.is_empty() { 0 } else { h.value_at_quantile(q) };
    let mut out = String::new();
    let _ = writeln!(out, "requests        {} ({:.0}/s)", t.requests, t.requests as f64 / m.secs);
    let _ = writeln!(
        out,
        "ok              {ok} ({} echo, {} sleep {SLEEP_MS} ms)",
        t.ok_echo.len(),
        t.ok_sleep.len()
    );
    let classes: Vec<String> = t.classes.iter().map(|(k, v)| format!("{v} {k}")).collect();
    let _ = writeln!(
        out,
        "errors          {errors} attributed{}{}",
        if classes.is_empty() { String::new() } else { format!(": {}", classes.join(", ")) },
        format_args!("; {} unattributed, {} without answer", t.unattributed, t.no_answer)
    );
    let _ = writeln!(out, "hung            {}", t.hung);
    let _ = writeln!(
        out,
        "kills           {kills} ({}), {} times no child to kill",
        kills_by.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", "),
        m.idle
    );
    let _ = writeln!(
        out,
        "restarts        log: {} failures noticed, {} reconnects; /api/servers: {} outages, \
         mean {mean_outage} ms, max {max_outage} ms, fewest connected {}/{n}",
        noticed, connects_after_start, m.outages.count, m.outages.min_connected
    );
    let _ = writeln!(
        out,
        "recovery        {}",
        match (&m.recovery, from_last_kill) {
            (Ok(d), Some(k)) => {
                format!("{k} ms after the last kill ({} ms after the load ended)", d.as_millis())
            }
            (Ok(d), None) => format!("{} ms after the load ended", d.as_millis()),
            (Err(e), _) => format!("FAILED: {e}"),
        }
    );
    let _ = writeln!(
        out,
        "latency ok      echo p50 {} µs, p99 {} µs, max {} µs; sleep p50 {} µs, p99 {} µs",
        us(&t.ok_echo, 0.5),
        us(&t.ok_echo, 0.99),
        if t.ok_echo.is_empty() { 0 } else { t.ok_echo.max() },
        us(&t.ok_sleep, 0.5),
        us(&t.ok_sleep, 0.99)
    );
    let _ = writeln!(
        out,
        "latency errors  p50 {} µs, p99 {} µs, max {} µs",
        us(&t.failed, 0.5),
        us(&t.failed, 0.99),
        if t.failed.is_empty() { 0 } else { t.failed.max() }
    );
    for (class, sample) in &t.class_samples {
        let _ = writeln!(out, "  e.g. {class}: {sample}");
    }
    for s in &t.samples {
        let _ = writeln!(out, "  ! {s}");
    }
    print!("{out}");
    println!("checks:");
    for (name, pass, detail) in &checks {
        println!("  {} {name}: {detail}", if *pass { "ok  " } else { "FAIL" });
    }
    let pass = checks.iter().all(|c| c.1);
    let report = json!({
        "scenario": "chaos",
        "generated_unix": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "hub_bin": a.hub_bin.display().to_string(),
        "hub_log": log_path.display().to_string(),
        "seed": seed,
        "servers": n,
        "sessions": sessions,
        "duration_s": round(m.secs, 3),
        "kill_every_ms": [a.kill_every.0, a.kill_every.1],
        "request_timeout_s": client::REQUEST_TIMEOUT.as_secs(),
        "supervision": supervision,
        "requests": {
            "total": t.requests,
            "ok": ok,
            "ok_echo": t.ok_echo.len(),
            "ok_sleep": t.ok_sleep.len(),
            "errors": t.classes,
            "errors_attributed": errors,
            "unattributed": t.unattributed,
            "no_answer": t.no_answer,
            "hung": t.hung,
            "sessions_not_opened": t.open_failures,
            "by_server": t.by_server.iter()
                .map(|(k, (ok, err))| (k.clone(), json!({"ok": ok, "errors": err})))
                .collect::<serde_json::Map<_, _>>(),
        },
        "latency_us": {
            "ok_echo": quantiles(&t.ok_echo),
            "ok_sleep": quantiles(&t.ok_sleep),
            "errors": quantiles(&t.failed),
        },
        "kills": {"total": kills, "by_server": kills_by, "no_child": m.idle},
        "restarts": {
            "log_failures_noticed": noticed,
            "log_down_by_server": lc.down,
            "log_reconnects": connects_after_start,
            "log_error_lines": lc.errors,
            "api_outages": m.outages.count,
            "api_outage_ms": {"mean": mean_outage, "max": max_outage},
            "api_min_connected": m.outages.min_connected,
            "api_statuses_seen": m.outages.statuses,
            "api_polls": m.outages.polls,
        },
        "recovery": {
            "ok": m.recovery.is_ok(),
            "ms_after_load": m.recovery.as_ref().ok().map(Duration::as_millis),
            "ms_after_last_kill": from_last_kill,
            "bound_ms": recovery_bound.as_millis(),
            "error": m.recovery.as_ref().err(),
        },
        "error_samples": t.class_samples,
        "problem_samples": t.samples,
        "checks": checks.iter().map(|(name, pass, detail)| json!({"name": name, "pass": pass, "detail": detail})).collect::<Vec<_>>(),
        "pass": pass,
    });
    let file = a.out.join(match &a.label {
        Some(l) => format!("chaos-{l}.json"),
        None => "chaos.json".to_owned(),
    });
    std::fs::write(&file, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("write {}", file.display()))?;
    println!("wrote {}", file.display());
    if !pass {
        let failed: Vec<String> = checks
            .iter()
            .filter(|c| !c.1)
            .map(|(name, _, detail)| format!("{name}: {detail}"))
            .collect();
        bail!("chaos run failed (hub log: {}):\n  {}", log_path.display(), failed.join("\n  "));
    }
    Ok(())
}

/// What one run measured.
struct Measured {
    tally: Tally,
    kills: Vec<Kill>,
    idle: u64,
    outages: Outages,
    /// When the load and the kills stopped.
    end: Instant,
    secs: f64,
    recovery: Result<Duration, String>,
}

/// The load, the killer and the monitor, then the recovery check.
async fn measure(
    a: &Args,
    hub: &mut Hub,
    names: &[String],
    sessions: usize,
    duration: Duration,
    recovery_bound: Duration,
    seed: u64,
) -> anyhow::Result<Measured> {
    let base = hub.base.clone();
    // Every upstream up before the first kill.
    if let Err(e) = recover(&base, names, Duration::from_secs(20)).await {
        bail!("the upstreams did not all connect before the run: {e}\nlog:\n{}", hub.log());
    }
    let (stop_tx, stop_rx) = watch::channel(false);
    let monitor = tokio::spawn(monitor(base.clone(), stop_rx));
    let tally = Arc::new(Mutex::new(Tally::new()));
    let names = Arc::new(names.to_vec());
    let start = Instant::now();
    let end = start + duration;
    let tasks: Vec<_> = (0..sessions)
        .map(|k| {
            tokio::spawn(session(base.clone(), k, Arc::clone(&names), end, Arc::clone(&tally)))
        })
        .collect();
    let (kills, idle) = killer(hub.pid, end, a.kill_every, Rng(seed)).await;
    let end = Instant::now().max(end);
    let sessions_done = async {
        let mut panicked = 0;
        for t in tasks {
            if t.await.is_err() {
                panicked += 1;
            }
        }
        panicked
    };
    let (panicked, recovery) = tokio::join!(sessions_done, recover(&base, &names, recovery_bound));
    let _ = stop_tx.send(true);
    let outages = monitor.await.unwrap_or_default();
    let secs = (end - start).as_secs_f64();
    let mut tally = Arc::try_unwrap(tally)
        .map_or_else(|_| Tally::new(), |m| m.into_inner().unwrap_or_else(PoisonError::into_inner));
    for _ in 0..panicked {
        tally.no_answer += 1;
        tally.sample("a session task panicked".to_owned());
    }
    Ok(Measured { tally, kills, idle, outages, end, secs, recovery })
}

/// `--kill-every MIN-MAX` (ms), or one number for a fixed interval.
pub fn parse_interval(s: &str) -> anyhow::Result<(u64, u64)> {
    let (lo, hi) = s.split_once('-').unwrap_or((s, s));
    let lo: u64 = lo.trim().parse().context("--kill-every takes MIN-MAX in ms")?;
    let hi: u64 = hi.trim().parse().context("--kill-every takes MIN-MAX in ms")?;
    if lo == 0 || hi < lo {
        bail!("--kill-every: 0 < MIN <= MAX");
    }
    Ok((lo, hi))
}

#[cfg(test)]
mod tests;
