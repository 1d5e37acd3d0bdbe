// An item's page: its content, every decision with who and why, its reasons, its review
// tasks and its audit trail. The id comes from the address; everything shown is built
// with text nodes (render.js), never parsed as HTML.
import * as api from "./api.js";
import { decisionBadge, el, highlighted, photo } from "./render.js";

const PREFIX = "/review/items/";
const SENSITIVE = new Set(["nudity", "suggestive", "sexual"]);
const main = document.getElementById("item");
const rawId = window.location.pathname.slice(PREFIX.length);
const itemId = (() => { try { return decodeURIComponent(rawId); } catch { return rawId; } })(); // a stray "%" typed by hand
let item = null;
let revealed = false;

const when = (t) => (t ? t.replace("T", " ").slice(0, 19) : "");

function table(headers, rows, cls) {
  const t = el("table", { class: cls }, el("tr", {}, ...headers.map((h) => el("th", { text: h }))));
  for (const r of rows) t.append(el("tr", {}, ...r.map((v) => (v instanceof Node ? el("td", {}, v) : el("td", { text: v ?? "" })))));
  return t;
}

function reasonText(r) {
  const parts = [r.category, r.detector, `score ${Number(r.score).toFixed(2)}`];
  if (r.matched) parts.push(`“${r.matched}”`);
  if (r.distance !== undefined && r.distance !== null) parts.push(`distance ${r.distance}`);
  return parts.join(" · ");
}

function render() {
  const d = document.createDocumentFragment();
  d.append(el("h1", { text: `${item.type} ${item.id}` }));
  const author = el("a", { href: item.author_url, class: "author", text: item.author_id });
  d.append(el("p", { class: "meta" }, `${item.context} · created ${when(item.created_at)} · ${item.status} · author `, author,
    item.language ? ` · ${item.language}` : ""));
  d.append(el("p", { class: "badges" }, decisionBadge("first", item.first_decision), " ", item.human_decision ? decisionBadge("human", item.human_decision) : null, " ",
    decisionBadge("final", item.final_decision)));
  if (item.image_url) {
    const sensitive = (item.reasons || []).some((r) => SENSITIVE.has(r.category));
    const ph = photo({ item: { id: item.id, image_url: item.image_url }, sensitive, reasons: item.reasons }, { revealed, boxes: false });
    ph.addEventListener("click", () => { revealed = !revealed; render(); });
    d.append(ph);
  } else {
    d.append(highlighted(item.text || "", item.reasons));
  }
  d.append(el("h2", { text: "Reasons" }));
  const reasons = el("ul", { class: "reasons" });
  for (const r of item.reasons || []) reasons.append(el("li", { text: reasonText(r) }));
  if (!(item.reasons || []).length) reasons.append(el("li", { text: "none" }));
  d.append(reasons);
  d.append(el("h2", { text: "Decisions" }));
  d.append(table(["when", "kind", "decision", "who", "why", ""],
    item.history.map((h) => [when(h.at), h.kind, el("span", { class: `decision-${h.decision}`, text: h.decision }), h.actor, h.note || (h.kind === "auto" ? `policy ${h.policy_version}` : ""), h.undone ? "undone" : ""]),
    "decisions"));
  if (item.review.length) {
    d.append(el("h2", { text: "Review tasks" }));
    d.append(table(["task", "queue", "status"], item.review.map((t) => [String(t.task_id), t.queue, t.status]), "tasks"));
  }
  d.append(el("h2", { text: "Audit trail" }));
  d.append(table(["when", "who", "action", "target", "detail"],
    item.audit.map((a) => [when(a.at), a.actor, a.action, a.target, a.detail ? JSON.stringify(a.detail) : ""]), "audit"));
  if (!item.audit.length) d.append(el("p", { class: "meta", text: "no entry yet" }));
  main.replaceChildren(d);
  document.title = `${item.type} ${item.id}`;
  document.body.dataset.state = "ready";
}

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey || ["INPUT", "SELECT", "TEXTAREA"].includes(ev.target.tagName)) return;
  if (ev.key === "Escape") window.location.assign("/review");
  else if (ev.key === "v" && item && item.image_url) { revealed = !revealed; render(); }
  else if (ev.key === "g") document.body.classList.toggle("grayscale");
});

async function load() {
  try {
    const user = await api.session();
    document.getElementById("who").textContent = `${user.username} (${user.role})`;
    item = await api.item(itemId);
    render();
  } catch (e) {
    if (e.status === 401) {
      const login = el("a", { href: `/review?next=${encodeURIComponent(window.location.pathname)}`, text: "Log in" });
      main.replaceChildren(el("p", {}, login, " to see this item."));
      document.body.dataset.state = "login";
    } else {
      main.replaceChildren(el("p", { class: "error", text: e.status === 404 ? `No item ${itemId}.` : `Could not load the item: ${e.message}` }));
      document.body.dataset.state = "error";
    }
  }
}

load();
