// The API keys page (admins): every key with its scopes, last use and state; a new key's secret shown
// once, in this page only (never stored in the browser); revoke.
import * as admin from "./admin-api.js";
import { fmtDate, t } from "./i18n.js";
import { failure, frame, table, toast } from "./nav.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);

function revokeButton(k) {
  const b = el("button", { type: "button", class: "danger", text: t("admin.keys.revoke"), "data-key-id": k.id });
  b.setAttribute("aria-label", `${t("admin.keys.revoke")} ${k.name}`);
  b.addEventListener("click", async () => {
    if (!window.confirm(t("admin.keys.confirm_revoke", { name: k.name }))) return;
    try {
      await admin.revokeKey(k.id);
      toast(t("admin.keys.revoked_toast", { name: k.name }));
      load();
    } catch (err) { toast(failure(err), true); }
  });
  return b;
}

async function load() {
  const box = $("key-list");
  let keys;
  try { keys = (await admin.keys()).keys; } catch (err) { box.replaceChildren(el("p", { class: "error", text: failure(err) })); return; }
  if (!keys.length) {
    box.replaceChildren(el("p", { class: "empty-state", text: t("admin.keys.empty") }));
  } else {
    const rows = keys.map((k) => [
      String(k.id), k.name, el("code", { text: `${k.prefix}…` }), k.scopes.join(", "), k.webhook_url || "",
      fmtDate(k.created_at), k.last_used_at ? fmtDate(k.last_used_at) : t("admin.keys.never"),
      k.revoked_at ? el("span", { class: "state-revoked", text: t("admin.keys.revoked_at", { when: fmtDate(k.revoked_at) }) })
        : el("span", { class: "state-active", text: t("admin.active") }),
      k.revoked_at ? "" : revokeButton(k),
    ]);
    const headers = ["admin.keys.id", "admin.keys.name", "admin.keys.prefix", "admin.keys.scopes", "admin.keys.webhook_col",
      "admin.keys.created", "admin.keys.last_used", "admin.state", "admin.actions"].map((x) => t(x));
    box.replaceChildren(el("p", { class: "muted", text: t("admin.keys.count", { count: keys.length }) }), table(headers, rows, "key-table"));
  }
  document.body.dataset.state = "ready";
}

function showSecret(created) {
  const box = $("key-secret");
  box.replaceChildren(
    el("h3", { text: t("admin.keys.created_title", { name: created.name }) }),
    el("p", { text: t("admin.keys.shown_once") }),
    el("p", { class: "muted", text: t("admin.keys.key_label") }), el("code", { id: "new-key", text: created.key }),
    el("p", { class: "muted", text: t("admin.keys.secret_label") }), el("code", { id: "new-secret", text: created.webhook_secret }),
  );
  box.hidden = false;
}

async function start() {
  if (!(await frame({ adminOnly: true }))) return;
  $("key-create").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    const body = { name: form.get("name").trim(), scopes: form.getAll("scope") };
    if (form.get("webhook_url")) body.webhook_url = form.get("webhook_url");
    if (!body.scopes.length) { toast(t("admin.keys.need_scope"), true); return; }
    try {
      showSecret(await admin.createKey(body));
      ev.target.reset();
      load();
    } catch (err) { toast(failure(err), true); }
  });
  load();
}

start();
