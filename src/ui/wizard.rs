//! The start-trial wizard's logic: what each step asks, the program it builds, and when the
//! nurse may go on. Plain Rust, tested without a window; the screens (ui/wizard.slint) only show
//! a [`WizardView`] and send keys, choices and presses back.
//!
//! The steps follow the issue: patient → route and catheter tip → trial (kind, length, pain
//! before, opioids before: not recorded, naive, or tolerant with the oral morphine equivalents
//! per day) → catheter (type, when it was placed, and for a single bolus whether the patient goes
//! home the same day) → drug → concentration (both from the library in force) → program (every
//! finding from the daemon shown beside its field) → review (dose per day first) → second
//! nurse's PIN → load the syringe → prime → start. The daemon checks everything again; nothing
//! here is a limit.

use crate::core::library::Route;
use crate::core::program::TrialKind;
use crate::core::units::MassUnit;
use crate::input::scenario::Scenario;
use crate::service::wire::LibraryChoice;

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

/// The catheter types the wizard offers: (key, button, how its tip is written after the route's
/// name in the trial's `catheter`). "none" records no type.
pub const CATHETERS: [(&str, &str, &str); 3] = [
    ("closed", "Closed tip", "closed tip"),
    ("open", "Open tip", "open tip"),
    ("none", "Not recorded", ""),
];

/// When the catheter was placed, before the start of delivery: (key, button, the trial's
/// `catheter_placed_before`). "none" records no time.
pub const PLACED: [(&str, &str, &str); 7] = [
    ("0h", "At the start", "0h"),
    ("1h", "1 h", "1h"),
    ("2h", "2 h", "2h"),
    ("4h", "4 h", "4h"),
    ("12h", "12 h", "12h"),
    ("24h", "24 h", "24h"),
    ("none", "Not recorded", ""),
];

/// The patient's opioids before the trial: (key, button, the trial's `opioid_status`). "none"
/// records no status (the library's opioid-naive starting ranges then apply).
pub const OPIOIDS: [(&str, &str, &str); 3] = [
    ("none", "Not recorded", ""),
    ("naive", "Opioid-naive", "naive"),
    ("tolerant", "Opioid-tolerant", "tolerant"),
];

/// The Trial step's number field: an opioid-tolerant patient's systemic opioids before the
/// trial, as oral morphine equivalents (always in mg/day, whatever the trial drug's unit).
pub const OME_FIELD: &str = "ome_before";
const OME_LABEL: &str = "Oral morphine equivalents";

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
            Step::Patient => "Patient ID",
            Step::Route => "Route and catheter tip",
            Step::Trial => "Kind of trial",
            Step::Catheter => "Catheter",
            Step::Drug => "Drug",
            Step::Concentration => "Concentration",
            Step::Program => "Program",
            Step::Review => "Check every setting",
            Step::Verify => "Second nurse: enter your PIN",
            Step::Load => "Load the syringe",
            Step::Prime => "Prime the line",
            Step::Start => "Start delivery",
        }
    }

    /// How the screen draws the step.
    fn layout(self) -> &'static str {
        match self {
            Step::Patient => "keyboard",
            Step::Route | Step::Trial | Step::Catheter | Step::Drug | Step::Concentration => {
                "choices"
            }
            Step::Program => "fields",
            Step::Review => "review",
            Step::Verify => "pin",
            Step::Load | Step::Prime | Step::Start => "action",
        }
    }
}

/// What a program field holds, which decides its unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Millilitres,
    Mass,
    MassPerDay,
    Minutes,
    Hours,
    Count,
}

/// One entry of the program step.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Field {
    key: &'static str,
    label: &'static str,
    kind: Kind,
    value: String,
    /// May be left empty (no patient bolus, no program limit).
    optional: bool,
}

impl Field {
    fn new(
        key: &'static str,
        label: &'static str,
        kind: Kind,
        value: &str,
        optional: bool,
    ) -> Field {
        Field {
            key,
            label,
            kind,
            value: value.to_owned(),
            optional,
        }
    }
}

fn fields_for(kind: TrialKind) -> Vec<Field> {
    let reservoir = |v| Field::new("reservoir", "Syringe volume", Kind::Millilitres, v, false);
    match kind {
        TrialKind::Continuous => vec![
            reservoir("20"),
            Field::new("basal", "Basal dose", Kind::MassPerDay, "", false),
            Field::new(
                "pca_dose",
                "Patient bolus (empty: none)",
                Kind::Mass,
                "",
                true,
            ),
            Field::new("lockout", "Lockout", Kind::Minutes, "60", false),
            Field::new(
                "per_hour",
                "Patient boluses per hour",
                Kind::Count,
                "1",
                false,
            ),
            Field::new(
                "limit",
                "Most in any 4 h (empty: library)",
                Kind::Mass,
                "",
                true,
            ),
        ],
        TrialKind::SingleBolus => vec![
            reservoir("2"),
            Field::new("bolus", "Screening bolus", Kind::Mass, "", false),
            Field::new("observe", "Observation", Kind::Hours, "24", false),
        ],
        TrialKind::MultipleBolus => vec![
            reservoir("5"),
            Field::new("bolus", "Each bolus", Kind::Mass, "", false),
            Field::new("count", "Number of boluses", Kind::Count, "2", false),
            Field::new("interval", "Time between boluses", Kind::Hours, "24", false),
            Field::new(
                "observe",
                "Observation after each",
                Kind::Hours,
                "24",
                false,
            ),
        ],
    }
}

/// A choice button.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OptionView {
    pub key: String,
    pub label: String,
    pub selected: bool,
}

/// A row of choice buttons, or a stepper (◀ value ▶) when `options` is empty.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupView {
    pub key: String,
    pub title: String,
    pub value: String,
    pub options: Vec<OptionView>,
}

/// A program field as shown: its value, unit and the worst finding about it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldView {
    pub key: String,
    pub label: String,
    pub value: String,
    pub unit: String,
    /// "", "ok", "soft" or "hard".
    pub mark: String,
    pub selected: bool,
}

/// A finding or a hint, with its class ("soft", "hard", "info").
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoteView {
    pub class: String,
    pub text: String,
}

/// Everything the wizard screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WizardView {
    pub step: usize,
    pub steps: usize,
    pub title: String,
    pub layout: String,
    /// The patient ID being typed.
    pub text: String,
    pub groups: Vec<GroupView>,
    pub fields: Vec<FieldView>,
    pub notes: Vec<NoteView>,
    pub lines: Vec<String>,
    pub can_next: bool,
    pub next_label: String,
    pub can_back: bool,
    pub busy: bool,
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
    /// Program the trial, verified by a second nurse's PIN.
    StartTrial {
        program: String,
        confirm: bool,
        verifier_pin: String,
    },
    Prime,
    Start,
    /// The wizard is over (started or cancelled): back to the staff screen.
    Close,
}

/// A finding from the daemon: (field, value, limit, class, message).
pub type Finding = crate::service::wire::WireFinding;

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
    class: String,
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
    /// it goes on at loading the syringe.
    pub fn resume(state: &str, what: &str) -> Wizard {
        let mut w = Wizard::new();
        w.loaded = what.to_owned();
        w.step = match state {
            "priming" => Step::Start,
            _ => Step::Load,
        };
        w
    }

    pub fn step(&self) -> Step {
        self.step
    }

    /// What the library offers arrived.
    pub fn set_library(&mut self, choices: Vec<LibraryChoice>) {
        self.library = choices;
        self.busy = false;
    }

    fn unit(&self) -> String {
        self.entries()
            .find(|c| Some(&c.concentration) == self.concentration.as_ref())
            .or_else(|| self.entries().next())
            .map_or_else(|| "mg".to_owned(), |c| c.unit.clone())
    }

    fn entries(&self) -> impl Iterator<Item = &LibraryChoice> {
        let route = self.route.map(|r| r.to_string());
        let drug = self.drug.clone();
        self.library
            .iter()
            .filter(move |c| Some(&c.route) == route.as_ref())
            .filter(move |c| drug.as_ref().is_none_or(|d| *d == c.drug))
    }

    fn routes(&self) -> Vec<String> {
        let mut routes: Vec<String> = Vec::new();
        for c in &self.library {
            if !routes.contains(&c.route) {
                routes.push(c.route.clone());
            }
        }
        routes
    }

    fn drugs(&self) -> Vec<String> {
        let route = self.route.map(|r| r.to_string());
        let mut drugs: Vec<String> = Vec::new();
        for c in self
            .library
            .iter()
            .filter(|c| Some(&c.route) == route.as_ref())
        {
            if !drugs.contains(&c.drug) {
                drugs.push(c.drug.clone());
            }
        }
        drugs
    }

    fn concentrations(&self) -> Vec<String> {
        if self.drug.is_none() {
            return Vec::new();
        }
        self.entries().map(|c| c.concentration.clone()).collect()
    }

    /// A key of the on-screen keyboard or keypad: a character, "back" or "clear".
    pub fn key(&mut self, key: &str) -> Option<Request> {
        match self.step {
            Step::Patient => {
                edit(&mut self.patient, key, MAX_PATIENT_ID, |c| {
                    c.is_ascii_alphanumeric() || c == '-'
                });
                None
            }
            Step::Trial if self.tolerant() => {
                let before = self.ome_before.clone();
                edit(&mut self.ome_before, key, MAX_NUMBER, |c| {
                    c.is_ascii_digit() || c == '.'
                });
                if self.ome_before.matches('.').count() > 1 {
                    self.ome_before = before.clone();
                }
                (self.ome_before != before)
                    .then(|| self.changed())
                    .flatten()
            }
            Step::Program => {
                let selected = self.selected;
                let field = self.fields.iter_mut().find(|f| f.key == selected)?;
                let before = field.value.clone();
                let decimal = field.kind != Kind::Count;
                edit(&mut field.value, key, MAX_NUMBER, |c| {
                    c.is_ascii_digit() || (decimal && c == '.')
                });
                if field.value.matches('.').count() > 1 {
                    field.value = before.clone();
                }
                (field.value != before).then(|| self.changed()).flatten()
            }
            _ => None,
        }
    }

    /// Selects the program field the keypad writes into.
    pub fn select_field(&mut self, key: &str) {
        if let Some(f) = self.fields.iter().find(|f| f.key == key) {
            self.selected = f.key;
        }
    }

    /// A choice button: `group` is the row, `key` the option.
    pub fn choose(&mut self, group: &str, key: &str) -> Option<Request> {
        match group {
            "route" => {
                let route = match key {
                    "intrathecal" => Route::Intrathecal,
                    "epidural" => Route::Epidural,
                    _ => return None,
                };
                if self.route != Some(route) {
                    self.route = Some(route);
                    self.drug = None;
                    self.concentration = None;
                }
            }
            "kind" => {
                let kind = match key {
                    "continuous" => TrialKind::Continuous,
                    "single_bolus" => TrialKind::SingleBolus,
                    "multiple_bolus" => TrialKind::MultipleBolus,
                    _ => return None,
                };
                if self.kind != kind {
                    self.kind = kind;
                    self.fields = fields_for(kind);
                    self.selected = "reservoir";
                    if kind == TrialKind::SingleBolus {
                        self.days = 1;
                    }
                }
            }
            "baseline" => self.baseline = key.parse::<u8>().ok().filter(|p| *p <= 10),
            "catheter" => {
                self.catheter = Some(CATHETERS.iter().find(|c| c.0 == key)?.0);
            }
            "placed" => self.placed = Some(PLACED.iter().find(|p| p.0 == key)?.0),
            "opioids" => self.opioids = Some(OPIOIDS.iter().find(|o| o.0 == key)?.0),
            "outpatient" => {
                self.outpatient = match key {
                    "yes" => Some(true),
                    "no" => Some(false),
                    _ => return None,
                };
            }
            "drug" => {
                if self.drugs().iter().any(|d| d == key) && self.drug.as_deref() != Some(key) {
                    self.drug = Some(key.to_owned());
                    self.concentration = None;
                }
            }
            "concentration" => {
                if self.concentrations().iter().any(|c| c == key) {
                    self.concentration = Some(key.to_owned());
                }
            }
            // Confirming does not change the program: its findings stay.
            "confirm" => {
                self.confirmed = !self.confirmed;
                return None;
            }
            _ => return None,
        }
        self.changed()
    }

    /// A stepper's ◀ (−1) or ▶ (+1).
    pub fn stepper(&mut self, group: &str, delta: i32) -> Option<Request> {
        match group {
            "tip" => {
                let i = i64::try_from(self.level).unwrap_or(0) + i64::from(delta);
                self.level = usize::try_from(i.clamp(0, LEVELS.len() as i64 - 1)).unwrap_or(0);
            }
            "days" => {
                let d = i64::from(self.days) + i64::from(delta);
                self.days = u32::try_from(d.clamp(1, i64::from(MAX_DAYS))).unwrap_or(1);
            }
            _ => return None,
        }
        self.changed()
    }

    /// Something that changes the program changed: the old findings no longer apply.
    fn changed(&mut self) -> Option<Request> {
        self.generation += 1;
        self.checked = None;
        self.confirmed = false;
        self.error.clear();
        if self.step >= Step::Program {
            self.validate()
        } else {
            None
        }
    }

    fn validate(&self) -> Option<Request> {
        self.program().ok().map(|program| Request::Validate {
            generation: self.generation,
            program,
        })
    }

    /// The daemon's findings about the program of `generation`.
    pub fn set_findings(&mut self, generation: u64, class: &str, findings: Vec<Finding>) {
        if generation == self.generation {
            self.checked = Some(Checked {
                generation,
                class: class.to_owned(),
                findings,
                error: None,
            });
        }
    }

    /// The daemon could not read the program of `generation` (a number it cannot parse).
    pub fn set_invalid(&mut self, generation: u64, message: &str) {
        if generation == self.generation {
            self.checked = Some(Checked {
                generation,
                class: "hard".to_owned(),
                findings: Vec::new(),
                error: Some(message.to_owned()),
            });
        }
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

    /// The patient was opioid-tolerant before the trial.
    fn tolerant(&self) -> bool {
        self.opioids == Some("tolerant")
    }

    /// The catheter's type as the trial records it ("Intrathecal catheter, closed tip"); None
    /// when not recorded.
    fn catheter_type(&self) -> Option<String> {
        let route = self.route?;
        let (_, _, tip) = CATHETERS.iter().find(|c| Some(c.0) == self.catheter)?;
        (!tip.is_empty()).then(|| format!("{} catheter, {tip}", capitalise(&route.to_string())))
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
            return Some("Waiting for the pump…".to_owned());
        }
        match self.step {
            Step::Patient if self.patient.len() < 3 => {
                Some("Type the patient's ID (at least 3 characters).".to_owned())
            }
            Step::Route if self.route.is_none() => Some("Choose the route.".to_owned()),
            Step::Trial if self.baseline.is_none() => {
                Some("Ask the patient for their pain now (0–10).".to_owned())
            }
            Step::Trial if self.opioids.is_none() => Some(
                "Choose whether the patient took opioids before the trial (or Not recorded)."
                    .to_owned(),
            ),
            Step::Trial if self.tolerant() && self.ome_before.is_empty() => Some(
                "Enter the oral morphine equivalents the patient took per day before the trial."
                    .to_owned(),
            ),
            Step::Catheter if self.catheter.is_none() => {
                Some("Choose the catheter's type (or Not recorded).".to_owned())
            }
            Step::Catheter if self.placed.is_none() => {
                Some("Choose when the catheter was placed (or Not recorded).".to_owned())
            }
            Step::Catheter if self.kind == TrialKind::SingleBolus && self.outpatient.is_none() => {
                Some("Choose whether the patient goes home the same day.".to_owned())
            }
            Step::Drug if self.drug.is_none() => Some("Choose the drug.".to_owned()),
            Step::Concentration if self.concentration.is_none() => {
                Some("Choose the concentration on the syringe's label.".to_owned())
            }
            Step::Program | Step::Review => {
                if let Err(missing) = self.program() {
                    return Some(missing);
                }
                match self.checked() {
                    None => Some("Checking the program…".to_owned()),
                    Some(c) if c.class == "hard" => {
                        Some("A setting cannot be used (marked ✕): change it to go on.".to_owned())
                    }
                    Some(c)
                        if self.step == Step::Review && c.class == "soft" && !self.confirmed =>
                    {
                        Some("Confirm the settings marked ! to go on.".to_owned())
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

    /// The second nurse's PIN: program the trial.
    pub fn verify(&mut self, pin: &str) -> Option<Request> {
        if self.step != Step::Verify || self.busy {
            return None;
        }
        let program = self.program().ok()?;
        self.busy = true;
        self.error.clear();
        Some(Request::StartTrial {
            program,
            confirm: self.confirmed,
            verifier_pin: pin.to_owned(),
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

    /// The program as TOML (`[trial]` and `[program]`), or which entry is missing.
    pub fn program(&self) -> Result<String, String> {
        use toml::{Table, Value};
        let route = self.route.ok_or("Choose the route.")?;
        let drug = self.drug.clone().ok_or("Choose the drug.")?;
        let concentration = self
            .concentration
            .clone()
            .ok_or("Choose the concentration.")?;
        let unit = self.unit();
        for f in &self.fields {
            if f.value.is_empty() && !f.optional {
                return Err(format!("Enter the {}.", f.label.to_lowercase()));
            }
        }
        let s = |v: String| Value::String(v);
        let mut trial = Table::new();
        trial.insert("patient".into(), s(self.patient.clone()));
        trial.insert("route".into(), s(route.to_string()));
        trial.insert("kind".into(), s(self.kind.to_string()));
        trial.insert("duration".into(), s(format!("{}d", self.days)));
        trial.insert("catheter_tip".into(), s(LEVELS[self.level].to_owned()));
        if let Some(c) = self.catheter_type() {
            trial.insert("catheter".into(), s(c));
        }
        if let Some(p) = PLACED
            .iter()
            .find(|p| Some(p.0) == self.placed && !p.2.is_empty())
        {
            trial.insert("catheter_placed_before".into(), s(p.2.to_owned()));
        }
        if let Some(p) = self.baseline {
            trial.insert("baseline_pain".into(), Value::Integer(i64::from(p)));
        }
        if let Some(o) = OPIOIDS
            .iter()
            .find(|o| Some(o.0) == self.opioids && !o.2.is_empty())
        {
            trial.insert("opioid_status".into(), s(o.2.to_owned()));
            if self.tolerant() && !self.ome_before.is_empty() {
                trial.insert(
                    "ome_before".into(),
                    s(format!("{} mg/day", self.ome_before)),
                );
            }
        }
        if self.kind == TrialKind::SingleBolus {
            if let Some(home) = self.outpatient {
                trial.insert("outpatient".into(), Value::Boolean(home));
            }
        }
        let mut program = Table::new();
        program.insert("drug".into(), s(drug));
        program.insert("concentration".into(), s(concentration));
        program.insert(
            "reservoir".into(),
            s(format!("{} mL", self.value("reservoir"))),
        );
        let amount = |key: &str| format!("{} {unit}", self.value(key));
        match self.kind {
            TrialKind::Continuous => {
                program.insert(
                    "basal".into(),
                    s(format!("{} {unit}/day", self.value("basal"))),
                );
                if !self.value("pca_dose").is_empty() {
                    let mut pca = Table::new();
                    pca.insert("dose".into(), s(amount("pca_dose")));
                    pca.insert("lockout".into(), s(format!("{}min", self.value("lockout"))));
                    let per_hour = self.value("per_hour").parse::<i64>().map_err(|_| {
                        format!(
                            "Patient boluses per hour: \"{}\" is not a whole number.",
                            self.value("per_hour")
                        )
                    })?;
                    pca.insert("max_per_hour".into(), Value::Integer(per_hour));
                    program.insert("pca".into(), Value::Table(pca));
                }
                if !self.value("limit").is_empty() {
                    let mut limit = Table::new();
                    limit.insert("window".into(), s(format!("{LIMIT_WINDOW_HOURS}h")));
                    limit.insert("max".into(), s(amount("limit")));
                    program.insert("limit".into(), Value::Table(limit));
                }
            }
            TrialKind::SingleBolus | TrialKind::MultipleBolus => {
                let count = if self.kind == TrialKind::SingleBolus {
                    1
                } else {
                    self.value("count").parse::<u64>().map_err(|_| {
                        format!(
                            "Number of boluses: \"{}\" is not a whole number.",
                            self.value("count")
                        )
                    })?
                };
                let interval = self.value("interval");
                let mut boluses = Vec::new();
                for i in 0..count.min(50) {
                    let mut b = Table::new();
                    let at = if i == 0 {
                        "0h".to_owned()
                    } else {
                        // Decimal hours are written as a product the parser reads exactly.
                        format!("{}h", times(interval, i))
                    };
                    b.insert("at".into(), s(at));
                    b.insert("dose".into(), s(amount("bolus")));
                    boluses.push(Value::Table(b));
                }
                program.insert("boluses".into(), Value::Array(boluses));
                program.insert("observe".into(), s(format!("{}h", self.value("observe"))));
            }
        }
        let mut doc = Table::new();
        doc.insert("trial".into(), Value::Table(trial));
        doc.insert("program".into(), Value::Table(program));
        toml::to_string(&doc).map_err(|e| e.to_string())
    }

    /// The review: every setting, the dose per day first and per hour and mL/h after it.
    fn review_lines(&self) -> Vec<String> {
        let Ok(text) = self.program() else {
            return Vec::new();
        };
        let Ok(sc) = Scenario::from_toml_str(&text, "program") else {
            return vec!["The program cannot be read: go back and check the numbers.".to_owned()];
        };
        let unit = if self.unit() == "mcg" {
            MassUnit::Mcg
        } else {
            MassUnit::Mg
        };
        let (t, p) = (&sc.trial, &sc.program);
        let c = p.concentration;
        let mut lines = vec![
            format!(
                "Patient {} — {} catheter, tip at {}",
                t.patient,
                t.route,
                t.catheter_tip.as_deref().unwrap_or("?")
            ),
            format!(
                "{} trial for {}; pain before the trial {}/10",
                match t.kind {
                    TrialKind::Continuous => "Continuous",
                    TrialKind::SingleBolus => "Single-bolus",
                    TrialKind::MultipleBolus => "Multiple-bolus",
                },
                t.duration,
                t.baseline_pain.map_or("?".to_owned(), |b| b.to_string())
            ),
            format!("{} {}, syringe {}", p.drug, c.in_unit(unit), p.reservoir),
        ];
        lines.insert(1, catheter_line(t));
        lines.insert(3, opioid_line(t));
        if t.kind == TrialKind::Continuous {
            lines.push(format!(
                "Basal {} ({}, {})",
                p.basal.per_day_in(unit),
                p.basal.per_hour_in(unit),
                c.volume_rate(p.basal).per_hour()
            ));
        }
        match p.pca {
            Some(pca) => lines.push(format!(
                "Patient bolus {} ({}), lockout {}, at most {} per hour",
                pca.dose.in_unit(unit),
                c.volume_for(pca.dose),
                pca.lockout,
                pca.max_per_hour
            )),
            None if t.kind == TrialKind::Continuous => lines.push("No patient bolus".to_owned()),
            None => {}
        }
        if let Some(l) = p.limit {
            lines.push(format!(
                "At most {} in any {}",
                l.max.in_unit(unit),
                l.window
            ));
        }
        if let Some(first) = p.boluses.first() {
            let when = p
                .boluses
                .iter()
                .map(|b| b.at.to_string())
                .collect::<Vec<_>>()
                .join(", ");
            lines.push(format!(
                "Bolus {} ({}) at {when} after the start",
                first.dose.in_unit(unit),
                c.volume_for(first.dose)
            ));
        }
        if let Some(o) = p.observe {
            lines.push(format!("Observe the patient for {o} after each bolus"));
        }
        lines
    }

    fn notes(&self) -> Vec<NoteView> {
        let mut notes = Vec::new();
        if !self.error.is_empty() {
            notes.push(NoteView {
                class: "hard".to_owned(),
                text: self.error.clone(),
            });
        }
        if matches!(self.step, Step::Program | Step::Review) {
            if let Some(c) = self.checked() {
                if let Some(e) = &c.error {
                    notes.push(NoteView {
                        class: "hard".to_owned(),
                        text: e.clone(),
                    });
                }
                for f in &c.findings {
                    if f.class == "ok" {
                        continue;
                    }
                    // On the program step, the selected field's findings and those of no
                    // field; on the review, all of them.
                    let field = field_of(&f.field);
                    if self.step == Step::Program && field.is_some_and(|k| k != self.selected) {
                        continue;
                    }
                    notes.push(NoteView {
                        class: f.class.clone(),
                        text: format!("{} {}", if f.is_hard() { "✕" } else { "!" }, f.message),
                    });
                }
            }
        }
        if let Some(b) = self.blocker() {
            notes.push(NoteView {
                class: "info".to_owned(),
                text: b,
            });
        }
        notes
    }

    /// What the screen shows now.
    pub fn view(&self) -> WizardView {
        let option = |key: &str, label: &str, selected: bool| OptionView {
            key: key.to_owned(),
            label: label.to_owned(),
            selected,
        };
        let mut groups = Vec::new();
        match self.step {
            Step::Route => {
                groups.push(GroupView {
                    key: "route".to_owned(),
                    title: "Route".to_owned(),
                    value: String::new(),
                    options: self
                        .routes()
                        .iter()
                        .map(|r| {
                            option(
                                r,
                                &capitalise(r),
                                self.route.map(|x| x.to_string()).as_ref() == Some(r),
                            )
                        })
                        .collect(),
                });
                groups.push(GroupView {
                    key: "tip".to_owned(),
                    title: "Catheter tip at vertebral level".to_owned(),
                    value: LEVELS[self.level].to_owned(),
                    options: Vec::new(),
                });
            }
            Step::Trial => {
                groups.push(GroupView {
                    key: "kind".to_owned(),
                    title: "Kind of trial".to_owned(),
                    value: String::new(),
                    options: [
                        ("continuous", "Continuous"),
                        ("single_bolus", "Single bolus"),
                        ("multiple_bolus", "Several boluses"),
                    ]
                    .iter()
                    .map(|(k, l)| option(k, l, self.kind.to_string() == *k))
                    .collect(),
                });
                groups.push(GroupView {
                    key: "days".to_owned(),
                    title: "Length of the trial".to_owned(),
                    value: if self.days == 1 {
                        "1 day".to_owned()
                    } else {
                        format!("{} days", self.days)
                    },
                    options: Vec::new(),
                });
                groups.push(GroupView {
                    key: "baseline".to_owned(),
                    title: "Patient's pain now (0 none – 10 worst)".to_owned(),
                    value: String::new(),
                    options: (0..=10u8)
                        .map(|n| {
                            let k = n.to_string();
                            option(&k, &k, self.baseline == Some(n))
                        })
                        .collect(),
                });
                groups.push(GroupView {
                    key: "opioids".to_owned(),
                    title: "Opioids before the trial".to_owned(),
                    value: String::new(),
                    options: OPIOIDS
                        .iter()
                        .map(|(k, l, _)| option(k, l, self.opioids == Some(*k)))
                        .collect(),
                });
            }
            Step::Catheter => {
                groups.push(GroupView {
                    key: "catheter".to_owned(),
                    title: format!(
                        "{} catheter: its tip",
                        capitalise(&self.route.map(|r| r.to_string()).unwrap_or_default())
                    ),
                    value: String::new(),
                    options: CATHETERS
                        .iter()
                        .map(|(k, l, _)| option(k, l, self.catheter == Some(*k)))
                        .collect(),
                });
                groups.push(GroupView {
                    key: "placed".to_owned(),
                    title: "Catheter placed how long before the start of delivery".to_owned(),
                    value: String::new(),
                    options: PLACED
                        .iter()
                        .map(|(k, l, _)| option(k, l, self.placed == Some(*k)))
                        .collect(),
                });
                if self.kind == TrialKind::SingleBolus {
                    groups.push(GroupView {
                        key: "outpatient".to_owned(),
                        title: "Does the patient go home the same day?".to_owned(),
                        value: String::new(),
                        options: vec![
                            option("no", "No, stays in", self.outpatient == Some(false)),
                            option("yes", "Yes, goes home", self.outpatient == Some(true)),
                        ],
                    });
                }
            }
            Step::Drug => groups.push(GroupView {
                key: "drug".to_owned(),
                title: format!(
                    "Drugs the library lists for {} use",
                    self.route.map(|r| r.to_string()).unwrap_or_default()
                ),
                value: String::new(),
                options: self
                    .drugs()
                    .iter()
                    .map(|d| option(d, &capitalise(d), self.drug.as_ref() == Some(d)))
                    .collect(),
            }),
            Step::Concentration => groups.push(GroupView {
                key: "concentration".to_owned(),
                title: format!(
                    "Concentrations of {} the library lists",
                    self.drug.as_deref().unwrap_or("")
                ),
                value: String::new(),
                options: self
                    .concentrations()
                    .iter()
                    .map(|c| option(c, c, self.concentration.as_ref() == Some(c)))
                    .collect(),
            }),
            Step::Review if self.checked().is_some_and(|c| c.class == "soft") => {
                groups.push(GroupView {
                    key: "confirm".to_owned(),
                    title: String::new(),
                    value: String::new(),
                    options: vec![option(
                        "confirm",
                        "I confirm the settings marked !",
                        self.confirmed,
                    )],
                })
            }
            _ => {}
        }
        let unit = self.unit();
        let fields = if self.step == Step::Trial && self.tolerant() {
            vec![FieldView {
                key: OME_FIELD.to_owned(),
                label: OME_LABEL.to_owned(),
                value: self.ome_before.clone(),
                unit: "mg/day".to_owned(),
                mark: String::new(),
                selected: true,
            }]
        } else if self.step == Step::Program {
            self.fields
                .iter()
                .map(|f| FieldView {
                    key: f.key.to_owned(),
                    label: f.label.to_owned(),
                    value: f.value.clone(),
                    unit: match f.kind {
                        Kind::Millilitres => "mL".to_owned(),
                        Kind::Mass => unit.clone(),
                        Kind::MassPerDay => format!("{unit}/day"),
                        Kind::Minutes => "min".to_owned(),
                        Kind::Hours => "h".to_owned(),
                        Kind::Count => String::new(),
                    },
                    mark: self.mark(f.key),
                    selected: f.key == self.selected,
                })
                .collect()
        } else {
            Vec::new()
        };
        let lines = match self.step {
            Step::Review => self.review_lines(),
            Step::Load => vec![
                format!("Take the syringe: {}.", self.loaded),
                "Check its label against this line with the second nurse.".to_owned(),
                "Put it in the pump and close the cover.".to_owned(),
            ],
            Step::Prime => vec![
                "The line is not connected to the patient yet.".to_owned(),
                "The pump pushes the priming volume through the line: watch for a drop at its end."
                    .to_owned(),
            ],
            Step::Start => vec![
                "The line is primed. Connect it to the patient's catheter.".to_owned(),
                "Then start delivery.".to_owned(),
            ],
            _ => Vec::new(),
        };
        let next_label = match self.step {
            Step::Review => "Verify",
            Step::Load => "Syringe is in",
            Step::Prime => "Prime the line",
            Step::Start => "Start delivery",
            _ => "Next",
        };
        WizardView {
            step: self.step.index() + 1,
            steps: Step::ALL.len(),
            title: self.step.title().to_owned(),
            layout: self.step.layout().to_owned(),
            text: self.patient.clone(),
            groups,
            fields,
            notes: self.notes(),
            lines,
            can_next: self.blocker().is_none() && self.step != Step::Verify,
            next_label: next_label.to_owned(),
            can_back: !self.busy && self.step > Step::Patient && self.step <= Step::Verify,
            busy: self.busy,
        }
    }

    /// The worst finding about a field: "", "ok", "soft" or "hard".
    fn mark(&self, key: &str) -> String {
        let Some(c) = self.checked() else {
            return String::new();
        };
        if c.error.is_some() {
            return String::new();
        }
        let worst = c
            .findings
            .iter()
            .filter(|f| field_of(&f.field) == Some(key))
            .map(|f| f.class.as_str())
            .max_by_key(|class| match *class {
                "hard" => 2,
                "soft" => 1,
                _ => 0,
            });
        worst.unwrap_or("ok").to_owned()
    }
}

/// The review's line about the catheter: its type, when it was placed and, for a single bolus,
/// whether the patient goes home the same day.
fn catheter_line(t: &crate::core::program::Trial) -> String {
    let kind = t
        .catheter
        .clone()
        .unwrap_or_else(|| "Catheter type not recorded".to_owned());
    let placed = match t.catheter_placed_before {
        Some(d) if d.is_zero() => "placed at the start".to_owned(),
        Some(d) => format!("placed {d} before the start"),
        None => "placement time not recorded".to_owned(),
    };
    let home = match (t.kind, t.outpatient) {
        (TrialKind::SingleBolus, true) => {
            "; goes home the same day (a responsible adult must be with them)"
        }
        (TrialKind::SingleBolus, false) => "; stays in after the bolus",
        _ => "",
    };
    format!("{kind}, {placed}{home}")
}

/// The review's line about the patient's opioids before the trial.
fn opioid_line(t: &crate::core::program::Trial) -> String {
    use crate::core::program::OpioidStatus;
    match (t.opioid_status, t.ome_before) {
        (None, _) => {
            "Opioids before the trial not recorded (the opioid-naive starting ranges apply)"
                .to_owned()
        }
        (Some(OpioidStatus::Naive), _) => "Opioid-naive before the trial".to_owned(),
        (Some(OpioidStatus::Tolerant), Some(ome)) => format!(
            "Opioid-tolerant before the trial: {} oral morphine equivalents",
            ome.per_day_in(MassUnit::Mg)
        ),
        (Some(OpioidStatus::Tolerant), None) => {
            "Opioid-tolerant before the trial: oral morphine equivalents not entered".to_owned()
        }
    }
}

/// Which wizard field a finding's field names (None: the program as a whole).
fn field_of(finding_field: &str) -> Option<&'static str> {
    let f = finding_field.strip_prefix("program.")?;
    Some(match f {
        "reservoir" => "reservoir",
        "basal" | "kvo" => "basal",
        "pca" | "pca.dose" => "pca_dose",
        "pca.lockout" => "lockout",
        "pca.max_per_hour" => "per_hour",
        "observe" => "observe",
        _ if f.starts_with("limit") => "limit",
        _ if f.starts_with("boluses") => "bolus",
        _ => return None,
    })
}

/// `value` × `n` for a decimal text, exactly (no floats): "1.5" × 3 = "4.5".
fn times(value: &str, n: u64) -> String {
    let (whole, frac) = value.split_once('.').unwrap_or((value, ""));
    let digits = format!("{whole}{frac}");
    let Ok(units) = digits.parse::<u128>() else {
        return value.to_owned();
    };
    let product = (units * u128::from(n)).to_string();
    if frac.is_empty() {
        return product;
    }
    let padded = format!("{product:0>width$}", width = frac.len() + 1);
    let (w, f) = padded.split_at(padded.len() - frac.len());
    format!("{w}.{f}")
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}

/// Applies a key to a text: "back" removes the last character, "clear" empties it, anything
/// else is appended when every character passes `allowed` and there is room.
fn edit(text: &mut String, key: &str, max: usize, allowed: impl Fn(char) -> bool) {
    match key {
        "back" => {
            text.pop();
        }
        "clear" => text.clear(),
        k if !k.is_empty() && k.chars().all(&allowed) && text.len() + k.len() <= max => {
            text.push_str(&k.to_uppercase());
        }
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library() -> Vec<LibraryChoice> {
        let c = |drug: &str, route: &str, concentration: &str, unit: &str| LibraryChoice {
            drug: drug.to_owned(),
            route: route.to_owned(),
            concentration: concentration.to_owned(),
            unit: unit.to_owned(),
        };
        vec![
            c("morphine", "intrathecal", "1 mg/mL", "mg"),
            c("morphine", "intrathecal", "2 mg/mL", "mg"),
            c("morphine", "epidural", "1 mg/mL", "mg"),
            c("clonidine", "intrathecal", "150 mcg/mL", "mcg"),
        ]
    }

    fn type_text(w: &mut Wizard, text: &str) -> Option<Request> {
        let mut last = None;
        for ch in text.chars() {
            last = w.key(&ch.to_string()).or(last);
        }
        last
    }

    /// A wizard at the program step with morphine 1 mg/mL intrathecal.
    fn at_program() -> Wizard {
        let mut w = Wizard::new();
        w.set_library(library());
        type_text(&mut w, "mrn-42");
        assert_eq!(w.go_on(), None);
        w.choose("route", "intrathecal");
        w.go_on();
        w.choose("baseline", "8");
        w.choose("opioids", "naive");
        w.go_on();
        w.choose("catheter", "closed");
        w.choose("placed", "2h");
        w.go_on();
        w.choose("drug", "morphine");
        w.go_on();
        w.choose("concentration", "1 mg/mL");
        assert!(w.go_on().is_none(), "no program yet: basal is empty");
        assert_eq!(w.step(), Step::Program);
        w
    }

    #[test]
    fn each_step_waits_for_what_it_needs() {
        let mut w = Wizard::new();
        w.set_library(library());
        w.go_on();
        assert_eq!(w.step(), Step::Patient, "no patient ID yet");
        assert!(!w.view().can_next);
        type_text(&mut w, "m$1");
        assert_eq!(w.view().text, "M1", "only letters, digits and '-'");
        type_text(&mut w, "-7");
        w.go_on();
        assert_eq!(w.step(), Step::Route);
        w.go_on();
        assert_eq!(w.step(), Step::Route, "no route yet");
        w.choose("route", "epidural");
        w.stepper("tip", -100);
        assert_eq!(w.view().groups[1].value, "C1");
        w.stepper("tip", 100);
        assert_eq!(w.view().groups[1].value, "S1");
        w.go_on();
        w.stepper("days", 99);
        assert_eq!(w.view().groups[1].value, "14 days");
        w.go_on();
        assert_eq!(w.step(), Step::Trial, "baseline pain not asked yet");
        w.choose("baseline", "11");
        w.go_on();
        assert_eq!(w.step(), Step::Trial, "11 is not a pain score");
        w.choose("baseline", "3");
        w.go_on();
        assert_eq!(
            w.step(),
            Step::Trial,
            "opioids before the trial not asked yet"
        );
        w.choose("opioids", "morphine");
        assert!(!w.view().can_next, "not a choice");
        w.choose("opioids", "none");
        w.go_on();
        assert_eq!(w.step(), Step::Catheter);
        w.go_on();
        assert_eq!(w.step(), Step::Catheter, "no catheter type yet");
        w.choose("catheter", "none");
        w.go_on();
        assert_eq!(w.step(), Step::Catheter, "no placement time yet");
        w.choose("placed", "none");
        w.go_on();
        let drugs: Vec<String> = w.view().groups[0]
            .options
            .iter()
            .map(|o| o.key.clone())
            .collect();
        assert_eq!(
            drugs,
            ["morphine"],
            "only the drugs listed for epidural use"
        );
        w.choose("drug", "clonidine");
        assert!(
            !w.view().can_next,
            "clonidine is not listed for epidural use"
        );
    }

    #[test]
    fn the_program_is_built_from_the_fields_and_checked_as_it_is_typed() {
        let mut w = at_program();
        w.select_field("basal");
        let request = type_text(&mut w, "0.5");
        let Some(Request::Validate {
            generation,
            program,
        }) = request
        else {
            panic!("typing a complete program asks the daemon to check it: {request:?}");
        };
        let sc = Scenario::from_toml_str(&program, "program").unwrap();
        assert_eq!(sc.program.basal.to_string(), "0.5 mg/day");
        assert_eq!(sc.program.reservoir.to_string(), "20 mL");
        assert_eq!(sc.trial.patient, "MRN-42");
        assert_eq!(sc.trial.catheter_tip.as_deref(), Some("T10"));
        assert_eq!(sc.trial.baseline_pain, Some(8));
        assert!(
            sc.program.pca.is_none(),
            "an empty patient bolus means none"
        );
        assert!(!w.view().can_next, "not checked yet");
        // A stale answer is ignored; the current one unlocks Next.
        w.set_findings(generation - 1, "ok", vec![]);
        assert!(!w.view().can_next);
        w.set_findings(generation, "ok", vec![]);
        assert!(w.view().can_next);
        assert_eq!(w.view().fields[1].mark, "ok");
    }

    #[test]
    fn findings_sit_beside_their_field_and_a_hard_one_blocks() {
        let mut w = at_program();
        w.select_field("basal");
        let Some(Request::Validate { generation, .. }) = type_text(&mut w, "50") else {
            panic!()
        };
        let finding = |field: &str, class: &str, text: &str| Finding {
            field: field.to_owned(),
            value: String::new(),
            limit: String::new(),
            class: class.to_owned(),
            message: text.to_owned(),
            source: String::new(),
        };
        w.set_findings(
            generation,
            "hard",
            vec![
                finding(
                    "program.basal",
                    "hard",
                    "Basal rate 50 mg/day is above 20 mg/day.",
                ),
                finding("program.reservoir", "soft", "Plan a reservoir change."),
            ],
        );
        let v = w.view();
        assert!(!v.can_next);
        assert_eq!(v.fields[0].mark, "soft");
        assert_eq!(v.fields[1].mark, "hard");
        let texts: Vec<&str> = v.notes.iter().map(|n| n.text.as_str()).collect();
        assert!(
            texts.contains(&"✕ Basal rate 50 mg/day is above 20 mg/day."),
            "{texts:?}"
        );
        assert!(
            !texts.iter().any(|t| t.contains("reservoir change")),
            "another field's finding shows when that field is selected"
        );
        w.select_field("reservoir");
        assert!(
            w.view()
                .notes
                .iter()
                .any(|n| n.text == "! Plan a reservoir change.")
        );
    }

    #[test]
    fn soft_findings_need_confirming_on_the_review() {
        let mut w = at_program();
        w.select_field("basal");
        let Some(Request::Validate { generation, .. }) = type_text(&mut w, "16") else {
            panic!()
        };
        let soft = Finding {
            field: "program.basal".to_owned(),
            value: "16 mg/day".to_owned(),
            limit: "15 mg/day".to_owned(),
            class: "soft".to_owned(),
            message: "Above the usual maximum.".to_owned(),
            source: String::new(),
        };
        w.set_findings(generation, "soft", vec![soft]);
        w.go_on();
        assert_eq!(w.step(), Step::Review);
        let v = w.view();
        assert!(!v.can_next);
        assert_eq!(v.lines[3], "Opioid-naive before the trial");
        assert_eq!(v.lines[5], "Basal 16 mg/day (0.6667 mg/h, 0.6667 mL/h)");
        assert_eq!(v.groups[0].key, "confirm");
        assert_eq!(w.choose("confirm", "confirm"), None);
        assert!(
            w.view().can_next,
            "confirmed: the findings stay those of the same program"
        );
        w.go_on();
        assert_eq!(w.step(), Step::Verify);
        assert!(matches!(
            w.verify("5678"),
            Some(Request::StartTrial { confirm: true, .. })
        ));
    }

    #[test]
    fn the_second_nurse_programs_the_trial_then_load_prime_start() {
        let mut w = at_program();
        w.select_field("basal");
        let Some(Request::Validate { generation, .. }) = type_text(&mut w, "1") else {
            panic!()
        };
        w.set_findings(generation, "ok", vec![]);
        w.go_on();
        w.go_on();
        assert_eq!(w.step(), Step::Verify);
        assert!(!w.view().can_next, "the PIN pad goes on, not Next");
        let Some(Request::StartTrial {
            confirm,
            verifier_pin,
            ..
        }) = w.verify("5678")
        else {
            panic!()
        };
        assert!(!confirm);
        assert_eq!(verifier_pin, "5678");
        assert_eq!(w.verify("5678"), None, "one request at a time");
        w.failed("The second PIN must be another person's.");
        assert_eq!(w.step(), Step::Verify);
        assert!(w.view().notes[0].text.contains("another person"));
        assert!(w.verify("2468").is_some());
        w.done();
        assert_eq!(w.step(), Step::Load);
        assert!(w.view().lines[0].contains("morphine 1 mg/mL, 20 mL"));
        w.back();
        assert_eq!(
            w.step(),
            Step::Load,
            "no way back once the daemon holds the trial"
        );
        assert_eq!(w.go_on(), None);
        assert_eq!(w.step(), Step::Prime);
        assert_eq!(w.go_on(), Some(Request::Prime));
        assert_eq!(w.go_on(), None, "one request at a time");
        w.failed("Priming refused: the syringe is not in place.");
        assert_eq!(w.step(), Step::Prime);
        assert_eq!(w.go_on(), Some(Request::Prime));
        w.done();
        assert_eq!(w.step(), Step::Start);
        assert_eq!(w.go_on(), Some(Request::Start));
        assert_eq!(w.done(), Some(Request::Close));
    }

    #[test]
    fn bolus_trials_schedule_their_boluses_exactly() {
        let mut w = at_program();
        // Back to the kind of trial: several boluses 1.5 h apart.
        for _ in 0..4 {
            w.back();
        }
        assert_eq!(w.step(), Step::Trial);
        w.choose("kind", "multiple_bolus");
        for _ in 0..4 {
            w.go_on();
        }
        assert_eq!(w.step(), Step::Program);
        w.select_field("bolus");
        type_text(&mut w, "0.1");
        w.select_field("count");
        w.key("back");
        type_text(&mut w, "3");
        w.select_field("interval");
        w.key("clear");
        type_text(&mut w, "1.5");
        let text = w.program().unwrap();
        let sc = Scenario::from_toml_str(&text, "program").unwrap();
        let at: Vec<String> = sc
            .program
            .boluses
            .iter()
            .map(|b| b.at.to_string())
            .collect();
        assert_eq!(at, ["0s", "1h 30min", "3h"]);
        assert_eq!(
            sc.program.observe.map(|o| o.to_string()).as_deref(),
            Some("1d")
        );
        assert_eq!(times("0.25", 3), "0.75");
        assert_eq!(times("12", 4), "48");
        assert_eq!(times("1.5", 10), "15.0");
    }

    #[test]
    fn the_catheter_step_writes_its_type_and_placement_into_the_trial() {
        let mut w = at_program();
        w.select_field("basal");
        type_text(&mut w, "1");
        let text = w.program().unwrap();
        assert!(
            text.contains("catheter = \"Intrathecal catheter, closed tip\""),
            "{text}"
        );
        assert!(text.contains("catheter_placed_before = \"2h\""), "{text}");
        assert!(
            !text.contains("outpatient"),
            "asked for single boluses only: {text}"
        );
        let sc = Scenario::from_toml_str(&text, "program").unwrap();
        assert_eq!(
            sc.trial.catheter.as_deref(),
            Some("Intrathecal catheter, closed tip")
        );
        assert_eq!(
            sc.trial
                .catheter_placed_before
                .map(|d| d.to_string())
                .as_deref(),
            Some("2h")
        );
        assert_eq!(
            catheter_line(&sc.trial),
            "Intrathecal catheter, closed tip, placed 2h before the start"
        );
        // "At the start" is a time; "Not recorded" writes nothing.
        w.choose("placed", "0h");
        w.choose("catheter", "none");
        let text = w.program().unwrap();
        assert!(text.contains("catheter_placed_before = \"0h\""), "{text}");
        assert!(!text.contains("catheter ="), "{text}");
        let sc = Scenario::from_toml_str(&text, "program").unwrap();
        assert_eq!(
            catheter_line(&sc.trial),
            "Catheter type not recorded, placed at the start"
        );
        w.choose("placed", "none");
        assert!(!w.program().unwrap().contains("catheter_placed_before"));
        assert_eq!(w.choose("catheter", "wire"), None, "not a preset");
        assert!(!w.program().unwrap().contains("catheter ="));
    }

    #[test]
    fn a_single_bolus_asks_whether_the_patient_goes_home() {
        let mut w = Wizard::new();
        w.set_library(library());
        type_text(&mut w, "MRN-1");
        w.go_on();
        w.choose("route", "epidural");
        w.go_on();
        w.choose("kind", "single_bolus");
        w.choose("baseline", "6");
        w.choose("opioids", "none");
        w.go_on();
        assert_eq!(w.step(), Step::Catheter);
        w.choose("catheter", "open");
        w.choose("placed", "1h");
        let v = w.view();
        assert_eq!(v.groups.len(), 3);
        assert_eq!(v.groups[0].title, "Epidural catheter: its tip");
        assert_eq!(v.groups[2].key, "outpatient");
        assert!(!v.can_next, "going home is asked, never assumed");
        assert!(
            v.notes
                .iter()
                .any(|n| n.text == "Choose whether the patient goes home the same day.")
        );
        w.choose("outpatient", "yes");
        w.go_on();
        assert_eq!(w.step(), Step::Drug);
        w.choose("drug", "morphine");
        w.go_on();
        w.choose("concentration", "1 mg/mL");
        w.go_on();
        w.select_field("bolus");
        type_text(&mut w, "0.1");
        let text = w.program().unwrap();
        let sc = Scenario::from_toml_str(&text, "program").unwrap();
        assert!(sc.trial.outpatient);
        assert_eq!(
            sc.trial.catheter.as_deref(),
            Some("Epidural catheter, open tip")
        );
        assert_eq!(
            catheter_line(&sc.trial),
            "Epidural catheter, open tip, placed 1h before the start; goes home the same day (a responsible adult must be with them)"
        );
        w.choose("outpatient", "no");
        assert!(
            !Scenario::from_toml_str(&w.program().unwrap(), "p")
                .unwrap()
                .trial
                .outpatient
        );
        // A continuous trial never writes it, whatever was answered for a bolus.
        w.choose("outpatient", "yes");
        w.choose("kind", "continuous");
        w.select_field("basal");
        type_text(&mut w, "1");
        let text = w.program().unwrap();
        assert!(!text.contains("outpatient"), "{text}");
    }
    #[test]
    fn the_trial_step_asks_for_opioids_before_the_trial() {
        let mut w = Wizard::new();
        w.set_library(library());
        type_text(&mut w, "MRN-5");
        w.go_on();
        w.choose("route", "intrathecal");
        w.go_on();
        w.choose("baseline", "7");
        let v = w.view();
        let opioids = v.groups.iter().find(|g| g.key == "opioids").unwrap();
        assert_eq!(opioids.title, "Opioids before the trial");
        let labels: Vec<&str> = opioids.options.iter().map(|o| o.label.as_str()).collect();
        assert_eq!(labels, ["Not recorded", "Opioid-naive", "Opioid-tolerant"]);
        assert!(v.fields.is_empty(), "no number asked until tolerant");
        assert!(!v.can_next, "asked, never assumed");
        // Tolerant: the oral morphine equivalents are needed, typed on the keypad.
        w.choose("opioids", "tolerant");
        let v = w.view();
        assert_eq!(v.fields.len(), 1);
        assert_eq!(v.fields[0].key, OME_FIELD);
        assert_eq!(v.fields[0].unit, "mg/day");
        assert!(v.fields[0].selected);
        assert!(!v.can_next);
        assert!(
            v.notes
                .iter()
                .any(|n| n.text.starts_with("Enter the oral morphine equivalents"))
        );
        for k in ["1", "2", ".", ".", "5", "back", "back", "0"] {
            w.key(k);
        }
        assert_eq!(w.view().fields[0].value, "120", "one decimal point at most");
        assert!(w.view().can_next);
        w.go_on();
        w.choose("catheter", "none");
        w.choose("placed", "none");
        w.go_on();
        w.choose("drug", "morphine");
        w.go_on();
        w.choose("concentration", "1 mg/mL");
        w.go_on();
        assert_eq!(w.step(), Step::Program);
        assert!(w.view().fields.iter().all(|f| f.key != OME_FIELD));
        w.select_field("basal");
        type_text(&mut w, "2");
        let text = w.program().unwrap();
        assert!(text.contains("opioid_status = \"tolerant\""), "{text}");
        assert!(text.contains("ome_before = \"120 mg/day\""), "{text}");
        let sc = Scenario::from_toml_str(&text, "program").unwrap();
        assert_eq!(
            sc.trial.opioid_status,
            Some(crate::core::program::OpioidStatus::Tolerant)
        );
        assert_eq!(
            sc.trial.ome_before.map(|r| r.to_string()).as_deref(),
            Some("120 mg/day")
        );
        assert_eq!(
            opioid_line(&sc.trial),
            "Opioid-tolerant before the trial: 120 mg/day oral morphine equivalents"
        );
        // Naive writes the status only (the number typed for tolerant is not sent); Not
        // recorded writes neither.
        w.choose("opioids", "naive");
        let text = w.program().unwrap();
        assert!(text.contains("opioid_status = \"naive\""), "{text}");
        assert!(!text.contains("ome_before"), "{text}");
        w.choose("opioids", "none");
        let text = w.program().unwrap();
        assert!(!text.contains("opioid_status"), "{text}");
        let sc = Scenario::from_toml_str(&text, "program").unwrap();
        assert_eq!(sc.trial.opioid_status, None);
        assert_eq!(
            opioid_line(&sc.trial),
            "Opioids before the trial not recorded (the opioid-naive starting ranges apply)"
        );
    }
}
