// The customer chat page at /chat: the business's profile, then the chat with it, as a
// guest of the business's node; all crypto in this page (kontor.js). No inline script or
// style: the CSP allows neither. The node names the business in <meta name="kontor-business">.
import { ready } from "../src/kontor.js";
import { fill, h } from "../app/dom.js";
import { openDevice } from "./device.js";
import { chooseLanguage, t } from "./i18n.js";
import { Chat } from "./model.js";
import { loadProfile, profileView } from "./profile.js";
import { composer, threadItems } from "./views.js";

const body = document.body;

async function boot() {
  await ready();
  document.documentElement.lang = chooseLanguage();
  const business = document.querySelector("meta[name=kontor-business]").content;
  const client = await startDevice();
  const profile = await loadProfile(client, business);
  if (profile.document?.name) document.title = profile.document.name;
  showChat(client, business, profile);
}

async function startDevice() {
  const bar = h("progress", { max: 1, value: 0, "aria-label": t("preparing") });
  fill(body, h("main", { class: "start" }, h("p", { role: "status" }, t("starting")), bar));
  return openDevice((fraction) => { bar.value = fraction; });
}

function showChat(client, business, profile) {
  const thread = h("ol", { class: "thread", "aria-label": t("messages"), "aria-live": "polite" });
  const problem = h("p", { class: "problem", role: "alert" });
  const chat = new Chat(client, business, () => {
    fill(thread, threadItems(chat));
    thread.scrollTop = thread.scrollHeight;
    if (document.visibilityState === "visible") chat.markShownRead().catch(showProblem);
  });
  const showProblem = (err) => { problem.textContent = t("error", { why: err.message ?? String(err) }); };
  const send = async (text) => {
    problem.textContent = "";
    await chat.sendText(text, showProblem).catch(showProblem);
  };
  window.addEventListener("online", () => chat.flush(showProblem).catch(showProblem));
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") chat.markShownRead().catch(showProblem);
  });
  fill(body, h("div", { class: "chat" }, profileView(profile),
    h("main", { class: "conversation", "aria-label": t("title") }, thread, problem, composer(send)),
    h("footer", { class: "privacy" }, t("privacy"))));
  body.dataset.kontor = "ready";
  chat.start(showProblem).catch(showProblem);
}

function startFailed(err) {
  body.dataset.kontor = "failed";
  const minutes = Math.max(1, Math.ceil((err.details?.retry_after_ms ?? 0) / 60000));
  const text = err.code === "GUEST_LIMIT" ? t("limited", { minutes }) : t("startFailed", { why: err.message ?? String(err) });
  fill(body, h("main", { class: "start" }, h("p", { role: "alert" }, text)));
}

boot().catch(startFailed);
