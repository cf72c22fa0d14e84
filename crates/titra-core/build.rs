//! Reads the translations (lang/<language>/LC_MESSAGES/titra.po, gettext's format, shared with
//! the screens' bundled translations) into a sorted table compiled into the crate, so that a
//! pump never depends on a catalogue file at run time and a malformed catalogue fails the build.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lang");
    let mut out = String::new();
    for (language, name) in [("de", "GERMAN")] {
        let mut files = vec![root.join(language).join("LC_MESSAGES/titra.po")];
        // Parts being written (merged into titra.po before they are committed).
        let parts = root.join(language).join("parts");
        println!("cargo:rerun-if-changed={}", parts.display());
        if let Ok(dir) = std::fs::read_dir(&parts) {
            let mut more: Vec<_> = dir.filter_map(|e| e.ok().map(|e| e.path())).collect();
            more.retain(|p| p.extension().is_some_and(|x| x == "po"));
            more.sort();
            files.extend(more);
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for po in &files {
            println!("cargo:rerun-if-changed={}", po.display());
            let file = match rspolib::pofile(po.as_path()) {
                Ok(f) => f,
                Err(e) => {
                    println!("cargo:warning=cannot read {}: {e}", po.display());
                    std::process::exit(1);
                }
            };
            pairs.extend(
                file.entries
                    .iter()
                    .filter(|e| {
                        !e.obsolete && !e.fuzzy() && e.msgctxt.is_none() && !e.msgid.is_empty()
                    })
                    .filter_map(|e| {
                        let text = e.msgstr.as_deref().filter(|s| !s.is_empty())?;
                        Some((e.msgid.clone(), text.to_owned()))
                    }),
            );
        }
        // The first translation of a text counts (titra.po's before the parts').
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        for pair in pairs.windows(2) {
            if pair[0].0 == pair[1].0 && pair[0].1 != pair[1].1 {
                println!(
                    "cargo:warning=\"{}\" is translated twice: \"{}\" (kept) and \"{}\"",
                    pair[0].0, pair[0].1, pair[1].1
                );
            }
        }
        pairs.dedup_by(|later, first| later.0 == first.0);
        let _ = writeln!(out, "pub(crate) static {name}: &[(&str, &str)] = &[");
        for (id, text) in &pairs {
            let _ = writeln!(out, "    ({id:?}, {text:?}),");
        }
        out.push_str("];\n");
    }
    let dest = Path::new(&std::env::var("OUT_DIR").unwrap_or_default()).join("catalogues.rs");
    if let Err(e) = std::fs::write(&dest, out) {
        println!("cargo:warning=cannot write {}: {e}", dest.display());
        std::process::exit(1);
    }
}
