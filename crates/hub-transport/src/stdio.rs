//! Starting an upstream as a child process, and supervising it until it is reaped.
//!
//! [`spawn`] builds the one [`Command`] this workspace is allowed to build: the child gets a
//! cleared environment plus exactly [`Spec::env`], its own process group (so shutdown can
//! signal the server and everything it started), piped stdio, and `kill_on_drop`. It then
//! starts four tasks:
//!
//! - the reader (stdout → pending requests / [`Incoming`]),
//! - the writer ([`Peer`] → stdin),
//! - the stderr logger (each line at `info` on target `mcp_hub::upstream`),
//! - the supervisor, which owns the [`Child`]: it notices exit or end of stdout, closes the
//!   transport with a reason that names the exit status, and runs the shutdown escalation.

use std::{
    fmt, io, os::unix::process::ExitStatusExt as _, path::PathBuf, process::ExitStatus, sync::Arc,
    time::Duration,
};

use futures_util::StreamExt as _;
use nix::{
    errno::Errno,
    sys::signal::{Signal, killpg},
    unistd::Pid,
};
use tokio::{
    io::AsyncRead,
    process::{Child, Command},
    sync::{mpsc, oneshot, watch},
    time::timeout,
};
use tokio_util::codec::FramedRead;
use tracing::{debug, info, warn};

use crate::{
    error::{Error, Result},
    framing::{Frame, LineCodec},
    peer::{self, Incoming, Peer, Shared},
};

/// The environment variables mcp-hub passes from its own environment to every stdio server by
/// default (the MCP SDKs' choice on Unix). This crate does not apply it: whoever builds the
/// [`Spec`] snapshots these from the hub's environment and adds the server's own variables.
pub const DEFAULT_INHERITED_ENV: [&str; 6] = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];

/// How long the supervisor waits, once stdout ends or the child exits, for the other of the two
/// to happen: long enough to read a server's last words and learn its exit status, short enough
/// that waiting requests fail promptly.
const SETTLE: Duration = Duration::from_millis(250);

/// What to run.
#[derive(Clone)]
pub struct Spec {
    /// The program; looked up in `PATH` from [`Spec::env`] if it has no `/`.
    pub command: String,
    /// Its arguments.
    pub args: Vec<String>,
    /// The child's complete environment: it gets exactly these variables and nothing else.
    pub env: Vec<(String, String)>,
    /// The working directory; the hub's own if `None`.
    pub cwd: Option<PathBuf>,
}

/// Shows variable names only: the values often hold secrets.
impl fmt::Debug for Spec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.env.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("Spec")
            .field("command", &self.command)
            .field("args", &self.args)
            .field("env", &names)
            .field("cwd", &self.cwd)
            .finish()
    }
}

/// Told about every process group a stdio transport starts and, once its leader is reaped and
/// the group killed, finishes with. Lets something outside the hub's process clean up when the
/// hub itself is killed without a chance to stop its children (`SIGKILL`, OOM killer).
pub trait GroupWatch: fmt::Debug + Send + Sync {
    /// A child was started as the leader of process group `group`.
    fn started(&self, group: u32);
    /// Process group `group` is gone (its leader reaped, the rest killed).
    fn finished(&self, group: u32);
}

/// Limits and timings of a stdio transport.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Longest accepted line on stdout (and stderr), in bytes; longer lines are dropped with a
    /// warning. Default 16 MiB.
    pub max_line_bytes: usize,
    /// How long shutdown waits after closing stdin, and again after `SIGTERM`. Default 2 s.
    pub shutdown_grace: Duration,
    /// Capacity of the [`Incoming`] channel. Default 1024.
    pub incoming_capacity: usize,
    /// Told about each child's process group; `None` by default.
    pub group_watch: Option<Arc<dyn GroupWatch>>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            max_line_bytes: 16 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(2),
            incoming_capacity: 1024,
            group_watch: None,
        }
    }
}

/// Starts `spec` as a child process speaking MCP over stdio.
///
/// `name` identifies the server in logs. Must be called within a tokio runtime (it spawns the
/// transport's tasks). Fails with [`Error::Spawn`] if the process cannot be started.
pub async fn spawn(name: &str, spec: &Spec, settings: &Settings) -> Result<(Peer, Incoming)> {
    let mut child = command(spec)
        .spawn()
        .map_err(|source| Error::Spawn { command: spec.command.clone(), source })?;
    let pid = child.id();
    let stdin = child.stdin.take().expect("stdin is piped by `command`");
    let stdout = child.stdout.take().expect("stdout is piped by `command`");
    let stderr = child.stderr.take().expect("stderr is piped by `command`");
    info!(server = %name, pid, command = %spec.command, "started upstream");
    let watch = settings.group_watch.clone().zip(pid);
    if let Some((w, group)) = &watch {
        w.started(*group);
    }

    let shared = Arc::new(Shared::new(name));
    let (out_tx, out_rx) = mpsc::channel(peer::WRITE_QUEUE);
    let (incoming_tx, incoming_rx) = mpsc::channel(settings.incoming_capacity.max(1));
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    let (done_tx, done_rx) = watch::channel(false);
    let (eof_tx, eof_rx) = oneshot::channel();
    let (broken_tx, broken_rx) = oneshot::channel();

    tokio::spawn(peer::read_loop(
        Arc::clone(&shared),
        stdout,
        settings.max_line_bytes,
        incoming_tx,
        out_tx.downgrade(),
        eof_tx,
    ));
    let pipe = peer::Pipe::new(stdin, broken_tx);
    tokio::spawn(peer::write_loop(
        Arc::clone(&shared),
        Arc::clone(&pipe),
        out_rx,
        shutdown_rx.clone(),
    ));
    tokio::spawn(log_stderr(name.to_owned(), stderr, settings.max_line_bytes));
    tokio::spawn(supervise(Supervisor {
        shared: Arc::clone(&shared),
        child,
        group: pid.and_then(|pid| i32::try_from(pid).ok()).map(Pid::from_raw),
        grace: settings.shutdown_grace,
        shutdown: shutdown_rx,
        eof: eof_rx,
        broken: broken_rx,
        done: done_tx,
        watch,
    }));
    let link = peer::Link::Stdio { pipe, out: out_tx, pid };
    Ok((Peer::new(shared, link, shutdown_tx, done_rx), incoming_rx))
}

#[allow(clippy::disallowed_methods)] // the one sanctioned spawn site
fn command(spec: &Spec) -> Command {
    let mut command = Command::new(&spec.command);
    command
        .args(&spec.args)
        .env_clear()
        .envs(spec.env.iter().map(|(name, value)| (name, value)))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true)
        // Its own process group, led by the child: shutdown signals the whole group.
        .process_group(0);
    if let Some(cwd) = &spec.cwd {
        command.current_dir(cwd);
    }
    // Killing the child when the hub dies (PR_SET_PDEATHSIG) needs an unsafe `pre_exec` hook,
    // and this workspace forbids unsafe code; it is left to a later change.
    command
}

/// Logs the child's stderr line by line.
async fn log_stderr<R: AsyncRead + Unpin>(name: String, stderr: R, max_line_bytes: usize) {
    let mut frames = FramedRead::new(stderr, LineCodec::new(max_line_bytes));
    while let Some(frame) = frames.next().await {
        match frame {
            Ok(Frame::Line(line)) => {
                let line = String::from_utf8_lossy(&line);
                info!(target: "mcp_hub::upstream", server = %name, "stderr: {line}");
            }
            Ok(Frame::TooLong { len }) => {
                info!(target: "mcp_hub::upstream", server = %name, "stderr: <line of {len} bytes dropped>");
            }
            Err(error) => {
                debug!(server = %name, %error, "cannot read the upstream's stderr");
                break;
            }
        }
    }
}

/// The supervisor task's state: it owns the child.
struct Supervisor {
    shared: Arc<Shared>,
    child: Child,
    /// The child's process group (its pid, as it leads the group).
    group: Option<Pid>,
    grace: Duration,
    shutdown: watch::Receiver<bool>,
    /// Fires when the reader reaches the end of stdout.
    eof: oneshot::Receiver<()>,
    /// Fires when the writer cannot write to stdin.
    broken: oneshot::Receiver<String>,
    /// Set once shutdown is complete.
    done: watch::Sender<bool>,
    /// Told when the group is gone.
    watch: Option<(Arc<dyn GroupWatch>, u32)>,
}

/// What woke the supervisor.
enum Event {
    Shutdown,
    Exited(io::Result<ExitStatus>),
    /// The pipes failed (stdout ended, stdin broke) but the child may still run.
    PipeGone(String),
}

async fn supervise(mut s: Supervisor) {
    let name = s.shared.name.clone();
    let mut eof_seen = false;
    let mut broken_seen = false;
    loop {
        let event = tokio::select! {
            biased;
            () = peer::shutdown_requested(&mut s.shutdown) => Event::Shutdown,
            status = s.child.wait() => Event::Exited(status),
            _ = &mut s.eof, if !eof_seen => {
                eof_seen = true;
                Event::PipeGone("stdout closed".to_owned())
            }
            reason = &mut s.broken, if !broken_seen => {
                broken_seen = true;
                match reason {
                    Ok(reason) => Event::PipeGone(reason),
                    Err(_) => continue, // the writer ended normally
                }
            }
        };
        match event {
            Event::Shutdown => {
                let status = escalate(&mut s.child, s.group, s.grace, &name).await;
                s.shared.close(exit_reason(&status));
                break;
            }
            Event::Exited(status) => {
                if !eof_seen {
                    // Let the reader deliver what the child wrote before it exited.
                    if timeout(SETTLE, &mut s.eof).await.is_err() {
                        debug!(server = %name, "stdout still open after the process exited");
                    }
                }
                s.shared.close(exit_reason(&status));
                peer::shutdown_requested(&mut s.shutdown).await;
                break;
            }
            Event::PipeGone(reason) => match timeout(SETTLE, s.child.wait()).await {
                Ok(status) => {
                    s.shared.close(exit_reason(&status));
                    peer::shutdown_requested(&mut s.shutdown).await;
                    break;
                }
                // Still running with a broken pipe: the transport is gone all the same. Keep
                // waiting for its exit or for shutdown.
                Err(_) => s.shared.close(reason),
            },
        }
    }
    // The child is reaped. Whatever it left running in its group goes too.
    signal_group(s.group, Signal::SIGKILL, &name);
    if let Some((w, group)) = &s.watch {
        w.finished(*group);
    }
    s.done.send_replace(true);
    debug!(server = %name, "upstream shut down");
}

/// Close stdin (the writer does so as soon as shutdown is requested), wait; `SIGTERM` the
/// group, wait; `SIGKILL` the group. Returns the child's exit status.
async fn escalate(
    child: &mut Child,
    group: Option<Pid>,
    grace: Duration,
    name: &str,
) -> io::Result<ExitStatus> {
    if let Ok(status) = timeout(grace, child.wait()).await {
        return status;
    }
    debug!(server = %name, ?grace, "still running after stdin closed; sending SIGTERM");
    signal_group(group, Signal::SIGTERM, name);
    if let Ok(status) = timeout(grace, child.wait()).await {
        return status;
    }
    warn!(server = %name, ?grace, "still running after SIGTERM; sending SIGKILL");
    signal_group(group, Signal::SIGKILL, name);
    if let Ok(status) = timeout(grace, child.wait()).await {
        return status;
    }
    // No process group to signal (or the kill did not land): kill the child directly.
    if let Err(error) = child.start_kill() {
        warn!(server = %name, %error, "cannot kill the upstream");
    }
    child.wait().await
}

fn signal_group(group: Option<Pid>, signal: Signal, name: &str) {
    let Some(group) = group else {
        return;
    };
    match killpg(group, signal) {
        Ok(()) | Err(Errno::ESRCH) => {}
        Err(error) => warn!(server = %name, %error, ?signal, "cannot signal the process group"),
    }
}

/// `process exited with status 1`, `killed by signal 9`, …
fn exit_reason(status: &io::Result<ExitStatus>) -> String {
    match status {
        Ok(status) => match (status.code(), status.signal()) {
            (Some(code), _) => format!("process exited with status {code}"),
            (None, Some(signal)) => format!("killed by signal {signal}"),
            (None, None) => format!("process ended ({status})"),
        },
        Err(error) => format!("cannot wait for the process: {error}"),
    }
}

#[cfg(test)]
mod tests;
