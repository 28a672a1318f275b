// The team inbox at /app/: sign in, then the shop's customer conversations, all crypto
// in this page (kontor.js). No inline script or style: the CSP allows neither.
import { Client, ready } from "../src/kontor.js";
import { Store } from "../src/store.js";
import { fill, h } from "./dom.js";
import { chooseLanguage, t } from "./i18n.js";
import { Inbox } from "./model.js";
import { helpDialog, installShortcuts } from "./keys.js";
import { signInView } from "./signin.js";
import { composer, filtersView, headView, listView, productPicker, sidePanel, thread } from "./views.js";

const TEAM_ROLES = new Set(["admin", "agent"]);
const body = document.body;

async function boot() {
  await ready();
  document.documentElement.lang = chooseLanguage();
  document.title = t("appName");
  body.dataset.kontor = "ready";
  if (!(await Client.exists())) return showSignIn();
  const client = await Client.open();
  if (!TEAM_ROLES.has(client.role)) return showNotTeam(client);
  return showInbox(client);
}

function showSignIn() {
  fill(body, signInView(async (client) => (TEAM_ROLES.has(client.role) ? showInbox(client) : showNotTeam(client))));
  body.querySelector("#username")?.focus();
}

function showNotTeam(client) {
  fill(body, h("main", { class: "signin-page" }, h("p", { role: "alert" }, t("notTeam")), signOutButton(client, null)));
}

function signOutButton(client, inbox) {
  return h("button", { class: "signout", onclick: async () => {
    inbox?.stop();
    client.receiver.close(); // no request of this device may follow its logout
    try {
      await client.logout();
    } catch {
      // signed out already (revoked elsewhere): forget the device all the same
    }
    client.close();
    await Store.destroy();
    showSignIn();
  } }, t("signOut"));
}

async function showInbox(client) {
  const regions = {
    list: h("div", { class: "list" }),
    head: h("header", { class: "thread-head" }),
    details: h("section", { class: "details", "aria-label": t("details") }),
    thread: h("ol", { class: "thread", "aria-label": t("messages"), "aria-live": "polite" }),
    problem: h("p", { class: "problem", role: "alert" }),
    filters: h("div", {}),
  };
  const inbox = new Inbox(client, () => render());
  const guard = (fn) => async (...args) => {
    try {
      regions.problem.textContent = "";
      await fn(...args);
    } catch (err) {
      regions.problem.textContent = t("error", { why: err.message ?? String(err) });
    }
  };
  const actions = {
    back: () => { inbox.current = null; body.classList.remove("reading"); render(); },
    send: guard((text) => inbox.sendText(text)),
    note: guard((text) => inbox.addNote(text)),
    patch: guard((changes) => inbox.patch(changes)),
    label: guard((id, on) => inbox.setLabel(id, on)),
    attach: guard((file) => inbox.sendFile(file)),
    quickReplies: (typed) => inbox.shop.matching(typed, inbox.current),
    orderStatus: guard((customer, orderId, status) => inbox.orderStatus(customer, orderId, status)),
    fetchMedia: (m) => { if (!inbox.mediaUrls.has(m.messageId)) guard(async () => { await inbox.mediaUrl(m); render(); })(); },
    download: guard(async (m) => {
      const a = h("a", { href: await inbox.mediaUrl(m), download: m.content.name || "file", hidden: true });
      body.append(a);
      a.click();
      a.remove();
    }),
    products: () => {
      const dialog = productPicker(inbox.shop.offered(),
        guard(async (sku) => { dialog.close(); dialog.remove(); await inbox.sendProduct(sku); }),
        () => { dialog.close(); dialog.remove(); });
      body.append(dialog);
      dialog.showModal();
    },
  };
  const open = guard(async (customer, { focus = true } = {}) => {
    body.classList.add("reading");
    composerBox.hidden = false;
    await inbox.open(customer);
    if (focus) composerBox.querySelector("textarea")?.focus();
    else regions.list.querySelector("[aria-current=true]")?.focus();
  });
  const composerBox = composer(actions);
  composerBox.hidden = true;
  const render = () => {
    fill(regions.list, listView(inbox, open));
    fill(regions.head, headView(inbox, actions));
    fill(regions.details, sidePanel(inbox, actions));
    const atEnd = regions.thread.scrollHeight - regions.thread.scrollTop - regions.thread.clientHeight < 40;
    fill(regions.thread, thread(inbox, actions));
    if (atEnd) regions.thread.scrollTop = regions.thread.scrollHeight;
    const unread = [...inbox.conversations.values()].reduce((n, c) => n + (c.unread || 0), 0);
    document.title = unread ? `(${unread}) ${t("appName")}` : t("appName");
  };
  installShortcuts(inbox, {
    open, patch: actions.patch,
    help: () => { const d = helpDialog(); body.append(d); d.showModal(); },
    focusComposer: (text) => {
      const box = composerBox.querySelector("textarea");
      if (text) { box.value = text; box.dispatchEvent(new Event("input")); }
      box.focus();
    },
  });
  fill(body,
    h("header", { class: "banner" }, h("h1", {}, t("appName")),
      h("span", { class: "me" }, t("signedInAs", { who: client.address })), signOutButton(client, inbox)),
    h("div", { class: "layout" },
      h("nav", { class: "sidebar", "aria-label": t("conversations") }, regions.filters, regions.list),
      h("main", { class: "conversation-pane", "aria-label": t("conversation") },
        regions.head, regions.problem, regions.details, regions.thread, composerBox)));
  await inbox.start();
  fill(regions.filters, filtersView(inbox, () => render()));
  inbox.listen((err) => { regions.problem.textContent = t("error", { why: err.message ?? String(err) }); });
}

boot().catch((err) => {
  body.dataset.kontor = "failed";
  fill(body, h("main", {}, h("p", { role: "alert" }, t("error", { why: err.message ?? String(err) }))));
});
