// Reasons in plain words, in the moderator's language, from the structured fields the API
// returns (category, detector, score, span, matched, distance, detail). The technical
// detail (rule id, model and version, hash, distance, span) stays one keystroke away:
// `technical()` gives it for the details line that D shows.
import { fmtDay, fmtNumber, locale, t } from "./i18n.js";

const regions = (() => {
  try { return new Intl.DisplayNames([locale], { type: "region" }); } catch { return null; }
})();

const score = (x) => fmtNumber(Math.round(Number(x) * 100) / 100);

/** The category's name ("Contact details"), its short badge word ("contact"). */
// A category the catalogue does not know (a policy's own) is shown by its name.
const known = (key, fallback) => { const v = t(key); return v === key ? fallback : v; };
export const categoryName = (c) => known(`category.${c}`, c);
/** A queue's name in the moderator's language; a queue the catalogue does not know (a
 * policy's own) by the name the policy gives it. */
export const queueName = (q) => known(`queue.name.${q}`, q);
export const categoryShort = (c) => known(`category.${c}.short`, c);

function regionName(code) {
  if (!code) return t("reason.region.unknown");
  try { return (regions && regions.of(String(code).toUpperCase())) || code; } catch { return code; }
}

// A number typed with words ("zéro six douze...") rather than digits.
const inWords = (text, span) => Array.isArray(span) && typeof text === "string" && /\p{L}{3,}/u.test(text.slice(span[0], span[1]));

// The model's top box label, in words: "FEMALE_BREAST_EXPOSED" -> "female breast exposed".
function topLabel(detail) {
  const boxes = (detail && Array.isArray(detail.boxes)) ? detail.boxes : [];
  const best = boxes.filter((b) => b && typeof b === "object" && !Array.isArray(b))
    .sort((a, b) => Number(b.score) - Number(a.score))[0];
  return best && best.label ? String(best.label).toLowerCase().replaceAll("_", " ") : null;
}

/** One reason as a sentence. `ctx`: {text: the item's text, originals: {item_id: {author_id, created_at}}}. */
export function plain(r, ctx = {}) {
  const d = r.detail || {};
  const cat = categoryName(r.category);
  if (r.source === "hash") {
    const orig = (ctx.originals || {})[d.item_id];
    const hash = String(d.hash_type || (r.matched || "").split(":")[0] || "").toUpperCase();
    if (r.category === "duplicate" && orig) {
      return t("reason.duplicate", { author: orig.author_id, day: fmtDay(orig.created_at), hash, distance: r.distance ?? 0 });
    }
    if (r.category === "duplicate") return t("reason.duplicate.unknown", { author: d.author_id || "?", hash, distance: r.distance ?? 0 });
    if (r.category === "banned_match") return t("reason.banned", { hash, distance: r.distance ?? 0 });
    if (r.category === "allowed_match") return t("reason.allowed", { hash, distance: r.distance ?? 0 });
    return t("reason.bank", { bank: d.bank || "?", hash, distance: r.distance ?? 0 });
  }
  if (r.source === "model") {
    if (r.category === "no_face") {
      const n = Number(d.count ?? 0);
      return n === 0 ? t("reason.no_face.none", { score: score(r.score) }) : t("reason.no_face.many", { count: n });
    }
    if (r.category === "nudity" || r.category === "suggestive") {
      const label = topLabel(d);
      return label ? t("reason.detector.label", { category: cat, label, score: score(r.score) }) : t("reason.detector", { category: cat, score: score(r.score) });
    }
    return t("reason.classifier", { category: cat, score: score(r.score) });
  }
  // rules
  if (d.kind === "phone") {
    const region = regionName(d.region);
    return inWords(ctx.text, r.span) ? t("reason.phone.words", { region }) : t("reason.phone", { region });
  }
  if (d.kind === "email") return t("reason.email", { value: r.matched || "" });
  if (d.kind === "handle") return t("reason.handle", { value: r.matched || "" });
  if (d.kind === "url") return t("reason.link", { value: r.matched || "" });
  if (d.domain) return t("reason.link.denied", { value: d.domain });
  if (r.detector === "campaign") {
    return t("reason.campaign", { count: Number(d.authors ?? 0), minutes: Math.round(Number(d.window_seconds ?? 0) / 60) });
  }
  if (r.category === "low_quality") return t("reason.low_quality");
  if (r.category === "invalid") return t("reason.invalid", { fault: d.fault || "?" });
  if (Array.isArray(d.rules)) return t("reason.combined", { category: cat });
  if (r.matched) return t("reason.word", { category: cat, value: r.matched });
  return t("reason.other", { category: cat });
}

/** The technical detail of a reason: rule id or model@version, score, hash and distance, span. */
export function technical(r) {
  const parts = [r.detector, `${t("reason.tech.score")} ${Number(r.score).toFixed(2)}`];
  if (r.matched) parts.push(`“${r.matched}”`);
  if (r.distance !== undefined && r.distance !== null) parts.push(`${t("reason.tech.distance")} ${r.distance}`);
  if (r.entry_id) parts.push(`${t("reason.tech.entry")} ${r.entry_id}`);
  if (Array.isArray(r.span)) parts.push(`${t("reason.tech.span")} [${r.span[0]}, ${r.span[1]})`);
  const d = r.detail || {};
  for (const [k, v] of Object.entries(d)) {
    if (k === "boxes") parts.push(`${t("reason.tech.boxes")} ${Array.isArray(v) ? v.length : 0}`);
    else parts.push(`${k}=${typeof v === "object" ? JSON.stringify(v) : v}`);
  }
  return parts.join(" · ");
}

/** The boxes a reason carries, as [x0, y0, x1, y1] in [0, 1], whatever their stored shape
 * (a bare list, or the detector's {label, score, box}). */
export function boxesOf(r) {
  const raw = (r.detail && Array.isArray(r.detail.boxes)) ? r.detail.boxes : [];
  const out = [];
  for (const b of raw) {
    const xy = Array.isArray(b) ? b : (b && Array.isArray(b.box) ? b.box : null);
    if (!xy || xy.length !== 4) continue;
    const v = xy.map(Number);
    if (v.every((x) => Number.isFinite(x))) out.push({ xy: v, label: (b && b.label) || r.category, score: (b && b.score) ?? r.score });
  }
  return out;
}

// The reason categories (moderation/types.py CATEGORIES), for the queue's category filter.
export const CATEGORIES = ["contact_info", "profanity", "sexual", "spam_link", "spam", "banned_match", "allowed_match",
  "duplicate", "nudity", "suggestive", "no_face", "low_quality", "invalid"];
