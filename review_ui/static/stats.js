// The stats page: queue depths and ages, decisions per moderator per hour, automation
// rate, automated precision and reviewer agreement. Charts are plain SVG.
import { el } from "./render.js";

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attrs = {}) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

function barChart(title, rows, width = 520) {
  const h = 22 * rows.length + 10;
  const max = Math.max(1, ...rows.map(([, v]) => v));
  const chart = svg("svg", { width, height: h, role: "img", "aria-label": title });
  rows.forEach(([label, value], i) => {
    const y = 5 + i * 22;
    const t = svg("text", { x: 4, y: y + 14, "font-size": 12 });
    t.textContent = label;
    chart.append(t);
    chart.append(svg("rect", { x: 170, y, width: Math.max(1, ((width - 230) * value) / max), height: 16, fill: "#2a62d4" }));
    const v = svg("text", { x: 176 + ((width - 230) * value) / max, y: y + 13, "font-size": 12 });
    v.textContent = String(value);
    chart.append(v);
  });
  return el("div", {}, el("h3", { text: title }), chart);
}

function pct(x) {
  return x === null || x === undefined ? "n/a" : `${(x * 100).toFixed(1)} %`;
}

export function renderStats(panel, s) {
  panel.replaceChildren();
  panel.append(el("h2", { text: `Last ${s.window_hours} h (press T to go back)` }));
  const figs = el("div");
  const fig = (label, value) => el("span", { class: "figure" }, el("b", { text: value }), label);
  figs.append(
    fig("automation rate", pct(s.automation_rate)),
    fig(`automated precision (${s.automated_precision.of} QA checks)`, pct(s.automated_precision.value)),
    fig(`reviewer agreement (${s.reviewer_agreement.of} second reviews)`, pct(s.reviewer_agreement.value)),
    fig("human decisions", String(s.decisions)),
    fig("undone", String(s.undone)),
    fig("webhooks pending", String(s.webhooks_pending)),
  );
  panel.append(figs);
  const table = el("table", {}, el("tr", {}, ...["queue", "waiting", "leased", "oldest", "SLA", "past SLA"].map((h) => el("th", { text: h }))));
  for (const q of s.queues) {
    const age = q.oldest_age_seconds === null ? "" : `${Math.round(q.oldest_age_seconds / 60)} min`;
    table.append(el("tr", {}, ...[q.queue, q.depth, q.leased, age, q.sla_minutes ? `${q.sla_minutes} min` : "", q.past_sla].map((v) => el("td", { text: v }))));
  }
  panel.append(el("h3", { text: "Queues" }), table);
  panel.append(barChart("Queue depth", s.queues.map((q) => [q.queue, q.depth])));
  const perMod = Object.entries(s.decisions_per_moderator_hour);
  panel.append(barChart("Decisions per moderator", perMod.map(([m, h]) => [m, Object.values(h).reduce((a, b) => a + b, 0)])));
  for (const [m, hours] of perMod) {
    panel.append(barChart(`${m}: decisions per hour`, Object.entries(hours).map(([hr, n]) => [hr.slice(5, 16).replace("T", " "), n])));
  }
}

// The latest audit entries (who, when, what, why), with the CSV export of all of them.
export function renderAudit(panel, data) {
  const table = el("table", { class: "audit" }, el("tr", {}, ...["when", "who", "action", "target", "detail"].map((h) => el("th", { text: h }))));
  for (const e of data.entries) {
    const detail = e.detail ? JSON.stringify(e.detail) : "";
    table.append(el("tr", {}, ...[e.at.replace("T", " ").slice(0, 19), e.actor, e.action, e.target || "", detail].map((v) => el("td", { text: v }))));
  }
  panel.append(
    el("h3", { text: `Audit log (latest ${data.entries.length} of ${data.total})` }),
    el("p", {}, el("a", { href: "/v1/admin/audit.csv", text: "Export the whole log as CSV" })),
    table,
  );
}
