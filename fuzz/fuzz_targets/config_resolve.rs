//! Config loading and placeholder resolution on arbitrary text.
//!
//! Checks: no panic (parsing, validation, the `hub` settings, locating problems by line and
//! column, diffing); every server entry comes out valid or with at least one problem naming it;
//! every position points inside the text; a config diffed against itself has no changes;
//! whatever resolves has no line break in its command, args or cwd, and no resolved value of a
//! `SECRET` variable appears in any error message.

#![no_main]

use hub_config::{CommandRunner, EnvMap, Resolver, ServerKind, Source, load};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "zz-secret-value-zz";

/// Answers every command with a fixed text (the fuzzer must not run a shell).
struct Echo;

impl CommandRunner for Echo {
    fn run(&self, command: &str) -> Result<String, String> {
        if command.contains("fail") { Err("exit status: 1".to_owned()) } else { Ok(format!("out:{}", command.len())) }
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(config) = load(&[Source { path: "fuzz.json5".to_owned(), text: text.to_owned() }]) else { return };
    let lines = text.split('\n').count();
    for p in &config.problems {
        if let Some((line, column)) = p.position {
            assert!(line >= 1 && line <= lines && column >= 1, "position {line}:{column} outside the text: {p}");
        }
    }
    assert!(hub_config::diff(&config, &config).is_empty(), "a config differs from itself");
    let env: EnvMap = [
        ("HOME", "/home/u"),
        ("PATH", "/bin"),
        ("SECRET", SECRET),
        ("MCP_HUB_ENV", r#"{"input:k": "v"}"#),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let resolver = Resolver::new(&env).with_runner(&Echo).with_cwd("/work").with_inherited(&["HOME", "PATH"]);
    for server in &config.servers {
        if matches!(server.kind, ServerKind::Invalid(_)) {
            assert!(
                config.problems.iter().any(|p| p.path.starts_with(&format!("mcpServers.{}", server.name))),
                "invalid entry {:?} has no problem naming it",
                server.name
            );
            continue;
        }
        let errors = match &server.kind {
            ServerKind::Stdio { .. } => match resolver.stdio(server) {
                Ok(r) => {
                    let fields = std::iter::once(&r.command).chain(&r.args).chain(r.cwd.as_ref());
                    for f in fields {
                        assert!(!f.contains(['\n', '\r']), "a line break got through: {f:?}");
                    }
                    Vec::new()
                }
                Err(errors) => errors,
            },
            ServerKind::Remote { .. } => resolver.remote(server).err().unwrap_or_default(),
            _ => Vec::new(),
        };
        for e in errors {
            assert!(!e.to_string().contains(SECRET), "a secret value leaked into an error: {e}");
        }
    }
});
