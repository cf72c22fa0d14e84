//! What the wizard's screen shows for the step it is at: its choices, its fields with the worst
//! finding beside each, its notes (findings and what is still to do), its lines and buttons.

use crate::core::finding::Class;
use crate::core::library::Route;
use crate::core::program::TrialKind;
use crate::core::tr;
use crate::ui::present::class_of;

use super::program::recorded_catheter;
use super::{CATHETERS, LEVELS, OME_FIELD, OPIOIDS, PLACED, Step, Wizard};

/// How the screen draws a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Layout {
    /// The patient ID's keyboard.
    #[default]
    Keyboard,
    /// Rows of choices (and steppers).
    Choices,
    /// The program's fields with the keypad.
    Fields,
    /// Every setting in words.
    Review,
    /// The second person's name and PIN pad.
    Pin,
    /// What to do (load, prime, start) and the button that does it.
    Action,
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

/// The narrower display's room for a row of choices, px (720 px less the margins and the
/// scroll bar).
const ROW_ROOM_PX: usize = 682;

/// A choice button's width, estimated: its words at 22 px bold (DejaVu Sans's digits and
/// lower case are 13 to 15 px wide there), its 24 px of padding, at least 52 px; and the 6 px
/// between buttons.
fn option_width_px(label: &str) -> usize {
    (label.chars().count() * 14 + 24).max(52) + 6
}

/// The choices in rows that fit the display: as few rows as they need, each with as many
/// choices as the others (give or take one), in their order. The fit test (tests/ui_fit.rs)
/// measures what this estimates.
pub fn option_rows(options: &[OptionView]) -> Vec<Vec<OptionView>> {
    let fits = |row: &[OptionView]| {
        row.iter().map(|o| option_width_px(&o.label)).sum::<usize>() <= ROW_ROOM_PX + 6
    };
    let per_row = (1..=options.len())
        .map(|rows| options.len().div_ceil(rows))
        .find(|&per| options.chunks(per).all(fits))
        .unwrap_or(1);
    options
        .chunks(per_row.max(1))
        .map(<[OptionView]>::to_vec)
        .collect()
}

/// A program field as shown: its value, unit and the worst finding about it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FieldView {
    pub key: String,
    pub label: String,
    pub value: String,
    pub unit: String,
    /// The worst finding about it (None: not checked yet).
    pub mark: Option<Class>,
    pub selected: bool,
}

/// What a note is: a finding that needs confirming or that refuses, or a hint.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoteKind {
    #[default]
    Info,
    Soft,
    Hard,
}

/// A finding or a hint.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NoteView {
    pub kind: NoteKind,
    pub text: String,
}

/// Everything the wizard screen shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WizardView {
    pub step: usize,
    pub steps: usize,
    pub title: String,
    pub layout: Layout,
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

fn option(key: &str, label: &str, selected: bool) -> OptionView {
    OptionView {
        key: key.to_owned(),
        label: label.to_owned(),
        selected,
    }
}

/// A row of choices.
fn choices(key: &str, title: String, options: Vec<OptionView>) -> GroupView {
    GroupView {
        key: key.to_owned(),
        title,
        value: String::new(),
        options,
    }
}

/// A stepper showing `value`.
fn stepper(key: &str, title: &str, value: String) -> GroupView {
    GroupView {
        key: key.to_owned(),
        title: title.to_owned(),
        value,
        options: Vec::new(),
    }
}

impl Wizard {
    /// What the screen shows now.
    pub fn view(&self) -> WizardView {
        WizardView {
            step: self.step.index() + 1,
            steps: Step::ALL.len(),
            title: self.step.title().to_owned(),
            layout: self.step.layout(),
            text: self.patient.clone(),
            groups: self.groups(),
            fields: self.field_views(),
            notes: self.notes(),
            lines: self.lines(),
            can_next: self.blocker().is_none() && self.step != Step::Verify,
            next_label: self.next_label().to_owned(),
            can_back: !self.busy && self.step > Step::Patient && self.step <= Step::Verify,
            busy: self.busy,
        }
    }

    /// The step's rows of choices and steppers.
    fn groups(&self) -> Vec<GroupView> {
        match self.step {
            Step::Route => self.route_groups(),
            Step::Trial => self.trial_groups(),
            Step::Catheter => self.catheter_groups(),
            Step::Drug => vec![choices(
                "drug",
                tr!(
                    "Drugs the library lists for {route} use",
                    route = route_words(&self.route.map(|r| r.to_string()).unwrap_or_default())
                ),
                self.drugs()
                    .iter()
                    .map(|d| option(d, &capitalise(d), self.drug.as_ref() == Some(d)))
                    .collect(),
            )],
            Step::Concentration => vec![choices(
                "concentration",
                tr!(
                    "Concentrations of {drug} the library lists",
                    drug = self.drug.as_deref().unwrap_or("")
                ),
                self.concentrations()
                    .iter()
                    .map(|c| option(c, c, self.concentration.as_ref() == Some(c)))
                    .collect(),
            )],
            Step::Review if self.checked().is_some_and(|c| c.class == Some(Class::Soft)) => {
                vec![choices(
                    "confirm",
                    String::new(),
                    vec![option(
                        "confirm",
                        tr!("I confirm the settings marked !"),
                        self.confirmed,
                    )],
                )]
            }
            _ => Vec::new(),
        }
    }

    fn route_groups(&self) -> Vec<GroupView> {
        let route = self.route.map(|x| x.to_string());
        vec![
            choices(
                "route",
                tr!("Route").to_owned(),
                self.routes()
                    .iter()
                    .map(|r| option(r, &capitalise(route_words(r)), route.as_ref() == Some(r)))
                    .collect(),
            ),
            stepper(
                "tip",
                tr!("Catheter tip at vertebral level"),
                LEVELS[self.level].to_owned(),
            ),
        ]
    }

    fn trial_groups(&self) -> Vec<GroupView> {
        let kinds = [
            ("continuous", tr!("Continuous")),
            ("single_bolus", tr!("Single bolus")),
            ("multiple_bolus", tr!("Several boluses")),
        ];
        vec![
            choices(
                "kind",
                tr!("Kind of trial").to_owned(),
                kinds
                    .iter()
                    .map(|(k, l)| option(k, l, self.kind.to_string() == *k))
                    .collect(),
            ),
            stepper(
                "days",
                tr!("Length of the trial"),
                crate::ui::present::chart::days(u64::from(self.days)),
            ),
            choices(
                "baseline",
                tr!("Patient's pain now (0 none – 10 worst)").to_owned(),
                (0..=10u8)
                    .map(|n| {
                        let k = n.to_string();
                        option(&k, &k, self.baseline == Some(n))
                    })
                    .collect(),
            ),
            choices(
                "opioids",
                tr!("Opioids before the trial").to_owned(),
                OPIOIDS
                    .iter()
                    .map(|(k, l, _)| option(k, l(), self.opioids == Some(*k)))
                    .collect(),
            ),
        ]
    }

    fn catheter_groups(&self) -> Vec<GroupView> {
        let mut groups = vec![
            choices(
                "catheter",
                tr!(
                    "{catheter}: its tip",
                    catheter = self.route.map_or_else(
                        || tr!("Catheter").to_owned(),
                        |r| capitalise(route_catheter(r))
                    )
                ),
                CATHETERS
                    .iter()
                    .map(|(k, l, _)| option(k, l(), self.catheter == Some(*k)))
                    .collect(),
            ),
            choices(
                "placed",
                tr!("Catheter placed how long before the start of delivery").to_owned(),
                PLACED
                    .iter()
                    .map(|(k, l, _)| option(k, l(), self.placed == Some(*k)))
                    .collect(),
            ),
        ];
        if self.kind == TrialKind::SingleBolus {
            groups.push(choices(
                "outpatient",
                tr!("Does the patient go home the same day?").to_owned(),
                vec![
                    option("no", tr!("No, stays in"), self.outpatient == Some(false)),
                    option("yes", tr!("Yes, goes home"), self.outpatient == Some(true)),
                ],
            ));
        }
        groups
    }

    /// The fields the keypad writes into: an opioid-tolerant patient's oral morphine
    /// equivalents on the trial step, the program's fields on the program step.
    fn field_views(&self) -> Vec<FieldView> {
        if self.step == Step::Trial && self.tolerant() {
            vec![FieldView {
                key: OME_FIELD.to_owned(),
                label: tr!("Oral morphine equivalents").to_owned(),
                value: self.ome_before.clone(),
                unit: "mg/day".to_owned(),
                mark: None,
                selected: true,
            }]
        } else if self.step == Step::Program {
            let unit = self.unit();
            self.fields
                .iter()
                .map(|f| FieldView {
                    key: f.key.to_owned(),
                    label: f.label.to_owned(),
                    value: f.value.clone(),
                    unit: f.kind.unit(unit),
                    mark: self.mark(f.key),
                    selected: f.key == self.selected,
                })
                .collect()
        } else {
            Vec::new()
        }
    }

    /// The step's lines: the review, or what to do at the load, prime and start steps.
    fn lines(&self) -> Vec<String> {
        match self.step {
            Step::Review => self.review_lines(),
            Step::Load => vec![
                tr!("Take the syringe: {what}.", what = self.loaded),
                tr!("Check its label against this line with the second person.").to_owned(),
                tr!("Put it in the pump and close the cover.").to_owned(),
            ],
            Step::Prime => vec![
                tr!("The line is not connected to the patient yet.").to_owned(),
                tr!(
                    "The pump pushes the priming volume through the line: watch for a drop at \
                     its end."
                )
                .to_owned(),
            ],
            Step::Start => vec![
                tr!("The line is primed. Connect it to the patient's catheter.").to_owned(),
                tr!("Then start delivery.").to_owned(),
            ],
            _ => Vec::new(),
        }
    }

    fn next_label(&self) -> &'static str {
        match self.step {
            Step::Review => tr!("Verify"),
            Step::Load => tr!("Syringe is in"),
            Step::Prime => tr!("Prime the line"),
            Step::Start => tr!("Start delivery"),
            _ => tr!("Next"),
        }
    }

    /// The refusal of the last request, the daemon's findings about the program, and what is
    /// still to do.
    fn notes(&self) -> Vec<NoteView> {
        let mut notes = Vec::new();
        if !self.error.is_empty() {
            notes.push(NoteView {
                kind: NoteKind::Hard,
                text: self.error.clone(),
            });
        }
        if matches!(self.step, Step::Program | Step::Review) {
            if let Some(c) = self.checked() {
                if let Some(e) = &c.error {
                    notes.push(NoteView {
                        kind: NoteKind::Hard,
                        text: e.clone(),
                    });
                }
                for f in &c.findings {
                    let kind = match class_of(&f.class) {
                        Some(Class::Ok) => continue,
                        Some(Class::Hard) => NoteKind::Hard,
                        // A class the wizard does not know is shown, as one to read.
                        Some(Class::Soft) | None => NoteKind::Soft,
                    };
                    // On the program step, the selected field's findings and those of no
                    // field; on the review, all of them.
                    let field = field_of(&f.field);
                    if self.step == Step::Program && field.is_some_and(|k| k != self.selected) {
                        continue;
                    }
                    notes.push(NoteView {
                        kind,
                        text: format!("{} {}", if f.is_hard() { "✕" } else { "!" }, f.message),
                    });
                }
            }
        }
        if let Some(b) = self.blocker() {
            notes.push(NoteView {
                kind: NoteKind::Info,
                text: b,
            });
        }
        notes
    }

    /// The worst finding about a field (None: not checked yet, or the program could not be
    /// read).
    fn mark(&self, key: &str) -> Option<Class> {
        let c = self.checked()?;
        if c.error.is_some() {
            return None;
        }
        let worst = c
            .findings
            .iter()
            .filter(|f| field_of(&f.field) == Some(key))
            .filter_map(|f| class_of(&f.class))
            .max();
        Some(worst.unwrap_or(Class::Ok))
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

/// A route as the library names it ("intrathecal"), in the language in use; any other word as it
/// is.
fn route_words(route: &str) -> &str {
    match route {
        "intrathecal" => tr!("intrathecal"),
        "epidural" => tr!("epidural"),
        other => other,
    }
}

/// A route's catheter, in lower case: "intrathecal catheter".
pub(super) fn route_catheter(route: Route) -> &'static str {
    match route {
        Route::Intrathecal => tr!("intrathecal catheter"),
        Route::Epidural => tr!("epidural catheter"),
    }
}

/// A catheter type as the wizard records it in the trial (in English: "Intrathecal catheter,
/// closed tip"), in the language in use; any other text as it was written.
pub(super) fn catheter_words(recorded: &str) -> String {
    for route in [Route::Intrathecal, Route::Epidural] {
        for (_, _, tip) in CATHETERS {
            let words = match tip {
                "closed tip" => tr!("closed tip"),
                "open tip" => tr!("open tip"),
                _ => continue,
            };
            if recorded_catheter(route, tip) == recorded {
                return format!("{}, {words}", capitalise(route_catheter(route)));
            }
        }
    }
    recorded.to_owned()
}

/// "intrathecal" → "Intrathecal".
pub(super) fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
