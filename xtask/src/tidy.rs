//! The tidy gate: conventions no lint checks. Every module starts with a `//!` line saying what
//! it is for; no `dbg!`, `todo!`, `#[ignore]` or `#[should_panic]` in committed code.

use std::path::{Path, PathBuf};

use anyhow::bail;

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            if p.file_name().is_some_and(|n| n != "target") {
                rust_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let mut files = Vec::new();
    for dir in ["crates", "xtask/src", "tests"] {
        rust_files(&root.join(dir), &mut files);
    }
    let mut problems = Vec::new();
    for f in &files {
        let text = std::fs::read_to_string(f)?;
        let rel = f.strip_prefix(root).unwrap_or(f).display().to_string();
        let is_test_file =
            f.file_name().is_some_and(|n| n == "tests.rs") || rel.contains("/tests/it/");
        if !is_test_file && !text.trim_start().starts_with("//!") {
            problems.push(format!("{rel}: module does not start with a `//!` line"));
        }
        // This file names the banned strings itself.
        let scan = !rel.ends_with("xtask/src/tidy.rs");
        for (n, line) in text.lines().enumerate().filter(|_| scan) {
            let code = line.split("//").next().unwrap_or_default();
            for banned in ["dbg!(", "todo!(", "#[ignore", "#[should_panic"] {
                if code.contains(banned) {
                    problems.push(format!("{rel}:{}: `{banned}` is not allowed", n + 1));
                }
            }
        }
    }
    if problems.is_empty() {
        println!("tidy: {} Rust files checked", files.len());
        Ok(())
    } else {
        bail!("{} tidy problem(s):\n  {}", problems.len(), problems.join("\n  "))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_workspace_is_tidy() {
        super::check(&crate::root()).unwrap();
    }
}
