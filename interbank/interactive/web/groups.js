// interbank page: the aggregated view for 1,000 banks and more. Banks are put in a few groups (by
// size: fifths of the initial capital; or core / periphery: the 10% with the largest interbank
// exposure at the step shown, and the rest); a table shows each group's banks, defaults and
// equity, and the exposures between groups as a matrix (row lends to column), every figure from
// the step shown: its step_end's banks and its exposures (all of them: the page asks for every
// exposure at this size). The legend under it explains every colour.

import { $, money, plural, S } from "./state.js";

export const GROUPED_MIN = 1000;   // banks: from this size on the aggregated view is shown
const CORE_SHARE = 0.1;            // core = this share of banks, the largest gross exposures
const REFRESH_MS = 250;            // the table is rebuilt at most this often

let shownAt = -Infinity, pending = false, sized = null;  // sized: the size grouping, made once per session's init

export function groupsShown() { return S.nodes.length >= GROUPED_MIN; }

// which group each bank (node index) is in, and the groups' names, largest first
export function grouping(by) {
  const n = S.names.length, of = new Int32Array(n);
  if (by === "core") {
    const gross = new Float64Array(n), x = S.exposures;
    if (x) for (let k = 0; k < x.amount.length; k++) { gross[x.lender[k]] += x.amount[k]; gross[x.borrower[k]] += x.amount[k]; }
    const order = [...gross.keys()].sort((a, b) => gross[b] - gross[a] || a - b), core = Math.max(1, Math.round(CORE_SHARE * n));
    order.forEach((i, k) => { of[i] = k < core ? 0 : 1; });
    return { of, names: [`core (${plural(core, "bank")}, largest exposures)`, "periphery"] };
  }
  if (sized && sized.init === S.init && sized.of.length === n) return sized;
  const capital = S.init ? S.init.banks.map(b => b.capital) : new Array(n).fill(0);
  const order = [...capital.keys()].sort((a, b) => capital[b] - capital[a] || a - b);
  order.forEach((i, k) => { of[i] = Math.min(4, Math.floor(5 * k / n)); });
  sized = { init: S.init, of, names: ["size 1 (largest fifth)", "size 2", "size 3", "size 4", "size 5 (smallest fifth)"] };
  return sized;
}

// the figures the table shows: per group banks, active, defaulted, deleted, equity (active banks),
// and the exposure matrix with the share of each cell lent to banks in distress
export function groupFigures(by) {
  const { of, names } = grouping(by), G = names.length;
  const rows = names.map(name => ({ name, banks: 0, active: 0, defaulted: 0, deleted: 0, equity: 0, lent: new Array(G).fill(0), distressed: new Array(G).fill(0) }));
  // each bank looked up once: whether it is active and in distress, for the exposures after
  const distress = new Uint8Array(S.names.length);
  S.names.forEach((id, i) => {
    const b = S.banks.get(id), r = rows[of[i]]; r.banks++;
    if (!b) return;
    if (b.deleted) r.deleted++; else if (b.defaulted) r.defaulted++; else { r.active++; r.equity += b.equity; if (b.priority && b.priority !== "PROFIT") distress[i] = 1; }
  });
  const x = S.exposures;
  let total = 0, count = 0;
  if (x) for (let k = 0; k < x.amount.length; k++) {
    const a = x.lender[k], b = x.borrower[k]; if (a >= of.length || b >= of.length) continue;
    rows[of[a]].lent[of[b]] += x.amount[k]; total += x.amount[k]; count++;
    if (distress[b]) rows[of[a]].distressed[of[b]] += x.amount[k];
  }
  return { rows, total, count, complete: !!x && x.amount.length === x.count, step: x ? x.step : null };
}

export function groupsDirty() { pending = true; }

// at most every REFRESH_MS, when something changed
export function groupsTick(now) {
  const box = $("groups");
  if (!groupsShown()) { if (!box.hidden) box.hidden = true; return; }
  if (box.hidden) { box.hidden = false; pending = true; }
  // never in a frame the network's base is made in (at 10,000 banks each takes tens of ms)
  if (!pending || now - shownAt < REFRESH_MS || S.baseFrame === S.frames || S.baseBusy) return;
  pending = false; shownAt = now;
  renderGroups();
}

export function renderGroups() {
  const by = $("groups-by").value, f = groupFigures(by), G = f.rows.length;
  let max = 0; for (const r of f.rows) for (const v of r.lent) if (v > max) max = v;
  const head = document.createElement("tr");
  head.innerHTML = `<th title="the banks of the group">group</th><th title="banks in the group: all, and active now">banks</th>` +
    `<th title="banks of the group that defaulted (drawn red with a × on the network)">defaulted</th>` +
    `<th title="equity of the group's active banks, in dollars">equity</th>` +
    f.rows.map((r, j) => `<th title="lent to the banks of ${r.name}, in dollars">→ ${j + 1}</th>`).join("") +
    `<th title="everything the group has lent to other banks, in dollars">lent</th>`;
  const body = f.rows.map((r, i) => {
    const tr = document.createElement("tr"); tr.dataset.group = i;
    const lentAll = r.lent.reduce((a, v) => a + v, 0);
    tr.innerHTML = `<td>${i + 1}. ${r.name}</td><td class="num" data-k="banks">${r.banks} <small>(${r.active} active)</small></td>` +
      `<td class="num defaulted" data-k="defaulted" title="${plural(r.defaulted, "bank")} defaulted${r.deleted ? `, ${r.deleted} deleted` : ""}">${r.defaulted ? "× " + r.defaulted : "0"}</td>` +
      `<td class="num" data-k="equity" data-v="${r.equity}">${money(r.equity)}</td>` +
      r.lent.map((v, j) => {
        const share = v > 0 ? r.distressed[j] / v : 0, alpha = max > 0 ? 0.08 + 0.6 * Math.sqrt(v / max) : 0;
        return `<td class="num cell" data-k="lent" data-v="${v}" style="background:rgba(130,150,175,${alpha.toFixed(3)})" ` +
          `title="${r.name} → ${f.rows[j].name}: ${money(v)} outstanding; ${(100 * share).toFixed(0)}% of it to banks in distress">` +
          `${money(v)}<span class="distress" style="width:${(100 * share).toFixed(1)}%"></span></td>`;
      }).join("") + `<td class="num" data-k="lent-row" data-v="${lentAll}">${money(lentAll)}</td>`;
    return tr;
  });
  const foot = document.createElement("tr"); foot.className = "total";
  const sum = (k) => f.rows.reduce((a, r) => a + r[k], 0);
  foot.innerHTML = `<td>all banks</td><td class="num" data-k="banks">${sum("banks")} <small>(${sum("active")} active)</small></td>` +
    `<td class="num defaulted" data-k="defaulted">${sum("defaulted") ? "× " + sum("defaulted") : "0"}</td>` +
    `<td class="num" data-k="equity" data-v="${sum("equity")}">${money(sum("equity"))}</td>` +
    [...Array(G).keys()].map(j => { const v = f.rows.reduce((a, r) => a + r.lent[j], 0); return `<td class="num" data-k="borrowed" data-v="${v}" title="borrowed by the banks of ${f.rows[j].name}">${money(v)}</td>`; }).join("") +
    `<td class="num" data-k="lent-total" data-v="${f.total}">${money(f.total)}</td>`;
  $("groups-table").querySelector("thead").replaceChildren(head);
  $("groups-table").querySelector("tbody").replaceChildren(...body, foot);
  $("groups-note").textContent = f.step === null ? "exposures not loaded yet" :
    `step ${f.step}: ${plural(f.count, "exposure")}${f.complete ? "" : " (the largest only: the rest are not in the matrix)"}`;
}

export function wireGroups() {
  $("groups-by").onchange = () => { pending = false; shownAt = performance.now(); renderGroups(); };
}
