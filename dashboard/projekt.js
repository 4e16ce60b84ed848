// Projekt: a region's projects, searched and filtered by their classification through the
// API, and one project's page (#projekt/07/REF): its classification, dates and amounts, each
// planned indicator's baseline, target and reported values, its narratives and versions.
// Every figure is the API's own; the page only places and formats them.

import * as api from "./api.js";
import { number } from "./format.js";
import { $, chartFigure, draw, el, label, reference, regionName, status, table } from "./ui.js";

const PAGE_SIZE = 25;
const COLOURS = { value: "#1f5f8b", target: "#a04a00", baseline: "#4a4a4a" };

/// The description's fields as a person names them, in the order a version's changes list them.
const FIELDS = [
  ["title", "Titel"],
  ["organisation", "Organisation"],
  ["status", "Status", "status"],
  ["project_type", "Projekttyp", "project_type"],
  ["sakomrade", "Sakområde", "sakomrade"],
  ["fokusomrade", "Fokusområde", "fokusomrade"],
  ["effektkedja", "Effektkedja", "effektkedja"],
  ["branscher", "Branscher", "bransch"],
  ["verktyg", "Verktyg", "verktyg"],
  ["syften", "Syften", "syfte"],
  ["start_date", "Startdatum"],
  ["end_date", "Slutdatum"],
  ["granted_sek", "Beviljat belopp"],
  ["total_budget_sek", "Total budget"],
  ["indicators", "Indikatorer (utgångsvärden, målvärden, mål och källor)"],
];

const TEXTS = [["progress", "Framsteg"], ["lessons", "Lärdomar"], ["deviations", "Avvikelser"]];

const when = new Intl.DateTimeFormat("sv-SE", {
  dateStyle: "short", timeStyle: "short", timeZone: "Europe/Stockholm",
});

let generation = 0;
let page = 1;
let left = null;
let catalogue = null;
let prepared = false;

function ownRegion() {
  return reference.caller.role === "region" ? reference.caller.region : null;
}

/// A code's name with the code beside it, as a person reads it and a support call quotes it.
function named(dimension, code) {
  if (code === null || code === undefined) return "–";
  return el("span", {}, label(dimension, code), " ", el("span", { class: "code" }, `(${code})`));
}

function namedList(dimension, codes) {
  if (!codes.length) return "–";
  return el("ul", { class: "plain" }, codes.map((code) => el("li", {}, named(dimension, code))));
}

function kronor(amount) {
  return `${number(amount, 0)} kr`;
}

/// The whole catalogue, retired indicators too: a project may have planned one before it was.
async function indicators() {
  if (!catalogue) {
    catalogue = new Map((await api.get("/indicators")).map((i) => [i.code, i]));
  }
  return catalogue;
}

function decimalsOf(code) {
  return catalogue.get(code)?.decimals ?? 2;
}

function indicatorName(code) {
  const indicator = catalogue.get(code);
  return indicator ? `${indicator.name_sv} (${code})` : code;
}

/// The region choice for the caller (a region's own is fixed), and the form's handlers once.
function prepare() {
  const chosen = $("p-region").value;
  $("p-region").replaceChildren(...[...reference.regions].map(([code, name]) =>
    el("option", { value: code }, name)));
  if (chosen) $("p-region").value = chosen;
  $("p-region-choice").hidden = Boolean(ownRegion());
  if (prepared) return;
  prepared = true;
  $("projekt-filters").addEventListener("submit", (event) => {
    event.preventDefault();
    page = 1;
    openList();
  });
  $("projekt-filters").addEventListener("change", (event) => {
    if (event.target.id === "p-q") return;
    page = 1;
    openList();
  });
}

/// Shows the list of the region chosen in the form.
function openList() {
  const region = ownRegion() ?? $("p-region").value;
  const route = `#projekt/${region}`;
  if (location.hash === route) render([region]).catch(fail);
  else location.hash = route;
}

function fail(error) {
  status("projekt", `Något gick fel: ${error.message}`);
}

/// `#projekt`, `#projekt/07` (a region's list) or `#projekt/07/REF` (one project's page).
export async function render([region, ref] = []) {
  prepare();
  const run = ++generation;
  delete document.body.dataset.ready;
  const chosen = region ? decodeURIComponent(region) : ownRegion() ?? $("p-region").value;
  if (ref) await showProject(run, chosen, decodeURIComponent(ref));
  else await showList(run, chosen);
}

function showing(page) {
  $("projekt-filters").hidden = page;
  $("projekt-list").hidden = page;
  $("projekt-page").hidden = !page;
}

/// An answer the API refused for this caller or this project, said in the view (in
/// `container`, with a way back to the caller's own projects).
function refused(run, error, what, container) {
  if (!(error instanceof api.ApiError) || ![403, 404].includes(error.status)) throw error;
  if (run !== generation) return;
  const text = error.status === 403
    ? `Du har inte behörighet att se ${what}. (${error.message})`
    : `${what[0].toUpperCase()}${what.slice(1)} finns inte. (${error.message})`;
  status("projekt", text);
  const own = ownRegion() ?? $("p-region").value;
  container.replaceChildren(
    el("p", { class: "error" }, text),
    el("p", {}, el("a", { href: `#projekt/${own}`, id: "projekt-back" }, `Till projekten i ${regionName(own)}`)));
  document.body.dataset.ready = "projekt-refused";
}

async function showList(run, region) {
  showing(false);
  $("p-region").value = region;
  const form = new FormData($("projekt-filters"));
  const filters = Object.fromEntries([...form.entries()]
    .filter(([name]) => name !== "region")
    .map(([name, value]) => [name, value.trim()]));
  status("projekt", "Hämtar projekten …");
  let answer;
  try {
    answer = await api.get(`/regions/${region}/projects?${api.query({ ...filters, page, page_size: PAGE_SIZE })}`);
  } catch (error) {
    refused(run, error, `projekten i ${regionName(region)}`, $("projekt-list"));
    return;
  }
  if (run !== generation) return;
  const rows = answer.items.map((project) => ({
    key: project.ref,
    cells: [
      { text: el("a", { href: `#projekt/${region}/${encodeURIComponent(project.ref)}` }, project.ref), header: true, field: "ref", className: "nowrap" },
      { text: project.title, field: "title" },
      { text: project.organisation, field: "organisation" },
      { text: label("sakomrade", project.sakomrade), field: "sakomrade" },
      { text: label("effektkedja", project.effektkedja), field: "effektkedja" },
      { text: label("status", project.status), field: "status" },
      { text: `${project.start_date} – ${project.end_date}`, field: "dates", className: "nowrap" },
      { text: kronor(project.granted_sek), field: "granted", className: "num" },
    ],
  }));
  const pages = Math.max(1, Math.ceil(answer.total / answer.page_size));
  const pager = el("div", { class: "pager" },
    el("button", {
      type: "button", disabled: answer.page <= 1,
      onclick: () => { page -= 1; render([region]).catch(fail); },
    }, "Föregående sida"),
    el("span", {}, `Sida ${answer.page} av ${pages}`),
    el("button", {
      type: "button", disabled: answer.page >= pages,
      onclick: () => { page += 1; render([region]).catch(fail); },
    }, "Nästa sida"));
  $("projekt-list").replaceChildren(
    table(`Projekt i ${regionName(region)}, sida ${answer.page} av ${pages}`,
      ["Ref", "Titel", "Organisation", "Sakområde", "Effektkedja", "Status", "Period", "Beviljat"],
      rows),
    ...(pages > 1 ? [pager] : []));
  status("projekt", answer.total === 1
    ? `1 projekt i ${regionName(region)}.`
    : `${number(answer.total, 0)} projekt i ${regionName(region)}.`);
  document.title = `Projekt i ${regionName(region)} – Uppföljning av regionala tillväxtprojekt`;
  const back = left && document.querySelector(`#projekt-list tr[data-key="${CSS.escape(left)}"] a`);
  if (back) back.focus();
  left = null;
  document.body.dataset.ready = "projekt";
}

async function showProject(run, region, ref) {
  showing(true);
  $("projekt-page").replaceChildren();
  status("projekt", `Hämtar projektet ${ref} …`);
  const path = `/regions/${region}/projects/${encodeURIComponent(ref)}`;
  let project;
  let history;
  let versions;
  try {
    [project, history, versions] = await Promise.all([
      api.get(path), api.get(`${path}/history`), api.get(`${path}/versions`), indicators(),
    ]);
  } catch (error) {
    refused(run, error, `projektet ${ref} i ${regionName(region)}`, $("projekt-page"));
    return;
  }
  if (run !== generation) return;
  left = ref;
  const charts = [];
  $("projekt-page").replaceChildren(
    backLink(region),
    el("h3", { id: "projekt-heading", tabindex: "-1" }, `${project.ref} – ${project.title}`),
    facts(project),
    plans(project, charts),
    otherValues(project),
    narratives(project),
    versionTable(versions),
    historyTable(history));
  for (const chart of charts) draw(chart.id, chart.config);
  status("projekt", `Projektet ${project.ref} i ${regionName(region)}.`);
  document.title = `${project.ref} ${project.title} – Uppföljning av regionala tillväxtprojekt`;
  $("projekt-heading").focus();
  document.body.dataset.ready = "projekt-project";
}

function backLink(region) {
  return el("p", {}, el("a", { href: `#projekt/${region}`, id: "projekt-back" },
    `Tillbaka till projekten i ${regionName(region)}`));
}

function facts(project) {
  const rows = [
    ["Region", regionName(project.region)],
    ["Organisation", project.organisation],
    ["Status", named("status", project.status)],
    ["Projekttyp", named("project_type", project.project_type)],
    ["Sakområde", named("sakomrade", project.sakomrade)],
    ["Fokusområde", named("fokusomrade", project.fokusomrade)],
    ["Effektkedja", named("effektkedja", project.effektkedja)],
    ["Branscher", namedList("bransch", project.branscher)],
    ["Verktyg", namedList("verktyg", project.verktyg)],
    ["Syften", namedList("syfte", project.syften)],
    ["Startdatum", project.start_date],
    ["Slutdatum", project.end_date],
    ["Beviljat belopp", kronor(project.granted_sek)],
    ["Total budget", kronor(project.total_budget_sek)],
  ];
  return el("section", { "aria-labelledby": "projekt-facts" },
    el("h4", { id: "projekt-facts" }, "Uppgifter"),
    el("dl", { class: "facts" }, rows.flatMap(([term, value]) =>
      [el("dt", {}, term), el("dd", { "data-field": term }, value)])));
}

/// The half-years the project is dated into, and any other it has a value for.
function halfYearsOf(project) {
  const dated = reference.halfYears.filter((id) => {
    const [year, half] = id.split("H");
    const start = half === "1" ? `${year}-01-01` : `${year}-07-01`;
    const end = half === "1" ? `${year}-06-30` : `${year}-12-31`;
    return start <= project.end_date && end >= project.start_date;
  });
  return [...new Set([...dated, ...project.values.map((v) => v.period)])].sort();
}

function plans(project, charts) {
  const periods = halfYearsOf(project);
  const parts = project.indicators.map((plan, index) => {
    const indicator = catalogue.get(plan.indicator);
    const decimals = decimalsOf(plan.indicator);
    const values = new Map(project.values
      .filter((v) => v.indicator === plan.indicator).map((v) => [v.period, v]));
    const bySex = indicator?.by_sex ?? false;
    const name = indicatorName(plan.indicator);
    const id = `projekt-chart-${index}`;
    const rows = [
      {
        key: "baseline",
        cells: [{ text: plan.baseline_year ? `Utgångsvärde (${plan.baseline_year})` : "Utgångsvärde", header: true },
          { text: number(plan.baseline, decimals), field: "value", className: "num" },
          ...(bySex ? ["", "", ""] : []), ""],
      },
      {
        key: "target",
        cells: [{ text: "Målvärde", header: true },
          { text: number(plan.target, decimals), field: "value", className: "num" },
          ...(bySex ? ["", "", ""] : []), ""],
      },
      ...periods.map((period) => {
        const value = values.get(period);
        return {
          key: period,
          cells: [{ text: period, header: true },
            { text: number(value?.value, decimals), field: "value", className: "num" },
            ...(bySex ? [
              { text: number(value?.by_sex?.kvinnor, decimals), field: "kvinnor", className: "num" },
              { text: number(value?.by_sex?.man, decimals), field: "man", className: "num" },
              { text: number(value?.by_sex?.ej_angivet, decimals), field: "ej_angivet", className: "num" },
            ] : []),
            { text: value?.comment ?? "", field: "comment" }],
        };
      }),
    ];
    charts.push({
      id,
      config: {
        type: "bar",
        data: {
          labels: periods,
          datasets: [
            { type: "bar", label: "Rapporterat värde", data: periods.map((p) => values.get(p)?.value ?? null), backgroundColor: COLOURS.value },
            { type: "line", label: "Målvärde", data: periods.map(() => plan.target), borderColor: COLOURS.target, pointRadius: 0 },
            { type: "line", label: "Utgångsvärde", data: periods.map(() => plan.baseline), borderColor: COLOURS.baseline, borderDash: [6, 4], pointRadius: 0 },
          ],
        },
        options: { scales: { y: { beginAtZero: true } } },
      },
    });
    const unit = indicator ? `, ${indicator.unit}` : "";
    return el("section", { class: "plan", "data-indicator": plan.indicator, "aria-labelledby": `${id}-title` },
      el("h5", { id: `${id}-title` }, name),
      plan.goal || plan.source ? el("p", {},
        plan.goal ? `Mål: ${plan.goal}. ` : "", plan.source ? `Källa: ${plan.source}.` : "") : null,
      el("div", { class: "beside" },
        chartFigure(id, `${name}: rapporterat värde per halvår mot målvärdet${unit}`),
        table(`${name}: utgångsvärde, målvärde och rapporterade värden per halvår${unit}`,
          ["Avser", "Värde", ...(bySex ? ["Kvinnor", "Män", "Ej angivet"] : []), "Kommentar"], rows)));
  });
  return el("section", { "aria-labelledby": "projekt-plans" },
    el("h4", { id: "projekt-plans" }, "Indikatorer"),
    parts.length ? parts : el("p", {}, "Projektet har inga planerade indikatorer."));
}

/// Values of indicators the project has no plan for (national indicators every project of
/// its effektkedja reports, for instance).
function otherValues(project) {
  const planned = new Set(project.indicators.map((p) => p.indicator));
  const other = project.values.filter((v) => !planned.has(v.indicator));
  if (!other.length) return null;
  const rows = other.map((value) => ({
    key: `${value.indicator}-${value.period}`,
    cells: [{ text: indicatorName(value.indicator), header: true },
      value.period,
      { text: number(value.value, decimalsOf(value.indicator)), field: "value", className: "num" },
      { text: value.comment ?? "", field: "comment" }],
  }));
  return el("section", { "aria-labelledby": "projekt-other" },
    el("h4", { id: "projekt-other" }, "Andra rapporterade värden"),
    table("Rapporterade värden för indikatorer utan plan i projektet", ["Indikator", "Halvår", "Värde", "Kommentar"], rows));
}

function narratives(project) {
  const items = project.narratives.map((narrative) => el("section", {
    class: "narrative", "data-period": narrative.period, "aria-labelledby": `narrative-${narrative.period}`,
  },
  el("h5", { id: `narrative-${narrative.period}` }, narrative.period),
  el("dl", {}, TEXTS.flatMap(([field, term]) =>
    [el("dt", {}, term), el("dd", { "data-field": field }, narrative[field] || "–")])),
  el("p", { class: "muted" }, `Senast ändrad ${when.format(new Date(narrative.updated_at))} av ${narrative.updated_by}`)));
  return el("section", { "aria-labelledby": "projekt-narratives" },
    el("h4", { id: "projekt-narratives" }, "Lägesbeskrivningar per halvår"),
    items.length ? items : el("p", {}, "Inga lägesbeskrivningar är rapporterade."));
}

function shown(field, value) {
  const dimension = FIELDS.find(([name]) => name === field)?.[2];
  if (value === null || value === undefined) return "–";
  if (Array.isArray(value)) return value.map((code) => label(dimension, code)).join(", ") || "–";
  if (dimension) return label(dimension, value);
  if (field.endsWith("_sek")) return kronor(value);
  return String(value);
}

/// What changed from the version before: each field that differs, with its values when it
/// is one value (an indicator plan is named only).
function changes(before, after) {
  if (!before) return "Projektet lades in.";
  const changed = FIELDS.filter(([field]) => JSON.stringify(before[field]) !== JSON.stringify(after[field]));
  if (!changed.length) return "Ingen ändring i beskrivningen.";
  return el("ul", { class: "plain" }, changed.map(([field, term]) => el("li", {},
    field === "indicators" ? term : `${term}: ${shown(field, before[field])} → ${shown(field, after[field])}`)));
}

function versionTable(versions) {
  const rows = versions.map((version, index) => ({
    key: String(version.valid_from),
    cells: [
      { text: String(version.valid_from), header: true, field: "version" },
      { text: when.format(new Date(version.changed_at)), field: "changed_at" },
      { text: version.changed_by, field: "changed_by" },
      { text: changes(versions[index - 1], version), field: "changes" },
    ],
  }));
  return el("section", { "aria-labelledby": "projekt-versions" },
    el("h4", { id: "projekt-versions" }, "Versioner"),
    table("Projektets versioner, äldst först: vad som ändrades, av vem och när",
      ["Dataversion", "När", "Av", "Vad ändrades"], rows));
}

function historyTable(history) {
  const rows = history.map((entry, index) => {
    const what = entry.kind === "value"
      ? `${indicatorName(entry.indicator)}, ${entry.period}: ${entry.old_value === null ? "nytt värde" : number(entry.old_value, decimalsOf(entry.indicator))} → ${number(entry.new_value, decimalsOf(entry.indicator))}`
      : `Lägesbeskrivning ${entry.period}: ${entry.old ? "ändrad" : "ny"}`;
    return {
      key: String(index),
      cells: [
        { text: when.format(new Date(entry.changed_at)), header: true, field: "changed_at" },
        { text: entry.changed_by, field: "changed_by" },
        { text: what, field: "what" },
      ],
    };
  });
  return el("section", { "aria-labelledby": "projekt-history" },
    el("h4", { id: "projekt-history" }, "Ändringar av värden och lägesbeskrivningar"),
    rows.length
      ? table("Ändrade värden och lägesbeskrivningar, äldst först", ["När", "Av", "Vad"], rows)
      : el("p", {}, "Inga värden eller lägesbeskrivningar är rapporterade."));
}
