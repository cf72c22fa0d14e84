//! The `org.titra.Pump1` interface: each method a thin call into the pump service through
//! [`PumpIface::call`] (changes: the control loop ticks and what changed is published) or
//! [`PumpIface::query`] (reads and checks); the clients' proxy is generated from it.

use zbus::message::Header;
use zbus::object_server::SignalEmitter;

use super::*;
use crate::limits::{self, Kind};
use crate::service::wire::WireSettingChange;

#[interface(
    name = "org.titra.Pump1",
    proxy(
        default_service = "org.titra.Pump1",
        default_path = "/org/titra/Pump1",
        async_name = "Pump1Proxy"
    )
)]
#[allow(
    clippy::too_many_arguments,
    reason = "a D-Bus method takes its call's arguments plus zbus's header, connection and signal emitter"
)]
impl PumpIface {
    /// The staff the login screen lists: (user ID, name, role). Names only, never a PIN's hash.
    async fn list_staff(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<Vec<(String, String, String)>, PumpError> {
        self.admit("ListStaff", &hdr, conn)?;
        Ok(self
            .shared
            .service
            .lock()
            .await
            .staff()
            .into_iter()
            .map(|u| (u.id, u.name, u.role.as_str().to_owned()))
            .collect())
    }

    /// Logs user `user` in with their PIN; returns (session token, role, name). The session
    /// answers this connection only.
    async fn login(
        &self,
        user: &str,
        pin: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(String, String, String), PumpError> {
        self.admit("Login", &hdr, conn)?;
        limits::check_all(&[("user", user, Kind::Word), ("pin", pin, Kind::Word)])?;
        let peer = peer_of(&hdr, conn, true).await;
        self.call(&e, |s, now| {
            s.login(user, pin, peer, now)
                .map(|(t, c)| (t, c.role.as_str().to_owned(), c.name))
        })
        .await
    }

    async fn logout(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.query_by(&hdr, conn, token, |s, now| {
            s.logout(token, now);
            Ok(())
        })
        .await
    }

    /// Stops delivery without a login (stopping is the safe direction; resuming needs one).
    async fn stop_delivery(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        let peer = peer_of(&hdr, conn, true).await;
        self.call(&e, |s, now| s.stop_delivery(&peer, now)).await
    }

    /// Checks a program (TOML: [trial] and [program]); returns (class, findings as (field,
    /// value, limit, class, message, source)).
    async fn validate_program(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        program: &str,
    ) -> Result<(String, Vec<WireFinding>), PumpError> {
        self.admit("ValidateProgram", &hdr, conn)?;
        limits::check_all(&[("program", program, Kind::Program)])?;
        // The lock only to copy what programs are checked against; the check outside it.
        let check = self.shared.service.lock().await.program_check();
        let report = check.check(program)?.report();
        Ok(verdict_wire(&report.verdict))
    }

    /// The drug library's choices: (drug, route, concentration, dose unit), in its order.
    async fn library_choices(&self) -> Vec<LibraryChoice> {
        self.shared.service.lock().await.library_choices()
    }

    /// Programs a trial: confirms soft findings if `confirm`; a second nurse or clinician's PIN.
    async fn start_trial(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        program: &str,
        confirm: bool,
        verifier: &str,
        verifier_pin: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("program", program, Kind::Program),
            ("verifier", verifier, Kind::Word),
            ("verifier_pin", verifier_pin, Kind::Word),
        ])?;
        // Parsed and checked outside the service lock (see ValidateProgram); the result, good
        // or bad, is judged under it after the caller and the pump's state.
        let check = self.shared.service.lock().await.program_check();
        let checked = check.check(program);
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.start_checked_trial(token, checked, confirm, (verifier, verifier_pin), now)
        })
        .await
    }

    async fn prime(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| s.prime(token, now))
            .await
    }

    async fn start(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| s.start(token, now))
            .await
    }

    async fn pause(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| s.pause(token, now))
            .await
    }

    async fn resume(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| s.resume(token, now))
            .await
    }

    async fn end_trial(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| s.end_trial(token, now))
            .await
    }

    /// A clinician changes the basal rate; returns (old, new) as shown side by side.
    async fn change_basal(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        basal: &str,
        confirm: bool,
        verifier: &str,
        verifier_pin: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(String, String), PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("basal", basal, Kind::Word),
            ("verifier", verifier, Kind::Word),
            ("verifier_pin", verifier_pin, Kind::Word),
        ])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.change_basal(token, basal, confirm, (verifier, verifier_pin), now)
        })
        .await
    }

    /// What a new basal rate would mean, before confirming: (class, findings, old, new).
    async fn check_basal(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        basal: &str,
    ) -> Result<(String, Vec<WireFinding>, String, String), PumpError> {
        self.admit("CheckBasal", &hdr, conn)?;
        limits::check_all(&[("basal", basal, Kind::Word)])?;
        self.query(|s, now| s.check_basal(basal, now)).await
    }

    /// A clinician changes the program during the trial: `changes` names the settings that
    /// change in the program's own TOML (basal, pca, boluses, limit, kvo); a second person
    /// verifies. Returns each setting (setting, old, new).
    async fn change_program(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        changes: &str,
        confirm: bool,
        verifier: &str,
        verifier_pin: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<Vec<WireSettingChange>, PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("changes", changes, Kind::Program),
            ("verifier", verifier, Kind::Word),
            ("verifier_pin", verifier_pin, Kind::Word),
        ])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.change_program(token, changes, confirm, (verifier, verifier_pin), now)
        })
        .await
    }

    /// What a program change would mean, before confirming: (class, findings, each setting
    /// old beside new); changes nothing.
    async fn check_program_change(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        changes: &str,
    ) -> Result<(String, Vec<WireFinding>, Vec<WireSettingChange>), PumpError> {
        self.admit("CheckProgramChange", &hdr, conn)?;
        limits::check_all(&[("changes", changes, Kind::Program)])?;
        self.query(|s, now| s.check_program_change(changes, now))
            .await
    }

    /// Dose per bucket and pain scores since the start, for the clinician's chart.
    async fn history(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<crate::report::summary::History, PumpError> {
        self.admit("History", &hdr, conn)?;
        self.query(|s, now| s.history(now)).await
    }

    /// A bolus trial's response to each bolus, for the clinician's chart: the scores against
    /// the hours after each bolus, the baseline, onset, peak and duration of effect, and which
    /// bolus is the effective one (`bolus_trial` false for a continuous trial).
    async fn bolus_response(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<crate::report::summary::BolusResponse, PumpError> {
        self.admit("BolusResponse", &hdr, conn)?;
        self.query(|s, now| s.bolus_response(now)).await
    }

    /// The trial's pre-trial checklist: (items (id, text, confirmed, by, at ms or -1), override
    /// by, override reason).
    async fn checklist(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<ChecklistView, PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.query_by(&hdr, conn, token, |s, now| s.checklist(token, now))
            .await
    }

    /// A nurse confirms one item of the pre-trial checklist; returns the ids still open.
    async fn confirm_checklist_item(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        id: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<Vec<String>, PumpError> {
        limits::check_all(&[("token", token, Kind::Word), ("id", id, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.confirm_checklist_item(token, id, now)
        })
        .await
    }

    /// A clinician lets the trial start with the open items, for a written reason; returns the
    /// ids overridden.
    async fn override_checklist(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        reason: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<Vec<String>, PumpError> {
        limits::check_all(&[("token", token, Kind::Word), ("reason", reason, Kind::Text)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.override_checklist(token, reason, now)
        })
        .await
    }

    /// The clinician's decision after the trial: outcome, reasons, the patient's wish to proceed
    /// ("yes", "no", "undecided") and the planned implant ("" for none).
    async fn record_decision(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        outcome: &str,
        reasons: &str,
        wish: &str,
        implant: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("outcome", outcome, Kind::Word),
            ("reasons", reasons, Kind::Text),
            ("wish", wish, Kind::Word),
            ("implant", implant, Kind::Text),
        ])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.record_decision(token, outcome, reasons, wish, implant, now)
        })
        .await
    }

    /// The catheter was taken out (after the trial ended), now, by the caller; a note.
    async fn record_catheter_removal(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        note: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word), ("note", note, Kind::Text)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.record_catheter_removal(token, note, now)
        })
        .await
    }

    /// The clinician's assessment: outcome "success", "failure" or "inconclusive", and a note.
    async fn record_assessment(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        outcome: &str,
        note: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("outcome", outcome, Kind::Word),
            ("note", note, Kind::Text),
        ])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.record_assessment(token, outcome, note, now)
        })
        .await
    }

    async fn clinician_bolus(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        dose: &str,
        confirm: bool,
        verifier: &str,
        verifier_pin: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("dose", dose, Kind::Word),
            ("verifier", verifier, Kind::Word),
            ("verifier_pin", verifier_pin, Kind::Word),
        ])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.clinician_bolus(token, dose, confirm, (verifier, verifier_pin), now)
        })
        .await
    }

    /// A scheduled bolus held because it fell due while delivery was stopped: `give` it now
    /// (delivery running) or skip it. Returns what was done, in words.
    async fn decide_held_bolus(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        give: bool,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<String, PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.decide_held_bolus(token, give, now)
        })
        .await
    }

    /// The patient presses for a bolus (no login). Refused with LockoutActive (saying when) or
    /// LimitExceeded.
    async fn request_bolus(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<String, PumpError> {
        self.admit("RequestBolus", &hdr, conn)?;
        self.call(&e, |s, now| s.request_bolus(now)).await
    }

    async fn record_pain(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        value: u8,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.admit("RecordPain", &hdr, conn)?;
        self.call(&e, |s, now| s.record_pain(value, now)).await
    }

    /// The diary's function question and its answers, least function first.
    async fn diary_question(&self) -> (String, Vec<String>) {
        self.shared.service.lock().await.diary_question()
    }

    /// The patient's answer to the function question, 1 = the first answer.
    async fn record_function(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        answer: u8,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.admit("RecordFunction", &hdr, conn)?;
        self.call(&e, |s, now| s.record_function(answer, now)).await
    }

    /// The patient left the function question for now ("Not now"); recorded with the time.
    async fn skip_function(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.admit("SkipFunction", &hdr, conn)?;
        self.call(&e, |s, now| s.skip_function(now)).await
    }

    /// The patient's global impression of change, 1 (very much improved) to 7 (very much worse).
    async fn record_pgic(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        value: u8,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.admit("RecordPgic", &hdr, conn)?;
        self.call(&e, |s, now| s.record_pgic(value, now)).await
    }

    /// Spasticity on the Modified Ashworth Scale ("0", "1", "1+", "2", "3", "4") and the muscles
    /// assessed.
    async fn record_spasticity(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        score: &str,
        muscles: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("score", score, Kind::Word),
            ("muscles", muscles, Kind::Text),
        ])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.record_spasticity(token, score, muscles, now)
        })
        .await
    }

    async fn record_side_effect(
        &self,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        effect: &str,
        severity: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        self.admit("RecordSideEffect", &hdr, conn)?;
        limits::check_all(&[
            ("effect", effect, Kind::Text),
            ("severity", severity, Kind::Word),
        ])?;
        self.call(&e, |s, now| s.record_side_effect(effect, severity, now))
            .await
    }

    async fn record_sedation(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        poss: u8,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.record_sedation(token, poss, now)
        })
        .await
    }

    /// Vital signs: the respiratory rate -1 when not taken (0 is apnoea, and stops delivery);
    /// the others 0 when not taken (temperature in °C, to a tenth).
    async fn record_vitals(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        respiratory_rate: i32,
        heart_rate: u16,
        spo2: u8,
        temperature_c: f64,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        // -1 is "not taken"; the service refuses a rate above MAX_BREATHS, naming it.
        let respiratory_rate = match respiratory_rate {
            -1 => None,
            rr => Some(u16::try_from(rr).map_err(|_| {
                PumpError::InvalidInput(tr!(
                    "respiratory_rate: {rr} is not a breathing rate (0 to {most} a minute, -1 when not taken)",
                    rr,
                    most = MAX_BREATHS
                ))
            })?),
        };
        let vitals = Vitals {
            respiratory_rate,
            heart_rate,
            spo2,
            temperature_c,
        };
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.record_vitals(token, vitals, now)
        })
        .await
    }

    /// A catheter site check: the temperature (°C) and the findings, none when clean.
    async fn record_site_check(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        temperature_c: f64,
        findings: Vec<String>,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        limits::count(
            "findings",
            findings.len(),
            limits::MAX_SITE_FINDINGS,
            "findings",
            "a site check",
        )?;
        for (i, f) in findings.iter().enumerate() {
            limits::check(&format!("findings[{i}]"), f, Kind::Word)?;
        }
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.record_site_check(token, temperature_c, &findings, now)
        })
        .await
    }

    /// A clinician reviewed the patient after sedation or slow breathing stopped delivery: the
    /// note (required) is logged and the hold lifted; a nurse then resumes.
    async fn review_sedation(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        note: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word), ("note", note, Kind::Text)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.review_sedation(token, note, now)
        })
        .await
    }

    /// A clinician ends the trial the failed start-up check holds (the trial log's chain or the
    /// drug library), for a written reason (required), so that it can be exported; logged with
    /// the clinician's name. Its delivery stays refused.
    async fn end_unverified_trial(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        reason: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word), ("reason", reason, Kind::Text)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.end_unverified_trial(token, reason, now)
        })
        .await
    }

    async fn acknowledge_alarms(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| s.acknowledge(token, now))
            .await
    }

    /// Pauses alarm tones for `seconds` (0: 2 minutes; at most 10 minutes); returns the
    /// seconds granted.
    async fn silence_alarms(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        seconds: u32,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<u32, PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.silence(token, seconds, now)
        })
        .await
    }

    async fn change_reservoir(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        volume: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("token", token, Kind::Word), ("volume", volume, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.change_reservoir(token, volume, now)
        })
        .await
    }

    /// A clinician confirms the implant's starting dose after the trial ended: "" for the
    /// worksheet's proposal, or a dose per day; returns (dose per day, implant mL per day). A
    /// dose that needs a written reason is refused here: use ConfirmImplantDoseWithReason.
    async fn confirm_implant_dose(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        dose: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(String, String), PumpError> {
        limits::check_all(&[("token", token, Kind::Word), ("dose", dose, Kind::Word)])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.confirm_implant(token, dose, "", now)
        })
        .await
    }

    /// As ConfirmImplantDose, with the clinician's written reason: needed for a dose that is
    /// not the proposal (or when there is none) and for one outside the usual range.
    async fn confirm_implant_dose_with_reason(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        dose: &str,
        reason: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(String, String), PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("dose", dose, Kind::Word),
            ("reason", reason, Kind::Text),
        ])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.confirm_implant(token, dose, reason, now)
        })
        .await
    }

    /// A nurse or clinician records the patient's systemic opioids as oral morphine
    /// equivalents per day ("60 mg/day"), before the trial or for the day.
    async fn record_systemic_opioids(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        ome_per_day: &str,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("ome_per_day", ome_per_day, Kind::Word),
        ])?;
        self.call_by(&hdr, conn, token, &e, |s, now| {
            s.record_systemic_opioids(token, ome_per_day, now)
        })
        .await
    }

    /// The export screen: (worksheet lines, the site has a rule, the dose is confirmed).
    async fn export_preview(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<(Vec<String>, bool, bool), PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        self.query_by(&hdr, conn, token, |s, now| s.export_preview(token, now))
            .await
    }

    /// The formats the Export screen writes on this pump: "pdf", "json", "csv", and "fhir" when
    /// the site's `[integration]` names its patients' identifier system.
    async fn export_formats(&self) -> Vec<String> {
        self.shared
            .service
            .lock()
            .await
            .export_formats()
            .into_iter()
            .map(|f| f.name().to_owned())
            .collect()
    }

    /// Exports the summary (formats "pdf,json,csv,hl7,fhir", paper "a4" or "letter") to a USB stick (or
    /// the configured directory), in a new folder of its own with every file created new;
    /// returns (that folder, the files written). Recorded in the log.
    async fn export(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
        formats: &str,
        paper: &str,
    ) -> Result<(String, Vec<String>), PumpError> {
        limits::check_all(&[
            ("token", token, Kind::Word),
            ("formats", formats, Kind::Word),
            ("paper", paper, Kind::Word),
        ])?;
        self.bound(&hdr, conn, token).await?;
        let formats = crate::report::export::Format::parse_list(formats)
            .map_err(|e| PumpError::InvalidInput(e.to_string()))?;
        let paper: crate::report::export::Paper = paper.parse().map_err(PumpError::InvalidInput)?;
        let now = self.shared.clock.now();
        let (folder, files) = self
            .shared
            .service
            .lock()
            .await
            .export_files(token, &formats, paper, now)?;
        let (base, within) = self
            .export_place(crate::report::export::size(&files))
            .await?;
        let copy = files.clone();
        let (dir, written) = tokio::task::spawn_blocking(move || {
            crate::report::fresh::write_new(&base, within, &folder, &copy)
        })
        .await
        .map_err(|e| PumpError::Internal(e.to_string()))?
        .map_err(|e| {
            tracing::warn!(error = %e, "the export was refused");
            PumpError::WrongState(e.to_string())
        })?;
        let destination = dir.display().to_string();
        self.shared
            .service
            .lock()
            .await
            .record_export(token, &destination, &files, now)?;
        tracing::info!(to = %destination, files = written.len(), "summary exported");
        Ok((destination, files.iter().map(|f| f.name.clone()).collect()))
    }

    /// The trial summary, JSON (titra.trial-summary/1).
    async fn export_summary(
        &self,
        token: &str,
        #[zbus(header)] hdr: Header<'_>,
        #[zbus(connection)] conn: &Connection,
    ) -> Result<String, PumpError> {
        limits::check_all(&[("token", token, Kind::Word)])?;
        let summary = self
            .query_by(&hdr, conn, token, |s, now| s.summary(token, now))
            .await?;
        serde_json::to_string_pretty(&summary).map_err(|e| PumpError::Internal(e.to_string()))
    }

    /// Simulated hardware only: switch a fault on or off.
    async fn inject_fault(
        &self,
        fault: &str,
        on: bool,
        #[zbus(signal_emitter)] e: SignalEmitter<'_>,
    ) -> Result<(), PumpError> {
        limits::check_all(&[("fault", fault, Kind::Word)])?;
        self.call(&e, |s, _| s.inject_fault(fault, on)).await
    }

    #[zbus(property)]
    async fn pump_state(&self) -> String {
        self.status().state.to_string()
    }
    #[zbus(property(emits_changed_signal = "const"))]
    async fn simulated(&self) -> bool {
        self.status().simulated
    }
    #[zbus(property)]
    async fn patient(&self) -> String {
        self.status().patient
    }
    #[zbus(property)]
    async fn drug(&self) -> String {
        self.status().drug
    }
    #[zbus(property)]
    async fn concentration(&self) -> String {
        self.status().concentration
    }
    #[zbus(property)]
    async fn basal_per_day(&self) -> String {
        self.status().basal_per_day
    }
    #[zbus(property)]
    async fn basal_per_hour(&self) -> String {
        self.status().basal_per_hour
    }
    #[zbus(property)]
    async fn basal_ml_per_hour(&self) -> String {
        self.status().basal_ml_per_hour
    }
    #[zbus(property)]
    async fn patient_bolus(&self) -> String {
        self.status().patient_bolus
    }
    #[zbus(property)]
    async fn delivered_today(&self) -> String {
        self.status().delivered_today
    }
    #[zbus(property)]
    async fn delivered_total(&self) -> String {
        self.status().delivered_total
    }
    #[zbus(property)]
    async fn delivered_in_window(&self) -> String {
        self.status().delivered_in_window
    }
    #[zbus(property)]
    async fn reservoir_remaining(&self) -> String {
        self.status().reservoir_remaining
    }
    #[zbus(property)]
    async fn time_to_empty(&self) -> String {
        self.status().time_to_empty
    }
    /// "now", "in …", or empty when patient boluses cannot be given.
    #[zbus(property)]
    async fn next_bolus(&self) -> String {
        self.status().next_bolus
    }
    #[zbus(property(emits_changed_signal = "false"))]
    async fn next_bolus_in_seconds(&self) -> i64 {
        self.status().next_bolus_in_s
    }
    /// (kind, priority, message, since ms, silenced until ms or -1).
    #[zbus(property)]
    async fn active_alarms(&self) -> Vec<(String, String, String, i64, i64)> {
        self.status()
            .alarms
            .into_iter()
            .map(|a| {
                (
                    name_of(&a.kind),
                    a.priority.to_string(),
                    a.message,
                    a.since_ms,
                    a.silenced_until_ms,
                )
            })
            .collect()
    }
    #[zbus(property(emits_changed_signal = "false"))]
    async fn elapsed_seconds(&self) -> u64 {
        self.status().elapsed_s
    }
    #[zbus(property(emits_changed_signal = "false"))]
    async fn remaining_seconds(&self) -> u64 {
        self.status().remaining_s
    }
    /// Everything above as one JSON object (for `titra status` and the UI).
    #[zbus(property(emits_changed_signal = "false"))]
    async fn status_json(&self) -> String {
        serde_json::to_string(&self.status()).unwrap_or_default()
    }

    #[zbus(signal)]
    pub(super) async fn alarm_raised(
        e: &SignalEmitter<'_>,
        kind: &str,
        priority: &str,
        message: &str,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub(super) async fn alarm_cleared(e: &SignalEmitter<'_>, kind: &str) -> zbus::Result<()>;
    #[zbus(signal)]
    pub(super) async fn state_changed(
        e: &SignalEmitter<'_>,
        from: &str,
        to: &str,
    ) -> zbus::Result<()>;
    #[zbus(signal)]
    pub(super) async fn bolus_decision(
        e: &SignalEmitter<'_>,
        granted: bool,
        message: &str,
        available_at_ms: i64,
    ) -> zbus::Result<()>;
}
