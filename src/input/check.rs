//! A program (or whole scenario) checked against the drug library, and the library loaded:
//! what `titra check`, `titra simulate` and the daemon's programming share.

use std::path::Path;

use serde::Serialize;

use crate::core::finding::{Class, Verdict};
use crate::core::library::{DrugLibrary, LibraryError};
use crate::core::program::{self, Program, Trial};
use crate::input::scenario::{Event, Scenario, ScenarioError};

/// The example library shipped in config/, built into the binary so that `titra check` works
/// from any directory. Its own text says it must be reviewed before clinical use.
pub(crate) const BUILT_IN_LIBRARY: &str = include_str!("../../config/drug-library.toml");

/// Which library a check used, for the report.
#[derive(Debug, Clone, Serialize)]
pub struct LibrarySource {
    pub name: String,
    pub review: String,
}

/// Why a check could not be made at all (as opposed to a program that was rejected).
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error(transparent)]
    Scenario(#[from] ScenarioError),
    #[error("{path}: {source}")]
    Library { path: String, source: LibraryError },
    #[error("cannot read the drug library {path}: {source}")]
    LibraryIo {
        path: String,
        source: std::io::Error,
    },
}

/// Loads the library at `path`, or the built-in example when `None`.
pub fn load_library(path: Option<&Path>) -> Result<(DrugLibrary, LibrarySource), CheckError> {
    let (text, name) = match path {
        Some(p) => (
            std::fs::read_to_string(p).map_err(|source| CheckError::LibraryIo {
                path: p.display().to_string(),
                source,
            })?,
            p.display().to_string(),
        ),
        None => (
            BUILT_IN_LIBRARY.to_owned(),
            "built-in example library".to_owned(),
        ),
    };
    let library = DrugLibrary::from_toml_str(&text).map_err(|source| CheckError::Library {
        path: name.clone(),
        source,
    })?;
    let review = toml::from_str::<toml::Table>(&text)
        .ok()
        .and_then(|t| t.get("review").and_then(|r| r.as_str().map(str::to_owned)))
        .unwrap_or_else(|| "no review recorded".to_owned());
    Ok((library, LibrarySource { name, review }))
}

/// The result of checking one file.
#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub library: LibrarySource,
    pub trial: Trial,
    pub program: Program,
    pub verdict: Verdict,
    /// `ok`, `soft` or `hard`.
    pub class: Class,
}

impl CheckReport {
    /// 0 when the program may be used (soft findings confirmed), 2 when it is rejected.
    pub fn exit_code(&self) -> i32 {
        if self.class == Class::Hard { 2 } else { 0 }
    }
}

/// Checks the program of a scenario, and every change its events would make (rate changes and
/// clinician boluses), against the library.
pub fn check_scenario(
    scenario: &Scenario,
    library: &DrugLibrary,
    source: LibrarySource,
) -> CheckReport {
    let mut verdict = program::validate(&scenario.trial, &scenario.program, library);
    if let Ok(entry) = library.find(
        &scenario.program.drug,
        scenario.trial.route,
        scenario.program.concentration,
    ) {
        // Events are in time order; name them as the file does (by position among events of
        // the same time is enough for a nurse: the time is in the message).
        for (i, event) in scenario.events.iter().enumerate() {
            match *event {
                Event::RateChange { at, basal } => verdict.extend(program::check_rate_change(
                    entry,
                    &scenario.program,
                    &format!("events[{i}].basal (at {at})"),
                    basal,
                )),
                Event::ClinicianBolus { at, dose } => {
                    verdict.extend(program::check_clinician_bolus(
                        entry,
                        &format!("events[{i}].dose (at {at})"),
                        dose,
                    ))
                }
                _ => {}
            }
        }
    }
    let class = verdict.class();
    CheckReport {
        library: source,
        trial: scenario.trial.clone(),
        program: scenario.program.clone(),
        verdict,
        class,
    }
}

/// Reads and checks a file.
pub fn check_file(path: &Path, library_path: Option<&Path>) -> Result<CheckReport, CheckError> {
    let scenario = Scenario::from_file(path)?;
    let (library, source) = load_library(library_path)?;
    Ok(check_scenario(&scenario, &library, source))
}
