//! Watching the patient: the sedation interlock and the schedule of sedation and breathing
//! checks.
//!
//! After a screening bolus and during opioid infusions a nurse records the patient's sedation on
//! the Pasero Opioid-induced Sedation Scale (POSS 1–4) and the respiratory rate. Two rules follow
//! from what is recorded:
//!
//! - **The sedation interlock** ([`SedationRule`], from the drug library): a POSS at or above
//!   `hold_poss` (3: frequently drowsy, drifts off to sleep during conversation) or a respiratory
//!   rate below `min_resp_rate` per minute raises a HIGH alarm that stops all delivery and refuses
//!   patient boluses until a clinician has reviewed the patient. Acknowledging the alarm does not
//!   lift it; only the review does, after which a nurse resumes.
//! - **The check schedule** ([`CheckSchedule`], part of the program): a check — a POSS and a
//!   respiratory rate — is due `every` for `for` after delivery starts, after each scheduled or
//!   clinician bolus and after each increase of the basal rate; afterwards every `then_every`, if
//!   set. A check not recorded by its time is *missed* (a MEDIUM alarm). Still missing one interval
//!   later — the next check missed too — it *escalates*: the alarm becomes HIGH and patient
//!   boluses are refused until a check is recorded. The basal keeps running: a late check is not a
//!   sign of overdose, and stopping the infusion would leave the patient in pain; the interlock
//!   above stops it when a check shows a problem.
//!
//! [`CheckClock`] keeps the schedule. It is pure: the engine feeds it what it records.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::units::{Duration, Timestamp};
use crate::tr;

/// When recorded sedation or breathing stops delivery. Data from the drug library (its
/// `[sedation]` table); [`SedationRule::DEFAULT`] when the library does not set it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SedationRule {
    /// A POSS at or above this stops delivery.
    pub hold_poss: u8,
    /// A respiratory rate below this, per minute, stops delivery.
    pub min_resp_rate: u16,
}

impl SedationRule {
    /// POSS 3 and 4 are the scale's own "unacceptable" levels; fewer than 10 breaths a minute is
    /// the usual definition of respiratory depression after neuraxial opioids. A site's library
    /// may set its own.
    pub const DEFAULT: SedationRule = SedationRule {
        hold_poss: 3,
        min_resp_rate: 10,
    };

    /// The least and most a library may set (a hold at POSS 1 would stop every awake patient; a
    /// trip point under 4 breaths a minute would come too late, one above 20 would stop normal
    /// breathing).
    pub const HOLD_POSS_RANGE: (u8, u8) = (2, 4);
    pub const MIN_RESP_RATE_RANGE: (u16, u16) = (4, 20);

    /// Why these values cannot be used, naming the field, the value and the limit.
    pub fn check(&self) -> Result<(), String> {
        let (lo, hi) = Self::HOLD_POSS_RANGE;
        if !(lo..=hi).contains(&self.hold_poss) {
            return Err(format!(
                "sedation.hold_poss: {} is outside POSS {lo} to {hi}",
                self.hold_poss
            ));
        }
        let (lo, hi) = Self::MIN_RESP_RATE_RANGE;
        if !(lo..=hi).contains(&self.min_resp_rate) {
            return Err(format!(
                "sedation.min_resp_rate: {}/min is outside {lo} to {hi}/min",
                self.min_resp_rate
            ));
        }
        Ok(())
    }

    /// What in a recorded POSS or respiratory rate stops delivery, in words; None when nothing
    /// does.
    pub fn breach(&self, poss: Option<u8>, resp_rate: Option<u16>) -> Option<String> {
        if let Some(p) = poss.filter(|&p| p >= self.hold_poss) {
            return Some(format!(
                "POSS {p} (the hold is at {} or more)",
                self.hold_poss
            ));
        }
        resp_rate.filter(|&r| r < self.min_resp_rate).map(|r| {
            format!(
                "respiratory rate {r}/min (the hold is below {}/min)",
                self.min_resp_rate
            )
        })
    }
}

impl Default for SedationRule {
    fn default() -> Self {
        SedationRule::DEFAULT
    }
}

/// How often sedation and breathing must be checked: the program's `observations` table, e.g.
/// `{ every = "1h", for = "24h" }` (hourly for the first day after neuraxial morphine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckSchedule {
    /// The interval while checks are close: for `for` after delivery starts, a bolus or a dose
    /// increase.
    pub every: Duration,
    /// How long checks stay close after each of those.
    #[serde(rename = "for")]
    pub period: Duration,
    /// The interval afterwards, for the rest of the trial; none when left out.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub then_every: Option<Duration>,
}

impl CheckSchedule {
    /// Why a nurse could not follow this schedule (an interval of 0, or longer than the
    /// period it covers), naming the field; Ok when it can be followed.
    pub fn followable(&self) -> Result<(), String> {
        if self.every.is_zero() {
            return Err(tr!("every is 0s; give an interval such as 1h").to_owned());
        }
        if self.period.is_zero() {
            return Err(tr!("for is 0s; give a period such as 24h").to_owned());
        }
        if self.every > self.period {
            return Err(tr!(
                "every {every} is longer than the {period} it covers: no check would be due",
                every = self.every,
                period = self.period
            ));
        }
        if self.then_every.is_some_and(|t| t.is_zero()) {
            return Err(
                tr!("then_every is 0s; give an interval such as 4h, or leave it out").to_owned(),
            );
        }
        Ok(())
    }

    /// What in this schedule asks for fewer checks than `default` does, in words; empty when
    /// it asks for as many or more (checks as close or closer, for as long or longer, and as
    /// close or closer afterwards).
    pub fn looser_than(&self, default: &CheckSchedule) -> Vec<String> {
        let mut looser = Vec::new();
        if self.every > default.every {
            looser.push(tr!(
                "every {every} instead of {default}",
                every = self.every,
                default = default.every
            ));
        }
        if self.period < default.period {
            looser.push(tr!(
                "for {period} instead of {default}",
                period = self.period,
                default = default.period
            ));
        }
        match (self.then_every, default.then_every) {
            (None, Some(d)) => looser.push(tr!(
                "no checks afterwards instead of every {default}",
                default = d
            )),
            (Some(t), Some(d)) if t > d => {
                looser.push(tr!(
                    "afterwards every {then} instead of {default}",
                    then = t,
                    default = d
                ));
            }
            _ => {}
        }
        looser
    }
}

impl fmt::Display for CheckSchedule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&tr!(
            "sedation and respiratory rate every {every} for {period} after the start, each bolus and each dose increase",
            every = self.every,
            period = self.period
        ))?;
        match self.then_every {
            Some(t) => f.write_str(&tr!(", then every {then}", then = t)),
            None => Ok(()),
        }
    }
}

/// A check that was not recorded in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Overdue {
    /// When it was due (missed from just after then).
    pub due: Timestamp,
    /// When the next check falls due: missed after it too, the alarm escalates.
    pub escalate_after: Timestamp,
}

impl Overdue {
    /// Two checks in a row missed by `now`.
    pub fn escalated(&self, now: Timestamp) -> bool {
        now > self.escalate_after
    }
}

/// The schedule of checks as it runs: when the next check is due, given what was recorded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckClock {
    schedule: Option<CheckSchedule>,
    started: bool,
    /// Checks are close (`every`) until then.
    close_until: Option<Timestamp>,
    next_due: Option<Timestamp>,
    /// What has been recorded since the last complete check.
    poss_since: bool,
    resp_rate_since: bool,
}

impl CheckClock {
    pub fn new(schedule: Option<CheckSchedule>) -> CheckClock {
        CheckClock {
            schedule,
            ..CheckClock::default()
        }
    }

    /// Delivery ran for the first time at `at` (later starts are resumes, not new drug).
    pub fn delivery_started(&mut self, at: Timestamp) {
        if !self.started {
            self.started = true;
            self.close_checks(at);
        }
    }

    /// Drug was added at `at` (a bolus ended, the basal went up): checks are close again for
    /// the schedule's period. A check already due stays due.
    pub fn close_checks(&mut self, at: Timestamp) {
        let Some(s) = self.schedule else { return };
        self.started = true;
        let until = at + s.period;
        self.close_until = Some(self.close_until.map_or(until, |u| u.max(until)));
        let due = at + s.every;
        self.next_due = Some(self.next_due.map_or(due, |d| d.min(due)));
    }

    /// A sedation score was recorded.
    pub fn sedation(&mut self, at: Timestamp) {
        self.poss_since = true;
        self.complete(at);
    }

    /// A respiratory rate was recorded.
    pub fn resp_rate(&mut self, at: Timestamp) {
        self.resp_rate_since = true;
        self.complete(at);
    }

    /// With both a POSS and a respiratory rate recorded, the check is done: the next one is due
    /// an interval later.
    fn complete(&mut self, at: Timestamp) {
        if !(self.poss_since && self.resp_rate_since) {
            return;
        }
        self.poss_since = false;
        self.resp_rate_since = false;
        if self.started {
            self.next_due = self.interval_at(at).map(|i| at + i);
        }
    }

    /// The interval of checks at `at`.
    fn interval_at(&self, at: Timestamp) -> Option<Duration> {
        let s = self.schedule?;
        match self.close_until {
            Some(until) if at < until => Some(s.every),
            _ => s.then_every,
        }
    }

    /// When the next check is due, if one is.
    pub fn next_due(&self) -> Option<Timestamp> {
        self.next_due
    }

    /// The check missed by `now`, if one is.
    pub fn overdue(&self, now: Timestamp) -> Option<Overdue> {
        let due = self.next_due.filter(|&d| now > d)?;
        let s = self.schedule?;
        let step = self.interval_at(due).or(s.then_every).unwrap_or(s.every);
        Some(Overdue {
            due,
            escalate_after: due + step,
        })
    }

    /// The moments the engine must look again: just after the next check's time (missed) and
    /// just after the one after (escalated).
    pub fn wakes(&self) -> impl Iterator<Item = Timestamp> + use<> {
        let after = Duration::from_ms(1);
        let due = self.next_due;
        let escalate = due.and_then(|d| self.overdue(d + after).map(|o| o.escalate_after));
        due.into_iter().chain(escalate).map(move |t| t + after)
    }
}

/// A body temperature, kept in tenths of a degree Celsius (exact); written as a number of
/// degrees (`37.8`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BodyTemp(u16);

impl BodyTemp {
    /// The range a thermometer on a living patient reads.
    pub const MIN_DECI: u16 = 250;
    pub const MAX_DECI: u16 = 450;

    /// From degrees Celsius, rounded to a tenth; refused outside 25 to 45 °C.
    pub fn from_celsius(c: f64) -> Result<BodyTemp, String> {
        let deci = (c * 10.0).round();
        if !deci.is_finite() || deci < f64::from(Self::MIN_DECI) || deci > f64::from(Self::MAX_DECI)
        {
            return Err(format!("{c} °C is outside 25 to 45 °C"));
        }
        Ok(BodyTemp(deci as u16))
    }

    /// From tenths of a degree, for constants (no range check: callers use sensible values).
    pub const fn from_deci_celsius(deci: u16) -> BodyTemp {
        BodyTemp(deci)
    }

    pub fn deci_celsius(self) -> u16 {
        self.0
    }

    pub fn as_celsius_f64(self) -> f64 {
        f64::from(self.0) / 10.0
    }
}

impl fmt::Display for BodyTemp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{} °C", self.0 / 10, self.0 % 10)
    }
}

impl Serialize for BodyTemp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_f64(self.as_celsius_f64())
    }
}

impl<'de> Deserialize<'de> for BodyTemp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let c = f64::deserialize(d)?;
        BodyTemp::from_celsius(c).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(hours: u64) -> Timestamp {
        Timestamp::ORIGIN + Duration::from_hours(hours)
    }

    fn min(m: u64) -> Duration {
        Duration::from_mins(m)
    }

    fn hourly() -> CheckClock {
        CheckClock::new(Some(CheckSchedule {
            every: Duration::from_hours(1),
            period: Duration::from_hours(24),
            then_every: Some(Duration::from_hours(4)),
        }))
    }

    fn check(c: &mut CheckClock, at: Timestamp) {
        c.sedation(at);
        c.resp_rate(at);
    }

    #[test]
    fn a_schedule_is_described_for_the_nurse() {
        let CheckClock { schedule, .. } = hourly();
        let mut s = schedule.unwrap();
        assert_eq!(
            s.to_string(),
            "sedation and respiratory rate every 1h for 1d after the start, each bolus and each dose increase, then every 4h"
        );
        s.then_every = None;
        assert!(s.to_string().ends_with("each dose increase"), "{s}");
    }

    #[test]
    fn the_interlock_holds_at_poss_3_and_below_10_breaths() {
        let r = SedationRule::DEFAULT;
        assert_eq!(r.breach(Some(2), Some(10)), None);
        assert_eq!(r.breach(Some(1), None), None);
        assert_eq!(
            r.breach(Some(3), Some(14)).as_deref(),
            Some("POSS 3 (the hold is at 3 or more)")
        );
        assert!(r.breach(Some(4), None).is_some());
        assert_eq!(
            r.breach(None, Some(9)).as_deref(),
            Some("respiratory rate 9/min (the hold is below 10/min)")
        );
    }

    #[test]
    fn a_rule_outside_its_range_is_refused_naming_the_field() {
        assert!(SedationRule::DEFAULT.check().is_ok());
        let e = SedationRule {
            hold_poss: 1,
            min_resp_rate: 10,
        }
        .check()
        .unwrap_err();
        assert_eq!(e, "sedation.hold_poss: 1 is outside POSS 2 to 4");
        let e = SedationRule {
            hold_poss: 3,
            min_resp_rate: 30,
        }
        .check()
        .unwrap_err();
        assert!(e.starts_with("sedation.min_resp_rate: 30/min"), "{e}");
    }

    #[test]
    fn nothing_is_due_without_a_schedule_or_before_delivery() {
        let mut c = CheckClock::new(None);
        c.delivery_started(h(0));
        assert_eq!(c.next_due(), None);
        assert_eq!(c.overdue(h(100)), None);
        let c = hourly();
        assert_eq!(c.next_due(), None, "not started");
    }

    #[test]
    fn a_check_is_due_an_interval_after_the_last_complete_one() {
        let mut c = hourly();
        c.delivery_started(h(0));
        assert_eq!(c.next_due(), Some(h(1)));
        assert_eq!(c.overdue(h(1)), None, "on time at its time");
        c.sedation(h(1).saturating_back(min(5)));
        assert_eq!(
            c.next_due(),
            Some(h(1)),
            "a POSS alone is not a whole check"
        );
        c.resp_rate(h(1).saturating_back(min(2)));
        assert_eq!(c.next_due(), Some(h(2).saturating_back(min(2))));
        // Past the close period: every 4 h.
        check(&mut c, h(24) + min(10));
        assert_eq!(c.next_due(), Some(h(28) + min(10)));
    }

    #[test]
    fn a_missed_check_escalates_when_the_next_is_missed_too() {
        let mut c = hourly();
        c.delivery_started(h(0));
        let o = c.overdue(h(1) + min(1)).expect("missed");
        assert_eq!(o.due, h(1));
        assert_eq!(o.escalate_after, h(2));
        assert!(!o.escalated(h(2)));
        assert!(o.escalated(h(2) + min(1)));
        let wakes: Vec<Timestamp> = c.wakes().collect();
        assert_eq!(
            wakes,
            [h(1) + Duration::from_ms(1), h(2) + Duration::from_ms(1)]
        );
        check(&mut c, h(2) + min(30));
        assert_eq!(c.overdue(h(3)), None);
        assert_eq!(c.next_due(), Some(h(3) + min(30)));
    }

    #[test]
    fn a_bolus_or_a_dose_increase_brings_checks_close_again_without_forgiving_one_due() {
        let mut c = hourly();
        c.delivery_started(h(0));
        check(&mut c, h(30));
        assert_eq!(c.next_due(), Some(h(34)));
        c.close_checks(h(31));
        assert_eq!(c.next_due(), Some(h(32)), "hourly again after the bolus");
        check(&mut c, h(32));
        assert_eq!(c.next_due(), Some(h(33)));
        // Overdue since 33 h: a bolus at 33 h 30 does not push the check back.
        c.close_checks(h(33) + min(30));
        assert_eq!(c.overdue(h(34)).map(|o| o.due), Some(h(33)));
    }

    #[test]
    fn without_a_later_interval_checks_end_with_the_close_period() {
        let mut c = CheckClock::new(Some(CheckSchedule {
            every: Duration::from_hours(2),
            period: Duration::from_hours(6),
            then_every: None,
        }));
        c.delivery_started(h(0));
        check(&mut c, h(2));
        check(&mut c, h(4));
        assert_eq!(c.next_due(), Some(h(6)));
        check(&mut c, h(6));
        assert_eq!(c.next_due(), None);
        assert_eq!(c.overdue(h(48)), None);
    }

    #[test]
    fn temperatures_are_tenths_of_a_degree() {
        let t = BodyTemp::from_celsius(37.84).unwrap();
        assert_eq!(t.deci_celsius(), 378);
        assert_eq!(t.to_string(), "37.8 °C");
        assert_eq!(serde_json::to_string(&t).unwrap(), "37.8");
        assert_eq!(serde_json::from_str::<BodyTemp>("37.8").unwrap(), t);
        assert_eq!(
            serde_json::from_str::<BodyTemp>("38")
                .unwrap()
                .deci_celsius(),
            380
        );
        assert!(BodyTemp::from_celsius(98.6).is_err(), "Fahrenheit");
        assert!(BodyTemp::from_celsius(f64::NAN).is_err());
        // The range's ends are readings; a tenth beyond them is not.
        assert_eq!(
            BodyTemp::from_celsius(25.0).map(BodyTemp::deci_celsius),
            Ok(250)
        );
        assert_eq!(
            BodyTemp::from_celsius(45.0).map(BodyTemp::deci_celsius),
            Ok(450)
        );
        assert_eq!(
            BodyTemp::from_celsius(24.9),
            Err("24.9 °C is outside 25 to 45 °C".to_owned())
        );
        assert!(BodyTemp::from_celsius(45.1).is_err());
        assert!(BodyTemp::from_celsius(-40.0).is_err());
    }
}
