// The dashboard's building blocks, shared by its views: elements built with text only (never
// markup), tables, charts, downloads and the reference data every view names codes with.

import * as api from "./api.js";

/// The code lists, indicators, regions and half-years, loaded once at sign-in, and the caller.
export const reference = {};

/// What a view does with an error it cannot handle itself; set by app.js (sign-in again on
/// 401, else the message in the view's status line).
export const errors = { failed: (error) => console.error(error) };

export function failed(error) {
  errors.failed(error);
}

const charts = new Map();

/// The colours of the charts; the caller's own region stands out, and the median is drawn as
/// a dashed line.
export const COLOURS = { bar: "#1f5f8b", mine: "#a04a00", median: "#1a1a1a", line: "#1f5f8b" };

/// An element with attributes and children; text is always set as text, never as markup.
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") element.className = value;
    else if (name.startsWith("on")) element.addEventListener(name.slice(2), value);
    else element.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function $(id) {
  return document.getElementById(id);
}

export function regionName(code) {
  return reference.regions.get(code) ?? code;
}

/// An indicator as a person reads it, its name, with the code beside it for whoever looks it
/// up: the same text on charts, headings and in tables.
export function indicatorName(indicator) {
  return `${indicator.name_sv} (${indicator.code})`;
}

export function label(dimension, code) {
  const entry = (reference.classifications[dimension] ?? []).find((c) => c.code === code);
  return entry ? entry.label_sv : code;
}

export function status(view, text) {
  $(`${view}-status`).textContent = text;
}

/// A table with a caption, column headers, body rows and optional footer rows. A cell is a
/// value or `{ text, header, field, className }`.
export function table(caption, headers, rows, footer = []) {
  const cell = (value, tag) => {
    const spec = value !== null && typeof value === "object" && !(value instanceof Node) ? value : { text: value };
    const header = spec.header || tag === "th";
    return el(header ? "th" : "td", {
      scope: header ? "row" : null,
      "data-field": spec.field,
      class: spec.className,
    }, spec.text instanceof Node ? spec.text : spec.text ?? "");
  };
  const line = (row, tag) => el("tr", { "data-key": row.key, class: row.className },
    row.cells.map((value) => cell(value, tag)));
  return el("div", { class: "table" },
    el("table", {},
      el("caption", {}, caption),
      el("thead", {}, el("tr", {}, headers.map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, rows.map((row) => line(row))),
      footer.length ? el("tfoot", {}, footer.map((row) => line(row))) : null));
}

/// Buttons that download the figures of `path` in the API's formats.
export function downloads(path, name) {
  const formats = [["csv", "CSV"], ["xlsx", "xlsx"], ["json-stat2", "JSON-stat"]];
  const extension = { csv: "csv", xlsx: "xlsx", "json-stat2": "json" };
  return el("div", { class: "downloads", role: "group", "aria-label": `Ladda ner ${name}` },
    formats.map(([format, text]) => el("button", {
      type: "button",
      "aria-label": `Ladda ner ${name} som ${text}`,
      onclick: () => api.download(`${path}&format=${format}`, `${name}.${extension[format]}`)
        .catch(failed),
    }, text)));
}

export function draw(id, config) {
  charts.get(id)?.destroy();
  const canvas = $(id);
  if (!canvas || typeof Chart === "undefined") return;
  charts.set(id, new Chart(canvas, {
    ...config,
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      locale: "sv-SE",
      ...config.options,
    },
  }));
}

/// Puts the figures of each dataset in the chart `id` drawn before, its names and axes kept,
/// and draws them at once.
export function fillChart(id, figures) {
  const chart = charts.get(id);
  if (!chart) return;
  chart.data.datasets.forEach((dataset, index) => {
    dataset.data = figures[index];
  });
  chart.update("none");
}

export function chartFigure(id, description) {
  return el("figure", {},
    el("div", { class: "chart" },
      el("canvas", { id, role: "img", "aria-label": `${description}; siffrorna finns i tabellen` })),
    el("figcaption", {}, description));
}
