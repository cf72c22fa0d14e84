//! `titra hash-pin`: a PIN's hash for the users file.

use std::process::ExitCode;

pub(crate) fn run_hash_pin() -> ExitCode {
    let mut pin = String::new();
    if std::io::stdin().read_line(&mut pin).is_err() || pin.trim().is_empty() {
        eprintln!("Type the PIN on standard input.");
        return ExitCode::from(2);
    }
    match crate::service::auth::hash_pin(pin.trim()) {
        Ok(h) => {
            println!("{h}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
