// interbank interactive page (entry module): plain ES modules, no dependencies, nothing fetched
// from elsewhere. Talks to /api/interactive/* and renders the event stream (one schema for every
// front end) on a canvas. The modules: state (the one store), events (the stream applied),
// panels, network, compare (branches side by side), timeline (past steps); this one wires them:
// setup, sessions, reload, export, keyboard.

import { $, fmt, money, plural, S, resetView } from "./state.js";
import { CENTRAL_BANK_HANDLERS, EVENT_HANDLERS, IGNORED_EVENTS, closeStream, connect, drain, onEvent, onInit, setConn } from "./events.js";
import { allowed, button, csvText, error, feed, flushLists, fmtShort, header, marketDashboard, marketsPanel, message, openMarket, pendingFeed, pendingLog, refreshBankPanel, refreshBankSelect, renderFilteredFeed, select, setState, systemPanel, textOf, toast } from "./panels.js";
import { draw, hover, wireNetwork } from "./network.js";
import { branch, closeCompare, drawCompare, openCompare, resume } from "./compare.js";
import { timelineTick, wireTimeline } from "./timeline.js";
import { groupsTick, wireGroups } from "./groups.js";
import { centralBankChoices, centralBankRestore, centralBankSaved, centralBankStartBody, showCentralBankSetting } from "./central_bank.js";

// ------------------------------------------------------------------ setup
export let SIZES = {}, DEFAULT_SIZE = null;
export async function loadChoices() {
  try {
    const [sc, cp, vocab] = await Promise.all(["/api/scenarios", "/api/checkpoints", "/api/vocabulary"].map(u => fetch(u).then(r => r.json())));
    S.vocab = vocab; S.live = new Set(vocab.live_states);
    checkVocabulary();
    SIZES = sc.sizes || {}; DEFAULT_SIZE = sc.default || null;
    const scen = $("scenario"); scen.replaceChildren(new Option("built-in default", ""));
    for (const n of sc.scenarios) scen.appendChild(new Option(n, n));
    const pol = $("policy"); pol.replaceChildren();
    for (const n of cp.checkpoints) pol.appendChild(new Option("checkpoint: " + n, "checkpoint:" + n));
    for (const p of S.vocab.policies) { const o = new Option(p.name, "policy:" + p.name); o.title = p.description; pol.appendChild(o); }
    pol.value = "policy:" + vocab.default_policy;
    centralBankChoices(vocab, cp);
    if (!pol.value && pol.options.length) pol.selectedIndex = 0;
    showPolicyParams();
    showScenarioSize();
  } catch (e) { error("could not load the server's choices: " + reason(e)); }
}

// the page handles every event type and central bank operation the server declares, or ignores it on purpose
export function checkVocabulary() {
  const own = t => !S.vocab.event_display || !S.vocab.event_display[t] || S.vocab.event_display[t].display === "own";
  const missing = S.vocab.event_types.filter(t => own(t) && !(t in EVENT_HANDLERS) && !IGNORED_EVENTS.includes(t))
    .concat([...S.vocab.central_bank_operations.map(o => o.name), ...S.vocab.facility_operations].filter(o => !(o in CENTRAL_BANK_HANDLERS)));
  if (missing.length) console.warn("interbank page: no handler for " + missing.join(", "));
  S.unhandled = missing;
}

// the chosen baseline's parameters, as inputs showing their defaults (empty = the default)
export function showPolicyParams(values = {}) {
  const box = $("policy-params"); box.replaceChildren();
  const [kind, name] = ($("policy").value || "").split(":");
  const p = kind === "policy" && S.vocab ? S.vocab.policies.find(x => x.name === name) : null;
  $("policy-about").textContent = p ? p.description : kind === "checkpoint" ? "a trained policy from the server's checkpoints folder" : "";
  if (!p) return;
  for (const [key, def] of Object.entries(p.params)) {
    const label = document.createElement("label"), inp = document.createElement("input");
    label.textContent = key + " "; inp.type = "number"; inp.step = "any"; inp.placeholder = String(def);
    const [low, high] = (p.bounds || {})[key] || [null, null];  // the server refuses values outside them
    if (low !== null) inp.min = low;
    if (high !== null) inp.max = high;
    const range = low !== null || high !== null ? `, ${low ?? "-∞"} to ${high ?? "∞"}` : "";
    inp.dataset.param = key; inp.title = `${name}'s ${key} (default ${def}${range})`;
    if (values[key] !== undefined && values[key] !== def) inp.value = values[key];
    label.appendChild(inp); box.appendChild(label);
  }
}

// a scenario runs at its own size and length unless the user types other ones
export function showScenarioSize() {
  const name = $("scenario").value, size = name ? SIZES[name] : DEFAULT_SIZE;
  $("n-banks").placeholder = size ? String(size.n_banks) : "scenario's";
  $("steps").placeholder = size ? String(size.max_steps) : "scenario's";
  $("seed").placeholder = size ? String(size.seed ?? 0) : "scenario's";
  $("scenario-size").textContent = size ? `${name || "built-in default"}: ${size.n_banks} banks, ${size.max_steps} steps, seed ${size.seed ?? 0}` +
    (size.explicit_banks ? " (banks given one by one)" : "") + ". Leave banks, steps and seed empty to keep them." : "";
}

export function playgroundRow(capital = 100, target = 10, risk = 0.5, into = null) {
  const tr = document.createElement("tr");
  for (const [v, min, extra] of [[capital, 1, ""], [target, 1, ""], [risk, 0, "0.05"]]) {
    const td = document.createElement("td"), inp = document.createElement("input");
    inp.type = "number"; inp.min = min; inp.value = v; if (extra) { inp.step = extra; inp.max = 1; }
    td.appendChild(inp); tr.appendChild(td);
  }
  const td = document.createElement("td"), b = document.createElement("button");
  b.type = "button"; b.textContent = "×"; b.onclick = () => { tr.remove(); countPlayground(); };
  td.appendChild(b); tr.appendChild(td);
  if (into) { into.appendChild(tr); return; }  // (many rows: built in a fragment, counted once)
  $("pg-table").querySelector("tbody").appendChild(tr);
  countPlayground();
}
export function countPlayground() { $("pg-count").textContent = $("pg-table").querySelectorAll("tbody tr").length; }

// the number typed in a field; undefined when it is left empty and may be; a NumberError naming the field
// when it is not a number (a type=number field reads "" for text it cannot parse, "1e" or "1e400": its
// validity says so), so that nothing is sent in place of what was typed
export class NumberError extends Error {}
export function readNumber(el, label, optional = true) {
  const raw = el.value.trim();
  if ((el.validity && el.validity.badInput) || (raw === "" && !optional) || (raw !== "" && !Number.isFinite(+raw))) {
    throw new NumberError(`${label}: type a number${optional ? " (or leave it empty)" : ""}`);
  }
  return raw === "" ? undefined : +raw;
}

export function startBody() {
  const body = { speed: readNumber($("speed"), "speed (steps per second, 0 = as fast as possible)", false) };
  const steps = readNumber($("steps"), "steps"), nBanks = readNumber($("n-banks"), "banks"), seed = readNumber($("seed"), "seed");
  if (steps !== undefined) body.steps = steps;
  if (seed !== undefined) body.seed = seed;  // empty: the scenario's own seed (the server's default)
  const [kind, name] = ($("policy").value || "").split(":");
  if (name) body[kind === "checkpoint" ? "checkpoint" : "policy"] = name;  // none chosen: the server's default_policy
  const params = {};
  for (const inp of $("policy-params").querySelectorAll("input")) {
    const v = readNumber(inp, inp.dataset.param); if (v !== undefined) params[inp.dataset.param] = v;
  }
  if (Object.keys(params).length) body.params = params;
  if ($("scenario").value) body.scenario = $("scenario").value;
  Object.assign(body, centralBankStartBody());
  const rows = [...$("pg-table").querySelectorAll("tbody tr")];
  if (rows.length) {
    body.banks = rows.map((tr, k) => {
      const v = [...tr.querySelectorAll("input")].map((i, j) => readNumber(i, `bank ${k + 1}'s ${["capital", "target leverage", "risk"][j]}`, false));
      return { capital: v[0], target_leverage: v[1], risk: v[2] };
    });
  } else if (nBanks !== undefined) {
    body.n_banks = nBanks;
  }
  return body;
}

export const UNREACHABLE = "server unreachable: is `interbank serve` still running?";
export async function api(path, body) {
  let r;
  try { r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) }); }
  catch (e) { throw new Error(UNREACHABLE); }
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}
export function reason(e) { return e instanceof TypeError ? UNREACHABLE : (e && e.message) || String(e); }

export let closeDialog = null;  // the open dialog's "cancel" (Escape)
// an in-page question (a native confirm() would block the stream); resolves "yes", "alt" or "no"
export function ask(text, yes, alt = null) {
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
export async function start() {
  message(""); $("start-error").textContent = "";
  let body;
  try { body = startBody(); } catch (e) {
    if (!(e instanceof NumberError)) throw e;
    const why = "Start refused: " + e.message + ": nothing started"; $("start-error").textContent = why; toast(why); return;
  }
  if (S.session && S.live.has(S.state)) {
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
    // the server names a playground row as the body has it (banks.1.risk, from 0); the table numbers them from 1
    const said = reason(e).replace(/^banks\.(\d+)\.(\w+)/, (_, k, field) => `bank ${+k + 1}'s ${field.replace(/_/g, " ")}`);
    const why = "Start refused: " + said + (body.replace ? ` (session ${body.replace} is still ${S.state})` : "");
    $("start-error").textContent = why; toast(why);
  }
}

// ------------------------------------------------------------------ sessions
export function remember(id) {
  try { localStorage.setItem("interbank.session", id); } catch (e) { /* storage off: the URL still has it */ }
  const url = new URL(location.href); url.searchParams.set("session", id); history.replaceState(null, "", url);
  streamLink();
}

export function reset() {
  closeStream();
  resetView();
  message("");  // what was said of the session left behind is not about the one shown now
  pendingFeed.length = 0; pendingLog.length = 0;
  $("feed").replaceChildren(); $("log").replaceChildren(); $("markets").replaceChildren(); $("market-dash").hidden = true;
  $("bank-select").replaceChildren(); $("cb-rate").value = ""; $("cb-capital").value = "";
  for (const id of ["step", "defaults"]) $(id).textContent = "0";
  for (const id of ["active", "capital"]) $(id).textContent = "–";
  refreshBankPanel();
}

// watch a session from its first event: every figure, log and chart is rebuilt from the stream;
// after that the browser re-connects by itself with Last-Event-ID and gets exactly what it missed
export function attach(id, state = null) {
  reset();
  S.session = id; $("session-id").textContent = id; remember(id);
  S.catchUp = Infinity;  // until the backlog is read: no animations
  setState(state || "ready");
  connect(id, -1);
  statusCheck();
}

// the Setup form shows what the session shown was started with (after a reload or an Attach too)
export function showSettings(st) {
  if (st.scenario !== undefined) { $("scenario").value = st.scenario || ""; showScenarioSize(); }
  if (st.checkpoint) $("policy").value = "checkpoint:" + st.checkpoint;
  else if (st.policy) $("policy").value = "policy:" + st.policy;
  showPolicyParams(st.params || {});
  $("seed").value = st.seed ?? ""; $("speed").value = st.speed ?? 5;
  $("n-banks").value = st.playground ? "" : (st.n_banks ?? ""); $("steps").value = st.steps ?? "";
  showCentralBankSetting(st);
  // the playground's banks, read from the session's init event (a Start must run the same banks); none
  // for a session of generated banks (rows left from before would replace its size)
  $("pg-table").querySelector("tbody").replaceChildren(); countPlayground();
  if (st.playground) showPlaygroundBanks(S.session);
}

async function showPlaygroundBanks(id) {
  const r = await fetch(`/api/interactive/init/${encodeURIComponent(id)}`, { cache: "no-store" }).catch(() => null);
  if (!r || !r.ok || id !== S.session) return;
  const init = await r.json();
  if (id !== S.session) return;
  const banks = init.data.banks, rows = document.createDocumentFragment();
  if (banks.length > PLAYGROUND_ROWS) {  // (a form of thousands of rows is no form: the size stands for them)
    $("n-banks").value = banks.length;
    message(`this playground session has ${banks.length} banks, more than the form shows (${PLAYGROUND_ROWS}): ` +
      "Start runs as many generated banks");
    return;
  }
  for (const b of banks) playgroundRow(b.capital, b.target_leverage, b.risk, rows);
  $("pg-table").querySelector("tbody").replaceChildren(rows);
  countPlayground();
  $("playground").open = true;
}
const PLAYGROUND_ROWS = 500;

// the server's view of the session: the page never trusts a stale pill
export let statusTimer = null, statusBusy = false;
export async function statusCheck() {
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

export async function refreshSessions() {
  let list;
  try { list = (await fetch("/api/interactive/sessions", { cache: "no-store" }).then(r => r.json())).sessions; }
  catch (e) { return; }
  const body = $("sessions").querySelector("tbody"); body.replaceChildren();
  for (const s of [...list].sort((a, b) => b.created - a.created)) {
    const tr = document.createElement("tr"); tr.dataset.session = s.session_id;
    if (s.session_id === S.session) tr.className = "current";
    const cells = [s.session_id + (s.parent ? ` (branch of ${s.parent} at step ${s.fork_step})` : ""), s.state, `${s.step}/${s.max_steps}`, plural(s.n_banks, "bank")];
    for (const c of cells) { const td = document.createElement("td"); td.textContent = c; tr.appendChild(td); }
    const td = document.createElement("td");
    if (s.session_id !== S.session) td.appendChild(button("Attach", "attach", () => { closeCompare(); attach(s.session_id, s.state); if (s.parent) openCompare(s.parent, s.fork_step, "parent"); refreshSessions(); }));
    if (S.live.has(s.state)) td.appendChild(button("Stop", "stop-session", async () => {
      try { await api("/api/interactive/control", { session_id: s.session_id, command: "stop" }); } catch (e) { error(e.message); }
      refreshSessions();
    }));
    tr.appendChild(td); body.appendChild(tr);
  }
}

export async function control(command, extra = {}, session = S.session) {
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
export const SAVE_KEY = "interbank.view";
export function save() {
  if (!S.session || !S.init) return;
  const flows = (name) => { const f = S.marketFlows.get(name); return f ? { now: f.now, steps: f.steps.slice(-1000) } : null; };
  const view = {
    session: S.session, lastSeq: Math.max(S.lastSeq, S.resumeAt), endSeq: S.endSeq, totals: S.totals, state: S.state,
    stepTotals: S.stepTotals.slice(-3000), unmetTotal: S.unmetTotal, cbDraws: S.cbDraws || null,
    markets: [...S.marketHistory].map(([name, h]) => [name, h.slice(-1000), flows(name)]),
    logItems: S.logItems.slice(-300), recent: S.recent.slice(-1000).map(r => ({ ...r, text: textOf(r) })),
    feed: S.feedLines.slice(),  // oldest first
    selected: S.selected, equity: S.selected ? S.equityHistory.get(S.selected) || [] : [], market: S.market, view: S.view,
    compare: S.compare ? { other: S.compare.other, fork: S.compare.fork, role: S.compare.role } : null,
    cb: centralBankSaved(),
  };
  try { sessionStorage.setItem(SAVE_KEY, JSON.stringify(view)); } catch (e) { /* storage off or full: a reload replays */ }
}

export function saved(id) {
  try { const v = JSON.parse(sessionStorage.getItem(SAVE_KEY) || "null"); return v && v.session === id && v.lastSeq >= 0 ? v : null; }
  catch (e) { return null; }
}

export async function resumeView(id, v, state) {
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

export function restore(v) {
  S.stepTotals = v.stepTotals || [];
  for (const [name, h, f] of v.markets || []) if (S.marketHistory.has(name)) { S.marketHistory.set(name, h); if (f) S.marketFlows.set(name, f); }
  S.unmetTotal = v.unmetTotal || 0; S.cbDraws = v.cbDraws || undefined;
  for (const item of v.logItems || []) { S.logItems.push(item); pendingLog.push(item); }
  S.feedLines = v.feed || [];
  for (let k = S.feedLines.length - 1; k >= 0; k--) {
    const [text, cls] = S.feedLines[k];
    $("feed").appendChild(Object.assign(document.createElement("li"), { textContent: text, className: cls }));
  }
  S.recent = v.recent || [];
  if (v.selected && S.index.has(v.selected)) { S.selected = v.selected; if (v.equity) S.equityHistory.set(v.selected, v.equity); }
  if (v.view) S.view = v.view;
  centralBankRestore(v.cb);
  if (v.totals) header(v.totals);
  if (v.compare && !S.compare) openCompare(v.compare.other, v.compare.fork, v.compare.role || "branch");
  if (v.market && S.marketHistory.has(v.market)) openMarket(v.market);
  refreshBankSelect(); refreshBankPanel(); systemPanel();
}

export function frame(now) {
  S.frames++;
  drain(now);
  flushLists();
  hover();
  if (S.feedDirty) renderFilteredFeed();
  if (S.market && S.marketDirty) { S.marketDirty = false; marketDashboard(); }
  timelineTick();
  draw(now);
  groupsTick(now);
  drawCompare();
  requestAnimationFrame(frame);
}

// a central bank intervention from its field, in the units the field shows (the vocabulary's:
// dollars, or percent for rates and ratios, sent as fractions); out of range: refused here, in those units
export function intervene(operation, field, extra = {}) {
  const op = S.vocab && S.vocab.central_bank_operations.find(o => o.name === operation);
  const unit = op ? S.vocab.units[op.unit] : { symbol: "", scale: 1 };
  const raw = $(field).value.trim(), label = op ? op.label : operation;
  // (the sign before the symbol, as money() writes it: −$3, not $-3)
  const shown = (x) => { const v = +x, sign = v < 0 ? "−" : "", abs = String(Math.abs(v));
    return sign + (unit.position === "prefix" ? unit.symbol + abs : abs + unit.symbol); };
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
export const CHARTS = ["bank-spark", "system-spark", "market-price", "market-flows", "compare-capital", "compare-defaults"];
export function fileName(what, ext) {
  const last = S.stepTotals[S.stepTotals.length - 1];  // the step on screen: the timeline's, else the last received
  const step = S.timeline ? S.timeline.step : last ? last.step : null;
  return `interbank-${S.session || "page"}-${what}${step !== null ? "-step" + step : ""}.${ext}`;
}
// started inside the click that asked for it: a browser lets a page start a second download only
// from a user's gesture, so nothing here waits (no toBlob callback)
export function download(blob, name) {
  const url = typeof blob === "string" ? blob : URL.createObjectURL(blob);
  const a = document.createElement("a"); a.href = url; a.download = name;
  document.body.appendChild(a); a.click(); a.remove();
  if (url !== blob) setTimeout(() => URL.revokeObjectURL(url), 60000);
}
export function downloadCsv(what, header, rows) { download(new Blob([csvText(header, rows)], { type: "text/csv" }), fileName(what, "csv")); }
export function chartCsv(id) {
  const d = $(id).csv;
  if (!d || !d.rows.length) { message(`${id}: nothing drawn yet`); return; }
  downloadCsv(id, d.header, d.rows);
}
export function chartPng(id) {
  let c = $(id);
  if (id === "network") {  // the two stacked canvases as one picture
    const out = document.createElement("canvas"); out.width = c.width; out.height = c.height;
    const g = out.getContext("2d"); g.fillStyle = "#0b1015"; g.fillRect(0, 0, out.width, out.height);
    g.drawImage($("network-base"), 0, 0); g.drawImage(c, 0, 0); c = out;
  }
  download(c.toDataURL("image/png"), fileName(id, "png"));
}
export function tableRows(table) { return [...table.querySelectorAll("tr")].map(tr => [...tr.children].map(td => td.textContent)); }
export function tableCsv(tableId, what) {
  const rows = tableRows($(tableId));
  if (!rows.length) { message(`${what}: nothing shown yet`); return; }
  downloadCsv(what, ["figure", "value"], rows);
}
export function allBanksCsv() {
  const banks = [...S.banks.values()];
  if (!banks.length) { message("no banks yet"); return; }
  const markets = S.markets.map(m => m.name), skip = new Set(["id", "investments"]);
  const keys = [...new Set(banks.flatMap(b => Object.keys(b)))].filter(k => !skip.has(k) && typeof banks[0][k] !== "object");
  downloadCsv("banks", ["bank", ...keys, ...markets.map(m => `investments ${m}`)],
    banks.map(b => [b.id, ...keys.map(k => b[k]), ...markets.map(m => (b.investments || {})[m] ?? "")]));
}
export function exportButtons() {
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
export function streamLink() {
  const a = $("stream-jsonl");
  a.hidden = !S.session;
  if (S.session) { a.href = `/api/interactive/stream/${encodeURIComponent(S.session)}.jsonl`; a.download = `interbank-${S.session}.jsonl`; }
}

// ------------------------------------------------------------------ keyboard
export function typing(el) {
  return !!el && (el.isContentEditable || el.tagName === "TEXTAREA" || el.tagName === "SELECT" ||
    (el.tagName === "INPUT" && !["button", "checkbox", "radio", "submit"].includes(el.type)));
}
export function openHelp() { $("help").hidden = false; closeDialog = closeHelp; $("help-close").focus(); }
export function closeHelp() { $("help").hidden = true; if (closeDialog === closeHelp) closeDialog = null; }
export function onKey(ev) {
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
export function wire() {
  exportButtons();
  $("start").onclick = start;
  $("pause").onclick = () => control("pause");
  $("resume").onclick = resume;
  $("stop").onclick = () => control("stop");
  $("branch").onclick = branch;
  $("add-capital").onclick = () => {
    const id = S.selected; if (!id) return;
    let amount;
    try { amount = readNumber($("amount"), "capital to add (dollars)", false); } catch (e) { error(e.message + ": nothing changed"); return; }
    // (refused here, as the server would: no request for a value it cannot take)
    if (!(amount > 0)) { error(`capital to add must be more than $0; got ${money(amount)}: nothing changed`); return; }
    control("add_capital", { bank: id, amount });
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
  $("scenario").onchange = () => { $("n-banks").value = ""; $("steps").value = ""; $("seed").value = ""; showScenarioSize(); };
  $("pg-add").onclick = () => playgroundRow();
  $("pg-clear").onclick = () => { $("pg-table").querySelector("tbody").replaceChildren(); countPlayground(); };
  $("feed-bank").oninput = $("feed-type").onchange = () => { S.feedDirty = true; };
  $("market-close").onclick = () => { S.market = null; $("market-dash").hidden = true; marketsPanel(); };
  $("compare-close").onclick = closeCompare;
  wireNetwork();
  wireTimeline();
  wireGroups();
  setInterval(() => { if (S.session && !S.finished && !S.gone) statusCheck(); refreshSessions(); }, 2000);
  setInterval(() => { if (S.market) S.marketDirty = true; if (S.compare) S.compare.dirty = true; }, 500);
  setInterval(save, 3000);
  addEventListener("pagehide", save);
}

export async function boot() {
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
// for tests and the benchmark: the modules' functions a test drives directly (the state is window.__ib)
window.__page = { onEvent, plural, fmtShort, money, fmt, fileName, redrawPanels: () => { systemPanel(); refreshBankPanel(); if (S.market) marketDashboard(); } };
boot();
