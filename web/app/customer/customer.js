// The customer's side of /app/: an account that is not on the node's team (a customer on
// its own node) sees its chats and talks with any business by address, through
// federation: the business's checked profile and catalog, the cart and orders, exactly as
// on the business's own chat page (web/chat/page.js). One reader of the device's stream
// hands each item to the open chat and refreshes the list.
import { Message } from "../../src/receive.js";
import { fill, h } from "../dom.js";
import { chooseLanguage, formatTime, t } from "../../chat/i18n.js";
import { ChatPage, loadBusiness } from "../../chat/page.js";

/** Show the customer's chats in `root`; `signOut` is the app's sign-out button. */
export function showCustomer(client, root, signOut) {
  document.documentElement.lang = chooseLanguage();
  useChatStyle(true);
  signOut.addEventListener("click", () => useChatStyle(false)); // the sign-in page is the inbox's
  const app = new CustomerApp(client, root, signOut);
  app.showList();
  app.follow();
  return app;
}

/**
 * The chat page's style sheet instead of the inbox's (`on` false: back). /app/'s head
 * names it in an alternate style sheet link (#chat-style, with its integrity); a link
 * made from it loads it, checked by the same integrity.
 */
function useChatStyle(on) {
  const sheets = [...document.querySelectorAll("link[rel=stylesheet]")];
  document.getElementById("chat-style-on")?.remove();
  for (const link of sheets) link.disabled = on;
  const named = document.getElementById("chat-style");
  if (!on || !named) return;
  const link = h("link", { rel: "stylesheet", id: "chat-style-on", href: named.getAttribute("href"), integrity: named.integrity, crossorigin: "anonymous" });
  document.head.append(link);
}

class CustomerApp {
  constructor(client, root, signOut) {
    Object.assign(this, { client, root, signOut, page: null, list: h("ul", { class: "chats", "aria-label": t("chats") }) });
  }

  async follow() {
    try {
      for await (const item of this.client.events()) {
        this.page?.chat.take(item);
        if (item instanceof Message && !this.page) await this.fillList();
      }
    } catch (err) {
      this.problem?.replaceChildren(t("error", { why: err.message ?? String(err) }));
    }
  }

  showList() {
    this.page?.close();
    this.page = null;
    this.problem = h("p", { class: "problem", role: "alert" });
    const address = h("input", { id: "business-address", required: true, maxlength: 320, autocomplete: "off", placeholder: "shop@shop.example" });
    const form = h("form", { class: "open-business", onsubmit: (e) => { e.preventDefault(); this.open(address.value.trim()); } },
      h("label", { for: "business-address" }, t("businessAddress")), address, h("button", { type: "submit" }, t("openChat")));
    fill(this.root, h("div", { class: "chat customer" },
      h("header", { class: "profile" }, h("h1", {}, t("yourChats")), h("p", { class: "description" }, this.client.address), this.signOut),
      h("main", { class: "panel-body", "aria-label": t("yourChats") }, form, this.problem, this.list)));
    document.title = t("yourChats");
    this.fillList();
  }

  async fillList() {
    const chats = await this.client.conversations();
    fill(this.list, chats.length ? chats.map((c) => h("li", {}, h("button", { type: "button", class: "chat-item", onclick: () => this.open(c.peer) },
      h("span", { class: "peer" }, c.peer), " ", h("time", { datetime: new Date(c.lastTs).toISOString() }, formatTime(c.lastTs)),
      c.unread ? h("span", { class: "unread" }, ` · ${t("unreadCount", { count: c.unread })}`) : null)))
      : h("li", { class: "empty" }, t("noChats")));
  }

  /** Open the chat with `business` (an address, or a server name whose profile names it). */
  async open(business) {
    this.problem.textContent = t("working");
    const state = await loadBusiness(this.client, business);
    const address = state.profile.document?.address;
    if (state.profile.error || !address) {
      this.problem.textContent = t("notABusiness", { address: business, why: state.profile.error ?? "" });
      return;
    }
    const opened = address === business ? state : await loadBusiness(this.client, address);
    const back = h("button", { type: "button", class: "back", onclick: () => this.showList() }, t("back"));
    this.page = new ChatPage(opened, { root: this.root, tabs: ["chat", "catalog", "cart"], head: back, follow: false });
    this.page.start();
    document.title = opened.profile.document.name || address;
  }
}
