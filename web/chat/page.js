// The chat with one business: its profile, then the sections "Chat", "Catalog", "Cart"
// and (for a guest) "Keep chat", drawn into a root element. The chat page at /chat is one
// of these for its node's business; the customer side of /app/ (web/app/customer/) opens
// one for any business, through federation.
import { fill, h, select } from "../app/dom.js";
import { accountView } from "./account.js";
import { Shop, cartView, catalogView, productCard } from "./catalog.js";
import { CATALOGUES, chooseLanguage, language, t } from "./i18n.js";
import { Pictures } from "./images.js";
import { Chat } from "./model.js";
import { loadProfile, profileView } from "./profile.js";
import { composer, threadItems } from "./views.js";

export const TABS = ["chat", "catalog", "cart", "account"];

/** What a ChatPage shows of `business`: its checked profile and catalog; `asked` a sku. */
export async function loadBusiness(client, business, asked = null) {
  const pictures = new Pictures(client, business);
  const shop = new Shop(client, business, pictures);
  const [profile] = await Promise.all([loadProfile(client, business), shop.load()]);
  return { client, business, profile, pictures, shop, asked: shop.product(asked ?? "") ? asked : null };
}

export class ChatPage {
  /**
   * `root`: the element to draw into; `tabs`: the sections shown; `head`: an element
   * before the profile (a "back" button); `follow`: whether the chat reads the device's
   * stream itself (else the caller hands it items with `chat.take`).
   */
  constructor(state, { root, tabs = TABS, head = null, follow = true }) {
    Object.assign(this, state, { root, tabs, head, follow, tab: "chat", listening: new AbortController() });
    this.chat = new Chat(this.client, this.business, () => this.refresh());
    this.chat.onArchive = (event) => this.archiveEvent(event).catch((e) => this.showProblem(e));
    this.newDevices = new Map(); // devices of this account that asked for the history
    this.actions = { add: (sku) => this.addToCart(sku), problem: (err) => this.showProblem(err), pictures: this.pictures };
  }

  start() {
    this.draw();
    const { signal } = this.listening;
    window.addEventListener("online", () => this.chat.flush((e) => this.showProblem(e)).catch((e) => this.showProblem(e)), { signal });
    document.addEventListener("visibilitychange", () => this.markRead(), { signal });
    this.chat.start((e) => this.showProblem(e), { follow: this.follow }).catch((e) => this.showProblem(e));
  }

  /** Stop listening (another chat is opened in its place); the device stays open. */
  close() {
    this.listening.abort();
    this.chat.detach();
  }

  /** Build the whole page (again after a change of language). */
  draw() {
    this.regions = {
      devices: h("div", { class: "devices" }),
      thread: h("ol", { class: "thread", "aria-label": t("messages"), "aria-live": "polite" }),
      problem: h("p", { class: "problem", role: "alert" }),
      catalog: h("div", { class: "panel-body" }), cart: h("div", { class: "panel-body" }),
      tabs: h("nav", { class: "tabs", "aria-label": t("sections") }),
    };
    const r = this.regions;
    const panels = {
      chat: () => [r.devices, this.askedCard(), r.thread, r.problem, composer((text) => this.sendText(text), (file) => this.sendFile(file))],
      catalog: () => [h("h2", { class: "visually-hidden" }, t("catalog")), r.catalog],
      cart: () => [h("h2", { class: "visually-hidden" }, t("cart")), r.cart],
      account: () => [accountView(this.client, () => location.reload())],
    };
    this.panels = Object.fromEntries(this.tabs.map((tab) => [tab, h("section", { class: `panel panel-${tab}`, id: `panel-${tab}`, hidden: tab !== this.tab }, panels[tab]())]));
    fill(this.root, h("div", { class: "chat" }, this.head,
      h("div", { class: "top" }, profileView(this.profile, this.pictures), this.languageSelect()), r.tabs,
      h("main", { class: "conversation", "aria-label": t("title") }, Object.values(this.panels)),
      h("footer", { class: "privacy" }, t("privacy"))));
    this.refresh();
  }

  refresh() {
    const r = this.regions;
    const was = document.activeElement;
    const focused = was?.getAttribute("aria-label");
    fill(r.thread, threadItems(this.chat, this.shop, this.actions));
    r.thread.scrollTop = r.thread.scrollHeight;
    fill(r.devices, [...this.newDevices.values()].map((d) => this.deviceCard(d)));
    fill(r.catalog, catalogView(this.shop, this.actions.add));
    fill(r.cart, cartView(this.shop, { onQuantity: (sku, q) => { this.shop.setQuantity(sku, q); this.refresh(); }, onOrder: () => this.order() }));
    fill(r.tabs, this.tabs.map((tab) => h("button", { type: "button", "aria-controls": `panel-${tab}`, "aria-pressed": String(tab === this.tab),
      onclick: () => this.show(tab) }, tab === "cart" ? t("cartTab", { count: this.shop.count() }) : t(`${tab}Tab`))));
    if (focused && !was.isConnected) { // redrawn: keep the keyboard's place
      [...this.root.querySelectorAll("[aria-label]")].find((el) => el.getAttribute("aria-label") === focused)?.focus();
    }
    this.markRead();
  }

  show(tab) {
    this.tab = tab;
    for (const [name, panel] of Object.entries(this.panels)) panel.hidden = name !== tab;
    this.refresh();
  }

  /** The product of `?product=SKU` above the chat, until it is added to the cart or hidden. */
  askedCard() {
    const p = this.asked && this.shop.product(this.asked);
    if (!p) return null;
    const card = h("aside", { class: "asked", "aria-label": t("askedAbout") },
      h("p", {}, t("askedAbout"), h("button", { type: "button", class: "hide", "aria-label": t("hideProduct"), onclick: () => card.remove() }, "×")),
      productCard(this.shop, p, (sku) => { this.addToCart(sku); card.remove(); }));
    return card;
  }

  languageSelect() {
    const options = Object.keys(CATALOGUES).map((code) => [code, CATALOGUES[code].languageName]);
    return h("div", { class: "lang" }, select(t("language"), options, language(), (code) => {
      document.documentElement.lang = chooseLanguage([code]);
      this.draw();
    }));
  }

  /**
   * History on a new device (kontor.js's archive): another browser signed in to this
   * chat asks for the earlier messages, which this one may give; or this one was given
   * them, and reads its history again once they are downloaded.
   */
  async archiveEvent(event) {
    if (event.kind === "device_added" && event.deviceId !== this.client.deviceId && event.address === this.client.address) {
      this.newDevices.set(event.deviceId, event);
      // only devices still there and without the history (a device that checked the
      // password and was logged out again, account.js, is not)
      const waiting = new Set((await this.client.archive.pendingDevices()).map((d) => d.device_id));
      for (const id of this.newDevices.keys()) if (!waiting.has(id)) this.newDevices.delete(id);
      this.refresh();
    } else if (event.kind === "history_approved") {
      await this.client.archive.idle();
      await this.chat.reload();
    }
  }

  deviceCard(device) {
    const done = () => { this.newDevices.delete(device.deviceId); this.refresh(); };
    const allow = async () => {
      try {
        await this.client.archive.approve(device.deviceId);
        done();
      } catch (err) {
        this.showProblem(err);
      }
    };
    return h("aside", { class: "new-device", "aria-label": t("newDevice", { name: device.name || device.deviceId }) },
      h("p", {}, t("newDevice", { name: device.name || device.deviceId })),
      h("button", { type: "button", onclick: allow }, t("giveHistory")),
      h("button", { type: "button", onclick: done }, t("notMine")));
  }

  addToCart(sku) {
    this.shop.add(sku);
    this.refresh();
  }

  async order() {
    this.clearProblem();
    try {
      await this.chat.sendOther(() => this.shop.order());
      this.show("chat");
    } catch (err) {
      this.showProblem(err);
      this.show("chat");
    }
  }

  async sendText(text) {
    this.clearProblem();
    await this.chat.sendText(text, (e) => this.showProblem(e)).catch((e) => this.showProblem(e));
  }

  async sendFile(file) {
    this.clearProblem();
    await this.chat.sendFile(file).catch((e) => this.showProblem(e));
  }

  markRead() {
    if (document.visibilityState === "visible" && this.tab === "chat") this.chat.markShownRead().catch((e) => this.showProblem(e));
  }

  clearProblem() {
    this.regions.problem.textContent = "";
  }

  showProblem(err) {
    this.regions.problem.textContent = t("error", { why: err.message ?? String(err) });
  }
}
