// The review UI: keyboard first, optimistic, prefetching. A decision leaves the screen at
// once and is sent in the background; the next task is already loaded; the undo key takes
// the last decision back within the undo window.
import * as api from "./api.js";
import { card, detail } from "./render.js";
import * as search from "./search.js";
import { renderAudit, renderStats } from "./stats.js";

const $ = (id) => document.getElementById(id);
const PREFETCH_BELOW = 8;
const CLAIM_SIZE = 12;

const state = {
  user: null,
  tasks: [],          // claimed, undecided, in queue order
  cur: 0,
  selected: new Set(),
  revealed: new Set(),
  boxes: false,
  cluster: false,
  decided: 0,
  undoable: [],       // {at, task, index, done: Promise<decision ids>}
  undoSeconds: 10,
  fetching: null,
  empty: false,
  resume: true,
  results: null,      // the last search: {input, data}; shown while #results is visible
  hit: 0,
};

function toast(text, ms = 2500) {
  const t = $("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, ms);
}

function render() {
  const list = $("tasks");
  list.replaceChildren();
  state.cur = Math.max(0, Math.min(state.cur, state.tasks.length - 1));
  state.tasks.forEach((t, i) => {
    const node = card(t, { current: i === state.cur, selected: state.selected.has(t.task_id), revealed: state.revealed.has(t.task_id) });
    node.addEventListener("click", (ev) => {
      if (ev.shiftKey || ev.ctrlKey || ev.metaKey) toggleSelect(t.task_id);
      else { state.cur = i; render(); }
    });
    list.append(node);
  });
  const task = state.tasks[state.cur];
  const d = $("detail");
  d.replaceChildren();
  if (task) {
    d.append(detail(task, { revealed: state.revealed.has(task.task_id), boxes: state.boxes, cluster: state.cluster }));
    const ph = d.querySelector(".photo");
    if (ph) ph.addEventListener("click", () => toggleReveal(task.task_id));
  } else {
    list.append(Object.assign(document.createElement("div"), { className: "empty", textContent: state.fetching ? "Loading…" : "The queue is empty. New tasks appear here by themselves." }));
  }
  $("decided-count").textContent = String(state.decided);
  $("buffer-count").textContent = String(state.tasks.length);
  document.body.dataset.state = task ? "ready" : state.fetching ? "loading" : "empty";
  document.body.classList.toggle("grayscale", $("grayscale").checked);
  const current = list.querySelector(".card.current");
  if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
}

// Keep enough tasks loaded that the moderator never waits on the server.
function prefetch() {
  if (state.fetching || state.tasks.length >= PREFETCH_BELOW) return state.fetching;
  const queue = $("queue").value;
  state.fetching = api.claim(CLAIM_SIZE, queue, state.resume)
    .then((res) => {
      state.resume = false;
      state.undoSeconds = res.undo_seconds;
      const have = new Set(state.tasks.map((t) => t.task_id));
      const fresh = res.tasks.filter((t) => !have.has(t.task_id));
      state.tasks.push(...fresh);
      state.empty = res.tasks.length === 0;
      for (const t of fresh) if (t.item.image_url) { const img = new Image(); img.src = t.item.image_url; } // warm the image cache
    })
    .catch((e) => { if (e.status === 401) return showLogin(); toast(`could not load tasks: ${e.message}`); })
    .finally(() => { state.fetching = null; render(); if (!state.empty && state.tasks.length < PREFETCH_BELOW) prefetch(); });
  render();
  return state.fetching;
}

function removeTasks(ids) {
  const drop = new Set(ids);
  const before = state.tasks.findIndex((t) => drop.has(t.task_id));
  state.tasks = state.tasks.filter((t) => !drop.has(t.task_id));
  for (const id of ids) state.selected.delete(id);
  if (before >= 0 && before < state.cur) state.cur -= ids.length;
}

function decide(decision) {
  const task = state.tasks[state.cur];
  if (!task) return;
  const index = state.cur;
  const cluster = state.cluster && (task.duplicates || []).length > 0;
  const dupIds = cluster ? task.duplicates.map((d) => d.task_id) : [];
  removeTasks([task.task_id, ...dupIds]);
  state.decided += 1 + dupIds.length;
  const done = api.decide(task.task_id, decision, cluster)
    .then((res) => [res.decision_id, ...res.also.map((a) => a.decision_id)])
    .catch((e) => {
      state.decided -= 1 + dupIds.length;
      toast(e.status === 409 ? `not saved: ${e.message}` : `decision failed: ${e.message}`, 5000);
      if (e.status !== 409) { state.tasks.splice(index, 0, task); render(); }
      return [];
    });
  state.undoable.push({ at: Date.now(), tasks: [task], index, done });
  toast(`${decision === "approve" ? "Approved" : "Rejected"} ${task.item.id}${dupIds.length ? ` and ${dupIds.length} near-duplicates` : ""} — U to undo`);
  render();
  prefetch();
}

function decideSelected(decision) {
  const ids = state.tasks.filter((t) => state.selected.has(t.task_id)).map((t) => t.task_id);
  if (!ids.length) { toast("nothing selected: X selects the current task"); return; }
  const tasks = state.tasks.filter((t) => state.selected.has(t.task_id));
  const index = state.cur;
  removeTasks(ids);
  state.decided += ids.length;
  const done = api.bulk(ids, decision)
    .then((res) => {
      if (res.refused.length) { state.decided -= res.refused.length; toast(`${res.refused.length} not saved: ${res.refused[0].detail}`, 5000); }
      return res.decided.map((d) => d.decision_id);
    })
    .catch((e) => { toast(`bulk decision failed: ${e.message}`, 5000); state.decided -= ids.length; return []; });
  state.undoable.push({ at: Date.now(), tasks, index, done });
  toast(`${decision === "approve" ? "Approved" : "Rejected"} ${ids.length} selected — U to undo`);
  render();
  prefetch();
}

async function undo() {
  const last = state.undoable.pop();
  if (!last) { toast("nothing to undo"); return; }
  if (Date.now() - last.at > state.undoSeconds * 1000) { state.undoable = []; toast(`the ${state.undoSeconds} s undo window has passed`); return; }
  const ids = await last.done;
  const back = [];
  for (const id of ids) {
    try {
      const res = await api.undo(id);
      if (res.task) back.push(res.task);
    } catch (e) { toast(`undo failed: ${e.message}`, 5000); }
  }
  state.decided -= back.length;
  const have = new Set(state.tasks.map((t) => t.task_id));
  const fresh = back.filter((t) => !have.has(t.task_id));
  state.tasks.splice(Math.min(last.index, state.tasks.length), 0, ...fresh);
  state.cur = Math.min(last.index, state.tasks.length - 1);
  toast(`undone: ${fresh.map((t) => t.item.id).join(", ")}`);
  render();
}

function skip() {
  const task = state.tasks[state.cur];
  if (!task) return;
  removeTasks([task.task_id]);
  api.release(task.task_id).catch((e) => toast(`skip failed: ${e.message}`));
  render();
  prefetch();
}

function toggleSelect(id) {
  if (state.selected.has(id)) state.selected.delete(id); else state.selected.add(id);
  render();
}

function toggleReveal(id) {
  if (state.revealed.has(id)) state.revealed.delete(id); else state.revealed.add(id);
  render();
}

function move(delta) {
  state.cur = Math.max(0, Math.min(state.tasks.length - 1, state.cur + delta));
  render();
}

async function toggleStats() {
  const panel = $("stats");
  panel.hidden = !panel.hidden;
  $("workspace").hidden = !panel.hidden;
  if (!panel.hidden) {
    try {
      renderStats(panel, await api.stats());
      renderAudit(panel, await api.audit(50));
    } catch (e) { toast(`stats: ${e.message}`); }
  }
}

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
    toast(`search: ${e.message}`, 5000);
  }
}

function showResults() {
  $("stats").hidden = true;
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
};

const KEYS = {
  a: () => decide("approve"),
  r: () => decide("reject"),
  s: skip,
  j: () => move(1), ArrowRight: () => move(1),
  k: () => move(-1), ArrowLeft: () => move(-1),
  u: undo,
  x: () => { const t = state.tasks[state.cur]; if (t) toggleSelect(t.task_id); },
  A: () => decideSelected("approve"),
  R: () => decideSelected("reject"),
  v: () => { const t = state.tasks[state.cur]; if (t) toggleReveal(t.task_id); },
  g: () => { $("grayscale").checked = !$("grayscale").checked; render(); },
  b: () => { state.boxes = !state.boxes; render(); },
  c: () => { state.cluster = !state.cluster; $("cluster").checked = state.cluster; render(); },
  t: toggleStats,
};

function onKey(ev) {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  if ($("app").hidden || ["INPUT", "SELECT", "TEXTAREA"].includes(ev.target.tagName)) return;
  if (ev.key === "/") { ev.preventDefault(); $("search").focus(); $("search").select(); return; }
  if (!$("results").hidden) {
    // decisions wait until the queue is back on screen: never on a task out of sight
    const fn = RESULT_KEYS[ev.key];
    if (fn) { ev.preventDefault(); fn(); }
    return;
  }
  if (ev.key === "Escape" && !$("stats").hidden) { toggleStats(); return; }
  const fn = KEYS[ev.key];
  if (!fn) return;
  ev.preventDefault();
  if (!$("stats").hidden && ev.key !== "t") return;
  fn();
}

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
  $("who").textContent = `${user.username} (${user.role})`;
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
    for (const q of s.queues) select.append(Object.assign(document.createElement("option"), { value: q.queue, textContent: `${q.queue} (${q.depth})` }));
  } catch { /* the list is a convenience */ }
}

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  try {
    const user = await api.login($("username").value, $("password").value);
    $("password").value = "";
    start(user);
    loadQueues();
  } catch (e) {
    showLogin(e.status === 401 ? "Wrong username or password." : e.message);
  }
});
$("logout").addEventListener("click", async () => {
  for (const t of state.tasks) api.release(t.task_id).catch(() => {});
  try { await api.logout(); } catch { /* the session may be gone already */ }
  state.tasks = []; state.selected.clear(); state.undoable = []; state.decided = 0; state.resume = true;
  render();
  showLogin("Logged out.");
});
$("queue").addEventListener("change", () => {
  for (const t of state.tasks) api.release(t.task_id).catch(() => {});
  state.tasks = []; state.cur = 0; state.selected.clear();
  prefetch();
  $("queue").blur();
});
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
$("grayscale").addEventListener("change", render);
$("cluster").addEventListener("change", () => { state.cluster = $("cluster").checked; render(); });
$("stats-button").addEventListener("click", toggleStats);
document.addEventListener("keydown", onKey);
// an empty queue is polled, so new tasks appear without a reload
setInterval(() => { if (!$("app").hidden && state.tasks.length < PREFETCH_BELOW) prefetch(); }, 3000);

api.session().then((user) => { start(user); loadQueues(); }).catch(() => showLogin());
