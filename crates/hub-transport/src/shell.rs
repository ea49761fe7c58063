//! Running one shell command for a `${cmd: …}` config placeholder: `sh -c`, the same env policy
//! as upstream children (a cleared environment plus exactly what the caller passes), its own
//! process group, a timeout and an output cap, both enforced by killing the whole group.

use std::{process::Stdio, time::Duration};

use nix::{
    sys::signal::{Signal, killpg},
    unistd::Pid,
};
use tokio::{
    io::{AsyncRead, AsyncReadExt as _},
    process::Command,
};

/// mcp-hub's `${cmd:}` timeout.
pub const DEFAULT_SHELL_TIMEOUT: Duration = Duration::from_secs(30);

/// The default cap on a command's stdout (1 MiB).
pub const DEFAULT_SHELL_MAX_OUTPUT: usize = 1 << 20;

/// How much of stderr is kept for the error message.
const STDERR_EXCERPT: usize = 512;

/// Runs `command` with `sh -c` and returns its stdout.
///
/// The child gets exactly `env` (nothing of the hub's environment), the hub's working directory,
/// no stdin, and its own process group. `Err` says what went wrong without the output: the exit
/// status and an excerpt of stderr, a timeout (the group is killed), or output over `max_output`
/// bytes (the group is killed).
pub async fn run_shell(
    command: &str,
    env: &[(String, String)],
    timeout: Duration,
    max_output: usize,
) -> Result<String, String> {
    let mut child = shell(command, env).spawn().map_err(|e| format!("cannot start sh: {e}"))?;
    let group = child.id().and_then(|pid| i32::try_from(pid).ok()).map(Pid::from_raw);
    let kill_group = || {
        if let Some(g) = group {
            // The group may already be gone; nothing else to do then.
            let _ = killpg(g, Signal::SIGKILL).ok();
        }
    };
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let work = async {
        let out = async {
            let r = read_capped(stdout, max_output, false).await;
            if r.1 {
                // Over the cap: stop the writer now, so stderr reaches its end too.
                kill_group();
            }
            r
        };
        let (out, err) = tokio::join!(out, read_capped(stderr, STDERR_EXCERPT, true));
        let status = child.wait().await;
        (out, err, status)
    };
    let Ok(((out, over), (err, _), status)) = tokio::time::timeout(timeout, work).await else {
        kill_group();
        return Err(format!("timed out after {}s; killed", timeout.as_secs_f32()));
    };
    if over {
        return Err(format!("output exceeds {max_output} bytes; killed"));
    }
    let status = status.map_err(|e| format!("cannot wait for sh: {e}"))?;
    if !status.success() {
        let err = String::from_utf8_lossy(&err);
        let err = err.trim();
        return Err(if err.is_empty() {
            format!("{status}")
        } else {
            format!("{status}; stderr: {err}")
        });
    }
    String::from_utf8(out).map_err(|_| "output is not UTF-8".to_owned())
}

#[allow(clippy::disallowed_methods)] // the shell's sanctioned spawn site, same policy as `stdio`
fn shell(command: &str, env: &[(String, String)]) -> Command {
    let mut c = Command::new("sh");
    c.arg("-c")
        .arg(command)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .process_group(0);
    c
}

/// Reads up to `keep` bytes; with `drain`, reads on to the end and discards the rest, else stops
/// at the cap. The flag says whether there was more than `keep`.
async fn read_capped<R: AsyncRead + Unpin>(
    reader: Option<R>,
    keep: usize,
    drain: bool,
) -> (Vec<u8>, bool) {
    let Some(mut reader) = reader else { return (Vec::new(), false) };
    let mut data = Vec::new();
    let mut buf = [0u8; 8192];
    let mut over = false;
    loop {
        match reader.read(&mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let room = keep.saturating_sub(data.len());
                data.extend_from_slice(&buf[..n.min(room)]);
                if n > room {
                    over = true;
                    if !drain {
                        break;
                    }
                }
            }
        }
    }
    (data, over)
}

#[cfg(test)]
mod tests {
    use tokio::time::Instant;

    use super::*;

    fn path_env() -> Vec<(String, String)> {
        vec![("PATH".to_owned(), "/usr/local/bin:/usr/bin:/bin".to_owned())]
    }

    #[tokio::test]
    async fn success_returns_stdout() {
        let out =
            run_shell("echo hello; echo world", &path_env(), DEFAULT_SHELL_TIMEOUT, 1024).await;
        assert_eq!(out.unwrap(), "hello\nworld\n");
    }

    #[tokio::test]
    async fn the_environment_is_exactly_what_is_passed() {
        let env = vec![("ONLY".to_owned(), "this".to_owned())];
        let out =
            run_shell("echo \"$ONLY:${HOME:-nohome}\"", &env, DEFAULT_SHELL_TIMEOUT, 1024).await;
        assert_eq!(out.unwrap(), "this:nohome\n");
    }

    #[tokio::test]
    async fn non_zero_exit_reports_status_and_stderr() {
        let err =
            run_shell("echo out; echo oops >&2; exit 3", &path_env(), DEFAULT_SHELL_TIMEOUT, 1024)
                .await
                .unwrap_err();
        assert_eq!(err, "exit status: 3; stderr: oops");
        assert!(!err.contains("out;"));
    }

    #[tokio::test]
    async fn stderr_excerpt_is_bounded() {
        let err = run_shell(
            "head -c 100000 /dev/zero | tr '\\0' e >&2; exit 1",
            &path_env(),
            DEFAULT_SHELL_TIMEOUT,
            1024,
        )
        .await
        .unwrap_err();
        assert!(err.len() < STDERR_EXCERPT + 64, "{}", err.len());
    }

    #[tokio::test]
    async fn timeout_kills_the_group_within_bounds() {
        let dir = std::env::temp_dir().join(format!("hub-shell-{}", std::process::id()));
        let pidfile = dir.with_extension("pid");
        let start = Instant::now();
        let err = run_shell(
            &format!("sleep 30 & echo $! > {}; wait", pidfile.display()),
            &path_env(),
            Duration::from_millis(300),
            1024,
        )
        .await
        .unwrap_err();
        assert_eq!(err, "timed out after 0.3s; killed");
        assert!(start.elapsed() < Duration::from_secs(5), "{:?}", start.elapsed());
        // The grandchild `sleep` was in the group: it is gone (or a zombie awaiting its reaper).
        let pid = std::fs::read_to_string(&pidfile).unwrap();
        std::fs::remove_file(&pidfile).ok();
        tokio::time::sleep(Duration::from_millis(200)).await;
        let stat =
            std::fs::read_to_string(format!("/proc/{}/stat", pid.trim())).unwrap_or_default();
        assert!(stat.is_empty() || stat.contains(") Z "), "sleep still running: {stat}");
    }

    #[tokio::test]
    async fn output_over_the_cap_is_refused_and_killed() {
        let start = Instant::now();
        let err = run_shell("yes", &path_env(), Duration::from_secs(10), DEFAULT_SHELL_MAX_OUTPUT)
            .await
            .unwrap_err();
        assert_eq!(err, "output exceeds 1048576 bytes; killed");
        assert!(start.elapsed() < Duration::from_secs(5));
        let ok = run_shell(
            "head -c 1048576 /dev/zero",
            &path_env(),
            Duration::from_secs(10),
            DEFAULT_SHELL_MAX_OUTPUT,
        )
        .await;
        assert_eq!(ok.unwrap().len(), 1 << 20);
    }

    #[tokio::test]
    async fn missing_shell_command_is_exit_127() {
        let err =
            run_shell("definitely-not-a-command-xyz", &path_env(), DEFAULT_SHELL_TIMEOUT, 1024)
                .await
                .unwrap_err();
        assert!(err.starts_with("exit status: 127; stderr: "), "{err}");
    }
}
