// The settings page: this browser's alerts for everyone; for admins the business profile,
// catalog, quick replies, labels, automatic messages, the team with its devices and
// invites; history approvals for admins, and for agents under `[business]
// history_approval = team`; blocks for the whole team. Each part loads on its own, so one
// that fails says so without hiding the others, and one that returns null is left out.
import { h } from "../dom.js";
import { t } from "../i18n.js";
import { alertSettings } from "../notify.js";
import { catalogSection } from "./catalog.js";
import { part } from "./forms.js";
import { profileSection } from "./profile.js";
import { blocksSection, historySection, invitesSection, teamSection } from "./team.js";
import { automationSection, labelsSection, quickRepliesSection } from "./texts.js";

const ADMIN_PARTS = [
  ["set-profile", "businessProfile", profileSection], ["set-catalog", "catalog", catalogSection],
  ["set-quick-replies", "quickReplies", quickRepliesSection], ["set-labels", "labels", labelsSection],
  ["set-automation", "automaticMessages", automationSection], ["set-team", "team", teamSection],
  ["set-invites", "invites", invitesSection],
];
const TEAM_PARTS = [["set-history", "historyApprovals", historySection], ["set-blocks", "blocked", blocksSection]];

/** `inbox` gives the client, the business API and the shop's cached data. */
export function settingsView(inbox, alerts) {
  const ctx = { inbox, client: inbox.client, shop: inbox.shop, api: (m, p, b) => inbox.api(m, p, b),
    defaultCurrency: () => [...inbox.shop.products.values()][0]?.currency ?? "EUR" };
  const parts = [...(inbox.client.role === "admin" ? ADMIN_PARTS : []), ...TEAM_PARTS];
  const toc = new Map([["set-alerts", "thisBrowser"], ...parts].map(([id, title]) => [id, h("li", {}, h("a", { href: `#${id}` }, t(title)))]));
  const slots = parts.map(([id, title, make]) => {
    const slot = h("div", { class: "slot" }, h("p", { class: "hint" }, t("loading")));
    make(ctx).then((el) => {
      if (el) return slot.replaceChildren(el);
      slot.remove();
      toc.get(id).remove();
    }, (err) => slot.replaceChildren(part(id, t(title), h("p", { class: "problem", role: "alert" }, t("error", { why: err.message ?? String(err) })))));
    return slot;
  });
  return h("main", { class: "page settings", "aria-labelledby": "settings-title" },
    h("h2", { id: "settings-title" }, t("settings")),
    h("nav", { class: "settings-toc", "aria-label": t("settingsSections") }, h("ul", {}, [...toc.values()])), alertSettings(alerts), slots);
}
