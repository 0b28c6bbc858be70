// interbank page: the network view: layout, exposures, the base layer (painted by paint.js,
// in a worker where it can be) and the overlay (selection, animations, the focus on a contagion).

import { $, money, COLORS, S } from "./state.js";
import { button, select } from "./panels.js";
import { GROUPED_MIN, groupsDirty } from "./groups.js";

export function replayButton(cascade) {
  return button("replay", "replay", (ev) => { ev.stopPropagation(); playCascade(cascade, performance.now()); });
}

export function playCascade(c, now) {
  const idx = (ids) => ids.filter(id => S.index.has(id)).map(id => S.index.get(id));
  const triggers = idx(c.trigger), victims = idx(c.defaulted.filter(id => !c.trigger.includes(id)));
  S.cascadeAnim = { triggers, victims, t: now, step: c.step };
  focusOn("cascade", [...c.trigger, ...c.defaulted], c.step);
  for (const i of triggers) S.flashes.push({ i, t: now });
  S.overlay = true;
}

// Vogel spiral: even spacing at any size, the most connected banks in the middle
export function layout(d) {
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
export function cellOf(x, y) {
  const g = S.grid, cx = Math.floor((x + 1) / g.size), cy = Math.floor((y + 1) / g.size);
  return cx * 100003 + cy;
}

// ------------------------------------------------------------------ exposures (current, directed)
export function fetchExposures(step, force = false) {
  if (!S.session) return;
  S.exposureWanted = step;
  if (force) S.exposureStep = -1;
  if (S.exposureBusy || step === S.exposureStep) return;
  S.exposureBusy = true;
  const id = S.session, n = S.nodes.length;
  const limit = exposureLimit(n);
  fetch(`/api/interactive/exposures/${id}?step=${step}${limit}`, { cache: "no-store" })
    .then(r => {
      if (!r.ok && id === S.session) {  // not kept (a step gone by, or a session read back after a restart): do not ask again
        S.exposureStep = step;
        if (!S.timeline && !S.exposures) $("sys-exposures").textContent = "not kept for this step";
      }
      return r.ok ? r.json() : null;
    })
    .then(x => { if (x && id === S.session && S.timeline) { S.timeline.live.exposures = x; S.exposureStep = step; } else if (x && id === S.session) { keepExposures(x); S.exposures = x; S.exposureStep = step; S.dirty = true; $("sys-exposures").textContent = `${x.count} · ${money(x.total)}`; } })
    .catch(() => {})
    .finally(() => { S.exposureBusy = false; if (S.exposureWanted !== S.exposureStep && id === S.session) fetchExposures(S.exposureWanted); });
}

// the exposures asked for: all of them up to 400 banks and from GROUPED_MIN on (the aggregated view
// sums every one), the largest 3 per bank in between
export function exposureLimit(n) { return n <= 400 || n >= GROUPED_MIN ? "" : `&limit=${Math.min(6000, 3 * n)}`; }

// ------------------------------------------------------------------ drawing
export function pulse(from, to) {
  if (!S.index.has(from) || !S.index.has(to)) return;
  S.pulses.push({ a: S.index.get(from), b: S.index.get(to), t: performance.now() });
  if (S.pulses.length > 150) S.pulses.splice(0, S.pulses.length - 150);
}

export function transform() {
  const c = $("network"), v = S.view, s = 0.47 * Math.min(c.width, c.height) * v.zoom;
  return { s, ox: c.width / 2 + v.x, oy: c.height / 2 + v.y };
}

// Two stacked canvases: the base (exposures and banks) is redrawn only when the data or the view
// changes; the overlay on top (animations, hover, the selected bank and its exposures) is cheap and
// redrawn while something moves. A software canvas rasterises every drawn path at commit: redrawing
// thousands of edges each frame is what made frames slow. The base's layers are made a slice of banks
// at a time within BASE_BUDGET_MS a frame (at 10,000 banks one pass over them took 30-110 ms of a
// loaded machine's frame), and painted by the layer worker once they are all made; a change while
// they are being made is drawn by the next pass, when this one is done.
export const BASE_SLICE = 2000, BASE_BUDGET_MS = 6;
let baseJob = null;  // the base being made: see startBase (S.baseBusy says whether one is)

export function draw(now) {
  if (baseJob !== null && baseJob.nodes !== S.nodes) baseJob = null;  // another session shown since: made anew
  if (S.dirty && baseJob === null) { S.dirty = false; baseJob = startBase(); }
  if (baseJob !== null && stepBase(baseJob)) { baseJob = null; S.overlay = true; groupsDirty(); S.baseFrame = S.frames; }
  S.baseBusy = baseJob !== null;
  const animating = S.pulses.length || S.flashes.length || S.cascadeAnim;
  if (!S.overlay && !animating) return;
  S.overlay = false;
  drawOverlay(now);
}

// a new base: each bank's place on the canvas (P), its radius and colour layer made by stepBase
function startBase() {
  const c = $("network-base"), n = S.nodes.length, id = ++S.baseWanted;
  const { s, ox, oy } = transform(), P = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) { P[2 * i] = ox + S.nodes[i].x * s; P[2 * i + 1] = oy + S.nodes[i].y * s; }
  // radius from equity, capped by the spacing so that nodes never merge
  let maxEq = 1;
  for (const b of S.banks.values()) if (!b.defaulted && !b.deleted && b.equity > maxEq) maxEq = b.equity;
  const small = n > 3000, cap = Math.max(1.2, (small ? 0.3 : n > 300 ? 0.34 : 0.45) * S.spacing * s);
  return { c, id, n, nodes: S.nodes, P, maxEq, small, cap, next: 0,
    gone: new Uint8Array(n), dist: new Uint8Array(n), groups: new Map(), made: [], marks: [] };
}

// the next slices of banks, within the frame's budget; true once the base is made and sent to paint
function stepBase(job) {
  const { c, n, P, maxEq, small, cap, gone, dist, groups, made, marks } = job, t0 = performance.now();
  if (!n) { $("lod").textContent = ""; S.proj = P; paintBase(c, [], job.id); return true; }
  while (job.next < n) {
    const end = Math.min(n, job.next + BASE_SLICE);
    for (let i = job.next; i < end; i++) {
      const p = S.nodes[i], b = S.banks.get(p.id);
      if (!b) { gone[i] = 1; continue; }
      gone[i] = b.defaulted || b.deleted ? 1 : 0;
      dist[i] = !gone[i] && !!b.priority && b.priority !== "PROFIT" ? 1 : 0;
      const key = b.deleted ? "deleted" : b.defaulted ? "defaulted" : (b.priority || "PROFIT");
      // a defaulted bank keeps a visible size (at least DEFAULTED_R px, whatever the crowd) and a mark
      p.r = b.defaulted && !b.deleted ? Math.max(DEFAULTED_R, Math.min(cap, 6)) : b.deleted ? Math.min(cap, 3)
        : Math.min(cap, 1.5 + 14 * Math.sqrt(Math.max(0, b.equity || 0) / maxEq));
      const x = P[2 * i], y = P[2 * i + 1];
      if (x < -p.r || y < -p.r || x > c.width + p.r || y > c.height + p.r) continue;
      if (key === "defaulted") { marks.push(x - p.r * 0.6, y - p.r * 0.6, x + p.r * 0.6, y + p.r * 0.6, x - p.r * 0.6, y + p.r * 0.6, x + p.r * 0.6, y - p.r * 0.6); }
      const kind = small && p.r < 2.5 ? "squares" : "circles";
      let byKind = groups.get(key); if (!byKind) groups.set(key, byKind = {});
      let L = byKind[kind]; if (!L) { L = byKind[kind] = { kind, style: COLORS[key], data: [], key }; made.push(L); }
      L.data.push(x, y, p.r);
    }
    job.next = end;
    if (job.next < n && performance.now() - t0 > BASE_BUDGET_MS) return false;
  }
  const edges = edgeLayers(P, gone, dist), layers = [];
  // distressed and failed banks last, so that they are drawn on top of the rest
  const rank = { PROFIT: 0, deleted: 1, STABILITY: 2, LIQUIDITY: 3, defaulted: 4 };
  const sorted = made.sort((a, b) => rank[a.key] - rank[b.key]);
  for (const L of sorted) if (L.key !== "defaulted") layers.push({ kind: L.kind, style: L.style, data: new Float32Array(L.data) });
  // at thousands of banks the nodes fill the disc: the exposures drawn go on top of them
  const out = small ? [...layers, ...edges] : [...edges, ...layers];
  // focus: everything so far fades behind a veil; the contagion's exposures and banks go on top
  if (S.focus) out.push({ kind: "squares", style: "rgba(11,16,21,0.78)", data: new Float32Array([c.width / 2, c.height / 2, Math.max(c.width, c.height)]) }, ...focusLayers(P));
  // failed banks last: never hidden under the crowd, each with its mark
  for (const L of sorted) if (L.key === "defaulted") out.push({ kind: "circles", style: L.style, data: new Float32Array(L.data) });
  if (marks.length) out.push({ kind: "lines", style: "#0b1015", width: 1.6, data: new Float32Array(marks) });
  S.baseFocus = S.focus ? (S.focus.edges ? "edges" : "banks") : null;
  S.proj = P;
  paintBase(c, out, job.id);
  return true;
}

// the base is painted by the layer worker (off the main thread) where the browser allows it;
// a request made while it paints replaces any older one still waiting
export let layerWorker, layerBusy = false, layerNext = null;
export function paintBase(c, layers, id = ++S.baseWanted) {
  if (layerWorker === undefined) {
    layerWorker = typeof OffscreenCanvas !== "undefined" && typeof Worker !== "undefined" && c.getContext("bitmaprenderer") ? new Worker("/static/layer.js") : null;
    if (layerWorker) layerWorker.onmessage = (msg) => {
      c.getContext("bitmaprenderer").transferFromImageBitmap(msg.data.bitmap);
      S.baseFrames++; S.basePainted = msg.data.id;
      layerBusy = false;
      if (layerNext) { const next = layerNext; layerNext = null; paintBase(c, next.layers, next.id); }
    };
  }
  if (!layerWorker) { paintLayers(c.getContext("2d"), c.width, c.height, layers); S.baseFrames++; S.basePainted = id; return; }
  if (layerBusy) { layerNext = { layers, id }; return; }
  layerBusy = true;
  const buffers = layers.map(L => L.data.buffer);
  layerWorker.postMessage({ w: c.width, h: c.height, layers, id }, buffers);
}

export const DEFAULTED_R = 4;  // px: the smallest a defaulted bank is drawn, at any size of network

// Focus and context: while a cascade plays (or a defaulted bank is selected) the banks it hit and
// their exposures just before (the step before the default, from the server) are drawn at full
// strength on top, everything else faded. S.focus = {kind, banks: Set of node indices, step, edges}.
function keepExposures(x) {  // a few recent snapshots, for the focus on a default (the step before it)
  const h = S.exposureHistory;
  if (h.length && h[h.length - 1].step >= x.step) h.pop();
  h.push(x); if (h.length > 8) h.shift();
}

export function focusOn(kind, ids, step) {
  const idx = ids.filter(id => S.index.has(id)).map(id => S.index.get(id));
  if (!idx.length || !S.session) { S.focus = null; return; }
  const focus = S.focus = { kind, banks: new Set(idx), step, edges: null };
  S.dirty = true;
  const id = S.session, before = S.exposureHistory.filter(x => x.step < step).at(-1);
  // the exposures just before the default: the server's (it keeps the last steps of a live session),
  // else the newest the page fetched before that step
  fetch(`/api/interactive/exposures/${encodeURIComponent(id)}?step=${Math.max(0, step - 1)}`, { cache: "no-store" })
    .then(r => r.ok ? r.json() : null).catch(() => null)
    .then(got => {
      const x = got && got.step < step ? got : before;
      if (S.focus !== focus || S.session !== id) return;
      const ks = [];  // none known (older than anything kept): the banks alone, no exposures
      if (x) for (let k = 0; k < x.amount.length; k++) if (focus.banks.has(x.lender[k]) || focus.banks.has(x.borrower[k])) ks.push(k);
      focus.edges = { lender: ks.map(k => x.lender[k]), borrower: ks.map(k => x.borrower[k]), amount: ks.map(k => x.amount[k]) };
      S.dirty = true;
    });
}
export function unfocus(kind = null) {
  if (S.focus && (kind === null || S.focus.kind === kind)) { S.focus = null; S.dirty = true; }
}

function focusLayers(P) {
  const f = S.focus, layers = [], e = f.edges;
  if (e && e.amount.length) {
    const d = new Float32Array(4 * e.amount.length);
    e.amount.forEach((_, j) => { const A = 2 * e.lender[j], B = 2 * e.borrower[j]; d[4 * j] = P[A]; d[4 * j + 1] = P[A + 1]; d[4 * j + 2] = P[B]; d[4 * j + 3] = P[B + 1]; });
    layers.push({ kind: "lines", style: "rgba(240,110,110,0.95)", width: 1.6, data: d });
    layers.push({ kind: "triangles", style: "rgba(255,190,190,0.95)", data: arrowHeads(P, e, e.amount.map((_, j) => j).slice(0, 600)) });
  }
  // the counterparties of those exposures, at full strength
  const around = new Set(e ? [...e.lender, ...e.borrower] : []);
  const groups = new Map();
  for (const i of around) {
    if (f.banks.has(i)) continue;
    const b = S.banks.get(S.names[i]); if (!b || b.defaulted) continue;
    const key = b.deleted ? "deleted" : b.priority || "PROFIT";
    let L = groups.get(key); if (!L) groups.set(key, L = []);
    L.push(P[2 * i], P[2 * i + 1], Math.max(3, S.nodes[i].r));
  }
  for (const [key, data] of groups) layers.push({ kind: "circles", style: COLORS[key], data: new Float32Array(data) });
  return layers;
}

export function distressed(i) { const b = S.banks.get(S.names[i]); return !!b && !b.defaulted && !b.deleted && !!b.priority && b.priority !== "PROFIT"; }
export function goneAt(i) { const b = S.banks.get(S.names[i]); return !b || b.defaulted || b.deleted; }

// level of detail: every exposure to a bank in distress, then the largest ones up to a budget
// (exposures come largest first); the rest is summarised in the legend. Width = amount.
export function edgeLayers(P, gone = null, dist = null) {
  const x = S.exposures; if (!x) { $("lod").textContent = S.timeline ? ` · exposures of step ${S.timeline.step} are no longer kept` : ""; return []; }
  const n = S.nodes.length, budget = n <= 300 ? Infinity : n <= 3000 ? 2000 : 3000;
  let amax = 0; for (let k = 0; k < x.amount.length; k++) if (x.amount[k] > amax) amax = x.amount[k];
  const widths = [[], [], [], []], stressed = [];
  // each bank looked up once (not twice or three times per exposure: tens of thousands at 10,000 banks)
  if (!gone || !dist) {
    gone = new Uint8Array(n); dist = new Uint8Array(n);
    for (let i = 0; i < n; i++) { gone[i] = goneAt(i) ? 1 : 0; dist[i] = distressed(i) ? 1 : 0; }
  }
  let drawn = 0, drawnAmount = 0;
  for (let k = 0; k < x.amount.length; k++) {
    const a = x.lender[k], b = x.borrower[k];
    if (a >= n || b >= n || gone[a] || gone[b]) continue;
    const special = dist[b] === 1;
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
export function arrowHeads(P, x, ks) {
  const out = [];
  for (const k of ks) {
    const A = 2 * x.lender[k], B = 2 * x.borrower[k], dx = P[B] - P[A], dy = P[B + 1] - P[A + 1], L = Math.hypot(dx, dy);
    if (L < 12) continue;
    const ux = dx / L, uy = dy / L, tx = P[A] + dx * 0.62, ty = P[A + 1] + dy * 0.62;
    out.push(tx + ux * 5, ty + uy * 5, tx - uy * 3, ty + ux * 3, tx + uy * 3, ty - ux * 3);
  }
  return new Float32Array(out);
}

export function drawOverlay(now) {
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
// (one path for the lines and one for the discs: hundreds of victims at 10,000 banks, every frame)
export function drawCascade(g, at, now) {
  const c = S.cascadeAnim, age = now - c.t, total = 1200 + 150 * Math.min(c.victims.length, 40);
  if (age > total + 1500) { S.cascadeAnim = null; S.overlay = true; unfocus("cascade"); return; }
  // victims revealed one after another (150 ms each; a cascade of more than 40 in batches, within 6 s)
  const per = Math.max(1, Math.ceil(c.victims.length / 40));
  const shown = Math.min(c.victims.length, (Math.floor(age / 150) + 1) * per), alpha = age > total ? 1 - (age - total) / 1500 : 1;
  g.strokeStyle = `rgba(224,82,82,${0.8 * alpha})`; g.fillStyle = `rgba(224,82,82,${0.9 * alpha})`; g.lineWidth = 1.5;
  g.beginPath();
  for (let v = 0; v < shown; v++) {
    const [bx, by] = at(c.victims[v]);
    for (const t of c.triggers) { const [ax, ay] = at(t); g.moveTo(ax, ay); g.lineTo(bx, by); }
  }
  g.stroke();
  g.beginPath();
  for (let v = 0; v < shown; v++) { const [bx, by] = at(c.victims[v]); g.moveTo(bx + 5, by); g.arc(bx, by, 5, 0, 7); }
  for (const t of c.triggers) { const [ax, ay] = at(t); g.moveTo(ax + 7, ay); g.arc(ax, ay, 7, 0, 7); }
  g.fill();
}

// picking: the nearest node within its radius (at least 6 px), found through the grid
export function pickAt(clientX, clientY) {
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

export let pointer = null, drag = null;
export function onPointerMove(ev) {
  if (drag) {
    S.view.x = drag.vx + (ev.clientX - drag.x) * drag.k; S.view.y = drag.vy + (ev.clientY - drag.y) * drag.k;
    drag.moved = drag.moved || Math.hypot(ev.clientX - drag.x, ev.clientY - drag.y) > 4; S.dirty = true; return;
  }
  pointer = { x: ev.clientX, y: ev.clientY };
}
export function hover() {
  if (!pointer) return;
  const id = pickAt(pointer.x, pointer.y), tip = $("tip");
  if (id !== S.hover) { S.hover = id; S.overlay = true; }
  if (!id) { tip.hidden = true; pointer = null; return; }
  const b = S.banks.get(id), rect = $("network").parentElement.getBoundingClientRect();
  tip.textContent = b ? `${id} · equity ${money(b.equity)} · ${b.deleted ? "deleted" : b.defaulted ? "defaulted" : b.priority || "PROFIT"}` : id;
  tip.style.left = (pointer.x - rect.left + 12) + "px"; tip.style.top = (pointer.y - rect.top + 12) + "px"; tip.hidden = false;
  pointer = null;
}

// the canvas: wheel zooms, drag pans, a click selects, a double click resets the view
export function wireNetwork() {
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
}
