//! Submissions as the reporting workbook: the template downloaded, filled in as a spreadsheet
//! program saves it, and uploaded; the same checks, transaction and answer as JSON, errors
//! naming their cells, and hostile files refused with nothing stored.

use actix_web::test;
use rust_xlsxwriter::Format;
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, Reply, TestApp, TestService, get, post_json, send};
use crate::spreadsheet::{Sheets, Typed, UNCALCULATED, text, uncalculated, with_part};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    a_template_uploaded_unchanged_changes_nothing,
    a_filled_workbook_is_the_same_submission_as_json,
    workbook_errors_name_their_cells_in_swedish_and_store_nothing,
    an_unreadable_cell_does_not_hide_what_the_checks_refuse,
    hostile_workbooks_are_refused_and_store_nothing,
    control_characters_and_refs_typed_as_numbers_are_refused_by_cell,
    random_workbooks_round_trip_exactly,
);

pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
pub const SUBMISSIONS: &str = "/api/v1/regions/07/submissions";
pub const TEMPLATE: &str = "/api/v1/regions/07/reports/2026H1/template";
/// Organisationsnummer that pass the check digit: Y is stored for A, Z is not.
const Z: &str = "5565475489";

pub async fn upload(app: &impl TestService, token: &str, path: &str, file: Vec<u8>) -> Reply {
    let request = test::TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", XLSX))
        .set_payload(file);
    send(app, request).await
}

pub async fn template(app: &impl TestService, token: &str) -> Vec<u8> {
    let reply = send(app, get(TEMPLATE, token)).await;
    assert_eq!(reply.status, 200);
    reply.body.to_vec()
}

/// What is stored of the region's data: every revision and every version of a project.
fn stored(t: &TestApp) -> [i64; 4] {
    [
        t.count("value_revisions"),
        t.count("project_history"),
        t.count("narratives"),
        t.count("value_entities"),
    ]
}

async fn a_template_uploaded_unchanged_changes_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    // A narrative, so that every sheet holds something.
    let narrative = json!({"narratives": [{"project_ref": "A", "period": "2026H1",
        "progress": "=Framsteg", "lessons": "", "deviations": "Inga"}]});
    send(&app, post_json(SUBMISSIONS, &kronoberg, &narrative)).await;
    let before = stored(&t);
    let file = template(&app, &kronoberg).await;
    let reply = upload(&app, &kronoberg, SUBMISSIONS, file.clone()).await;
    let reply = reply.ok().json();
    assert_eq!(reply["status"], "stored");
    assert_eq!(
        reply["projects"],
        json!({"created": 0, "updated": 0, "unchanged": 2})
    );
    assert_eq!(
        reply["values"],
        json!({"created": 0, "updated": 0, "unchanged": 3})
    );
    assert_eq!(
        reply["narratives"],
        json!({"created": 0, "updated": 0, "unchanged": 1})
    );
    assert_eq!(stored(&t), before, "no revision written");
    // Saved again by a spreadsheet program: the same cells, so the same answer.
    let resaved = Sheets::read(&file).write();
    let reply = upload(&app, &kronoberg, SUBMISSIONS, resaved).await.json();
    assert_eq!(reply["values"]["unchanged"], 3, "{reply}");
    assert_eq!(stored(&t), before);
}

/// A project as a JSON body, from what the API serves.
pub async fn project_body(app: &impl TestService, t: &TestApp, project_ref: &str) -> Value {
    let mut body = send(
        app,
        get(
            &format!("/api/v1/regions/07/projects/{project_ref}"),
            &t.admin(),
        ),
    )
    .await
    .json();
    for field in ["region", "values", "narratives", "created_at", "updated_at"] {
        body.as_object_mut().unwrap().remove(field);
    }
    body
}

async fn a_filled_workbook_is_the_same_submission_as_json(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let mut sheets = Sheets::read(&template(&app, &kronoberg).await);
    // A new title; the start date typed as a date; a new plan with a Swedish decimal comma.
    let a = sheets.row_of("Projekt", &["A"]);
    sheets.set("Projekt", a, 1, text("Nytt namn"));
    sheets.set("Projekt", a, 11, Typed::Date(2024, 1, 1));
    sheets.push(
        "Planer",
        vec![
            text("B"),
            text("RCO01"),
            Typed::Blank,
            Typed::Blank,
            text("2,0"),
        ],
    );
    // A value typed as text with a decimal comma, one calculated by a formula.
    let row = sheets.row_of("Värden", &["A", "2026H1", "RCR01"]);
    sheets.set("Värden", row, 6, text("0,4"));
    let row = sheets.row_of("Värden", &["B", "2026H1", "RCR01"]);
    sheets.set("Värden", row, 6, Typed::Formula("=1+1".into(), "2".into()));
    sheets.set("Värden", row, 10, text("Uppskattat"));
    // An enterprise typed as a number: Excel drops the dash.
    sheets.push(
        "Företag",
        vec![
            text("A"),
            text("2026H1"),
            text("RCO01"),
            Typed::Number(Z.parse().unwrap()),
        ],
    );
    sheets.push(
        "Berättelser",
        vec![
            text("B"),
            text("2026H1"),
            text("Gick bra"),
            Typed::Blank,
            text("Inga"),
        ],
    );
    let file = sheets.write();

    let mut a = project_body(&app, &t, "A").await;
    a["title"] = json!("Nytt namn");
    let mut b = project_body(&app, &t, "B").await;
    b["indicators"]
        .as_array_mut()
        .unwrap()
        .insert(0, json!({"indicator": "RCO01", "target": 2}));
    let json = json!({
        "projects": [a, b],
        "values": [
            value("A", "RCR01", "2026H1", json!(0.4)),
            {"project_ref": "B", "indicator": "RCR01", "period": "2026H1", "value": 2, "comment": "Uppskattat"},
            {"project_ref": "A", "indicator": "RCO01", "period": "2026H1",
             "entities": ["5560360793", "5567037485", Z]},
        ],
        "narratives": [{"project_ref": "B", "period": "2026H1", "progress": "Gick bra",
                        "lessons": "", "deviations": "Inga"}],
    });
    let dry = format!("{SUBMISSIONS}?dry_run=true");
    let from_json = send(&app, post_json(&dry, &kronoberg, &json)).await;
    let from_json = from_json.ok().json();
    let from_file = upload(&app, &kronoberg, &dry, file.clone()).await;
    let from_file = from_file.ok().json();
    for part in ["projects", "values", "narratives"] {
        assert_eq!(from_file[part], from_json[part], "{part}");
    }
    assert_eq!(
        from_file["values"],
        json!({"created": 0, "updated": 3, "unchanged": 0})
    );
    assert_eq!(from_file["projects"]["updated"], 2);

    // Stored once for a key; the same file again with the key is the first answer again.
    let keyed = |file: Vec<u8>| {
        test::TestRequest::post()
            .uri(SUBMISSIONS)
            .insert_header(("Authorization", format!("Bearer {kronoberg}")))
            .insert_header(("Content-Type", XLSX))
            .insert_header(("Idempotency-Key", "kronoberg-2026H1-mall"))
            .set_payload(file)
    };
    let stored = send(&app, keyed(file.clone())).await.json();
    assert_eq!(stored["status"], "stored");
    let replayed = send(&app, keyed(file.clone())).await.json();
    assert_eq!(replayed["submission_id"], stored["submission_id"]);
    let a = send(&app, get("/api/v1/regions/07/projects/A", &kronoberg))
        .await
        .json();
    assert_eq!(a["title"], "Nytt namn");
    let value_of = |project: &Value, indicator: &str| {
        project["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["indicator"] == indicator && v["period"] == "2026H1")
            .unwrap()
            .clone()
    };
    assert_eq!(value_of(&a, "RCR01")["value"], json!(0.4));
    assert_eq!(
        value_of(&a, "RCO01")["entities"],
        json!(["5560360793", "5565475489", "5567037485"])
    );
    let b = send(&app, get("/api/v1/regions/07/projects/B", &kronoberg))
        .await
        .json();
    assert_eq!(value_of(&b, "RCR01")["value"], json!(2));
    assert_eq!(value_of(&b, "RCR01")["comment"], "Uppskattat");
    assert_eq!(b["narratives"][0]["progress"], "Gick bra");
    // The same file again: nothing changes.
    let again = upload(&app, &kronoberg, SUBMISSIONS, file).await.json();
    assert_eq!(again["values"]["unchanged"], 3, "{again}");
}

fn errors(problem: &Value) -> Vec<(String, String, String)> {
    problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["cell"].as_str().unwrap_or_default().to_string(),
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// A cell the reader cannot read and a value the checks refuse, on other rows, are named
/// in one answer, in a dry run and in a real upload alike, and nothing is stored.
async fn an_unreadable_cell_does_not_hide_what_the_checks_refuse(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let before = stored(&t);
    let mut sheets = Sheets::read(&template(&app, &kronoberg).await);
    let a = sheets.row_of("Värden", &["A", "2026H1", "RCR01"]);
    let b = sheets.row_of("Värden", &["B", "2026H1", "RCR01"]);
    sheets.set(
        "Värden",
        a,
        6,
        Typed::Formula("=Z99*2".into(), UNCALCULATED.into()),
    );
    sheets.set("Värden", b, 6, Typed::Number(-1.0));
    sheets.set("Värden", b, 2, text("NOPE"));
    let file = uncalculated(&sheets.write(), &sheets.part("Värden"));
    for dry_run in [true, false] {
        let path = format!("{SUBMISSIONS}?dry_run={dry_run}");
        let problem = upload(&app, &kronoberg, &path, file.clone())
            .await
            .problem(422);
        let named: Vec<(String, String)> = errors(&problem)
            .into_iter()
            .map(|(cell, _, code)| (cell, code))
            .collect();
        assert_eq!(
            named,
            vec![
                (format!("Värden!G{}", a + 1), "formula_without_value".into()),
                (format!("Värden!C{}", b + 1), "unknown_indicator".into()),
            ],
            "dry run {dry_run}: {problem:#}"
        );
        assert_eq!(problem["error_count"], 2);
        assert_eq!(problem["dry_run"], dry_run);
        assert_eq!(problem["status"], "rejected");
    }
    assert_eq!(stored(&t), before, "nothing stored");
}

async fn workbook_errors_name_their_cells_in_swedish_and_store_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let before = stored(&t);
    let original = Sheets::read(&template(&app, &kronoberg).await);

    // Cells that cannot be read: a date where a number belongs, a formula never calculated,
    // a word for a number, an organisationsnummer as a truth-value-like text is left to the
    // checks.
    let mut sheets = Sheets(original.0.clone());
    let a = sheets.row_of("Värden", &["A", "2026H1", "RCR01"]);
    let b = sheets.row_of("Värden", &["B", "2026H1", "RCR01"]);
    sheets.set("Värden", a, 6, Typed::Date(2026, 3, 1));
    sheets.set(
        "Värden",
        b,
        6,
        Typed::Formula("=Z99*2".into(), UNCALCULATED.into()),
    );
    sheets.set("Värden", b, 7, text("tolv"));
    sheets.set("Företag", 2, 3, Typed::Date(2026, 1, 1));
    let file = uncalculated(&sheets.write(), &sheets.part("Värden"));
    let problem = upload(&app, &kronoberg, SUBMISSIONS, file)
        .await
        .problem(422);
    let (a, b) = (a + 1, b + 1);
    assert_eq!(
        errors(&problem),
        vec![
            (
                format!("Värden!G{a}"),
                "values[0].value".into(),
                "date_not_number".into()
            ),
            (
                format!("Värden!G{b}"),
                "values[1].value".into(),
                "formula_without_value".into()
            ),
            (
                format!("Värden!H{b}"),
                "values[1].by_sex.kvinnor".into(),
                "not_a_number".into()
            ),
            (
                "Företag!D3".into(),
                "values[2].entities[1]".into(),
                "invalid_orgnr".into()
            ),
        ]
    );
    assert_eq!(problem["errors"][0]["sheet"], "Värden");
    assert_eq!(problem["errors"][0]["row"], a);
    assert_eq!(problem["errors"][0]["column"], "G");

    // Cells that are read but do not pass the checks, named by field and cell; in Swedish.
    let mut sheets = Sheets(original.0.clone());
    let row = sheets.row_of("Värden", &["B", "2026H1", "RCR01"]);
    sheets.set("Värden", row, 2, text("NOPE"));
    let p = sheets.row_of("Projekt", &["A"]);
    sheets.set("Projekt", p, 5, text("inget_sakomrade"));
    let request = test::TestRequest::post()
        .uri(SUBMISSIONS)
        .insert_header(("Authorization", format!("Bearer {kronoberg}")))
        .insert_header(("Content-Type", XLSX))
        .insert_header(("Accept-Language", "sv-SE, sv;q=0.9, en;q=0.5"))
        .set_payload(sheets.write());
    let reply = send(&app, request).await;
    assert_eq!(reply.status, 422);
    let problem = reply.json();
    let named = errors(&problem);
    assert!(
        named.contains(&(
            format!("Projekt!F{}", p + 1),
            "projects[0].sakomrade".into(),
            "unknown_code".into()
        )),
        "{named:?}"
    );
    assert!(
        named.contains(&(
            format!("Värden!C{}", row + 1),
            "values[1].indicator".into(),
            "unknown_indicator".into()
        )),
        "{named:?}"
    );
    assert_eq!(problem["title"], "Ogiltig inrapportering");
    let message = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["code"] == "unknown_code")
        .unwrap()["message"]
        .clone();
    assert_eq!(
        message,
        "'inget_sakomrade': Koden finns inte i kodlistan; välj en kod ur listan."
    );
    // In English otherwise, with the same codes.
    let english = upload(&app, &kronoberg, SUBMISSIONS, sheets.write())
        .await
        .problem(422);
    assert_eq!(errors(&english), named);
    assert_eq!(english["title"], "Invalid submission");

    // Another region may not upload Kronoberg's workbook; a signed-off report is locked
    // for the region, its cells named as for a closed period.
    let mut changed = Sheets(original.0.clone());
    let row = changed.row_of("Värden", &["B", "2026H1", "RCR01"]);
    changed.set("Värden", row, 6, Typed::Number(9.0));
    let kalmar = t.token(Role::Region, Some("08"));
    upload(&app, &kalmar, SUBMISSIONS, changed.write())
        .await
        .problem(403);
    let sign_off = json!({"incomplete": true, "comment": "Resten kommer"});
    let reply = send(
        &app,
        post_json(
            "/api/v1/regions/07/reports/2026H1/submit",
            &kronoberg,
            &sign_off,
        ),
    )
    .await;
    reply.ok();
    let locked = upload(&app, &kronoberg, SUBMISSIONS, changed.write())
        .await
        .problem(409);
    // The changed cell is named, and the file is refused whole; the half-year's unchanged
    // items are no change to refuse.
    let locked = errors(&locked);
    assert_eq!(
        locked,
        [(
            format!("Värden!B{}", row + 1),
            "values[1].period".into(),
            "report_signed_off".into()
        )]
    );
    assert_eq!(stored(&t), before, "nothing stored");
}

/// The highest resident memory of this process so far, in bytes.
fn peak_memory() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmHWM:")).unwrap();
    let kib: u64 = line.split_whitespace().nth(1).unwrap().parse().unwrap();
    kib * 1024
}

async fn hostile_workbooks_are_refused_and_store_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let before = stored(&t);
    let file = template(&app, &kronoberg).await;
    let sheets = Sheets::read(&file);
    // The template's sheets in order: Instruktioner, Koder, Projekt, Planer, Värden, …
    let values_part = "xl/worksheets/sheet5.xml";
    let refused = |reply: Reply, code: &str| {
        let problem = reply.problem(422);
        assert!(
            problem["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["code"] == code),
            "{code}: {problem}"
        );
        problem
    };

    refused(
        upload(&app, &kronoberg, SUBMISSIONS, b"ref;value\nA;1\n".to_vec()).await,
        "invalid_xlsx",
    );
    refused(
        upload(
            &app,
            &kronoberg,
            SUBMISSIONS,
            file[..file.len() / 2].to_vec(),
        )
        .await,
        "invalid_xlsx",
    );

    // A zip bomb: about a megabyte that expands to a gigabyte.
    let bomb = with_part(&file, values_part, |part| {
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..1024 {
            part.write_all(&spaces).unwrap();
        }
    });
    assert!(bomb.len() < 4 << 20, "{} bytes", bomb.len());
    let peak = peak_memory();
    let started = std::time::Instant::now();
    refused(
        upload(&app, &kronoberg, SUBMISSIONS, bomb).await,
        "workbook_too_large",
    );
    eprintln!("zip bomb refused in {:?}", started.elapsed());
    let grown = peak_memory().saturating_sub(peak);
    assert!(
        grown < 256 << 20,
        "the server's peak memory grew by {grown} bytes"
    );

    // Texts that calamine would hold in memory have a tighter limit of their own.
    let texts = with_part(&file, "xl/sharedStrings.xml", |part| {
        let spaces = vec![b' '; 1 << 20];
        for _ in 0..20 {
            part.write_all(&spaces).unwrap();
        }
    });
    let problem = refused(
        upload(&app, &kronoberg, SUBMISSIONS, texts).await,
        "workbook_too_large",
    );
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("texts"),
        "{problem}"
    );

    // A million rows, small enough unzipped: refused at the row limit.
    let million = with_part(&file, values_part, |part| {
        write!(part, r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#).unwrap();
        for row in 1..=1_000_000 {
            write!(part, r#"<row r="{row}"><c r="G{row}"><v>1</v></c></row>"#).unwrap();
        }
        write!(part, "</sheetData></worksheet>").unwrap();
    });
    let started = std::time::Instant::now();
    refused(
        upload(&app, &kronoberg, SUBMISSIONS, million).await,
        "too_many_rows",
    );
    eprintln!("a million rows refused in {:?}", started.elapsed());

    // Sheets missing, renamed or added; headers renamed; columns added; cells merged.
    let mut missing = Sheets(sheets.0.clone());
    missing.0.retain(|(name, _)| name != "Planer");
    let problem = refused(
        upload(&app, &kronoberg, SUBMISSIONS, missing.write()).await,
        "missing_sheet",
    );
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("Planer")
    );
    let mut renamed = Sheets(sheets.0.clone());
    renamed.0.iter_mut().find(|(n, _)| n == "Värden").unwrap().0 = "Varden".into();
    let problem = refused(
        upload(&app, &kronoberg, SUBMISSIONS, renamed.write()).await,
        "missing_sheet",
    );
    assert!(
        errors(&problem)
            .iter()
            .any(|(_, _, code)| code == "unknown_sheet")
    );
    let mut extra = Sheets(sheets.0.clone());
    extra.0.push((
        "Anteckningar".into(),
        vec![vec![text("A"), Typed::Number(3.0)]],
    ));
    refused(
        upload(&app, &kronoberg, SUBMISSIONS, extra.write()).await,
        "unknown_sheet",
    );
    let mut header = Sheets(sheets.0.clone());
    header.set("Värden", 0, 6, text("value"));
    header.set("Värden", 0, 11, text("extra"));
    let problem = refused(
        upload(&app, &kronoberg, SUBMISSIONS, header.write()).await,
        "wrong_header",
    );
    assert_eq!(
        errors(&problem),
        vec![
            (
                "Värden!L1".into(),
                "Värden!L1".into(),
                "unknown_column".into()
            ),
            (
                "Värden!G1".into(),
                "Värden!G1".into(),
                "wrong_header".into()
            ),
        ]
    );
    let merged = sheets.write_with(|workbook| {
        let values = workbook.worksheet_from_name("Värden").unwrap();
        values.merge_range(1, 6, 1, 7, "3", &Format::new()).unwrap();
    });
    let problem = refused(
        upload(&app, &kronoberg, SUBMISSIONS, merged).await,
        "merged_cells",
    );
    assert_eq!(problem["errors"][0]["cell"], "Värden!G2");

    assert_eq!(stored(&t), before, "nothing stored");
}

async fn control_characters_and_refs_typed_as_numbers_are_refused_by_cell(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let mut numbered = project_body(&app, &t, "A").await;
    numbered["ref"] = json!("701");
    let body = json!({"projects": [numbered]});
    send(&app, post_json(SUBMISSIONS, &kronoberg, &body))
        .await
        .ok();
    let file = template(&app, &kronoberg).await;
    let before = stored(&t);
    let with_ref = |project_ref: Typed| {
        let mut sheets = Sheets::read(&file);
        let a = sheets.row_of("Projekt", &["A"]);
        let mut row = sheets.sheet("Projekt")[a].clone();
        row[0] = project_ref;
        sheets.push("Projekt", row);
        sheets.write()
    };

    // A NUL, as a spreadsheet program writes it (`_x0000_`), in a ref and in a title.
    let reply = upload(&app, &kronoberg, SUBMISSIONS, with_ref(text("P\u{0}1"))).await;
    let problem = reply.problem(422);
    let row = Sheets::read(&file).sheet("Projekt").len() + 1;
    assert!(
        errors(&problem).contains(&(
            format!("Projekt!A{row}"),
            "projects[3].ref".into(),
            "invalid_ref".into()
        )),
        "{problem}"
    );
    let mut sheets = Sheets::read(&file);
    let a = sheets.row_of("Projekt", &["A"]);
    sheets.set("Projekt", a, 1, text("Titel\u{1}"));
    let problem = upload(&app, &kronoberg, SUBMISSIONS, sheets.write())
        .await
        .problem(422);
    assert_eq!(
        errors(&problem),
        vec![(
            format!("Projekt!B{}", a + 1),
            format!("projects[{}].title", a - 1),
            "control_character".into()
        )],
        "{problem}"
    );
    let json = json!({"projects": [{"ref": "P\u{0}1"}]});
    let problem = send(&app, post_json(SUBMISSIONS, &kronoberg, &json))
        .await
        .problem(422);
    assert!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["field"] == "projects[0].ref" && e["code"] == "nul_character"),
        "{problem}"
    );

    // 0701 typed into a spreadsheet program arrives as 701: a ref held as a number may
    // name an existing project, never a new one.
    let problem = upload(
        &app,
        &kronoberg,
        SUBMISSIONS,
        with_ref(Typed::Number(702.0)),
    )
    .await
    .problem(422);
    assert_eq!(
        errors(&problem),
        vec![(
            format!("Projekt!A{row}"),
            "projects[3].ref".into(),
            "ref_typed_as_number".into()
        )],
        "{problem}"
    );
    let problem = upload(
        &app,
        &kronoberg,
        SUBMISSIONS,
        with_ref(Typed::Date(2024, 5, 1)),
    )
    .await
    .problem(422);
    assert_eq!(
        errors(&problem),
        vec![(
            format!("Projekt!A{row}"),
            "projects[3].ref".into(),
            "ref_typed_as_number".into()
        )],
        "a ref typed 2024-05 becomes a date: {problem}"
    );
    let mut sheets = Sheets::read(&file);
    let numbered = sheets.row_of("Projekt", &["701"]);
    sheets.set("Projekt", numbered, 0, Typed::Number(701.0));
    let reply = upload(&app, &kronoberg, SUBMISSIONS, sheets.write())
        .await
        .ok()
        .json();
    assert_eq!(reply["projects"]["unchanged"], 3, "{reply}");
    assert_eq!(stored(&t), before, "nothing stored");
}

/// A text as people type them: letters of several alphabets, digits, punctuation, spaces
/// and line breaks inside (never around: a cell's text is taken as typed within).
fn random_text(rng: &mut impl rand::Rng, max_chars: usize) -> String {
    const CHARACTERS: &[char] = &[
        'a', 'Z', 'å', 'Ä', 'ö', 'é', 'ß', 'Ж', '中', '😀', '0', '9', ',', ';', '"', '\'', '=',
        '<', '&', '%', '_', ' ', '\n', '\t',
    ];
    let length = rng.random_range(1..=max_chars);
    let text: String = (0..length)
        .map(|_| CHARACTERS[rng.random_range(0..CHARACTERS.len())])
        .collect();
    let text = text.trim();
    if text.is_empty() {
        "x".to_string()
    } else {
        text.to_string()
    }
}

/// Random titles, values, parts by sex and comments written into the template as a
/// spreadsheet program saves them are stored exactly as written, and read back the same.
async fn random_workbooks_round_trip_exactly(backend: Backend) {
    use rand::{Rng, SeedableRng};
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let catalogue = send(&app, get("/api/v1/indicators", &kronoberg))
        .await
        .json();
    let indicators: std::collections::HashMap<String, (u32, bool)> = catalogue
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["aggregation"] != "distinct" && i["derived_from"].is_null())
        .map(|i| {
            (
                i["code"].as_str().unwrap().to_string(),
                (i["decimals"].as_u64().unwrap() as u32, i["by_sex"] == true),
            )
        })
        .collect();
    let mut rng = rand::rngs::StdRng::seed_from_u64(19);
    for round in 0..8 {
        let mut sheets = Sheets::read(&template(&app, &kronoberg).await);
        let mut titles = std::collections::HashMap::new();
        for project in ["A", "B"] {
            let row = sheets.row_of("Projekt", &[project]);
            let title = random_text(&mut rng, 120);
            sheets.set("Projekt", row, 1, text(&title));
            titles.insert(project, title);
        }
        let mut written = Vec::new();
        let rows = sheets.sheet("Värden").len();
        for row in 1..rows {
            let keys: Vec<String> = (0..3)
                .map(|c| match sheets.sheet("Värden")[row].get(c) {
                    Some(Typed::Text(text)) => text.clone(),
                    other => panic!("Värden row {row}: {other:?}"),
                })
                .collect();
            let Some(&(decimals, by_sex)) = indicators.get(&keys[2]) else {
                continue;
            };
            if keys[1] != "2026H1" || rng.random_bool(0.3) {
                continue;
            }
            let scale = 10_i64.pow(decimals);
            let mut number = || rng.random_range(0..1_000_000_i64) as f64 / scale as f64;
            let parts = [number(), number(), number()];
            let value = if by_sex {
                let total: rust_decimal::Decimal = parts
                    .iter()
                    .map(|p| rust_decimal::Decimal::try_from(*p).unwrap())
                    .sum();
                for (offset, part) in parts.iter().enumerate() {
                    sheets.set("Värden", row, 7 + offset, Typed::Number(*part));
                }
                total.to_string().parse::<f64>().unwrap()
            } else {
                for offset in 0..3 {
                    sheets.set("Värden", row, 7 + offset, Typed::Blank);
                }
                number()
            };
            sheets.set("Värden", row, 6, Typed::Number(value));
            let comment = random_text(&mut rng, 300);
            sheets.set("Värden", row, 10, text(&comment));
            written.push((keys, value, by_sex.then_some(parts), comment));
        }
        let reply = upload(&app, &kronoberg, SUBMISSIONS, sheets.write()).await;
        reply.ok();
        for project in ["A", "B"] {
            let stored = send(
                &app,
                get(
                    &format!("/api/v1/regions/07/projects/{project}"),
                    &kronoberg,
                ),
            )
            .await
            .json();
            assert_eq!(stored["title"], titles[project], "round {round}");
            for (keys, value, parts, comment) in written.iter().filter(|w| w.0[0] == project) {
                let found = stored["values"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|v| v["indicator"] == keys[2] && v["period"] == keys[1])
                    .unwrap_or_else(|| panic!("round {round}: {keys:?} not stored"));
                let decimal = |v: &Value| v.to_string().parse::<rust_decimal::Decimal>().unwrap();
                let typed = |n: f64| rust_decimal::Decimal::try_from(n).unwrap().normalize();
                assert_eq!(
                    decimal(&found["value"]).normalize(),
                    typed(*value),
                    "round {round}: {keys:?}"
                );
                if let Some(parts) = parts {
                    for (name, part) in ["kvinnor", "man", "ej_angivet"].iter().zip(parts) {
                        assert_eq!(
                            decimal(&found["by_sex"][name]).normalize(),
                            typed(*part),
                            "round {round}: {keys:?} {name}"
                        );
                    }
                }
                assert_eq!(found["comment"], *comment, "round {round}: {keys:?}");
            }
        }
    }
}
