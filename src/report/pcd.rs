//! IHE PCD device messages, HL7 v2.6 in ER7 (issue 23): the pump's periodic observations, DEC
//! PCD-01 (`ORU^R01`), as the IHE PCD Technical Framework (Rev. 8.0, 2018: Vol. 2 §3.1 and
//! appendix B; Vol. 3 §7.1, the infusion pump) lays them out. Pure: a snapshot of the pump in,
//! the message's text out. Every IEEE 11073-10101 term used is in [`mdc`], with where it was
//! read, and in docs/integration-codes.md.
//!
//! [`observations`] replays a trial's log into the observations the pump reports.
//!
//! Not yet built (issue 23 goes on): the alarms (ACM PCD-04), the delivery events (IPEC PCD-10),
//! the outbox that sends them over MLLP, and the FHIR Bundle. `titra export --format hl7`
//! writes a trial's observations to a file (`report::export`).

use crate::core::program::Program;
use crate::core::supervisor::State;
use crate::core::units::{Concentration, Duration, MassUnit, Timestamp, Volume, VolumeRate};
use crate::journal::Record;

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

    /// Every term, for the table in docs/integration-codes.md.
    pub const ALL: [Term; 12] = [
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
    ];
}

/// The profile PCD-01 messages say they follow (MSH-21; TF Vol. 2 table of OIDs).
pub const PCD_01_PROFILE: &str = "IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO";

/// The pump as the hospital's systems know it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// The sending application's name (MSH-3.1, at most 20 characters).
    pub application: String,
    /// The pump's EUI-64, 16 hexadecimal digits (MSH-3, OBR-3, OBX-18).
    pub eui64: String,
    /// The facility (MSH-4), and the authority of the patient's identifier (PID-3.4).
    pub facility: String,
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

/// What a replay of a trial's log is reported with.
pub struct Replay<'a> {
    pub journal: &'a [Record],
    pub program: &'a Program,
    pub unit: MassUnit,
    pub patient: &'a str,
    /// When delivery started and the trial ended (the last record when it has not).
    pub started: Timestamp,
    pub ended: Option<Timestamp>,
    /// The wall clock (ms since 1970-01-01, UTC) of a moment on the pump's clock.
    pub wall: &'a dyn Fn(Timestamp) -> u64,
    /// How often the pump reports while the trial goes on (the live pump: every minute).
    pub every: Duration,
}

/// The observations the pump reports over a trial: one every `every` from the start of
/// delivery to the end, and one at each change of state or rate, each with what the log says at
/// that moment (the volume delivered up to it, the rate in force, the state). Numbered from 1.
pub fn observations(r: &Replay<'_>) -> Vec<Observation> {
    let last = r.journal.last().map_or(r.started, Record::at);
    let end = r.ended.unwrap_or(last).max(r.started);
    let mut times: Vec<Timestamp> = Vec::new();
    let step = r.every.ms().max(1000);
    let mut t = r.started;
    while t <= end {
        times.push(t);
        t = Timestamp::from_ms(t.ms().saturating_add(step));
    }
    times.push(end);
    for rec in r.journal {
        if matches!(
            rec,
            Record::StateChanged { .. } | Record::RateChanged { .. }
        ) && rec.at() >= r.started
            && rec.at() <= end
        {
            times.push(rec.at());
        }
    }
    times.sort_unstable();
    times.dedup();

    let mut out = Vec::with_capacity(times.len());
    let (mut i, mut delivered, mut state, mut basal) =
        (0usize, Volume::ZERO, State::Idle, r.program.basal);
    for (n, at) in times.into_iter().enumerate() {
        // Every record up to and at this moment.
        while let Some(rec) = r.journal.get(i).filter(|rec| rec.at() <= at) {
            match rec {
                Record::Delivery { volume, .. } => {
                    delivered = Volume::from_nl(delivered.nl().saturating_add(volume.nl()));
                }
                Record::StateChanged { to, .. } => state = *to,
                Record::RateChanged { new, .. } => basal = *new,
                _ => {}
            }
            i += 1;
        }
        out.push(Observation {
            control_id: n as u64 + 1,
            unix_ms: (r.wall)(at),
            patient: r.patient.to_owned(),
            status: PumpStatus::of(state),
            drug: r.program.drug.clone(),
            concentration: r.program.concentration,
            unit: r.unit,
            rate: r.program.concentration.volume_rate(basal),
            delivered,
        });
    }
    out
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

/// The DEC PCD-01 message of one observation: MSH, PID, PV1, OBR, then the containment tree
/// MDS (1.0.0.0, with the pump's EUI-64) → VMD (1.1.0.0) → delivery channel (1.1.1.0) and its
/// metrics: status, drug, concentration, programmed rate, volume delivered. Segments end in a
/// carriage return, as HL7 has them.
pub fn pcd_01(device: &Device, o: &Observation) -> Result<String, DeviceError> {
    device.check()?;
    let eui = device.eui();
    let when = dtm(o.unix_ms);
    let app = escape(&device.application);
    let facility = escape(&device.facility);
    let control = o.control_id.to_string();
    let msh = format!(
        "MSH|^~\\&|{app}^{eui}^EUI-64|{facility}|||{when}||ORU^R01^ORU_R01|{control}|P|2.6|||AL|NE||UNICODE UTF-8|||{PCD_01_PROFILE}"
    );
    // The pump knows the patient by identifier only: the name is "unspecified" (name type U).
    let pid = segment(
        "PID",
        &[
            (3, format!("{}^^^{facility}^MR", escape(&o.patient))),
            (5, "^^^^^^U".to_owned()),
        ],
    );
    // Patient class unknown (HL7 table 0004): a trial may be in- or outpatient.
    let pv1 = segment("PV1", &[(2, "U".to_owned())]);
    let obr = segment(
        "OBR",
        &[
            (1, "1".to_owned()),
            (2, format!("{control}^{app}")),
            (3, format!("{control}^{app}^{eui}^EUI-64")),
            (4, "182777000^monitoring of patient^SCT".to_owned()),
            (7, when.clone()),
        ],
    );
    let (conc_ng_per_unit, conc_unit, conc_ucum) = match o.unit {
        MassUnit::Mg => (1_000_000u128, mdc::MILLI_G_PER_ML, "mg/mL"),
        MassUnit::Mcg => (1_000u128, mdc::MICRO_G_PER_ML, "ug/mL"),
    };
    let mds = segment(
        "OBX",
        &[
            (1, "1".to_owned()),
            (3, mdc::PUMP_MDS.coded()),
            (4, "1.0.0.0".to_owned()),
            (11, "X".to_owned()),
            (18, format!("{eui}^^{eui}^EUI-64")),
        ],
    );
    let rows = [
        mds,
        obx(2, mdc::PUMP_VMD, "1.1.0.0", None),
        obx(3, mdc::CHANNEL_DELIVERY, "1.1.1.0", None),
        obx(
            4,
            mdc::PUMP_STAT,
            "1.1.1.1",
            Some(("CWE", format!("^{}", o.status.value()), None, "")),
        ),
        obx(
            5,
            mdc::DRUG_NAME,
            "1.1.1.2",
            Some(("ST", escape(&o.drug), None, "")),
        ),
        obx(
            6,
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
            7,
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
            8,
            mdc::DELIVERED,
            "1.1.1.5",
            Some((
                "NM",
                decimal(u128::from(o.delivered.nl()), 1_000_000, 6),
                Some(mdc::MILLI_L),
                "mL",
            )),
        ),
    ];
    let mut out = String::new();
    for s in [msh, pid, pv1, obr].iter().chain(rows.iter()) {
        out.push_str(s);
        out.push('\r');
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device {
            application: "TITRA".to_owned(),
            eui64: "0012a3fffe4b5c6d".to_owned(),
            facility: "Ward 7".to_owned(),
        }
    }

    /// 2026-12-05 14:30:00 UTC, morphine 1 mg/mL at 0.5 mL a day (0.5 mg/day), 123.456 µL given.
    fn observation() -> Observation {
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
        let doc = include_str!("../../docs/integration-codes.md");
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
