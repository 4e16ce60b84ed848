// Indikator: one indicator compared across regions (or sakområden, branscher), over time and
// by sex, by its total, per project or per million kronor granted. Every figure, the median
// included, is the API's (`per=`); the page only draws and lists them.

import * as api from "./api.js";
import { number } from "./format.js";
import {
  $, COLOURS, chartFigure, downloads, draw, el, indicatorName, label, reference, regionName,
  status, table,
} from "./ui.js";

/// What the figures are divided by, as the API names it and as a person reads it.
const MEASURES = {
  total: "",
  project: " per projekt",
  granted_msek: " per miljon kronor beviljat",
};

/// Places the API gives a figure per project or per million kronor: two beyond the
/// indicator's own (README, "Comparisons").
const EXTRA_PLACES = 2;

let generation = 0;

function groupLabel(group, code) {
  if (code === null || code === undefined) return "Uppgift saknas";
  return group === "region" ? regionName(code) : label(group === "sex" ? "sex" : group, code);
}

/// The measure asked for: a ratio is already a share and is compared only as it is, so the
/// control offers the other measures only for indicators they apply to.
function chosenMeasure(indicator) {
  const select = $("i-per");
  const ratio = indicator.aggregation === "ratio";
  select.disabled = ratio;
  $("i-per-note").hidden = !ratio;
  if (ratio) select.value = "total";
  return select.value;
}

function indicatorPart({ id, title, answer, group, indicator, path, mine, per, places }) {
  const key = group;
  const measure = MEASURES[per];
  const mark = (code) => (mine && code === mine ? " (din region)" : "");
  const rows = answer.rows.map((row) => ({
    key: row[key] ?? "none",
    className: mine && row[key] === mine ? "mine" : null,
    cells: [
      { text: groupLabel(group, row[key]) + mark(row[key]), header: true },
      { text: number(row.value, places), field: "value", className: "num" },
      { text: number(row.target, places), field: "target", className: "num" },
      { text: number(row.reporting_projects, 0), field: "reporting", className: "num" },
      { text: number(row.projects, 0), field: "projects", className: "num" },
    ],
  }));
  const footer = [{
    key: "national",
    cells: [
      { text: "Riket", header: true },
      { text: number(answer.national.value, places), field: "value", className: "num" },
      { text: number(answer.national.target, places), field: "target", className: "num" },
      { text: number(answer.national.reporting_projects, 0), field: "reporting", className: "num" },
      { text: number(answer.national.projects, 0), field: "projects", className: "num" },
    ],
  }];
  if (answer.stats && group !== "period") {
    footer.push({
      key: "median",
      cells: [{ text: `Median${measure}`, header: true },
        { text: number(answer.stats.median, places), field: "value", className: "num" }, "", "", ""],
    });
  }
  const name = indicatorName(indicator);
  return el("section", { class: "part", "aria-labelledby": `${id}-title` },
    el("h3", { id: `${id}-title` }, `${title}: ${name}${measure}`),
    chartFigure(id, `${title}: ${indicator.name_sv} (${indicator.unit}${measure})`),
    table(`${title}: ${name}${measure}, ${answer.period.replace("..", "–")}`,
      [group === "period" ? "Halvår" : "Grupp", `Värde${measure}`, `Målvärde${measure}`,
        "Rapporterande projekt", "Projekt"],
      rows, footer),
    downloads(path, `${indicator.code}_${group}_${per}_${answer.period}`));
}

export async function renderIndikator() {
  const run = ++generation;
  const code = $("i-indicator").value;
  const period = $("i-period").value;
  const group = $("i-group").value;
  const indicator = reference.indicators.find((i) => i.code === code);
  if (!indicator) return;
  const per = chosenMeasure(indicator);
  const places = per === "total" ? indicator.decimals : indicator.decimals + EXTRA_PLACES;
  status("indikator", "Hämtar siffrorna …");
  delete document.body.dataset.ready;
  const all = `${reference.halfYears[0]}..${reference.halfYears.at(-1)}`;
  const parts = [
    { id: "i-groups", title: group === "region" ? "Per region" : `Per ${group === "sakomrade" ? "sakområde" : "bransch"}`, group, period },
    { id: "i-series", title: "Över tid", group: "period", period: all },
  ];
  if (indicator.by_sex) parts.push({ id: "i-sex", title: "Per kön", group: "sex", period });
  for (const part of parts) {
    part.path = `/aggregates?${api.query({ indicator: code, period: part.period, group_by: part.group, per })}`;
  }
  const answers = await Promise.all(parts.map((part) => api.get(part.path)));
  if (run !== generation) return;
  const mine = reference.caller.region;
  const container = $("indikator-parts");
  container.replaceChildren(...parts.map((part, index) => indicatorPart({
    ...part, answer: answers[index], indicator, per, places, mine: part.group === "region" ? mine : null,
  })));
  const measure = MEASURES[per];
  parts.forEach((part, index) => {
    const answer = answers[index];
    const marked = (row) => part.group === "region" && row.region === mine;
    const labels = answer.rows.map((row) =>
      groupLabel(part.group, row[part.group]) + (marked(row) ? " (din region)" : ""));
    const datasets = [{
      type: part.group === "period" ? "line" : "bar",
      label: `${indicator.name_sv}${measure}`,
      data: answer.rows.map((row) => row.value),
      backgroundColor: answer.rows.map((row) => (marked(row) ? COLOURS.mine : COLOURS.bar)),
      borderColor: COLOURS.line,
    }];
    const median = answer.stats?.median;
    if (part.group !== "period" && median !== undefined && median !== null) {
      datasets.push({
        type: "line",
        label: `Median${measure} ${number(median, places)}`,
        data: labels.map(() => median),
        borderColor: COLOURS.median,
        borderDash: [6, 4],
        pointRadius: 0,
      });
    }
    draw(part.id, { type: part.group === "period" ? "line" : "bar", data: { labels, datasets } });
  });
  status("indikator", `${indicatorName(indicator)}${measure}, ${period.replace("..", "–")}.`);
  document.body.dataset.ready = "indikator";
}
