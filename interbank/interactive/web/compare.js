// interbank page: what-if branches side by side (this view and a branch forked from it).

import { $, money, S } from "./state.js";
import { HEAD } from "./events.js";
import { chart, feed } from "./panels.js";
import { api, control, refreshSessions } from "./app.js";

// ------------------------------------------------------------------ what-if branches side by side
// ``role``: what the other session is to this view, "branch" (forked from it) or "parent" (it was forked from)
export function openCompare(other, forkStep, role = "branch") {
  closeCompare();
  const cmp = { other, fork: forkStep, role, totals: [], state: "?", step: 0, source: null, lastSeq: -1, now: null, failed: new Set() };
  S.compare = cmp;
  $("compare").hidden = false;
  const es = new EventSource(`/api/interactive/stream/${other}`);
  cmp.source = es;
  const on = (m) => {
    const seq = +m.lastEventId; if (seq <= cmp.lastSeq) return; cmp.lastSeq = seq;
    if (m.type === "step_end") {
      const h = HEAD.exec(m.data.slice(0, 400));
      cmp.totals.push({ step: +h[1], active: +h[2], defaults: +h[3], capital: +h[4] }); cmp.step = +h[1];
      cmp.now = null;
    } else if (m.type === "default") { cmp.failed.add(JSON.parse(m.data).data.bank);
    } else if (m.type === "capital_added" || m.type === "bank_deleted") {  // interventions while paused
      const d = JSON.parse(m.data).data, now = cmp.now || { ...(cmp.totals[cmp.totals.length - 1] || {}) };
      if (m.type === "capital_added") now.capital += d.amount;
      else if (!cmp.failed.has(d.bank)) { now.active -= 1; now.capital -= d.equity; }
      cmp.now = now;
      if (cmp.state === "?" || cmp.state === "ready") cmp.state = "running";
    } else if (m.type === "paused") cmp.state = "paused";
    else if (m.type === "resumed") cmp.state = "running";
    else if (m.type === "stopped") cmp.state = "stopped";
    else if (m.type === "complete") { cmp.state = cmp.state === "stopped" ? "stopped" : "complete"; es.close(); }
    else if (m.type === "init") { const d = JSON.parse(m.data).data; cmp.totals.push({ step: 0, active: d.banks.length, defaults: 0, capital: d.banks.reduce((a, b) => a + b.capital, 0) }); }
    cmp.dirty = true;
  };
  for (const t of ["init", "step_end", "paused", "resumed", "stopped", "complete", "capital_added", "bank_deleted", "default"]) es.addEventListener(t, on);
  es.onerror = () => { if (cmp.state === "complete" || cmp.state === "stopped") es.close(); };
  cmp.dirty = true;
}

export function closeCompare() {
  if (S.compare && S.compare.source) S.compare.source.close();
  S.compare = null; $("compare").hidden = true;
}

export function drawCompare() {
  const c = S.compare; if (!c || !c.dirty) return;
  c.dirty = false;
  const mine = [{ step: 0, active: S.init ? S.init.banks.length : 0, defaults: 0, capital: S.init ? S.init.banks.reduce((a, b) => a + b.capital, 0) : 0 }, ...S.stepTotals];
  const last = (xs) => xs[xs.length - 1] || {};
  const rows = [["this view", S.session, S.state, mine], [c.role, c.other, c.state, c.totals]];
  const body = $("compare-table").querySelector("tbody"); body.replaceChildren();
  for (const [label, id, state, tot] of rows) {
    // this view: the header's figures (they count interventions made since the last step; while the
    // timeline shows a past step, those the header had when it left the live step); the branch: its own
    const own = S.timeline ? S.timeline.live.totals : S.totals;
    const l = label === "this view" && own ? { ...last(tot), ...own } : label !== "this view" && c.now ? { ...last(tot), ...c.now } : last(tot), tr = document.createElement("tr"); tr.dataset.session = id;
    for (const v of [label, id, state, l.step ?? "–", money(l.capital), l.defaults ?? "–", l.active ?? "–"]) {
      const td = document.createElement("td"); td.textContent = v; tr.appendChild(td);
    }
    body.appendChild(tr);
  }
  const series = (key) => [
    { label: `this view (${S.session})`, color: "#4a90e2", points: mine.map(s => [s.step, s[key]]) },
    { label: `${c.role} (${c.other})`, color: "#e0a33a", points: c.totals.map(s => [s.step, s[key]]) },
  ];
  chart($("compare-capital"), series("capital"), "step", "total capital", c.fork ? [c.fork] : []);
  chart($("compare-defaults"), series("defaults"), "step", "defaults", c.fork ? [c.fork] : [], true);
  $("resume").textContent = c.state === "paused" && S.state === "paused" ? "Resume both" : "Resume";
}

export async function branch() {
  const res = await control("branch");
  if (!res) return;
  openCompare(res.session_id, res.step);
  feed(`${res.step} · branched: ${res.session_id} continues from here (shown beside this view)`, "control");
  refreshSessions();
}

export async function resume() {
  const other = S.compare && S.compare.state === "paused" ? S.compare.other : null;
  await control("resume");
  if (other) await control("resume", {}, other);
}
