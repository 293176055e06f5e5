// A siteproof sync client written from docs/sync-protocol.md and docs/records.md alone, with
// @automerge/automerge and cborg. The Rust test `js_client` (tests/tests/js_client.rs) runs it
// against a real server:
//
//   node client.mjs good  STATE_DIR SERVER_URL ENROLL_CODE
//     enrolls, pulls the templates, creates a visit answering one item of every answer kind,
//     pushes it; prints {"visit": <the visit as the model reads it>}.
//   node client.mjs bad   STATE_DIR SERVER_URL
//     pushes each kind of malformed record, expects each refused with 422, prints
//     {"refused": [{"form", "id", "status", "error", "message"}]}.
//
// Exits non-zero on anything unexpected.
import * as A from "@automerge/automerge";
import { encode, decode } from "cborg";
import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const [phase, stateDir, server, code] = process.argv.slice(2);
const statePath = join(stateDir, "js-client.json");

// docs/records.md: every string is a scalar string, never Automerge Text.
const str = (s) => new A.ImmutableString(s);
// Times are signed ints, versions and sizes unsigned, coordinates f64.
const int = (n) => new A.Int(n);
const uint = (n) => new A.Uint(n);
const f64 = (n) => new A.Float64(n);
const text = (v) => (v == null ? v : v.toString());

// automerge-js 3.5 writes an Int, Uint or Float64 that sits inside an object literal as a map
// (only a direct assignment keeps the type): build maps one key at a time.
function put(parent, key, value) {
  const plain = value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype;
  if (!plain) {
    parent[key] = value;
    return;
  }
  parent[key] = {};
  for (const [k, v] of Object.entries(value)) put(parent[key], k, v);
}

function fail(message) {
  console.error(`js client: ${message}`);
  process.exit(1);
}

async function enroll() {
  const res = await fetch(`${server}/v1/enroll`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ code, device_name: "js client" }),
  });
  if (res.status !== 200) fail(`enroll: ${res.status} ${await res.text()}`);
  return res.json();
}

/** One POST /v1/sync; returns {status, body} with body decoded (CBOR) or the JSON error. */
async function syncOnce(state, push) {
  const req = { cursor: state.cursor ?? null, push, need_full: [], max_bytes: 8 << 20 };
  const res = await fetch(`${server}/v1/sync`, {
    method: "POST",
    headers: { authorization: `Bearer ${state.token}`, "content-type": "application/cbor" },
    body: encode(req),
  });
  if (res.status !== 200) return { status: res.status, body: await res.json() };
  return { status: 200, body: decode(new Uint8Array(await res.arrayBuffer())) };
}

/** Pulls every page; returns the documents received, by record id. */
async function pullAll(state) {
  const docs = {};
  for (;;) {
    const { status, body } = await syncOnce(state, []);
    if (status !== 200) fail(`pull: ${status} ${JSON.stringify(body)}`);
    for (const r of body.records) {
      docs[r.id] = r.full ? A.load(r.data) : A.loadIncremental(docs[r.id] ?? A.init(), r.data);
    }
    state.cursor = body.cursor;
    if (!body.more) return docs;
  }
}

function header(d, state, id) {
  d.kind = str("visit");
  d.id = str(id);
  put(d, "scope", { region: str(state.region), group: str(state.group) });
  d.schema = uint(1);
}

/** A visit as docs/records.md lays it out, with `answers` (item id -> answer JSON object). */
function newVisit(state, template, answers, edit = () => {}) {
  const id = randomUUID();
  const actor = randomBytes(16).toString("hex");
  const doc = A.change(A.init({ actor }), (d) => {
    header(d, state, id);
    put(d, "site", {
      name: str("JS 化工企业"),
      credit_code: null,
      address: str("河北省"),
      sector: str(text(template.sector)),
    });
    d.mode = str("announced");
    d.team = [str("js inspector")];
    put(d, "template", { id: str(text(template.id)), version: uint(Number(template.version)) });
    d.assignment = null;
    d.started_at = int(1733299000000);
    d.ended_at = int(1733303000000);
    put(d, "location", { lat: f64(38), lon: f64(114.5), accuracy_m: null });
    d.answers = {};
    for (const [item, answer] of Object.entries(answers)) {
      d.answers[item] = str(JSON.stringify(answer));
    }
    d.findings = {};
    d.media = {};
    edit(d);
  });
  return { id, doc };
}

function answer(state, value, at) {
  return { value, note: null, media: [], by: "js inspector", device: state.device_id, at };
}

/** One answer per answer kind of the template's items, keyed by item id. */
function answersFor(state, template) {
  const out = {};
  let at = 1733300000000;
  for (const item of template.items) {
    const kind = item.answer;
    const k = typeof kind === "object" && !(kind instanceof A.ImmutableString) ? Object.keys(kind)[0] : text(kind);
    let value;
    if (k === "pass_fail") value = "fail";
    else if (k === "number") value = { number: 12.5 };
    else if (k === "text") value = { text: "值班记录齐全" };
    else if (k === "choice") value = { choice: text(kind.choice.choices[0]) };
    else fail(`unknown answer kind ${k}`);
    out[text(item.id)] = answer(state, value, at++);
  }
  return out;
}

function changesOf(doc) {
  return A.getAllChanges(doc);
}

async function good() {
  const enrolled = await enroll();
  const state = { ...enrolled, cursor: null };
  const docs = await pullAll(state);
  const templates = Object.values(docs).filter((d) => text(d.kind) === "template");
  if (templates.length !== 1) fail(`expected one template, got ${templates.length}`);
  const template = templates[0].template;
  const answers = answersFor(state, template);
  const { id, doc } = newVisit(state, template, answers);
  const { status, body } = await syncOnce(state, [{ id, changes: changesOf(doc) }]);
  if (status !== 200) fail(`push: ${status} ${JSON.stringify(body)}`);
  if (body.acked.length !== 1 || body.acked[0].id !== id) fail("push not acknowledged");
  state.cursor = body.cursor;
  state.visit = id;
  state.visitDoc = Buffer.from(A.save(doc)).toString("base64");
  state.template = { id: text(template.id), version: Number(template.version), sector: text(template.sector), items: template.items.map((i) => text(i.id)) };
  // The cursor's `check` is bytes: kept as base64 in the state file.
  const cursor = { ...state.cursor, check: Buffer.from(state.cursor.check).toString("base64") };
  writeFileSync(statePath, JSON.stringify({ ...state, cursor }));
  // The visit as the Rust model's JSON form reads it, for a field-by-field comparison.
  const visit = {
    id, scope: { region: state.region, group: state.group },
    site: { name: "JS 化工企业", credit_code: null, address: "河北省", sector: text(template.sector) },
    mode: "announced", team: ["js inspector"],
    template: { id: text(template.id), version: Number(template.version) },
    assignment: null, started_at: 1733299000000, ended_at: 1733303000000,
    location: { lat: 38, lon: 114.5, accuracy_m: null },
    answers, findings: {}, media: {},
  };
  console.log(JSON.stringify({ visit }));
}

async function bad() {
  const state = JSON.parse(readFileSync(statePath, "utf8"));
  state.cursor.check = new Uint8Array(Buffer.from(state.cursor.check, "base64"));
  const template = state.template;
  const firstItem = template.items[0];
  const ok = { [firstItem]: answer(state, "pass", 1) };
  const forms = [
    ["times as unsigned ints", (d) => { d.started_at = uint(1733299000000); }],
    ["template as a string", (d) => { d.template = str(`${template.id}@${template.version}`); }],
    ["a missing null field", (d) => { delete d.assignment; }],
    ["an answer value maybe", (d) => { d.answers[firstItem] = str(JSON.stringify(answer(state, "maybe", 2))); }],
    ["an answer of another kind", (d) => { d.answers[firstItem] = str(JSON.stringify(answer(state, { text: "x" }, 2))); }],
    ["a header string as Text", (d) => { d.kind = "visit"; }],
    ["a float where an int belongs", (d) => { d.started_at = f64(1.5); }],
    ["a schema this version does not know", (d) => { d.schema = uint(2); }],
  ];
  const refused = [];
  for (const [form, edit] of forms) {
    const { id, doc } = newVisit(state, template, ok, edit);
    const { status, body } = await syncOnce(state, [{ id, changes: changesOf(doc) }]);
    refused.push({ form, id, status, error: body.error ?? null, message: body.message ?? null });
  }
  // A change to the stored visit that alters its schema: the header never changes.
  const stored = A.load(Buffer.from(state.visitDoc, "base64"));
  const changed = A.change(A.clone(stored, { actor: randomBytes(16).toString("hex") }), (d) => {
    d.schema = uint(2);
  });
  const { status, body } = await syncOnce(state, [{ id: state.visit, changes: [A.getLastLocalChange(changed)] }]);
  refused.push({ form: "a schema change", id: state.visit, status, error: body.error ?? null, message: body.message ?? null });
  console.log(JSON.stringify({ refused }));
}

if (phase === "good") await good();
else if (phase === "bad") await bad();
else fail(`unknown phase ${phase}`);
