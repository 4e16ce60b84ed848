//! A template uploaded after the data changed: cells left as the template had them write
//! nothing, a cell changed both in the sheet and in the database since is a conflict (409,
//! nothing stored), and texts come back exactly as they were written.

use actix_web::test;
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, post_json, put_json, send};
use crate::spreadsheet::{DATA_VERSION, Sheets, Typed, text};
use crate::workbooks::{SUBMISSIONS, XLSX, template, upload};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;
use uppfoljning::db::DbConnection;

backend_tests!(
    an_old_template_uploaded_unchanged_keeps_the_newer_value,
    a_cell_changed_in_the_sheet_and_in_the_database_is_a_conflict,
    a_workbook_without_the_data_version_is_a_plain_submission,
    a_garbled_data_version_is_refused,
    texts_come_back_from_the_template_exactly,
    narratives_are_compared_text_by_text,
    projects_and_plans_are_compared_too,
);

/// Kronoberg's project A reports RCR01 in 2026H1: its value in column G of Värden, its
/// comment in K.
const VALUE: &[&str] = &["A", "2026H1", "RCR01"];
const G: usize = 6;
const K: usize = 10;

async fn post(app: &impl TestService, token: &str, body: Value) {
    send(app, post_json(SUBMISSIONS, token, &body)).await.ok();
}

/// One text the database answers to `sql` (a column named `t`).
fn text_of(t: &TestApp, sql: &str) -> String {
    #[derive(QueryableByName)]
    struct Text {
        #[diesel(sql_type = diesel::sql_types::Text)]
        t: String,
    }
    let mut conn = t.conn();
    let conn: &mut DbConnection = &mut conn;
    diesel::sql_query(sql)
        .get_result::<Text>(conn)
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .t
}

/// Project A's stored value of an indicator in 2026H1, scaled (four decimals), and its
/// comment.
fn stored_value(t: &TestApp, indicator: &str) -> (String, String) {
    let of = |column: &str| {
        text_of(
            t,
            &format!(
                "SELECT CAST({column} AS TEXT) AS t FROM indicator_values v \
                 JOIN projects p ON p.id = v.project_id \
                 WHERE p.ref = 'A' AND v.indicator = '{indicator}' AND v.period = '2026H1'"
            ),
        )
    };
    (of("v.value"), of("COALESCE(v.comment, '')"))
}

/// A's narrative of 2026H1: progress, lessons, deviations.
fn stored_narrative(t: &TestApp) -> [String; 3] {
    ["progress", "lessons", "deviations"].map(|column| {
        text_of(
            t,
            &format!(
                "SELECT n.{column} AS t FROM narratives n JOIN projects p ON p.id = n.project_id \
                 WHERE p.ref = 'A' AND n.period = '2026H1'"
            ),
        )
    })
}

/// What a write leaves behind: value revisions, narrative revisions, data versions.
fn written(t: &TestApp) -> [i64; 3] {
    [
        t.count("value_revisions"),
        t.count("narrative_revisions"),
        t.count("data_versions"),
    ]
}

/// Kronoberg with A's RCR01 at 2, a template downloaded, then the value corrected to 7
/// through JSON: the template is older than the correction.
async fn corrected_after_the_template(t: &TestApp, app: &impl TestService) -> (String, Vec<u8>) {
    load(t, app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    post(
        app,
        &kronoberg,
        json!({"values": [value("A", "RCR01", "2026H1", json!(2))]}),
    )
    .await;
    let file = template(app, &kronoberg).await;
    post(
        app,
        &kronoberg,
        json!({"values": [value("A", "RCR01", "2026H1", json!(7))]}),
    )
    .await;
    assert_eq!(stored_value(t, "RCR01").0, "70000");
    (kronoberg, file)
}

async fn an_old_template_uploaded_unchanged_keeps_the_newer_value(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let (kronoberg, file) = corrected_after_the_template(&t, &app).await;
    let before = written(&t);
    let reply = upload(&app, &kronoberg, SUBMISSIONS, file.clone()).await;
    let reply = reply.ok().json();
    assert_eq!(
        reply["values"],
        json!({"created": 0, "updated": 0, "unchanged": 3}),
        "{reply}"
    );
    assert_eq!(reply["projects"]["updated"], 0, "{reply}");
    assert_eq!(stored_value(&t, "RCR01").0, "70000", "still 7");
    assert_eq!(written(&t), before, "no revision, no data version");
    // Saved again by a spreadsheet program, which keeps the name: the same answer.
    let resaved = Sheets::read(&file).write_from(&file);
    let reply = upload(&app, &kronoberg, SUBMISSIONS, resaved)
        .await
        .ok()
        .json();
    assert_eq!(reply["values"]["unchanged"], 3, "{reply}");
    assert_eq!(stored_value(&t, "RCR01").0, "70000");
    assert_eq!(written(&t), before);
}

async fn a_cell_changed_in_the_sheet_and_in_the_database_is_a_conflict(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let (kronoberg, file) = corrected_after_the_template(&t, &app).await;
    let before = written(&t);
    let mut sheets = Sheets::read(&file);
    let row = sheets.row_of("Värden", VALUE);
    sheets.set("Värden", row, G, Typed::Number(5.0));
    // An unrelated cell of the same sheet changed as well.
    let other = sheets.row_of("Värden", &["B", "2026H1", "RCR01"]);
    sheets.set("Värden", other, G, Typed::Number(2.5));
    let reply = upload(&app, &kronoberg, SUBMISSIONS, sheets.write_from(&file)).await;
    let problem = reply.problem(409);
    assert_eq!(
        problem["type"], "urn:uppfoljning:problem:stale-template",
        "{problem}"
    );
    let errors = problem["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{problem}");
    let cell = format!("Värden!G{}", row + 1);
    assert_eq!(errors[0]["cell"], cell.as_str(), "{problem}");
    assert_eq!(errors[0]["code"], "changed_since_template");
    assert_eq!(
        errors[0]["conflict"],
        json!({"template": "2", "sheet": "5", "stored": "7"})
    );
    assert!(errors[0]["field"].as_str().unwrap().ends_with(".value"));
    assert_eq!(stored_value(&t, "RCR01").0, "70000", "nothing stored");
    assert_eq!(written(&t), before, "nothing stored");

    // In Swedish, the same cell and values.
    let request = test::TestRequest::post()
        .uri(SUBMISSIONS)
        .insert_header(("Authorization", format!("Bearer {kronoberg}")))
        .insert_header(("Content-Type", XLSX))
        .insert_header(("Accept-Language", "sv"))
        .set_payload(sheets.write_from(&file));
    let problem = send(&app, request).await.problem(409);
    assert_eq!(problem["title"], "Ändrat sedan mallen hämtades");
    assert!(
        problem["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("mallen")
    );

    // Without the conflicting cell, the unrelated change is stored, and a comment typed
    // beside the corrected value is stored with the value as corrected.
    let mut sheets = Sheets::read(&file);
    sheets.set("Värden", other, G, Typed::Number(2.5));
    sheets.set("Värden", row, K, text("korrigerat"));
    let reply = upload(&app, &kronoberg, SUBMISSIONS, sheets.write_from(&file)).await;
    let reply = reply.ok().json();
    assert_eq!(
        reply["values"],
        json!({"created": 0, "updated": 2, "unchanged": 1}),
        "{reply}"
    );
    assert_eq!(
        stored_value(&t, "RCR01"),
        ("70000".to_string(), "korrigerat".to_string())
    );
    let b = text_of(
        &t,
        "SELECT CAST(v.value AS TEXT) AS t FROM indicator_values v \
         JOIN projects p ON p.id = v.project_id \
         WHERE p.ref = 'B' AND v.indicator = 'RCR01' AND v.period = '2026H1'",
    );
    assert_eq!(b, "25000");
}

async fn a_workbook_without_the_data_version_is_a_plain_submission(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let (kronoberg, file) = corrected_after_the_template(&t, &app).await;
    // A workbook of the template's sheets without its name: every cell is stored, as
    // before the template recorded its version.
    let plain = Sheets::read(&file).write();
    let reply = upload(&app, &kronoberg, SUBMISSIONS, plain)
        .await
        .ok()
        .json();
    assert_eq!(reply["values"]["updated"], 1, "{reply}");
    assert_eq!(stored_value(&t, "RCR01").0, "20000");
}

async fn a_garbled_data_version_is_refused(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let (kronoberg, file) = corrected_after_the_template(&t, &app).await;
    let before = written(&t);
    let garbled = Sheets::read(&file).write_with(|workbook| {
        workbook.define_name(DATA_VERSION, "=\"senaste\"").unwrap();
    });
    let problem = upload(&app, &kronoberg, SUBMISSIONS, garbled)
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["field"], "workbook", "{problem}");
    assert_eq!(problem["errors"][0]["code"], "invalid_template_version");
    assert_eq!(stored_value(&t, "RCR01").0, "70000");
    assert_eq!(written(&t), before, "nothing stored");
}

async fn texts_come_back_from_the_template_exactly(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let long: String = "Ett långt stycke.\n"
        .repeat(600)
        .chars()
        .take(10_000)
        .collect();
    assert_eq!(long.chars().count(), 10_000);
    let texts = [
        "ok\n",
        "  inledande och avslutande blanksteg  ",
        long.as_str(),
    ];
    post(
        &app,
        &kronoberg,
        json!({
            "values": [{"project_ref": "A", "indicator": "RCR01", "period": "2026H1",
                        "value": 0.1, "comment": " kommentar\nmed radbrytning\n"}],
            "narratives": [{"project_ref": "A", "period": "2026H1", "progress": texts[0],
                            "lessons": texts[1], "deviations": texts[2]}]
        }),
    )
    .await;
    let before = written(&t);
    let file = template(&app, &kronoberg).await;
    for (how, upload_file) in [
        ("as downloaded", file.clone()),
        ("saved again", Sheets::read(&file).write_from(&file)),
        ("without the data version", Sheets::read(&file).write()),
    ] {
        let reply = upload(&app, &kronoberg, SUBMISSIONS, upload_file)
            .await
            .ok()
            .json();
        assert_eq!(
            reply["narratives"],
            json!({"created": 0, "updated": 0, "unchanged": 1}),
            "{how}: {reply}"
        );
        assert_eq!(reply["values"]["updated"], 0, "{how}: {reply}");
        assert_eq!(stored_narrative(&t), texts.map(str::to_string), "{how}");
        assert_eq!(stored_value(&t, "RCR01").1, " kommentar\nmed radbrytning\n");
        assert_eq!(written(&t), before, "{how}");
    }
}

async fn narratives_are_compared_text_by_text(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let narrative = |progress: &str, lessons: &str| {
        json!({"narratives": [{"project_ref": "A", "period": "2026H1", "progress": progress,
                               "lessons": lessons, "deviations": "Inga"}]})
    };
    post(&app, &kronoberg, narrative("Påbörjat", "Få")).await;
    let file = template(&app, &kronoberg).await;
    post(&app, &kronoberg, narrative("Halvvägs", "Få")).await;
    let before = written(&t);
    let mut sheets = Sheets::read(&file);
    let row = sheets.row_of("Berättelser", &["A", "2026H1"]);
    // Progress was changed in the database since: changing it in the sheet too is a
    // conflict.
    sheets.set("Berättelser", row, 2, text("Klart"));
    let problem = upload(&app, &kronoberg, SUBMISSIONS, sheets.write_from(&file))
        .await
        .problem(409);
    let cell = format!("Berättelser!C{}", row + 1);
    assert_eq!(problem["errors"][0]["cell"], cell.as_str(), "{problem}");
    assert_eq!(
        problem["errors"][0]["conflict"],
        json!({"template": "Påbörjat", "sheet": "Klart", "stored": "Halvvägs"})
    );
    assert_eq!(written(&t), before, "nothing stored");
    // Lessons changed only in the sheet: stored, beside the newer progress.
    let mut sheets = Sheets::read(&file);
    sheets.set("Berättelser", row, 3, text("Många"));
    let reply = upload(&app, &kronoberg, SUBMISSIONS, sheets.write_from(&file)).await;
    assert_eq!(reply.ok().json()["narratives"]["updated"], 1);
    assert_eq!(
        stored_narrative(&t),
        ["Halvvägs", "Många", "Inga"].map(str::to_string)
    );
}

async fn projects_and_plans_are_compared_too(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let file = template(&app, &kronoberg).await;
    // Since the template: A's title and its target for RCO01 changed through the API.
    let path = "/api/v1/regions/07/projects/A";
    let mut body = send(&app, get(path, &kronoberg)).await.json();
    for field in ["region", "values", "narratives", "created_at", "updated_at"] {
        body.as_object_mut().unwrap().remove(field);
    }
    body["title"] = json!("Nytt namn");
    let plans = body["indicators"].as_array_mut().unwrap();
    let rco01 = plans
        .iter()
        .position(|p| p["indicator"] == "RCO01")
        .unwrap();
    plans[rco01]["target"] = json!(12);
    send(&app, put_json(path, &kronoberg, &body)).await.ok();
    let title = || text_of(&t, "SELECT title AS t FROM projects WHERE ref = 'A'");
    let target = || {
        text_of(
            &t,
            "SELECT CAST(i.target AS TEXT) AS t FROM project_indicators i \
             JOIN projects p ON p.id = i.project_id WHERE p.ref = 'A' AND i.indicator = 'RCO01'",
        )
    };
    assert_eq!(
        (title(), target()),
        ("Nytt namn".to_string(), "120000".to_string())
    );
    let before = [t.count("project_history"), t.count("data_versions")];

    // Uploaded unchanged: the newer title and plan stay.
    let reply = upload(&app, &kronoberg, SUBMISSIONS, file.clone())
        .await
        .ok()
        .json();
    assert_eq!(
        reply["projects"],
        json!({"created": 0, "updated": 0, "unchanged": 2}),
        "{reply}"
    );
    assert_eq!(
        (title(), target()),
        ("Nytt namn".to_string(), "120000".to_string())
    );

    // The title changed in the sheet too: a conflict on its cell, nothing stored.
    let mut sheets = Sheets::read(&file);
    let row = sheets.row_of("Projekt", &["A"]);
    sheets.set("Projekt", row, 1, text("Annat namn"));
    let plan_row = sheets.row_of("Planer", &["A", "RCO01"]);
    sheets.set("Planer", plan_row, 4, Typed::Number(15.0));
    let problem = upload(&app, &kronoberg, SUBMISSIONS, sheets.write_from(&file))
        .await
        .problem(409);
    let cells: Vec<&str> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["cell"].as_str().unwrap_or(""))
        .collect();
    let title_cell = format!("Projekt!B{}", row + 1);
    let plan_cell = format!("Planer!A{}", plan_row + 1);
    assert_eq!(
        cells,
        [title_cell.as_str(), plan_cell.as_str()],
        "{problem}"
    );
    assert_eq!(
        problem["errors"][0]["conflict"],
        json!({"template": "Projekt A", "sheet": "Annat namn", "stored": "Nytt namn"})
    );
    assert_eq!(
        [t.count("project_history"), t.count("data_versions")],
        before,
        "nothing stored"
    );

    // Only the organisation changed in the sheet: stored, beside the newer title and plan.
    let mut sheets = Sheets::read(&file);
    sheets.set("Projekt", row, 2, text("Länsstyrelsen"));
    let reply = upload(&app, &kronoberg, SUBMISSIONS, sheets.write_from(&file)).await;
    assert_eq!(reply.ok().json()["projects"]["updated"], 1);
    assert_eq!(
        (title(), target()),
        ("Nytt namn".to_string(), "120000".to_string())
    );
    assert_eq!(
        text_of(&t, "SELECT organisation AS t FROM projects WHERE ref = 'A'"),
        "Länsstyrelsen"
    );
}
