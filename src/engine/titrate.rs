//! Changing the program during the trial (issue 24, part 1): the new program checked like a new
//! one and against what was already given in every window, then put in force at once without
//! resetting the lockout, the hour's boluses or any window.

use super::{Engine, EngineError, Said, in_english, mechanism_verdict};
use crate::core::change::{ProgramChange, SettingChange};
use crate::core::dose::{CapOrigin, DoseLimits};
use crate::core::finding::{Class, Verdict};
use crate::core::program::{self, Program};
use crate::core::supervisor::State;
use crate::core::tr;
use crate::core::units::{Duration, Timestamp};
use crate::hw::PumpHardware;
use crate::journal::{Record, Role};

/// Who changes the program and who checked the change (the second person).
#[derive(Debug, Clone, Copy)]
pub struct ChangedBy<'a> {
    pub role: Role,
    pub name: &'a str,
    pub verified_by: &'a str,
}

impl<H: PumpHardware> Engine<H> {
    /// The program `change` would put in force now, and everything it is checked against: the
    /// library and the titration rule ([`program::check_change`]), the mechanism, and each
    /// window's dose already given (a limit below it would stop the basal at once, a planned
    /// bolus it leaves no room for would be refused).
    pub fn program_change_verdict(
        &self,
        now: Timestamp,
        change: &ProgramChange,
    ) -> (Program, Verdict) {
        let since_start = if self.started {
            now.since(self.start)
        } else {
            Duration::ZERO
        };
        let new = change.apply(&self.program, self.next_scheduled);
        let mut v = program::check_change(
            &self.trial,
            &self.program,
            &new,
            &self.entry,
            change,
            since_start,
            self.since_rate_change(now),
        );
        if change.basal.is_some() || change.kvo.is_some() {
            v.extend(mechanism_verdict(
                &new,
                &(new.basal + new.kvo_rate()),
                &self.cfg,
            ));
        }
        if !self.started {
            v.hard(
                "program",
                tr!("not started"),
                tr!("Delivery has not started: to change the program before the start, program the trial again."),
            );
        }
        if change.boluses.is_some() && self.held_scheduled {
            v.hard(
                "program.boluses",
                tr!("a scheduled dose is held"),
                tr!("A scheduled dose is held: give or skip it before changing the scheduled boluses."),
            );
        }
        self.bolus_spacing_verdict(since_start, &new, &mut v);
        self.windows_verdict(now, since_start, &new, &mut v);
        (new, v)
    }

    /// The first scheduled bolus still to come, against the last bolus actually given (which may
    /// have been given late, on a nurse's word, or been a patient's or a clinician's): the
    /// library's least time between boluses applies to it as to the planned ones.
    fn bolus_spacing_verdict(&self, since_start: Duration, new: &Program, v: &mut Verdict) {
        let (Some(last), Some((i, next))) = (
            self.ledger.last_bolus_at(),
            new.boluses
                .iter()
                .enumerate()
                .skip(self.next_scheduled)
                .min_by_key(|(_, b)| b.at),
        ) else {
            return;
        };
        if next.at <= since_start {
            return;
        }
        let gap = (self.start + next.at).since(last);
        let field = format!("program.boluses[{i}].at");
        let (hard, soft) = (self.entry.lockout.hard_min, self.entry.lockout.soft_min);
        let drug = &self.entry.drug;
        if let Some(least) = hard.filter(|&h| gap < h) {
            v.hard(
                &field,
                next.at,
                tr!(
                    "This bolus would come {gap} after the last bolus given; the library requires at least {least} between boluses of {drug}.",
                    gap,
                    least,
                    drug
                ),
            );
        } else if let Some(soft) = soft.filter(|&s| gap < s) {
            v.soft(
                &field,
                next.at,
                tr!("usual least time between boluses {soft}", soft),
                tr!(
                    "This bolus would come {gap} after the last bolus given, sooner than the usual {soft} between boluses of {drug}. Confirm to continue.",
                    gap,
                    soft,
                    drug
                ),
            );
        }
    }

    /// What each window of the new program's limits already holds: counted, never reset.
    fn windows_verdict(
        &self,
        now: Timestamp,
        since_start: Duration,
        new: &Program,
        v: &mut Verdict,
    ) {
        for cap in DoseLimits::for_program(new, &self.entry).caps {
            let from = v.findings.len();
            self.window_findings(now, since_start, new, &cap, v);
            if cap.origin == CapOrigin::Library {
                v.cite_from(from, &self.entry.source);
            }
        }
    }

    /// One window's findings (see [`Engine::program_change_verdict`]).
    fn window_findings(
        &self,
        now: Timestamp,
        since_start: Duration,
        new: &Program,
        cap: &crate::core::dose::Cap,
        v: &mut Verdict,
    ) {
        let unit = self.entry.unit;
        let w = cap.window;
        // What the window holds, with what a bolus under way will still add to it.
        let given = self.ledger.in_window(now, w, cap.counts) + self.ledger.pending_for(cap);
        let program = cap.origin == CapOrigin::Program;
        let field = if program {
            "program.limit.max"
        } else {
            "library.cumulative"
        };
        let (given_words, max) = (
            given.in_unit(unit).to_string(),
            cap.max.in_unit(unit).to_string(),
        );
        if given > cap.max {
            let message = if program {
                tr!(
                    "{given} was given in the last {w} (a bolus under way counted whole), more than the program's new limit of {max} in {w}: the pump would stop the basal at once. Choose a limit of at least {given} or change it later.",
                    given = given_words,
                    w,
                    max
                )
            } else {
                tr!(
                    "{given} was given in the last {w} (a bolus under way counted whole), more than the library's new limit of {max} in {w}: the pump would stop the basal at once. Choose a limit of at least {given} or change it later.",
                    given = given_words,
                    w,
                    max
                )
            };
            v.hard(field, &given_words, message);
            return;
        }
        let message = if program {
            tr!(
                "{given} given in the last {w} counts toward the program's limit of {max} in {w}: the change does not reset it.",
                given = given_words,
                w,
                max
            )
        } else {
            tr!(
                "{given} given in the last {w} counts toward the library's limit of {max} in {w}: the change does not reset it.",
                given = given_words,
                w,
                max
            )
        };
        v.add(
            field,
            &given_words,
            format!("{max} in {w}"),
            Class::Ok,
            message,
        );
        // A planned bolus due within the window: what the window holds now, with the
        // basal until then, leaves it room or not (what was given may leave the window
        // before, so this only warns).
        let rate = new.basal + new.kvo_rate();
        for (i, b) in new.boluses.iter().enumerate().skip(self.next_scheduled) {
            if b.at <= since_start {
                continue;
            }
            let until = b.at.saturating_sub(since_start);
            if until >= w {
                continue;
            }
            let most = given + rate.over_ceil(until) + b.dose;
            if most > cap.max {
                let due = b.at;
                let message = if program {
                    tr!(
                        "The bolus due {due} after the start may not fit under the program's limit of {max} in {w}: {given} is in the window now. The pump refuses it if it does not fit then. Confirm to continue.",
                        due,
                        max,
                        w,
                        given = given_words
                    )
                } else {
                    tr!(
                        "The bolus due {due} after the start may not fit under the library's limit of {max} in {w}: {given} is in the window now. The pump refuses it if it does not fit then. Confirm to continue.",
                        due,
                        max,
                        w,
                        given = given_words
                    )
                };
                v.soft(
                    &format!("program.boluses[{i}].dose"),
                    b.dose.in_unit(unit),
                    format!("{max} in {w}"),
                    message,
                );
            }
        }
    }

    /// Puts `change` in force now, once checked: refused naming every hard finding, or a soft
    /// one not `confirmed`. Recorded with both names; a new basal also as a rate change (the
    /// planned titration is replaced, as a change by hand always has). Returns what changed,
    /// old beside new.
    pub fn change_program(
        &mut self,
        now: Timestamp,
        change: &ProgramChange,
        confirmed: bool,
        by: ChangedBy<'_>,
    ) -> Result<Vec<SettingChange>, EngineError> {
        let what = || tr!("program change");
        if self.state == State::Ended {
            return Err(self.refuse(
                now,
                Said::new(what),
                Said::new(|| tr!("The trial has ended.")),
                by.role,
            ));
        }
        // In English: its findings and changes go to the log.
        let (new, verdict) = in_english(|| self.program_change_verdict(now, change));
        if verdict.is_rejected() || (verdict.class() == Class::Soft && !confirmed) {
            let reason = |v: &Verdict| {
                v.problems()
                    .map(|f| format!("{}: {}", f.field, f.message))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let reason = Said {
                log: reason(&verdict),
                shown: reason(&self.program_change_verdict(now, change).1),
            };
            return Err(self.refuse(now, Said::new(what), reason, by.role));
        }
        let unit = self.entry.unit;
        let changes = in_english(|| ProgramChange::describe(&self.program, &new, unit));
        if changes.is_empty() {
            return Err(self.refuse(
                now,
                Said::new(what),
                Said::new(|| tr!("Nothing changes: every setting named already has that value.")),
                by.role,
            ));
        }
        // What the clinician is shown: each setting, old beside new, in the language in use.
        let shown = ProgramChange::describe(&self.program, &new, unit);
        if verdict.class() == Class::Soft {
            self.journal.push(Record::Confirmed {
                at: now,
                findings: verdict.problems().cloned().collect(),
                by: by.role,
            });
        }
        let increases = ProgramChange::increases(&self.program, &new);
        tracing::info!(by = %by.name, verified_by = %by.verified_by, ?changes, "program changed");
        self.journal.push(Record::ProgramChanged {
            at: now,
            changes,
            old_program: Box::new(self.program.clone()),
            program: Box::new(new.clone()),
            increases,
            by: by.role,
            name: by.name.to_owned(),
            verified_by: by.verified_by.to_owned(),
        });
        self.put_in_force(now, new, by.role);
        self.persist(now);
        Ok(shown)
    }

    /// The new program from `now`: the ledger's limits (its account kept), the basal and KVO
    /// rate (restarted from now, the piece under way closed at the old rate).
    fn put_in_force(&mut self, now: Timestamp, new: Program, role: Role) {
        self.ledger
            .set_limits(DoseLimits::for_program(&new, &self.entry));
        let basal_changed = new.basal != self.program.basal;
        let kvo_changed = new.kvo != self.program.kvo;
        let basal = new.basal;
        if basal_changed {
            self.next_titration = 0;
        }
        self.program = Program {
            basal: self.program.basal,
            ..new
        };
        if basal_changed {
            self.set_basal(now, basal, role);
        } else if kvo_changed && self.state == State::Running {
            let rate = self.volume_rate();
            self.close_piece(now);
            self.basal.set_rate(now, rate);
            self.piece_end = None;
        }
    }

    /// Replays a program change from the log (after a restart): the program and the ledger's
    /// limits as they were put in force; the rate change that followed sets the basal.
    pub(super) fn replay_program_change(&mut self, program: &Program) {
        self.ledger
            .set_limits(DoseLimits::for_program(program, &self.entry));
        self.program = Program {
            basal: self.program.basal,
            ..program.clone()
        };
    }
}
