// The search box: words for the full text, and `key:value` filters
// (id: author: category: decision: queue: since: until:, dates as YYYY-MM-DD in UTC).
import * as api from "./api.js";
import { t } from "./i18n.js";
import { el, hitCard } from "./render.js";

const FILTERS = { id: "item_id", author: "author_id", category: "category", decision: "decision", queue: "queue", since: "since", until: "until" };

export function parse(input) {
  const params = new URLSearchParams();
  const words = [];
  for (const part of input.trim().split(/\s+/)) {
    const m = /^([a-z]+):(.+)$/.exec(part);
    if (m && FILTERS[m[1]]) {
      const v = /^\d{4}-\d{2}-\d{2}$/.test(m[2]) ? `${m[2]}T00:00:00Z` : m[2];
      params.set(FILTERS[m[1]], v);
    } else if (part) words.push(part);
  }
  if (words.length) params.set("q", words.join(" "));
  return params;
}

export const run = (input, limit = 50) => {
  const params = parse(input);
  params.set("limit", String(limit));
  return api.search(params);
};

export function render(panel, input, data, cur) {
  panel.replaceChildren();
  const n = data.hits.length;
  panel.append(el("h2", { text: t(data.more ? "search.count.more" : "search.count", { count: n, query: input }) }),
    el("p", { class: "meta", text: t("search.keys") }));
  const list = el("div", { class: "hits" });
  data.hits.forEach((h, i) => list.append(hitCard(h, { current: i === cur })));
  if (!n) list.append(el("div", { class: "empty", text: t("search.empty", { help: t("search.help") }) }));
  panel.append(list);
  const current = panel.querySelector(".hit.current");
  if (current && current.scrollIntoView) current.scrollIntoView({ block: "nearest" });
}
