//! A catalogue change (an indicator retired, its decimals lowered) leaves what is stored
//! valid: unchanged plans and values pass in every format, only new or changed ones are
//! held to the catalogue as it is now.

use actix_web::test;
use serde_json::{Value, json};

use crate::aggregates::load;
use crate::backend_tests;
use crate::common::{Backend, Reply, TestApp, TestService, get, post_json, put_json, send};
use crate::csv_columns::post_csv;
use crate::workbooks::{SUBMISSIONS, project_body, template, upload};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(a_catalogue_change_leaves_what_is_stored_valid);

fn data_version(t: &TestApp) -> i64 {
    uppfoljning::db::data_version::current(&mut t.conn()).unwrap()
}

/// Replaces the indicator `code` with `change` made to its definition.
async fn change_indicator(app: &impl TestService, t: &TestApp, code: &str, change: fn(&mut Value)) {
    let path = format!("/api/v1/indicators/{code}");
    let mut definition = send(app, get(&path, &t.admin())).await.json();
    change(&mut definition);
    send(app, put_json(&path, &t.admin(), &definition))
        .await
        .ok();
}

async fn put_project(app: &impl TestService, token: &str, body: &Value) -> Reply {
    let path = format!(
        "/api/v1/regions/07/projects/{}",
        body["ref"].as_str().unwrap()
    );
    send(app, put_json(&path, token, body)).await
}

fn unchanged(reply: &Reply, kind: &str, count: u64) {
    assert_eq!(
        reply.ok().json()[kind],
        json!({"created": 0, "updated": 0, "unchanged": count}),
        "{kind}"
    );
}

/// The (field, code) pairs of a 422.
fn refused(reply: &Reply) -> Vec<(String, String)> {
    reply.problem(422)["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["field"].as_str().unwrap().to_string(),
                e["code"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn pair(field: &str, code: &str) -> (String, String) {
    (field.to_string(), code.to_string())
}

async fn a_catalogue_change_leaves_what_is_stored_valid(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    // A plans an indicator of two decimals, which has no values.
    let pilot = json!({"code": "NAT-X03", "name_sv": "Piloter", "name_en": "Pilots",
        "unit": "antal", "level": "prestationer", "aggregation": "sum", "decimals": 2});
    let created = send(&app, post_json("/api/v1/indicators", &t.admin(), &pilot)).await;
    assert_eq!(created.status, 201);
    let mut a = project_body(&app, &t, "A").await;
    a["indicators"]
        .as_array_mut()
        .unwrap()
        .push(json!({"indicator": "NAT-X03", "baseline": 1.5, "target": 2.25}));
    put_project(&app, &kronoberg, &a).await.ok();

    // Its decimals lowered to none, and RCR01 (planned by A and B, with values) retired.
    change_indicator(&app, &t, "NAT-X03", |d| d["decimals"] = json!(0)).await;
    change_indicator(&app, &t, "RCR01", |d| d["active"] = json!(false)).await;
    let before = (data_version(&t), t.count("value_revisions"));
    let a = project_body(&app, &t, "A").await;
    let b = project_body(&app, &t, "B").await;

    // Everything stored, sent again unchanged, in every format.
    for project in [&a, &b] {
        put_project(&app, &kronoberg, project).await.ok();
    }
    let resent = json!({"projects": [a, b], "values": [
        {"project_ref": "A", "indicator": "RCR01", "period": "2026H1", "value": 0.1},
        {"project_ref": "B", "indicator": "RCR01", "period": "2026H1", "value": 1.5},
    ]});
    let reply = send(&app, post_json(SUBMISSIONS, &kronoberg, &resent)).await;
    unchanged(&reply, "projects", 2);
    unchanged(&reply, "values", 2);
    let csv = "project_ref,indicator,period,value\nA,RCR01,2026H1,0.1\nB,RCR01,2026H1,1.5\n";
    unchanged(
        &post_csv(&app, &kronoberg, SUBMISSIONS, csv).await,
        "values",
        2,
    );
    let workbook = template(&app, &kronoberg).await;
    let reply = upload(&app, &kronoberg, SUBMISSIONS, workbook).await;
    unchanged(&reply, "projects", 2);
    assert_eq!(reply.json()["values"]["updated"], 0);
    assert_eq!(reply.json()["values"]["created"], 0);
    assert_eq!(
        (data_version(&t), t.count("value_revisions")),
        before,
        "nothing written"
    );

    // A new or changed plan or value is held to the catalogue as it is now.
    let plan = |project: &Value, indicator: &str| {
        project["indicators"]
            .as_array()
            .unwrap()
            .iter()
            .position(|p| p["indicator"] == indicator)
            .unwrap()
    };
    let mut changed = a.clone();
    let rcr01 = plan(&a, "RCR01");
    changed["indicators"][rcr01]["target"] = json!(6);
    assert_eq!(
        refused(&put_project(&app, &kronoberg, &changed).await),
        [pair(
            &format!("indicators[{rcr01}].indicator"),
            "inactive_indicator"
        )]
    );
    let mut changed = a.clone();
    let pilots = plan(&a, "NAT-X03");
    changed["indicators"][pilots]["target"] = json!(3.25);
    assert_eq!(
        refused(&put_project(&app, &kronoberg, &changed).await),
        [pair(
            &format!("indicators[{pilots}].target"),
            "too_many_decimals"
        )]
    );
    for value in [
        json!({"project_ref": "A", "indicator": "RCR01", "period": "2026H1", "value": 0.3}),
        json!({"project_ref": "B", "indicator": "RCR01", "period": "2026H2", "value": 1}),
    ] {
        let reply = send(
            &app,
            post_json(SUBMISSIONS, &kronoberg, &json!({"values": [value]})),
        )
        .await;
        assert_eq!(
            refused(&reply),
            [pair("values[0].indicator", "inactive_indicator")]
        );
    }
    let csv = "project_ref,indicator,period,value\nA,RCR01,2026H1,0.3\n";
    let problem = post_csv(&app, &kronoberg, SUBMISSIONS, csv)
        .await
        .problem(422);
    assert_eq!(problem["errors"][0]["code"], "inactive_indicator");
    assert_eq!(problem["errors"][0]["line"], 2);
    assert_eq!(
        (data_version(&t), t.count("value_revisions")),
        before,
        "nothing stored"
    );

    // The stored baseline of 1.5 stays beside a target changed within the decimals.
    let mut changed = a.clone();
    changed["indicators"][pilots]["target"] = json!(3);
    put_project(&app, &kronoberg, &changed).await.ok();
    let stored = project_body(&app, &t, "A").await;
    assert_eq!(
        stored["indicators"][pilots],
        json!({"indicator": "NAT-X03", "baseline": 1.5, "baseline_year": null, "target": 3,
               "goal": null, "source": null})
    );
}
