// The UI's words: one catalogue per language (locales/en.json, locales/fr.json), chosen
// from the browser (the server writes the Accept-Language choice into <html lang>), and
// overridden by the switch, remembered in localStorage. Every string a moderator reads goes
// through t(); dates and numbers through the Intl formatters of the chosen locale.
export const LOCALES = ["en", "fr"];
const STORE_KEY = "review-locale";

function chosen() {
  const saved = localStorage.getItem(STORE_KEY);
  if (LOCALES.includes(saved)) return saved;
  const page = (document.documentElement.lang || "").slice(0, 2);
  if (LOCALES.includes(page)) return page;
  for (const l of navigator.languages || []) if (LOCALES.includes(l.slice(0, 2))) return l.slice(0, 2);
  return "en";
}

async function load(lang) {
  const resp = await fetch(`/review/static/locales/${lang}.json`, { credentials: "same-origin" });
  return resp.ok ? resp.json() : {};
}

export const locale = chosen();
// English is the fallback for a key a catalogue lacks (the catalogue test keeps them equal).
const [fallback, words] = await Promise.all([load("en"), locale === "en" ? null : load(locale)]);
const catalogue = words || fallback;
document.documentElement.lang = locale;
const plurals = new Intl.PluralRules(locale);

/** The text of `key` with {name} placeholders filled from vars. An entry may be an object
 * of plural forms ({"one": ..., "other": ...}) chosen by vars.count. */
export function t(key, vars = {}) {
  let entry = catalogue[key] ?? fallback[key];
  if (entry === undefined) return key;
  if (typeof entry === "object") entry = entry[plurals.select(vars.count ?? 0)] ?? entry.other;
  return entry.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? fmtValue(vars[name]) : m));
}

function fmtValue(v) {
  return typeof v === "number" ? fmtNumber(v) : String(v);
}

const numbers = new Intl.NumberFormat(locale);
export const fmtNumber = (n) => numbers.format(n);
export const fmtPercent = (x, digits = 1) =>
  new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: digits }).format(x);
const dates = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "short" });
export const fmtDate = (iso) => (iso ? dates.format(new Date(iso)) : "");
const days = new Intl.DateTimeFormat(locale, { day: "numeric", month: "short" });
export const fmtDay = (iso) => (iso ? days.format(new Date(iso)) : "");

/** Fill the static words of a page: data-i18n="key" sets the text, data-i18n-attr=
 * "placeholder:key aria-label:key" sets attributes. */
export function translatePage(root = document) {
  for (const node of root.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
  for (const node of root.querySelectorAll("[data-i18n-attr]")) {
    for (const pair of node.dataset.i18nAttr.split(/\s+/)) {
      const [attr, key] = pair.split(":");
      if (attr && key) node.setAttribute(attr, t(key));
    }
  }
  if (root === document && document.body.dataset.title) document.title = t(document.body.dataset.title);
}

/** The language switch: a select that saves the choice and reloads the page in it. */
export function localeSwitch() {
  const select = document.createElement("select");
  select.id = "locale";
  select.setAttribute("aria-label", t("ui.language"));
  for (const l of LOCALES) {
    const option = new Option(t(`ui.language.${l}`), l, false, l === locale);
    select.append(option);
  }
  select.addEventListener("change", () => {
    localStorage.setItem(STORE_KEY, select.value);
    location.reload();
  });
  return select;
}
