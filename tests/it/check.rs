//! `mcp-hub check`: every bundled example validates; a broken file is reported in full.

use std::path::Path;

use crate::support::HUB;

fn check(files: &[&Path]) -> (i32, String) {
    let mut cmd = std::process::Command::new(HUB);
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
                let (code, out) = check(&[&p]);
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
