// The team inbox at /app/: sign in, then the shop's customer conversations, all crypto
// in this page (kontor.js). No inline script or style: the CSP allows neither.
import { Client, DeviceRevoked, ready } from "../src/kontor.js";
import { Store } from "../src/store.js";
import { fill, h } from "./dom.js";
import { chooseLanguage, t } from "./i18n.js";
import { displayName, Inbox } from "./model.js";
import { helpDialog, installShortcuts } from "./keys.js";
import { Alerts, titleWith } from "./notify.js";
import { settingsView } from "./settings/index.js";
import { inviteFromAddress, registerView, signInView } from "./signin.js";
import { statsView } from "./stats.js";
import { showCustomer } from "./customer/customer.js";
import { composer, filtersView, headView, listView, preview, productPicker, sidePanel, thread } from "./views.js";

const TEAM_ROLES = new Set(["admin", "agent"]);
const body = document.body;

async function boot() {
  await ready();
  document.documentElement.lang = chooseLanguage();
  document.title = t("appName");
  body.dataset.kontor = "ready";
  const invite = inviteFromAddress();
  if (invite && !(await Client.exists())) return showRegister(invite);
  if (!(await Client.exists())) return showSignIn();
  let client;
  try {
    client = await Client.open();
  } catch (err) {
    if (err instanceof DeviceRevoked) return showSignIn(t("deviceWasRevoked")); // kontor.js wiped it
    throw err;
  }
  return enter(client);
}

/** The signed-in device's page; a revoke (kontor.js wipes the device) leads back to sign in. */
function enter(client) {
  client.onRevoked = () => {
    if (body.dataset.revoked === client.deviceId) return;
    body.dataset.revoked = client.deviceId;
    showSignIn(t("deviceWasRevoked"));
  };
  return TEAM_ROLES.has(client.role) ? showInbox(client) : showNotTeam(client);
}

function showSignIn(message = "") {
  fill(body, signInView(enter, message));
  body.querySelector("#username")?.focus();
}

function showRegister(invite) {
  fill(body, registerView(invite, enter, () => showSignIn()));
  body.querySelector("#username")?.focus();
}

/** An account that is not on the team: its own chats with businesses (web/app/customer/). */
function showNotTeam(client) {
  showCustomer(client, body, signOutButton(client, null));
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
    back: () => { inbox.current = null; inbox.viewers.show(null); body.classList.remove("reading"); render(); },
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
    document.title = titleWith(unread, t("appName"));
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
  const layout = h("div", { class: "layout" },
    h("nav", { class: "sidebar", "aria-label": t("conversations") }, regions.filters, regions.list),
    h("main", { class: "conversation-pane", "aria-label": t("conversation") },
      regions.head, regions.problem, regions.details, regions.thread, composerBox));
  const pages = new Pages(layout, {
    stats: () => statsView(inbox, (err) => pages.problem(err)),
    settings: () => settingsView(inbox, alerts),
  });
  const alerts = watchForAlerts(inbox, pages, open);
  const showPage = pages.show.bind(pages);
  pages.show = (name) => { showPage(name); inbox.viewers.visible(name === "inbox" && document.visibilityState === "visible"); };
  fill(body,
    h("header", { class: "banner" }, h("h1", {}, t("appName")), pages.nav,
      h("span", { class: "me" }, t("signedInAs", { who: client.address })), signOutButton(client, inbox)),
    pages.problemBox, layout, pages.box);
  await inbox.start();
  fill(regions.filters, filtersView(inbox, () => render()));
  inbox.listen((err) => {
    if (err instanceof DeviceRevoked) return client.onRevoked(err);
    regions.problem.textContent = t("error", { why: err.message ?? String(err) });
  });
}

/** The app's pages: the inbox (kept alive while hidden), statistics and settings. */
class Pages {
  constructor(inbox, makers) {
    this.inbox = inbox;
    this.makers = makers;
    this.current = "inbox";
    this.box = h("div", { class: "page-box", hidden: true });
    this.problemBox = h("p", { class: "problem", role: "alert" });
    const names = { inbox: t("inbox"), stats: t("statistics"), settings: t("settings") };
    this.buttons = Object.fromEntries(Object.entries(names).map(([name, label]) => [name,
      h("button", { type: "button", "aria-current": name === "inbox" ? "page" : null, onclick: () => this.show(name) }, label)]));
    this.nav = h("nav", { class: "pages", "aria-label": t("sections") }, Object.values(this.buttons));
  }

  show(name) {
    this.current = name;
    this.problemBox.textContent = "";
    for (const [n, button] of Object.entries(this.buttons)) {
      if (n === name) button.setAttribute("aria-current", "page");
      else button.removeAttribute("aria-current");
    }
    this.inbox.hidden = name !== "inbox";
    this.box.hidden = name === "inbox";
    if (name !== "inbox") fill(this.box, this.makers[name]());
  }

  problem(err) {
    this.problemBox.textContent = t("error", { why: err.message ?? String(err) });
  }
}

/** Sound, desktop notification and marking read as the tab is hidden and shown again. */
function watchForAlerts(inbox, pages, open) {
  const alerts = new Alerts();
  const unlock = () => alerts.unlock();
  document.addEventListener("pointerdown", unlock, { once: true });
  document.addEventListener("keydown", unlock, { once: true });
  const visible = () => document.visibilityState === "visible";
  inbox.onincoming = (m) => alerts.customerWrote(
    { customer: m.peer, name: displayName(m.peer), text: preview(m, inbox.shop) },
    { visible: visible() && pages.current === "inbox", current: m.peer === inbox.current,
      onopen: (customer) => { pages.show("inbox"); open(customer); } });
  window.addEventListener("pagehide", () => inbox.viewers.visible(false)); // the tab closes or navigates away
  window.addEventListener("pageshow", (e) => { if (e.persisted) inbox.viewers.visible(visible() && pages.current === "inbox"); });
  document.addEventListener("visibilitychange", () => {
    inbox.viewers.visible(visible() && pages.current === "inbox");
    if (!visible()) return;
    alerts.clear();
    if (inbox.current && pages.current === "inbox") inbox.markRead(inbox.current).catch(() => undefined);
  });
  return alerts;
}

boot().catch((err) => {
  body.dataset.kontor = "failed";
  fill(body, h("main", {}, h("p", { role: "alert" }, t("error", { why: err.message ?? String(err) }))));
});
