//! CSV files with only the columns they need, and comments that a file without them keeps.

use actix_web::test;
use serde_json::{Value, json};

use crate::aggregates::load;
use crate::backend_tests;
use crate::common::{Backend, Reply, TestApp, TestService, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    columns_a_file_does_not_need_may_be_left_out,
    a_file_without_kommentar_keeps_the_stored_comments,
    headers_that_would_lose_data_are_refused_and_store_nothing,
    an_unreadable_line_does_not_hide_what_the_checks_refuse,
);

const PATH: &str = "/api/v1/regions/07/submissions";

pub async fn post_csv(app: &impl TestService, token: &str, path: &str, file: &str) -> Reply {
    let request = test::TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", "text/csv"))
        .set_payload(file.to_string());
    send(app, request).await
}

/// Project A's stored value of `indicator` in `period`.
async fn stored(t: &TestApp, app: &impl TestService, indicator: &str, period: &str) -> Value {
    let project = send(app, get("/api/v1/regions/07/projects/A", &t.admin()))
        .await
        .json();
    project["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["indicator"] == indicator && v["period"] == period)
        .cloned()
        .unwrap_or(Value::Null)
}

fn data_version(t: &TestApp) -> i64 {
    uppfoljning::db::data_version::current(&mut t.conn()).unwrap()
}

async fn columns_a_file_does_not_need_may_be_left_out(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let values = "project_ref,indicator,period,value\nA,RCR01,2026H2,0.3\n";
    let reply = post_csv(&app, &kronoberg, PATH, values).await;
    assert_eq!(
        reply.ok().json()["values"],
        json!({"created": 0, "updated": 1, "unchanged": 0})
    );
    assert_eq!(stored(&t, &app, "RCR01", "2026H2").await["value"], 0.3);
    // In any order and case, with a semicolon.
    let firms = "Organisationsnummer;PERIOD;indicator;project_ref\n\
                 5560360793;2026H2;RCO01;A\n\
                 556703-7485;2026H2;RCO01;A\n";
    let reply = post_csv(&app, &kronoberg, PATH, firms).await;
    assert_eq!(reply.ok().json()["values"]["created"], 1);
    let by_sex = "project_ref;indicator;period;value;kvinnor;man\nA;NAT-A01;2026H2;7;3;4\n";
    post_csv(&app, &kronoberg, PATH, by_sex).await.ok();
    assert_eq!(
        stored(&t, &app, "NAT-A01", "2026H2").await["by_sex"],
        json!({"kvinnor": 3, "man": 4, "ej_angivet": 0})
    );
}

async fn a_file_without_kommentar_keeps_the_stored_comments(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let commented = json!({"values": [{"project_ref": "A", "indicator": "RCR01", "period": "2026H1",
                                       "value": 0.1, "comment": "Enkät i juni"}]});
    send(&app, post_json(PATH, &kronoberg, &commented))
        .await
        .ok();
    let (revisions, version) = (t.count("value_revisions"), data_version(&t));
    // The same value again, from files that have no comments.
    for file in [
        "project_ref,indicator,period,value,kvinnor,man,ej_angivet,organisationsnummer\nA,RCR01,2026H1,0.1,,,,\n",
        "project_ref,indicator,period,value\nA,RCR01,2026H1,0.1\n",
    ] {
        let reply = post_csv(&app, &kronoberg, PATH, file).await;
        assert_eq!(
            reply.ok().json()["values"],
            json!({"created": 0, "updated": 0, "unchanged": 1})
        );
    }
    assert_eq!(t.count("value_revisions"), revisions, "no revision");
    assert_eq!(data_version(&t), version, "no data version");
    assert_eq!(
        stored(&t, &app, "RCR01", "2026H1").await["comment"],
        "Enkät i juni"
    );
    // A changed value keeps its comment too.
    let changed = "project_ref,indicator,period,value\nA,RCR01,2026H1,0.4\n";
    post_csv(&app, &kronoberg, PATH, changed).await.ok();
    let value = stored(&t, &app, "RCR01", "2026H1").await;
    assert_eq!(
        (value["value"].clone(), value["comment"].clone()),
        (json!(0.4), json!("Enkät i juni"))
    );
    // With the column, the file says what the comment is: the same, another, or none.
    let with = |comment: &str| {
        format!("project_ref;indicator;period;value;kommentar\nA;RCR01;2026H1;0,4;{comment}\n")
    };
    let reply = post_csv(&app, &kronoberg, PATH, &with("Enkät i juni")).await;
    assert_eq!(reply.ok().json()["values"]["unchanged"], 1);
    let reply = post_csv(&app, &kronoberg, PATH, &with("Enkät i augusti")).await;
    assert_eq!(reply.ok().json()["values"]["updated"], 1);
    assert_eq!(
        stored(&t, &app, "RCR01", "2026H1").await["comment"],
        "Enkät i augusti"
    );
    let reply = post_csv(&app, &kronoberg, PATH, &with("")).await;
    assert_eq!(reply.ok().json()["values"]["updated"], 1);
    assert_eq!(
        stored(&t, &app, "RCR01", "2026H1").await["comment"],
        Value::Null
    );
}

async fn headers_that_would_lose_data_are_refused_and_store_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let (revisions, version) = (t.count("value_revisions"), data_version(&t));
    let cases = [
        // A misspelt column would be left out without a word.
        (
            "project_ref,indicator,period,value,komentar\nA,RCR01,2026H2,1,x\n",
            "unknown_column",
            Some("komentar"),
        ),
        (
            "project_ref,indicator,period,value,value\nA,RCR01,2026H2,1,2\n",
            "duplicate",
            Some("value"),
        ),
        (
            "project_ref,indicator,period,kommentar\nA,RCR01,2026H2,x\n",
            "missing_columns",
            None,
        ),
        (
            "project_ref,period,value\nA,2026H2,1\n",
            "missing_columns",
            None,
        ),
    ];
    for (file, code, column) in cases {
        let problem = post_csv(&app, &kronoberg, PATH, file).await.problem(422);
        let error = &problem["errors"][0];
        assert_eq!(error["code"], code, "{file}: {problem}");
        assert_eq!(error["field"], "line 1");
        assert_eq!(error["column"].as_str(), column, "{file}");
    }
    assert_eq!(t.count("value_revisions"), revisions, "nothing stored");
    assert_eq!(data_version(&t), version);
}

/// A line the reader cannot read (a word for a number, a line without its project) and
/// values the checks refuse on other lines are named in one answer, in a dry run and in a
/// real upload alike, and nothing is stored.
async fn an_unreadable_line_does_not_hide_what_the_checks_refuse(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let before = t.count("value_revisions");
    let file = "project_ref;indicator;period;value\n\
                A;RCR01;2026H1;tolv\n\
                B;NOPE;2026H1;1\n\
                ;RCR01;2026H1;2\n\
                B;RCR01;2026H1;-1\n";
    for dry_run in [true, false] {
        let path = format!("{PATH}?dry_run={dry_run}");
        let problem = post_csv(&app, &kronoberg, &path, file).await.problem(422);
        let named: Vec<(u64, String, String)> = problem["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                (
                    e["line"].as_u64().unwrap(),
                    e["column"].as_str().unwrap().to_string(),
                    e["code"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        assert_eq!(
            named,
            vec![
                (2, "value".into(), "not_a_number".into()),
                (4, "project_ref".into(), "required".into()),
                (3, "indicator".into(), "unknown_indicator".into()),
                (5, "value".into(), "negative".into()),
            ],
            "dry run {dry_run}: {problem:#}"
        );
        assert_eq!(problem["error_count"], 4);
        assert_eq!(problem["dry_run"], dry_run);
    }
    assert_eq!(t.count("value_revisions"), before, "nothing stored");
}
