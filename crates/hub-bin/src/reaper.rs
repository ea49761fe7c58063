//! The reaper: a small watchdog process that makes sure no MCP server outlives the hub.
//!
//! The hub stops its children in order when it shuts down, but a hub killed with `SIGKILL` (or
//! by the OOM killer) gets no chance to, and its children — each the leader of its own process
//! group — would run on as orphans. Linux's parent-death signal would need code between `fork`
//! and `exec` (unsafe, and it only covers the direct child). Instead the hub starts this
//! watchdog (`mcp-hub reaper`, its own binary) with a pipe on its stdin and writes `+<pgid>` when
//! a child starts and `-<pgid>` when its group is gone. The kernel closes the pipe however the hub
//! ends; on end of input the reaper sends `SIGTERM` to every group still listed, waits a moment,
//! then `SIGKILL`s what is left, grandchildren included. After an orderly shutdown the list is
//! empty and the reaper just exits.
//!
//! The reaper leads its own process group, so a Ctrl-C in the hub's terminal reaches the hub
//! (which shuts down in order) and not the reaper.

use std::{
    collections::BTreeSet,
    io::{BufRead as _, Write as _},
    process::{Child, ChildStdin, ExitCode, Stdio},
    sync::Mutex,
    time::Duration,
};

use std::os::unix::process::CommandExt as _;

use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};
use tracing::{debug, warn};

/// How long the orphans get between `SIGTERM` and `SIGKILL`.
const GRACE: Duration = Duration::from_secs(2);

/// The hub's end of the pipe to the reaper.
#[derive(Debug)]
pub(crate) struct Reaper {
    child: Mutex<Option<(Child, ChildStdin)>>,
}

impl Reaper {
    /// Starts the reaper (this same executable, `reaper` subcommand). `None`, with a warning, if
    /// it cannot be started: the hub still runs, without the guarantee.
    pub(crate) fn start() -> Option<Reaper> {
        #[allow(clippy::disallowed_methods)] // the binary's own path, to run its reaper
        let exe = match std::env::current_exe() {
            Ok(exe) => exe,
            Err(e) => {
                warn!(error = %e, "cannot find the hub's executable; children may outlive a killed hub");
                return None;
            }
        };
        #[allow(clippy::disallowed_methods)] // the reaper is the hub's own process, not an upstream
        let spawned = std::process::Command::new(exe)
            .arg("reaper")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .env("RUST_LOG", "warn")
            .process_group(0)
            .spawn();
        match spawned {
            Ok(mut child) => {
                let stdin = child.stdin.take()?;
                debug!(pid = child.id(), "reaper started");
                Some(Reaper { child: Mutex::new(Some((child, stdin))) })
            }
            Err(e) => {
                warn!(error = %e, "cannot start the reaper; children may outlive a killed hub");
                None
            }
        }
    }

    fn send(&self, line: &str) {
        let mut guard = self.child.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some((_, stdin)) = guard.as_mut()
            && let Err(e) = stdin.write_all(line.as_bytes())
        {
            warn!(error = %e, "the reaper is gone; children may outlive a killed hub");
            *guard = None;
        }
    }

    /// Ends the reaper after an orderly shutdown (every group already finished) and reaps it.
    pub(crate) fn finish(&self) {
        let taken = self.child.lock().unwrap_or_else(std::sync::PoisonError::into_inner).take();
        if let Some((mut child, stdin)) = taken {
            drop(stdin);
            if let Err(e) = child.wait() {
                debug!(error = %e, "reaper already reaped");
            }
        }
    }
}

impl hub_core::GroupWatch for Reaper {
    fn started(&self, group: u32) {
        self.send(&format!("+{group}\n"));
    }

    fn finished(&self, group: u32) {
        self.send(&format!("-{group}\n"));
    }
}

/// `mcp-hub reaper`: follow the list on stdin; at its end, kill the groups still on it.
pub(crate) fn main() -> ExitCode {
    let mut groups = BTreeSet::new();
    for line in std::io::stdin().lock().lines() {
        let Ok(line) = line else { break };
        apply(&mut groups, &line);
    }
    if !groups.is_empty() {
        reap(&groups);
    }
    ExitCode::SUCCESS
}

/// One `+<pgid>` / `-<pgid>` line; anything else is ignored.
fn apply(groups: &mut BTreeSet<i32>, line: &str) {
    let (op, id) = line.split_at(line.len().min(1));
    match (op, id.trim().parse::<i32>()) {
        ("+", Ok(g)) if g > 1 => {
            groups.insert(g);
        }
        ("-", Ok(g)) => {
            groups.remove(&g);
        }
        _ => {}
    }
}

/// `SIGTERM` to every group, then `SIGKILL` to those still there after [`GRACE`].
fn reap(groups: &BTreeSet<i32>) {
    let alive = |g: i32| killpg(Pid::from_raw(g), None).is_ok();
    for &g in groups {
        // ESRCH: the group is already gone.
        killpg(Pid::from_raw(g), Signal::SIGTERM).ok();
    }
    // Polls every 50 ms for up to GRACE (no clock needed: this process runs nothing else).
    const POLL: Duration = Duration::from_millis(50);
    for _ in 0..GRACE.as_millis() / POLL.as_millis() {
        if !groups.iter().any(|&g| alive(g)) {
            break;
        }
        #[allow(clippy::disallowed_methods)] // a plain thread, no runtime to block
        std::thread::sleep(POLL);
    }
    for &g in groups.iter().filter(|&&g| alive(g)) {
        killpg(Pid::from_raw(g), Signal::SIGKILL).ok();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_follows_start_and_finish_lines() {
        let mut g = BTreeSet::new();
        for line in ["+100", "+200", "-100", "+300", "garbage", "+", "-", "+1", "+-5", "-999"] {
            apply(&mut g, line);
        }
        assert_eq!(g.into_iter().collect::<Vec<_>>(), [200, 300]);
    }
}
