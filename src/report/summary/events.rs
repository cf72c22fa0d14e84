//! The alarms of the trial (each with the highest priority it reached) and the times delivery
//! was stopped: paused, by an alarm, or without power.

use super::*;

/// A scheduled bolus that fell due while delivery was stopped, and what the nurse decided.
#[derive(Debug, Clone, Serialize)]
pub struct HeldBolus {
    /// When it was due, hours from the start.
    pub due_h: f64,
    pub dose_mg: f64,
    /// True when given on the nurse's word, false when skipped, None while undecided.
    pub given: Option<bool>,
    pub decided_at_h: Option<f64>,
    /// Who decided, by name.
    pub by: Option<String>,
}

/// Every scheduled bolus held while delivery was stopped, with the decision about it.
pub(super) fn held_boluses(i: &Inputs<'_>, span: &Span) -> Vec<HeldBolus> {
    let mut out: Vec<HeldBolus> = Vec::new();
    for r in i.journal {
        match r {
            Record::ScheduledBolusHeld { due, dose, .. } => out.push(HeldBolus {
                due_h: span.h(*due),
                dose_mg: super::mg(*dose),
                given: None,
                decided_at_h: None,
                by: None,
            }),
            Record::HeldBolusDecided {
                at,
                due,
                give,
                name,
                ..
            } => {
                if let Some(h) = out
                    .iter_mut()
                    .rev()
                    .find(|h| h.given.is_none() && h.due_h == span.h(*due))
                {
                    h.given = Some(*give);
                    h.decided_at_h = Some(span.h(*at));
                    h.by = Some(name.clone());
                }
            }
            _ => {}
        }
    }
    out
}

/// A change of the program during the trial: when, each setting old beside new, who made it and
/// who checked it.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramChangeEntry {
    pub at_h: f64,
    pub changes: Vec<crate::core::change::SettingChange>,
    pub by: String,
    pub verified_by: String,
}

/// Every change of the program during the trial, in time order.
pub(super) fn program_changes(i: &Inputs<'_>, span: &Span) -> Vec<ProgramChangeEntry> {
    i.journal
        .iter()
        .filter_map(|r| match r {
            Record::ProgramChanged {
                at,
                changes,
                name,
                verified_by,
                ..
            } => Some(ProgramChangeEntry {
                at_h: span.h(*at),
                changes: changes.clone(),
                by: name.clone(),
                verified_by: verified_by.clone(),
            }),
            _ => None,
        })
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Interruption {
    pub from_h: f64,
    /// None while still stopped when the summary was made.
    pub to_h: Option<f64>,
    /// "paused", "alarm" or "power".
    pub reason: &'static str,
}

#[derive(Debug, Clone, Serialize)]
pub struct AlarmEntry {
    pub kind: AlarmKind,
    pub priority: Priority,
    pub at_h: f64,
    pub cleared_at_h: Option<f64>,
    pub pressure_mmhg: Option<f64>,
    pub time_to_alarm_min: Option<f64>,
}

/// Every alarm above an information signal, with the highest priority it reached (an
/// escalation raises it) and when it was cleared.
pub(super) fn alarms(i: &Inputs<'_>, span: &Span) -> Vec<AlarmEntry> {
    let mut alarms: Vec<AlarmEntry> = Vec::new();
    for r in i.journal {
        match r {
            Record::AlarmRaised {
                at,
                kind,
                priority,
                pressure_mmhg,
                time_to_alarm,
            } if *priority != Priority::Info => alarms.push(AlarmEntry {
                kind: *kind,
                priority: *priority,
                at_h: span.h(*at),
                cleared_at_h: None,
                pressure_mmhg: pressure_mmhg.map(|p| (p * 10.0).round() / 10.0),
                time_to_alarm_min: time_to_alarm.map(|d| (d.ms() as f64 / 6_000.0).round() / 10.0),
            }),
            Record::AlarmEscalated { kind, priority, .. } => {
                for a in alarms
                    .iter_mut()
                    .filter(|a| a.kind == *kind && a.cleared_at_h.is_none())
                {
                    a.priority = a.priority.max(*priority);
                }
            }
            Record::AlarmCleared { at, kind } => {
                for a in alarms
                    .iter_mut()
                    .filter(|a| a.kind == *kind && a.cleared_at_h.is_none())
                {
                    a.cleared_at_h = Some(span.h(*at));
                }
            }
            _ => {}
        }
    }
    alarms
}

/// The times delivery stopped after the start: paused by a nurse, stopped by an alarm, or
/// without power (from the last record written before the cut to the restart).
pub(super) fn interruptions(i: &Inputs<'_>, span: &Span) -> Vec<Interruption> {
    let mut out: Vec<Interruption> = Vec::new();
    // The newest moment seen, and the newest before it: a power cut began after the last record
    // written before the restart (the restart's own records carry its time).
    let (mut latest, mut before_latest) = (i.started, i.started);
    for r in i.journal {
        match r {
            Record::StateChanged { at, from, to } if *at >= i.started => {
                let reason = match to {
                    State::Paused => Some("paused"),
                    State::Alarm => Some("alarm"),
                    _ => None,
                };
                let open = out.last().is_some_and(|x| x.to_h.is_none());
                if *from == State::Running {
                    if let Some(reason) = reason {
                        out.push(Interruption {
                            from_h: span.h(*at),
                            to_h: None,
                            reason,
                        });
                    }
                } else if (*to == State::Running || *to == State::Ended) && open {
                    if let Some(x) = out.last_mut() {
                        x.to_h = Some(span.h(*at));
                    }
                }
            }
            Record::PowerRestored { at } => {
                // The pump was off from its last record until now; it comes back stopped.
                let off = if latest >= *at { before_latest } else { latest };
                if let Some(x) = out.last_mut().filter(|x| x.to_h.is_none()) {
                    x.to_h = Some(span.h(off));
                }
                out.push(Interruption {
                    from_h: span.h(off),
                    to_h: Some(span.h(*at)),
                    reason: "power",
                });
            }
            _ => {}
        }
        if r.at() > latest {
            before_latest = latest;
            latest = r.at();
        }
    }
    out
}
