// The users page (admins): every account with its role and state; create, disable, enable,
// change role. An admin's own row has no buttons: the API refuses those changes (403).
import * as admin from "./admin-api.js";
import { fmtDate, t } from "./i18n.js";
import { failure, frame, table, toast } from "./nav.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);
let me = null;

function act(label, cls, run, user) {
  const b = el("button", { type: "button", class: cls, text: label, "data-user": user });
  b.setAttribute("aria-label", `${label} ${user}`);
  b.addEventListener("click", async () => {
    try { await run(); load(); } catch (err) { toast(failure(err), true); }
  });
  return b;
}

function actions(u) {
  if (u.username === me.username) return el("span", { class: "muted", text: t("admin.users.you") });
  const other = u.role === "admin" ? "moderator" : "admin";
  return el("div", { class: "actions" },
    u.disabled
      ? act(t("admin.users.enable"), "", async () => { await admin.setDisabled(u.username, false); toast(t("admin.users.enabled_toast", { name: u.username })); }, u.username)
      : act(t("admin.users.disable"), "danger", async () => { await admin.setDisabled(u.username, true); toast(t("admin.users.disabled_toast", { name: u.username })); }, u.username),
    act(t(`admin.users.make_${other}`), "", async () => { await admin.setRole(u.username, other); toast(t("admin.users.role_toast", { name: u.username, role: t(`nav.role.${other}`) })); }, u.username),
  );
}

async function load() {
  const box = $("user-list");
  let users;
  try { users = (await admin.users()).users; } catch (err) { box.replaceChildren(el("p", { class: "error", text: failure(err) })); return; }
  const rows = users.map((u) => [
    u.username, t(`nav.role.${u.role}`), fmtDate(u.created_at),
    el("span", { class: u.disabled ? "state-disabled" : "state-active", text: t(u.disabled ? "admin.users.disabled" : "admin.active") }),
    actions(u),
  ]);
  const headers = ["admin.users.username", "admin.users.role", "admin.users.created", "admin.state", "admin.actions"].map((x) => t(x));
  box.replaceChildren(el("p", { class: "muted", text: t("admin.users.count", { count: users.length }) }), table(headers, rows, "user-table"));
  document.body.dataset.state = "ready";
}

async function start() {
  me = await frame({ adminOnly: true });
  if (!me) return;
  $("user-create").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      const u = await admin.createUser({ username: form.get("username").trim(), password: form.get("password"), role: form.get("role") });
      toast(t("admin.users.created_toast", { name: u.username, role: t(`nav.role.${u.role}`) }));
      ev.target.reset();
      load();
    } catch (err) { toast(failure(err), true); }
  });
  load();
}

start();
