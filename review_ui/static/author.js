// An author's page: the account's state and live strikes, the actions a moderator may take
// (warn, restrict, suspend, ban, lift: each with a mandatory note), the actions taken with
// their notes (and undo), the author's items with their outcomes, strikes, reports made and
// received, appeals. The id comes from the address; everything is built from text nodes.
import { call } from "./api.js";
import { fmtDate, t } from "./i18n.js";
import { failure, frame, table, toast } from "./nav.js";
import { el } from "./render.js";

const PREFIX = "/review/authors/";
const GROUNDS = ["other", "contact_info", "profanity", "sexual", "spam_link", "spam", "banned_match", "duplicate", "nudity", "suggestive", "no_face", "low_quality", "invalid"];
const $ = (id) => document.getElementById(id);
const raw = window.location.pathname.slice(PREFIX.length);
const authorId = (() => { try { return decodeURIComponent(raw); } catch { return raw; } })();
const enc = encodeURIComponent;

// a ground in words, or its id when the policy has one the page does not know
const ground = (c) => (GROUNDS.includes(c) ? t(`author.ground.${c}`) : c);
const itemLink = (id) => (id ? el("a", { href: `/review/items/${enc(id)}`, text: id }) : "");
const decision = (d) => (d ? el("span", { class: `decision-${d}`, text: t(`author.decision.${d}`) }) : el("span", { class: "muted", text: t("author.pending") }));

function section(id, headers, rows, emptyKey) {
  const box = $(id);
  if (!rows.length) box.replaceChildren(el("p", { class: "empty-state", text: t(emptyKey) }));
  else box.replaceChildren(table(headers.map((h) => t(h)), rows));
}

function summary(a) {
  const s = a.author;
  const state = el("span", { class: `author-state state-${s.state}`, text: t(`author.state.${s.state}`) });
  const parts = [el("p", {}, state, " · ", t("author.strikes_live", { count: s.strikes }))];
  if (s.suspended_until) parts.push(el("p", { text: t("author.suspended_until", { when: fmtDate(s.suspended_until) }) }));
  if (s.next_threshold) {
    parts.push(el("p", { class: "muted", text: t("author.next", { action: t(`author.action.${s.next_threshold.action}`), count: s.next_threshold.strikes }) }));
  }
  parts.push(el("p", { class: "muted", text: t("author.totals", { items: a.items.length, received: a.reports_received.length, made: a.reports_made.length }) }));
  $("author-summary").replaceChildren(...parts);
}

function undoButton(e) {
  const b = el("button", { type: "button", text: t("author.undo"), "data-enforcement-id": e.id });
  b.addEventListener("click", async () => {
    try {
      await call("POST", `/v1/review/enforcements/${e.id}/undo`, { why: t("author.undo_why") });
      toast(t("author.undone", { action: t(`author.action.${e.action}`) }));
      load();
    } catch (err) { toast(failure(err), true); }
  });
  return b;
}

function render(a) {
  summary(a);
  section("author-enforcements", ["author.when", "author.what", "author.by", "author.note", "author.ground", "author.until", "author.state_col", ""],
    a.enforcements.map((e) => [fmtDate(e.created_at), t(`author.action.${e.action}`), e.source === "threshold" ? t("author.by_threshold", { count: e.threshold ?? e.strikes }) : e.actor,
      e.note || "", ground(e.category), e.until ? fmtDate(e.until) : "",
      e.undone_at ? el("span", { class: "state-revoked", text: t("author.undone_by", { who: e.undone_by || "", when: fmtDate(e.undone_at) }) }) : el("span", { class: "state-active", text: t("author.in_force") }),
      e.undone_at ? "" : undoButton(e)]),
    "author.no_enforcement");
  section("author-items", ["author.item", "author.type", "author.context", "author.first", "author.human", "author.final", "author.when"],
    a.items.map((i) => [itemLink(i.id), t(`card.type.${i.type}`), i.context, decision(i.first_decision), i.human_decision ? decision(i.human_decision) : "", decision(i.final_decision), fmtDate(i.created_at)]),
    "author.no_item");
  section("author-strikes", ["author.when", "author.ground", "author.weight", "author.item", "author.expires", "author.state_col"],
    a.strikes.map((s) => [fmtDate(s.created_at), ground(s.category), String(s.weight), itemLink(s.item_id), fmtDate(s.expires_at),
      s.live ? el("span", { class: "state-disabled", text: t("author.live") }) : el("span", { class: "muted", text: s.removed_at ? t("author.removed", { why: s.removed_why || "" }) : t("author.expired") })]),
    "author.no_strike");
  const report = (r) => [fmtDate(r.created_at), r.id, el("a", { href: `${PREFIX}${enc(r.reporter_id)}`, text: r.reporter_id }), ground(r.category), t(`author.report.${r.status}`), fmtDate(r.decided_at)];
  const reportHeaders = ["author.when", "author.report_id", "author.reporter", "author.ground", "author.state_col", "author.decided"];
  section("author-reports-received", reportHeaders, a.reports_received.map(report), "author.no_report");
  section("author-reports-made", reportHeaders, a.reports_made.map(report), "author.no_report");
  section("author-appeals", ["author.when", "author.appeal_of", "author.statement", "author.state_col", "author.by", "author.note"],
    a.appeals.map((p) => [fmtDate(p.created_at), p.item_id ? itemLink(p.item_id) : t("author.appeal_enforcement", { id: p.enforcement_id }), p.statement,
      t(`author.appeal.${p.status}`), p.decided_by || "", p.note || ""]),
    "author.no_appeal");
  document.body.dataset.state = "ready";
}

async function load() {
  try {
    render(await call("GET", `/v1/authors/${enc(authorId)}`));
  } catch (err) {
    $("author-summary").replaceChildren(el("p", { class: "error", text: err.status === 404 ? t("author.unknown") : failure(err) }));
    document.body.dataset.state = err.status === 404 ? "missing" : "error";
  }
}

async function start() {
  if (!(await frame())) return;
  $("author-title").textContent = t("author.title_of", { id: authorId });
  document.title = t("author.title_of", { id: authorId });
  const select = $("author-category");
  for (const g of GROUNDS) select.append(new Option(t(`author.ground.${g}`), g));
  $("author-action").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = ev.target;
    const action = ev.submitter ? ev.submitter.value : "warn";
    const note = form.elements.note.value.trim();
    if (!note) { toast(t("author.note_needed"), true); form.elements.note.focus(); return; }
    const body = { action, note, category: form.elements.category.value };
    if (action === "suspend") body.days = Number(form.elements.days.value) || 7;
    try {
      await call("POST", `/v1/review/authors/${enc(authorId)}/actions`, body);
      toast(t("author.done", { action: t(`author.action.${action}`) }));
      form.elements.note.value = "";
      load();
    } catch (err) { toast(failure(err), true); }
  });
  load();
}

start();
