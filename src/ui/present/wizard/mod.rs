//! The start-trial wizard's logic: what each step asks, the program it builds, and when the
//! nurse may go on. Plain Rust, tested without a window; the screen (ui/pages/wizard.slint) only
//! shows a [`WizardView`] and sends keys, choices and presses back.
//!
//! The steps follow the issue: patient → route and catheter tip → trial (kind, length, pain
//! before, opioids before: not recorded, naive, or tolerant with the oral morphine equivalents
//! per day) → catheter (type, when it was placed, and for a single bolus whether the patient goes
//! home the same day) → drug → concentration (both from the library in force) → program (every
//! finding from the daemon shown beside its field) → review (dose per day first) → a second
//! person's name and PIN → load the syringe → prime → start. The daemon checks everything again; nothing
//! here is a limit.
//!
//! This module holds the wizard's state and how it moves from step to step; `input` what the
//! keys and choices change, `program` the program they build, `review` the review's lines, and
//! `view` what the screen shows.

mod fields;
mod input;
mod program;
mod review;
#[cfg(test)]
mod tests;
mod view;

pub use view::{
    FieldView, GroupView, Layout, NoteKind, NoteView, OptionView, WizardView, option_rows,
};

use crate::core::finding::Class;
use crate::core::library::Route;
use crate::core::program::TrialKind;
use crate::core::supervisor::State;
use crate::core::tr;
use crate::service::wire::LibraryChoice;
use crate::ui::command::Pin;
use fields::{Field, fields_for};

/// Vertebral levels a catheter tip may sit at, head to tail.
pub const LEVELS: [&str; 25] = [
    "C1", "C2", "C3", "C4", "C5", "C6", "C7", "T1", "T2", "T3", "T4", "T5", "T6", "T7", "T8", "T9",
    "T10", "T11", "T12", "L1", "L2", "L3", "L4", "L5", "S1",
];
const DEFAULT_LEVEL: usize = 16; // T10
const MAX_PATIENT_ID: usize = 24;
const MAX_NUMBER: usize = 8;
/// The longest trial the wizard offers (CLINICAL.md: 2–14 days).
pub const MAX_DAYS: u32 = 14;
/// The window of the optional program limit.
pub const LIMIT_WINDOW_HOURS: u32 = 4;

/// A choice button's words, in the language in use.
pub type Words = fn() -> &'static str;

/// The catheter types the wizard offers: (key, button, how its tip is written after the route's
/// name in the trial's `catheter`, which stays in English). "none" records no type.
pub const CATHETERS: [(&str, Words, &str); 3] = [
    ("closed", || tr!("Closed tip"), "closed tip"),
    ("open", || tr!("Open tip"), "open tip"),
    ("none", || tr!("Not recorded"), ""),
];

/// When the catheter was placed, before the start of delivery: (key, button, the trial's
/// `catheter_placed_before`). "none" records no time.
pub const PLACED: [(&str, Words, &str); 7] = [
    ("0h", || tr!("At the start"), "0h"),
    ("1h", || "1 h", "1h"),
    ("2h", || "2 h", "2h"),
    ("4h", || "4 h", "4h"),
    ("12h", || "12 h", "12h"),
    ("24h", || "24 h", "24h"),
    ("none", || tr!("Not recorded"), ""),
];

/// The patient's opioids before the trial: (key, button, the trial's `opioid_status`). "none"
/// records no status (the library's opioid-naive starting ranges then apply).
pub const OPIOIDS: [(&str, Words, &str); 3] = [
    ("none", || tr!("Not recorded"), ""),
    ("naive", || tr!("Opioid-naive"), "naive"),
    ("tolerant", || tr!("Opioid-tolerant"), "tolerant"),
];

/// The Trial step's number field: an opioid-tolerant patient's systemic opioids before the
/// trial, as oral morphine equivalents (always in mg/day, whatever the trial drug's unit).
pub const OME_FIELD: &str = "ome_before";

/// The wizard's steps, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    Patient,
    Route,
    Trial,
    Catheter,
    Drug,
    Concentration,
    Program,
    Review,
    Verify,
    Load,
    Prime,
    Start,
}

impl Step {
    const ALL: [Step; 12] = [
        Step::Patient,
        Step::Route,
        Step::Trial,
        Step::Catheter,
        Step::Drug,
        Step::Concentration,
        Step::Program,
        Step::Review,
        Step::Verify,
        Step::Load,
        Step::Prime,
        Step::Start,
    ];

    fn index(self) -> usize {
        Step::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }

    fn title(self) -> &'static str {
        match self {
            Step::Patient => tr!("Patient ID"),
            Step::Route => tr!("Route and catheter tip"),
            Step::Trial => tr!("Kind of trial"),
            Step::Catheter => tr!("Catheter"),
            Step::Drug => tr!("Drug"),
            Step::Concentration => tr!("Concentration"),
            Step::Program => tr!("Program"),
            Step::Review => tr!("Check every setting"),
            Step::Verify => tr!("Second person: pick your name and enter your PIN"),
            Step::Load => tr!("Load the syringe"),
            Step::Prime => tr!("Prime the line"),
            Step::Start => tr!("Start delivery"),
        }
    }

    /// How the screen draws the step.
    fn layout(self) -> Layout {
        match self {
            Step::Patient => Layout::Keyboard,
            Step::Route | Step::Trial | Step::Catheter | Step::Drug | Step::Concentration => {
                Layout::Choices
            }
            Step::Program => Layout::Fields,
            Step::Review => Layout::Review,
            Step::Verify => Layout::Pin,
            Step::Load | Step::Prime | Step::Start => Layout::Action,
        }
    }
}

/// Something the wizard needs from the daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    /// The library's drugs and concentrations.
    Library,
    /// Check a program; the answer comes back with its generation.
    Validate {
        generation: u64,
        program: String,
    },
    /// Program the trial, verified by a second person (another nurse or a clinician): their
    /// user ID and PIN.
    StartTrial {
        program: String,
        confirm: bool,
        verifier: String,
        verifier_pin: Pin,
    },
    Prime,
    Start,
    /// The wizard is over (started or cancelled): back to the staff screen.
    Close,
}

/// A finding from the daemon: (field, value, limit, class, message).
pub type Finding = crate::service::wire::WireFinding;

/// The daemon's answer to a wizard [`Request`].
#[derive(Debug, Clone)]
pub enum Reply {
    Library(Vec<LibraryChoice>),
    Findings {
        generation: u64,
        class: String,
        findings: Vec<Finding>,
    },
    /// The program could not be read (the daemon's words).
    Invalid {
        generation: u64,
        message: String,
    },
    /// Programmed, primed or started.
    Done,
    /// Refused, with the daemon's words.
    Failed(String),
}

/// The wizard's state.
#[derive(Debug, Clone)]
pub struct Wizard {
    step: Step,
    patient: String,
    route: Option<Route>,
    level: usize,
    kind: TrialKind,
    days: u32,
    baseline: Option<u8>,
    /// A key of [`CATHETERS`], once chosen.
    catheter: Option<&'static str>,
    /// A key of [`PLACED`], once chosen.
    placed: Option<&'static str>,
    /// Single bolus only: the patient goes home the same day (asked, never assumed: it adds
    /// the responsible adult to the pre-trial checklist).
    outpatient: Option<bool>,
    /// A key of [`OPIOIDS`], once chosen (asked, never assumed: it selects the starting ranges).
    opioids: Option<&'static str>,
    /// Opioid-tolerant only: the oral morphine equivalents per day before the trial, as typed
    /// (mg/day).
    ome_before: String,
    drug: Option<String>,
    concentration: Option<String>,
    fields: Vec<Field>,
    selected: &'static str,
    library: Vec<LibraryChoice>,
    generation: u64,
    /// The findings for the current generation, once the daemon answered.
    checked: Option<Checked>,
    confirmed: bool,
    busy: bool,
    /// The daemon's refusal of the last request (wrong PIN, prime refused, …).
    error: String,
    /// Once programmed, what the load and prime steps name.
    loaded: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Checked {
    generation: u64,
    /// The program's class (None: a word the wizard does not know, which blocks nothing).
    class: Option<Class>,
    findings: Vec<Finding>,
    /// The program could not be read at all (the daemon's words).
    error: Option<String>,
}

impl Default for Wizard {
    fn default() -> Self {
        Wizard::new()
    }
}

impl Wizard {
    /// A fresh wizard at the first step.
    pub fn new() -> Wizard {
        Wizard {
            step: Step::Patient,
            patient: String::new(),
            route: None,
            level: DEFAULT_LEVEL,
            kind: TrialKind::Continuous,
            days: 7,
            baseline: None,
            catheter: None,
            placed: None,
            outpatient: None,
            opioids: None,
            ome_before: String::new(),
            drug: None,
            concentration: None,
            fields: fields_for(TrialKind::Continuous),
            selected: "reservoir",
            library: Vec::new(),
            generation: 0,
            checked: None,
            confirmed: false,
            busy: false,
            error: String::new(),
            loaded: String::new(),
        }
    }

    /// A wizard for a trial the daemon already holds (programmed and verified, not started):
    /// it goes on at loading the syringe, or at starting once the line is primed. `what` is
    /// what the pump was loaded with.
    pub fn resume(state: State, what: &str) -> Wizard {
        let mut w = Wizard::new();
        w.loaded = what.to_owned();
        w.step = match state {
            State::Priming => Step::Start,
            _ => Step::Load,
        };
        w
    }

    /// The wizard the staff screen opens for the pump's state: one that goes on with a trial
    /// being set up, or a fresh one.
    pub fn open(state: State, what: &str) -> Wizard {
        match state {
            State::Programmed | State::Verified | State::Priming => Wizard::resume(state, what),
            _ => Wizard::new(),
        }
    }

    pub fn step(&self) -> Step {
        self.step
    }

    /// The daemon did what the last request asked: go on.
    pub fn done(&mut self) -> Option<Request> {
        self.busy = false;
        self.error.clear();
        match self.step {
            Step::Verify => {
                self.loaded = self.what();
                self.step = Step::Load;
                None
            }
            Step::Prime => {
                self.step = Step::Start;
                None
            }
            Step::Start => Some(Request::Close),
            _ => None,
        }
    }

    /// The daemon refused the last request: say why, stay on the step.
    pub fn failed(&mut self, message: &str) {
        self.busy = false;
        self.error = message.to_owned();
    }

    /// Hands the daemon's answer to the wizard; what it asks next (the close once delivery
    /// started).
    pub fn reply(&mut self, reply: Reply) -> Option<Request> {
        match reply {
            Reply::Library(choices) => self.set_library(choices),
            Reply::Findings {
                generation,
                class,
                findings,
            } => self.set_findings(generation, &class, findings),
            Reply::Invalid {
                generation,
                message,
            } => self.set_invalid(generation, &message),
            Reply::Done => return self.done(),
            Reply::Failed(message) => self.failed(&message),
        }
        None
    }

    /// The patient was opioid-tolerant before the trial.
    fn tolerant(&self) -> bool {
        self.opioids == Some("tolerant")
    }

    /// "morphine 1 mg/mL, 20 mL", for the load step.
    fn what(&self) -> String {
        format!(
            "{} {}, {} mL",
            self.drug.as_deref().unwrap_or(""),
            self.concentration.as_deref().unwrap_or(""),
            self.value("reservoir")
        )
    }

    fn value(&self, key: &str) -> &str {
        self.fields
            .iter()
            .find(|f| f.key == key)
            .map_or("", |f| f.value.as_str())
    }

    fn checked(&self) -> Option<&Checked> {
        self.checked
            .as_ref()
            .filter(|c| c.generation == self.generation)
    }

    /// Whether the nurse may go on from this step, and if not, why.
    fn blocker(&self) -> Option<String> {
        if self.busy {
            return Some(tr!("Waiting for the pump…").to_owned());
        }
        match self.step {
            Step::Patient if self.patient.len() < 3 => {
                Some(tr!("Type the patient's ID (at least 3 characters).").to_owned())
            }
            Step::Route if self.route.is_none() => Some(tr!("Choose the route.").to_owned()),
            Step::Trial if self.baseline.is_none() => {
                Some(tr!("Ask the patient for their pain now (0–10).").to_owned())
            }
            Step::Trial if self.opioids.is_none() => Some(
                tr!("Choose whether the patient took opioids before the trial (or Not recorded).")
                    .to_owned(),
            ),
            Step::Trial if self.tolerant() && self.ome_before.is_empty() => Some(
                tr!(
                    "Enter the oral morphine equivalents the patient took per day before the \
                     trial."
                )
                .to_owned(),
            ),
            Step::Catheter if self.catheter.is_none() => {
                Some(tr!("Choose the catheter's type (or Not recorded).").to_owned())
            }
            Step::Catheter if self.placed.is_none() => {
                Some(tr!("Choose when the catheter was placed (or Not recorded).").to_owned())
            }
            Step::Catheter if self.kind == TrialKind::SingleBolus && self.outpatient.is_none() => {
                Some(tr!("Choose whether the patient goes home the same day.").to_owned())
            }
            Step::Drug if self.drug.is_none() => Some(tr!("Choose the drug.").to_owned()),
            Step::Concentration if self.concentration.is_none() => {
                Some(tr!("Choose the concentration on the syringe's label.").to_owned())
            }
            Step::Program | Step::Review => {
                if let Err(missing) = self.program() {
                    return Some(missing);
                }
                match self.checked() {
                    None => Some(tr!("Checking the program…").to_owned()),
                    Some(c) if c.class == Some(Class::Hard) => Some(
                        tr!("A setting cannot be used (marked ✕): change it to go on.").to_owned(),
                    ),
                    Some(c)
                        if self.step == Step::Review
                            && c.class == Some(Class::Soft)
                            && !self.confirmed =>
                    {
                        Some(tr!("Confirm the settings marked ! to go on.").to_owned())
                    }
                    Some(_) => None,
                }
            }
            _ => None,
        }
    }

    /// The Next (or action) button.
    pub fn go_on(&mut self) -> Option<Request> {
        if self.blocker().is_some() {
            return None;
        }
        match self.step {
            Step::Patient | Step::Route | Step::Trial | Step::Catheter | Step::Drug => {
                self.step = Step::ALL[self.step.index() + 1];
                None
            }
            Step::Concentration => {
                self.step = Step::Program;
                self.validate()
            }
            Step::Program => {
                self.step = Step::Review;
                None
            }
            Step::Review => {
                self.step = Step::Verify;
                None
            }
            // The PIN pad calls `verify`.
            Step::Verify => None,
            Step::Load => {
                self.step = Step::Prime;
                None
            }
            Step::Prime => {
                self.busy = true;
                Some(Request::Prime)
            }
            Step::Start => {
                self.busy = true;
                Some(Request::Start)
            }
        }
    }

    /// The second person picked their name (`user`, their user ID) and entered their PIN:
    /// program the trial.
    pub fn verify(&mut self, user: &str, pin: &str) -> Option<Request> {
        if self.step != Step::Verify || self.busy {
            return None;
        }
        let program = self.program().ok()?;
        self.busy = true;
        self.error.clear();
        Some(Request::StartTrial {
            program,
            confirm: self.confirmed,
            verifier: user.to_owned(),
            verifier_pin: Pin::new(pin),
        })
    }

    /// Back one step (never back past programming: the daemon holds the trial from then on).
    pub fn back(&mut self) {
        if self.busy {
            return;
        }
        self.error.clear();
        if self.step > Step::Patient && self.step <= Step::Verify {
            self.step = Step::ALL[self.step.index() - 1];
        }
    }
}
