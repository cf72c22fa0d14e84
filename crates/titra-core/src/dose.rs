//! Dose accounting: what was delivered, over which rolling windows, and whether more may be.
//!
//! The [`DoseLedger`] is told every amount that leaves the reservoir and answers two questions:
//! may a patient bolus be given now ([`DoseLedger::request_pca`]), and may this other amount be
//! delivered now ([`DoseLedger::authorize`]). It is pure: time comes in as a [`Timestamp`] on the
//! pump's monotonic clock.
//!
//! ## What counts toward what
//!
//! | delivered as        | total | program cap (`limit`) | library caps | lockout | hourly count |
//! |---------------------|:-----:|:---------------------:|:------------:|:-------:|:------------:|
//! | basal               |  yes  |          yes          |     yes      |         |              |
//! | KVO                 |  yes  |          yes          |     yes      |         |              |
//! | patient bolus (PCA) |  yes  |          yes          |     yes      | starts  |    counts    |
//! | scheduled bolus     |  yes  |          yes          |     yes      | starts  |              |
//! | clinician bolus     |  yes  |          no           |     yes      | starts  |              |
//!
//! The program's cap follows CADD pumps (CLINICAL.md): it limits what the program and the patient
//! give, not a clinician's deliberate bolus. The library's caps are absolute and count everything
//! that reached the patient. Any bolus restarts the patient's lockout, so a patient cannot stack a
//! bolus straight onto a clinician's.
//!
//! ## Why no cap is ever exceeded
//!
//! Every amount passes a check before it is delivered. Basal is checked as it goes: the window's
//! total plus what is about to be delivered must fit. A bolus is checked against the worst window
//! it will ever be part of: for every moment `s` in the next window length, what is already in
//! the window ending at `s`, plus the basal that can run until `s` (at the highest rate the
//! program can run, rounded up), plus the bolus. So a granted bolus can never later force the
//! basal to stop, and a denied one is told the first moment at which that check will pass.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::readable;
use super::units::{Amount, AmountRate, Duration, MassUnit, Timestamp};
use crate::tr;

/// Where a delivered amount came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    Basal,
    Kvo,
    PatientBolus,
    ScheduledBolus,
    ClinicianBolus,
}

impl Source {
    pub const ALL: [Source; 5] = [
        Source::Basal,
        Source::Kvo,
        Source::PatientBolus,
        Source::ScheduledBolus,
        Source::ClinicianBolus,
    ];

    /// Its position in [`Source::ALL`], for per-source tables.
    pub fn index(self) -> usize {
        self as usize
    }

    fn is_bolus(self) -> bool {
        matches!(
            self,
            Source::PatientBolus | Source::ScheduledBolus | Source::ClinicianBolus
        )
    }
}

/// The longest stretch of basal the caller may record as one piece. Pieces are recorded when
/// they end, so a window can hold up to one piece more than its length's worth of basal; limits
/// allow for it (a cap must hold the basal of its window plus this).
pub const RECORD_INTERVAL: Duration = Duration::from_mins(1);

/// Which deliveries a cap counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Counts {
    /// Everything but clinician boluses (the program's cap).
    AllButClinician,
    /// Everything (the library's caps).
    All,
}

impl Counts {
    fn includes(self, source: Source) -> bool {
        self == Counts::All || source != Source::ClinicianBolus
    }
}

/// Who set a cap, for messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CapOrigin {
    Program,
    Library,
}

/// A maximum over a rolling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Cap {
    pub window: Duration,
    pub max: Amount,
    pub counts: Counts,
    pub origin: CapOrigin,
}

/// The patient-bolus rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PcaRules {
    pub dose: Amount,
    pub lockout: Duration,
    pub max_per_hour: u32,
}

/// Everything the ledger enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DoseLimits {
    pub pca: Option<PcaRules>,
    pub caps: Vec<Cap>,
}

impl DoseLimits {
    /// The longest time any limit looks back over: the longest cap's window, and at least an
    /// hour (the patient boluses per hour).
    pub fn horizon(&self) -> Duration {
        self.caps
            .iter()
            .map(|c| c.window)
            .max()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_hours(1))
    }

    /// The limits of a program: its patient bolus and cap, and the library's hard caps.
    pub fn for_program(
        program: &super::program::Program,
        entry: &super::library::LibraryEntry,
    ) -> DoseLimits {
        let mut caps: Vec<Cap> = program
            .limit
            .iter()
            .map(|l| Cap {
                window: l.window,
                max: l.max,
                counts: Counts::AllButClinician,
                origin: CapOrigin::Program,
            })
            .collect();
        caps.extend(entry.cumulative.iter().map(|c| Cap {
            window: c.window,
            max: c.hard_max,
            counts: Counts::All,
            origin: CapOrigin::Library,
        }));
        DoseLimits {
            pca: program.pca.map(|p| PcaRules {
                dose: p.dose,
                lockout: p.lockout,
                max_per_hour: p.max_per_hour,
            }),
            caps,
        }
    }
}

/// Why a patient bolus or another delivery was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Denial {
    /// The program has no patient bolus.
    NotPrescribed,
    /// A bolus is still being given.
    BolusInProgress,
    /// Delivery is paused, stopped by an alarm, or not started.
    NotDelivering,
    /// Too soon after the last bolus.
    Lockout { lockout: Duration },
    /// The hourly number of patient boluses is reached.
    HourlyCount { max_per_hour: u32 },
    /// The dose would (now or later in the window) exceed a cap.
    Cap { cap: Cap, in_window: Amount },
    /// Sedation or slow breathing was recorded: no patient bolus until a clinician has reviewed
    /// the patient (the sedation interlock, see `core::observation`).
    SedationHold,
    /// Two sedation and breathing checks in a row were missed: no patient bolus until one is
    /// recorded.
    ObservationOverdue,
}

impl Denial {
    /// A sentence for the patient and the nurse, its amounts in mg or mcg as their size
    /// suits ([`Denial::explain_for`] keeps a drug's own unit).
    pub fn explain(&self) -> String {
        self.explain_in(None)
    }

    /// The same, with amounts in the unit the drug is dosed in (a drug dosed in mcg stays in
    /// mcg), to three significant digits; times in words.
    pub fn explain_for(&self, unit: MassUnit) -> String {
        self.explain_in(Some(unit))
    }

    fn explain_in(&self, unit: Option<MassUnit>) -> String {
        let amount = |a: Amount| match unit {
            Some(u) => readable::amount_for(a, u),
            None => readable::amount(a),
        };
        let time = |d: Duration| readable::duration(d, readable::Round::Nearest);
        match self {
            Denial::NotPrescribed => tr!("Patient boluses are not part of this program.").to_owned(),
            Denial::BolusInProgress => tr!("A bolus is being given now.").to_owned(),
            Denial::NotDelivering => {
                tr!("The pump is not delivering now (paused or stopped); ask your nurse.").to_owned()
            }
            Denial::Lockout { lockout } => tr!(
                "Too soon: at least {lockout} must pass between boluses.",
                lockout = time(*lockout)
            ),
            Denial::HourlyCount { max_per_hour } => tr!(
                "The most boluses allowed in an hour ({max_per_hour}) have been given.",
                max_per_hour
            ),
            Denial::Cap { cap, in_window } => {
                let (max, window, given) = (amount(cap.max), time(cap.window), amount(*in_window));
                match cap.origin {
                    CapOrigin::Program => tr!(
                        "The program's limit of {max} in {window} would be exceeded ({given} given in the last {window}).",
                        max,
                        window,
                        given
                    ),
                    CapOrigin::Library => tr!(
                        "The drug library's limit of {max} in {window} would be exceeded ({given} given in the last {window}).",
                        max,
                        window,
                        given
                    ),
                }
            }
            Denial::SedationHold => tr!("Not now: your nurse must check on you first. (Sedation or slow breathing was recorded; a clinician must review before any more doses.)").to_owned(),
            Denial::ObservationOverdue => tr!("Not now: your nurse must check on you first. (Your sedation and breathing check is overdue.)").to_owned(),
        }
    }
}

/// The answer to a patient's press.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum PcaDecision {
    /// Give this dose now; the ledger has reserved it until it is recorded or released.
    Granted { dose: Amount },
    /// Not now, and why. `available_at` is the first moment a press will be granted if nothing
    /// else changes (the basal may keep running at up to the rate given); `None` when it never
    /// will while the basal runs at that rate.
    Denied {
        denial: Denial,
        available_at: Option<Timestamp>,
    },
}

/// Why a record was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("a delivery at {at} was recorded after one at {last}: the ledger's clock went back")]
    OutOfOrder { at: Timestamp, last: Timestamp },
}

#[derive(Debug, Clone, Copy)]
struct Record {
    at: Timestamp,
    /// Cumulative totals, up to and including this record: all sources, and all but clinician
    /// boluses. Kept absolute so a window's sum is one subtraction.
    cum_all: u64,
    cum_capped: u64,
}

/// The running account of what was delivered.
#[derive(Debug, Clone)]
pub struct DoseLedger {
    limits: DoseLimits,
    /// Deliveries within the longest window, oldest first.
    records: VecDeque<Record>,
    /// Totals before the first record kept.
    base_all: u64,
    base_capped: u64,
    by_source: [Amount; 5],
    /// Patient boluses granted within the last hour.
    pca_grants: VecDeque<Timestamp>,
    last_bolus_at: Option<Timestamp>,
    /// Granted but not yet delivered (a bolus in progress).
    pending: Amount,
    pending_counts_in_program_cap: bool,
    last_at: Timestamp,
    horizon: Duration,
    /// Carried over from before this ledger began (ng): in the windows, not in the totals.
    carried: u64,
}

impl DoseLedger {
    pub fn new(limits: DoseLimits) -> DoseLedger {
        let horizon = limits.horizon();
        DoseLedger {
            limits,
            records: VecDeque::new(),
            base_all: 0,
            base_capped: 0,
            by_source: [Amount::ZERO; 5],
            pca_grants: VecDeque::new(),
            last_bolus_at: None,
            pending: Amount::ZERO,
            pending_counts_in_program_cap: true,
            last_at: Timestamp::ORIGIN,
            horizon,
            carried: 0,
        }
    }

    pub fn limits(&self) -> &DoseLimits {
        &self.limits
    }

    /// Puts new limits in force (a program changed during the trial): everything given stays
    /// counted in its windows, the lockout and the hour's boluses go on from the last bolus, so
    /// a change never empties a window. The ledger keeps every record the longest window the
    /// library allows can reach (24 h), so a new or longer window counts what came before it.
    pub fn set_limits(&mut self, limits: DoseLimits) {
        self.horizon = limits.horizon();
        self.limits = limits;
    }

    /// Everything delivered since the ledger started.
    pub fn total(&self) -> Amount {
        Amount::from_ng(self.cum_all().saturating_sub(self.carried))
    }

    /// Enters a dose given before this ledger began: the previous trial of the same patient on
    /// the same pump, within the longest window. It counts in every window as it did then, but
    /// not in this ledger's totals (this trial did not give it).
    pub fn carry_over(
        &mut self,
        at: Timestamp,
        amount: Amount,
        source: Source,
    ) -> Result<(), LedgerError> {
        self.record(at, amount, source)?;
        let i = source.index();
        self.by_source[i] = self.by_source[i].saturating_sub(amount);
        self.carried += amount.ng();
        Ok(())
    }

    /// The longest window any limit looks back over ([`DoseLimits::horizon`]).
    pub fn horizon(&self) -> Duration {
        self.horizon
    }

    /// Everything delivered from one source.
    pub fn total_from(&self, source: Source) -> Amount {
        self.by_source[source.index()]
    }

    /// Granted and not yet delivered.
    pub fn pending(&self) -> Amount {
        self.pending
    }

    /// When the last bolus of any kind started.
    pub fn last_bolus_at(&self) -> Option<Timestamp> {
        self.last_bolus_at
    }

    /// Delivered in the window `(now - window, now]`, counting what `counts` counts.
    pub fn in_window(&self, now: Timestamp, window: Duration, counts: Counts) -> Amount {
        Amount::from_ng(self.known_in_window(now, window, counts))
    }

    /// Records an amount that has left the reservoir. Amounts recorded for a bolus use up what
    /// was reserved for it.
    pub fn record(
        &mut self,
        at: Timestamp,
        amount: Amount,
        source: Source,
    ) -> Result<(), LedgerError> {
        if at < self.last_at {
            return Err(LedgerError::OutOfOrder {
                at,
                last: self.last_at,
            });
        }
        self.last_at = at;
        if source.is_bolus() {
            self.pending = self.pending.saturating_sub(amount);
        }
        if amount.is_zero() {
            return Ok(());
        }
        self.by_source[source.index()] += amount;
        let ng = amount.ng();
        let capped = if Counts::AllButClinician.includes(source) {
            ng
        } else {
            0
        };
        let record = Record {
            at,
            cum_all: self.cum_all() + ng,
            cum_capped: self.cum_capped() + capped,
        };
        self.records.push_back(record);
        self.prune(at);
        Ok(())
    }

    /// When a patient's press would next be granted (now, if it would be now), without pressing;
    /// `None` without patient boluses, during a bolus, or never at this basal rate.
    pub fn next_pca_at(&self, now: Timestamp, basal_upper: AmountRate) -> Option<Timestamp> {
        let pca = self.limits.pca?;
        if !self.pending.is_zero() {
            return None;
        }
        self.pca_available_at(now, pca, basal_upper)
    }

    /// Replays a patient bolus granted before a restart (for the lockout and hourly count).
    pub fn note_pca_grant(&mut self, at: Timestamp) {
        self.pca_grants.push_back(at);
        self.last_bolus_at = Some(self.last_bolus_at.map_or(at, |l| l.max(at)));
    }

    /// Replays the start of any bolus before a restart (it started the lockout).
    pub fn note_bolus_start(&mut self, at: Timestamp) {
        self.last_bolus_at = Some(self.last_bolus_at.map_or(at, |l| l.max(at)));
    }

    /// Releases what is left of a reserved bolus (it ended, or was stopped, short of its dose).
    pub fn release_pending(&mut self) {
        self.pending = Amount::ZERO;
        self.pending_counts_in_program_cap = true;
    }

    /// A patient presses the bolus button. `basal_upper` is the highest dose rate the basal (and
    /// KVO) can run at over the next window (see [`super::program::Program::max_rate_between`]).
    /// A grant reserves the dose and starts the lockout.
    ///
    /// Contract with the caller: everything delivered up to `now` has been recorded, and the
    /// basal is recorded in pieces of at most [`RECORD_INTERVAL`], none holding more than
    /// `basal_upper` × the time since the previous piece (a scheduler that rounds its cumulative
    /// ideal down can add one ng per piece to the rate it passes). Then a granted bolus never forces the basal to be held later, and a
    /// press at a denial's `available_at` is granted.
    pub fn request_pca(&mut self, now: Timestamp, basal_upper: AmountRate) -> PcaDecision {
        let Some(pca) = self.limits.pca else {
            return PcaDecision::Denied {
                denial: Denial::NotPrescribed,
                available_at: None,
            };
        };
        if !self.pending.is_zero() {
            return PcaDecision::Denied {
                denial: Denial::BolusInProgress,
                available_at: None,
            };
        }
        self.forget_old_grants(now);
        let denial = self
            .lockout_denial(now, pca)
            .or_else(|| self.hourly_denial(now, pca))
            .or_else(|| self.cap_denial(now, pca.dose, Source::PatientBolus, basal_upper));
        match denial {
            None => {
                self.pca_grants.push_back(now);
                self.reserve(now, pca.dose, Source::PatientBolus);
                PcaDecision::Granted { dose: pca.dose }
            }
            Some(denial) => PcaDecision::Denied {
                denial,
                available_at: self.pca_available_at(now, pca, basal_upper),
            },
        }
    }

    /// Asks to deliver `amount` from `source` now. Boluses (scheduled or clinician) are checked
    /// against the worst window they will be part of and reserved when allowed; basal and KVO
    /// against the window as it stands. Lockout and the hourly count apply to patient boluses
    /// only, which go through [`DoseLedger::request_pca`].
    pub fn authorize(
        &mut self,
        now: Timestamp,
        amount: Amount,
        source: Source,
        basal_upper: AmountRate,
    ) -> Result<(), Denial> {
        if source.is_bolus() {
            if !self.pending.is_zero() {
                return Err(Denial::BolusInProgress);
            }
            if let Some(d) = self.cap_denial(now, amount, source, basal_upper) {
                return Err(d);
            }
            self.reserve(now, amount, source);
            return Ok(());
        }
        for cap in &self.limits.caps {
            if !cap.counts.includes(source) {
                continue;
            }
            let in_window = self.in_window(now, cap.window, cap.counts) + self.pending_for(cap);
            if in_window.ng() + amount.ng() > cap.max.ng() {
                return Err(Denial::Cap {
                    cap: *cap,
                    in_window,
                });
            }
        }
        Ok(())
    }

    fn reserve(&mut self, now: Timestamp, amount: Amount, source: Source) {
        self.pending = amount;
        self.pending_counts_in_program_cap = source != Source::ClinicianBolus;
        self.last_bolus_at = Some(now);
    }

    /// What a bolus in progress still reserves that `cap` counts (the rest of its dose).
    pub fn pending_for(&self, cap: &Cap) -> Amount {
        if cap.counts == Counts::All || self.pending_counts_in_program_cap {
            self.pending
        } else {
            Amount::ZERO
        }
    }

    fn cum_all(&self) -> u64 {
        self.cum_end(Counts::All)
    }

    fn cum_capped(&self) -> u64 {
        self.cum_end(Counts::AllButClinician)
    }

    /// Total of every record so far.
    fn cum_end(&self, counts: Counts) -> u64 {
        match self.records.back() {
            Some(r) => self.cum(r, counts),
            None => self.base(counts),
        }
    }

    fn base(&self, counts: Counts) -> u64 {
        match counts {
            Counts::All => self.base_all,
            Counts::AllButClinician => self.base_capped,
        }
    }

    fn cum(&self, r: &Record, counts: Counts) -> u64 {
        match counts {
            Counts::All => r.cum_all,
            Counts::AllButClinician => r.cum_capped,
        }
    }

    /// Total of records strictly before index `i`.
    fn cum_before(&self, i: usize, counts: Counts) -> u64 {
        match i.checked_sub(1).and_then(|j| self.records.get(j)) {
            Some(r) => self.cum(r, counts),
            None => self.base(counts),
        }
    }

    /// The index of the first record inside the window `(t − w, t]`. A window reaching back
    /// before the clock's origin holds every record, those at the origin included.
    fn first_in_window(&self, t: Timestamp, w: Duration) -> usize {
        match t.ms().checked_sub(w.ms()) {
            Some(start) => self.records.partition_point(|r| r.at.ms() <= start),
            None => 0,
        }
    }

    /// Recorded deliveries in the window `(t − w, t]` (and none are recorded after `t`).
    fn known_in_window(&self, t: Timestamp, w: Duration, counts: Counts) -> u64 {
        self.cum_end(counts) - self.cum_before(self.first_in_window(t, w), counts)
    }

    /// Whether a bolus needing `budget` ng of room under `cap` (the cap less the bolus and
    /// anything reserved) would fit if given at `t` (≥ now). It fits if, for every moment
    /// `s ∈ [t, t + W)`, what is recorded in `(s − W, now]` plus the basal that can run in
    /// `(now, s]` stays within the budget.
    ///
    /// Basal after `now` is recorded in pieces at their end, so a window starting after `now`
    /// can hold up to one piece ([`RECORD_INTERVAL`]) more than its length's worth; the basal
    /// term allows for it. The arithmetic is exact and division-free: amounts are scaled by the
    /// milliseconds in a day so that `rate × time` needs no rounding.
    fn fits(
        &self,
        now: Timestamp,
        t: Timestamp,
        cap: &Cap,
        basal_upper: AmountRate,
        budget: u64,
    ) -> bool {
        let w = cap.window;
        let day = u128::from(Duration::from_days(1).ms());
        let rate = u128::from(basal_upper.ng_per_day());
        let basal = |s: Timestamp| rate * u128::from(s.since(now).min(w + RECORD_INTERVAL).ms());
        let budget = u128::from(budget) * day;
        let first = self.first_in_window(t, w);
        let end = self.cum_end(cap.counts);
        let known = |i: usize| u128::from(end - self.cum_before(i, cap.counts)) * day;
        // Cheap bound first: the recorded part only shrinks after t and the basal part is at
        // most a window and a piece. Most requests far from a cap stop here.
        let known_at_t = known(first);
        if known_at_t + basal(t + w + RECORD_INTERVAL) <= budget {
            return true;
        }
        // The basal alone at the window's last moment, when every record may have left it (the
        // loop below looks only at the moments records leave). A full window at `t` itself is
        // the loop's first moment: it starts at or after `t` with everything known at `t`.
        let last_s = Timestamp::from_ms((t + w).ms().saturating_sub(1));
        if basal(last_s) > budget {
            return false;
        }
        // Just before each record leaves the window (at its time + W) it still counts and the
        // basal has run longest: the worst moment is one of those.
        let mut before = self.cum_before(first, cap.counts);
        for r in self.records.range(first..) {
            let leaves = r.at + w;
            let s = Timestamp::from_ms(leaves.min(t + w).ms().saturating_sub(1));
            if u128::from(end - before) * day + basal(s) > budget {
                return false;
            }
            if leaves >= t + w {
                break;
            }
            before = self.cum(r, cap.counts);
        }
        true
    }

    /// The first cap the dose does not fit under if given at `t`.
    fn cap_exceeded(
        &self,
        now: Timestamp,
        t: Timestamp,
        dose: Amount,
        source: Source,
        basal_upper: AmountRate,
    ) -> Option<Cap> {
        self.limits.caps.iter().copied().find(|cap| {
            if !cap.counts.includes(source) {
                return false;
            }
            let used = self.pending_for(cap).ng() + dose.ng();
            match cap.max.ng().checked_sub(used) {
                Some(budget) => !self.fits(now, t, cap, basal_upper, budget),
                None => true,
            }
        })
    }

    fn cap_denial(
        &self,
        now: Timestamp,
        dose: Amount,
        source: Source,
        basal_upper: AmountRate,
    ) -> Option<Denial> {
        self.cap_exceeded(now, now, dose, source, basal_upper)
            .map(|cap| Denial::Cap {
                cap,
                in_window: self.in_window(now, cap.window, cap.counts) + self.pending_for(&cap),
            })
    }

    fn lockout_denial(&self, now: Timestamp, pca: PcaRules) -> Option<Denial> {
        let last = self.last_bolus_at?;
        (now < last + pca.lockout).then_some(Denial::Lockout {
            lockout: pca.lockout,
        })
    }

    fn hourly_denial(&self, now: Timestamp, pca: PcaRules) -> Option<Denial> {
        let in_hour = self.grants_in_hour(now);
        (in_hour >= pca.max_per_hour as usize).then_some(Denial::HourlyCount {
            max_per_hour: pca.max_per_hour,
        })
    }

    fn grants_in_hour(&self, now: Timestamp) -> usize {
        self.pca_grants
            .iter()
            .filter(|&&g| now.since(g) < Duration::from_hours(1))
            .count()
    }

    /// The first moment at or after `now` at which lockout, hourly count and every cap allow the
    /// patient's dose, assuming nothing else is given meanwhile and the basal runs at no more
    /// than `basal_upper`.
    fn pca_available_at(
        &self,
        now: Timestamp,
        pca: PcaRules,
        basal_upper: AmountRate,
    ) -> Option<Timestamp> {
        // Once the lockout has ended and the hour has room, both stay so as time goes on (no
        // new bolus is assumed meanwhile), so the caps are the last question.
        let lockout_end = self
            .last_bolus_at
            .map_or(now, |last| now.max(last + pca.lockout));
        let rules_allow = self.hourly_free_at(lockout_end, pca);
        self.cap_free_at(now, rules_allow, pca.dose, basal_upper)
    }

    /// The first moment ≥ t at which fewer than `max_per_hour` grants lie in the past hour.
    fn hourly_free_at(&self, t: Timestamp, pca: PcaRules) -> Timestamp {
        let max = pca.max_per_hour as usize;
        let hour = Duration::from_hours(1);
        // Grants are in time order; those in the hour before t are a suffix.
        let first = self.pca_grants.partition_point(|&g| t.since(g) >= hour);
        let in_hour = self.pca_grants.len() - first;
        if in_hour < max || max == 0 {
            return t;
        }
        // The oldest grant that must leave the hour for one more to fit.
        self.pca_grants[first + in_hour - max] + hour
    }

    /// The first moment ≥ t at which the dose fits every cap, or `None` if it never will while
    /// the basal runs at `basal_upper`.
    fn cap_free_at(
        &self,
        now: Timestamp,
        t: Timestamp,
        dose: Amount,
        basal_upper: AmountRate,
    ) -> Option<Timestamp> {
        let fits_at = |c: Timestamp| {
            self.cap_exceeded(now, c, dose, Source::PatientBolus, basal_upper)
                .is_none()
        };
        if fits_at(t) {
            return Some(t);
        }
        // What a cap sees only changes when a record leaves its window; try those moments in
        // order (the earliest next one over all caps), up to when every record has left.
        let last = now
            + self
                .limits
                .caps
                .iter()
                .map(|c| c.window)
                .max()
                .unwrap_or(Duration::ZERO)
            + RECORD_INTERVAL;
        let mut c = t;
        loop {
            let next = self
                .limits
                .caps
                .iter()
                .filter_map(|cap| {
                    let i = self.records.partition_point(|r| r.at + cap.window <= c);
                    self.records.get(i).map(|r| r.at + cap.window)
                })
                .min()
                .unwrap_or(last)
                .min(last);
            if next <= c {
                return fits_at(last).then_some(last);
            }
            if fits_at(next) {
                return Some(next);
            }
            c = next;
        }
    }

    fn forget_old_grants(&mut self, now: Timestamp) {
        while let Some(&g) = self.pca_grants.front() {
            if now.since(g) >= Duration::from_hours(1) {
                self.pca_grants.pop_front();
            } else {
                break;
            }
        }
    }

    /// Drops records no window can reach any more, nor any window a change may set (at most
    /// [`crate::library::MAX_WINDOW`]); their amounts stay in the totals.
    fn prune(&mut self, now: Timestamp) {
        let keep = self.horizon.max(crate::library::MAX_WINDOW);
        let Some(start) = now.ms().checked_sub(keep.ms()) else {
            return;
        };
        while let Some(first) = self.records.front().copied() {
            if first.at.ms() > start {
                break;
            }
            self.base_all = first.cum_all;
            self.base_capped = first.cum_capped;
            self.records.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mg(s: &str) -> Amount {
        s.parse().unwrap()
    }
    fn at(s: &str) -> Timestamp {
        Timestamp::from_ms(s.parse::<Duration>().unwrap().ms())
    }
    fn rate(s: &str) -> AmountRate {
        s.parse().unwrap()
    }

    fn ledger(
        dose: &str,
        lockout: &str,
        per_hour: u32,
        caps: &[(&str, &str, Counts)],
    ) -> DoseLedger {
        DoseLedger::new(DoseLimits {
            pca: Some(PcaRules {
                dose: mg(dose),
                lockout: lockout.parse().unwrap(),
                max_per_hour: per_hour,
            }),
            caps: caps
                .iter()
                .map(|&(w, max, counts)| Cap {
                    window: w.parse().unwrap(),
                    max: mg(max),
                    counts,
                    origin: if counts == Counts::All {
                        CapOrigin::Library
                    } else {
                        CapOrigin::Program
                    },
                })
                .collect(),
        })
    }

    /// Grants, then records the whole dose as delivered at once.
    fn press(l: &mut DoseLedger, t: Timestamp, basal: AmountRate) -> PcaDecision {
        let d = l.request_pca(t, basal);
        if let PcaDecision::Granted { dose } = d {
            l.record(t, dose, Source::PatientBolus).unwrap();
        }
        d
    }

    #[test]
    fn a_fourteen_day_trial_keeps_only_what_a_window_can_still_reach() {
        // The pump runs for up to two weeks: the ledger must not grow with it. Records older
        // than the longest window and patient grants older than an hour are dropped; their
        // amounts stay in the totals.
        let mut l = ledger("0.05 mg", "30min", 2, &[("24h", "100 mg", Counts::All)]);
        let basal = rate("0.5 mg/day");
        let per_minute = Amount::from_ng(347); // 0.5 mg/day is 347.2 ng a minute
        let mut presses = 0u64;
        for minute in 0..14 * 24 * 60 {
            let t = Timestamp::from_ms(Duration::from_mins(minute).ms());
            l.record(t, per_minute, Source::Basal).unwrap();
            if minute % 30 == 0 {
                assert!(matches!(
                    press(&mut l, t, basal),
                    PcaDecision::Granted { .. }
                ));
                presses += 1;
            }
            assert!(
                l.pca_grants.len() <= 2,
                "{} grants kept",
                l.pca_grants.len()
            );
            // A day of minutes and of presses; the record exactly a day old has gone.
            assert!(
                l.records.len() <= 24 * 60 + 48,
                "{} records",
                l.records.len()
            );
        }
        let total = Amount::from_ng(347 * 14 * 24 * 60 + 50_000 * presses);
        assert_eq!(l.total(), total);
        assert_eq!(presses, 14 * 48);

        // Exactly at the edge: a record a whole window old is unreachable, (t − w, t].
        let mut l = ledger("0.05 mg", "30min", 2, &[("24h", "100 mg", Counts::All)]);
        l.record(at("0h"), mg("1 mg"), Source::Basal).unwrap();
        l.record(at("24h"), mg("2 mg"), Source::Basal).unwrap();
        assert_eq!(l.records.len(), 1);
        assert_eq!(
            l.in_window(at("24h"), "24h".parse().unwrap(), Counts::All),
            mg("2 mg")
        );
        assert_eq!(l.total(), mg("3 mg"));
    }

    #[test]
    fn the_last_bolus_and_the_next_press_are_known_without_pressing() {
        let mut l = ledger("0.05 mg", "30min", 2, &[]);
        assert_eq!(l.last_bolus_at(), None);
        assert_eq!(l.next_pca_at(at("0h"), AmountRate::ZERO), Some(at("0h")));
        assert!(matches!(
            l.request_pca(at("1h"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        assert_eq!(l.last_bolus_at(), Some(at("1h")));
        // While the bolus runs no press can be granted, so none is announced.
        assert_eq!(l.next_pca_at(at("1h"), AmountRate::ZERO), None);
        l.record(at("1h"), mg("0.05 mg"), Source::PatientBolus)
            .unwrap();
        assert_eq!(
            l.next_pca_at(at("1h 10min"), AmountRate::ZERO),
            Some(at("1h 30min"))
        );
        assert_eq!(
            l.next_pca_at(at("2h"), AmountRate::ZERO),
            Some(at("2h")),
            "available now"
        );
        let mut none = DoseLedger::new(DoseLimits {
            pca: None,
            caps: Vec::new(),
        });
        assert_eq!(none.next_pca_at(at("0h"), AmountRate::ZERO), None);
        assert!(matches!(
            none.request_pca(at("0h"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::NotPrescribed,
                ..
            }
        ));
    }

    #[test]
    fn grants_and_bolus_starts_replayed_after_a_restart_keep_the_lockout_and_the_hourly_count() {
        // A patient bolus granted at 0h before the restart: the lockout runs on.
        let mut l = ledger("0.05 mg", "30min", 1, &[]);
        l.note_pca_grant(at("0h"));
        assert_eq!(l.last_bolus_at(), Some(at("0h")));
        assert!(matches!(
            l.request_pca(at("10min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::Lockout { .. },
                available_at: Some(t),
            } if t == at("1h")
        ));
        // At 40 min the lockout is over but the hour's one bolus was given.
        assert!(matches!(
            l.request_pca(at("40min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::HourlyCount { .. },
                ..
            }
        ));
        // Any bolus started before the restart starts the lockout too.
        let mut l = ledger("0.05 mg", "30min", 2, &[]);
        l.note_bolus_start(at("0h"));
        l.note_bolus_start(at("5min"));
        assert_eq!(l.last_bolus_at(), Some(at("5min")));
        assert!(matches!(
            l.request_pca(at("20min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::Lockout { .. },
                available_at: Some(t),
            } if t == at("35min")
        ));
    }

    #[test]
    fn a_bolus_may_fill_a_cap_to_the_last_nanogram_and_no_further() {
        // Recorded amounts and the dose exactly at the cap, no basal: granted.
        let mut l = ledger("0.05 mg", "10min", 4, &[("1h", "1 mg", Counts::All)]);
        l.record(at("0h"), mg("0.95 mg"), Source::Basal).unwrap();
        assert!(matches!(
            l.request_pca(at("10min"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        let mut l = ledger("0.05 mg", "10min", 4, &[("1h", "1 mg", Counts::All)]);
        l.record(at("0h"), mg("0.95 mg") + Amount::from_ng(1), Source::Basal)
            .unwrap();
        assert!(matches!(
            l.request_pca(at("10min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::Cap { .. },
                ..
            }
        ));
        // Nothing recorded; the basal to come fills what the dose leaves of the cap exactly by
        // the window's last millisecond: 86.4 mg/day is 1 ng per ms, so 3 599 999 ng.
        let basal = AmountRate::from_ng_per_day(86_400_000);
        let cap = |left: u64| {
            let max = Amount::from_ng(50_000 + left);
            DoseLedger::new(DoseLimits {
                pca: Some(PcaRules {
                    dose: mg("0.05 mg"),
                    lockout: "10min".parse().unwrap(),
                    max_per_hour: 4,
                }),
                caps: vec![Cap {
                    window: "1h".parse().unwrap(),
                    max,
                    counts: Counts::All,
                    origin: CapOrigin::Library,
                }],
            })
        };
        assert!(matches!(
            cap(3_599_999).request_pca(at("0h"), basal),
            PcaDecision::Granted { .. }
        ));
        assert!(matches!(
            cap(3_599_998).request_pca(at("0h"), basal),
            PcaDecision::Denied {
                denial: Denial::Cap { .. },
                ..
            }
        ));
    }

    /// A library cap of `max` ng in 1 h with two basal pieces recorded (0.1 mg at 0 and at
    /// 9 min), asked at 10 min for a 0.05 mg clinician bolus with the basal at up to 1 ng/ms.
    fn worst_moment_later(max_ng: u64) -> Result<(), Denial> {
        let mut l = DoseLedger::new(DoseLimits {
            pca: None,
            caps: vec![Cap {
                window: "1h".parse().unwrap(),
                max: Amount::from_ng(max_ng),
                counts: Counts::All,
                origin: CapOrigin::Library,
            }],
        });
        l.record(at("0h"), mg("0.1 mg"), Source::Basal).unwrap();
        l.record(at("9min"), mg("0.1 mg"), Source::Basal).unwrap();
        l.authorize(
            at("10min"),
            mg("0.05 mg"),
            Source::ClinicianBolus,
            AmountRate::from_ng_per_day(86_400_000),
        )
    }

    #[test]
    fn a_bolus_is_checked_at_every_moment_a_record_leaves_the_window_not_only_the_first() {
        // Just before the first piece leaves (59:59.999): 0.2 mg known + 2 999 999 ng of basal.
        // Just before the second leaves (1:08:59.999): 0.1 mg + 3 539 999 ng = 3 639 999 ng,
        // the worse moment. Budgets are the cap less the 50 000 ng dose.
        assert_eq!(
            worst_moment_later(50_000 + 3_639_999),
            Ok(()),
            "exactly full"
        );
        assert!(matches!(
            worst_moment_later(50_000 + 3_639_998),
            Err(Denial::Cap { .. })
        ));
        assert!(
            matches!(
                worst_moment_later(50_000 + 3_600_000),
                Err(Denial::Cap { .. })
            ),
            "fits the first moment and the window's end, not the second moment"
        );
    }

    #[test]
    fn a_grant_an_hour_old_no_longer_counts_in_the_hour() {
        let mut l = ledger("0.05 mg", "10min", 1, &[]);
        assert!(matches!(
            press(&mut l, at("0h"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        assert_eq!(l.next_pca_at(at("30min"), AmountRate::ZERO), Some(at("1h")));
        assert_eq!(l.next_pca_at(at("1h"), AmountRate::ZERO), Some(at("1h")));
        assert!(matches!(
            press(&mut l, at("1h"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
    }

    #[test]
    fn the_basal_may_fill_a_cap_to_the_last_nanogram_and_no_further() {
        let mut l = ledger("0.05 mg", "30min", 2, &[("1h", "1 mg", Counts::All)]);
        l.record(at("10min"), mg("0.9 mg"), Source::Basal).unwrap();
        assert_eq!(
            l.authorize(at("20min"), mg("0.1 mg"), Source::Basal, AmountRate::ZERO),
            Ok(())
        );
        assert!(matches!(
            l.authorize(
                at("20min"),
                mg("0.1 mg") + Amount::from_ng(1),
                Source::Basal,
                AmountRate::ZERO
            ),
            Err(Denial::Cap { .. })
        ));
    }

    #[test]
    fn a_clinician_bolus_in_progress_counts_against_the_library_cap_but_not_the_programs() {
        let mut l = ledger(
            "0.05 mg",
            "30min",
            2,
            &[
                ("1h", "1 mg", Counts::All),
                ("4h", "0.7 mg", Counts::AllButClinician),
            ],
        );
        assert_eq!(
            l.authorize(
                at("0h"),
                mg("0.5 mg"),
                Source::ClinicianBolus,
                AmountRate::ZERO
            ),
            Ok(())
        );
        // 0.5 mg reserved for the clinician's bolus: 0.6 mg of basal would make 1.1 mg in the
        // library's hour.
        assert!(matches!(
            l.authorize(at("1min"), mg("0.6 mg"), Source::Basal, AmountRate::ZERO),
            Err(Denial::Cap { cap, .. }) if cap.counts == Counts::All
        ));
        // 0.45 mg fits the library's hour (0.95 mg) and the program's 0.7 mg, which does not
        // count the clinician's bolus.
        assert_eq!(
            l.authorize(at("1min"), mg("0.45 mg"), Source::Basal, AmountRate::ZERO),
            Ok(())
        );
    }

    #[test]
    fn lockout_denies_with_the_time_it_ends() {
        let mut l = ledger("0.05 mg", "1h", 2, &[]);
        assert_eq!(
            press(&mut l, at("0h"), AmountRate::ZERO),
            PcaDecision::Granted {
                dose: mg("0.05 mg")
            }
        );
        assert_eq!(
            press(&mut l, at("30min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::Lockout {
                    lockout: "1h".parse().unwrap()
                },
                available_at: Some(at("1h")),
            }
        );
        assert_eq!(
            press(&mut l, at("59min 59s"), AmountRate::ZERO).clone(),
            PcaDecision::Denied {
                denial: Denial::Lockout {
                    lockout: "1h".parse().unwrap()
                },
                available_at: Some(at("1h")),
            }
        );
        assert!(matches!(
            press(&mut l, at("1h"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
    }

    #[test]
    fn hourly_count_denies_until_the_oldest_press_leaves_the_hour() {
        let mut l = ledger("0.05 mg", "10min", 2, &[]);
        assert!(matches!(
            press(&mut l, at("0h"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        assert!(matches!(
            press(&mut l, at("10min"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        assert_eq!(
            press(&mut l, at("20min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::HourlyCount { max_per_hour: 2 },
                available_at: Some(at("1h")),
            }
        );
        assert!(matches!(
            press(&mut l, at("1h"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        // The hour (10min, 1h 10min] holds only the press at 1h: the one at 10min has left.
        assert!(matches!(
            press(&mut l, at("1h 10min"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        assert_eq!(
            press(&mut l, at("1h 20min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::HourlyCount { max_per_hour: 2 },
                available_at: Some(at("2h")),
            }
        );
    }

    #[test]
    fn doses_carried_over_count_in_the_windows_and_the_lockout_but_not_the_totals() {
        // Worked by hand: 0.2 mg given 3 h before the new trial, inside its 4 h cap of 0.3 mg,
        // and a patient bolus 20 min before it, inside the 30 min lockout.
        let mut l = ledger(
            "0.1 mg",
            "30min",
            2,
            &[("4h", "0.3 mg", Counts::AllButClinician)],
        );
        assert_eq!(l.horizon(), Duration::from_hours(4));
        l.carry_over(at("1h"), mg("0.2 mg"), Source::Basal).unwrap();
        l.carry_over(at("3h 40min"), mg("0.05 mg"), Source::PatientBolus)
            .unwrap();
        l.note_pca_grant(at("3h 40min"));
        assert_eq!(l.total(), Amount::ZERO);
        assert_eq!(l.total_from(Source::Basal), Amount::ZERO);
        assert_eq!(
            l.in_window(at("4h"), Duration::from_hours(4), Counts::All),
            mg("0.25 mg")
        );
        // At 4 h (the new trial's start): still in the lockout (until 4 h 10 min); the next
        // press is granted only when the cap allows too, at 5 h.
        let d = l.request_pca(at("4h"), AmountRate::ZERO);
        assert!(
            matches!(d, PcaDecision::Denied { denial: Denial::Lockout { .. }, available_at } if available_at == Some(at("5h"))),
            "{d:?}"
        );
        // At 4 h 10 min: 0.25 mg in the window, a 0.1 mg bolus would make 0.35 mg > 0.3 mg;
        // it fits once the 1 h dose has left the window, at 5 h.
        let d = l.request_pca(at("4h 10min"), AmountRate::ZERO);
        assert!(
            matches!(d, PcaDecision::Denied { denial: Denial::Cap { .. }, available_at } if available_at == Some(at("5h"))),
            "{d:?}"
        );
        assert!(matches!(
            press(&mut l, at("5h"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        assert_eq!(l.total(), mg("0.1 mg"));
    }

    #[test]
    fn window_cap_denies_until_enough_has_left_the_window() {
        let mut l = ledger(
            "0.1 mg",
            "10min",
            6,
            &[("4h", "0.3 mg", Counts::AllButClinician)],
        );
        for t in ["0h", "10min", "20min"] {
            assert!(
                matches!(
                    press(&mut l, at(t), AmountRate::ZERO),
                    PcaDecision::Granted { .. }
                ),
                "{t}"
            );
        }
        let d = press(&mut l, at("30min"), AmountRate::ZERO);
        let PcaDecision::Denied {
            denial: Denial::Cap { cap, in_window },
            available_at,
        } = d
        else {
            panic!("{d:?}")
        };
        assert_eq!(cap.max, mg("0.3 mg"));
        assert_eq!(in_window, mg("0.3 mg"));
        assert_eq!(available_at, Some(at("4h")));
        assert_eq!(
            d.clone_denial_text(),
            "The program's limit of 0.3 mg in 4 h would be exceeded (0.3 mg given in the last 4 h)."
        );
        assert!(matches!(
            press(&mut l, at("4h"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
    }

    #[test]
    fn a_refusal_reads_in_german_with_its_amounts_and_times_as_written() {
        use crate::lang::{self, Language};
        let cap = Denial::Cap {
            cap: Cap {
                window: "4h".parse().unwrap(),
                max: mg("0.3 mg"),
                counts: Counts::AllButClinician,
                origin: CapOrigin::Program,
            },
            in_window: mg("0.3 mg"),
        };
        let lockout = Denial::Lockout {
            lockout: "30min".parse().unwrap(),
        };
        lang::with(Language::German, || {
            assert_eq!(
                cap.explain_for(MassUnit::Mg),
                "Die Grenze des Programms von 0.3 mg in 4 h würde überschritten (im letzten Zeitraum von 4 h bereits gegeben: 0.3 mg)."
            );
            assert_eq!(
                lockout.explain_for(MassUnit::Mg),
                "Zu früh: Zwischen zwei Boli müssen mindestens 30 min liegen."
            );
            assert_eq!(
                Denial::HourlyCount { max_per_hour: 2 }.explain_for(MassUnit::Mcg),
                "Die höchstens erlaubte Zahl an Boli pro Stunde (2) ist bereits gegeben."
            );
        });
        // The same denial in English outside.
        assert_eq!(
            lockout.explain_for(MassUnit::Mg),
            "Too soon: at least 30 min must pass between boluses."
        );
    }

    impl PcaDecision {
        fn clone_denial_text(&self) -> String {
            match self {
                PcaDecision::Denied { denial, .. } => denial.explain(),
                PcaDecision::Granted { .. } => String::new(),
            }
        }
    }

    #[test]
    fn a_bolus_is_refused_if_the_basal_would_later_push_the_window_over() {
        // 0.24 mg/day = 0.04 mg per 4 h. Cap 0.3 mg in 4 h.
        let basal = rate("0.24 mg/day");
        let mut l = ledger(
            "0.1 mg",
            "10min",
            6,
            &[("4h", "0.3 mg", Counts::AllButClinician)],
        );
        assert!(matches!(
            press(&mut l, at("0h"), basal),
            PcaDecision::Granted { .. }
        ));
        assert!(matches!(
            press(&mut l, at("10min"), basal),
            PcaDecision::Granted { .. }
        ));
        // Recorded: 0.2 mg. A third 0.1 mg would reach 0.3 now and the basal would add to it.
        let d = press(&mut l, at("20min"), basal);
        let PcaDecision::Denied {
            denial: Denial::Cap { .. },
            available_at: Some(t),
        } = d
        else {
            panic!("{d:?}")
        };
        // The first bolus leaves the window at 4h.
        assert_eq!(t, at("4h"));
    }

    #[test]
    fn clinician_boluses_count_toward_the_library_cap_only() {
        let mut l = ledger(
            "0.1 mg",
            "10min",
            6,
            &[
                ("4h", "0.3 mg", Counts::AllButClinician),
                ("24h", "1 mg", Counts::All),
            ],
        );
        l.authorize(
            at("0h"),
            mg("0.8 mg"),
            Source::ClinicianBolus,
            AmountRate::ZERO,
        )
        .unwrap();
        l.record(at("0h"), mg("0.8 mg"), Source::ClinicianBolus)
            .unwrap();
        l.release_pending();
        assert_eq!(
            l.in_window(at("1h"), "4h".parse().unwrap(), Counts::AllButClinician),
            Amount::ZERO
        );
        assert_eq!(
            l.in_window(at("1h"), "4h".parse().unwrap(), Counts::All),
            mg("0.8 mg")
        );
        // The lockout started with the clinician bolus.
        assert!(matches!(
            press(&mut l, at("5min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::Lockout { .. },
                ..
            }
        ));
        assert!(matches!(
            press(&mut l, at("10min"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        assert!(matches!(
            press(&mut l, at("20min"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        // 0.8 + 0.2 = 1 mg: the library's 24 h cap is reached though the program's is not.
        let d = press(&mut l, at("30min"), AmountRate::ZERO);
        let PcaDecision::Denied {
            denial: Denial::Cap { cap, .. },
            available_at,
        } = d
        else {
            panic!("{d:?}")
        };
        assert_eq!(cap.origin, CapOrigin::Library);
        assert_eq!(available_at, Some(at("24h")));
        assert_eq!(l.total(), mg("1 mg"));
        assert_eq!(l.total_from(Source::ClinicianBolus), mg("0.8 mg"));
        assert_eq!(l.total_from(Source::PatientBolus), mg("0.2 mg"));
    }

    #[test]
    fn basal_is_held_at_a_cap() {
        let mut l = ledger(
            "0.1 mg",
            "10min",
            6,
            &[("1h", "0.05 mg", Counts::AllButClinician)],
        );
        l.authorize(at("0h"), mg("0.04 mg"), Source::Basal, AmountRate::ZERO)
            .unwrap();
        l.record(at("1min"), mg("0.04 mg"), Source::Basal).unwrap();
        let e = l
            .authorize(at("2min"), mg("0.02 mg"), Source::Basal, AmountRate::ZERO)
            .unwrap_err();
        assert_eq!(
            e,
            Denial::Cap {
                cap: l.limits().caps[0],
                in_window: mg("0.04 mg"),
            }
        );
        assert!(
            l.authorize(
                at("1h 1min"),
                mg("0.02 mg"),
                Source::Basal,
                AmountRate::ZERO
            )
            .is_ok()
        );
    }

    #[test]
    fn a_bolus_in_progress_blocks_the_next_and_counts_meanwhile() {
        let mut l = ledger(
            "0.1 mg",
            "10min",
            6,
            &[("1h", "0.15 mg", Counts::AllButClinician)],
        );
        assert!(matches!(
            l.request_pca(at("0h"), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
        assert_eq!(l.pending(), mg("0.1 mg"));
        assert_eq!(
            l.request_pca(at("20min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::BolusInProgress,
                available_at: None
            }
        );
        assert_eq!(
            l.authorize(at("1min"), mg("0.06 mg"), Source::Basal, AmountRate::ZERO),
            Err(Denial::Cap {
                cap: l.limits().caps[0],
                in_window: mg("0.1 mg")
            })
        );
        // Interrupted after 0.03 mg: that is what counts.
        l.record(at("2min"), mg("0.03 mg"), Source::PatientBolus)
            .unwrap();
        assert_eq!(l.pending(), mg("0.07 mg"));
        l.release_pending();
        assert_eq!(l.total(), mg("0.03 mg"));
        assert!(
            l.authorize(at("3min"), mg("0.06 mg"), Source::Basal, AmountRate::ZERO)
                .is_ok()
        );
    }

    #[test]
    fn no_pca_in_the_program_is_a_denial_with_a_reason() {
        let mut l = DoseLedger::new(DoseLimits {
            pca: None,
            caps: vec![],
        });
        assert_eq!(
            l.request_pca(at("1h"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::NotPrescribed,
                available_at: None
            }
        );
    }

    #[test]
    fn records_must_come_in_time_order() {
        let mut l = ledger("0.1 mg", "10min", 6, &[]);
        l.record(at("2h"), mg("0.01 mg"), Source::Basal).unwrap();
        assert_eq!(
            l.record(at("1h"), mg("0.01 mg"), Source::Basal),
            Err(LedgerError::OutOfOrder {
                at: at("1h"),
                last: at("2h")
            })
        );
        assert_eq!(l.total(), mg("0.01 mg"));
    }

    #[test]
    fn old_records_are_pruned_but_still_counted() {
        let mut l = ledger("0.1 mg", "10min", 6, &[("4h", "10 mg", Counts::All)]);
        for minute in 0..(3 * 24 * 60) {
            l.record(
                Timestamp::from_ms(minute * 60_000),
                Amount::from_ng(100),
                Source::Basal,
            )
            .unwrap();
        }
        // A day kept (the longest window a change may set), not three.
        assert!(l.records.len() <= 24 * 60 + 1, "{}", l.records.len());
        assert_eq!(l.total(), Amount::from_ng(100 * 3 * 24 * 60));
        let now = Timestamp::from_ms((3 * 24 * 60 - 1) * 60_000);
        assert_eq!(
            l.in_window(now, "4h".parse().unwrap(), Counts::All),
            Amount::from_ng(100 * 240)
        );
    }

    #[test]
    fn new_limits_count_what_was_given_and_keep_the_lockout() {
        // Worked by hand: 0.05 mg boluses, lockout 1 h, 1 an hour, under 0.2 mg in 4 h. Boluses
        // at 0 h, 1 h and 2 h: 0.15 mg in the window. At 2 h 30 min the clinician changes the
        // patient bolus to 0.1 mg, lockout 30 min, 2 an hour, and the limit to 0.3 mg in 4 h.
        let mut l = ledger(
            "0.05 mg",
            "1h",
            1,
            &[("4h", "0.2 mg", Counts::AllButClinician)],
        );
        for h in ["0h", "1h", "2h"] {
            let PcaDecision::Granted { dose } = l.request_pca(at(h), AmountRate::ZERO) else {
                panic!("granted at {h}");
            };
            l.note_bolus_start(at(h));
            l.record(at(h), dose, Source::PatientBolus).unwrap();
            l.release_pending();
        }
        let mut limits = l.limits().clone();
        limits.pca = Some(PcaRules {
            dose: mg("0.1 mg"),
            lockout: "30min".parse().unwrap(),
            max_per_hour: 2,
        });
        limits.caps[0].max = mg("0.3 mg");
        l.set_limits(limits);
        // The windows were not emptied: 0.15 mg still in the last 4 h.
        assert_eq!(
            l.in_window(at("2h 30min"), "4h".parse().unwrap(), Counts::All),
            mg("0.15 mg")
        );
        // The new lockout runs from the last bolus (2 h): 30 min later a press is granted,
        // 0.1 mg, making 0.25 mg of 0.3 mg.
        assert_eq!(
            l.request_pca(at("2h 29min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::Lockout {
                    lockout: "30min".parse().unwrap()
                },
                available_at: Some(at("2h 30min")),
            }
        );
        assert_eq!(
            l.request_pca(at("2h 30min"), AmountRate::ZERO),
            PcaDecision::Granted { dose: mg("0.1 mg") }
        );
        l.note_bolus_start(at("2h 30min"));
        l.record(at("2h 30min"), mg("0.1 mg"), Source::PatientBolus)
            .unwrap();
        l.release_pending();
        // At 3 h 30 min the next 0.1 mg would make 0.35 mg in 4 h (the 0 h bolus still in it):
        // refused by the window; at 4 h 0 min 1 ms the 0 h bolus has left: 0.2 + 0.1 = 0.3 mg.
        assert!(matches!(
            l.request_pca(at("3h 30min"), AmountRate::ZERO),
            PcaDecision::Denied {
                denial: Denial::Cap { .. },
                ..
            }
        ));
        assert!(matches!(
            l.request_pca(at("4h") + Duration::from_ms(1), AmountRate::ZERO),
            PcaDecision::Granted { .. }
        ));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        #[derive(Debug, Clone)]
        struct Setup {
            basal_ng_day: u64,
            dose_ng: u64,
            lockout_min: u64,
            per_hour: u32,
            program_cap: Option<(u64, u64)>,
            library_cap: (u64, u64),
            presses: Vec<u64>,
            clinician: Vec<(u64, u64)>,
        }

        /// A random valid program: every cap at least holds the basal of one window and one
        /// bolus (what the program check demands), with presses over 14 days.
        fn setup() -> impl Strategy<Value = Setup> {
            (
                0u64..=2_000_000,
                10_000u64..=500_000,
                10u64..=240,
                1u32..=6,
                proptest::option::of((1u64..=24, 0u64..=3_000_000)),
                (1u64..=24, 0u64..=5_000_000),
                proptest::collection::vec(0u64..14 * 24 * 60, 0..200),
                proptest::collection::vec((0u64..14 * 24 * 60, 10_000u64..=500_000), 0..10),
            )
                .prop_map(
                    |(basal, dose, lockout, per_hour, pcap, lcap, mut presses, clinician)| {
                        presses.sort_unstable();
                        let fit = |hours: u64, extra: u64| {
                            AmountRate::from_ng_per_day(basal)
                                .over_ceil(Duration::from_hours(hours) + RECORD_INTERVAL)
                                .ng()
                                + dose
                                + extra
                        };
                        Setup {
                            basal_ng_day: basal,
                            dose_ng: dose,
                            lockout_min: lockout,
                            per_hour,
                            program_cap: pcap.map(|(h, extra)| (h, fit(h, extra))),
                            library_cap: (lcap.0, fit(lcap.0, lcap.1) + 500_000),
                            presses,
                            clinician,
                        }
                    },
                )
        }

        fn build(s: &Setup) -> DoseLedger {
            let mut caps = vec![Cap {
                window: Duration::from_hours(s.library_cap.0),
                max: Amount::from_ng(s.library_cap.1),
                counts: Counts::All,
                origin: CapOrigin::Library,
            }];
            if let Some((h, max)) = s.program_cap {
                caps.push(Cap {
                    window: Duration::from_hours(h),
                    max: Amount::from_ng(max),
                    counts: Counts::AllButClinician,
                    origin: CapOrigin::Program,
                });
            }
            DoseLedger::new(DoseLimits {
                pca: Some(PcaRules {
                    dose: Amount::from_ng(s.dose_ng),
                    lockout: Duration::from_mins(s.lockout_min),
                    max_per_hour: s.per_hour,
                }),
                caps,
            })
        }

        const TICK: u64 = RECORD_INTERVAL.ms();

        /// Delivers the basal in pieces of up to 5 minutes, up to exactly `until` (everything
        /// delivered before a decision is recorded before it), each piece rounded down so that
        /// none exceeds the rate, and each checked before it is given. Returns how often the
        /// basal was held.
        fn basal_until(l: &mut DoseLedger, clock: &mut u64, until: u64, rate: AmountRate) -> u32 {
            let mut held = 0;
            while *clock < until {
                let step = TICK.min(until - *clock);
                *clock += step;
                let now = Timestamp::from_ms(*clock);
                let piece = rate.over(Duration::from_ms(step));
                if l.authorize(now, piece, Source::Basal, rate).is_ok() {
                    l.record(now, piece, Source::Basal).unwrap();
                } else {
                    held += 1;
                }
            }
            held
        }

        fn caps_hold(l: &DoseLedger, now: Timestamp) -> Result<(), TestCaseError> {
            for cap in &l.limits().caps {
                let total = l.in_window(now, cap.window, cap.counts);
                prop_assert!(
                    total <= cap.max,
                    "{total} in {} over {} at {now}",
                    cap.window,
                    cap.max
                );
            }
            Ok(())
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

            #[test]
            fn no_limit_is_ever_exceeded_and_every_denial_is_honoured(s in setup()) {
                let rate = AmountRate::from_ng_per_day(s.basal_ng_day);
                let mut l = build(&s);
                let mut clock = 0u64;
                let mut grants: Vec<u64> = Vec::new();
                let mut held = 0;
                let mut events: Vec<(u64, Option<u64>)> =
                    s.presses.iter().map(|&m| (m * 60_000, None)).collect();
                events.extend(s.clinician.iter().map(|&(m, d)| (m * 60_000, Some(d))));
                events.sort_unstable();
                for (t_ms, clinician) in events {
                    held += basal_until(&mut l, &mut clock, t_ms, rate);
                    let now = Timestamp::from_ms(clock);
                    if let Some(dose) = clinician {
                        let dose = Amount::from_ng(dose);
                        if l.authorize(now, dose, Source::ClinicianBolus, rate).is_ok() {
                            l.record(now, dose, Source::ClinicianBolus).unwrap();
                        }
                        caps_hold(&l, now)?;
                        continue;
                    }
                    match l.request_pca(now, rate) {
                        PcaDecision::Granted { dose } => {
                            l.record(now, dose, Source::PatientBolus).unwrap();
                            grants.push(now.ms());
                        }
                        PcaDecision::Denied { denial, available_at } => {
                            prop_assert!(!denial.explain().is_empty());
                            match available_at {
                                Some(when) => {
                                    prop_assert!(when > now, "available at {when}, asked at {now}");
                                    // Honoured: with nothing but the basal in between, a press
                                    // then is granted.
                                    let mut probe = l.clone();
                                    let mut c = clock;
                                    basal_until(&mut probe, &mut c, when.ms(), rate);
                                    let d = probe.request_pca(when, rate);
                                    prop_assert!(
                                        matches!(d, PcaDecision::Granted { .. }),
                                        "denied at {now} ({denial:?}), told {when}, then {d:?}"
                                    );
                                }
                                None => prop_assert!(
                                    matches!(denial, Denial::Cap { .. } | Denial::BolusInProgress),
                                    "{denial:?} without a time"
                                ),
                            }
                        }
                    }
                    caps_hold(&l, now)?;
                }
                held += basal_until(&mut l, &mut clock, 14 * 24 * 3_600_000, rate);
                caps_hold(&l, Timestamp::from_ms(clock))?;
                // Lockout and hourly count, over the whole trial.
                for pair in grants.windows(2) {
                    prop_assert!(pair[1] - pair[0] >= s.lockout_min * 60_000);
                }
                for (i, &g) in grants.iter().enumerate() {
                    let in_hour = grants[..=i].iter().filter(|&&h| g - h < 3_600_000).count();
                    prop_assert!(in_hour <= s.per_hour as usize);
                }
                // Clinician boluses are checked against the library's cap only, so they may
                // hold the basal at the program's cap; patient boluses never do.
                if s.clinician.is_empty() {
                    prop_assert_eq!(held, 0, "the basal was held");
                }
            }
        }
    }
}
