// The team and who may reach it: the admins' and agents' accounts with their devices
// (revoke a device, remove an account), one-time invite links for new agents, history
// approvals for new team devices, and blocked addresses and servers.
import { fill, h } from "../dom.js";
import { formatTime, t } from "../i18n.js";
import { displayName } from "../model.js";
import { choice, input, labelled, part, statusLine } from "./forms.js";

const q = encodeURIComponent;

/** A button that asks once more before it acts (no window.confirm: keyboard and tests alike). */
function confirmed(label, confirmLabel, act) {
  const button = h("button", { type: "button", class: "danger" }, label);
  let armed = false;
  button.addEventListener("click", () => {
    if (!armed) {
      armed = true;
      button.textContent = confirmLabel;
      return;
    }
    act();
  });
  button.addEventListener("blur", () => { armed = false; button.textContent = label; });
  return button;
}

function deviceItem(member, d, status, refresh) {
  const seen = t("lastSeen", { when: formatTime(d.last_seen_ms) });
  const name = d.name || d.device_id;
  return h("li", { class: "device" },
    h("span", {}, h("strong", {}, name), " ", h("span", { class: "address" }, d.device_id)), h("span", { class: "hint" }, seen),
    d.current ? h("span", { class: "label" }, t("thisBrowser")) : confirmed(t("revokeNamed", { name }), t("confirmRevoke", { name }),
      () => status.run(async () => {
        await refresh.api("DELETE", `/team/${q(member.address)}/devices/${q(d.device_id)}`);
        await refresh();
      }, t("deviceRevoked", { name }))));
}

export async function teamSection(ctx) {
  const list = h("ul", { class: "team", "aria-label": t("teamMembers") });
  const status = statusLine();
  const refresh = async () => {
    const { members } = await ctx.api("GET", "/team");
    fill(list, members.map((m) => h("li", { class: "member" },
      h("h3", {}, displayName(m.address), " ", h("span", { class: "address" }, m.address), " ", h("span", { class: "label" }, t(`role_${m.role}`))),
      h("ul", { class: "devices", "aria-label": t("devicesOf", { name: displayName(m.address) }) },
        m.devices.length ? m.devices.map((d) => deviceItem(m, d, status, refresh)) : h("li", { class: "empty" }, t("noDevices"))),
      m.address === ctx.client.address ? null : confirmed(t("removeAccountOf", { name: displayName(m.address) }),
        t("confirmRemoveAccount", { name: displayName(m.address) }), () => status.run(async () => {
          await ctx.api("DELETE", `/team/${q(m.address)}`);
          await refresh();
        }, t("accountRemoved", { name: m.address }))))));
    await ctx.inbox.loadTeam().catch(() => undefined);
  };
  refresh.api = ctx.api;
  await refresh();
  return part("set-team", t("team"), list, status);
}

function inviteLink(token) {
  return `${location.origin}/app/#invite=${token}`;
}

export async function invitesSection(ctx) {
  const list = h("ul", { class: "invites", "aria-label": t("invites") });
  const status = statusLine();
  const made = h("div", { class: "made-invite", "aria-live": "polite" });
  const role = choice([["agent", t("role_agent")], ["admin", t("role_admin")]], "agent");
  const days = input({ type: "number", min: 1, max: 90, value: 7 });
  const create = h("button", { type: "submit" }, t("createInvite"));
  const form = h("form", { class: "add-form row", "aria-label": t("newInvite") },
    labelled(t("inviteRole"), role), labelled(t("inviteDays"), days), create);
  const off = h("p", { class: "hint", hidden: true }, t("invitesOff"));
  const refresh = async () => {
    const answer = await ctx.api("GET", "/invites");
    off.hidden = answer.registration === "invite";
    create.disabled = !off.hidden;
    fill(list, answer.invites.length ? answer.invites.map((i) => h("li", { class: "invite" },
      h("span", {}, t(`role_${i.role}`) ?? i.role), " ", h("span", { class: "address" }, i.invite_id), " ",
      h("span", { class: "label" }, t(`invite_${i.state}`)), " ",
      h("span", { class: "hint" }, i.used_by ? displayName(i.used_by) : t("expiresOn", { when: formatTime(i.expires_ms) })),
      i.state === "open" ? h("button", { type: "button", "aria-label": t("withdrawInvite", { id: i.invite_id }),
        onclick: () => status.run(async () => { await ctx.api("DELETE", `/invites/${i.invite_id}`); await refresh(); }, t("inviteWithdrawn")) }, t("withdraw")) : null))
      : h("li", { class: "empty" }, t("none")));
  };
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    status.run(async () => {
      const invite = await ctx.api("POST", "/invites", { role: role.value, days: Number(days.value) });
      const link = input({ value: inviteLink(invite.token), readonly: true, class: "link" });
      fill(made, labelled(t("inviteLink"), link, t("inviteLinkHint")),
        h("button", { type: "button", onclick: () => navigator.clipboard?.writeText(link.value).catch(() => link.select()) }, t("copyLink")));
      link.select();
      await refresh();
    }, t("inviteCreated"));
  });
  await refresh();
  return part("set-invites", t("invites"), off, form, made, list, status);
}

/** Who approves a new team device's history here: admins always; agents only under
 * `[business] history_approval = team` (GET /history's `approval` and `may_approve`). */
async function mayApprove(ctx) {
  if (ctx.client.role === "admin") return true;
  const state = await ctx.client.transport.request("GET", "/history");
  return state.approval === "team" && state.may_approve;
}

/** The waiting devices' [account, name]: the team list for admins (GET /team is theirs),
 * the `device_added` events this page saw for agents. */
async function deviceNames(ctx) {
  const names = new Map(ctx.inbox.addedDevices);
  if (ctx.client.role !== "admin") return names;
  for (const m of (await ctx.api("GET", "/team")).members) for (const d of m.devices) names.set(d.device_id, [m.address, d.name]);
  return names;
}

/** Team devices without the history key yet, approved from here (kontor.js's archive):
 * the device then downloads the team's earlier conversations. Null where this device
 * may not approve (an agent under `history_approval = admin`): the part is not shown. */
export async function historySection(ctx) {
  if (!(await mayApprove(ctx))) return null;
  const list = h("ul", { class: "approvals", "aria-label": t("historyApprovals") });
  const status = statusLine();
  const refresh = async () => {
    const waiting = await ctx.client.archive.pendingDevices();
    const names = await deviceNames(ctx);
    fill(list, waiting.length ? waiting.map((d) => {
      const [account, name] = names.get(d.device_id) ?? [d.account ?? "", ""];
      const label = `${displayName(account)}: ${name || d.device_id}`;
      return h("li", { class: "device" }, h("span", {}, label, " ", h("span", { class: "address" }, d.device_id)),
        h("button", { type: "button", "aria-label": t("approveNamed", { name: label }),
          onclick: () => status.run(async () => { await ctx.client.archive.approve(d.device_id); await refresh(); }, t("approved")) }, t("approve")));
    }) : h("li", { class: "empty" }, t("noApprovals")));
  };
  await status.run(refresh, "");
  ctx.inbox.onDeviceAdded = () => status.run(refresh, "");
  return part("set-history", t("historyApprovals"), h("p", { class: "hint" }, t("historyHint")), list, status);
}

export async function blocksSection(ctx) {
  const list = h("ul", { class: "blocks", "aria-label": t("blocked") });
  const status = statusLine();
  const refresh = async () => {
    const { blocks } = await ctx.api("GET", "/blocks");
    fill(list, blocks.length ? blocks.map((b) => h("li", { class: "managed-row" },
      h("strong", {}, b.target), " ", h("span", { class: "label" }, t(`block_${b.kind}`)), b.reason ? h("span", { class: "hint" }, b.reason) : null,
      h("button", { type: "button", "aria-label": t("unblockNamed", { name: b.target }),
        onclick: () => status.run(async () => { await ctx.api("DELETE", `/blocks/${q(b.target)}`); await refresh(); }, t("unblocked")) }, t("unblock"))))
      : h("li", { class: "empty" }, t("none")));
  };
  const target = input({ maxlength: 320, required: true, placeholder: "spam@example.org" });
  const reason = input({ maxlength: 500 });
  const form = h("form", { class: "add-form row", "aria-label": t("newBlock") },
    labelled(t("blockTarget"), target, t("blockHint")), labelled(t("blockReason"), reason), h("button", { type: "submit" }, t("block")));
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    status.run(async () => { await ctx.api("POST", "/blocks", { target: target.value.trim(), reason: reason.value.trim() }); form.reset(); await refresh(); }, t("blockedNow"));
  });
  await refresh();
  return part("set-blocks", t("blocked"), form, list, status);
}
