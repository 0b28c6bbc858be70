// interbank page: a session's event stream read off the page's main thread (a dedicated worker).
// The server's SSE stream is fetched and split into events here; the page gets them in batches,
// one message per network read, so that its main thread only applies events (once per frame)
// and never spends its frames on network reads, SSE parsing or one DOM event per stream event.
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
  const post = (x) => self.postMessage({ token, ...x });
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
  let pending = [], skipLF = false, id = null, type = "message", data = [], batch = [];
  const line = (text) => {
    if (text === "") {
      if (data.length && id !== null && /^-?\d+$/.test(id)) { last = +id; batch.push([last, type, data.length === 1 ? data[0] : data.join("\n")]); }
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
      if (batch.length) { post({ events: batch }); batch = []; }
    }
  } catch (e) {
    /* the connection dropped: read on from the last event */
  }
  return last;
}
