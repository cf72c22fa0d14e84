//! ACM PCD-04 (`ORU^R40^ORU_R40`): one report for each phase of each alarm, as TF Vol. 2 §3.4
//! and table B.8.5-2 lay it out: the alarm's event, then its source, phase, state, inactivation
//! state, priority and type, seven facets of one device level (`1.1.1.0.1` … `.7`), each with
//! result status `F`. At most one alarm per message (TF Vol. 2 §3.4.4.1.2).

use super::{
    Device, DeviceError, Kind, LOCAL_SYSTEM, Observation, Term, dtm, escape, header, mdc, message,
    obr, segment,
};
use crate::core::supervisor::{AlarmKind, Priority};

/// Where an alarm is in its life, as the pump reports it (TF Vol. 2 table B.8.5-2's phases).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Raised.
    Start,
    /// Still present, something about it changed: acknowledged, its cause gone while it stays
    /// latched, its tone paused.
    Update,
    /// Raised to a higher priority.
    Escalate,
    /// Gone: its cause went and (if it latches) someone acknowledged it.
    End,
}

impl Phase {
    fn value(self) -> &'static str {
        match self {
            Phase::Start => "start",
            Phase::Update => "update",
            Phase::Escalate => "escalate",
            Phase::End => "end",
        }
    }
}

/// The alarm's state (MDC_ATTR_ALARM_STATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlarmState {
    /// Its cause is present.
    Active,
    /// Its cause went; it is shown until acknowledged.
    Latched,
    Inactive,
}

/// What people did to it (MDC_ATTR_ALARM_INACTIVATION_STATE).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Inactivation {
    Enabled,
    /// Its tone paused ("silence").
    AudioPaused,
    Acknowledged,
}

/// One report of an alarm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlarmReport {
    pub kind: AlarmKind,
    pub priority: Priority,
    pub phase: Phase,
    pub state: AlarmState,
    pub inactivation: Inactivation,
    /// The alarm's identity across its reports (OBR-29): its kind and when it was raised
    /// ("occlusion-1796481000000", ms since 1970), the same after a restart of the pump.
    pub identity: String,
}

/// The device level an alarm is reported at: the delivery channel for what happens on the
/// line and the syringe, the pump (MDS) for the rest.
fn source(kind: AlarmKind) -> (Term, &'static str) {
    match kind {
        AlarmKind::Occlusion
        | AlarmKind::ReservoirLow
        | AlarmKind::ReservoirEmpty
        | AlarmKind::ReservoirMissing
        | AlarmKind::MotorStall
        | AlarmKind::SensorFault
        | AlarmKind::DoseLimit => (mdc::CHANNEL_DELIVERY, "1.1.1.0"),
        AlarmKind::Observation
        | AlarmKind::PausedTooLong
        | AlarmKind::PowerRestored
        | AlarmKind::LogFailure
        | AlarmKind::Sedation
        | AlarmKind::ObservationMissed
        | AlarmKind::StuckButton
        | AlarmKind::SiteCheckMissed
        | AlarmKind::PossibleInfection
        | AlarmKind::LoginLocked
        | AlarmKind::LogCheckFailed
        | AlarmKind::LibraryChanged
        | AlarmKind::StorageLow
        | AlarmKind::StorageFull
        | AlarmKind::OutboxBacklog => (mdc::PUMP_MDS, "1.0.0.0"),
    }
}

/// The alarm's 11073 event where one fits (occlusion, reservoir empty and low); the others are
/// reported as the generic alarm with the pump's own code beside it (its name in the trial
/// log, in the local system [`LOCAL_SYSTEM`]).
fn event(kind: AlarmKind) -> (Option<Term>, &'static str) {
    let code = match kind {
        AlarmKind::Occlusion => Some(mdc::EVT_FLUID_LINE_OCCL),
        AlarmKind::ReservoirEmpty => Some(mdc::EVT_EMPTY),
        AlarmKind::ReservoirLow => Some(mdc::EVT_LO),
        _ => None,
    };
    let local = match kind {
        AlarmKind::Occlusion => "occlusion",
        AlarmKind::ReservoirLow => "reservoir_low",
        AlarmKind::ReservoirEmpty => "reservoir_empty",
        AlarmKind::ReservoirMissing => "reservoir_missing",
        AlarmKind::MotorStall => "motor_stall",
        AlarmKind::SensorFault => "sensor_fault",
        AlarmKind::DoseLimit => "dose_limit",
        AlarmKind::Observation => "observation",
        AlarmKind::PausedTooLong => "paused_too_long",
        AlarmKind::PowerRestored => "power_restored",
        AlarmKind::LogFailure => "log_failure",
        AlarmKind::Sedation => "sedation",
        AlarmKind::ObservationMissed => "observation_missed",
        AlarmKind::StuckButton => "stuck_button",
        AlarmKind::SiteCheckMissed => "site_check_missed",
        AlarmKind::PossibleInfection => "possible_infection",
        AlarmKind::LoginLocked => "login_locked",
        AlarmKind::LogCheckFailed => "log_check_failed",
        AlarmKind::LibraryChanged => "library_changed",
        AlarmKind::StorageLow => "storage_low",
        AlarmKind::StorageFull => "storage_full",
        AlarmKind::OutboxBacklog => "outbox_backlog",
    };
    (code, local)
}

/// The pump's own code of an alarm (its name in the trial log).
pub(super) fn local_code(kind: AlarmKind) -> &'static str {
    event(kind).1
}

/// Physiological (SP: the patient's sedation, a possible infection), advisory (SA: reminders
/// and information) or technical (ST: the pump), TF Vol. 2 table B.8.5-2.
fn alert_type(kind: AlarmKind) -> &'static str {
    match kind {
        AlarmKind::Sedation | AlarmKind::PossibleInfection => "SP",
        AlarmKind::Observation
        | AlarmKind::ObservationMissed
        | AlarmKind::SiteCheckMissed
        | AlarmKind::PausedTooLong => "SA",
        _ => "ST",
    }
}

fn priority(p: Priority) -> &'static str {
    match p {
        Priority::Info => "PN",
        Priority::Low => "PL",
        Priority::Medium => "PM",
        Priority::High => "PH",
    }
}

/// The alarm's name in English, capitalised: "Reservoir low" (the messages are data, in
/// English as the trial log is).
fn name(kind: AlarmKind) -> String {
    let words = crate::engine::in_english(|| crate::report::words::alarm(kind));
    let mut chars = words.chars();
    chars.next().map_or_else(String::new, |c| {
        c.to_uppercase().chain(chars).collect::<String>()
    })
}

/// The ACM PCD-04 message of one report of an alarm: MSH, PID, PV1, OBR (the generic alarm
/// event MDC_EVT_ALARM, OBR-29 the alarm's identity), then the seven facets.
pub fn pcd_04(device: &Device, o: &Observation, a: &AlarmReport) -> Result<String, DeviceError> {
    device.check()?;
    let eui = device.eui();
    let mut segments = header(device, Kind::Acm, o);
    segments.push(obr(device, o, &mdc::EVT_ALARM.coded(), Some(&a.identity)));
    let (source, level) = source(a.kind);
    let text = escape(&name(a.kind));
    let event = match event(a.kind) {
        (Some(term), _) => format!("{}^^^^^^{text}", term.coded()),
        (None, local) => format!(
            "{}^{local}^{text}^{LOCAL_SYSTEM}^^^{text}",
            mdc::EVT_ALARM.coded()
        ),
    };
    let state = match a.state {
        AlarmState::Active => "active",
        AlarmState::Latched => "latched",
        AlarmState::Inactive => "inactive",
    };
    let inactivation = match a.inactivation {
        Inactivation::Enabled => "enabled",
        Inactivation::AudioPaused => "audio-paused",
        Inactivation::Acknowledged => "alert-acknowledged",
    };
    let facets: [(&str, Term, String); 7] = [
        ("CWE", mdc::EVT_ALARM, event),
        ("CWE", mdc::ATTR_ALERT_SOURCE, source.coded()),
        ("ST", mdc::ATTR_EVENT_PHASE, a.phase.value().to_owned()),
        ("ST", mdc::ATTR_ALARM_STATE, state.to_owned()),
        (
            "ST",
            mdc::ATTR_ALARM_INACTIVATION_STATE,
            inactivation.to_owned(),
        ),
        (
            "ST",
            mdc::ATTR_ALARM_PRIORITY,
            priority(a.priority).to_owned(),
        ),
        ("ST", mdc::ATTR_ALERT_TYPE, alert_type(a.kind).to_owned()),
    ];
    for (n, (kind, term, value)) in facets.into_iter().enumerate() {
        let mut fields = vec![
            (1, (n + 1).to_string()),
            (2, kind.to_owned()),
            (3, term.coded()),
            (4, format!("{level}.{}", n + 1)),
            (5, value),
            (11, "F".to_owned()),
        ];
        if n == 0 {
            fields.push((14, dtm(o.unix_ms)));
            fields.push((18, format!("{eui}^^{eui}^EUI-64")));
        }
        segments.push(segment("OBX", &fields));
    }
    Ok(message(&segments))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{device, observation};
    use super::*;

    /// An occlusion raised, HIGH, worked by hand from TF Vol. 2 §3.4 and its B. Braun example:
    /// the channel's facets 1.1.1.0.1 … .7, the event 196940 with its text, the source the
    /// delivery channel, OBR-29 the alarm's identity (its kind and when it was raised).
    #[test]
    fn an_occlusion_raised_is_the_message_worked_by_hand() {
        let report = AlarmReport {
            kind: AlarmKind::Occlusion,
            priority: Priority::High,
            phase: Phase::Start,
            state: AlarmState::Active,
            inactivation: Inactivation::Enabled,
            identity: "occlusion-1796481000000".to_owned(),
        };
        let expected = [
            "MSH|^~\\&|TITRA^0012A3FFFE4B5C6D^EUI-64|Ward 7|||20261205143000+0000||ORU^R40^ORU_R40|42|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.4.1^ISO",
            "PID|||MRN-00042^^^Ward 7^MR||^^^^^^U",
            "PV1||U",
            "OBR|1|42^TITRA|42^TITRA^0012A3FFFE4B5C6D^EUI-64|196616^MDC_EVT_ALARM^MDC|||20261205143000+0000||||||||||||||||||||||^occlusion-1796481000000&TITRA&0012A3FFFE4B5C6D&EUI-64",
            "OBX|1|CWE|196616^MDC_EVT_ALARM^MDC|1.1.1.0.1|196940^MDC_EVT_FLUID_LINE_OCCL^MDC^^^^^^Occlusion||||||F|||20261205143000+0000||||0012A3FFFE4B5C6D^^0012A3FFFE4B5C6D^EUI-64",
            "OBX|2|CWE|68480^MDC_ATTR_ALERT_SOURCE^MDC|1.1.1.0.2|126978^MDC_DEV_PUMP_INFUS_CHAN_DELIVERY^MDC||||||F",
            "OBX|3|ST|68481^MDC_ATTR_EVENT_PHASE^MDC|1.1.1.0.3|start||||||F",
            "OBX|4|ST|68482^MDC_ATTR_ALARM_STATE^MDC|1.1.1.0.4|active||||||F",
            "OBX|5|ST|68483^MDC_ATTR_ALARM_INACTIVATION_STATE^MDC|1.1.1.0.5|enabled||||||F",
            "OBX|6|ST|68484^MDC_ATTR_ALARM_PRIORITY^MDC|1.1.1.0.6|PH||||||F",
            "OBX|7|ST|68485^MDC_ATTR_ALERT_TYPE^MDC|1.1.1.0.7|ST||||||F",
        ];
        let message = pcd_04(&device(), &observation(), &report).unwrap();
        let segments: Vec<&str> = message.split_terminator('\r').collect();
        assert_eq!(segments, expected);
    }

    /// An alarm 11073 has no term for: the generic alarm with the pump's own code beside it,
    /// at the pump's level; its end names the first report, latched state and priority words.
    #[test]
    fn an_alarm_without_a_term_is_the_generic_one_with_the_pumps_code() {
        let report = AlarmReport {
            kind: AlarmKind::Sedation,
            priority: Priority::High,
            phase: Phase::End,
            state: AlarmState::Inactive,
            inactivation: Inactivation::Acknowledged,
            identity: "sedation-1796481000000".to_owned(),
        };
        let message = pcd_04(&device(), &observation(), &report).unwrap();
        assert!(
            message.contains(
                "|1.0.0.0.1|196616^MDC_EVT_ALARM^MDC^sedation^Sedation^99TTR^^^Sedation|"
            )
        );
        assert!(message.contains("|1.0.0.0.2|69985^MDC_DEV_PUMP_INFUS_MDS^MDC|"));
        assert!(message.contains("|1.0.0.0.3|end|"));
        assert!(message.contains("|1.0.0.0.4|inactive|"));
        assert!(message.contains("|1.0.0.0.5|alert-acknowledged|"));
        assert!(message.contains("|1.0.0.0.7|SP|"));
        assert!(message.contains("|^sedation-1796481000000&TITRA&"));
    }

    /// Every alarm has its own code, and the priorities their letters.
    #[test]
    fn every_alarm_has_a_code_of_its_own() {
        let mut seen = std::collections::HashSet::new();
        for kind in AlarmKind::ALL {
            let (_, local) = event(kind);
            assert!(seen.insert(local), "{local} twice");
            assert!(local.chars().all(|c| c.is_ascii_lowercase() || c == '_'));
        }
        assert_eq!(
            [
                Priority::Info,
                Priority::Low,
                Priority::Medium,
                Priority::High
            ]
            .map(priority),
            ["PN", "PL", "PM", "PH"]
        );
    }
}
