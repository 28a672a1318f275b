// The chat's message list and composer (textbox "Message", button "Send").
import { h } from "../app/dom.js";
import { formatTime, t } from "./i18n.js";

export function threadItems(chat) {
  if (!chat.messages.length && !chat.pending.length) return [h("li", { class: "empty" }, t("noMessages"))];
  const sent = chat.messages.map((m) => item(m.outgoing ? "outgoing" : "incoming", bodyOf(m), m.ts,
    m.outgoing ? (m.read ? t("read") : m.delivered ? t("delivered") : t("sent")) : null));
  return [...sent, ...chat.pending.map((p) => item("outgoing pending", p.text, p.ts, t("waiting")))];
}

function item(kind, text, ts, mark) {
  return h("li", { class: `message ${kind}` }, h("p", { class: "body" }, text),
    h("p", { class: "meta" }, h("time", { datetime: new Date(ts).toISOString() }, formatTime(ts)),
      mark ? h("span", { class: "mark" }, mark) : null));
}

function bodyOf(m) {
  const c = m.content;
  if (m.type === "text") return c.body;
  if (m.type === "media") return c.caption || c.name || "📎";
  if (m.type === "product") return c.name ?? c.sku;
  if (m.type === "order") return `#${c.order_id}`;
  if (m.type === "order_status") return `#${c.order_id}: ${c.status}`;
  return "";
}

/** The composer: Enter sends, Shift+Enter starts a new line. */
export function composer(onSend) {
  const box = h("textarea", { id: "message", rows: 2, "aria-label": t("message"), placeholder: t("message") });
  const submit = async (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text) return;
    box.value = "";
    await onSend(text);
    box.focus();
  };
  box.addEventListener("keydown", (e) => { if (e.key === "Enter" && !e.shiftKey) submit(e); });
  return h("form", { class: "composer", onsubmit: submit }, box, h("button", { type: "submit" }, t("send")));
}
