//! Reads the translations (lang/<language>/LC_MESSAGES/titra.po, gettext's format, shared with
//! the screens' bundled translations) into a sorted table compiled into the crate, so that a
//! pump never depends on a catalogue file at run time and a malformed catalogue fails the build.

use std::fmt::Write as _;
use std::path::Path;

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../lang");
    let mut out = String::new();
    for (language, name) in [("de", "GERMAN")] {
        let po = root.join(language).join("LC_MESSAGES/titra.po");
        println!("cargo:rerun-if-changed={}", po.display());
        let file = match rspolib::pofile(po.as_path()) {
            Ok(f) => f,
            Err(e) => {
                println!("cargo:warning=cannot read {}: {e}", po.display());
                std::process::exit(1);
            }
        };
        let mut pairs: Vec<(String, String)> = file
            .entries
            .iter()
            .filter(|e| !e.obsolete && !e.fuzzy() && e.msgctxt.is_none() && !e.msgid.is_empty())
            .filter_map(|e| {
                let text = e.msgstr.as_deref().filter(|s| !s.is_empty())?;
                Some((e.msgid.clone(), text.to_owned()))
            })
            .collect();
        pairs.sort();
        for pair in pairs.windows(2) {
            if pair[0].0 == pair[1].0 {
                println!(
                    "cargo:warning={}: \"{}\" is translated twice",
                    po.display(),
                    pair[0].0
                );
                std::process::exit(1);
            }
        }
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
