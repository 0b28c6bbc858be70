// interbank page: a session's event stream read off the page's main thread (a dedicated worker).
// The server's SSE stream is fetched and split into events here; the page gets them in batches,
// one message per network read, so that its main thread only applies events (once per frame)
// and never spends its frames on network reads, SSE parsing or one DOM event per stream event.
//
// A step_end (4 MB at 10,000 banks) is parsed here too and sent as columns (compactStepEnd): typed
// arrays, transferred without a copy, that the page turns back into its bank objects a slice per
// frame; its JSON never reaches the main thread.
//
// From the page: {open: url, after: seq, token} starts reading the events after `after` (Last-Event-ID;
// the worker reconnects by itself from the last event it read, 1 s after a drop), {close: true}
// stops. To the page, each with the token of the open it answers: {events: [[seq, type, data], ...]}, {conn: "live" | "reconnecting"},
// {end: status} when there is nothing more to read (204: the session is finished and every event
// was read; 404 / 410 / 422: the stream cannot be read from there, with the server's {error}).
"use strict";

let generation = 0;

self.onmessage = (msg) => {
  const m = msg.data;
  generation++;
  if (m.open) read(m.open, m.after, generation, m.token);
};

async function read(url, after, gen, token) {
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
      last = await consume(response, last, gen, post);
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

async function consume(response, last, gen, post) {
  const reader = response.body.getReader(), decoder = new TextDecoder();
  let pending = [], skipLF = false, id = null, type = "message", data = [], batch = [], transfer = [];
  const line = (text) => {
    if (text === "") {
      if (data.length && id !== null && /^-?\d+$/.test(id)) {
        last = +id;
        const text = data.length === 1 ? data[0] : data.join("\n");
        batch.push([last, type, type === "step_end" ? compactStepEnd(text, transfer) : text]);
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
