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

use serde::Serialize;

use super::units::{Amount, AmountRate, Duration, Timestamp};

/// Where a delivered amount came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
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

    fn index(self) -> usize {
        self as usize
    }

    fn is_bolus(self) -> bool {
        matches!(
            self,
            Source::PatientBolus | Source::ScheduledBolus | Source::ClinicianBolus
        )
    }
}

/// Which deliveries a cap counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum CapOrigin {
    Program,
    Library,
}

/// A maximum over a rolling window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Cap {
    pub window: Duration,
    pub max: Amount,
    pub counts: Counts,
    pub origin: CapOrigin,
}

/// The patient-bolus rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PcaRules {
    pub dose: Amount,
    pub lockout: Duration,
    pub max_per_hour: u32,
}

/// Everything the ledger enforces.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DoseLimits {
    pub pca: Option<PcaRules>,
    pub caps: Vec<Cap>,
}

impl DoseLimits {
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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum Denial {
    /// The program has no patient bolus.
    NotPrescribed,
    /// A bolus is still being given.
    BolusInProgress,
    /// Too soon after the last bolus.
    Lockout { lockout: Duration },
    /// The hourly number of patient boluses is reached.
    HourlyCount { max_per_hour: u32 },
    /// The dose would (now or later in the window) exceed a cap.
    Cap { cap: Cap, in_window: Amount },
}

impl Denial {
    /// A sentence for the patient and the nurse.
    pub fn explain(&self) -> String {
        match self {
            Denial::NotPrescribed => "Patient boluses are not part of this program.".to_owned(),
            Denial::BolusInProgress => "A bolus is being given now.".to_owned(),
            Denial::Lockout { lockout } => {
                format!("Too soon: at least {lockout} must pass between boluses.")
            }
            Denial::HourlyCount { max_per_hour } => {
                format!("The most boluses allowed in an hour ({max_per_hour}) have been given.")
            }
            Denial::Cap { cap, in_window } => format!(
                "The {} limit of {} in {} would be exceeded ({} given in the last {}).",
                match cap.origin {
                    CapOrigin::Program => "program's",
                    CapOrigin::Library => "drug library's",
                },
                cap.max,
                cap.window,
                in_window,
                cap.window
            ),
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
}

impl DoseLedger {
    pub fn new(limits: DoseLimits) -> DoseLedger {
        let horizon = limits
            .caps
            .iter()
            .map(|c| c.window)
            .max()
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_hours(1));
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
        }
    }

    pub fn limits(&self) -> &DoseLimits {
        &self.limits
    }

    /// Replaces the limits (a program change); what was delivered stays counted.
    pub fn set_limits(&mut self, limits: DoseLimits) {
        self.horizon = self.horizon.max(
            limits
                .caps
                .iter()
                .map(|c| c.window)
                .max()
                .unwrap_or(Duration::ZERO),
        );
        self.limits = limits;
    }

    /// Everything delivered since the ledger started.
    pub fn total(&self) -> Amount {
        Amount::from_ng(self.cum_all())
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
        Amount::from_ng(self.known_since(now.saturating_back(window), counts))
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

    /// Releases what is left of a reserved bolus (it ended, or was stopped, short of its dose).
    pub fn release_pending(&mut self) {
        self.pending = Amount::ZERO;
        self.pending_counts_in_program_cap = true;
    }

    /// A patient presses the bolus button. `basal_upper` is the highest dose rate the basal (and
    /// KVO) can run at over the next window (see [`super::program::Program::max_rate_between`]).
    /// A grant reserves the dose and starts the lockout.
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

    fn pending_for(&self, cap: &Cap) -> Amount {
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

    /// Recorded deliveries after `start`.
    fn known_since(&self, start: Timestamp, counts: Counts) -> u64 {
        let first = self.records.partition_point(|r| r.at <= start);
        self.cum_end(counts) - self.cum_before(first, counts)
    }

    /// The most a window containing a bolus given at `t` (≥ now) could hold besides the bolus:
    /// the maximum over `s ∈ [t, t + W)` of what is recorded in `(s − W, now]` plus the basal
    /// that can run in `(now, s]` (at most one window's worth, rounded up). Stops early once it
    /// passes `budget`, since then the answer is "does not fit" whatever the exact worst is.
    fn worst_window(
        &self,
        now: Timestamp,
        t: Timestamp,
        cap: &Cap,
        basal_upper: AmountRate,
        budget: u64,
    ) -> u64 {
        let w = cap.window;
        let basal = |s: Timestamp| basal_upper.over_ceil(s.since(now).min(w)).ng();
        let first = self
            .records
            .partition_point(|r| r.at <= t.saturating_back(w));
        let end = self.cum_end(cap.counts);
        let known_at_t = end - self.cum_before(first, cap.counts);
        // Cheap bound first: the recorded part only shrinks after t, the basal part is at most
        // one window's worth. Most requests far from a cap stop here.
        let bound = known_at_t + basal_upper.over_ceil(w).ng();
        if bound <= budget {
            return bound;
        }
        let last_s = Timestamp::from_ms((t + w).ms().saturating_sub(1));
        let mut worst = (known_at_t + basal(t)).max(basal(last_s));
        // Just before each record leaves the window (at its time + W) it still counts, and the
        // basal has run longest; the maximum is at one of those moments.
        for i in first..self.records.len() {
            if worst > budget {
                break;
            }
            let leaves = self.records[i].at + w;
            let s = Timestamp::from_ms(leaves.min(t + w).ms().saturating_sub(1));
            worst = worst.max(end - self.cum_before(i, cap.counts) + basal(s));
            if leaves >= t + w {
                break;
            }
        }
        worst
    }

    /// The first cap the dose does not fit under if given at `t`, with the worst window.
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
            let Some(budget) = cap.max.ng().checked_sub(used) else {
                return true;
            };
            self.worst_window(now, t, cap, basal_upper, budget) > budget
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
        let mut t = now;
        // Each rule's earliest time only moves later as `t` does, so this reaches a fixed point;
        // the bound on rounds is a guard, not a expectation.
        for _ in 0..64 {
            let mut next = t;
            if let Some(last) = self.last_bolus_at {
                next = next.max(last + pca.lockout);
            }
            next = next.max(self.hourly_free_at(next, pca));
            next = self.cap_free_at(now, next, pca.dose, basal_upper)?;
            if next == t {
                return Some(t);
            }
            t = next;
        }
        None
    }

    /// The first moment ≥ t at which fewer than `max_per_hour` grants lie in the past hour.
    fn hourly_free_at(&self, t: Timestamp, pca: PcaRules) -> Timestamp {
        let max = pca.max_per_hour as usize;
        let in_hour: Vec<Timestamp> = self
            .pca_grants
            .iter()
            .copied()
            .filter(|&g| t.since(g) < Duration::from_hours(1))
            .collect();
        if in_hour.len() < max || max == 0 {
            return t;
        }
        // Grants are in time order; the oldest that must leave the hour for one more to fit.
        in_hour[in_hour.len() - max] + Duration::from_hours(1)
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
        if self
            .cap_exceeded(now, t, dose, Source::PatientBolus, basal_upper)
            .is_none()
        {
            return Some(t);
        }
        // The worst window only changes when a record leaves; try each such moment in order,
        // then the moment all known records have left.
        let longest = self
            .limits
            .caps
            .iter()
            .map(|c| c.window)
            .max()
            .unwrap_or(Duration::ZERO);
        let mut candidates: Vec<Timestamp> = Vec::new();
        for cap in &self.limits.caps {
            candidates.extend(
                self.records
                    .iter()
                    .map(|r| r.at + cap.window)
                    .filter(|&c| c > t),
            );
        }
        candidates.push(now + longest);
        candidates.sort_unstable();
        candidates.dedup();
        candidates.into_iter().filter(|&c| c >= t).find(|&c| {
            self.cap_exceeded(now, c, dose, Source::PatientBolus, basal_upper)
                .is_none()
        })
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

    /// Drops records no window can reach any more; their amounts stay in the totals.
    fn prune(&mut self, now: Timestamp) {
        let start = now.saturating_back(self.horizon);
        while let Some(first) = self.records.front().copied() {
            if first.at > start {
                break;
            }
            self.base_all = first.cum_all;
            self.base_capped = first.cum_capped;
            self.records.pop_front();
        }
    }
}
