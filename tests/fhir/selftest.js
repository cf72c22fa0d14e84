#!/usr/bin/env node
// Checks the tooling itself (not the pump): node --test tests/fhir/selftest.js
// It writes the sample Bundles of make_samples.js into a temporary folder, runs validate.js on the
// valid one and the broken ones, then starts server.js on 127.0.0.1 and posts, reads and searches.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { spawn, spawnSync } = require('child_process');

const here = __dirname;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'titra-fhir-'));
spawnSync(process.execPath, [path.join(here, 'make_samples.js'), dir, '100'], { stdio: 'inherit' });
const sample = (name) => path.join(dir, `${name}.json`);

function validate(name, ...flags) {
  const r = spawnSync(process.execPath, [path.join(here, 'validate.js'), ...flags, sample(name)], {
    encoding: 'utf8',
  });
  return { code: r.status, out: r.stdout + r.stderr };
}

test.after(() => fs.rmSync(dir, { recursive: true, force: true }));

test('validate.js accepts the valid Bundles', () => {
  for (const name of ['valid', 'big']) {
    for (const flags of [[], ['--medplum']]) {
      const r = validate(name, '-q', ...flags);
      assert.strictEqual(r.code, 0, r.out);
      assert.match(r.out, /^valid$/m);
    }
  }
});

test('validate.js rejects the broken Bundles, saying where', () => {
  const cases = {
    'broken-unknown-property': [
      /error Bundle\.entry\[0\]\.resource\.favouriteColour: Unexpected property \[fhir\.js\]/,
      /error Bundle\.entry\[3\]\.resource\.dosage\.route\.codingg: Unexpected property \[fhir\.js\]/,
    ],
    'broken-wrong-type': [
      /error Bundle\.entry\[0\]\.resource\.active: Invalid format for boolean value "yes" \[fhir\.js\]/,
      /error Bundle\.entry\[4\]\.resource\.valueQuantity\.value: Number type expected/,
      /error Bundle\.entry\[1\]\.resource\.serialNumber: string must be a JSON string/,
    ],
    'broken-missing-required': [
      /error Bundle\.entry\[3\]\.resource\.status: Missing property \[fhir\.js\]/,
      /error Bundle\.entry\[3\]\.resource\.subject: Missing property \[fhir\.js\]/,
    ],
    'broken-dangling-reference': [/error Bundle\.entry\[4\]\.resource\.subject\.reference: urn:uuid:\S+ names no entry/],
  };
  for (const [name, patterns] of Object.entries(cases)) {
    const r = validate(name);
    assert.strictEqual(r.code, 1, r.out);
    assert.match(r.out, /^invalid \(\d+ errors?\)$/m);
    for (const p of patterns) assert.match(r.out, p);
  }
});

test('server.js takes a transaction, resolves its references, searches and rolls back', async (t) => {
  const srv = spawn(process.execPath, [path.join(here, 'server.js'), '0', '--stdin-watch', '--max-seconds', '120'], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  t.after(() => srv.kill('SIGTERM'));
  const port = await new Promise((resolve, reject) => {
    let buf = '';
    srv.stdout.on('data', (d) => {
      buf += d;
      const m = /^listening on (\d+)$/m.exec(buf);
      if (m) resolve(Number(m[1]));
    });
    srv.on('exit', (c) => reject(new Error(`server.js exited with ${c}`)));
  });
  const base = `http://127.0.0.1:${port}/`;
  const call = async (method, p, body) => {
    const r = await fetch(base + p, {
      method,
      headers: { 'Content-Type': 'application/fhir+json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: r.status, body: await r.json() };
  };
  const load = (name) => JSON.parse(fs.readFileSync(sample(name), 'utf8'));

  const posted = await call('POST', '', load('valid'));
  assert.strictEqual(posted.status, 200);
  assert.strictEqual(posted.body.type, 'transaction-response');
  const loc = posted.body.entry.map((e) => e.response.location);
  posted.body.entry.forEach((e) => assert.strictEqual(e.response.status, '201'));
  const [patient, device, request, admin, obs] = loc;
  assert.match(patient, /^Patient\/[0-9a-f-]{36}$/);

  const ma = (await call('GET', admin)).body;
  assert.strictEqual(ma.subject.reference, patient);
  assert.strictEqual(ma.device[0].reference, device);
  assert.strictEqual(ma.request.reference, request);
  assert.strictEqual(ma.dosage.route.coding[0].code, '72607000');

  const search = async (q) => (await call('GET', q)).body;
  let b = await search(`Patient?identifier=${encodeURIComponent('urn:oid:1.2.3.4.5.6.7|MRN-000123')}`);
  assert.strictEqual(b.type, 'searchset');
  assert.deepStrictEqual(b.entry.map((e) => `Patient/${e.resource.id}`), [patient]);
  b = await search(`Observation?patient=${patient}&code=${encodeURIComponent('http://loinc.org|72514-3')}`);
  assert.deepStrictEqual(b.entry.map((e) => `Observation/${e.resource.id}`), [obs]);
  b = await search(`MedicationAdministration?subject=${patient}`);
  assert.deepStrictEqual(b.entry.map((e) => `MedicationAdministration/${e.resource.id}`), [admin]);
  assert.strictEqual((await call('GET', 'metadata')).body.fhirVersion, '4.0.1');
  assert.strictEqual((await call('GET', 'Patient/none')).status, 404);

  for (const name of ['broken-unknown-property', 'broken-missing-required', 'broken-dangling-reference']) {
    const r = await call('POST', '', load(name));
    assert.strictEqual(r.status, 400, name);
    assert.strictEqual(r.body.resourceType, 'OperationOutcome');
  }
  assert.strictEqual((await search('Patient')).total, 1, 'a refused transaction left something behind');
  assert.strictEqual((await search('Observation')).total, 1);

  // the same patient again, found by identifier
  const again = load('big');
  again.entry[0].request.ifNoneExist = `identifier=${encodeURIComponent('urn:oid:1.2.3.4.5.6.7|MRN-000123')}`;
  const r = await call('POST', '', again);
  assert.strictEqual(r.status, 200, JSON.stringify(r.body).slice(0, 300));
  assert.strictEqual(r.body.entry[0].response.location, patient);
  assert.strictEqual(r.body.entry[3].resource.subject.reference, patient);
  assert.strictEqual((await search('Patient')).total, 1);
});
