//! `mcp-hub check`: every bundled example validates; a broken file is reported in full.

use std::path::Path;

use crate::support::HUB;

/// The variables the examples' READMEs tell the user to set.
const EXAMPLE_ENV: &[(&str, &str)] =
    &[("GITHUB_TOKEN", "x"), ("DOCS_TOKEN", "x"), ("MCP_HUB_ENV", r#"{"input:api-key": "x"}"#)];

fn check(files: &[&Path]) -> (i32, String) {
    check_with_env(files, &[])
}

fn check_with_env(files: &[&Path], env: &[(&str, &str)]) -> (i32, String) {
    let mut cmd = std::process::Command::new(HUB);
    cmd.envs(env.iter().copied());
    cmd.arg("check");
    for f in files {
        cmd.arg("--config").arg(f);
    }
    let out = cmd.output().unwrap();
    (out.status.code().unwrap(), String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn every_bundled_example_validates() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples");
    let mut seen = 0;
    for dir in std::fs::read_dir(&examples).unwrap().flatten() {
        for file in std::fs::read_dir(dir.path()).unwrap().flatten() {
            let p = file.path();
            if p.extension().is_some_and(|e| e == "json5" || e == "json") {
                let (code, out) = check_with_env(&[&p], EXAMPLE_ENV);
                assert_eq!(code, 0, "{} does not validate:\n{out}", p.display());
                seen += 1;
            }
        }
    }
    assert!(seen >= 1, "no example config found under {}", examples.display());
}

#[test]
fn every_problem_of_a_broken_config_is_reported_and_the_exit_code_says_so() {
    let dir = std::env::temp_dir().join(format!("hub-it-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bad = dir.join("bad.json5");
    std::fs::write(
        &bad,
        "{mcpServers: {a: {command: 1}, b: {url: 'u', command: 'c'}, good: {command: 'x'}}}",
    )
    .unwrap();
    let (code, out) = check(&[&bad, &dir.join("missing.json")]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("mcpServers.a.command: must be a string, found a number"), "{out}");
    assert!(out.contains("mcpServers.b: cannot mix"), "{out}");
    assert!(out.contains("✓ good"), "{out}");
    assert!(out.contains("missing.json does not exist"), "{out}");

    let syntax = dir.join("syntax.json");
    std::fs::write(&syntax, "{\n  \"mcpServers\": {\n    \"a\": {\"command\": \"x\",}\n  \n")
        .unwrap();
    let (code, out) = check(&[&syntax]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("syntax.json:"), "file and position are named: {out}");
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn resolve_runs_commands_and_redacts_while_plain_check_runs_none() {
    let dir = std::env::temp_dir().join(format!("hub-it-resolve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let marker = dir.join("ran");
    let secret = dir.join("secret");
    std::fs::write(&secret, "s3cr3t-value\n").unwrap();
    let other = dir.join("other");
    std::fs::write(&other, "another-s3cr3t").unwrap();
    let cfg = dir.join("hub.json5");
    std::fs::write(
        &cfg,
        format!(
            r#"{{mcpServers: {{s: {{command: "srv", args: ["--token=${{cmd: touch {m} && cat {s}}}", "plain"],
                env: {{KEY: "${{cmd: cat {o}}}", BASE: "x", DERIVED: "${{BASE}}-y"}}}}}}}}"#,
            m = marker.display(),
            s = secret.display(),
            o = other.display()
        ),
    )
    .unwrap();
    let (code, out) = check(&[&cfg]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("was not run (validation only)"), "{out}");
    assert!(!marker.exists(), "validation must not run ${{cmd:}} commands");

    let out = std::process::Command::new(HUB)
        .args(["check", "--resolve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(marker.exists(), "--resolve runs the commands");
    assert!(!text.contains("s3cr3t"), "secrets are redacted: {text}");
    assert!(text.contains("(resolved, 20 chars)"), "{text}");
    assert!(text.contains("env KEY: (set, 14 chars)"), "{text}");
    assert!(text.contains("arg: plain"), "{text}");
    assert!(text.contains("env DERIVED: (set, 3 chars)"), "sibling env references resolve: {text}");
    std::fs::remove_dir_all(&dir).unwrap();
}
