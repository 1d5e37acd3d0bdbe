// The dashboard: the queue's figures for a window (automation, precision, agreement,
// appeals and overturns when the API has them, each moderator's exposure today), and charts
// drawn by hand as SVG from the stored data, hour by hour (/v1/review/stats/series): the
// queue's depth and its oldest task, decisions per hour, the automation rate. No library,
// no CDN; every label through the catalogue.
import * as admin from "./admin-api.js";
import { fmtNumber, fmtPercent, locale, t } from "./i18n.js";
import { failure, frame, table } from "./nav.js";
import { categoryName, queueName } from "./reasons.js";
import { el } from "./render.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const W = 560, H = 220, PAD = { left: 84, right: 14, top: 12, bottom: 30 };
const hourFmt = new Intl.DateTimeFormat(locale, { weekday: "short", hour: "numeric" });

function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** The smallest of 2, 4, 10, 20, 40, 100... at or above `n`: whole-number gridlines
 * at 0, half and top for counts. */
function niceCeiling(n) {
  if (n <= 2) return 2;
  const unit = 10 ** Math.floor(Math.log10(n));
  return [1, 2, 4, 10].map((m) => m * unit).find((v) => v >= n);
}

/** A chart of hourly values: bars or a line (null values leave a gap), y from 0 to the
 * largest value (or `max`), labelled with `fmt`. */
function chart(title, hours, values, { kind = "line", fmt = fmtNumber, max } = {}) {
  const top = max ?? niceCeiling(Math.max(0, ...values.filter((v) => v !== null)));
  const plotW = W - PAD.left - PAD.right, plotH = H - PAD.top - PAD.bottom;
  const x = (i) => PAD.left + (values.length === 1 ? plotW / 2 : (i * plotW) / (values.length - 1));
  const y = (v) => PAD.top + plotH - (v / top) * plotH;
  const latest = [...values].reverse().find((v) => v !== null);
  const label = t("dash.chart_label", { title, latest: latest === undefined ? t("dash.none") : fmt(latest) });
  const root = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
  root.append(svg("title", {}, label));
  for (const frac of [0, 0.5, 1]) {
    const gy = y(top * frac);
    root.append(svg("line", { class: "grid", x1: PAD.left, x2: W - PAD.right, y1: gy, y2: gy }));
    root.append(svg("text", { class: "axis", x: PAD.left - 6, y: gy + 4, "text-anchor": "end" }, fmt(top * frac)));
  }
  const ticks = [0, Math.floor((hours.length - 1) / 2), hours.length - 1];
  for (const i of [...new Set(ticks)]) {
    root.append(svg("text", { class: "axis", x: x(i), y: H - 8, "text-anchor": i === 0 ? "start" : i === hours.length - 1 ? "end" : "middle" }, hourFmt.format(new Date(hours[i]))));
  }
  if (kind === "bar") {
    const bw = Math.max(1, plotW / values.length - 2);
    values.forEach((v, i) => {
      if (!v) return;
      const bx = PAD.left + (i * plotW) / values.length + 1;
      const bar = svg("rect", { class: "bar", x: bx, y: y(v), width: bw, height: PAD.top + plotH - y(v) });
      bar.append(svg("title", {}, `${hourFmt.format(new Date(hours[i]))}: ${fmt(v)}`));
      root.append(bar);
    });
  } else {
    let d = "";
    values.forEach((v, i) => {
      if (v === null) { d += " "; return; }
      d += `${d.endsWith(" ") || d === "" ? "M" : "L"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    });
    root.append(svg("path", { class: "line", d: d.trim().replace(/ +/g, " ") }));
    values.forEach((v, i) => {
      if (v === null) return;
      const dot = svg("circle", { class: "dot", cx: x(i), cy: y(v), r: 2.5 });
      dot.append(svg("title", {}, `${hourFmt.format(new Date(hours[i]))}: ${fmt(v)}`));
      root.append(dot);
    });
  }
  return el("figure", { class: "panel chart" }, el("figcaption", {}, el("h2", { text: title })), root);
}

const pct = (x) => (x === null || x === undefined ? t("dash.none") : fmtPercent(x));
const minutes = (s) => t("dash.minutes", { count: Math.round(s / 60) });

function figure(value, label) {
  return el("div", { class: "figure-box" }, el("b", { text: value }), el("span", { text: label }));
}

function figures(s) {
  const box = $("figures");
  box.replaceChildren(
    figure(fmtNumber(s.items), t("dash.items", { count: s.items })),
    figure(pct(s.automation_rate), t("dash.automation")),
    figure(fmtNumber(s.decisions), t("dash.decisions", { count: s.decisions })),
    figure(fmtNumber(s.undone), t("dash.undone", { count: s.undone })),
    figure(pct(s.automated_precision.value), t("dash.precision", { count: s.automated_precision.of })),
    figure(pct(s.reviewer_agreement.value), t("dash.agreement", { count: s.reviewer_agreement.of })),
    figure(fmtNumber(s.webhooks_pending), t("dash.webhooks", { count: s.webhooks_pending })),
  );
  // appeals (the members' measure of quality): every rejection has one ground category, so
  // the categories' rows add up to the whole
  if (s.appeals && Array.isArray(s.appeals.by_category)) {
    const sum = (k) => s.appeals.by_category.reduce((a, r) => a + (r[k] || 0), 0);
    const [rejections, appeals, decided, overturned] = ["rejections", "appeals", "decided", "overturned"].map(sum);
    box.append(
      figure(pct(rejections ? appeals / rejections : null), t("dash.appeal_rate", { count: rejections })),
      figure(pct(decided ? overturned / decided : null), t("dash.overturn_rate", { count: decided })),
    );
  }
}

function queues(s) {
  const box = $("queues");
  if (!s.queues.length) { box.replaceChildren(el("p", { class: "empty-state", text: t("dash.no_queue") })); return; }
  const rows = s.queues.map((q) => [
    el("a", { href: `/review?queue=${encodeURIComponent(q.queue)}`, text: queueName(q.queue) }), fmtNumber(q.depth), fmtNumber(q.leased),
    q.oldest_age_seconds === null ? "" : minutes(q.oldest_age_seconds), q.sla_minutes ? t("dash.minutes", { count: q.sla_minutes }) : "",
    el("span", { class: q.past_sla ? "state-disabled" : "state-active", text: q.past_sla ? t("dash.late", { count: q.past_sla }) : t("dash.on_time") }),
  ]);
  box.replaceChildren(table(["dash.queue", "dash.waiting", "dash.leased", "dash.oldest", "dash.sla", "dash.sla_state"].map((k) => t(k)), rows, "queue-table"));
}

/** The exposure counter, in whichever shape the stats give it: {actor: n} or [{actor, count}]. */
function exposureOf(s) {
  const raw = s.exposure_today;
  if (!raw) return {};
  if (Array.isArray(raw)) return Object.fromEntries(raw.map((r) => [r.actor ?? r.moderator ?? r.username, r.count ?? r.sensitive ?? r.items ?? 0]));
  return typeof raw === "object" ? raw : {};
}

function moderators(s) {
  const box = $("moderators");
  const exposure = exposureOf(s);
  const names = [...new Set([...Object.keys(s.decisions_per_moderator_hour), ...Object.keys(exposure)])].sort();
  if (!names.length) { box.replaceChildren(el("p", { class: "empty-state", text: t("dash.no_decision") })); return; }
  const rows = names.map((m) => {
    const hours = s.decisions_per_moderator_hour[m] || {};
    const total = Object.values(hours).reduce((a, b) => a + b, 0);
    const busiest = Math.max(0, ...Object.values(hours));
    return [m, fmtNumber(total), fmtNumber(busiest), m in exposure ? fmtNumber(exposure[m]) : t("dash.none")];
  });
  box.replaceChildren(table(["dash.moderator", "dash.decided", "dash.busiest_hour", "dash.exposure"].map((k) => t(k)), rows, "moderator-table"));
}

/** "ban:moderator" in the moderator's words: "ban, by a moderator". */
function actionKey(key) {
  const [action, who] = String(key).split(":");
  return t("dash.account_action_key", { action: t(`dash.action.${action}`), who: t(`dash.who.${who}`) });
}

/** Appeals per ground category, per moderator (`policy`: automatic decisions) and per
 * account action: the members' measure of how right the decisions were. */
function appeals(s) {
  const box = $("appeals");
  const groups = s.appeals || {};
  const rows = [];
  for (const [group, label] of [["by_category", "dash.by_category"], ["by_moderator", "dash.by_moderator"], ["by_account_action", "dash.by_account_action"]]) {
    for (const r of groups[group] || []) {
      const key = group === "by_account_action" ? actionKey(r.key) : group === "by_category" ? categoryName(r.key) : r.key;
      rows.push([t(label), key, fmtNumber(r.rejections), fmtNumber(r.appeals), pct(r.appeal_rate), fmtNumber(r.decided), fmtNumber(r.overturned), pct(r.overturn_rate)]);
    }
  }
  if (!rows.length) { box.replaceChildren(el("p", { class: "empty-state", text: t("dash.no_rejection") })); return; }
  const headers = ["dash.group", "dash.key", "dash.rejections", "dash.appeals_col", "dash.appeal_rate_col", "dash.decided_appeals", "dash.overturned", "dash.overturn_rate_col"];
  box.replaceChildren(table(headers.map((k) => t(k)), rows, "appeal-table"));
}

/** Automation and how right it was, over all items and per category: the truth is a
 * moderator's decision, else a QA check, so a rate over no checked item reads "n/a". */
function quality(s) {
  const box = $("quality");
  const rows = (s.decision_quality || []).filter((q) => q.items > 0).map((q) => {
    const rate = (r) => (r.of ? `${pct(r.value)} (${fmtNumber(r.count)}/${fmtNumber(r.of)})` : t("dash.none"));
    return [q.category === "all" ? t("dash.all_items") : categoryName(q.category), fmtNumber(q.items), pct(q.automation_rate),
      rate(q.approve_precision), rate(q.reject_precision), rate(q.harm_approved)];
  });
  if (!rows.length) { box.replaceChildren(el("p", { class: "empty-state", text: t("dash.no_item") })); return; }
  const headers = ["dash.category", "dash.items_col", "dash.automated_col", "dash.approve_precision", "dash.reject_precision", "dash.harm_approved"];
  box.replaceChildren(table(headers.map((k) => t(k)), rows, "quality-table"));
}

function charts(series) {
  const hours = series.points.map((p) => p.hour);
  const col = (k) => series.points.map((p) => p[k]);
  $("charts").replaceChildren(
    chart(t("dash.chart_depth"), hours, col("open_tasks")),
    chart(t("dash.chart_age"), hours, col("oldest_open_seconds").map((v) => (v === null ? null : Math.round(v / 60))), { fmt: (v) => t("dash.minutes", { count: Math.round(v) }) }),
    chart(t("dash.chart_decisions"), hours, col("human_decisions"), { kind: "bar" }),
    chart(t("dash.chart_items"), hours, col("items"), { kind: "bar" }),
    chart(t("dash.chart_automation"), hours, col("automation_rate"), { fmt: (v) => fmtPercent(v, 0), max: 1 }),
  );
}

async function load() {
  const hours = Number($("dash-hours").value);
  try {
    const [s, series] = await Promise.all([admin.stats(hours), admin.series(hours)]);
    figures(s);
    queues(s);
    moderators(s);
    appeals(s);
    quality(s);
    charts(series);
    $("dash-updated").textContent = t("dash.updated", { when: new Date(s.generated_at).toLocaleTimeString(locale) });
  } catch (err) {
    $("figures").replaceChildren(el("p", { class: "error", text: failure(err) }));
  }
  document.body.dataset.state = "ready";
}

async function start() {
  if (!(await frame())) return;
  $("dash-hours").value = "48";
  $("dash-hours").addEventListener("change", load);
  load();
  setInterval(load, 60_000); // a wall screen stays current
}

start();
