//! Reporting rounds: a region signs off its half-year report, Tillväxtverket accepts or
//! returns it; signed-off data is locked for the region.

use actix_web::test;
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::{Principal, Role};
use uppfoljning::db;
use uppfoljning::domain::codes::RegionCode;
use uppfoljning::domain::report::Transition;
use uppfoljning::error::AppError;
use uppfoljning::service::reports::{self, TransitionRequest};

backend_tests!(
    every_transition_by_every_role,
    sign_off_names_exactly_what_is_missing,
    signed_off_data_is_locked_for_the_region_not_for_admins,
    the_reports_of_a_half_year_at_a_glance,
    concurrent_transitions_of_one_report_give_one_success,
    figures_rest_on_accepted_reports_when_asked,
    a_sign_off_racing_a_submission_never_precedes_its_data,
);

const H1: &str = "2026H1";

fn report_path(region: &str) -> String {
    format!("/api/v1/regions/{region}/reports/{H1}")
}

/// Makes `transition` on `region`'s report of 2026H1.
async fn transition(
    app: &impl TestService,
    token: &str,
    region: &str,
    transition: &str,
    body: Value,
) -> crate::common::Reply {
    transition_in(app, token, region, H1, transition, body).await
}

/// Makes `transition` on `region`'s report of `period`.
pub async fn transition_in(
    app: &impl TestService,
    token: &str,
    region: &str,
    period: &str,
    transition: &str,
    body: Value,
) -> crate::common::Reply {
    let path = format!("/api/v1/regions/{region}/reports/{period}/{transition}");
    send(app, post_json(&path, token, &body)).await
}

async fn state(t: &TestApp, app: &impl TestService, region: &str) -> Value {
    send(app, get(&report_path(region), &t.admin()))
        .await
        .json()["state"]
        .clone()
}

pub fn incomplete() -> Value {
    json!({"incomplete": true, "comment": "Berättelserna kommer i nästa halvår"})
}

async fn every_transition_by_every_role(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let kalmar = t.token(Role::Region, Some("08"));
    let national = t.token(Role::National, None);
    let scheduler = t.token(Role::Scheduler, None);
    // Roles that may never make a transition: 403 whatever the state.
    for (token, name) in [
        (&national, "submit"),
        (&scheduler, "submit"),
        (&kalmar, "submit"),
        (&national, "withdraw"),
        (&kronoberg, "accept"),
        (&kronoberg, "return"),
        (&scheduler, "accept"),
    ] {
        transition(&app, token, "07", name, incomplete())
            .await
            .problem(403);
    }
    // Allowed roles in the wrong state: 409 naming the state and what is possible.
    let early = transition(&app, &national, "07", "accept", json!({}))
        .await
        .problem(409);
    let detail = early["detail"].as_str().unwrap();
    assert!(
        detail.contains("open") && detail.contains("submit"),
        "{detail}"
    );
    transition(&app, &kronoberg, "07", "withdraw", json!({}))
        .await
        .problem(409);
    // open → submitted → open (withdraw) → submitted → returned → submitted → accepted
    // → returned (reopened) → submitted by an admin → accepted by an admin.
    let steps = [
        (&kronoberg, "submit", incomplete(), "submitted"),
        (&kronoberg, "withdraw", json!({}), "open"),
        (&kronoberg, "submit", incomplete(), "submitted"),
        (
            &national,
            "return",
            json!({"comment": "RCO01 saknas för B"}),
            "returned",
        ),
        (&kronoberg, "submit", incomplete(), "submitted"),
        (&national, "accept", json!({}), "accepted"),
        (
            &national,
            "return",
            json!({"comment": "Öppnas igen"}),
            "returned",
        ),
    ];
    for (token, name, body, to) in steps {
        let reply = transition(&app, token, "07", name, body).await;
        assert_eq!(
            reply.status,
            200,
            "{name}: {}",
            String::from_utf8_lossy(&reply.body)
        );
        assert_eq!(reply.json()["state"], to, "{name}");
    }
    transition(&app, &t.admin(), "07", "submit", incomplete()).await;
    transition(&app, &t.admin(), "07", "accept", json!({})).await;
    assert_eq!(state(&t, &app, "07").await, "accepted");
    transition(&app, &kronoberg, "07", "withdraw", json!({}))
        .await
        .problem(409);
    transition(&app, &national, "07", "accept", json!({}))
        .await
        .problem(409);
    // A return needs a reason; an incomplete sign-off too.
    transition(&app, &national, "07", "return", json!({"comment": " "}))
        .await
        .problem(422);
    transition(&app, &kalmar, "08", "submit", json!({"incomplete": true}))
        .await
        .problem(422);
    let report = send(&app, get(&report_path("07"), &t.admin())).await.json();
    let history: Vec<(Value, Value)> = report["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["from"].clone(), e["to"].clone()))
        .collect();
    assert_eq!(history.len(), 9, "{history:?}");
    assert_eq!(history[3], (json!("submitted"), json!("returned")));
    assert_eq!(report["history"][3]["comment"], "RCO01 saknas för B");
    assert_eq!(report["history"][3]["role"], "national");
    assert!(
        report["history"][0]["missing"].is_array(),
        "what was missing then"
    );
    // Regions read only their own reports.
    send(&app, get(&report_path("07"), &kalmar))
        .await
        .problem(403);
    send(&app, get(&report_path("07"), &scheduler))
        .await
        .problem(403);
    send(&app, get("/api/v1/regions/07/reports/2026", &t.admin()))
        .await
        .problem(404);
}

async fn sign_off_names_exactly_what_is_missing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let version = db::data_version::current(&mut t.conn()).unwrap();
    let refused = transition(&app, &kronoberg, "07", "submit", json!({})).await;
    let problem = refused.problem(422);
    let errors: Vec<(Value, Value)> = problem["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["field"].clone(), e["code"].clone()))
        .collect();
    assert_eq!(
        errors,
        vec![
            (json!("missing[0].narrative"), json!("missing_narrative")),
            (json!("missing[1].indicators"), json!("missing_values")),
            (json!("missing[1].narrative"), json!("missing_narrative")),
        ],
        "A lacks its narrative, B RCO01 and its narrative"
    );
    assert!(
        problem["errors"][1]["message"]
            .as_str()
            .unwrap()
            .contains("RCO01")
    );
    assert_eq!(state(&t, &app, "07").await, "open", "nothing changed");
    assert_eq!(db::data_version::current(&mut t.conn()).unwrap(), version);
    let report = send(&app, get(&report_path("07"), &kronoberg)).await.json();
    assert_eq!(report["missing"], 3);
    assert_eq!(report["missing_by_project"][1]["ref"], "B");
    assert_eq!(
        report["missing_by_project"][1]["indicators"],
        json!(["RCO01"])
    );
    // Kalmar's C lacks only its narrative: once written, the sign-off goes through.
    let kalmar = t.token(Role::Region, Some("08"));
    transition(&app, &kalmar, "08", "submit", json!({}))
        .await
        .problem(422);
    let narrative =
        json!({"narratives": [{"project_ref": "C", "period": H1, "progress": "Klart."}]});
    let stored = send(
        &app,
        post_json("/api/v1/regions/08/submissions", &kalmar, &narrative),
    )
    .await;
    assert_eq!(stored.status, 200);
    let signed = transition(&app, &kalmar, "08", "submit", json!({})).await;
    signed.ok();
    assert_eq!(signed.json()["history"][0]["missing"], Value::Null);
}

async fn signed_off_data_is_locked_for_the_region_not_for_admins(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    transition(&app, &kronoberg, "07", "submit", incomplete()).await;
    let path = "/api/v1/regions/07/submissions";
    let revisions = t.count("value_revisions");
    let late = json!({
        "values": [value("A", "RCR01", "2026H2", json!(0.9)), value("A", "RCR01", H1, json!(0.7))],
    });
    let refused = send(&app, post_json(path, &kronoberg, &late)).await;
    let problem = refused.problem(409);
    assert_eq!(problem["errors"].as_array().unwrap().len(), 1);
    assert_eq!(problem["errors"][0]["field"], "values[1].period");
    assert_eq!(problem["errors"][0]["code"], "report_signed_off");
    assert_eq!(
        t.count("value_revisions"),
        revisions,
        "nothing stored, not even 2026H2"
    );
    let narrative =
        json!({"narratives": [{"project_ref": "A", "period": H1, "progress": "Sent."}]});
    send(&app, post_json(path, &kronoberg, &narrative))
        .await
        .problem(409);
    // The other half-year stays open.
    let other = json!({"values": [value("A", "RCR01", "2026H2", json!(0.9))]});
    assert_eq!(
        send(&app, post_json(path, &kronoberg, &other)).await.status,
        200
    );
    // Admins are never blocked; a change to accepted data is marked in the history.
    let national = t.token(Role::National, None);
    transition(&app, &national, "07", "accept", json!({})).await;
    let correction = json!({"values": [value("A", "RCR01", H1, json!(0.5))]});
    let admin = send(&app, post_json(path, &t.admin(), &correction)).await;
    admin.ok();
    let report = send(&app, get(&report_path("07"), &t.admin())).await.json();
    let last = report["history"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(
        (last["from"].clone(), last["to"].clone()),
        (json!("accepted"), json!("accepted"))
    );
    assert!(
        last["comment"].as_str().unwrap().contains("admin"),
        "{last}"
    );
    // Withdrawn or returned, the region writes again.
    transition(
        &app,
        &national,
        "07",
        "return",
        json!({"comment": "Rätta RCR01"}),
    )
    .await;
    let again = json!({"values": [value("A", "RCR01", H1, json!(0.2))]});
    assert_eq!(
        send(&app, post_json(path, &kronoberg, &again)).await.status,
        200
    );
}

async fn the_reports_of_a_half_year_at_a_glance(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let kalmar = t.token(Role::Region, Some("08"));
    transition(&app, &kronoberg, "07", "submit", incomplete()).await;
    transition(&app, &kalmar, "08", "submit", incomplete()).await;
    let national = t.token(Role::National, None);
    let list = send(
        &app,
        get(&format!("/api/v1/reports?period={H1}"), &national),
    )
    .await
    .json();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 21, "every region, reporting or not");
    let kronoberg_report = list.iter().find(|r| r["region"] == "07").unwrap();
    assert_eq!(kronoberg_report["state"], "submitted");
    assert_eq!(kronoberg_report["projects"], 2);
    assert_eq!(kronoberg_report["missing"], 3);
    assert_eq!(kronoberg_report["may_accept"], true);
    assert_eq!(kronoberg_report["may_submit"], false);
    let stockholm = list.iter().find(|r| r["region"] == "01").unwrap();
    assert_eq!(
        (stockholm["state"].clone(), stockholm["projects"].clone()),
        (json!("open"), json!(0))
    );
    let own = send(&app, get(&format!("/api/v1/reports?period={H1}"), &kalmar))
        .await
        .json();
    assert_eq!(
        own.as_array().unwrap().len(),
        1,
        "a region sees its own report"
    );
    assert_eq!(own[0]["may_withdraw"], true);
    assert_eq!(own[0]["may_accept"], false);
    let submitted = send(
        &app,
        get(
            &format!("/api/v1/reports?period={H1}&state=submitted"),
            &national,
        ),
    )
    .await
    .json();
    assert_eq!(submitted.as_array().unwrap().len(), 2);
    // Bulk accept: all or nothing.
    let bulk = format!("/api/v1/reports/{H1}/accept");
    send(
        &app,
        post_json(&bulk, &national, &json!({"regions": ["07", "01"]})),
    )
    .await
    .problem(409);
    assert_eq!(state(&t, &app, "07").await, "submitted", "none accepted");
    send(
        &app,
        post_json(&bulk, &kronoberg, &json!({"regions": ["07"]})),
    )
    .await
    .problem(403);
    let accepted = send(
        &app,
        post_json(&bulk, &national, &json!({"regions": ["07", "08"]})),
    )
    .await;
    accepted.ok();
    assert_eq!(state(&t, &app, "08").await, "accepted");
    // If-Match: a transition made on a report read before another changed it is refused.
    let read = send(&app, get(&report_path("07"), &national)).await;
    let etag = read
        .headers
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    transition(
        &app,
        &national,
        "07",
        "return",
        json!({"comment": "Fel i B"}),
    )
    .await;
    let stale = actix_web::test::TestRequest::post()
        .uri(&format!("{}/submit", report_path("07")))
        .insert_header(("Authorization", format!("Bearer {kronoberg}")))
        .insert_header(("If-Match", etag))
        .set_json(incomplete());
    send(&app, stale).await.problem(412);
    assert_eq!(state(&t, &app, "07").await, "returned");
}

/// Two transitions of one report made at the same moment, on two connections, each made
/// on the report as read at `if_match`.
fn race(
    t: &TestApp,
    first: Transition,
    second: Transition,
    if_match: Option<i64>,
) -> Vec<Result<(), AppError>> {
    let handles: Vec<_> = [first, second]
        .into_iter()
        .map(|transition| {
            let pool = t.state.pool.clone();
            std::thread::spawn(move || {
                let national = Principal {
                    issuer: None,
                    subject: format!("analyst-{}", transition.as_str()),
                    name: format!("analyst-{}", transition.as_str()),
                    role: Role::National,
                    region: None,
                };
                let request = TransitionRequest {
                    comment: Some("Samtidigt".into()),
                    if_match,
                    ..TransitionRequest::default()
                };
                let kronoberg = RegionCode::parse("07").unwrap();
                let mut conn = pool.get().unwrap();
                db::write_transaction(&mut conn, |conn, write| {
                    reports::transition(
                        conn, write, &national, &kronoberg, H1, transition, &request,
                    )
                })
            })
        })
        .collect();
    handles.into_iter().map(|h| h.join().unwrap()).collect()
}

async fn concurrent_transitions_of_one_report_give_one_success(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    for (first, second) in [
        (Transition::Accept, Transition::Accept),
        (Transition::Return, Transition::Return),
    ] {
        transition(&app, &kronoberg, "07", "submit", incomplete()).await;
        let outcomes = race(&t, first, second, None);
        let successes = outcomes.iter().filter(|o| o.is_ok()).count();
        let conflicts = outcomes
            .iter()
            .filter(|o| matches!(o, Err(AppError::Conflict(_))))
            .count();
        assert_eq!(
            (successes, conflicts),
            (1, 1),
            "{first:?} twice: {outcomes:?}"
        );
        if first == Transition::Accept {
            transition(&app, &t.admin(), "07", "return", json!({"comment": "Igen"})).await;
        }
    }
    // Accepting and returning a report both read as submitted: one wins, the other is
    // told the report changed since.
    let read = transition(&app, &kronoberg, "07", "submit", incomplete()).await;
    let revision = read.json()["revision"].as_i64();
    let outcomes = race(&t, Transition::Accept, Transition::Return, revision);
    let successes = outcomes.iter().filter(|o| o.is_ok()).count();
    let stale = outcomes
        .iter()
        .filter(|o| matches!(o, Err(AppError::PreconditionFailed(_))))
        .count();
    assert_eq!((successes, stale), (1, 1), "{outcomes:?}");
}

async fn a_sign_off_racing_a_submission_never_precedes_its_data(backend: Backend) {
    use diesel::prelude::*;
    use uppfoljning::db::schema::{report_events, value_revisions};
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    // Kalmar's submission of 2026H1 holds its transaction open while Kalmar signs off.
    let (stored, written) = std::sync::mpsc::channel();
    let hold = std::time::Duration::from_millis(500);
    let writer = crate::standing::slow_write(t.state.pool.clone(), 5, stored, hold);
    written.recv().unwrap();
    let kalmar = t.token(Role::Region, Some("08"));
    let signed = transition(&app, &kalmar, "08", "submit", incomplete()).await;
    writer.join().unwrap();
    signed.ok();
    let mut conn = t.conn();
    let sign_off: i64 = report_events::table
        .filter(report_events::region.eq("08"))
        .select(report_events::version)
        .first(&mut *conn)
        .unwrap();
    let last_write: Option<i64> = value_revisions::table
        .filter(value_revisions::period.eq(H1))
        .select(diesel::dsl::max(value_revisions::version))
        .first(&mut *conn)
        .unwrap();
    assert!(
        last_write.unwrap() < sign_off,
        "the submission committed before the sign-off ({last_write:?} < {sign_off})"
    );
    let report = send(&app, get(&report_path("08"), &kalmar)).await.json();
    assert_eq!(
        report["values"], 5,
        "the sign-off counted the data that committed first"
    );
}

async fn figures_rest_on_accepted_reports_when_asked(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let national = t.token(Role::National, None);
    // Kronoberg's 2026H1 is accepted; Kalmar's is open.
    transition(
        &app,
        &t.token(Role::Region, Some("07")),
        "07",
        "submit",
        incomplete(),
    )
    .await;
    transition(&app, &national, "07", "accept", json!({})).await;
    let ask = |query: String| get(&format!("/api/v1/aggregates?{query}"), &national);
    // RCR01 2026H1: A 0.1 and B 1.5 in Kronoberg, C 2 in Kalmar; A has 0.2 in 2026H2.
    let accepted = send(
        &app,
        ask("indicator=RCR01&period=2026H1&group_by=region&reports=accepted".into()),
    )
    .await
    .json();
    assert_eq!(accepted["national"]["value"], 1.6);
    assert_eq!(accepted["national"]["projects"], 2);
    assert_eq!(accepted["rows"][0]["value"], 1.6);
    assert_eq!(
        accepted["rows"].as_array().unwrap().len(),
        1,
        "Kalmar's project counts only where its report is accepted: nowhere"
    );
    assert_eq!(
        accepted["reports"],
        json!({"basis": "accepted", "open": 20, "submitted": 0, "accepted": 1, "returned": 0,
               "rests_on": ["07:2026H1"]})
    );
    let all = send(&app, ask("indicator=RCR01&period=2026H1".into()))
        .await
        .json();
    assert_eq!(all["national"]["value"], 3.6);
    assert_eq!(all["reports"]["basis"], "all");
    assert_eq!(all["reports"]["accepted"], 1);
    let year = send(
        &app,
        ask("indicator=RCR01&period=2026&reports=accepted&group_by=sakomrade".into()),
    )
    .await
    .json();
    assert_eq!(year["national"]["value"], 1.6, "A's 2026H2 is not accepted");
    assert_eq!(year["reports"]["open"], 41, "two half-years of 21 regions");
    // A snapshot on accepted reports reproduces after the report is returned.
    let body = json!({"period": H1, "label": "Godkända", "reports": "accepted"});
    let frozen = send(&app, post_json("/api/v1/snapshots", &national, &body)).await;
    assert_eq!(frozen.status.as_u16(), 403, "snapshots are the scheduler's");
    let frozen = send(&app, post_json("/api/v1/snapshots", &t.admin(), &body))
        .await
        .json();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let before_return = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    transition(
        &app,
        &national,
        "07",
        "return",
        json!({"comment": "Fel i B"}),
    )
    .await;
    let again =
        json!({"period": H1, "label": "Igen", "reports": "accepted", "as_of": frozen["as_of"]});
    let again = send(&app, post_json("/api/v1/snapshots", &t.admin(), &again))
        .await
        .json();
    assert_eq!(
        again["sha256"], frozen["sha256"],
        "the states as they stood then"
    );
    let now = send(
        &app,
        ask("indicator=RCR01&period=2026H1&reports=accepted".into()),
    )
    .await
    .json();
    assert_eq!(
        now["national"]["value"],
        Value::Null,
        "nothing accepted now"
    );
    assert_eq!(now["reports"]["returned"], 1);
    let as_of = before_return.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let then = send(
        &app,
        ask(format!(
            "indicator=RCR01&period=2026H1&reports=accepted&as_of={as_of}"
        )),
    )
    .await
    .json();
    assert_eq!(
        then["national"]["value"], 1.6,
        "as_of uses the report states of then"
    );
    assert_eq!(then["reports"]["accepted"], 1);
    let completeness = send(
        &app,
        get(&format!("/api/v1/completeness?period={H1}"), &national),
    )
    .await
    .json();
    let kronoberg = completeness["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == "07")
        .unwrap()
        .clone();
    assert_eq!(kronoberg["reports"], json!({"2026H1": "returned"}));
}
