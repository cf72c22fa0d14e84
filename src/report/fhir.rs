//! The trial summary as an HL7 FHIR R4 transaction Bundle (issue 23): what the hospital's
//! record keeps of the trial, made from the trial log (the delivered amounts from its integer
//! records, never from the summary's rounded figures) and the summary (the implant worksheet),
//! with the PDF the clinician reads. Every code and its source are in docs/integration-codes.md.
//!
//! - Patient, by the hospital's identifier (created only if the server has none with it:
//!   `ifNoneExist`);
//! - Device, the pump (its EUI-64, its 11073 type);
//! - MedicationRequest, the trial's program;
//! - MedicationAdministration, one per delivery segment (a basal rate from a start, resume or
//!   change to the next stop or change) and one per bolus, route intrathecal or epidural;
//! - Observation, each pain score, sedation score, vital sign and spasticity score recorded, and
//!   the implant's starting dose (see [`implant`] for why an Observation);
//! - Provenance, the pump as the author of all of them, from the trial log's chain head;
//! - DocumentReference, the PDF summary.

use serde_json::{Value, json};

use crate::core::dose::Source as DoseSource;
use crate::core::library::Route;
use crate::core::program::Program;
use crate::core::supervisor::State;
use crate::core::units::{Amount, AmountRate, MassUnit, Timestamp};
use crate::journal::Record;
use crate::report::summary::Summary;

pub const LOINC: &str = "http://loinc.org";
pub const SNOMED: &str = "http://snomed.info/sct";
pub const UCUM: &str = "http://unitsofmeasure.org";
/// ISO/IEEE 11073-10101 in FHIR (terminology.hl7.org's identifier of the nomenclature).
pub const MDC: &str = "urn:iso:std:iso:11073:10101";
/// The device identifier system of an EUI-64 (IEEE 11073 "system-id", as the HL7 Personal
/// Health Device IG 2.0.0 and the Point-of-Care Device IG identify devices), with its type.
pub const EUI64_SYSTEM: &str = "urn:oid:1.2.840.10004.1.1.1.0.0.1.0.0.1.2680";
const CONTINUA_IDS: &str = "http://terminology.hl7.org/CodeSystem/ContinuaDeviceIdentifiers";
/// The identifier system of the resources the pump makes: each is identified by the UUID of
/// its `fullUrl` (made the same from the same trial), so that a Bundle sent again (an
/// acknowledgement lost, an export repeated) creates nothing twice (`ifNoneExist`). Not the
/// `urn:uuid:` itself: a server rewrites every such string of a transaction into the id it
/// gives the resource.
pub const RESOURCE_SYSTEM: &str = "urn:titra:resource";
/// The pump's own codes where no standard code exists (a site maps them to its terminology).
pub const LOCAL: &str = "urn:titra:codes";
const OBSERVATION_CATEGORY: &str = "http://terminology.hl7.org/CodeSystem/observation-category";

/// What the Bundle is made from.
pub struct Input<'a> {
    pub summary: &'a Summary,
    pub journal: &'a [Record],
    pub program: &'a Program,
    pub unit: MassUnit,
    /// The hospital's patient identifier system (a URI).
    pub patient_system: &'a str,
    /// The pump's EUI-64 (16 hexadecimal digits).
    pub eui64: &'a str,
    /// The wall clock (ms since 1970, UTC) of a moment on the pump's clock.
    pub wall: &'a dyn Fn(Timestamp) -> u64,
    /// When the Bundle is made (ms since 1970, UTC).
    pub now_ms: u64,
    /// The trial log's chain head (row, hash), if a log is kept.
    pub chain_head: Option<(i64, String)>,
    /// The PDF summary.
    pub pdf: &'a [u8],
}

/// A resource in the making: its temporary id (`urn:uuid:…`) and content.
struct Entry {
    url: String,
    resource: Value,
    request: Value,
}

/// A UUID from `seed` (SHA-256, version and variant bits set as for a version 4 UUID): the
/// same trial gives the same ids, so that a Bundle made twice is the same Bundle.
fn uuid(seed: &str) -> String {
    let hex = crate::digest::sha256_hex(seed.as_bytes());
    let mut b: Vec<char> = hex.chars().take(32).collect();
    if let Some(c) = b.get_mut(12) {
        *c = '4';
    }
    if let Some(c) = b.get_mut(16) {
        *c = 'a';
    }
    let s: String = b.into_iter().collect();
    format!(
        "urn:uuid:{}-{}-{}-{}-{}",
        &s[0..8],
        &s[8..12],
        &s[12..16],
        &s[16..20],
        &s[20..32]
    )
}

/// `ng` nanograms (per `per`: "" or "/d") as a quantity in the drug's unit (UCUM mg or ug),
/// exact to the nanogram.
fn drug_quantity(ng: u64, unit: MassUnit, per: &str) -> Value {
    let (den, base) = match unit {
        MassUnit::Mg => (1_000_000u128, "mg"),
        MassUnit::Mcg => (1_000u128, "ug"),
    };
    let code = format!("{base}{per}");
    json!({ "value": number(u128::from(ng), den), "unit": code, "system": UCUM, "code": code })
}

/// An amount in the drug's unit (mg or ug).
fn amount_quantity(a: Amount, unit: MassUnit) -> Value {
    drug_quantity(a.ng(), unit, "")
}

/// A rate per day in the drug's unit (mg/d or ug/d).
fn rate_quantity(r: AmountRate, unit: MassUnit) -> Value {
    drug_quantity(r.ng_per_day(), unit, "/d")
}

/// `num / den` as a JSON number, to six decimal places (exact for nanograms in mg).
fn number(num: u128, den: u128) -> Value {
    let text = super::pcd::decimal_text(num, den, 6);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

fn route_coding(route: Route) -> Value {
    let (code, display) = match route {
        Route::Intrathecal => ("72607000", "Intrathecal route"),
        Route::Epidural => ("404820008", "Epidural route"),
    };
    json!({ "coding": [{ "system": SNOMED, "code": code, "display": display }] })
}

fn reference(url: &str) -> Value {
    json!({ "reference": url })
}

/// The Bundle, as JSON.
pub fn bundle(i: &Input<'_>) -> Value {
    let s = i.summary;
    let seed = format!("{}|{}|{}", s.trial.patient, s.trial.started_at, i.eui64);
    let id = |name: &str| uuid(&format!("{seed}|{name}"));
    let when = |t: Timestamp| crate::time::rfc3339((i.wall)(t));
    let route = s.implant.trial_route;
    let patient = id("patient");
    let device = id("device");
    let request = id("request");
    let drug = json!({ "text": i.program.drug });
    let subject = reference(&patient);
    let started = s.trial.started_at.clone();
    let ended = s.trial.ended_at.clone();
    let mut entries = vec![
        Entry {
            url: patient.clone(),
            resource: json!({
                "resourceType": "Patient",
                "identifier": [{ "system": i.patient_system, "value": s.trial.patient }],
            }),
            request: json!({
                "method": "POST",
                "url": "Patient",
                "ifNoneExist": format!("identifier={}|{}", i.patient_system, s.trial.patient),
            }),
        },
        Entry {
            url: device.clone(),
            resource: device_resource(i, &patient),
            request: json!({
                "method": "POST",
                "url": "Device",
                "ifNoneExist": format!("identifier={EUI64_SYSTEM}|{}", dashed_eui(i.eui64)),
            }),
        },
        Entry {
            url: request.clone(),
            resource: json!({
                "resourceType": "MedicationRequest",
                "status": if s.implant.trial_ended { "completed" } else { "active" },
                "intent": "order",
                "medicationCodeableConcept": drug,
                "subject": subject,
                "authoredOn": started,
                "dosageInstruction": [{
                    "text": program_text(i.program, i.unit, route),
                    "route": route_coding(route),
                    "doseAndRate": [{ "rateQuantity": rate_quantity(i.program.basal, i.unit) }],
                }],
            }),
            request: json!({ "method": "POST", "url": "MedicationRequest" }),
        },
    ];
    for (n, a) in administrations(i.journal, i.program.basal)
        .iter()
        .enumerate()
    {
        let mut dosage = json!({
            "route": route_coding(route),
            "dose": amount_quantity(a.amount, i.unit),
        });
        if let Some(rate) = a.rate {
            dosage["rateQuantity"] = rate_quantity(rate, i.unit);
        }
        let mut resource = json!({
            "resourceType": "MedicationAdministration",
            "status": "completed",
            "medicationCodeableConcept": drug,
            "subject": subject,
            "effectivePeriod": { "start": when(a.start), "end": when(a.end) },
            "request": reference(&request),
            "device": [reference(&device)],
            "dosage": dosage,
        });
        resource["note"] = json!([{ "text": a.what }]);
        entries.push(Entry {
            url: id(&format!("administration-{n}")),
            resource,
            request: json!({ "method": "POST", "url": "MedicationAdministration" }),
        });
    }
    for (n, o) in observations(i.journal).into_iter().enumerate() {
        let mut resource = json!({
            "resourceType": "Observation",
            "status": "final",
            "category": [{ "coding": [{ "system": OBSERVATION_CATEGORY, "code": o.category }] }],
            "code": o.code,
            "subject": subject,
            "effectiveDateTime": when(o.at),
            "device": reference(&device),
        });
        match o.value {
            Measured::Integer(v) => resource["valueInteger"] = json!(v),
            Measured::Quantity(q) => resource["valueQuantity"] = q,
            Measured::Text(t) => resource["valueString"] = json!(t),
        }
        entries.push(Entry {
            url: id(&format!("observation-{n}")),
            resource,
            request: json!({ "method": "POST", "url": "Observation" }),
        });
    }
    let confirmed_at = i.journal.iter().rev().find_map(|r| match r {
        Record::ImplantPlan { at, .. } => Some(*at),
        _ => None,
    });
    entries.push(Entry {
        url: id(
            &confirmed_at.map_or_else(|| "implant".to_owned(), |t| format!("implant-{}", t.ms()))
        ),
        resource: implant(
            i,
            &subject,
            &device,
            &confirmed_at
                .filter(|_| s.implant.confirmed)
                .map_or(ended.clone(), when),
        ),
        request: json!({ "method": "POST", "url": "Observation" }),
    });
    entries.push(Entry {
        url: id("document"),
        resource: document(i, &subject, &device, &started, &ended),
        request: json!({ "method": "POST", "url": "DocumentReference" }),
    });
    identify(&mut entries);
    let targets: Vec<Value> = entries.iter().map(|e| reference(&e.url)).collect();
    entries.push(Entry {
        url: id("provenance"),
        resource: provenance(i, targets, &device),
        request: json!({ "method": "POST", "url": "Provenance" }),
    });
    json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "timestamp": crate::time::rfc3339(i.now_ms),
        "entry": entries
            .into_iter()
            .map(|e| json!({ "fullUrl": e.url, "resource": e.resource, "request": e.request }))
            .collect::<Vec<_>>(),
    })
}

/// Each resource the pump makes (but the patient and the device, found by their own
/// identifiers) carries its id as an identifier and is created only if the server has none
/// with it. A dose confirmed again is a new Observation (its id is made from the
/// confirmation), dated when it was confirmed: the newest is the one in force.
fn identify(entries: &mut [Entry]) {
    for e in entries {
        let kind = e.resource["resourceType"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        if matches!(kind.as_str(), "Patient" | "Device") {
            continue;
        }
        let uuid = e.url.trim_start_matches("urn:uuid:").to_owned();
        e.resource["identifier"] = json!([{ "system": RESOURCE_SYSTEM, "value": uuid }]);
        e.request["ifNoneExist"] = json!(format!("identifier={RESOURCE_SYSTEM}|{uuid}"));
    }
}

/// An EUI-64 as the PHD IG writes it: upper-case pairs joined by dashes,
/// "B8-27-EB-FF-FE-12-34-56".
fn dashed_eui(eui64: &str) -> String {
    let hex: Vec<char> = eui64.to_ascii_uppercase().chars().collect();
    hex.chunks(2)
        .map(|p| p.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

fn device_resource(i: &Input<'_>, patient: &str) -> Value {
    let eui = dashed_eui(i.eui64);
    let mut d = json!({
        "resourceType": "Device",
        "identifier": [{
            "type": { "coding": [{ "system": CONTINUA_IDS, "code": "SYSID" }] },
            "system": EUI64_SYSTEM,
            "value": eui,
        }],
        "deviceName": [{ "name": "Titra trial pump", "type": "user-friendly-name" }],
        "type": { "coding": [{ "system": MDC, "code": "69985", "display": "MDC_DEV_PUMP_INFUS_MDS" }] },
        "patient": reference(patient),
    });
    if i.summary.simulated {
        d["note"] = json!([{ "text": "Simulated hardware: this trial ran on the simulator, in virtual time. Not a patient's data." }]);
    }
    d
}

/// The program in words, English (the Bundle is data, as the trial log is).
fn program_text(p: &Program, unit: MassUnit, route: Route) -> String {
    crate::engine::in_english(|| {
        let mut text = format!(
            "{} {} {route}, basal {}",
            p.drug,
            p.concentration,
            crate::core::readable::per_day(p.basal)
        );
        if let Some(b) = &p.pca {
            text.push_str(&format!(
                "; patient bolus {}, lockout {}, at most {} an hour",
                crate::core::readable::as_prescribed(b.dose, unit),
                crate::core::readable::duration(b.lockout, crate::core::readable::Round::Up),
                b.max_per_hour
            ));
        }
        text
    })
}

/// One MedicationAdministration: a basal segment (with its rate) or a bolus.
struct Administration {
    start: Timestamp,
    end: Timestamp,
    amount: Amount,
    rate: Option<AmountRate>,
    /// Of `amount`, what was counted as given after a restart.
    uncertain: Amount,
    what: String,
}

/// A delivery segment at `rate` opened at `at`; its index in `out`.
fn open_segment(out: &mut Vec<Administration>, at: Timestamp, rate: AmountRate) -> usize {
    out.push(Administration {
        start: at,
        end: at,
        amount: Amount::ZERO,
        rate: Some(rate),
        uncertain: Amount::ZERO,
        what: String::new(),
    });
    out.len() - 1
}

/// The segment a basal (or KVO) amount recorded at `at` belongs to: the open one, else the
/// last one (a piece recorded at the moment its segment closed), else one of its own.
fn basal_segment(
    out: &mut Vec<Administration>,
    open: Option<usize>,
    at: Timestamp,
    rate: AmountRate,
) -> usize {
    match open.or_else(|| out.iter().rposition(|a| a.rate.is_some())) {
        Some(i) => i,
        None => open_segment(out, at, rate),
    }
}

/// The delivery segments and boluses of a log: a segment runs from a start, a resume or a
/// basal change to the next stop or change, with the basal (and KVO) amounts the log recorded
/// within it; a bolus from its start to its end, with what it delivered. Every amount the log
/// recorded as delivered is in exactly one of them.
fn administrations(journal: &[Record], basal: AmountRate) -> Vec<Administration> {
    let mut out: Vec<Administration> = Vec::new();
    let mut rate = basal;
    let mut open: Option<usize> = None;
    let mut bolus: Option<(Timestamp, DoseSource)> = None;
    let mut running_bolus = Amount::ZERO;
    for rec in journal {
        match rec {
            Record::StateChanged { at, to, .. } => {
                if let Some(i) = open.take()
                    && let Some(a) = out.get_mut(i)
                {
                    a.end = *at;
                }
                if *to == State::Running {
                    open = Some(open_segment(&mut out, *at, rate));
                }
            }
            Record::RateChanged { at, new, .. } => {
                rate = *new;
                if let Some(i) = open.take() {
                    if let Some(a) = out.get_mut(i) {
                        a.end = *at;
                    }
                    open = Some(open_segment(&mut out, *at, rate));
                }
            }
            // After a crash, what may have been given and was not recorded is counted as given
            // (the summary counts it too): the basal's in its segment, said in the note. A
            // bolus's is in its `BolusEnded`'s delivered amount already.
            Record::UncertainDelivery {
                at,
                source: DoseSource::Basal | DoseSource::Kvo,
                amount,
                ..
            } => {
                let i = basal_segment(&mut out, open, *at, rate);
                if let Some(a) = out.get_mut(i) {
                    a.amount += *amount;
                    a.uncertain += *amount;
                    a.end = a.end.max(*at);
                }
            }
            Record::Delivery {
                source:
                    DoseSource::PatientBolus | DoseSource::ScheduledBolus | DoseSource::ClinicianBolus,
                amount,
                ..
            } => running_bolus += *amount,
            Record::Delivery {
                at,
                source: DoseSource::Basal | DoseSource::Kvo,
                amount,
                ..
            } => {
                let i = basal_segment(&mut out, open, *at, rate);
                if let Some(a) = out.get_mut(i) {
                    a.amount += *amount;
                    a.end = a.end.max(*at);
                }
            }
            Record::BolusStarted { at, source, .. } => {
                bolus = Some((*at, *source));
                running_bolus = Amount::ZERO;
            }
            Record::BolusEnded {
                at,
                source,
                delivered,
                complete,
                ..
            } => {
                let start = bolus.take().map_or(*at, |(t, _)| t);
                running_bolus = Amount::ZERO;
                out.push(Administration {
                    uncertain: Amount::ZERO,
                    start,
                    end: *at,
                    amount: *delivered,
                    rate: None,
                    what: format!(
                        "{} bolus{}",
                        bolus_words(*source),
                        if *complete {
                            ""
                        } else {
                            ", stopped before its end"
                        }
                    ),
                });
            }
            _ => {}
        }
    }
    // What remains open ends at the log's last record; a bolus still running (an export in
    // the middle of one) with what it has given so far.
    if let (Some(i), Some(last)) = (open, journal.last())
        && let Some(a) = out.get_mut(i)
    {
        a.end = a.end.max(last.at());
    }
    if let (Some((start, source)), Some(last)) = (bolus, journal.last()) {
        out.push(Administration {
            start,
            end: last.at(),
            amount: running_bolus,
            rate: None,
            uncertain: Amount::ZERO,
            what: format!("{} bolus, still running", bolus_words(source)),
        });
    }
    out.retain(|a| a.amount > Amount::ZERO);
    for a in &mut out {
        if let Some(r) = a.rate {
            a.what = crate::engine::in_english(|| {
                let mut what = format!("Basal delivery at {}", crate::core::readable::per_day(r));
                if a.uncertain > Amount::ZERO {
                    what.push_str(&format!(
                        "; {} of it counted as given after a restart, not confirmed",
                        crate::core::readable::amount(a.uncertain)
                    ));
                }
                what
            });
        }
    }
    out
}

fn bolus_words(source: DoseSource) -> &'static str {
    match source {
        DoseSource::PatientBolus => "Patient",
        DoseSource::ScheduledBolus => "Scheduled",
        DoseSource::ClinicianBolus => "Clinician",
        DoseSource::Basal | DoseSource::Kvo => "Other",
    }
}

enum Measured {
    Integer(i64),
    Quantity(Value),
    Text(String),
}

struct Obs {
    at: Timestamp,
    category: &'static str,
    code: Value,
    value: Measured,
}

fn loinc(code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": LOINC, "code": code, "display": display }], "text": display })
}

fn local(code: &str, display: &str) -> Value {
    json!({ "coding": [{ "system": LOCAL, "code": code, "display": display }], "text": display })
}

fn ucum(value: Value, code: &str) -> Value {
    json!({ "value": value, "unit": code, "system": UCUM, "code": code })
}

/// Each score and vital sign the log recorded.
fn observations(journal: &[Record]) -> Vec<Obs> {
    let mut out = Vec::new();
    for rec in journal {
        match rec {
            Record::PainScore { at, value } => out.push(Obs {
                at: *at,
                category: "survey",
                code: loinc(
                    "72514-3",
                    "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
                ),
                value: Measured::Integer(i64::from(*value)),
            }),
            Record::Sedation { at, poss } => out.push(Obs {
                at: *at,
                category: "survey",
                code: local("poss", "Pasero Opioid-induced Sedation Scale (POSS)"),
                value: Measured::Integer(i64::from(*poss)),
            }),
            Record::Spasticity { at, score, .. } => {
                // SNOMED CT's concept of the scale (as an HL7 IG's value set has it), and the
                // pump's code beside it; the grade as written ("1+" is not a number).
                let mut code = local("modified-ashworth", "Modified Ashworth Scale");
                if let Some(codings) = code["coding"].as_array_mut() {
                    codings.insert(
                        0,
                        json!({
                            "system": SNOMED,
                            "code": "765771006",
                            "display": "Modified Ashworth Scale (assessment scale)",
                        }),
                    );
                }
                out.push(Obs {
                    at: *at,
                    category: "exam",
                    code,
                    value: Measured::Text(score.as_str().to_owned()),
                });
            }
            Record::Vitals {
                at,
                respiratory_rate,
                heart_rate,
                spo2,
                temperature,
            } => {
                let vital = |code: &str, display: &str, q: Value| Obs {
                    at: *at,
                    category: "vital-signs",
                    code: loinc(code, display),
                    value: Measured::Quantity(q),
                };
                if let Some(v) = respiratory_rate {
                    out.push(vital("9279-1", "Respiratory rate", ucum(json!(v), "/min")));
                }
                if let Some(v) = heart_rate {
                    out.push(vital("8867-4", "Heart rate", ucum(json!(v), "/min")));
                }
                if let Some(v) = spo2 {
                    // R4's oxygen saturation profile fixes 2708-6; pulse oximetry's own code
                    // beside it (US Core asks for both).
                    let mut o = vital(
                        "2708-6",
                        "Oxygen saturation in Arterial blood",
                        ucum(json!(v), "%"),
                    );
                    if let Some(codings) = o.code["coding"].as_array_mut() {
                        codings.push(json!({
                            "system": LOINC,
                            "code": "59408-5",
                            "display": "Oxygen saturation in Arterial blood by Pulse oximetry",
                        }));
                    }
                    out.push(o);
                }
                if let Some(t) = temperature {
                    let c = number(u128::from(t.deci_celsius()), 10);
                    out.push(vital("8310-5", "Body temperature", ucum(c, "Cel")));
                }
            }
            _ => {}
        }
    }
    out
}

/// The implant's starting dose, as an Observation: what the site's rule gives from the trial
/// (its value, its rule and steps in the note), `final` once a clinician confirmed it on the
/// worksheet (who, in the performer's display), `preliminary` before. An Observation rather
/// than a CarePlan or a MedicationRequest: the pump computes a finding from what it observed;
/// the implant's prescription is the clinician's own order, written in the hospital's system.
/// A proposal the pump makes must never look like an order. With no proposal, no value: the
/// reason is said (`dataAbsentReason` and the note), never a guessed dose.
fn implant(i: &Input<'_>, subject: &Value, device: &str, ended: &str) -> Value {
    let w = &i.summary.implant;
    let mut o = json!({
        "resourceType": "Observation",
        "status": if w.confirmed { "final" } else { "preliminary" },
        "code": local("implant-starting-dose", "Proposed starting dose of the implanted pump"),
        "subject": subject,
        "effectiveDateTime": ended,
        "device": reference(device),
    });
    let mut notes = Vec::new();
    if let Some(rule) = &w.rule {
        notes.push(format!("Rule: {rule}"));
    }
    if let Some(src) = &w.rule_source {
        notes.push(format!("Source: {src}"));
    }
    notes.extend(w.steps.iter().cloned());
    // The dose the clinician confirmed (the log's exact figure), else the proposal.
    let confirmed = i.journal.iter().rev().find_map(|r| match r {
        Record::ImplantPlan { per_day, .. } => Some(*per_day),
        _ => None,
    });
    let dose = if w.confirmed {
        confirmed
    } else {
        w.worksheet.proposed
    };
    if w.confirmed
        && let (Some(c), Some(p)) = (confirmed, w.worksheet.proposed)
        && c != p
    {
        notes.push(crate::engine::in_english(|| {
            format!(
                "The rule proposed {}; the clinician confirmed another dose",
                crate::core::readable::per_day(p)
            )
        }));
    }
    match dose {
        Some(rate) => {
            o["valueQuantity"] = rate_quantity(rate, i.unit);
        }
        None => {
            o["dataAbsentReason"] = json!({
                "coding": [{
                    "system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                    "code": "not-applicable",
                }],
                "text": w.no_proposal_reason.clone().unwrap_or_default(),
            });
            if let Some(why) = &w.no_proposal_reason {
                notes.push(format!("No proposal: {why}"));
            }
        }
    }
    if w.confirmed {
        if let Some(by) = &w.confirmed_by {
            o["performer"] = json!([{ "display": by }]);
            notes.push(format!("Confirmed by {by}"));
        }
        if let Some(reason) = &w.reason {
            notes.push(format!("Reason: {reason}"));
        }
    }
    if !notes.is_empty() {
        o["note"] = json!([{ "text": notes.join("\n") }]);
    }
    o
}

fn document(i: &Input<'_>, subject: &Value, device: &str, started: &str, ended: &str) -> Value {
    use base64::Engine as _;
    json!({
        "resourceType": "DocumentReference",
        "status": "current",
        "type": loinc("34133-9", "Summary of episode note"),
        "subject": subject,
        "date": crate::time::rfc3339(i.now_ms),
        "author": [reference(device)],
        "description": "Intrathecal/epidural trial summary",
        "content": [{
            "attachment": {
                "contentType": "application/pdf",
                "data": base64::engine::general_purpose::STANDARD.encode(i.pdf),
                "title": "Trial summary",
                "creation": crate::time::rfc3339(i.now_ms),
            }
        }],
        "context": { "period": { "start": started, "end": ended } },
    })
}

fn provenance(i: &Input<'_>, targets: Vec<Value>, device: &str) -> Value {
    let mut p = json!({
        "resourceType": "Provenance",
        "target": targets,
        "recorded": crate::time::rfc3339(i.now_ms),
        "activity": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-DataOperation",
            "code": "CREATE",
        }] },
        "agent": [{
            "type": { "coding": [{
                "system": "http://terminology.hl7.org/CodeSystem/provenance-participant-type",
                "code": "assembler",
            }] },
            "who": reference(device),
        }],
    });
    if let Some((row, hash)) = &i.chain_head {
        p["entity"] = json!([{
            "role": "source",
            "what": {
                "identifier": { "system": "urn:ietf:rfc:3986", "value": format!("urn:sha256:{hash}") },
                "display": format!("Trial log, chain head row {row}"),
            },
        }]);
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::supervisor::State;
    use crate::journal::Role;

    fn min(m: u64) -> Timestamp {
        Timestamp::from_ms(m * 60_000)
    }

    fn given(m: u64, source: DoseSource, ng: u64) -> Record {
        Record::Delivery {
            at: min(m),
            source,
            steps: 0,
            amount: Amount::from_ng(ng),
            volume: crate::core::units::Volume::from_nl(ng),
        }
    }

    fn state(m: u64, from: State, to: State) -> Record {
        Record::StateChanged {
            at: min(m),
            from,
            to,
        }
    }

    /// Worked by hand: a segment from the start to the pause with its two basal pieces and
    /// the piece recorded as it closed (10 000 + 10 000 + 5 000 ng); the bolus with what it
    /// delivered; the paused time and the change of rate in it make no segment; the segment
    /// from the resume at the new rate to the end. 145 000 ng in all, as the log delivered.
    #[test]
    fn segments_and_boluses_hold_every_delivered_nanogram_once() {
        let journal = vec![
            state(0, State::Priming, State::Running),
            given(30, DoseSource::Basal, 10_000),
            Record::BolusStarted {
                at: min(40),
                source: DoseSource::PatientBolus,
                requested: Amount::from_ng(100_000),
                steps: 10,
            },
            given(41, DoseSource::PatientBolus, 100_000),
            Record::BolusEnded {
                at: min(41),
                source: DoseSource::PatientBolus,
                requested: Amount::from_ng(100_000),
                delivered: Amount::from_ng(100_000),
                complete: true,
            },
            given(60, DoseSource::Basal, 10_000),
            state(90, State::Running, State::Paused),
            given(90, DoseSource::Basal, 5_000),
            Record::RateChanged {
                at: min(100),
                old: AmountRate::from_ng_per_day(500_000),
                new: AmountRate::from_ng_per_day(1_000_000),
                by: Role::Clinician,
            },
            state(120, State::Paused, State::Running),
            given(150, DoseSource::Basal, 20_000),
            state(180, State::Running, State::Ended),
        ];
        let got: Vec<(u64, u64, u64, Option<u64>, String)> =
            administrations(&journal, AmountRate::from_ng_per_day(500_000))
                .into_iter()
                .map(|a| {
                    (
                        a.start.ms() / 60_000,
                        a.end.ms() / 60_000,
                        a.amount.ng(),
                        a.rate.map(|r| r.ng_per_day()),
                        a.what,
                    )
                })
                .collect();
        assert_eq!(
            got,
            [
                (
                    0,
                    90,
                    25_000,
                    Some(500_000),
                    "Basal delivery at 0.5 mg/day".to_owned()
                ),
                (40, 41, 100_000, None, "Patient bolus".to_owned()),
                (
                    120,
                    180,
                    20_000,
                    Some(1_000_000),
                    "Basal delivery at 1 mg/day".to_owned()
                ),
            ]
        );
    }

    /// After a crash the basal counted as given is in its segment, said so; a bolus still
    /// running when the export is made is there with what it has given so far.
    #[test]
    fn uncertain_basal_and_a_running_bolus_are_counted() {
        let journal = vec![
            state(0, State::Priming, State::Running),
            given(30, DoseSource::Basal, 10_000),
            Record::UncertainDelivery {
                at: min(40),
                source: DoseSource::Basal,
                steps: 3,
                amount: Amount::from_ng(3_000),
                measured: false,
            },
            Record::BolusStarted {
                at: min(50),
                source: DoseSource::ClinicianBolus,
                requested: Amount::from_ng(50_000),
                steps: 5,
            },
            given(51, DoseSource::ClinicianBolus, 20_000),
        ];
        let got: Vec<(u64, u64, u64, String)> =
            administrations(&journal, AmountRate::from_ng_per_day(500_000))
                .into_iter()
                .map(|a| {
                    (
                        a.start.ms() / 60_000,
                        a.end.ms() / 60_000,
                        a.amount.ng(),
                        a.what,
                    )
                })
                .collect();
        assert_eq!(
            got,
            [
                (
                    0,
                    51,
                    13_000,
                    "Basal delivery at 0.5 mg/day; 3 mcg of it counted as given after a restart, not confirmed"
                        .to_owned()
                ),
                (50, 51, 20_000, "Clinician bolus, still running".to_owned()),
            ]
        );
    }

    #[test]
    fn ids_are_uuids_made_again_the_same() {
        let a = uuid("MRN-1|2026-12-05T10:00:00Z|patient");
        assert_eq!(a, uuid("MRN-1|2026-12-05T10:00:00Z|patient"));
        assert_ne!(a, uuid("MRN-1|2026-12-05T10:00:00Z|device"));
        let hex = a.strip_prefix("urn:uuid:").unwrap();
        let parts: Vec<usize> = hex.split('-').map(str::len).collect();
        assert_eq!(parts, [8, 4, 4, 4, 12]);
        assert_eq!(hex.chars().nth(14), Some('4'), "version 4's place");
        assert!(hex.chars().all(|c| c.is_ascii_hexdigit() || c == '-'));
    }

    /// Quantities are the exact decimals of the integer amounts.
    #[test]
    fn quantities_are_exact() {
        assert_eq!(
            amount_quantity(Amount::from_ng(958_334), MassUnit::Mg)["value"],
            json!(0.958334)
        );
        assert_eq!(
            amount_quantity(Amount::from_ng(25_000), MassUnit::Mcg)["value"],
            json!(25)
        );
        assert_eq!(
            rate_quantity(AmountRate::from_ng_per_day(20_000), MassUnit::Mcg)["code"],
            "ug/d"
        );
    }
}
