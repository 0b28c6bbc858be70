// interbank page: the event stream applied to the state store. The stream is read by a worker
// (stream.js) and queued here in batches; drain() applies them once per frame, one handler per
// event type (the server's vocabulary lists the types: checkVocabulary and
// tests/interactive/test_vocabulary.py check each is handled here or ignored on purpose).

import { $, money, pct, plural, FRAME_BUDGET_MS, MAX_FLASHES, SAMPLE_PER_STEP, S } from "./state.js";
import { feed, feedFilter, header, log, marketsPanel, message, RECENT_KEEP, RECENT_MAX, refreshBankPanel, refreshBankSelect, remember_, setState, systemPanel, textOf } from "./panels.js";
import { fetchExposures, layout, playCascade, pulse } from "./network.js";
import { openCompare } from "./compare.js";
import { agentOperation, centralBankDecision, centralBankInit, centralBankStep } from "./central_bank.js";
import { attach, refreshSessions, statusCheck } from "./app.js";

// the stream is read by a worker (stream.js) and arrives here in batches of [seq, type, data]; a
// step's small events as digests (columns) unless the page's address says ?events=raw (each as its text)
export const DIGESTS = !/[?&]events=raw(&|$)/.test(location.search);
export let worker = null, streamToken = 0;
export function connect(id, after) {
  if (!worker) { worker = new Worker("/static/stream.js"); worker.onmessage = onStream; }
  S.source = { token: ++streamToken, id };
  setConn("connecting");
  worker.postMessage({ open: `/api/interactive/stream/${encodeURIComponent(id)}`, after, token: S.source.token, digest: DIGESTS });
}

export function closeStream() {
  if (S.source && worker) worker.postMessage({ close: true });
  S.source = null;
}

export function onStream(msg) {
  const m = msg.data;
  if (!S.source || m.token !== S.source.token) return;  // an earlier stream's last words
  if (m.events) { for (const e of m.events) { if (e[1] === "step_end") S.queueEnd = S.queue.length; S.queue.push(e); } return; }
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
    attach(S.session);  // (it clears the message of the view before: this one is about the new view)
    message(`session ${S.session}: the step shown before the reload is no longer kept; rebuilt from what the server keeps`);
    return;
  }
  message(m.error || ""); setConn(m.end === 404 ? "lost" : "closed"); statusCheck();
}

export function setConn(conn) {
  S.conn = conn;
  const labels = { idle: "not connected", connecting: "connecting…", live: "live", reconnecting: "reconnecting…",
    closed: "disconnected", gone: "server gone", lost: "session gone", ended: "stream ended" };
  const pill = $("conn"); pill.textContent = labels[conn] || conn; pill.className = "pill conn " + conn;
}

// ------------------------------------------------------------------ events, once per frame
export function drain(now) {
  if (!S.queue.length || S.timeline) return;  // a past step shown: the stream waits (timeline.js)
  const t0 = performance.now();
  // the newest step_end already queued (kept as events arrive): older snapshots are read for their
  // totals only. The queue is read from S.queueAt on and cut only now and then: cutting (or scanning)
  // 30,000 queued events every frame cost more than applying them
  const lastEnd = S.queueEnd, queued = S.queue.length - S.queueAt;
  let k = S.queueAt;
  for (; k < S.queue.length; k++) {
    const [seq, type, data] = S.queue[k];
    if (type === "digest") {  // a run of a step's small events, as columns (stream.js Digest)
      applyDigest(data);
      if (performance.now() - t0 > FRAME_BUDGET_MS && k + 1 < S.queue.length) { k++; break; }
      continue;
    }
    const going = S.applying !== null && S.applying.seq === seq;  // a snapshot half applied: on with it
    if (!going) {
      if (seq <= S.lastSeq) continue;
      S.lastSeq = seq;
      if (S.firstSeq === null) { S.firstSeq = seq; S.resuming = false; }
    }
    S.quiet = seq <= S.resumeAt;  // already shown before a reload: state only, no feed, log or history
    if (type === "step_end") S.endSeq = seq;
    if (type === "step_end" && data.compact) {
      if (k !== lastEnd) {
        const h = data.head; stepTotalsOf(h.step, h.active_banks, h.defaults, h.total_capital, h.markets || [], h.totals || null);
        // (not a snapshot half applied as the newest before more came: its banks have this step already)
        if (!going && !S.quiet && lastEnd >= 0 && h.step > stepOf(S.queue[lastEnd]) - HISTORY) equityFromCompact(data);
      }
      else if (!applyCompact(seq, data, t0)) break;  // the frame's budget is spent: the rest next frame (it stays queued)
    }
    else if (type === "step_end" && k !== lastEnd) stepEndTotals(data);
    else if (type === "transaction" && k < lastEnd - 1 && queued > 20000) countTransaction(data);
    else if (type === "step_end") {  // the snapshot shown: its cost is kept for the benchmark (parse, then apply)
      const t1 = performance.now(), e = JSON.parse(data), t2 = performance.now();
      onEvent(e, now);
      S.stepEndCost.push([t2 - t1, performance.now() - t2]); if (S.stepEndCost.length > 100) S.stepEndCost.shift();
    }
    else onEvent(JSON.parse(data), now);
    if (performance.now() - t0 > FRAME_BUDGET_MS && k + 1 < S.queue.length && S.queue.length - k < 50000) { k++; break; }
  }
  S.quiet = false;
  if (k >= S.queue.length) { S.queue = []; S.queueAt = 0; S.queueEnd = -1; }
  else if (k > 8192 && 2 * k > S.queue.length) { S.queue = S.queue.slice(k); S.queueEnd = Math.max(-1, S.queueEnd - k); S.queueAt = 0; }
  else S.queueAt = k;
  if (!S.queue.length && S.catchUp === Infinity) S.catchUp = S.lastSeq;
}

// one handler per event type (GET /api/vocabulary lists the types; checkVocabulary and
// tests/interactive/test_vocabulary.py check that each is here or in IGNORED_EVENTS)
export const IGNORED_EVENTS = [];
export const EVENT_HANDLERS = {
  init: (e) => onInit(e.data),
  step_start: (e) => {
    S.step = { step: e.step, n: 0, by: {}, sample: [], profits: 0, profit: 0, cb: 0, cbAmount: 0 };
    if (S.state === "ready") setState("running");  // the first step: the stream says it runs before the status does
  },
  transaction: (e) => onTransaction(e),
  profit_booking: (e) => {
    const d = e.data, st = S.step; if (st) { st.profits++; st.profit += d.profit; }
    remember_(e.step, "profit", [d.bank], () => profitText(d.bank, d.profit, d.market, d.return));
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
    if (b && d.snapshot) Object.assign(b, d.snapshot);  // its ratios too (the server's arithmetic, not the page's)
    else if (b) { b.cash = d.cash; b.equity = d.equity; b.leverage = leverageOf(b); }  // a stream from before snapshots
    header({ capital: (S.totals ? S.totals.capital : 0) + d.amount });
    feed(`${e.step} · ${d.bank} +${money(d.amount)} capital`, "control", [d.bank]);
    afterControl();
  },
  central_bank: (e) => onCentralBank(e),
  bank_deleted: (e) => {
    const d = e.data, b = S.banks.get(d.bank), open = (x) => !x.defaulted && !x.deleted;
    let active = 0, capital = 0;  // what the settlement moved besides the bank itself
    if (b && open(b)) { active -= 1; capital -= d.equity; }
    if (b) b.deleted = true;
    for (const snap of d.snapshots || []) {  // its creditors and the markets' holders, after it
      const o = S.banks.get(snap.id); if (!o) continue;
      active += (open(snap) ? 1 : 0) - (open(o) ? 1 : 0);
      capital += (open(snap) ? snap.equity : 0) - (open(o) ? o.equity : 0);
      Object.assign(o, snap);
    }
    if ((active || capital) && S.totals) header({ active: S.totals.active + active, capital: S.totals.capital + capital });
    feed(`${e.step} · ${d.bank} deleted`, "control", [d.bank]);
    afterControl(); fetchExposures(e.step, true);
  },
};

export function onEvent(e, now) {
  const handle = EVENT_HANDLERS[e.type];
  if (handle) handle(e, now);
  else onDeclared(e);
}

// a type registered with display "feed" (GET /api/vocabulary's event_display): its template's
// {field} placeholders filled with the event's data, one line in the activity feed
export function onDeclared(e) {
  const shown = S.vocab && S.vocab.event_display && S.vocab.event_display[e.type];
  if (!shown || shown.display !== "feed" || !shown.feed) return;
  feed(`${e.step} · ${fillTemplate(shown.feed, e.data)}`, "event", typeof e.data.bank === "string" ? [e.data.bank] : []);
}

export function fillTemplate(template, data) {
  return template.replace(/\{(\w+)\}/g, (_, key) => (key in data ? String(data[key]) : ""));
}

export function afterControl() { refreshBankSelect(); refreshBankPanel(); systemPanel(); S.dirty = true; }

export function leverageOf(b) {
  const inv = b.investments ? Object.values(b.investments).reduce((a, x) => a + x, 0) : 0;
  const assets = (b.cash || 0) + (b.book || 0) + (b.loans_out || 0) + inv;
  return b.equity > 0 ? assets / b.equity : null;
}

export function onTransaction(e) {
  const d = e.data, st = S.step;
  const b = S.banks.get(d.bank); if (b) b.priority = d.priority;
  if (!d.amount) return;  // nothing changed hands: not a trade to show or count
  const other = d.counterparty || d.market || "";
  // written only if shown (a filter, the sample): at 10,000 banks a step has thousands of them
  const item = remember_(e.step, "tx", d.counterparty ? [d.bank, d.counterparty] : [d.bank], () => tradeText(d.bank, d.action, other, d.amount, d.priority));
  if (d.market && !S.quiet) { const f = S.marketFlows.get(d.market); if (f) f.now += d.action === "INVEST" ? d.amount : d.action === "DIVEST" ? -d.amount : 0; }
  if (!st) return;
  st.n++; st.by[d.action] = (st.by[d.action] || 0) + 1;
  // reservoir sample: every transaction of the step is equally likely to be shown
  if (st.sample.length < SAMPLE_PER_STEP) st.sample.push(textOf(item));
  else { const j = Math.floor(rand(st) * st.n); if (j < SAMPLE_PER_STEP) st.sample[j] = textOf(item); }
  if (d.counterparty && S.nodes.length <= 300 && S.catchUp !== Infinity) pulse(d.bank, d.counterparty);
}

// a digest (stream.js Digest): its events applied as onTransaction, the profit_booking handler and
// the central bank's facility handlers apply them one by one, with no object per event: the feed's
// items are made only for the events the filters' list (S.recent) keeps and the sample shows
const BANK_NAMES = [];
const bankName = (k) => BANK_NAMES[k] || (BANK_NAMES[k] = "bank_" + k);
export function applyDigest(g) {
  const n = g.n, st = S.step, strs = g.strings, str = (c) => (c < 0 ? null : strs[c]);
  const first = Math.max(0, S.lastSeq + 1 - g.seq0);  // the events already applied are skipped
  if (first >= n) return;
  S.digestsApplied++;
  // the events remembered (not quiet, not a transaction of nothing): which of them S.recent keeps
  // (remember_'s cut: from RECENT_MAX back to RECENT_KEEP items whenever it grows past RECENT_MAX)
  let pushes = 0;
  for (let i = first; i < n; i++) if (g.seq0 + i > S.resumeAt && (g.kind[i] !== 0 || g.amount[i])) pushes++;
  const before = S.recent.length, total = before + pushes;
  const kept = total <= RECENT_MAX ? total : RECENT_KEEP + (total - RECENT_MAX - 1) % (RECENT_MAX - RECENT_KEEP + 1);
  const keepFrom = pushes - Math.min(pushes, kept);
  if (kept < total) S.recent.splice(0, before - (kept - Math.min(pushes, kept)));
  const pulses = S.nodes.length <= 300 && S.catchUp !== Infinity;
  let pushed = 0;
  for (let i = first; i < n; i++) {
    const kind = g.kind[i], quiet = g.seq0 + i <= S.resumeAt, amount = g.amount[i];
    if (kind === 0) { const b = S.banks.get(bankName(g.bank[i])); if (b) b.priority = strs[g.priority[i]]; if (!amount) continue; }
    const keep = !quiet && pushed++ >= keepFrom;
    let item = keep ? digestItem(g, i) : null;
    if (kind === 0) {
      const market = str(g.market[i]), action = strs[g.action[i]];
      if (market && !quiet) { const f = S.marketFlows.get(market); if (f) f.now += action === "INVEST" ? amount : action === "DIVEST" ? -amount : 0; }
      if (st) {
        st.n++; st.by[action] = (st.by[action] || 0) + 1;
        // reservoir sample, as onTransaction draws it
        if (st.sample.length < SAMPLE_PER_STEP) st.sample.push(textOf(item || (item = digestItem(g, i))));
        else { const j = Math.floor(rand(st) * st.n); if (j < SAMPLE_PER_STEP) st.sample[j] = textOf(item || (item = digestItem(g, i))); }
      }
      if (pulses && g.other[i] >= 0) pulse(bankName(g.bank[i]), bankName(g.other[i]));
    } else if (kind === 1) { if (st) { st.profits++; st.profit += amount; } }
    else if (kind === 2) { if (st) { st.cb++; st.cbAmount += amount; } }
    if (keep) S.recent.push(item);
  }
  S.lastSeq = Math.max(S.lastSeq, g.seq0 + n - 1);
  if (S.firstSeq === null) { S.firstSeq = g.seq0 + first; S.resuming = false; }
  if (pushes && feedFilter()) S.feedDirty = true;
}

// the feed's lines of the small events, one wording whether the event came as text or in a digest
function tradeText(bank, action, other, amount, priority) { return `${bank} ${action} ${other} ${money(amount)} (${priority})`; }
function profitText(bank, amount, market, ret) { return `${bank} booked ${money(amount)} on ${market} (${(100 * ret).toFixed(1)}%)`; }
function drawText(bank, amount, rate) { return `${bank} drew ${money(amount)} from the central bank at ${pct(rate)}`; }
function repayText(bank, amount) { return `${bank} repaid ${money(amount)} to the central bank`; }

// the feed's item of a digest's row i, as remember_ makes it for the event (its text written when shown)
function digestItem(g, i) {
  const kind = g.kind[i], id = bankName(g.bank[i]), amount = g.amount[i], strs = g.strings;
  if (kind === 0) {
    const cp = g.other[i] < 0 ? null : bankName(g.other[i]), market = g.market[i] < 0 ? null : strs[g.market[i]];
    const action = strs[g.action[i]], priority = strs[g.priority[i]], other = cp || market || "";
    return { step: g.step, kind: "tx", banks: cp ? [id, cp] : [id], text: () => tradeText(id, action, other, amount, priority) };
  }
  if (kind === 1) {
    const market = strs[g.market[i]], ret = g.rate[i];
    return { step: g.step, kind: "profit", banks: [id], text: () => profitText(id, amount, market, ret) };
  }
  if (kind === 2) return { step: g.step, kind: "cb", banks: [id], text: drawText(id, amount, g.rate[i]) };
  return { step: g.step, kind: "cb", banks: [id], text: repayText(id, amount) };
}

export function countTransaction(raw) {  // far behind: count it without reading it
  const st = S.step; if (!st) return;
  if (/"amount":0(\.0)?[,}]/.test(raw)) return;
  const a = /"action":"(\w+)"/.exec(raw); st.n++; if (a) st.by[a[1]] = (st.by[a[1]] || 0) + 1;
}

export function rand(st) {  // a small deterministic PRNG per step (mulberry32) so a replay samples the same
  st.rng = (st.rng === undefined ? st.step * 2654435761 : st.rng) + 0x6D2B79F5 | 0;
  let t = st.rng; t = Math.imul(t ^ t >>> 15, t | 1); t ^= t + Math.imul(t ^ t >>> 7, t | 61);
  return ((t ^ t >>> 14) >>> 0) / 4294967296;
}

export function onDefault(e, now) {
  const d = e.data, b = S.banks.get(d.bank);
  if (b) { b.defaulted = d.cause !== "deleted"; b.equity = d.equity; }
  S.defaultedAt.set(d.bank, e.step);
  log(`${e.step} · ${d.bank} defaulted (${d.cause}, equity ${money(d.equity)})`, "default", [d.bank]);
  remember_(e.step, "default", [d.bank], `${d.bank} DEFAULTED (${d.cause}, equity ${money(d.equity)})`);
  feed(`${e.step} · ${d.bank} DEFAULTED (${d.cause}, equity ${money(d.equity)})`, "default", [d.bank], false);
  // a flash per default, the newest MAX_FLASHES at once (a cascade of hundreds is drawn by its animation)
  if (S.index.has(d.bank) && S.catchUp !== Infinity) { S.flashes.push({ i: S.index.get(d.bank), t: now }); if (S.flashes.length > MAX_FLASHES) S.flashes.shift(); }
}

export function onCascade(e, now) {
  const d = e.data;
  const cascade = { step: e.step, trigger: d.trigger, defaulted: d.defaulted, depth: d.depth };
  log(`${e.step} · cascade from ${d.trigger.join(", ")}: ${plural(d.defaulted.length, "bank")}, depth ${d.depth}, losses ${money(d.losses)}`,
    "cascade", [...d.trigger, ...d.defaulted], cascade);
  feed(`${e.step} · cascade from ${d.trigger.join(", ")}: ${plural(d.defaulted.length, "bank")}`, "cascade", [...d.trigger], false);
  if (S.catchUp !== Infinity) playCascade(cascade, now);
}

export const CENTRAL_BANK_HANDLERS = {
  inject: (e, d) => {
    const b = S.banks.get(d.bank);
    if (b && d.snapshot) Object.assign(b, d.snapshot);  // a user's, between steps: the bank's sheet after it
    else if (b) { b.cash = (b.cash || 0) + d.amount; b.central_bank_loans = (b.central_bank_loans || 0) + d.amount; b.leverage = leverageOf(b); }
    if (d.source === "user" && S.lastTotals) S.lastTotals.central_bank_loans = (S.lastTotals.central_bank_loans || 0) + d.amount;
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
    systemPanel();  // the count of banks below the minimum, against the new one
  },
  // the simulation's own
  lending_facility: (e, d) => {
    const st = S.step; if (st) { st.cb++; st.cbAmount += d.amount; }
    remember_(e.step, "cb", [d.bank], drawText(d.bank, d.amount, d.rate));
  },
  repayment: (e, d) => remember_(e.step, "cb", [d.bank], repayText(d.bank, d.amount)),
  // the central bank agent's own (central_bank.js; its inject and set_policy_rate go through the ones above)
  hold: agentOperation,
  set_ccyb: agentOperation,
  set_haircuts: agentOperation,
};
export function onCentralBank(e) {
  if (e.data.source === "agent") centralBankDecision(e);
  const handle = CENTRAL_BANK_HANDLERS[e.data.operation];
  if (handle) handle(e, e.data);
}

export function centralBankRates(rate, capital, fill = false) {
  if (rate !== null && rate !== undefined) S.policyRate = rate;
  if (capital !== null && capital !== undefined) S.minCapital = capital;
  $("cb-rate-now").textContent = pct(S.policyRate);
  $("cb-capital-now").textContent = pct(S.minCapital);
  const put = (id, x) => { if (x !== null && (fill || $(id).value === "")) $(id).value = +(100 * x).toFixed(4); };
  put("cb-rate", S.policyRate); put("cb-capital", S.minCapital);
}

export function onInit(d) {
  S.init = d; S.maxSteps = d.config.max_steps;
  centralBankInit(d);
  const reg = d.config.resolved && d.config.resolved.regulation;
  centralBankRates(d.config.policy_rate, reg ? reg.min_capital_ratio : null);
  $("max-steps").textContent = "/" + S.maxSteps;
  if (d.config.branch && !S.compare) openCompare(d.config.branch.parent, d.config.branch.step, "parent");
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

// step_end read without parsing the balance sheets: its header and its tail (markets, totals)
export const HEAD = /"step":(\d+),"active_banks":(\d+),"defaults":(\d+),"total_capital":([-0-9.eE+]+)/;
export function stepEndTotals(raw) {
  const h = HEAD.exec(raw.slice(0, 400));
  const at = raw.lastIndexOf('"markets":[');
  const tail = at > 0 ? JSON.parse("{" + raw.slice(at, -1)) : { markets: [], totals: null };
  stepTotalsOf(+h[1], +h[2], +h[3], +h[4], tail.markets, tail.totals);
}

export function stepTotalsOf(step, active, defaults, capital, markets, totals) {
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
  centralBankStep(step, totals);
  S.markets = markets.length ? markets : S.markets;
  header({ step, active, defaults, capital });
  finishStep();
}

export function onStepEnd(e) {
  const d = e.data;
  for (const b of d.banks) keepBank(b);
  stepEndShown(d);
}

export const HISTORY = 300;  // steps of each bank's equity kept for its sparkline
function keepBank(b) {
  S.banks.set(b.id, b);
  if (!S.quiet) pushEquity(b.id, b.defaulted || b.deleted ? 0 : b.equity);
}
function pushEquity(id, x) {
  let h = S.equityHistory.get(id); if (!h) S.equityHistory.set(id, h = []);
  h.push(x); if (h.length > HISTORY) h.shift();
}
function stepOf(queued) { const d = queued[2]; return d && d.compact ? d.head.step : +HEAD.exec(d.slice(0, 400))[1]; }
// a step_end read for its totals only while catching up (after Attach): its banks' equity still goes
// into their histories, from its columns, for the last HISTORY steps before the one shown, so that a
// bank's sparkline shows them (no bank objects are built for it)
function equityFromCompact(c) {
  const col = (name) => c.keys.findIndex(([key]) => key === name);
  const id = col("id"), eq = col("equity"), dft = col("defaulted"), del = col("deleted");
  if (id < 0 || eq < 0 || c.keys[id][1] !== "str") return;
  const names = c.keys[id][2], ids = c.cols[id], equity = c.cols[eq];
  const gone = (k, i) => k >= 0 && c.cols[k][i] === 1;
  for (let i = 0; i < c.n; i++) pushEquity(names[ids[i]], gone(dft, i) || gone(del, i) ? 0 : equity[i]);
}

// a snapshot in columns (stream.js compactStepEnd): its banks made back into objects a slice at a
// time, within the frame's budget (started at t0); true once it is applied whole, as onStepEnd would
export const SLICE = 500;  // banks per slice (~1 ms)
export const TAIL_APART = 3000;  // banks: from this size on a snapshot's panels get frames of their own
const built = new WeakMap();  // bank object -> the shape applyCompact built it with
export function applyCompact(seq, c, t0) {
  if (S.applying === null || S.applying.seq !== seq) S.applying = { seq, next: 0, ms: 0 };
  const job = S.applying, keys = c.keys, cols = c.cols;
  // objects built here, by the shape (keys, kinds, sub-keys) they were built with: only one of the same
  // shape is written over (a bank of the init, or of a past step shown, is replaced)
  const shape = JSON.stringify(keys.map(([name, kind, extra]) => [name, kind, kind === "obj" ? extra : null]));
  const ids = keys.length && keys[0][0] === "id" && keys[0][1] === "str" ? keys[0][2] : null;
  while (job.next < c.n) {
    const t1 = performance.now(), end = Math.min(c.n, job.next + SLICE);
    for (let i = job.next; i < end; i++) {
      // the bank's object of the last snapshot is written over when it has this one's shape: 10,000
      // new objects a step, each living a step, filled the old generation and cost 50-100 ms GC pauses
      const id = ids ? ids[cols[0][i]] : null, old = id !== null ? S.banks.get(id) : undefined;
      const reuse = old !== undefined && built.get(old) === shape;
      const b = reuse ? old : {};
      for (let k = 0; k < keys.length; k++) {
        const [name, kind, extra] = keys[k], col = cols[k];
        if (kind === "num") { const v = col[i]; b[name] = v !== v ? null : v; }
        else if (kind === "bool") b[name] = col[i] === 1;
        else if (kind === "str") b[name] = extra[col[i]];
        else { const o = reuse ? b[name] : {}, m = extra.length; for (let j = 0; j < m; j++) o[extra[j]] = col[i * m + j]; b[name] = o; }
      }
      if (!reuse) built.set(b, shape);
      keepBank(b);
    }
    job.next = end; job.ms += performance.now() - t1;
    if (job.next < c.n && performance.now() - t0 > FRAME_BUDGET_MS) return false;
  }
  // the panels, totals and medians of the step: at 10,000 banks in a frame of their own (two: the
  // totals and the system panel, then the bank list and panels), never after the banks' last slice
  const big = c.n >= TAIL_APART;
  if (!job.tail && (big || performance.now() - t0 > FRAME_BUDGET_MS)) { job.tail = 1; return false; }
  if (big && job.tail === 1) {
    const t2 = performance.now();
    if (S.state === "ready") setState("running");
    stepEndTotalsShown(c.head);
    job.tail = 2; job.ms += performance.now() - t2;
    return false;
  }
  S.applying = null;
  const t2 = performance.now();
  if (S.state === "ready") setState("running");
  if (big) stepEndPanelsShown(c.head); else stepEndShown(c.head);
  S.dirty = true;
  S.stepEndCost.push([c.parseMs, job.ms + performance.now() - t2]); if (S.stepEndCost.length > 100) S.stepEndCost.shift();
  return true;
}

function stepEndShown(d) { stepEndTotalsShown(d); stepEndPanelsShown(d); }
function stepEndTotalsShown(d) {
  if (d.totals) centralBankRates(d.totals.policy_rate, d.totals.min_capital_ratio);
  stepTotalsOf(d.step, d.active_banks, d.defaults, d.total_capital, d.markets, d.totals);
  systemPanel();
}
function stepEndPanelsShown(d) {
  marketsPanel(); refreshBankSelect(); refreshBankPanel();
  fetchExposures(d.step);
}

export function finishStep() {
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
