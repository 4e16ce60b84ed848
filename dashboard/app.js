// The dashboard: four views over the API's own answers (no second source of figures).
// Every figure drawn in a chart is also in a table beside it, and downloadable from the API.

import * as api from "./api.js";
import { number, percent } from "./format.js";
import { renderIndikator } from "./indikator.js";
import * as rapportering from "./rapportering.js";
import * as projekt from "./projekt.js";
import {
  $, COLOURS, downloads, draw, el, errors, fillChart, indicatorName, reference, regionName, status,
  table,
} from "./ui.js";

const generation = { oversikt: 0 };

// ---------------------------------------------------------------------------------------
// Sign-in

function showSignIn(message = "") {
  delete document.body.dataset.ready;
  for (const section of document.querySelectorAll("main > section")) section.hidden = true;
  $("nav").hidden = true;
  $("who").hidden = true;
  $("sign-out").hidden = true;
  $("sign-in").hidden = false;
  $("sign-in-error").textContent = message;
  $("token").value = "";
  $("token").focus();
}

function failed(error) {
  if (error instanceof api.ApiError && error.status === 401) {
    api.signOut();
    showSignIn(`Inloggningen gick inte igenom: ${error.message}`);
    return;
  }
  const view = location.hash.slice(1).split("/")[0] || "oversikt";
  const target = $(`${view}-status`);
  if (target) target.textContent = `Något gick fel: ${error.message}`;
}

const ROLES = {
  national: "Tillväxtverket (nationell)",
  admin: "Administratör",
  region: "Region",
  scheduler: "Schemalagt jobb",
};

/// The reference data every view names codes with.
function askReference() {
  return Promise.all([
    api.get("/classifications"),
    api.get("/indicators"),
    api.get("/regions"),
    api.get("/periods"),
  ]);
}

/// Shows the signed-in dashboard; `asked` is the reference data if already asked for.
async function enter(asked = askReference()) {
  const [classifications, indicators, regions, periods] = await asked;
  reference.classifications = classifications;
  reference.indicators = indicators.filter((i) => i.active);
  reference.regions = new Map(regions.map((r) => [r.code, r.name]));
  reference.halfYears = periods.filter((p) => p.kind === "half_year").map((p) => p.id).sort();
  reference.caller = api.caller();
  const today = new Date().toISOString().slice(0, 10);
  const started = periods.filter((p) => p.kind === "half_year" && p.start_date <= today);
  reference.current = started.length ? started.map((p) => p.id).sort().at(-1) : reference.halfYears.at(-1);

  $("sign-in").hidden = true;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  const who = reference.caller;
  $("who").hidden = false;
  $("who").textContent = who.region
    ? `Inloggad: ${ROLES[who.role] ?? who.role} ${regionName(who.region)}`
    : `Inloggad: ${ROLES[who.role] ?? who.role ?? "okänd roll"}`;
  fillSelects();
  await show(location.hash.slice(1) || "oversikt");
}

// ---------------------------------------------------------------------------------------
// Choices

/// Half-years, years, and ranges from each year to the last half-year.
function periodOptions(select, chosen) {
  const years = [...new Set(reference.halfYears.map((h) => h.slice(0, 4)))];
  const last = reference.halfYears.at(-1);
  const ranges = years.slice(0, -1).map((year) => {
    const first = reference.halfYears.find((h) => h.startsWith(year));
    return el("option", { value: `${first}..${last}` }, `${first}–${last}`);
  });
  select.replaceChildren(
    el("optgroup", { label: "Halvår" },
      reference.halfYears.slice().reverse().map((h) => el("option", { value: h }, h))),
    el("optgroup", { label: "År" }, years.slice().reverse().map((y) => el("option", { value: y }, y))),
    el("optgroup", { label: "Intervall" }, ranges));
  select.value = chosen;
}

function fillSelects() {
  periodOptions($("o-period"), reference.current);
  periodOptions($("i-period"), reference.current);
  for (const select of document.querySelectorAll("select[data-codes]")) {
    const codes = reference.classifications[select.dataset.codes] ?? [];
    select.replaceChildren(el("option", { value: "" }, "Alla"),
      ...codes.map((c) => el("option", { value: c.code }, c.label_sv)));
  }
  $("i-indicator").replaceChildren(...reference.indicators.map((i) =>
    el("option", { value: i.code }, indicatorName(i))));
  rapportering.prepare();
}

// ---------------------------------------------------------------------------------------
// Översikt

const LEVELS = () => reference.classifications.levels ?? [];

async function renderOversikt() {
  const run = ++generation.oversikt;
  const form = new FormData($("oversikt-filters"));
  const filters = Object.fromEntries(form.entries());
  status("oversikt", "Hämtar siffrorna …");
  delete document.body.dataset.ready;
  const levels = LEVELS().map((l) => l.code);
  const indicators = reference.indicators.slice().sort((a, b) =>
    levels.indexOf(a.level) - levels.indexOf(b.level) || a.code.localeCompare(b.code));
  // Every indicator in one request: one round trip, and the service computes them together.
  const asked = api.get(`/aggregates/overview?${api.query(filters)}`);
  // Each indicator's own question, for its downloads.
  const paths = indicators.map((i) => `/aggregates?${api.query({ indicator: i.code, ...filters })}`);
  // The chart's axes and names while the figures are computed; the answers only fill it.
  draw("oversikt-chart", {
    type: "bar",
    data: {
      labels: indicators.map(indicatorName),
      datasets: [{ label: "Andel av målvärdet (%)", data: indicators.map(() => null), backgroundColor: COLOURS.bar }],
    },
    options: {
      indexAxis: "y",
      plugins: { legend: { display: false } },
      // Shares far above the target would flatten the others: the axis ends at 200 %, the
      // table has every share.
      scales: { x: { min: 0, max: 200, ticks: { callback: (value) => `${value} %` } } },
    },
  });
  const byCode = new Map((await asked).map((answer) => [answer.indicator.code, answer]));
  if (run !== generation.oversikt) return;
  // An indicator made inactive since the page read the catalogue has no answer: dashes.
  const answers = indicators.map((indicator) => byCode.get(indicator.code)?.national ?? {});

  const tables = [];
  for (const level of LEVELS()) {
    const rows = [];
    indicators.forEach((indicator, index) => {
      if (indicator.level !== level.code) return;
      const national = answers[index];
      const name = `${indicator.code}_${filters.period}`;
      rows.push({
        key: indicator.code,
        cells: [
          { text: indicatorName(indicator), header: true },
          indicator.unit,
          { text: number(national.value, indicator.decimals), field: "value", className: "num" },
          { text: number(national.target, indicator.decimals), field: "target", className: "num" },
          { text: percent(national.target_share), field: "share", className: "num" },
          { text: `${number(national.reporting_projects, 0)} av ${number(national.projects, 0)}`, field: "reporting" },
          { text: percent(national.reporting_share), field: "coverage", className: "num" },
          { text: downloads(paths[index], name) },
        ],
      });
    });
    if (!rows.length) continue;
    tables.push(el("h3", {}, level.label_sv), table(
      `${level.label_sv}: nationellt värde, målvärde och täckning för ${filters.period.replace("..", "–")}`,
      ["Indikator", "Enhet", "Nationellt värde", "Målvärde", "Andel av mål", "Rapporterande projekt", "Täckning", "Ladda ner"],
      rows));
  }
  $("oversikt-tables").replaceChildren(...tables);
  fillChart("oversikt-chart", [answers.map((national) => national.target_share ?? null)]);
  status("oversikt", `${indicators.length} indikatorer för ${filters.period.replace("..", "–")}.`);
  performance.mark("oversikt-klar");
  document.body.dataset.ready = "oversikt";
}

// ---------------------------------------------------------------------------------------
// Navigation

const VIEWS = {
  oversikt: renderOversikt,
  indikator: renderIndikator,
  rapportering: rapportering.render,
  projekt: projekt.render,
};

/// Shows the view a route names: `view`, or `view/…` whose rest the view reads (a deep link).
async function show(route) {
  let [view, ...path] = route.split("/");
  if (!VIEWS[view]) [view, path] = ["oversikt", []];
  for (const name of Object.keys(VIEWS)) $(name).hidden = name !== view;
  for (const button of document.querySelectorAll("#nav button")) {
    if (button.dataset.view === view) button.setAttribute("aria-current", "page");
    else button.removeAttribute("aria-current");
  }
  const hash = `#${[view, ...path].join("/")}`;
  if (location.hash !== hash) history.replaceState(null, "", hash);
  const name = document.querySelector(`#nav button[data-view=${view}]`).textContent;
  document.title = `${name} – Uppföljning av regionala tillväxtprojekt`;
  try {
    await VIEWS[view](path);
  } catch (error) {
    failed(error);
  }
}

function start() {
  errors.failed = failed;
  $("sign-in-form").addEventListener("submit", (event) => {
    event.preventDefault();
    api.signIn($("token").value);
    enter().catch(failed);
  });
  $("sign-out").addEventListener("click", () => {
    api.signOut();
    showSignIn();
  });
  for (const button of document.querySelectorAll("#nav button")) {
    button.addEventListener("click", () => {
      show(button.dataset.view);
      $("main").focus();
    });
  }
  $("oversikt-filters").addEventListener("change", () => renderOversikt().catch(failed));
  $("indikator-filters").addEventListener("change", () => renderIndikator().catch(failed));
  $("provider-login").addEventListener("click", () => location.assign("/auth/login"));
  // Links within a view (a project in the list, back to the list) and the browser's back.
  window.addEventListener("hashchange", () => {
    if (api.signedIn() && !$("nav").hidden) show(location.hash.slice(1));
  });
  // With a token pasted in this tab the reference data is asked for beside the session, not
  // after it: one round trip less before the first figure. Its answer is used only where the
  // service takes pasted tokens (with an identity provider none is ever pasted).
  const early = api.pastedToken() ? askReference() : null;
  early?.catch(() => {});
  api
    .start()
    .then(() => {
      $("provider-sign-in").hidden = !api.usesProvider();
      $("token-sign-in").hidden = api.usesProvider();
      if (api.signedIn()) enter(!api.usesProvider() && early ? early : askReference()).catch(failed);
      else showSignIn();
    })
    .catch(failed);
}

start();
