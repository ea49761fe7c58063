//! What one stage of a case measured: a latency histogram, a request count and errors by kind.

use std::time::Duration;

use hdrhistogram::Histogram;
use serde_json::{Value, json};

/// Why a request failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A non-2xx HTTP status.
    Http,
    /// A JSON-RPC response with an `error` member.
    JsonRpc,
    /// A `tools/call` result with `isError: true`.
    Tool,
    /// No answer within the per-request timeout.
    Timeout,
    /// Connect, IO, a closed stream or an unreadable answer.
    Transport,
}

/// Error counts by kind.
#[derive(Debug, Default, Clone, Copy)]
pub struct Errors {
    pub http: u64,
    pub jsonrpc: u64,
    pub tool: u64,
    pub timeout: u64,
    pub transport: u64,
}

impl Errors {
    pub fn add(&mut self, kind: ErrorKind) {
        match kind {
            ErrorKind::Http => self.http += 1,
            ErrorKind::JsonRpc => self.jsonrpc += 1,
            ErrorKind::Tool => self.tool += 1,
            ErrorKind::Timeout => self.timeout += 1,
            ErrorKind::Transport => self.transport += 1,
        }
    }

    pub fn total(&self) -> u64 {
        self.http + self.jsonrpc + self.tool + self.timeout + self.transport
    }

    fn json(&self) -> Value {
        json!({"http": self.http, "jsonrpc": self.jsonrpc, "tool": self.tool,
               "timeout": self.timeout, "transport": self.transport, "total": self.total()})
    }

    /// `-` or e.g. `3 timeout, 1 http`.
    fn short(&self) -> String {
        let parts: Vec<String> = [
            (self.http, "http"),
            (self.jsonrpc, "jsonrpc"),
            (self.tool, "tool"),
            (self.timeout, "timeout"),
            (self.transport, "transport"),
        ]
        .iter()
        .filter(|(n, _)| *n > 0)
        .map(|(n, k)| format!("{n} {k}"))
        .collect();
        if parts.is_empty() { "-".to_owned() } else { parts.join(", ") }
    }
}

/// One stage's accumulator, shared by the sessions of a run.
#[derive(Debug, Clone)]
pub struct Acc {
    /// Latency of successful and failed-but-answered requests, in microseconds.
    pub hist: Histogram<u64>,
    /// Requests started in the stage that completed successfully.
    pub ok: u64,
    pub errors: Errors,
}

impl Acc {
    pub fn new() -> Acc {
        Acc {
            // 1 µs to 100 s, 3 significant digits.
            hist: Histogram::new_with_bounds(1, 100_000_000, 3).expect("valid histogram bounds"),
            ok: 0,
            errors: Errors::default(),
        }
    }

    pub fn record(&mut self, latency: Duration, outcome: Result<(), ErrorKind>) {
        match outcome {
            Ok(()) => {
                self.ok += 1;
                let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX).max(1);
                self.hist.saturating_record(us);
            }
            Err(kind) => self.errors.add(kind),
        }
    }
}

/// The numbers reported for one stage.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub sessions: usize,
    pub seconds: f64,
    pub requests: u64,
    pub throughput: f64,
    pub p50: u64,
    pub p90: u64,
    pub p95: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
    pub mean: f64,
    pub errors: Errors,
}

impl Summary {
    pub fn of(acc: &Acc, sessions: usize, seconds: f64) -> Summary {
        let h = &acc.hist;
        let q = |p: f64| if h.is_empty() { 0 } else { h.value_at_quantile(p) };
        Summary {
            sessions,
            seconds,
            requests: acc.ok,
            throughput: acc.ok as f64 / seconds.max(1e-9),
            p50: q(0.5),
            p90: q(0.9),
            p95: q(0.95),
            p99: q(0.99),
            p999: q(0.999),
            max: if h.is_empty() { 0 } else { h.max() },
            mean: if h.is_empty() { 0.0 } else { h.mean() },
            errors: acc.errors,
        }
    }

    pub fn json(&self) -> Value {
        json!({
            "sessions": self.sessions,
            "seconds": round(self.seconds, 3),
            "requests": self.requests,
            "throughput_rps": round(self.throughput, 1),
            "latency_us": {"p50": self.p50, "p90": self.p90, "p95": self.p95, "p99": self.p99,
                           "p99_9": self.p999, "max": self.max, "mean": round(self.mean, 1)},
            "errors": self.errors.json(),
        })
    }

    /// A table row; `label` first.
    pub fn row(&self, label: &str) -> String {
        format!(
            "{label:<34} {:>5} {:>9.0} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  {}",
            self.sessions,
            self.throughput,
            self.p50,
            self.p90,
            self.p95,
            self.p99,
            self.p999,
            self.max,
            self.errors.short()
        )
    }

    pub fn header() -> String {
        format!(
            "{:<34} {:>5} {:>9} {:>8} {:>8} {:>8} {:>8} {:>8} {:>8}  errors",
            "case / stage",
            "sess",
            "req/s",
            "p50 µs",
            "p90 µs",
            "p95 µs",
            "p99 µs",
            "p99.9 µs",
            "max µs"
        )
    }
}

pub fn round(x: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    (x * f).round() / f
}
