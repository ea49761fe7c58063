//! Resolver tests. Every table goes through one funnel per shape ([`check`], [`check_env`],
//! [`check_remote`]): input text and environment in, the exact value or the exact error messages
//! (`<key path>: <message>`) out.

use std::cell::RefCell;

use serde_json::{Value, json};

use super::*;
use crate::{EnvMap, Source, load};

mod cmd;
mod env;
mod forms;
mod props;
mod remote;
mod stdio;

const INHERITED: [&str; 6] = ["HOME", "LOGNAME", "PATH", "SHELL", "TERM", "USER"];
const CWD: &str = "/work/proj";

/// What a case expects: the resolved value, or every error as `<key path>: <message>`.
type Expect = Result<&'static str, &'static [&'static str]>;

fn env(pairs: &[(&str, &str)]) -> EnvMap {
    pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

/// Loads one entry (a JSON value) as server `s` of `c.json`.
fn server(entry: &Value) -> crate::Server {
    let c = load(&[Source {
        path: "c.json".into(),
        text: json!({"mcpServers": {"s": entry}}).to_string(),
    }])
    .unwrap();
    assert!(c.problems.is_empty(), "{:?}", c.problems);
    c.servers.into_iter().next().unwrap()
}

/// A fake `${cmd:}` runner: `echo X` prints X, `fail` and `timeout` fail the way the real runner
/// reports; every call is recorded.
#[derive(Default)]
struct FakeRunner {
    calls: RefCell<Vec<String>>,
    counter: RefCell<u32>,
}

impl CommandRunner for FakeRunner {
    fn run(&self, command: &str) -> Result<String, String> {
        self.calls.borrow_mut().push(command.to_owned());
        if let Some(text) = command.strip_prefix("echo ") {
            return Ok(format!("  {text}\n"));
        }
        match command {
            "fail" => Err("exit status: 1; stderr: boom".to_owned()),
            "timeout" => Err("timed out after 30s; killed".to_owned()),
            "counter" => {
                *self.counter.borrow_mut() += 1;
                Ok(format!("v{}", self.counter.borrow()))
            }
            "pem" => Ok("-----BEGIN-----\nabc\n-----END-----\n".to_owned()),
            _ => Err(format!("exit status: 127; stderr: sh: {command}: not found")),
        }
    }
}

fn messages(errs: &[ConfigError]) -> Vec<String> {
    errs.iter().map(|e| format!("{}: {}", e.path, e.message)).collect()
}

/// Resolves a stdio entry with the fake runner and the hub's cwd.
fn stdio_with(
    entry: &Value,
    hub: &EnvMap,
    runner: &FakeRunner,
) -> Result<ResolvedStdio, Vec<ConfigError>> {
    Resolver::new(hub)
        .with_runner(runner)
        .with_cwd(CWD)
        .with_inherited(&INHERITED)
        .stdio(&server(entry))
}

/// The funnel for single values: `input` as the only argument of a stdio entry whose `env` block
/// is `block`, against the hub environment `hub`.
fn check_in(input: &str, block: &Value, hub: &[(&str, &str)], expected: Expect) {
    let entry = json!({"command": "x", "args": [input], "env": block});
    let got = stdio_with(&entry, &env(hub), &FakeRunner::default());
    match (got, expected) {
        (Ok(r), Ok(want)) => assert_eq!(r.args, [want], "input {input:?}"),
        (Err(errs), Err(want)) => assert_eq!(messages(&errs), want, "input {input:?}"),
        (Ok(r), Err(want)) => {
            panic!("input {input:?}: resolved to {:?}, expected errors {want:?}", r.args)
        }
        (Err(errs), Ok(want)) => {
            panic!("input {input:?}: errors {:?}, expected {want:?}", messages(&errs))
        }
    }
}

fn check(input: &str, hub: &[(&str, &str)], expected: Expect) {
    check_in(input, &json!({}), hub, expected);
}

/// The funnel for `env` blocks: the server's resolved variables (in block order), or the errors.
fn check_env(block: &Value, hub: &[(&str, &str)], expected: Result<&[(&str, &str)], &[&str]>) {
    let entry = json!({"command": "x", "env": block});
    let got = stdio_with(&entry, &env(hub), &FakeRunner::default());
    let keys: Vec<&String> = block.as_object().unwrap().keys().collect();
    match (got, expected) {
        (Ok(r), Ok(want)) => {
            let own: Vec<(&str, &str)> = r
                .env
                .iter()
                .filter(|(k, _)| keys.contains(&k))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            assert_eq!(own, want, "block {block}");
        }
        (Err(errs), Err(want)) => assert_eq!(messages(&errs), want, "block {block}"),
        (got, want) => {
            panic!("block {block}: got {:?}, expected {want:?}", got.map_err(|e| messages(&e)))
        }
    }
}

/// The funnel for remote entries: `(url, headers)` or the errors.
fn check_remote(
    entry: &Value,
    hub: &[(&str, &str)],
    expected: Result<(&str, &[(&str, &str)]), &[&str]>,
) {
    let hub = env(hub);
    let runner = FakeRunner::default();
    let got =
        resolve_remote(&server(entry), &Resolver::new(&hub).with_runner(&runner).with_cwd(CWD));
    match (got, expected) {
        (Ok(r), Ok((url, headers))) => {
            assert_eq!(r.url, url, "entry {entry}");
            let h: Vec<(&str, &str)> =
                r.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            assert_eq!(h, headers, "entry {entry}");
        }
        (Err(errs), Err(want)) => assert_eq!(messages(&errs), want, "entry {entry}"),
        (got, want) => {
            panic!("entry {entry}: got {:?}, expected {want:?}", got.map_err(|e| messages(&e)))
        }
    }
}
