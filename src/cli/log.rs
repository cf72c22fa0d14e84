//! `titra verify-log`: the trial log's hash chain checked.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::store::TrialLog;

pub(crate) fn run_verify(db: Option<PathBuf>) -> ExitCode {
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
    let intact = v.is_intact();
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
    if intact {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    }
}
