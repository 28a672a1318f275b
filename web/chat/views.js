// The chat's message list (texts, pictures and files, product cards, orders and their
// status) and the composer (textbox "Message", button "Send", a file picker).
import { formatAmount } from "../app/shop.js";
import { h } from "../app/dom.js";
import { productCard } from "./catalog.js";
import { PREVIEWED, pictureInto, saveBlob } from "./images.js";
import { formatTime, t } from "./i18n.js";

/** The list items of the thread; `actions` has `add(sku)` and `problem(err)`. */
export function threadItems(chat, shop, actions) {
  if (!chat.messages.length && !chat.pending.length) return [h("li", { class: "empty" }, t("noMessages"))];
  const sent = chat.messages.map((m) => item(m.outgoing ? "outgoing" : "incoming", bodyOf(m, chat, shop, actions), m.ts,
    m.outgoing ? (m.read ? t("read") : m.delivered ? t("delivered") : t("sent")) : m.content.automated ? t("automatic") : null));
  return [...sent, ...chat.pending.map((p) => item("outgoing pending", h("p", { class: "body" }, p.text), p.ts, t("waiting")))];
}

function item(kind, body, ts, mark) {
  return h("li", { class: `message ${kind}` }, body,
    h("p", { class: "meta" }, h("time", { datetime: new Date(ts).toISOString() }, formatTime(ts)),
      mark ? h("span", { class: "mark" }, mark) : null));
}

function bodyOf(m, chat, shop, actions) {
  const c = m.content;
  if (m.type === "text") return h("p", { class: "body" }, c.body);
  if (m.type === "media") return mediaBody(m, chat, actions);
  if (m.type === "product") {
    const p = shop.product(c.sku);
    return p ? productCard(shop, p, actions.add, { headingLevel: "h4" }) : h("p", { class: "body" }, t("unknownProduct", { sku: c.sku }));
  }
  if (m.type === "order") return orderCard(c, shop);
  if (m.type === "order_status") {
    return h("p", { class: "body status-update" }, t("orderStatus", { id: c.order_id, status: statusName(c.status) }));
  }
  return h("p", { class: "body" }, "");
}

const statusName = (status) => {
  const key = `status_${status}`;
  const name = t(key);
  return name === key ? status : name;
};

function orderCard(c, shop) {
  const known = c.items.map((i) => [i, shop.product(i.sku)]);
  const total = Number.isSafeInteger(c.total_minor) && c.currency ? formatAmount(c.total_minor, c.currency) : null;
  return h("section", { class: "order-card", "aria-label": t("orderCard", { id: c.order_id }) },
    h("strong", {}, t("orderCard", { id: c.order_id })),
    h("ul", {}, known.map(([i, p]) => h("li", {}, `${i.quantity} × ${p?.name ?? i.sku}`))),
    total ? h("p", {}, t("total", { total })) : null);
}

function mediaBody(m, chat, actions) {
  const c = m.content;
  const name = c.name || t("file");
  const download = async () => {
    try {
      saveBlob(await chat.client.downloadMedia(m), name);
    } catch (err) {
      actions.problem(err);
    }
  };
  return h("div", { class: "body media" },
    PREVIEWED.test(c.mime ?? "") ? pictureInto(h("img", { class: "preview", alt: name }), actions.pictures.media(m)) : null,
    c.caption ? h("p", {}, c.caption) : null,
    h("button", { type: "button", class: "download", onclick: download }, t("download", { name })));
}

/** The composer: Enter sends, Shift+Enter starts a new line; a file picker beside it. */
export function composer(onSend, onFile) {
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
  const file = h("input", { type: "file", class: "visually-hidden", "aria-label": t("attach"), onchange: async () => {
    const picked = file.files[0];
    file.value = "";
    if (picked) await onFile(picked);
  } });
  return h("form", { class: "composer", onsubmit: submit },
    h("label", { class: "attach", title: t("attach") }, clipIcon(), file),
    box, h("button", { type: "submit" }, t("send")));
}

/** A paper clip drawn as SVG (no icon font, no emoji the phone may lack). */
function clipIcon() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  for (const [k, val] of Object.entries({ viewBox: "0 0 24 24", width: "24", height: "24", "aria-hidden": "true", class: "clip" })) svg.setAttribute(k, val);
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", "M16.5 6.5v10a4.5 4.5 0 0 1-9 0V5a3 3 0 0 1 6 0v10.5a1.5 1.5 0 0 1-3 0V6.5");
  svg.append(path);
  return svg;
}
