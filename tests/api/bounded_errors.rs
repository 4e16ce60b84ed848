//! Refusals of any size answer in a bounded body: files capped in rows before any row is
//! read, errors listed up to a limit and counted in full.

use actix_web::test;
use serde_json::json;

use crate::aggregates::load;
use crate::backend_tests;
use crate::common::{Backend, TestApp, post_json, send};
use crate::csv_columns::post_csv;
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;
use uppfoljning::domain::validation::MAX_LISTED_ERRORS;

backend_tests!(
    a_million_blank_rows_are_refused_in_a_small_answer,
    errors_past_the_limit_are_counted_not_listed,
);

const PATH: &str = "/api/v1/regions/07/submissions";

async fn a_million_blank_rows_are_refused_in_a_small_answer(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let (revisions, submissions) = (t.count("value_revisions"), t.count("submissions"));
    let header = "project_ref,indicator,period,value,kvinnor,man,ej_angivet,organisationsnummer\n";
    let file = format!("{header}{}", ",,,,,,,\n".repeat(999_999));
    let kronoberg = t.token(Role::Region, Some("07"));
    for path in [format!("{PATH}?dry_run=true"), PATH.to_string()] {
        let reply = post_csv(&app, &kronoberg, &path, &file).await;
        assert!(reply.body.len() < 2_000, "{} bytes", reply.body.len());
        let problem = reply.problem(422);
        assert_eq!(problem["error_count"], 1);
        assert_eq!(problem["errors"][0]["code"], "too_many_rows");
        assert_eq!(problem["errors"][0]["field"], "line 100002");
    }
    assert_eq!(t.count("value_revisions"), revisions, "nothing stored");
    assert_eq!(t.count("submissions"), submissions);
}

async fn errors_past_the_limit_are_counted_not_listed(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let (revisions, submissions) = (t.count("value_revisions"), t.count("submissions"));
    let kronoberg = t.token(Role::Region, Some("07"));
    // Found by the CSV reader: a word where a number belongs, 5,000 times.
    let file = format!(
        "project_ref,indicator,period,value\n{}",
        "A,RCR01,2026H2,tolv\n".repeat(5_000)
    );
    for swedish in [false, true] {
        let mut request = test::TestRequest::post()
            .uri(PATH)
            .insert_header(("Authorization", format!("Bearer {kronoberg}")))
            .insert_header(("Content-Type", "text/csv"))
            .set_payload(file.clone());
        if swedish {
            request = request.insert_header(("Accept-Language", "sv"));
        }
        let reply = send(&app, request).await;
        assert!(reply.body.len() < 400_000, "{} bytes", reply.body.len());
        let problem = reply.problem(422);
        assert_eq!(problem["error_count"], 5_000);
        let errors = problem["errors"].as_array().unwrap();
        assert_eq!(errors.len(), MAX_LISTED_ERRORS);
        assert_eq!(errors[0]["line"], 2, "the first ones, in order");
        assert!(
            problem["detail"].as_str().unwrap().contains("5000"),
            "{problem}"
        );
    }
    // Found by the checks, in JSON: 1,500 values of an unknown indicator.
    let values: Vec<_> = (0..1_500)
        .map(|_| json!({"project_ref": "A", "indicator": "NOPE", "period": "2026H2", "value": 1}))
        .collect();
    let reply = send(
        &app,
        post_json(PATH, &kronoberg, &json!({"values": values})),
    )
    .await;
    let problem = reply.problem(422);
    assert!(
        problem["error_count"].as_u64().unwrap() >= 1_500,
        "{}",
        problem["error_count"]
    );
    assert_eq!(
        problem["errors"].as_array().unwrap().len(),
        MAX_LISTED_ERRORS
    );
    assert_eq!(t.count("value_revisions"), revisions, "nothing stored");
    assert_eq!(t.count("submissions"), submissions);
}
