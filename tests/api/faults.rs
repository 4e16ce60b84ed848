//! Faults: a server killed in the middle of a large submission.

use std::time::Duration;

use serde_json::json;

use crate::backend_tests;
use crate::child_server::{agent, free_port, wait_ready};
use crate::common::{Backend, TestApp};
use uppfoljning::auth::Role;

backend_tests!(a_submission_killed_midway_is_wholly_absent_or_wholly_there);

async fn a_submission_killed_midway_is_wholly_absent_or_wholly_there(backend: Backend) {
    // The harness makes the database and its periods; the real binary serves it.
    let t = TestApp::start(backend);
    let admin = t.admin();
    let token = t.token(Role::Region, Some("07"));
    let url = t.config.database.clone();
    let port = free_port();
    let mut server = crate::child_server::start(&url, port, None);
    wait_ready(port);
    let base = format!("http://127.0.0.1:{port}");
    for id in ["2026H1", "2026H2"] {
        let body = json!({"id": id, "deadline": "2030-01-31"}).to_string();
        let reply = agent()
            .post(format!("{base}/api/v1/periods"))
            .header("Authorization", format!("Bearer {admin}"))
            .header("Content-Type", "application/json")
            .send(body.as_bytes())
            .unwrap();
        assert_eq!(reply.status(), 201);
    }
    let projects: Vec<_> = (0..2_500)
        .map(|i| {
            json!({"ref": format!("P{i}"), "title": "Projekt", "organisation": "Region", "status": "pagaende",
                   "project_type": "projekt", "sakomrade": "ovrigt", "effektkedja": "kunskap_strategier",
                   "start_date": "2026-01-01", "end_date": "2026-12-31", "granted_sek": 1, "total_budget_sek": 2})
        })
        .collect();
    let values: Vec<_> = (0..50_000)
        .map(|i| {
            let indicator = [
                "RCR01", "RCR02", "RCO83", "RCO84", "NAT-E01", "RCR17", "RCR01", "RCR02", "RCO83",
                "RCO84",
            ][i / 5_000];
            json!({"project_ref": format!("P{}", i % 2_500), "indicator": indicator,
                   "period": if (i / 2_500) % 2 == 0 { "2026H1" } else { "2026H2" }, "value": 1})
        })
        .collect();
    let mut seen = std::collections::HashSet::new();
    let values: Vec<_> = values
        .into_iter()
        .filter(|v| {
            seen.insert((
                v["project_ref"].to_string(),
                v["indicator"].to_string(),
                v["period"].to_string(),
            ))
        })
        .collect();
    let body = json!({"projects": projects, "values": values}).to_string();
    let submit = {
        let (base, token, body) = (base.clone(), token.clone(), body.clone());
        std::thread::spawn(move || {
            agent()
                .post(format!("{base}/api/v1/regions/07/submissions"))
                .header("Authorization", format!("Bearer {token}"))
                .header("Content-Type", "application/json")
                .send(body.as_bytes())
                .map(|r| r.status().as_u16())
        })
    };
    std::thread::sleep(Duration::from_millis(700));
    server.kill().expect("SIGKILL the server");
    server.wait().unwrap();
    let _ = submit.join();

    let mut restarted = crate::child_server::start(&url, port, None);
    wait_ready(port);
    let (projects_stored, values_stored) = (t.count("projects"), t.count("indicator_values"));
    assert!(
        (projects_stored, values_stored) == (0, 0)
            || (projects_stored, values_stored) == (2_500, values.len() as i64),
        "all or nothing, found {projects_stored} projects and {values_stored} values"
    );
    assert_eq!(t.count("value_revisions"), values_stored);
    let next = json!({"projects": [projects[0]], "values": [values[0]]}).to_string();
    let reply = agent()
        .post(format!("{base}/api/v1/regions/07/submissions"))
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .send(next.as_bytes())
        .unwrap();
    assert_eq!(reply.status(), 200, "the next submission works");
    restarted.kill().unwrap();
    restarted.wait().unwrap();
}
