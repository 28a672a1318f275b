// The business profile (docs/business.md "Profile"): name, description, logo, postal
// address, website, e-mail, phone, time zone, opening hours per weekday (set for a range
// of days at once) and dates that differ (holidays). Saved with PUT /business/profile.
import { fill, h } from "../dom.js";
import { t } from "../i18n.js";
import { choice, input, labelled, part, statusLine, uploadImage } from "./forms.js";

export const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const TEXT_FIELDS = [["name", "profileName", 100], ["category", "profileCategory", 100], ["website", "profileWebsite", 300],
  ["email", "profileEmail", 254], ["phone", "profilePhone", 32]];
const INTERVAL = /^([0-2]\d:[0-5]\d)\s*[-–]\s*([0-2]\d:[0-5]\d)$/;

/** `"09:00-12:00, 13:00-17:30"` -> intervals; `""` -> [] (closed); throws on anything else. */
export function parseIntervals(text, what) {
  const parts = String(text).split(/[,;]/).map((p) => p.trim()).filter(Boolean);
  return parts.map((p) => {
    const m = INTERVAL.exec(p);
    if (!m) throw new Error(t("badHours", { what, text: p }));
    return { open: m[1], close: m[2] };
  });
}

export function formatIntervals(intervals) {
  return (intervals ?? []).map((i) => `${i.open}-${i.close}`).join(", ");
}

/** The days from `first` to `last` (wrapping over the week: fri..mon). */
export function dayRange(first, last) {
  const a = DAYS.indexOf(first);
  const b = DAYS.indexOf(last);
  const out = [];
  for (let i = a; out.length < 7; i = (i + 1) % 7) {
    out.push(DAYS[i]);
    if (i === b) break;
  }
  return out;
}

function zones() {
  try {
    return Intl.supportedValuesOf("timeZone");
  } catch {
    return [];
  }
}

function hoursEditor(hours) {
  const boxes = Object.fromEntries(DAYS.map((d) => [d, input({ value: formatIntervals(hours?.[d]), placeholder: t("closed"), inputmode: "text" })]));
  const dayNames = DAYS.map((d) => [d, t(`day_${d}`)]);
  const first = choice(dayNames, "mon", { "aria-label": t("rangeFrom") });
  const last = choice(dayNames, "fri", { "aria-label": t("rangeTo") });
  const rangeHours = input({ "aria-label": t("rangeHours"), placeholder: "09:00-17:30" });
  const apply = h("button", { type: "button", onclick: () => {
    for (const d of dayRange(first.value, last.value)) boxes[d].value = rangeHours.value.trim();
  } }, t("applyToDays"));
  return {
    boxes,
    el: h("fieldset", { class: "hours" }, h("legend", {}, t("openingHours")),
      h("p", { class: "hint" }, t("hoursHint")),
      h("div", { class: "row range" }, first, h("span", {}, "–"), last, rangeHours, apply),
      DAYS.map((d) => labelled(t(`hoursOn`, { day: t(`day_${d}`) }), boxes[d]))),
    value: () => Object.fromEntries(DAYS.map((d) => [d, parseIntervals(boxes[d].value, t(`day_${d}`))]).filter(([, v]) => v.length)),
  };
}

function exceptionsEditor(exceptions) {
  const list = h("ul", { class: "exceptions", "aria-label": t("holidays") });
  const rows = [];
  const add = (date = "", intervals = []) => {
    const dateBox = input({ type: "date", value: date, "aria-label": t("holidayDate") });
    const hoursBox = input({ value: formatIntervals(intervals), placeholder: t("closed"), "aria-label": t("holidayHours") });
    const row = { dateBox, hoursBox };
    const li = h("li", { class: "row" }, dateBox, hoursBox, h("button", { type: "button", onclick: () => {
      rows.splice(rows.indexOf(row), 1);
      li.remove();
    } }, t("removeDate")));
    rows.push(row);
    list.append(li);
    return dateBox;
  };
  for (const [date, intervals] of Object.entries(exceptions ?? {}).sort()) add(date, intervals);
  return {
    el: h("fieldset", { class: "holidays" }, h("legend", {}, t("holidays")), h("p", { class: "hint" }, t("holidaysHint")), list,
      h("button", { type: "button", onclick: () => add().focus() }, t("addDate"))),
    value: () => Object.fromEntries(rows.filter((r) => r.dateBox.value).map((r) => [r.dateBox.value, parseIntervals(r.hoursBox.value, r.dateBox.value)])),
  };
}

function logoEditor(client, profile) {
  let logo = profile.logo ?? null;
  const preview = h("span", { class: "logo-preview" });
  const show = async () => {
    fill(preview, logo ? t("logoSet") : t("noLogo"));
    if (!logo) return;
    const resp = await client.transport.downloadMedia(logo);
    fill(preview, h("img", { src: URL.createObjectURL(await resp.blob()), alt: t("logo"), class: "logo" }));
  };
  const file = h("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp" });
  const status = statusLine();
  file.addEventListener("change", () => status.run(async () => {
    if (!file.files.length) return;
    logo = await uploadImage(client, file.files[0]);
    await show();
  }, t("logoUploaded")));
  const remove = h("button", { type: "button", onclick: () => { logo = null; show(); } }, t("removeLogo"));
  show().catch(() => fill(preview, t("logoSet")));
  return { el: h("div", { class: "logo-field" }, preview, labelled(t("logoFile"), file), remove, status), value: () => logo };
}

/** The profile section; `api(method, path, body)` calls the business API. */
export async function profileSection(ctx) {
  const profile = await ctx.api("GET", "/profile");
  const boxes = Object.fromEntries(TEXT_FIELDS.map(([key, , max]) => [key, input({ value: profile[key] ?? "", maxlength: max })]));
  boxes.email.type = "email";
  boxes.phone.type = "tel";
  boxes.website.type = "url";
  const description = h("textarea", { rows: 3, maxlength: 1000 });
  description.value = profile.description ?? "";
  const postal = h("textarea", { rows: 3, maxlength: 300 });
  postal.value = profile.postal_address ?? "";
  const zone = input({ value: profile.timezone ?? "", list: "time-zones", autocomplete: "off" });
  const zoneList = h("datalist", { id: "time-zones" }, zones().map((z) => h("option", { value: z })));
  const logo = logoEditor(ctx.client, profile);
  const hours = hoursEditor(profile.hours);
  const exceptions = exceptionsEditor(profile.exceptions);
  const status = statusLine();
  const save = h("button", { type: "submit" }, t("saveProfile"));
  const form = h("form", { class: "profile-form", "aria-label": t("businessProfile") },
    labelled(t("profileName"), boxes.name), labelled(t("profileDescription"), description),
    logo.el, labelled(t("profileCategory"), boxes.category), labelled(t("postalAddress"), postal),
    labelled(t("profileWebsite"), boxes.website), labelled(t("profileEmail"), boxes.email),
    labelled(t("profilePhone"), boxes.phone), labelled(t("timeZone"), zone, t("timeZoneHint")), zoneList,
    hours.el, exceptions.el, h("div", { class: "row" }, save), status);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    status.run(async () => {
      const body = Object.fromEntries(TEXT_FIELDS.map(([key]) => [key, boxes[key].value.trim() || null]));
      Object.assign(body, { description: description.value.trim() || null, postal_address: postal.value.trim() || null,
        timezone: zone.value.trim() || null, logo: logo.value(), hours: hours.value(), exceptions: exceptions.value() });
      const saved = await ctx.api("PUT", "/profile", body);
      ctx.shop.profile = saved;
      return saved;
    }, t("profileSaved"));
  });
  return part("set-profile", t("businessProfile"), form);
}
