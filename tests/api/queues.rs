//! The queues: submissions read before the writer's turn, bodies held bounded per subject
//! and in all, each subject's share of the computations, writes and readiness never behind
//! reads, heavy reads given up stopped, and storage faults said plainly. Shown by holding
//! places and counting, never by timing.

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;

use actix_web::rt::task::JoinHandle;
use actix_web::test::{self, TestRequest};
use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use futures_util::future::poll_immediate;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::common::{Backend, TestApp, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::{Principal, Role};
use uppfoljning::db::DbConnection;
use uppfoljning::domain::codes::RegionCode;

backend_tests!(
    a_submission_is_read_before_the_writers_turn,
    bodies_held_are_bounded_per_subject_and_in_all,
    one_subject_holding_its_share_leaves_room_for_others,
    a_question_given_up_gives_back_its_place_and_is_never_computed,
    computations_given_up_while_running_are_stopped,
    writes_and_readiness_never_wait_behind_reads,
    a_read_only_database_is_503_and_readiness_says_so,
);

fn project(reference: &str) -> Value {
    json!({
        "ref": reference, "title": format!("Projekt {reference}"), "organisation": "Regionen",
        "status": "pagaende", "project_type": "projekt", "sakomrade": "ovrigt",
        "effektkedja": "kunskap_strategier", "start_date": "2026-01-01", "end_date": "2026-12-31",
        "granted_sek": 1, "total_budget_sek": 2
    })
}

fn submissions(region: &str) -> String {
    format!("/api/v1/regions/{region}/submissions")
}

pub fn region_principal(region: &str) -> Principal {
    Principal {
        issuer: None,
        subject: "test".into(),
        name: "test".into(),
        role: Role::Region,
        region: Some(RegionCode::parse(region).unwrap()),
    }
}

/// Holds the writer's turn until the returned sender is dropped or sent to.
async fn hold_the_writers_turn(
    t: &TestApp,
) -> (mpsc::Sender<()>, actix_web::rt::task::JoinHandle<()>) {
    let (release, released) = mpsc::channel::<()>();
    let (taken, is_taken) = tokio::sync::oneshot::channel();
    let state = t.state.clone();
    let holder = actix_web::rt::spawn(async move {
        state
            .write(move |_| {
                let _ = taken.send(());
                let _ = released.recv();
                Ok(())
            })
            .await
            .unwrap();
    });
    is_taken.await.expect("the turn is taken");
    (release, holder)
}

async fn a_submission_is_read_before_the_writers_turn(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let (release, holder) = hold_the_writers_turn(&t).await;
    // While another write holds the turn, files that cannot be read are answered at once:
    // they were read before the turn, not in it.
    let csv = TestRequest::post()
        .uri(&submissions("07"))
        .insert_header(("Authorization", format!("Bearer {kronoberg}")))
        .insert_header(("Content-Type", "text/csv"))
        .set_payload("project_ref,indicator\nA,RCO01\n");
    let refused = send(&app, csv).await;
    let problem = refused.problem(422);
    assert!(
        !problem["errors"].as_array().unwrap().is_empty(),
        "{problem}"
    );
    let workbook = TestRequest::post()
        .uri(&submissions("07"))
        .insert_header(("Authorization", format!("Bearer {kronoberg}")))
        .insert_header((
            "Content-Type",
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        ))
        .set_payload(b"PK\x03\x04 not a workbook".to_vec());
    send(&app, workbook).await.problem(422);
    let shapeless = post_json(&submissions("07"), &kronoberg, &json!({"projects": 7}));
    send(&app, shapeless).await.problem(422);
    assert_eq!(t.state.bodies_held(), (0, 0), "every body was let go");
    release.send(()).unwrap();
    holder.await.unwrap();
    let stored = post_json(
        &submissions("07"),
        &kronoberg,
        &json!({"projects": [project("A")]}),
    );
    assert_eq!(send(&app, stored).await.ok().json()["status"], "stored");
    assert_eq!(t.count("projects"), 1);
}

async fn bodies_held_are_bounded_per_subject_and_in_all(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let kalmar = t.token(Role::Region, Some("08"));
    let largest = t.config.max_submission_bytes as u64;
    // Kronoberg's system has two of the largest bodies in flight: its share of the bytes.
    let held: Vec<_> = (0..uppfoljning::state::BODY_LIMITS_PER_SUBJECT)
        .map(|_| {
            t.state
                .admit_body(&region_principal("07"), Some(largest))
                .unwrap()
        })
        .collect();
    let body = json!({"projects": [project("A")]});
    let refused = send(&app, post_json(&submissions("07"), &kronoberg, &body)).await;
    let problem = refused.problem(429);
    assert_eq!(problem["type"], "urn:uppfoljning:problem:busy");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("earlier submissions")
    );
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(t.count("projects"), 0, "nothing stored");
    // Another region is not held up by Kronoberg's bodies.
    let stored = send(&app, post_json(&submissions("08"), &kalmar, &body)).await;
    assert_eq!(stored.ok().json()["status"], "stored");
    // Every subject's bodies together fill the service's room: 503 for everyone.
    let mut others = Vec::new();
    for region in ["09", "10", "12", "13", "14", "17"] {
        match t.state.admit_body(&region_principal(region), Some(largest)) {
            Ok(ticket) => others.push(ticket),
            Err(_) => break,
        }
    }
    let full = send(&app, post_json(&submissions("08"), &kalmar, &body)).await;
    let problem = full.problem(503);
    assert_eq!(problem["type"], "urn:uppfoljning:problem:busy");
    assert!(full.headers.contains_key("retry-after"));
    drop(others);
    drop(held);
    assert_eq!(t.state.bodies_held(), (0, 0));
    let again = send(&app, post_json(&submissions("07"), &kronoberg, &body)).await;
    assert_eq!(again.ok().json()["status"], "stored");
    assert_eq!(t.count("projects"), 2);
}

/// Places held by blocked tasks until `release` is called.
struct Held {
    releases: Vec<mpsc::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl Held {
    /// Holds `count` places, each taken by the task `take` makes from its blocker.
    async fn places<F, Fut>(count: usize, take: F) -> Held
    where
        F: Fn(Box<dyn FnOnce() + Send>) -> Fut,
        Fut: Future<Output = ()> + 'static,
    {
        let mut held = Held {
            releases: Vec::new(),
            tasks: Vec::new(),
        };
        for _ in 0..count {
            let (release, released) = mpsc::channel::<()>();
            let (taken, is_taken) = tokio::sync::oneshot::channel();
            let blocker: Box<dyn FnOnce() + Send> = Box::new(move || {
                let _ = taken.send(());
                let _ = released.recv();
            });
            held.tasks.push(actix_web::rt::spawn(take(blocker)));
            held.releases.push(release);
            is_taken.await.expect("the place is taken");
        }
        held
    }

    async fn release(self) {
        drop(self.releases);
        for task in self.tasks {
            task.await.unwrap();
        }
    }
}

/// Asserts that `pending` stays pending however often it is polled.
async fn stays_pending<F: Future + Unpin>(pending: &mut F) {
    for _ in 0..50 {
        assert!(
            poll_immediate(&mut *pending).await.is_none(),
            "it went through"
        );
        actix_web::rt::task::yield_now().await;
    }
}

async fn periods(t: &TestApp, app: &impl crate::common::TestService) {
    let period = json!({"id": "2026H1", "deadline": "2030-01-31"});
    let created = send(app, post_json("/api/v1/periods", &t.admin(), &period)).await;
    assert_eq!(created.status, 201);
}

async fn one_subject_holding_its_share_leaves_room_for_others(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    periods(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let kalmar = t.token(Role::Region, Some("08"));
    let (_, share) = t.state.computations_held_by(&region_principal("07"));
    // Kronoberg's system has as many heavy questions in computation as its share allows.
    let state = t.state.clone();
    let held = Held::places(share, move |blocker| {
        let state = state.clone();
        async move {
            state
                .compute(&region_principal("07"), move |_| {
                    blocker();
                    Ok(())
                })
                .await
                .unwrap();
        }
    })
    .await;
    assert_eq!(
        t.state.computations_held_by(&region_principal("07")),
        (share, share)
    );
    // Its next question waits behind its own, `no-cache` or not ...
    let completeness = "/api/v1/completeness?period=2026H1";
    let aggregate = "/api/v1/aggregates?indicator=RCO01&period=2026H1";
    let fresh =
        |path: &str, token: &str| get(path, token).insert_header(("Cache-Control", "no-cache"));
    let mut waiting = Box::pin(send(&app, fresh(aggregate, &kronoberg)));
    stays_pending(&mut waiting).await;
    assert_eq!(
        t.state.computations_held_by(&region_principal("07")).0,
        share,
        "no more than its share"
    );
    // ... while another region's heavy questions and readiness get through.
    send(&app, get(completeness, &kalmar)).await.ok();
    send(&app, fresh(aggregate, &kalmar)).await.ok();
    send(&app, get("/api/v1/reports?period=2026H1", &kalmar))
        .await
        .ok();
    send(&app, TestRequest::get().uri("/health/ready"))
        .await
        .ok();
    held.release().await;
    waiting.await.ok();
    send(&app, get(completeness, &kronoberg)).await.ok();
    assert_eq!(t.state.computations_held_by(&region_principal("07")).0, 0);
}

async fn a_question_given_up_gives_back_its_place_and_is_never_computed(backend: Backend) {
    let t = TestApp::start(backend);
    let (_, share) = t.state.computations_held_by(&region_principal("07"));
    let state = t.state.clone();
    let held = Held::places(share, move |blocker| {
        let state = state.clone();
        async move {
            state
                .compute(&region_principal("07"), move |_| {
                    blocker();
                    Ok(())
                })
                .await
                .unwrap();
        }
    })
    .await;
    let computed = Arc::new(AtomicBool::new(false));
    let flag = computed.clone();
    let kronoberg = region_principal("07");
    let mut asked = Box::pin(t.state.compute(&kronoberg, move |_| {
        flag.store(true, Ordering::SeqCst);
        Ok(())
    }));
    stays_pending(&mut asked).await;
    // The client goes away: actix drops its handler, and with it the wait.
    drop(asked);
    held.release().await;
    assert_eq!(t.state.computations_held_by(&region_principal("07")).0, 0);
    t.state
        .compute(&region_principal("07"), |_| Ok(()))
        .await
        .unwrap();
    assert!(!computed.load(Ordering::SeqCst), "computed for nobody");
}

/// A read that would run for hours unless stopped: it counts an endless series.
const ENDLESS: &str = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) \
                       SELECT COUNT(*) AS i FROM n";

const METRICS_TOKEN: &str = "metrics-token-metrics-token-metrics";

async fn computations_given_up_while_running_are_stopped(backend: Backend) {
    let t = TestApp::start_with(backend, |config| {
        config.metrics_token = Some(METRICS_TOKEN.into());
    });
    let app = test::init_service(build_app(t.state.clone())).await;
    periods(&t, &app).await;
    let (_, share) = t.state.computations_held_by(&region_principal("07"));
    // Two regions' systems fill their shares with heavy questions, each started: its
    // statement runs.
    let (started, is_started) = mpsc::channel::<()>();
    let mut asked = Vec::new();
    for region in ["07", "08"] {
        for _ in 0..share {
            let started = started.clone();
            let state = t.state.clone();
            let mut question = Box::pin(async move {
                state
                    .compute(&region_principal(region), move |conn| {
                        let _ = started.send(());
                        diesel::sql_query(ENDLESS).execute(conn)?;
                        Ok(())
                    })
                    .await
            });
            stays_pending(&mut question).await;
            asked.push(question);
        }
    }
    for _ in 0..asked.len() {
        is_started.recv().expect("the computation started");
    }
    let cancelled_before = t.state.computations_cancelled();
    // Their clients go away: actix drops the handlers, and with them the computations.
    let given_up = asked.len() as u64;
    drop(asked);
    // Another caller's question is answered, and each given-up computation ends as
    // cancelled, its connection back in the pool.
    let national = t.token(Role::National, None);
    let question = get(
        "/api/v1/aggregates?indicator=RCO01&period=2026H1",
        &national,
    )
    .insert_header(("Cache-Control", "no-cache"));
    send(&app, question).await.ok();
    for _ in 0..600 {
        let pool = t.state.pool.state();
        if t.state.computations_cancelled() == cancelled_before + given_up
            && pool.idle_connections == pool.connections
        {
            break;
        }
        actix_web::rt::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(
        t.state.computations_cancelled(),
        cancelled_before + given_up,
        "every given-up computation was stopped"
    );
    let pool = t.state.pool.state();
    assert_eq!(
        pool.idle_connections, pool.connections,
        "no statement runs on"
    );
    // The metrics count them, and the connections serve the next questions.
    let metrics = TestRequest::get()
        .uri("/metrics")
        .insert_header(("Authorization", format!("Bearer {METRICS_TOKEN}")));
    let text = String::from_utf8(send(&app, metrics).await.ok().body.to_vec()).unwrap();
    assert!(text.contains("computations_cancelled_total"), "{text}");
    send(&app, get("/api/v1/completeness?period=2026H1", &national))
        .await
        .ok();
}

async fn writes_and_readiness_never_wait_behind_reads(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let reader = t.token(Role::National, None);
    let state = t.state.clone();
    // Slow reads hold every reading place.
    let held = Held::places(t.state.reading_places(), move |blocker| {
        let state = state.clone();
        async move {
            state
                .db(move |_| {
                    blocker();
                    Ok(())
                })
                .await
                .unwrap();
        }
    })
    .await;
    let mut read = Box::pin(send(&app, get("/api/v1/periods", &reader)));
    stays_pending(&mut read).await;
    send(&app, TestRequest::get().uri("/health/ready"))
        .await
        .ok();
    periods(&t, &app).await;
    held.release().await;
    read.await.ok();
    assert_eq!(t.count("periods"), 1);
}

/// Runs `sql` on every pooled connection, as a change of the database would reach them.
fn on_every_connection(t: &TestApp, sql: &str) {
    let mut every: Vec<_> = (0..t.config.pool_size).map(|_| t.conn()).collect();
    for conn in &mut every {
        let conn: &mut DbConnection = conn;
        conn.batch_execute(sql).expect(sql);
    }
}

async fn a_read_only_database_is_503_and_readiness_says_so(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    periods(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let ready = || TestRequest::get().uri("/health/ready");
    send(&app, ready()).await.ok();
    let (read_only, writable) = match backend {
        Backend::Sqlite => ("PRAGMA query_only = ON", "PRAGMA query_only = OFF"),
        Backend::Postgres => (
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY",
            "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE",
        ),
    };
    on_every_connection(&t, read_only);
    let body = json!({"projects": [project("A")]});
    let refused = send(&app, post_json(&submissions("07"), &kronoberg, &body)).await;
    let problem = refused.problem(503);
    assert_eq!(problem["type"], "urn:uppfoljning:problem:read-only");
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("nothing was stored")
    );
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(t.count("projects"), 0);
    let not_ready = send(&app, ready()).await;
    assert_eq!(
        not_ready.problem(503)["type"],
        "urn:uppfoljning:problem:read-only"
    );
    assert!(not_ready.headers.contains_key("retry-after"));
    // Reads still work, and the first write that succeeds makes the instance ready again.
    send(&app, get("/api/v1/regions/07/projects", &kronoberg))
        .await
        .ok();
    on_every_connection(&t, writable);
    let stored = send(&app, post_json(&submissions("07"), &kronoberg, &body)).await;
    assert_eq!(stored.ok().json()["status"], "stored");
    send(&app, ready()).await.ok();
}

#[actix_web::test]
async fn a_full_sqlite_disk_is_503_storage_full_and_readiness_says_so() {
    let t = TestApp::start(Backend::Sqlite);
    let app = test::init_service(build_app(t.state.clone())).await;
    periods(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    // The file may grow no further than it is: the next pages a write needs are refused
    // with SQLITE_FULL, as on a full disk.
    on_every_connection(&t, "PRAGMA max_page_count = 1");
    let projects: Vec<_> = (0..500).map(|i| project(&format!("P{i}"))).collect();
    let body = json!({"projects": projects});
    let refused = send(&app, post_json(&submissions("07"), &kronoberg, &body)).await;
    let problem = refused.problem(503);
    assert_eq!(problem["type"], "urn:uppfoljning:problem:storage-full");
    assert!(refused.headers.contains_key("retry-after"));
    assert_eq!(t.count("projects"), 0, "nothing stored");
    let not_ready = send(&app, TestRequest::get().uri("/health/ready")).await;
    assert_eq!(
        not_ready.problem(503)["type"],
        "urn:uppfoljning:problem:storage-full"
    );
}
