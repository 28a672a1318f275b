// The business's signed profile at the top of the chat: logo, name, whether it is
// verified (kontor.js: the signing key pinned in the business's DNS, looked up by this
// browser's node; the SDK's reason in the title), description, "Open now" or when
// it opens, "usually answers within ..." (the node's measured median first response,
// typical_response_ms, never a claim the business types in) and the opening hours.
import { h } from "../app/dom.js";
import { pictureInto } from "./images.js";
import { language, t } from "./i18n.js";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const MINUTE = 60_000;
const ANSWER_BUCKETS = [[5 * MINUTE, "answersMinutes"], [60 * MINUTE, "answersHour"],
  [4 * 60 * MINUTE, "answersHours"], [24 * 60 * MINUTE, "answersDay"]];

/** The checked profile, or {error} when it does not check (the page says so plainly). */
export async function loadProfile(client, business) {
  try {
    return await client.businessProfile(business);
  } catch (err) {
    return { error: err.message ?? String(err) };
  }
}

export function profileView(profile, pictures) {
  if (profile.error) {
    return h("header", { class: "profile" }, h("h1", {}, t("title")),
      h("p", { class: "unverified", role: "alert" }, t("profileFailed", { why: profile.error })));
  }
  const doc = profile.document;
  return h("header", { class: "profile" },
    doc.logo ? pictureInto(h("img", { class: "logo", alt: t("logo", { name: doc.name }), width: 48, height: 48 }), pictures.publicImage(doc.logo)) : null,
    h("h1", {}, doc.name || doc.address),
    h("p", { class: profile.verified ? "verified" : "unverified", "data-verified": String(profile.verified), title: profile.why ?? "" },
      profile.verified ? [h("span", { "aria-hidden": "true" }, "✓ "), t("verified")] : t("notVerified")),
    doc.description ? h("p", { class: "description" }, doc.description) : null,
    h("p", { class: "availability" }, openLine(doc), answersLine(doc.typical_response_ms)),
    hoursView(doc.hours ?? {}, doc.timezone));
}

/** "Open now", or "Closed now · opens Mon 09:00" (the customer's own clock). */
function openLine(doc) {
  const next = Number.isSafeInteger(doc.next_change_ms) && doc.next_change_ms > Date.now() ? doc.next_change_ms : null;
  if (doc.open_now) return h("span", { class: "open now" }, t("openNow"));
  return h("span", { class: "closed now" }, t("closedNow"), next ? ` · ${t("opensAt", { when: when(next) })}` : "");
}

function when(ms) {
  const sameDay = new Date(ms).toDateString() === new Date().toDateString();
  const opts = sameDay ? { hour: "2-digit", minute: "2-digit" } : { weekday: "short", hour: "2-digit", minute: "2-digit" };
  return new Intl.DateTimeFormat(language(), opts).format(new Date(ms));
}

/** "Usually answers within an hour", from the node's measurement; nothing without one. */
export function answersLine(ms) {
  if (!Number.isSafeInteger(ms) || ms < 0) return null;
  const key = ANSWER_BUCKETS.find(([limit]) => ms <= limit)?.[1] ?? "answersDays";
  return h("span", { class: "answers", title: t("answersWhy") }, ` · ${t(key)}`);
}

function hoursView(hours, zone) {
  if (!Object.keys(hours).length) return null;
  return h("details", { class: "hours" }, h("summary", {}, t("hours"), zone ? ` (${zone})` : ""),
    h("dl", {}, WEEKDAYS.map((day) => [
      h("dt", {}, t(day)),
      h("dd", {}, (hours[day] ?? []).map((i) => `${i.open}–${i.close}`).join(", ") || t("closed")),
    ])));
}
