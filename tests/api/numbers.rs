//! Numbers are exact or refused: a number with more digits than can be held exactly, or in
//! a form that is not a plain decimal, is refused naming its field in every format, never
//! rounded or reinterpreted first.

use actix_web::test::{self, TestRequest};

use crate::aggregates::load;
use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, send};
use crate::spreadsheet::{Sheets, text};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(numbers_are_exact_or_refused_in_every_format);

const SUBMISSIONS: &str = "/api/v1/regions/07/submissions";

fn post(token: &str, content_type: &str, body: Vec<u8>) -> TestRequest {
    TestRequest::post()
        .uri(SUBMISSIONS)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .insert_header(("Content-Type", content_type))
        .set_payload(body)
}

/// The value stored for project A, NAT-E01, 2026H1.
async fn stored(app: &impl TestService, token: &str) -> String {
    let project = send(app, get("/api/v1/regions/07/projects/A", token))
        .await
        .json();
    project["values"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["indicator"] == "NAT-E01" && v["period"] == "2026H1")
        .unwrap()["value"]
        .to_string()
}

async fn numbers_are_exact_or_refused_in_every_format(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let before = stored(&app, &kronoberg).await;
    let revisions = t.count("value_revisions");
    let nines = format!("0.{}", "9".repeat(29));

    for written in [
        nines.clone(),
        "\"1_5\"".into(),
        "1e1".into(),
        "\"NaN\"".into(),
        "\"0x10\"".into(),
    ] {
        let body = format!(
            r#"{{"values": [{{"project_ref": "A", "indicator": "NAT-E01", "period": "2026H1", "value": {written}}}]}}"#
        );
        let reply = send(
            &app,
            post(&kronoberg, "application/json", body.into_bytes()),
        )
        .await;
        let problem = reply.problem(422);
        assert_eq!(
            problem["errors"][0]["field"], "values[0].value",
            "{written}: {problem}"
        );
    }

    let header = "project_ref,indicator,period,value,kvinnor,man,ej_angivet,organisationsnummer";
    for written in [nines.as_str(), "1_5", "1e1", "NaN", "0x10", "+1"] {
        let file = format!("{header}\nA,NAT-E01,2026H1,{written},,,,\n");
        let reply = send(&app, post(&kronoberg, "text/csv", file.into_bytes())).await;
        let problem = reply.problem(422);
        let error = &problem["errors"][0];
        assert_eq!(
            (error["line"].as_u64(), error["column"].as_str()),
            (Some(2), Some("value")),
            "{written}: {problem}"
        );
    }

    let template = send(
        &app,
        get("/api/v1/regions/07/reports/2026H1/template", &kronoberg),
    )
    .await;
    for written in [nines.as_str(), "1_5", "NaN"] {
        let mut sheets = Sheets::read(&template.body);
        let row = sheets.row_of("Värden", &["A", "2026H1", "RCR01"]);
        sheets.set("Värden", row, 6, text(written));
        let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        let reply = send(&app, post(&kronoberg, xlsx, sheets.write())).await;
        let problem = reply.problem(422);
        assert_eq!(
            problem["errors"][0]["cell"],
            format!("Värden!G{}", row + 1),
            "{written}: {problem}"
        );
    }

    assert_eq!(
        stored(&app, &kronoberg).await,
        before,
        "the value is as it was"
    );
    assert_eq!(t.count("value_revisions"), revisions, "nothing stored");
}
