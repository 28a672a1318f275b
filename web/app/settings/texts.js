// What the team writes with: quick replies (with placeholders), labels, and the greeting
// and away messages the node's automation device sends (docs/business.md "Labels",
// "Quick replies", "Automation").
import { fill, h } from "../dom.js";
import { t } from "../i18n.js";
import { input, labelled, part, statusLine } from "./forms.js";

const PLACEHOLDERS = "{business_name} {customer_name} {agent_name} {order_id} {order_total} {date}";

/** A list of items, each with its buttons, and a form that adds one; reloads after each change. */
function managed({ id, title, listName, load, row, addForm }) {
  const list = h("ul", { class: "managed", "aria-label": listName });
  const status = statusLine();
  const refresh = async () => {
    const items = await load();
    fill(list, items.length ? items.map((item) => row(item, (fn, done) => status.run(async () => { await fn(); await refresh(); }, done)))
      : h("li", { class: "empty" }, t("none")));
  };
  const form = addForm((fn, done) => status.run(async () => { await fn(); await refresh(); }, done));
  return { refresh, el: part(id, title, list, form, status) };
}

export async function quickRepliesSection(ctx) {
  const section = managed({
    id: "set-quick-replies", title: t("quickReplies"), listName: t("quickReplies"),
    load: async () => {
      const { quick_replies: replies } = await ctx.api("GET", "/quick-replies");
      ctx.shop.quickReplies = replies;
      return replies;
    },
    row: (r, act) => {
      const text = h("textarea", { rows: 2, maxlength: 4096, "aria-label": t("replyTextOf", { shortcut: r.shortcut }) });
      text.value = r.text;
      const path = `/quick-replies/${encodeURIComponent(r.shortcut.slice(1))}`;
      return h("li", { class: "managed-row" }, h("strong", {}, r.shortcut), text,
        h("button", { type: "button", "aria-label": t("saveNamed", { name: r.shortcut }), onclick: () => act(() => ctx.api("PUT", path, { text: text.value }), t("saved")) }, t("save")),
        h("button", { type: "button", "aria-label": t("removeNamed", { name: r.shortcut }), onclick: () => act(() => ctx.api("DELETE", path), t("removed")) }, t("remove")));
    },
    addForm: (act) => {
      const shortcut = input({ placeholder: "/thanks", maxlength: 33, required: true });
      const text = h("textarea", { rows: 2, maxlength: 4096, required: true });
      const form = h("form", { class: "add-form", "aria-label": t("newQuickReply") },
        labelled(t("shortcut"), shortcut), labelled(t("replyText"), text, t("placeholdersHint", { list: PLACEHOLDERS })),
        h("button", { type: "submit" }, t("addQuickReply")));
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        const typed = shortcut.value.trim();
        act(async () => {
          await ctx.api("POST", "/quick-replies", { shortcut: typed.startsWith("/") ? typed : `/${typed}`, text: text.value });
          form.reset();
        }, t("saved"));
      });
      return form;
    },
  });
  await section.refresh();
  return section.el;
}

export async function labelsSection(ctx) {
  const section = managed({
    id: "set-labels", title: t("labels"), listName: t("labels"),
    load: async () => {
      await ctx.inbox.loadLabels();
      ctx.inbox.changed();
      return ctx.inbox.labels;
    },
    row: (l, act) => {
      const name = input({ value: l.name, maxlength: 50, "aria-label": t("labelNameOf", { name: l.name }) });
      const color = input({ type: "color", value: l.color, "aria-label": t("labelColorOf", { name: l.name }) });
      const path = `/labels/${l.label_id}`;
      return h("li", { class: "managed-row" }, name, color, h("span", { class: "hint" }, t("usedIn", { n: l.conversations ?? 0 })),
        h("button", { type: "button", "aria-label": t("saveNamed", { name: l.name }), onclick: () => act(() => ctx.api("PATCH", path, { name: name.value.trim(), color: color.value }), t("saved")) }, t("save")),
        h("button", { type: "button", "aria-label": t("removeNamed", { name: l.name }), onclick: () => act(() => ctx.api("DELETE", path), t("removed")) }, t("remove")));
    },
    addForm: (act) => {
      const name = input({ maxlength: 50, required: true });
      const color = input({ type: "color", value: "#3b82f6" });
      const form = h("form", { class: "add-form row", "aria-label": t("newLabel") },
        labelled(t("labelName"), name), labelled(t("labelColor"), color), h("button", { type: "submit" }, t("addLabel")));
      form.addEventListener("submit", (e) => {
        e.preventDefault();
        act(async () => { await ctx.api("POST", "/labels", { name: name.value.trim(), color: color.value }); form.reset(); }, t("saved"));
      });
      return form;
    },
  });
  await section.refresh();
  return section.el;
}

function messageFields(kind, settings) {
  const enabled = h("input", { type: "checkbox", checked: settings.enabled });
  const text = h("textarea", { rows: 3, maxlength: 4096 });
  text.value = settings.text ?? "";
  return { enabled, text, el: [h("label", { class: "check" }, enabled, t(`${kind}On`)), labelled(t(`${kind}Text`), text, t("placeholdersHint", { list: PLACEHOLDERS }))] };
}

export async function automationSection(ctx) {
  const settings = await ctx.api("GET", "/automation");
  const greeting = messageFields("greeting", settings.greeting);
  const away = messageFields("away", settings.away);
  const silence = input({ type: "number", min: 1, max: 365, value: settings.greeting.after_days_silence });
  const outside = h("input", { type: "checkbox", checked: settings.away.outside_hours });
  const manual = h("input", { type: "checkbox", checked: settings.away.manual });
  const status = statusLine();
  const form = h("form", { class: "automation-form", "aria-label": t("automaticMessages") },
    h("fieldset", {}, h("legend", {}, t("greeting")), greeting.el, labelled(t("greetingAfterDays"), silence)),
    h("fieldset", {}, h("legend", {}, t("away")), away.el,
      h("label", { class: "check" }, outside, t("awayOutsideHours")), h("label", { class: "check" }, manual, t("awayManual"))),
    h("button", { type: "submit" }, t("saveMessages")), status);
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    status.run(() => ctx.api("PUT", "/automation", {
      greeting: { enabled: greeting.enabled.checked, text: greeting.text.value, after_days_silence: Number(silence.value) },
      away: { enabled: away.enabled.checked, text: away.text.value, outside_hours: outside.checked, manual: manual.checked },
    }), t("messagesSaved"));
  });
  return part("set-automation", t("automaticMessages"), form);
}
