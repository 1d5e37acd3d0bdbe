// The frame of the dashboard, admin and author pages: a header with the links (the admin
// ones only for admins), who is logged in, log out and the language switch; a gate that
// says "log in" or "admins only" instead of a page that would only fail; a toast for the
// outcome of an action. Everything through the catalogue (i18n.js) and text nodes.
import * as api from "./api.js";
import { localeSwitch, t, translatePage } from "./i18n.js";
import { el } from "./render.js";

const LINKS = [
  { href: "/review", key: "nav.queue" },
  { href: "/review/dashboard", key: "nav.dashboard" },
  { href: "/review/admin/banks", key: "nav.banks", admin: true },
  { href: "/review/admin/keys", key: "nav.keys", admin: true },
  { href: "/review/admin/users", key: "nav.users", admin: true },
  { href: "/review/admin/audit", key: "nav.audit", admin: true },
];

function header(user) {
  const nav = el("nav", { class: "site-nav", "aria-label": t("nav.label") });
  const here = window.location.pathname;
  for (const link of LINKS) {
    if (link.admin && user.role !== "admin") continue;
    const a = el("a", { href: link.href, text: t(link.key) });
    if (here === link.href) a.setAttribute("aria-current", "page");
    nav.append(a);
  }
  const logout = el("button", { type: "button", id: "logout", text: t("nav.logout") });
  logout.addEventListener("click", async () => {
    try { await api.logout(); } catch { /* the session may be gone already */ }
    window.location.assign("/review");
  });
  const who = el("span", { id: "who", text: t("nav.who", { name: user.username, role: t(`nav.role.${user.role}`) }) });
  return el("header", { class: "site-header" }, el("strong", { text: t("nav.brand") }), nav, who, localeSwitch(), logout);
}

function gate(message, withLogin) {
  const box = el("section", { id: "gate", class: "panel gate", role: "alert" }, el("h1", { text: message }));
  if (withLogin) {
    const next = encodeURIComponent(window.location.pathname + window.location.search);
    box.append(el("p", {}, el("a", { href: `/review?next=${next}`, text: t("nav.login") })));
  } else {
    box.append(el("p", {}, el("a", { href: "/review", text: t("nav.back_to_queue") })));
  }
  return box;
}

/** Set up the page: its static words, the header, and who may see it. Answers the session's
 * user, or null when the page is not for this visitor (the gate then says why). */
export async function frame({ adminOnly = false } = {}) {
  translatePage();
  const main = document.getElementById("main");
  let user;
  try {
    user = await api.session();
  } catch (e) {
    main.replaceWith(gate(t(e.status === 401 ? "nav.logged_out" : "nav.unavailable"), e.status === 401));
    document.body.dataset.state = "gated";
    return null;
  }
  document.body.prepend(header(user));
  if (adminOnly && user.role !== "admin") {
    main.replaceWith(gate(t("nav.admins_only"), false));
    document.body.dataset.state = "gated";
    return null;
  }
  main.hidden = false;
  return user;
}

let toastTimer = null;
/** A short message at the bottom of the page, read out by screen readers (role=status). */
export function toast(message, bad = false) {
  let node = document.getElementById("toast");
  if (!node) {
    node = el("div", { id: "toast", role: "status" });
    document.body.append(node);
  }
  node.textContent = message;
  node.classList.toggle("bad", bad);
  node.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { node.hidden = true; }, 5000);
}

/** A table with a header row; a cell is a value (shown as text) or a Node. */
export function table(headers, rows, cls = "") {
  const head = el("thead", {}, el("tr", {}, ...headers.map((h) => el("th", { scope: "col", text: h }))));
  const body = el("tbody");
  for (const r of rows) body.append(el("tr", {}, ...r.map((v) => (v instanceof Node ? el("td", {}, v) : el("td", { text: v ?? "" })))));
  return el("table", { class: `data ${cls}`.trim() }, head, body);
}

/** "1–50 of 120" with previous and next buttons; `go(offset)` loads another page. */
export function pager(total, offset, limit, go) {
  const prev = el("button", { type: "button", class: "prev", text: t("admin.prev"), disabled: offset === 0 });
  const next = el("button", { type: "button", class: "next", text: t("admin.next"), disabled: offset + limit >= total });
  prev.addEventListener("click", () => go(Math.max(0, offset - limit)));
  next.addEventListener("click", () => go(offset + limit));
  const range = total === 0
    ? t("admin.range_empty")
    : t("admin.range", { from: offset + 1, to: Math.min(total, offset + limit), count: total });
  return el("div", { class: "pager" }, prev, el("span", { class: "range", text: range }), next);
}

/** The message of a failed call, for a toast. */
export function failure(e) {
  return t("admin.failed", { detail: e.message || String(e) });
}
