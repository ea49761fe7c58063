//! Supervision policies, pure and synchronous: the restart backoff (backon's exponential schedule
//! with jitter), the restart budget that stops a restart storm, and the circuit breaker.
//!
//! `hub.rs` applies them to each upstream. Nothing here sleeps or reads a clock: every method
//! that depends on time takes the current [`Instant`], so the tests drive time by hand.

use std::{collections::VecDeque, time::Duration};

use backon::{BackoffBuilder, ExponentialBuilder};
use tokio::time::Instant;

use crate::settings::{BreakerSettings, RestartSettings};

/// The delays between consecutive restarts: `initial_delay`, doubling each time, each lengthened
/// by a random 0–100 % (backon's jitter, so that servers that failed together do not restart
/// together), never longer than `max_delay`.
///
/// backon is used for the schedule only, not its `Retryable` loop: a restart is scheduled by the
/// hub as a task that must stand down when the upstream is stopped or restarted meanwhile (the
/// generation check), and a crash long after a successful start continues the same schedule,
/// neither of which fits one retried future.
pub(crate) struct Backoff {
    builder: ExponentialBuilder,
    delays: <ExponentialBuilder as BackoffBuilder>::Backoff,
    max: Duration,
    attempt: u32,
}

impl Backoff {
    pub(crate) fn new(settings: &RestartSettings) -> Self {
        Self::build(settings, true)
    }

    fn build(settings: &RestartSettings, jitter: bool) -> Self {
        let mut builder = ExponentialBuilder::new()
            .with_factor(2.0)
            .with_min_delay(settings.initial_delay)
            .with_max_delay(settings.max_delay)
            .without_max_times();
        if jitter {
            builder = builder.with_jitter();
        }
        Backoff { builder, delays: builder.build(), max: settings.max_delay, attempt: 0 }
    }

    /// The next delay, and which attempt it is for (1 for the first after a reset).
    pub(crate) fn next_delay(&mut self) -> (Duration, u32) {
        self.attempt = self.attempt.saturating_add(1);
        // Without `max_times` the schedule never ends; `max` is the answer if it ever did.
        let delay = self.delays.next().unwrap_or(self.max).min(self.max);
        (delay, self.attempt)
    }

    /// Starts the schedule again at `initial_delay`.
    pub(crate) fn reset(&mut self) {
        self.delays = self.builder.build();
        self.attempt = 0;
    }
}

/// What to do about an upstream that exited, failed to start or stopped answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Decision {
    /// Start it again after `delay`; `attempt` counts restarts since the backoff last reset.
    Restart { delay: Duration, attempt: u32 },
    /// It was restarted `restarts` times within `window` already: a restart storm. Leave it down.
    GiveUp { restarts: u32, window: Duration },
    /// Automatic restarts are turned off (`max_restarts` 0).
    Off,
}

/// The restart policy of one upstream: the backoff schedule, reset after a stable run, and the
/// budget of `max_restarts` restarts per sliding `window`. A deliberate start (hub start, reload,
/// `restart_server`) begins with a fresh one.
pub(crate) struct Restarts {
    settings: RestartSettings,
    backoff: Backoff,
    /// When each restart within the window was decided, oldest first.
    recent: VecDeque<Instant>,
}

impl Restarts {
    pub(crate) fn new(settings: &RestartSettings) -> Self {
        Restarts {
            settings: settings.clone(),
            backoff: Backoff::new(settings),
            recent: VecDeque::new(),
        }
    }

    #[cfg(test)]
    fn without_jitter(settings: &RestartSettings) -> Self {
        Restarts { backoff: Backoff::build(settings, false), ..Restarts::new(settings) }
    }

    /// The upstream failed at `now`; `up_for` is how long its connection had lasted (`None`
    /// when it never connected).
    pub(crate) fn on_failure(&mut self, now: Instant, up_for: Option<Duration>) -> Decision {
        let max = self.settings.max_restarts;
        if max == 0 {
            return Decision::Off;
        }
        if up_for.is_some_and(|d| d >= self.settings.stable_after) {
            self.backoff.reset();
        }
        while self.recent.front().is_some_and(|&t| now.duration_since(t) >= self.settings.window) {
            self.recent.pop_front();
        }
        if self.recent.len() >= max as usize {
            return Decision::GiveUp { restarts: max, window: self.settings.window };
        }
        self.recent.push_back(now);
        let (delay, attempt) = self.backoff.next_delay();
        Decision::Restart { delay, attempt }
    }
}

/// Whether a call may go to the upstream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// The breaker is closed.
    Pass,
    /// The cool-down is over: this call is the one probe of the half-open breaker.
    Probe,
    /// Refused. `retry_in` is the rest of the cool-down; `None` while a probe is in flight.
    Reject { retry_in: Option<Duration> },
}

/// A change of the breaker's state worth a log line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Transition {
    /// Nothing changed.
    None,
    /// It opened (from closed, or again after a failed probe).
    Opened,
    /// A probe succeeded: it closed.
    Closed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Closed { failures: u32 },
    Open { until: Instant },
    HalfOpen { probing: bool },
}

/// The circuit breaker of one upstream: `failures` consecutive transport failures open it; while
/// open every call is refused at once; after `cool_down` the next call goes through as a probe
/// (half-open) while others are still refused; the probe's success closes it, its failure opens
/// it again. Outcomes of calls admitted before it opened do not move an open breaker.
#[derive(Debug)]
pub(crate) struct Breaker {
    threshold: u32,
    cool_down: Duration,
    state: State,
}

impl Breaker {
    pub(crate) fn new(settings: &BreakerSettings) -> Self {
        Breaker {
            threshold: settings.failures,
            cool_down: settings.cool_down,
            state: State::Closed { failures: 0 },
        }
    }

    /// Decides about a call about to be sent at `now`.
    pub(crate) fn admit(&mut self, now: Instant) -> Admission {
        match self.state {
            State::Closed { .. } => Admission::Pass,
            State::Open { until } if now < until => {
                Admission::Reject { retry_in: Some(until.duration_since(now)) }
            }
            State::Open { .. } | State::HalfOpen { probing: false } => {
                self.state = State::HalfOpen { probing: true };
                Admission::Probe
            }
            State::HalfOpen { probing: true } => Admission::Reject { retry_in: None },
        }
    }

    /// The outcome of an admitted call: `ok` is false only for a transport failure (a JSON-RPC
    /// error response means the server is alive, so it counts as a success here).
    pub(crate) fn record(&mut self, now: Instant, admitted: Admission, ok: bool) -> Transition {
        let probe = admitted == Admission::Probe;
        match (self.state, ok) {
            (State::HalfOpen { probing: true }, true) if probe => {
                self.state = State::Closed { failures: 0 };
                Transition::Closed
            }
            (State::HalfOpen { probing: true }, false) if probe => {
                self.state = State::Open { until: now + self.cool_down };
                Transition::Opened
            }
            (State::Closed { .. }, true) => {
                self.state = State::Closed { failures: 0 };
                Transition::None
            }
            (State::Closed { failures }, false) if self.threshold > 0 => {
                let failures = failures.saturating_add(1);
                if failures >= self.threshold {
                    self.state = State::Open { until: now + self.cool_down };
                    Transition::Opened
                } else {
                    self.state = State::Closed { failures };
                    Transition::None
                }
            }
            _ => Transition::None,
        }
    }

    /// An admitted call ended without an outcome (its caller went away). A probe that never
    /// finished lets the next call probe instead.
    pub(crate) fn abandon(&mut self, admitted: Admission) {
        if admitted == Admission::Probe && self.state == (State::HalfOpen { probing: true }) {
            self.state = State::HalfOpen { probing: false };
        }
    }

    /// Whether calls flow normally (closed; failures below the threshold do not count).
    pub(crate) fn is_closed(&self) -> bool {
        matches!(self.state, State::Closed { .. })
    }

    /// Consecutive transport failures counted while closed.
    #[cfg(test)]
    fn failures(&self) -> u32 {
        match self.state {
            State::Closed { failures } => failures,
            State::Open { .. } | State::HalfOpen { .. } => 0,
        }
    }
}

/// A duration for a status message: `"1.5s"` below ten seconds, else whole units (`"1m 5s"`).
pub(crate) fn human(d: Duration) -> String {
    if d < Duration::from_secs(10) {
        format!("{:.1}s", d.as_secs_f64())
    } else {
        humantime::format_duration(Duration::from_secs(d.as_secs_f64().round() as u64)).to_string()
    }
}

#[cfg(test)]
mod tests;
