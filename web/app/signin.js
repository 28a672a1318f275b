// Sign in: username and password; the device's keys then live in this browser's store.
// An admin's one-time invite link (/app/#invite=<token>) opens the registration instead.
import { Client } from "../src/kontor.js";
import { h } from "./dom.js";
import { t } from "./i18n.js";

/** This browser's name for the account's device list ("Chromium on Linux"). */
export function browserName() {
  const brands = navigator.userAgentData?.brands?.map((b) => b.brand).filter((b) => !/not.a.brand/i.test(b)) ?? [];
  const ua = navigator.userAgent;
  const browser = brands.find((b) => b !== "Chromium") ?? brands[0]
    ?? (/Firefox\//.test(ua) ? "Firefox" : /Edg\//.test(ua) ? "Edge" : /Chrome\//.test(ua) ? "Chrome" : /Safari\//.test(ua) ? "Safari" : "Browser");
  const platform = navigator.userAgentData?.platform || (/Android/.test(ua) ? "Android" : /iPhone|iPad/.test(ua) ? "iOS" : /Mac/.test(ua) ? "macOS" : /Win/.test(ua) ? "Windows" : /Linux/.test(ua) ? "Linux" : "");
  return (platform ? `${browser} on ${platform}` : browser).slice(0, 64);
}

/** The sign-in form; resolves `onsignedin(client)` after a successful login. */
export function signInView(onsignedin, message = "") {
  const user = h("input", { name: "username", autocomplete: "username", required: true, id: "username", maxlength: 64 });
  const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true, id: "password", maxlength: 1024 });
  const problem = h("p", { class: "problem", role: "alert" }, message);
  const button = h("button", { type: "submit" }, t("signIn"));
  const form = h("form", { class: "signin", "aria-labelledby": "signin-title" },
    h("h1", { id: "signin-title" }, t("signInTitle")),
    h("label", { for: "username" }, t("username")), user,
    h("label", { for: "password" }, t("password")), pass,
    button, problem);
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    problem.textContent = t("signingIn");
    try {
      const client = await Client.login(location.origin, user.value.trim(), pass.value, { deviceName: browserName() });
      pass.value = "";
      problem.textContent = "";
      await onsignedin(client);
    } catch (err) {
      problem.textContent = t("signInFailed", { why: err.message ?? String(err) });
    } finally {
      button.disabled = false;
    }
  });
  return h("main", { class: "signin-page" }, form);
}

const INVITE = /^#invite=(ki_[A-Za-z0-9_-]{10,120})$/;

/** The invite token of a one-time link, taken out of the address bar (it is used once). */
export function inviteFromAddress() {
  const m = INVITE.exec(location.hash);
  if (location.hash.startsWith("#invite=")) history.replaceState(null, "", location.pathname + location.search);
  return m ? m[1] : null;
}

/** Registration with an invite: a new account for the team, this browser its device. */
export function registerView(invite, onsignedin, onsignin) {
  const user = h("input", { name: "username", autocomplete: "username", required: true, id: "username", maxlength: 64 });
  const pass = h("input", { name: "password", type: "password", autocomplete: "new-password", required: true, id: "password", minlength: 8, maxlength: 1024 });
  const problem = h("p", { class: "problem", role: "alert" });
  const button = h("button", { type: "submit" }, t("createAccount"));
  const form = h("form", { class: "signin", "aria-labelledby": "register-title" },
    h("h1", { id: "register-title" }, t("registerTitle")), h("p", { class: "hint" }, t("registerHint")),
    h("label", { for: "username" }, t("chooseUsername")), user,
    h("label", { for: "password" }, t("choosePassword")), pass,
    button, problem, h("button", { type: "button", class: "link", onclick: onsignin }, t("haveAccount")));
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    button.disabled = true;
    problem.textContent = t("registering");
    try {
      const client = await Client.register(location.origin, user.value.trim().toLowerCase(), pass.value, { deviceName: browserName(), invite });
      pass.value = "";
      problem.textContent = "";
      await onsignedin(client);
    } catch (err) {
      problem.textContent = t("registerFailed", { why: err.message ?? String(err) });
    } finally {
      button.disabled = false;
    }
  });
  return h("main", { class: "signin-page" }, form);
}
