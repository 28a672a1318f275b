// Keyboard shortcuts: j/k next and previous conversation, r reply, e resolve, / quick
// reply, ? the list of shortcuts. Not while typing (Escape leaves the composer).
import { h } from "./dom.js";
import { t } from "./i18n.js";

export const SHORTCUTS = [["j", "keyNext"], ["k", "keyPrevious"], ["r", "keyReply"], ["e", "keyResolve"], ["/", "keyQuickReply"], ["?", "keyHelp"]];

function typing(target) {
  return target instanceof HTMLElement && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName));
}

/** The dialog listing the shortcuts. */
export function helpDialog() {
  const dialog = h("dialog", { class: "shortcuts", "aria-labelledby": "shortcuts-title" },
    h("h2", { id: "shortcuts-title" }, t("shortcuts")),
    h("dl", {}, SHORTCUTS.map(([key, what]) => [h("dt", {}, h("kbd", {}, key)), h("dd", {}, t(what))])),
    h("button", { type: "button", onclick: () => { dialog.close(); dialog.remove(); } }, t("close")));
  return dialog;
}

/** Listen for the shortcuts; `inbox` gives the order, `actions` what to do. */
export function installShortcuts(inbox, actions) {
  document.addEventListener("keydown", (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    if (e.key === "Escape" && typing(e.target)) return e.target.blur();
    if (typing(e.target) || document.querySelector("dialog[open]")) return;
    const list = inbox.visible().map((c) => c.customer);
    const at = list.indexOf(inbox.current);
    const go = (step) => {
      const next = list[at === -1 ? 0 : Math.min(Math.max(at + step, 0), list.length - 1)];
      if (next) actions.open(next, { focus: false });
    };
    const handlers = {
      j: () => go(1), k: () => go(-1),
      r: () => inbox.current && actions.focusComposer(""),
      e: () => inbox.current && actions.patch({ status: "resolved" }),
      "/": () => inbox.current && actions.focusComposer("/"),
      "?": () => actions.help(),
    };
    if (!(e.key in handlers)) return;
    e.preventDefault();
    handlers[e.key]();
  });
}
