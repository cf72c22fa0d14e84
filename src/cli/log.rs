//! `titra verify-log`: the trial log's hash chain checked.

use std::path::PathBuf;
use std::process::ExitCode;

pub(crate) fn run_verify(db: Option<PathBuf>) -> ExitCode {
    let path = db.unwrap_or_else(crate::store::default_path);
    if !path.exists() {
        eprintln!("There is no trial log at {}.", path.display());
        return ExitCode::from(2);
    }
    let log = match crate::store::TrialLog::open(&path) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("Cannot verify: {e}");
            return ExitCode::from(2);
        }
    };
    match log.verify() {
        Ok(v) if v.is_intact() => {
            println!(
                "{}: {} records, the hash chain is intact.",
                path.display(),
                v.rows
            );
            ExitCode::SUCCESS
        }
        Ok(v) => {
            println!(
                "{}: {} records, THE LOG WAS TAMPERED WITH OR DAMAGED:",
                path.display(),
                v.rows
            );
            for p in &v.problems {
                println!("  - {p}");
            }
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("Cannot verify {}: {e}", path.display());
            ExitCode::from(1)
        }
    }
}
