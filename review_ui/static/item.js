// An item's page: its content, every decision with who and why, its reasons, its review
// tasks and its audit trail; undo of its latest decision (by the moderator who made it,
// within the undo window; by an admin at any time) and unban of its photo (admins). The
// id comes from the address; everything shown is built with text nodes (render.js),
// never parsed as HTML.
import * as api from "./api.js";
import { fmtDate, localeSwitch, t, translatePage } from "./i18n.js";
import { categoryName, queueName } from "./reasons.js";
import { SENSITIVE, decisionBadge, el, highlighted, photo, reasonList } from "./render.js";

const PREFIX = "/review/items/";
const GRAY_KEY = "review-grayscale";
const main = document.getElementById("item");
const rawId = window.location.pathname.slice(PREFIX.length);
const itemId = (() => { try { return decodeURIComponent(rawId); } catch { return rawId; } })(); // a stray "%" typed by hand
let item = null;
let user = null;
let bans = [];
let revealed = false;
let boxes = false;
let exposed = false;

function toast(text, ms = 4000) {
  const box = document.getElementById("toast");
  box.textContent = text;
  box.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { box.hidden = true; }, ms);
}

function table(headers, rows, cls) {
  const tbl = el("table", { class: cls }, el("tr", {}, ...headers.map((h) => el("th", { text: h }))));
  for (const r of rows) tbl.append(el("tr", {}, ...r.map((v) => (v instanceof Node ? el("td", {}, v) : el("td", { text: v ?? "" })))));
  return tbl;
}

const sensitive = () => (item.reasons || []).some((r) => SENSITIVE.has(r.category));

// What the audit detail says, as "key: value" pairs (the raw JSON stays in the title).
function auditDetail(detail) {
  if (!detail) return "";
  const node = el("span", { title: JSON.stringify(detail) });
  node.textContent = Object.entries(detail).filter(([, v]) => v !== null && v !== undefined)
    .map(([k, v]) => `${k}: ${typeof v === "object" ? JSON.stringify(v) : v}`).join(" · ");
  return node;
}

// The latest human decision still in force: the one an undo takes back.
function undoable() {
  const live = item.history.filter((h) => (h.kind === "human" || h.kind === "qa") && !h.undone);
  const last = live[live.length - 1];
  if (!last || !user) return null;
  return user.role === "admin" || last.actor === `user:${user.username}` ? last : null;
}

function undoForm(h) {
  const why = el("input", { type: "text", id: "undo-why", maxLength: 2000, placeholder: t("item.undo.why"), "aria-label": t("item.undo.why") });
  const button = el("button", { type: "submit", id: "undo", text: t("item.undo.button") });
  const form = el("form", { class: "undo" }, el("span", { text: t("item.undo.what", { decision: t(`decision.${h.decision}`), who: h.actor || "", when: fmtDate(h.at) }) }), " ", why, " ", button);
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    button.disabled = true;
    try {
      await api.undo(h.decision_id, why.value.trim() || undefined);
      toast(t("item.undo.done"));
      await reload();
    } catch (e) {
      toast(t("toast.undo_failed", { error: e.message }));
      button.disabled = false;
    }
  });
  return form;
}

function banList() {
  const banned = bans.filter((b) => b.bank === "banned");
  if (!banned.length) return null;
  const rows = banned.map((b) => {
    const cell = [String(b.entry_id), b.actor || "", b.applied_at ? fmtDate(b.applied_at) : t("item.ban.pending")];
    if (user && user.role === "admin" && b.applied_at) {
      const button = el("button", { type: "button", class: "unban", "data-entry-id": b.entry_id, text: t("item.ban.unban") });
      button.addEventListener("click", async () => {
        button.disabled = true;
        try {
          await api.unban(item.id, b.entry_id);
          toast(t("item.ban.removed"));
          await reload();
        } catch (e) { toast(t("item.ban.failed", { error: e.message })); button.disabled = false; }
      });
      cell.push(button);
    } else cell.push("");
    return cell;
  });
  return el("div", {}, el("h2", { text: t("item.bans") }), table([t("item.ban.entry"), t("item.col.who"), t("item.ban.applied"), ""], rows, "bans"));
}

function render() {
  const d = document.createDocumentFragment();
  d.append(el("h1", { text: `${t(`card.type.${item.type}`)} ${item.id}` }));
  const author = el("a", { href: item.author_url, class: "author", text: item.author_id });
  d.append(el("p", { class: "meta" }, t("item.meta", { context: item.context, when: fmtDate(item.created_at), status: t(`status.${item.status}`) }), " · ", t("card.author"), " ", author,
    item.language ? ` · ${item.language}` : ""));
  d.append(el("p", { class: "badges" }, decisionBadge("first", item.first_decision), " ", item.human_decision ? decisionBadge("human", item.human_decision) : null, " ",
    decisionBadge("final", item.final_decision)));
  if (item.image_url) {
    const ph = photo({ id: item.id, url: item.image_url, blurred: sensitive() && !revealed, reasons: item.reasons, boxes });
    ph.addEventListener("click", toggleReveal);
    d.append(ph);
  } else {
    d.append(highlighted(item.text || "", item.reasons));
  }
  d.append(el("h2", { text: t("card.reasons") }));
  d.append(reasonList(item.reasons, { text: item.text, originals: item.originals }, "item.reasons.none"));
  const last = undoable();
  if (last) d.append(undoForm(last));
  d.append(el("h2", { text: t("item.decisions") }));
  d.append(table([t("item.col.when"), t("item.col.kind"), t("item.col.decision"), t("item.col.who"), t("item.col.why"), ""],
    item.history.map((h) => [fmtDate(h.at), t(`item.kind.${h.kind}`), el("span", { class: `decision-${h.decision}`, text: t(`decision.${h.decision}`) }), h.actor || "",
      [h.reason_code, h.note].filter(Boolean).join(" — ") || (h.kind === "auto" ? t("item.policy", { version: h.policy_version || "" }) : ""), h.undone ? t("item.undone") : ""]),
    "decisions"));
  const banned = banList();
  if (banned) d.append(banned);
  if (item.review.length) {
    d.append(el("h2", { text: t("item.tasks") }));
    d.append(table([t("item.col.task"), t("item.col.queue"), t("item.col.status")], item.review.map((x) => [String(x.task_id), queueName(x.queue), t(`status.${x.status}`)]), "tasks"));
  }
  // reports and appeals: shown when the item API carries them
  for (const [key, rows] of [["reports", item.reports], ["appeals", item.appeals]]) {
    if (!Array.isArray(rows)) continue;
    d.append(el("h2", { text: t(`item.${key}`, { count: rows.length }) }));
    if (!rows.length) { d.append(el("p", { class: "meta", text: t("item.audit.none") })); continue; }
    d.append(table([t("item.col.when"), t("item.col.who"), t("item.col.status"), t("item.col.why")],
      rows.map((r) => [fmtDate(r.created_at), r.reporter_id || r.author_id || "", r.status ? t(`status.${r.status}`) : "", r.category ? categoryName(r.category) : (r.statement || r.text || "")]), key));
  }
  d.append(el("h2", { text: t("item.audit") }));
  d.append(table([t("item.col.when"), t("item.col.who"), t("item.col.action"), t("item.col.target"), t("item.col.detail")],
    item.audit.map((a) => [fmtDate(a.at), a.actor, a.action, a.target, auditDetail(a.detail)]), "audit"));
  if (!item.audit.length) d.append(el("p", { class: "meta", text: t("item.audit.none") }));
  main.replaceChildren(d);
  document.title = `${t(`card.type.${item.type}`)} ${item.id}`;
  document.body.dataset.state = "ready";
}

function toggleReveal() {
  revealed = !revealed;
  if (revealed && sensitive() && !exposed) { exposed = true; api.exposure(item.id).catch(() => { exposed = false; }); }
  render();
}

function setGrayscale(on) {
  document.getElementById("grayscale").checked = on;
  localStorage.setItem(GRAY_KEY, on ? "1" : "0");
  document.body.classList.toggle("grayscale", on);
}

document.addEventListener("keydown", (ev) => {
  if (ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const target = ev.target;
  if (target.tagName === "TEXTAREA" || target.tagName === "SELECT" || (target.tagName === "INPUT" && target.type !== "checkbox")) return;
  if (ev.key === "Escape") window.location.assign("/review");
  else if (ev.key === "v" && item && item.image_url) toggleReveal();
  else if (ev.key === "b" && item && item.image_url) { boxes = !boxes; render(); }
  else if (ev.key === "g") setGrayscale(!document.body.classList.contains("grayscale"));
  else if (ev.key === "d") document.body.classList.toggle("details");
});

async function reload() {
  item = await api.item(itemId);
  bans = item.image_url ? (await api.itemBans(itemId).catch(() => ({ entries: [] }))).entries : [];
  render();
}

async function load() {
  translatePage();
  for (const slot of document.querySelectorAll(".locale-slot")) slot.append(localeSwitch());
  setGrayscale(localStorage.getItem(GRAY_KEY) === "1");
  document.getElementById("grayscale").addEventListener("change", (ev) => setGrayscale(ev.target.checked));
  try {
    user = await api.session();
    document.getElementById("who").textContent = t("queue.who", { user: user.username, role: t(`role.${user.role}`) });
    await reload();
  } catch (e) {
    if (e.status === 401) {
      const login = el("a", { href: `/review?next=${encodeURIComponent(window.location.pathname)}`, text: t("item.login.link") });
      main.replaceChildren(el("p", {}, login, " ", t("item.login.rest")));
      document.body.dataset.state = "login";
    } else {
      main.replaceChildren(el("p", { class: "error", text: e.status === 404 ? t("item.missing", { id: itemId }) : t("item.failed", { error: e.message }) }));
      document.body.dataset.state = "error";
    }
  }
}

load();
