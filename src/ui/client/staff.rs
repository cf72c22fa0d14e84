//! What a nurse or a clinician asks of the daemon, with the login's token: the records, the
//! checklist, the dose change, the chart, the worksheet and the export, the end of the trial.
//! Each returns the pump's answer to show ("" when the screen shows the outcome itself).

use super::{Session, done, misrouted, words};
use crate::core::tr;
use crate::core::units::MassUnit;
use crate::service::wire::Status;
use crate::ui::adapters::{chart as chart_page, checklist, delivery, export as export_page};
use crate::ui::command::{Pin, UiCommand};
use crate::ui::present::chart::{chart, course_chart};
use crate::ui::present::delivery::{BasalCheck, basal_check, changed_words, program_change_check};
use crate::ui::present::observation::{
    opioids_entry, opioids_recorded, site_check_recorded, spasticity_recorded, temperature_entry,
};

impl Session {
    /// What a nurse or a clinician does, with the login's token; the pump's answer.
    pub(super) async fn staff(&self, command: UiCommand) -> String {
        let (proxy, token) = (&self.proxy, self.token.as_str());
        match command {
            UiCommand::Pause => done(proxy.pause(token).await, tr!("Delivery paused.")),
            UiCommand::Resume => {
                let _ = proxy.acknowledge_alarms(token).await;
                done(proxy.resume(token).await, tr!("Delivery resumed."))
            }
            UiCommand::DecideHeld(give) => match proxy.decide_held_bolus(token, give).await {
                Ok(answer) => answer,
                Err(e) => words(e),
            },
            UiCommand::Silence => match proxy.silence_alarms(token, 0).await {
                Ok(s) => tr!(
                    "Alarm tones paused for {minutes} minutes.",
                    minutes = s / 60
                ),
                Err(e) => words(e),
            },
            UiCommand::Acknowledge => done(
                proxy.acknowledge_alarms(token).await,
                tr!("Alarms acknowledged."),
            ),
            UiCommand::ChangeReservoir(ml) => done(
                proxy.change_reservoir(token, &format!("{ml} mL")).await,
                &tr!(
                    "New syringe of {ml} mL recorded. Resume delivery when ready.",
                    ml
                ),
            ),
            UiCommand::Observation(poss, rr, hr, spo2, temperature) => {
                self.observe(poss, (rr, hr, spo2), &temperature).await
            }
            UiCommand::SiteCheck(temperature, findings) => {
                self.site_check(&temperature, &findings).await
            }
            UiCommand::Spasticity(score, muscles) => done(
                proxy.record_spasticity(token, &score, &muscles).await,
                &spasticity_recorded(&score, &muscles),
            ),
            UiCommand::SystemicOpioids(typed) => done(
                proxy
                    .record_systemic_opioids(token, &opioids_entry(&typed))
                    .await,
                &opioids_recorded(&typed),
            ),
            UiCommand::LoadChecklist => self.load_checklist().await,
            UiCommand::ConfirmItem(id) => self.confirm_item(&id).await,
            UiCommand::ReviewSedation(note) => done(
                proxy.review_sedation(token, &note).await,
                tr!("Review recorded: the hold is lifted. A nurse may resume delivery."),
            ),
            UiCommand::CheckBasal(dose) => self.check_basal(&dose).await,
            UiCommand::ChangeBasal {
                dose,
                verifier,
                pin,
                confirm,
            } => self.change_basal(&dose, (&verifier, &pin), confirm).await,
            UiCommand::CheckProgramChange(changes) => self.check_program_change(&changes).await,
            UiCommand::ChangeProgram {
                changes,
                verifier,
                pin,
                confirm,
            } => {
                self.change_program(&changes, (&verifier, &pin), confirm)
                    .await
            }
            command => self.clinical(command).await,
        }
    }

    /// The chart, the worksheet and the export, and the end of the trial; the pump's answer.
    async fn clinical(&self, command: UiCommand) -> String {
        let (proxy, token) = (&self.proxy, self.token.as_str());
        match command {
            UiCommand::Chart => self.chart().await,
            UiCommand::LoadExport => self.load_export().await,
            UiCommand::ConfirmImplant(dose, reason) => self.confirm_implant(&dose, &reason).await,
            UiCommand::Export => self.export().await,
            UiCommand::EndTrial(outcome) => self.end_trial(&outcome).await,
            UiCommand::Decision {
                outcome,
                reasons,
                wish,
                implant,
            } => done(
                proxy
                    .record_decision(token, &outcome, &reasons, &wish, &implant)
                    .await,
                tr!("Decision recorded."),
            ),
            UiCommand::CatheterRemoval(note) => done(
                proxy.record_catheter_removal(token, &note).await,
                tr!("Catheter removal recorded."),
            ),
            other => misrouted(&other),
        }
    }

    /// Records sedation and the vital signs taken (a respiratory rate of None, another sign of 0
    /// or an empty temperature: not taken; a respiratory rate of 0 is apnoea).
    async fn observe(
        &self,
        poss: u8,
        (rr, hr, spo2): (Option<u16>, u16, u8),
        temperature: &str,
    ) -> String {
        let (proxy, token) = (&self.proxy, self.token.as_str());
        // A temperature that cannot be recorded stops everything before anything is recorded.
        let temperature_c = match temperature_entry(temperature) {
            Ok(t) => t.unwrap_or(0.0),
            Err(e) => return e,
        };
        if poss > 0 {
            if let Err(e) = proxy.record_sedation(token, poss).await {
                return words(e);
            }
        }
        if rr.is_some() || hr > 0 || spo2 > 0 || temperature_c > 0.0 {
            // The daemon's word for a respiratory rate not taken.
            let rr = rr.map_or(-1, i32::from);
            if let Err(e) = proxy
                .record_vitals(token, rr, hr, spo2, temperature_c)
                .await
            {
                return words(e);
            }
        }
        tr!("Recorded.").to_owned()
    }

    /// Records a catheter site check; returns what to show.
    async fn site_check(&self, temperature: &str, findings: &[String]) -> String {
        let celsius = match temperature_entry(temperature) {
            Ok(Some(t)) => t,
            Ok(None) => return tr!("Enter the temperature first.").to_owned(),
            Err(e) => return e,
        };
        match self
            .proxy
            .record_site_check(&self.token, celsius, findings.to_vec())
            .await
        {
            Ok(()) => site_check_recorded(celsius, findings),
            Err(e) => words(e),
        }
    }

    /// Shows the pre-trial checklist; returns the message to show ("" when it worked).
    async fn load_checklist(&self) -> String {
        match self.proxy.checklist(&self.token).await {
            Ok(view) => {
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| checklist::show_checklist(&ui, &view));
                String::new()
            }
            Err(e) => words(e),
        }
    }

    /// Confirms an item of the checklist and shows the checklist again.
    async fn confirm_item(&self, id: &str) -> String {
        match self.proxy.confirm_checklist_item(&self.token, id).await {
            Ok(open) => {
                let shown = self.load_checklist().await;
                if !shown.is_empty() {
                    shown
                } else if open.is_empty() {
                    tr!("Every item is confirmed: delivery can start.").to_owned()
                } else {
                    tr!("Confirmed. {count} still open.", count = open.len())
                }
            }
            Err(e) => words(e),
        }
    }

    /// Checks a new basal dose and shows what it would mean.
    async fn check_basal(&self, dose: &str) -> String {
        match self.proxy.check_basal(dose).await {
            Ok((class, findings, old, new)) => {
                let check = basal_check(&class, &findings, &old, &new);
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| delivery::show_basal_check(&ui, &check));
                String::new()
            }
            Err(e) => words(e),
        }
    }

    /// Changes the basal dose, checked by the second person (their user ID and PIN).
    async fn change_basal(
        &self,
        dose: &str,
        (verifier, pin): (&str, &Pin),
        confirm: bool,
    ) -> String {
        // `confirm` is what the clinician was shown: settings marked for confirmation on the
        // screen. Anything the daemon finds beyond it is refused, never confirmed on the
        // clinician's behalf.
        match self
            .proxy
            .change_basal(&self.token, dose, confirm, verifier, pin.digits())
            .await
        {
            Ok((old, new)) => {
                // Nothing left to confirm: the next change starts over.
                let _ = self.weak.upgrade_in_event_loop(|ui| {
                    delivery::show_basal_check(&ui, &BasalCheck::default());
                });
                tr!("Basal changed from {old} to {new}.", old, new)
            }
            Err(e) => words(e),
        }
    }

    /// Checks a program change and shows what it would mean: each setting old beside new and
    /// the findings.
    async fn check_program_change(&self, changes: &str) -> String {
        match self.proxy.check_program_change(changes).await {
            Ok((class, findings, side)) => {
                let check = program_change_check(&class, &findings, &side);
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| delivery::show_basal_check(&ui, &check));
                String::new()
            }
            Err(e) => words(e),
        }
    }

    /// Changes the program, checked by the second person (their user ID and PIN); `confirm`
    /// is what the clinician was shown, as for the basal.
    async fn change_program(
        &self,
        changes: &str,
        (verifier, pin): (&str, &Pin),
        confirm: bool,
    ) -> String {
        match self
            .proxy
            .change_program(&self.token, changes, confirm, verifier, pin.digits())
            .await
        {
            Ok(changed) => {
                let _ = self.weak.upgrade_in_event_loop(|ui| {
                    delivery::show_basal_check(&ui, &BasalCheck::default());
                });
                changed_words(&changed)
            }
            Err(e) => words(e),
        }
    }

    /// A bolus trial's chart is the response to each bolus; a continuous trial's the dose and
    /// pain since the start. Returns the message to show ("" when it worked).
    async fn chart(&self) -> String {
        if let Ok(r) = self.proxy.bolus_response().await {
            if r.bolus_trial {
                let c = course_chart(&r);
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| chart_page::show_course_chart(&ui, &c));
                return String::new();
            }
        }
        match (self.proxy.history().await, self.proxy.status_json().await) {
            (Ok(h), Ok(status)) => {
                let unit = serde_json::from_str::<Status>(&status)
                    .ok()
                    .and_then(|s| s.dose_unit)
                    .unwrap_or(MassUnit::Mg);
                let c = chart(&h, unit);
                let _ = self
                    .weak
                    .upgrade_in_event_loop(move |ui| chart_page::show_chart(&ui, &c));
                String::new()
            }
            (Err(e), _) => words(e),
            (_, Err(e)) => words(e.into()),
        }
    }

    /// Shows the implant worksheet on the export screen; returns the message to show ("" when
    /// it worked).
    async fn load_export(&self) -> String {
        match self.proxy.export_preview(&self.token).await {
            Ok((lines, has_proposal, confirmed)) => {
                let _ = self.weak.upgrade_in_event_loop(move |ui| {
                    export_page::show_export(&ui, lines, has_proposal, confirmed);
                });
                String::new()
            }
            Err(e) => words(e),
        }
    }

    /// Exports to the USB stick every format this pump can write (the FHIR Bundle too, when the
    /// site names its patients' identifier system), on A4.
    async fn export(&self) -> String {
        let formats = match self.proxy.export_formats().await {
            Ok(f) => f.join(","),
            Err(e) => return words(e.into()),
        };
        match self.proxy.export(&self.token, &formats, "a4").await {
            Ok((to, files)) => tr!("Saved {count} files to {to}.", count = files.len(), to),
            Err(e) => words(e),
        }
    }

    /// Confirms the implant's starting dose with the written reason, and shows the worksheet
    /// again.
    async fn confirm_implant(&self, dose: &str, reason: &str) -> String {
        match self
            .proxy
            .confirm_implant_dose_with_reason(&self.token, dose, reason)
            .await
        {
            Ok((per_day, ml)) => {
                let _ = self.load_export().await;
                tr!("Starting dose {per_day} ({ml}) confirmed.", per_day, ml)
            }
            Err(e) => words(e),
        }
    }

    /// Ends the trial, with the clinician's outcome first ("" from a nurse).
    async fn end_trial(&self, outcome: &str) -> String {
        let assessed = if outcome.is_empty() {
            Ok(())
        } else {
            self.proxy.record_assessment(&self.token, outcome, "").await
        };
        match assessed {
            Ok(()) => done(
                self.proxy.end_trial(&self.token).await,
                tr!("The trial has ended. Disconnect the line from the catheter."),
            ),
            Err(e) => words(e),
        }
    }
}
