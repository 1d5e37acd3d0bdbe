// The review UI: keyboard first, optimistic, prefetching. A decision leaves the screen at
// once and is sent in the background; the next task is already loaded; the undo key takes
// the last decision back within the undo window. Every action has a button beside its key;
// the keys work wherever the focus is, except in a text field.
import * as api from "./api.js";
import { locale, localeSwitch, t, translatePage } from "./i18n.js";
import { CATEGORIES, categoryName, queueName } from "./reasons.js";
import { card, detail, el } from "./render.js";
import * as search from "./search.js";

const $ = (id) => document.getElementById(id);
const PREFETCH_BELOW = 8;
const CLAIM_SIZE = 12;
// On a short queue (a claim got fewer than it asked: the server shares the queue among the
// moderators on it) the page keeps only this many tasks ahead, so the others find work.
const LOW_WATER = 2;
const IDLE_RELEASE_MS = 120_000; // an idle moderator's tasks go back to the others
const GRAY_KEY = "review-grayscale";

const state = {
  user: null,
  tasks: [],          // claimed, undecided, in queue order
  cur: 0,
  selected: new Set(),
  revealed: new Set(),
  exposed: new Set(), // items whose sensitive photo this page has recorded as seen
  boxes: false,
  cluster: false,
  details: false,
  decided: 0,
  undoable: [],       // {at, tasks, index, done: Promise<decision ids>}
  undoSeconds: 10,
  fetching: null,
  generation: 0,      // bumped when the queue or the filters change: older claims are given back
  empty: false,
  reclaiming: false,  // a new queue or filters: the old tasks are going back, the new ones not claimed yet
  short: false,       // the last claim got fewer tasks than it asked for
  resume: true,
  filters: {},
  notes: new Map(),   // task id -> {reason_code, note} typed before deciding
  results: null,      // the last search: {input, data}; shown while #results is visible
  hit: 0,
  lastInput: Date.now(),
};

function toast(text, ms = 2500) {
  const box = $("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, ms);
}

const current = () => state.tasks[state.cur];

// What A and R mean on this task: a members' report case is dismissed or upheld, an appeal
// overturned or upheld, anything else approved or rejected.
function verbs(task) {
  if (task && task.report_case) return { approve: "dismiss", reject: "uphold" };
  if (task && task.appeal) return { approve: "overturn", reject: "uphold" };
  return { approve: "approve", reject: "reject" };
}

// -- the toolbar: one button per action, its key beside it -------------------------------

const ACTIONS = [
  { id: "approve", keys: ["A"], label: (task) => t(`action.${verbs(task).approve}`), run: () => decide("approve") },
  { id: "reject", keys: ["R"], label: (task) => t(`action.${verbs(task).reject}`), run: () => decide("reject") },
  { id: "ban", keys: ["I"], label: () => t("action.reject_ban"), run: () => decide("reject", { ban: true }), when: (task) => task && task.item.type === "photo" && task.kind === "review" && !task.report_case && !task.appeal },
  { id: "skip", keys: ["S"], label: () => t("action.skip"), run: () => skip() },
  { id: "prev", keys: ["K", "←"], label: () => t("action.previous"), run: () => move(-1) },
  { id: "next", keys: ["J", "→"], label: () => t("action.next"), run: () => move(1) },
  { id: "undo", keys: ["U"], label: () => t("action.undo"), run: () => undo() },
  { id: "select", keys: ["X"], label: () => t("action.select"), run: () => { const task = current(); if (task) toggleSelect(task.task_id); } },
  { id: "approve-selected", keys: ["Shift+A"], label: () => t("action.approve_selected", { count: state.selected.size }), run: () => decideSelected("approve"), when: () => state.selected.size > 0 },
  { id: "reject-selected", keys: ["Shift+R"], label: () => t("action.reject_selected", { count: state.selected.size }), run: () => decideSelected("reject"), when: () => state.selected.size > 0 },
  { id: "reveal", keys: ["V"], label: () => t("action.reveal"), run: () => { const task = current(); if (task) toggleReveal(task); }, when: (task) => task && task.item.type === "photo" },
  { id: "boxes", keys: ["B"], label: () => t("action.boxes"), run: () => { state.boxes = !state.boxes; render(); }, when: (task) => task && task.item.type === "photo" },
  { id: "details", keys: ["D"], label: () => t("action.details"), run: () => toggleDetails() },
  { id: "help", keys: ["?"], label: () => t("action.help"), run: () => toggleHelp() },
];

// Keys with no button of their own (their control is elsewhere on the page).
const OTHER_KEYS = [
  [["G"], "keys.grayscale"], [["C"], "keys.cluster"], [["N"], "keys.note"], [["T"], "keys.stats"],
  [["/"], "keys.search"], [["Esc"], "keys.escape"],
];

// Rebuilt only when the buttons change (a photo after a text, a selection): a decision
// by key must stay as fast as before the buttons existed.
function toolbar() {
  const bar = $("keys");
  const task = current();
  const shown = ACTIONS.filter((a) => !a.when || a.when(task)).map((a) => [a, a.label(task)]);
  const signature = shown.map(([a, label]) => `${a.id}:${label}`).join("|");
  if (bar.dataset.signature === signature) return;
  bar.dataset.signature = signature;
  bar.replaceChildren();
  for (const [a] of shown) {
    const b = el("button", { type: "button", class: `action action-${a.id}`, "data-action": a.id }, ...a.keys.map((k) => el("kbd", { text: k })), " ", a.label(task));
    b.addEventListener("click", () => { a.run(); b.blur(); }); // the keys stay with the page
    bar.append(b);
  }
}

function toggleHelp(show) {
  const help = $("help");
  help.hidden = show === undefined ? !help.hidden : !show;
  if (help.hidden) return;
  const HELP_LABELS = { "approve-selected": "keys.approve_selected", "reject-selected": "keys.reject_selected" };
  const rows = ACTIONS.map((a) => [a.keys, HELP_LABELS[a.id] ? t(HELP_LABELS[a.id]) : a.label(current())]).concat(OTHER_KEYS.map(([k, key]) => [k, t(key)]));
  const table = el("table", {}, el("tr", {}, el("th", { text: t("keys.key") }), el("th", { text: t("keys.does") })));
  for (const [keys, label] of rows) table.append(el("tr", {}, el("td", {}, ...keys.map((k) => el("kbd", { text: k }))), el("td", { text: label })));
  const close = el("button", { type: "button", class: "close", text: t("keys.close") });
  close.addEventListener("click", () => toggleHelp(false));
  help.replaceChildren(el("h2", { id: "help-title", text: t("keys.title") }), el("p", { class: "meta", text: t("keys.fields") }), table, close);
}

// -- rendering ---------------------------------------------------------------------------

function counters() {
  $("counters").replaceChildren(
    el("span", { id: "decided-count", "data-count": state.decided, text: t("queue.decided", { count: state.decided }) }), " · ",
    el("span", { id: "buffer-count", "data-count": state.tasks.length, text: t("queue.loaded", { count: state.tasks.length }) }));
}

// The decision's reason (from the policy's list for the task's categories) and a free note.
function decisionForm(task) {
  const saved = state.notes.get(task.task_id) || {};
  const form = el("div", { class: "decision-form" });
  const choices = task.report_case || task.appeal ? [] : task.decision_reasons || []; // a case takes a note only
  if (choices.length) {
    const select = el("select", { id: "reason-code", "aria-label": t("card.reason_code") }, el("option", { value: "", text: t("card.reason_code.none") }));
    for (const c of choices) select.append(el("option", { value: c.code, text: (c.labels && (c.labels[locale] || c.labels.en)) || c.code, selected: c.code === saved.reason_code }));
    select.addEventListener("change", () => { state.notes.set(task.task_id, { ...(state.notes.get(task.task_id) || {}), reason_code: select.value || null }); select.blur(); });
    form.append(el("label", {}, el("span", { text: t("card.reason_code") }), " ", select));
  }
  const note = el("textarea", { id: "note", rows: 2, maxLength: 2000, placeholder: t("card.note.placeholder"), "aria-label": t("card.note") });
  note.value = saved.note || "";
  note.addEventListener("input", () => state.notes.set(task.task_id, { ...(state.notes.get(task.task_id) || {}), note: note.value }));
  note.addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); note.blur(); } });
  form.append(note);
  return form;
}

// A card is built once per task and look (revealed or not), then reused: moving and
// deciding only change which card is current.
const cards = new Map();

function cardFor(task) {
  const revealed = state.revealed.has(task.task_id);
  const key = `${task.task_id}:${revealed}`;
  let node = cards.get(key);
  if (!node) {
    node = card(task, { current: false, selected: false, revealed });
    node.addEventListener("click", (ev) => {
      if (ev.target.closest("a")) return;
      if (ev.shiftKey || ev.ctrlKey || ev.metaKey) toggleSelect(task.task_id);
      else { state.cur = state.tasks.findIndex((x) => x.task_id === task.task_id); render(); }
    });
    cards.set(key, node);
  }
  return node;
}

// Loading is what the moderator waits on: a first claim, or one for a new queue or filters.
// The poll of a queue found empty stays quiet, so the empty message does not flicker.
const loading = () => (Boolean(state.fetching) || state.reclaiming) && !state.empty;

function render() {
  const list = $("tasks");
  state.cur = Math.max(0, Math.min(state.cur, state.tasks.length - 1));
  const nodes = state.tasks.map((task, i) => {
    const node = cardFor(task);
    const current = i === state.cur;
    node.classList.toggle("current", current);
    node.classList.toggle("selected", state.selected.has(task.task_id));
    if (current) node.setAttribute("aria-current", "true"); else node.removeAttribute("aria-current");
    return node;
  });
  const live = new Set(state.tasks.map((x) => x.task_id));
  for (const key of cards.keys()) if (!live.has(Number(key.split(":")[0]))) cards.delete(key);
  // the same cards in the same order: leave the list alone (no relayout of the grid)
  if (nodes.length !== list.children.length || nodes.some((n, i) => list.children[i] !== n)) list.replaceChildren(...nodes);
  const task = current();
  const d = $("detail");
  // the detail panel is rebuilt when what it shows changes, not on every key
  const look = task ? `${task.task_id}:${state.revealed.has(task.task_id)}:${state.boxes}:${state.cluster}` : "";
  if (task && d.dataset.look !== look) {
    d.replaceChildren(detail(task, { revealed: state.revealed.has(task.task_id), boxes: state.boxes, cluster: state.cluster }), decisionForm(task));
    for (const ph of d.querySelectorAll(".photo")) ph.addEventListener("click", () => toggleReveal(task));
  } else if (!task) {
    d.replaceChildren();
    list.append(el("div", { class: "empty", text: t(loading() ? "queue.loading" : filtered() ? "queue.empty.filtered" : "queue.empty") }));
  }
  d.dataset.look = look;
  counters();
  toolbar();
  document.body.dataset.state = task ? "ready" : loading() ? "loading" : "empty";
  document.body.classList.toggle("grayscale", $("grayscale").checked);
  document.body.classList.toggle("details", state.details);
  const cur = nodes[state.cur];
  if (cur && cur !== render.shown && cur.scrollIntoView) cur.scrollIntoView({ block: "nearest" });
  render.shown = cur;
}

const filtered = () => Object.values(state.filters).some((v) => v !== undefined && v !== null && v !== "" && v !== "priority");

// -- claiming, deciding, undoing ---------------------------------------------------------

// Keep enough tasks loaded that the moderator never waits on the server.
const below = () => state.tasks.length < (state.short ? LOW_WATER : PREFETCH_BELOW);
function prefetch() {
  if (state.fetching || !below()) return state.fetching;
  const generation = state.generation;
  state.fetching = api.claim(CLAIM_SIZE, $("queue").value, state.resume, state.filters)
    .then((res) => {
      if (generation !== state.generation) { // claimed for a queue or filters no longer chosen
        for (const x of res.tasks) api.release(x.task_id).catch(() => {});
        return;
      }
      state.resume = false;
      state.undoSeconds = res.undo_seconds;
      const have = new Set(state.tasks.map((x) => x.task_id));
      const fresh = res.tasks.filter((x) => !have.has(x.task_id));
      state.tasks.push(...fresh);
      state.empty = fresh.length === 0;
      state.short = res.tasks.length < CLAIM_SIZE;
      for (const x of fresh) if (x.item.image_url) { const img = new Image(); img.src = x.item.image_url; } // warm the image cache
    })
    .catch((e) => { state.empty = true; if (e.status === 401) return showLogin(); toast(t("toast.load_failed", { error: e.message })); })
    .finally(() => {
      state.fetching = null;
      render();
      if (generation !== state.generation || (!state.empty && below())) prefetch();
    });
  render();
  return state.fetching;
}

function removeTasks(ids) {
  const drop = new Set(ids);
  const before = state.tasks.findIndex((x) => drop.has(x.task_id));
  state.tasks = state.tasks.filter((x) => !drop.has(x.task_id));
  for (const id of ids) { state.selected.delete(id); state.notes.delete(id); }
  if (before >= 0 && before < state.cur) state.cur -= ids.length;
}

// The queue counts in the queue list follow the decisions (debounced: one read per burst).
function refreshQueues() {
  clearTimeout(refreshQueues.timer);
  refreshQueues.timer = setTimeout(loadQueues, 2000);
}

function decide(which, { ban } = {}) {
  const task = current();
  if (!task) return;
  const verb = verbs(task)[which];
  const index = state.cur;
  const plainTask = !task.report_case && !task.appeal;
  const cluster = plainTask && state.cluster && (task.duplicates || []).length > 0;
  const dupIds = cluster ? task.duplicates.map((x) => x.task_id) : [];
  const { reason_code: reasonCode, note } = state.notes.get(task.task_id) || {};
  const extra = {};
  if (cluster) extra.apply_to_duplicates = true;
  if (ban) extra.ban = true;
  if (reasonCode && plainTask) extra.reason_code = reasonCode;
  if (note && note.trim()) extra.note = note.trim();
  removeTasks([task.task_id, ...dupIds]);
  state.decided += 1 + dupIds.length;
  const done = api.decide(task.task_id, verb, extra)
    .then((res) => {
      refreshQueues();
      if (res.appeal_id !== undefined) return []; // an appeal's outcome is taken back on the item page, not with U
      if (res.case_id !== undefined) return res.item_decision_id ? [res.item_decision_id] : [];
      return [res.decision_id, ...(res.also || []).map((a) => a.decision_id)];
    })
    .catch((e) => {
      state.decided -= 1 + dupIds.length;
      toast(t(e.status === 409 ? "toast.not_saved" : "toast.decision_failed", { error: e.message }), 5000);
      if (e.status !== 409) { state.tasks.splice(index, 0, task); if (reasonCode || note) state.notes.set(task.task_id, { reason_code: reasonCode, note }); render(); }
      return [];
    });
  state.undoable.push({ at: Date.now(), tasks: [task], index, done });
  toast(`${t(`toast.decided.${ban ? "reject_ban" : verb}`, { id: task.item.id })}${dupIds.length ? ` ${t("toast.with_dups", { count: dupIds.length })}` : ""}`);
  render();
  prefetch();
}

function decideSelected(decision) {
  const tasks = state.tasks.filter((x) => state.selected.has(x.task_id) && !x.report_case && !x.appeal);
  const ids = tasks.map((x) => x.task_id);
  if (!ids.length) { toast(t("toast.nothing_selected")); return; }
  const index = state.cur;
  // the reason and note typed on the current card (else on the first selected card that has
  // one) go with every decision of the selection
  const current = state.tasks[state.cur];
  const typed = (current && state.selected.has(current.task_id) && state.notes.get(current.task_id))
    || tasks.map((x) => state.notes.get(x.task_id)).find((n) => n && (n.reason_code || (n.note || "").trim())) || {};
  const extra = {};
  if (typed.reason_code) extra.reason_code = typed.reason_code;
  if (typed.note && typed.note.trim()) extra.note = typed.note.trim();
  removeTasks(ids);
  state.decided += ids.length;
  const done = api.bulk(ids, decision, extra)
    .then((res) => {
      refreshQueues();
      if (res.refused.length) { state.decided -= res.refused.length; toast(t("toast.refused", { count: res.refused.length, error: res.refused[0].detail }), 5000); }
      return res.decided.map((x) => x.decision_id);
    })
    .catch((e) => { toast(t("toast.bulk_failed", { error: e.message }), 5000); state.decided -= ids.length; return []; });
  state.undoable.push({ at: Date.now(), tasks, index, done });
  toast(t(`toast.bulk.${decision}`, { count: ids.length }));
  render();
  prefetch();
}

async function undo() {
  const last = state.undoable.pop();
  if (!last) { toast(t("toast.nothing_to_undo")); return; }
  if (Date.now() - last.at > state.undoSeconds * 1000) { state.undoable = []; toast(t("toast.undo_window", { seconds: state.undoSeconds })); return; }
  const ids = await last.done;
  const back = [];
  for (const id of ids) {
    try {
      const res = await api.undo(id);
      if (res.task) back.push(res.task);
    } catch (e) { toast(t("toast.undo_failed", { error: e.message }), 5000); }
  }
  state.decided -= back.length;
  const have = new Set(state.tasks.map((x) => x.task_id));
  const fresh = back.filter((x) => !have.has(x.task_id));
  state.tasks.splice(Math.min(last.index, state.tasks.length), 0, ...fresh);
  state.cur = Math.min(last.index, state.tasks.length - 1);
  if (fresh.length) toast(t("toast.undone", { ids: fresh.map((x) => x.item.id).join(", ") }));
  refreshQueues();
  render();
}

// Skip gives the task back to the other moderators; this one's next claims pass over it.
function skip() {
  const task = current();
  if (!task) return;
  removeTasks([task.task_id]);
  api.release(task.task_id, { skip: true }).catch((e) => toast(t("toast.skip_failed", { error: e.message })));
  render();
  prefetch();
}

// Give every loaded task back; resolves once the server has them.
function releaseAll({ keepalive = false } = {}) {
  const sent = state.tasks.map((x) => api.release(x.task_id, { keepalive }).catch(() => {}));
  state.tasks = []; state.cur = 0; state.selected.clear(); state.notes.clear();
  return Promise.all(sent);
}

function toggleSelect(id) {
  if (state.selected.has(id)) state.selected.delete(id); else state.selected.add(id);
  render();
}

// Revealing a sensitive photo counts once towards the moderator's daily exposure.
function toggleReveal(task) {
  const id = task.task_id;
  if (state.revealed.has(id)) state.revealed.delete(id);
  else {
    state.revealed.add(id);
    if (task.sensitive && !state.exposed.has(task.item.id)) {
      state.exposed.add(task.item.id);
      api.exposure(task.item.id).catch(() => state.exposed.delete(task.item.id));
    }
  }
  render();
}

function toggleDetails() {
  state.details = !state.details;
  document.body.classList.toggle("details", state.details);
}

function move(delta) {
  state.cur = Math.max(0, Math.min(state.tasks.length - 1, state.cur + delta));
  render();
}

function setGrayscale(on) {
  $("grayscale").checked = on;
  localStorage.setItem(GRAY_KEY, on ? "1" : "0");
  document.body.classList.toggle("grayscale", on);
}

// -- search ------------------------------------------------------------------------------

// Search results replace the queue until Esc; the queue keeps its tasks meanwhile.
async function runSearch(input) {
  if (!input.trim()) return;
  try {
    const data = await search.run(input);
    state.results = { input, data };
    state.hit = 0;
    showResults();
  } catch (e) {
    if (e.status === 401) return showLogin();
    toast(t("toast.search_failed", { error: e.message }), 5000);
  }
}

function showResults() {
  $("workspace").hidden = true;
  $("results").hidden = false;
  search.render($("results"), state.results.input, state.results.data, state.hit);
  document.body.dataset.view = "results";
}

function closeResults() {
  $("results").hidden = true;
  $("workspace").hidden = false;
  document.body.dataset.view = "queue";
}

function moveHit(delta) {
  const n = state.results.data.hits.length;
  state.hit = Math.max(0, Math.min(n - 1, state.hit + delta));
  showResults();
}

function openHit() {
  const hit = state.results.data.hits[state.hit];
  if (hit) window.location.assign(hit.url);
}

const RESULT_KEYS = {
  j: () => moveHit(1), ArrowRight: () => moveHit(1), ArrowDown: () => moveHit(1),
  k: () => moveHit(-1), ArrowLeft: () => moveHit(-1), ArrowUp: () => moveHit(-1),
  Enter: openHit, o: openHit,
  Escape: closeResults,
  "?": () => toggleHelp(),
};

const KEYS = {
  a: () => decide("approve"),
  r: () => decide("reject"),
  i: () => { const task = current(); if (task && ACTIONS.find((a) => a.id === "ban").when(task)) decide("reject", { ban: true }); },
  s: skip,
  j: () => move(1), ArrowRight: () => move(1),
  k: () => move(-1), ArrowLeft: () => move(-1),
  u: undo,
  x: () => { const task = current(); if (task) toggleSelect(task.task_id); },
  A: () => decideSelected("approve"),
  R: () => decideSelected("reject"),
  v: () => { const task = current(); if (task) toggleReveal(task); },
  g: () => setGrayscale(!$("grayscale").checked),
  b: () => { state.boxes = !state.boxes; render(); },
  c: () => { state.cluster = !state.cluster; $("cluster").checked = state.cluster; render(); },
  d: toggleDetails,
  n: () => { const note = $("note"); if (note) note.focus(); },
  t: () => { if (state.user && state.user.role === "admin") window.location.assign("/review/dashboard"); },
  "?": () => toggleHelp(),
};

// Text fields keep their keys; everywhere else (a button, a checkbox, the page) the keys
// are the queue's: no focus trap.
const TYPING = new Set(["text", "search", "password", "number", "email", "url"]);
function typing(target) {
  if (!target || !target.tagName) return false;
  if (target.tagName === "TEXTAREA" || target.tagName === "SELECT" || target.isContentEditable) return true;
  return target.tagName === "INPUT" && TYPING.has(target.type);
}

function onKey(ev) {
  state.lastInput = Date.now();
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if ($("app").hidden || typing(ev.target)) return;
  if (ev.key === "/") { ev.preventDefault(); $("search").focus(); $("search").select(); return; }
  if (ev.key === "Escape" && !$("help").hidden) { toggleHelp(false); return; }
  if (!$("results").hidden) {
    // decisions wait until the queue is back on screen: never on a task out of sight
    const fn = RESULT_KEYS[ev.key];
    if (fn) { ev.preventDefault(); fn(); }
    return;
  }
  const fn = KEYS[ev.key];
  if (!fn) return;
  ev.preventDefault();
  fn();
}

// -- session -----------------------------------------------------------------------------

function showLogin(message = "") {
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = message;
  document.body.dataset.state = "login";
  $("username").focus();
}

function start(user) {
  state.user = user;
  $("login").hidden = true;
  $("app").hidden = false;
  $("who").textContent = t("queue.who", { user: user.username, role: t(`role.${user.role}`) });
  $("stats-button").hidden = user.role !== "admin";
  if (document.activeElement) document.activeElement.blur(); // the keys go to the queue, not the login form
  // an item page sent the moderator here to log in: go back to it (same-origin review paths only)
  const next = new URLSearchParams(window.location.search).get("next");
  if (next && next.startsWith("/review/") && !next.startsWith("//")) { window.location.assign(next); return; }
  prefetch();
}

async function loadQueues() {
  try {
    const s = await api.stats();
    const select = $("queue");
    const chosen = select.value;
    for (const o of [...select.options]) if (o.value) o.remove();
    for (const q of s.queues) select.append(el("option", { value: q.queue, text: t("queue.option", { queue: queueName(q.queue), count: q.depth }), selected: q.queue === chosen }));
  } catch { /* the list is a convenience */ }
}

function readFilters() {
  const reports = $("f-reports").value;
  state.filters = {
    category: $("f-category").value || undefined,
    context: $("f-context").value.trim() || undefined,
    language: $("f-language").value.trim().toLowerCase() || undefined,
    min_reports: reports ? Math.max(0, Math.min(1000, Number(reports) | 0)) : undefined,
    sort: $("f-sort").value,
  };
}

async function reclaim() {
  state.generation += 1;
  // loading from now on: the tasks going back are no sign of an empty queue
  state.empty = false;
  state.reclaiming = true;
  const released = releaseAll();
  render();
  try { await released; } finally { state.reclaiming = false; }
  prefetch();
}

function setup() {
  translatePage();
  for (const slot of document.querySelectorAll(".locale-slot")) slot.append(localeSwitch());
  for (const c of CATEGORIES) $("f-category").append(el("option", { value: c, text: categoryName(c) }));
  setGrayscale(localStorage.getItem(GRAY_KEY) === "1");
  $("login-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const user = await api.login($("username").value, $("password").value);
      $("password").value = "";
      start(user);
      loadQueues();
    } catch (e) {
      showLogin(e.status === 401 ? t("login.wrong") : e.message);
    }
  });
  $("logout").addEventListener("click", async () => {
    await releaseAll();
    try { await api.logout(); } catch { /* the session may be gone already */ }
    state.undoable = []; state.decided = 0; state.resume = true;
    render();
    showLogin(t("login.logged_out"));
  });
  $("queue").addEventListener("change", () => { reclaim(); $("queue").blur(); });
  $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); readFilters(); reclaim(); document.activeElement.blur(); });
  $("filters").addEventListener("reset", () => setTimeout(() => { readFilters(); reclaim(); }, 0));
  $("f-category").addEventListener("change", () => { readFilters(); reclaim(); $("f-category").blur(); });
  $("f-sort").addEventListener("change", () => { readFilters(); reclaim(); $("f-sort").blur(); });
  $("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    $("search").blur(); // the keys work again at once: no focus left in the box
    runSearch($("search").value);
  });
  $("search").addEventListener("keydown", (ev) => {
    if (ev.key !== "Escape") return;
    ev.preventDefault();
    $("search").blur();
    if (!$("search").value) closeResults();
  });
  $("grayscale").addEventListener("change", () => setGrayscale($("grayscale").checked));
  $("cluster").addEventListener("change", () => { state.cluster = $("cluster").checked; render(); });
  document.addEventListener("keydown", onKey);
  for (const ev of ["pointerdown", "wheel"]) document.addEventListener(ev, () => { state.lastInput = Date.now(); }, { passive: true });
  // an empty queue is polled, so new tasks appear without a reload; an idle moderator's
  // tasks go back to the others, and so do they when the page is left
  setInterval(() => {
    if ($("app").hidden) return;
    if (state.tasks.length && Date.now() - state.lastInput > IDLE_RELEASE_MS) { releaseAll(); state.resume = false; render(); return; }
    if (below() && Date.now() - state.lastInput <= IDLE_RELEASE_MS) prefetch();
  }, 3000);
  window.addEventListener("pagehide", () => releaseAll({ keepalive: true }));
  counters();
  api.session().then((user) => { start(user); loadQueues(); }).catch(() => showLogin());
}

setup();
