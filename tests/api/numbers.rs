//! Numbers are exact or refused: a number with more digits than can be held exactly, or in
//! a form that is not a plain decimal, is refused naming its field in every format, never
//! rounded or reinterpreted first.

use actix_web::test::{self, TestRequest};
use serde_json::json;

use crate::aggregates::load;
use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, send};
use crate::spreadsheet::{Sheets, Typed, text};
use crate::workbooks::project_body;
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(numbers_are_exact_or_refused_in_every_format);

const SUBMISSIONS: &str = "/api/v1/regions/07/submissions";
/// More digits than a decimal can hold (28 or 29 significant digits).
const DIGITS: &str = "123456789012345678901234567890";

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

    let value = |written: &str| {
        format!(
            r#"{{"values": [{{"project_ref": "A", "indicator": "NAT-E01", "period": "2026H1", "value": {written}}}]}}"#
        )
        .into_bytes()
    };
    for written in [
        nines.as_str(),
        DIGITS,
        "0.9999999999",
        "\"1_5\"",
        "1e1",
        "1e3",
        "\"1e3\"",
        "\"NaN\"",
        "\"Infinity\"",
        "\"0x10\"",
        "\"+1\"",
        "\" 10 \"",
    ] {
        let reply = send(&app, post(&kronoberg, "application/json", value(written))).await;
        let problem = reply.problem(422);
        assert_eq!(
            problem["errors"][0]["field"], "values[0].value",
            "{written}: {problem}"
        );
    }
    // Not JSON at all: malformed, naming the item where it broke.
    for written in ["NaN", "Infinity", "+1", "0x10", "1_5"] {
        let reply = send(&app, post(&kronoberg, "application/json", value(written))).await;
        let problem = reply.problem(400);
        assert!(
            problem["detail"]
                .as_str()
                .unwrap()
                .contains("malformed JSON at values[0]"),
            "{written}: {problem}"
        );
    }
    // A plan's figures and a value's parts likewise.
    let mut a = project_body(&app, &t, "A").await;
    a["indicators"][0]["target"] = json!("0x10");
    let mut parts = json!({"values": [{"project_ref": "A", "indicator": "NAT-A01", "period": "2026H1",
        "value": 10, "by_sex": {"kvinnor": "5.", "man": 5, "ej_angivet": 0}}]});
    for (body, field) in [
        (json!({"projects": [a]}), "projects[0].indicators[0].target"),
        (parts.take(), "values[0].by_sex.kvinnor"),
    ] {
        let reply = send(
            &app,
            post(
                &kronoberg,
                "application/json",
                body.to_string().into_bytes(),
            ),
        )
        .await;
        assert_eq!(reply.problem(422)["errors"][0]["field"], field);
    }

    let header = "project_ref,indicator,period,value,kvinnor,man,ej_angivet,organisationsnummer";
    for written in [
        nines.as_str(),
        DIGITS,
        "0.9999999999",
        "1_5",
        "1e1",
        "1e3",
        "NaN",
        "Infinity",
        "0x10",
        "+1",
        "1 0",
    ] {
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

    let file = format!("{header}\nA,NAT-A01,2026H1,10,5.,5,0,\n");
    let problem = send(&app, post(&kronoberg, "text/csv", file.into_bytes()))
        .await
        .problem(422);
    assert_eq!(
        (
            problem["errors"][0]["line"].as_u64(),
            problem["errors"][0]["column"].as_str()
        ),
        (Some(2), Some("kvinnor")),
        "{problem}"
    );
    // Spaces around a cell are no part of it, in a file as in any CSV field.
    let file = format!("{header}\nA,NAT-E01,2026H1, 10 ,,,,\n");
    let reply = send(&app, post(&kronoberg, "text/csv", file.into_bytes())).await;
    assert_eq!(reply.ok().json()["values"]["unchanged"], 1);

    let template = send(
        &app,
        get("/api/v1/regions/07/reports/2026H1/template", &kronoberg),
    )
    .await;
    for written in [
        text(&nines),
        text(DIGITS),
        text("0,15"),
        Typed::Number(0.15),
        text("1_5"),
        text("NaN"),
        text("Infinity"),
        text("0x10"),
        text("1e3"),
        text("+1"),
    ] {
        let mut sheets = Sheets::read(&template.body);
        let row = sheets.row_of("Värden", &["A", "2026H1", "RCR01"]);
        sheets.set("Värden", row, 6, written.clone());
        let xlsx = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
        let reply = send(&app, post(&kronoberg, xlsx, sheets.write())).await;
        let problem = reply.problem(422);
        assert_eq!(
            problem["errors"][0]["cell"],
            format!("Värden!G{}", row + 1),
            "{written:?}: {problem}"
        );
    }

    assert_eq!(
        stored(&app, &kronoberg).await,
        before,
        "the value is as it was"
    );
    assert_eq!(t.count("value_revisions"), revisions, "nothing stored");
}
