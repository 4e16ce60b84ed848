//! Periods say what they do: a year's lock and deadline apply to its half-years, `GET
//! /periods` shows what applies, an unlock that its year would undo is refused, and no
//! deadline is cut short unseen.

use actix_web::test;
use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::aggregates::load;
use crate::backend_tests;
use crate::common::{Backend, Reply, TestApp, TestService, get, post_json, send};
use crate::spreadsheet::{Sheets, Typed};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;
use uppfoljning::db::DbConnection;

backend_tests!(
    a_years_lock_applies_to_its_half_years_and_says_so,
    no_deadline_is_cut_short_unseen,
);

async fn periods(app: &impl TestService, t: &TestApp) -> Value {
    send(
        app,
        get("/api/v1/periods", &t.token(Role::Region, Some("07"))),
    )
    .await
    .ok()
    .json()
}

/// The period `id` as `GET /periods` shows it.
async fn period(app: &impl TestService, t: &TestApp, id: &str) -> Value {
    periods(app, t)
        .await
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id)
        .cloned()
        .unwrap_or(Value::Null)
}

async fn admin_post(app: &impl TestService, t: &TestApp, path: &str, body: Value) -> Reply {
    send(app, post_json(path, &t.admin(), &body)).await
}

async fn create(app: &impl TestService, t: &TestApp, id: &str, deadline: &str) -> Reply {
    admin_post(
        app,
        t,
        "/api/v1/periods",
        json!({"id": id, "deadline": deadline}),
    )
    .await
}

fn created(reply: Reply) -> Value {
    assert_eq!(
        reply.status,
        201,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    reply.json()
}

/// The lines of region 07's template's instructions for `half_year`.
async fn instructions(app: &impl TestService, t: &TestApp, half_year: &str) -> Vec<String> {
    let path = format!("/api/v1/regions/07/reports/{half_year}/template");
    let template = send(app, get(&path, &t.token(Role::Region, Some("07")))).await;
    Sheets::read(&template.ok().body)
        .sheet("Instruktioner")
        .iter()
        .flatten()
        .filter_map(|cell| match cell {
            Typed::Text(text) => Some(text.clone()),
            _ => None,
        })
        .collect()
}

/// A value of RCR01 in `period` from `region`'s project (A in 07, C in 08).
async fn report(app: &impl TestService, t: &TestApp, region: &str, period: &str) -> Reply {
    let project = if region == "07" { "A" } else { "C" };
    let body = json!({"values": [
        {"project_ref": project, "indicator": "RCR01", "period": period, "value": 3}
    ]});
    send(
        app,
        post_json(
            &format!("/api/v1/regions/{region}/submissions"),
            &t.token(Role::Region, Some(region)),
            &body,
        ),
    )
    .await
}

async fn a_years_lock_applies_to_its_half_years_and_says_so(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let h2 = period(&app, &t, "2026H2").await;
    assert_eq!(
        (&h2["closed"], &h2["closed_by"], &h2["open_for"]),
        (&json!(false), &Value::Null, &json!([]))
    );
    assert_eq!(
        (&h2["effective_deadline"], &h2["deadline_set_by"]),
        (&json!("2030-01-31"), &json!("2026H2"))
    );
    created(create(&app, &t, "2026", "2030-01-31").await);
    admin_post(&app, &t, "/api/v1/periods/2026/lock", json!({}))
        .await
        .ok();
    let h2 = period(&app, &t, "2026H2").await;
    assert_eq!(h2["locked"], false, "its own lock is open");
    assert_eq!(
        (&h2["closed"], &h2["closed_by"]),
        (&json!(true), &json!("2026")),
        "closed by its year"
    );
    report(&app, &t, "07", "2026H2").await.problem(409);
    assert!(
        instructions(&app, &t, "2026H2")
            .await
            .contains(&"Halvåret är stängt för regionen (av låset eller sista dagen för 2026): det som skickas in för halvåret avvisas.".to_string()),
        "the template says so too"
    );

    // Unlocking the half-year alone would change nothing: refused, naming the year.
    for path in [
        "/api/v1/periods/2026H2/unlock?region=07",
        "/api/v1/periods/2026H2/unlock",
    ] {
        let problem = admin_post(&app, &t, path, json!({})).await.problem(409);
        let detail = problem["detail"].as_str().unwrap();
        assert!(
            detail.contains("its year 2026 is locked")
                && detail.contains("POST /api/v1/periods/2026/unlock"),
            "{detail}"
        );
    }
    let h2 = period(&app, &t, "2026H2").await;
    assert_eq!(
        (&h2["lock_exceptions"], &h2["closed"]),
        (&json!([]), &json!(true)),
        "nothing stored"
    );

    // The year unlocked for 07: its half-years are open for 07 only, and say so.
    admin_post(&app, &t, "/api/v1/periods/2026/unlock?region=07", json!({}))
        .await
        .ok();
    let h2 = period(&app, &t, "2026H2").await;
    assert_eq!(
        (&h2["closed"], &h2["closed_by"], &h2["open_for"]),
        (&json!(true), &json!("2026"), &json!(["07"]))
    );
    report(&app, &t, "07", "2026H2").await.ok();
    report(&app, &t, "08", "2026H2").await.problem(409);
    // Now the half-year's own exception takes effect, and is accepted.
    admin_post(&app, &t, "/api/v1/periods/2026H1/lock", json!({}))
        .await
        .ok();
    report(&app, &t, "07", "2026H1").await.problem(409);
    let opened = admin_post(
        &app,
        &t,
        "/api/v1/periods/2026H1/unlock?region=07",
        json!({}),
    )
    .await
    .ok()
    .json();
    assert_eq!(
        (&opened["closed_by"], &opened["open_for"]),
        (&json!("2026H1"), &json!(["07"]))
    );
    report(&app, &t, "07", "2026H1").await.ok();

    // A year past its deadline closes its half-years as a lock does.
    for (id, deadline) in [("2020H2", "2021-03-31"), ("2020", "2021-03-31")] {
        created(create(&app, &t, id, deadline).await);
    }
    let problem = admin_post(&app, &t, "/api/v1/periods/2020H2/unlock", json!({}))
        .await
        .problem(409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("its year 2020 is past its deadline 2021-03-31"),
        "{problem}"
    );
    let h2 = period(&app, &t, "2020H2").await;
    assert_eq!(
        (&h2["locked"], &h2["closed_by"], &h2["effective_deadline"]),
        (&json!(true), &json!("2020H2"), &json!("2021-03-31")),
        "closed by its own deadline first"
    );
}

async fn no_deadline_is_cut_short_unseen(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    // 2026H1 and 2026H2 may be written until 2030-01-31; a year closing earlier is refused.
    let problem = create(&app, &t, "2026", "2029-12-31").await.problem(409);
    assert!(
        problem["detail"].as_str().unwrap().contains(
            "2026H1's deadline 2030-01-31 would be cut short by its year 2026's deadline 2029-12-31"
        ),
        "{problem}"
    );
    assert_eq!(period(&app, &t, "2026").await, Value::Null, "not stored");
    // And a half-year closing after its year.
    created(create(&app, &t, "2027", "2028-03-31").await);
    create(&app, &t, "2027H2", "2028-06-30").await.problem(409);
    assert_eq!(period(&app, &t, "2027H2").await, Value::Null, "not stored");
    let h2 = created(create(&app, &t, "2027H2", "2028-03-31").await);
    assert_eq!(
        (&h2["effective_deadline"], &h2["deadline_set_by"]),
        (&json!("2028-03-31"), &json!("2027H2")),
        "the same day: its own"
    );

    // A year stored with an earlier deadline before this rule: the answer says it.
    created(create(&app, &t, "2026", "2030-01-31").await);
    let mut conn = t.conn();
    let conn: &mut DbConnection = &mut conn;
    diesel::sql_query("UPDATE periods SET deadline = '2029-12-31' WHERE id = '2026'")
        .execute(conn)
        .unwrap();
    let h2 = period(&app, &t, "2026H2").await;
    assert_eq!(
        (
            &h2["deadline"],
            &h2["effective_deadline"],
            &h2["deadline_set_by"]
        ),
        (&json!("2030-01-31"), &json!("2029-12-31"), &json!("2026"))
    );
    assert!(
        instructions(&app, &t, "2026H2")
            .await
            .contains(&"Sista dag att rapportera: 2029-12-31".to_string())
    );
}
