//! What every fuzz target that runs the pump checks at the end: every rolling window of the
//! delivery within the library's hard caps, and no delivery after a HIGH alarm before a resume.

use titra::core::units::{Amount, Duration, Timestamp};
use titra::journal::Record;

pub fn check_journal(journal: &[Record], caps: &[titra::core::library::WindowGuard]) {
    use titra::core::supervisor::{Priority, State};
    let mut pieces: Vec<(Timestamp, Amount)> = Vec::new();
    let mut high_since: Option<Timestamp> = None;
    for r in journal {
        match r {
            Record::AlarmRaised { at, priority, .. } if *priority == Priority::High => {
                high_since = high_since.or(Some(*at));
            }
            Record::StateChanged { to, .. } if *to == State::Running => high_since = None,
            Record::Delivery { at, amount, .. } | Record::UncertainDelivery { at, amount, .. } => {
                if let Some(h) = high_since {
                    // The piece an alarm cut short is recorded at the alarm's own time.
                    assert!(*at <= h, "delivery at {at} after a HIGH alarm at {h}");
                }
                pieces.push((*at, *amount));
            }
            _ => {}
        }
    }
    // Each piece covers up to a minute before its time: windows one minute shorter than a cap's
    // are within it whatever the pieces' edges.
    for cap in caps {
        let max = cap.hard_max;
        let span = cap.window.saturating_sub(Duration::from_mins(1));
        let mut start = 0;
        let mut sum = Amount::ZERO;
        for &(at, amount) in &pieces {
            sum += amount;
            while pieces[start].0 + span < at {
                sum = sum.saturating_sub(pieces[start].1);
                start += 1;
            }
            assert!(
                sum <= max,
                "{sum} delivered in {span} up to {at}, over the hard cap of {max} in {}",
                cap.window
            );
        }
    }
}
