// DOM builders. Everything an author wrote goes in through textContent or attributes set
// one by one: never innerHTML, so `<img onerror=...>` in a text is shown, not run.

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = String(v);
    else if (k.startsWith("data-")) node.setAttribute(k, String(v));
    else node[k] = v;
  }
  for (const c of children) {
    if (c === null || c === undefined) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

const SENSITIVE = new Set(["nudity", "suggestive", "sexual"]);

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
    out.append(el("mark", { "data-category": s.r.category, title: `${s.r.category} · ${s.r.detector}`, text: text.slice(s.start, s.end) }));
    at = s.end;
  }
  out.append(document.createTextNode(text.slice(at)));
  return out;
}

export function photo(task, { revealed, boxes }) {
  const blurred = task.sensitive && !revealed;
  const wrap = el("div", { class: blurred ? "photo blurred" : "photo", "data-item-id": task.item.id });
  wrap.append(el("img", { src: task.item.image_url, alt: `photo ${task.item.id}`, decoding: "async", loading: "eager", draggable: false }));
  if (boxes) {
    for (const r of task.reasons || []) {
      if (!SENSITIVE.has(r.category) || !r.detail || !Array.isArray(r.detail.boxes)) continue;
      for (const b of r.detail.boxes) {
        const [x0, y0, x1, y1] = b.map(Number);
        const box = el("div", { class: "box", title: `${r.category} ${r.score}` });
        box.style.left = `${x0 * 100}%`; box.style.top = `${y0 * 100}%`;
        box.style.width = `${(x1 - x0) * 100}%`; box.style.height = `${(y1 - y0) * 100}%`;
        wrap.append(box);
      }
    }
  }
  return wrap;
}

function reasonLine(r) {
  const parts = [`${r.category}`, `${r.detector}`, `score ${Number(r.score).toFixed(2)}`];
  if (r.matched) parts.push(`“${r.matched}”`);
  if (r.distance !== undefined && r.distance !== null) parts.push(`distance ${r.distance}`);
  if (r.detail && r.detail.item_id) parts.push(`matches item ${r.detail.item_id}`);
  return el("li", { text: parts.join(" · ") });
}

export function card(task, { current, selected, revealed, boxes }) {
  const node = el("div", { class: `card${current ? " current" : ""}${selected ? " selected" : ""}`, "data-task-id": task.task_id });
  node.append(el("div", { class: "meta", text: `${task.queue} · ${task.item.context} · ${task.item.author_id}` }));
  if (task.item.type === "photo") node.append(photo(task, { revealed, boxes: false }));
  else node.append(el("div", { class: "excerpt", text: task.item.text || "" }));
  return node;
}

export function detail(task, { revealed, boxes, cluster }) {
  const d = document.createDocumentFragment();
  const kind = task.kind === "review" ? "" : ` (${task.kind === "qa" ? "QA, blind" : "second review, blind"})`;
  d.append(el("h2", { text: `${task.item.type} ${task.item.id}${kind}` }));
  d.append(el("div", { class: "meta", text: `queue ${task.queue} · priority ${task.priority} · waiting ${Math.round(task.age_seconds / 60)} min (SLA ${task.sla_minutes} min) · author ${task.item.author_id} · ${task.item.context}${task.item.language ? " · " + task.item.language : ""}` }));
  if (task.item.type === "photo") d.append(photo(task, { revealed, boxes }));
  else d.append(highlighted(task.item.text || "", task.reasons));
  if (task.item.first_decision) d.append(el("p", { class: "meta", text: `automatic decision: ${task.item.first_decision}` }));
  d.append(el("h3", { text: "Reasons" }));
  const reasons = el("ul", { class: "reasons" });
  for (const r of task.reasons || []) reasons.append(reasonLine(r));
  if (!(task.reasons || []).length) reasons.append(el("li", { text: "none (sampled for QA)" }));
  d.append(reasons);
  const scores = Object.entries(task.scores || {}).map(([k, v]) => `${k} ${Number(v).toFixed(2)}`).join(" · ");
  if (scores) d.append(el("p", { class: "meta", text: `scores: ${scores}` }));
  if ((task.duplicates || []).length) {
    d.append(el("h3", { text: `Near-duplicates waiting (${task.duplicates.length})${cluster ? " — decided together" : " — press C to decide them together"}` }));
    const ul = el("ul", { class: "dups" });
    for (const x of task.duplicates) ul.append(el("li", { text: `${x.item_id} by ${x.author_id} · distance ${x.distance}` }));
    d.append(ul);
  }
  d.append(el("h3", { text: "Author's recent items" }));
  const recent = el("ul", { class: "recent" });
  for (const a of task.author_recent || []) {
    const li = el("li", {}, el("span", { class: `decision-${a.decision}`, text: a.decision }), ` ${a.type} ${a.id} `, el("span", { class: "meta", text: a.excerpt || "" }));
    recent.append(li);
  }
  if (!(task.author_recent || []).length) recent.append(el("li", { text: "no other items" }));
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

export function decisionBadge(label, decision) {
  return el("span", { class: `badge decision-${decision || "none"}`, text: `${label} ${decision || "pending"}` });
}

// One search result: a link to the item's page, so a click, Enter or a middle click opens it.
export function hitCard(hit, { current }) {
  const node = el("a", { class: `card hit${current ? " current" : ""}`, href: hit.url, "data-item-id": hit.id });
  node.append(el("div", { class: "meta", text: `${hit.type} · ${hit.id} · ${hit.author_id} · ${hit.created_at.replace("T", " ").slice(0, 16)}` }));
  if (hit.excerpt !== null) node.append(marked(hit.excerpt, hit.highlights));
  else node.append(el("div", { class: "excerpt meta", text: "photo" }));
  const line = el("div", { class: "badges" }, decisionBadge("first", hit.first_decision), " ", decisionBadge("final", hit.final_decision));
  for (const t of hit.review) line.append(" ", el("span", { class: "badge", text: `${t.queue} (${t.status})` }));
  for (const c of hit.categories) line.append(" ", el("span", { class: "badge category", text: c }));
  node.append(line);
  return node;
}
