//! IPEC PCD-10 (`ORU^R42^ORU_R01`): the pump's delivery events (delivery started, stopped,
//! completed; rate changes; boluses), one a message, as the IPEC supplement (Rev. 1.5, X.1.1)
//! and TF-2 Rev. 10 §3.10 lay them out: the event and where it happened at the pump's level
//! (MDC_ATTR_EVT_COND, MDC_ATTR_EVT_SOURCE), then the channel as it is after the event, as in
//! DEC PCD-01.

use super::{
    Device, DeviceError, Kind, LOCAL_SYSTEM, MONITORING, Observation, Term, channel_rows, escape,
    header, mdc, mds_row, message, obr, segment,
};

/// An event's code: 11073's where it has one, else the pump's own (in [`LOCAL_SYSTEM`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventCode {
    Mdc(Term),
    Local(&'static str),
}

/// A delivery event: its code and its description (English: the messages are data).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Event {
    pub code: EventCode,
    pub text: String,
}

/// The IPEC PCD-10 message of one event: MSH, PID, PV1, OBR, the MDS with the event (1.0.0.1)
/// and its source, the delivery channel (1.0.0.2 = `1.1.1.0`), then the VMD, the channel and
/// its metrics after the event.
pub fn pcd_10(device: &Device, o: &Observation, e: &Event) -> Result<String, DeviceError> {
    device.check()?;
    let text = escape(&e.text);
    let cond = match e.code {
        EventCode::Mdc(term) => format!("{}^^^^^^{text}", term.coded()),
        EventCode::Local(code) => format!("{code}^{text}^{LOCAL_SYSTEM}^^^^^^{text}"),
    };
    let mut segments = header(device, Kind::Ipec, o);
    segments.push(obr(device, o, MONITORING, None));
    segments.push(mds_row(device, 1));
    segments.push(segment(
        "OBX",
        &[
            (1, "2".to_owned()),
            (2, "CWE".to_owned()),
            (3, mdc::ATTR_EVT_COND.coded()),
            (4, "1.0.0.1".to_owned()),
            (5, cond),
            (11, "R".to_owned()),
        ],
    ));
    segments.push(segment(
        "OBX",
        &[
            (1, "3".to_owned()),
            (2, "ST".to_owned()),
            (3, mdc::ATTR_EVT_SOURCE.coded()),
            (4, "1.0.0.2".to_owned()),
            (5, "1.1.1.0".to_owned()),
            (11, "R".to_owned()),
        ],
    ));
    segments.extend(channel_rows(o, 4));
    Ok(message(&segments))
}

#[cfg(test)]
mod tests {
    use super::super::tests::{device, observation};
    use super::*;

    /// Delivery started, worked by hand from the IPEC example's layout: the event and its
    /// source at the pump's level, then the channel as DEC reports it.
    #[test]
    fn delivery_started_is_the_message_worked_by_hand() {
        let event = Event {
            code: EventCode::Mdc(mdc::EVT_PUMP_DELIV_START),
            text: "Delivery started".to_owned(),
        };
        let expected = [
            "MSH|^~\\&|TITRA^0012A3FFFE4B5C6D^EUI-64|Ward 7|||20261205143000+0000||ORU^R42^ORU_R01|42|P|2.6|||AL|NE||UNICODE UTF-8|||IHE_PCD_010^IHE PCD^1.3.6.1.4.1.19376.1.6.4.10^ISO",
            "PID|||MRN-00042^^^Ward 7^MR||^^^^^^U",
            "PV1||U",
            "OBR|1|42^TITRA|42^TITRA^0012A3FFFE4B5C6D^EUI-64|182777000^monitoring of patient^SCT|||20261205143000+0000",
            "OBX|1||69985^MDC_DEV_PUMP_INFUS_MDS^MDC|1.0.0.0|||||||X|||||||0012A3FFFE4B5C6D^^0012A3FFFE4B5C6D^EUI-64",
            "OBX|2|CWE|68487^MDC_ATTR_EVT_COND^MDC|1.0.0.1|197288^MDC_EVT_PUMP_DELIV_START^MDC^^^^^^Delivery started||||||R",
            "OBX|3|ST|68488^MDC_ATTR_EVT_SOURCE^MDC|1.0.0.2|1.1.1.0||||||R",
            "OBX|4||69986^MDC_DEV_PUMP_INFUS_VMD^MDC|1.1.0.0|||||||X",
            "OBX|5||126978^MDC_DEV_PUMP_INFUS_CHAN_DELIVERY^MDC|1.1.1.0|||||||X",
            "OBX|6|CWE|184508^MDC_PUMP_STAT^MDC|1.1.1.1|^pump-status-infusing||||||R",
            "OBX|7|ST|184514^MDC_DRUG_NAME_LABEL^MDC|1.1.1.2|morphine||||||R",
            "OBX|8|NM|157760^MDC_CONC_DRUG^MDC|1.1.1.3|1|264306^MDC_DIM_MILLI_G_PER_ML^MDC^mg/mL^mg/mL^UCUM|||||R",
            "OBX|9|NM|157784^MDC_FLOW_FLUID_PUMP^MDC|1.1.1.4|0.020833|265266^MDC_DIM_MILLI_L_PER_HR^MDC^mL/h^mL/h^UCUM|||||R",
            "OBX|10|NM|157993^MDC_VOL_FLUID_DELIV_TOTAL^MDC|1.1.1.5|0.123456|263762^MDC_DIM_MILLI_L^MDC^mL^mL^UCUM|||||R",
        ];
        let message = pcd_10(&device(), &observation(), &event).unwrap();
        let segments: Vec<&str> = message.split_terminator('\r').collect();
        assert_eq!(segments, expected);
    }

    /// The pump's own events, and the pending IPEC ones sent with code 0 and their reference
    /// id; text that would break the message is escaped.
    #[test]
    fn own_and_pending_events_are_coded_as_documented() {
        let own = Event {
            code: EventCode::Local("bolus_start"),
            text: "Patient bolus started | 0.1 mg".to_owned(),
        };
        let message = pcd_10(&device(), &observation(), &own).unwrap();
        assert!(message.contains(
            "|1.0.0.1|bolus_start^Patient bolus started \\F\\ 0.1 mg^99TTR^^^^^^Patient bolus started \\F\\ 0.1 mg|"
        ));
        let stop = Event {
            code: EventCode::Mdc(mdc::EVT_PUMP_DELIV_STOP),
            text: "Delivery paused".to_owned(),
        };
        let message = pcd_10(&device(), &observation(), &stop).unwrap();
        assert!(message.contains("|1.0.0.1|0^MDC_EVT_PUMP_DELIV_STOP^MDC^^^^^^Delivery paused|"));
    }
}
