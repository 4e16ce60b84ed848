//! Versions and history: narratives read as they stood, and one clock for every instance.

use std::process::Child;

use actix_web::test;
use chrono::{DateTime, TimeDelta, Utc};
use diesel::prelude::*;
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::child_server::{agent, free_port, start_with_clock_offset, wait_ready};
use crate::common::{Backend, TestApp, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;
use uppfoljning::db::schema::{data_versions, value_revisions};
use uppfoljning::db::{self, DbConnection};
use uppfoljning::domain::codes::RegionCode;

backend_tests!(
    a_narrative_edited_after_acceptance_reads_as_it_stood,
    an_instance_with_its_clock_set_back_keeps_as_of_exact,
    a_snapshot_waits_for_a_write_stamped_before_its_as_of,
);

const H1: &str = "2026H1";

/// Project A's narrative of 2026H1.
fn narrative(progress: &str) -> Value {
    json!({"narratives": [
        {"project_ref": "A", "period": H1, "progress": progress, "lessons": "Samverkan tar tid."}
    ]})
}

fn micros(time: DateTime<Utc>) -> String {
    time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

async fn a_narrative_edited_after_acceptance_reads_as_it_stood(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg_region = RegionCode::parse("07").unwrap();
    let sign = |subject: &str, role: Role, region: Option<&RegionCode>| {
        t.state.keys.sign(subject, role, region, 600).unwrap()
    };
    let kronoberg = sign("kronoberg-system", Role::Region, Some(&kronoberg_region));
    let national = sign("tillvaxtverket", Role::National, None);
    let admin = sign("tillvaxtverket-admin", Role::Admin, None);
    let submit = "/api/v1/regions/07/submissions";
    send(
        &app,
        post_json(submit, &kronoberg, &narrative("Leden är skyltad.")),
    )
    .await
    .ok();
    let report = format!("/api/v1/regions/07/reports/{H1}");
    let signed_off = json!({"incomplete": true, "comment": "Resten i nästa halvår"});
    send(
        &app,
        post_json(&format!("{report}/submit"), &kronoberg, &signed_off),
    )
    .await
    .ok();
    send(
        &app,
        post_json(&format!("{report}/accept"), &national, &json!({})),
    )
    .await
    .ok();
    // The region can no longer change it; nothing is stored.
    let revisions = t.count("narrative_revisions");
    send(
        &app,
        post_json(submit, &kronoberg, &narrative("Ändrad i efterhand.")),
    )
    .await
    .problem(409);
    assert_eq!(t.count("narrative_revisions"), revisions);
    // An admin can, and the accepted text stays readable.
    send(
        &app,
        post_json(submit, &admin, &narrative("Leden är skyltad och invigd.")),
    )
    .await
    .ok();

    let project = "/api/v1/regions/07/projects/A";
    let history = send(&app, get(&format!("{project}/history"), &national))
        .await
        .json();
    let history = history.as_array().unwrap();
    assert!(
        history
            .iter()
            .all(|entry| entry["kind"] == "value" || entry["kind"] == "narrative"),
        "{history:?}"
    );
    let changes: Vec<&Value> = history
        .iter()
        .filter(|e| e["kind"] == "narrative")
        .collect();
    assert_eq!(changes.len(), 2, "{history:?}");
    assert_eq!(changes[0]["period"], H1);
    assert_eq!(changes[0]["old"], Value::Null);
    assert_eq!(changes[0]["new"]["progress"], "Leden är skyltad.");
    assert_eq!(changes[0]["new"]["lessons"], "Samverkan tar tid.");
    assert_eq!(changes[0]["changed_by"], "kronoberg-system");
    assert_eq!(changes[1]["old"], changes[0]["new"]);
    assert_eq!(
        changes[1]["new"]["progress"],
        "Leden är skyltad och invigd."
    );
    assert_eq!(changes[1]["changed_by"], "tillvaxtverket-admin");
    assert!(
        history.last().unwrap()["kind"] == "narrative",
        "oldest first: the admin's change is the last"
    );

    // The instant a change was committed reads it; the instant before does not.
    let edited: DateTime<Utc> = changes[1]["changed_at"].as_str().unwrap().parse().unwrap();
    let progress_at = |detail: &Value| detail["narratives"][0]["progress"].clone();
    let at = |time: DateTime<Utc>| format!("{project}?as_of={}", micros(time));
    let accepted = send(
        &app,
        get(&at(edited - TimeDelta::microseconds(1)), &national),
    )
    .await
    .json();
    assert_eq!(progress_at(&accepted), "Leden är skyltad.");
    assert_eq!(accepted["narratives"][0]["updated_by"], "kronoberg-system");
    assert_eq!(
        accepted["narratives"][0]["updated_at"],
        changes[0]["changed_at"]
    );
    let corrected = send(&app, get(&at(edited), &national)).await.json();
    assert_eq!(progress_at(&corrected), "Leden är skyltad och invigd.");
    assert_eq!(
        corrected["narratives"][0]["updated_by"],
        "tillvaxtverket-admin"
    );
    let live = send(&app, get(project, &national)).await.json();
    assert_eq!(progress_at(&live), "Leden är skyltad och invigd.");
    // The rest of the project as it stood reads as it is, since nothing else changed.
    for part in ["indicators", "sakomrade", "branscher", "granted_sek"] {
        assert_eq!(accepted[part], live[part], "{part}");
    }
    let values = |detail: &Value| -> Vec<Value> {
        detail["values"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| json!([v["indicator"], v["period"], v["value"]]))
            .collect()
    };
    assert_eq!(values(&accepted), values(&live));

    // Read across projects, as they stood.
    let listed = |as_of: &str| format!("/api/v1/narratives?period={H1}&region=07{as_of}");
    let then = format!("&as_of={}", micros(edited - TimeDelta::microseconds(1)));
    let then = send(&app, get(&listed(&then), &national)).await.json();
    let now = send(&app, get(&listed(""), &national)).await.json();
    assert_eq!(then["total"], 1, "{then}");
    assert_eq!(now["total"], 1, "{now}");
    assert_eq!(then["items"][0]["progress"], "Leden är skyltad.");
    assert_eq!(then["items"][0]["project_ref"], "A");
    assert_eq!(then["items"][0]["updated_at"], changes[0]["changed_at"]);
    assert_eq!(now["items"][0]["progress"], "Leden är skyltad och invigd.");
    let before_any = send(&app, get(&listed("&as_of=2001-01-01T00:00:00Z"), &national))
        .await
        .json();
    assert_eq!(before_any["total"], 0);
    let invalid = send(&app, get(&listed("&as_of=gestern"), &national)).await;
    assert_eq!(invalid.invalid_fields(), ["as_of"]);

    // Bad input: a clear error; before the project existed: not found.
    let invalid = send(&app, get(&format!("{project}?as_of=gestern"), &national)).await;
    assert_eq!(invalid.invalid_fields(), ["as_of"]);
    send(
        &app,
        get(&format!("{project}?as_of=2001-01-01T00:00:00Z"), &national),
    )
    .await
    .problem(404);
}

/// The real binary, killed when the test ends however it ends.
struct Instance(Child);

impl Drop for Instance {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Calls the instance at `port` with `token`; the status and the JSON answered.
fn call(port: u16, method: &str, path: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    let url = format!("http://127.0.0.1:{port}{path}");
    let authorization = format!("Bearer {token}");
    let reply = match body {
        None => agent()
            .get(&url)
            .header("Authorization", &authorization)
            .call(),
        Some(body) => agent()
            .post(&url)
            .header("Authorization", &authorization)
            .header("Content-Type", "application/json")
            .send(body.to_string().as_bytes()),
    };
    let mut reply = reply.unwrap_or_else(|e| panic!("{method} {path}: {e}"));
    let text = reply.body_mut().read_to_string().unwrap();
    (
        reply.status().as_u16(),
        serde_json::from_str(&text).unwrap_or_else(|_| panic!("{method} {path}: {text}")),
    )
}

/// The figures of an aggregate answer, without the instant it is of.
fn figures(answer: &Value) -> Value {
    json!([answer["rows"], answer["national"]])
}

async fn an_instance_with_its_clock_set_back_keeps_as_of_exact(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let admin = t.admin();
    let kronoberg = t.token(Role::Region, Some("07"));
    // A second instance on the same database, its clock a minute behind.
    let port = free_port();
    let _behind = Instance(start_with_clock_offset(&t.config.database, port, -60));
    wait_ready(port);
    let question = "/api/v1/aggregates?indicator=RCR01&period=2026H1&group_by=region";
    let as_of = |answer: &Value| format!("{question}&as_of={}", answer["as_of"].as_str().unwrap());
    let snapshot = |label: &str| json!({"period": H1, "label": label});
    let frozen = send(
        &app,
        post_json("/api/v1/snapshots", &admin, &snapshot("Före")),
    )
    .await
    .json();
    let before = send(&app, get(question, &admin)).await.json();
    assert_eq!(before["as_of"], frozen["as_of"], "both of the last write");

    std::thread::sleep(std::time::Duration::from_millis(5));
    let correction = json!({"values": [value("A", "RCR01", H1, json!(0.7))]});
    let path = "/api/v1/regions/07/submissions";
    let (status, _) = call(port, "POST", path, &kronoberg, Some(&correction));
    assert_eq!(status, 200);

    // Stamped by the database's clock, the versions keep their order.
    let mut conn = t.conn();
    let conn: &mut DbConnection = &mut conn;
    let stamps: Vec<chrono::NaiveDateTime> = data_versions::table
        .order(data_versions::version)
        .select(data_versions::committed_at)
        .load(conn)
        .unwrap();
    assert!(
        stamps.windows(2).all(|pair| pair[0] < pair[1]),
        "{stamps:?}"
    );
    // As of the instant before the write, both instances answer the figures before it.
    let here = send(&app, get(&as_of(&before), &admin)).await.json();
    let (status, there) = call(port, "GET", &as_of(&before), &admin, None);
    assert_eq!(status, 200, "{there}");
    assert_eq!(figures(&here), figures(&before));
    assert_eq!(figures(&there), figures(&before));
    // The snapshot retaken on the instance behind, with its own as_of: the same figures.
    let again = json!({"period": H1, "label": "Igen", "as_of": frozen["as_of"]});
    let (status, retaken) = call(port, "POST", "/api/v1/snapshots", &admin, Some(&again));
    assert_eq!(status, 201, "{retaken}");
    assert_eq!(retaken["sha256"], frozen["sha256"]);

    // The live answer of the instance behind is of its write: asked so here, the same.
    let (_, after) = call(port, "GET", question, &admin, None);
    assert_ne!(figures(&after), figures(&before), "the correction counts");
    let here = send(&app, get(&as_of(&after), &admin)).await.json();
    assert_eq!(figures(&here), figures(&after));
    // Its snapshot, retaken here with its as_of: the same sha256.
    let (status, theirs) = call(
        port,
        "POST",
        "/api/v1/snapshots",
        &admin,
        Some(&snapshot("Efter")),
    );
    assert_eq!(status, 201, "{theirs}");
    assert_ne!(theirs["sha256"], frozen["sha256"]);
    let again = json!({"period": H1, "label": "Igen efter", "as_of": theirs["as_of"]});
    let retaken = send(&app, post_json("/api/v1/snapshots", &admin, &again))
        .await
        .json();
    assert_eq!(retaken["sha256"], theirs["sha256"]);
    // An as_of ahead of the database's clock is refused by either instance, whatever its
    // own clock says.
    let ahead = micros(Utc::now() + TimeDelta::seconds(30));
    let future = json!({"period": H1, "label": "Framtid", "as_of": ahead});
    let (status, refused) = call(port, "POST", "/api/v1/snapshots", &admin, Some(&future));
    assert_eq!(status, 422, "{refused}");
    assert_eq!(refused["errors"][0]["field"], "as_of");

    // A report signed off and accepted on the instance behind: its history gives each event
    // at its version's stamp, on both instances, and as of the acceptance it is accepted.
    let reports = "/api/v1/regions/07/reports/2026H1";
    let sign_off = json!({"incomplete": true, "comment": "Resten i nästa halvår"});
    let submit = format!("{reports}/submit");
    let (status, _) = call(port, "POST", &submit, &kronoberg, Some(&sign_off));
    assert_eq!(status, 200);
    let national = t.token(Role::National, None);
    let accept = format!("{reports}/accept");
    let (status, _) = call(port, "POST", &accept, &national, Some(&json!({})));
    assert_eq!(status, 200);
    let (_, there) = call(port, "GET", reports, &admin, None);
    let here = send(&app, get(reports, &admin)).await.json();
    assert_eq!(here["history"], there["history"]);
    let accepted_at = here["history"][1]["at"].as_str().unwrap();
    let accepted = format!("{question}&reports=accepted&as_of={accepted_at}");
    let (_, then) = call(port, "GET", &accepted, &admin, None);
    assert_eq!(then["reports"]["accepted"], 1, "{then}");
    let here = send(&app, get(&accepted, &admin)).await.json();
    assert_eq!(here["reports"]["accepted"], 1, "{here}");
}

/// A writer between its last statement and its commit: it has stamped its version (a
/// correction of A's RCR01 for 2026H1 to 7) and holds the writers' turn for `hold`.
fn stamped_write(
    pool: db::DbPool,
    stamped: std::sync::mpsc::Sender<i64>,
    hold: std::time::Duration,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut conn = pool.get().unwrap();
        let conn: &mut DbConnection = &mut conn;
        conn.transaction(|conn| {
            let version = db::data_version::begin_write(conn)?;
            let id = db::projects::find_id(conn, "07", "A")?.unwrap();
            diesel::insert_into(value_revisions::table)
                .values((
                    value_revisions::project_id.eq(id),
                    value_revisions::indicator.eq("RCR01"),
                    value_revisions::period.eq(H1),
                    value_revisions::old_value.eq(Some(1_000_i64)),
                    value_revisions::new_value.eq(70_000_i64),
                    value_revisions::changed_at.eq(Utc::now().naive_utc()),
                    value_revisions::changed_by.eq("stamped-writer"),
                    value_revisions::version.eq(version),
                ))
                .execute(conn)?;
            db::data_version::commit(conn, version)?;
            stamped.send(version).unwrap();
            std::thread::sleep(hold);
            diesel::QueryResult::Ok(())
        })
        .unwrap();
    })
}

async fn a_snapshot_waits_for_a_write_stamped_before_its_as_of(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let (stamped, was_stamped) = std::sync::mpsc::channel();
    let hold = std::time::Duration::from_millis(800);
    let writer = stamped_write(t.state.pool.clone(), stamped, hold);
    let version = was_stamped.recv().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(5));
    // After the write's stamp, before it commits.
    let as_of = micros(Utc::now());
    std::thread::sleep(std::time::Duration::from_millis(5));
    let body = json!({"period": H1, "label": "Vid skrivning", "as_of": as_of});
    let during = send(&app, post_json("/api/v1/snapshots", &t.admin(), &body)).await;
    assert_eq!(
        during.status,
        201,
        "{}",
        String::from_utf8_lossy(&during.body)
    );
    let during = during.json();
    writer.join().unwrap();
    assert_eq!(
        during["version"], version,
        "the write stamped by then counts"
    );
    let again = json!({"period": H1, "label": "Igen", "as_of": as_of});
    let again = send(&app, post_json("/api/v1/snapshots", &t.admin(), &again))
        .await
        .json();
    assert_eq!(again["sha256"], during["sha256"]);
}
