// interbank page: the timeline. A scrubber over the steps the session shown has reached (or all
// of a finished one's): dragging it to a past step shows the network, the header totals, the markets
// and the bank and system panels as they were then (the capital requirement then included; the
// session's running figures, unmet funding so far and the facility draws, show "–"), read back from
// the server (the step's step_end event,
// GET /api/interactive/step_end/{id}, and its exposures when still kept); the stream's events wait
// meanwhile and are applied on "Back to live". "Branch from here" forks a new session at the step
// shown (command branch with its step): it starts paused there and is shown beside this view.

import { $, money, S } from "./state.js";
import { error, feed, header, marketsPanel, message, refreshBankPanel, refreshBankSelect, systemPanel } from "./panels.js";
import { openCompare } from "./compare.js";
import { exposureLimit } from "./network.js";
import { api, refreshSessions } from "./app.js";

// the last step applied from the stream (while a past step is shown, the stream waits: it stays put)
export function liveStep() { const t = S.stepTotals; return t.length ? t[t.length - 1].step : 0; }

function totalsAt(step) {
  if (step === 0 && S.init) return { step: 0, active: S.init.banks.length, defaults: 0, capital: S.init.banks.reduce((a, b) => a + b.capital, 0) };
  return S.stepTotals.find(t => t.step === step) || null;
}

// once per frame: the scrubber follows the live step, its buttons the state. The DOM is written only
// when what it shows changes (a write each frame, even of the same value, cost up to 36 ms in a
// frame at 1,000 banks: the style work it set off)
let shown = null;
export function timelineTick() {
  const tl = S.timeline, last = liveStep();
  const key = `${!!S.init}|${last}|${tl ? tl.step : -1}|${tl ? tl.loaded : -1}|${S.session}|${S.state}`;
  if (key === shown) return;
  shown = key;
  const box = $("timeline"), range = $("timeline-step");
  box.hidden = !S.init;
  if (!S.init) return;
  if (+range.max !== last) range.max = last;
  if (!tl && +range.value !== last) range.value = last;
  const label = tl ? `step ${tl.step} of ${last}${tl.loaded === tl.step ? "" : " (loading…)"} · the stream waits` : `step ${last} · live`;
  if ($("timeline-label").textContent !== label) $("timeline-label").textContent = label;
  $("timeline-live").disabled = !tl;
  // (a complete session's last step has no step after it: the server refuses a branch there)
  const branchable = !!S.session && (tl || S.state === "paused" || S.state === "stopped");
  $("timeline-branch").disabled = !branchable;
  $("timeline-branch").title = !tl && S.state === "complete" ? "the episode ended at this step: drag the timeline to an earlier step to branch"
    : "a new session forked at the step shown: it starts paused there (pause, or drag to a past step)";
}

// show a past step (the live step: back to live)
export function showStep(step) {
  if (!S.init) return;
  step = Math.max(0, Math.min(step, liveStep()));
  if (step === liveStep() && !S.timeline) return;
  if (step === liveStep()) { backToLive(); return; }
  if (!S.timeline) {
    S.timeline = { step, loaded: -1, busy: false,
      live: { banks: S.banks, exposures: S.exposures, totals: { ...S.totals }, lastTotals: S.lastTotals,
              markets: S.markets, minCapital: S.minCapital } };
  }
  S.timeline.step = step;
  const t = totalsAt(step);
  if (t) header(t);
  $("timeline-step").value = step;
  load();
}

// the step shown read back from the server: one request at a time, the latest step wins
async function load() {
  const tl = S.timeline, id = S.session;
  if (!tl || tl.busy || tl.loaded === tl.step) return;
  const step = tl.step;
  tl.busy = true;
  try {
    let banks, totals = totalsAt(step), system = null, markets = S.init.markets;
    const reg = S.init.config.resolved && S.init.config.resolved.regulation;
    let minCapital = reg ? reg.min_capital_ratio : tl.live.minCapital;
    if (step === 0) {
      banks = new Map(S.init.banks.map(b => [b.id, { id: b.id, equity: b.capital, defaulted: false, deleted: false, priority: "PROFIT" }]));
    } else {
      const r = await fetch(`/api/interactive/step_end/${encodeURIComponent(id)}?step=${step}`, { cache: "no-store" });
      const e = await r.json().catch(() => ({}));
      if (!r.ok) throw new Error(e.error || `HTTP ${r.status}`);
      banks = new Map(e.data.banks.map(b => [b.id, b]));
      totals = { step, active: e.data.active_banks, defaults: e.data.defaults, capital: e.data.total_capital };
      system = e.data.totals || null;
      markets = e.data.markets || markets;
      // the requirement in force then (a person may have changed it since)
      if (system && system.min_capital_ratio !== undefined) minCapital = system.min_capital_ratio;
    }
    const limit = exposureLimit(S.nodes.length);
    const x = await fetch(`/api/interactive/exposures/${encodeURIComponent(id)}?step=${step}${limit}`, { cache: "no-store" })
      .then(r => r.ok ? r.json() : null).catch(() => null);
    if (S.timeline !== tl || S.session !== id) return;
    tl.loaded = step;
    if (tl.step !== step) return;  // dragged on meanwhile: the next load shows that one
    S.banks = banks; S.exposures = x && x.step === step ? x : null; S.lastTotals = system;
    S.markets = markets; S.minCapital = minCapital;
    header(totals);
    $("sys-exposures").textContent = S.exposures ? `${S.exposures.count} · ${money(S.exposures.total)}` : "not kept for this step";
    refreshBankSelect(); refreshBankPanel(); systemPanel(); marketsPanel();
    S.dirty = true;
  } catch (e) {
    if (S.timeline === tl) { tl.loaded = step; error(`step ${step}: ${e.message || e}`); }
  } finally {
    tl.busy = false;
    if (S.timeline === tl && tl.loaded !== tl.step) load();
  }
}

export function backToLive() {
  const tl = S.timeline; if (!tl) return;
  S.timeline = null;
  S.banks = tl.live.banks; S.exposures = tl.live.exposures; S.lastTotals = tl.live.lastTotals;
  S.markets = tl.live.markets; S.minCapital = tl.live.minCapital;
  header(tl.live.totals);
  if (S.exposures) $("sys-exposures").textContent = `${S.exposures.count} · ${money(S.exposures.total)}`;
  refreshBankSelect(); refreshBankPanel(); systemPanel(); marketsPanel();
  S.dirty = true;  // the queued events are applied from the next frame
}

// a new session forked at the step shown (or the paused / finished session's last step)
export async function branchHere() {
  const step = S.timeline ? S.timeline.step : liveStep(), parent = S.session;
  $("timeline-branch").disabled = true;  // one request at a time; the next tick enables it again
  let res;
  try { res = await api("/api/interactive/control", { session_id: parent, command: "branch", step }); }
  catch (e) { error(`Branch from step ${step} refused: ${e.message}`); return; }
  finally { shown = null; }
  if (S.session !== parent) return;
  openCompare(res.session_id, res.step);
  feed(`${step} · branched: ${res.session_id} starts paused at step ${res.step} (shown beside this view)`, "control");
  message(`${res.session_id} starts paused at step ${res.step}: attach it from the sessions list, or resume it there`);
  refreshSessions();
}

export function wireTimeline() {
  $("timeline-step").addEventListener("input", (ev) => showStep(+ev.target.value));
  $("timeline-live").onclick = backToLive;
  $("timeline-branch").onclick = branchHere;
}
