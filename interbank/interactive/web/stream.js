// interbank page: a session's event stream read off the page's main thread (a dedicated worker).
// The server's SSE stream is fetched and split into events here; the page gets them in batches,
// one message per network read, so that its main thread only applies events (once per frame)
// and never spends its frames on network reads, SSE parsing or one DOM event per stream event.
//
// A step_end (4 MB at 10,000 banks) is parsed here too and sent as columns (compactStepEnd): typed
// arrays, transferred without a copy, that the page turns back into its bank objects a slice per
// frame; its JSON never reaches the main thread.
//
// The many small events of a step (10,000-30,000 transactions and profit bookings at 10,000 banks, and
// the central bank's facility draws and repayments) are parsed here too and sent as digests
// (Digest): runs of consecutive events as typed-array columns, one row per event, so that the main
// thread applies them without an object per event (their GC cost it 50-100 ms pauses). Any event
// that does not fit the columns goes as its text, as before, and ends the run.
//
// From the page: {open: url, after: seq, token, digest} starts reading the events after `after` (Last-Event-ID;
// the worker reconnects by itself from the last event it read, 1 s after a drop), {close: true}
// stops. To the page, each with the token of the open it answers: {events: [[seq, type, data], ...]}, {conn: "live" | "reconnecting"},
// {end: status} when there is nothing more to read (204: the session is finished and every event
// was read; 404 / 410 / 422: the stream cannot be read from there, with the server's {error}).
"use strict";

let generation = 0;

self.onmessage = (msg) => {
  const m = msg.data;
  generation++;
  if (m.open) read(m.open, m.after, generation, m.token, m.digest !== false);
};

async function read(url, after, gen, token, digest) {
  const post = (x, transfer = []) => self.postMessage({ token, ...x }, transfer);
  let last = after;
  while (gen === generation) {
    let response = null;
    try {
      const sep = url.includes("?") ? "&" : "?";
      response = await fetch(`${url}${sep}last_event_id=${last}`, { cache: "no-store", headers: { Accept: "text/event-stream" } });
    } catch (e) {
      response = null;
    }
    if (gen !== generation) return;
    if (response && response.status === 204) { post({ end: 204 }); return; }
    if (response && !response.ok) {
      const body = await response.json().catch(() => ({}));
      if (gen === generation) post({ end: response.status, error: body.error || `HTTP ${response.status}` });
      return;
    }
    if (response) {
      post({ conn: "live" });
      last = await consume(response, last, gen, post, digest);
      if (gen !== generation) return;
    }
    post({ conn: "reconnecting" });
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// SSE framing (WHATWG "interpret an event stream"): lines end with CRLF, LF or CR; a blank line
// dispatches the event; "id", "event" and "data" fields; comments (":") are ignored. A line that
// spans many network reads (a large step_end) is kept in parts and joined once, never rescanned.
const EOL = /[\r\n]/g;

async function consume(response, last, gen, post, digest) {
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let pending = [], skipLF = false, id = null, type = "message", data = [], batch = [], transfer = [];
  const run = digest ? new Digest() : null;
  const line = (text) => {
    if (text === "") {
      if (data.length && id !== null && /^-?\d+$/.test(id)) {
        last = +id;
        const text = data.length === 1 ? data[0] : data.join("\n");
        if (!(run && DIGESTED.has(type) && run.add(last, type, text, batch, transfer))) {
          if (run) run.flush(batch, transfer);
          batch.push([last, type, type === "step_end" ? compactStepEnd(text, transfer) : text]);
        }
      }
      id = null; type = "message"; data = [];
      return;
    }
    if (text[0] === ":") return;
    const colon = text.indexOf(":"), field = colon === -1 ? text : text.slice(0, colon);
    let value = colon === -1 ? "" : text.slice(colon + 1);
    if (value[0] === " ") value = value.slice(1);
    if (field === "data") data.push(value);
    else if (field === "id") id = value;
    else if (field === "event") type = value;
  };
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (gen !== generation) { reader.cancel().catch(() => {}); return last; }
      if (done) break;
      const text = decoder.decode(value, { stream: true });
      let start = skipLF && text[0] === "\n" ? 1 : 0;
      skipLF = false;
      for (;;) {
        EOL.lastIndex = start;
        const m = EOL.exec(text);
        if (m === null) { if (start < text.length) pending.push(text.slice(start)); break; }
        const end = m.index, part = text.slice(start, end);
        const whole = pending.length ? (pending.push(part), pending.join("")) : part;
        pending = [];
        if (text[end] === "\r" && end + 1 === text.length) { skipLF = true; start = end + 1; }
        else start = end + (text[end] === "\r" && text[end + 1] === "\n" ? 2 : 1);
        line(whole);
      }
      if (run) run.flush(batch, transfer);
      if (batch.length) { post({ events: batch }, transfer); batch = []; transfer = []; }
    }
  } catch (e) {
    /* the connection dropped: read on from the last event */
  }
  return last;
}

// A step_end's data as columns: {compact: true, head: every field but banks, n: banks, keys:
// [[name, kind, extra], ...] in the banks' key order, cols: one per key, parseMs}. Kinds: "num"
// (Float64Array, null as NaN), "bool" (Uint8Array), "str" (Uint32Array of codes into extra, the
// distinct strings), "obj" (Float64Array of n rows of the sub-keys in extra, e.g. investments per
// market). The buffers go in `transfer`. A bank that does not fit the first's shape: the JSON text
// as it came (the page parses it, as before).
function compactStepEnd(text, transfer) {
  try {
    return columns(text, transfer);
  } catch (err) {  // not JSON, or not a snapshot: the text as it came
    return text;
  }
}

function columns(text, transfer) {
  const t0 = performance.now();
  const e = JSON.parse(text), d = e && e.data, banks = d && d.banks;
  if (!Array.isArray(banks) || !banks.length || typeof banks[0] !== "object" || banks[0] === null) return text;
  const n = banks.length, names = Object.keys(banks[0]), keys = [], cols = [];
  for (const name of names) {
    let v = null;
    for (let i = 0; i < n && v === null; i++) v = banks[i][name] === undefined ? null : banks[i][name];
    if (v === null || typeof v === "number") { keys.push([name, "num", null]); cols.push(new Float64Array(n)); }
    else if (typeof v === "boolean") { keys.push([name, "bool", null]); cols.push(new Uint8Array(n)); }
    else if (typeof v === "string") { keys.push([name, "str", []]); cols.push(new Uint32Array(n)); }
    else if (typeof v === "object" && !Array.isArray(v)) { const sub = Object.keys(v); keys.push([name, "obj", sub]); cols.push(new Float64Array(n * sub.length)); }
    else return text;
  }
  for (let k = 0; k < keys.length; k++) {
    const [name, kind, extra] = keys[k], col = cols[k];
    if (kind === "num") {
      for (let i = 0; i < n; i++) { const v = banks[i][name]; if (v === null) col[i] = NaN; else if (typeof v === "number") col[i] = v; else return text; }
    } else if (kind === "bool") {
      for (let i = 0; i < n; i++) { const v = banks[i][name]; if (typeof v !== "boolean") return text; col[i] = v ? 1 : 0; }
    } else if (kind === "str") {
      const codes = new Map();
      for (let i = 0; i < n; i++) {
        const v = banks[i][name]; if (typeof v !== "string") return text;
        let c = codes.get(v); if (c === undefined) { c = extra.length; codes.set(v, c); extra.push(v); }
        col[i] = c;
      }
    } else {
      const m = extra.length;
      for (let i = 0; i < n; i++) {
        const o = banks[i][name];
        if (typeof o !== "object" || o === null || Object.keys(o).length !== m) return text;
        for (let j = 0; j < m; j++) { const v = o[extra[j]]; if (typeof v !== "number") return text; col[i * m + j] = v; }
      }
    }
  }
  for (let i = 0; i < n; i++) if (Object.keys(banks[i]).length !== names.length) return text;  // a key the first has not
  const head = {};
  for (const [k, v] of Object.entries(d)) if (k !== "banks") head[k] = v;
  for (const col of cols) transfer.push(col.buffer);
  return { compact: true, head, n, keys, cols, parseMs: performance.now() - t0 };
}

// ------------------------------------------------------------------ digests of a step's small events
// A digest: {digest: true, seq0, n, step, strings, kind, bank, other, action, market, amount, rate,
// priority}, the events seq0 .. seq0 + n - 1 of one step (consecutive), one row each. kind: 0
// transaction, 1 profit_booking, 2 central bank lending_facility, 3 central bank repayment. bank /
// other (Int32Array): the bank's (the counterparty's) number N of "bank_N", -1 for none. action,
// market, priority (Int32Array): codes into strings, -1 for null. amount (Float64Array): the
// transaction's or facility's amount, the booking's profit; rate (Float64Array): the facility's rate,
// the booking's return. Queued as [last seq, "digest", digest]; applied by applyDigest (events.js).
const DIGESTED = new Set(["transaction", "profit_booking", "central_bank"]);
const DIGEST_MAX = 4096;  // events per digest: the page applies one within its frame budget
const BANK = /^bank_(0|[1-9]\d{0,8})$/;

function bankNumber(x) {  // "bank_N" -> N; -1 for null; undefined when it is neither
  if (x === null) return -1;
  if (typeof x !== "string") return undefined;
  const m = BANK.exec(x);
  return m ? +m[1] : undefined;
}

class Digest {
  constructor() { this.reset(); }
  reset() {
    this.n = 0; this.seq0 = -1; this.step = -1; this.strings = []; this.codes = new Map();
    this.kind = []; this.bank = []; this.other = []; this.action = []; this.market = []; this.amount = []; this.rate = []; this.priority = [];
  }
  code(s) {
    if (s === null) return -1;
    let c = this.codes.get(s); if (c === undefined) { c = this.strings.length; this.codes.set(s, c); this.strings.push(s); }
    return c;
  }
  // the event as a row of the run (true), or false when it does not fit (the run is left as it was)
  add(seq, type, text, batch, transfer) {
    let e;
    try { e = JSON.parse(text); } catch (err) { return false; }
    if (!e || typeof e !== "object" || e.seq !== seq || e.type !== type || !Number.isInteger(e.step)) return false;
    const d = e.data; if (!d || typeof d !== "object") return false;
    const bank = bankNumber(d.bank); if (bank === undefined || bank < 0) return false;
    let row;
    if (type === "transaction") {
      const other = bankNumber(d.counterparty === undefined ? null : d.counterparty);
      const market = d.market === undefined ? null : d.market;
      if (other === undefined || (market !== null && typeof market !== "string") || typeof d.action !== "string"
        || typeof d.amount !== "number" || typeof d.priority !== "string") return false;
      row = [0, bank, other, d.action, market, d.amount, 0, d.priority];
    } else if (type === "profit_booking") {
      if (typeof d.market !== "string" || typeof d.profit !== "number" || typeof d.return !== "number") return false;
      row = [1, bank, -1, null, d.market, d.profit, d.return, null];
    } else {  // central_bank: the facility's own operations (a decision, with its source, goes as text)
      if (d.source !== undefined || typeof d.amount !== "number") return false;
      if (d.operation === "lending_facility" && typeof d.rate === "number") row = [2, bank, -1, null, null, d.amount, d.rate, null];
      else if (d.operation === "repayment") row = [3, bank, -1, null, null, d.amount, 0, null];
      else return false;
    }
    if (this.n && (seq !== this.seq0 + this.n || e.step !== this.step || this.n >= DIGEST_MAX)) this.flush(batch, transfer);
    if (!this.n) { this.seq0 = seq; this.step = e.step; }
    this.kind.push(row[0]); this.bank.push(row[1]); this.other.push(row[2]); this.action.push(this.code(row[3]));
    this.market.push(this.code(row[4])); this.amount.push(row[5]); this.rate.push(row[6]); this.priority.push(this.code(row[7]));
    this.n++;
    return true;
  }
  flush(batch, transfer) {
    if (!this.n) return;
    const g = { digest: true, seq0: this.seq0, n: this.n, step: this.step, strings: this.strings,
      kind: Uint8Array.from(this.kind), bank: Int32Array.from(this.bank), other: Int32Array.from(this.other),
      action: Int32Array.from(this.action), market: Int32Array.from(this.market), amount: Float64Array.from(this.amount),
      rate: Float64Array.from(this.rate), priority: Int32Array.from(this.priority) };
    for (const k of ["kind", "bank", "other", "action", "market", "amount", "rate", "priority"]) transfer.push(g[k].buffer);
    batch.push([this.seq0 + this.n - 1, "digest", g]);
    this.reset();
  }
}
