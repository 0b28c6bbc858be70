// interbank interactive page: plain JS, no dependencies. Talks to /api/interactive/* and
// renders the event stream (one schema for every front end) on a canvas.
"use strict";

const $ = (id) => document.getElementById(id);
// every text that comes from the server goes into HTML through esc (names, ids, market names)
const esc = (x) => String(x).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
const fmt = (x) => (x === null || x === undefined || Number.isNaN(x)) ? "–" :
  Math.abs(x) >= 1000 ? x.toLocaleString(undefined, { maximumFractionDigits: 0 }) : x.toFixed(2);

const S = {
  session: null, source: null, state: "idle", maxSteps: 0,
  banks: new Map(),        // id -> latest snapshot
  history: new Map(),      // id -> equity history
  priority: new Map(),     // id -> last priority seen on a transaction
  nodes: [], edges: [], pulses: [],
  markets: [], marketHistory: { BANK_INDEX: [], FIN_SERVICES: [] },
  selected: null, dirty: true, lastSeq: -1,
  policyRate: null, minCapital: null, cbThisStep: 0,
};

// ------------------------------------------------------------------ setup
async function loadChoices() {
  try {
    const [sc, cp] = await Promise.all([fetch("/api/scenarios").then(r => r.json()), fetch("/api/checkpoints").then(r => r.json())]);
    $("scenario").innerHTML = `<option value="">built-in default</option>` + sc.scenarios.map(n => `<option>${esc(n)}</option>`).join("");
    $("policy").innerHTML = cp.checkpoints.map(n => `<option value="checkpoint:${esc(n)}">checkpoint: ${esc(n)}</option>`).join("") +
      cp.policies.map(n => `<option value="policy:${esc(n)}">${esc(n)}</option>`).join("");
  } catch (e) { message("could not load scenarios: " + e); }
}

function playgroundRow(capital = 100, target = 10, risk = 0.5) {
  const tr = document.createElement("tr");
  tr.innerHTML = `<td><input type="number" min="1" value="${capital}"></td><td><input type="number" min="1" value="${target}"></td>` +
    `<td><input type="number" min="0" max="1" step="0.05" value="${risk}"></td><td><button type="button">×</button></td>`;
  tr.querySelector("button").onclick = () => { tr.remove(); countPlayground(); };
  $("pg-table").querySelector("tbody").appendChild(tr);
  countPlayground();
}
function countPlayground() { $("pg-count").textContent = $("pg-table").querySelectorAll("tbody tr").length; }

function startBody() {
  const body = { seed: +$("seed").value || 0, steps: +$("steps").value || 100, speed: +$("speed").value };
  const choice = $("policy").value || "policy:heuristic";
  const [kind, name] = choice.split(":");
  body[kind === "checkpoint" ? "checkpoint" : "policy"] = name;
  if ($("scenario").value) body.scenario = $("scenario").value;
  const rows = [...$("pg-table").querySelectorAll("tbody tr")];
  if (rows.length) {
    body.banks = rows.map(tr => { const v = [...tr.querySelectorAll("input")].map(i => +i.value); return { capital: v[0], target_leverage: v[1], risk: v[2] }; });
  } else {
    body.n_banks = +$("n-banks").value;
  }
  return body;
}

async function api(path, body) {
  const r = await fetch(path, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}

async function start() {
  message("");
  if (S.source) S.source.close();
  try {
    const res = await api("/api/interactive/start", startBody());
    reset();
    S.session = res.session_id;
    setState(res.state === "paused" ? "paused" : "running");
    connect(res.stream_url);
  } catch (e) { message(e.message); }
}

function reset() {
  S.banks.clear(); S.history.clear(); S.priority.clear(); S.nodes = []; S.edges = []; S.pulses = [];
  S.marketHistory = { BANK_INDEX: [], FIN_SERVICES: [] }; S.selected = null; S.lastSeq = -1;
  S.policyRate = null; S.minCapital = null; $("cb-rate").value = ""; $("cb-capital").value = "";
  $("feed").innerHTML = "";
}

function connect(url) {
  const es = new EventSource(url);
  S.source = es;
  const types = ["init", "step_start", "transaction", "profit_booking", "default", "cascade", "step_end", "complete",
    "paused", "resumed", "stopped", "bank_deleted", "capital_added", "central_bank"];
  for (const t of types) es.addEventListener(t, (m) => onEvent(JSON.parse(m.data)));
  // on a dropped connection the browser reconnects with Last-Event-ID and gets exactly the missed
  // events; a finished session answers 204 and the browser stops. Closed for good on "complete".
}

async function control(command, extra = {}) {
  message("");
  try {
    const res = await api("/api/interactive/control", { session_id: S.session, command, ...extra });
    setState(res.state);
    return res;
  } catch (e) { message(e.message); }
}

// ------------------------------------------------------------------ events
let txThisStep = 0;
function onEvent(e) {
  if (e.seq <= S.lastSeq) return;
  S.lastSeq = e.seq;
  const d = e.data;
  switch (e.type) {
    case "init": onInit(d); break;
    case "step_start": txThisStep = 0; S.cbThisStep = 0; break;
    case "transaction":
      S.priority.set(d.bank, d.priority);
      pulse(d.bank, d.counterparty);
      if (txThisStep++ < 4) feed(`${e.step} · ${d.bank} ${d.action} ${d.counterparty || d.market || ""} ${fmt(d.amount)} (${d.priority})`, "tx");
      break;
    case "profit_booking": break;
    case "default": feed(`${e.step} · ${d.bank} DEFAULTED (${d.cause}, equity ${fmt(d.equity)})`, "default"); break;
    case "cascade": feed(`${e.step} · cascade from ${d.trigger.join(", ")}: ${d.defaulted.length} banks, depth ${d.depth}, losses ${fmt(d.losses)}`, "cascade"); break;
    case "step_end": onStepEnd(d); break;
    case "complete": feed(`${e.step} · complete (${d.reason})`, "control"); if (S.state !== "stopped") setState("complete"); S.source && S.source.close(); break;
    case "paused": setState("paused"); feed(`${e.step} · paused`, "control"); break;
    case "resumed": setState("running"); feed(`${e.step} · resumed`, "control"); break;
    case "stopped": setState("stopped"); feed(`${e.step} · stopped`, "control"); break;
    case "capital_added": {
      const b = S.banks.get(d.bank); if (b) { b.cash = d.cash; b.equity = d.equity; }
      feed(`${e.step} · ${d.bank} +${fmt(d.amount)} capital`, "control"); refreshBankPanel(); S.dirty = true; break;
    }
    case "central_bank": onCentralBank(e); break;
    case "bank_deleted": {
      const b = S.banks.get(d.bank); if (b) { b.deleted = true; }
      feed(`${e.step} · ${d.bank} deleted`, "control"); refreshBankSelect(); refreshBankPanel(); S.dirty = true; break;
    }
  }
}

const pct = (x) => (x === null || x === undefined) ? "–" : (100 * x).toFixed(2) + "%";

function onCentralBank(e) {
  const d = e.data;
  if (d.operation === "inject") {
    const b = S.banks.get(d.bank);
    if (b) { b.cash = (b.cash || 0) + d.amount; b.central_bank_loans = (b.central_bank_loans || 0) + d.amount; }
    feed(`${e.step} · central bank: ${d.bank} +${fmt(d.amount)} liquidity at ${pct(d.rate)}`, "control");
    refreshBankPanel(); S.dirty = true;
  } else if (d.operation === "set_policy_rate") {
    feed(`${e.step} · central bank: policy rate ${pct(d.value)}`, "control");
    centralBankRates(d.value, S.minCapital, true);
  } else if (d.operation === "set_capital_requirement") {
    feed(`${e.step} · central bank: min capital ratio ${pct(d.value)}`, "control");
    centralBankRates(S.policyRate, d.value, true);
  } else if (S.cbThisStep++ < 3) {  // the simulation's own: lending_facility, repayment
    const what = d.operation === "repayment" ? `repaid ${fmt(d.amount)} to the central bank`
      : `drew ${fmt(d.amount)} from the central bank at ${pct(d.rate)}`;
    feed(`${e.step} · ${d.bank} ${what}`, "cb");
  }
}

// the current policy rate and capital requirement; the inputs are filled when empty (or after a change)
function centralBankRates(rate, capital, fill = false) {
  if (rate !== null && rate !== undefined) S.policyRate = rate;
  if (capital !== null && capital !== undefined) S.minCapital = capital;
  $("cb-rate-now").textContent = pct(S.policyRate);
  $("cb-capital-now").textContent = pct(S.minCapital);
  const put = (id, x) => { if (x !== null && (fill || $(id).value === "")) $(id).value = +(100 * x).toFixed(4); };
  put("cb-rate", S.policyRate); put("cb-capital", S.minCapital);
}

function onInit(d) {
  S.maxSteps = d.config.max_steps;
  const reg = d.config.resolved && d.config.resolved.regulation;
  centralBankRates(d.config.policy_rate, reg ? reg.min_capital_ratio : null);
  $("max-steps").textContent = "/" + S.maxSteps;
  const degree = new Map(d.banks.map(b => [b.id, 0]));
  for (const c of d.connections) { degree.set(c.lender, degree.get(c.lender) + 1); degree.set(c.borrower, degree.get(c.borrower) + 1); }
  // rings: the most connected banks in the middle
  const order = [...d.banks].sort((a, b) => degree.get(b.id) - degree.get(a.id));
  const n = order.length, W = 900, H = 640;
  let placed = 0, ring = 0;
  S.nodes = [];
  while (placed < n) {
    const cap = ring === 0 ? Math.min(n, Math.max(1, Math.round(n * 0.1))) : Math.round(8 + ring * 10);
    const radius = ring === 0 && cap === 1 ? 0 : 60 + ring * 75;
    const count = Math.min(cap, n - placed);
    for (let k = 0; k < count; k++) {
      const a = (2 * Math.PI * k) / count + ring * 0.4;
      S.nodes.push({ id: order[placed + k].id, x: W / 2 + radius * Math.cos(a), y: H / 2 + radius * 0.82 * Math.sin(a) });
    }
    placed += count; ring++;
  }
  const outer = Math.max(1, ...S.nodes.map(p => Math.hypot(p.x - W / 2, (p.y - H / 2) / 0.82)));
  const scale = Math.min(2.5, 290 / outer);
  for (const p of S.nodes) { p.x = W / 2 + (p.x - W / 2) * scale; p.y = H / 2 + (p.y - H / 2) * scale; }
  S.index = new Map(S.nodes.map((p, i) => [p.id, i]));
  S.edges = d.connections.map(c => [S.index.get(c.lender), S.index.get(c.borrower)]);
  for (const b of d.banks) S.banks.set(b.id, { id: b.id, equity: b.capital, defaulted: false, deleted: false });
  S.markets = d.markets; marketsPanel();
  refreshBankSelect(); S.dirty = true;
}

function onStepEnd(d) {
  $("step").textContent = d.step;
  $("active").textContent = d.active_banks;
  $("defaults").textContent = d.defaults;
  $("capital").textContent = fmt(d.total_capital);
  for (const b of d.banks) {
    S.banks.set(b.id, b);
    let h = S.history.get(b.id); if (!h) S.history.set(b.id, h = []);
    h.push(b.defaulted || b.deleted ? 0 : b.equity); if (h.length > 300) h.shift();
  }
  if (d.totals) centralBankRates(d.totals.policy_rate, d.totals.min_capital_ratio);
  S.markets = d.markets;
  for (const m of d.markets) { const h = S.marketHistory[m.name]; h.push(m.price); if (h.length > 300) h.shift(); }
  marketsPanel(); refreshBankPanel(); S.dirty = true;
}

// ------------------------------------------------------------------ panels
function setState(state) {
  if (!state) return;
  S.state = state;
  const pill = $("state"); pill.textContent = state; pill.className = "pill " + state;
  const live = state === "running" || state === "paused" || state === "ready";
  $("pause").disabled = !(state === "running" || state === "ready");
  $("resume").disabled = state !== "paused";
  $("stop").disabled = !live;
  for (const id of ["bank-select", "amount", "add-capital", "delete-bank", "cb-amount", "cb-inject", "cb-rate", "cb-set-rate",
    "cb-capital", "cb-set-capital"]) $(id).disabled = state !== "paused";
  refreshBankSelect();
}

function refreshBankSelect() {
  const sel = $("bank-select"), keep = S.selected || sel.value;
  const ids = [...S.banks.values()].filter(b => !b.defaulted && !b.deleted).map(b => b.id);
  sel.innerHTML = ids.map(id => `<option${id === keep ? " selected" : ""}>${esc(id)}</option>`).join("");
  if (!S.selected && ids.length) S.selected = sel.value;
}

function refreshBankPanel() {
  const b = S.banks.get(S.selected);
  $("bank-name").textContent = S.selected || "–";
  if (!b) return;
  const inv = b.investments ? Object.values(b.investments).reduce((a, x) => a + x, 0) : null;
  $("bank-cash").textContent = fmt(b.cash); $("bank-loans").textContent = fmt(b.loans_out);
  $("bank-book").textContent = fmt(b.book); $("bank-cb").textContent = fmt(b.central_bank_loans);
  $("bank-investments").textContent = fmt(inv); $("bank-borrowings").textContent = fmt(b.borrowings);
  $("bank-deposits").textContent = fmt(b.deposits); $("bank-equity").textContent = fmt(b.equity);
  $("bank-leverage").textContent = b.leverage ? b.leverage.toFixed(2) + "×" : "–";
  $("bank-state").textContent = b.deleted ? "deleted" : b.defaulted ? "defaulted" : "active";
  $("bank-priority").textContent = (b.priority || S.priority.get(b.id) || "–");
  spark($("bank-spark"), [S.history.get(b.id) || []], ["#4a90e2"]);
}

function marketsPanel() {
  $("markets").innerHTML = S.markets.map(m => `<div><span>${esc(m.name)}</span><span>${fmt(m.price)} (${(100 * m.return).toFixed(1)}%)</span></div>`).join("");
  spark($("market-spark"), [S.marketHistory.BANK_INDEX, S.marketHistory.FIN_SERVICES], ["#e0a33a", "#9b7be0"]);
}

function spark(canvas, series, colors) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  g.clearRect(0, 0, w, h);
  const all = series.flat(); if (all.length < 2) return;
  const lo = Math.min(...all), hi = Math.max(...all), span = hi - lo || 1;
  series.forEach((s, k) => {
    g.strokeStyle = colors[k]; g.lineWidth = 1.5; g.beginPath();
    s.forEach((v, i) => { const x = (i / Math.max(1, s.length - 1)) * w, y = h - 4 - ((v - lo) / span) * (h - 8); i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke();
  });
}

function feed(text, cls) {
  const li = document.createElement("li"); li.textContent = text; li.className = cls;
  const ol = $("feed"); ol.prepend(li);
  while (ol.children.length > 60) ol.lastChild.remove();
}

function message(text) { $("message").textContent = text; }

// ------------------------------------------------------------------ drawing
function pulse(from, to) {
  if (!S.index || !to || !S.index.has(to)) return;
  S.pulses.push({ a: S.index.get(from), b: S.index.get(to), t: performance.now() });
  if (S.pulses.length > 200) S.pulses.splice(0, S.pulses.length - 200);
}

function draw(now) {
  const c = $("network"), g = c.getContext("2d");
  const hadPulses = S.pulses.length > 0;
  S.pulses = S.pulses.filter(p => now - p.t < 600);
  if (S.dirty || S.pulses.length || hadPulses) {
    g.clearRect(0, 0, c.width, c.height);
    const alive = (i) => { const b = S.banks.get(S.nodes[i].id); return b && !b.defaulted && !b.deleted; };
    g.strokeStyle = "rgba(120,140,160,0.18)"; g.lineWidth = 1; g.beginPath();
    for (const [a, b] of S.edges) { if (a === undefined || b === undefined || !alive(a) || !alive(b)) continue; g.moveTo(S.nodes[a].x, S.nodes[a].y); g.lineTo(S.nodes[b].x, S.nodes[b].y); }
    g.stroke();
    for (const p of S.pulses) {
      const k = (now - p.t) / 600, A = S.nodes[p.a], B = S.nodes[p.b];
      g.fillStyle = `rgba(74,144,226,${1 - k})`; g.beginPath(); g.arc(A.x + (B.x - A.x) * k, A.y + (B.y - A.y) * k, 2.5, 0, 7); g.fill();
    }
    const eqs = [...S.banks.values()].map(b => Math.max(0, b.equity || 0)); const maxEq = Math.max(1, ...eqs);
    S.nodes.forEach((p) => {
      const b = S.banks.get(p.id); if (!b) return;
      const r = 3 + 14 * Math.sqrt(Math.max(0, b.equity || 0) / maxEq);
      const pr = b.priority || S.priority.get(p.id);
      g.fillStyle = b.deleted ? "#5b6673" : b.defaulted ? "#e05252" : (pr && pr !== "PROFIT") ? "#e0a33a" : "#3fb27f";
      g.beginPath(); g.arc(p.x, p.y, b.defaulted || b.deleted ? 4 : r, 0, 7); g.fill();
      if (p.id === S.selected) { g.strokeStyle = "#fff"; g.lineWidth = 2; g.stroke(); }
      p.r = r;
    });
    S.dirty = false;
  }
  requestAnimationFrame(draw);
}

function pick(ev) {
  const c = $("network"), rect = c.getBoundingClientRect();
  const x = (ev.clientX - rect.left) * (c.width / rect.width), y = (ev.clientY - rect.top) * (c.height / rect.height);
  let best = null, dist = 1e9;
  for (const p of S.nodes) { const d = Math.hypot(p.x - x, p.y - y); if (d < dist) { dist = d; best = p; } }
  if (best && dist < Math.max(12, best.r || 0)) { S.selected = best.id; $("bank-select").value = best.id; refreshBankPanel(); S.dirty = true; }
}

// ------------------------------------------------------------------ wiring
$("start").onclick = start;
$("pause").onclick = () => control("pause");
$("resume").onclick = () => control("resume");
$("stop").onclick = () => control("stop");
$("add-capital").onclick = () => control("add_capital", { bank: $("bank-select").value, amount: +$("amount").value });
$("delete-bank").onclick = () => control("delete_bank", { bank: $("bank-select").value });
// empty or non-numeric fields are sent as null so that the server answers with the reason
const num = (id, scale = 1) => { const v = $(id).value.trim(); return v === "" || Number.isNaN(+v) ? null : +v / scale; };
$("cb-inject").onclick = () => control("central_bank", { operation: "inject", bank: $("bank-select").value, amount: num("cb-amount") });
$("cb-set-rate").onclick = () => control("central_bank", { operation: "set_policy_rate", amount: num("cb-rate", 100) });
$("cb-set-capital").onclick = () => control("central_bank", { operation: "set_capital_requirement", amount: num("cb-capital", 100) });
$("bank-select").onchange = () => { S.selected = $("bank-select").value; refreshBankPanel(); S.dirty = true; };
$("pg-add").onclick = () => playgroundRow();
$("pg-clear").onclick = () => { $("pg-table").querySelector("tbody").innerHTML = ""; countPlayground(); };
$("network").onclick = pick;
$("markets").onclick = () => marketsPanel();
loadChoices();
requestAnimationFrame(draw);
