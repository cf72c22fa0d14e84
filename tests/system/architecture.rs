//! The layers of the source tree (DESIGN.md, "Layers"): every top-level module imports only
//! modules below it, so there is no import cycle between them. Read from the `crate::` paths of
//! each file's code (its tests left out: a test may build what it needs from any layer).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use crate::common::repository_path;

/// Items of the crate's root (src/lib.rs) that any module may use.
const ROOT_ITEMS: &[&str] = &["init_logging"];

/// The top-level modules, lowest first; a module may use only modules of a lower rank.
const LAYERS: &[(&str, u32)] = &[
    ("core", 0),
    ("scratch", 0),
    ("digest", 1),
    ("journal", 1),
    ("limits", 1),
    ("time", 1),
    ("input", 2),
    ("hw", 3),
    ("sim", 4),
    ("engine", 5),
    ("store", 6),
    ("report", 7),
    ("service", 8),
    ("ui", 9),
    ("cli", 10),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The code of a file without its test module.
fn code(text: &str) -> &str {
    text.find("#[cfg(test)]\nmod tests")
        .map_or(text, |i| &text[..i])
}

/// The top-level modules a piece of code names: `crate::x…` and `use crate::{x…, y…}`.
fn uses(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = code;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find("};").unwrap_or(group.len());
            // Top-level names of the group: after `{` or a comma at depth 0.
            let mut depth = 0;
            let mut start = 0;
            let body = &group[..end];
            for (j, c) in body.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        out.extend(first_ident(&body[start..j]));
                        start = j + 1;
                    }
                    _ => {}
                }
            }
            out.extend(first_ident(&body[start..]));
        } else {
            out.extend(first_ident(rest));
        }
    }
    out
}

fn first_ident(s: &str) -> Option<String> {
    let s = s.trim_start();
    let end = s
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(s.len());
    (end > 0).then(|| s[..end].to_owned())
}

/// (module, file) → the top-level modules it uses.
fn edges() -> BTreeMap<String, BTreeMap<String, BTreeSet<String>>> {
    let src = repository_path("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut out: BTreeMap<String, BTreeMap<String, BTreeSet<String>>> = BTreeMap::new();
    for f in files {
        let rel = f.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" || module == "bin" {
            continue;
        }
        let text = std::fs::read_to_string(&f).unwrap();
        let used: BTreeSet<String> = uses(code(&text))
            .into_iter()
            .filter(|m| *m != module)
            .collect();
        out.entry(module)
            .or_default()
            .insert(rel.display().to_string(), used);
    }
    out
}

#[test]
fn every_module_imports_only_the_layers_below_it() {
    let rank: BTreeMap<&str, u32> = LAYERS.iter().copied().collect();
    let mut problems = Vec::new();
    for (module, files) in edges() {
        let Some(&mine) = rank.get(module.as_str()) else {
            problems.push(format!("src/{module}: not in LAYERS; give it its place"));
            continue;
        };
        for (file, used) in files {
            for u in used {
                match rank.get(u.as_str()) {
                    Some(&theirs) if theirs < mine => {}
                    Some(&theirs) => problems.push(format!(
                        "src/{file} ({module}, layer {mine}) uses {u} (layer {theirs})"
                    )),
                    None if ROOT_ITEMS.contains(&u.as_str()) => {}
                    None => problems.push(format!("src/{file} uses crate::{u}, not a module")),
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn the_reader_finds_grouped_and_nested_uses() {
    let found = uses(
        "use crate::core::units::Amount;\nuse crate::{journal::Record, time::{rfc3339, Clock}};\nlet x = crate::digest::sha256_hex(b\"\");",
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["core", "digest", "journal", "time"]
    );
    assert_eq!(
        code("fn a() {}\n#[cfg(test)]\nmod tests { use crate::ui; }"),
        "fn a() {}\n"
    );
}

/// Every method of `org.titra.Pump1` that takes a session token checks that the token belongs
/// to the calling connection (`call_by`, `query_by` or `bound` in src/service/dbus/iface.rs): a
/// token learnt by another process on the bus must not act (issue 18). Read from the source, as
/// the check is a property of each method's body.
#[test]
fn every_method_with_a_token_checks_its_connection() {
    let text = std::fs::read_to_string(repository_path("src/service/dbus/iface.rs")).unwrap();
    let mut unchecked = Vec::new();
    let mut methods = 0;
    for chunk in text.split("    async fn ").skip(1) {
        let name = chunk.split('(').next().unwrap_or_default();
        let Some((signature, body)) = chunk.split_once(" {\n") else {
            continue;
        };
        if !signature.contains("token: &str") {
            continue;
        }
        methods += 1;
        let body = body.split("\n    }\n").next().unwrap_or_default();
        if ![".call_by(", ".query_by(", ".bound("]
            .iter()
            .any(|c| body.contains(c))
        {
            unchecked.push(name.to_owned());
        }
    }
    assert!(methods >= 30, "found only {methods} methods with a token");
    assert!(
        unchecked.is_empty(),
        "these methods take a token without checking its connection: {unchecked:?}"
    );
}
