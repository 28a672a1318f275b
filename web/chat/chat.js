// The customer chat page at /chat: the business's profile, then the chat with it, its
// catalog and the customer's cart, as a guest of the business's node; all crypto in this
// page (kontor.js). No inline script or style: the CSP allows neither. The node names the
// business in <meta name="kontor-business">; `?product=SKU` shows that product first.
import { ready } from "../src/kontor.js";
import { fill, h } from "../app/dom.js";
import { openDevice } from "./device.js";
import { chooseLanguage, t } from "./i18n.js";
import { ChatPage, loadBusiness } from "./page.js";

const body = document.body;

async function boot() {
  await ready();
  document.documentElement.lang = chooseLanguage();
  const business = document.querySelector("meta[name=kontor-business]").content;
  const client = await startDevice();
  const state = await loadBusiness(client, business, new URLSearchParams(location.search).get("product"));
  if (state.profile.document?.name) document.title = state.profile.document.name;
  new ChatPage(state, { root: body }).start();
  body.dataset.kontor = "ready";
}

async function startDevice() {
  const bar = h("progress", { max: 1, value: 0, "aria-label": t("preparing") });
  fill(body, h("main", { class: "start" }, h("p", { role: "status" }, t("starting")), bar));
  return openDevice((fraction) => { bar.value = fraction; });
}

function startFailed(err) {
  body.dataset.kontor = "failed";
  const minutes = Math.max(1, Math.ceil((err.details?.retry_after_ms ?? 0) / 60000));
  const text = err.code === "GUEST_LIMIT" ? t("limited", { minutes }) : t("startFailed", { why: err.message ?? String(err) });
  fill(body, h("main", { class: "start" }, h("p", { role: "alert" }, text)));
}

boot().catch(startFailed);
