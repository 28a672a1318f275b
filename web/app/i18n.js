// One string catalogue per language, chosen from the browser's language (English by default).
import de from "./strings/de.js";
import en from "./strings/en.js";

export const CATALOGUES = { en, de };
let lang = "en";

/** Pick the first of the browser's languages we have a catalogue for. */
export function chooseLanguage(languages = navigator.languages ?? [navigator.language]) {
  for (const tag of languages) {
    const base = String(tag).toLowerCase().split("-")[0];
    if (base in CATALOGUES) return (lang = base);
  }
  return (lang = "en");
}

export const language = () => lang;

/** The string `key` with each {name} filled from `vars`. */
export function t(key, vars = {}) {
  const text = CATALOGUES[lang][key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (all, name) => (name in vars ? String(vars[name]) : all));
}

/** A time as the browser's language writes it: today's clock time, else the date. */
export function formatTime(ms, now = Date.now()) {
  const d = new Date(ms);
  const sameDay = new Date(now).toDateString() === d.toDateString();
  const opts = sameDay ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short" };
  return new Intl.DateTimeFormat(lang, opts).format(d);
}
