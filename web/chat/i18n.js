// The chat page's string catalogues (web/shared/i18n.js picks one from the browser's language).
import { createI18n } from "../shared/i18n.js";
import de from "./strings/de.js";
import en from "./strings/en.js";

export const CATALOGUES = { en, de };
export const { chooseLanguage, language, t, formatTime } = createI18n(CATALOGUES);
