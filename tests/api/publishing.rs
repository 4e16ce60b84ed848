//! Publishing snapshots: who may, once only, and what is read without a token.

use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::aggregates::load;
use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    snapshots_are_published_once_by_national_readers_and_admins,
    without_a_token_only_published_snapshots_are_read,
    snapshots_carry_the_split_by_sex,
);

/// Makes a snapshot of `period` as an admin; its summary.
pub async fn snapshot(t: &TestApp, app: &impl TestService, period: &str, label: &str) -> Value {
    let body = json!({"period": period, "label": label});
    let made = send(app, post_json("/api/v1/snapshots", &t.admin(), &body)).await;
    assert_eq!(made.status, 201, "{}", String::from_utf8_lossy(&made.body));
    made.json()
}

pub fn publish_request(id: &Value, token: &str) -> TestRequest {
    post_json(
        &format!("/api/v1/snapshots/{}/publish", id.as_str().unwrap()),
        token,
        &json!({}),
    )
}

/// Makes and publishes a snapshot of `period`; its summary.
pub async fn published(t: &TestApp, app: &impl TestService, period: &str, label: &str) -> Value {
    let made = snapshot(t, app, period, label).await;
    send(app, publish_request(&made["id"], &t.admin()))
        .await
        .ok()
        .json()
}

async fn snapshots_are_published_once_by_national_readers_and_admins(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let made = snapshot(&t, &app, "2026H1", "Delrapport").await;
    assert_eq!(made["published_at"], Value::Null);
    let id = &made["id"];
    for refused in [
        t.token(Role::Region, Some("07")),
        t.token(Role::Scheduler, None),
    ] {
        send(&app, publish_request(id, &refused)).await.problem(403);
    }
    let anonymous = TestRequest::post().uri(&format!(
        "/api/v1/snapshots/{}/publish",
        id.as_str().unwrap()
    ));
    send(&app, anonymous).await.problem(401);
    let stored = |t: &TestApp| {
        send_blocking_count(
            t,
            "SELECT COUNT(*) AS n FROM snapshots WHERE published_at IS NOT NULL",
        )
    };
    assert_eq!(stored(&t), 0, "refused publishing stores nothing");

    let national = t.token(Role::National, None);
    let first = send(&app, publish_request(id, &national)).await.ok().json();
    assert_eq!(first["id"], *id);
    assert_eq!(first["sha256"], made["sha256"]);
    assert_eq!(first["published_by"], "test");
    assert!(first["published_at"].is_string());

    // Once only: a second publication, by anyone, is refused and changes nothing.
    let again = send(&app, publish_request(id, &t.admin())).await;
    let problem = again.problem(409);
    assert!(problem["detail"].as_str().unwrap().contains("new one"));
    let read = send(
        &app,
        get(
            &format!("/api/v1/snapshots/{}", id.as_str().unwrap()),
            &national,
        ),
    )
    .await
    .ok()
    .json();
    assert_eq!(read["published_at"], first["published_at"]);
    // The publication is in the change feed, once, naming the snapshot and who published it.
    let feed = send(&app, get("/api/v1/changes?limit=1000", &national))
        .await
        .ok()
        .json();
    let published: Vec<&Value> = feed["changes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|change| change["kind"] == "snapshot_published")
        .collect();
    assert_eq!(published.len(), 1, "{feed}");
    assert_eq!(published[0]["item"], *id);
    assert_eq!(published[0]["period"], "2026H1");
    assert_eq!(published[0]["changed_by"], "test");
    assert_eq!(read["sha256"], made["sha256"]);
    assert_eq!(stored(&t), 1);

    send(&app, publish_request(&json!("nope"), &t.admin()))
        .await
        .problem(404);
}

/// A count by SQL, for what the API does not show.
fn send_blocking_count(t: &TestApp, sql: &str) -> i64 {
    use diesel::prelude::*;
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        n: i64,
    }
    let mut conn = t.conn();
    let conn: &mut uppfoljning::db::DbConnection = &mut conn;
    diesel::sql_query(sql).get_result::<Count>(conn).unwrap().n
}

async fn without_a_token_only_published_snapshots_are_read(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let draft = snapshot(&t, &app, "2026H1", "Utkast").await;
    let open = published(&t, &app, "2026H1", "Publicerad").await;
    let path = |summary: &Value| format!("/api/v1/snapshots/{}", summary["id"].as_str().unwrap());
    let anonymous = |path: &str| TestRequest::get().uri(path);

    let listed = send(&app, anonymous("/api/v1/snapshots")).await.ok().json();
    let ids: Vec<&Value> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|s| &s["id"])
        .collect();
    assert_eq!(ids, [&open["id"]]);
    let all = send(
        &app,
        get("/api/v1/snapshots", &t.token(Role::Region, Some("07"))),
    )
    .await
    .ok()
    .json();
    assert_eq!(all.as_array().unwrap().len(), 2);

    let read = send(&app, anonymous(&path(&open))).await.ok().json();
    assert_eq!(read["sha256"], open["sha256"]);
    assert_eq!(read["figures"]["period"], "2026H1");
    let csv = send(&app, anonymous(&format!("{}?format=csv", path(&open)))).await;
    assert!(csv.ok().content_type().starts_with("text/csv"));

    // A draft is not there for anyone without a token, and there for everyone with one.
    send(&app, anonymous(&path(&draft))).await.problem(404);
    send(&app, anonymous(&format!("{}?format=csv", path(&draft))))
        .await
        .problem(404);
    send(&app, get(&path(&draft), &t.token(Role::Scheduler, None)))
        .await
        .ok();
    // A token that is not valid is refused, not taken for no token.
    send(&app, get(&path(&open), "not-a-token"))
        .await
        .problem(401);
}

async fn snapshots_carry_the_split_by_sex(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let made = snapshot(&t, &app, "2026H1", "Kön").await;
    let read = send(
        &app,
        get(
            &format!("/api/v1/snapshots/{}", made["id"].as_str().unwrap()),
            &t.admin(),
        ),
    )
    .await
    .ok()
    .json();
    let figures = &read["figures"];
    let splits = figures["by_sex"].as_array().unwrap();
    let codes: Vec<&str> = splits
        .iter()
        .map(|s| s["regions"]["indicator"]["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&"NAT-A01") && codes.contains(&"NAT-U01N"),
        "{codes:?}"
    );
    let a01 = splits
        .iter()
        .find(|s| s["regions"]["indicator"]["code"] == "NAT-A01")
        .unwrap();
    assert_eq!(a01["regions"]["group_by"], json!(["region", "sex"]));
    assert_eq!(a01["nation"]["group_by"], json!(["sex"]));
    let find = |rows: &Value, region: Option<&str>, sex: &str| -> Value {
        rows.as_array()
            .unwrap()
            .iter()
            .find(|r| r["sex"] == sex && region.is_none_or(|region| r["region"] == region))
            .unwrap()["value"]
            .clone()
    };
    // Kronoberg: A reported 5 women, 5 men; Kalmar: C 50 and 50.
    assert_eq!(find(&a01["regions"]["rows"], Some("07"), "kvinnor"), 5);
    assert_eq!(find(&a01["regions"]["rows"], Some("08"), "man"), 50);
    assert_eq!(find(&a01["nation"]["rows"], None, "kvinnor"), 55);
    // The hash covers the split: it is of the canonical text of all the figures.
    let canonical = serde_json::to_string(figures).unwrap();
    use sha2::Digest;
    assert_eq!(
        format!("{:x}", sha2::Sha256::digest(canonical.as_bytes())),
        made["sha256"].as_str().unwrap()
    );
}
