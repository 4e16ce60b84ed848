//! Figures that stand: no accepted input makes a figure fail, and a question gets only the
//! rows it asked for.

use actix_web::test;
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, TestApp, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::{Principal, Role};
use uppfoljning::db::{self, DbPool};
use uppfoljning::domain::aggregate::question::{GroupBy, Per};
use uppfoljning::domain::codes::RegionCode;
use uppfoljning::domain::period::PeriodSpan;
use uppfoljning::error::AppError;
use uppfoljning::service::aggregates::{AggregateRequest, answer_at};
use uppfoljning::service::submissions;

backend_tests!(
    as_of_gives_the_figures_as_they_stood_before_every_kind_of_change,
    only_writes_that_change_data_move_the_data_version,
    a_snapshot_taken_while_a_submission_commits_reproduces_its_sha256,
    an_answer_reads_one_state_while_a_write_commits,
    dates_that_would_leave_reported_values_outside_are_refused,
    catalogue_changes_that_would_alter_stored_figures_are_refused,
    sums_at_the_validation_bounds_are_exact,
    text_with_a_nul_character_is_refused_for_every_body,
    a_bransch_filter_with_bransch_grouping_gives_only_the_asked_branscher,
);

/// The largest value and target a project may report (10^14), and the largest amount a
/// project may be granted (i64::MAX kronor).
const MAX_VALUE: &str = "100000000000000";
const MAX_GRANTED: i64 = i64::MAX;

fn project_at_the_bounds(reference: &str) -> Value {
    json!({
        "ref": reference, "title": "Gränsfall", "organisation": "Regionen",
        "status": "pagaende", "project_type": "projekt", "sakomrade": "ovrigt",
        "effektkedja": "varor_tjanster_direkt", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "granted_sek": MAX_GRANTED, "total_budget_sek": MAX_GRANTED,
        "indicators": [{"indicator": "RCR01", "target": MAX_VALUE.parse::<u64>().unwrap()}]
    })
}

async fn sums_at_the_validation_bounds_are_exact(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let period = json!({"id": "2026H1", "deadline": "2030-01-31"});
    send(&app, post_json("/api/v1/periods", &t.admin(), &period)).await;
    // Ten projects in Kronoberg and five in Kalmar, each at every bound.
    for (region, count) in [("07", 10), ("08", 5)] {
        let references: Vec<String> = (0..count).map(|i| format!("{region}-{i}")).collect();
        let submission = json!({
            "projects": references.iter().map(|r| project_at_the_bounds(r)).collect::<Vec<_>>(),
            "values": references.iter()
                .map(|r| value(r, "RCR01", "2026H1", json!(MAX_VALUE.parse::<u64>().unwrap())))
                .collect::<Vec<_>>(),
        });
        let path = format!("/api/v1/regions/{region}/submissions");
        let reply = send(&app, post_json(&path, &t.admin(), &submission)).await;
        reply.ok();
    }
    let ask = |query: &str| get(&format!("/api/v1/aggregates?{query}"), &t.admin());
    let jobs = send(&app, ask("indicator=RCR01&period=2026H1&group_by=region")).await;
    assert_eq!(jobs.status, 200, "{}", String::from_utf8_lossy(&jobs.body));
    let jobs = jobs.json();
    // Numbers are compared as their exact text.
    assert_eq!(jobs["rows"][0]["value"].to_string(), "1000000000000000");
    assert_eq!(jobs["rows"][0]["target"].to_string(), "1000000000000000");
    assert_eq!(jobs["rows"][1]["value"].to_string(), "500000000000000");
    assert_eq!(jobs["national"]["value"].to_string(), "1500000000000000");
    assert_eq!(jobs["national"]["target"].to_string(), "1500000000000000");
    let by_half_year = send(&app, ask("indicator=RCR01&period=2026H1&group_by=period")).await;
    assert_eq!(
        by_half_year.json()["national"]["value"].to_string(),
        "1500000000000000",
        "the value-by-value path too"
    );
    let granted = send(&app, ask("indicator=NAT-R01&period=2026&group_by=region")).await;
    granted.ok();
    let fifteen_times = (i128::from(MAX_GRANTED) * 15).to_string();
    assert_eq!(
        granted.json()["national"]["value"].to_string(),
        fifteen_times
    );
    let snapshot = json!({"period": "2026H1", "label": "Gränsfall"});
    let frozen = send(&app, post_json("/api/v1/snapshots", &t.admin(), &snapshot)).await;
    assert_eq!(
        frozen.status,
        201,
        "{}",
        String::from_utf8_lossy(&frozen.body)
    );
}

async fn text_with_a_nul_character_is_refused_for_every_body(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let indicators = t.count("indicators");
    let indicator = json!({
        "code": "NUL\u{0}", "name_sv": "Noll", "name_en": "Nul", "unit": "antal",
        "level": "prestationer", "aggregation": "sum", "by_sex": false, "decimals": 0
    });
    let reply = send(
        &app,
        post_json("/api/v1/indicators", &t.admin(), &indicator),
    )
    .await;
    let problem = reply.problem(422);
    assert_eq!(problem["errors"][0]["code"], "nul_character");
    assert_eq!(t.count("indicators"), indicators, "nothing stored");
    let period = json!({"id": "2026H1", "deadline": "2030-01-31"});
    send(&app, post_json("/api/v1/periods", &t.admin(), &period)).await;
    let submission =
        json!({"narratives": [{"project_ref": "A", "period": "2026H1", "progress": "a\u{0}b"}]});
    let reply = send(
        &app,
        post_json("/api/v1/regions/07/submissions", &t.admin(), &submission),
    )
    .await;
    assert_eq!(reply.problem(422)["errors"][0]["code"], "nul_character");
    assert_eq!(t.count("narratives"), 0, "nothing stored");
}

async fn a_bransch_filter_with_bransch_grouping_gives_only_the_asked_branscher(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    // A is in kkn and ikt, C in kkn: asked for kkn, the ikt row is no answer.
    let path = "/api/v1/aggregates?indicator=RCR01&period=2026&group_by=bransch&bransch=kkn";
    let answer = send(&app, get(path, &t.admin())).await.json();
    let rows: Vec<(Value, Value)> = answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| (row["bransch"].clone(), row["value"].clone()))
        .collect();
    assert_eq!(rows, vec![(json!("kkn"), json!(2.3))]);
    assert_eq!(answer["national"]["value"], 2.3);
    let facts =
        "/api/v1/aggregates?indicator=NAT-U01N&period=2026H1&group_by=bransch,sex&bransch=kkn";
    let by_sex = send(&app, get(facts, &t.admin())).await.json();
    assert!(
        by_sex["rows"]
            .as_array()
            .unwrap()
            .iter()
            .all(|row| row["bransch"] == "kkn"),
        "the value-by-value path too: {by_sex}"
    );
}

/// The questions whose figures depend on each kind of change below.
const QUESTIONS: [&str; 6] = [
    "indicator=RCR01&period=2026&group_by=sakomrade",
    "indicator=RCR01&period=2026&group_by=bransch",
    "indicator=RCO01&period=2026&group_by=region",
    "indicator=NAT-R01&period=2026&group_by=region",
    "indicator=NAT-U01&period=2026H1&group_by=region",
    "indicator=RCR01&period=2026&group_by=fokusomrade&sakomrade=innovation_foretagande",
];

/// An answer without the instant it describes, to compare figures.
fn figures(mut answer: Value) -> Value {
    answer.as_object_mut().unwrap().remove("as_of");
    answer
}

fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The property the history protects: the answer as of T equals the answer given at T.
async fn as_of_gives_the_figures_as_they_stood_before_every_kind_of_change(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let ask = |query: String| get(&format!("/api/v1/aggregates?{query}"), &t.admin());
    let mut then = Vec::new();
    for question in QUESTIONS {
        then.push(figures(send(&app, ask(question.to_string())).await.json()));
    }
    std::thread::sleep(std::time::Duration::from_millis(5));
    let instant = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    // Project A is reclassified (sakområde, fokusområde), its branscher, RCO01 target and
    // granted amount change; the share indicator gets another decimal.
    let reclassified = json!({
        "ref": "A", "title": "Projekt A", "organisation": "Regionen",
        "status": "pagaende", "project_type": "projekt", "sakomrade": "kompetensforsorjning",
        "effektkedja": "varor_tjanster_direkt", "branscher": ["life_science"],
        "start_date": "2025-07-01", "end_date": "2027-12-31",
        "granted_sek": 7_000_000, "total_budget_sek": 14_000_000,
        "indicators": [{"indicator": "RCO01", "target": 99}, {"indicator": "RCR01", "target": 5}]
    });
    let reply = send(
        &app,
        crate::common::put_json("/api/v1/regions/07/projects/A", &t.admin(), &reclassified),
    )
    .await;
    reply.ok();
    let share = send(&app, get("/api/v1/indicators/NAT-U01", &t.admin()))
        .await
        .json();
    let mut sharper = share.clone();
    sharper["decimals"] = json!(2);
    sharper.as_object_mut().unwrap().remove("required_for");
    let reply = send(
        &app,
        crate::common::put_json("/api/v1/indicators/NAT-U01", &t.admin(), &sharper),
    )
    .await;
    reply.ok();
    let versions_path = "/api/v1/regions/07/projects/A/versions";
    let versions = send(&app, get(versions_path, &t.admin())).await.json();
    let versions = versions.as_array().unwrap();
    assert_eq!(versions.len(), 2, "{versions:?}");
    assert_eq!(versions[0]["sakomrade"], "innovation_foretagande");
    assert_eq!(versions[0]["branscher"], json!(["ikt", "kkn"]));
    assert_eq!(versions[0]["valid_to"], versions[1]["valid_from"]);
    assert_eq!(versions[1]["valid_to"], Value::Null, "current");
    assert_eq!(versions[1]["sakomrade"], "kompetensforsorjning");
    assert_eq!(versions[1]["granted_sek"], 7_000_000);
    assert_eq!(versions[1]["indicators"][0]["target"], 99);
    let other_region = t.token(uppfoljning::auth::Role::Region, Some("08"));
    send(&app, get(versions_path, &other_region))
        .await
        .problem(403);
    let own_region = t.token(uppfoljning::auth::Role::Region, Some("07"));
    assert_eq!(
        send(&app, get(versions_path, &own_region)).await.status,
        200
    );
    for (question, before) in QUESTIONS.iter().zip(&then) {
        let now = figures(send(&app, ask(question.to_string())).await.json());
        assert_ne!(
            &now, before,
            "{question}: the change shows in the live answer"
        );
        let as_of = format!("{question}&as_of={}", rfc3339(instant));
        let reply = send(&app, ask(as_of)).await;
        reply.ok();
        assert_eq!(
            &figures(reply.json()),
            before,
            "{question} as of before the change"
        );
    }
}

fn data_version(t: &TestApp) -> i64 {
    let mut conn = t.conn();
    uppfoljning::db::data_version::current(&mut conn).unwrap()
}

async fn only_writes_that_change_data_move_the_data_version(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    assert!(
        data_version(&t) >= 1,
        "the migration that added the history is a version of its own"
    );
    load(&t, &app).await;
    let loaded = data_version(&t);
    let path = "/api/v1/regions/08/submissions";
    let same = json!({"values": [value("C", "RCR01", "2026H1", json!(2))]});
    let unchanged = send(&app, post_json(path, &t.admin(), &same)).await.json();
    assert_eq!(unchanged["values"]["unchanged"], 1);
    let dry = json!({"values": [value("C", "RCR01", "2026H1", json!(3))]});
    let dry_path = format!("{path}?dry_run=true");
    send(&app, post_json(&dry_path, &t.admin(), &dry)).await;
    let bad = json!({"values": [value("C", "RCR01", "2026H1", json!(-1))]});
    send(&app, post_json(path, &t.admin(), &bad))
        .await
        .problem(422);
    let period = json!({"id": "2027H1", "deadline": "2030-01-31"});
    send(&app, post_json("/api/v1/periods", &t.admin(), &period)).await;
    assert_eq!(
        data_version(&t),
        loaded,
        "nothing that figures depend on changed"
    );
    let changed = send(&app, post_json(path, &t.admin(), &dry)).await.json();
    assert_eq!(changed["values"]["updated"], 1);
    assert_eq!(data_version(&t), loaded + 1);
}

/// Stores Kalmar's project C's RCR01 for 2026H1 as `amount` in a write transaction that,
/// once the value is written, says so on `stored` and waits `hold` before it commits.
pub fn slow_write(
    pool: DbPool,
    amount: i64,
    stored: std::sync::mpsc::Sender<()>,
    hold: std::time::Duration,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        let admin = Principal {
            issuer: None,
            subject: "slow-writer".into(),
            name: "slow-writer".into(),
            role: Role::Admin,
            region: None,
        };
        let input = serde_json::from_value(
            json!({"values": [value("C", "RCR01", "2026H1", json!(amount))]}),
        )
        .unwrap();
        db::write_transaction(&mut conn, |conn, write| -> Result<(), AppError> {
            let kalmar = RegionCode::parse("08").unwrap();
            submissions::store(conn, write, &kalmar, &admin, input)?;
            stored.send(()).unwrap();
            std::thread::sleep(hold);
            Ok(())
        })
        .unwrap();
    })
}

async fn a_snapshot_taken_while_a_submission_commits_reproduces_its_sha256(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let (stored, written) = std::sync::mpsc::channel();
    let hold = std::time::Duration::from_millis(800);
    let writer = slow_write(t.state.pool.clone(), 7, stored, hold);
    written.recv().unwrap();
    let snapshot = |body: Value| post_json("/api/v1/snapshots", &t.admin(), &body);
    let during = send(
        &app,
        snapshot(json!({"period": "2026", "label": "Under skrivning"})),
    )
    .await;
    assert_eq!(
        during.status,
        201,
        "{}",
        String::from_utf8_lossy(&during.body)
    );
    let during = during.json();
    writer.join().unwrap();
    let again = json!({"period": "2026", "label": "Igen", "as_of": during["as_of"]});
    let again = send(&app, snapshot(again)).await.json();
    assert_eq!(
        again["sha256"], during["sha256"],
        "the same question gives the same figures after the write committed"
    );
    let after = send(&app, snapshot(json!({"period": "2026", "label": "Efter"})))
        .await
        .json();
    assert_ne!(
        after["sha256"], during["sha256"],
        "the write counts once committed"
    );
}

async fn an_answer_reads_one_state_while_a_write_commits(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let question = AggregateRequest {
        indicator: "RCR01".into(),
        period: "2026".into(),
        span: PeriodSpan::parse("2026").unwrap(),
        group_by: vec![GroupBy::Region],
        per: Per::Total,
        regions: Vec::new(),
        filters: Vec::new(),
        as_of: None,
        basis: uppfoljning::views::aggregates::ReportBasis::All,
        max_cells: usize::MAX,
    };
    let mut conn = t.conn();
    let pool = t.state.pool.clone();
    let (first, second) = db::read_transaction(&mut conn, |conn| -> Result<_, AppError> {
        let first = answer_at(conn, &question, None, Some(&t.state.aggregate_index))?;
        // A write commits between two reads of the same answer.
        let (stored, written) = std::sync::mpsc::channel();
        let writer = slow_write(pool, 9, stored, std::time::Duration::ZERO);
        written.recv().unwrap();
        writer.join().unwrap();
        let second = answer_at(conn, &question, None, Some(&t.state.aggregate_index))?;
        Ok((first, second))
    })
    .unwrap();
    assert_eq!(
        first.rows[1].value, second.rows[1].value,
        "one state per read"
    );
    assert_eq!(first.national.value, second.national.value);
    let afterwards = answer_at(
        &mut t.conn(),
        &question,
        None,
        Some(&t.state.aggregate_index),
    )
    .unwrap();
    assert_ne!(
        afterwards.national.value, first.national.value,
        "committed since"
    );
}

/// Kronoberg's project A of `load` with other dates.
fn project_a(start: &str, end: &str) -> Value {
    json!({
        "ref": "A", "title": "Projekt A", "organisation": "Regionen",
        "status": "pagaende", "project_type": "projekt", "sakomrade": "innovation_foretagande",
        "fokusomrade": "innovation", "effektkedja": "varor_tjanster_direkt",
        "branscher": ["kkn", "ikt"], "start_date": start, "end_date": end,
        "granted_sek": 1_000_000, "total_budget_sek": 2_000_000,
        "indicators": [{"indicator": "RCO01", "target": 10}, {"indicator": "RCR01", "target": 5}]
    })
}

async fn dates_that_would_leave_reported_values_outside_are_refused(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let path = "/api/v1/regions/07/projects/A";
    let put = |body: Value| crate::common::put_json(path, &t.admin(), &body);
    let version = data_version(&t);
    // A reported 2026H1 and 2026H2.
    let shorter = send(&app, put(project_a("2025-07-01", "2026-06-30"))).await;
    let problem = shorter.problem(422);
    assert_eq!(problem["errors"][0]["field"], "end_date");
    assert_eq!(problem["errors"][0]["code"], "values_outside_dates");
    let later = send(&app, put(project_a("2026-07-01", "2027-12-31"))).await;
    assert_eq!(later.problem(422)["errors"][0]["field"], "start_date");
    let in_bulk = json!({"projects": [project_a("2025-07-01", "2026-03-31")]});
    let bulk = send(
        &app,
        post_json("/api/v1/regions/07/submissions", &t.admin(), &in_bulk),
    )
    .await;
    assert_eq!(
        bulk.invalid_fields(),
        ["projects[0].end_date"],
        "the same in a bulk submission"
    );
    assert_eq!(data_version(&t), version, "nothing stored");
    let stored = send(&app, get(path, &t.admin())).await.json();
    assert_eq!(stored["end_date"], "2027-12-31");
    let longer = send(&app, put(project_a("2025-07-01", "2028-12-31"))).await;
    assert_eq!(longer.status, 200, "dates that still cover every report");
}

async fn catalogue_changes_that_would_alter_stored_figures_are_refused(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let definition = |code: &str| {
        let app = &app;
        let t = &t;
        let code = code.to_string();
        async move {
            let mut indicator = send(app, get(&format!("/api/v1/indicators/{code}"), &t.admin()))
                .await
                .json();
            indicator.as_object_mut().unwrap().remove("required_for");
            indicator
        }
    };
    let replace = |code: &str, body: &Value| {
        crate::common::put_json(&format!("/api/v1/indicators/{code}"), &t.admin(), body)
    };
    let version = data_version(&t);
    // Participants are reported by sex; without the parts, the stored sums would mean less.
    let mut participants = definition("NAT-A01").await;
    participants["by_sex"] = json!(false);
    send(&app, replace("NAT-A01", &participants))
        .await
        .problem(409);
    // The share's parts have values: a share in per cent would become a fraction.
    let mut share = definition("NAT-U01").await;
    share["unit"] = json!("andel");
    send(&app, replace("NAT-U01", &share)).await.problem(409);
    let mut other_parts = definition("NAT-U01").await;
    other_parts["denominator"] = json!("NAT-U01N");
    other_parts["numerator"] = json!("NAT-A01");
    send(&app, replace("NAT-U01", &other_parts))
        .await
        .problem(409);
    assert_eq!(data_version(&t), version, "nothing changed");
    let mut sharper = definition("NAT-U01").await;
    sharper["decimals"] = json!(2);
    let reply = send(&app, replace("NAT-U01", &sharper)).await;
    assert_eq!(
        reply.status, 200,
        "more decimals keep the stored figures' meaning"
    );
    assert_eq!(data_version(&t), version + 1);
}
