//! Resolving a server entry with real `${cmd: …}` commands, without blocking the runtime.
//!
//! `hub_config::CommandRunner` is synchronous (hub-config is pure and has no runtime), while
//! commands run through `hub_transport::run_shell`, which is async. Calling it with `block_on`
//! from inside `spawn_blocking` would need `'static` borrows of the hub's environment, and
//! `block_in_place` panics on a current-thread runtime. So resolution runs in rounds instead:
//! each round resolves the entry purely, with a runner that answers the commands already run
//! and records the ones it was asked for; those are then run asynchronously and the entry is
//! resolved again. A command whose text depends on another command's output is discovered in
//! a later round. Within one resolution each distinct command runs once; across resolutions
//! (every connect) nothing is cached, so a rotated secret is re-read at the next connect.

use std::{cell::RefCell, collections::HashMap};

use hub_config::{
    CommandRunner, ConfigError, EnvSource, ResolvedRemote, ResolvedStdio, Resolver, Server,
};
use hub_transport::{DEFAULT_INHERITED_ENV, DEFAULT_SHELL_MAX_OUTPUT, DEFAULT_SHELL_TIMEOUT};

/// More distinct commands than this in one entry is an error (it also bounds the rounds).
const MAX_COMMANDS: usize = 64;

/// Answers from commands already run; records the rest.
#[derive(Default)]
struct Rounds {
    done: HashMap<String, Result<String, String>>,
    wanted: RefCell<Vec<String>>,
}

impl CommandRunner for Rounds {
    fn run(&self, command: &str) -> Result<String, String> {
        if let Some(r) = self.done.get(command) {
            return r.clone();
        }
        let mut wanted = self.wanted.borrow_mut();
        if !wanted.iter().any(|c| c == command) {
            wanted.push(command.to_owned());
        }
        Err("not run yet".to_owned())
    }
}

/// The environment a `${cmd:}` command gets: the hub's whole environment, as mcp-hub's
/// `child_process.exec` gives it (secret helpers such as `op`, `gh` or `aws` need their session
/// variables); the inherited allowlist when the source cannot list its variables. Stdio servers
/// themselves still get only the allowlist.
fn shell_env(env: &dyn EnvSource) -> Vec<(String, String)> {
    let all = env.vars();
    if !all.is_empty() {
        return all;
    }
    DEFAULT_INHERITED_ENV
        .iter()
        .filter_map(|k| env.get(k).filter(|v| !v.starts_with("()")).map(|v| ((*k).to_owned(), v)))
        .collect()
}

/// Resolves a stdio entry the way the hub does before starting it, or, with `run_commands`
/// false, as a validation that runs no `${cmd: …}` command (their placeholder text is kept, with
/// a warning). For `mcp-hub check`. `cwd` is the hub's working directory.
pub async fn check_stdio(
    entry: &Server,
    env: &(dyn EnvSource + Sync),
    cwd: Option<&str>,
    run_commands: bool,
) -> Result<ResolvedStdio, Vec<ConfigError>> {
    if run_commands {
        return resolve_stdio(entry, env, cwd).await;
    }
    let mut resolver = Resolver::new(env).with_inherited(&DEFAULT_INHERITED_ENV);
    if let Some(cwd) = cwd {
        resolver = resolver.with_cwd(cwd);
    }
    resolver.stdio(entry)
}

/// Resolves a stdio entry, running its `${cmd: …}` placeholders with `sh -c` (30 s timeout,
/// 1 MiB output cap, the hub's environment). `cwd` is the hub's working
/// directory, for `${workspaceFolder}` and `${cwd}`.
pub(crate) async fn resolve_stdio(
    entry: &Server,
    env: &(dyn EnvSource + Sync),
    cwd: Option<&str>,
) -> Result<ResolvedStdio, Vec<ConfigError>> {
    in_rounds(entry, env, cwd, |r, e| r.stdio(e)).await
}

/// Resolves a remote entry's `url`, `headers` and `env` the same way.
pub(crate) async fn resolve_remote(
    entry: &Server,
    env: &(dyn EnvSource + Sync),
    cwd: Option<&str>,
) -> Result<ResolvedRemote, Vec<ConfigError>> {
    in_rounds(entry, env, cwd, |r, e| r.remote(e)).await
}

/// Resolves in rounds: each round collects the commands it needs, runs them without blocking
/// the runtime, and resolves again with their output.
async fn in_rounds<T>(
    entry: &Server,
    env: &(dyn EnvSource + Sync),
    cwd: Option<&str>,
    resolve: impl Fn(&Resolver<'_>, &Server) -> Result<T, Vec<ConfigError>>,
) -> Result<T, Vec<ConfigError>> {
    let mut rounds = Rounds::default();
    loop {
        // The resolver borrows `rounds` (not `Sync`): keep it out of the awaits below.
        let result = {
            let mut resolver =
                Resolver::new(env).with_runner(&rounds).with_inherited(&DEFAULT_INHERITED_ENV);
            if let Some(cwd) = cwd {
                resolver = resolver.with_cwd(cwd);
            }
            resolve(&resolver, entry)
        };
        let wanted = rounds.wanted.take();
        if wanted.is_empty() || rounds.done.len() >= MAX_COMMANDS {
            return result;
        }
        let base = shell_env(env);
        for command in wanted {
            let out = hub_transport::run_shell(
                &command,
                &base,
                DEFAULT_SHELL_TIMEOUT,
                DEFAULT_SHELL_MAX_OUTPUT,
            )
            .await;
            rounds.done.insert(command, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use hub_config::{EnvMap, Source};

    use super::*;

    fn server(entry: &str) -> Server {
        let c = hub_config::load(&[Source {
            path: "c.json".into(),
            text: format!(r#"{{"mcpServers": {{"s": {entry}}}}}"#),
        }])
        .unwrap();
        c.servers.into_iter().next().unwrap()
    }

    fn env(pairs: &[(&str, &str)]) -> EnvMap {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[tokio::test]
    async fn commands_run_for_real_including_dependent_ones() {
        let hub = env(&[("PATH", "/usr/bin:/bin"), ("TOKEN", "t0k")]);
        let entry = server(
            r#"{"command": "x", "args": ["${cmd: echo ${TOKEN}}", "${cmd: echo ${cmd: echo inner}}", "${workspaceFolder}"], "env": {"S": "${cmd: printf 'a\nb'}", "T": "${cmd: echo \"${S}\" | wc -l}"}}"#,
        );
        let r = resolve_stdio(&entry, &hub, Some("/w")).await.unwrap();
        assert_eq!(r.args, ["t0k", "inner", "/w"]);
        assert!(r.env.contains(&("S".to_owned(), "a\nb".to_owned())));
        assert!(r.env.contains(&("T".to_owned(), "2".to_owned())), "{:?}", r.env.last());
    }

    #[tokio::test]
    async fn failures_name_the_command_and_status() {
        let hub = env(&[("PATH", "/usr/bin:/bin")]);
        let entry = server(r#"{"command": "x", "args": ["${cmd: echo no >&2; exit 4}"]}"#);
        let errs = resolve_stdio(&entry, &hub, None).await.unwrap_err();
        assert_eq!(
            errs[0].to_string(),
            "c.json: mcpServers.s.args[0]: command 'echo no >&2; exit 4' failed: exit status: 4; stderr: no"
        );
    }

    #[tokio::test]
    async fn commands_get_the_hubs_environment_like_mcp_hub() {
        // Secret helpers (`op`, `gh`, `aws`) need the hub's session variables, so a command sees
        // the whole environment, as under mcp-hub's child_process.exec; servers do not.
        let hub = env(&[("PATH", "/usr/bin:/bin"), ("AWS_PROFILE", "dev")]);
        let entry = server(r#"{"command": "x", "args": ["${cmd: echo \"[$AWS_PROFILE]\"}"]}"#);
        let r = resolve_stdio(&entry, &hub, None).await.unwrap();
        assert_eq!(r.args, ["[dev]"]);
        assert!(
            r.env.iter().all(|(k, _)| k != "AWS_PROFILE"),
            "the server itself gets the allowlist"
        );
    }
}
