// Statistics from the node (GET /business/stats): messages per day, the median first
// response time, orders and revenue, as SVG charts with the numbers beside them.
import { barChart } from "./charts.js";
import { fill, h, select } from "./dom.js";
import { t } from "./i18n.js";
import { formatAmount } from "./shop.js";

export const RANGES = [7, 30, 90];

/** `95000` -> `1.6 min`, `5400000` -> `1.5 h`, `12000` -> `12 s`. */
export function duration(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 60_000) return `${Math.round(ms / 1000)} s`;
  if (ms < 3_600_000) return `${(ms / 60_000).toFixed(1)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

/** The currency with the most revenue in the range (charts show one currency). */
export function mainCurrency(report) {
  const totals = Object.entries(report.totals.revenue ?? {});
  return totals.length ? totals.reduce((a, b) => (b[1] > a[1] ? b : a))[0] : null;
}

function totalsText(report) {
  const tot = report.totals;
  const revenue = Object.entries(tot.revenue ?? {}).map(([c, m]) => formatAmount(m, c)).join(", ") || "–";
  const facts = [
    [t("statConversations"), tot.conversations_started], [t("statReceived"), tot.messages_received],
    [t("statSent"), tot.messages_sent], [t("statMedianResponse"), duration(tot.median_first_response_ms)],
    [t("statOrders"), tot.orders], [t("statRevenue"), revenue],
  ];
  return h("dl", { class: "totals" }, facts.map(([k, v]) => [h("dt", {}, k), h("dd", {}, String(v))]));
}

export function charts(report) {
  const labels = report.days.map((d) => d.date);
  const currency = mainCurrency(report);
  return [
    barChart({ title: t("chartMessages"), labels, series: [
      { name: t("statReceived"), className: "s-received", values: report.days.map((d) => d.messages_received) },
      { name: t("statSent"), className: "s-sent", values: report.days.map((d) => d.messages_sent) }] }),
    barChart({ title: t("chartResponse"), labels, format: duration, series: [
      { name: t("statMedianResponse"), className: "s-response", values: report.days.map((d) => d.median_first_response_ms) }] }),
    barChart({ title: t("chartOrders"), labels, series: [
      { name: t("statOrders"), className: "s-orders", values: report.days.map((d) => d.orders) }] }),
    currency ? barChart({ title: t("chartRevenue", { currency }), labels, format: (v) => formatAmount(v, currency), series: [
      { name: t("statRevenue"), className: "s-revenue", values: report.days.map((d) => d.revenue?.[currency] ?? 0) }] }) : null,
  ];
}

/** The statistics page; loads the last 7 days, then whatever range is chosen. */
export function statsView(inbox, onproblem) {
  const body = h("div", { class: "stats-body", "aria-live": "polite" }, h("p", {}, t("loading")));
  let days = RANGES[0];
  const load = async () => {
    try {
      const report = await inbox.api("GET", `/stats?days=${days}`);
      fill(body, h("p", { class: "hint" }, t("statRange", { from: report.from, to: report.to, zone: report.timezone })),
        totalsText(report), charts(report));
    } catch (err) {
      onproblem(err);
    }
  };
  const range = select(t("statPeriod"), RANGES.map((n) => [n, t("lastDays", { n })]), days, (v) => { days = Number(v); load(); });
  load();
  return h("main", { class: "page stats", "aria-labelledby": "stats-title" },
    h("h2", { id: "stats-title" }, t("statistics")), range, body);
}
