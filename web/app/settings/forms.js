// Small building blocks of the settings page: labelled fields, a section with its
// heading, and a status line that says what a save did (or what went wrong and why).
import { h } from "../dom.js";
import { t } from "../i18n.js";

let counter = 0;
/** A fresh element id with a readable prefix. */
export function uid(prefix) {
  counter += 1;
  return `${prefix}-${counter}`;
}

/** `<label for>` + the control, as one row. */
export function labelled(text, control, hint = null) {
  control.id ||= uid("field");
  const hintEl = hint ? h("span", { class: "hint", id: `${control.id}-hint` }, hint) : null;
  if (hintEl) control.setAttribute("aria-describedby", hintEl.id);
  return h("div", { class: "field" }, h("label", { for: control.id }, text), control, hintEl);
}

export function input(attrs = {}) {
  return h("input", { type: "text", ...attrs });
}

/** A settings section: `<section aria-labelledby>` with an h2. */
export function part(id, title, ...children) {
  return h("section", { class: "settings-part", id, "aria-labelledby": `${id}-title` },
    h("h2", { id: `${id}-title` }, title), ...children);
}

/** A status line; `run(fn, done)` shows `done` after `fn` succeeds, else the error. */
export function statusLine() {
  const el = h("p", { class: "save-status", "aria-live": "polite" });
  el.run = async (fn, done) => {
    el.textContent = t("saving");
    el.classList.remove("problem");
    try {
      const result = await fn();
      el.textContent = done;
      return result;
    } catch (err) {
      el.textContent = t("error", { why: err.message ?? String(err) });
      el.classList.add("problem");
      return undefined;
    }
  };
  return el;
}

/** A select from [[value, text]] with the current value chosen. */
export function choice(options, current, attrs = {}) {
  return h("select", attrs, options.map(([value, text]) =>
    h("option", { value, selected: String(value) === String(current ?? "") }, text)));
}

/** The bytes of an image file picked in `fileInput` uploaded as public media; its id. */
export async function uploadImage(client, file) {
  if (!/^image\/(png|jpeg|gif|webp)$/.test(file.type)) throw new Error(t("imageOnly"));
  const answer = await client.transport.uploadMedia(new Uint8Array(await file.arrayBuffer()));
  return answer.media_id;
}
