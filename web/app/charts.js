// Bar charts drawn as SVG in the page (no chart library, nothing from elsewhere). Each
// chart is an image with a text alternative (its accessible name says what it shows and
// its largest values) and comes with the same numbers as a table.
import { h } from "./dom.js";
import { t } from "./i18n.js";

const NS = "http://www.w3.org/2000/svg";
const WIDTH = 640;
const HEIGHT = 220;
const PAD = { top: 16, right: 8, bottom: 28, left: 44 };

/** An SVG element: svg("rect", {x: 1, class: "bar"}, child...). */
export function svg(tag, attrs = {}, ...children) {
  const el = document.createElementNS(NS, tag);
  for (const [key, value] of Object.entries(attrs)) if (value !== null && value !== undefined) el.setAttribute(key, String(value));
  for (const child of children.flat()) if (child !== null && child !== undefined) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

/** A round upper bound for the axis: 1, 2, 5, 10, 20, 50, ... at least `max`. */
export function niceMax(max) {
  if (!(max > 0)) return 1;
  const step = 10 ** Math.floor(Math.log10(max));
  return [1, 2, 5, 10].map((m) => m * step).find((v) => v >= max);
}

/**
 * Grouped bars, one group per label: `series` is [{name, className, values}], `format`
 * writes a value for the axis, the table and the text alternative.
 */
export function barChart({ title, labels, series, format = String }) {
  const max = niceMax(Math.max(0, ...series.flatMap((s) => s.values.filter((v) => v !== null))));
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const groupW = plotW / Math.max(labels.length, 1);
  const barW = Math.max(1, (groupW * 0.8) / series.length);
  const y = (v) => PAD.top + plotH - (v / max) * plotH;
  const every = Math.ceil(labels.length / 10); // at most ten day labels on the axis
  const bars = series.flatMap((s, si) => s.values.map((v, i) => (v === null ? null
    : svg("rect", { class: `bar ${s.className}`, x: (PAD.left + i * groupW + groupW * 0.1 + si * barW).toFixed(1),
      y: y(v).toFixed(1), width: barW.toFixed(1), height: (PAD.top + plotH - y(v)).toFixed(1) },
    svg("title", {}, `${labels[i]}: ${s.name} ${format(v)}`)))));
  const axis = [
    svg("line", { class: "axis", x1: PAD.left, y1: PAD.top + plotH, x2: WIDTH - PAD.right, y2: PAD.top + plotH }),
    svg("line", { class: "grid", x1: PAD.left, y1: PAD.top, x2: WIDTH - PAD.right, y2: PAD.top }),
    svg("text", { class: "tick", x: PAD.left - 4, y: PAD.top + 4, "text-anchor": "end" }, format(max)),
    svg("text", { class: "tick", x: PAD.left - 4, y: PAD.top + plotH, "text-anchor": "end" }, format(0)),
    labels.map((label, i) => (i % every ? null : svg("text", { class: "tick", x: (PAD.left + (i + 0.5) * groupW).toFixed(1),
      y: HEIGHT - 8, "text-anchor": "middle" }, label.slice(5)))),
  ];
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${HEIGHT}`, role: "img", "aria-label": summary(title, labels, series, format), class: "chart" },
    axis, bars);
  return h("figure", { class: "chart-box" },
    h("figcaption", {}, title, " ", h("span", { class: "legend" }, series.map((s) => h("span", { class: `key ${s.className}` }, s.name)))),
    chart, dataTable(title, labels, series, format));
}

/** "Messages per day: received 12 in all, most 5 on 2026-12-02; sent ..." */
export function summary(title, labels, series, format) {
  const parts = series.map((s) => {
    const known = s.values.map((v, i) => [v, labels[i]]).filter(([v]) => v !== null);
    if (!known.length) return t("chartNoData", { name: s.name });
    const [top, day] = known.reduce((a, b) => (b[0] > a[0] ? b : a));
    return t("chartSeries", { name: s.name, top: format(top), day });
  });
  return `${title}: ${parts.join("; ")}`;
}

function dataTable(title, labels, series, format) {
  return h("details", { class: "chart-table" },
    h("summary", {}, t("showTable", { title })),
    h("table", {},
      h("caption", {}, title),
      h("thead", {}, h("tr", {}, h("th", { scope: "col" }, t("day")), series.map((s) => h("th", { scope: "col" }, s.name)))),
      h("tbody", {}, labels.map((label, i) => h("tr", {}, h("th", { scope: "row" }, label),
        series.map((s) => h("td", {}, s.values[i] === null ? "–" : format(s.values[i]))))))));
}
