// The business's signed profile at the top of the chat: name, description, opening hours,
// open now, and what the browser could check of it (docs/web.md, "Business documents").
import { h } from "../app/dom.js";
import { t } from "./i18n.js";

const WEEKDAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/** The checked profile, or {error} when it does not check (the page says so plainly). */
export async function loadProfile(client, business) {
  try {
    return await client.businessProfile(business);
  } catch (err) {
    return { error: err.message ?? String(err) };
  }
}

export function profileView(profile) {
  if (profile.error) {
    return h("header", { class: "profile" }, h("h1", {}, t("title")),
      h("p", { class: "unverified", role: "alert" }, t("profileFailed", { why: profile.error })));
  }
  const doc = profile.document;
  return h("header", { class: "profile" },
    doc.logo ? h("img", { class: "logo", src: doc.logo, alt: "" }) : null,
    h("h1", {}, doc.name || doc.address),
    h("p", { class: profile.verified ? "verified" : "unverified", "data-verified": String(profile.verified) },
      profile.verified ? t("verified") : t("notVerified")),
    doc.description ? h("p", { class: "description" }, doc.description) : null,
    h("p", { class: doc.open_now ? "open now" : "closed now" }, doc.open_now ? t("openNow") : t("closedNow")),
    hoursView(doc.hours ?? {}));
}

function hoursView(hours) {
  if (!Object.keys(hours).length) return null;
  return h("details", { class: "hours" }, h("summary", {}, t("hours")),
    h("dl", {}, WEEKDAYS.map((day) => [
      h("dt", {}, t(day)),
      h("dd", {}, (hours[day] ?? []).map((i) => `${i.open}–${i.close}`).join(", ") || t("closed")),
    ])));
}
