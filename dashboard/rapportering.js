// Rapportering: the year's reports of every region at a glance, and the workspace of one
// region's half-year report: its workbook downloaded and uploaded (a dry run first, every
// error by sheet and cell or line, then stored with one more click), what is missing,
// sign-off and withdrawal for the region, acceptance and return for Tillväxtverket, and the
// report's history. The page offers what the report says the caller may do (`may_*`); the
// API still decides. Every transition sends the revision read as If-Match.

import * as api from "./api.js";
import { number } from "./format.js";
import { $, el, failed, reference, regionName, status, table } from "./ui.js";

const STATES = {
  open: "Öppen",
  submitted: "Inskickad",
  accepted: "Godkänd",
  returned: "Återsänd",
};

const ROLES = { region: "region", national: "Tillväxtverket", admin: "administratör" };

const XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

const STALE = "Någon annan har ändrat rapporten sedan du läste den. Den har laddats om: "
  + "se hur den ser ut nu och gör om det du ville.";

let generation = 0;
let reportGeneration = 0;

/// The report in the workspace: which, the revision read, and the file being checked.
const workspace = { region: null, period: null, etag: null, file: null };

// ---------------------------------------------------------------------------------------
// The year at a glance

async function showMissing(region, period) {
  const detail = $("rapportering-detail");
  detail.replaceChildren(el("p", {}, "Hämtar …"));
  try {
    const report = await api.get(`/regions/${region}/reports/${period}`);
    const items = report.missing_by_project.map((project) => el("li", {},
      `${project.ref}: ${project.indicators.length ? project.indicators.join(", ") : "inga värden saknas"}`
      + (project.narrative ? "; berättelse saknas" : "")));
    detail.replaceChildren(
      el("h3", { id: "missing-title", tabindex: "-1" }, `Saknas för ${regionName(region)} ${period}`),
      items.length ? el("ul", {}, items) : el("p", {}, "Inget saknas."));
    $("missing-title").focus();
  } catch (error) {
    failed(error);
  }
}

async function renderYear() {
  const run = ++generation;
  const year = $("r-year").value;
  const halfYears = reference.halfYears.filter((h) => h.startsWith(year));
  status("rapportering", "Hämtar rapporteringen …");
  delete document.body.dataset.ready;
  const [completeness, reports] = await Promise.all([
    Promise.all(halfYears.map((h) => api.get(`/completeness?period=${h}`))),
    Promise.all(halfYears.map((h) => api.get(`/reports?period=${h}`))),
  ]);
  if (run !== generation) return;
  const mine = reference.caller.region;
  const rows = [...reference.regions.keys()].map((region) => ({
    key: region,
    className: region === mine ? "mine" : null,
    cells: [
      { text: regionName(region) + (region === mine ? " (din region)" : ""), header: true },
      ...halfYears.flatMap((halfYear, index) => {
        const counts = completeness[index].regions.find((r) => r.region === region);
        const report = reports[index].find((r) => r.region === region);
        const missing = report ? report.missing : counts?.missing_values ?? 0;
        const state = report?.state ?? counts?.reports?.[halfYear];
        const reported = counts
          ? `${number(counts.reported_values, 0)} av ${number(counts.required_values, 0)}`
          : "–";
        const action = report && missing > 0
          ? el("button", {
            type: "button",
            "aria-label": `Visa vad som saknas för ${regionName(region)} ${halfYear}`,
            onclick: () => showMissing(region, halfYear),
          }, `Saknas: ${number(missing, 0)}`)
          : missing > 0 ? `Saknas: ${number(missing, 0)}` : "Komplett";
        return [
          { text: state ? STATES[state] ?? state : "–", field: `state-${halfYear}`, className: `state ${state ?? ""}` },
          { text: reported, field: `reported-${halfYear}`, className: "num" },
          { text: action, field: `missing-${halfYear}` },
        ];
      }),
    ],
  }));
  const headers = ["Region", ...halfYears.flatMap((h) => [`${h} status`, `${h} rapporterade värden`, `${h} saknas`])];
  $("rapportering-table").replaceChildren(table(
    `Rapporteringen ${year} per region och halvår: rapportens status, rapporterade av begärda värden och vad som saknas`,
    headers, rows));
  status("rapportering", `${reference.regions.size} regioner, ${halfYears.join(" och ")}.`);
}

// ---------------------------------------------------------------------------------------
// Dialogs

/// A modal dialog asking to confirm, with a comment field when `label` is given (required
/// when `required`). Resolves to the comment ("" without one), or null when cancelled.
function ask({ title, text, label, required = false, confirm }) {
  return new Promise((resolve) => {
    const field = label
      ? el("textarea", { id: "r-dialog-comment", rows: 4, maxlength: 2000, "aria-required": required ? "true" : null,
        "aria-describedby": "r-dialog-error" })
      : null;
    const error = el("p", { class: "error", id: "r-dialog-error", role: "alert" });
    let dialog;
    const finish = (value) => {
      if (!dialog.open) return;
      dialog.close();
      dialog.remove();
      resolve(value);
    };
    const form = el("form", {
      onsubmit: (event) => {
        event.preventDefault();
        const comment = field ? field.value.trim() : "";
        if (required && !comment) {
          error.textContent = "Skriv en motivering: den behövs för att gå vidare.";
          field.focus();
          return;
        }
        finish(comment);
      },
    },
    el("h3", { id: "r-dialog-title" }, title),
    el("p", { id: "r-dialog-text" }, text),
    field ? [el("label", { for: "r-dialog-comment" }, label + (required ? " (krävs)" : " (frivillig)")), field] : null,
    error,
    el("div", { class: "actions" },
      el("button", { type: "submit" }, confirm),
      el("button", { type: "button", onclick: () => finish(null) }, "Avbryt")));
    dialog = el("dialog", { id: "r-dialog", "aria-labelledby": "r-dialog-title", "aria-describedby": "r-dialog-text" }, form);
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault();
      finish(null);
    });
    document.body.append(dialog);
    dialog.showModal();
    (field ?? form.querySelector("button")).focus();
  });
}

// ---------------------------------------------------------------------------------------
// The report: state, actions, what is missing, history

/// Replaces the children of `id`, leaving out those not there (null).
function fill(id, ...children) {
  $(id).replaceChildren(...children.flat().filter((child) => child !== null && child !== undefined));
}

function alert(text) {
  $("r-alert").textContent = text;
}

function done(text) {
  $("r-done").textContent = text;
}

function missingText(items) {
  return items.map((project) => {
    const parts = [];
    if (project.indicators.length) parts.push(project.indicators.map(indicatorName).join(", "));
    if (project.narrative) parts.push("halvårets berättelse");
    return `${project.ref}: ${parts.join("; ")}`;
  });
}

function indicatorName(code) {
  const indicator = reference.indicators.find((i) => i.code === code);
  return indicator ? `${indicator.name_sv} (${code})` : code;
}

function when(at) {
  return new Date(at).toLocaleString("sv-SE", { dateStyle: "short", timeStyle: "short" });
}

/// The transitions the report says the caller may make, as buttons.
function actions(report) {
  const place = `${regionName(report.region)} ${report.period}`;
  const buttons = [];
  if (report.may_submit) {
    buttons.push(el("button", { type: "button", id: "r-submit", onclick: () => submit(report) },
      "Skicka in rapporten"));
  }
  if (report.may_withdraw) {
    buttons.push(el("button", { type: "button", id: "r-withdraw", onclick: () => transition(report, "withdraw", {
      title: "Ta tillbaka inskickningen",
      text: `Rapporten för ${place} blir öppen igen och kan ändras.`,
      label: "Kommentar",
      confirm: "Ta tillbaka",
    }) }, "Ta tillbaka inskickningen"));
  }
  if (report.may_accept) {
    buttons.push(el("button", { type: "button", id: "r-accept", onclick: () => transition(report, "accept", {
      title: "Godkänn rapporten",
      text: `Rapporten för ${place} godkänns; siffrorna räknas då som godkända.`,
      label: "Kommentar",
      confirm: "Godkänn",
    }) }, "Godkänn"));
  }
  if (report.may_return) {
    buttons.push(el("button", { type: "button", id: "r-return", onclick: () => transition(report, "return", {
      title: "Återsänd rapporten",
      text: `Rapporten för ${place} skickas tillbaka till regionen, som kan ändra och skicka in igen.`,
      label: "Vad ska regionen rätta?",
      required: true,
      confirm: "Återsänd",
    }) }, "Återsänd med kommentar"));
  }
  if (!buttons.length) return el("p", { id: "r-actions" }, "Du kan inte göra något med rapporten i dess nuvarande läge.");
  return el("div", { class: "actions", id: "r-actions", role: "group", "aria-label": `Åtgärder för rapporten ${place}` },
    buttons);
}

async function submit(report) {
  const place = `${regionName(report.region)} ${report.period}`;
  const incomplete = report.missing > 0;
  const question = incomplete
    ? {
      title: "Skicka in en ofullständig rapport",
      text: `${number(report.missing, 0)} begärda uppgifter saknas för ${place}. Du kan skicka in ändå om du skriver varför; det som saknas sparas i historiken.`,
      label: "Varför saknas uppgifterna?",
      required: true,
      confirm: "Skicka in som ofullständig",
    }
    : {
      title: "Skicka in rapporten",
      text: `Rapporten för ${place} är komplett. När den är inskickad kan regionens uppgifter för halvåret inte ändras förrän den tas tillbaka eller återsänds.`,
      label: "Kommentar",
      confirm: "Skicka in",
    };
  await transition(report, "submit", question, { incomplete });
}

const DONE = {
  submit: "Rapporten är inskickad.",
  withdraw: "Inskickningen är tillbakatagen.",
  accept: "Rapporten är godkänd.",
  return: "Rapporten är återsänd till regionen.",
};

/// Asks, then makes the transition with the revision read; a 412 reloads the report.
async function transition(report, name, question, extra = {}) {
  const comment = await ask(question);
  if (comment === null) {
    $(`r-${name}`)?.focus();
    return;
  }
  alert("");
  done("");
  const body = { ...extra };
  if (comment) body.comment = comment;
  try {
    await api.post(`/regions/${report.region}/reports/${report.period}/${name}`, body,
      { "If-Match": workspace.etag });
    done(DONE[name]);
  } catch (error) {
    if (!(error instanceof api.ApiError) || error.status === 401) {
      failed(error);
      return;
    }
    alert(error.status === 412 ? STALE : `Det gick inte: ${error.message}`);
  }
  await renderReport().catch(failed);
  $("r-report-title")?.focus();
}

function history(report) {
  if (!report.history.length) return el("p", {}, "Rapporten har ingen historik än.");
  const rows = report.history.slice().reverse().map((event, index) => ({
    key: String(report.history.length - index),
    cells: [
      { text: when(event.at), header: true },
      `${STATES[event.from] ?? event.from} → ${STATES[event.to] ?? event.to}`,
      `${event.by} (${ROLES[event.role] ?? event.role})`,
      { text: event.comment ?? "–", field: "comment" },
      { text: event.missing ? el("ul", {}, missingText(event.missing).map((line) => el("li", {}, line))) : "–", field: "missing" },
    ],
  }));
  return table(`Historik för ${regionName(report.region)} ${report.period}, senaste först`,
    ["När", "Ändring", "Vem", "Kommentar", "Saknades"], rows);
}

/// The latest return's comment, for the region to read first.
function returnedNotice(report) {
  if (report.state !== "returned") return null;
  const event = report.history.filter((e) => e.to === "returned").at(-1);
  if (!event) return null;
  return el("div", { class: "notice", id: "r-returned" },
    el("p", {}, el("strong", {}, `Återsänd av ${event.by} ${when(event.at)}:`)),
    el("p", {}, event.comment ?? ""));
}

async function renderReport() {
  const run = ++reportGeneration;
  const { region, period } = workspace;
  const answer = await api.read(`/regions/${region}/reports/${period}`);
  if (run !== reportGeneration) return;
  const report = answer.body;
  workspace.etag = answer.etag;
  const state = STATES[report.state] ?? report.state;
  fill("r-summary",
    el("h3", { id: "r-report-title", tabindex: "-1" }, `Rapporten för ${regionName(region)} ${period}`),
    el("p", {}, "Status: ", el("strong", { id: "r-state", class: `state ${report.state}` }, state),
      ` · ${number(report.projects, 0)} projekt · ${number(report.values, 0)} rapporterade värden · `,
      el("span", { id: "r-missing-count" }, `${number(report.missing, 0)} saknas`)),
    returnedNotice(report),
    actions(report));
  const missing = report.missing_by_project;
  $("r-details").replaceChildren(
    el("h4", {}, "Det här saknas"),
    missing.length
      ? el("ul", { id: "r-missing" }, missingText(missing).map((line) => el("li", {}, line)))
      : el("p", { id: "r-missing" }, "Inget saknas: alla begärda värden och berättelser är rapporterade."),
    el("h4", {}, "Historik"),
    history(report));
  if (reviews()) await renderReview();
  document.body.dataset.report = `${region}:${period}:${report.revision}`;
}

// ---------------------------------------------------------------------------------------
// Tillväxtverket: the half-year's reports, and every submitted one accepted at once

function reviews() {
  return reference.caller.role === "national" || reference.caller.role === "admin";
}

/// The reports signed off at least once (the open ones are reached through the region
/// choice), and every submitted one accepted at once.
async function renderReview() {
  const { period } = workspace;
  const reports = await api.get(`/reports?period=${period}`);
  const submitted = reports.filter((r) => r.state === "submitted" && r.may_accept);
  const handled = reports.filter((r) => r.state !== "open");
  const open = reports.length - handled.length;
  const rows = handled.map((report) => ({
    key: report.region,
    className: report.region === workspace.region ? "chosen" : null,
    cells: [
      { text: regionName(report.region), header: true },
      { text: STATES[report.state] ?? report.state, field: "state", className: `state ${report.state}` },
      { text: number(report.missing, 0), field: "missing", className: "num" },
      { text: el("button", {
        type: "button",
        "aria-label": `Öppna rapporten för ${regionName(report.region)}`,
        onclick: () => openReport(report.region),
      }, "Öppna") },
    ],
  }));
  const bulk = submitted.length
    ? el("button", {
      type: "button",
      id: "r-accept-all",
      onclick: () => acceptAll(submitted),
    }, `Godkänn alla inskickade (${number(submitted.length, 0)})`)
    : el("p", {}, "Inga inskickade rapporter väntar på granskning.");
  fill("r-review",
    el("h3", {}, `Halvårets rapporter ${period}`),
    bulk,
    rows.length
      ? table(`Inskickade, godkända och återsända rapporter för ${period}: status och antal saknade uppgifter`,
        ["Region", "Status", "Saknas", "Granska"], rows)
      : null,
    el("p", {}, open === reports.length
      ? "Ingen region har skickat in sin rapport än."
      : `${number(open, 0)} ${open === 1 ? "region har" : "regioner har"} inte skickat in sin rapport.`));
}

async function openReport(region) {
  $("r-region").value = region;
  await chooseReport();
  $("r-report-title")?.focus();
}

async function acceptAll(submitted) {
  const names = submitted.map((r) => regionName(r.region)).join(", ");
  const comment = await ask({
    title: "Godkänn alla inskickade rapporter",
    text: `${number(submitted.length, 0)} rapporter för ${workspace.period} godkänns: ${names}. Har någon ändrats sedan listan lästes godkänns ingen.`,
    label: "Kommentar",
    confirm: "Godkänn alla",
  });
  if (comment === null) {
    $("r-accept-all")?.focus();
    return;
  }
  alert("");
  done("");
  const revisions = Object.fromEntries(submitted.map((r) => [r.region, r.revision]));
  const body = { regions: submitted.map((r) => r.region), revisions };
  if (comment) body.comment = comment;
  try {
    await api.post(`/reports/${workspace.period}/accept`, body);
    done(submitted.length === 1 ? "Rapporten är godkänd." : `${number(submitted.length, 0)} rapporter är godkända.`);
  } catch (error) {
    if (!(error instanceof api.ApiError) || error.status === 401) {
      failed(error);
      return;
    }
    alert(error.status === 412 ? STALE : `Det gick inte: ${error.message}`);
  }
  await renderReport().catch(failed);
  $("r-report-title")?.focus();
}

// ---------------------------------------------------------------------------------------
// The workbook: downloaded, uploaded as a dry run, then stored

function mayWrite(region) {
  const caller = reference.caller;
  return caller.role === "admin" || (caller.role === "region" && caller.region === region);
}

function fileType(file) {
  const name = file.name.toLowerCase();
  if (name.endsWith(".csv")) return "text/csv";
  if (name.endsWith(".xlsx")) return XLSX;
  return file.type || "application/octet-stream";
}

function place(error) {
  if (error.cell) return error.cell;
  if (error.line) return `rad ${error.line}${error.column ? `, kolumn ${error.column}` : ""}`;
  return "–";
}

function countsTable(caption, result) {
  const rows = [["projects", "Projekt"], ["values", "Värden"], ["narratives", "Berättelser"]].map(([key, name]) => ({
    key,
    cells: [
      { text: name, header: true },
      { text: number(result[key].created, 0), field: "created", className: "num" },
      { text: number(result[key].updated, 0), field: "updated", className: "num" },
      { text: number(result[key].unchanged, 0), field: "unchanged", className: "num" },
    ],
  }));
  return table(caption, ["", "Nya", "Ändrade", "Oförändrade"], rows);
}

/// Sends the file: a dry run, or stored. A refusal is an answer too: its errors listed, or
/// the problem alone as one error (a file too large, of a kind the API does not read).
async function send(file, dryRun, key) {
  const headers = { "Content-Type": fileType(file), "Accept-Language": "sv" };
  if (key) headers["Idempotency-Key"] = key;
  const path = `/regions/${workspace.region}/submissions${dryRun ? "?dry_run=true" : ""}`;
  try {
    return (await api.post(path, file, headers)).body;
  } catch (error) {
    if (!(error instanceof api.ApiError) || error.status === 401) throw error;
    if (error.problem?.errors) return error.problem;
    return {
      status: "rejected",
      title: error.problem?.title ?? "",
      errors: [{ field: "–", message: error.message }],
      error_count: 1,
    };
  }
}

function showRefusal(file, result) {
  const rows = result.errors.map((error, index) => ({
    key: String(index),
    cells: [
      { text: place(error), header: true, field: "place" },
      { text: error.message, field: "message" },
      { text: error.field, field: "field" },
    ],
  }));
  const more = result.error_count > result.errors.length
    ? el("p", {}, `Visar de första ${number(result.errors.length, 0)} av ${number(result.error_count, 0)} fel.`)
    : null;
  fill("r-upload-result",
    el("h4", { id: "r-result-title", tabindex: "-1", class: "error" },
      `${file.name}: ${number(result.error_count, 0)} fel – ingenting sparades`),
    el("p", {}, result.title ?? ""),
    more,
    table(`Fel i ${file.name}: var, vad och vilket fält`, ["Plats", "Fel", "Fält"], rows),
    el("p", {}, "Rätta felen i filen och välj den igen."));
}

async function check(file) {
  workspace.file = file;
  done("");
  const result = $("r-upload-result");
  result.replaceChildren(el("p", {}, `Kontrollerar ${file.name} …`));
  const answer = await send(file, true);
  if (answer.status === "rejected") {
    showRefusal(file, answer);
  } else {
    const key = crypto.randomUUID();
    result.replaceChildren(
      el("h4", { id: "r-result-title", tabindex: "-1" }, `${file.name}: kontrollen gick igenom, inga fel`),
      countsTable(`Det här skulle sparas från ${file.name}`, answer),
      el("button", { type: "button", id: "r-store", class: "primary", onclick: () => store(file, key) },
        "Spara i databasen"));
  }
  $("r-result-title").focus();
}

/// Stores the checked file; its key makes a second click, or a retry, store it once.
async function store(file, key) {
  if (file !== workspace.file) return;
  $("r-store").disabled = true;
  const answer = await send(file, false, key);
  if (answer.status === "rejected") {
    showRefusal(file, answer);
  } else {
    $("r-upload-result").replaceChildren(
      el("h4", { id: "r-result-title", tabindex: "-1" }, `${file.name} är sparad`),
      countsTable(`Det här sparades från ${file.name}`, answer));
    await renderReport();
  }
  $("r-result-title").focus();
}

function renderFiles() {
  const { region, period } = workspace;
  const name = `rapport_${region}_${period}.xlsx`;
  const download = el("button", {
    type: "button",
    id: "r-download",
    onclick: () => api.download(`/regions/${region}/reports/${period}/template`, name).catch(failed),
  }, `Ladda ner arbetsboken (${name})`);
  if (!mayWrite(region)) {
    $("r-files").replaceChildren(el("h3", {}, "Arbetsboken"), download);
    return;
  }
  const input = el("input", {
    type: "file",
    id: "r-file",
    accept: `.xlsx,.csv,${XLSX},text/csv`,
    "aria-describedby": "r-drop-help",
    onchange: () => {
      if (input.files.length) check(input.files[0]).catch(failed);
      input.value = "";
    },
  });
  const zone = el("div", { class: "drop", id: "r-drop" },
    el("label", { for: "r-file" }, "Välj en ifylld arbetsbok eller CSV-fil"),
    input,
    el("p", { id: "r-drop-help" },
      "eller dra och släpp filen här. Den kontrolleras först utan att något sparas; du sparar den med en knapp till."));
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    zone.classList.add("over");
  });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    zone.classList.remove("over");
    const file = event.dataTransfer?.files?.[0];
    if (file) check(file).catch(failed);
  });
  $("r-files").replaceChildren(
    el("h3", {}, "Arbetsboken"),
    download,
    zone,
    el("div", { id: "r-upload-result", "aria-live": "polite" }));
}

// ---------------------------------------------------------------------------------------
// The view

async function chooseReport() {
  workspace.region = $("r-region").value;
  workspace.period = $("r-half-year").value;
  workspace.file = null;
  alert("");
  done("");
  renderFiles();
  await renderReport();
}

/// Fills the view's choices once the reference data is loaded, and forgets what a caller
/// signed in before was shown.
export function prepare() {
  for (const id of ["r-review", "r-summary", "r-files", "r-details", "rapportering-detail"]) fill(id);
  alert("");
  done("");
  const years = [...new Set(reference.halfYears.map((h) => h.slice(0, 4)))].reverse();
  $("r-year").replaceChildren(...years.map((y) => el("option", { value: y }, y)));
  $("r-year").value = reference.current.slice(0, 4);
  const caller = reference.caller;
  const regions = caller.role === "region" ? [caller.region] : [...reference.regions.keys()];
  $("r-region").replaceChildren(...regions.map((code) => el("option", { value: code }, regionName(code))));
  $("r-half-year").replaceChildren(...reference.halfYears.slice().reverse()
    .map((h) => el("option", { value: h }, h)));
  $("r-half-year").value = reference.current;
}

export async function render() {
  delete document.body.dataset.ready;
  await Promise.all([renderYear(), chooseReport()]);
  document.body.dataset.ready = "rapportering";
}

$("rapportering-filters").addEventListener("change", () => renderYear()
  .then(() => { document.body.dataset.ready = "rapportering"; })
  .catch(failed));
$("r-choice").addEventListener("change", () => chooseReport().catch(failed));
