//! The second language (issue 22): every text marked for translation — `tr!("…")` in the Rust
//! code, `@tr("…")` in the screens — against the German catalogue
//! (lang/de/LC_MESSAGES/titra.po). A text with no German is shown in English; this test lists
//! every such text with where it is written, and fails until each has its translation. It also
//! checks that a translation keeps its placeholders, that the catalogue holds nothing the code no
//! longer says, and that the screens write no text outside `@tr`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use titra::core::lang::{Language, placeholders};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn files(dir: &Path, ext: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, ext, out);
        } else if p.extension().is_some_and(|x| x == ext) {
            out.push(p);
        }
    }
}

/// The string literal at the start of `s` (after blanks), unescaped, and its length in bytes;
/// `rust` for Rust's escapes (a `\` at the end of a line skips the next line's indent), else
/// slint's.
fn literal(s: &str, rust: bool) -> Option<(String, usize)> {
    let start = s.len() - s.trim_start().len();
    let body = s[start..].strip_prefix('"')?;
    let mut out = String::new();
    let mut chars = body.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return Some((out, start + 1 + i + 1)),
            '\\' => match chars.next()?.1 {
                'n' => out.push('\n'),
                't' => out.push('\t'),
                '\n' if rust => {
                    let rest = chars.as_str();
                    let skip = rest.len() - rest.trim_start().len();
                    for _ in 0..rest[..skip].chars().count() {
                        chars.next();
                    }
                }
                'u' => {
                    let rest = chars.as_str();
                    let close = rest.find('}')?;
                    let code = u32::from_str_radix(&rest[1..close], 16).ok()?;
                    out.push(char::from_u32(code)?);
                    for _ in 0..=close {
                        chars.next();
                    }
                }
                other => out.push(other),
            },
            c => out.push(c),
        }
    }
    None
}

fn line_at(text: &str, at: usize) -> usize {
    text[..at].matches('\n').count() + 1
}

/// Every marked text, with the places it is written ("src/x.rs:12").
fn marked() -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut sources = Vec::new();
    files(&root().join("src"), "rs", &mut sources);
    files(&root().join("crates/titra-core/src"), "rs", &mut sources);
    // The mechanism itself, whose tests use texts made up to have no translation.
    sources.retain(|p| !p.ends_with("crates/titra-core/src/lang.rs"));
    files(&root().join("examples"), "rs", &mut sources);
    let mut screens = Vec::new();
    files(&root().join("ui"), "slint", &mut screens);
    for (paths, marker, rust) in [(&sources, "tr!(", true), (&screens, "@tr(", false)] {
        for path in paths {
            let text = std::fs::read_to_string(path).unwrap_or_default();
            let name = path
                .strip_prefix(root())
                .unwrap_or(path)
                .display()
                .to_string();
            for (at, _) in text.match_indices(marker) {
                // `tr!(`, not the end of another macro's name (`include_str!(`).
                if text[..at]
                    .chars()
                    .next_back()
                    .is_some_and(|c| c.is_alphanumeric() || c == '_')
                {
                    continue;
                }
                // Not the macro's own definition and examples in comments.
                let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
                if text[line_start..at].trim_start().starts_with("//") {
                    continue;
                }
                let Some((id, _)) = literal(&text[at + marker.len()..], rust) else {
                    continue;
                };
                found
                    .entry(id)
                    .or_default()
                    .push(format!("{name}:{}", line_at(&text, at)));
            }
        }
    }
    found
}

#[test]
fn every_marked_text_has_its_german() {
    let marked = marked();
    assert!(
        marked.len() > 20,
        "the scan found only {} marked texts: it no longer reads the sources",
        marked.len()
    );
    let missing: Vec<String> = marked
        .iter()
        .filter(|(id, _)| Language::German.lookup(id).is_none())
        .map(|(id, at)| format!("{id:?} ({})", at.join(", ")))
        .collect();
    assert!(
        missing.is_empty(),
        "{} texts have no German translation and are shown in English \
         (add them to lang/de/LC_MESSAGES/titra.po):\n{}",
        missing.len(),
        missing.join("\n")
    );
}

#[test]
fn a_translation_keeps_the_placeholders_of_its_text() {
    let wrong: Vec<String> = Language::German
        .catalogue()
        .iter()
        .filter(|(id, text)| {
            let (mut a, mut b) = (placeholders(id), placeholders(text));
            // slint's `{}` are filled in order, named ones by name.
            if !a.contains(&"") {
                a.sort_unstable();
                b.sort_unstable();
            }
            a != b
        })
        .map(|(id, text)| format!("{id:?} → {text:?}"))
        .collect();
    assert!(
        wrong.is_empty(),
        "translations whose placeholders differ from their text's:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_catalogue_holds_only_texts_the_code_says() {
    let marked = marked();
    let stale: Vec<&str> = Language::German
        .catalogue()
        .iter()
        .map(|(id, _)| *id)
        .filter(|id| !marked.contains_key(*id))
        .collect();
    assert!(
        stale.is_empty(),
        "the German catalogue translates texts nothing marks (remove them):\n{}",
        stale.join("\n")
    );
}

/// A quoted string in a screen that people read must be `@tr(…)`: what is left are names the
/// code compares (screens' names, keys), paths, fonts and drawings.
#[test]
fn the_screens_write_no_text_outside_tr() {
    let mut screens = Vec::new();
    files(&root().join("ui"), "slint", &mut screens);
    let reads = [
        "text:",
        "label:",
        "title:",
        "accessible-label:",
        "accessible-description:",
        "placeholder-text:",
        "name:",
        "hint:",
        "unit:",
        "note:",
    ];
    let mut bare = BTreeSet::new();
    for path in &screens {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let name = path
            .strip_prefix(root())
            .unwrap_or(path)
            .display()
            .to_string();
        for (n, line) in text.lines().enumerate() {
            // A line may say why its text is not for people: `// not translated: …`.
            if line.contains("// not translated:") {
                continue;
            }
            let code = line.split("//").next().unwrap_or("");
            for key in reads {
                let Some(at) = code.find(key) else { continue };
                let after = &code[at + key.len()..];
                // A quoted text right after the property, or in its ?: branches.
                let mut rest = after;
                while let Some(q) = rest.find('"') {
                    let before = &rest[..q];
                    let Some((s, len)) = literal(&rest[q..], false) else {
                        break;
                    };
                    let before = before.trim_end();
                    let in_tr = before.ends_with("@tr(");
                    // A key the code compares or passes on ("back", "side-effect").
                    let key = before.ends_with("==")
                        || before.ends_with("!=")
                        || s.chars().all(|c| c.is_ascii_lowercase() || c == '-');
                    if !in_tr && !key && s.chars().any(char::is_alphabetic) {
                        bare.insert(format!("{name}:{}: {s:?}", n + 1));
                    }
                    rest = &rest[q + len..];
                }
            }
        }
    }
    assert!(
        bare.is_empty(),
        "texts on the screens not marked for translation (write them @tr(\"…\")):\n{}",
        bare.into_iter().collect::<Vec<_>>().join("\n")
    );
}

#[test]
fn the_scan_reads_literals_as_the_compilers_do() {
    assert_eq!(
        literal(r#" "a \"b\" \\ \u{2014}" rest"#, true),
        Some(("a \"b\" \\ \u{2014}".to_owned(), 22))
    );
    assert_eq!(
        literal("\"one \\\n        two\"", true).map(|l| l.0),
        Some("one two".to_owned())
    );
    assert_eq!(literal("x\"", true), None);
}
