//! `hub-load`'s command line, scenarios, the session driver, the report and the regression gate.

mod chaos;
mod client;
mod proc;
mod stats;

use std::{
    path::{Path, PathBuf},
    process::ExitCode,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::{Context as _, bail};
use serde_json::{Value, json};
use tokio::time::Instant;

use self::{
    client::{Op, Session, Target},
    proc::{Hub, Sampler, Usage},
    stats::{Acc, ErrorKind, Errors, Summary, round},
};

const USAGE: &str = "\
usage: hub-load [--hub-bin PATH] [--scenario steady|ramp|spike|all|chaos] [--out DIR] [--quick]
                [--sessions 1,16] [--ops call,list,mixed] [--transports http,sse]
                [--duration SECS] [--warmup SECS] [--no-direct]
                [--external-sse URL [--external-pid PID] [--label NAME]]
                [--baseline FILE]
                [--servers N] [--kill-every MIN-MAX] [--recovery SECS] [--seed N]

  steady  N concurrent sessions (--sessions, default 1,16) for --duration s (10; --quick 3)
          after --warmup s (2; --quick 1), for every op (default call,list,mixed)
  ramp    50 -> 100 -> 200 -> 500 sessions, one stage per --duration (default op mixed)
  spike   10 sessions, then 100 at once (default op mixed)
  all     the three in turn
  chaos   --servers demo-server upstreams (default 4) with short restart backoff; the largest
          --sessions value (default 16) calls tools on all of them over streamable HTTP for
          --duration s (20; --quick 5) while a SIGKILL hits a random upstream child every
          --kill-every ms (300-700; --seed repeats a schedule). Fails unless no request hung,
          every error names its server (or says it is down), every upstream is connected and
          answers again within --recovery s (10) of the end, and the hub survived. Not in `all`.

Starts the hub (--hub-bin, default target/release/mcp-hub) with the bundled demo server, and
runs the same workload directly against one demo-server child over stdio as the baseline.
--external-sse URL measures a hub already listening there over the legacy SSE transport
instead (e.g. the Node mcp-hub); --external-pid samples its RSS and CPU.
--baseline FILE: fail (exit 1) when an overhead ratio regresses past the file's margin or any
request fails in a stage of 500 sessions or more.
Writes <out>/<scenario>[-<label>].json and prints a table.";

/// Every session loop stops after this many requests even if time is left (a bound, not a goal).
const MAX_REQUESTS_PER_SESSION: u64 = 10_000_000;
/// The regression margin when the baseline file does not state one: a ratio may be this much
/// worse than its baseline (throughput ratio lower, latency ratio higher) before the gate fails.
const DEFAULT_MARGIN: f64 = 0.25;

#[derive(Debug, Clone)]
struct Args {
    hub_bin: PathBuf,
    scenario: String,
    out: PathBuf,
    quick: bool,
    sessions: Vec<usize>,
    ops: Option<Vec<String>>,
    transports: Vec<String>,
    duration: Option<f64>,
    warmup: Option<f64>,
    direct: bool,
    external: Option<String>,
    external_pid: Option<u32>,
    label: Option<String>,
    baseline: Option<PathBuf>,
    servers: usize,
    kill_every: (u64, u64),
    recovery: f64,
    seed: Option<u64>,
}

fn parse_args() -> anyhow::Result<Option<Args>> {
    let mut a = Args {
        hub_bin: PathBuf::from("target/release/mcp-hub"),
        scenario: "steady".to_owned(),
        out: PathBuf::from("target/load"),
        quick: false,
        sessions: vec![1, 16],
        ops: None,
        transports: vec!["http".to_owned(), "sse".to_owned()],
        duration: None,
        warmup: None,
        direct: true,
        external: None,
        external_pid: None,
        label: None,
        baseline: None,
        servers: 4,
        kill_every: (300, 700),
        recovery: 10.0,
        seed: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().with_context(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--hub-bin" => a.hub_bin = value()?.into(),
            "--scenario" => a.scenario = value()?,
            "--out" => a.out = value()?.into(),
            "--quick" => a.quick = true,
            "--sessions" => {
                a.sessions = list(&value()?)
                    .iter()
                    .map(|s| s.parse().context("--sessions takes numbers"))
                    .collect::<anyhow::Result<_>>()?;
            }
            "--ops" => a.ops = Some(list(&value()?)),
            "--transports" => a.transports = list(&value()?),
            "--duration" => a.duration = Some(value()?.parse().context("--duration")?),
            "--warmup" => a.warmup = Some(value()?.parse().context("--warmup")?),
            "--no-direct" => a.direct = false,
            "--external-sse" => a.external = Some(value()?.trim_end_matches('/').to_owned()),
            "--external-pid" => a.external_pid = Some(value()?.parse().context("--external-pid")?),
            "--label" => a.label = Some(value()?),
            "--baseline" => a.baseline = Some(value()?.into()),
            "--servers" => a.servers = value()?.parse().context("--servers")?,
            "--kill-every" => a.kill_every = chaos::parse_interval(&value()?)?,
            "--recovery" => a.recovery = value()?.parse().context("--recovery")?,
            "--seed" => a.seed = Some(value()?.parse().context("--seed")?),
            "-h" | "--help" => {
                println!("{USAGE}");
                return Ok(None);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    if a.external.is_some() {
        a.transports = vec!["sse".to_owned()];
    }
    for t in &a.transports {
        if t != "http" && t != "sse" {
            bail!("unknown transport {t:?} (http, sse)");
        }
    }
    for o in a.ops.iter().flatten() {
        if !["call", "list", "mixed"].contains(&o.as_str()) {
            bail!("unknown op {o:?} (call, list, mixed)");
        }
    }
    if a.sessions.is_empty() || a.sessions.iter().any(|&n| n == 0 || n > 5000) {
        bail!("--sessions: between 1 and 5000");
    }
    if a.duration.is_some_and(|d| !(0.1..=600.0).contains(&d))
        || a.warmup.is_some_and(|d| !(0.0..=600.0).contains(&d))
    {
        bail!("--duration and --warmup: at most 600 s");
    }
    if !(1..=64).contains(&a.servers) || !(0.1..=600.0).contains(&a.recovery) {
        bail!("--servers: 1 to 64; --recovery: at most 600 s");
    }
    Ok(Some(a))
}

fn list(s: &str) -> Vec<String> {
    s.split(',').map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

/// How many sessions run when: a warm-up (not measured) then stages of a given size and length.
#[derive(Debug, Clone)]
struct Plan {
    warmup: Duration,
    stages: Vec<(usize, Duration)>,
}

/// Request `i` of a session: `call`, `list`, or 4 calls out of 5 (`mixed`).
#[derive(Debug, Clone, Copy)]
enum Mix {
    Call,
    List,
    Mixed,
}

impl Mix {
    fn parse(s: &str) -> Mix {
        match s {
            "list" => Mix::List,
            "mixed" => Mix::Mixed,
            _ => Mix::Call,
        }
    }

    fn pick(self, i: u64) -> Op {
        match self {
            Mix::Call => Op::Call,
            Mix::List => Op::List,
            Mix::Mixed if i % 5 == 4 => Op::List,
            Mix::Mixed => Op::Call,
        }
    }
}

/// What the sessions of a run record into: one accumulator per stage, and warm-up errors.
/// Shared (one histogram per stage rather than per session: 500 sessions' histograms would cost
/// hundreds of MiB); the lock is held only to record one sample.
struct Shared {
    stages: Vec<Acc>,
    warmup_errors: Errors,
}

type Record = Arc<Mutex<Shared>>;

/// Drives `plan` against `target`: returns one accumulator per stage (merged over sessions) and
/// the errors seen during the warm-up.
async fn drive(target: &Target, mix: Mix, plan: &Plan) -> (Vec<Acc>, Errors) {
    let t0 = Instant::now();
    let mut starts = Vec::with_capacity(plan.stages.len());
    let mut at = t0 + plan.warmup;
    for (_, d) in &plan.stages {
        starts.push(at);
        at += *d;
    }
    let end = at;
    let starts = Arc::new(starts);
    let record: Record = Arc::new(Mutex::new(Shared {
        stages: plan.stages.iter().map(|_| Acc::new()).collect(),
        warmup_errors: Errors::default(),
    }));
    let mut tasks = Vec::new();
    let mut running = 0;
    for (k, (n, _)) in plan.stages.iter().enumerate() {
        if k > 0 {
            tokio::time::sleep_until(starts[k]).await;
        }
        while running < *n {
            running += 1;
            tasks.push(tokio::spawn(session(
                target.clone(),
                mix,
                Arc::clone(&starts),
                end,
                Arc::clone(&record),
            )));
        }
    }
    let mut panicked = 0;
    for t in tasks {
        if t.await.is_err() {
            panicked += 1;
        }
    }
    let mut shared = record.lock().unwrap_or_else(PoisonError::into_inner);
    // A panicked session task counts as a transport failure of the last stage.
    if let Some(last) = shared.stages.last_mut() {
        for _ in 0..panicked {
            last.errors.add(ErrorKind::Transport);
        }
    }
    (std::mem::take(&mut shared.stages), shared.warmup_errors)
}

/// One session: open, loop until `end` (reopening after a broken SSE stream), close.
async fn session(
    target: Target,
    mix: Mix,
    starts: Arc<Vec<Instant>>,
    end: Instant,
    record: Record,
) {
    let stage_of = |t: Instant| starts.iter().rposition(|s| *s <= t);
    let note = |t: Instant, latency: Duration, r: Result<(), ErrorKind>| {
        let mut shared = record.lock().unwrap_or_else(PoisonError::into_inner);
        match (stage_of(t), r) {
            (Some(k), r) => shared.stages[k].record(latency, r),
            (None, Err(kind)) => shared.warmup_errors.add(kind),
            (None, Ok(())) => {}
        }
    };
    let mut i = 0u64;
    while Instant::now() < end && i < MAX_REQUESTS_PER_SESSION {
        let t = Instant::now();
        let opened = tokio::time::timeout(client::REQUEST_TIMEOUT * 2, Session::open(&target))
            .await
            .unwrap_or(Err(ErrorKind::Timeout));
        let mut s = match opened {
            Ok(s) => s,
            Err(kind) => {
                note(t, Duration::ZERO, Err(kind));
                tokio::time::sleep(Duration::from_millis(200)).await;
                i += 1;
                continue;
            }
        };
        let mut broken = false;
        while Instant::now() < end && i < MAX_REQUESTS_PER_SESSION {
            i += 1;
            let t = Instant::now();
            let r = s.request(mix.pick(i)).await;
            note(t, t.elapsed(), r);
            if r == Err(ErrorKind::Transport) && matches!(s, Session::Sse(_)) {
                broken = true;
                break;
            }
        }
        s.close().await;
        if broken {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

/// Overhead of the hub over the direct baseline for one stage.
fn overhead(hub: &Summary, direct: &Summary) -> Value {
    let ratio = |a: f64, b: f64| if b > 0.0 { round(a / b, 3) } else { 0.0 };
    json!({
        "sessions": hub.sessions,
        "throughput_ratio": ratio(hub.throughput, direct.throughput),
        "p50_ratio": ratio(hub.p50 as f64, direct.p50 as f64),
        "p99_ratio": ratio(hub.p99 as f64, direct.p99 as f64),
        "p50_diff_us": hub.p50 as i64 - direct.p50 as i64,
        "p99_diff_us": hub.p99 as i64 - direct.p99 as i64,
    })
}

fn secs(x: f64) -> Duration {
    Duration::from_secs_f64(x)
}

/// The cases of a scenario: (case name without transport, op, plan).
fn cases(a: &Args, scenario: &str) -> anyhow::Result<Vec<(String, String, Plan)>> {
    let d = secs(a.duration.unwrap_or(if a.quick { 3.0 } else { 10.0 }));
    let warmup = secs(a.warmup.unwrap_or(if a.quick { 1.0 } else { 2.0 }));
    let default_ops: &[&str] =
        if scenario == "steady" { &["call", "list", "mixed"] } else { &["mixed"] };
    let ops: Vec<String> =
        a.ops.clone().unwrap_or_else(|| default_ops.iter().map(|s| (*s).to_owned()).collect());
    let mut v = Vec::new();
    for op in &ops {
        match scenario {
            "steady" => {
                for &n in &a.sessions {
                    v.push((
                        format!("steady-{op}-{{t}}-{n}"),
                        op.clone(),
                        Plan { warmup, stages: vec![(n, d)] },
                    ));
                }
            }
            "ramp" => v.push((
                format!("ramp-{op}-{{t}}"),
                op.clone(),
                Plan { warmup, stages: [50, 100, 200, 500].map(|n| (n, d)).to_vec() },
            )),
            "spike" => v.push((
                format!("spike-{op}-{{t}}"),
                op.clone(),
                Plan { warmup, stages: vec![(10, d), (100, d)] },
            )),
            other => bail!("unknown scenario {other:?} (steady, ramp, spike, all, chaos)"),
        }
    }
    Ok(v)
}

fn summaries(accs: &[Acc], plan: &Plan) -> Vec<Summary> {
    accs.iter()
        .zip(&plan.stages)
        .map(|(acc, (n, d))| Summary::of(acc, *n, d.as_secs_f64()))
        .collect()
}

/// Runs one scenario; returns its JSON report (also written to `<out>/<file>.json`).
async fn scenario(a: &Args, name: &str, hub: Option<&Hub>) -> anyhow::Result<Value> {
    let (base, pid) = match (&a.external, hub) {
        (Some(url), _) => (url.clone(), a.external_pid),
        (None, Some(h)) => (h.base.clone(), Some(h.pid)),
        (None, None) => bail!("no hub to measure"),
    };
    println!("\n== {name} against {base} ==");
    println!("{}", Summary::header());
    let mut out_cases = Vec::new();
    for (case, op, plan) in cases(a, name)? {
        let mix = Mix::parse(&op);
        let direct = if a.direct {
            let peer = proc::direct_peer(&a.hub_bin).await?;
            let (accs, _) = drive(&Target::Direct(peer.clone()), mix, &plan).await;
            peer.shutdown().await;
            let s = summaries(&accs, &plan);
            let label = case.replace("{t}", "direct");
            for st in &s {
                println!("{}", st.row(&label));
            }
            Some(s)
        } else {
            None
        };
        for t in &a.transports {
            let target =
                if t == "http" { Target::Http(base.clone()) } else { Target::Sse(base.clone()) };
            let label = case.replace("{t}", t);
            let sampler = pid.map(|p| Sampler::start(p, Instant::now() + plan.warmup));
            let (accs, warmup_errors) = drive(&target, mix, &plan).await;
            let usage = match sampler {
                Some(s) => Some(s.finish().await),
                None => None,
            };
            let s = summaries(&accs, &plan);
            for st in &s {
                println!("{}", st.row(&label));
            }
            let mut line = String::from("   ");
            if let Some(u) = usage {
                line.push_str(&format!(
                    " hub: max RSS {:.1} MiB, mean CPU {:.0} %;",
                    u.max_rss_mib, u.mean_cpu_pct
                ));
            }
            let ov: Vec<Value> = match &direct {
                Some(d) => s.iter().zip(d).map(|(h, d)| overhead(h, d)).collect(),
                None => Vec::new(),
            };
            for o in &ov {
                line.push_str(&format!(
                    " [{} sess] throughput x{} p50 {:+} µs p99 {:+} µs;",
                    o["sessions"],
                    o["throughput_ratio"],
                    o["p50_diff_us"].as_i64().unwrap_or(0),
                    o["p99_diff_us"].as_i64().unwrap_or(0)
                ));
            }
            if warmup_errors.total() > 0 {
                line.push_str(&format!(" warm-up errors: {};", warmup_errors.total()));
            }
            println!("{line}");
            out_cases.push(json!({
                "name": label,
                "op": op,
                "transport": t,
                "stages": s.iter().map(Summary::json).collect::<Vec<_>>(),
                "warmup_errors": warmup_errors.total(),
                "hub": usage.map(|u: Usage| json!({
                    "max_rss_mib": round(u.max_rss_mib, 1),
                    "mean_cpu_pct": round(u.mean_cpu_pct, 1),
                    "samples": u.samples,
                })),
                "direct": direct.as_ref().map(|d| d.iter().map(Summary::json).collect::<Vec<_>>()),
                "overhead": ov,
            }));
        }
    }
    let report = json!({
        "scenario": name,
        "generated_unix": SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs()).unwrap_or(0),
        "quick": a.quick,
        "target": if a.external.is_some() { format!("external-sse {base}") } else { "hub".to_owned() },
        "hub_bin": a.hub_bin.display().to_string(),
        "request_timeout_s": client::REQUEST_TIMEOUT.as_secs(),
        "cases": out_cases,
    });
    let file = match &a.label {
        Some(l) => a.out.join(format!("{name}-{l}.json")),
        None if a.external.is_some() => a.out.join(format!("{name}-external.json")),
        None => a.out.join(format!("{name}.json")),
    };
    std::fs::write(&file, serde_json::to_vec_pretty(&report)?)
        .with_context(|| format!("write {}", file.display()))?;
    println!("wrote {}", file.display());
    Ok(report)
}

/// The regression gate: compares each case's overhead ratios with the baseline file's (failing on
/// those the file lists under `gated`, default both), and fails
/// on any request error in a stage of 500 sessions or more.
fn gate(baseline: &Path, reports: &[Value]) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(baseline)
        .with_context(|| format!("read the baseline {}", baseline.display()))?;
    let base: Value = serde_json::from_str(&text).context("parse the baseline")?;
    let margin = base["margin"].as_f64().unwrap_or(DEFAULT_MARGIN);
    // Metrics that fail the gate; the others are compared and printed only.
    let gated: Vec<&str> = match base["gated"].as_array() {
        Some(v) => v.iter().filter_map(Value::as_str).collect(),
        None => vec!["throughput_ratio", "p50_ratio"],
    };
    let mut failures = Vec::new();
    let mut checked = 0;
    println!("\n== gate (margin {:.0} %, baseline {}) ==", margin * 100.0, baseline.display());
    for case in reports.iter().filter_map(|r| r["cases"].as_array()).flatten() {
        let name = case["name"].as_str().unwrap_or_default();
        for stage in case["stages"].as_array().into_iter().flatten() {
            let n = stage["sessions"].as_u64().unwrap_or(0);
            let errors = stage["errors"]["total"].as_u64().unwrap_or(0);
            if n >= 500 && errors > 0 {
                failures
                    .push(format!("{name}: {errors} errors at {n} sessions: {}", stage["errors"]));
            }
        }
        let Some(want) = base["cases"].get(name) else { continue };
        let Some(got) = case["overhead"].get(0) else { continue };
        for (metric, higher_is_better) in [("throughput_ratio", true), ("p50_ratio", false)] {
            let (Some(w), Some(g)) = (want[metric].as_f64(), got[metric].as_f64()) else {
                continue;
            };
            checked += 1;
            let limit = if higher_is_better { w * (1.0 - margin) } else { w * (1.0 + margin) };
            let bad = if higher_is_better { g < limit } else { g > limit };
            let enforced = gated.contains(&metric);
            println!(
                "{name:<28} {metric:<17} baseline {w:>6.3}  measured {g:>6.3}  limit {limit:>6.3}  {}{}",
                if bad { "REGRESSED" } else { "ok" },
                if enforced { "" } else { " (not gated)" }
            );
            if bad && enforced {
                failures.push(format!(
                    "{name}: {metric} {g:.3} past the limit {limit:.3} (baseline {w:.3})"
                ));
            }
        }
    }
    if checked == 0 {
        println!("no case of this run has a baseline entry: ratios not checked");
    }
    if failures.is_empty() {
        println!("gate: pass");
        Ok(())
    } else {
        bail!("gate failed:\n  {}", failures.join("\n  "))
    }
}

async fn run(a: Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&a.out).with_context(|| format!("create {}", a.out.display()))?;
    let names: Vec<&str> = match a.scenario.as_str() {
        "all" => vec!["steady", "ramp", "spike"],
        s => vec![s],
    };
    if (a.direct || a.external.is_none()) && !a.hub_bin.is_file() {
        bail!("{} not found (cargo build --release -p hub-bin)", a.hub_bin.display());
    }
    if a.scenario == "chaos" {
        // Its own hub, with its own upstreams; no direct baseline, no regression gate.
        return chaos::run(&a).await;
    }
    let hub = match a.external {
        Some(_) => None,
        None => Some(Hub::start(&a.hub_bin, &a.out).await?),
    };
    let mut reports = Vec::new();
    let mut result = Ok(());
    for name in names {
        match scenario(&a, name, hub.as_ref()).await {
            Ok(r) => reports.push(r),
            Err(e) => {
                result = Err(e);
                break;
            }
        }
    }
    if let Some(h) = hub {
        let stopped = h.stop().await;
        if result.is_ok() {
            result = stopped;
        }
    }
    result?;
    match &a.baseline {
        Some(b) => gate(b, &reports),
        None => Ok(()),
    }
}

pub fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(Some(a)) => a,
        Ok(None) => return ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hub-load: {e:#}");
            return ExitCode::from(2);
        }
    };
    let rt = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("hub-load: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(run(args));
    // Bounded: every task is time-limited, but do not hang on a stuck one at exit.
    rt.shutdown_timeout(Duration::from_secs(5));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("hub-load: {e:#}");
            ExitCode::FAILURE
        }
    }
}
