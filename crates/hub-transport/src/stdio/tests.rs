//! Spawning, environment, working directory, stderr, and shutdown against real processes.

use std::{collections::BTreeMap, time::Duration};

use tokio::time::Instant;

use crate::{
    Error, Settings, Spec, spawn,
    testing::{
        LONG, fake_with_hung_request, next_notification, quick_settings, scratch_dir, sh,
        wait_gone, within,
    },
};

fn spec(command: &str, args: &[&str], env: &[(&str, &str)]) -> Spec {
    Spec {
        command: command.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        cwd: None,
    }
}

#[tokio::test]
async fn spawn_error_names_the_command() {
    let error = spawn("x", &spec("nope-xyz", &[], &[]), &Settings::default())
        .await
        .expect_err("cannot start");
    assert_eq!(error.to_string(), "failed to start `nope-xyz`");
    let Error::Spawn { command, source } = &error else { panic!("expected Spawn, got {error:?}") };
    assert_eq!(command, "nope-xyz");
    assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
    assert!(std::error::Error::source(&error).is_some());
}

#[test]
fn spec_debug_hides_env_values() {
    let spec = spec("server", &["--flag"], &[("API_TOKEN", "s3cr3t"), ("PATH", "/bin")]);
    let debug = format!("{spec:?}");
    assert!(debug.contains("API_TOKEN") && debug.contains("PATH"), "{debug}");
    assert!(!debug.contains("s3cr3t") && !debug.contains("/bin"), "{debug}");
}

#[test]
fn settings_defaults() {
    let settings = Settings::default();
    assert_eq!(settings.max_line_bytes, 16 * 1024 * 1024);
    assert_eq!(settings.shutdown_grace, Duration::from_secs(2));
    assert_eq!(settings.incoming_capacity, 1024);
}

#[tokio::test]
async fn child_sees_exactly_the_spec_env_and_cwd() {
    let dir = scratch_dir("env");
    let env = [
        ("FOO", "bar"),
        ("EMPTY", ""),
        ("WITH_EQ", "a=b"),
        ("SPACED", "x y"),
        ("PATH", "/usr/bin:/bin"),
    ];
    // `sleep` is found through the PATH given in the spec.
    let spec = Spec { cwd: Some(dir.clone()), ..spec("sleep", &["5"], &env) };
    let (peer, _incoming) = spawn("env", &spec, &quick_settings()).await.expect("spawns");
    let pid = peer.pid().expect("has a pid");
    let environ = std::fs::read(format!("/proc/{pid}/environ")).expect("readable");
    let seen: BTreeMap<String, String> = environ
        .split(|&b| b == 0)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let entry = String::from_utf8_lossy(entry);
            let (k, v) = entry.split_once('=').expect("NAME=value");
            (k.to_owned(), v.to_owned())
        })
        .collect();
    let expected: BTreeMap<String, String> =
        env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    assert_eq!(seen, expected, "HOME, USER etc. of the hub must not leak");
    let cwd = std::fs::read_link(format!("/proc/{pid}/cwd")).expect("readable");
    assert_eq!(cwd, dir.canonicalize().expect("exists"));
    within(5, peer.shutdown()).await;
    std::fs::remove_dir_all(&dir).expect("removable");
}

#[tokio::test]
async fn stderr_is_drained_so_a_chatty_child_does_not_block() {
    // 2 MB of stderr, far beyond a pipe buffer, before the first stdout message.
    let script = r#"yes 'some log line' | head -c 2000000 >&2
printf '%s\n' '{"jsonrpc":"2.0","method":"test/done"}'
exec cat >/dev/null"#;
    let (peer, mut incoming) =
        spawn("chatty", &sh(script, &[]), &quick_settings()).await.expect("spawns");
    assert_eq!(next_notification(&mut incoming).await.method, "test/done");
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn shutdown_is_orderly_when_the_child_exits_on_stdin_eof() {
    let settings = Settings { shutdown_grace: Duration::from_secs(3), ..Settings::default() };
    let (peer, _incoming) = spawn("cat", &sh("exec cat", &[]), &settings).await.expect("spawns");
    let pid = peer.pid().expect("has a pid");
    let started = Instant::now();
    within(5, peer.shutdown()).await;
    assert!(started.elapsed() < Duration::from_secs(1), "took {:?}", started.elapsed());
    assert_eq!(within(5, peer.closed()).await, "process exited with status 0");
    assert!(wait_gone(pid).await);
}

#[tokio::test]
async fn shutdown_fails_pending_requests_and_is_idempotent() {
    let (peer, _incoming, hung) = fake_with_hung_request().await;
    // Two concurrent calls and a third afterwards all return.
    within(5, async { tokio::join!(peer.shutdown(), peer.shutdown()) }).await;
    within(5, peer.shutdown()).await;
    let result = within(5, hung).await.expect("task ran");
    assert!(matches!(result, Err(Error::Closed { .. })), "got {result:?}");
    assert!(peer.is_closed());
    assert!(wait_gone(peer.pid().expect("has a pid")).await);
}

#[tokio::test]
async fn shutdown_escalates_to_sigterm() {
    let grace = Duration::from_millis(300);
    let settings = Settings { shutdown_grace: grace, ..Settings::default() };
    // Ignores stdin; dies of SIGTERM.
    let (peer, _incoming) =
        spawn("sleepy", &sh("exec sleep 30", &[]), &settings).await.expect("spawns");
    let started = Instant::now();
    within(5, peer.shutdown()).await;
    let took = started.elapsed();
    // The reason below proves SIGTERM, not SIGKILL, ended it.
    assert!(took >= grace && took < grace + Duration::from_secs(1), "took {took:?}");
    assert_eq!(within(5, peer.closed()).await, "killed by signal 15");
}

#[tokio::test]
async fn shutdown_escalates_to_sigkill_and_kills_the_whole_group() {
    let grace = Duration::from_millis(300);
    let settings = Settings { shutdown_grace: grace, ..Settings::default() };
    let dir = scratch_dir("group");
    let pid_file = dir.join("grandchild.pid");
    let pid_path = pid_file.to_str().expect("utf-8 temp path");
    // Ignores stdin EOF and SIGTERM (as does its grandchild, which inherits the ignored TERM).
    let script = r#"trap '' TERM; sleep 30 & echo $! > "$1.tmp"; mv "$1.tmp" "$1"; wait; wait"#;
    let (peer, _incoming) =
        spawn("stubborn", &sh(script, &[pid_path]), &settings).await.expect("spawns");
    let pid = peer.pid().expect("has a pid");
    let grandchild: u32 = within(5, async {
        loop {
            if let Ok(text) = std::fs::read_to_string(&pid_file) {
                break text.trim().parse().expect("a pid");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await;
    let started = Instant::now();
    within(5, peer.shutdown()).await;
    let took = started.elapsed();
    assert!(took >= 2 * grace && took < 2 * grace + Duration::from_secs(1), "took {took:?}");
    assert_eq!(within(5, peer.closed()).await, "killed by signal 9");
    assert!(wait_gone(pid).await, "the child survived");
    assert!(wait_gone(grandchild).await, "the grandchild survived");
    std::fs::remove_dir_all(&dir).expect("removable");
}

#[tokio::test]
async fn killed_child_reports_the_signal() {
    let (peer, _incoming) =
        spawn("suicidal", &sh("kill -9 $$", &[]), &quick_settings()).await.expect("spawns");
    assert_eq!(within(5, peer.closed()).await, "killed by signal 9");
    within(5, peer.shutdown()).await;
}

#[tokio::test]
async fn child_closing_stdout_but_running_closes_the_transport() {
    let (peer, incoming) =
        spawn("mute", &sh("exec sleep 30 >&-", &[]), &quick_settings()).await.expect("spawns");
    assert_eq!(within(5, peer.closed()).await, "stdout closed");
    let result = within(5, peer.request("x", None, LONG)).await;
    assert!(matches!(result, Err(Error::Closed { .. })), "got {result:?}");
    drop(incoming);
    within(5, peer.shutdown()).await;
    assert!(wait_gone(peer.pid().expect("has a pid")).await);
}

#[tokio::test]
async fn dropping_every_handle_reaps_the_child() {
    let (peer, incoming) =
        spawn("cat", &sh("exec cat", &[]), &quick_settings()).await.expect("spawns");
    let pid = peer.pid().expect("has a pid");
    let clone = peer.clone();
    drop((peer, clone, incoming));
    assert!(wait_gone(pid).await);
}

#[tokio::test]
async fn server_messages_through_sh_round_trip() {
    // A minimal responder in sh: echoes a fixed response for each line it reads.
    let script = r#"while read -r line; do printf '%s\n' '{"jsonrpc":"2.0","id":1,"result":{"ok":true}}'; done"#;
    let (peer, _incoming) = spawn("sh", &sh(script, &[]), &quick_settings()).await.expect("spawns");
    let result = within(5, peer.request("anything", None, LONG)).await.expect("answered");
    assert_eq!(result.get(), r#"{"ok":true}"#);
    within(5, peer.shutdown()).await;
}
