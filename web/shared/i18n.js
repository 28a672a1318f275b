// String catalogues chosen from the browser's language (English by default), shared by
// the team inbox (web/app) and the chat page (web/chat): each builds its own from its own
// catalogues with `createI18n`.

/** {chooseLanguage, language, t, formatTime} over `catalogues` ({en: {...}, de: {...}}). */
export function createI18n(catalogues) {
  let lang = "en";

  /** Pick the first of the browser's languages we have a catalogue for. */
  function chooseLanguage(languages = navigator.languages ?? [navigator.language]) {
    for (const tag of languages) {
      const base = String(tag).toLowerCase().split("-")[0];
      if (base in catalogues) return (lang = base);
    }
    return (lang = "en");
  }

  /** The string `key` with each {name} filled from `vars`. */
  function t(key, vars = {}) {
    const text = catalogues[lang][key] ?? catalogues.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (all, name) => (name in vars ? String(vars[name]) : all));
  }

  /** A time as the browser's language writes it: today's clock time, else the date. */
  function formatTime(ms, now = Date.now()) {
    const d = new Date(ms);
    const sameDay = new Date(now).toDateString() === d.toDateString();
    const opts = sameDay ? { hour: "2-digit", minute: "2-digit" } : { day: "numeric", month: "short" };
    return new Intl.DateTimeFormat(lang, opts).format(d);
  }

  return { chooseLanguage, language: () => lang, t, formatTime };
}
