//! Every example config under `examples/` loads without a single problem, so the files the
//! README points people to stay valid as the config language evolves.

use std::path::{Path, PathBuf};

/// JSON files under `examples/` that are not hub configs.
const NOT_CONFIGS: [&str; 3] = ["package.json", "package-lock.json", "tsconfig.json"];

fn configs(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        if path.is_dir() {
            if name != "node_modules" {
                configs(&path, out);
            }
        } else if (name.ends_with(".json") || name.ends_with(".json5"))
            && !NOT_CONFIGS.contains(&name)
        {
            out.push(path);
        }
    }
}

#[test]
fn every_example_config_loads_without_problems() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files = Vec::new();
    configs(&root.join("examples"), &mut files);
    assert!(!files.is_empty(), "no example configs found under examples/");
    for path in files {
        let rel = path.strip_prefix(&root).unwrap_or(&path).display().to_string();
        let text = std::fs::read_to_string(&path).expect("readable");
        let config = hub_config::load(&[hub_config::Source { path: rel.clone(), text }])
            .unwrap_or_else(|e| panic!("{rel} does not load: {e:?}"));
        let problems: Vec<String> = config.problems.iter().map(ToString::to_string).collect();
        assert!(problems.is_empty(), "{rel}:\n  {}", problems.join("\n  "));
        assert!(!config.servers.is_empty(), "{rel} has no servers");
    }
}
