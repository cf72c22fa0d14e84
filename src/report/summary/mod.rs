//! The trial summary, computed from the engine's journal: what the trial delivered, what the
//! patient asked for and reported, and what went wrong. Its JSON form is the contract
//! `titra.trial-summary/1` (keys listed in examples/scenarios/README.md; more may be added,
//! none renamed).

mod chart;
mod clinical;
mod decision;
mod delivery;
mod effective;
mod events;
mod text;

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde::Serialize;

use crate::core::diary::{Ashworth, OutcomeMeasure};
use crate::core::dose::{Denial, Source};
use crate::core::program::{Program, Trial};
use crate::core::supervisor::State;
use crate::core::supervisor::{AlarmKind, Priority};
use crate::core::units::{Amount, Duration, MassUnit, Timestamp};
use crate::journal::Record;
use crate::journal::{Severity, SideEffect};
use crate::time::{parse_rfc3339, rfc3339, virtual_time};

pub use chart::{
    BolusCourse, BolusResponse, History, MEASURE_PAIN, MEASURE_SPASTICITY, bolus_response, history,
};
pub use clinical::{
    CatheterInfo, Diary, FunctionEntry, Observations, Pain, PainScore, SedationEntry, SedationHold,
    SideEffectEntry, SiteCheckEntry, Spasticity, SpasticityScore, VitalsEntry,
};
pub use decision::{
    AssessmentEntry, CatheterRemoval, ChecklistEntry, ChecklistOverride, ChecklistSummary,
    ExportEntry,
};
pub use delivery::{
    DayEntry, Delivered, PcaCounts, PcaInfo, ProgramInfo, RateChangeEntry, Reservoir,
    ScheduledInfo, denial_name,
};
pub use effective::{
    BolusEntry, ConversionInfo, EffectiveDose, ImplantWorksheet, OpioidEntry, Opioids,
    ResponseInfo, StableInfo, implant_entry, unit_of,
};
pub use events::{AlarmEntry, Interruption};
pub use text::render;

pub(crate) const SUMMARY_SCHEMA: &str = "titra.trial-summary/1";

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema: &'static str,
    /// True when the trial ran on simulated hardware (in virtual time).
    pub simulated: bool,
    pub trial: TrialInfo,
    pub delivered: Delivered,
    pub pca: PcaCounts,
    pub alarms: Vec<AlarmEntry>,
    pub pain: Pain,
    pub side_effects: Vec<SideEffectEntry>,
    pub reservoir: Reservoir,
    /// The effective trial dose per day (mg even for mcg drugs); null when there is none.
    pub effective_dose_mg_per_day: Option<f64>,
    /// What it was read from, in words.
    pub effective_dose_rule: String,
    /// What counts as a response, and whether the trial was one.
    pub response_criterion: ResponseInfo,
    /// Opioid status, and systemic opioids before and during the trial.
    pub opioids: Opioids,
    /// "wall" when the dates are the pump's wall clock, "virtual" when the trial ran on the
    /// simulator's clock (which starts at 2000-01-01T00:00:00Z).
    pub clock: &'static str,
    /// The program as it was started.
    pub program: ProgramInfo,
    /// The data the effective dose came from.
    pub effective_dose: EffectiveDose,
    /// Basal changes after the start (the program's own titration steps and clinicians').
    pub titration: Vec<RateChangeEntry>,
    /// One entry per trial day (24 h from the start; the last one may be partial).
    pub days: Vec<DayEntry>,
    /// Times delivery was stopped: paused by a nurse, stopped by an alarm, or without power.
    pub interruptions: Vec<Interruption>,
    /// Scheduled boluses that fell due while delivery was stopped: held, never given late on
    /// their own, and the nurse's decision about each.
    pub held_boluses: Vec<events::HeldBolus>,
    /// The program's changes during the trial (titration of any setting), each with both names.
    pub program_changes: Vec<events::ProgramChangeEntry>,
    /// The clinician's assessment and decision: outcome and reasons, the patient's wish to
    /// proceed and the implant planned.
    pub assessment: Option<AssessmentEntry>,
    pub implant: ImplantWorksheet,
    /// The pre-trial checklist: each item, who confirmed it and when, and a clinician's
    /// override of the open ones; None when the trial had none.
    pub checklist: Option<ChecklistSummary>,
    /// When the trial's catheter was taken out and by whom; None until recorded.
    pub catheter_removal: Option<CatheterRemoval>,
    /// Earlier exports of this summary.
    pub exports: Vec<ExportEntry>,
    /// Sedation and breathing: what was recorded, checks missed, and each time the sedation
    /// interlock stopped delivery with the clinician's review.
    pub observations: Observations,
    /// The catheter and its site: type, placement, and every site check.
    pub catheter: CatheterInfo,
    /// What the trial is judged on: "pain" (the `pain` section) or "spasticity" (the
    /// `spasticity` section, for baclofen).
    pub outcome_measure: OutcomeMeasure,
    pub spasticity: Spasticity,
    /// The patient's diary besides pain: the function question's answers and the global
    /// impression of change at the end.
    pub diary: Diary,
}

#[derive(Debug, Clone, Serialize)]
pub struct TrialInfo {
    pub patient: String,
    pub route: String,
    pub kind: String,
    pub drug: String,
    pub concentration_mg_per_ml: f64,
    pub catheter_tip: Option<String>,
    /// RFC 3339. A simulated trial runs on a virtual clock starting 2000-01-01T00:00:00Z.
    pub started_at: String,
    pub ended_at: String,
    pub duration_h: f64,
}

/// What the summary is computed from.
pub struct Inputs<'a> {
    pub trial: &'a Trial,
    pub program: &'a Program,
    pub journal: &'a [Record],
    pub started: Timestamp,
    pub ended: Timestamp,
    pub steps_per_ml: u64,
    pub loaded_ml: f64,
    pub remaining_ml: f64,
    pub simulated: bool,
    /// When the trial started by the wall clock (RFC 3339); None on the virtual clock.
    pub started_wall: Option<&'a str>,
    /// The site's protocol: the response criterion and the implant rules.
    pub protocol: &'a crate::input::protocol::Protocol,
    /// The drug library: the implant route's limits and starting ranges.
    pub library: &'a crate::core::library::DrugLibrary,
    /// The unit the drug's doses are written in.
    pub unit: MassUnit,
    /// What the trial is judged on (the drug library's `outcome` for the drug).
    pub outcome: OutcomeMeasure,
}

fn hours(from: Timestamp, at: Timestamp) -> f64 {
    (at.since(from).as_hours_f64() * 1e4).round() / 1e4
}

fn mg(a: Amount) -> f64 {
    a.as_mg_f64()
}

/// Which trial day (from 0) a moment belongs to: a delivery recorded at exactly 24 h was given
/// during the first day.
pub(crate) fn day_of(from: Timestamp, at: Timestamp) -> usize {
    let ms = at.since(from).ms().saturating_sub(1);
    usize::try_from(ms / Duration::from_days(1).ms()).unwrap_or(usize::MAX)
}

pub(crate) fn round6(v: f64) -> f64 {
    (v * 1e6).round() / 1e6
}

/// The trial's span for the sections: hours from the start, and the trial day a moment falls
/// in.
pub(super) struct Span {
    started: Timestamp,
    days: usize,
}

impl Span {
    fn of(i: &Inputs<'_>) -> Span {
        let days = usize::try_from(
            i.ended
                .since(i.started)
                .ms()
                .div_ceil(Duration::from_days(1).ms())
                .max(1),
        )
        .unwrap_or(1);
        Span {
            started: i.started,
            days,
        }
    }

    /// Hours from the start, to 4 decimals.
    pub(super) fn h(&self, at: Timestamp) -> f64 {
        hours(self.started, at)
    }

    /// The trial day (from 0) a moment falls in; the last for anything after the end.
    pub(super) fn day(&self, at: Timestamp) -> usize {
        day_of(self.started, at).min(self.days - 1)
    }
}

/// Computes the summary from the journal, one section at a time.
pub fn summarise(i: &Inputs<'_>) -> Summary {
    let span = Span::of(i);
    let d = delivery::delivery(i, &span);
    let continuous = i.trial.kind == crate::core::program::TrialKind::Continuous;
    let ashworth = clinical::ashworth_scores(i, &span);
    // The response is judged against a score from before the start only.
    let ashworth_before = ashworth
        .iter()
        .rev()
        .find(|(at, _)| *at <= i.started)
        .map(|(_, s)| s.score);
    let dose = effective::dose_sections(
        i,
        d.last_day_start,
        d.last_day,
        d.patient_per_day,
        span.days,
        ashworth_before,
    );
    let judged = format!(
        "{}, {}",
        dose.response.criterion,
        clinical::judged_when(continuous)
    );
    // A trial is judged on its outcome measure alone; the other's scores are still shown.
    let judged_on = |m: OutcomeMeasure| dose.response.responder.filter(|_| i.outcome == m);
    let spasticity = Spasticity {
        responder: judged_on(OutcomeMeasure::Spasticity),
        responder_rule: judged.clone(),
        ..clinical::spasticity_of(&ashworth, i.started, continuous)
    };
    let pain = clinical::pain(i, &span, judged_on(OutcomeMeasure::Pain), judged);
    let base = i.started_wall.and_then(parse_rfc3339);
    let when = |t: Timestamp| match base {
        Some(b) => rfc3339(b + t.since(i.started).ms()),
        None => virtual_time(t),
    };
    // Times before the start (the checklist is done before it) are dated back from it.
    let when_any = |t: Timestamp| {
        if t >= i.started {
            when(t)
        } else {
            let back = i.started.since(t).ms();
            match base {
                Some(b) => rfc3339(b.saturating_sub(back)),
                None => virtual_time(t),
            }
        }
    };
    let p = i.program;
    Summary {
        schema: SUMMARY_SCHEMA,
        simulated: i.simulated,
        trial: TrialInfo {
            patient: i.trial.patient.clone(),
            route: i.trial.route.to_string(),
            kind: i.trial.kind.to_string(),
            drug: p.drug.clone(),
            concentration_mg_per_ml: p.concentration.as_mg_per_ml_f64(),
            catheter_tip: i.trial.catheter_tip.clone(),
            started_at: when(i.started),
            ended_at: when(i.ended),
            duration_h: hours(i.started, i.ended),
        },
        delivered: d.delivered,
        pca: d.pca,
        alarms: events::alarms(i, &span),
        pain,
        side_effects: clinical::side_effects(i, &span),
        reservoir: d.reservoir,
        effective_dose_mg_per_day: dose.effective.mg_per_day,
        effective_dose_rule: dose.rule_text,
        response_criterion: dose.response,
        opioids: dose.opioids,
        clock: if base.is_some() { "wall" } else { "virtual" },
        program: d.program,
        effective_dose: dose.effective,
        titration: d.titration,
        days: d.days,
        interruptions: events::interruptions(i, &span),
        held_boluses: events::held_boluses(i, &span),
        program_changes: events::program_changes(i, &span),
        assessment: decision::assessment(i, &span, &dose.implant),
        implant: dose.implant,
        checklist: decision::checklist_summary(i.journal, &when_any),
        catheter_removal: decision::catheter_removal(i, &when_any),
        exports: decision::exports(i, &span),
        observations: clinical::observations(i, &span),
        catheter: clinical::catheter(i, &span),
        outcome_measure: i.outcome,
        spasticity,
        diary: clinical::diary(i, &span),
    }
}

/// When delivery started (the first entry to running; the first record if it never ran) and
/// when the trial ended (the entry to ended; the last record if it has not).
pub fn span_of(journal: &[Record]) -> (Timestamp, Timestamp) {
    let first = journal.first().map_or(Timestamp::ORIGIN, Record::at);
    let last = journal.iter().map(Record::at).max().unwrap_or(first);
    let started = journal
        .iter()
        .find_map(|r| match r {
            Record::StateChanged {
                at,
                to: State::Running,
                ..
            } => Some(*at),
            _ => None,
        })
        .unwrap_or(first);
    let ended = ended_at(journal).unwrap_or(last);
    (started, ended.max(started))
}

/// When the trial ended (its entry to the ended state), if it has.
pub fn ended_at(journal: &[Record]) -> Option<Timestamp> {
    journal.iter().find_map(|r| match r {
        Record::StateChanged {
            at,
            to: State::Ended,
            ..
        } => Some(*at),
        _ => None,
    })
}

/// What is left in the syringe by the log: the volume loaded (or changed to), less what the
/// deliveries, the uncertain deliveries and priming took from it.
pub fn reservoir_left(program: &Program, journal: &[Record], steps_per_ml: u64) -> f64 {
    let per_step_nl = |steps: u64| {
        u64::try_from(u128::from(steps) * 1_000_000 / u128::from(steps_per_ml.max(1)))
            .unwrap_or(u64::MAX)
    };
    let mut nl = program.reservoir.nl();
    for r in journal {
        match r {
            Record::ReservoirChanged { volume, .. } => nl = volume.nl(),
            Record::Delivery { volume, .. } => nl = nl.saturating_sub(volume.nl()),
            Record::UncertainDelivery { steps, .. } | Record::Primed { steps, .. } => {
                nl = nl.saturating_sub(per_step_nl(*steps));
            }
            _ => {}
        }
    }
    nl as f64 / 1e6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bolus_response_has_the_signature_the_api_documents() {
        use zbus::zvariant::Type as _;
        assert_eq!(
            BolusResponse::SIGNATURE.to_string(),
            "(bydda(dssbbbddddsa(dd)))",
            "docs/dbus-api.md"
        );
    }

    #[test]
    fn a_delivery_recorded_at_the_end_of_a_day_belongs_to_it() {
        let day = Duration::from_days(1).ms();
        assert_eq!(day_of(Timestamp::ORIGIN, Timestamp::from_ms(day)), 0);
        assert_eq!(day_of(Timestamp::ORIGIN, Timestamp::from_ms(day + 1)), 1);
    }

    #[test]
    fn the_history_buckets_dose_by_the_end_of_each_piece_and_keeps_pain() {
        let t = |min: u64| Timestamp::ORIGIN + Duration::from_mins(10) + Duration::from_mins(min);
        let delivery = |min: u64, ng: u64| Record::Delivery {
            at: t(min),
            source: Source::Basal,
            steps: 1,
            amount: Amount::from_ng(ng),
            volume: crate::core::units::Volume::from_nl(1),
        };
        let journal = vec![
            Record::PainScore {
                at: Timestamp::ORIGIN + Duration::from_mins(5),
                value: 9,
            },
            delivery(60, 100),
            delivery(61, 7),
            Record::PainScore {
                at: t(90),
                value: 4,
            },
            delivery(150, 5),
        ];
        let h = history(&journal, t(0), t(150), Duration::from_hours(1));
        assert_eq!(h.bucket_ms, 3_600_000);
        assert_eq!(
            h.doses_ng,
            [100, 7, 5],
            "the piece ending at 1 h is in the first hour"
        );
        assert_eq!(
            h.pain,
            [(90 * 60_000, 4)],
            "a score before the start is not on the chart"
        );
        let empty = history(&[], t(0), t(0), Duration::from_hours(1));
        assert_eq!(empty.doses_ng, [0], "at least one bucket");
    }
}
