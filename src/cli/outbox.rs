//! `titra outbox`: what the pump still owes the hospital's systems, endpoint by endpoint, and
//! (`--forget NAME`) dropping what is owed to an endpoint the site renamed or removed.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::store::outbox::{OutboxReader, Owed};

/// The arguments of `titra outbox`.
#[derive(Debug, clap::Args)]
pub struct OutboxArgs {
    /// The trial log (default: the pump's, /var/lib/titra/titra.db).
    #[arg(long, value_name = "FILE")]
    pub db: Option<PathBuf>,
    /// The hardware profile whose [integration] names the endpoints (default: the built-in one,
    /// which names none).
    #[arg(long, value_name = "FILE")]
    pub hardware: Option<PathBuf>,
    /// Drop everything owed to this endpoint: only one the hardware profile (given with
    /// --hardware: the one the pump's services read) no longer names (the trial log's records
    /// stay; `titra export --format hl7|fhir` makes the messages again). Restart titra-pumpd and
    /// titra-outbound after changing the profile first.
    #[arg(long, value_name = "NAME", requires = "hardware")]
    pub forget: Option<String>,
}

pub(crate) fn run_outbox(a: &OutboxArgs) -> ExitCode {
    let cfg = match crate::input::hardware::HardwareConfig::load(a.hardware.as_deref()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("titra outbox: {e}");
            return ExitCode::from(2);
        }
    };
    let named: Vec<String> = cfg
        .integration
        .as_ref()
        .map(|i| {
            i.mllp
                .iter()
                .map(|e| e.name.clone())
                .chain(i.fhir.iter().map(|e| e.name.clone()))
                .collect()
        })
        .unwrap_or_default();
    let path = a.db.clone().unwrap_or_else(crate::store::default_path);
    if !path.exists() {
        eprintln!("titra outbox: there is no trial log at {}", path.display());
        return ExitCode::from(2);
    }
    // Opened as the pump opens it first: a file that is not a trial log is refused, never
    // written, and an older log is brought to the schema whose indexes the drop uses.
    if let Err(e) = crate::store::TrialLog::open(&path) {
        eprintln!("titra outbox: {e}");
        return ExitCode::from(2);
    }
    let mut reader = match OutboxReader::open(&path) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("titra outbox: {e}");
            return ExitCode::from(1);
        }
    };
    if let Some(name) = &a.forget {
        if named.contains(name) {
            eprintln!(
                "titra outbox: --forget {name}: the hardware profile still names \"{name}\", whose sender takes what it is owed; remove it from [integration] first"
            );
            return ExitCode::from(2);
        }
        return match reader.forget(name) {
            Ok(0) => {
                println!("Nothing was owed to \"{name}\".");
                ExitCode::SUCCESS
            }
            Ok(n) => {
                tracing::warn!(endpoint = %name, messages = n, "messages owed to an endpoint the site no longer names were dropped");
                println!(
                    "Dropped {n} messages owed to \"{name}\" (the trial log's records are kept: titra export --format hl7|fhir makes them again)."
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("titra outbox: {e}");
                ExitCode::from(1)
            }
        };
    }
    match reader.owed() {
        Ok(owed) => {
            for line in lines(&owed, &named, a.hardware.is_some()) {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("titra outbox: {e}");
            ExitCode::from(1)
        }
    }
}

/// A line for each endpoint the profile names (those owed nothing too), then each endpoint the
/// outbox owes that the profile no longer names.
fn lines(owed: &[Owed], named: &[String], profile_given: bool) -> Vec<String> {
    let said = |o: &Owed| {
        let tries = match (o.attempts, &o.last_error) {
            (0, _) => "not sent yet".to_owned(),
            (n, Some(why)) => format!("sent {n} times; the last try: {why}"),
            (n, None) => format!("sent {n} times"),
        };
        format!(
            "{} messages waiting; the oldest, number {} ({}), {tries}",
            o.messages, o.oldest_id, o.oldest_kind
        )
    };
    let mut out: Vec<String> = named
        .iter()
        .map(|name| match owed.iter().find(|o| &o.endpoint == name) {
            Some(o) => format!("{name}: {}", said(o)),
            None => format!("{name}: nothing waiting"),
        })
        .collect();
    for o in owed.iter().filter(|o| !named.contains(&o.endpoint)) {
        if profile_given {
            out.push(format!(
                "{} (not named by the hardware profile: no sender takes these; titra outbox --hardware FILE --forget {} drops them): {}",
                o.endpoint,
                o.endpoint,
                said(o)
            ));
        } else {
            out.push(format!("{}: {}", o.endpoint, said(o)));
        }
    }
    if out.is_empty() {
        out.push("Nothing is owed.".to_owned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_endpoint_is_said_with_its_oldest_message_and_why_it_failed() {
        let owed = [
            Owed {
                endpoint: "engine".to_owned(),
                messages: 312,
                oldest_id: 1024,
                oldest_kind: "pcd-01".to_owned(),
                attempts: 14,
                last_error: Some("the engine answered AE: unknown patient".to_owned()),
            },
            Owed {
                endpoint: "old".to_owned(),
                messages: 3,
                oldest_id: 7,
                oldest_kind: "pcd-04".to_owned(),
                attempts: 0,
                last_error: None,
            },
        ];
        let named = ["engine".to_owned(), "records".to_owned()];
        assert_eq!(
            lines(&owed, &named, true),
            [
                "engine: 312 messages waiting; the oldest, number 1024 (pcd-01), sent 14 times; the last try: the engine answered AE: unknown patient",
                "records: nothing waiting",
                "old (not named by the hardware profile: no sender takes these; titra outbox --hardware FILE --forget old drops them): 3 messages waiting; the oldest, number 7 (pcd-04), not sent yet",
            ]
        );
        // Without the site's profile nothing is said to be unnamed.
        assert_eq!(
            lines(&owed[1..], &[], false),
            ["old: 3 messages waiting; the oldest, number 7 (pcd-04), not sent yet"]
        );
        assert_eq!(lines(&[], &[], false), ["Nothing is owed."]);
    }
}
