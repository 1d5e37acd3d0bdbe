// The audit log page (admins): newest first, paged, filtered by actor, action (a prefix
// such as "review.") and target; the filters live in the address, so a filtered view can be
// linked to. Each target links to its page: an item, an author, a bank, the keys or users.
import * as admin from "./admin-api.js";
import * as api from "./api.js";
import { fmtDate, t } from "./i18n.js";
import { failure, frame, pager, table } from "./nav.js";
import { el } from "./render.js";

const LIMIT = 50;
const $ = (id) => document.getElementById(id);
const FILTERS = ["actor", "action", "target"];
const enc = encodeURIComponent;

/** Where an entry's target leads, from its action and the target's own prefix. */
function targetHref(action, target) {
  if (!target) return null;
  const [kind, ...rest] = target.split(":");
  const id = rest.join(":");
  if (id && kind === "author") return `/review/authors/${enc(id)}`;
  if (id && kind === "item") return `/review/items/${enc(id)}`;
  if (action === "review.claim" || action === "review.release") return null; // task ids
  if (action.startsWith("review.")) return `/review/items/${enc(target)}`;
  if (action.startsWith("bank.")) return `/review/admin/banks?bank=${enc(target.split("/")[0])}`;
  if (action.startsWith("api_key.")) return "/review/admin/keys";
  if (action.startsWith("user.") || action.startsWith("auth.")) return "/review/admin/users";
  return null;
}

// A moderator's decision can be taken back from its entry at any time (admins only: the
// API refuses anyone else once the undo window has passed); its undo is audited in turn.
const undoable = (e) => e.action === "review.human_decision" && Number.isInteger(e.detail?.decision_id);

function undoButton(e) {
  const button = el("button", { type: "button", class: "undo", text: t("admin.audit.undo") });
  button.addEventListener("click", async () => {
    if (!window.confirm(t("admin.audit.undo_confirm", { decision: t(`decision.${e.detail.decision}`), target: e.target }))) return;
    button.disabled = true;
    try {
      await api.undo(e.detail.decision_id, t("admin.audit.undo_why"));
      button.replaceWith(el("span", { class: "done", text: t("admin.audit.undone") }));
    } catch (err) {
      button.disabled = false;
      button.replaceWith(el("span", { class: "error", text: failure(err) }));
    }
  });
  return button;
}

function filterLink(name, value) {
  const params = new URLSearchParams({ [name]: value });
  return el("a", { href: `?${params}`, text: value });
}

function current() {
  const params = new URLSearchParams(window.location.search);
  const out = { offset: Math.max(0, Number(params.get("offset")) || 0) };
  for (const f of FILTERS) out[f] = params.get(f) || "";
  return out;
}

function navigate(filters) {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(filters)) if (v) params.set(k, String(v));
  history.pushState(null, "", `?${params}`);
  load();
}

async function load() {
  const filters = current();
  const form = $("audit-filter");
  for (const f of FILTERS) form.elements[f].value = filters[f];
  const query = { actor: filters.actor, action: filters.action, target: filters.target };
  $("audit-csv").href = admin.auditCsvUrl(query);
  const box = $("audit-list");
  let page;
  try { page = await admin.audit({ ...query, limit: LIMIT, offset: filters.offset }); } catch (err) {
    box.replaceChildren(el("p", { class: "error", text: failure(err) }));
    return;
  }
  if (!page.entries.length) {
    box.replaceChildren(el("p", { class: "empty-state", text: t("admin.audit.empty") }));
    document.body.dataset.state = "ready";
    return;
  }
  const rows = page.entries.map((e) => {
    const href = targetHref(e.action, e.target);
    const target = e.target ? (href ? el("a", { href, class: "target", text: e.target }) : el("span", { class: "mono", text: e.target })) : "";
    const detail = e.detail ? el("code", { text: JSON.stringify(e.detail) }) : "";
    return [fmtDate(e.at), filterLink("actor", e.actor), filterLink("action", e.action), target,
      undoable(e) ? el("span", {}, detail, " ", undoButton(e)) : detail];
  });
  const headers = ["admin.audit.when", "admin.audit.actor", "admin.audit.what", "admin.audit.target", "admin.audit.detail"].map((x) => t(x));
  box.replaceChildren(pager(page.total, filters.offset, LIMIT, (offset) => navigate({ ...query, offset })), table(headers, rows, "audit-table"));
  document.body.dataset.state = "ready";
}

async function start() {
  if (!(await frame({ adminOnly: true }))) return;
  $("audit-filter").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const form = ev.target;
    navigate(Object.fromEntries(FILTERS.map((f) => [f, form.elements[f].value.trim()])));
  });
  window.addEventListener("popstate", load);
  load();
}

start();
