//! Accepted means final: once a region's half-year report is signed off, no write of the
//! region moves what it rests on; once accepted, no figure that `reports=accepted` gives
//! moves but by an admin's change, recorded on that report; and `reports=accepted` counts
//! every measure (values, projects, targets, project fields) only in accepted half-years.

use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, Reply, TestApp, TestService, get, post_json, put_json, send};
use crate::rounds::{incomplete, transition_in};
use crate::spreadsheet::{Sheets, Typed, text};
use crate::workbooks::{SUBMISSIONS, XLSX, project_body, template};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    the_walk_through_of_issue_21_moves_no_accepted_figure,
    no_write_of_the_region_moves_an_accepted_figure,
    no_write_of_the_region_moves_a_signed_off_report,
    an_admin_change_is_marked_once_on_the_report_it_changes,
    reports_accepted_counts_every_measure_only_in_accepted_half_years,
    resending_a_signed_off_half_year_unchanged_changes_nothing,
);

const H1: &str = "2026H1";
const H2: &str = "2026H2";

fn data_version(t: &TestApp) -> i64 {
    uppfoljning::db::data_version::current(&mut t.conn()).unwrap()
}

/// The projects of `load`, and D: Kronoberg's, dated into 2026H1 and 2026H2, with nothing
/// reported, so that its dates can leave 2026H1.
pub(crate) async fn load_with_d(t: &TestApp, app: &impl TestService) {
    load(t, app).await;
    let d = json!({
        "ref": "D", "title": "Projekt D", "organisation": "Regionen", "status": "pagaende",
        "project_type": "projekt", "sakomrade": "kompetensforsorjning",
        "effektkedja": "kunskap_strategier", "branscher": [],
        "start_date": "2026-01-01", "end_date": "2026-12-31",
        "granted_sek": 200_000, "total_budget_sek": 400_000,
        "indicators": [{"indicator": "RCO83", "target": 1}]
    });
    let reply = send(
        app,
        put_json("/api/v1/regions/07/projects/D", &t.admin(), &d),
    )
    .await;
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
}

/// Kronoberg signs its 2026H1 off, and Tillväxtverket accepts it when `accept`.
async fn sign_off(t: &TestApp, app: &impl TestService, accept: bool) {
    let kronoberg = t.token(Role::Region, Some("07"));
    transition_in(app, &kronoberg, "07", H1, "submit", incomplete())
        .await
        .ok();
    if accept {
        let national = t.token(Role::National, None);
        transition_in(app, &national, "07", H1, "accept", json!({}))
            .await
            .ok();
    }
}

/// Every indicator of the catalogue asked with `basis` (the query's end) for 2026H1 with
/// each grouping and by sex where the indicator has parts, and when `beyond` also by period
/// over both half-years and for the year: each question with its answer, without the
/// instant it was given.
async fn figures(
    t: &TestApp,
    app: &impl TestService,
    basis: &str,
    beyond: bool,
) -> Vec<(String, Value)> {
    let national = t.token(Role::National, None);
    let catalogue = send(app, get("/api/v1/indicators", &national)).await.json();
    let mut answers = Vec::new();
    for indicator in catalogue.as_array().unwrap() {
        let code = indicator["code"].as_str().unwrap();
        let mut questions: Vec<String> = [
            "",
            "region",
            "sakomrade",
            "fokusomrade",
            "effektkedja",
            "bransch",
            "project_type",
            "region,sakomrade,bransch",
        ]
        .iter()
        .map(|group_by| format!("period={H1}&group_by={group_by}"))
        .collect();
        if beyond {
            questions.push(format!("period={H1}..{H2}&group_by=period,region"));
            questions.push("period=2026&group_by=sakomrade".into());
        }
        if indicator["by_sex"] == true {
            questions.push(format!("period={H1}&group_by=sex,region"));
        }
        for question in questions {
            let question = format!("/api/v1/aggregates?indicator={code}&{question}&{basis}");
            let mut answer = send(app, get(&question, &national)).await.ok().json();
            answer.as_object_mut().unwrap().remove("as_of");
            answers.push((question, answer));
        }
    }
    answers
}

/// What a write is expected to meet.
pub(crate) enum Expect {
    /// 409, naming this field of the first error.
    Refused(&'static str),
    Allowed,
    /// Refused or allowed: the property holds either way.
    Either,
}

fn put_project(token: &str, body: &Value) -> TestRequest {
    let path = format!(
        "/api/v1/regions/07/projects/{}",
        body["ref"].as_str().unwrap()
    );
    put_json(&path, token, body)
}

fn csv(token: &str, file: &str) -> TestRequest {
    TestRequest::post()
        .uri(SUBMISSIONS)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "text/csv"))
        .set_payload(file.to_string())
}

fn workbook(token: &str, file: Vec<u8>) -> TestRequest {
    TestRequest::post()
        .uri(SUBMISSIONS)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", XLSX))
        .set_payload(file)
}

/// `project` with `change` made.
fn changed(project: &Value, change: impl Fn(&mut Value)) -> Value {
    let mut project = project.clone();
    change(&mut project);
    project
}

/// Every kind of write Kronoberg can make that touches 2026H1, as PUT, JSON, CSV and
/// workbook, and writes that touch only other half-years or nothing a figure rests on.
pub(crate) async fn every_kind_of_write(
    t: &TestApp,
    app: &impl TestService,
) -> Vec<(String, TestRequest, Expect)> {
    let token = t.token(Role::Region, Some("07"));
    let a = project_body(app, t, "A").await;
    let d = project_body(app, t, "D").await;
    let mut writes: Vec<(String, TestRequest, Expect)> = Vec::new();
    type Edit = fn(&mut Value);
    let project_changes: [(&str, Edit); 12] = [
        ("sakomrade", |p| {
            p["sakomrade"] = json!("attraktiva_miljoer");
            p["fokusomrade"] = Value::Null;
        }),
        ("fokusomrade", |p| p["fokusomrade"] = json!("foretagande")),
        ("effektkedja", |p| {
            p["effektkedja"] = json!("kunskap_strategier")
        }),
        ("branscher", |p| p["branscher"] = json!(["kkn"])),
        ("verktyg", |p| p["verktyg"] = json!(["radgivning"])),
        ("granted_sek", |p| p["granted_sek"] = json!(900_000)),
        ("total_budget_sek", |p| {
            p["total_budget_sek"] = json!(9_000_000)
        }),
        ("status", |p| p["status"] = json!("avslutat")),
        ("project_type", |p| {
            p["project_type"] = json!("samverkansprojekt")
        }),
        ("indicators", |p| p["indicators"][0]["target"] = json!(12)),
        ("indicators", |p| {
            p["indicators"].as_array_mut().unwrap().remove(1);
        }),
        ("indicators", |p| {
            p["indicators"]
                .as_array_mut()
                .unwrap()
                .push(json!({"indicator": "RCO83", "target": 3}))
        }),
    ];
    for (field, change) in project_changes {
        writes.push((
            format!("PUT A: {field}"),
            put_project(&token, &changed(&a, change)),
            Expect::Refused(field),
        ));
    }
    writes.push((
        "PUT D: leaves 2026H1".into(),
        put_project(
            &token,
            &changed(&d, |p| p["start_date"] = json!("2026-07-01")),
        ),
        Expect::Refused("start_date"),
    ));
    let p2 = changed(&d, |p| {
        p["ref"] = json!("P2");
        p["start_date"] = json!("2026-03-01");
    });
    writes.push((
        "PUT P2: new, dated into 2026H1".into(),
        put_project(&token, &p2),
        Expect::Refused("ref"),
    ));
    writes.push((
        "JSON: A reclassified, with a value of 2026H2".into(),
        post_json(
            SUBMISSIONS,
            &token,
            &json!({
                "projects": [changed(&a, |p| p["branscher"] = json!(["livsmedel"]))],
                "values": [value("A", "RCR01", H2, json!(0.3))],
            }),
        ),
        Expect::Refused("projects[0].branscher"),
    ));
    writes.push((
        "JSON: a new project dated into 2026H1".into(),
        post_json(SUBMISSIONS, &token, &json!({"projects": [p2]})),
        Expect::Refused("projects[0].ref"),
    ));
    writes.push((
        "JSON: a changed value".into(),
        post_json(
            SUBMISSIONS,
            &token,
            &json!({"values": [value("A", "RCR01", H1, json!(0.9))]}),
        ),
        Expect::Refused("values[0].period"),
    ));
    writes.push((
        "JSON: a new value".into(),
        post_json(
            SUBMISSIONS,
            &token,
            &json!({"values": [value("B", "NAT-E01", H1, json!(4))]}),
        ),
        Expect::Refused("values[0].period"),
    ));
    writes.push((
        "JSON: a narrative".into(),
        post_json(
            SUBMISSIONS,
            &token,
            &json!({"narratives": [{"project_ref": "A", "period": H1, "progress": "Ändrat."}]}),
        ),
        Expect::Refused("narratives[0].period"),
    ));
    writes.push((
        "CSV: a changed value".into(),
        csv(
            &token,
            "project_ref,indicator,period,value\nA,RCR01,2026H1,0.9\n",
        ),
        Expect::Refused("values[0].period"),
    ));
    let file = template(app, &token).await;
    let workbook_changes: [(&str, &str, usize, Typed); 4] = [
        ("sakomrade", "Projekt", 5, text("kompetensforsorjning")),
        ("granted_sek", "Projekt", 13, Typed::Number(900_000.0)),
        ("effektkedja", "Projekt", 7, text("infrastruktur")),
        ("value", "Värden", 6, text("0,9")),
    ];
    for (what, sheet, column, cell) in workbook_changes {
        let mut sheets = Sheets::read(&file);
        let row = if sheet == "Projekt" {
            sheets.row_of(sheet, &["A"])
        } else {
            sheets.row_of(sheet, &["A", H1, "RCR01"])
        };
        if what == "sakomrade" {
            sheets.set(sheet, row, 6, Typed::Blank);
        }
        sheets.set(sheet, row, column, cell);
        writes.push((
            format!("workbook: {what}"),
            workbook(&token, sheets.write()),
            Expect::Either,
        ));
    }
    let mut retitled = Sheets::read(&file);
    let row = retitled.row_of("Projekt", &["A"]);
    retitled.set("Projekt", row, 1, text("Nytt namn"));
    writes.push((
        "workbook: a new title".into(),
        workbook(&token, retitled.write()),
        Expect::Either,
    ));
    // Writes that touch no half-year signed off.
    writes.push((
        "PUT A: a new title and organisation".into(),
        put_project(
            &token,
            &changed(&a, |p| {
                p["title"] = json!("Nytt namn");
                p["organisation"] = json!("Kommunen");
            }),
        ),
        Expect::Allowed,
    ));
    writes.push((
        "PUT D: ends in 2027H1 instead".into(),
        put_project(
            &token,
            &changed(&d, |p| p["end_date"] = json!("2027-06-30")),
        ),
        Expect::Allowed,
    ));
    writes.push((
        "PUT P3: new, dated into 2027".into(),
        put_project(
            &token,
            &changed(&d, |p| {
                p["ref"] = json!("P3");
                p["start_date"] = json!("2027-01-01");
                p["end_date"] = json!("2027-12-31");
            }),
        ),
        Expect::Allowed,
    ));
    writes.push((
        "JSON: a value of 2026H2".into(),
        post_json(
            SUBMISSIONS,
            &token,
            &json!({"values": [value("A", "RCR01", H2, json!(0.3))]}),
        ),
        Expect::Allowed,
    ));
    writes
}

/// The property: every kind of write by the region either is refused with 409 naming the
/// report and storing nothing, or leaves every figure of `basis` as it was (`beyond`: also
/// those of periods reaching past 2026H1).
async fn every_write_is_refused_or_moves_no_figure(
    t: &TestApp,
    app: &impl TestService,
    (basis, beyond): (&str, bool),
    state: &str,
) {
    let before = figures(t, app, basis, beyond).await;
    for (name, request, expect) in every_kind_of_write(t, app).await {
        let version = data_version(t);
        let reply: Reply = send(app, request).await;
        let refused = reply.status == 409;
        match expect {
            Expect::Refused(field) => {
                let problem = reply.problem(409);
                let first = &problem["errors"][0];
                assert_eq!(first["code"], "report_signed_off", "{name}: {problem}");
                if !name.starts_with("CSV") {
                    assert_eq!(first["field"], field, "{name}: {problem}");
                }
                let message = first["message"].as_str().unwrap();
                assert!(
                    message.contains("region 07")
                        && message.contains(H1)
                        && message.contains(state),
                    "{name}: the report and its state: {message}"
                );
            }
            Expect::Allowed => assert!(
                reply.status.is_success(),
                "{name}: {}",
                String::from_utf8_lossy(&reply.body)
            ),
            Expect::Either => assert!(
                refused || reply.status == 200,
                "{name}: {}",
                String::from_utf8_lossy(&reply.body)
            ),
        }
        if refused {
            assert_eq!(data_version(t), version, "{name}: nothing stored");
        }
        let after = figures(t, app, basis, beyond).await;
        for ((question, was), (_, now)) in before.iter().zip(&after) {
            assert_eq!(was, now, "{name} moved {question}");
        }
    }
    // Tillväxtverket reads; it never writes.
    let national = t.token(Role::National, None);
    let a = project_body(app, t, "A").await;
    send(app, put_project(&national, &a)).await.problem(403);
    let values = json!({"values": [value("A", "RCR01", H1, json!(0.9))]});
    send(app, post_json(SUBMISSIONS, &national, &values))
        .await
        .problem(403);
}

async fn no_write_of_the_region_moves_an_accepted_figure(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load_with_d(&t, &app).await;
    sign_off(&t, &app, true).await;
    // Whatever the period: only 2026H1 is accepted.
    let accepted = ("reports=accepted", true);
    every_write_is_refused_or_moves_no_figure(&t, &app, accepted, "accepted").await;
    // A dry run gives the same answer.
    let token = t.token(Role::Region, Some("07"));
    let a = project_body(&app, &t, "A").await;
    let body = json!({"projects": [changed(&a, |p| p["granted_sek"] = json!(900_000))]});
    let real = send(&app, post_json(SUBMISSIONS, &token, &body)).await;
    let dry = format!("{SUBMISSIONS}?dry_run=true");
    let dry = send(&app, post_json(&dry, &token, &body)).await;
    assert_eq!(dry.problem(409)["errors"], real.problem(409)["errors"]);
}

/// The steps the issue took: Kronoberg reports RCO83 = 2 for 2026H1, signs off, has it
/// accepted and locked, then tries to reclassify its project with another amount and to add
/// a project dated into 2026H1.
async fn the_walk_through_of_issue_21_moves_no_accepted_figure(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let period = json!({"id": H1, "deadline": "2030-01-31"});
    send(&app, post_json("/api/v1/periods", &admin, &period)).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let p1 = json!({
        "ref": "P1", "title": "Strategiarbete", "organisation": "Region Kronoberg",
        "status": "pagaende", "project_type": "projekt", "sakomrade": "innovation_foretagande",
        "effektkedja": "kunskap_strategier", "branscher": [],
        "start_date": "2026-01-01", "end_date": "2026-12-31",
        "granted_sek": 1_000_000, "total_budget_sek": 2_000_000,
        "indicators": [{"indicator": "RCO83", "target": 3}]
    });
    let first = json!({
        "projects": [p1],
        "values": [value("P1", "RCO83", H1, json!(2))],
        "narratives": [{"project_ref": "P1", "period": H1, "progress": "Två strategier."}],
    });
    send(&app, post_json(SUBMISSIONS, &kronoberg, &first))
        .await
        .ok();
    sign_off(&t, &app, true).await;
    send(
        &app,
        post_json("/api/v1/periods/2026H1/lock", &admin, &json!({})),
    )
    .await
    .ok();
    let ask = |question: &str| {
        get(
            &format!("/api/v1/aggregates?{question}&reports=accepted"),
            &admin,
        )
    };
    let by_sakomrade = "indicator=RCO83&period=2026H1&group_by=sakomrade";
    let granted = "indicator=NAT-R01&period=2026H1";
    let before = [
        send(&app, ask(by_sakomrade)).await.json()["rows"].clone(),
        send(&app, ask(granted)).await.json()["national"].clone(),
    ];
    assert_eq!(before[0][0]["sakomrade"], "innovation_foretagande");
    assert_eq!(before[1]["value"], 1_000_000);
    let report = send(&app, get("/api/v1/regions/07/reports/2026H1", &admin))
        .await
        .json();
    let reclassified = changed(&p1, |p| {
        p["sakomrade"] = json!("attraktiva_miljoer");
        p["granted_sek"] = json!(9_000_000);
        p["total_budget_sek"] = json!(9_000_000);
    });
    let refused = send(&app, put_project(&kronoberg, &reclassified)).await;
    let fields: Vec<Value> = refused.problem(409)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].clone())
        .collect();
    assert_eq!(
        fields,
        [
            json!("sakomrade"),
            json!("granted_sek"),
            json!("total_budget_sek")
        ]
    );
    let p2 = changed(&p1, |p| p["ref"] = json!("P2"));
    send(&app, put_project(&kronoberg, &p2)).await.problem(409);
    let after = [
        send(&app, ask(by_sakomrade)).await.json()["rows"].clone(),
        send(&app, ask(granted)).await.json()["national"].clone(),
    ];
    assert_eq!(after, before);
    let still = send(&app, get("/api/v1/regions/07/reports/2026H1", &admin))
        .await
        .json();
    assert_eq!(still, report, "still accepted, as complete, no event");
    // The admin may; the change is marked on the report.
    send(&app, put_project(&admin, &reclassified)).await.ok();
    let marked = history(&t, &app, H1).await;
    assert_eq!(
        marked.len(),
        report["history"].as_array().unwrap().len() + 1
    );
}

async fn no_write_of_the_region_moves_a_signed_off_report(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load_with_d(&t, &app).await;
    sign_off(&t, &app, false).await;
    // What the report rests on: Kronoberg's figures of 2026H1, whatever their state.
    let kronoberg = ("reports=all&region=07", false);
    every_write_is_refused_or_moves_no_figure(&t, &app, kronoberg, "submitted").await;
}

/// The history of Kronoberg's report of `period`.
async fn history(t: &TestApp, app: &impl TestService, period: &str) -> Vec<Value> {
    let path = format!("/api/v1/regions/07/reports/{period}");
    send(app, get(&path, &t.admin())).await.ok().json()["history"]
        .as_array()
        .unwrap()
        .clone()
}

async fn an_admin_change_is_marked_once_on_the_report_it_changes(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load_with_d(&t, &app).await;
    sign_off(&t, &app, true).await;
    let admin = t.admin();
    let marked = history(&t, &app, H1).await.len();
    assert_eq!(marked, 2, "signed off and accepted");
    let a = project_body(&app, &t, "A").await;
    // Unchanged resends in every form, and changes of nothing a figure rests on.
    let unchanged = [
        put_project(&admin, &a),
        post_json(
            SUBMISSIONS,
            &admin,
            &json!({"projects": [a.clone()], "values": [value("A", "RCR01", H1, json!(0.1))]}),
        ),
        csv(
            &admin,
            "project_ref,indicator,period,value\nA,RCR01,2026H1,0.1\n",
        ),
        workbook(&admin, template(&app, &admin).await),
        put_project(&admin, &{
            let mut retitled = a.clone();
            retitled["title"] = json!("Nytt namn");
            retitled
        }),
        post_json(
            SUBMISSIONS,
            &admin,
            &json!({"values": [value("A", "RCR01", H2, json!(0.7))]}),
        ),
    ];
    for request in unchanged {
        let reply = send(&app, request).await;
        assert!(
            reply.status.is_success(),
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(history(&t, &app, H1).await.len(), marked, "not marked");
    }
    // An admin's PUT that reclassifies A changes 2026H1 (accepted) and 2026H2 (open): one
    // event, on the accepted report only.
    let mut reclassified = a.clone();
    reclassified["sakomrade"] = json!("kompetensforsorjning");
    reclassified["fokusomrade"] = Value::Null;
    send(&app, put_project(&admin, &reclassified)).await.ok();
    let events = history(&t, &app, H1).await;
    assert_eq!(events.len(), marked + 1);
    let event = events.last().unwrap();
    assert_eq!(
        (event["from"].clone(), event["to"].clone()),
        (json!("accepted"), json!("accepted"))
    );
    assert_eq!(event["role"], "admin");
    assert!(
        event["comment"].as_str().unwrap().contains("project A"),
        "{event}"
    );
    assert!(history(&t, &app, H2).await.is_empty(), "2026H2 is open");
    // A submission that changes two values and a narrative of 2026H1: marked once.
    let changes = json!({
        "values": [value("A", "RCR01", H1, json!(0.4)), value("B", "RCR01", H1, json!(1.2))],
        "narratives": [{"project_ref": "A", "period": H1, "progress": "Rättat."}],
    });
    let stored = send(&app, post_json(SUBMISSIONS, &admin, &changes)).await;
    let submission = stored.ok().json()["submission_id"].clone();
    let events = history(&t, &app, H1).await;
    assert_eq!(events.len(), marked + 2, "once per write");
    assert!(
        events.last().unwrap()["comment"]
            .as_str()
            .unwrap()
            .contains(submission.as_str().unwrap())
    );
    // The same again changes nothing: not marked.
    send(&app, post_json(SUBMISSIONS, &admin, &changes))
        .await
        .ok();
    assert_eq!(history(&t, &app, H1).await.len(), marked + 2);
}

/// The national row and the rows (each group with its value, projects and target) of an
/// aggregate on accepted reports.
async fn accepted(app: &impl TestService, t: &TestApp, question: &str) -> Value {
    let path = format!("/api/v1/aggregates?{question}&reports=accepted");
    let answer = send(app, get(&path, &t.token(Role::National, None)))
        .await
        .ok()
        .json();
    json!({"national": answer["national"], "rows": answer["rows"], "reports": answer["reports"]})
}

async fn reports_accepted_counts_every_measure_only_in_accepted_half_years(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    // Nothing accepted: nothing counts, projects and project fields included.
    for indicator in ["NAT-R01", "NAT-R02", "RCO01", "RCR01"] {
        for period in [H1, "2026", "2026H1..2026H2&group_by=period"] {
            let answer =
                accepted(&app, &t, &format!("indicator={indicator}&period={period}")).await;
            assert_eq!(
                answer["national"]["value"],
                Value::Null,
                "{indicator} {period}"
            );
            assert_eq!(answer["national"]["projects"], 0, "{indicator} {period}");
            assert_eq!(
                answer["national"]["target"],
                Value::Null,
                "{indicator} {period}"
            );
        }
        let by_region = accepted(
            &app,
            &t,
            &format!("indicator={indicator}&period={H1}&group_by=region"),
        )
        .await;
        assert_eq!(by_region["rows"], json!([]), "{indicator}");
    }
    // Kronoberg's 2026H1 (A and B, both dated into 2026H1 and 2026H2) and Kalmar's 2026H2
    // (C, dated into both too) are accepted.
    sign_off(&t, &app, true).await;
    let kalmar = t.token(Role::Region, Some("08"));
    let national = t.token(Role::National, None);
    transition_in(&app, &kalmar, "08", H2, "submit", incomplete())
        .await
        .ok();
    transition_in(&app, &national, "08", H2, "accept", json!({}))
        .await
        .ok();
    // Granted: A 1,000,000, B 500,000, C 2,000,000; budgets twice that.
    let granted = accepted(&app, &t, &format!("indicator=NAT-R01&period={H1}")).await;
    assert_eq!(granted["national"]["value"], 1_500_000);
    assert_eq!(
        granted["national"]["projects"], 2,
        "C's 2026H1 is not accepted"
    );
    let budget = accepted(&app, &t, &format!("indicator=NAT-R02&period={H2}")).await;
    assert_eq!(budget["national"]["value"], 4_000_000, "only C in 2026H2");
    let year = accepted(&app, &t, "indicator=NAT-R01&period=2026&group_by=region").await;
    assert_eq!(
        year["national"]["value"], 3_500_000,
        "each project once in the year"
    );
    assert_eq!(year["national"]["projects"], 3);
    // The answer names exactly the reports it rests on; an answer on every value names none.
    assert_eq!(
        year["reports"]["rests_on"],
        json!(["07:2026H1", "08:2026H2"])
    );
    let all = send(
        &app,
        get(
            "/api/v1/aggregates?indicator=NAT-R01&period=2026",
            &national,
        ),
    )
    .await
    .ok()
    .json();
    assert!(all["reports"].get("rests_on").is_none(), "{all}");
    let by_period = accepted(
        &app,
        &t,
        &format!("indicator=NAT-R01&period={H1}..{H2}&group_by=period,region"),
    )
    .await;
    let cells: Vec<(Value, Value, Value, Value)> = by_period["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row["period"].clone(),
                row["region"].clone(),
                row["projects"].clone(),
                row["value"].clone(),
            )
        })
        .collect();
    assert_eq!(
        cells,
        vec![
            (json!(H1), json!("07"), json!(2), json!(1_500_000)),
            (json!(H2), json!("08"), json!(1), json!(2_000_000)),
        ],
        "each region in the half-year of its accepted report only"
    );
    let by_year = accepted(&app, &t, "indicator=NAT-R01&period=2026&group_by=period").await;
    assert_eq!(by_year["rows"][0]["projects"], 3);
    assert_eq!(by_year["rows"][0]["value"], 3_500_000);
    // Targets: A plans RCO01 10, C 20; the projects counted are those accepted.
    let targets = accepted(
        &app,
        &t,
        &format!("indicator=RCO01&period={H1}&group_by=region"),
    )
    .await;
    assert_eq!(targets["rows"][0]["region"], "07");
    assert_eq!(targets["rows"][0]["target"], 10);
    assert_eq!(targets["rows"].as_array().unwrap().len(), 1);
    assert_eq!(targets["national"]["target"], 10);
    // Values: Kronoberg's of 2026H1 (A 0.1, B 1.5) and Kalmar's of 2026H2 (none).
    let values = accepted(&app, &t, "indicator=RCR01&period=2026&group_by=sakomrade").await;
    assert_eq!(values["national"]["value"], 1.6);
    assert_eq!(values["national"]["reporting_projects"], 2);
    assert_eq!(values["national"]["projects"], 3);
    // Everything stored counts by default, as before.
    let all = send(
        &app,
        get(
            &format!("/api/v1/aggregates?indicator=NAT-R01&period={H1}"),
            &national,
        ),
    )
    .await
    .json();
    assert_eq!(all["national"]["value"], 3_500_000);
    assert_eq!(all["national"]["projects"], 3);
}

/// A region that resends what its accepted report holds, as a whole file or in part, in
/// every format, is answered `unchanged`: only a write that would change something is
/// refused, so a stale but unchanged template or a system that resends everything goes
/// through.
async fn resending_a_signed_off_half_year_unchanged_changes_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load_with_d(&t, &app).await;
    sign_off(&t, &app, true).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let version = data_version(&t);
    let a = project_body(&app, &t, "A").await;
    let resends = [
        put_project(&kronoberg, &a),
        post_json(
            SUBMISSIONS,
            &kronoberg,
            &json!({"projects": [a.clone()], "values": [value("A", "RCR01", H1, json!(0.1))]}),
        ),
        csv(
            &kronoberg,
            "project_ref,indicator,period,value\nA,RCR01,2026H1,0.1\nB,RCR01,2026H1,1.5\n",
        ),
        workbook(&kronoberg, template(&app, &kronoberg).await),
    ];
    for request in resends {
        let reply = send(&app, request).await;
        assert!(
            reply.status.is_success(),
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        let answer = reply.json();
        if answer.get("values").is_some() {
            assert_eq!(answer["values"]["updated"], 0, "{answer}");
            assert_eq!(answer["values"]["created"], 0, "{answer}");
        }
    }
    assert_eq!(data_version(&t), version, "nothing changed");
    // One changed figure among unchanged ones: the whole file is refused.
    let reply = send(
        &app,
        csv(
            &kronoberg,
            "project_ref,indicator,period,value\nA,RCR01,2026H1,0.1\nB,RCR01,2026H1,1.6\n",
        ),
    )
    .await;
    let problem = reply.problem(409);
    assert_eq!(
        problem["errors"][0]["code"], "report_signed_off",
        "{problem}"
    );
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1, "{problem}");
    assert_eq!(data_version(&t), version, "nothing stored");
    // The same for a half-year an admin has locked.
    send(
        &app,
        post_json("/api/v1/periods/2026H2/lock", &t.admin(), &json!({})),
    )
    .await
    .ok();
    let version = data_version(&t);
    let resend = |figure: &str| {
        csv(
            &kronoberg,
            &format!("project_ref,indicator,period,value\nA,RCR01,2026H2,{figure}\n"),
        )
    };
    let answer = send(&app, resend("0.2")).await.ok().json();
    assert_eq!(answer["values"]["unchanged"], 1, "{answer}");
    let problem = send(&app, resend("0.3")).await.problem(409);
    assert_eq!(problem["errors"][0]["code"], "period_locked", "{problem}");
    assert_eq!(data_version(&t), version, "nothing stored");
}
