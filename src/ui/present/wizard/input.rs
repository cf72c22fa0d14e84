//! What the nurse's keys and choices change: the patient ID, the choices of each step (the
//! drugs and concentrations from the library in force), the stepper's values and the program's
//! fields; and the daemon's findings about the program they make.

use crate::core::finding::Class;
use crate::core::library::Route;
use crate::core::program::TrialKind;
use crate::core::units::MassUnit;
use crate::service::wire::LibraryChoice;

use super::fields::{Kind, fields_for};
use super::{
    CATHETERS, Checked, Finding, LEVELS, MAX_DAYS, MAX_NUMBER, MAX_PATIENT_ID, OPIOIDS, PLACED,
    Request, Step, Wizard,
};

impl Wizard {
    /// What the library offers arrived.
    pub fn set_library(&mut self, choices: Vec<LibraryChoice>) {
        self.library = choices;
        self.busy = false;
    }

    /// The unit the chosen drug's doses are written in (the library's word for it, read once
    /// here; mg until a drug is chosen).
    pub(super) fn unit(&self) -> MassUnit {
        self.entries()
            .find(|c| Some(&c.concentration) == self.concentration.as_ref())
            .or_else(|| self.entries().next())
            .and_then(|c| serde_json::from_value(serde_json::Value::String(c.unit.clone())).ok())
            .unwrap_or(MassUnit::Mg)
    }

    fn entries(&self) -> impl Iterator<Item = &LibraryChoice> {
        let route = self.route.map(|r| r.to_string());
        let drug = self.drug.clone();
        self.library
            .iter()
            .filter(move |c| Some(&c.route) == route.as_ref())
            .filter(move |c| drug.as_ref().is_none_or(|d| *d == c.drug))
    }

    pub(super) fn routes(&self) -> Vec<String> {
        let mut routes: Vec<String> = Vec::new();
        for c in &self.library {
            if !routes.contains(&c.route) {
                routes.push(c.route.clone());
            }
        }
        routes
    }

    pub(super) fn drugs(&self) -> Vec<String> {
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

    pub(super) fn concentrations(&self) -> Vec<String> {
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

    pub(super) fn validate(&self) -> Option<Request> {
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
                class: crate::ui::present::class_of(class),
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
                class: Some(Class::Hard),
                findings: Vec::new(),
                error: Some(message.to_owned()),
            });
        }
    }
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
