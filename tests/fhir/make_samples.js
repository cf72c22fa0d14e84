#!/usr/bin/env node
// Writes hand-made FHIR R4 transaction Bundles shaped like Titra's trial summary, to exercise
// validate.js and server.js:
//   node make_samples.js OUTDIR [N]
// OUTDIR/valid.json                    Patient, Device, MedicationRequest, MedicationAdministration,
//                                      Observation (pain score), Provenance, DocumentReference (PDF)
// OUTDIR/broken-unknown-property.json  an element R4 does not define
// OUTDIR/broken-wrong-type.json        a boolean given as a string, a string given as a number
// OUTDIR/broken-missing-required.json  MedicationAdministration without status and subject
// OUTDIR/broken-dangling-reference.json an urn:uuid reference to no entry (caught by validate.js's
//                                      own bundle checks, not by FHIR.js)
// OUTDIR/big.json                      about N resources (default 500): one patient, many
//                                      administrations and pain scores
// Everything is deterministic (fixed UUIDs and times), so the files are the same on every run.
'use strict';
const fs = require('fs');
const path = require('path');

const SNOMED = 'http://snomed.info/sct';
const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
// SNOMED CT 72607000 |Intrathecal route (qualifier value)|, a member of the R4 example value set
// http://hl7.org/fhir/ValueSet/route-codes (descendants of 284009009 |Route of administration value|).
const INTRATHECAL = { system: SNOMED, code: '72607000', display: 'Intrathecal route' };

function uuid(n) {
  // a valid RFC 4122 version-4 shaped UUID, made from a counter
  const hex = n.toString(16).padStart(12, '0');
  return `urn:uuid:00000000-0000-4000-8000-${hex}`;
}

// The smallest well-formed one-page PDF, with a correct cross-reference table.
function tinyPdf(text) {
  const objs = [
    '<< /Type /Catalog /Pages 2 0 R >>',
    '<< /Type /Pages /Kids [3 0 R] /Count 1 >>',
    '<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R ' +
      '/Resources << /Font << /F1 5 0 R >> >> >>',
    null, // content stream, below
    '<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>',
  ];
  const stream = `BT /F1 12 Tf 72 770 Td (${text}) Tj ET`;
  objs[3] = `<< /Length ${stream.length} >>\nstream\n${stream}\nendstream`;
  let out = '%PDF-1.4\n';
  const offsets = [];
  objs.forEach((o, i) => {
    offsets.push(out.length);
    out += `${i + 1} 0 obj\n${o}\nendobj\n`;
  });
  const xref = out.length;
  out += `xref\n0 ${objs.length + 1}\n0000000000 65535 f \n`;
  for (const off of offsets) out += `${String(off).padStart(10, '0')} 00000 n \n`;
  out += `trailer\n<< /Size ${objs.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(out, 'latin1').toString('base64');
}

function entry(fullUrl, resource) {
  return { fullUrl, resource, request: { method: 'POST', url: resource.resourceType } };
}

const T0 = Date.UTC(2025, 2, 3, 8, 0, 0);
const at = (minutes) => new Date(T0 + minutes * 60000).toISOString().replace('.000Z', 'Z');

function drug() {
  return { text: 'Morphine 1 mg/mL intrathecal trial solution' };
}

function administration(u, ids, minutes, doseMg) {
  return entry(u, {
    resourceType: 'MedicationAdministration',
    status: 'completed',
    medicationCodeableConcept: drug(),
    subject: { reference: ids.patient },
    effectivePeriod: { start: at(minutes), end: at(minutes + 60) },
    device: [{ reference: ids.device }],
    request: { reference: ids.request },
    dosage: {
      route: { coding: [INTRATHECAL] },
      dose: { value: doseMg, unit: 'mg', system: UCUM, code: 'mg' },
      rateQuantity: { value: 0.1, unit: 'mL/h', system: UCUM, code: 'mL/h' },
    },
  });
}

function painScore(u, ids, minutes, score) {
  return entry(u, {
    resourceType: 'Observation',
    status: 'final',
    category: [
      {
        coding: [
          { system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'survey' },
        ],
      },
    ],
    code: {
      coding: [
        {
          system: LOINC,
          code: '72514-3',
          display: 'Pain severity - 0-10 verbal numeric rating [Score] - Reported',
        },
      ],
    },
    subject: { reference: ids.patient },
    effectiveDateTime: at(minutes),
    valueQuantity: { value: score, unit: '{score}', system: UCUM, code: '{score}' },
    device: { reference: ids.device },
  });
}

function bundle(nAdmin) {
  let n = 0;
  const ids = {
    patient: uuid(++n),
    device: uuid(++n),
    request: uuid(++n),
  };
  const entries = [
    entry(ids.patient, {
      resourceType: 'Patient',
      identifier: [{ system: 'urn:oid:1.2.3.4.5.6.7', value: 'MRN-000123' }],
      name: [{ family: 'Trial', given: ['Test'] }],
      gender: 'female',
      birthDate: '1961-07-14',
    }),
    entry(ids.device, {
      resourceType: 'Device',
      identifier: [{ system: 'urn:titra:serial', value: 'TITRA-0042' }],
      status: 'active',
      manufacturer: 'Titra',
      serialNumber: 'TITRA-0042',
      deviceName: [{ name: 'Titra intrathecal trial pump', type: 'user-friendly-name' }],
      version: [{ value: '0.1.0' }],
      patient: { reference: ids.patient },
    }),
    entry(ids.request, {
      resourceType: 'MedicationRequest',
      status: 'completed',
      intent: 'order',
      medicationCodeableConcept: drug(),
      subject: { reference: ids.patient },
      authoredOn: at(-60),
      dosageInstruction: [
        {
          text: '0.1 mL/h intrathecal, titrated',
          route: { coding: [INTRATHECAL] },
          doseAndRate: [{ rateQuantity: { value: 0.1, unit: 'mL/h', system: UCUM, code: 'mL/h' } }],
        },
      ],
    }),
  ];
  const targets = [];
  for (let i = 0; i < nAdmin; i++) {
    const a = uuid(++n);
    const o = uuid(++n);
    entries.push(administration(a, ids, i * 60, 0.1));
    entries.push(painScore(o, ids, i * 60 + 30, (7 - (i % 5)) | 0));
    targets.push({ reference: a }, { reference: o });
  }
  const doc = uuid(++n);
  entries.push(
    entry(doc, {
      resourceType: 'DocumentReference',
      status: 'current',
      type: { text: 'Intrathecal trial summary' },
      subject: { reference: ids.patient },
      date: at(nAdmin * 60),
      content: [
        {
          attachment: {
            contentType: 'application/pdf',
            data: tinyPdf('Titra trial summary'),
            title: 'trial-summary.pdf',
          },
        },
      ],
    })
  );
  targets.push({ reference: doc });
  entries.push(
    entry(uuid(++n), {
      resourceType: 'Provenance',
      target: targets,
      recorded: at(nAdmin * 60).replace('Z', '+00:00'),
      agent: [{ who: { reference: ids.device } }],
    })
  );
  return { resourceType: 'Bundle', type: 'transaction', timestamp: at(nAdmin * 60), entry: entries };
}

function find(b, type) {
  return b.entry.find((e) => e.resource.resourceType === type).resource;
}

function main() {
  const out = process.argv[2];
  const big = Number(process.argv[3] || 500);
  if (!out) {
    console.error('usage: node make_samples.js OUTDIR [N]');
    process.exit(2);
  }
  fs.mkdirSync(out, { recursive: true });
  const write = (name, b) => fs.writeFileSync(path.join(out, name), JSON.stringify(b, null, 2) + '\n');

  write('valid.json', bundle(1));

  let b = bundle(1);
  find(b, 'Patient').favouriteColour = 'blue';
  find(b, 'MedicationAdministration').dosage.route.codingg = [INTRATHECAL];
  write('broken-unknown-property.json', b);

  b = bundle(1);
  find(b, 'Patient').active = 'yes';
  find(b, 'Observation').valueQuantity.value = 'four';
  find(b, 'Device').serialNumber = 42;
  write('broken-wrong-type.json', b);

  b = bundle(1);
  delete find(b, 'MedicationAdministration').status;
  delete find(b, 'MedicationAdministration').subject;
  write('broken-missing-required.json', b);

  b = bundle(1);
  find(b, 'Observation').subject.reference = uuid(999999);
  write('broken-dangling-reference.json', b);

  // each administration adds 2 resources, plus 6 fixed ones
  write('big.json', bundle(Math.max(1, Math.round((big - 6) / 2))));
}

main();
