//! Every dependency's licence, source and version requirement against `deny.toml`, as
//! `cargo deny check licenses bans sources` reads it, without building cargo-deny (three minutes
//! of CI on a fresh machine): the dependency graph from `cargo metadata` for both targets the
//! pump is built for, each licence expression evaluated by the `spdx` crate (cargo-deny's own).
//! `cargo deny` itself still reads the same file (README "Tests").

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

fn deny_toml() -> toml::Table {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deny.toml");
    toml::from_str(&std::fs::read_to_string(path).expect("deny.toml")).expect("deny.toml parses")
}

fn strings(table: &toml::Table, section: &str, key: &str) -> Vec<String> {
    table[section][key]
        .as_array()
        .unwrap_or_else(|| panic!("deny.toml: [{section}] {key} is a list"))
        .iter()
        .map(|v| v.as_str().expect("a string").to_owned())
        .collect()
}

/// The packages of the graph for `target`, all features on (as deny.toml's `[graph]`).
fn packages(target: &str) -> Vec<serde_json::Value> {
    let out = Command::new(env!("CARGO"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--all-features",
            "--filter-platform",
            target,
        ])
        .output()
        .expect("cargo metadata runs");
    assert!(
        out.status.success(),
        "cargo metadata: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).expect("its JSON");
    meta["packages"].as_array().expect("packages").clone()
}

#[test]
fn every_dependency_comes_from_crates_io_under_a_licence_deny_toml_allows() {
    let deny = deny_toml();
    let allowed: BTreeSet<String> = strings(&deny, "licenses", "allow").into_iter().collect();
    let registries: Vec<String> = strings(&deny, "sources", "allow-registry")
        .into_iter()
        .map(|r| format!("registry+{r}"))
        .collect();
    let targets = strings(&deny, "graph", "targets");
    assert!(!targets.is_empty(), "deny.toml: [graph] targets");
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for target in &targets {
        for p in packages(target) {
            let name = p["name"].as_str().unwrap_or("?");
            let version = p["version"].as_str().unwrap_or("?");
            if !seen.insert(format!("{name} {version}")) {
                continue;
            }
            let source = p["source"].as_str();
            // A path package is this workspace's own (its licence is checked all the same).
            if let Some(source) = source
                && !registries.iter().any(|r| r == source)
            {
                problems.push(format!(
                    "{name} {version}: from {source}, not an allowed registry"
                ));
            }
            let Some(licence) = p["license"].as_str() else {
                problems.push(format!("{name} {version}: no licence expression"));
                continue;
            };
            match spdx::Expression::parse_mode(licence, spdx::ParseMode::LAX) {
                Ok(expr) => {
                    if !expr.evaluate(|req| allowed.contains(&req.to_string())) {
                        problems.push(format!("{name} {version}: \"{licence}\" is not allowed"));
                    }
                }
                Err(e) => problems.push(format!("{name} {version}: \"{licence}\": {e}")),
            }
            // [bans] wildcards = "deny": no registry dependency asked for as "*".
            for dep in p["dependencies"].as_array().into_iter().flatten() {
                if dep["req"].as_str() == Some("*") && dep["source"].as_str().is_some() {
                    problems.push(format!(
                        "{name} {version}: depends on {} at any version (\"*\")",
                        dep["name"].as_str().unwrap_or("?")
                    ));
                }
            }
        }
    }
    assert!(
        seen.len() > 100,
        "the graph holds the whole build ({} packages)",
        seen.len()
    );
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_licence_deny_toml_does_not_allow_is_refused() {
    // The check above can fail: a copyleft licence outside the list is refused, a choice with
    // one allowed side is not, and an exception counts only as written in the list.
    let deny = deny_toml();
    let allowed: BTreeSet<String> = strings(&deny, "licenses", "allow").into_iter().collect();
    let ok = |licence: &str| {
        spdx::Expression::parse_mode(licence, spdx::ParseMode::LAX)
            .expect("parses")
            .evaluate(|req| allowed.contains(&req.to_string()))
    };
    assert!(!ok("AGPL-3.0-only"));
    assert!(!ok("MPL-2.0"));
    assert!(ok("MIT OR AGPL-3.0-only"));
    assert!(!ok("MIT AND AGPL-3.0-only"));
    assert!(ok("Apache-2.0 WITH LLVM-exception"));
    assert!(!ok("GPL-2.0-only WITH Classpath-exception-2.0"));
    assert!(ok("MIT/Apache-2.0"));
}
