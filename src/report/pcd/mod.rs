//! IHE PCD device messages, HL7 v2.6 in ER7 (issue 23), as the IHE PCD Technical Framework
//! (Rev. 8.0, 2018: Vol. 2 §3.1, §3.4 and appendix B; Vol. 3 §7.1, the infusion pump) and its
//! IPEC supplement (Rev. 1.5, 2015; folded into TF-2 Rev. 10) lay them out:
//! - DEC PCD-01 (`ORU^R01`): the pump's periodic observations ([`pcd_01`]);
//! - ACM PCD-04 (`ORU^R40`): each phase of each alarm ([`acm::pcd_04`]);
//! - IPEC PCD-10 (`ORU^R42`): delivery started, stopped, completed, rate changes and boluses
//!   ([`ipec::pcd_10`]).
//!
//! Pure: a snapshot of the pump in, the message's text out. Every IEEE 11073-10101 term used is
//! in [`mdc`], with where it was read, and in docs/integration-codes.md. [`Reporter`] follows a
//! trial's records as they are written (or replays a log) and says which messages they make.

mod acm;
mod ipec;
mod reporter;

pub use acm::{AlarmReport, Phase, pcd_04};
pub use ipec::{Event, EventCode, pcd_10};
pub use reporter::{Kind, Outgoing, Reporter};

use crate::core::supervisor::State;
use crate::core::units::{Concentration, MassUnit, Volume, VolumeRate};

/// A term of IEEE 11073-10101 (the nomenclature of ISO/IEEE 11073): its code, as
/// partition × 65536 + code in partition, and its reference id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Term {
    pub code: u32,
    pub refid: &'static str,
}

impl Term {
    /// As a coded element of HL7: `code^REFID^MDC`.
    fn coded(self) -> String {
        format!("{}^{}^MDC", self.code, self.refid)
    }
}

/// The terms the messages use. "Seen": the code is printed in the IHE PCD TF's text or its
/// example messages; "derived": computed from the partition and code the TF's tables give.
pub mod mdc {
    use super::Term;

    /// The infusion pump as a whole (MDS). Seen: TF Vol. 3 §7.1.1 (1::4449), TF Vol. 2 app. E.
    pub const PUMP_MDS: Term = Term {
        code: 69_985,
        refid: "MDC_DEV_PUMP_INFUS_MDS",
    };
    /// Its virtual medical device (VMD). Seen: TF Vol. 3 §7.1.1 (1::4450).
    pub const PUMP_VMD: Term = Term {
        code: 69_986,
        refid: "MDC_DEV_PUMP_INFUS_VMD",
    };
    /// The delivery channel. Derived: TF Vol. 3 §7.1 (1::61442).
    pub const CHANNEL_DELIVERY: Term = Term {
        code: 126_978,
        refid: "MDC_DEV_PUMP_INFUS_CHAN_DELIVERY",
    };
    /// The pump's status (`pump-status-infusing`, `-paused`, `-standby`). Derived: TF Vol. 3
    /// §7.1 (2::53436).
    pub const PUMP_STAT: Term = Term {
        code: 184_508,
        refid: "MDC_PUMP_STAT",
    };
    /// The drug's name. Seen: IPEC supplement rev. 1.5, its delivery-start example.
    pub const DRUG_NAME: Term = Term {
        code: 184_514,
        refid: "MDC_DRUG_NAME_LABEL",
    };
    /// The drug's concentration. Seen: IPEC example.
    pub const CONCENTRATION: Term = Term {
        code: 157_760,
        refid: "MDC_CONC_DRUG",
    };
    /// The programmed rate of the fluid. Seen: TF Vol. 3 §7.1 (2::26712), IPEC example.
    pub const RATE: Term = Term {
        code: 157_784,
        refid: "MDC_FLOW_FLUID_PUMP",
    };
    /// The volume delivered in all. Seen: IPEC example.
    pub const DELIVERED: Term = Term {
        code: 157_993,
        refid: "MDC_VOL_FLUID_DELIV_TOTAL",
    };
    /// mL. Seen: TF Vol. 2, IPEC example.
    pub const MILLI_L: Term = Term {
        code: 263_762,
        refid: "MDC_DIM_MILLI_L",
    };
    /// mL/h. Seen: IPEC example.
    pub const MILLI_L_PER_HR: Term = Term {
        code: 265_266,
        refid: "MDC_DIM_MILLI_L_PER_HR",
    };
    /// mg/mL. Seen: IPEC example.
    pub const MILLI_G_PER_ML: Term = Term {
        code: 264_306,
        refid: "MDC_DIM_MILLI_G_PER_ML",
    };
    /// µg/mL. Derived: mg/mL's base with the micro prefix (+19 for +18, ISO/IEEE 11073-10101
    /// table A.6.3).
    pub const MICRO_G_PER_ML: Term = Term {
        code: 264_307,
        refid: "MDC_DIM_MICRO_G_PER_ML",
    };

    /// An alarm (the event of an ACM report; also the generic event of an alarm 11073 has no
    /// term for). Seen: TF Vol. 2 §3.4 and its examples, TF Vol. 3 table 3.2-1 (3::8).
    pub const EVT_ALARM: Term = Term {
        code: 196_616,
        refid: "MDC_EVT_ALARM",
    };
    /// The fluid line is occluded. Seen: TF Vol. 2 appendix E, the infusion pump's occlusion
    /// alarm.
    pub const EVT_FLUID_LINE_OCCL: Term = Term {
        code: 196_940,
        refid: "MDC_EVT_FLUID_LINE_OCCL",
    };
    /// Empty (the reservoir). Derived: TF Vol. 3 table 3.2-1 (3::26).
    pub const EVT_EMPTY: Term = Term {
        code: 196_634,
        refid: "MDC_EVT_EMPTY",
    };
    /// Low (the reservoir). Derived: TF Vol. 3 table 3.2-1 (3::62); seen in a TF Vol. 2 example.
    pub const EVT_LO: Term = Term {
        code: 196_670,
        refid: "MDC_EVT_LO",
    };
    /// The ACM report's facets: source, phase, state, inactivation state, priority, type.
    /// Seen: TF Vol. 2 table B.8.5-1.
    pub const ATTR_ALERT_SOURCE: Term = Term {
        code: 68_480,
        refid: "MDC_ATTR_ALERT_SOURCE",
    };
    pub const ATTR_EVENT_PHASE: Term = Term {
        code: 68_481,
        refid: "MDC_ATTR_EVENT_PHASE",
    };
    pub const ATTR_ALARM_STATE: Term = Term {
        code: 68_482,
        refid: "MDC_ATTR_ALARM_STATE",
    };
    pub const ATTR_ALARM_INACTIVATION_STATE: Term = Term {
        code: 68_483,
        refid: "MDC_ATTR_ALARM_INACTIVATION_STATE",
    };
    pub const ATTR_ALARM_PRIORITY: Term = Term {
        code: 68_484,
        refid: "MDC_ATTR_ALARM_PRIORITY",
    };
    pub const ATTR_ALERT_TYPE: Term = Term {
        code: 68_485,
        refid: "MDC_ATTR_ALERT_TYPE",
    };
    /// The IPEC event, and the device level it happened at. Seen: TF-2 Rev. 10 (draft, 2022),
    /// its IPEC example.
    pub const ATTR_EVT_COND: Term = Term {
        code: 68_487,
        refid: "MDC_ATTR_EVT_COND",
    };
    pub const ATTR_EVT_SOURCE: Term = Term {
        code: 68_488,
        refid: "MDC_ATTR_EVT_SOURCE",
    };
    /// Delivery started. Seen: IPEC supplement's example (and TF-2 Rev. 10's).
    pub const EVT_PUMP_DELIV_START: Term = Term {
        code: 197_288,
        refid: "MDC_EVT_PUMP_DELIV_START",
    };
    /// Delivery stopped, and completed. The IPEC supplement's table X.1.2-1 names them as
    /// required events, but no IHE text read gives their numbers: sent with the code 0, as the
    /// IPEC supplement (Rev. 1.5) prints the codes whose assignment is pending, so that an
    /// engine reads them by their reference id.
    pub const EVT_PUMP_DELIV_STOP: Term = Term {
        code: 0,
        refid: "MDC_EVT_PUMP_DELIV_STOP",
    };
    pub const EVT_PUMP_DELIV_COMP: Term = Term {
        code: 0,
        refid: "MDC_EVT_PUMP_DELIV_COMP",
    };

    /// Every term, for the table in docs/integration-codes.md.
    pub const ALL: [Term; 27] = [
        PUMP_MDS,
        PUMP_VMD,
        CHANNEL_DELIVERY,
        PUMP_STAT,
        DRUG_NAME,
        CONCENTRATION,
        RATE,
        DELIVERED,
        MILLI_L,
        MILLI_L_PER_HR,
        MILLI_G_PER_ML,
        MICRO_G_PER_ML,
        EVT_ALARM,
        EVT_FLUID_LINE_OCCL,
        EVT_EMPTY,
        EVT_LO,
        ATTR_ALERT_SOURCE,
        ATTR_EVENT_PHASE,
        ATTR_ALARM_STATE,
        ATTR_ALARM_INACTIVATION_STATE,
        ATTR_ALARM_PRIORITY,
        ATTR_ALERT_TYPE,
        ATTR_EVT_COND,
        ATTR_EVT_SOURCE,
        EVT_PUMP_DELIV_START,
        EVT_PUMP_DELIV_STOP,
        EVT_PUMP_DELIV_COMP,
    ];
}

/// The profile PCD-01 messages say they follow (MSH-21; TF Vol. 2 table of OIDs).
pub const PCD_01_PROFILE: &str = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO";
/// PCD-04's (TF Vol. 2 table of OIDs; the TF's own examples print another, .6.4.4.1: the table
/// is followed).
pub const PCD_04_PROFILE: &str = "IHE_PCD_ACM_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.4.1^ISO";
/// PCD-10's (IPEC supplement Rev. 1.5, X.1.1).
pub const PCD_10_PROFILE: &str = "IHE_PCD_010^IHE PCD^1.3.6.1.4.1.19376.1.6.4.10^ISO";
/// The coding system of the pump's own codes, where 11073 has none (HL7 table 0396: local
/// systems are named 99zzz).
pub const LOCAL_SYSTEM: &str = "99TTR";

/// The pump as the hospital's systems know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The sending application's name (MSH-3.1, at most 20 characters).
    pub application: String,
    /// The pump's EUI-64, 16 hexadecimal digits (MSH-3, OBR-3, OBX-18).
    pub eui64: String,
    /// The facility (MSH-4), and the authority of the patient's identifier (PID-3.4).
    pub facility: String,
    /// Simulated hardware: its messages are marked for debugging (MSH-11 `D`, HL7 table
    /// 0103), never as a patient's production data (`P`).
    pub simulated: bool,
}

/// What the pump is doing, for MDC_PUMP_STAT.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PumpStatus {
    Infusing,
    Paused,
    Standby,
}

impl PumpStatus {
    fn value(self) -> &'static str {
        match self {
            PumpStatus::Infusing => "pump-status-infusing",
            PumpStatus::Paused => "pump-status-paused",
            PumpStatus::Standby => "pump-status-standby",
        }
    }
}

/// A moment of a trial, as the periodic observation reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    /// The message's control id (MSH-10), unique for the pump.
    pub control_id: u64,
    /// When, ms since 1970-01-01 (UTC).
    pub unix_ms: u64,
    /// The patient's hospital identifier (medical record number).
    pub patient: String,
    pub status: PumpStatus,
    pub drug: String,
    pub concentration: Concentration,
    /// The unit the drug's doses are written in (the concentration's unit).
    pub unit: MassUnit,
    /// The rate the pump runs the basal at.
    pub rate: VolumeRate,
    /// Delivered since the trial started.
    pub delivered: Volume,
}

impl PumpStatus {
    /// What a state of the pump reports: delivering is infusing; paused by a nurse or stopped
    /// by an alarm is paused; before delivery and after the trial, standby.
    pub fn of(state: State) -> PumpStatus {
        match state {
            State::Running => PumpStatus::Infusing,
            State::Paused | State::Alarm => PumpStatus::Paused,
            State::Idle | State::Programmed | State::Verified | State::Priming | State::Ended => {
                PumpStatus::Standby
            }
        }
    }
}

/// A device's identifier is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    #[error("eui64: \"{0}\" is not 16 hexadecimal digits")]
    Eui64(String),
    #[error("application: \"{0}\" is longer than HL7's 20 characters or empty")]
    Application(String),
}

impl Device {
    /// The pump as the site's `[integration]` names it (the sending application is Titra).
    pub fn named(i: &crate::input::hardware::IntegrationConfig, simulated: bool) -> Device {
        Device {
            application: "TITRA".to_owned(),
            eui64: i.eui64.clone(),
            facility: i.facility.clone(),
            simulated,
        }
    }

    /// Checks the identifiers HL7 and IHE limit.
    pub fn check(&self) -> Result<(), DeviceError> {
        if self.eui64.len() != 16 || !self.eui64.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(DeviceError::Eui64(self.eui64.clone()));
        }
        let n = self.application.chars().count();
        if n == 0 || n > 20 {
            return Err(DeviceError::Application(self.application.clone()));
        }
        Ok(())
    }

    fn eui(&self) -> String {
        self.eui64.to_ascii_uppercase()
    }
}

/// Text made safe for an HL7 field (the separators and the escape itself escaped, HL7 v2.6
/// §2.7), with line breaks as spaces.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\E\\"),
            '|' => out.push_str("\\F\\"),
            '^' => out.push_str("\\S\\"),
            '&' => out.push_str("\\T\\"),
            '~' => out.push_str("\\R\\"),
            '\r' | '\n' => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// `num / den` in decimal, rounded half up to `places` places, without trailing zeros (the
/// FHIR Bundle writes its quantities with it too).
pub(crate) fn decimal_text(num: u128, den: u128, places: u32) -> String {
    decimal(num, den, places)
}

/// `num / den` in decimal, rounded half up to `places` places, without trailing zeros.
fn decimal(num: u128, den: u128, places: u32) -> String {
    let scale = 10u128.pow(places);
    let scaled = (num * scale + den / 2) / den;
    let (whole, frac) = (scaled / scale, scaled % scale);
    if frac == 0 {
        return whole.to_string();
    }
    let digits = format!("{frac:0width$}", width = places as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// HL7's date and time with its offset (DTM), in UTC: `20261205143000+0000`.
pub fn dtm(unix_ms: u64) -> String {
    let iso = crate::time::rfc3339(unix_ms);
    let digits: String = iso.chars().filter(char::is_ascii_digit).collect();
    format!("{digits}+0000")
}

/// A segment from its fields by number (1-based); those not given are empty.
fn segment(name: &str, fields: &[(usize, String)]) -> String {
    let last = fields.iter().map(|(n, _)| *n).max().unwrap_or(0);
    let mut all = vec![String::new(); last];
    for (n, value) in fields {
        if let Some(slot) = n.checked_sub(1).and_then(|i| all.get_mut(i)) {
            value.clone_into(slot);
        }
    }
    format!("{name}|{}", all.join("|"))
}

/// An OBX row: a device level (no value, result status X) or a metric.
fn obx(
    set_id: usize,
    term: Term,
    at: &str,
    value: Option<(&str, String, Option<Term>, &str)>,
) -> String {
    match value {
        None => segment(
            "OBX",
            &[
                (1, set_id.to_string()),
                (3, term.coded()),
                (4, at.to_owned()),
                (11, "X".to_owned()),
            ],
        ),
        Some((kind, v, unit, ucum)) => {
            let mut fields = vec![
                (1, set_id.to_string()),
                (2, kind.to_owned()),
                (3, term.coded()),
                (4, at.to_owned()),
                (5, v),
                (11, "R".to_owned()),
            ];
            if let Some(u) = unit {
                fields.push((6, format!("{}^{ucum}^{ucum}^UCUM", u.coded())));
            }
            segment("OBX", &fields)
        }
    }
}

/// The first segments of every message: MSH (the application with the pump's EUI-64, the
/// message type and the profile of `kind`, MSH-15/16 `AL`/`NE` as TF Vol. 2 B.1 has them for
/// PCD-01, -04 and -10), PID (the patient by the hospital's identifier only: the name is
/// "unspecified", name type U) and PV1 (patient class unknown, HL7 table 0004: a trial may be
/// in- or outpatient).
fn header(device: &Device, kind: Kind, o: &Observation) -> Vec<String> {
    let eui = device.eui();
    let msh = format!(
        "MSH|^~\\&|{app}^{eui}^EUI-64|{facility}|||{when}||{typ}|{control}|{processing}|2.6|||AL|NE||UNICODE UTF-8|||{profile}",
        app = escape(&device.application),
        facility = escape(&device.facility),
        when = dtm(o.unix_ms),
        typ = kind.message_type(),
        control = o.control_id,
        processing = if device.simulated { "D" } else { "P" },
        profile = kind.profile(),
    );
    let pid = segment(
        "PID",
        &[
            (
                3,
                format!("{}^^^{}^MR", escape(&o.patient), escape(&device.facility)),
            ),
            (5, "^^^^^^U".to_owned()),
        ],
    );
    let pv1 = segment("PV1", &[(2, "U".to_owned())]);
    vec![msh, pid, pv1]
}

/// The OBR of a message: its number as placer (OBR-2) and as filler with the pump's EUI-64
/// (OBR-3), the service (OBR-4), the time (OBR-7), and for an alarm the alarm's identity across
/// its reports (OBR-29).
fn obr(device: &Device, o: &Observation, service: &str, parent: Option<&str>) -> String {
    let app = escape(&device.application);
    let eui = device.eui();
    let control = o.control_id;
    let mut fields = vec![
        (1, "1".to_owned()),
        (2, format!("{control}^{app}")),
        (3, format!("{control}^{app}^{eui}^EUI-64")),
        (4, service.to_owned()),
        (7, dtm(o.unix_ms)),
    ];
    if let Some(id) = parent {
        fields.push((29, format!("^{}&{app}&{eui}&EUI-64", escape(id))));
    }
    segment("OBR", &fields)
}

/// The service of DEC and IPEC reports (OBR-4): SNOMED CT 182777000 "monitoring of patient",
/// as TF Vol. 2 B.7 suggests.
const MONITORING: &str = "182777000^monitoring of patient^SCT";

/// The pump's MDS (1.0.0.0), with its EUI-64 in OBX-18 (`EUI^^EUI^EUI-64`, TF Vol. 2 B.8).
fn mds_row(device: &Device, set_id: usize) -> String {
    let eui = device.eui();
    segment(
        "OBX",
        &[
            (1, set_id.to_string()),
            (3, mdc::PUMP_MDS.coded()),
            (4, "1.0.0.0".to_owned()),
            (11, "X".to_owned()),
            (18, format!("{eui}^^{eui}^EUI-64")),
        ],
    )
}

/// The VMD (1.1.0.0), the delivery channel (1.1.1.0) and the channel's metrics: status, drug,
/// concentration, programmed rate, volume delivered. Numbered from `first`.
fn channel_rows(o: &Observation, first: usize) -> Vec<String> {
    let (conc_ng_per_unit, conc_unit, conc_ucum) = match o.unit {
        MassUnit::Mg => (1_000_000u128, mdc::MILLI_G_PER_ML, "mg/mL"),
        MassUnit::Mcg => (1_000u128, mdc::MICRO_G_PER_ML, "ug/mL"),
    };
    vec![
        obx(first, mdc::PUMP_VMD, "1.1.0.0", None),
        obx(first + 1, mdc::CHANNEL_DELIVERY, "1.1.1.0", None),
        obx(
            first + 2,
            mdc::PUMP_STAT,
            "1.1.1.1",
            Some(("CWE", format!("^{}", o.status.value()), None, "")),
        ),
        obx(
            first + 3,
            mdc::DRUG_NAME,
            "1.1.1.2",
            Some(("ST", escape(&o.drug), None, "")),
        ),
        obx(
            first + 4,
            mdc::CONCENTRATION,
            "1.1.1.3",
            Some((
                "NM",
                decimal(u128::from(o.concentration.ng_per_ml()), conc_ng_per_unit, 6),
                Some(conc_unit),
                conc_ucum,
            )),
        ),
        obx(
            first + 5,
            mdc::RATE,
            "1.1.1.4",
            Some((
                "NM",
                decimal(u128::from(o.rate.nl_per_day()), 24 * 1_000_000, 6),
                Some(mdc::MILLI_L_PER_HR),
                "mL/h",
            )),
        ),
        obx(
            first + 6,
            mdc::DELIVERED,
            "1.1.1.5",
            Some((
                "NM",
                decimal(u128::from(o.delivered.nl()), 1_000_000, 6),
                Some(mdc::MILLI_L),
                "mL",
            )),
        ),
    ]
}

/// Segments as a message: each ended by a carriage return, as HL7 has them.
fn message(segments: &[String]) -> String {
    let mut out = String::new();
    for s in segments {
        out.push_str(s);
        out.push('\r');
    }
    out
}

/// The DEC PCD-01 message of one observation: MSH, PID, PV1, OBR, then the containment tree
/// MDS (1.0.0.0, with the pump's EUI-64) → VMD (1.1.0.0) → delivery channel (1.1.1.0) and its
/// metrics: status, drug, concentration, programmed rate, volume delivered.
pub fn pcd_01(device: &Device, o: &Observation) -> Result<String, DeviceError> {
    device.check()?;
    let mut segments = header(device, Kind::Dec, o);
    segments.push(obr(device, o, MONITORING, None));
    segments.push(mds_row(device, 1));
    segments.extend(channel_rows(o, 2));
    Ok(message(&segments))
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) fn device() -> Device {
        Device {
            application: "TITRA".to_owned(),
            eui64: "0012a3fffe4b5c6d".to_owned(),
            facility: "Ward 7".to_owned(),
            simulated: false,
        }
    }

    /// 2026-12-05 14:30:00 UTC, morphine 1 mg/mL at 0.5 mL a day (0.5 mg/day), 123.456 µL given.
    pub(super) fn observation() -> Observation {
        Observation {
            control_id: 42,
            unix_ms: 1_796_481_000_000,
            patient: "MRN-00042".to_owned(),
            status: PumpStatus::Infusing,
            drug: "morphine".to_owned(),
            concentration: Concentration::from_ng_per_ml(1_000_000).unwrap(),
            unit: MassUnit::Mg,
            rate: VolumeRate::from_nl_per_day(500_000),
            delivered: Volume::from_nl(123_456),
        }
    }

    /// Worked by hand from the TF's layout: the rate is 0.5 mL / 24 h = 0.0208333… mL/h,
    /// to six places 0.020833; 123 456 nL is 0.123456 mL; the EUI-64 in capitals.
    #[test]
    fn an_observation_is_the_message_worked_by_hand() {
        let expected = [
            "MSH|^~\\&|TITRA^0012A3FFFE4B5C6D^EUI-64|Ward 7|||20261205143000+0000||ORU^R01^ORU_R01|42|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
            "PID|||MRN-00042^^^Ward 7^MR||^^^^^^U",
            "PV1||U",
            "OBR|1|42^TITRA|42^TITRA^0012A3FFFE4B5C6D^EUI-64|182777000^monitoring of patient^SCT|||20261205143000+0000",
            "OBX|1||69985^MDC_DEV_PUMP_INFUS_MDS^MDC|1.0.0.0|||||||X|||||||0012A3FFFE4B5C6D^^0012A3FFFE4B5C6D^EUI-64",
            "OBX|2||69986^MDC_DEV_PUMP_INFUS_VMD^MDC|1.1.0.0|||||||X",
            "OBX|3||126978^MDC_DEV_PUMP_INFUS_CHAN_DELIVERY^MDC|1.1.1.0|||||||X",
            "OBX|4|CWE|184508^MDC_PUMP_STAT^MDC|1.1.1.1|^pump-status-infusing||||||R",
            "OBX|5|ST|184514^MDC_DRUG_NAME_LABEL^MDC|1.1.1.2|morphine||||||R",
            "OBX|6|NM|157760^MDC_CONC_DRUG^MDC|1.1.1.3|1|264306^MDC_DIM_MILLI_G_PER_ML^MDC^mg/mL^mg/mL^UCUM|||||R",
            "OBX|7|NM|157784^MDC_FLOW_FLUID_PUMP^MDC|1.1.1.4|0.020833|265266^MDC_DIM_MILLI_L_PER_HR^MDC^mL/h^mL/h^UCUM|||||R",
            "OBX|8|NM|157993^MDC_VOL_FLUID_DELIV_TOTAL^MDC|1.1.1.5|0.123456|263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM|||||R",
        ];
        let message = pcd_01(&device(), &observation()).unwrap();
        let segments: Vec<&str> = message.split_terminator('\r').collect();
        assert_eq!(segments, expected);
        assert!(message.ends_with('\r'));
    }

    #[test]
    fn a_microgram_drug_is_sent_in_micrograms_per_ml_and_a_pause_as_paused() {
        let mut o = observation();
        o.unit = MassUnit::Mcg;
        o.concentration = Concentration::from_ng_per_ml(25_000).unwrap();
        o.status = PumpStatus::Paused;
        let message = pcd_01(&device(), &o).unwrap();
        assert!(
            message.contains("|1.1.1.3|25|264307^MDC_DIM_MICRO_G_PER_ML^MDC^ug/mL^ug/mL^UCUM|")
        );
        assert!(message.contains("|^pump-status-paused|"));
    }

    #[test]
    fn text_cannot_break_the_message() {
        assert_eq!(
            escape("a|b^c&d~e\\f\rg"),
            "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f g"
        );
        let mut o = observation();
        o.drug = "drug|with^separators".to_owned();
        o.patient = "MRN&1".to_owned();
        let message = pcd_01(&device(), &o).unwrap();
        assert!(message.contains("|drug\\F\\with\\S\\separators|"));
        assert!(message.contains("PID|||MRN\\T\\1^^^"));
        assert_eq!(message.matches('\r').count(), 12);
    }

    #[test]
    fn numbers_are_exact_decimals_rounded_half_up() {
        assert_eq!(decimal(500_000, 24_000_000, 6), "0.020833");
        assert_eq!(decimal(1, 2_000_000, 6), "0.000001");
        assert_eq!(decimal(1, 3_000_000, 6), "0");
        assert_eq!(decimal(20_000_000, 1_000_000, 6), "20");
        assert_eq!(decimal(1_500_000, 1_000_000, 6), "1.5");
    }

    #[test]
    fn times_are_utc_to_the_second_with_their_offset() {
        assert_eq!(dtm(0), "19700101000000+0000");
        assert_eq!(dtm(1_796_481_000_999), "20261205143000+0000");
    }

    #[test]
    fn a_bad_device_identifier_is_refused_by_name() {
        let mut d = device();
        d.eui64 = "0012A3FFFE4B5C6".to_owned();
        assert_eq!(
            pcd_01(&d, &observation()).unwrap_err().to_string(),
            "eui64: \"0012A3FFFE4B5C6\" is not 16 hexadecimal digits"
        );
        let mut d = device();
        d.application = "A".repeat(21);
        assert!(
            pcd_01(&d, &observation())
                .unwrap_err()
                .to_string()
                .starts_with("application:")
        );
    }

    /// docs/integration-codes.md lists every term the messages use, with the same code.
    #[test]
    fn the_table_of_codes_lists_every_term() {
        let doc = include_str!("../../../docs/integration-codes.md");
        for t in mdc::ALL {
            assert!(
                doc.contains(&format!("| {} | `{}` |", t.code, t.refid)),
                "docs/integration-codes.md does not list {} {}",
                t.code,
                t.refid
            );
        }
    }
}
