//! `titra export`: a trial's summary from the trial log into a directory.

use std::path::PathBuf;
use std::process::ExitCode;

use crate::input::check;

#[derive(clap::Args)]
pub struct ExportArgs {
    /// The trial log (default: the pump's).
    #[arg(long, value_name = "FILE")]
    db: Option<PathBuf>,
    /// The trial's number in the log (default: the newest).
    #[arg(long, value_name = "ID")]
    trial: Option<i64>,
    /// The directory to write into (created if needed).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Which files: any of pdf, json, csv, hl7 (the IHE PCD observations; needs the hardware
    /// profile's [integration]).
    #[arg(long, default_value = "pdf,json,csv")]
    format: String,
    /// Paper size of the PDF: a4 or letter.
    #[arg(long, default_value = "a4")]
    paper: String,
    /// The site protocol with the implant rule (default: the built-in example).
    #[arg(long, value_name = "FILE")]
    protocol: Option<PathBuf>,
    /// The drug library (default: the built-in example library).
    #[arg(long, value_name = "FILE")]
    library: Option<PathBuf>,
    /// The hardware profile (default: the built-in one).
    #[arg(long, value_name = "FILE")]
    hardware: Option<PathBuf>,
    /// Export although no clinician confirmed the implant's starting dose (marked DRAFT).
    #[arg(long)]
    draft: bool,
}

pub(crate) fn run_export(a: ExportArgs) -> ExitCode {
    use crate::report::export::{Format, LogExport, LogExportError, export_from_log};
    let input = || -> anyhow::Result<_> {
        let formats = Format::parse_list(&a.format)?;
        let paper: crate::report::export::Paper = a.paper.parse().map_err(anyhow::Error::msg)?;
        let protocol = match &a.protocol {
            Some(p) => crate::input::protocol::Protocol::from_file(p)?,
            None => crate::input::protocol::Protocol::built_in()?,
        };
        // The summary in the site's language.
        crate::core::lang::set(protocol.language);
        let (library, _) = check::load_library(a.library.as_deref())?;
        let hardware = crate::input::hardware::HardwareConfig::load(a.hardware.as_deref())?;
        // Known before the log is read: device messages need the pump's name for them.
        let wants = |f: Format| formats.contains(&f);
        if (wants(Format::Hl7) || wants(Format::Fhir)) && hardware.integration.is_none() {
            return Err(crate::report::export::ExportError::NoIntegration.into());
        }
        if wants(Format::Fhir)
            && hardware
                .integration
                .as_ref()
                .is_some_and(|i| i.patient_system.is_none())
        {
            return Err(crate::report::export::ExportError::NoPatientSystem.into());
        }
        Ok((formats, paper, protocol, library, hardware))
    };
    let (formats, paper, protocol, library, hardware) = match input() {
        Ok(v) => v,
        Err(e) => {
            eprintln!("titra export: {e}");
            return ExitCode::from(2);
        }
    };
    let db = a.db.unwrap_or_else(crate::store::default_path);
    let result = export_from_log(&LogExport {
        db: &db,
        trial: a.trial,
        out: &a.out,
        formats: &formats,
        paper,
        protocol: &protocol,
        library: &library,
        hardware: &hardware,
        draft: a.draft,
        by: "titra export (command line)",
        now_ms: crate::time::WallClock::unix_ms(&crate::time::SystemWallClock),
    });
    match result {
        Ok(paths) => {
            for p in paths {
                println!("{}", p.display());
            }
            ExitCode::SUCCESS
        }
        Err(
            e @ (LogExportError::NotConfirmed
            | LogExportError::ConfirmedDoseRefused(_)
            | LogExportError::Store(_)),
        ) => {
            eprintln!("titra export: {e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("titra export: {e}");
            ExitCode::from(1)
        }
    }
}
