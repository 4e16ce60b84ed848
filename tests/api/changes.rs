//! The change feed: every kind of change in commit order, who may read it, bad cursors and
//! limits, and a follower that sees every change once while eight writers are busy.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, post_json, put_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    every_kind_of_change_is_in_the_feed_in_commit_order,
    the_feed_is_for_national_readers_the_scheduler_and_admins,
    bad_cursors_and_limits_are_refused,
    pages_continue_where_the_last_ended,
    what_changes_nothing_is_not_in_the_feed,
    a_follower_sees_every_change_once_while_eight_writers_write,
);

/// Every change after `after`, page by page of `limit`.
async fn read_all(app: &impl TestService, token: &str, after: &str, limit: u32) -> Vec<Value> {
    let mut cursor = after.to_string();
    let mut changes = Vec::new();
    loop {
        let page = send(
            app,
            get(
                &format!("/api/v1/changes?after={cursor}&limit={limit}"),
                token,
            ),
        )
        .await;
        let page = page.ok().json();
        let items = page["changes"].as_array().unwrap().clone();
        cursor = page["next"].as_str().unwrap().to_string();
        let more = page["more"].as_bool().unwrap();
        changes.extend(items);
        if !more {
            return changes;
        }
    }
}

/// (kind, action) of each change.
fn kinds(changes: &[Value]) -> Vec<(String, String)> {
    changes
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_string(),
                c["action"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn find<'a>(changes: &'a [Value], kind: &str, action: &str) -> &'a Value {
    changes
        .iter()
        .find(|c| c["kind"] == kind && c["action"] == action)
        .unwrap_or_else(|| panic!("no {kind} {action} in {changes:#?}"))
}

fn project(reference: &str, title: &str, target: i64) -> Value {
    json!({
        "ref": reference, "title": title, "organisation": "Regionen",
        "status": "pagaende", "project_type": "projekt", "sakomrade": "innovation_foretagande",
        "fokusomrade": null, "effektkedja": "varor_tjanster_direkt", "branscher": [],
        "start_date": "2025-07-01", "end_date": "2027-12-31",
        "granted_sek": 100000, "total_budget_sek": 200000,
        "indicators": [{"indicator": "RCO01", "target": target}, {"indicator": "RCR01", "target": 1}]
    })
}

async fn open_half_year(t: &TestApp, app: &impl TestService) {
    let period = json!({"id": "2026H1", "deadline": "2030-01-31"});
    let created = send(app, post_json("/api/v1/periods", &t.admin(), &period)).await;
    assert_eq!(created.status, 201);
}

fn cursor_of(change: &Value) -> (i64, i64) {
    let (version, seq) = change["cursor"].as_str().unwrap().split_once('.').unwrap();
    (version.parse().unwrap(), seq.parse().unwrap())
}

async fn every_kind_of_change_is_in_the_feed_in_commit_order(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let kronoberg = t.token(Role::Region, Some("07"));
    let national = t.token(Role::National, None);
    open_half_year(&t, &app).await;
    let locked = send(
        &app,
        post_json("/api/v1/periods/2026H1/lock", &admin, &json!({})),
    )
    .await;
    locked.ok();
    let opened = send(
        &app,
        post_json("/api/v1/periods/2026H1/unlock", &admin, &json!({})),
    )
    .await;
    opened.ok();
    let code = json!({"code": "rymd", "label_sv": "Rymd", "label_en": "Space"});
    let added = send(
        &app,
        post_json("/api/v1/classifications/bransch", &admin, &code),
    )
    .await;
    assert_eq!(added.status, 201);
    let mut pilot = json!({"code": "NAT-X03", "name_sv": "Piloter", "name_en": "Pilots",
        "unit": "antal", "level": "prestationer", "aggregation": "sum", "decimals": 2});
    let created = send(&app, post_json("/api/v1/indicators", &admin, &pilot)).await;
    assert_eq!(created.status, 201);
    pilot["name_sv"] = json!("Pilotprojekt");
    let replaced = send(&app, put_json("/api/v1/indicators/NAT-X03", &admin, &pilot)).await;
    replaced.ok();
    let submission = json!({
        "projects": [project("A", "Projekt A", 10)],
        "values": [value("A", "RCR01", "2026H1", json!(2))],
        "narratives": [{"project_ref": "A", "period": "2026H1", "progress": "Gått bra", "lessons": "Inga"}],
    });
    let stored = send(
        &app,
        post_json("/api/v1/regions/07/submissions", &kronoberg, &submission),
    )
    .await;
    stored.ok();
    let renamed = send(
        &app,
        put_json(
            "/api/v1/regions/07/projects/A",
            &kronoberg,
            &project("A", "Projekt A, nytt namn", 10),
        ),
    )
    .await;
    renamed.ok();
    let replanned = send(
        &app,
        put_json(
            "/api/v1/regions/07/projects/A",
            &kronoberg,
            &project("A", "Projekt A, nytt namn", 12),
        ),
    )
    .await;
    replanned.ok();
    let signed = send(
        &app,
        post_json(
            "/api/v1/regions/07/reports/2026H1/submit",
            &kronoberg,
            &json!({"incomplete": true, "comment": "RCO01 saknas"}),
        ),
    )
    .await;
    signed.ok();
    let snapshot = send(
        &app,
        post_json(
            "/api/v1/snapshots",
            &admin,
            &json!({"period": "2026H1", "label": "Delrapport"}),
        ),
    )
    .await;
    assert_eq!(snapshot.status, 201);

    let changes = read_all(&app, &national, "0.0", 1000).await;
    // Periods are no data version (no figure rests on them), so not in the feed.
    let expected = [
        ("classification", "created"),
        ("indicator", "created"),
        ("indicator", "updated"),
        ("project", "created"),
        ("plan", "created"),
        ("plan", "created"),
        ("value", "created"),
        ("narrative", "created"),
        ("project", "updated"),
        ("plan", "updated"),
        // Storing a snapshot changes no figure: not in the feed.
        ("report", "submit"),
    ]
    .map(|(kind, action)| (kind.to_string(), action.to_string()));
    assert_eq!(kinds(&changes), expected);
    let places: Vec<(i64, i64)> = changes.iter().map(cursor_of).collect();
    assert!(places.windows(2).all(|w| w[0] < w[1]), "{places:?}");
    // Compared as times: a stamp on a whole second is written without a fraction, which
    // as text sorts after the same second with one.
    let stamps: Vec<chrono::DateTime<chrono::FixedOffset>> = changes
        .iter()
        .map(|c| chrono::DateTime::parse_from_rfc3339(c["changed_at"].as_str().unwrap()).unwrap())
        .collect();
    assert!(stamps.windows(2).all(|w| w[0] <= w[1]), "{stamps:?}");
    for change in &changes {
        assert_eq!(change["changed_by"], "test", "{change}");
        assert!(change["version"].as_i64().unwrap() > 0);
    }
    // One write, one version: the submission's five changes share theirs.
    let submitted: Vec<i64> = changes[3..8]
        .iter()
        .map(|c| c["version"].as_i64().unwrap())
        .collect();
    assert!(
        submitted.iter().all(|v| *v == submitted[0]),
        "{submitted:?}"
    );
    assert_eq!(
        find(&changes, "value", "created"),
        &json!({"cursor": changes[6]["cursor"], "version": submitted[0], "kind": "value",
                "action": "created", "region": "07", "project_ref": "A", "indicator": "RCR01",
                "period": "2026H1", "changed_by": "test", "changed_at": changes[6]["changed_at"]})
    );
    assert_eq!(find(&changes, "narrative", "created")["period"], "2026H1");
    assert_eq!(find(&changes, "plan", "updated")["indicator"], "RCO01");
    assert_eq!(
        find(&changes, "classification", "created")["item"],
        "bransch/rymd"
    );
    assert_eq!(
        find(&changes, "indicator", "updated")["indicator"],
        "NAT-X03"
    );
    let report = find(&changes, "report", "submit");
    assert_eq!(
        (&report["region"], &report["period"]),
        (&json!("07"), &json!("2026H1"))
    );
    // A change's time is its version's stamp, as `as_of` reads it: the history says the same.
    let history = send(
        &app,
        get("/api/v1/regions/07/projects/A/history", &national),
    )
    .await;
    let history = history.ok().json();
    let value_change = history
        .as_array()
        .unwrap()
        .iter()
        .find(|h| h["kind"] == "value")
        .unwrap()
        .clone();
    assert_eq!(
        value_change["changed_at"],
        find(&changes, "value", "created")["changed_at"]
    );
}

async fn the_feed_is_for_national_readers_the_scheduler_and_admins(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    for token in [
        t.token(Role::National, None),
        t.token(Role::Scheduler, None),
        t.admin(),
    ] {
        let page = send(&app, get("/api/v1/changes", &token)).await;
        assert_eq!(
            page.ok().json(),
            json!({"changes": [], "next": "0.0", "more": false})
        );
    }
    let region = send(
        &app,
        get("/api/v1/changes", &t.token(Role::Region, Some("07"))),
    )
    .await;
    region.problem(403);
    let anonymous = send(&app, TestRequest::get().uri("/api/v1/changes")).await;
    anonymous.problem(401);
    let wrong = send(&app, get("/api/v1/changes", "not-a-token")).await;
    wrong.problem(401);
}

async fn bad_cursors_and_limits_are_refused(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_half_year(&t, &app).await;
    let national = t.token(Role::National, None);
    let before = t.count("changes");
    for cursor in [
        "abc",
        "1",
        "1.",
        ".1",
        "-1.0",
        "1.-1",
        "1.2.3",
        "%201.0",
        "1e2.0",
        "99999999999999999999.0",
        // Past the last committed version: not a cursor this database gave.
        "1000.0",
    ] {
        let page = send(
            &app,
            get(&format!("/api/v1/changes?after={cursor}"), &national),
        )
        .await;
        let problem = page.problem(400);
        assert!(
            problem["detail"].as_str().unwrap().contains("cursor"),
            "{cursor}: {problem}"
        );
    }
    for limit in ["0", "1001", "-1", "x", "1.5", ""] {
        let page = send(
            &app,
            get(&format!("/api/v1/changes?limit={limit}"), &national),
        )
        .await;
        assert_eq!(page.invalid_fields(), vec!["limit"], "{limit}");
    }
    let unknown = send(&app, get("/api/v1/changes?since=1.0", &national)).await;
    assert!(unknown.status.is_client_error());
    assert_eq!(t.count("changes"), before, "asking stores nothing");
    // The bounds themselves are fine.
    for limit in ["1", "1000"] {
        let page = send(
            &app,
            get(
                &format!("/api/v1/changes?after=0.0&limit={limit}"),
                &national,
            ),
        )
        .await;
        page.ok();
    }
}

async fn pages_continue_where_the_last_ended(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let scheduler = t.token(Role::Scheduler, None);
    let all = read_all(&app, &scheduler, "0.0", 1000).await;
    assert!(all.len() > 10, "{}", all.len());
    assert_eq!(read_all(&app, &scheduler, "0.0", 3).await, all);
    let first = send(&app, get("/api/v1/changes?limit=3", &scheduler)).await;
    let first = first.ok().json();
    assert_eq!(first["changes"].as_array().unwrap().len(), 3);
    assert_eq!(first["more"], true);
    assert_eq!(first["next"], first["changes"][2]["cursor"]);
    let rest = read_all(&app, &scheduler, first["next"].as_str().unwrap(), 1000).await;
    assert_eq!(rest, all[3..]);
    // At the end: nothing new, and the same cursor to ask again with.
    let last = all.last().unwrap()["cursor"].as_str().unwrap().to_string();
    let end = send(
        &app,
        get(&format!("/api/v1/changes?after={last}"), &scheduler),
    )
    .await;
    assert_eq!(
        end.ok().json(),
        json!({"changes": [], "next": last, "more": false})
    );
    // The default page is 100 changes.
    let default = send(&app, get("/api/v1/changes", &scheduler)).await;
    let default = default.ok().json();
    let expected = all.len().min(100);
    assert_eq!(default["changes"].as_array().unwrap().len(), expected);
}

async fn what_changes_nothing_is_not_in_the_feed(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_half_year(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let submission = json!({
        "projects": [project("A", "Projekt A", 10)],
        "values": [value("A", "RCR01", "2026H1", json!(2))],
    });
    let path = "/api/v1/regions/07/submissions";
    let dry = send(
        &app,
        post_json(&format!("{path}?dry_run=true"), &kronoberg, &submission),
    )
    .await;
    dry.ok();
    assert_eq!(t.count("changes"), 0, "a dry run records nothing");
    let mut bad = submission.clone();
    bad["values"][0]["period"] = json!("2026H3");
    let refused = send(&app, post_json(path, &kronoberg, &bad)).await;
    assert!(refused.status.is_client_error());
    assert_eq!(
        t.count("changes"),
        0,
        "a refused submission records nothing"
    );
    send(&app, post_json(path, &kronoberg, &submission))
        .await
        .ok();
    let stored = t.count("changes");
    assert_eq!(stored, 4, "project, two plans, value");
    let again = send(&app, post_json(path, &kronoberg, &submission)).await;
    assert_eq!(
        again.ok().json()["values"],
        json!({"created": 0, "updated": 0, "unchanged": 1})
    );
    assert_eq!(
        t.count("changes"),
        stored,
        "an unchanged resend records nothing"
    );
}

const WRITERS: usize = 8;
const WRITES_EACH: i64 = 12;
const REGIONS: [&str; WRITERS] = ["01", "03", "04", "05", "06", "07", "08", "09"];

/// One GET over HTTP, as JSON.
fn fetch(agent: &ureq::Agent, url: &str, token: &str) -> Value {
    let mut response = agent
        .get(url)
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    assert_eq!(response.status(), 200, "{url}");
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

async fn a_follower_sees_every_change_once_while_eight_writers_write(backend: Backend) {
    let t = TestApp::start_with(backend, |config| config.pool_size = 6);
    let app = test::init_service(build_app(t.state.clone())).await;
    open_half_year(&t, &app).await;
    for region in REGIONS {
        let token = t.token(Role::Region, Some(region));
        let setup = json!({"projects": [project("P", "Projekt P", 10)]});
        send(
            &app,
            post_json(
                &format!("/api/v1/regions/{region}/submissions"),
                &token,
                &setup,
            ),
        )
        .await
        .ok();
    }
    let (base, server) = crate::browser::serve(&t);
    let tokens: Vec<String> = REGIONS
        .iter()
        .map(|region| t.token(Role::Region, Some(region)))
        .collect();
    let scheduler = t.token(Role::Scheduler, None);
    let followed = actix_web::rt::task::spawn_blocking(move || {
        let done = Arc::new(AtomicBool::new(false));
        let follower = {
            let (base, done, scheduler) = (base.clone(), done.clone(), scheduler.clone());
            std::thread::spawn(move || {
                let agent = ureq::Agent::new_with_defaults();
                let mut cursor = "0.0".to_string();
                let mut seen = Vec::new();
                loop {
                    // Read before asking: a page asked after the writers ended holds the rest.
                    let finished = done.load(Ordering::SeqCst);
                    let page = fetch(
                        &agent,
                        &format!("{base}/api/v1/changes?after={cursor}&limit=7"),
                        &scheduler,
                    );
                    let items = page["changes"].as_array().unwrap().clone();
                    cursor = page["next"].as_str().unwrap().to_string();
                    if items.is_empty() && finished {
                        return seen;
                    }
                    seen.extend(items);
                }
            })
        };
        let writers: Vec<_> = REGIONS
            .iter()
            .zip(tokens)
            .map(|(region, token)| {
                let base = base.clone();
                let region = region.to_string();
                std::thread::spawn(move || {
                    let agent = ureq::Agent::new_with_defaults();
                    for n in 1..=WRITES_EACH {
                        let body = json!({"values": [value("P", "RCR01", "2026H1", json!(n))]});
                        let mut response = agent
                            .post(&format!("{base}/api/v1/regions/{region}/submissions"))
                            .header("Authorization", &format!("Bearer {token}"))
                            .header("Content-Type", "application/json")
                            .send(body.to_string())
                            .unwrap_or_else(|e| panic!("{region}: {e}"));
                        let text = response.body_mut().read_to_string().unwrap();
                        assert_eq!(response.status(), 200, "{region}: {text}");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.join().unwrap();
        }
        done.store(true, Ordering::SeqCst);
        follower.join().unwrap()
    })
    .await
    .unwrap();
    server.stop(true).await;

    // In order, each once.
    let places: Vec<(i64, i64)> = followed.iter().map(cursor_of).collect();
    assert!(
        places.windows(2).all(|w| w[0] < w[1]),
        "out of order or twice: {places:?}"
    );
    // None skipped: the follower saw exactly what the whole feed holds now.
    let national = t.token(Role::National, None);
    let all = read_all(&app, &national, "0.0", 1000).await;
    assert_eq!(followed, all);
    // And the whole feed is the final state: every value revision is one value change, each
    // region's in the order it wrote them, ending at what is stored.
    let values: Vec<&Value> = followed.iter().filter(|c| c["kind"] == "value").collect();
    assert_eq!(values.len() as i64, t.count("value_revisions"));
    assert_eq!(values.len() as i64, WRITERS as i64 * WRITES_EACH);
    for region in REGIONS {
        let written: Vec<&str> = values
            .iter()
            .filter(|c| c["region"] == region)
            .map(|c| c["action"].as_str().unwrap())
            .collect();
        let mut expected = vec!["updated"; WRITES_EACH as usize];
        expected[0] = "created";
        assert_eq!(written, expected, "{region}");
        let project = send(
            &app,
            get(&format!("/api/v1/regions/{region}/projects/P"), &national),
        )
        .await;
        let project = project.ok().json();
        let stored = project["values"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["indicator"] == "RCR01")
            .unwrap()
            .clone();
        assert_eq!(
            stored["value"].as_f64(),
            Some(WRITES_EACH as f64),
            "{region}"
        );
    }
    // The versions of the value changes are the writes' versions, each once.
    let mut versions: Vec<i64> = values
        .iter()
        .map(|c| c["version"].as_i64().unwrap())
        .collect();
    versions.dedup();
    assert_eq!(versions.len(), values.len());
}
