//! Figures that stand: no accepted input makes a figure fail, and a question gets only the
//! rows it asked for.

use actix_web::test;
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, TestApp, get, post_json, send};
use uppfoljning::app::build_app;

backend_tests!(
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
        assert_eq!(
            reply.status,
            200,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
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
    assert_eq!(
        granted.status,
        200,
        "{}",
        String::from_utf8_lossy(&granted.body)
    );
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
