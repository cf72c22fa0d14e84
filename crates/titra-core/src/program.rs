//! The trial and its program — what a nurse enters — and the check of both against the drug
//! library, which returns every finding rather than stopping at the first.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::dose::RECORD_INTERVAL;
use super::finding::{Class, Finding, Verdict};
use super::library::{
    DrugLibrary, Guardrail, LibraryEntry, LookupError, MAX_WINDOW, MIN_WINDOW, Route,
};
use super::observation::CheckSchedule;
use super::units::{Amount, AmountRate, Concentration, Duration, Volume, VolumeRate};
use crate::tr;

/// The usual longest trial; longer needs confirmation.
pub const USUAL_MAX_TRIAL: Duration = Duration::from_days(14);

/// What kind of trial this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TrialKind {
    /// One screening bolus, then observation.
    SingleBolus,
    /// Several boluses, usually a day or more apart.
    MultipleBolus,
    /// A continuous infusion, with or without patient boluses.
    Continuous,
}

impl fmt::Display for TrialKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TrialKind::SingleBolus => "single_bolus",
            TrialKind::MultipleBolus => "multiple_bolus",
            TrialKind::Continuous => "continuous",
        })
    }
}

/// Whether the patient took opioids regularly before the trial: it selects the drug library's
/// starting ranges (the morphine label's are 0.2-1 mg/day intrathecal for opioid-naive patients,
/// 1-10 mg/day for opioid-tolerant ones).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OpioidStatus {
    Naive,
    Tolerant,
}

impl OpioidStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OpioidStatus::Naive => "naive",
            OpioidStatus::Tolerant => "tolerant",
        }
    }

    /// In words, for the summary: "opioid-naive".
    pub fn words(self) -> &'static str {
        match self {
            OpioidStatus::Naive => tr!("opioid-naive"),
            OpioidStatus::Tolerant => tr!("opioid-tolerant"),
        }
    }
}

impl fmt::Display for OpioidStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The trial a program belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Trial {
    pub patient: String,
    pub route: Route,
    pub kind: TrialKind,
    /// How long the trial is planned (and simulated) to run.
    pub duration: Duration,
    pub catheter_tip: Option<String>,
    /// The catheter's type (make, size, tip), as written on its packet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catheter: Option<String>,
    /// How long before the start of delivery the catheter was placed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub catheter_placed_before: Option<Duration>,
    /// Pain before the trial, NRS 0–10.
    pub baseline_pain: Option<u8>,
    /// The patient goes home the same day (an outpatient single shot); some checklist items
    /// apply only then. Absent from logs written before it was recorded: false.
    #[serde(default)]
    pub outpatient: bool,
    /// Opioid-naive or opioid-tolerant before the trial; None when not recorded (the library's
    /// opioid-naive starting ranges then apply: the lower ones).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opioid_status: Option<OpioidStatus>,
    /// Systemic opioids taken before the trial, as oral morphine equivalents per day (needed
    /// for an opioid-tolerant patient).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ome_before: Option<AmountRate>,
}

/// Patient-controlled (PCA) boluses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Pca {
    pub dose: Amount,
    /// Least time from one patient bolus (or any bolus) to the next.
    pub lockout: Duration,
    /// Most patient boluses granted in any rolling hour.
    pub max_per_hour: u32,
}

/// A cap on the dose over a rolling window. Counts basal, KVO, patient and scheduled boluses —
/// not clinician boluses, as CADD pumps do (CLINICAL.md); those count toward the library's caps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowLimit {
    pub window: Duration,
    pub max: Amount,
}

/// A bolus given by the program at a set time after the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledBolus {
    pub at: Duration,
    pub dose: Amount,
}

/// A planned change of the basal rate at a set time after the start.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TitrationStep {
    pub at: Duration,
    pub basal: AmountRate,
}

/// A program as entered: the `[program]` table of a scenario file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Program {
    pub drug: String,
    pub concentration: Concentration,
    /// Volume loaded into the reservoir.
    pub reservoir: Volume,
    /// Continuous rate from the start; zero for none.
    #[serde(default)]
    pub basal: AmountRate,
    /// Planned rate changes.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub titration: Vec<TitrationStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pca: Option<Pca>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub limit: Option<WindowLimit>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub boluses: Vec<ScheduledBolus>,
    /// Observation period after a screening bolus.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observe: Option<Duration>,
    /// Keep-vein-open flow, delivered on top of the basal; 0 by default for intrathecal use.
    /// Counts as dose.
    #[serde(default, skip_serializing_if = "VolumeRate::is_zero")]
    pub kvo: VolumeRate,
    /// When sedation and breathing must be checked (e.g. hourly for the first 24 h after
    /// neuraxial morphine); a check not recorded in time raises an alarm. Left out, the drug
    /// library's default for the drug and route applies (`Program::checks`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observations: Option<CheckSchedule>,
    /// Why `observations` asks for fewer checks than the library's default: required for such
    /// a schedule, which only a clinician may start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observations_reason: Option<String>,
}

/// The longest reason a program may give for loosening the library's checks, in characters.
pub const MAX_REASON: usize = 500;

impl Program {
    /// The schedule of sedation and breathing checks this program runs under: its own, or the
    /// library's default for the drug and route (none for a drug that has none). A program's
    /// own schedule that leaves out `then_every` keeps the default's checks afterwards: the
    /// program says how close the first checks are, and leaving a field out never asks for
    /// fewer checks than the library does (programs written before the library had defaults
    /// say `{ every = "1h", for = "24h" }` and mean "at least this").
    pub fn checks(&self, entry: &LibraryEntry) -> Option<CheckSchedule> {
        match (self.observations, entry.checks) {
            (Some(own), default) => Some(CheckSchedule {
                then_every: own.then_every.or(default.and_then(|d| d.then_every)),
                ..own
            }),
            (None, default) => default,
        }
    }

    /// How this program's own schedule asks for fewer checks than the library's default, in
    /// words (empty when it does not, or when either has none).
    pub fn looser_checks(&self, entry: &LibraryEntry) -> Vec<String> {
        match (self.observations.and(self.checks(entry)), entry.checks) {
            (Some(own), Some(default)) => own.looser_than(&default),
            _ => Vec::new(),
        }
    }

    /// The basal rate in force `offset` after the start (titration included, KVO not).
    pub fn basal_at(&self, offset: Duration) -> AmountRate {
        self.titration
            .iter()
            .filter(|s| s.at <= offset)
            .max_by_key(|s| s.at)
            .map_or(self.basal, |s| s.basal)
    }

    /// The highest dose rate that can run between `from` and `to` after the start, KVO included.
    /// Used to project what the basal will add to a rolling window.
    pub fn max_rate_between(&self, from: Duration, to: Duration) -> AmountRate {
        let steps = self
            .titration
            .iter()
            .filter(|s| s.at > from && s.at <= to)
            .map(|s| s.basal);
        let basal = steps.fold(self.basal_at(from), std::cmp::max);
        AmountRate::from_ng_per_day(basal.ng_per_day() + self.kvo_rate().ng_per_day())
    }

    /// The highest dose rate the program ever runs, KVO included.
    pub fn max_rate(&self) -> AmountRate {
        self.max_rate_between(Duration::ZERO, Duration::from_ms(u64::MAX))
    }

    /// KVO as a dose rate.
    pub fn kvo_rate(&self) -> AmountRate {
        self.concentration.amount_rate(self.kvo)
    }

    /// The dose the program plans to give over `duration`: basal with its titration, KVO and the
    /// scheduled boluses (patient boluses not included).
    pub fn planned_dose(&self, duration: Duration) -> Amount {
        let mut changes: Vec<(Duration, AmountRate)> = vec![(Duration::ZERO, self.basal)];
        changes.extend(self.titration.iter().map(|s| (s.at, s.basal)));
        changes.sort_by_key(|c| c.0);
        let mut total = Amount::ZERO;
        for (i, &(at, rate)) in changes.iter().enumerate() {
            // A piece starting at or after `duration` (or at the same moment as the next) is empty.
            let end = changes.get(i + 1).map_or(duration, |c| c.0.min(duration));
            total += rate.over_ceil(end.saturating_sub(at));
        }
        total += self.kvo_rate().over_ceil(duration);
        total += self
            .boluses
            .iter()
            .filter(|b| b.at <= duration)
            .map(|b| b.dose)
            .sum();
        total
    }
}

/// Checks a trial and its program against the library. Every finding is returned, ok ones
/// included, so that the nurse sees what was checked.
pub fn validate(trial: &Trial, program: &Program, library: &DrugLibrary) -> Verdict {
    let mut v = Verdict::default();
    check_trial(trial, &mut v);
    let entry = match library.find(&program.drug, trial.route, program.concentration) {
        Ok(e) => e,
        Err(e) => {
            let (field, value) = match &e {
                LookupError::UnknownDrug { .. } => ("program.drug", program.drug.clone()),
                LookupError::WrongRoute { .. } => ("trial.route", trial.route.to_string()),
                LookupError::UnlistedConcentration { .. } => {
                    ("program.concentration", program.concentration.to_string())
                }
            };
            v.hard(field, value, format!("{}.", capitalise(&e.to_string())));
            return v;
        }
    };
    let c = Checker { entry, program };
    let from = v.findings.len();
    c.reservoir(trial, &mut v);
    c.basal(trial, &mut v);
    c.start(trial, &mut v);
    c.pca(trial, &mut v);
    c.scheduled_boluses(trial, &mut v);
    c.screening(trial, &mut v);
    c.observation(trial, &mut v);
    c.check_schedule(&mut v);
    c.window_limit(&mut v);
    c.library_caps(&mut v);
    v.cite_from(from, &entry.source);
    v
}

/// Checks a basal rate change made during the trial (`rate_change`), as [`validate`] checks the
/// program's own rates.
pub fn check_rate_change(
    entry: &LibraryEntry,
    program: &Program,
    field: &str,
    basal: AmountRate,
) -> Verdict {
    let mut changed = program.clone();
    changed.basal = basal;
    changed.titration.clear();
    let c = Checker {
        entry,
        program: &changed,
    };
    let mut v = Verdict::default();
    // KVO runs on top of the basal: the library's basal limits apply to both together, as in
    // `validate`.
    let total = basal + program.kvo_rate();
    if !total.is_zero() {
        v.push(c.basal_finding(field, total));
    }
    c.window_limit(&mut v);
    c.library_caps(&mut v);
    v.cite_from(0, &entry.source);
    v
}

/// Checks a program changed during the trial (`crate::change::ProgramChange`) like a new
/// program: each changed setting against the library (and the titration rule for a new basal,
/// `since_rate_change` after the last change), the scheduled boluses still to come against the
/// time into the trial (`since_start`: none may be due already) and against those given, and
/// the whole new program against its window limit and the library's caps. What was already
/// given in each window is the engine's to add (it keeps the account).
pub fn check_change(
    trial: &Trial,
    old: &Program,
    new: &Program,
    entry: &LibraryEntry,
    change: &crate::change::ProgramChange,
    since_start: Duration,
    since_rate_change: Option<Duration>,
) -> Verdict {
    let c = Checker {
        entry,
        program: new,
    };
    let mut v = Verdict::default();
    if change.basal.is_some() || change.kvo.is_some() {
        // What runs from now: the basal with the KVO on top, and any planned step still to
        // come with it (a KVO changed under a plan applies to every step after it).
        let total = new.max_rate_between(since_start, Duration::from_ms(u64::MAX));
        match trial.kind {
            TrialKind::Continuous if new.basal.is_zero() => v.hard(
                "program.basal",
                c.rate(new.basal),
                tr!(
                    "A continuous trial needs a basal rate: pause delivery to stop it for a while."
                ),
            ),
            TrialKind::SingleBolus | TrialKind::MultipleBolus if !new.basal.is_zero() => v.hard(
                "program.basal",
                c.rate(new.basal),
                if trial.kind == TrialKind::SingleBolus {
                    tr!("A single_bolus trial has no basal rate.")
                } else {
                    tr!("A multiple_bolus trial has no basal rate.")
                },
            ),
            _ => {}
        }
        if !total.is_zero() {
            v.push(c.basal_finding("program.basal", total));
        }
        // The titration rule on the dose that runs, KVO included: a KVO carries drug too.
        let (from, to) = (old.basal + old.kvo_rate(), new.basal + new.kvo_rate());
        if from != to {
            v.extend(check_titration_step(
                entry,
                if change.basal.is_some() {
                    "program.basal"
                } else {
                    "program.kvo"
                },
                from,
                to,
                since_rate_change,
            ));
        }
        if change.kvo.is_some() && !new.kvo.is_zero() {
            v.soft(
                "program.kvo",
                new.kvo,
                tr!("usual KVO of 0 for intrathecal use"),
                tr!(
                    "KVO {kvo} carries {rate} of drug; it counts as dose and is included in the basal rate above.",
                    kvo = new.kvo,
                    rate = c.rate(new.kvo_rate())
                ),
            );
        }
    }
    if change.pca.is_some() {
        c.pca(trial, &mut v);
    }
    if change.boluses.is_some() {
        for (i, b) in change.past_boluses(since_start) {
            v.hard(
                &format!("boluses[{i}].at"),
                b.at,
                tr!(
                    "This bolus would be due {at} after the start, but the trial is already {since_start} in: a bolus still to come must come later.",
                    at = b.at,
                    since_start
                ),
            );
        }
        c.scheduled_boluses(trial, &mut v);
        c.screening(trial, &mut v);
    }
    c.window_limit(&mut v);
    c.library_caps(&mut v);
    v.cite_from(0, &entry.source);
    v
}

/// Checks one step of titration against the library's rule for the drug (ziconotide: at most
/// 2.4 mcg/day up, at least 24 h after the last change): `from` is the rate in force, `since`
/// the time since the rate last changed (None: it never did).
pub fn check_titration_step(
    entry: &LibraryEntry,
    field: &str,
    from: AmountRate,
    to: AmountRate,
    since: Option<Duration>,
) -> Verdict {
    let mut v = Verdict::default();
    let Some(rule) = entry.titration else {
        return v;
    };
    let unit = entry.unit;
    let up = to.ng_per_day().saturating_sub(from.ng_per_day());
    if up > rule.max_step.ng_per_day() {
        v.hard(
            field,
            to.per_day_in(unit),
            tr!(
                "A step up from {from} to {to} is {step} per day, more than the library allows for {drug} in one step ({max}).",
                from = from.per_day_in(unit),
                to = to.per_day_in(unit),
                step = AmountRate::from_ng_per_day(up).per_day_in(unit),
                drug = entry.drug,
                max = rule.max_step.per_day_in(unit)
            ),
        );
    }
    if up > 0
        && let Some(since) = since
        && since < rule.min_interval
    {
        v.hard(
            field,
            to.per_day_in(unit),
            tr!(
                "The rate last changed {since} ago; the library allows a step up for {drug} only {interval} after the last change.",
                since,
                drug = entry.drug,
                interval = rule.min_interval
            ),
        );
    }
    v
}

/// Checks the dose of a bolus a clinician gives during the trial.
pub fn check_clinician_bolus(entry: &LibraryEntry, field: &str, dose: Amount) -> Verdict {
    let mut v = Verdict::default();
    if dose.is_zero() {
        v.hard(field, dose, tr!("A clinician bolus of zero gives nothing."));
    } else {
        v.push(entry.bolus.check(field, tr!("Clinician bolus"), dose, |d| {
            d.in_unit(entry.unit).to_string()
        }));
    }
    v
}

/// Checks a clinician's bolus during a bolus trial against the library's screening rule
/// (baclofen: at least 24 h after the last screening bolus and before the next planned one, at
/// most 3 in the trial): `since_last` since the last one given, `until_next` to the next
/// planned one, `count` the screening boluses the trial would then have given or planned.
pub fn check_screening_bolus(
    entry: &LibraryEntry,
    kind: TrialKind,
    field: &str,
    since_last: Option<Duration>,
    until_next: Option<Duration>,
    count: usize,
) -> Verdict {
    let mut v = Verdict::default();
    let Some(rule) = entry.screening else {
        return v;
    };
    if kind == TrialKind::Continuous {
        return v;
    }
    let limit = tr!(
        "least time of {interval} between screening boluses",
        interval = rule.min_interval
    );
    if let Some(since) = since_last.filter(|&d| d < rule.min_interval) {
        v.add(
            field,
            tr!("{since} after the last", since),
            &limit,
            Class::Hard,
            tr!(
                "The last screening bolus was {since} ago; screening boluses of {drug} must be at least {interval} apart.",
                since,
                drug = entry.drug,
                interval = rule.min_interval
            ),
        );
    }
    if let Some(until) = until_next.filter(|&d| d < rule.min_interval) {
        v.add(
            field,
            tr!("{until} before the next planned", until),
            &limit,
            Class::Hard,
            tr!(
                "The next planned screening bolus is due in {until}; screening boluses of {drug} must be at least {interval} apart.",
                until,
                drug = entry.drug,
                interval = rule.min_interval
            ),
        );
    }
    if let Some(max) = rule.max_boluses
        && count > max as usize
    {
        v.add(
            field,
            count,
            tr!("hard maximum of {max} screening boluses", max),
            Class::Hard,
            tr!(
                "This would make {count} screening boluses of {drug}, more than the {max} the library allows in one trial.",
                count,
                drug = entry.drug,
                max
            ),
        );
    }
    v.cite_from(0, &entry.source);
    v
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

fn check_trial(trial: &Trial, v: &mut Verdict) {
    if trial.patient.trim().is_empty() {
        v.hard(
            "trial.patient",
            "",
            tr!("The patient's identifier is missing."),
        );
    }
    if trial.opioid_status == Some(OpioidStatus::Tolerant) && trial.ome_before.is_none() {
        v.hard(
            "trial.ome_before",
            tr!("none"),
            tr!("An opioid-tolerant patient's systemic opioids before the trial are needed, as oral morphine equivalents per day (for example 90 mg/day)."),
        );
    }
    if trial.duration.is_zero() {
        v.hard(
            "trial.duration",
            trial.duration,
            tr!("The trial needs a duration."),
        );
    } else if trial.duration > USUAL_MAX_TRIAL {
        v.soft(
            "trial.duration",
            trial.duration,
            tr!("usual maximum of {usual}", usual = USUAL_MAX_TRIAL),
            tr!(
                "A trial of {duration} is longer than the usual {usual}: an external catheter raises the risk of infection. Confirm to continue.",
                duration = trial.duration,
                usual = USUAL_MAX_TRIAL
            ),
        );
    }
}

struct Checker<'a> {
    entry: &'a LibraryEntry,
    program: &'a Program,
}

impl Checker<'_> {
    fn amount(&self, a: Amount) -> String {
        a.in_unit(self.entry.unit).to_string()
    }

    fn rate(&self, r: AmountRate) -> String {
        r.per_day_in(self.entry.unit).to_string()
    }

    fn basal_finding(&self, field: &str, basal: AmountRate) -> Finding {
        let unit = self.entry.unit;
        let conc = self.program.concentration;
        self.entry
            .basal_per_day
            .check(field, tr!("Basal rate"), basal, |r| {
                format!(
                    "{} ({}, {})",
                    r.per_day_in(unit),
                    r.per_hour_in(unit),
                    conc.volume_rate(r).per_hour()
                )
            })
    }

    fn reservoir(&self, trial: &Trial, v: &mut Verdict) {
        let p = self.program;
        if p.reservoir.is_zero() {
            v.hard(
                "program.reservoir",
                p.reservoir,
                tr!("The reservoir volume is zero."),
            );
            return;
        }
        let planned = p.concentration.volume_for(p.planned_dose(trial.duration));
        if planned > p.reservoir {
            v.soft(
                "program.reservoir",
                p.reservoir,
                tr!("planned {planned}", planned),
                tr!(
                    "The program needs about {planned} over {duration} but the reservoir holds {reservoir}: plan a reservoir change.",
                    planned,
                    duration = trial.duration,
                    reservoir = p.reservoir
                ),
            );
        }
    }

    fn basal(&self, trial: &Trial, v: &mut Verdict) {
        let p = self.program;
        let runs_basal = !p.basal.is_zero() || p.titration.iter().any(|s| !s.basal.is_zero());
        match trial.kind {
            TrialKind::Continuous if !runs_basal => v.hard(
                "program.basal",
                self.rate(p.basal),
                tr!("A continuous trial needs a basal rate."),
            ),
            TrialKind::SingleBolus | TrialKind::MultipleBolus if runs_basal => v.hard(
                "program.basal",
                self.rate(p.basal),
                if trial.kind == TrialKind::SingleBolus {
                    tr!("A single_bolus trial has no basal rate; choose a continuous trial.")
                } else {
                    tr!("A multiple_bolus trial has no basal rate; choose a continuous trial.")
                },
            ),
            _ => {}
        }
        if !p.basal.is_zero() || !p.kvo.is_zero() {
            v.push(self.basal_finding("program.basal", p.basal + p.kvo_rate()));
        }
        if !p.kvo.is_zero() {
            v.soft(
                "program.kvo",
                p.kvo,
                tr!("usual KVO of 0 for intrathecal use"),
                tr!(
                    "KVO {kvo} carries {rate} of drug; it counts as dose and is included in the basal rate above.",
                    kvo = p.kvo,
                    rate = self.rate(p.kvo_rate())
                ),
            );
        }
        let mut previous = Duration::ZERO;
        let mut rate = p.basal;
        for (i, step) in p.titration.iter().enumerate() {
            let field = format!("program.titration[{i}]");
            let since = (!step.at.is_zero()).then(|| step.at.saturating_sub(previous));
            v.extend(check_titration_step(
                self.entry,
                &format!("{field}.basal"),
                rate,
                step.basal,
                since,
            ));
            rate = step.basal;
            if step.at.is_zero() || step.at <= previous {
                v.hard(
                    &format!("{field}.at"),
                    step.at,
                    tr!("Titration steps must come after the start and after the step before."),
                );
            }
            if step.at >= trial.duration {
                v.hard(
                    &format!("{field}.at"),
                    step.at,
                    tr!(
                        "This step comes after the trial ends ({duration}).",
                        duration = trial.duration
                    ),
                );
            }
            previous = step.at;
            if !step.basal.is_zero() {
                v.push(self.basal_finding(&format!("{field}.basal"), step.basal + p.kvo_rate()));
            }
        }
    }

    /// The first basal rate of a trial against the library's starting range for the patient's
    /// opioid status (ziconotide: at most 2.4 mcg/day by its label, whatever the patient).
    fn start(&self, trial: &Trial, v: &mut Verdict) {
        let p = self.program;
        let first = p.basal + p.kvo_rate();
        if first.is_zero() {
            return;
        }
        let (range, whose) = self.entry.start_range(trial.opioid_status);
        if *range == Guardrail::default() {
            return;
        }
        let what = if whose.is_empty() {
            tr!("The first basal rate of a trial").to_owned()
        } else {
            tr!("The first basal rate of a trial {whose}", whose)
        };
        v.push(range.check("program.basal", &what, first, |r| self.rate(r)));
    }

    /// Screening boluses of a bolus trial: the least time between two and how many (the
    /// baclofen label: at least 24 h apart, at most 3).
    fn screening(&self, trial: &Trial, v: &mut Verdict) {
        let Some(rule) = self.entry.screening else {
            return;
        };
        if trial.kind == TrialKind::Continuous {
            return;
        }
        let p = self.program;
        if let Some(max) = rule.max_boluses
            && p.boluses.len() > max as usize
        {
            v.add(
                "program.boluses",
                p.boluses.len(),
                tr!("hard maximum of {max} screening boluses", max),
                Class::Hard,
                tr!(
                    "{count} screening boluses of {drug} are more than the {max} the library allows in one trial.",
                    count = p.boluses.len(),
                    drug = self.entry.drug,
                    max
                ),
            );
        }
        let mut by_time: Vec<(usize, &ScheduledBolus)> = p.boluses.iter().enumerate().collect();
        by_time.sort_by_key(|(_, b)| b.at);
        for pair in by_time.windows(2) {
            let ((_, a), (j, b)) = (pair[0], pair[1]);
            let gap = b.at.saturating_sub(a.at);
            if gap < rule.min_interval {
                v.add(
                    &format!("program.boluses[{j}].at"),
                    b.at,
                    tr!(
                        "least time of {interval} between screening boluses",
                        interval = rule.min_interval
                    ),
                    Class::Hard,
                    tr!(
                        "This screening bolus comes {gap} after the one at {at}; screening boluses of {drug} must be at least {interval} apart.",
                        gap,
                        at = a.at,
                        drug = self.entry.drug,
                        interval = rule.min_interval
                    ),
                );
            }
        }
    }

    fn pca(&self, trial: &Trial, v: &mut Verdict) {
        let Some(pca) = self.program.pca else { return };
        let e = self.entry;
        if trial.kind == TrialKind::SingleBolus {
            v.hard(
                "program.pca",
                self.amount(pca.dose),
                tr!("A single-bolus screening trial has no patient boluses."),
            );
        }
        if pca.dose.is_zero() {
            v.hard(
                "program.pca.dose",
                self.amount(pca.dose),
                tr!("A patient bolus of zero gives nothing."),
            );
        } else {
            v.push(e.bolus.check(
                "program.pca.dose",
                tr!("Patient bolus dose"),
                pca.dose,
                |d| self.amount(d),
            ));
        }
        v.push(
            e.lockout
                .check("program.pca.lockout", tr!("Lockout"), pca.lockout, |d| {
                    d.to_string()
                }),
        );
        if pca.max_per_hour == 0 {
            v.hard(
                "program.pca.max_per_hour",
                0,
                tr!("At most 0 boluses per hour would refuse every request; remove the patient bolus instead."),
            );
        } else {
            v.push(e.boluses_per_hour.check(
                "program.pca.max_per_hour",
                tr!("Patient boluses per hour"),
                pca.max_per_hour,
                |n| n.to_string(),
            ));
        }
    }

    fn scheduled_boluses(&self, trial: &Trial, v: &mut Verdict) {
        let p = self.program;
        let count = p.boluses.len();
        match trial.kind {
            TrialKind::SingleBolus if count != 1 => v.hard(
                "program.boluses",
                count,
                tr!(
                    "A single-bolus trial gives exactly one bolus; this program has {count}.",
                    count
                ),
            ),
            TrialKind::MultipleBolus if count == 0 => v.hard(
                "program.boluses",
                count,
                tr!("A multiple-bolus trial needs its boluses listed."),
            ),
            _ => {}
        }
        // Boluses too close together: the library's least time between boluses (its lockout)
        // applies to planned boluses too.
        let mut by_time: Vec<(usize, &ScheduledBolus)> = p.boluses.iter().enumerate().collect();
        by_time.sort_by_key(|(_, b)| b.at);
        for pair in by_time.windows(2) {
            let ((_, a), (j, b)) = (pair[0], pair[1]);
            let gap = b.at.saturating_sub(a.at);
            let field = format!("program.boluses[{j}].at");
            let (hard, soft) = (self.entry.lockout.hard_min, self.entry.lockout.soft_min);
            if hard.is_some_and(|h| gap < h) || gap.is_zero() {
                v.hard(
                    &field,
                    b.at,
                    tr!(
                        "This bolus comes {gap} after the one at {at}; the library requires at least {least} between boluses of {drug}.",
                        gap,
                        at = a.at,
                        least = hard.unwrap_or(Duration::ZERO),
                        drug = self.entry.drug
                    ),
                );
            } else if let Some(soft) = soft
                && gap < soft
            {
                v.soft(
                    &field,
                    b.at,
                    tr!("usual least time between boluses {soft}", soft),
                    tr!(
                        "This bolus comes {gap} after the one at {at}, sooner than the usual {soft} between boluses of {drug}. Confirm to continue.",
                        gap,
                        at = a.at,
                        soft,
                        drug = self.entry.drug
                    ),
                );
            }
        }
        for (i, b) in p.boluses.iter().enumerate() {
            let field = format!("program.boluses[{i}]");
            if b.dose.is_zero() {
                v.hard(
                    &format!("{field}.dose"),
                    self.amount(b.dose),
                    tr!("A bolus of zero gives nothing."),
                );
            } else {
                v.push(self.entry.bolus.check(
                    &format!("{field}.dose"),
                    tr!("Bolus dose"),
                    b.dose,
                    |d| self.amount(d),
                ));
            }
            if b.at >= trial.duration {
                v.hard(
                    &format!("{field}.at"),
                    b.at,
                    tr!(
                        "This bolus comes after the trial ends ({duration}).",
                        duration = trial.duration
                    ),
                );
            }
        }
    }

    fn observation(&self, trial: &Trial, v: &mut Verdict) {
        let p = self.program;
        let guard = &self.entry.observation;
        match p.observe {
            None if trial.kind == TrialKind::SingleBolus => {
                let usual = guard.soft_min.or(guard.hard_min).unwrap_or(Duration::ZERO);
                v.hard(
                    "program.observe",
                    tr!("none"),
                    tr!("A screening bolus needs an observation period (the library's usual minimum is {usual}).", usual),
                );
            }
            None => {}
            Some(observe) => {
                v.push(
                    guard.check("program.observe", tr!("Observation period"), observe, |d| {
                        d.to_string()
                    }),
                );
                if let Some(last) = p.boluses.iter().map(|b| b.at).max() {
                    let until = last + observe;
                    if until > trial.duration {
                        v.soft(
                            "program.observe",
                            observe,
                            tr!("trial duration {duration}", duration = trial.duration),
                            tr!(
                                "Observation after the last bolus runs to {until}, after the trial's planned end at {end}.",
                                until,
                                end = trial.duration
                            ),
                        );
                    }
                }
            }
        }
    }

    /// The schedule of sedation and breathing checks must be one a nurse can follow, and may
    /// ask for fewer checks than the library's default only with a reason (and a clinician,
    /// which the service checks: `Verdict` findings on `program.observations_reason`).
    fn check_schedule(&self, v: &mut Verdict) {
        let p = self.program;
        let default = self.entry.checks;
        let Some(s) = p.observations else {
            if let Some(d) = default {
                v.add(
                    "program.observations",
                    tr!("none set"),
                    tr!("the library's default: {d}", d),
                    Class::Ok,
                    tr!(
                        "Checks by the library's default for this drug and route: {d}.",
                        d
                    ),
                );
            }
            if p.observations_reason.is_some() {
                v.hard(
                    "program.observations_reason",
                    tr!("given"),
                    tr!("A reason for loosening the checks is given, but the program sets no checks of its own."),
                );
            }
            return;
        };
        if let Err(why) = s.followable() {
            v.hard(
                "program.observations",
                s,
                tr!("These checks cannot be followed: {why}.", why),
            );
            return;
        }
        let looser = p.looser_checks(self.entry);
        let Some(d) = default.filter(|_| !looser.is_empty()) else {
            return;
        };
        let reason = p
            .observations_reason
            .as_deref()
            .map(str::trim)
            .filter(|r| !r.is_empty());
        match reason {
            None => v.hard(
                "program.observations",
                looser.join(", "),
                tr!(
                    "Fewer checks than the library's default ({d}) need a clinician and a reason: give observations_reason.",
                    d
                ),
            ),
            Some(r) if r.chars().count() > MAX_REASON => v.hard(
                "program.observations_reason",
                tr!("{count} characters", count = r.chars().count()),
                tr!(
                    "A reason may have at most {max} characters.",
                    max = MAX_REASON
                ),
            ),
            Some(r) => v.soft(
                "program.observations_reason",
                looser.join(", "),
                tr!("the library's default: {d}", d),
                tr!(
                    "Fewer checks than the library's default, by a clinician, because: {r}",
                    r
                ),
            ),
        }
    }

    fn window_limit(&self, v: &mut Verdict) {
        let p = self.program;
        let Some(limit) = p.limit else { return };
        let w = limit.window;
        if w < MIN_WINDOW || w > MAX_WINDOW {
            v.hard(
                "program.limit.window",
                w,
                tr!(
                    "The limit's window must be from {min} to {max}.",
                    min = MIN_WINDOW,
                    max = MAX_WINDOW
                ),
            );
            return;
        }
        if limit.max.is_zero() {
            v.hard(
                "program.limit.max",
                self.amount(limit.max),
                tr!("A limit of zero would stop all delivery."),
            );
            return;
        }
        if let Some(lib) = self.entry.cumulative.iter().find(|c| c.window == w) {
            let guard = Guardrail {
                hard_min: None,
                soft_min: None,
                soft_max: lib.soft_max,
                hard_max: Some(lib.hard_max),
            };
            v.push(guard.check(
                "program.limit.max",
                &tr!("The {w} limit", w),
                limit.max,
                |a| self.amount(a),
            ));
        }
        // The check allows for the basal being counted a piece at a time (see RECORD_INTERVAL);
        // the message shows the window's own worth.
        let basal = p.max_rate().over_ceil(w + RECORD_INTERVAL);
        let shown = p.max_rate().over_ceil(w);
        let scheduled = scheduled_peak(p, w);
        if !scheduled.is_zero() && basal + scheduled > limit.max {
            v.hard(
                "program.limit.max",
                self.amount(limit.max),
                tr!(
                    "The planned boluses give {planned} within {w}; with the basal rate ({basal} in {w}) that is more than this limit of {max}: the pump would refuse a planned bolus.",
                    planned = self.amount(scheduled),
                    w,
                    basal = self.amount(shown),
                    max = self.amount(limit.max)
                ),
            );
        } else if basal > limit.max {
            v.hard(
                "program.limit.max",
                self.amount(limit.max),
                tr!(
                    "The basal rate alone gives {basal} in {w}, too close to or more than this limit of {max}: the pump would have to stop the basal.",
                    basal = self.amount(shown),
                    w,
                    max = self.amount(limit.max)
                ),
            );
        } else if let Some(pca) = p.pca
            && basal + pca.dose > limit.max
        {
            v.hard(
                "program.limit.max",
                self.amount(limit.max),
                tr!(
                    "With the basal rate ({basal} in {w}) a patient bolus of {dose} would never fit under this limit of {max}.",
                    basal = self.amount(shown),
                    w,
                    dose = self.amount(pca.dose),
                    max = self.amount(limit.max)
                ),
            );
        }
    }

    /// The library's cumulative caps count everything. The basal alone must fit under them; and
    /// if the patient could press beyond them, say so (the pump will refuse those presses).
    /// Their soft maxima need confirming when the program's planned dose, or what the patient
    /// could add by pressing at every chance, goes above them.
    fn library_caps(&self, v: &mut Verdict) {
        let p = self.program;
        for (i, cap) in self.entry.cumulative.iter().enumerate() {
            let w = cap.window;
            // The basal is counted a minute piece at a time (RECORD_INTERVAL), so a window can
            // hold one piece more than its own worth: the check allows for it.
            let basal = p.max_rate().over_ceil(w + RECORD_INTERVAL);
            let field = format!("library.cumulative[{i}]");
            let hard_limit = tr!(
                "hard maximum of {max} in {w}",
                max = self.amount(cap.hard_max),
                w
            );
            if basal > cap.hard_max {
                v.add(
                    "program.basal",
                    self.rate(p.max_rate()),
                    hard_limit,
                    Class::Hard,
                    tr!(
                        "The basal rate gives {gives} in {w} (counting the minute the pump records at a time: {counted}), more than the library's hard maximum of {max} in {w}.",
                        gives = self.amount(p.max_rate().over_ceil(w)),
                        w,
                        counted = self.amount(basal),
                        max = self.amount(cap.hard_max)
                    ),
                );
                continue;
            }
            let scheduled = scheduled_peak(p, w);
            if basal + scheduled > cap.hard_max {
                v.add(
                    "program.boluses",
                    self.amount(scheduled),
                    hard_limit,
                    Class::Hard,
                    tr!(
                        "Planned boluses of {planned} within {w}, with the basal rate, exceed the library's hard maximum of {max} in {w}.",
                        planned = self.amount(scheduled),
                        w,
                        max = self.amount(cap.hard_max)
                    ),
                );
                continue;
            }
            let pressing = p.pca.map_or(Amount::ZERO, |pca| {
                Amount::from_ng(pca.dose.ng().saturating_mul(presses_within(pca, w)))
            });
            let most = basal + scheduled + pressing;
            if most > cap.hard_max {
                v.add(
                    &field,
                    self.amount(most),
                    hard_limit,
                    Class::Soft,
                    tr!(
                        "If the patient pressed at every chance, {most} could be given in {w}, above the library's hard maximum of {max}; the pump will refuse boluses beyond it. Confirm to continue.",
                        most = self.amount(most),
                        w,
                        max = self.amount(cap.hard_max)
                    ),
                );
                continue;
            }
            let Some(soft) = cap.soft_max else { continue };
            let soft_limit = tr!("usual maximum of {max} in {w}", max = self.amount(soft), w);
            if basal + scheduled > soft {
                v.add(
                    if scheduled.is_zero() {
                        "program.basal"
                    } else {
                        "program.boluses"
                    },
                    self.amount(basal + scheduled),
                    soft_limit,
                    Class::Soft,
                    tr!(
                        "The program plans {plans} in {w}, above the library's usual maximum of {max} in {w}. Confirm to continue.",
                        plans = self.amount(basal + scheduled),
                        w,
                        max = self.amount(soft)
                    ),
                );
            } else if most > soft {
                v.add(
                    &field,
                    self.amount(most),
                    soft_limit,
                    Class::Soft,
                    tr!(
                        "If the patient pressed at every chance, {most} could be given in {w}, above the library's usual maximum of {max} in {w}. Confirm to continue.",
                        most = self.amount(most),
                        w,
                        max = self.amount(soft)
                    ),
                );
            }
        }
    }
}

/// The most the planned boluses put into any window of `w`: the largest total of the boluses
/// given from one bolus's time up to (not including) a window later.
///
/// Linear after the sort (a sliding window over the boluses in time order), so that a program
/// with many boluses is checked in time proportional to their number, not its square: the
/// window's end only moves forward as its start does. Each bolus starts one window; a window
/// starting at a bolus that shares its time with one before it in the sorted order counts less
/// than the window starting at the first of them, so the maximum is the same as counting from
/// every bolus (see `scheduled_peak_reference` in the tests). Sums saturate as `Amount`'s do.
fn scheduled_peak(p: &Program, w: Duration) -> Amount {
    let mut by_time: Vec<(Duration, u64)> = p.boluses.iter().map(|b| (b.at, b.dose.ng())).collect();
    by_time.sort_unstable_by_key(|&(at, _)| at);
    let mut end = 0;
    let mut sum: u128 = 0;
    let mut peak: u128 = 0;
    for (start, &(at, dose)) in by_time.iter().enumerate() {
        let until = at + w;
        while let Some(&(next_at, next_dose)) = by_time.get(end)
            && next_at < until
        {
            sum += u128::from(next_dose);
            end += 1;
        }
        peak = peak.max(sum);
        // The next window starts after this bolus (when `end` had not passed it, w is zero and
        // the window was empty).
        if end > start {
            sum -= u128::from(dose);
        } else {
            end = start + 1;
        }
    }
    Amount::from_ng(u64::try_from(peak).unwrap_or(u64::MAX))
}

/// The most patient boluses the lockout and hourly count allow within `window`.
fn presses_within(pca: Pca, window: Duration) -> u64 {
    let by_lockout = if pca.lockout.is_zero() {
        u64::MAX
    } else {
        window.ms() / pca.lockout.ms() + 1
    };
    let hours = window.ms().div_ceil(Duration::from_hours(1).ms());
    let by_count = u64::from(pca.max_per_hour).saturating_mul(hours);
    by_lockout.min(by_count)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn library() -> DrugLibrary {
        DrugLibrary::from_toml_str(include_str!("../../../config/drug-library.toml")).unwrap()
    }

    fn trial(kind: TrialKind, duration: &str) -> Trial {
        Trial {
            patient: "MRN-1".to_owned(),
            route: Route::Intrathecal,
            kind,
            duration: duration.parse().unwrap(),
            catheter_tip: None,
            catheter: None,
            catheter_placed_before: None,
            baseline_pain: None,
            outpatient: false,
            opioid_status: None,
            ome_before: None,
        }
    }

    #[test]
    fn trial_kinds_are_written_as_in_the_files() {
        let words: Vec<String> = [
            TrialKind::SingleBolus,
            TrialKind::MultipleBolus,
            TrialKind::Continuous,
        ]
        .iter()
        .map(|k| k.to_string())
        .collect();
        assert_eq!(words, ["single_bolus", "multiple_bolus", "continuous"]);
    }

    #[test]
    fn the_highest_rate_between_two_times_counts_only_the_steps_between_them() {
        let mut p = program("1 mg/day");
        p.titration = vec![
            TitrationStep {
                at: "10h".parse().unwrap(),
                basal: "2 mg/day".parse().unwrap(),
            },
            TitrationStep {
                at: "20h".parse().unwrap(),
                basal: "0.5 mg/day".parse().unwrap(),
            },
        ];
        let between = |a: &str, b: &str| {
            p.max_rate_between(a.parse().unwrap(), b.parse().unwrap())
                .to_string()
        };
        assert_eq!(between("0h", "5h"), "1 mg/day");
        assert_eq!(between("0h", "10h"), "2 mg/day");
        assert_eq!(between("21h", "30h"), "0.5 mg/day");
        assert_eq!(
            between("12h", "30h"),
            "2 mg/day",
            "the rate in force at the start"
        );
        assert_eq!(p.max_rate().to_string(), "2 mg/day");
    }

    fn program(basal: &str) -> Program {
        Program {
            drug: "morphine".to_owned(),
            concentration: "1 mg/mL".parse().unwrap(),
            reservoir: "20 mL".parse().unwrap(),
            basal: basal.parse().unwrap(),
            titration: vec![],
            pca: None,
            limit: None,
            boluses: vec![],
            observe: None,
            kvo: VolumeRate::ZERO,
            observations: None,
            observations_reason: None,
        }
    }

    fn problems(v: &Verdict) -> Vec<(String, Class)> {
        v.problems().map(|f| (f.field.clone(), f.class)).collect()
    }

    /// The most serious finding for `field`, if any.
    fn finding<'a>(v: &'a Verdict, field: &str) -> Option<&'a Finding> {
        v.problems()
            .filter(|f| f.field == field)
            .max_by_key(|f| f.class)
    }

    #[test]
    fn findings_read_in_german_and_keep_their_field_numbers_and_units() {
        use crate::lang::{self, Language};
        let lib = library();
        let t = trial(TrialKind::Continuous, "3d");
        let mut p = program("3 mcg/day");
        p.drug = "ziconotide".to_owned();
        p.concentration = "25 mcg/mL".parse().unwrap();
        let (english, german) = (
            validate(&t, &p, &lib),
            lang::with(Language::German, || validate(&t, &p, &lib)),
        );
        let f = finding(&german, "program.basal").unwrap();
        assert_eq!(f.class, Class::Hard);
        assert_eq!(f.value, "3 mcg/day");
        assert_eq!(f.limit, "harte Obergrenze von 2.4 mcg/day");
        assert!(
            f.message.contains("liegt über der harten Obergrenze von 2.4 mcg/day. Der Wert kann nicht verwendet werden."),
            "{}",
            f.message
        );
        // The same check, the same findings: only their words differ.
        assert_eq!(problems(&english), problems(&german));
        assert_eq!(
            finding(&english, "program.basal").unwrap().limit,
            "hard maximum of 2.4 mcg/day"
        );
        // A consistency finding, and a trial kind's sentence.
        let mut single = program("1 mg/day");
        single.boluses = vec![ScheduledBolus {
            at: "1h".parse().unwrap(),
            dose: "0.2 mg".parse().unwrap(),
        }];
        single.observe = Some("24h".parse().unwrap());
        let v = lang::with(Language::German, || {
            validate(&trial(TrialKind::SingleBolus, "2d"), &single, &lib)
        });
        assert_eq!(
            finding(&v, "program.basal").unwrap().message,
            "Eine Einzelbolus-Testphase hat keine Basalrate; eine kontinuierliche Testphase wählen."
        );
    }

    #[test]
    fn a_trials_first_basal_is_checked_against_the_starting_range_with_its_source() {
        let lib = library();
        let t = trial(TrialKind::Continuous, "3d");
        // Ziconotide: at most 2.4 mcg/day to start (label, hard); PACC 0.5-1.2 (soft).
        let mut p = program("3 mcg/day");
        p.drug = "ziconotide".to_owned();
        p.concentration = "25 mcg/mL".parse().unwrap();
        let v = validate(&t, &p, &lib);
        let f = finding(&v, "program.basal").unwrap();
        assert_eq!(f.class, Class::Hard);
        assert_eq!(f.limit, "hard maximum of 2.4 mcg/day");
        assert_eq!(f.value, "3 mcg/day");
        assert!(
            f.source.as_deref().unwrap().starts_with("Prialt label [V]"),
            "{f:?}"
        );
        p.basal = "2.4 mcg/day".parse().unwrap();
        let v = validate(&t, &p, &lib);
        assert_eq!(
            finding(&v, "program.basal").map(|f| f.class),
            Some(Class::Soft)
        );
        p.basal = "1.2 mcg/day".parse().unwrap();
        assert_eq!(problems(&validate(&t, &p, &lib)), vec![]);
        // Intrathecal morphine at 1.5 mg/day: above the opioid-naive start (1 mg/day, soft),
        // within the opioid-tolerant one (1-10 mg/day).
        let p = program("1.5 mg/day");
        let v = validate(&t, &p, &lib);
        let f = finding(&v, "program.basal").unwrap();
        assert_eq!(f.class, Class::Soft);
        assert!(
            f.message
                .contains("for opioid-naive patients (the opioid status is not recorded)"),
            "{}",
            f.message
        );
        let mut tolerant = t.clone();
        tolerant.opioid_status = Some(OpioidStatus::Tolerant);
        tolerant.ome_before = Some("120 mg/day".parse().unwrap());
        assert_eq!(problems(&validate(&tolerant, &p, &lib)), vec![]);
        // A titration step later is not a start.
        let mut p = program("1 mg/day");
        p.titration = vec![TitrationStep {
            at: "24h".parse().unwrap(),
            basal: "3 mg/day".parse().unwrap(),
        }];
        assert_eq!(problems(&validate(&t, &p, &lib)), vec![]);
    }

    #[test]
    fn an_opioid_tolerant_patient_needs_the_oral_morphine_equivalents() {
        let lib = library();
        let mut t = trial(TrialKind::Continuous, "3d");
        t.opioid_status = Some(OpioidStatus::Tolerant);
        let v = validate(&t, &program("1 mg/day"), &lib);
        assert_eq!(
            finding(&v, "trial.ome_before").map(|f| f.class),
            Some(Class::Hard)
        );
        t.ome_before = Some("90 mg/day".parse().unwrap());
        assert_eq!(problems(&validate(&t, &program("1 mg/day"), &lib)), vec![]);
    }

    #[test]
    fn baclofen_screening_boluses_follow_the_label() {
        // 50, 75 and 100 mcg at least 24 h apart, at most 3; 150 mcg is beyond the label.
        let lib = library();
        let t = trial(TrialKind::MultipleBolus, "4d");
        let mut p = program("0 mg/day");
        p.drug = "baclofen".to_owned();
        p.concentration = "50 mcg/mL".parse().unwrap();
        p.observe = Some("8h".parse().unwrap());
        let b = |h: &str, d: &str| ScheduledBolus {
            at: h.parse().unwrap(),
            dose: d.parse().unwrap(),
        };
        p.boluses = vec![b("0h", "50 mcg"), b("24h", "75 mcg"), b("48h", "100 mcg")];
        assert_eq!(problems(&validate(&t, &p, &lib)), vec![]);
        p.boluses[1].at = "12h".parse().unwrap();
        let v = validate(&t, &p, &lib);
        let f = finding(&v, "program.boluses[1].at").unwrap();
        assert_eq!(f.class, Class::Hard);
        assert_eq!(f.limit, "least time of 1d between screening boluses");
        assert!(
            f.source
                .as_deref()
                .unwrap()
                .starts_with("Lioresal/Gablofen"),
            "{f:?}"
        );
        p.boluses = vec![
            b("0h", "50 mcg"),
            b("24h", "75 mcg"),
            b("48h", "100 mcg"),
            b("72h", "100 mcg"),
        ];
        let v = validate(&t, &p, &lib);
        assert_eq!(
            finding(&v, "program.boluses").map(|f| f.limit.as_str()),
            Some("hard maximum of 3 screening boluses")
        );
        p.boluses = vec![b("0h", "150 mcg")];
        let v = validate(&trial(TrialKind::SingleBolus, "1d"), &p, &lib);
        let f = finding(&v, "program.boluses[0].dose").unwrap();
        assert_eq!(
            (f.class, f.limit.as_str()),
            (Class::Hard, "hard maximum of 100 mcg")
        );
    }

    #[test]
    fn the_labels_epidural_limits_refuse_what_they_forbid() {
        let lib = library();
        let mut t = trial(TrialKind::Continuous, "3d");
        t.route = Route::Epidural;
        // Epidural morphine: may increase to 20-30 mg/day (label): 40 is refused.
        let hard = |v: &Verdict, limit: &str| {
            v.problems()
                .find(|f| {
                    f.field == "program.basal"
                        && f.class == Class::Hard
                        && f.limit.starts_with(limit)
                })
                .cloned()
        };
        let v = validate(&t, &program("40 mg/day"), &lib);
        assert!(
            hard(&v, "hard maximum of 30 mg/day").is_some(),
            "{:?}",
            problems(&v)
        );
        // 10 mg/day is above the opioid-naive epidural start of 3.5-7.5 (soft).
        let v = validate(&t, &program("10 mg/day"), &lib);
        assert_eq!(
            finding(&v, "program.basal").map(|f| f.class),
            Some(Class::Soft)
        );
        // Clonidine epidural: the 500 mcg/mL strength is diluted before use, never a syringe.
        let mut p = program("600 mcg/day");
        p.drug = "clonidine".to_owned();
        p.concentration = "500 mcg/mL".parse().unwrap();
        let v = validate(&t, &p, &lib);
        assert_eq!(
            finding(&v, "program.concentration").map(|f| f.class),
            Some(Class::Hard)
        );
        // ... and above 40 mcg/h (960 mcg/day) experience is limited: 2000 is refused.
        p.concentration = "100 mcg/mL".parse().unwrap();
        p.basal = "2000 mcg/day".parse().unwrap();
        let v = validate(&t, &p, &lib);
        let f = hard(&v, "hard maximum of 960 mcg/day").unwrap();
        assert!(
            f.source
                .as_deref()
                .unwrap()
                .starts_with("Duraclon label [V]")
        );
    }

    #[test]
    fn the_trial_needs_a_patient_and_a_length_and_two_weeks_is_still_usual() {
        let lib = library();
        let p = program("1 mg/day");
        let mut t = trial(TrialKind::Continuous, "14d");
        assert_eq!(
            problems(&validate(&t, &p, &lib)),
            vec![],
            "14 days is usual"
        );
        t.duration = "14d 1min".parse().unwrap();
        let v = validate(&t, &p, &lib);
        assert_eq!(
            problems(&v),
            vec![("trial.duration".to_owned(), Class::Soft)]
        );
        assert!(
            v.problems()
                .any(|f| f.message.contains("risk of infection"))
        );
        t.duration = Duration::ZERO;
        assert!(
            problems(&validate(&t, &p, &lib)).contains(&("trial.duration".to_owned(), Class::Hard))
        );
        let mut t = trial(TrialKind::Continuous, "3d");
        t.patient = "  ".to_owned();
        assert!(
            problems(&validate(&t, &p, &lib)).contains(&("trial.patient".to_owned(), Class::Hard))
        );
    }

    #[test]
    fn a_reservoir_that_holds_exactly_what_is_planned_is_enough() {
        let lib = library();
        let t = trial(TrialKind::Continuous, "2d");
        // 1 mg/day at 1 mg/mL for 2 days: 2 mL planned.
        let mut p = program("1 mg/day");
        p.reservoir = "2 mL".parse().unwrap();
        assert_eq!(problems(&validate(&t, &p, &lib)), vec![]);
        p.reservoir = "1.99 mL".parse().unwrap();
        let v = validate(&t, &p, &lib);
        assert_eq!(
            problems(&v),
            vec![("program.reservoir".to_owned(), Class::Soft)]
        );
        assert_eq!(v.problems().next().unwrap().limit, "planned 2 mL");
        p.reservoir = Volume::ZERO;
        assert_eq!(
            problems(&validate(&t, &p, &lib)),
            vec![("program.reservoir".to_owned(), Class::Hard)]
        );
    }

    #[test]
    fn a_continuous_trial_needs_a_basal_and_a_bolus_trial_has_none() {
        let lib = library();
        let v = validate(
            &trial(TrialKind::Continuous, "2d"),
            &program("0 mg/day"),
            &lib,
        );
        assert_eq!(
            problems(&v),
            vec![("program.basal".to_owned(), Class::Hard)]
        );
        assert!(v.problems().any(|f| f.value == "0 mg/day"), "{v:?}");
        // A titration step that starts a basal later counts as a basal.
        let mut p = program("0 mg/day");
        p.titration = vec![TitrationStep {
            at: "1h".parse().unwrap(),
            basal: "1 mg/day".parse().unwrap(),
        }];
        assert!(
            !problems(&validate(&trial(TrialKind::Continuous, "2d"), &p, &lib))
                .contains(&("program.basal".to_owned(), Class::Hard))
        );
        let mut p = program("1 mg/day");
        p.boluses = vec![ScheduledBolus {
            at: Duration::ZERO,
            dose: "0.2 mg".parse().unwrap(),
        }];
        p.observe = Some("24h".parse().unwrap());
        assert!(
            problems(&validate(&trial(TrialKind::SingleBolus, "1d"), &p, &lib))
                .contains(&("program.basal".to_owned(), Class::Hard))
        );
    }

    #[test]
    fn observation_may_end_exactly_when_the_trial_does() {
        let lib = library();
        let t = trial(TrialKind::SingleBolus, "1d");
        let mut p = program("0 mg/day");
        p.boluses = vec![ScheduledBolus {
            at: Duration::ZERO,
            dose: "0.2 mg".parse().unwrap(),
        }];
        p.observe = Some("24h".parse().unwrap());
        assert_eq!(problems(&validate(&t, &p, &lib)), vec![]);
        p.boluses[0].at = "1h".parse().unwrap();
        let v = validate(&t, &p, &lib);
        assert_eq!(
            problems(&v),
            vec![("program.observe".to_owned(), Class::Soft)]
        );
        assert!(
            v.problems().any(|f| f.message.contains("runs to 1d 1h")),
            "{v:?}"
        );
    }

    #[test]
    fn checks_as_far_apart_as_the_period_they_cover_are_allowed() {
        // Clonidine has no default schedule in the library: any followable one is the
        // program's own business.
        let t = trial(TrialKind::Continuous, "3d");
        let mut p = program("1 mg/day");
        p.drug = "clonidine".to_owned();
        p.concentration = "500 mcg/mL".parse().unwrap();
        p.basal = "300 mcg/day".parse().unwrap();
        p.pca = None;
        p.observations = Some(toml::from_str("every = \"24h\"\nfor = \"24h\"").unwrap());
        let v = validate(&t, &p, &library());
        assert!(
            !v.problems()
                .any(|f| f.field.starts_with("program.observations")),
            "{v:?}"
        );
    }

    fn schedule(text: &str) -> Option<CheckSchedule> {
        Some(toml::from_str(text).unwrap())
    }

    /// The shipped library, which gives every neuraxial opioid a default schedule of checks
    /// (docs/clinical-sources.md).
    fn library_with_checks() -> DrugLibrary {
        DrugLibrary::from_toml_str(include_str!("../../../config/drug-library.toml")).unwrap()
    }

    #[test]
    fn an_opioid_program_without_checks_gets_the_librarys_default() {
        // Intrathecal morphine: the library's default (ASA 2016: hourly for the first 12 h and
        // 2-hourly to 24 h at least; the library asks hourly for 24 h, then every 4 h).
        let lib = library_with_checks();
        let t = trial(TrialKind::Continuous, "3d");
        let p = program("1 mg/day");
        assert_eq!(p.observations, None);
        let entry = lib
            .find("morphine", Route::Intrathecal, p.concentration)
            .unwrap();
        let want = schedule("every = \"1h\"\nfor = \"24h\"\nthen_every = \"4h\"");
        assert_eq!(p.checks(entry), want);
        let v = validate(&t, &p, &lib);
        assert_eq!(v.class(), Class::Ok);
        let f = v
            .findings
            .iter()
            .find(|f| f.field == "program.observations")
            .expect("the default is said");
        assert!(f.message.contains("every 1h for 1d"), "{}", f.message);
        assert!(f.message.contains("then every 4h"), "{}", f.message);
        // An entry without one leaves a program without checks without them.
        let e = lib
            .entries
            .iter()
            .find(|e| e.drug == "bupivacaine")
            .unwrap();
        assert_eq!(e.checks, None);
        assert_eq!(p.checks(e), None);
        // A schedule the nurse could not follow is refused in the library, naming it.
        let bad = include_str!("../../../config/drug-library.toml").replacen(
            "checks = { every = \"1h\", for = \"24h\", then_every = \"4h\" }",
            "checks = { every = \"2d\", for = \"1d\" }",
            1,
        );
        let e = DrugLibrary::from_toml_str(&bad).unwrap_err().to_string();
        assert!(
            e.contains("checks: every 2d is longer than the 1d it covers"),
            "{e}"
        );
    }

    #[test]
    fn a_program_may_tighten_the_checks_and_loosen_them_only_with_a_reason() {
        let lib = library_with_checks();
        let t = trial(TrialKind::Continuous, "3d");
        let mut p = program("1 mg/day");
        // Tighter: every 30 min for 48 h, then every 2 h. No finding beyond the schedule's own.
        p.observations = schedule("every = \"30min\"\nfor = \"48h\"\nthen_every = \"2h\"");
        let v = validate(&t, &p, &lib);
        assert_eq!(v.class(), Class::Ok, "{v:?}");
        // A schedule that leaves out the checks afterwards keeps the library's (every 4 h):
        // every 30 min for 24 h, then every 4 h, and that is no looser than the default.
        p.observations = schedule("every = \"30min\"\nfor = \"24h\"");
        let entry = lib
            .find("morphine", Route::Intrathecal, p.concentration)
            .unwrap();
        assert_eq!(
            p.checks(entry),
            schedule("every = \"30min\"\nfor = \"24h\"\nthen_every = \"4h\"")
        );
        assert_eq!(validate(&t, &p, &lib).class(), Class::Ok);
        // Without a library default, a schedule left without checks afterwards has none.
        let bupi = lib
            .entries
            .iter()
            .find(|e| e.drug == "bupivacaine")
            .unwrap();
        assert_eq!(p.checks(bupi), p.observations);
        // Looser on each count: refused without a reason, naming what is looser.
        for (text, words) in [
            (
                "every = \"2h\"\nfor = \"24h\"\nthen_every = \"4h\"",
                "every 2h instead of 1h",
            ),
            (
                "every = \"1h\"\nfor = \"12h\"\nthen_every = \"4h\"",
                "for 12h instead of 1d",
            ),
            (
                "every = \"1h\"\nfor = \"24h\"\nthen_every = \"8h\"",
                "afterwards every 8h instead of 4h",
            ),
        ] {
            p.observations = schedule(text);
            p.observations_reason = None;
            let v = validate(&t, &p, &lib);
            let f = v
                .problems()
                .find(|f| f.field == "program.observations")
                .unwrap_or_else(|| panic!("{text}: {v:?}"));
            assert_eq!(f.class, Class::Hard, "{text}");
            assert_eq!(f.value, words, "{text}");
            assert!(
                f.message.contains("need a clinician and a reason"),
                "{}",
                f.message
            );
            // With a reason: needs confirmation (and a clinician, which the service checks).
            p.observations_reason =
                Some("Opioid-tolerant for years, on a monitored bed".to_owned());
            let v = validate(&t, &p, &lib);
            assert_eq!(
                problems(&v),
                vec![("program.observations_reason".to_owned(), Class::Soft)],
                "{text}"
            );
        }
        // A reason too long, or one with nothing to loosen.
        p.observations_reason = Some("x".repeat(MAX_REASON + 1));
        assert_eq!(
            problems(&validate(&t, &p, &lib)),
            vec![("program.observations_reason".to_owned(), Class::Hard)]
        );
        p.observations = None;
        p.observations_reason = Some("no reason needed".to_owned());
        assert_eq!(
            problems(&validate(&t, &p, &lib)),
            vec![("program.observations_reason".to_owned(), Class::Hard)]
        );
    }

    #[test]
    fn a_limit_window_of_one_hour_or_one_day_is_allowed_and_longer_is_not() {
        let lib = library();
        let t = trial(TrialKind::Continuous, "3d");
        let mut p = program("1 mg/day");
        for (window, max) in [("1h", "0.5 mg"), ("24h", "10 mg")] {
            p.limit = Some(WindowLimit {
                window: window.parse().unwrap(),
                max: max.parse().unwrap(),
            });
            assert!(
                !problems(&validate(&t, &p, &lib))
                    .contains(&("program.limit.window".to_owned(), Class::Hard)),
                "{window}"
            );
        }
        p.limit = Some(WindowLimit {
            window: "24h 1min".parse().unwrap(),
            max: "10 mg".parse().unwrap(),
        });
        assert_eq!(
            problems(&validate(&t, &p, &lib)),
            vec![("program.limit.window".to_owned(), Class::Hard)]
        );
    }

    #[test]
    fn bolus_trials_need_their_boluses_and_planned_boluses_keep_the_lockout_apart() {
        let lib = library();
        let single = trial(TrialKind::SingleBolus, "2d");
        let multiple = trial(TrialKind::MultipleBolus, "2d");
        let mut p = program("0 mg/day");
        p.observe = Some("24h".parse().unwrap());
        let boluses_finding = |t: &Trial, p: &Program| {
            problems(&validate(t, p, &lib)).contains(&("program.boluses".to_owned(), Class::Hard))
        };
        assert!(boluses_finding(&single, &p), "none");
        assert!(boluses_finding(&multiple, &p), "none");
        p.boluses = vec![bolus("0h", "0.2 mg")];
        assert!(!boluses_finding(&single, &p));
        assert!(!boluses_finding(&multiple, &p));
        p.boluses = vec![bolus("0h", "0.2 mg"), bolus("20h", "0.2 mg")];
        assert!(boluses_finding(&single, &p), "two");
        assert!(!boluses_finding(&multiple, &p));
        // Morphine's lockout: hard minimum 10 min, usual 30 min.
        let at_field = ("program.boluses[1].at".to_owned(), Class::Soft);
        p.boluses = vec![bolus("0h", "0.2 mg"), bolus("10min", "0.2 mg")];
        assert!(problems(&validate(&multiple, &p, &lib)).contains(&at_field));
        p.boluses = vec![bolus("0h", "0.2 mg"), bolus("30min", "0.2 mg")];
        assert!(
            !problems(&validate(&multiple, &p, &lib))
                .iter()
                .any(|(f, _)| f == "program.boluses[1].at")
        );
        p.boluses = vec![bolus("0h", "0.2 mg"), bolus("9min", "0.2 mg")];
        assert!(
            problems(&validate(&multiple, &p, &lib))
                .contains(&("program.boluses[1].at".to_owned(), Class::Hard))
        );
    }

    #[test]
    fn the_planned_dose_counts_the_boluses_within_the_span_only() {
        let mut p = program("1 mg/day");
        p.boluses = vec![bolus("1h", "0.2 mg"), bolus("3d", "0.3 mg")];
        assert_eq!(p.planned_dose("1d".parse().unwrap()).to_string(), "1.2 mg");
        assert_eq!(p.planned_dose("3d".parse().unwrap()).to_string(), "3.5 mg");
    }

    /// A library whose one-hour cap has the hard maximum `max` (nothing else near a limit).
    fn capped(max: &str) -> DrugLibrary {
        capped_with(&format!("hard_max = \"{max}\""))
    }

    /// A library whose one-hour cap is `cap` (the inside of its table).
    fn capped_with(cap: &str) -> DrugLibrary {
        DrugLibrary::from_toml_str(&format!(
            r#"
schema = "titra.drug-library/1"
[[drug]]
name = "morphine"
route = "intrathecal"
unit = "mg"
concentrations = ["1 mg/mL"]
basal_per_day = {{ hard_max = "20 mg/day" }}
bolus = {{ hard_min = "0.001 mg", hard_max = "1 mg" }}
lockout = {{ hard_min = "10min" }}
boluses_per_hour = {{ hard_min = 1, hard_max = 6 }}
cumulative = [ {{ window = "1h", {cap} }} ]
observation = {{ hard_min = "1h" }}
source = "test values"
"#
        ))
        .unwrap()
    }

    #[test]
    fn the_librarys_caps_allow_a_program_that_reaches_them_exactly() {
        // 1.44 mg/day is 1 000 ng a minute: counted over the hour and the piece being recorded
        // (61 min), 0.061 mg.
        let t = trial(TrialKind::Continuous, "2d");
        let mut p = program("1.44 mg/day");
        let has = |lib: &DrugLibrary, p: &Program, field: &str, class: Class| {
            problems(&validate(&t, p, lib)).contains(&(field.to_owned(), class))
        };
        assert!(!has(&capped("0.061 mg"), &p, "program.basal", Class::Hard));
        assert!(has(
            &capped("0.060999 mg"),
            &p,
            "program.basal",
            Class::Hard
        ));
        // A planned bolus of 0.1 mg on top.
        p.boluses = vec![bolus("1h", "0.1 mg")];
        assert!(!has(
            &capped("0.161 mg"),
            &p,
            "program.boluses",
            Class::Hard
        ));
        assert!(has(
            &capped("0.160999 mg"),
            &p,
            "program.boluses",
            Class::Hard
        ));
        // Patient boluses of 0.01 mg every 30 min at most (6 an hour allowed): 3 in an hour
        // (at 0, 30 and 60 min), 0.03 mg.
        p.boluses.clear();
        p.pca = Some(Pca {
            dose: "0.01 mg".parse().unwrap(),
            lockout: "30min".parse().unwrap(),
            max_per_hour: 6,
        });
        let field = "library.cumulative[0]";
        assert!(!has(&capped("0.091 mg"), &p, field, Class::Soft));
        assert!(has(&capped("0.090 mg"), &p, field, Class::Soft));
    }

    #[test]
    fn the_librarys_usual_maximum_is_reached_exactly_without_a_confirmation() {
        // As above: 1.44 mg/day counts 0.061 mg in the hour; presses add 0.03 mg.
        let t = trial(TrialKind::Continuous, "2d");
        let mut p = program("1.44 mg/day");
        let soft = |soft: &str, p: &Program, field: &str| {
            let lib = capped_with(&format!("soft_max = \"{soft}\", hard_max = \"1 mg\""));
            problems(&validate(&t, p, &lib)).contains(&(field.to_owned(), Class::Soft))
        };
        assert!(!soft("0.061 mg", &p, "program.basal"));
        assert!(soft("0.060999 mg", &p, "program.basal"));
        p.pca = Some(Pca {
            dose: "0.01 mg".parse().unwrap(),
            lockout: "30min".parse().unwrap(),
            max_per_hour: 6,
        });
        let field = "library.cumulative[0]";
        assert!(!soft("0.091 mg", &p, field));
        assert!(soft("0.090999 mg", &p, field));
    }

    #[test]
    fn the_programs_own_limit_may_be_reached_exactly() {
        // 1.44 mg/day counts 0.061 mg in an hour (with the piece being recorded).
        let t = trial(TrialKind::Continuous, "2d");
        let lib = capped("1 mg");
        let mut p = program("1.44 mg/day");
        let limited = |p: &mut Program, max: &str| {
            p.limit = Some(WindowLimit {
                window: "1h".parse().unwrap(),
                max: max.parse().unwrap(),
            });
            problems(&validate(&t, p, &lib))
                .contains(&("program.limit.max".to_owned(), Class::Hard))
        };
        // The basal alone.
        assert!(!limited(&mut p, "0.061 mg"));
        assert!(limited(&mut p, "0.060999 mg"));
        // With a planned bolus of 0.1 mg.
        p.boluses = vec![bolus("1h", "0.1 mg")];
        assert!(!limited(&mut p, "0.161 mg"));
        assert!(limited(&mut p, "0.160999 mg"));
        // With one patient bolus of 0.01 mg on top of the basal.
        p.boluses.clear();
        p.pca = Some(Pca {
            dose: "0.01 mg".parse().unwrap(),
            lockout: "30min".parse().unwrap(),
            max_per_hour: 6,
        });
        assert!(!limited(&mut p, "0.071 mg"));
        assert!(limited(&mut p, "0.070999 mg"));
        // A limit over the library's cap for the same window is refused by the library's cap.
        assert!(limited(&mut p, "1.5 mg"));
        assert!(!limited(&mut p, "1 mg"));
    }

    #[test]
    fn a_rate_change_is_checked_against_the_library() {
        let lib = library();
        let p = program("1 mg/day");
        let entry = lib
            .find(&p.drug, Route::Intrathecal, p.concentration)
            .unwrap();
        // Over the basal's hard maximum (and, at that rate, the library's caps too).
        let v = check_rate_change(entry, &p, "basal", "25 mg/day".parse().unwrap());
        assert_eq!(problems(&v)[0], ("basal".to_owned(), Class::Hard));
        assert_eq!(v.class(), Class::Hard);
        let v = check_rate_change(entry, &p, "basal", "2 mg/day".parse().unwrap());
        assert_eq!(problems(&v), vec![]);
    }

    #[test]
    fn a_schedule_of_checks_must_be_one_a_nurse_can_follow() {
        let t = trial(TrialKind::Continuous, "3d");
        let mut p = program("1 mg/day");
        p.observations = Some(toml::from_str("every = \"1h\"\nfor = \"24h\"").unwrap());
        assert_eq!(validate(&t, &p, &library()).class(), Class::Ok);
        p.observations = Some(toml::from_str("every = \"2d\"\nfor = \"24h\"").unwrap());
        let v = validate(&t, &p, &library());
        assert_eq!(
            problems(&v),
            vec![("program.observations".to_owned(), Class::Hard)]
        );
        assert!(
            v.problems().any(|f| f
                .message
                .contains("every 2d is longer than the 1d it covers")),
            "{v:?}"
        );
        p.observations =
            Some(toml::from_str("every = \"1h\"\nfor = \"24h\"\nthen_every = \"0s\"").unwrap());
        let v = validate(&t, &p, &library());
        assert_eq!(
            problems(&v),
            vec![("program.observations".to_owned(), Class::Hard)]
        );
        assert!(
            v.problems().any(|f| f.message.contains("then_every is 0s")),
            "{v:?}"
        );
        // The schedule survives the trial log's JSON.
        p.observations =
            Some(toml::from_str("every = \"1h\"\nfor = \"24h\"\nthen_every = \"4h\"").unwrap());
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"for\":\"1d\""), "{json}");
        assert_eq!(serde_json::from_str::<Program>(&json).unwrap(), p);
    }

    #[test]
    fn the_shipped_library_holds_every_drug_the_issue_names() {
        let names = library().drug_names();
        for drug in [
            "morphine",
            "hydromorphone",
            "fentanyl",
            "sufentanil",
            "bupivacaine",
            "clonidine",
            "ziconotide",
            "baclofen",
        ] {
            assert!(names.iter().any(|n| n == drug), "{drug}");
        }
        // Ziconotide is intrathecal only.
        let err = library()
            .find("ziconotide", Route::Epidural, "25 mcg/mL".parse().unwrap())
            .unwrap_err();
        assert!(matches!(err, LookupError::WrongRoute { .. }));
    }

    #[test]
    fn a_plain_continuous_program_is_ok_and_says_what_was_checked() {
        let v = validate(
            &trial(TrialKind::Continuous, "3d"),
            &program("0.5 mg/day"),
            &library(),
        );
        assert_eq!(v.class(), Class::Ok, "{v:?}");
        let basal = &v.findings[0];
        assert_eq!(basal.field, "program.basal");
        assert_eq!(basal.value, "0.5 mg/day (0.0208 mg/h, 0.0208 mL/h)");
        assert_eq!(
            basal.limit,
            "usual range 0.1 mg/day (0.0042 mg/h, 0.0042 mL/h) to 15 mg/day (0.625 mg/h, 0.625 mL/h)"
        );
    }

    #[test]
    fn a_basal_above_the_hard_limit_is_rejected_naming_field_value_and_limit() {
        let v = validate(
            &trial(TrialKind::Continuous, "1d"),
            &program("50 mg/day"),
            &library(),
        );
        assert!(v.is_rejected());
        let f = v.findings.iter().find(|f| f.class == Class::Hard).unwrap();
        assert_eq!(f.field, "program.basal");
        assert!(f.value.starts_with("50 mg/day"));
        assert!(
            f.limit.starts_with("hard maximum of 20 mg/day"),
            "{}",
            f.limit
        );
    }

    #[test]
    fn soft_limits_need_confirmation() {
        let v = validate(
            &trial(TrialKind::Continuous, "3d"),
            &program("16 mg/day"),
            &library(),
        );
        assert_eq!(v.class(), Class::Soft);
        assert!(!v.is_rejected());
    }

    #[test]
    fn concentration_must_come_from_the_library() {
        let mut p = program("0.5 mg/day");
        p.concentration = "3 mg/mL".parse().unwrap();
        let v = validate(&trial(TrialKind::Continuous, "3d"), &p, &library());
        assert_eq!(
            problems(&v),
            vec![("program.concentration".to_owned(), Class::Hard)]
        );
        assert!(
            v.findings[0]
                .message
                .contains("it lists: 0.5 mg/mL, 1 mg/mL"),
            "{}",
            v.findings[0].message
        );
    }

    #[test]
    fn kind_and_program_must_agree() {
        let lib = library();
        let v = validate(
            &trial(TrialKind::Continuous, "3d"),
            &program("0 mg/day"),
            &lib,
        );
        assert_eq!(
            problems(&v),
            vec![("program.basal".to_owned(), Class::Hard)]
        );

        let mut p = program("0 mg/day");
        p.boluses = vec![ScheduledBolus {
            at: Duration::ZERO,
            dose: "0.2 mg".parse().unwrap(),
        }];
        let v = validate(&trial(TrialKind::SingleBolus, "24h"), &p, &lib);
        assert_eq!(
            problems(&v),
            vec![("program.observe".to_owned(), Class::Hard)]
        );
        p.observe = Some(Duration::from_hours(24));
        assert_eq!(
            validate(&trial(TrialKind::SingleBolus, "24h"), &p, &lib).class(),
            Class::Ok
        );
        // 0.4 mg is above the usual maximum for an opioid-naive single shot.
        p.boluses[0].dose = "0.4 mg".parse().unwrap();
        assert_eq!(
            validate(&trial(TrialKind::SingleBolus, "24h"), &p, &lib).class(),
            Class::Soft
        );
        p.observe = Some(Duration::from_hours(2));
        let v = validate(&trial(TrialKind::SingleBolus, "24h"), &p, &lib);
        assert!(problems(&v).contains(&("program.observe".to_owned(), Class::Hard)));
    }

    #[test]
    fn patient_bolus_settings_are_each_checked() {
        let mut p = program("0.5 mg/day");
        p.pca = Some(Pca {
            dose: "2 mg".parse().unwrap(),
            lockout: "5min".parse().unwrap(),
            max_per_hour: 10,
        });
        let v = validate(&trial(TrialKind::Continuous, "3d"), &p, &library());
        let found = problems(&v);
        for field in [
            "program.pca.dose",
            "program.pca.lockout",
            "program.pca.max_per_hour",
        ] {
            assert!(
                found.contains(&(field.to_owned(), Class::Hard)),
                "{field}: {found:?}"
            );
        }
    }

    #[test]
    fn a_window_limit_the_basal_alone_would_reach_is_rejected() {
        let mut p = program("2.4 mg/day");
        p.limit = Some(WindowLimit {
            window: Duration::from_hours(4),
            max: "0.3 mg".parse().unwrap(),
        });
        let v = validate(&trial(TrialKind::Continuous, "3d"), &p, &library());
        let f = v
            .problems()
            .find(|f| f.field == "program.limit.max")
            .unwrap();
        assert_eq!(f.class, Class::Hard);
        assert!(
            f.message.contains("basal rate alone gives 0.4 mg in 4h"),
            "{}",
            f.message
        );

        p.basal = "0.5 mg/day".parse().unwrap();
        p.pca = Some(Pca {
            dose: "0.25 mg".parse().unwrap(),
            lockout: Duration::from_hours(1),
            max_per_hour: 1,
        });
        let v = validate(&trial(TrialKind::Continuous, "3d"), &p, &library());
        let f = v
            .problems()
            .find(|f| f.field == "program.limit.max")
            .unwrap();
        assert!(f.message.contains("would never fit"), "{}", f.message);

        p.limit = Some(WindowLimit {
            window: Duration::from_hours(30),
            max: "3 mg".parse().unwrap(),
        });
        let v = validate(&trial(TrialKind::Continuous, "3d"), &p, &library());
        assert!(problems(&v).contains(&("program.limit.window".to_owned(), Class::Hard)));
    }

    #[test]
    fn titration_steps_are_checked_and_ordered() {
        let mut p = program("0.5 mg/day");
        p.titration = vec![
            TitrationStep {
                at: Duration::from_days(1),
                basal: "1 mg/day".parse().unwrap(),
            },
            TitrationStep {
                at: Duration::from_hours(12),
                basal: "30 mg/day".parse().unwrap(),
            },
        ];
        let v = validate(&trial(TrialKind::Continuous, "3d"), &p, &library());
        let found = problems(&v);
        assert!(
            found.contains(&("program.titration[1].at".to_owned(), Class::Hard)),
            "{found:?}"
        );
        assert!(
            found.contains(&("program.titration[1].basal".to_owned(), Class::Hard)),
            "{found:?}"
        );
        assert_eq!(
            p.basal_at(Duration::from_hours(6)),
            "0.5 mg/day".parse().unwrap()
        );
        assert_eq!(p.max_rate(), "30 mg/day".parse().unwrap());
    }

    #[test]
    fn kvo_counts_as_dose() {
        let mut p = program("0.5 mg/day");
        p.kvo = "0.1 mL/day".parse().unwrap();
        assert_eq!(p.kvo_rate(), "0.1 mg/day".parse().unwrap());
        assert_eq!(p.max_rate(), "0.6 mg/day".parse().unwrap());
        assert_eq!(
            p.planned_dose(Duration::from_days(2)),
            "1.2 mg".parse().unwrap()
        );
        let v = validate(&trial(TrialKind::Continuous, "3d"), &p, &library());
        assert!(problems(&v).contains(&("program.kvo".to_owned(), Class::Soft)));
    }

    #[test]
    fn a_reservoir_too_small_for_the_plan_is_flagged() {
        let mut p = program("5 mg/day");
        p.reservoir = "10 mL".parse().unwrap();
        let v = validate(&trial(TrialKind::Continuous, "3d"), &p, &library());
        let f = v
            .problems()
            .find(|f| f.field == "program.reservoir")
            .unwrap();
        assert_eq!(f.class, Class::Soft);
        assert!(f.message.contains("needs about 15 mL"), "{}", f.message);
    }

    #[test]
    fn changes_during_the_trial_are_checked_like_the_program() {
        let lib = library();
        let p = program("0.5 mg/day");
        let entry = lib
            .find("morphine", Route::Intrathecal, p.concentration)
            .unwrap();
        let v = check_rate_change(entry, &p, "events[0].basal", "25 mg/day".parse().unwrap());
        assert!(v.is_rejected());
        let v = check_clinician_bolus(entry, "events[1].dose", "0.1 mg".parse().unwrap());
        assert_eq!(v.class(), Class::Ok);
        let v = check_clinician_bolus(entry, "events[1].dose", "5 mg".parse().unwrap());
        assert!(v.is_rejected());
        assert_eq!(v.findings[0].field, "events[1].dose");
    }

    // ---- from the review of the dosing core (one test per defect) ------------------------

    fn bolus(at: &str, dose: &str) -> ScheduledBolus {
        ScheduledBolus {
            at: at.parse().unwrap(),
            dose: dose.parse().unwrap(),
        }
    }

    #[test]
    fn planned_boluses_keep_the_librarys_least_time_apart() {
        // Morphine: lockout hard minimum 10 min, usual 30 min.
        let lib = library();
        let mut p = program("0 mg/day");
        p.boluses = vec![
            bolus("0h", "0.1 mg"),
            bolus("20min", "0.1 mg"),
            bolus("25min", "0.1 mg"),
        ];
        p.observe = Some("24h".parse().unwrap());
        let v = validate(&trial(TrialKind::MultipleBolus, "2d"), &p, &lib);
        let found = problems(&v);
        assert!(
            found.contains(&("program.boluses[1].at".to_owned(), Class::Soft)),
            "20 min apart is under the usual 30 min: {found:?}"
        );
        assert!(
            found.contains(&("program.boluses[2].at".to_owned(), Class::Hard)),
            "5 min apart is under the hard 10 min: {found:?}"
        );
        // Baclofen: 16 × 100 mcg a minute apart is refused.
        let mut p = program("0 mg/day");
        p.drug = "baclofen".to_owned();
        p.concentration = "500 mcg/mL".parse().unwrap();
        p.boluses = (0..16)
            .map(|i| bolus(&format!("{i}min"), "100 mcg"))
            .collect();
        p.observe = Some("24h".parse().unwrap());
        let v = validate(&trial(TrialKind::MultipleBolus, "2d"), &p, &lib);
        assert!(v.is_rejected());
    }

    #[test]
    fn the_librarys_usual_window_maxima_need_confirming() {
        let lib = library();
        // Morphine 1 h: usual 0.5 mg, hard 1 mg. Basal 1 mg/day with 0.25 mg twice an hour
        // could give about 0.54 mg in an hour.
        let mut p = program("1 mg/day");
        p.pca = Some(Pca {
            dose: "0.25 mg".parse().unwrap(),
            lockout: "30min".parse().unwrap(),
            max_per_hour: 2,
        });
        let v = validate(&trial(TrialKind::Continuous, "3d"), &p, &lib);
        assert_eq!(v.class(), Class::Soft);
        assert!(
            v.problems().any(|f| f.field == "library.cumulative[0]"
                && f.limit.contains("usual maximum of 0.5 mg in 1h")),
            "{:?}",
            problems(&v)
        );
        // Three planned boluses of 0.3 mg 30 min apart: 0.6 mg within an hour.
        let mut p = program("0 mg/day");
        p.boluses = vec![
            bolus("0h", "0.3 mg"),
            bolus("30min", "0.3 mg"),
            bolus("1h", "0.3 mg"),
        ];
        p.observe = Some("24h".parse().unwrap());
        let v = validate(&trial(TrialKind::MultipleBolus, "2d"), &p, &lib);
        assert!(
            v.problems().any(|f| f.field == "program.boluses"
                && f.class == Class::Soft
                && f.message.contains("usual maximum")),
            "{:?}",
            problems(&v)
        );
    }

    #[test]
    fn a_rate_change_counts_kvo_as_validate_does() {
        let lib = library();
        let mut p = program("0 mg/day");
        p.drug = "ziconotide".to_owned();
        p.concentration = "25 mcg/mL".parse().unwrap();
        p.kvo = "0.1 mL/day".parse().unwrap(); // 2.5 mcg/day
        let entry = lib
            .find("ziconotide", Route::Intrathecal, p.concentration)
            .unwrap();
        // 21.6 + 2.5 mcg/day is above the hard maximum of 21.6 mcg/day.
        let v = check_rate_change(entry, &p, "basal", "21.6 mcg/day".parse().unwrap());
        assert!(v.is_rejected(), "{:?}", problems(&v));
    }

    #[test]
    fn ziconotide_steps_up_slowly() {
        let lib = library();
        let entry = lib
            .find(
                "ziconotide",
                Route::Intrathecal,
                "25 mcg/mL".parse().unwrap(),
            )
            .unwrap();
        let r = |s: &str| s.parse::<AmountRate>().unwrap();
        let day = Duration::from_hours(24);
        assert!(
            check_titration_step(
                entry,
                "basal",
                r("2.4 mcg/day"),
                r("4.8 mcg/day"),
                Some(day)
            )
            .problems()
            .next()
            .is_none()
        );
        assert!(
            check_titration_step(
                entry,
                "basal",
                r("2.4 mcg/day"),
                r("19.2 mcg/day"),
                Some(day)
            )
            .is_rejected()
        );
        assert!(
            check_titration_step(
                entry,
                "basal",
                r("2.4 mcg/day"),
                r("4.8 mcg/day"),
                Some(Duration::from_hours(1))
            )
            .is_rejected()
        );
        assert!(
            check_titration_step(
                entry,
                "basal",
                r("4.8 mcg/day"),
                r("2.4 mcg/day"),
                Some(Duration::from_hours(1))
            )
            .problems()
            .next()
            .is_none(),
            "stepping down is never held back"
        );
        // In a program: 2.4 then 19.2 mcg/day an hour later is refused.
        let mut p = program("2.4 mcg/day");
        p.drug = "ziconotide".to_owned();
        p.concentration = "25 mcg/mL".parse().unwrap();
        p.titration = vec![TitrationStep {
            at: "1h".parse().unwrap(),
            basal: r("19.2 mcg/day"),
        }];
        let v = validate(&trial(TrialKind::Continuous, "7d"), &p, &lib);
        assert!(v.is_rejected(), "{:?}", problems(&v));
        // And the library's 24 h cap is the verified daily maximum, 21.6 mcg.
        assert_eq!(entry.cumulative[0].hard_max, "21.6 mcg".parse().unwrap());
    }

    #[test]
    fn a_programs_titration_step_is_timed_against_the_step_before_and_the_trials_end() {
        let lib = library();
        let r = |s: &str| s.parse::<AmountRate>().unwrap();
        // Started within PACC's 0.5-1.2 mcg/day (the library's usual starting range).
        let mut p = program("1.2 mcg/day");
        p.drug = "ziconotide".to_owned();
        p.concentration = "25 mcg/mL".parse().unwrap();
        let with_step = |p: &mut Program, at: &str| {
            p.titration = vec![TitrationStep {
                at: at.parse().unwrap(),
                basal: r("3.6 mcg/day"),
            }];
            problems(&validate(&trial(TrialKind::Continuous, "7d"), p, &lib))
        };
        // A step of the allowed size a day after the start: nothing to say about it.
        assert_eq!(with_step(&mut p, "24h"), vec![], "a day later is allowed");
        // The same step an hour after the start is too soon: the program's own steps are timed
        // from the start like a change during the trial is from the last change.
        assert_eq!(
            with_step(&mut p, "1h"),
            vec![("program.titration[0].basal".to_owned(), Class::Hard)]
        );
        let v = validate(&trial(TrialKind::Continuous, "7d"), &p, &lib);
        assert!(
            v.problems()
                .any(|f| f.message.contains("last changed 1h ago")),
            "{:?}",
            problems(&v)
        );
        // A step on the trial's last moment is inside it; one at its end is not.
        assert_eq!(with_step(&mut p, "167h"), vec![]);
        assert_eq!(
            with_step(&mut p, "7d"),
            vec![("program.titration[0].at".to_owned(), Class::Hard)]
        );
    }

    #[test]
    fn planned_boluses_a_whole_window_apart_are_not_in_one_window() {
        // The pump's windows are (t − w, t]: a bolus given exactly a window before another has
        // left that window when the second is given, so 0.3 mg at 0 h and at 1 h fit under
        // 0.5 mg per hour; a minute sooner they do not.
        let lib = library();
        let mut p = program("0 mg/day");
        p.observe = Some("24h".parse().unwrap());
        p.limit = Some(WindowLimit {
            window: "1h".parse().unwrap(),
            max: "0.5 mg".parse().unwrap(),
        });
        let limit_findings = |p: &Program| {
            let v = validate(&trial(TrialKind::MultipleBolus, "2d"), p, &lib);
            v.problems()
                .filter(|f| f.field == "program.limit.max")
                .count()
        };
        p.boluses = vec![bolus("0h", "0.3 mg"), bolus("1h", "0.3 mg")];
        assert_eq!(
            scheduled_peak(&p, "1h".parse().unwrap()),
            "0.3 mg".parse().unwrap()
        );
        assert_eq!(limit_findings(&p), 0);
        p.boluses = vec![bolus("0h", "0.3 mg"), bolus("59min", "0.3 mg")];
        assert_eq!(
            scheduled_peak(&p, "1h".parse().unwrap()),
            "0.6 mg".parse().unwrap()
        );
        assert_eq!(limit_findings(&p), 1);
        // Only the boluses inside a window count: three, each two hours apart, peak at one.
        p.boluses = vec![
            bolus("0h", "0.3 mg"),
            bolus("2h", "0.3 mg"),
            bolus("4h", "0.3 mg"),
        ];
        assert_eq!(
            scheduled_peak(&p, "1h".parse().unwrap()),
            "0.3 mg".parse().unwrap()
        );
        assert_eq!(
            scheduled_peak(&p, "3h".parse().unwrap()),
            "0.6 mg".parse().unwrap()
        );
    }

    #[test]
    fn the_programs_own_limit_counts_planned_boluses() {
        let lib = library();
        let mut p = program("0 mg/day");
        p.boluses = vec![bolus("0h", "0.3 mg"), bolus("30min", "0.3 mg")];
        p.observe = Some("24h".parse().unwrap());
        p.limit = Some(WindowLimit {
            window: "1h".parse().unwrap(),
            max: "0.5 mg".parse().unwrap(),
        });
        let v = validate(&trial(TrialKind::MultipleBolus, "2d"), &p, &lib);
        assert!(
            v.problems()
                .any(|f| f.field == "program.limit.max" && f.class == Class::Hard),
            "{:?}",
            problems(&v)
        );
    }

    #[test]
    fn a_hard_cap_finding_names_its_limit() {
        let lib = library();
        let v = validate(
            &trial(TrialKind::Continuous, "3d"),
            &program("30 mg/day"),
            &lib,
        );
        let cap = v
            .problems()
            .find(|f| f.message.contains("in 1h") && f.class == Class::Hard)
            .unwrap();
        assert_eq!(cap.limit, "hard maximum of 1 mg in 1h");
        assert!(cap.message.contains("more than the library's hard maximum"));
    }

    /// The planned peak counted from every bolus, as it was before the sliding window: the
    /// reference the linear computation must agree with.
    fn scheduled_peak_reference(p: &Program, w: Duration) -> Amount {
        p.boluses
            .iter()
            .map(|b| {
                p.boluses
                    .iter()
                    .filter(|o| o.at >= b.at && o.at < b.at + w)
                    .map(|o| o.dose)
                    .sum::<Amount>()
            })
            .max()
            .unwrap_or(Amount::ZERO)
    }

    proptest::proptest! {
        #[test]
        fn the_planned_peak_is_the_same_as_counting_from_every_bolus(
            boluses in proptest::collection::vec((0u64..20, 0u64..5_000), 0..24),
            window in 0u64..25,
            huge in proptest::bool::ANY,
        ) {
            // Times on a coarse grid (hours) so that boluses share times and windows end
            // exactly on another bolus; sometimes doses near u64::MAX so that sums saturate.
            let mut p = program("0 mg/day");
            p.boluses = boluses
                .iter()
                .map(|&(h, ng)| ScheduledBolus {
                    at: Duration::from_hours(h),
                    dose: Amount::from_ng(if huge { u64::MAX / 3 + ng } else { ng * 1_000 }),
                })
                .collect();
            let w = Duration::from_hours(window);
            proptest::prop_assert_eq!(scheduled_peak(&p, w), scheduled_peak_reference(&p, w));
        }
    }
}
