// interbank page: the central bank agent. Its start choice (GET /api/vocabulary's central_banks),
// its panel (policy rate, countercyclical buffer and haircuts over time, its last decision and
// what it saw, by feature name) and its decisions in the feed. Everything shown comes from the
// stream: the agent's central_bank events (source "agent", with decision and observation) and each
// step_end's policy rate; the buffer and the haircuts are the values its last set_ccyb /
// set_haircuts events gave (both start at 0 and x1 each episode).

import { $, pct, S } from "./state.js";
import { chart, feed } from "./panels.js";

// a haircut setting's name from its scale (GET /api/vocabulary's haircut_scales: name -> scale); "" if unknown
const haircutName = (value) => {
  const e = Object.entries((S.vocab && S.vocab.haircut_scales) || {}).find(([, scale]) => scale === value);
  return e ? e[0] : "";
};
const KEEP = 5000;  // steps of history kept for the charts

// the Setup form's choice: the scenario's own, each rule, or the learned one of a two-policy checkpoint
export function centralBankChoices(vocab, checkpoints) {
  const sel = $("central-bank"); if (!sel) return;
  const pairs = (checkpoints && checkpoints.central_bank) || [];
  sel.replaceChildren(new Option("scenario's own", ""));
  for (const c of vocab.central_banks || []) {
    const o = new Option(c.name, c.name); o.title = c.description;
    // (a choice that needs a two-policy checkpoint, with none here, is shown but not offered: every start would be refused)
    if (c.needs_checkpoint && !pairs.length) { o.disabled = true; o.title += " (no two-policy checkpoint on this server)"; }
    sel.appendChild(o);
  }
  sel.title = "who plays the central bank agent; " + (pairs.length ? `learned needs a two-policy checkpoint (${pairs.join(", ")})`
    : "learned needs a two-policy checkpoint, and this server has none");
}

// what the start request says of the central bank (nothing: the scenario's own)
export function centralBankStartBody() {
  const sel = $("central-bank");
  return sel && sel.value ? { central_bank: sel.value } : {};
}

// the Setup form after a reload or an Attach: who played the central bank in the session shown
export function showCentralBankSetting(settings) {
  const sel = $("central-bank"); if (sel) sel.value = settings.central_bank || "";
}

export function centralBankInit(d) {
  const cfg = d.config.resolved && d.config.resolved.central_bank;
  const on = !!(cfg && cfg.agent);
  const learned = d.config.run && d.config.run.central_bank ? d.config.run.central_bank.policy : null;
  const rule = cfg ? cfg.rule || (S.vocab && S.vocab.central_bank_default_rule) : null;  // left out at its default
  S.cb = { on, who: learned || rule, ccyb: 0, haircuts: 1, series: [], decisions: [], last: null, seq: -1 };
  const panel = $("cb-panel"); if (!panel) return;
  panel.hidden = !on;
  // the resolved config leaves out settings at their default (every: 1, a decision each step)
  if (on) { $("cb-who").textContent = `played by ${S.cb.who}` + (cfg.every > 1 ? `, deciding every ${cfg.every} steps` : ""); render(); }
}

// one step_end: the figures in force over that step
export function centralBankStep(step, totals) {
  const cb = S.cb; if (!cb || !cb.on || !totals) return;
  const last = cb.series[cb.series.length - 1];
  if (last && last.step >= step) return;  // a step restored after a reload is not counted twice
  cb.series.push({ step, rate: totals.policy_rate, ccyb: cb.ccyb, haircuts: cb.haircuts });
  if (cb.series.length > KEEP) cb.series.shift();
  if (!S.quiet) render();
}

// an event of the agent: its decision (a lend_systemic decision is one inject event per bank)
export function centralBankDecision(e) {
  const cb = S.cb, d = e.data; if (!cb || e.seq <= cb.seq) return;  // shown before a reload (centralBankRestore)
  cb.seq = e.seq;
  if (d.operation === "set_ccyb") cb.ccyb = d.value;
  if (d.operation === "set_haircuts") cb.haircuts = d.value;
  const same = cb.last && cb.last.step === e.step && cb.last.seq !== e.seq && cb.last.decision === d.decision;
  if (same) { cb.last.events.push(d); return; }
  cb.last = { seq: e.seq, step: e.step, decision: d.decision, overridden: !!d.overridden, observation: d.observation || {}, events: [d] };
  cb.decisions.push({ step: e.step, decision: d.decision, overridden: !!d.overridden });
  if (cb.decisions.length > KEEP) cb.decisions.shift();
  if (!S.quiet) render();
}

// what a reload keeps (app.js save / restore): the panel's history, not re-sent by the stream
export function centralBankSaved() {
  const cb = S.cb; if (!cb || !cb.on) return null;
  return { ccyb: cb.ccyb, haircuts: cb.haircuts, series: cb.series.slice(-3000), decisions: cb.decisions.slice(-3000), last: cb.last, seq: cb.seq };
}
export function centralBankRestore(saved) {
  if (!saved || !S.cb || !S.cb.on) return;
  Object.assign(S.cb, saved); render();
}

// the agent's own operations (the feed; the panel is centralBankDecision's)
export function agentOperation(e, d) {
  if (d.operation === "hold") { if (d.overridden) feed(`${e.step} · central bank agent holds: a person's command stands this step`, "control"); return; }
  if (d.operation === "set_ccyb") feed(`${e.step} · central bank: buffer (CCyB) ${pct(d.value)} (agent: ${d.decision})`, "control");
  if (d.operation === "set_haircuts") feed(`${e.step} · central bank: haircuts ${haircutName(d.value)} x${d.value} (agent: ${d.decision})`, "control");
}

function describe(last) {
  if (!last) return "no decision yet";
  const d = last.events[0];
  const what = last.overridden ? "held: a person's command stood this step"
    : last.decision === "lend_systemic" ? `lent to ${last.events.map(x => x.bank).join(", ")}`
    : d.operation === "set_policy_rate" ? `policy rate → ${pct(d.value)}`
    : d.operation === "set_ccyb" ? `buffer → ${pct(d.value)}`
    : d.operation === "set_haircuts" ? `haircuts → ${haircutName(d.value) || "x" + d.value}`
    : "held";
  return `step ${last.step}: ${last.decision} (${what})`;
}

export function render() {
  const cb = S.cb; if (!cb || !cb.on || !$("cb-panel")) return;
  const pts = (key, scale) => cb.series.map(p => [p.step, scale * p[key]]);
  chart($("cb-rates"), [
    { label: "policy rate", color: "#4a90e2", points: pts("rate", 100) },
    { label: "buffer (CCyB)", color: "#e0a33a", points: pts("ccyb", 100) },
  ], "step", "%");
  chart($("cb-haircuts"), [{ label: "haircuts (x normal)", color: "#9b7be0", points: pts("haircuts", 1) }], "step", "x");
  $("cb-last").textContent = describe(cb.last);
  $("cb-last").dataset.step = cb.last ? cb.last.step : "";
  $("cb-last").dataset.decision = cb.last ? cb.last.decision : "";
  const units = new Map(((S.vocab && S.vocab.central_bank_features) || []).map(f => [f.name, f.unit]));
  const body = $("cb-seen").querySelector("tbody"); body.replaceChildren();
  for (const [name, value] of Object.entries(cb.last ? cb.last.observation : {})) {
    const tr = document.createElement("tr"), a = document.createElement("td"), b = document.createElement("td");
    a.textContent = name; a.title = units.get(name) || ""; b.textContent = value === null ? "–" : (+value).toFixed(3);
    tr.dataset.feature = name; tr.append(a, b); body.appendChild(tr);
  }
}
