// What the inbox looks like: the conversation list with its filters, the open
// conversation (messages, notes, composer) and its side panel (status, assignee, labels).
import { fill, h, select } from "./dom.js";
import { formatTime, t } from "./i18n.js";
import { displayName, searchText } from "./model.js";
import { formatAmount, NEXT_STATUS } from "./shop.js";

const STATUSES = ["open", "pending", "resolved"];

/** One line of a message for previews: its text, or what kind of thing it is (a product
 * by its name and price, an order by its items and total, from `shop`'s catalog). */
export function preview(m, shop) {
  const c = m.content;
  switch (m.type) {
    case "text": return c.body;
    case "media": return t("attachment", { name: c.name || c.mime || "" });
    case "product": return t("product", { name: productLine(shop.products.get(c.sku), c.sku) });
    case "order": return orderLine(shop, c);
    case "order_status": return t("orderStatus", { id: c.order_id, status: c.status });
    default: return searchText(m);
  }
}

function productLine(p, sku) {
  return p ? `${p.name} · ${formatAmount(p.price_minor, p.currency)}` : sku;
}

function itemName(shop, item) {
  return item.name ?? shop.products.get(item.sku)?.name ?? item.sku;
}

/** "Order o…: 2 × Sencha · 9.00 EUR": the node's recorded total where this page has it,
 * else the one the customer's message gave. */
function orderLine(shop, c) {
  const recorded = shop.order(c.order_id);
  const items = (c.items ?? []).map((i) => `${i.quantity} × ${itemName(shop, i)}`).join(", ");
  const minor = recorded?.total_minor ?? c.total_minor;
  const currency = recorded?.currency ?? c.currency;
  const line = t("orderSummary", { id: c.order_id, items });
  return Number.isInteger(minor) && currency ? `${line} · ${formatAmount(minor, currency)}` : line;
}

export function filtersView(inbox, rerender) {
  const f = inbox.filters;
  const set = (key) => (value) => { f[key] = value; rerender(); };
  return h("search", { class: "filters", "aria-label": t("filters") },
    h("input", { type: "search", "aria-label": t("search"), placeholder: t("search"), value: f.search,
      oninput: (e) => set("search")(e.target.value) }),
    select(t("statusFilter"), [["", t("all")], ...STATUSES.map((s) => [s, t(s)])], f.status, set("status")),
    select(t("assignedFilter"), [["", t("anyone")], ["me", t("assignedToMe")], ["none", t("unassigned")]], f.assignee, set("assignee")),
    select(t("labelFilter"), [["", t("anyLabel")], ...inbox.labels.map((l) => [l.label_id, l.name])], f.label, set("label")),
    h("label", { class: "check" }, h("input", { type: "checkbox", checked: f.waiting, onchange: (e) => set("waiting")(e.target.checked) }), t("waitingFilter")));
}

export function listView(inbox, onopen) {
  const items = inbox.visible();
  const list = h("ul", { class: "conversations", "aria-label": t("conversations") },
    items.map((c) => conversationItem(inbox, c, onopen)));
  return items.length ? list : [list, h("p", { class: "empty" }, t("noConversations"))];
}

function conversationItem(inbox, c, onopen) {
  const last = inbox.lastMessage(c.customer);
  const current = c.customer === inbox.current;
  return h("li", { class: current ? "current" : "" },
    h("button", { class: "conversation", "aria-current": current ? "true" : null, "data-customer": c.customer, onclick: () => onopen(c.customer) },
      h("span", { class: "who" }, h("strong", {}, displayName(c.customer)), " ", h("span", { class: "address" }, c.customer)),
      h("time", { datetime: new Date(c.last_activity_ms).toISOString() }, formatTime(c.last_activity_ms)),
      h("span", { class: "preview" }, last ? preview(last, inbox.shop) : ""),
      h("span", { class: "meta" },
        c.unread ? h("span", { class: "unread" }, t("unreadCount", { n: c.unread })) : null,
        h("span", { class: `status status-${c.status}` }, t(c.status)),
        c.assignee ? h("span", { class: "assignee" }, displayName(c.assignee)) : null,
        c.labels.map((l) => h("span", { class: "label" }, l.name)))));
}

/** The open conversation's heading (or a hint when none is open). */
export function headView(inbox, actions) {
  const c = inbox.conversations.get(inbox.current);
  if (!c) return h("p", { class: "empty" }, t("chooseConversation"));
  return [
    h("button", { class: "back", "aria-label": t("back"), onclick: actions.back }, "←"),
    h("h2", {}, displayName(c.customer), " ", h("span", { class: "address" }, c.customer)),
    c.waiting_since_ms ? h("span", { class: "waiting" }, t("waiting")) : null,
    viewingLine(inbox.viewers.of(c.customer)),
  ];
}

/** "Ben is also viewing this conversation" (a status: screen readers hear it once). */
function viewingLine(names) {
  if (!names.length) return null;
  const who = names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} ${t("and")} ${names.at(-1)}`;
  return h("p", { class: "viewing", role: "status" }, t(names.length === 1 ? "alsoViewingOne" : "alsoViewingMany", { who }));
}

export function sidePanel(inbox, actions) {
  const c = inbox.conversations.get(inbox.current);
  if (!c) return [];
  const assignees = [["", t("unassigned")], ...inbox.teamMembers().map((a) => [a, displayName(a)])];
  return [
    select(t("status"), STATUSES.map((s) => [s, t(s)]), c.status, (status) => actions.patch({ status })),
    select(t("assignee"), assignees, c.assignee ?? "", (a) => actions.patch({ assignee: a || null })),
    h("fieldset", { class: "labels" }, h("legend", {}, t("labels")),
      inbox.labels.map((l) => h("label", { class: "check" },
        h("input", { type: "checkbox", checked: c.labels.some((x) => x.label_id === l.label_id),
          onchange: (e) => actions.label(l.label_id, e.target.checked) }), l.name))),
  ];
}

export function thread(inbox, actions) {
  const c = inbox.conversations.get(inbox.current);
  if (!c) return [];
  const items = [
    ...(inbox.messages.get(c.customer) ?? []).map((m) => [m.ts, messageItem(inbox, m, actions)]),
    ...inbox.notes.map((n) => [n.created_ms, noteItem(n)]),
  ].sort((a, b) => a[0] - b[0]);
  return items.length ? items.map(([, el]) => el) : h("li", { class: "empty" }, t("noMessages"));
}

function messageItem(inbox, m, actions) {
  const who = inbox.author(m);
  const name = who.kind === "automation" ? t("automation") : who.kind === "me" ? `${who.name} (${t("you")})` : who.name;
  const mark = !m.outgoing ? null : m.read ? t("read") : m.delivered ? t("delivered") : t("sent");
  return h("li", { class: `message ${m.outgoing ? "out" : "in"} by-${who.kind}` },
    h("span", { class: "author" }, name),
    messageBody(inbox, m, actions),
    h("span", { class: "when" }, h("time", { datetime: new Date(m.ts).toISOString() }, formatTime(m.ts)),
      mark ? h("span", { class: `mark mark-${m.read ? "read" : m.delivered ? "delivered" : "sent"}` }, " · ", mark) : null));
}

function messageBody(inbox, m, actions) {
  const c = m.content;
  if (m.type === "product") return productCard(inbox.shop.products.get(c.sku), c.sku);
  if (m.type === "order") return orderCard(inbox, m, actions);
  if (m.type === "media") return mediaBody(inbox, m, actions);
  return h("p", { class: "body" }, preview(m, inbox.shop));
}

function productCard(p, sku) {
  if (!p) return h("p", { class: "body card" }, t("product", { name: sku }));
  return h("section", { class: "card product", "aria-label": t("product", { name: p.name }) },
    h("strong", {}, p.name), " ", h("span", { class: "price" }, formatAmount(p.price_minor, p.currency)),
    p.description ? h("p", {}, p.description) : null);
}

function orderCard(inbox, m, actions) {
  const c = m.content;
  const recorded = inbox.shop.order(c.order_id);
  const items = recorded?.items ?? c.items;
  const status = recorded?.status ?? "new";
  return h("section", { class: "card order", "aria-label": t("order", { id: c.order_id }) },
    h("strong", {}, t("order", { id: c.order_id })),
    h("ul", {}, items.map((i) => h("li", {}, `${i.quantity} × ${itemName(inbox.shop, i)}`,
      i.line_total_minor !== undefined && recorded ? ` · ${formatAmount(i.line_total_minor, recorded.currency)}` : ""))),
    recorded ? h("p", {}, t("total", { total: formatAmount(recorded.total_minor, recorded.currency) })) : null,
    h("p", { class: `order-status order-${status}` }, t("orderStatusIs", { status: t(`order_${status}`) })),
    recorded ? h("div", { class: "order-actions", role: "group", "aria-label": t("orderActions", { id: c.order_id }) },
      NEXT_STATUS[status].map((next) => h("button", { type: "button", onclick: () => actions.orderStatus(m.peer, c.order_id, next) },
        t(`to_${next}`)))) : null);
}

function mediaBody(inbox, m, actions) {
  const c = m.content;
  const url = inbox.mediaUrls.get(m.messageId);
  const isImage = /^image\/(png|jpeg|gif|webp)$/.test(c.mime ?? "");
  if (isImage && !url) actions.fetchMedia(m);
  return h("div", { class: "body media" },
    isImage && url ? h("img", { src: url, alt: c.name || t("image"), class: "preview-image" }) : null,
    c.caption ? h("p", {}, c.caption) : null,
    h("button", { type: "button", class: "download", onclick: () => actions.download(m) }, t("download", { name: c.name || t("file") })));
}

function noteItem(n) {
  return h("li", { class: "note" },
    h("span", { class: "author" }, t("noteMark", { who: displayName(n.author) })),
    h("p", { class: "body" }, n.text),
    h("span", { class: "when" }, h("time", { datetime: new Date(n.created_ms).toISOString() }, formatTime(n.created_ms))));
}

export function composer(actions) {
  const box = h("textarea", { "aria-label": t("message"), rows: 2, placeholder: t("message"), id: "composer",
    "aria-autocomplete": "list", "aria-controls": "quick-replies" });
  const note = h("input", { type: "checkbox" });
  const button = h("button", { type: "submit" }, t("send"));
  const picker = h("ul", { role: "listbox", id: "quick-replies", "aria-label": t("quickReplies"), class: "quick-replies", hidden: true });
  const file = h("input", { type: "file", class: "file", "aria-label": t("attachFile"), onchange: async () => {
    if (file.files.length) await actions.attach(file.files[0]);
    file.value = "";
  } });
  const form = h("form", { class: "composer", "aria-label": t("composer") },
    picker, box,
    h("div", { class: "tools" },
      h("label", { class: "check" }, note, t("internalNote")),
      h("button", { type: "button", onclick: actions.products }, t("sendProduct")),
      h("label", { class: "attach" }, file, t("attachFile")),
      button));
  let choices = [];
  let chosen = 0;
  const showChoices = () => {
    choices = /^\/\S*$/.test(box.value) ? actions.quickReplies(box.value) : [];
    chosen = Math.min(chosen, Math.max(choices.length - 1, 0));
    picker.hidden = !choices.length;
    fill(picker, choices.map((c, i) => h("li", { role: "option", id: `qr-${i}`, "aria-selected": i === chosen ? "true" : "false",
      onmousedown: (e) => { e.preventDefault(); pick(i); } }, h("strong", {}, c.shortcut), " ", c.text)));
    if (choices.length) box.setAttribute("aria-activedescendant", `qr-${chosen}`);
    else box.removeAttribute("aria-activedescendant");
  };
  const pick = (i) => {
    box.value = choices[i].text;
    choices = [];
    showChoices();
    box.focus();
  };
  box.addEventListener("input", () => { chosen = 0; showChoices(); });
  form.addEventListener("dragover", (e) => { e.preventDefault(); form.classList.add("dropping"); });
  form.addEventListener("dragleave", () => form.classList.remove("dropping"));
  form.addEventListener("drop", async (e) => {
    e.preventDefault();
    form.classList.remove("dropping");
    for (const dropped of [...(e.dataTransfer?.files ?? [])].slice(0, 10)) await actions.attach(dropped);
  });
  note.addEventListener("change", () => {
    form.classList.toggle("noting", note.checked);
    fill(button, note.checked ? t("addNote") : t("send"));
  });
  box.addEventListener("keydown", (e) => {
    if (choices.length && (e.key === "ArrowDown" || e.key === "ArrowUp")) {
      e.preventDefault();
      chosen = (chosen + (e.key === "ArrowDown" ? 1 : choices.length - 1)) % choices.length;
      showChoices();
    } else if (choices.length && (e.key === "Enter" || e.key === "Tab")) {
      e.preventDefault();
      pick(chosen);
    } else if (choices.length && e.key === "Escape") {
      choices = [];
      picker.hidden = true;
    } else if (e.key === "Enter" && !e.shiftKey) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const text = box.value.trim();
    if (!text) return;
    button.disabled = true;
    try {
      await (note.checked ? actions.note(text) : actions.send(text));
      box.value = "";
    } finally {
      button.disabled = false;
      box.focus();
    }
  });
  return form;
}

/** The catalog to pick a product card from. */
export function productPicker(products, onpick, onclose) {
  return h("dialog", { class: "products", "aria-label": t("catalog") },
    h("h2", {}, t("catalog")),
    h("ul", { "aria-label": t("catalog") }, products.map((p) => h("li", {},
      h("button", { type: "button", onclick: () => onpick(p.sku) }, t("sendNamed", { name: p.name })),
      " ", formatAmount(p.price_minor, p.currency)))),
    h("button", { type: "button", onclick: onclose }, t("close")));
}
