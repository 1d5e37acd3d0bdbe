// DOM builders. Everything an author wrote goes in through textContent or attributes set
// one by one: never innerHTML, so `<img onerror=...>` in a text is shown, not run. Every
// word a moderator reads comes from the catalogue (t), dates and numbers in their locale.
import { fmtDate, fmtNumber, t } from "./i18n.js";
import { boxesOf, categoryName, categoryShort, plain, queueName, technical } from "./reasons.js";

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = String(v);
    else if (k.startsWith("data-") || k.startsWith("aria-") || k === "role") node.setAttribute(k, String(v));
    else node[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const SENSITIVE = new Set(["nudity", "suggestive", "sexual"]);
const authorUrl = (id) => `/review/authors/${encodeURIComponent(id)}`;
const itemUrl = (id) => `/review/items/${encodeURIComponent(id)}`;

// The text with each reason's [start, end) span wrapped in <mark>, built from text nodes.
export function highlighted(text, reasons) {
  const spans = (reasons || [])
    .filter((r) => Array.isArray(r.span) && r.span[1] > r.span[0])
    .map((r) => ({ start: Math.max(0, r.span[0]), end: Math.min(text.length, r.span[1]), r }))
    .sort((a, b) => a.start - b.start);
  const out = el("div", { class: "text" });
  let at = 0;
  for (const s of spans) {
    if (s.start < at) continue; // overlapping spans: the first one wins
    out.append(document.createTextNode(text.slice(at, s.start)));
    out.append(el("mark", { "data-category": s.r.category, title: `${categoryName(s.r.category)} · ${s.r.detector}`, text: text.slice(s.start, s.end) }));
    at = s.end;
  }
  out.append(document.createTextNode(text.slice(at)));
  return out;
}

/** A photo, blurred while `blurred`, with the reasons' boxes (nudity regions, faces) drawn
 * over it when `boxes`: positions in percent of the photo, so any size fits. */
export function photo({ id, url, blurred, reasons, boxes, caption }) {
  const wrap = el("figure", { class: blurred ? "photo blurred" : "photo", "data-item-id": id });
  const frame = el("div", { class: "frame" });
  frame.append(el("img", { src: url, alt: t("card.photo.alt", { id }), decoding: "async", loading: "eager", draggable: false }));
  if (blurred) frame.append(el("span", { class: "veil", text: t("card.sensitive") }));
  if (boxes && !blurred) {
    for (const r of reasons || []) {
      for (const b of boxesOf(r)) {
        const [x0, y0, x1, y1] = b.xy;
        const box = el("div", { class: `box cat-${r.category}`, title: `${categoryName(r.category)} · ${b.label} ${fmtNumber(Number(b.score))}` });
        box.style.left = `${x0 * 100}%`; box.style.top = `${y0 * 100}%`;
        box.style.width = `${(x1 - x0) * 100}%`; box.style.height = `${(y1 - y0) * 100}%`;
        frame.append(box);
      }
    }
  }
  wrap.append(frame);
  if (caption) wrap.append(el("figcaption", {}, ...caption));
  return wrap;
}

export function categoryBadge(c) {
  return el("span", { class: `badge category cat-${c}`, title: categoryName(c), text: categoryShort(c) });
}

const categoriesOf = (reasons) => [...new Set((reasons || []).map((r) => r.category))];

/** Whether the task is past its queue's SLA. */
export const late = (task) => task.sla_minutes != null && task.age_seconds != null && task.age_seconds > task.sla_minutes * 60;

/** The badges that say why a task is there: a category each, SLA state, reports. */
export function glance(task) {
  const line = el("div", { class: "badges" });
  for (const c of categoriesOf(task.reasons)) line.append(categoryBadge(c));
  if (!(task.reasons || []).length) line.append(el("span", { class: "badge", text: t(task.kind === "review" ? "card.no_reason" : "card.blind") }));
  line.append(el("span", { class: late(task) ? "badge sla late" : "badge sla", text: t(late(task) ? "card.sla.late" : "card.sla.on_time") }));
  if (task.reports) line.append(el("span", { class: "badge reports", text: t("card.reports", { count: task.reports }) }));
  return line;
}

export function card(task, { current, selected, revealed }) {
  const node = el("div", { class: `card${current ? " current" : ""}${selected ? " selected" : ""}`, "data-task-id": task.task_id, "data-item": task.item.id, "data-queue": task.queue, "aria-current": current ? "true" : null });
  node.append(glance(task));
  node.append(el("div", { class: "meta", text: `${queueName(task.queue)} · ${task.item.context} · ${task.item.author_id}` }));
  if (task.item.type === "photo") node.append(photo({ id: task.item.id, url: task.item.image_url, blurred: task.sensitive && !revealed }));
  else node.append(el("div", { class: "excerpt", text: task.item.text || "" }));
  return node;
}

function reasonItem(r, ctx) {
  return el("li", { title: technical(r) }, el("span", { class: "plain", text: plain(r, ctx) }), el("span", { class: "tech", text: technical(r) }));
}

/** The reasons in plain words, each with its technical detail (shown with D). */
export function reasonList(reasons, ctx, emptyKey) {
  const ul = el("ul", { class: "reasons" });
  for (const r of reasons || []) ul.append(reasonItem(r, ctx));
  if (!(reasons || []).length) ul.append(el("li", { text: t(emptyKey) }));
  return ul;
}

const byWho = (author, at) => [el("a", { href: authorUrl(author), text: author }), " · ", at ? fmtDate(at) : ""];

/** A near-copy beside its original: who posted each and when, the earliest marked. */
function comparison(task, { revealed, boxes }) {
  const dupReason = (task.reasons || []).find((r) => r.category === "duplicate" && r.detail && r.detail.item_id);
  const orig = dupReason && (task.originals || {})[dupReason.detail.item_id];
  if (!orig) return null;
  const mine = { id: task.item.id, author_id: task.item.author_id, created_at: task.item.created_at, url: task.item.image_url };
  const other = { id: dupReason.detail.item_id, author_id: orig.author_id, created_at: orig.created_at, url: orig.image_url };
  const earliest = new Date(other.created_at) <= new Date(mine.created_at) ? other.id : mine.id;
  const blurred = (task.sensitive || orig.sensitive) && !revealed;
  const side = (p, label) => photo({
    id: p.id, url: p.url, blurred, reasons: p.id === mine.id ? task.reasons : [], boxes,
    caption: [el("strong", { text: label }), " ", p.id === earliest ? el("span", { class: "badge original", text: t("card.original") }) : null, el("br"), ...byWho(p.author_id, p.created_at)],
  });
  return el("div", { class: "compare" }, side(mine, t("card.this_photo")), side(other, t("card.other_photo")));
}

export function detail(task, { revealed, boxes, cluster }) {
  const d = document.createDocumentFragment();
  const kind = task.kind === "review" ? "" : ` (${t(task.kind === "qa" ? "card.kind.qa" : "card.kind.second")})`;
  d.append(el("h2", { text: `${t(`card.type.${task.item.type}`)} ${task.item.id}${kind}`, "data-item-id": task.item.id }));
  d.append(glance(task));
  const minutes = Math.round((task.age_seconds || 0) / 60);
  d.append(el("p", { class: "meta" },
    t("card.meta", { queue: queueName(task.queue), priority: task.priority, minutes, sla: task.sla_minutes ?? 0 }), " · ",
    t("card.author"), " ", el("a", { href: authorUrl(task.item.author_id), class: "author", text: task.item.author_id }),
    ` · ${task.item.context}${task.item.language ? " · " + task.item.language : ""} · `,
    el("a", { href: itemUrl(task.item.id), class: "item-link", text: t("card.open_item") })));
  const ctx = { text: task.item.text, originals: task.originals };
  if (task.item.type === "photo") {
    d.append(comparison(task, { revealed, boxes }) || photo({ id: task.item.id, url: task.item.image_url, blurred: task.sensitive && !revealed, reasons: task.reasons, boxes }));
  } else {
    d.append(highlighted(task.item.text || "", task.reasons));
  }
  if (task.appeal) {
    const who = task.appeal.decision_by === "policy" ? t("card.appeal.automation") : task.appeal.decision_by;
    d.append(el("section", { class: "appeal" },
      el("h3", { text: t("card.appeal") }),
      el("p", { class: "meta", text: t("card.appeal.contests", { who, ground: categoryName(task.appeal.category) }) }),
      el("blockquote", { class: "text", text: task.appeal.statement })));
  }
  if (task.item.first_decision) d.append(el("p", { class: "meta", text: t("card.automatic", { decision: t(`decision.${task.item.first_decision}`) }) }));
  d.append(el("h3", { text: t("card.reasons") }));
  d.append(reasonList(task.reasons, ctx, "card.no_reason"));
  const scores = Object.entries(task.scores || {}).map(([k, v]) => `${categoryName(k)} ${fmtNumber(Math.round(v * 100) / 100)}`).join(" · ");
  if (scores) d.append(el("p", { class: "meta tech", text: `${t("card.scores")} ${scores}` }));
  if ((task.duplicates || []).length) {
    const n = task.duplicates.length;
    d.append(el("h3", { text: t(cluster ? "card.duplicates.together" : "card.duplicates.apart", { count: n }) }));
    const ul = el("ul", { class: "dups" });
    for (const x of task.duplicates) {
      ul.append(el("li", {}, photo({ id: x.item_id, url: x.image_url, blurred: task.sensitive && !revealed }),
        el("span", {}, el("a", { href: itemUrl(x.item_id), text: x.item_id }), " · ", t("card.by"), " ", el("a", { href: authorUrl(x.author_id), text: x.author_id }),
          " · ", t("card.distance", { distance: x.distance }))));
    }
    d.append(ul);
  }
  d.append(el("h3", {}, t("card.recent"), " ", el("a", { href: authorUrl(task.item.author_id), class: "meta", text: t("card.author_page") })));
  const recent = el("ul", { class: "recent" });
  for (const a of task.author_recent || []) {
    const decision = a.decision ? t(`decision.${a.decision}`) : t("decision.none");
    recent.append(el("li", {}, el("span", { class: `decision-${a.decision}`, text: decision }), " ",
      el("a", { href: itemUrl(a.id), text: `${t(`card.type.${a.type}`)} ${a.id}` }), " ", el("span", { class: "meta", text: a.excerpt || "" })));
  }
  if (!(task.author_recent || []).length) recent.append(el("li", { text: t("card.recent.none") }));
  d.append(recent);
  return d;
}

// A text with the [start, end) spans marked, built from text nodes (search excerpts).
export function marked(text, spans, cls = "excerpt") {
  const out = el("div", { class: cls });
  let at = 0;
  for (const [s, e] of spans || []) {
    if (s < at || e <= s) continue;
    out.append(document.createTextNode(text.slice(at, s)), el("mark", { text: text.slice(s, e) }));
    at = e;
  }
  out.append(document.createTextNode(text.slice(at)));
  return out;
}

/** "final: reject" as a badge; `which` is first, human or final. */
export function decisionBadge(which, decision) {
  return el("span", { class: `badge decision-${decision || "none"}`, "data-which": which,
    text: t("decision.badge", { which: t(`decision.which.${which}`), decision: t(`decision.${decision || "pending"}`) }) });
}

// One search result: a link to the item's page, so a click, Enter or a middle click opens it.
export function hitCard(hit, { current }) {
  const node = el("a", { class: `card hit${current ? " current" : ""}`, href: hit.url, "data-item-id": hit.id });
  node.append(el("div", { class: "meta", text: `${t(`card.type.${hit.type}`)} · ${hit.id} · ${hit.author_id} · ${fmtDate(hit.created_at)}` }));
  if (hit.excerpt !== null) node.append(marked(hit.excerpt, hit.highlights));
  else node.append(el("div", { class: "excerpt meta", text: t("card.type.photo") }));
  const line = el("div", { class: "badges" }, decisionBadge("first", hit.first_decision), " ", decisionBadge("final", hit.final_decision));
  for (const task of hit.review) line.append(" ", el("span", { class: "badge", text: t("search.task", { queue: queueName(task.queue), status: t(`status.${task.status}`) }) }));
  for (const c of hit.categories) line.append(" ", categoryBadge(c));
  node.append(line);
  return node;
}
