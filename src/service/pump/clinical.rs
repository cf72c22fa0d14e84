//! What nurses, clinicians and the patient record about the patient: pain and the diary,
//! spasticity, side effects, sedation and vital signs, site checks, systemic opioids, the
//! sedation review, and the decision at the end.

use super::*;

impl PumpService {
    pub fn record_pain(&mut self, value: u8, now: Timestamp) -> Result<(), ServiceError> {
        if value > 10 {
            return Err(ServiceError::InvalidInput(tr!(
                "pain: {value} is outside 0 to 10",
                value
            )));
        }
        self.engine_mut()?.record_pain(now, value);
        Ok(())
    }

    /// The diary's function question and its answers, least function first.
    pub fn diary_question(&self) -> (String, Vec<String>) {
        let d = &self.protocol.diary;
        (d.function_question.clone(), d.function_answers.clone())
    }

    /// The patient's answer to the function question: `level` 1 is the first answer.
    pub fn record_function(&mut self, level: u8, now: Timestamp) -> Result<(), ServiceError> {
        let (question, answers) = self.diary_question();
        let answer = usize::from(level)
            .checked_sub(1)
            .and_then(|i| answers.get(i))
            .ok_or_else(|| {
                ServiceError::InvalidInput(tr!(
                    "function: answer {level} is outside 1 to {count}",
                    level,
                    count = answers.len()
                ))
            })?
            .clone();
        self.engine_mut()?
            .record_function(now, &question, &answer, level);
        Ok(())
    }

    /// The patient left the function question for now ("Not now"): recorded with the question
    /// and the time, so that the diary shows a question asked and not answered.
    pub fn skip_function(&mut self, now: Timestamp) -> Result<(), ServiceError> {
        let (question, _) = self.diary_question();
        self.engine_mut()?.skip_function(now, &question);
        Ok(())
    }

    /// The patient's global impression of change, 1 (very much improved) to 7 (very much
    /// worse); asked once the trial has ended, accepted once.
    pub fn record_pgic(&mut self, value: u8, now: Timestamp) -> Result<(), ServiceError> {
        if pgic_label(value).is_none() {
            return Err(ServiceError::InvalidInput(tr!(
                "pgic: {value} is outside 1 (very much improved) to 7 (very much worse)",
                value
            )));
        }
        let engine = self.engine_mut()?;
        if engine.state() != State::Ended {
            return Err(ServiceError::WrongState(
                tr!("the patient's impression of change is asked once the trial has ended")
                    .to_owned(),
            ));
        }
        if engine.pgic_recorded() {
            return Err(ServiceError::WrongState(
                tr!("the patient's impression of change is already recorded").to_owned(),
            ));
        }
        engine.record_pgic(now, value);
        Ok(())
    }

    /// A spasticity score on the Modified Ashworth Scale ("0", "1", "1+", "2", "3", "4") and
    /// the muscles assessed (at most 500 characters), by a nurse or clinician.
    pub fn record_spasticity(
        &mut self,
        token: &str,
        score: &str,
        muscles: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let score: Ashworth = score.parse().map_err(ServiceError::InvalidInput)?;
        let muscles = note_field("muscles", muscles, None)?;
        let name = caller.name.clone();
        self.engine_mut()?
            .record_spasticity(now, score, &muscles, role_of(&caller), &name);
        self.audit(&caller, "record spasticity", now);
        Ok(())
    }

    pub fn record_side_effect(
        &mut self,
        effect: &str,
        severity: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let effect: SideEffect =
            serde_json::from_value(serde_json::Value::String(effect.to_owned())).map_err(|_| {
                ServiceError::InvalidInput(tr!(
                    "effect: \"{effect}\" is not a known side effect",
                    effect
                ))
            })?;
        let severity: Severity = serde_json::from_value(serde_json::Value::String(
            severity.to_owned(),
        ))
        .map_err(|_| {
            ServiceError::InvalidInput(tr!(
                "severity: \"{severity}\" is not mild, moderate or severe",
                severity
            ))
        })?;
        self.engine_mut()?.record_side_effect(now, effect, severity);
        Ok(())
    }

    /// The clinician's assessment of the trial (success, failure, inconclusive) with a note of
    /// at most 500 characters; recorded in the log for the summary.
    pub fn record_assessment(
        &mut self,
        token: &str,
        outcome: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let outcome: crate::journal::Outcome =
            outcome.parse().map_err(ServiceError::InvalidInput)?;
        let chars = note.chars().count();
        if chars > MAX_NOTE {
            return Err(ServiceError::InvalidInput(too_long(
                "note", chars, MAX_NOTE,
            )));
        }
        self.engine_mut()?
            .record_assessment(now, outcome, note, &caller.name);
        self.audit(&caller, &format!("assess the trial: {outcome}"), now);
        Ok(())
    }

    /// The clinician's decision once the trial has ended: the outcome (success, failure,
    /// inconclusive) with its reasons (required), the patient's wish to proceed (yes, no,
    /// undecided) and the implant planned (pump model or device, free text; "" for none). A
    /// planned implant needs the starting dose confirmed on the worksheet first (it is the
    /// implant's starting dose), and is refused after a failed trial or when the patient does
    /// not wish to proceed. A later decision replaces an earlier one.
    pub fn record_decision(
        &mut self,
        token: &str,
        outcome: &str,
        reasons: &str,
        wish: &str,
        implant: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        if self.state() != State::Ended {
            return Err(ServiceError::WrongState(
                tr!("end the trial before recording the decision").to_owned(),
            ));
        }
        let outcome: crate::journal::Outcome =
            outcome.trim().parse().map_err(ServiceError::InvalidInput)?;
        let wish: crate::journal::Wish = wish.trim().parse().map_err(ServiceError::InvalidInput)?;
        let reasons = note_field(
            "reasons",
            reasons,
            Some(tr!(
                "write why the trial is judged a success, a failure or inconclusive"
            )),
        )?;
        let implant = implant.trim();
        let chars = implant.chars().count();
        if chars > MAX_IMPLANT {
            return Err(ServiceError::InvalidInput(too_long(
                "implant",
                chars,
                MAX_IMPLANT,
            )));
        }
        if !implant.is_empty() {
            if outcome == crate::journal::Outcome::Failure {
                return Err(ServiceError::InvalidInput(
                    tr!("implant: a failed trial plans no implant; leave it empty, or record the outcome as success or inconclusive")
                        .to_owned(),
                ));
            }
            if wish == crate::journal::Wish::No {
                return Err(ServiceError::InvalidInput(
                    tr!("implant: the patient does not wish to proceed; leave it empty").to_owned(),
                ));
            }
            if !self.summary(token, now)?.implant.confirmed {
                return Err(ServiceError::WrongState(
                    tr!("confirm the implant's starting dose on the worksheet before planning the implant")
                        .to_owned(),
                ));
            }
        }
        let name = caller.name.clone();
        self.engine_mut()?.record_decision(
            now,
            outcome,
            &reasons,
            Some(wish),
            (!implant.is_empty()).then_some(implant),
            &name,
        );
        self.audit(
            &caller,
            &format!("decide: {outcome}, patient wishes to proceed: {wish}"),
            now,
        );
        Ok(())
    }

    /// Records that the catheter was taken out, now, by the caller, with a note (optional, at
    /// most 500 characters: e.g. "tip intact, site clean"). Refused before the trial ended and
    /// a second time.
    pub fn record_catheter_removal(
        &mut self,
        token: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let note = note_field("note", note, None)?;
        let name = caller.name.clone();
        self.engine_mut()?
            .record_catheter_removal(now, role_of(&caller), &name, &note)?;
        self.audit(&caller, "record the catheter's removal", now);
        Ok(())
    }

    /// Records a sedation score (POSS 1–4). At or above the drug library's hold (POSS 3 as
    /// shipped) delivery stops with a HIGH alarm and patient boluses are refused until a
    /// clinician reviews (`review_sedation`).
    pub fn record_sedation(
        &mut self,
        token: &str,
        poss: u8,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        if !(1..=4).contains(&poss) {
            return Err(ServiceError::InvalidInput(tr!(
                "sedation: {poss} is outside POSS 1 to 4",
                poss
            )));
        }
        self.engine_mut()?.record_sedation(now, poss);
        self.audit(&caller, "record sedation", now);
        Ok(())
    }

    /// Records vital signs (see [`Vitals`] for "not taken"). A respiratory rate below the
    /// library's hold, apnoea (0) among them, stops delivery (the sedation interlock); a temperature at or above the protocol's fever
    /// threshold raises "possible infection".
    pub fn record_vitals(
        &mut self,
        token: &str,
        vitals: Vitals,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        if vitals.spo2 > 100 {
            return Err(ServiceError::InvalidInput(tr!(
                "spo2: {spo2} is above 100 %",
                spo2 = vitals.spo2
            )));
        }
        let temperature = if vitals.temperature_c == 0.0 {
            None
        } else {
            Some(body_temp(vitals.temperature_c)?)
        };
        if let Some(rr) = vitals.respiratory_rate.filter(|&r| r > MAX_BREATHS) {
            return Err(ServiceError::InvalidInput(tr!(
                "respiratory_rate: {rr} is not a breathing rate (0 to {most} a minute)",
                rr,
                most = MAX_BREATHS
            )));
        }
        let opt = |v: u16| (v > 0).then_some(v);
        self.engine_mut()?.record_vitals(
            now,
            vitals.respiratory_rate,
            opt(vitals.heart_rate),
            (vitals.spo2 > 0).then_some(vitals.spo2),
            temperature,
        );
        self.audit(&caller, "record vital signs", now);
        Ok(())
    }

    /// A nurse's check of the catheter site: the temperature and the findings (words of
    /// `SiteFinding`, none when the site is clean). Fever or a finding raises the MEDIUM alarm
    /// "possible infection"; a clean check lifts it; either way the next check is due an
    /// interval later.
    pub fn record_site_check(
        &mut self,
        token: &str,
        temperature_c: f64,
        findings: &[String],
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let temperature = body_temp(temperature_c)?;
        let findings = findings
            .iter()
            .map(|f| f.parse::<SiteFinding>())
            .collect::<Result<Vec<_>, _>>()
            .map_err(ServiceError::InvalidInput)?;
        let name = caller.name.clone();
        self.engine_mut()?
            .record_site_check(now, temperature, &findings, role_of(&caller), &name);
        self.audit(&caller, "record a catheter site check", now);
        Ok(())
    }

    /// A clinician reviewed the patient after sedation or slow breathing stopped delivery: the
    /// review and its note (required, at most 500 characters) go to the trial log and the hold
    /// is lifted; a nurse then resumes. Acknowledging the alarm does not do this.
    pub fn review_sedation(
        &mut self,
        token: &str,
        note: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Clinician])?;
        let note = note_field(
            "note",
            note,
            Some(tr!("write what the review found and decided")),
        )?;
        let name = caller.name.clone();
        self.engine_mut()?.review_sedation(now, &note, &name)?;
        self.audit(&caller, "review the sedation hold", now);
        Ok(())
    }

    /// A nurse or clinician records the patient's systemic (non-trial) opioids as oral
    /// morphine equivalents per day ("60 mg/day"): before the trial starts, or for the day.
    pub fn record_systemic_opioids(
        &mut self,
        token: &str,
        ome: &str,
        now: Timestamp,
    ) -> Result<(), ServiceError> {
        let caller = self.require(token, now, &[UserRole::Nurse, UserRole::Clinician])?;
        let rate: AmountRate = crate::core::units::parse_field("ome_per_day", ome)
            .map_err(|e| ServiceError::InvalidInput(e.to_string()))?;
        let name = caller.name.clone();
        self.engine_mut()?
            .record_systemic_opioids(now, rate, role_of(&caller), &name)
            .map_err(|e| match e {
                EngineError::Refused(m) => ServiceError::InvalidInput(m),
                other => other.into(),
            })?;
        self.audit(
            &caller,
            &format!(
                "record systemic opioids {} oral morphine equivalents",
                rate.per_day_in(crate::core::units::MassUnit::Mg)
            ),
            now,
        );
        Ok(())
    }
}
