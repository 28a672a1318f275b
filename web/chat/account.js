// "Keep this chat": a guest sets a password, so that it can sign in with its address on
// another browser; and signing in here with an address and password from elsewhere (this
// browser's current guest device is then logged out and its store deleted). A new device
// gets the earlier messages when the other browser allows it (page.js, kontor.js's
// archive).
import { Client, guestStatus, setPassword } from "../src/kontor.js";
import { Store } from "../src/store.js";
import { h } from "../app/dom.js";
import { STORE, browserName } from "./device.js";
import { t } from "./i18n.js";

/** The panel; `onSignedIn()` after another account was signed in here (reload the page). */
export function accountView(client, onSignedIn) {
  const status = h("p", { role: "status", class: "account-status" });
  const section = h("section", { class: "account", "aria-labelledby": "account-title" },
    h("h2", { id: "account-title" }, t("keepTitle")),
    h("p", {}, t("keepWhy")),
    h("p", {}, t("yourAddress"), " ", h("code", { class: "address" }, client.address)),
    passwordForm(client, status), status,
    h("h2", { id: "signin-title" }, t("signInTitle")),
    h("p", {}, t(client.archive ? "signInWhyHistory" : "signInWhy")),
    signInForm(client, status, onSignedIn));
  guestStatus(client).then((s) => { if (s.hasPassword) status.textContent = t("passwordIsSet"); }).catch(() => undefined);
  return section;
}

function passwordForm(client, status) {
  const pass = h("input", { id: "new-password", type: "password", autocomplete: "new-password", minlength: 8, maxlength: 1024, required: true });
  const form = h("form", { class: "password", onsubmit: async (e) => {
    e.preventDefault();
    status.textContent = t("working");
    try {
      await setPassword(client, pass.value);
      pass.value = "";
      status.textContent = t("passwordSet", { address: client.address });
    } catch (err) {
      status.textContent = t("error", { why: err.message ?? String(err) });
    }
  } }, h("label", { for: "new-password" }, t("newPassword")), pass, h("button", { type: "submit" }, t("setPassword")));
  return form;
}

function signInForm(client, status, onSignedIn) {
  const user = h("input", { id: "signin-address", autocomplete: "username", required: true, maxlength: 320 });
  const pass = h("input", { id: "signin-password", type: "password", autocomplete: "current-password", required: true, maxlength: 1024 });
  return h("form", { class: "signin", onsubmit: async (e) => {
    e.preventDefault();
    status.textContent = t("working");
    try {
      await replaceDevice(client, user.value.trim(), pass.value);
      onSignedIn();
    } catch (err) {
      status.textContent = t("signInFailed", { why: err.message ?? String(err) });
    }
  } },
  h("label", { for: "signin-address" }, t("address")), user,
  h("label", { for: "signin-password" }, t("password")), pass,
  h("button", { type: "submit" }, t("signIn")));
}

/** Check the password first (a device in a scratch store), then swap this browser's device. */
async function replaceDevice(client, address, password) {
  const scratch = `${STORE}-signin`;
  await Store.destroy(scratch);
  const fresh = await Client.login(location.origin, address, password, { deviceName: browserName(), store: scratch });
  await fresh.logout();
  fresh.close();
  await Store.destroy(scratch);
  client.receiver.close();
  await client.logout().catch(() => undefined);
  client.close();
  await Store.destroy(STORE);
  (await Client.login(location.origin, address, password, { deviceName: browserName(), store: STORE })).close();
}
