// interbank page: the panels around the network: header totals, controls' state, bank, system and
// market panels, charts, the activity feed and the defaults log, messages and toasts.

import { $, noNegZero, fmt, money, pct, MARKET_COLORS, S } from "./state.js";
import { focusOn, replayButton, unfocus } from "./network.js";

export function button(text, cls, onclick) {
  const b = document.createElement("button"); b.textContent = text; b.className = "small " + cls; b.onclick = onclick; return b;
}

// ------------------------------------------------------------------ panels
export function header(h) {
  S.totals = Object.assign(S.totals || {}, h);
  if (h.step !== undefined) $("step").textContent = h.step;
  if (h.active !== undefined) $("active").textContent = h.active;
  if (h.defaults !== undefined) $("defaults").textContent = h.defaults;
  if (h.capital !== undefined) $("capital").textContent = money(h.capital);
}

// whether the server takes a command in a state (the vocabulary's command rules; before it is
// loaded, pause and resume only, in the runner's own states); an interrupted session (read back
// after a server restart) is re-created, paused at its last step, by pause or resume
export const WHEN = { pause: ["ready", "running"], resume: ["paused"] };
export function allowed(command, state) {
  const rule = S.vocab && S.vocab.commands.find(c => c.name === command);
  return (rule ? rule.when : WHEN[command] || []).includes(state);
}

export function setState(state) {
  if (!state) return;
  S.state = state;
  const pill = $("state"); pill.textContent = state; pill.className = "pill " + state;
  $("pause").disabled = !allowed("pause", state);
  $("resume").disabled = !allowed("resume", state);
  $("resume").textContent = S.compare && S.compare.state === "paused" ? "Resume both" : "Resume";
  $("stop").disabled = !S.live.has(state);
  $("branch").disabled = !allowed("branch", state);
  for (const id of ["cb-rate", "cb-set-rate", "cb-capital", "cb-set-capital"]) $(id).disabled = !allowed("central_bank", state);
  $("bank-select").disabled = !S.names.length;
  actionButtons();
}

// actions are enabled only for a bank they can act on: the one shown
export function actionButtons() {
  const b = S.banks.get(S.selected), can = (command) => !S.timeline && allowed(command, S.state);  // a past step shown: nothing to act on
  const alive = !!b && !b.defaulted && !b.deleted;
  for (const id of ["amount", "add-capital"]) $(id).disabled = !(can("add_capital") && alive);
  for (const id of ["cb-amount", "cb-inject"]) $(id).disabled = !(can("central_bank") && alive);
  $("delete-bank").disabled = !(can("delete_bank") && b && !b.deleted);
  $("delete-bank").textContent = b && b.defaulted && !b.deleted ? `Delete failed ${b.id}` : b ? `Delete ${b.id}` : "Delete bank";
  $("add-capital").textContent = b ? `Add capital to ${b.id}` : "Add capital";
}

export let selectKey = null;  // each listed bank's state (0 active, 1 defaulted, 2 deleted) when the list was last written
export function refreshBankSelect() {
  const sel = $("bank-select");
  const ids = S.names, n = ids.length, key = new Uint8Array(n);
  for (let i = 0; i < n; i++) { const b = S.banks.get(ids[i]); key[i] = b && b.deleted ? 2 : b && b.defaulted ? 1 : 0; }
  const label = (i) => key[i] === 2 ? `${ids[i]} (deleted)` : key[i] === 1 ? `${ids[i]} (defaulted)` : ids[i];
  if (selectKey !== null && selectKey.length === n && sel.options.length === n) {
    // the same banks, some of them gone since: only their options change (10,000 options rebuilt took 150 ms)
    for (let i = 0; i < n; i++) {
      if (key[i] === selectKey[i]) continue;
      const o = sel.options[i];
      o.text = label(i); o.className = key[i] ? "gone" : "";
    }
  } else {  // rebuilt when the banks change; gone banks stay listed, marked
    const frag = document.createDocumentFragment();
    for (let i = 0; i < n; i++) {
      const o = new Option(label(i), ids[i]);
      if (key[i]) o.className = "gone";
      frag.appendChild(o);
    }
    sel.replaceChildren(frag);
  }
  selectKey = key;
  if (S.selected !== null && sel.value !== S.selected) sel.value = S.selected;
  actionButtons();
}

export function select(id) {
  if (!S.index.has(id)) return;
  S.selected = id; $("bank-select").value = id; refreshBankPanel(); actionButtons(); S.overlay = true;
  // a defaulted bank selected: its contagion in focus (until another bank is selected)
  const b = S.banks.get(id);
  if (b && b.defaulted && !b.deleted && S.defaultedAt.has(id)) focusOn("bank", [id], S.defaultedAt.get(id));
  else unfocus("bank");
}

export function refreshBankPanel() {
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

// a typed array's numeric sort: ~10x faster than a comparator's at 10,000 banks
export function median(xs) { if (!xs.length) return null; const s = (xs instanceof Float64Array ? xs : Float64Array.from(xs)).sort(); return s[Math.floor(s.length / 2)]; }

export function systemPanel() {
  const t = S.lastTotals;
  if (t) {
    $("sys-requested").textContent = money(t.funding_requested);
    $("sys-funding").textContent = `${money(t.funding_matched)} / ${money(t.funding_unmet)}`;
    $("sys-rate").textContent = t.interbank_rate === null ? "no trades" : pct(t.interbank_rate) + " a year";
    $("sys-cb").textContent = money(t.central_bank_loans);
  }
  // (the session's running figures, from its events: not known for a past step shown by the timeline)
  $("sys-unmet-total").textContent = S.timeline ? "–" : money(S.unmetTotal);
  $("sys-cb-draws").textContent = S.timeline ? "–" : S.cbDraws || "none";
  // the active banks' ratios in typed arrays, in one pass (no array of banks, nor of ratios, per step)
  const cr = new Float64Array(S.banks.size), lcr = new Float64Array(S.banks.size), minCr = S.minCapital === null ? 0 : S.minCapital;
  let ncr = 0, nlcr = 0, crBelow = 0, lcrBelow = 0;
  for (const b of S.banks.values()) {
    if (b.defaulted || b.deleted) continue;
    const x = b.capital_ratio, y = b.lcr;
    if (x !== null && x !== undefined) { cr[ncr++] = x; if (x < minCr) crBelow++; }
    if (y !== null && y !== undefined) { lcr[nlcr++] = y; if (y < 1) lcrBelow++; }
  }
  $("sys-cr").textContent = pct(median(cr.subarray(0, ncr))); $("sys-lcr").textContent = pct(median(lcr.subarray(0, nlcr)));
  $("sys-below").textContent = `${crBelow} / ${lcrBelow}`;
  spark($("system-spark"), [S.stepTotals.slice(-300).map(s => s.capital)], ["#3fb27f"], ["step", "total capital ($)"]);
}

export function marketsPanel() {
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

export function openMarket(name) { S.market = name; $("market-dash").hidden = false; marketsPanel(); }

export function marketDashboard() {
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
// counts: true for a count (an axis from 0, whole numbers)
export function chart(canvas, series, xLabel, yLabel, marks = [], counts = false) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height, L = 46, R = 8, T = 18, B = 22;
  keep(canvas, ["series", xLabel, yLabel], series.flatMap(s => s.points.map(p => [s.label, p[0], p[1]])));
  g.clearRect(0, 0, w, h);
  const pts = series.flatMap(s => s.points);
  if (!pts.length) return;
  let x0 = Math.min(...pts.map(p => p[0])), x1 = Math.max(...pts.map(p => p[0]));
  let y0 = Math.min(...pts.map(p => p[1])), y1 = Math.max(...pts.map(p => p[1]));
  if (x1 === x0) x1 = x0 + 1;
  if (counts) { y0 = 0; y1 = Math.max(3, Math.ceil(y1 / 3) * 3); }
  else {
    if (y1 === y0) { y1 += 1; y0 -= 1; }
    const pad = (y1 - y0) * 0.05; y0 -= pad; y1 += pad;
  }
  canvas.axis = { x0, x1, y0, y1 };  // what the axes show (tests read it)
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

export function bars(canvas, points, label) {
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

export function fmtShort(x) {
  const a = Math.abs(x);
  if (a < 0.005) return "0";  // nothing to show: never "-0.00" or "0.00" on an axis
  return noNegZero(a >= 1e6 ? (x / 1e6).toFixed(1) + "M" : a >= 1e3 ? (x / 1e3).toFixed(1) + "k" : a >= 10 ? x.toFixed(0) : x.toFixed(2));
}

// series: arrays of values, one per step, the newest last; header: the CSV's columns (step first)
export function spark(canvas, series, colors, header) {
  const g = canvas.getContext("2d"), w = canvas.width, h = canvas.height;
  const n = Math.max(0, ...series.map(s => s.length)), steps = S.stepTotals.slice(-n).map(t => t.step);
  keep(canvas, header, Array.from({ length: n }, (_, k) =>
    [steps.length === n ? steps[k] : k - n + 1, ...series.map(s => s[k - n + s.length] ?? "")]));
  g.clearRect(0, 0, w, h);
  const all = series.flat(); if (all.length < 2) return;
  let lo = Infinity, hi = -Infinity; for (const v of all) { if (v < lo) lo = v; if (v > hi) hi = v; }
  const span = hi - lo || 1, L = 38;  // the axis: the highest and lowest value shown, at the left
  g.fillStyle = "#8a99a8"; g.font = "10px system-ui"; g.textAlign = "right";
  g.fillText(fmtShort(hi), L - 4, 10); g.fillText(fmtShort(lo), L - 4, h - 2);
  g.strokeStyle = "#3a4754"; g.lineWidth = 1; g.beginPath(); g.moveTo(L, 2); g.lineTo(L, h - 2); g.stroke();
  canvas.title = `${header[1]}: from ${fmtShort(lo)} to ${fmtShort(hi)} over the last ${n} steps`;
  series.forEach((s, k) => {
    g.strokeStyle = colors[k]; g.lineWidth = 1.5; g.beginPath();
    s.forEach((v, i) => { const x = L + 2 + (i / Math.max(1, s.length - 1)) * (w - L - 2), y = h - 4 - ((v - lo) / span) * (h - 8); i ? g.lineTo(x, y) : g.moveTo(x, y); });
    g.stroke();
  });
}

// the activity feed: per step a summary and a fair sample; everything recent is kept for the filters
// (text: a string, or a function that writes it when it is first shown: see textOf)
// S.recent is cut from RECENT_MAX back to RECENT_KEEP items whenever it grows past RECENT_MAX
export const RECENT_MAX = 6000, RECENT_KEEP = 5000;
export function remember_(step, kind, banks, text) {
  const item = { step, kind, banks, text };
  if (S.quiet) return item;
  S.recent.push(item);
  if (S.recent.length > RECENT_MAX) S.recent.splice(0, S.recent.length - RECENT_KEEP);
  if (feedFilter()) S.feedDirty = true;
  return item;
}
export function textOf(item) {
  if (typeof item.text === "function") item.text = item.text();
  return item.text;
}

export function feed(text, cls, banks = null, keep = true) {
  if (S.quiet) return;
  if (keep) remember_(+text.split(" ")[0] || 0, cls === "cascade" ? "default" : cls, banks || [], text.replace(/^\d+ · /, ""));
  S.feedLines.push([text, cls]);  // what the unfiltered feed shows, kept while a filter hides it
  if (S.feedLines.length > FEED_ROWS) S.feedLines.shift();
  if (feedFilter()) return;
  pendingFeed.push([text, cls]);
  if (pendingFeed.length > FEED_ROWS) pendingFeed.shift();
}

// the feed and the log take their new rows once per frame, in one insertion each (no layout per event)
export const FEED_ROWS = 120, LOG_ROWS = 2000, pendingFeed = [], pendingLog = [];
export function flushLists() {
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

export function feedFilter() { return $("feed-bank").value.trim() !== "" || $("feed-type").value !== ""; }

export function renderFilteredFeed() {
  S.feedDirty = false;
  const bank = $("feed-bank").value.trim(), type = $("feed-type").value, ol = $("feed");
  ol.replaceChildren();
  if (!feedFilter()) {  // the filter cleared: the unfiltered feed again, as it stands
    pendingFeed.length = 0;
    for (let k = S.feedLines.length - 1; k >= 0; k--) {
      const [text, cls] = S.feedLines[k];
      ol.appendChild(Object.assign(document.createElement("li"), { textContent: text, className: cls }));
    }
    if (!S.feedLines.length) ol.appendChild(Object.assign(document.createElement("li"), { textContent: "(new activity appears here)", className: "hint" }));
    return;
  }
  const frag = document.createDocumentFragment();
  let shown = 0;
  for (let k = S.recent.length - 1; k >= 0 && shown < 200; k--) {
    const r = S.recent[k];
    if (type && r.kind !== type) continue;
    if (bank && !r.banks.includes(bank)) continue;
    const li = document.createElement("li"); li.textContent = `${r.step} · ${textOf(r)}`; li.className = r.kind; frag.appendChild(li); shown++;
  }
  if (!shown) frag.appendChild(Object.assign(document.createElement("li"), { textContent: "nothing recent matches", className: "hint" }));
  ol.appendChild(frag);
}

// the default / cascade log: kept as data (so that a reload restores it) and drawn newest first
export function log(text, cls, banks, cascade = null) {
  if (S.quiet) return;
  const item = { text, cls, banks, cascade };
  S.logItems.push(item); pendingLog.push(item);
  if (S.logItems.length > LOG_ROWS) S.logItems.shift();
  if (pendingLog.length > LOG_ROWS) pendingLog.shift();
}

export function logRow(item) {
  const li = document.createElement("li"); li.textContent = item.text; li.className = item.cls;
  li.onclick = () => select(item.banks[0]);
  if (item.cascade) li.appendChild(replayButton(item.cascade));
  return li;
}

export function message(text) { $("message").textContent = text; if (text) toast(text, "info"); }
// an error: next to the controls and in a toast
export function error(text) { $("message").textContent = text; toast(text); }
export let toastTimer = null;
export function toast(text, kind = "error") {
  const t = $("toast"); t.textContent = text; t.className = "toast " + kind; t.hidden = false;
  clearTimeout(toastTimer); toastTimer = setTimeout(() => { t.hidden = true; }, 6000);
}

export function keep(canvas, header, rows) { canvas.csv = { header, rows }; }
export const csvCell = (v) => { const t = v === null || v === undefined ? "" : String(v); return /[",\r\n]/.test(t) ? '"' + t.replace(/"/g, '""') + '"' : t; };
export const csvText = (header, rows) => [header, ...rows].map(r => r.map(csvCell).join(",")).join("\r\n") + "\r\n";
