// interbank interactive page: plain JS, no dependencies, nothing fetched from elsewhere. Talks
// to /api/interactive/* and renders the event stream (one schema for every front end) on a
// canvas. Stream messages are queued as they arrive and applied once per animation frame.
"use strict";

const $ = (id) => document.getElementById(id);
const noNegZero = (text) => /^-0(\.0+)?$/.test(text) ? text.slice(1) : text;
const fmt = (x) => (x === null || x === undefined || Number.isNaN(x)) ? "–" :
  noNegZero(Math.abs(x) >= 1000 ? x.toLocaleString(undefined, { maximumFractionDigits: 0 }) : x.toFixed(2));
// dollars: "$1,234", "−$5.00"
const money = (x) => (x === null || x === undefined || Number.isNaN(x)) ? "–" : (fmt(x).startsWith("-") ? "−$" + fmt(-x) : "$" + fmt(x));
const pct = (x) => (x === null || x === undefined) ? "–" : noNegZero((100 * x).toFixed(2)) + "%";
const plural = (n, one, many = one + "s") => `${n} ${n === 1 ? one : many}`;
const COLORS = { PROFIT: "#3fb27f", LIQUIDITY: "#e0a33a", STABILITY: "#9b7be0", defaulted: "#e05252", deleted: "#5b6673" };
const MARKET_COLORS = ["#e8d44d", "#5ad1e0", "#f08fc0", "#8fd18f"];
let LIVE = new Set(["ready", "running", "paused"]);  // replaced by the vocabulary's live_states
let VOCAB = null;  // GET /api/vocabulary: every list the page shares with the server
const FRAME_BUDGET_MS = 10;   // stream work per animation frame; the rest waits for the next frame
const SAMPLE_PER_STEP = 6;    // transactions shown per step in the feed (a fair random sample)

const S = {
  session: null, source: null, state: "idle", conn: "idle", maxSteps: 0, finished: false,
  queue: [], lastSeq: -1, catchUp: -1,
  streamErrors: 0, resumeAt: -1, quiet: false, endSeq: -1, firstSeq: null, resuming: false, logItems: [],
  init: null, names: [], index: new Map(), nodes: [], spacing: 1,
  banks: new Map(), equityHistory: new Map(), stepTotals: [], marketHistory: new Map(), marketFlows: new Map(),
  totals: null, unmetTotal: 0, markets: [],
  exposures: null, exposureStep: -1, exposureWanted: -1, exposureBusy: false,
  selected: null, hover: null, market: null,
  flashes: [], cascadeAnim: null, pulses: [],
  step: null, recent: [], feedDirty: false, policyRate: null, minCapital: null,
  view: { zoom: 1, x: 0, y: 0 }, dirty: true, overlay: true, proj: null, frames: 0, baseFrames: 0,
  compare: null,   // {other: session id, source, totals: [], state, step, fork}
};
window.__ib = S;   // for tests and the benchmark: the page's own record of what it showed

// ------------------------------------------------------------------ setup
let SIZES = {}, DEFAULT_SIZE = null;
async function loadChoices() {
  try {
    const [sc, cp, vocab] = await Promise.all(["/api/scenarios", "/api/checkpoints", "/api/vocabulary"].map(u => fetch(u).then(r => r.json())));
    VOCAB = vocab; LIVE = new Set(vocab.live_states);
    checkVocabulary();
    SIZES = sc.sizes || {}; DEFAULT_SIZE = sc.default || null;
    const scen = $("scenario"); scen.replaceChildren(new Option("built-in default", ""));
    for (const n of sc.scenarios) scen.appendChild(new Option(n, n));
    const pol = $("policy"); pol.replaceChildren();
    for (const n of cp.checkpoints) pol.appendChild(new Option("checkpoint: " + n, "checkpoint:" + n));
    for (const p of VOCAB.policies) { const o = new Option(p.name, "policy:" + p.name); o.title = p.description; pol.appendChild(o); }
    pol.value = "policy:heuristic";
    if (!pol.value && pol.options.length) pol.selectedIndex = 0;
    showPolicyParams();
    showScenarioSize();
  } catch (e) { error("could not load the server's choices: " + reason(e)); }
}

// the page handles every event type and central bank operation the server declares, or ignores it on purpose
function checkVocabulary() {
  const missing = VOCAB.event_types.filter(t => !(t in EVENT_HANDLERS) && !IGNORED_EVENTS.includes(t))
    .concat([...VOCAB.central_bank_operations.map(o => o.name), ...VOCAB.facility_operations].filter(o => !(o in CENTRAL_BANK_HANDLERS)));
  if (missing.length) console.warn("interbank page: no handler for " + missing.join(", "));
  S.unhandled = missing;
}

// the chosen baseline's parameters, as inputs showing their defaults (empty = the default)
function showPolicyParams(values = {}) {
  const box = $("policy-params"); box.replaceChildren();
  const [kind, name] = ($("policy").value || "").split(":");
  const p = kind === "policy" && VOCAB ? VOCAB.policies.find(x => x.name === name) : null;
  $("policy-about").textContent = p ? p.description : kind === "checkpoint" ? "a trained policy from the server's checkpoints folder" : "";
  if (!p) return;
  for (const [key, def] of Object.entries(p.params)) {
    const label = document.createElement("label"), inp = document.createElement("input");
    label.textContent = key + " "; inp.type = "number"; inp.step = "any"; inp.placeholder = String(def);
    inp.dataset.param = key; inp.title = `${name}'s ${key} (default ${def})`;
    if (values[key] !== undefined && values[key] !== def) inp.value = values[key];
    label.appendChild(inp); box.appendChild(label);
  }
}

// a scenario runs at its own size and length unless the user types other ones
function showScenarioSize() {
  const name = $("scenario").value, size = name ? SIZES[name] : DEFAULT_SIZE;
  $("n-banks").placeholder = size ? String(size.n_banks) : "scenario's";
  $("steps").placeholder = size ? String(size.max_steps) : "scenario's";
  $("scenario-size").textContent = size ? `${name || "built-in default"}: ${size.n_banks} banks, ${size.max_steps} steps` +
    (size.explicit_banks ? " (banks given one by one)" : "") + ". Leave banks and steps empty to keep them." : "";
}

function playgroundRow(capital = 100, target = 10, risk = 0.5) {
  const tr = document.createElement("tr");
  for (const [v, min, extra] of [[capital, 1, ""], [target, 1, ""], [risk, 0, "0.05"]]) {
    const td = document.createElement("td"), inp = document.createElement("input");
    inp.type = "number"; inp.min = min; inp.value = v; if (extra) { inp.step = extra; inp.max = 1; }
    td.appendChild(inp); tr.appendChild(td);
  }
  const td = document.createElement("td"), b = document.createElement("button");
  b.type = "button"; b.textContent = "×"; b.onclick = () => { tr.remove(); countPlayground(); };
  td.appendChild(b); tr.appendChild(td);
  $("pg-table").querySelector("tbody").appendChild(tr);
  countPlayground();
}
function countPlayground() { $("pg-count").textContent = $("pg-table").querySelectorAll("tbody tr").length; }

function startBody() {
  const body = { seed: +$("seed").value || 0, speed: +$("speed").value };
  const steps = $("steps").value.trim(), nBanks = $("n-banks").value.trim();
  if (steps !== "") body.steps = +steps;
  const [kind, name] = ($("policy").value || "policy:heuristic").split(":");
  body[kind === "checkpoint" ? "checkpoint" : "policy"] = name;
  const params = {};
  for (const inp of $("policy-params").querySelectorAll("input")) {
    const v = inp.value.trim(); if (v !== "") params[inp.dataset.param] = Number.isNaN(+v) ? v : +v;
  }
  if (Object.keys(params).length) body.params = params;
  if ($("scenario").value) body.scenario = $("scenario").value;
  const rows = [...$("pg-table").querySelectorAll("tbody tr")];
  if (rows.length) {
    body.banks = rows.map(tr => { const v = [...tr.querySelectorAll("input")].map(i => +i.value); return { capital: v[0], target_leverage: v[1], risk: v[2] }; });
  } else if (nBanks !== "") {
    body.n_banks = +nBanks;
  }
  return body;
}

const UNREACHABLE = "server unreachable: is `interbank serve` still running?";
async function api(path, body) {
  let r;
  try { r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }); }
  catch (e) { throw new Error(UNREACHABLE); }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}
function reason(e) { return e instanceof TypeError ? UNREACHABLE : (e && e.message) || String(e); }

let closeDialog = null;  // the open dialog's "cancel" (Escape)
// an in-page question (a native confirm() would block the stream); resolves "yes", "alt" or "no"
function ask(text, yes, alt = null) {
  return new Promise((resolve) => {
    $("confirm-text").textContent = text; $("confirm-yes").textContent = yes;
    $("confirm-alt").textContent = alt || ""; $("confirm-alt").hidden = !alt;
    $("confirm").hidden = false;
    const done = (answer) => { $("confirm").hidden = true; closeDialog = null; resolve(answer); };
    closeDialog = () => done("no");
    $("confirm-yes").focus();
    $("confirm-yes").onclick = () => done("yes"); $("confirm-alt").onclick = () => done("alt"); $("confirm-no").onclick = () => done("no");
  });
}

// the server builds the new session before it stops the old one (start's "replace"): a refused
// Start changes nothing, and says why next to the button and in a toast
async function start() {
  message(""); $("start-error").textContent = "";
  const body = startBody();
  if (S.session && LIVE.has(S.state)) {
    const answer = await ask(`Session ${S.session} is still ${S.state}. Stop it once the new one has started?`,
      `Stop ${S.session} and start`, "Keep it running and start");
    if (answer === "no") return;
    if (answer === "yes") body.replace = S.session;
  }
  try {
    const res = await api("/api/interactive/start", body);
    closeCompare();
    attach(res.session_id, res.state);
    refreshSessions();
  } catch (e) {
    const why = "Start refused: " + reason(e) + (body.replace ? ` (session ${body.replace} is still ${S.state})` : "");
    $("start-error").textContent = why; toast(why);
  }
}

// ------------------------------------------------------------------ sessions
function remember(id) {
  try { localStorage.setItem("interbank.session", id); } catch (e) { /* storage off: the URL still has it */ }
  const url = new URL(location.href); url.searchParams.set("session", id); history.replaceState(null, "", url);
  streamLink();
}

function reset() {
  closeStream();
  Object.assign(S, {
    source: null, queue: [], lastSeq: -1, resumeAt: -1, quiet: false, endSeq: -1, firstSeq: null, resuming: false, logItems: [], init: null, names: [], index: new Map(), nodes: [], banks: new Map(),
    equityHistory: new Map(), stepTotals: [], marketHistory: new Map(), marketFlows: new Map(), totals: null, unmetTotal: 0,
    markets: [], exposures: null, exposureStep: -1, exposureWanted: -1, selected: null, hover: null, market: null,
    flashes: [], cascadeAnim: null, pulses: [], step: null, recent: [], policyRate: null, minCapital: null,
    view: { zoom: 1, x: 0, y: 0 }, dirty: true, overlay: true, proj: null, finished: false, maxSteps: 0,
    gone: false, formShown: null,
  });
  pendingFeed.length = 0; pendingLog.length = 0;
  $("feed").replaceChildren(); $("log").replaceChildren(); $("markets").replaceChildren(); $("market-dash").hidden = true;
  $("bank-select").replaceChildren(); $("cb-rate").value = ""; $("cb-capital").value = "";
  for (const id of ["step", "defaults"]) $(id).textContent = "0";
  for (const id of ["active", "capital"]) $(id).textContent = "–";
  refreshBankPanel();
}

// watch a session from its first event: every figure, log and chart is rebuilt from the stream;
// after that the browser re-connects by itself with Last-Event-ID and gets exactly what it missed
function attach(id, state = null) {
  reset();
  S.session = id; $("session-id").textContent = id; remember(id);
  S.catchUp = Infinity;  // until the backlog is read: no animations
  setState(state || "ready");
  connect(id, -1);
  statusCheck();
}

// the stream is read by a worker (stream.js) and arrives here in batches of [seq, type, data]
let worker = null, streamToken = 0;
function connect(id, after) {
  if (!worker) { worker = new Worker("/static/stream.js"); worker.onmessage = onStream; }
  S.source = { token: ++streamToken, id };
  setConn("connecting");
  worker.postMessage({ open: `/api/interactive/stream/${encodeURIComponent(id)}`, after, token: S.source.token });
}

function closeStream() {
  if (S.source && worker) worker.postMessage({ close: true });
  S.source = null;
}

function onStream(msg) {
  const m = msg.data;
  if (!S.source || m.token !== S.source.token) return;  // an earlier stream's last words
  if (m.events) { for (const e of m.events) S.queue.push(e); return; }
  if (m.conn === "live") { setConn("live"); return; }
  if (m.conn === "reconnecting") {
    S.streamErrors++;
    if (S.finished) { closeStream(); setConn("ended"); return; }
    if (S.conn !== "gone") setConn("reconnecting");
    statusCheck(); return;
  }
  S.source = null;  // the worker stopped reading: m.end is why
  if (m.end === 204) { setConn("ended"); return; }
  if (S.resuming && m.end === 410) {  // the step shown before the reload is no longer kept
    message(`session ${S.session}: the step shown before the reload is no longer kept; rebuilt from what the server keeps`);
    attach(S.session); return;
  }
  message(m.error || ""); setConn(m.end === 404 ? "lost" : "closed"); statusCheck();
}

function setConn(conn) {
  S.conn = conn;
  const labels = { idle: "not connected", connecting: "connecting…", live: "live", reconnecting: "reconnecting…",
    closed: "disconnected", gone: "server gone", lost: "session gone", ended: "stream ended" };
  const pill = $("conn"); pill.textContent = labels[conn] || conn; pill.className = "pill conn " + conn;
}

// the Setup form shows what the session shown was started with (after a reload or an Attach too)
function showSettings(st) {
  if (st.scenario !== undefined) { $("scenario").value = st.scenario || ""; showScenarioSize(); }
  if (st.checkpoint) $("policy").value = "checkpoint:" + st.checkpoint;
  else if (st.policy) $("policy").value = "policy:" + st.policy;
  showPolicyParams(st.params || {});
  $("seed").value = st.seed ?? 0; $("speed").value = st.speed ?? 5;
  $("n-banks").value = st.playground ? "" : (st.n_banks ?? ""); $("steps").value = st.steps ?? "";
}

// the server's view of the session: the page never trusts a stale pill
let statusTimer = null, statusBusy = false;
async function statusCheck() {
  if (!S.session || statusBusy) return;
  statusBusy = true;
  const id = S.session;
  try {
    const r = await fetch(`/api/interactive/status?session_id=${encodeURIComponent(id)}`, { cache: "no-store" });
    if (id !== S.session) return;
    if (r.status === 404) { S.gone = true; setConn("lost"); setState("unknown"); closeStream(); return; }
    const st = await r.json();
    if (st.settings && S.formShown !== id) { S.formShown = id; showSettings(st.settings); }
    if (S.conn === "gone" || S.conn === "closed" || S.conn === "lost") {  // back: read on from where the page is
      if (!S.finished) { closeStream(); connect(id, S.lastSeq); }
      else setConn("ended");
    }
    if (!S.finished && S.queue.length === 0 && st.last_seq <= S.lastSeq) setState(st.state);
  } catch (e) {
    if (id === S.session && !S.finished) { setConn("gone"); setState("unknown"); }
  } finally {
    statusBusy = false;
  }
}

async function refreshSessions() {
  let list;
  try { list = (await fetch("/api/interactive/sessions", { cache: "no-store" }).then(r => r.json())).sessions; }
  catch (e) { return; }
  const body = $("sessions").querySelector("tbody"); body.replaceChildren();
  for (const s of [...list].sort((a, b) => b.created - a.created)) {
    const tr = document.createElement("tr"); tr.dataset.session = s.session_id;
    if (s.session_id === S.session) tr.className = "current";
    const cells = [s.session_id + (s.parent ? ` ⑂${s.parent}@${s.fork_step}` : ""), s.state, `${s.step}/${s.max_steps}`, plural(s.n_banks, "bank")];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    const td = document.createElement("td");
    if (s.session_id !== S.session) td.appendChild(button("Attach", "attach", () => { closeCompare(); attach(s.session_id, s.state); if (s.parent) openCompare(s.parent, s.fork_step); refreshSessions(); }));
    if (LIVE.has(s.state)) td.appendChild(button("Stop", "stop-session", async () => {
      try { await api("/api/interactive/control", { session_id: s.session_id, command: "stop" }); } catch (e) { error(e.message); }
      refreshSessions();
    }));
    tr.appendChild(td); body.appendChild(tr);
  }
}

function button(text, cls, onclick) {
  const b = document.createElement("button"); b.textContent = text; b.className = "small " + cls; b.onclick = onclick; return b;
}

async function control(command, extra = {}, session = S.session) {
  message("");
  try {
    const res = await api("/api/interactive/control", { session_id: session, command, ...extra });
    if (session === S.session && res.state) setState(res.state);
    return res;
  } catch (e) { error(e.message); return null; }
}

// ------------------------------------------------------------------ reload: resume, not replay
// What the page showed (histories, logs, feed, selection) is kept in this tab's storage with the
// last event applied (L) and the last step_end applied (E). After a reload the page reads the
// session's init event, asks the stream for the events after E - 1 (E's snapshot restores every
// bank), applies those up to L to its state only (nothing shown twice), and goes on live.
const SAVE_KEY = "interbank.view";
function save() {
  if (!S.session || !S.init) return;
  const flows = (name) => { const f = S.marketFlows.get(name); return f ? { now: f.now, steps: f.steps.slice(-1000) } : null; };
  const view = {
    session: S.session, lastSeq: Math.max(S.lastSeq, S.resumeAt), endSeq: S.endSeq, totals: S.totals, state: S.state,
    stepTotals: S.stepTotals.slice(-3000), unmetTotal: S.unmetTotal, cbDraws: S.cbDraws || null,
    markets: [...S.marketHistory].map(([name, h]) => [name, h.slice(-1000), flows(name)]),
    logItems: S.logItems.slice(-300), recent: S.recent.slice(-1000),
    feed: feedFilter() ? [] : [...$("feed").children].map(li => [li.textContent, li.className]),
    selected: S.selected, equity: S.selected ? S.equityHistory.get(S.selected) || [] : [], market: S.market, view: S.view,
    compare: S.compare ? { other: S.compare.other, fork: S.compare.fork } : null,
  };
  try { sessionStorage.setItem(SAVE_KEY, JSON.stringify(view)); } catch (e) { /* storage off or full: a reload replays */ }
}

function saved(id) {
  try { const v = JSON.parse(sessionStorage.getItem(SAVE_KEY) || "null"); return v && v.session === id && v.lastSeq >= 0 ? v : null; }
  catch (e) { return null; }
}

async function resumeView(id, v, state) {
  let init = null;
  try { const r = await fetch(`/api/interactive/init/${encodeURIComponent(id)}`, { cache: "no-store" }); if (r.ok) init = await r.json(); }
  catch (e) { /* handled below */ }
  if (!init) { attach(id, state); return; }
  reset();
  S.session = id; $("session-id").textContent = id; remember(id);
  S.quiet = true; onInit(init.data); S.quiet = false;
  restore(v);
  S.resumeAt = v.lastSeq; S.endSeq = v.endSeq; S.catchUp = Infinity; S.resuming = true;
  S.lastSeq = v.endSeq > 0 ? v.endSeq - 1 : 0;
  setState(state || v.state);
  connect(id, S.lastSeq);
  statusCheck();
}

function restore(v) {
  S.stepTotals = v.stepTotals || [];
  for (const [name, h, f] of v.markets || []) if (S.marketHistory.has(name)) { S.marketHistory.set(name, h); if (f) S.marketFlows.set(name, f); }
  S.unmetTotal = v.unmetTotal || 0; S.cbDraws = v.cbDraws || undefined;
  for (const item of v.logItems || []) { S.logItems.push(item); pendingLog.push(item); }
  for (const [text, cls] of v.feed || []) $("feed").appendChild(Object.assign(document.createElement("li"), { textContent: text, className: cls }));
  S.recent = v.recent || [];
  if (v.selected && S.index.has(v.selected)) { S.selected = v.selected; if (v.equity) S.equityHistory.set(v.selected, v.equity); }
  if (v.view) S.view = v.view;
  if (v.totals) header(v.totals);
  if (v.compare && !S.compare) openCompare(v.compare.other, v.compare.fork);
  if (v.market && S.marketHistory.has(v.market)) openMarket(v.market);
  refreshBankSelect(); refreshBankPanel(); systemPanel();
}

// ------------------------------------------------------------------ events, once per frame
function drain(now) {
  if (!S.queue.length) return;
  const t0 = performance.now();
  // the newest step_end already queued: older snapshots are read for their totals only
  let lastEnd = -1;
  for (let k = S.queue.length - 1; k >= 0; k--) if (S.queue[k][1] === "step_end") { lastEnd = k; break; }
  let k = 0;
  for (; k < S.queue.length; k++) {
    const [seq, type, data] = S.queue[k];
    if (seq <= S.lastSeq) continue;
    S.lastSeq = seq;
    if (S.firstSeq === null) { S.firstSeq = seq; S.resuming = false; }
    S.quiet = seq <= S.resumeAt;  // already shown before a reload: state only, no feed, log or history
    if (type === "step_end") S.endSeq = seq;
    if (type === "step_end" && k !== lastEnd) stepEndTotals(data);
    else if (type === "transaction" && k < lastEnd - 1 && S.queue.length > 20000) countTransaction(data);
    else onEvent(JSON.parse(data), now);
    if (performance.now() - t0 > FRAME_BUDGET_MS && k + 1 < S.queue.length && S.queue.length - k < 50000) { k++; break; }
  }
  S.quiet = false;
  S.queue = k >= S.queue.length ? [] : S.queue.slice(k);
  if (!S.queue.length && S.catchUp === Infinity) S.catchUp = S.lastSeq;
}

// one handler per event type (GET /api/vocabulary lists the types; checkVocabulary and
// tests/interactive/test_vocabulary.py check that each is here or in IGNORED_EVENTS)
const IGNORED_EVENTS = [];
const EVENT_HANDLERS = {
  init: (e) => onInit(e.data),
  step_start: (e) => {
    S.step = { step: e.step, n: 0, by: {}, sample: [], profits: 0, profit: 0, cb: 0, cbAmount: 0 };
    if (S.state === "ready") setState("running");  // the first step: the stream says it runs before the status does
  },
  transaction: (e) => onTransaction(e),
  profit_booking: (e) => {
    const d = e.data, st = S.step; if (st) { st.profits++; st.profit += d.profit; }
    remember_(e.step, "profit", [d.bank], `${d.bank} booked ${money(d.profit)} on ${d.market} (${(100 * d.return).toFixed(1)}%)`);
  },
  default: (e, now) => { onDefault(e, now); S.dirty = true; },
  cascade: (e, now) => onCascade(e, now),
  step_end: (e) => { if (S.state === "ready") setState("running"); onStepEnd(e); S.dirty = true; },
  complete: (e) => {
    feed(`${e.step} · complete (${e.data.reason})`, "control");
    S.finished = true; if (S.state !== "stopped") setState("complete"); else setState("stopped");
    closeStream(); setConn("ended"); refreshSessions();
  },
  paused: (e) => { setState("paused"); feed(`${e.step} · paused`, "control"); },
  resumed: (e) => { setState("running"); feed(`${e.step} · resumed`, "control"); },
  stopped: (e) => { setState("stopped"); feed(`${e.step} · stopped`, "control"); },
  capital_added: (e) => {
    const d = e.data, b = S.banks.get(d.bank);
    if (b) { b.cash = d.cash; b.equity = d.equity; b.leverage = leverageOf(b); }
    header({ capital: (S.totals ? S.totals.capital : 0) + d.amount });
    feed(`${e.step} · ${d.bank} +${money(d.amount)} capital`, "control", [d.bank]);
    afterControl();
  },
  central_bank: (e) => onCentralBank(e),
  bank_deleted: (e) => {
    const d = e.data, b = S.banks.get(d.bank);
    if (b) {
      const wasActive = !b.defaulted && !b.deleted;
      b.deleted = true;
      if (wasActive) header({ active: S.totals.active - 1, capital: S.totals.capital - d.equity });
    }
    feed(`${e.step} · ${d.bank} deleted`, "control", [d.bank]);
    afterControl(); fetchExposures(e.step, true);
  },
};

function onEvent(e, now) {
  const handle = EVENT_HANDLERS[e.type];
  if (handle) handle(e, now);
}

function afterControl() { refreshBankSelect(); refreshBankPanel(); S.dirty = true; }

function leverageOf(b) {
  const inv = b.investments ? Object.values(b.investments).reduce((a, x) => a + x, 0) : 0;
  const assets = (b.cash || 0) + (b.book || 0) + (b.loans_out || 0) + inv;
  return b.equity > 0 ? assets / b.equity : null;
}

function onTransaction(e) {
  const d = e.data, st = S.step;
  const b = S.banks.get(d.bank); if (b) b.priority = d.priority;
  if (!d.amount) return;  // nothing changed hands: not a trade to show or count
  const other = d.counterparty || d.market || "";
  const text = `${d.bank} ${d.action} ${other} ${money(d.amount)} (${d.priority})`;
  remember_(e.step, "tx", d.counterparty ? [d.bank, d.counterparty] : [d.bank], text);
  if (d.market && !S.quiet) { const f = S.marketFlows.get(d.market); if (f) f.now += d.action === "INVEST" ? d.amount : d.action === "DIVEST" ? -d.amount : 0; }
  if (!st) return;
  st.n++; st.by[d.action] = (st.by[d.action] || 0) + 1;
  // reservoir sample: every transaction of the step is equally likely to be shown
  if (st.sample.length < SAMPLE_PER_STEP) st.sample.push(text);
  else { const j = Math.floor(rand(st) * st.n); if (j < SAMPLE_PER_STEP) st.sample[j] = text; }
  if (d.counterparty && S.nodes.length <= 300 && S.catchUp !== Infinity) pulse(d.bank, d.counterparty);
}

function countTransaction(raw) {  // far behind: count it without reading it
  const st = S.step; if (!st) return;
  if (/"amount":0(\.0)?[,}]/.test(raw)) return;
  const a = /"action":"(\w+)"/.exec(raw); st.n++; if (a) st.by[a[1]] = (st.by[a[1]] || 0) + 1;
}

function rand(st) {  // a small deterministic PRNG per step (mulberry32) so a replay samples the same
  st.rng = (st.rng === undefined ? st.step * 2654435761 : st.rng) + 0x6D2B79F5 | 0;
  let t = st.rng; t = Math.imul(t ^ t >>> 15, t | 1); t ^= t + Math.imul(t ^ t >>> 7, t | 61);
  return ((t ^ t >>> 14) >>> 0) / 4294967296;
}

function onDefault(e, now) {
  const d = e.data, b = S.banks.get(d.bank);
  if (b) { b.defaulted = d.cause !== "deleted"; b.equity = d.equity; }
  log(`${e.step} · ${d.bank} defaulted (${d.cause}, equity ${money(d.equity)})`, "default", [d.bank]);
  remember_(e.step, "default", [d.bank], `${d.bank} DEFAULTED (${d.cause}, equity ${money(d.equity)})`);
  feed(`${e.step} · ${d.bank} DEFAULTED (${d.cause}, equity ${money(d.equity)})`, "default", [d.bank], false);
  if (S.index.has(d.bank) && S.catchUp !== Infinity) S.flashes.push({ i: S.index.get(d.bank), t: now });
}

function onCascade(e, now) {
  const d = e.data;
  const cascade = { step: e.step, trigger: d.trigger, defaulted: d.defaulted, depth: d.depth };
  log(`${e.step} · cascade from ${d.trigger.join(", ")}: ${plural(d.defaulted.length, "bank")}, depth ${d.depth}, losses ${money(d.losses)}`,
    "cascade", [...d.trigger, ...d.defaulted], cascade);
  feed(`${e.step} · cascade from ${d.trigger.join(", ")}: ${plural(d.defaulted.length, "bank")}`, "cascade", [...d.trigger], false);
  if (S.catchUp !== Infinity) playCascade(cascade, now);
}

function replayButton(cascade) {
  return button("replay", "replay", (ev) => { ev.stopPropagation(); playCascade(cascade, performance.now()); });
}

function playCascade(c, now) {
  const idx = (ids) => ids.filter(id => S.index.has(id)).map(id => S.index.get(id));
  const triggers = idx(c.trigger), victims = idx(c.defaulted.filter(id => !c.trigger.includes(id)));
  S.cascadeAnim = { triggers, victims, t: now, step: c.step };
  for (const i of triggers) S.flashes.push({ i, t: now });
  S.overlay = true;
}

const CENTRAL_BANK_HANDLERS = {
  inject: (e, d) => {
    const b = S.banks.get(d.bank);
    if (b) { b.cash = (b.cash || 0) + d.amount; b.central_bank_loans = (b.central_bank_loans || 0) + d.amount; b.leverage = leverageOf(b); }
    feed(`${e.step} · central bank: ${d.bank} +${money(d.amount)} liquidity at ${pct(d.rate)}`, "control", [d.bank]);
    afterControl();
  },
  set_policy_rate: (e, d) => {
    feed(`${e.step} · central bank: policy rate ${pct(d.value)} a year`, "control");
    centralBankRates(d.value, S.minCapital, true);
  },
  set_capital_requirement: (e, d) => {
    feed(`${e.step} · central bank: min capital ratio ${pct(d.value)}`, "control");
    centralBankRates(S.policyRate, d.value, true);
  },
  // the simulation's own
  lending_facility: (e, d) => {
    const st = S.step; if (st) { st.cb++; st.cbAmount += d.amount; }
    remember_(e.step, "cb", [d.bank], `${d.bank} drew ${money(d.amount)} from the central bank at ${pct(d.rate)}`);
  },
  repayment: (e, d) => remember_(e.step, "cb", [d.bank], `${d.bank} repaid ${money(d.amount)} to the central bank`),
};
function onCentralBank(e) {
  const handle = CENTRAL_BANK_HANDLERS[e.data.operation];
  if (handle) handle(e, e.data);
}

function centralBankRates(rate, capital, fill = false) {
  if (rate !== null && rate !== undefined) S.policyRate = rate;
  if (capital !== null && capital !== undefined) S.minCapital = capital;
  $("cb-rate-now").textContent = pct(S.policyRate);
  $("cb-capital-now").textContent = pct(S.minCapital);
  const put = (id, x) => { if (x !== null && (fill || $(id).value === "")) $(id).value = +(100 * x).toFixed(4); };
  put("cb-rate", S.policyRate); put("cb-capital", S.minCapital);
}

function onInit(d) {
  S.init = d; S.maxSteps = d.config.max_steps;
  const reg = d.config.resolved && d.config.resolved.regulation;
  centralBankRates(d.config.policy_rate, reg ? reg.min_capital_ratio : null);
  $("max-steps").textContent = "/" + S.maxSteps;
  if (d.config.branch && !S.compare) openCompare(d.config.branch.parent, d.config.branch.step);
  layout(d); S.dirty = true;
  for (const b of d.banks) S.banks.set(b.id, { id: b.id, equity: b.capital, defaulted: false, deleted: false, priority: "PROFIT" });
  S.markets = d.markets;
  for (const m of d.markets) { S.marketHistory.set(m.name, [[0, m.price]]); S.marketFlows.set(m.name, { now: 0, steps: [] }); }
  marketsPanel();
  header({ step: 0, active: d.banks.length, defaults: 0, capital: d.banks.reduce((a, b) => a + b.capital, 0) });
  S.selected = d.banks.length ? d.banks[0].id : null;
  $("bank-select").disabled = false;
  refreshBankSelect(); refreshBankPanel(); fetchExposures(0);
}

// Vogel spiral: even spacing at any size, the most connected banks in the middle
function layout(d) {
  const degree = new Map(d.banks.map(b => [b.id, 0]));
  for (const c of d.connections) { degree.set(c.lender, degree.get(c.lender) + c.amount); degree.set(c.borrower, degree.get(c.borrower) + c.amount); }
  const order = d.banks.map((b, i) => i).sort((a, b) => degree.get(d.banks[b].id) - degree.get(d.banks[a].id) || a - b);
  const n = d.banks.length;
  S.names = d.banks.map(b => b.id);
  S.index = new Map(S.names.map((id, i) => [id, i]));
  S.nodes = new Array(n);
  order.forEach((bank, k) => {
    const r = Math.sqrt((k + 0.5) / n), a = k * 2.399963229728653;
    S.nodes[bank] = { id: S.names[bank], x: r * Math.cos(a), y: r * Math.sin(a), r: 3 };
  });
  S.spacing = Math.sqrt(Math.PI / Math.max(1, n));
  // a grid over the unit disc for picking: one cell per node on average
  const cells = Math.max(1, Math.ceil(2 / S.spacing));
  S.grid = { cells, size: 2 / cells, bins: new Map() };
  S.nodes.forEach((p, i) => {
    const key = cellOf(p.x, p.y); let bin = S.grid.bins.get(key); if (!bin) S.grid.bins.set(key, bin = []); bin.push(i);
  });
}
function cellOf(x, y) {
  const g = S.grid, cx = Math.floor((x + 1) / g.size), cy = Math.floor((y + 1) / g.size);
  return cx * 100003 + cy;
}

// step_end read without parsing the balance sheets: its header and its tail (markets, totals)
const HEAD = /"step":(\d+),"active_banks":(\d+),"defaults":(\d+),"total_capital":([-0-9.eE+]+)/;
function stepEndTotals(raw) {
  const h = HEAD.exec(raw.slice(0, 400));
  const at = raw.lastIndexOf('"markets":[');
  const tail = at > 0 ? JSON.parse("{" + raw.slice(at, -1)) : { markets: [], totals: null };
  stepTotalsOf(+h[1], +h[2], +h[3], +h[4], tail.markets, tail.totals);
}

function stepTotalsOf(step, active, defaults, capital, markets, totals) {
  const last = S.stepTotals[S.stepTotals.length - 1];
  if (!last || last.step < step) {  // a step restored after a reload is not counted twice
    S.stepTotals.push({ step, active, defaults, capital });
    if (S.stepTotals.length > 10000) S.stepTotals.shift();
    for (const m of markets) {
      const h = S.marketHistory.get(m.name); if (h) { h.push([step, m.price]); if (h.length > 5000) h.shift(); }
      const f = S.marketFlows.get(m.name); if (f) { f.steps.push([step, f.now]); f.now = 0; if (f.steps.length > 5000) f.steps.shift(); }
    }
    if (totals) S.unmetTotal += totals.funding_unmet || 0;
  }
  if (totals) S.lastTotals = totals;
  S.markets = markets.length ? markets : S.markets;
  header({ step, active, defaults, capital });
  finishStep();
}

function onStepEnd(e) {
  const d = e.data;
  for (const b of d.banks) {
    S.banks.set(b.id, b);
    let h = S.equityHistory.get(b.id); if (!h) S.equityHistory.set(b.id, h = []);
    if (!S.quiet) { h.push(b.defaulted || b.deleted ? 0 : b.equity); if (h.length > 300) h.shift(); }
  }
  if (d.totals) centralBankRates(d.totals.policy_rate, d.totals.min_capital_ratio);
  stepTotalsOf(d.step, d.active_banks, d.defaults, d.total_capital, d.markets, d.totals);
  systemPanel(); marketsPanel(); refreshBankSelect(); refreshBankPanel();
  fetchExposures(d.step);
}

function finishStep() {
  const st = S.step; if (!st) return;
  S.step = null;
  const by = Object.entries(st.by).map(([a, c]) => `${a} ${c}`).join(" · ");
  const parts = [`${st.step} · ${plural(st.n, "transaction")}${by ? ": " + by : ""}`];
  if (st.profits) parts.push(`${plural(st.profits, "profit booking")}, net ${money(st.profit)}`);
  if (st.cb) parts.push(`${plural(st.cb, "facility draw")} ${money(st.cbAmount)}`);
  S.cbDraws = st.cb ? `${st.cb} · ${money(st.cbAmount)}` : "none";
  feed(parts.join("; "), "summary", null, false);
  for (const text of st.sample) feed(`${st.step} · ${text}`, "tx", null, false);
}

// ------------------------------------------------------------------ exposures (current, directed)
function fetchExposures(step, force = false) {
  if (!S.session) return;
  S.exposureWanted = step;
  if (force) S.exposureStep = -1;
  if (S.exposureBusy || step === S.exposureStep) return;
  S.exposureBusy = true;
  const id = S.session, n = S.nodes.length;
  const limit = n <= 400 ? "" : `&limit=${Math.min(6000, 3 * n)}`;
  fetch(`/api/interactive/exposures/${id}?step=${step}${limit}`, { cache: "no-store" })
    .then(r => { if (!r.ok && id === S.session) S.exposureStep = step; return r.ok ? r.json() : null; })  // not kept: do not ask again
    .then(x => { if (x && id === S.session) { S.exposures = x; S.exposureStep = step; S.dirty = true; $("sys-exposures").textContent = `${x.count} · ${money(x.total)}`; } })
    .catch(() => {})
    .finally(() => { S.exposureBusy = false; if (S.exposureWanted !== S.exposureStep && id === S.session) fetchExposures(S.exposureWanted); });
}

// ------------------------------------------------------------------ panels
function header(h) {
  S.totals = Object.assign(S.totals || {}, h);
  if (h.step !== undefined) $("step").textContent = h.step;
  if (h.active !== undefined) $("active").textContent = h.active;
  if (h.defaults !== undefined) $("defaults").textContent = h.defaults;
  if (h.capital !== undefined) $("capital").textContent = money(h.capital);
}

// whether the server takes a command in a state (the vocabulary's command rules; before it is
// loaded, the runner's own states); an interrupted session (read back after a server restart) is
// re-created, paused at its last step, by pause or resume
const WHEN = { pause: ["ready", "running"], resume: ["paused"] };
function allowed(command, state) {
  const rule = VOCAB && VOCAB.commands.find(c => c.name === command);
  return (rule ? rule.when : WHEN[command] || []).includes(state);
}

function setState(state) {
  if (!state) return;
  S.state = state;
  const pill = $("state"); pill.textContent = state; pill.className = "pill " + state;
  $("pause").disabled = !allowed("pause", state);
  $("resume").disabled = !allowed("resume", state);
  $("resume").textContent = S.compare && S.compare.state === "paused" ? "Resume both" : "Resume";
  $("stop").disabled = !LIVE.has(state);
  $("branch").disabled = state !== "paused";
  for (const id of ["cb-rate", "cb-set-rate", "cb-capital", "cb-set-capital"]) $(id).disabled = state !== "paused";
  $("bank-select").disabled = !S.names.length;
  actionButtons();
}

// actions are enabled only for a bank they can act on: the one shown
function actionButtons() {
  const b = S.banks.get(S.selected), paused = S.state === "paused";
  const alive = !!b && !b.defaulted && !b.deleted;
  for (const id of ["amount", "add-capital", "cb-amount", "cb-inject"]) $(id).disabled = !(paused && alive);
  $("delete-bank").disabled = !(paused && b && !b.deleted);
  $("delete-bank").textContent = b && b.defaulted && !b.deleted ? `Delete failed ${b.id}` : b ? `Delete ${b.id}` : "Delete bank";
  $("add-capital").textContent = b ? `Add capital to ${b.id}` : "Add capital";
}

let selectKey = "";
function refreshBankSelect() {
  const sel = $("bank-select");
  const ids = S.names;
  const key = ids.map(id => { const b = S.banks.get(id); return b && b.deleted ? "x" : b && b.defaulted ? "d" : "a"; }).join("") + ids.length;
  if (key !== selectKey) {  // rebuilt only when a bank's state changed; gone banks stay listed, marked
    selectKey = key;
    const frag = document.createDocumentFragment();
    for (const id of ids) {
      const b = S.banks.get(id), o = new Option(b && b.deleted ? `${id} (deleted)` : b && b.defaulted ? `${id} (defaulted)` : id, id);
      if (b && (b.deleted || b.defaulted)) o.className = "gone";
      frag.appendChild(o);
    }
    sel.replaceChildren(frag);
  }
  if (S.selected !== null && sel.value !== S.selected) sel.value = S.selected;
  actionButtons();
}

function select(id) {
  if (!S.index.has(id)) return;
  S.selected = id; $("bank-select").value = id; refreshBankPanel(); actionButtons(); S.overlay = true;
}

function refreshBankPanel() {
  const b = S.banks.get(S.selected);
  $("bank-name").textContent = S.selected || "–";
  const set = (id, v) => { $(id).textContent = v; };
  if (!b) { for (const id of ["bank-cash", "bank-book", "bank-loans", "bank-investments", "bank-borrowings", "bank-deposits", "bank-cb", "bank-equity", "bank-leverage", "bank-cr", "bank-lcr", "bank-state", "bank-priority"]) set(id, "–"); $("bank-note").textContent = ""; return; }
  const inv = b.investments ? Object.values(b.investments).reduce((a, x) => a + x, 0) : null;
  set("bank-cash", money(b.cash)); set("bank-loans", money(b.loans_out)); set("bank-book", money(b.book));
  set("bank-cb", money(b.central_bank_loans)); set("bank-investments", money(inv)); set("bank-borrowings", money(b.borrowings));
  set("bank-deposits", money(b.deposits)); set("bank-equity", money(b.equity));
  set("bank-leverage", b.leverage && !b.deleted && !b.defaulted ? b.leverage.toFixed(2) + "×" : "–");
  set("bank-cr", b.deleted || b.defaulted ? "–" : pct(b.capital_ratio)); set("bank-lcr", b.deleted || b.defaulted ? "–" : pct(b.lcr));
  set("bank-state", b.deleted ? "deleted" : b.defaulted ? "defaulted" : "active");
  set("bank-priority", b.priority || "–");
  $("bank-note").textContent = b.deleted ? "Deleted: the figures are its balance sheet when it left, for the record." :
    b.defaulted ? "Defaulted: the figures are its balance sheet at default. It can be deleted while paused." : "";
  $("bank-panel").classList.toggle("gone", !!(b.deleted || b.defaulted));
  spark($("bank-spark"), [S.equityHistory.get(b.id) || []], ["#4a90e2"], ["step", `${b.id} equity ($)`]);
}

function median(xs) { if (!xs.length) return null; const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]; }

function systemPanel() {
  const t = S.lastTotals;
  if (t) {
    $("sys-requested").textContent = money(t.funding_requested);
    $("sys-funding").textContent = `${money(t.funding_matched)} / ${money(t.funding_unmet)}`;
    $("sys-rate").textContent = t.interbank_rate === null ? "no trades" : pct(t.interbank_rate) + " a year";
    $("sys-cb").textContent = money(t.central_bank_loans);
  }
  $("sys-unmet-total").textContent = money(S.unmetTotal);
  $("sys-cb-draws").textContent = S.cbDraws || "none";
  const live = [...S.banks.values()].filter(b => !b.defaulted && !b.deleted);
  const cr = live.map(b => b.capital_ratio).filter(x => x !== null && x !== undefined);
  const lcr = live.map(b => b.lcr).filter(x => x !== null && x !== undefined);
  $("sys-cr").textContent = pct(median(cr)); $("sys-lcr").textContent = pct(median(lcr));
  const minCr = S.minCapital === null ? 0 : S.minCapital;
  $("sys-below").textContent = `${cr.filter(x => x < minCr).length} / ${lcr.filter(x => x < 1).length}`;
  spark($("system-spark"), [S.stepTotals.slice(-300).map(s => s.capital)], ["#3fb27f"], ["step", "total capital ($)"]);
}

function marketsPanel() {
  // rows are updated in place (rebuilt only when the markets change), so that a click is never lost on a
  // row replaced between the press and the release while steps arrive
  const box = $("markets");
  const same = box.children.length === S.markets.length && S.markets.every((m, k) => box.children[k].dataset.market === m.name);
  if (!same) {
    box.replaceChildren();
    S.markets.forEach((m, k) => {
      const row = document.createElement("div"); row.dataset.market = m.name;
      const a = document.createElement("span"), b = document.createElement("span");
      a.textContent = m.name; a.style.color = MARKET_COLORS[k % MARKET_COLORS.length];
      row.append(a, b); row.onclick = () => openMarket(m.name); box.appendChild(row);
    });
  }
  S.markets.forEach((m, k) => {
    const row = box.children[k];
    row.className = "market" + (m.name === S.market ? " open" : "");
    row.children[1].textContent = `${fmt(m.price)} (${(100 * m.return).toFixed(1)}%)`;
  });
  if (S.market) marketDashboard();
}

function openMarket(name) { S.market = name; $("market-dash").hidden = false; marketsPanel(); }

function marketDashboard() {
  const name = S.market, k = S.markets.findIndex(m => m.name === name), m = S.markets[k];
  if (!m) return;
  $("market-name").textContent = `${name}: ${fmt(m.price)} (initial ${fmt(m.initial_price)})`;
  const hist = S.marketHistory.get(name) || [];
  chart($("market-price"), [{ label: name + " price", color: MARKET_COLORS[k % MARKET_COLORS.length], points: hist },
    { label: "initial", color: "#8a99a8", points: hist.length ? [[hist[0][0], m.initial_price], [hist[hist.length - 1][0], m.initial_price]] : [], dash: true }], "step", "price");
  const flows = (S.marketFlows.get(name) || { steps: [] }).steps.slice(-120);
  bars($("market-flows"), flows, "net flow (invest − divest), $ per step");
  const holders = [...S.banks.values()].filter(b => b.investments && !b.deleted && !b.defaulted)
    .map(b => [b.id, b.investments[name] || 0]).filter(x => x[1] > 0).sort((a, b) => b[1] - a[1]);
  const total = holders.reduce((a, x) => a + x[1], 0);
  const body = $("market-holders").querySelector("tbody"); body.replaceChildren();
  for (const [id, v] of holders.slice(0, 8)) {
    const tr = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
    a.textContent = id; a.className = "link"; a.onclick = () => select(id);
    b.textContent = `${money(v)} (${(100 * v / total).toFixed(1)}%)`; tr.append(a, b); body.appendChild(tr);
  }
}

// a line chart with axes and a legend; series: [{label, color, points: [[x, y]], dash}]
function chart(canvas, series, xLabel, yLabel, marks = []) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, L = 46, R = 8, T = 18, B = 22;
  keep(canvas, ["series", xLabel, yLabel], series.flatMap(s => s.points.map(p => [s.label, p[0], p[1]])));
  g.clearRect(0, 0, w, h);
  const pts = series.flatMap(s => s.points);
  if (!pts.length) return;
  let x0 = Math.min(...pts.map(p => p[0])), x1 = Math.max(...pts.map(p => p[0]));
  let y0 = Math.min(...pts.map(p => p[1])), y1 = Math.max(...pts.map(p => p[1]));
  if (x1 === x0) x1 = x0 + 1; if (y1 === y0) { y1 += 1; y0 -= 1; }
  const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  const X = (x) => L + (x - x0) / (x1 - x0) * (w - L - R), Y = (y) => h - B - (y - y0) / (y1 - y0) * (h - T - B);
  g.strokeStyle = "#3a4754"; g.fillStyle = "#8a99a8"; g.font = "10px system-ui"; g.lineWidth = 1;
  g.beginPath(); g.moveTo(L, T); g.lineTo(L, h - B); g.lineTo(w - R, h - B); g.stroke();
  g.textAlign = "right";
  for (let k = 0; k <= 3; k++) { const y = y0 + (y1 - y0) * k / 3; g.fillText(fmtShort(y), L - 4, Y(y) + 3); }
  g.textAlign = "center";
  for (let k = 0; k <= 4; k++) { const x = x0 + (x1 - x0) * k / 4; g.fillText(Math.round(x), X(x), h - B + 12); }
  g.textAlign = "left"; g.fillText(`${yLabel} / ${xLabel}`, L + 4, T - 6);
  for (const m of marks) { g.strokeStyle = "#8a99a8"; g.setLineDash([2, 3]); g.beginPath(); g.moveTo(X(m), T); g.lineTo(X(m), h - B); g.stroke(); g.setLineDash([]); }
  let lx = w - R;
  for (const s of [...series].reverse()) {
    g.strokeStyle = s.color; g.lineWidth = 1.5; g.setLineDash(s.dash ? [4, 3] : []);
    g.beginPath(); s.points.forEach((p, i) => i ? g.lineTo(X(p[0]), Y(p[1])) : g.moveTo(X(p[0]), Y(p[1]))); g.stroke();
    g.setLineDash([]);
    const tw = g.measureText(s.label).width; lx -= tw + 18;
    g.fillStyle = s.color; g.fillRect(lx, T - 12, 10, 3); g.fillStyle = "#d9e1e8"; g.fillText(s.label, lx + 13, T - 8);
  }
}

function bars(canvas, points, label) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, L = 46, T = 14, B = 6;
  keep(canvas, ["step", label], points.map(p => [p[0], p[1]]));
  g.clearRect(0, 0, w, h);
  g.fillStyle = "#8a99a8"; g.font = "10px system-ui"; g.textAlign = "left"; g.fillText(label, L, T - 3);
  if (!points.length) return;
  const m = Math.max(1e-9, ...points.map(p => Math.abs(p[1]))), mid = T + (h - T - B) / 2, bw = (w - L) / Math.max(points.length, 30);
  g.textAlign = "right"; g.fillText(fmtShort(m), L - 4, T + 8); g.fillText(fmtShort(-m), L - 4, h - B);
  points.forEach((p, i) => {
    const v = p[1] / m * (h - T - B) / 2; g.fillStyle = v >= 0 ? "#3fb27f" : "#e05252";
    g.fillRect(L + i * bw, v >= 0 ? mid - v : mid, Math.max(1, bw - 1), Math.abs(v));
  });
  g.strokeStyle = "#3a4754"; g.beginPath(); g.moveTo(L, mid); g.lineTo(w, mid); g.stroke();
}

function fmtShort(x) {
  const a = Math.abs(x);
  if (a < 0.005) return "0";  // nothing to show: never "-0.00" or "0.00" on an axis
  return noNegZero(a >= 1e6 ? (x / 1e6).toFixed(1) + "M" : a >= 1e3 ? (x / 1e3).toFixed(1) + "k" : a >= 10 ? x.toFixed(0) : x.toFixed(2));
}

// series: arrays of values, one per step, the newest last; header: the CSV's columns (step first)
function spark(canvas, series, colors, header) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const n = Math.max(0, ...series.map(s => s.length)), steps = S.stepTotals.slice(-n).map(t => t.step);
  keep(canvas, header, Array.from({ length: n }, (_, k) =>
    [steps.length === n ? steps[k] : k - n + 1, ...series.map(s => s[k - n + s.length] ?? "")]));
  g.clearRect(0, 0, w, h);
  const all = series.flat(); if (all.length < 2) return;
  let lo = Infinity, hi = -Infinity; for (const v of all) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi - lo || 1;
  series.forEach((s, k) => {
    g.strokeStyle = colors[k]; g.lineWidth = 1.5; g.beginPath();
    s.forEach((v, i) => { const x = (i / Math.max(1, s.length - 1)) * w, y = h - 4 - ((v - lo) / span) * (h - 8); i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke();
  });
}

// the activity feed: per step a summary and a fair sample; everything recent is kept for the filters
function remember_(step, kind, banks, text) {
  if (S.quiet) return;
  S.recent.push({ step, kind, banks, text });
  if (S.recent.length > 6000) S.recent.splice(0, S.recent.length - 5000);
  if (feedFilter()) S.feedDirty = true;
}

function feed(text, cls, banks = null, keep = true) {
  if (S.quiet) return;
  if (keep) remember_(+text.split(" ")[0] || 0, cls === "cascade" ? "default" : cls, banks || [], text.replace(/^\d+ · /, ""));
  if (feedFilter()) return;
  pendingFeed.push([text, cls]);
  if (pendingFeed.length > FEED_ROWS) pendingFeed.shift();
}

// the feed and the log take their new rows once per frame, in one insertion each (no layout per event)
const FEED_ROWS = 120, LOG_ROWS = 2000, pendingFeed = [], pendingLog = [];
function flushLists() {
  for (const [pending, id, rows, make] of [[pendingFeed, "feed", FEED_ROWS, ([text, cls]) => Object.assign(document.createElement("li"), { textContent: text, className: cls })],
    [pendingLog, "log", LOG_ROWS, logRow]]) {
    if (!pending.length) continue;
    const frag = document.createDocumentFragment();
    for (let k = pending.length - 1; k >= 0; k--) frag.appendChild(make(pending[k]));
    pending.length = 0;
    const ol = $(id); ol.prepend(frag);
    while (ol.children.length > rows) ol.lastChild.remove();
  }
}

function feedFilter() { return $("feed-bank").value.trim() !== "" || $("feed-type").value !== ""; }

function renderFilteredFeed() {
  S.feedDirty = false;
  const bank = $("feed-bank").value.trim(), type = $("feed-type").value, ol = $("feed");
  ol.replaceChildren();
  if (!feedFilter()) { ol.appendChild(Object.assign(document.createElement("li"), { textContent: "(new activity appears here)", className: "hint" })); return; }
  const frag = document.createDocumentFragment();
  let shown = 0;
  for (let k = S.recent.length - 1; k >= 0 && shown < 200; k--) {
    const r = S.recent[k];
    if (type && r.kind !== type) continue;
    if (bank && !r.banks.includes(bank)) continue;
    const li = document.createElement("li"); li.textContent = `${r.step} · ${r.text}`; li.className = r.kind; frag.appendChild(li); shown++;
  }
  if (!shown) frag.appendChild(Object.assign(document.createElement("li"), { textContent: "nothing recent matches", className: "hint" }));
  ol.appendChild(frag);
}

// the default / cascade log: kept as data (so that a reload restores it) and drawn newest first
function log(text, cls, banks, cascade = null) {
  if (S.quiet) return;
  const item = { text, cls, banks, cascade };
  S.logItems.push(item); pendingLog.push(item);
  if (S.logItems.length > LOG_ROWS) S.logItems.shift();
  if (pendingLog.length > LOG_ROWS) pendingLog.shift();
}

function logRow(item) {
  const li = document.createElement("li"); li.textContent = item.text; li.className = item.cls;
  li.onclick = () => select(item.banks[0]);
  if (item.cascade) li.appendChild(replayButton(item.cascade));
  return li;
}

function message(text) { $("message").textContent = text; if (text) toast(text, "info"); }
// an error: next to the controls and in a toast
function error(text) { $("message").textContent = text; toast(text); }
let toastTimer = null;
function toast(text, kind = "error") {
  const t = $("toast"); t.textContent = text; t.className = "toast " + kind; t.hidden = false;
  clearTimeout(toastTimer); toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
}

// ------------------------------------------------------------------ what-if branches side by side
function openCompare(other, forkStep) {
  closeCompare();
  const cmp = { other, fork: forkStep, totals: [], state: "?", step: 0, source: null, lastSeq: -1 };
  S.compare = cmp;
  $("compare").hidden = false;
  const es = new EventSource(`/api/interactive/stream/${other}`);
  cmp.source = es;
  const on = (m) => {
    const seq = +m.lastEventId; if (seq <= cmp.lastSeq) return; cmp.lastSeq = seq;
    if (m.type === "step_end") {
      const h = HEAD.exec(m.data.slice(0, 400));
      cmp.totals.push({ step: +h[1], active: +h[2], defaults: +h[3], capital: +h[4] }); cmp.step = +h[1];
      if (cmp.state === "?" || cmp.state === "ready") cmp.state = "running";
    } else if (m.type === "paused") cmp.state = "paused";
    else if (m.type === "resumed") cmp.state = "running";
    else if (m.type === "stopped") cmp.state = "stopped";
    else if (m.type === "complete") { cmp.state = cmp.state === "stopped" ? "stopped" : "complete"; es.close(); }
    else if (m.type === "init") { const d = JSON.parse(m.data).data; cmp.totals.push({ step: 0, active: d.banks.length, defaults: 0, capital: d.banks.reduce((a, b) => a + b.capital, 0) }); }
    cmp.dirty = true;
  };
  for (const t of ["init", "step_end", "paused", "resumed", "stopped", "complete"]) es.addEventListener(t, on);
  es.onerror = () => { if (cmp.state === "complete" || cmp.state === "stopped") es.close(); };
  cmp.dirty = true;
}

function closeCompare() {
  if (S.compare && S.compare.source) S.compare.source.close();
  S.compare = null; $("compare").hidden = true;
}

function drawCompare() {
  const c = S.compare; if (!c || !c.dirty) return;
  c.dirty = false;
  const mine = [{ step: 0, active: S.init ? S.init.banks.length : 0, defaults: 0, capital: S.init ? S.init.banks.reduce((a, b) => a + b.capital, 0) : 0 }, ...S.stepTotals];
  const last = (xs) => xs[xs.length - 1] || {};
  const rows = [["this view", S.session, S.state, mine], ["branch", c.other, c.state, c.totals]];
  const body = $("compare-table").querySelector("tbody"); body.replaceChildren();
  for (const [label, id, state, tot] of rows) {
    const l = last(tot), tr = document.createElement("tr"); tr.dataset.session = id;
    for (const v of [label, id, state, l.step ?? "–", money(l.capital), l.defaults ?? "–", l.active ?? "–"]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  const series = (key) => [
    { label: `this view (${S.session})`, color: "#4a90e2", points: mine.map(s => [s.step, s[key]]) },
    { label: `branch (${c.other})`, color: "#e0a33a", points: c.totals.map(s => [s.step, s[key]]) },
  ];
  chart($("compare-capital"), series("capital"), "step", "total capital", c.fork ? [c.fork] : []);
  chart($("compare-defaults"), series("defaults"), "step", "defaults", c.fork ? [c.fork] : []);
  $("resume").textContent = c.state === "paused" && S.state === "paused" ? "Resume both" : "Resume";
}

async function branch() {
  const res = await control("branch");
  if (!res) return;
  openCompare(res.session_id, res.step);
  feed(`${res.step} · branched: ${res.session_id} continues from here (shown beside this view)`, "control");
  refreshSessions();
}

async function resume() {
  const other = S.compare && S.compare.state === "paused" ? S.compare.other : null;
  await control("resume");
  if (other) await control("resume", {}, other);
}

// ------------------------------------------------------------------ drawing
function pulse(from, to) {
  if (!S.index.has(from) || !S.index.has(to)) return;
  S.pulses.push({ a: S.index.get(from), b: S.index.get(to), t: performance.now() });
  if (S.pulses.length > 150) S.pulses.splice(0, S.pulses.length - 150);
}

function transform() {
  const c = $("network"), v = S.view, s = 0.47 * Math.min(c.width, c.height) * v.zoom;
  return { s, ox: c.width / 2 + v.x, oy: c.height / 2 + v.y };
}

// Two stacked canvases: the base (exposures and banks) is redrawn only when the data or the view
// changes, at most once a frame; the overlay on top (animations, hover, the selected bank and its
// exposures) is cheap and redrawn while something moves. A software canvas rasterises every
// drawn path at commit: redrawing thousands of edges each frame is what made frames slow.
function draw(now) {
  if (S.dirty) { S.dirty = false; S.overlay = true; drawBase(); }
  const animating = S.pulses.length || S.flashes.length || S.cascadeAnim;
  if (!S.overlay && !animating) return;
  S.overlay = false;
  drawOverlay(now);
}

function drawBase() {
  const c = $("network-base");
  if (!S.nodes.length) { $("lod").textContent = ""; paintBase(c, []); return; }
  const { s, ox, oy } = transform(), n = S.nodes.length;
  const P = S.proj = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) { P[2 * i] = ox + S.nodes[i].x * s; P[2 * i + 1] = oy + S.nodes[i].y * s; }
  const edges = edgeLayers(P), layers = [];
  // nodes: one layer per colour; radius from equity, capped by the spacing so that nodes never merge
  let maxEq = 1;
  for (const b of S.banks.values()) if (!b.defaulted && !b.deleted && b.equity > maxEq) maxEq = b.equity;
  const small = n > 3000, cap = Math.max(1.2, (small ? 0.3 : n > 300 ? 0.34 : 0.45) * S.spacing * s);
  const groups = new Map();
  for (let i = 0; i < n; i++) {
    const p = S.nodes[i], b = S.banks.get(p.id); if (!b) continue;
    const key = b.deleted ? "deleted" : b.defaulted ? "defaulted" : (b.priority || "PROFIT");
    p.r = b.deleted || b.defaulted ? Math.min(cap, 3) : Math.min(cap, 1.5 + 14 * Math.sqrt(Math.max(0, b.equity || 0) / maxEq));
    const x = P[2 * i], y = P[2 * i + 1];
    if (x < -p.r || y < -p.r || x > c.width + p.r || y > c.height + p.r) continue;
    const kind = small && p.r < 2.5 ? "squares" : "circles", gk = key + kind;
    let L = groups.get(gk); if (!L) groups.set(gk, L = { kind, style: COLORS[key], data: [], key });
    L.data.push(x, y, p.r);
  }
  // distressed and failed banks last, so that they are drawn on top of the rest
  const rank = { PROFIT: 0, deleted: 1, STABILITY: 2, LIQUIDITY: 3, defaulted: 4 };
  for (const L of [...groups.values()].sort((a, b) => rank[a.key] - rank[b.key])) layers.push({ kind: L.kind, style: L.style, data: new Float32Array(L.data) });
  // at thousands of banks the nodes fill the disc: the exposures drawn go on top of them
  paintBase(c, small ? [...layers, ...edges] : [...edges, ...layers]);
}

// the base is painted by the layer worker (off the main thread) where the browser allows it;
// a request made while it paints replaces any older one still waiting
let layerWorker, layerBusy = false, layerNext = null;
function paintBase(c, layers) {
  if (layerWorker === undefined) {
    layerWorker = typeof OffscreenCanvas !== "undefined" && typeof Worker !== "undefined" && c.getContext("bitmaprenderer") ? new Worker("/static/layer.js") : null;
    if (layerWorker) layerWorker.onmessage = (msg) => {
      c.getContext("bitmaprenderer").transferFromImageBitmap(msg.data.bitmap);
      S.baseFrames++;
      layerBusy = false;
      if (layerNext) { const next = layerNext; layerNext = null; paintBase(c, next); }
    };
  }
  if (!layerWorker) { paintLayers(c.getContext("2d"), c.width, c.height, layers); S.baseFrames++; return; }
  if (layerBusy) { layerNext = layers; return; }
  layerBusy = true;
  const buffers = layers.map(L => L.data.buffer);
  layerWorker.postMessage({ w: c.width, h: c.height, layers, id: S.baseFrames }, buffers);
}

function distressed(i) { const b = S.banks.get(S.names[i]); return !!b && !b.defaulted && !b.deleted && !!b.priority && b.priority !== "PROFIT"; }
function goneAt(i) { const b = S.banks.get(S.names[i]); return !b || b.defaulted || b.deleted; }

// level of detail: every exposure to a bank in distress, then the largest ones up to a budget
// (exposures come largest first); the rest is summarised in the legend. Width = amount.
function edgeLayers(P) {
  const x = S.exposures; if (!x) { $("lod").textContent = ""; return []; }
  const n = S.nodes.length, budget = n <= 300 ? Infinity : n <= 3000 ? 2000 : 3000;
  let amax = 0; for (let k = 0; k < x.amount.length; k++) if (x.amount[k] > amax) amax = x.amount[k];
  const widths = [[], [], [], []], stressed = [];
  let drawn = 0, drawnAmount = 0;
  for (let k = 0; k < x.amount.length; k++) {
    const a = x.lender[k], b = x.borrower[k];
    if (a >= n || b >= n || goneAt(a) || goneAt(b)) continue;
    const special = distressed(b);
    if (drawn >= budget && !special) continue;
    drawn++; drawnAmount += x.amount[k];
    if (special && n > 300) { stressed.push(k); continue; }
    widths[Math.min(3, Math.floor(Math.sqrt(x.amount[k] / (amax || 1)) * 4))].push(k);
  }
  const lines = (ks) => {
    const d = new Float32Array(4 * ks.length);
    ks.forEach((k, j) => { const A = 2 * x.lender[k], B = 2 * x.borrower[k]; d[4 * j] = P[A]; d[4 * j + 1] = P[A + 1]; d[4 * j + 2] = P[B]; d[4 * j + 3] = P[B + 1]; });
    return d;
  };
  const layers = [];
  widths.forEach((ks, cls) => { if (ks.length) layers.push({ kind: "lines", style: `rgba(130,150,175,${0.14 + 0.12 * cls})`, width: 0.7 + cls * 0.7, data: lines(ks) }); });
  if (stressed.length) layers.push({ kind: "lines", style: "rgba(224,163,58,0.35)", width: 0.8, data: lines(stressed) });
  layers.push({ kind: "triangles", style: "rgba(190,205,220,0.7)", data: arrowHeads(P, x, [...widths[3], ...widths[2]].slice(0, 400)) });
  const hidden = x.count - drawn;
  $("lod").textContent = hidden > 0 ? ` · exposures at step ${x.step}: ${drawn} drawn (${(100 * drawnAmount / (x.total || 1)).toFixed(0)}% of ${money(x.total)}), ${hidden} smaller ones hidden`
    : ` · exposures at step ${x.step}: ${drawn}`;
  return layers;
}

// arrowheads (lender -> borrower) at 62% of each exposure's line, as triangles
function arrowHeads(P, x, ks) {
  const out = [];
  for (const k of ks) {
    const A = 2 * x.lender[k], B = 2 * x.borrower[k], dx = P[B] - P[A], dy = P[B + 1] - P[A + 1], L = Math.hypot(dx, dy);
    if (L < 12) continue;
    const ux = dx / L, uy = dy / L, tx = P[A] + dx * 0.62, ty = P[A + 1] + dy * 0.62;
    out.push(tx + ux * 5, ty + uy * 5, tx - uy * 3, ty + ux * 3, tx + uy * 3, ty - ux * 3);
  }
  return new Float32Array(out);
}

function drawOverlay(now) {
  const c = $("network"), g = c.getContext("2d"), P = S.proj;
  g.clearRect(0, 0, c.width, c.height);
  if (!S.nodes.length || !P) return;
  const at = (i) => [P[2 * i], P[2 * i + 1]];
  // the selected bank's exposures, all of them, whatever the level of detail
  const sel = S.selected !== null && S.index.has(S.selected) ? S.index.get(S.selected) : -1, x = S.exposures;
  if (sel >= 0 && x) {
    const ks = [];
    for (let k = 0; k < x.amount.length; k++) if ((x.lender[k] === sel || x.borrower[k] === sel) && !goneAt(x.lender[k]) && !goneAt(x.borrower[k])) ks.push(k);
    g.strokeStyle = "rgba(255,255,255,0.55)"; g.lineWidth = 1.5; g.beginPath();
    for (const k of ks) { const [ax, ay] = at(x.lender[k]), [bx, by] = at(x.borrower[k]); g.moveTo(ax, ay); g.lineTo(bx, by); }
    g.stroke();
    const heads = arrowHeads(P, x, ks);
    g.fillStyle = "rgba(255,255,255,0.8)"; g.beginPath();
    for (let j = 0; j < heads.length; j += 6) { g.moveTo(heads[j], heads[j + 1]); g.lineTo(heads[j + 2], heads[j + 3]); g.lineTo(heads[j + 4], heads[j + 5]); g.closePath(); }
    g.fill();
  }
  // transaction pulses (small networks), default flashes, the cascade being played
  S.pulses = S.pulses.filter(p => now - p.t < 600);
  for (const p of S.pulses) {
    const k = (now - p.t) / 600, [ax, ay] = at(p.a), [bx, by] = at(p.b);
    g.fillStyle = `rgba(74,144,226,${1 - k})`; g.beginPath(); g.arc(ax + (bx - ax) * k, ay + (by - ay) * k, 2.5, 0, 7); g.fill();
  }
  S.flashes = S.flashes.filter(f => now - f.t < 1500);
  for (const f of S.flashes) {
    const k = (now - f.t) / 1500, [fx, fy] = at(f.i);
    g.strokeStyle = `rgba(224,82,82,${1 - k})`; g.lineWidth = 2; g.beginPath(); g.arc(fx, fy, 4 + 26 * k, 0, 7); g.stroke();
  }
  if (S.cascadeAnim) drawCascade(g, at, now);
  for (const [id, color] of [[S.hover, "#d9e1e8"], [S.selected, "#ffffff"]]) {
    if (id === null || !S.index.has(id)) continue;
    const i = S.index.get(id), [hx, hy] = at(i);
    g.strokeStyle = color; g.lineWidth = 2; g.beginPath(); g.arc(hx, hy, Math.max(5, S.nodes[i].r + 3), 0, 7); g.stroke();
  }
}

// trigger -> victims, revealed one after another, then fading
function drawCascade(g, at, now) {
  const c = S.cascadeAnim, age = now - c.t, total = 1200 + 150 * c.victims.length;
  if (age > total + 1500) { S.cascadeAnim = null; S.overlay = true; return; }
  const shown = Math.min(c.victims.length, Math.floor(age / 150) + 1), alpha = age > total ? 1 - (age - total) / 1500 : 1;
  g.strokeStyle = `rgba(224,82,82,${0.8 * alpha})`; g.fillStyle = `rgba(224,82,82,${0.9 * alpha})`; g.lineWidth = 1.5;
  for (let v = 0; v < shown; v++) {
    const [bx, by] = at(c.victims[v]);
    for (const t of c.triggers) { const [ax, ay] = at(t); g.beginPath(); g.moveTo(ax, ay); g.lineTo(bx, by); g.stroke(); }
    g.beginPath(); g.arc(bx, by, 5, 0, 7); g.fill();
  }
  for (const t of c.triggers) { const [ax, ay] = at(t); g.beginPath(); g.arc(ax, ay, 7, 0, 7); g.fill(); }
}

// picking: the nearest node within its radius (at least 6 px), found through the grid
function pickAt(clientX, clientY) {
  const c = $("network"), rect = c.getBoundingClientRect();
  if (!S.nodes.length) return null;
  const px = (clientX - rect.left) * (c.width / rect.width), py = (clientY - rect.top) * (c.height / rect.height);
  const { s, ox, oy } = transform(), wx = (px - ox) / s, wy = (py - oy) / s;
  const reach = Math.max(6 / s, 0);
  const g = S.grid, span = Math.ceil((reach + S.spacing) / g.size);
  const cx = Math.floor((wx + 1) / g.size), cy = Math.floor((wy + 1) / g.size);
  let best = null, dist = Infinity;
  for (let i = cx - span; i <= cx + span; i++) for (let j = cy - span; j <= cy + span; j++) {
    const bin = g.bins.get(i * 100003 + j); if (!bin) continue;
    for (const k of bin) { const p = S.nodes[k], d = Math.hypot(p.x - wx, p.y - wy); if (d < dist) { dist = d; best = k; } }
  }
  if (best === null) return null;
  return dist * s <= Math.max(6, S.nodes[best].r + 2) ? S.nodes[best].id : null;
}

let pointer = null, drag = null;
function onPointerMove(ev) {
  if (drag) {
    S.view.x = drag.vx + (ev.clientX - drag.x) * drag.k; S.view.y = drag.vy + (ev.clientY - drag.y) * drag.k;
    drag.moved = drag.moved || Math.hypot(ev.clientX - drag.x, ev.clientY - drag.y) > 4; S.dirty = true; return;
  }
  pointer = { x: ev.clientX, y: ev.clientY };
}
function hover() {
  if (!pointer) return;
  const id = pickAt(pointer.x, pointer.y), tip = $("tip");
  if (id !== S.hover) { S.hover = id; S.overlay = true; }
  if (!id) { tip.hidden = true; pointer = null; return; }
  const b = S.banks.get(id), rect = $("network").parentElement.getBoundingClientRect();
  tip.textContent = b ? `${id} · equity ${money(b.equity)} · ${b.deleted ? "deleted" : b.defaulted ? "defaulted" : b.priority || "PROFIT"}` : id;
  tip.style.left = (pointer.x - rect.left + 12) + "px"; tip.style.top = (pointer.y - rect.top + 12) + "px"; tip.hidden = false;
  pointer = null;
}

function frame(now) {
  S.frames++;
  drain(now);
  flushLists();
  hover();
  if (S.feedDirty) renderFilteredFeed();
  if (S.market && S.marketDirty) { S.marketDirty = false; marketDashboard(); }
  draw(now);
  drawCompare();
  requestAnimationFrame(frame);
}

// a central bank intervention from its field, in the units the field shows (the vocabulary's:
// dollars, or percent for rates and ratios, sent as fractions); out of range: refused here, in those units
function intervene(operation, field, extra = {}) {
  const op = VOCAB && VOCAB.central_bank_operations.find(o => o.name === operation);
  const unit = op ? VOCAB.units[op.unit] : { symbol: "", scale: 1 };
  const raw = $(field).value.trim(), label = op ? op.label : operation;
  const shown = (x) => unit.position === "prefix" ? unit.symbol + x : x + unit.symbol;
  if (raw === "" || !Number.isFinite(+raw)) { error(`${label}: type a number (${unit.label})`); return; }
  const value = +raw / unit.scale;
  if (op && (value < op.min || value > op.max || (op.min_exclusive && value === op.min))) {
    const lo = shown(op.min * unit.scale), hi = shown(op.max * unit.scale);
    const range = op.min_exclusive ? `more than ${lo}` : `between ${lo} and ${hi}`;
    error(`${label} must be ${range}${op.unit === "rate" ? " a year" : ""}; got ${shown(raw)}: nothing changed`); return;
  }
  control("central_bank", { operation, amount: value, ...extra });
}

// ------------------------------------------------------------------ export: data to take away
// Every chart keeps the figures it drew last (keep), downloadable as CSV beside its PNG; the bank
// and system tables download as CSV with the rows shown; "all banks" is every bank's balance sheet
// at the step shown (raw numbers, dollars and fractions); the stream is the server's JSONL export.
const CHARTS = ["bank-spark", "system-spark", "market-price", "market-flows", "compare-capital", "compare-defaults"];
function keep(canvas, header, rows) { canvas.csv = { header, rows }; }
const csvCell = (v) => { const t = v === null || v === undefined ? "" : String(v); return /[",\r\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t; };
const csvText = (header, rows) => [header, ...rows].map(r => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
function fileName(what, ext) {
  const last = S.stepTotals[S.stepTotals.length - 1];
  return `interbank-${S.session || "page"}-${what}${last ? "-step" + last.step : ""}.${ext}`;
}
// started inside the click that asked for it: a browser lets a page start a second download only
// from a user's gesture, so nothing here waits (no toBlob callback)
function download(blob, name) {
  const url = typeof blob === "string" ? blob : URL.createObjectURL(blob);
  const a = document.createElement("a"); a.href = url; a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  if (url !== blob) setTimeout(() => URL.revokeObjectURL(url), 60000);
}
function downloadCsv(what, header, rows) { download(new Blob([csvText(header, rows)], { type: "text/csv" }), fileName(what, "csv")); }
function chartCsv(id) {
  const d = $(id).csv;
  if (!d || !d.rows.length) { message(`${id}: nothing drawn yet`); return; }
  downloadCsv(id, d.header, d.rows);
}
function chartPng(id) {
  let c = $(id);
  if (id === "network") {  // the two stacked canvases as one picture
    const out = document.createElement("canvas"); out.width = c.width; out.height = c.height;
    const g = out.getContext("2d"); g.fillStyle = "#0b1015"; g.fillRect(0, 0, out.width, out.height);
    g.drawImage($("network-base"), 0, 0); g.drawImage(c, 0, 0); c = out;
  }
  download(c.toDataURL("image/png"), fileName(id, "png"));
}
function tableRows(table) { return [...table.querySelectorAll("tr")].map(tr => [...tr.children].map(td => td.textContent)); }
function tableCsv(tableId, what) {
  const rows = tableRows($(tableId));
  if (!rows.length) { message(`${what}: nothing shown yet`); return; }
  downloadCsv(what, ["figure", "value"], rows);
}
function allBanksCsv() {
  const banks = [...S.banks.values()];
  if (!banks.length) { message("no banks yet"); return; }
  const markets = S.markets.map(m => m.name), skip = new Set(["id", "investments"]);
  const keys = [...new Set(banks.flatMap(b => Object.keys(b)))].filter(k => !skip.has(k) && typeof banks[0][k] !== "object");
  downloadCsv("banks", ["bank", ...keys, ...markets.map(m => `investments ${m}`)],
    banks.map(b => [b.id, ...keys.map(k => b[k]), ...markets.map(m => (b.investments || {})[m] ?? "")]));
}
function exportButtons() {
  const pair = (id) => {
    const div = document.createElement("div"); div.className = "export"; div.dataset.chart = id;
    div.append(button("PNG", "export-png", () => chartPng(id)));
    if (id !== "network") div.append(button("CSV", "export-csv", () => chartCsv(id)));
    return div;
  };
  for (const id of CHARTS) $(id).insertAdjacentElement("afterend", pair(id));
  document.querySelector(".canvas-wrap").insertAdjacentElement("afterend", pair("network"));
  $("bank-csv").onclick = () => tableCsv("bank-sheet", "bank-" + (S.selected || "none"));
  $("banks-csv").onclick = allBanksCsv;
  $("system-csv").onclick = () => tableCsv("system-sheet", "system");
}
function streamLink() {
  const a = $("stream-jsonl");
  a.hidden = !S.session;
  if (S.session) { a.href = `/api/interactive/stream/${encodeURIComponent(S.session)}.jsonl`; a.download = `interbank-${S.session}.jsonl`; }
}

// ------------------------------------------------------------------ keyboard
function typing(el) {
  return !!el && (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
    (el.tagName === "INPUT" && !["button", "checkbox", "radio", "submit"].includes(el.type)));
}
function openHelp() { $("help").hidden = false; closeDialog = closeHelp; $("help-close").focus(); }
function closeHelp() { $("help").hidden = true; if (closeDialog === closeHelp) closeDialog = null; }
function onKey(ev) {
  if (ev.key === "Escape") { if (closeDialog) { ev.preventDefault(); closeDialog(); } return; }
  if (ev.ctrlKey || ev.metaKey || ev.altKey || typing(ev.target)) return;
  if (ev.key === "?") { ev.preventDefault(); openHelp(); return; }
  if (ev.key === " " && !closeDialog) {
    ev.preventDefault();  // not a click on the focused button
    if (allowed("resume", S.state)) resume();
    else if (allowed("pause", S.state)) control("pause");
  }
}

// ------------------------------------------------------------------ wiring
function wire() {
  exportButtons();
  $("start").onclick = start;
  $("pause").onclick = () => control("pause");
  $("resume").onclick = resume;
  $("stop").onclick = () => control("stop");
  $("branch").onclick = branch;
  $("add-capital").onclick = () => {
    const id = S.selected, amount = +$("amount").value;
    if (id) control("add_capital", { bank: id, amount });
  };
  $("delete-bank").onclick = async () => {
    const id = S.selected, b = S.banks.get(id); if (!id || !b) return;
    const what = b.defaulted ? `Delete failed ${id} from the network?` :
      `Delete ${id}? Its positions are sold and its creditors paid by the clearing model. This cannot be undone.`;
    if (await ask(what, `Delete ${id}`) !== "yes") return;
    if (S.selected !== id) { message(`the bank shown changed to ${S.selected}: nothing deleted`); return; }
    control("delete_bank", { bank: id });
  };
  $("cb-inject").onclick = () => { if (S.selected) intervene("inject", "cb-amount", { bank: S.selected }); };
  $("cb-set-rate").onclick = () => intervene("set_policy_rate", "cb-rate");
  $("cb-set-capital").onclick = () => intervene("set_capital_requirement", "cb-capital");
  $("policy").onchange = () => showPolicyParams();
  // Enter in an amount field submits it
  for (const [field, buttonId] of [["amount", "add-capital"], ["cb-amount", "cb-inject"], ["cb-rate", "cb-set-rate"], ["cb-capital", "cb-set-capital"]]) {
    $(field).addEventListener("keydown", (ev) => { if (ev.key === "Enter" && !$(buttonId).disabled) { ev.preventDefault(); $(buttonId).click(); } });
  }
  $("help-open").onclick = openHelp;
  $("help-close").onclick = closeHelp;
  document.addEventListener("keydown", onKey);
  $("bank-select").onchange = () => select($("bank-select").value);
  $("scenario").onchange = () => { $("n-banks").value = ""; $("steps").value = ""; showScenarioSize(); };
  $("pg-add").onclick = () => playgroundRow();
  $("pg-clear").onclick = () => { $("pg-table").querySelector("tbody").replaceChildren(); countPlayground(); };
  $("feed-bank").oninput = $("feed-type").onchange = () => { S.feedDirty = true; if (!feedFilter()) { $("feed").replaceChildren(); } };
  $("market-close").onclick = () => { S.market = null; $("market-dash").hidden = true; marketsPanel(); };
  $("compare-close").onclick = closeCompare;
  const c = $("network");
  c.addEventListener("pointerdown", (ev) => { const rect = c.getBoundingClientRect(); drag = { x: ev.clientX, y: ev.clientY, vx: S.view.x, vy: S.view.y, k: c.width / rect.width, moved: false }; });
  c.addEventListener("pointerup", (ev) => {
    const d = drag; drag = null;
    if (d && d.moved) return;
    const id = pickAt(ev.clientX, ev.clientY); if (id) select(id);
  });
  c.addEventListener("pointermove", onPointerMove);
  c.addEventListener("pointerleave", () => { drag = null; S.hover = null; $("tip").hidden = true; S.overlay = true; });
  c.addEventListener("wheel", (ev) => {
    ev.preventDefault();
    const rect = c.getBoundingClientRect(), k = c.width / rect.width;
    const px = (ev.clientX - rect.left) * k - c.width / 2, py = (ev.clientY - rect.top) * k - c.height / 2;
    const f = Math.exp(-ev.deltaY * 0.0015), z = Math.min(60, Math.max(0.5, S.view.zoom * f)), r = z / S.view.zoom;
    S.view.x = px - (px - S.view.x) * r; S.view.y = py - (py - S.view.y) * r; S.view.zoom = z; S.dirty = true;
  }, { passive: false });
  c.addEventListener("dblclick", () => { S.view = { zoom: 1, x: 0, y: 0 }; S.dirty = true; });
  setInterval(() => { if (S.session && !S.finished && !S.gone) statusCheck(); refreshSessions(); }, 2000);
  setInterval(() => { if (S.market) S.marketDirty = true; if (S.compare) S.compare.dirty = true; }, 500);
  setInterval(save, 3000);
  addEventListener("pagehide", save);
}

async function boot() {
  wire();
  setConn("idle");
  await loadChoices();
  const wanted = new URL(location.href).searchParams.get("session") || (() => { try { return localStorage.getItem("interbank.session"); } catch (e) { return null; } })();
  if (wanted) {
    try {
      const r = await fetch(`/api/interactive/status?session_id=${encodeURIComponent(wanted)}`);
      if (r.ok) {
        const st = await r.json(), v = saved(wanted);
        if (v) await resumeView(wanted, v, st.state); else attach(wanted, st.state);
      }
      else message(`session ${wanted} is no longer on the server`);
    } catch (e) { setConn("gone"); }
  }
  refreshSessions();
  requestAnimationFrame(frame);
}
boot();
