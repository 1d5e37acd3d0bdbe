// The banks page (admins): each bank a page at a time, searched by note, hash, item or
// author; a photo added, a CSV imported or exported; an entry removed (in `banned`: an
// unban). Notes and ids are hostile text: text nodes only.
import * as admin from "./admin-api.js";
import { fmtDate, t } from "./i18n.js";
import { failure, frame, pager, table, toast } from "./nav.js";
import { el } from "./render.js";

const LIMIT = 50;
const $ = (id) => document.getElementById(id);
const state = { bank: "banned", query: "", offset: 0 };

function hashes(e) {
  const out = el("div", { class: "mono" });
  for (const [label, value] of [["sha256", e.sha256], ["pdq", e.pdq], ["phash", e.phash]]) {
    if (value) out.append(el("div", { title: value, text: `${label} ${value.slice(0, 16)}…` }));
  }
  return out;
}

function itemLink(id) {
  return id ? el("a", { href: `/review/items/${encodeURIComponent(id)}`, text: id }) : "";
}

function authorLink(id) {
  return id ? el("a", { href: `/review/authors/${encodeURIComponent(id)}`, text: id }) : "";
}

function removeButton(e) {
  const unban = state.bank === "banned";
  const label = t(unban ? "admin.banks.unban" : "admin.banks.remove");
  const b = el("button", { type: "button", class: "danger", text: label, "data-entry-id": e.entry_id });
  b.setAttribute("aria-label", `${label} ${e.entry_id}`);
  b.addEventListener("click", async () => {
    if (!window.confirm(t("admin.banks.confirm_remove", { id: e.entry_id, bank: state.bank }))) return;
    try {
      await admin.removeBankEntry(state.bank, e.entry_id);
      toast(t(unban ? "admin.banks.unbanned" : "admin.banks.removed", { id: e.entry_id }));
      load();
    } catch (err) { toast(failure(err), true); }
  });
  return b;
}

async function load() {
  const box = $("bank-entries");
  $("bank-export").href = admin.exportBankUrl(state.bank);
  let page;
  try {
    page = await admin.bank(state.bank, { limit: LIMIT, offset: state.offset, query: state.query });
  } catch (err) {
    box.replaceChildren(el("p", { class: "error", text: failure(err) }));
    return;
  }
  const go = (offset) => { state.offset = offset; load(); };
  if (!page.entries.length) {
    box.replaceChildren(el("p", { class: "empty-state", text: t(state.query ? "admin.banks.none_found" : "admin.banks.empty") }));
    document.body.dataset.state = "ready";
    return;
  }
  const rows = page.entries.map((e) => [
    String(e.entry_id), hashes(e), e.note || "", authorLink(e.author_id), itemLink(e.item_id),
    fmtDate(e.created_at), e.created_by || "", removeButton(e),
  ]);
  const headers = ["admin.banks.id", "admin.banks.hashes", "admin.banks.note", "admin.banks.author", "admin.banks.item",
    "admin.banks.added", "admin.banks.by", "admin.actions"].map((k) => t(k));
  box.replaceChildren(pager(page.total, state.offset, LIMIT, go), table(headers, rows, "bank-table"));
  document.body.dataset.state = "ready";
}

async function start() {
  if (!(await frame({ adminOnly: true }))) return;
  const select = $("bank-name");
  try {
    for (const b of (await admin.banks()).banks) {
      select.append(new Option(t("admin.banks.option", { bank: b.bank, count: b.entries }), b.bank));
    }
  } catch (err) { toast(failure(err), true); }
  const wanted = new URLSearchParams(window.location.search);
  select.value = wanted.get("bank") || "banned"; // the bank admins work in most
  if (!select.value && select.options.length) select.selectedIndex = 0;
  state.bank = select.value || "banned";
  state.query = wanted.get("q") || "";
  $("bank-q").value = state.query;
  select.addEventListener("change", () => { state.bank = select.value; state.offset = 0; load(); });
  $("bank-search").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.query = $("bank-q").value.trim();
    state.offset = 0;
    load();
  });
  $("bank-add").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    for (const [k, v] of [...form.entries()]) if (v === "") form.delete(k);
    try {
      const entry = await admin.addBankPhoto(state.bank, form);
      toast(t("admin.banks.added_photo", { id: entry.entry_id, bank: state.bank }));
      ev.target.reset();
      load();
    } catch (err) { toast(failure(err), true); }
  });
  $("bank-import").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const done = await admin.importBank(state.bank, new FormData(ev.target));
      toast(t("admin.banks.imported", { count: done.imported, bank: state.bank }));
      ev.target.reset();
      load();
    } catch (err) { toast(failure(err), true); }
  });
  load();
}

start();
