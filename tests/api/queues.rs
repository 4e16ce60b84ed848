//! The queues: submissions read before the writer's turn, bodies held bounded per subject
//! and in all. Shown by holding places, never by timing.

use std::sync::mpsc;

use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::common::{Backend, TestApp, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::{Principal, Role};
use uppfoljning::domain::codes::RegionCode;

backend_tests!(
    a_submission_is_read_before_the_writers_turn,
    bodies_held_are_bounded_per_subject_and_in_all,
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
        subject: "test".into(),
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
