//! `titra verify-log`: the trial log's hash chain checked, and with `--manifest` compared with
//! the chain head an export recorded.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use crate::report::export::LogSeal;
use crate::store::TrialLog;

pub(crate) fn run_verify(db: Option<PathBuf>, manifest: Option<PathBuf>) -> ExitCode {
    let path = db.unwrap_or_else(crate::store::default_path);
    if !path.exists() {
        eprintln!("There is no trial log at {}.", path.display());
        return ExitCode::from(2);
    }
    let log = match TrialLog::open(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("Cannot verify: {e}");
            return ExitCode::from(2);
        }
    };
    let v = match log.verify() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("Cannot verify {}: {e}", path.display());
            return ExitCode::from(1);
        }
    };
    let mut intact = v.is_intact();
    if intact {
        println!(
            "{}: {} rows, the hash chain is intact.",
            path.display(),
            v.rows
        );
    } else {
        println!(
            "{}: {} rows, THE LOG WAS TAMPERED WITH OR DAMAGED:",
            path.display(),
            v.rows
        );
        for p in &v.problems {
            println!("  - {p}");
        }
    }
    println!("Chain head: row {} sha256 {}", v.head.0, v.head.1);
    if !v.sealed_at_upgrade.is_empty() {
        let ids: Vec<String> = v.sealed_at_upgrade.iter().map(i64::to_string).collect();
        let (trials, them) = if ids.len() == 1 {
            ("Trial", "it")
        } else {
            ("Trials", "them")
        };
        println!(
            "{trials} {} joined the chain when this log was upgraded: a change to {them} before then would not show.",
            ids.join(", ")
        );
    }
    if let Some(manifest) = manifest {
        match compare(&log, &manifest) {
            Ok(line) => println!("{line}"),
            Err(line) => {
                println!("{line}");
                intact = false;
            }
        }
    }
    if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}

/// The manifest's chain head against the log: a sentence saying it matches (Ok) or how not.
fn compare(log: &TrialLog, manifest: &Path) -> Result<String, String> {
    let shown = manifest.display();
    let text = std::fs::read_to_string(manifest)
        .map_err(|e| format!("The manifest {shown} cannot be read: {e}"))?;
    let (seq, hash) = LogSeal::head_in_manifest(&text).ok_or_else(|| {
        format!("The manifest {shown} records no chain head (an export by an older Titra)")
    })?;
    match log.hash_of_row(seq) {
        Ok(Some(now)) if now == hash => Ok(format!(
            "The export's chain head (row {seq}) is in the log with the same hash: the log up to it is the one exported."
        )),
        Ok(Some(now)) => Err(format!(
            "THE LOG WAS REWRITTEN AFTER THE EXPORT: row {seq} has the hash {now}, the export recorded {hash}."
        )),
        Ok(None) => Err(format!(
            "THE LOG WAS REWRITTEN AFTER THE EXPORT: row {seq}, the export's chain head, is not in the log."
        )),
        Err(e) => Err(format!("Cannot read row {seq}: {e}")),
    }
}
