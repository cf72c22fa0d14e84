//! What the integration tests share, written once: the demo users' PINs, virtual hours, the
//! example morphine program, the example scenarios, the summary's schema, the `titra` command and
//! a temporary directory of a test's own; the daemon keeping a trial log and a fake wall clock
//! (`daemon`); the daemon's interface over a peer-to-peer D-Bus link (`p2p`).
//!
//! Each test binary (tests/*/main.rs) includes it as `#[path = "../common/mod.rs"] mod common;`.

#![allow(
    dead_code,
    reason = "each test binary uses its own part of what is shared"
)]

pub mod daemon;
pub mod p2p;

use std::ops::Deref;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::atomic::{AtomicUsize, Ordering};

use titra::core::program::Program;
use titra::core::units::Timestamp;
use titra::input::scenario::Scenario;

/// A demo user: the ID staff pick on the screen and their PIN.
#[derive(Debug, Clone, Copy)]
pub struct Staff {
    pub id: &'static str,
    pub pin: &'static str,
}

/// The demo users (`Auth::demo` in src/service/auth.rs, simulated pumps only): Demo Nurse,
/// Demo Nurse 2 (the second person's check) and Demo Clinician.
pub const NURSE: Staff = Staff {
    id: "nurse",
    pin: "123456",
};
pub const SECOND_NURSE: Staff = Staff {
    id: "nurse2",
    pin: "567890",
};
pub const CLINICIAN: Staff = Staff {
    id: "clinician",
    pin: "246810",
};

/// `hours` after the start of virtual time.
pub fn h(hours: f64) -> Timestamp {
    Timestamp::from_ms((hours * 3_600_000.0) as u64)
}

/// The example program's `[program]` table: intrathecal morphine 1 mg/mL from a 20 mL syringe,
/// 1 mg/day, patient boluses of 0.05 mg at most one an hour. A macro, so that `morphine_trial!`
/// can build a constant with it.
macro_rules! morphine_program {
    () => {
        "drug = \"morphine\"
concentration = \"1 mg/mL\"
reservoir = \"20 mL\"
basal = \"1 mg/day\"
pca = { dose = \"0.05 mg\", lockout = \"1h\", max_per_hour = 1 }
"
    };
}

/// The example program as a whole trial file (a constant): a 3-day continuous intrathecal trial
/// for the patient `$patient`, pain 7 before it.
macro_rules! morphine_trial {
    ($patient:literal) => {
        concat!(
            "[trial]\npatient = \"",
            $patient,
            "\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"3d\"\n",
            "baseline_pain = 7\n\n[program]\n",
            $crate::common::morphine_program!()
        )
    };
}

pub(crate) use {morphine_program, morphine_trial};

/// The example program's `[program]` table (see `morphine_program!`).
pub const MORPHINE: &str = morphine_program!();

/// The example program.
pub fn morphine() -> Program {
    toml::from_str(MORPHINE).unwrap()
}

/// A file of this repository, by its path from the root.
pub fn repository_path(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// An example scenario's file (examples/scenarios/).
pub fn scenario_path(name: &str) -> PathBuf {
    repository_path("examples/scenarios").join(name)
}

/// An example scenario's file, as a command's argument.
pub fn scenario_arg(name: &str) -> String {
    scenario_path(name).display().to_string()
}

/// An example scenario, read.
pub fn example(name: &str) -> Scenario {
    Scenario::from_file(&scenario_path(name)).unwrap()
}

/// The trial summary's JSON Schema (docs/trial-summary.schema.json).
pub fn summary_schema() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repository_path("docs/trial-summary.schema.json")).unwrap();
    jsonschema::validator_for(&serde_json::from_str(&text).unwrap()).unwrap()
}

/// Fails, listing every error, unless `json` is a valid trial summary; the schema, to check more.
pub fn assert_valid_summary(json: &serde_json::Value) -> jsonschema::Validator {
    let validator = summary_schema();
    let errors: Vec<String> = validator.iter_errors(json).map(|e| e.to_string()).collect();
    assert!(errors.is_empty(), "{errors:?}");
    validator
}

/// A 14-day continuous morphine trial's program for `patient` (1 mg/mL, 1 mg/day, a patient
/// bolus of 0.05 mg at most once an hour), as the service's `start_trial` takes it.
#[allow(dead_code)]
pub fn continuous_morphine(patient: &str) -> String {
    format!(
        "[trial]\npatient = \"{patient}\"\nroute = \"intrathecal\"\nkind = \"continuous\"\nduration = \"14d\"\n\n[program]\ndrug = \"morphine\"\nconcentration = \"1 mg/mL\"\nreservoir = \"20 mL\"\nbasal = \"1 mg/day\"\npca = {{ dose = \"0.05 mg\", lockout = \"1h\", max_per_hour = 1 }}\n"
    )
}

/// `titra` (the binary cargo built) run with `args`.
pub fn titra(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_titra"))
        .args(args)
        .output()
        .expect("the titra binary runs")
}

/// `sqlite3 FILE SQL`: the real SQLite shell run on a trial log, as anyone holding the pump's SD
/// card could (.ci/run installs it). Fails the test if the shell refuses the SQL.
pub fn sqlite3(path: &Path, sql: &str) {
    let out = Command::new("sqlite3")
        .arg(path)
        .arg(sql)
        .output()
        .expect("the sqlite3 command runs");
    assert!(out.status.success(), "{}", text(&out.stderr));
}

/// The SQL that changes the concentration in the newest trial's row to `concentration`,
/// dropping the trigger that refuses it first (anyone with the file can).
pub fn change_concentration(concentration: &str) -> String {
    format!(
        "DROP TRIGGER IF EXISTS trial_no_update; \
         UPDATE trial SET program_json = json_set(program_json, '$.concentration', '{concentration}') \
         WHERE id = (SELECT MAX(id) FROM trial);"
    )
}

/// A program's output as text.
pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether a program succeeded, and what it wrote (standard output, then standard error).
pub fn outcome(out: &Output) -> (bool, String) {
    (
        out.status.success(),
        format!("{}{}", text(&out.stdout), text(&out.stderr)),
    )
}

/// A directory of a test's own under the temporary directory, empty when made and removed when
/// dropped. Its name holds the process and a count, so that no two tests of a binary share one.
pub struct TempDir(PathBuf);

impl TempDir {
    /// A fresh directory named after `name` (titra-NAME-PID-N).
    pub fn new(name: &str) -> TempDir {
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("titra-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// The same in memory (/dev/shm where there is one): for tests that write days of a trial
    /// log, whose synced writes would otherwise wait on the disk.
    pub fn in_memory(name: &str) -> TempDir {
        let shm = Path::new("/dev/shm");
        if !shm.is_dir() {
            return TempDir::new(name);
        }
        static MADE: AtomicUsize = AtomicUsize::new(0);
        let n = MADE.fetch_add(1, Ordering::Relaxed);
        let dir = shm.join(format!("titra-{name}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    /// Where a daemon or the simulator keeps its trial log in this directory.
    pub fn trial_log(&self) -> PathBuf {
        self.0.join("titra.db")
    }

    /// Writes `contents` to the file `name` in this directory; its path.
    pub fn file(&self, name: &str, contents: &str) -> PathBuf {
        let path = self.0.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }
}

impl Deref for TempDir {
    type Target = Path;

    fn deref(&self) -> &Path {
        &self.0
    }
}

impl AsRef<Path> for TempDir {
    fn as_ref(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Starts a test's server (the MLLP listener, the FHIR server) whose first line on standard
/// output is "listening on PORT"; the child (its standard input kept open: a server watching
/// it stops with the test) and the port.
pub fn listening(mut cmd: Command) -> (std::process::Child, u16) {
    use std::io::BufRead;
    use std::process::Stdio;
    let name = cmd.get_program().to_string_lossy().into_owned();
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("{name} does not run: {e}"));
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    let port = first
        .trim()
        .strip_prefix("listening on ")
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("{name} said {first:?} (are hl7apy and tests/fhir installed?)"));
    (child, port)
}
