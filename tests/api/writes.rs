//! The write side: projects, values, narratives, bulk submissions, locks and history.

use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::common::{Backend, Reply, TestApp, TestService, get, post_json, put_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    a_submission_round_trips_every_field,
    put_creates_and_replaces_a_project,
    invalid_projects_are_rejected_and_not_stored,
    invalid_values_are_rejected_and_not_stored,
    invalid_narratives_are_rejected_and_not_stored,
    one_bad_item_in_twenty_stores_nothing,
    resubmission_is_unchanged_and_adds_no_revision,
    a_correction_is_a_revision,
    idempotency_keys_replay_and_refuse_other_bodies,
    a_dry_run_stores_nothing,
    closed_periods_refuse_regions_until_opened,
    regions_write_and_read_only_their_own,
    project_lists_filter_and_page,
    concurrent_submissions_lose_nothing,
    eight_writers_with_a_hundred_submissions_each_lose_nothing,
    fifty_thousand_values_in_one_submission,
    submissions_over_the_item_limits_are_refused_whole,
    texts_with_tabs_line_breaks_backslashes_and_quotes_are_stored_exactly,
);

/// Opens 2025H2 (deadline passed), 2026H1 and 2026H2 (open) and 2099H1 (not started).
async fn open_periods(t: &TestApp, app: &impl TestService) {
    for (id, deadline) in [
        ("2025H2", "2026-01-31"),
        ("2026H1", "2030-01-31"),
        ("2026H2", "2030-01-31"),
        ("2099H1", "2099-09-30"),
    ] {
        let reply = send(
            app,
            post_json(
                "/api/v1/periods",
                &t.admin(),
                &json!({"id": id, "deadline": deadline}),
            ),
        )
        .await;
        assert_eq!(reply.status, 201);
    }
}

fn project(reference: &str) -> Value {
    json!({
        "ref": reference, "title": "Sydostleden – cykelled och företagande",
        "organisation": "Region Kronoberg", "status": "pagaende",
        "project_type": "projekt", "sakomrade": "innovation_foretagande", "fokusomrade": "foretagande",
        "effektkedja": "varor_tjanster_direkt", "branscher": ["besoksnaring", "kkn"],
        "verktyg": ["radgivning"], "syften": ["nya_foretag"],
        "start_date": "2025-07-01", "end_date": "2027-12-31",
        "granted_sek": 1500000, "total_budget_sek": 3200000,
        "indicators": [
            {"indicator": "RCO01", "baseline": 0, "baseline_year": 2025, "target": 40,
             "goal": "40 företag får stöd", "source": "Projektets deltagarlista"},
            {"indicator": "RCR01", "baseline": 2.5, "target": 12.5}
        ]
    })
}

fn values(reference: &str) -> Value {
    json!([
        {"project_ref": reference, "indicator": "RCO01", "period": "2026H1",
         "entities": ["5560360793", "556703-7485", "5567037485"], "comment": "tre rader, två företag"},
        {"project_ref": reference, "indicator": "NAT-A01", "period": "2026H1",
         "value": 12, "by_sex": {"kvinnor": 7, "man": 5, "ej_angivet": 0}},
        {"project_ref": reference, "indicator": "RCR01", "period": "2026H1", "value": 0.1},
        {"project_ref": reference, "indicator": "RCR01", "period": "2026H2", "value": 0.2}
    ])
}

fn submission(reference: &str) -> Value {
    json!({
        "projects": [project(reference)],
        "values": values(reference),
        "narratives": [{"project_ref": reference, "period": "2026H1",
                        "progress": "Leden är skyltad.", "lessons": "Tidig dialog lönar sig.",
                        "deviations": ""}]
    })
}

fn submit_path(region: &str) -> String {
    format!("/api/v1/regions/{region}/submissions")
}

/// A region's own token posting `body` to its submissions.
async fn submit_as(t: &TestApp, app: &impl TestService, region: &str, body: &Value) -> Reply {
    send(
        app,
        post_json(&submit_path(region), &region_token(t, region), body),
    )
    .await
}

fn region_token(t: &TestApp, region: &str) -> String {
    t.token(Role::Region, Some(region))
}

/// The rows that writes can add, to show that nothing was stored.
fn stored_rows(t: &TestApp) -> [i64; 6] {
    [
        t.count("projects"),
        t.count("indicator_values"),
        t.count("value_entities"),
        t.count("value_revisions"),
        t.count("narratives"),
        t.count("submissions"),
    ]
}

/// The body without times and ids that differ from run to run.
fn without_times(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            for key in ["created_at", "updated_at", "changed_at", "submission_id"] {
                map.remove(key);
            }
            for item in map.values_mut() {
                *item = without_times(item.take());
            }
        }
        Value::Array(items) => {
            for item in items.iter_mut() {
                *item = without_times(item.take());
            }
        }
        _ => {}
    }
    value
}

async fn a_submission_round_trips_every_field(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    let reply = send(
        &app,
        post_json(&submit_path("07"), &token, &submission("20201234")),
    )
    .await;
    let result = reply.ok().json();
    assert_eq!(result["status"], "stored");
    assert_eq!(result["dry_run"], false);
    assert_eq!(
        result["projects"],
        json!({"created": 1, "updated": 0, "unchanged": 0})
    );
    assert_eq!(
        result["values"],
        json!({"created": 4, "updated": 0, "unchanged": 0})
    );
    assert_eq!(
        result["narratives"],
        json!({"created": 1, "updated": 0, "unchanged": 0})
    );
    assert_eq!(result["errors"], json!([]));
    let submission_id = result["submission_id"].as_str().unwrap().to_string();

    let detail = send(&app, get("/api/v1/regions/07/projects/20201234", &token)).await;
    assert_eq!(detail.status, 200);
    let detail = detail.json();
    assert_eq!(detail["values"][0]["submission_id"], submission_id.as_str());
    assert_eq!(detail["values"][0]["updated_by"], "test");
    assert!(detail["created_at"].as_str().unwrap().ends_with('Z'));
    let mut expected_project = project("20201234");
    expected_project["region"] = json!("07");
    expected_project["branscher"] = json!(["besoksnaring", "kkn"]);
    expected_project["indicators"][1] = json!({"indicator": "RCR01", "baseline": 2.5, "baseline_year": null,
                                                "target": 12.5, "goal": null, "source": null});
    let mut expected = expected_project.clone();
    expected["values"] = json!([
        {"indicator": "NAT-A01", "period": "2026H1", "value": 12,
         "by_sex": {"kvinnor": 7, "man": 5, "ej_angivet": 0}, "entities": null, "comment": null,
         "updated_by": "test"},
        {"indicator": "RCO01", "period": "2026H1", "value": 2, "by_sex": null,
         "entities": ["5560360793", "5567037485"], "comment": "tre rader, två företag", "updated_by": "test"},
        {"indicator": "RCR01", "period": "2026H1", "value": 0.1, "by_sex": null, "entities": null,
         "comment": null, "updated_by": "test"},
        {"indicator": "RCR01", "period": "2026H2", "value": 0.2, "by_sex": null, "entities": null,
         "comment": null, "updated_by": "test"}
    ]);
    expected["narratives"] = json!([{"period": "2026H1", "progress": "Leden är skyltad.",
        "lessons": "Tidig dialog lönar sig.", "deviations": "", "updated_by": "test"}]);
    assert_eq!(without_times(detail), expected);
    // Decimals travel as exact JSON numbers, not strings or floats.
    let raw = String::from_utf8(
        send(&app, get("/api/v1/regions/07/projects/20201234", &token))
            .await
            .body,
    )
    .unwrap();
    assert!(
        raw.contains("\"value\":0.1,") && raw.contains("\"baseline\":2.5,"),
        "{raw}"
    );

    let history = send(
        &app,
        get("/api/v1/regions/07/projects/20201234/history", &token),
    )
    .await
    .json();
    assert_eq!(
        history.as_array().unwrap().len(),
        5,
        "four values and a narrative"
    );
    assert_eq!(history[0]["kind"], "value");
    assert_eq!(history[0]["old_value"], Value::Null);
    assert_eq!(history[0]["submission_id"], submission_id.as_str());
    assert_eq!(history[4]["kind"], "narrative");
    assert_eq!(history[4]["old"], Value::Null);
    assert_eq!(history[4]["new"]["progress"], "Leden är skyltad.");
    assert_eq!(
        history[4]["changed_at"], history[0]["changed_at"],
        "one write"
    );
    assert_eq!(t.count("submissions"), 1);
}

async fn put_creates_and_replaces_a_project(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let token = region_token(&t, "12");
    let path = "/api/v1/regions/12/projects/SK%C3%85NE-2026-01";
    let created = send(&app, put_json(path, &token, &project("SKÅNE-2026-01"))).await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    assert_eq!(created.json()["ref"], "SKÅNE-2026-01");
    let mut changed = project("SKÅNE-2026-01");
    changed["status"] = json!("avslutat");
    changed["branscher"] = json!([]);
    changed["fokusomrade"] = Value::Null;
    changed["indicators"] = json!([{"indicator": "RCO83", "target": 3}]);
    let replaced = send(&app, put_json(path, &token, &changed)).await;
    assert_eq!(replaced.status, 200);
    let stored = replaced.json();
    assert_eq!(stored["status"], "avslutat");
    assert_eq!(stored["branscher"], json!([]));
    assert_eq!(stored["fokusomrade"], Value::Null);
    assert_eq!(
        stored["indicators"],
        json!([{"indicator": "RCO83", "baseline": null, "baseline_year": null,
                                            "target": 3, "goal": null, "source": null}])
    );
    assert_eq!(
        send(&app, put_json(path, &token, &changed)).await.status,
        200
    );
    assert_eq!(t.count("projects"), 1);
    assert_eq!(t.count("project_codes"), 2);

    let mismatch = send(&app, put_json(path, &token, &project("OTHER"))).await;
    assert_eq!(mismatch.invalid_fields(), vec!["ref"]);
    let mut bad = project("SKÅNE-2026-01");
    bad["fokusomrade"] = json!("transportsystem");
    let reply = send(&app, put_json(path, &token, &bad)).await;
    assert_eq!(reply.invalid_fields(), vec!["fokusomrade"]);
    assert_eq!(reply.json()["errors"][0]["code"], "wrong_sakomrade");
    send(
        &app,
        put_json("/api/v1/regions/02/projects/X", &t.admin(), &project("X")),
    )
    .await
    .problem(404);
    send(&app, get("/api/v1/regions/12/projects/NOPE", &token))
        .await
        .problem(404);
}

/// Sends `body` (a submission) and asserts a 422 naming exactly `fields`, and that nothing
/// was stored.
async fn assert_refused(t: &TestApp, app: &impl TestService, body: &Value, fields: &[&str]) {
    let before = stored_rows(t);
    let reply = send(
        app,
        post_json(&submit_path("07"), &region_token(t, "07"), body),
    )
    .await;
    assert_eq!(reply.invalid_fields(), fields, "{body}");
    let result = reply.json();
    assert_eq!(result["status"], "rejected", "{result}");
    assert_eq!(stored_rows(t), before, "nothing stored for {body}");
}

async fn invalid_projects_are_rejected_and_not_stored(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let with = |field: &str, value: Value| {
        let mut p = project("P1");
        p[field] = value;
        json!({"projects": [p]})
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("status", json!("klart")), "projects[0].status"),
        (with("project_type", json!("")), "projects[0].project_type"),
        (
            with("sakomrade", json!("kompetensforsorjning")),
            "projects[0].fokusomrade",
        ),
        (
            with("fokusomrade", json!("nope")),
            "projects[0].fokusomrade",
        ),
        (
            with("effektkedja", json!("varor")),
            "projects[0].effektkedja",
        ),
        (
            with("branscher", json!(["kkn", "gruvor"])),
            "projects[0].branscher[1]",
        ),
        (
            with("verktyg", json!(["bredband", "x"])),
            "projects[0].verktyg[1]",
        ),
        (with("syften", json!(["y"])), "projects[0].syften[0]"),
        (
            with("end_date", json!("2025-06-30")),
            "projects[0].end_date",
        ),
        (
            with("start_date", json!("1999-01-01")),
            "projects[0].start_date",
        ),
        (
            with("start_date", json!("2026-02-30")),
            "projects[0].start_date",
        ),
        (with("granted_sek", json!(-1)), "projects[0].granted_sek"),
        (with("granted_sek", json!(1.5)), "projects[0].granted_sek"),
        (
            with("granted_sek", json!(5000000)),
            "projects[0].granted_sek",
        ),
        (
            with("total_budget_sek", json!("lots")),
            "projects[0].total_budget_sek",
        ),
        (with("ref", json!("a/b")), "projects[0].ref"),
        (with("ref", json!("..")), "projects[0].ref"),
        (with("ref", json!(" x")), "projects[0].ref"),
        (with("ref", json!("x".repeat(65))), "projects[0].ref"),
        (with("title", json!("")), "projects[0].title"),
        (with("title", json!("t".repeat(501))), "projects[0].title"),
        (
            with("organisation", json!("Region\u{0}")),
            "projects[0].organisation",
        ),
        (
            with("indicators", json!([{"indicator": "NOPE"}])),
            "projects[0].indicators[0].indicator",
        ),
        (
            with("indicators", json!([{"indicator": "NAT-R01", "target": 1}])),
            "projects[0].indicators[0].indicator",
        ),
        (
            with(
                "indicators",
                json!([{"indicator": "RCR01", "target": 1.25}]),
            ),
            "projects[0].indicators[0].target",
        ),
        (
            with(
                "indicators",
                json!([{"indicator": "RCO01", "baseline": -3}]),
            ),
            "projects[0].indicators[0].baseline",
        ),
        (
            with(
                "indicators",
                json!([{"indicator": "RCO01", "baseline_year": 1850}]),
            ),
            "projects[0].indicators[0].baseline_year",
        ),
        (
            with(
                "indicators",
                json!([{"indicator": "RCO01"}, {"indicator": "RCO01"}]),
            ),
            "projects[0].indicators[1].indicator",
        ),
        (with("unexpected", json!(true)), "projects[0].unexpected"),
        (
            json!({"projects": [project("P1"), project("P1")]}),
            "projects[1].ref",
        ),
        (json!({"projekt": []}), "projekt"),
    ];
    for (body, field) in cases {
        assert_refused(&t, &app, &body, &[field]).await;
    }
    // An inactive indicator can no longer be planned.
    let mut rco84 = send(&app, get("/api/v1/indicators/RCO84", &t.admin()))
        .await
        .json();
    rco84["active"] = json!(false);
    assert_eq!(
        send(
            &app,
            put_json("/api/v1/indicators/RCO84", &t.admin(), &rco84)
        )
        .await
        .status,
        200
    );
    let planned = with("indicators", json!([{"indicator": "RCO84"}]));
    assert_refused(&t, &app, &planned, &["projects[0].indicators[0].indicator"]).await;
    assert_eq!(stored_rows(&t), [0; 6]);
}

async fn invalid_values_are_rejected_and_not_stored(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    let stored = send(
        &app,
        post_json(
            &submit_path("07"),
            &token,
            &json!({"projects": [project("P1")]}),
        ),
    )
    .await;
    assert_eq!(stored.status, 200);
    let value = |changes: Value| {
        let mut v =
            json!({"project_ref": "P1", "indicator": "RCR01", "period": "2026H1", "value": 1});
        for (k, x) in changes.as_object().unwrap() {
            if x.is_null() {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = x.clone();
            }
        }
        json!({"values": [v]})
    };
    let cases: Vec<(Value, &str)> = vec![
        (
            value(json!({"project_ref": "NOPE"})),
            "values[0].project_ref",
        ),
        (value(json!({"indicator": "NOPE"})), "values[0].indicator"),
        (
            value(json!({"indicator": "NAT-U01"})),
            "values[0].indicator",
        ),
        (
            value(json!({"indicator": "NAT-R01"})),
            "values[0].indicator",
        ),
        (value(json!({"period": "2026H3"})), "values[0].period"),
        (value(json!({"period": "2026"})), "values[0].period"),
        (value(json!({"period": "2024H1"})), "values[0].period"),
        (value(json!({"period": "2099H1"})), "values[0].period"),
        (value(json!({"value": 0.15})), "values[0].value"),
        (value(json!({"value": -1})), "values[0].value"),
        (value(json!({"value": null})), "values[0].value"),
        (value(json!({"value": "NaN"})), "values[0].value"),
        (value(json!({"value": 1e300})), "values[0].value"),
        (
            value(json!({"value": 100000000000001u64})),
            "values[0].value",
        ),
        (value(json!({"value": true})), "values[0].value"),
        (
            value(json!({"comment": "x".repeat(2001)})),
            "values[0].comment",
        ),
        (value(json!({"comment": "bell\u{7}"})), "values[0].comment"),
        (
            value(json!({"entities": ["5560360793"]})),
            "values[0].entities",
        ),
        (
            value(json!({"by_sex": {"kvinnor": 1, "man": 0, "ej_angivet": 0}})),
            "values[0].by_sex",
        ),
        (
            value(json!({"indicator": "NAT-A01", "value": 3})),
            "values[0].by_sex",
        ),
        (
            value(
                json!({"indicator": "NAT-A01", "value": 3, "by_sex": {"kvinnor": 1, "man": 1, "ej_angivet": 0}}),
            ),
            "values[0].by_sex",
        ),
        (
            value(
                json!({"indicator": "NAT-A01", "value": 3, "by_sex": {"kvinnor": 1.5, "man": 1, "ej_angivet": 0}}),
            ),
            "values[0].by_sex.kvinnor",
        ),
        (
            value(json!({"indicator": "NAT-A01", "value": 3, "by_sex": {"kvinnor": 3, "man": 0}})),
            "values[0].by_sex",
        ),
        (
            value(json!({"indicator": "RCO01", "value": null})),
            "values[0].entities",
        ),
        (
            value(json!({"indicator": "RCO01", "value": null, "entities": ["5560360794"]})),
            "values[0].entities[0]",
        ),
        (
            value(json!({"indicator": "RCO01", "value": 3, "entities": ["5560360793"]})),
            "values[0].value",
        ),
        (value(json!({"extra": 1})), "values[0].extra"),
    ];
    for (body, field) in cases {
        assert_refused(&t, &app, &body, &[field]).await;
    }
    let twice = json!({"values": [
        {"project_ref": "P1", "indicator": "RCR01", "period": "2026H1", "value": 1},
        {"project_ref": "P1", "indicator": "RCR01", "period": "2026H1", "value": 2}
    ]});
    assert_refused(&t, &app, &twice, &["values[1].period"]).await;
    // A project that ended before the period.
    let mut ended = project("P2");
    ended["start_date"] = json!("2025-01-01");
    ended["end_date"] = json!("2025-12-31");
    let outside = json!({"projects": [ended], "values": [
        {"project_ref": "P2", "indicator": "RCR01", "period": "2026H1", "value": 1}]});
    assert_refused(&t, &app, &outside, &["values[0].period"]).await;
    // Numbers JSON cannot hold are malformed.
    let huge = TestRequest::post()
        .uri(&submit_path("07"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "application/json"))
        .set_payload(r#"{"values": [{"project_ref": "P1", "indicator": "RCR01", "period": "2026H1", "value": 1e400}]}"#);
    let reply = send(&app, huge).await;
    assert!(
        reply.status == 400 || reply.status == 422,
        "{}",
        reply.status
    );
    assert_eq!(t.count("indicator_values"), 0);
    // Nesting deep enough to exhaust a recursive parser's stack is refused at its first
    // bracket, where a text was expected, not a crash.
    let deep = format!(
        r#"{{"values": [{{"project_ref": "P1", "comment": {}{}}}]}}"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let nested = TestRequest::post()
        .uri(&submit_path("07"))
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "application/json"))
        .set_payload(deep);
    let before = stored_rows(&t);
    let reply = send(&app, nested).await;
    assert_eq!(reply.invalid_fields(), vec!["values[0].comment"]);
    assert_eq!(stored_rows(&t), before);
    // Negative zero is zero.
    let zero = value(json!({"value": -0.0}));
    assert_eq!(
        send(&app, post_json(&submit_path("07"), &token, &zero))
            .await
            .status,
        200
    );
    let detail = send(&app, get("/api/v1/regions/07/projects/P1", &token))
        .await
        .json();
    assert_eq!(detail["values"][0]["value"], json!(0));
}

async fn invalid_narratives_are_rejected_and_not_stored(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    assert_eq!(
        send(
            &app,
            post_json(
                &submit_path("07"),
                &token,
                &json!({"projects": [project("P1")]})
            )
        )
        .await
        .status,
        200
    );
    let narrative = |changes: Value| {
        let mut n = json!({"project_ref": "P1", "period": "2026H1", "progress": "Bra"});
        n.as_object_mut()
            .unwrap()
            .extend(changes.as_object().unwrap().clone());
        json!({"narratives": [n]})
    };
    let cases: Vec<(Value, &str)> = vec![
        (narrative(json!({"progress": ""})), "narratives[0].progress"),
        (
            narrative(json!({"lessons": "x".repeat(10_001)})),
            "narratives[0].lessons",
        ),
        (
            narrative(json!({"period": "2099H1"})),
            "narratives[0].period",
        ),
        (
            narrative(json!({"project_ref": "P9"})),
            "narratives[0].project_ref",
        ),
        (narrative(json!({"mood": "glad"})), "narratives[0].mood"),
    ];
    for (body, field) in cases {
        assert_refused(&t, &app, &body, &[field]).await;
    }
}

async fn one_bad_item_in_twenty_stores_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let projects: Vec<Value> = (0..5).map(|i| project(&format!("P{i}"))).collect();
    let mut values: Vec<Value> = (0..5)
        .flat_map(|i| {
            ["2025H2", "2026H1", "2026H2"].into_iter().enumerate().map(move |(h, period)| {
                json!({"project_ref": format!("P{i}"), "indicator": "RCR01", "period": period, "value": i + h})
            })
        })
        .collect();
    values[0]["period"] = json!("2026H1");
    values[0]["indicator"] = json!("RCR02");
    values[9]["value"] = json!(1.05);
    let body = json!({"projects": projects, "values": values});
    assert_eq!(
        body["projects"].as_array().unwrap().len() + body["values"].as_array().unwrap().len(),
        20
    );
    let admin_reply = send(&app, post_json(&submit_path("07"), &t.admin(), &body)).await;
    assert_eq!(admin_reply.invalid_fields(), vec!["values[9].value"]);
    let reply = submit_as(&t, &app, "07", &body).await;
    // Every problem at once: the bad value, and the values for the closed 2025H2.
    let problem = reply.json();
    let fields = reply.invalid_fields();
    assert_eq!(fields.len(), 5, "{problem}");
    assert!(fields.contains(&"values[9].value".to_string()));
    assert_eq!(
        problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["code"] == "period_locked")
            .count(),
        4
    );
    assert_eq!(problem["errors"][0]["index"], 12);
    assert_eq!(stored_rows(&t), [0, 0, 0, 0, 0, 0]);
}

async fn resubmission_is_unchanged_and_adds_no_revision(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    assert_eq!(
        send(
            &app,
            post_json(&submit_path("07"), &token, &submission("P1"))
        )
        .await
        .status,
        200
    );
    let revisions = t.count("value_revisions");
    let again = send(
        &app,
        post_json(&submit_path("07"), &token, &submission("P1")),
    )
    .await
    .json();
    assert_eq!(
        again["projects"],
        json!({"created": 0, "updated": 0, "unchanged": 1})
    );
    assert_eq!(
        again["values"],
        json!({"created": 0, "updated": 0, "unchanged": 4})
    );
    assert_eq!(
        again["narratives"],
        json!({"created": 0, "updated": 0, "unchanged": 1})
    );
    assert_eq!(t.count("value_revisions"), revisions);
    // Entities in another order and form are the same data.
    let mut reordered = submission("P1");
    reordered["values"][0]["entities"] = json!(["556703-7485", "5560360793"]);
    reordered["projects"][0]["branscher"] = json!(["kkn", "besoksnaring"]);
    let same = send(&app, post_json(&submit_path("07"), &token, &reordered))
        .await
        .json();
    assert_eq!(same["values"]["unchanged"], 4);
    assert_eq!(same["projects"]["unchanged"], 1);
    assert_eq!(t.count("value_revisions"), revisions);
}

async fn a_correction_is_a_revision(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    assert_eq!(
        send(
            &app,
            post_json(&submit_path("07"), &token, &submission("P1"))
        )
        .await
        .status,
        200
    );
    let correction = json!({"values": [
        {"project_ref": "P1", "indicator": "RCR01", "period": "2026H1", "value": 0.3, "comment": "rättad"},
        {"project_ref": "P1", "indicator": "RCO01", "period": "2026H1", "entities": ["5560360793"]}
    ]});
    let reply = send(&app, post_json(&submit_path("07"), &token, &correction))
        .await
        .json();
    assert_eq!(
        reply["values"],
        json!({"created": 0, "updated": 2, "unchanged": 0})
    );
    let history = send(&app, get("/api/v1/regions/07/projects/P1/history", &token))
        .await
        .json();
    let history = history.as_array().unwrap();
    assert_eq!(history.len(), 7, "six value changes and a narrative");
    let rcr01: Vec<&Value> = history
        .iter()
        .filter(|r| r["indicator"] == "RCR01" && r["period"] == "2026H1")
        .collect();
    assert_eq!(rcr01.len(), 2);
    assert_eq!(
        (rcr01[1]["old_value"].clone(), rcr01[1]["new_value"].clone()),
        (json!(0.1), json!(0.3))
    );
    assert_eq!(rcr01[1]["comment"], "rättad");
    assert_eq!(rcr01[1]["submission_id"], reply["submission_id"]);
    let rco01: Vec<&Value> = history
        .iter()
        .filter(|r| r["indicator"] == "RCO01")
        .collect();
    assert_eq!(rco01[1]["entities"], json!(["5560360793"]));
    assert_eq!(
        (rco01[1]["old_value"].clone(), rco01[1]["new_value"].clone()),
        (json!(2), json!(1))
    );
    assert_eq!(t.count("value_entities"), 1);
    let detail = send(&app, get("/api/v1/regions/07/projects/P1", &token))
        .await
        .json();
    assert_eq!(detail["values"][2]["value"], json!(0.3));
}

async fn idempotency_keys_replay_and_refuse_other_bodies(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    let keyed = |body: &Value, key: &str| {
        post_json(&submit_path("07"), &token, body).insert_header(("Idempotency-Key", key))
    };
    let first = send(&app, keyed(&submission("P1"), "nightly-2026-11-28")).await;
    assert_eq!(first.status, 200);
    let replay = send(&app, keyed(&submission("P1"), "nightly-2026-11-28")).await;
    assert_eq!(replay.status, 200);
    assert_eq!(replay.headers.get("idempotent-replayed").unwrap(), "true");
    assert_eq!(replay.json(), first.json());
    assert_eq!(t.count("submissions"), 1);
    let other = send(&app, keyed(&submission("P2"), "nightly-2026-11-28")).await;
    assert_eq!(other.invalid_fields(), vec!["Idempotency-Key"]);
    assert_eq!(t.count("projects"), 1);
    // Keys belong to a region: another region may use the same key.
    let other_region = post_json(
        &submit_path("08"),
        &region_token(&t, "08"),
        &submission("P1"),
    )
    .insert_header(("Idempotency-Key", "nightly-2026-11-28"));
    assert_eq!(send(&app, other_region).await.status, 200);
    // Keys belong to a caller: an admin (with the same subject, `test`) sending region 07's
    // key and body makes a submission of its own, checked as the admin's, not a replay of
    // the region's answer.
    let admin_keyed = post_json(&submit_path("07"), &t.admin(), &submission("P1"))
        .insert_header(("Idempotency-Key", "nightly-2026-11-28"));
    let admin = send(&app, admin_keyed).await;
    admin.ok();
    assert!(admin.headers.get("idempotent-replayed").is_none());
    assert_eq!(t.count("submissions"), 3);
    assert_eq!(t.count("idempotency_keys"), 3);
    let bad_key = send(&app, keyed(&submission("P1"), &"k".repeat(201))).await;
    assert_eq!(bad_key.invalid_fields(), vec!["Idempotency-Key"]);
    // Every refusal of a submission has the submission's own shape.
    for refused in [other.json(), bad_key.json()] {
        assert_eq!(refused["status"], "rejected", "{refused}");
        assert_eq!(refused["dry_run"], false);
    }
}

async fn a_dry_run_stores_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    let path = format!("{}?dry_run=true", submit_path("07"));
    let reply = send(&app, post_json(&path, &token, &submission("P1"))).await;
    assert_eq!(reply.status, 200);
    let result = reply.json();
    assert_eq!(result["status"], "validated");
    assert_eq!(result["dry_run"], true);
    assert_eq!(result["submission_id"], Value::Null);
    assert_eq!(
        result["values"],
        json!({"created": 4, "updated": 0, "unchanged": 0})
    );
    assert_eq!(stored_rows(&t), [0; 6]);
    assert_eq!(
        send(
            &app,
            post_json(&submit_path("07"), &token, &submission("P1"))
        )
        .await
        .status,
        200
    );
    let mut changed = submission("P1");
    changed["values"][2]["value"] = json!(0.4);
    let counted = send(&app, post_json(&path, &token, &changed)).await.json();
    assert_eq!(
        counted["values"],
        json!({"created": 0, "updated": 1, "unchanged": 3})
    );
    assert_eq!(t.count("value_revisions"), 4);
    let bad = send(
        &app,
        post_json(
            &format!("{}?dry_run=maybe", submit_path("07")),
            &token,
            &changed,
        ),
    )
    .await;
    assert_eq!(bad.invalid_fields(), vec!["query"]);
    assert_eq!(bad.json()["status"], "rejected");
    assert_eq!(t.count("value_revisions"), 4);
}

async fn closed_periods_refuse_regions_until_opened(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let admin = t.admin();
    for region in ["07", "08"] {
        let body = json!({"projects": [project("P1")]});
        assert_eq!(
            send(
                &app,
                post_json(&submit_path(region), &region_token(&t, region), &body)
            )
            .await
            .status,
            200
        );
    }
    let value = |period: &str, value: i64| {
        json!({
            "values": [{"project_ref": "P1", "indicator": "RCR01", "period": period, "value": value}],
            "narratives": [{"project_ref": "P1", "period": period, "progress": "ok"}]
        })
    };
    // 2025H2's deadline has passed.
    let late = submit_as(&t, &app, "07", &value("2025H2", 1)).await;
    let problem = late.problem(409);
    assert_eq!(problem["status"], "rejected");
    assert_eq!(problem["errors"].as_array().unwrap().len(), 2);
    assert_eq!(problem["errors"][0]["code"], "period_locked");
    // Admin writes are never blocked.
    assert_eq!(
        send(
            &app,
            post_json(&submit_path("07"), &admin, &value("2025H2", 1))
        )
        .await
        .status,
        200
    );
    // An exception opens the period for one region only.
    let unlocked = send(
        &app,
        post_json(
            "/api/v1/periods/2025H2/unlock?region=07",
            &admin,
            &json!({}),
        ),
    )
    .await;
    assert_eq!(unlocked.status, 200);
    assert_eq!(unlocked.json()["lock_exceptions"], json!(["07"]));
    assert_eq!(
        submit_as(&t, &app, "07", &value("2025H2", 2)).await.status,
        200
    );
    submit_as(&t, &app, "08", &value("2025H2", 2))
        .await
        .problem(409);
    // An admin lock closes an open period for everyone and ends the exceptions.
    let locked = send(
        &app,
        post_json("/api/v1/periods/2026H1/lock", &admin, &json!({})),
    )
    .await
    .json();
    assert_eq!(locked["locked"], true);
    submit_as(&t, &app, "07", &value("2026H1", 1))
        .await
        .problem(409);
    let relocked = send(
        &app,
        post_json("/api/v1/periods/2025H2/lock", &admin, &json!({})),
    )
    .await
    .json();
    assert_eq!(relocked["lock_exceptions"], json!([]));
    submit_as(&t, &app, "07", &value("2025H2", 3))
        .await
        .problem(409);
    // Unlock without region reopens for all, deadline or not.
    let open = send(
        &app,
        post_json("/api/v1/periods/2025H2/unlock", &admin, &json!({})),
    )
    .await
    .json();
    assert_eq!(open["locked"], false);
    assert_eq!(
        submit_as(&t, &app, "08", &value("2025H2", 4)).await.status,
        200
    );
    // Locking the year closes its half-years.
    assert_eq!(
        send(
            &app,
            post_json(
                "/api/v1/periods",
                &admin,
                &json!({"id": "2026", "deadline": "2030-03-31"})
            )
        )
        .await
        .status,
        201
    );
    assert_eq!(
        submit_as(&t, &app, "08", &value("2026H2", 1)).await.status,
        200
    );
    send(
        &app,
        post_json("/api/v1/periods/2026/lock", &admin, &json!({})),
    )
    .await;
    submit_as(&t, &app, "08", &value("2026H2", 2))
        .await
        .problem(409);
    // Locks are for admins; unknown periods and regions are named.
    send(
        &app,
        post_json(
            "/api/v1/periods/2026/unlock",
            &region_token(&t, "07"),
            &json!({}),
        ),
    )
    .await
    .problem(403);
    send(
        &app,
        post_json("/api/v1/periods/2031H1/lock", &admin, &json!({})),
    )
    .await
    .problem(404);
    let bad_region = send(
        &app,
        post_json("/api/v1/periods/2026/unlock?region=02", &admin, &json!({})),
    )
    .await;
    assert_eq!(bad_region.invalid_fields(), vec!["region"]);
}

async fn regions_write_and_read_only_their_own(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let kronoberg = region_token(&t, "07");
    assert_eq!(
        send(
            &app,
            post_json(&submit_path("07"), &kronoberg, &submission("P1"))
        )
        .await
        .status,
        200
    );
    let before = stored_rows(&t);
    send(
        &app,
        post_json(&submit_path("08"), &kronoberg, &submission("P1")),
    )
    .await
    .problem(403);
    send(
        &app,
        put_json("/api/v1/regions/08/projects/P1", &kronoberg, &project("P1")),
    )
    .await
    .problem(403);
    send(
        &app,
        post_json(&submit_path("02"), &kronoberg, &submission("P1")),
    )
    .await
    .problem(403);
    for reader in [
        t.token(Role::National, None),
        t.token(Role::Scheduler, None),
    ] {
        send(
            &app,
            post_json(&submit_path("07"), &reader, &submission("P1")),
        )
        .await
        .problem(403);
        send(
            &app,
            put_json("/api/v1/regions/07/projects/P1", &reader, &project("P1")),
        )
        .await
        .problem(403);
    }
    assert_eq!(stored_rows(&t), before);
    let kalmar = region_token(&t, "08");
    for path in [
        "/api/v1/regions/07/projects",
        "/api/v1/regions/07/projects/P1",
        "/api/v1/regions/07/projects/P1/history",
    ] {
        send(&app, get(path, &kalmar)).await.problem(403);
        send(&app, get(path, &t.token(Role::Scheduler, None)))
            .await
            .problem(403);
        assert_eq!(
            send(&app, get(path, &t.token(Role::National, None)))
                .await
                .status,
            200,
            "{path}"
        );
        assert_eq!(
            send(&app, get(path, &kronoberg)).await.status,
            200,
            "{path}"
        );
        assert_eq!(
            send(&app, get(path, &t.admin())).await.status,
            200,
            "{path}"
        );
    }
    send(&app, get("/api/v1/regions/02/projects", &t.admin()))
        .await
        .problem(404);
    send(&app, TestRequest::get().uri("/api/v1/regions/07/projects"))
        .await
        .problem(401);
}

async fn project_lists_filter_and_page(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let token = region_token(&t, "07");
    let projects: Vec<Value> = (0..7)
        .map(|i| {
            let mut p = project(&format!("P{i}"));
            if i % 2 == 1 {
                p["status"] = json!("avslutat");
                p["sakomrade"] = json!("kompetensforsorjning");
                p["fokusomrade"] = Value::Null;
                p["effektkedja"] = json!("kunskap_strategier");
            }
            if i == 6 {
                p["start_date"] = json!("2028-01-01");
                p["end_date"] = json!("2029-12-31");
            }
            p
        })
        .collect();
    let stored = submit_as(&t, &app, "07", &json!({"projects": projects})).await;
    assert_eq!(stored.status, 200);
    let list = |query: &str| get(&format!("/api/v1/regions/07/projects{query}"), &token);
    let page = send(&app, list("?page_size=3&page=2")).await.json();
    assert_eq!(page["total"], 7);
    assert_eq!(
        (page["page"].clone(), page["page_size"].clone()),
        (json!(2), json!(3))
    );
    let refs: Vec<&str> = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["P3", "P4", "P5"]);
    assert_eq!(
        send(&app, list("?status=avslutat")).await.json()["total"],
        3
    );
    assert_eq!(
        send(
            &app,
            list("?sakomrade=kompetensforsorjning&effektkedja=kunskap_strategier")
        )
        .await
        .json()["total"],
        3
    );
    assert_eq!(send(&app, list("?period=2026H2")).await.json()["total"], 6);
    assert_eq!(send(&app, list("?period=2028")).await.json()["total"], 1);
    assert_eq!(send(&app, list("?page=9")).await.json()["items"], json!([]));
    assert_eq!(
        send(&app, list("?page_size=501")).await.invalid_fields(),
        vec!["page_size"]
    );
    assert_eq!(
        send(&app, list("?page=0")).await.invalid_fields(),
        vec!["page"]
    );
    assert_eq!(
        send(&app, list("?period=2026H3")).await.invalid_fields(),
        vec!["period"]
    );
    assert_eq!(
        send(&app, list("?colour=red")).await.invalid_fields(),
        vec!["query"]
    );
    assert_eq!(
        send(&app, list("?page=x")).await.invalid_fields(),
        vec!["query"]
    );
}

async fn concurrent_submissions_lose_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    assert_eq!(
        send(
            &app,
            post_json(
                &submit_path("07"),
                &token,
                &json!({"projects": [project("P1")]})
            )
        )
        .await
        .status,
        200
    );
    let body = |value: i64, period: &str| {
        json!({"values": [
            {"project_ref": "P1", "indicator": "RCR01", "period": "2026H1", "value": value},
            {"project_ref": "P1", "indicator": "RCR02", "period": period, "value": value}
        ]})
    };
    let (first, second) = futures_util::join!(
        send(
            &app,
            post_json(&submit_path("07"), &token, &body(1, "2026H1"))
        ),
        send(
            &app,
            post_json(&submit_path("07"), &token, &body(2, "2026H2"))
        ),
    );
    assert_eq!((first.status.as_u16(), second.status.as_u16()), (200, 200));
    let history = send(&app, get("/api/v1/regions/07/projects/P1/history", &token))
        .await
        .json();
    let shared: Vec<&Value> = history
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["indicator"] == "RCR01")
        .collect();
    assert_eq!(shared.len(), 2, "both writes are in the history");
    assert_eq!(
        shared[1]["old_value"], shared[0]["new_value"],
        "the later one saw the earlier one"
    );
    let detail = send(&app, get("/api/v1/regions/07/projects/P1", &token))
        .await
        .json();
    let current = detail["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["indicator"] == "RCR01")
        .unwrap()
        .clone();
    assert_eq!(
        current["value"], shared[1]["new_value"],
        "the later one wins"
    );
    assert_eq!(
        detail["values"].as_array().unwrap().len(),
        3,
        "neither's own value is lost"
    );
}

async fn fifty_thousand_values_in_one_submission(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let projects: Vec<Value> = (0..2_500).map(|i| project(&format!("P{i:05}"))).collect();
    let indicators = [
        "RCR01", "RCR02", "RCO83", "RCO84", "NAT-E01", "RCR17", "RCR98", "NAT-A01", "NAT-U01N",
        "RCO01",
    ];
    let mut values = Vec::with_capacity(50_000);
    for i in 0..2_500 {
        for indicator in indicators {
            for period in ["2026H1", "2026H2"] {
                let mut v = json!({"project_ref": format!("P{i:05}"), "indicator": indicator, "period": period, "value": i % 97});
                if ["RCR98", "NAT-A01", "NAT-U01N"].contains(&indicator) {
                    v["by_sex"] = json!({"kvinnor": i % 97, "man": 0, "ej_angivet": 0});
                }
                if indicator == "RCO01" {
                    v.as_object_mut().unwrap().remove("value");
                    v["entities"] = json!(["5560360793", "5567037485"]);
                }
                values.push(v);
            }
        }
    }
    assert_eq!(values.len(), 50_000);
    let body = json!({"projects": projects, "values": values});
    let reply = submit_as(&t, &app, "07", &body).await;
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body[..reply.body.len().min(2000)])
    );
    assert_eq!(reply.json()["values"]["created"], 50_000);
    assert_eq!(t.count("indicator_values"), 50_000);
    assert_eq!(t.count("value_revisions"), 50_000);
    assert_eq!(t.count("value_entities"), 10_000);
}

async fn eight_writers_with_a_hundred_submissions_each_lose_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    let projects: Vec<Value> = (0..5).map(|i| project(&format!("P{i}"))).collect();
    let stored = submit_as(&t, &app, "07", &json!({"projects": projects})).await;
    assert_eq!(stored.status, 200);
    let writer = |w: i64| {
        let (app, token) = (&app, token.clone());
        async move {
            let mut statuses = Vec::new();
            for i in 0..100_i64 {
                // Overlapping projects, a value no other submission sends.
                let body = json!({"values": [
                    {"project_ref": format!("P{}", (w + i) % 5), "indicator": "RCR02", "period": "2026H1", "value": w * 1000 + i + 1}
                ]});
                statuses.push(
                    send(app, post_json(&submit_path("07"), &token, &body))
                        .await
                        .status
                        .as_u16(),
                );
            }
            statuses
        }
    };
    let statuses: Vec<u16> = futures_util::future::join_all((0..8).map(writer))
        .await
        .into_iter()
        .flatten()
        .collect();
    assert_eq!(statuses.len(), 800);
    assert!(
        statuses.iter().all(|s| *s == 200),
        "every submission stored: {statuses:?}"
    );
    assert_eq!(
        t.count("value_revisions"),
        800,
        "every change is one revision"
    );
    assert_eq!(t.count("submissions"), 801);
    for i in 0..5 {
        let history = send(
            &app,
            get(&format!("/api/v1/regions/07/projects/P{i}/history"), &token),
        )
        .await
        .json();
        let history = history.as_array().unwrap();
        for pair in history.windows(2) {
            assert_eq!(
                pair[1]["old_value"], pair[0]["new_value"],
                "each revision starts where the last ended"
            );
        }
        let detail = send(
            &app,
            get(&format!("/api/v1/regions/07/projects/P{i}"), &token),
        )
        .await
        .json();
        assert_eq!(
            detail["values"][0]["value"],
            history.last().unwrap()["new_value"]
        );
    }
}

async fn submissions_over_the_item_limits_are_refused_whole(backend: Backend) {
    use uppfoljning::domain::submission::{MAX_NARRATIVES, MAX_PROJECTS, MAX_VALUES};
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let value =
        json!({"project_ref": "P1", "indicator": "NAT-A01", "period": "2026H1", "value": 1});
    let narrative = json!({"project_ref": "P1", "period": "2026H1", "progress": "x"});
    let mut over = submission("P1");
    over["values"] = Value::Array(vec![value; MAX_VALUES + 1]);
    over["narratives"] = Value::Array(vec![narrative; MAX_NARRATIVES + 1]);
    over["projects"] = Value::Array(vec![project("P1"); MAX_PROJECTS + 1]);
    let reply = submit_as(&t, &app, "07", &over).await;
    assert_eq!(
        reply.invalid_fields(),
        vec!["projects", "values", "narratives"]
    );
    assert!(
        reply.json()["errors"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["code"] == "too_many_items")
    );
    assert_eq!(stored_rows(&t), [0; 6]);
    // At the limit it is not the count that is refused.
    let mut at_limit = submission("P1");
    at_limit["values"] = Value::Array(vec![
        json!({"project_ref": "P1", "indicator": "NAT-A01", "period": "2026H1", "value": 1,
               "by_sex": {"kvinnor": 1, "man": 0, "ej_angivet": 0}});
        MAX_VALUES
    ]);
    let reply = submit_as(&t, &app, "07", &at_limit).await;
    let codes: Vec<Value> = reply.json()["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["code"].clone())
        .collect();
    assert!(!codes.contains(&json!("too_many_items")), "{codes:?}");
    assert_eq!(stored_rows(&t), [0; 6]);
}

async fn texts_with_tabs_line_breaks_backslashes_and_quotes_are_stored_exactly(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_periods(&t, &app).await;
    let token = region_token(&t, "07");
    // What COPY's text format and a CSV writer would take for delimiters, escapes, NULL and
    // the end of data, among ordinary rows of one bulk write.
    let texts = [
        "tab\there",
        "line\nbreak",
        "crlf\r\nend",
        "back\\slash \\N \\. \\t",
        "\\N",
        "\\.",
        "\"quoted\" and 'single'",
        ",;|\t\"\\\n",
        " leading and trailing ",
        "åäö ÅÄÖ – 😀 \u{2028}",
    ];
    let references: Vec<String> = (0..texts.len()).map(|i| format!("T{i}")).collect();
    let projects: Vec<Value> = references.iter().map(|r| project(r)).collect();
    let values: Vec<Value> = references
        .iter()
        .zip(texts)
        .map(|(r, text)| json!({"project_ref": r, "indicator": "RCR01", "period": "2026H1", "value": 1, "comment": text}))
        .collect();
    let narratives: Vec<Value> = references
        .iter()
        .zip(texts)
        .map(|(r, text)| json!({"project_ref": r, "period": "2026H1", "progress": text, "lessons": text, "deviations": text}))
        .collect();
    let body = json!({"projects": projects, "values": values, "narratives": narratives});
    submit_as(&t, &app, "07", &body).await.ok();
    for (reference, text) in references.iter().zip(texts) {
        let detail = send(
            &app,
            get(&format!("/api/v1/regions/07/projects/{reference}"), &token),
        )
        .await
        .json();
        assert_eq!(detail["values"][0]["comment"], text, "{reference}");
        for field in ["progress", "lessons", "deviations"] {
            assert_eq!(detail["narratives"][0][field], text, "{reference} {field}");
        }
        let history = send(
            &app,
            get(
                &format!("/api/v1/regions/07/projects/{reference}/history"),
                &token,
            ),
        )
        .await
        .json();
        let narrative = history
            .as_array()
            .unwrap()
            .iter()
            .find(|entry| entry["kind"] == "narrative")
            .unwrap();
        assert_eq!(narrative["new"]["progress"], text, "{reference}");
    }
}
