//! The trial summary's export: PDF, JSON and CSV files named by patient and date, with a
//! manifest of their SHA-256 (in `sha256sum` format, so `sha256sum -c` checks a copy) that also
//! records the trial log's chain head and check (as comment lines, which `sha256sum` skips),
//! written to a directory or a USB stick. Exporting reads the log; the only thing it adds to it
//! is the record that the export happened.
//!
//! The pump's Export button writes each export into a folder of its own, created new
//! ([`folder_name`], written by [`super::fresh`]); `titra export --out DIR` writes into the
//! directory it is given ([`write_all`]).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::{csv, pdf};
use crate::core::tr;
use crate::core::units::{MassUnit, Timestamp};
use crate::journal::Record;
use crate::report::summary::Summary;
use crate::time::{parse_rfc3339, rfc3339};

pub use pdf::Paper;

/// The file formats of an export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Format {
    Pdf,
    Json,
    Csv,
    /// The pump's IHE PCD observations over the trial, HL7 v2.6 (`report::pcd`).
    Hl7,
    /// The trial summary as an HL7 FHIR R4 transaction Bundle (`report::fhir`).
    Fhir,
}

impl Format {
    /// Every format, in the order of an export's files.
    pub const ALL: [Format; 5] = [
        Format::Pdf,
        Format::Json,
        Format::Csv,
        Format::Hl7,
        Format::Fhir,
    ];

    /// The name `parse_list` reads ("pdf", "json", "csv", "hl7", "fhir").
    pub fn name(self) -> &'static str {
        match self {
            Format::Pdf => "pdf",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Hl7 => "hl7",
            Format::Fhir => "fhir",
        }
    }

    /// The formats the Export screen writes on a pump with `integration` (the hardware
    /// profile's `[integration]`): the PDF, JSON and CSV always, and the FHIR Bundle when the
    /// table names the hospital's patient identifier system (without it the Bundle could not say
    /// whose record the trial belongs to). The IHE PCD messages (`hl7`) are not among them: they
    /// reach the interface engines on their own, and an integration engineer asks for them by
    /// name (`titra export --format hl7`, or `Export` with "hl7").
    pub fn offered(integration: Option<&crate::input::hardware::IntegrationConfig>) -> Vec<Format> {
        let mut out = vec![Format::Pdf, Format::Json, Format::Csv];
        if integration.is_some_and(|i| i.patient_system.is_some()) {
            out.push(Format::Fhir);
        }
        out
    }

    /// "pdf,json,csv,hl7" (any order, each at most once).
    pub fn parse_list(text: &str) -> Result<Vec<Format>, ExportError> {
        let mut out = Vec::new();
        for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let asked = part.to_ascii_lowercase();
            let Some(f) = Format::ALL.into_iter().find(|f| f.name() == asked) else {
                return Err(ExportError::Input(format!(
                    "format: \"{part}\" is not one of pdf, json, csv, hl7, fhir"
                )));
            };
            if !out.contains(&f) {
                out.push(f);
            }
        }
        if out.is_empty() {
            return Err(ExportError::Input(
                "format: name at least one of pdf, json, csv, hl7, fhir".to_owned(),
            ));
        }
        out.sort();
        Ok(out)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{0}")]
    Input(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: String,
        source: std::io::Error,
    },
    #[error("the CSV could not be written: {0}")]
    Csv(String),
    #[error("the JSON could not be written: {0}")]
    Json(String),
    #[error(
        "formats hl7 and fhir: the hardware profile has no [integration] table (the pump's eui64 and facility, which name it in its messages)"
    )]
    NoIntegration,
    #[error("format hl7: {0}")]
    Hl7(String),
    #[error(
        "format fhir: the hardware profile's [integration] table has no patient_system (the URI of the hospital's patient identifiers, which says whose record the trial belongs to)"
    )]
    NoPatientSystem,
}

/// One file of an export.
#[derive(Debug, Clone)]
pub struct ExportFile {
    pub name: String,
    pub bytes: Vec<u8>,
    /// Lowercase hex.
    pub sha256: String,
}

impl ExportFile {
    fn new(name: String, bytes: Vec<u8>) -> ExportFile {
        let sha256 = crate::digest::sha256_hex(&bytes);
        ExportFile {
            name,
            bytes,
            sha256,
        }
    }
}

/// The trial log as an export found it: the last row of its chain (number and hash) and what
/// its check found (empty: intact). The manifest records both, so that a copy of the export
/// kept elsewhere shows a later rewrite of the log (docs/trial-log.md, "Comparing with an
/// export").
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSeal {
    pub head: (i64, String),
    pub problems: Vec<String>,
}

/// The manifest's line with the chain head, as `titra verify-log --manifest` reads it back.
pub const CHAIN_HEAD_LINE: &str = "# trial log chain head: row ";

impl LogSeal {
    /// The manifest's comment lines.
    fn manifest_lines(&self) -> String {
        let check = match self.problems.as_slice() {
            [] => "intact".to_owned(),
            [one] => format!("FAILED: {}", one.replace(['\n', '\r'], " ")),
            [first, rest @ ..] => format!(
                "FAILED: {} (and {} more problems)",
                first.replace(['\n', '\r'], " "),
                rest.len()
            ),
        };
        format!(
            "{CHAIN_HEAD_LINE}{} sha256 {}\n# trial log check: {check}\n",
            self.head.0, self.head.1
        )
    }

    /// The chain head a manifest recorded: (row, hash), if it holds one.
    pub fn head_in_manifest(manifest: &str) -> Option<(i64, String)> {
        manifest.lines().find_map(|line| {
            let rest = line.strip_prefix(CHAIN_HEAD_LINE)?;
            let (seq, hash) = rest.split_once(" sha256 ")?;
            Some((seq.trim().parse().ok()?, hash.trim().to_owned()))
        })
    }
}

/// What an export is made from.
pub struct Source<'a> {
    pub summary: &'a Summary,
    pub journal: &'a [Record],
    /// When delivery started, on the pump's clock.
    pub started: Timestamp,
    /// The wall-clock start (RFC 3339) if known.
    pub started_wall: Option<&'a str>,
    /// The unit the drug's doses are written in.
    pub unit: MassUnit,
    /// The trial log's chain head and check when the files were made (None: no log is kept,
    /// as in the desktop demo).
    pub log: Option<&'a LogSeal>,
    /// The program the trial ran (for the device messages' drug, concentration and rate).
    pub program: &'a crate::core::program::Program,
    /// How the pump names itself in its device messages (None: it sends none).
    pub integration: Option<&'a crate::input::hardware::IntegrationConfig>,
    /// When the export is made (ms since 1970, UTC; the FHIR Bundle's time).
    pub made_ms: u64,
}

/// "MRN-00042_2026-11-23": the patient (letters, digits, '-' and '_' kept, anything else as
/// '_') and the trial's first day.
pub(crate) fn base_name(s: &Summary) -> String {
    let patient: String = s
        .trial
        .patient
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .take(40)
        .collect();
    let date = s.trial.started_at.get(..10).unwrap_or("undated");
    format!("{patient}_{date}")
}

/// The folder one export is written to: the patient, the trial's first day, and when the export
/// was made ("MRN-00042_2026-11-23_export_20261130T140509Z", UTC; FAT allows no ':' in a
/// name). A new name for every export, so each goes to a folder of its own.
pub fn folder_name(s: &Summary, unix_ms: u64) -> String {
    format!(
        "{}_export_{}",
        base_name(s),
        rfc3339(unix_ms).replace(['-', ':'], "")
    )
}

/// The wall clock (ms since 1970, UTC) of a moment on the pump's clock: from the trial's start
/// by the wall clock, or on the virtual clock (2000-01-01 on) when it has none.
fn wall_ms(src: &Source<'_>, t: Timestamp) -> u64 {
    match src.started_wall.and_then(parse_rfc3339) {
        Some(w) => {
            let offset = i128::from(t.ms()) - i128::from(src.started.ms());
            u64::try_from(i128::from(w) + offset).unwrap_or(0)
        }
        None => crate::time::Y2000_UNIX_MS + t.ms(),
    }
}

/// The trial's IHE PCD messages as the live pump sends them (`report::pcd::Reporter`): DEC
/// PCD-01 a minute apart from the start of delivery to the end, IPEC PCD-10 at each delivery
/// event, ACM PCD-04 at each phase of each alarm. One message a line, its segments ended by
/// carriage returns.
fn hl7(src: &Source<'_>) -> Result<Vec<u8>, ExportError> {
    use crate::report::pcd;
    let i = src.integration.ok_or(ExportError::NoIntegration)?;
    let device = pcd::Device::named(i, src.summary.simulated);
    let mut reporter = pcd::Reporter::new(
        device,
        &src.summary.trial.patient,
        src.program,
        src.unit,
        (src.started, wall_ms(src, src.started)),
        crate::core::units::Duration::from_mins(1),
    )
    .map_err(|e| ExportError::Hl7(e.to_string()))?;
    let mut out = Vec::new();
    for m in reporter.replay(src.journal) {
        out.extend_from_slice(m.text.as_bytes());
        out.push(b'\n');
    }
    Ok(out)
}

/// The trial summary as a FHIR R4 transaction Bundle (`report::fhir`), with the PDF in it.
fn fhir(src: &Source<'_>, pdf: &[u8]) -> Result<Vec<u8>, ExportError> {
    let i = src.integration.ok_or(ExportError::NoIntegration)?;
    let system = i
        .patient_system
        .as_deref()
        .ok_or(ExportError::NoPatientSystem)?;
    let wall = |t: Timestamp| wall_ms(src, t);
    let bundle = crate::report::fhir::bundle(&crate::report::fhir::Input {
        summary: src.summary,
        journal: src.journal,
        program: src.program,
        unit: src.unit,
        patient_system: system,
        eui64: &i.eui64,
        wall: &wall,
        now_ms: src.made_ms,
        chain_head: src.log.map(|l| l.head.clone()),
        pdf,
    });
    let mut json =
        serde_json::to_vec_pretty(&bundle).map_err(|e| ExportError::Json(e.to_string()))?;
    json.push(b'\n');
    Ok(json)
}

/// The files of an export, the manifest last.
pub fn build(
    src: &Source<'_>,
    formats: &[Format],
    paper: Paper,
) -> Result<Vec<ExportFile>, ExportError> {
    let base = base_name(src.summary);
    let mut files = Vec::new();
    // Rendered once: the PDF file and the Bundle's DocumentReference hold the same one.
    let mut rendered: Option<Vec<u8>> = None;
    let mut the_pdf = || {
        rendered
            .get_or_insert_with(|| pdf::render(src.summary, src.unit, paper))
            .clone()
    };
    for f in formats {
        match f {
            Format::Pdf => files.push(ExportFile::new(format!("{base}_summary.pdf"), the_pdf())),
            Format::Json => {
                let mut json = serde_json::to_vec_pretty(src.summary)
                    .map_err(|e| ExportError::Json(e.to_string()))?;
                json.push(b'\n');
                files.push(ExportFile::new(format!("{base}_summary.json"), json));
            }
            Format::Csv => {
                let time_of = |t: Timestamp| rfc3339(wall_ms(src, t));
                // Data, not a text to read: in English whatever the site's language, as the
                // trial log is.
                let bytes = crate::core::lang::with(crate::core::lang::Language::English, || {
                    csv::render(src.journal, src.started, &time_of)
                })
                .map_err(|e| ExportError::Csv(e.to_string()))?;
                files.push(ExportFile::new(format!("{base}_timeseries.csv"), bytes));
            }
            Format::Hl7 => files.push(ExportFile::new(format!("{base}_pcd.hl7"), hl7(src)?)),
            Format::Fhir => files.push(ExportFile::new(
                format!("{base}_fhir.json"),
                fhir(src, &the_pdf())?,
            )),
        }
    }
    let mut manifest = src.log.map(LogSeal::manifest_lines).unwrap_or_default();
    for f in &files {
        manifest.push_str(&format!("{}  {}\n", f.sha256, f.name));
    }
    files.push(ExportFile::new(
        format!("{base}_manifest.sha256"),
        manifest.into_bytes(),
    ));
    Ok(files)
}

/// Writes the files into `dir` (created if needed): each to a temporary name, flushed to disk,
/// then renamed, so that a stick pulled out half-way leaves no half-written file under a real
/// name. The temporary file is created new and not through a link (`O_EXCL|O_NOFOLLOW`; a
/// leftover of an earlier run is removed first, which removes the name only), so nothing a
/// link in `dir` points at is ever written; the rename replaces an earlier export's file of the
/// same name, or a link of that name, never what a link points at. Returns the paths written.
pub fn write_all(dir: &Path, files: &[ExportFile]) -> Result<Vec<PathBuf>, ExportError> {
    let fail = |path: &Path| {
        let path = path.display().to_string();
        move |source| ExportError::Write {
            path: path.clone(),
            source,
        }
    };
    std::fs::create_dir_all(dir).map_err(fail(dir))?;
    let create = |tmp: &Path| {
        use rustix::fs::OFlags;
        let flags =
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
        rustix::fs::open(tmp, flags, rustix::fs::Mode::from_raw_mode(0o644))
            .map(std::fs::File::from)
            .map_err(std::io::Error::from)
    };
    let mut written = Vec::new();
    for f in files {
        let path = dir.join(&f.name);
        let tmp = dir.join(format!(".{}.part", f.name));
        let mut out = match create(&tmp) {
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                std::fs::remove_file(&tmp).map_err(fail(&tmp))?;
                create(&tmp)
            }
            other => other,
        }
        .map_err(fail(&tmp))?;
        out.write_all(&f.bytes).map_err(fail(&tmp))?;
        out.sync_all().map_err(fail(&tmp))?;
        drop(out);
        std::fs::rename(&tmp, &path).map_err(fail(&path))?;
        written.push(path);
    }
    if let Ok(d) = std::fs::File::open(dir) {
        // Makes the renames durable where the filesystem allows it (FAT on a stick may not).
        let _ = d.sync_all();
    }
    Ok(written)
}

/// Bytes the files need on disk.
pub fn size(files: &[ExportFile]) -> u64 {
    files.iter().map(|f| f.bytes.len() as u64).sum()
}

/// The clinician's export screen: the implant worksheet in lines (the effective dose and its
/// basis, each step of the rule with its source, the proposal or why there is none, what the
/// limits say), whether there is a proposal to confirm, and whether a clinician confirmed the
/// dose.
pub fn preview(s: &Summary, unit: MassUnit) -> (Vec<String>, bool, bool) {
    let show = |mg: f64| pdf::show_mg(mg, unit);
    let w = &s.implant;
    let e = &s.effective_dose;
    // With an effective dose, the worksheet's first step states it with its basis.
    let mut lines = Vec::new();
    if e.mg_per_day.is_none() {
        lines.push(tr!(
            "No effective trial dose: {why}.",
            why = e.why_none.as_deref().unwrap_or(tr!("none was found"))
        ));
    }
    lines.push(tr!(
        "Response ({criterion}): {answer}.",
        criterion = s.response_criterion.criterion,
        answer = match (
            s.response_criterion.responder,
            &s.response_criterion.why_unjudged
        ) {
            (Some(true), _) => tr!("yes").to_owned(),
            (Some(false), _) => tr!("no").to_owned(),
            (None, Some(why)) => tr!("not judged, {why}", why),
            (None, None) => tr!("not judged").to_owned(),
        }
    ));
    lines.push(tr!(
        "Implant {route}; trial {trial_route}{conversion}.",
        route = super::words::route(&w.route.to_string()),
        trial_route = super::words::route(&w.trial_route.to_string()),
        conversion = w
            .conversion
            .as_ref()
            .map_or(String::new(), |c| format!("; {}", c.text))
    ));
    lines.extend(w.steps.iter().cloned());
    if let Some(why) = &w.no_proposal_reason {
        lines.push(tr!("No proposal: {why}", why));
    }
    for f in w
        .findings
        .iter()
        .filter(|f| f.class != crate::core::finding::Class::Ok)
    {
        lines.push(tr!(
            "{finding} A written reason is needed to confirm it.",
            finding = f.message
        ));
    }
    if let Some(dose) = w.mg_per_day {
        let ml = w.ml_per_day.map_or("?".to_owned(), |v| {
            format!("{}", (v * 10_000.0).round() / 10_000.0)
        });
        lines.push(if w.confirmed {
            tr!(
                "Implant starting dose {dose} per day of {drug} {concentration} mg/mL = {ml} mL/day.",
                dose = show(dose),
                drug = w.drug,
                concentration = w.concentration_mg_per_ml,
                ml
            )
        } else {
            tr!(
                "Implant starting dose {dose} per day of {drug} {concentration} mg/mL = {ml} mL/day (proposed).",
                dose = show(dose),
                drug = w.drug,
                concentration = w.concentration_mg_per_ml,
                ml
            )
        });
    }
    lines.push(if w.confirmed {
        tr!(
            "Confirmed by {name}{reason}. The export is ready.",
            name = w.confirmed_by.as_deref().unwrap_or(tr!("a clinician")),
            reason = w
                .reason
                .as_ref()
                .map_or(String::new(), |r| tr!(", because: {reason}", reason = r))
        )
    } else if !w.trial_ended {
        tr!("The trial has not ended: the dose is confirmed after the end.").to_owned()
    } else if w.proposed_mg_per_day.is_some() {
        tr!("Not confirmed yet: check the dose, then confirm it (or enter another with a reason).")
            .to_owned()
    } else {
        tr!("Not confirmed yet: enter the starting dose with a written reason.").to_owned()
    });
    (lines, w.proposed_mg_per_day.is_some(), w.confirmed)
}

/// What `titra export` reads besides the log.
pub struct LogExport<'a> {
    pub db: &'a Path,
    /// The trial's number in the log (default: the newest).
    pub trial: Option<i64>,
    pub out: &'a Path,
    pub formats: &'a [Format],
    pub paper: Paper,
    pub protocol: &'a crate::input::protocol::Protocol,
    pub library: &'a crate::core::library::DrugLibrary,
    pub hardware: &'a crate::input::hardware::HardwareConfig,
    /// Export even though no clinician confirmed the implant's starting dose (marked as a draft).
    pub draft: bool,
    /// Who exports, for the log.
    pub by: &'a str,
    /// When (ms since 1970, UTC).
    pub now_ms: u64,
}

/// Why `titra export` did not export.
#[derive(Debug, thiserror::Error)]
pub enum LogExportError {
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
    #[error(transparent)]
    Export(#[from] ExportError),
    #[error(
        "the implant's starting dose has not been confirmed by a clinician after the trial ended (on the pump: Export, then Confirm the dose); export it anyway, marked as a draft, with --draft"
    )]
    NotConfirmed,
    #[error("the confirmed implant dose does not pass the implant route's limits now: {0}")]
    ConfirmedDoseRefused(String),
}

/// The dose confirmed in the log, checked again against the implant route's limits in force
/// (a library changed since, or a log written by an older version): a hard finding, or a soft
/// one confirmed without a written reason, stops the export.
fn recheck_confirmed(
    summary: &Summary,
    stored: &crate::store::StoredTrial,
    protocol: &crate::input::protocol::Protocol,
    library: &crate::core::library::DrugLibrary,
) -> Result<(), LogExportError> {
    let w = &summary.implant;
    let Some(mg_per_day) = w.mg_per_day else {
        return Ok(());
    };
    let per_day =
        crate::core::units::AmountRate::from_ng_per_day((mg_per_day * 1e6).round() as u64);
    let rules = protocol.implant_rules();
    let fill = rules.fill(&stored.program.drug, stored.program.concentration);
    let entry = crate::report::summary::implant_entry(library, &stored.program.drug, w.route, fill)
        .map_err(LogExportError::ConfirmedDoseRefused)?;
    let v = crate::core::implant::check_dose(entry, stored.trial.opioid_status, per_day);
    let source = |f: &crate::core::finding::Finding| f.source.clone().unwrap_or_default();
    if let Some(f) = v
        .findings
        .iter()
        .find(|f| f.class == crate::core::finding::Class::Hard)
    {
        return Err(LogExportError::ConfirmedDoseRefused(format!(
            "{}: {} ({}; limit: {}; source: {})",
            f.field,
            f.value,
            f.message,
            f.limit,
            source(f)
        )));
    }
    if w.reason.is_none()
        && let Some(f) = v
            .findings
            .iter()
            .find(|f| f.class == crate::core::finding::Class::Soft)
    {
        return Err(LogExportError::ConfirmedDoseRefused(format!(
            "{}: {} ({}; limit: {}; source: {}); it was confirmed without a written reason: confirm it again with one",
            f.field,
            f.value,
            f.message,
            f.limit,
            source(f)
        )));
    }
    Ok(())
}

/// The summary of a trial read back from the log (not the trial in hand), with the moment its
/// delivery started and the unit its doses are said in.
struct StoredSummary {
    summary: Summary,
    started: Timestamp,
    unit: MassUnit,
}

/// The summary of `stored`, a trial read back from the log with its `journal`, under the site's
/// `protocol` and `library` and the mechanism's `steps_per_ml`.
fn summarise_stored(
    stored: &crate::store::StoredTrial,
    journal: &[Record],
    protocol: &crate::input::protocol::Protocol,
    library: &crate::core::library::DrugLibrary,
    steps_per_ml: u64,
) -> StoredSummary {
    let (started, ended) = crate::report::summary::span_of(journal);
    let entry = library.find(
        &stored.program.drug,
        stored.trial.route,
        stored.program.concentration,
    );
    let unit = entry.as_ref().map_or(MassUnit::Mg, |e| e.unit);
    let outcome = entry.map_or_else(|_| Default::default(), |e| e.outcome);
    let summary = crate::report::summary::summarise(&crate::report::summary::Inputs {
        trial: &stored.trial,
        program: &stored.program,
        journal,
        started,
        ended,
        steps_per_ml,
        loaded_ml: stored.program.reservoir.as_ml_f64(),
        remaining_ml: crate::report::summary::reservoir_left(
            &stored.program,
            journal,
            steps_per_ml,
        ),
        simulated: stored.simulated,
        started_wall: stored.started_wall.as_deref(),
        protocol,
        library,
        unit,
        outcome,
    });
    StoredSummary {
        summary,
        started,
        unit,
    }
}

/// What the export of a trial read back from the log is made from.
pub struct StoredExport<'a> {
    pub stored: &'a crate::store::StoredTrial,
    /// Its records.
    pub journal: &'a [Record],
    /// The log's chain head and what its check found, for the manifest and the Provenance.
    pub seal: &'a LogSeal,
    pub protocol: &'a crate::input::protocol::Protocol,
    pub library: &'a crate::core::library::DrugLibrary,
    pub hardware: &'a crate::input::hardware::HardwareConfig,
    pub formats: &'a [Format],
    pub paper: Paper,
    /// Made even though no clinician confirmed the implant's starting dose (marked a draft).
    pub draft: bool,
    /// When (ms since 1970, UTC).
    pub now_ms: u64,
}

/// The export's files of a trial read back from the log, as `titra export` writes them and as
/// the daemon makes the FHIR Bundle of an ended trial no longer in hand: its summary under the
/// site's protocol and library; refused unless a clinician confirmed the implant's starting
/// dose (or `draft`), the confirmed dose checked again against the limits in force.
pub fn stored_files(x: &StoredExport<'_>) -> Result<Vec<ExportFile>, LogExportError> {
    let StoredSummary {
        summary,
        started,
        unit,
    } = summarise_stored(
        x.stored,
        x.journal,
        x.protocol,
        x.library,
        x.hardware.mechanism.steps_per_ml,
    );
    if !summary.implant.confirmed && !x.draft {
        return Err(LogExportError::NotConfirmed);
    }
    if summary.implant.confirmed {
        recheck_confirmed(&summary, x.stored, x.protocol, x.library)?;
    }
    Ok(build(
        &Source {
            summary: &summary,
            journal: x.journal,
            started,
            started_wall: x.stored.started_wall.as_deref(),
            unit,
            log: Some(x.seal),
            program: &x.stored.program,
            integration: x.hardware.integration.as_ref(),
            made_ms: x.now_ms,
        },
        x.formats,
        x.paper,
    )?)
}

/// `titra export`: the trial's files (its summary as the pump makes it, [`stored_files`]) written
/// into `x.out`, and the export recorded in the log.
pub fn export_from_log(x: &LogExport<'_>) -> Result<Vec<PathBuf>, LogExportError> {
    let mut log = crate::store::TrialLog::open(x.db)?;
    let stored = match x.trial {
        Some(id) => log.trial(id)?,
        None => log.latest_trial()?,
    };
    let journal = log.records(stored.id)?;
    let v = log.verify()?;
    let seal = LogSeal {
        head: v.head,
        problems: v.problems,
    };
    let files = stored_files(&StoredExport {
        stored: &stored,
        journal: &journal,
        seal: &seal,
        protocol: x.protocol,
        library: x.library,
        hardware: x.hardware,
        formats: x.formats,
        paper: x.paper,
        draft: x.draft,
        now_ms: x.now_ms,
    })?;
    let written = write_all(x.out, &files)?;
    let started = crate::report::summary::span_of(&journal).0;
    let at = journal.iter().map(Record::at).max().unwrap_or(started);
    log.append(&[Record::Exported {
        at,
        destination: x.out.display().to_string(),
        files: files
            .iter()
            .map(|f| (f.name.clone(), f.sha256.clone()))
            .collect(),
        name: x.by.to_owned(),
    }])?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_all_never_writes_through_a_link_in_the_directory() {
        let root = std::env::temp_dir().join(format!("titra-write-all-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let (out, pump) = (root.join("out"), root.join("pump"));
        std::fs::create_dir_all(&out).unwrap();
        std::fs::create_dir_all(&pump).unwrap();
        let log = pump.join("titra.db");
        std::fs::write(&log, b"the trial log").unwrap();
        let files = [
            ExportFile::new("a_summary.json".to_owned(), b"{}\n".to_vec()),
            ExportFile::new(
                "a_manifest.sha256".to_owned(),
                b"x  a_summary.json\n".to_vec(),
            ),
        ];
        // Links to the trial log at the first file's temporary name and at the second's name.
        std::os::unix::fs::symlink(&log, out.join(".a_summary.json.part")).unwrap();
        std::os::unix::fs::symlink(&log, out.join("a_manifest.sha256")).unwrap();
        let written = write_all(&out, &files).unwrap();
        assert_eq!(written.len(), 2);
        assert_eq!(std::fs::read(&log).unwrap(), b"the trial log");
        for f in &files {
            let path = out.join(&f.name);
            assert!(!std::fs::symlink_metadata(&path).unwrap().is_symlink());
            assert_eq!(std::fs::read(&path).unwrap(), f.bytes);
        }
        assert!(!out.join(".a_summary.json.part").exists());
        let _ = std::fs::remove_dir_all(&root);
    }
}
