// interbank page: the one state store, created here and nowhere else, and the small helpers
// (DOM lookup, number formats, colours) every other module shares.
//
// The store has two parts: what belongs to the page (the server's vocabulary, the connection,
// frame counters) and what belongs to the session shown (viewFields: its stream position,
// banks, histories, exposures, animations, what the timeline shows). Showing another session
// resets the second part from viewFields() alone: no list of fields written twice.

export const $ = (id) => document.getElementById(id);
export const noNegZero = (text) => /^-0(\.0+)?$/.test(text) ? text.slice(1) : text;
// one formatter, made once: toLocaleString with options builds one per call (~70 ms a frame for the
// grouped view's table at 10,000 banks); the same locale and options, so the same text
const WHOLE = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
export const fmt = (x) => (x === null || x === undefined || Number.isNaN(x)) ? "–" :
  noNegZero(Math.abs(x) >= 1000 ? WHOLE.format(x) : x.toFixed(2));
// dollars: "$1,234", "−$5.00"
export const money = (x) => (x === null || x === undefined || Number.isNaN(x)) ? "–" : (fmt(x).startsWith("-") ? "−$" + fmt(-x) : "$" + fmt(x));
export const pct = (x) => (x === null || x === undefined) ? "–" : noNegZero((100 * x).toFixed(2)) + "%";
export const plural = (n, one, many = one + "s") => `${n} ${n === 1 ? one : many}`;
// node colours: a bank's priority in force, or its end; the legend (index.html) names each of them
export const COLORS = { PROFIT: "#3fb27f", LIQUIDITY: "#e0a33a", STABILITY: "#9b7be0", defaulted: "#e05252", deleted: "#5b6673" };
export const MARKET_COLORS = ["#e8d44d", "#5ad1e0", "#f08fc0", "#8fd18f"];
export const FRAME_BUDGET_MS = 10;   // stream work per animation frame; the rest waits for the next frame
export const MAX_FLASHES = 60;      // default flashes drawn at once (the newest)
export const SAMPLE_PER_STEP = 6;    // transactions shown per step in the feed (a fair random sample)

// the session shown: every field a new session starts from
export function viewFields() {
  return {
    session: null, source: null, state: "idle", maxSteps: 0, finished: false, gone: false, formShown: null,
    // the stream: queued events (read from queueAt on; queueEnd: the newest step_end's index), the
    // snapshot being applied ({seq, next, ms}: a slice per frame), the last event applied, resuming
    // after a reload
    queue: [], queueAt: 0, queueEnd: -1, applying: null, lastSeq: -1, catchUp: -1, streamErrors: 0, resumeAt: -1, quiet: false, endSeq: -1, firstSeq: null, resuming: false,
    // the network and its banks
    init: null, names: [], index: new Map(), nodes: [], spacing: 1, grid: null, banks: new Map(),
    // histories and totals
    equityHistory: new Map(), stepTotals: [], marketHistory: new Map(), marketFlows: new Map(),
    totals: null, lastTotals: null, unmetTotal: 0, cbDraws: undefined, markets: [], logItems: [], recent: [], feedLines: [],
    step: null, feedDirty: false, marketDirty: false, policyRate: null, minCapital: null,
    exposures: null, exposureHistory: [], exposureStep: -1, exposureWanted: -1, exposureBusy: false,
    // what the user looks at
    selected: null, hover: null, market: null, view: { zoom: 1, x: 0, y: 0 },
    flashes: [], cascadeAnim: null, pulses: [], defaultedAt: new Map(),
    focus: null,     // a contagion in focus (network.js focusOn): {kind, banks, step, edges}
    dirty: true, overlay: true, proj: null,
    timeline: null,  // a past step shown: {step, banks, totals, ...} (timeline.js); null = live
  };
}

function createState() {
  return {
    ...viewFields(),
    conn: "idle", frames: 0, unhandled: [],
    stepEndCost: [],  // [parse ms, apply ms] of the last step snapshots shown (the benchmark reads it)
    digestsApplied: 0,  // digests of small events applied (events.js applyDigest; tests read it)
    // base layer paints: asked (network.js startBase) and on screen; what the last one asked shows of a focus
    baseFrames: 0, baseWanted: 0, basePainted: 0, baseFocus: null,
    baseBusy: false,  // a base being made, a slice of banks per frame (network.js stepBase)
    baseFrame: -1,  // the frame (S.frames) the base was last drawn in: the grouped view waits a frame then
    // the branch shown beside the session ({other: session id, source, totals: [], state, step, fork}):
    // opened and closed by compare.js (it holds a stream), not by a reset
    compare: null,
    vocab: null,  // GET /api/vocabulary: every list the page shares with the server
    live: new Set(["ready", "running", "paused"]),  // replaced by the vocabulary's live_states
  };
}

export const S = createState();
window.__ib = S;   // for tests and the benchmark: the page's own record of what it showed

// a new session shown: the session's part of the store back to its start, the rest kept
export function resetView() {
  Object.assign(S, viewFields());
}
