//! Completeness, narratives and snapshots.

use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, TestApp, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    completeness_counts_required_reported_and_missing_values,
    narratives_are_searched_and_scoped_by_role,
    snapshots_freeze_figures_reproducibly,
    bad_snapshot_requests_store_nothing,
    every_csv_export_neutralises_formulas,
);

async fn completeness_counts_required_reported_and_missing_values(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let answer = send(
        &app,
        get(
            "/api/v1/completeness?period=2026",
            &t.token(Role::Scheduler, None),
        ),
    )
    .await;
    let answer = answer.ok().json();
    assert_eq!(answer["half_years"], json!(["2026H1", "2026H2"]));
    assert_eq!(answer["regions"].as_array().unwrap().len(), 21);
    // All three projects are varor_tjanster_direkt (RCO01, RCR01 required); A also plans
    // RCO01 and RCR01, B RCR01, C RCO01: two required values per project and half-year.
    // Kronoberg: A has RCO01 H1, RCR01 H1, RCR01 H2; B has RCR01 H1. Kalmar: C has RCO01 H1, RCR01 H1.
    let kronoberg = answer["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == "07")
        .unwrap();
    assert_eq!(
        kronoberg,
        &json!({"region": "07", "active_projects": 2, "required_values": 8, "reported_values": 4,
                "missing_values": 4, "on_time_values": 4,
                "reports": {"2026H1": "open", "2026H2": "open"}})
    );
    assert_eq!(
        answer["national"],
        json!({"active_projects": 3, "required_values": 12, "reported_values": 6, "missing_values": 6, "on_time_values": 6})
    );
    let stockholm = answer["regions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["region"] == "01")
        .unwrap();
    assert_eq!(stockholm["active_projects"], 0);
    // What a region sees of the others is the same in every endpoint: nothing. Its own
    // region's counts and report states, here as in `/reports`; the national total is a
    // national figure, as an aggregate is.
    let region = t.token(Role::Region, Some("07"));
    let own = send(&app, get("/api/v1/completeness?period=2026", &region)).await;
    let own = own.ok().json();
    assert_eq!(own["regions"], json!([kronoberg]));
    assert_eq!(own["national"], answer["national"]);
    let reports = send(&app, get("/api/v1/reports?period=2026H1", &region)).await;
    let listed: Vec<Value> = reports
        .ok()
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|report| report["region"].clone())
        .collect();
    assert_eq!(listed, [json!("07")]);
    let national = send(&app, get("/api/v1/reports?period=2026H1", &t.admin())).await;
    assert_eq!(national.ok().json().as_array().unwrap().len(), 21);
    let bad = send(&app, get("/api/v1/completeness?period=2026H3", &t.admin())).await;
    assert_eq!(bad.invalid_fields(), vec!["period"]);
}

async fn narratives_are_searched_and_scoped_by_role(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    for (region, reference, progress) in [
        ("07", "A", "Ökad EXPORT i Älmhult"),
        ("07", "B", "Cykelleden byggd"),
        ("08", "C", "Export till Åland"),
    ] {
        let body = json!({"narratives": [{"project_ref": reference, "period": "2026H1", "progress": progress, "lessons": "100% ' OR 1=1 --"}]});
        let reply = send(
            &app,
            post_json(
                &format!("/api/v1/regions/{region}/submissions"),
                &t.token(Role::Region, Some(region)),
                &body,
            ),
        )
        .await;
        assert_eq!(reply.status, 200);
    }
    let national = t.token(Role::National, None);
    let all = send(&app, get("/api/v1/narratives?period=2026H1", &national))
        .await
        .json();
    assert_eq!(all["total"], 3);
    let refs: Vec<&str> = all["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["project_ref"].as_str().unwrap())
        .collect();
    assert_eq!(refs, ["A", "B", "C"]);
    assert_eq!(all["items"][0]["project_title"], "Projekt A");
    let export = send(&app, get("/api/v1/narratives?q=export", &national))
        .await
        .json();
    assert_eq!(export["total"], 2, "case-insensitive, å ä ö included");
    let alm = send(&app, get("/api/v1/narratives?q=%C3%A4lmhult", &national))
        .await
        .json();
    assert_eq!(alm["total"], 1);
    let meta = send(
        &app,
        get(
            "/api/v1/narratives?q=%25%20%27%20OR%201%3D1%20--",
            &national,
        ),
    )
    .await
    .json();
    assert_eq!(meta["total"], 3, "SQL meta-characters are text");
    let none = send(&app, get("/api/v1/narratives?q=_", &national))
        .await
        .json();
    assert_eq!(none["total"], 0, "_ is no wildcard");
    let page = send(
        &app,
        get("/api/v1/narratives?page_size=2&page=2", &national),
    )
    .await
    .json();
    assert_eq!(page["items"].as_array().unwrap().len(), 1);
    let kalmar = t.token(Role::Region, Some("08"));
    let own = send(&app, get("/api/v1/narratives", &kalmar)).await.json();
    assert_eq!(own["total"], 1);
    assert_eq!(own["items"][0]["region"], "08");
    send(&app, get("/api/v1/narratives?region=07", &kalmar))
        .await
        .problem(403);
    send(
        &app,
        get("/api/v1/narratives", &t.token(Role::Scheduler, None)),
    )
    .await
    .problem(403);
    assert_eq!(
        send(&app, get("/api/v1/narratives?region=07", &t.admin()))
            .await
            .json()["total"],
        2
    );
    for (query, field) in [
        ("region=02", "region"),
        ("period=x", "period"),
        ("page_size=501", "page_size"),
    ] {
        let reply = send(&app, get(&format!("/api/v1/narratives?{query}"), &national)).await;
        assert_eq!(reply.invalid_fields(), vec![field.to_string()], "{query}");
    }
    let long = format!("/api/v1/narratives?q={}", "x".repeat(201));
    assert_eq!(
        send(&app, get(&long, &national)).await.invalid_fields(),
        vec!["q"]
    );
}

async fn snapshots_freeze_figures_reproducibly(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    std::thread::sleep(std::time::Duration::from_millis(5));
    let as_of = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    std::thread::sleep(std::time::Duration::from_millis(5));
    let scheduler = t.token(Role::Scheduler, None);
    let body = json!({"period": "2026H1", "label": "Delrapport april 2027", "as_of": as_of});
    let first = send(&app, post_json("/api/v1/snapshots", &scheduler, &body)).await;
    assert_eq!(
        first.status,
        201,
        "{}",
        String::from_utf8_lossy(&first.body)
    );
    let first = first.json();
    assert_eq!(first["period"], "2026H1");
    assert_eq!(first["label"], "Delrapport april 2027");
    assert_eq!(first["as_of"], as_of.as_str());
    assert_eq!(first["sha256"].as_str().unwrap().len(), 64);
    // A correction after as_of changes neither this snapshot nor a new one at the same as_of.
    let correction = json!({"values": [value("A", "RCR01", "2026H1", json!(0.9))]});
    assert_eq!(
        send(
            &app,
            post_json(
                "/api/v1/regions/07/submissions",
                &t.token(Role::Region, Some("07")),
                &correction
            )
        )
        .await
        .status,
        200
    );
    let second = send(&app, post_json("/api/v1/snapshots", &t.admin(), &body))
        .await
        .json();
    assert_eq!(second["sha256"], first["sha256"]);
    assert_ne!(second["id"], first["id"]);
    let now = send(
        &app,
        post_json(
            "/api/v1/snapshots",
            &scheduler,
            &json!({"period": "2026H1", "label": "nu"}),
        ),
    )
    .await
    .json();
    assert_ne!(
        now["sha256"], first["sha256"],
        "the correction is in a snapshot taken after it"
    );

    let path = format!("/api/v1/snapshots/{}", first["id"].as_str().unwrap());
    let stored = send(&app, get(&path, &t.token(Role::Region, Some("12"))))
        .await
        .json();
    assert_eq!(stored["sha256"], first["sha256"]);
    let figures = &stored["figures"];
    assert_eq!(figures["period"], "2026H1");
    let rcr01 = figures["aggregates"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["indicator"]["code"] == "RCR01")
        .unwrap();
    assert_eq!(rcr01["national"]["value"], 3.6);
    assert_eq!(rcr01["group_by"], json!(["region"]));
    let totals = figures["aggregates"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["per"] == "total")
        .count();
    assert_eq!(totals, 17);
    let canonical = serde_json::to_string(figures).unwrap();
    use sha2::Digest;
    assert_eq!(
        format!("{:x}", sha2::Sha256::digest(canonical.as_bytes())),
        first["sha256"].as_str().unwrap()
    );

    let csv = send(&app, get(&format!("{path}?format=csv"), &scheduler)).await;
    assert!(csv.content_type().starts_with("text/csv"));
    let text = String::from_utf8(csv.body[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let national_rcr01 = reader
        .records()
        .map(|r| r.unwrap())
        .find(|r| &r[0] == "RCR01" && &r[1] == "national")
        .unwrap();
    assert_eq!(&national_rcr01[3], "3.6");

    let list = send(
        &app,
        get("/api/v1/snapshots", &t.token(Role::National, None)),
    )
    .await
    .json();
    assert_eq!(list.as_array().unwrap().len(), 3);
    assert!(list[0].get("figures").is_none());
    send(&app, get("/api/v1/snapshots/nope", &scheduler))
        .await
        .problem(404);
}

async fn bad_snapshot_requests_store_nothing(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    for token in [
        t.token(Role::Region, Some("07")),
        t.token(Role::National, None),
    ] {
        send(
            &app,
            post_json(
                "/api/v1/snapshots",
                &token,
                &json!({"period": "2026H1", "label": "x"}),
            ),
        )
        .await
        .problem(403);
    }
    let cases = [
        (json!({"period": "2026H3", "label": "x"}), "period"),
        (json!({"period": "2026H1", "label": ""}), "label"),
        (
            json!({"period": "2026H1", "label": "x", "as_of": "2999-01-01T00:00:00Z"}),
            "as_of",
        ),
        (
            json!({"period": "2026H1", "label": "x", "as_of": "igår"}),
            "as_of",
        ),
        (json!({"period": "2026H1"}), "body"),
        (
            json!({"period": "2026H1", "label": "x", "sha256": "0"}),
            "sha256",
        ),
    ];
    for (body, field) in cases {
        let reply = send(&app, post_json("/api/v1/snapshots", &t.admin(), &body)).await;
        assert_eq!(reply.invalid_fields(), vec![field.to_string()], "{body}");
    }
    assert_eq!(t.count("snapshots"), 0);
    // Without a token, only published snapshots are listed: none.
    let listed = send(&app, TestRequest::get().uri("/api/v1/snapshots")).await;
    assert_eq!(listed.ok().json(), json!([]));
    send(
        &app,
        post_json("/api/v1/snapshots", "not-a-token", &json!({})),
    )
    .await
    .problem(401);
}

/// The same data and as_of give the same sha256 on SQLite and on PostgreSQL.
#[actix_web::test]
async fn snapshots_agree_across_backends() {
    if crate::common::postgres_url().is_none() {
        eprintln!("TEST_POSTGRES_URL is not set: PostgreSQL not tested");
        return;
    }
    let sqlite = TestApp::start(Backend::Sqlite);
    let postgres = TestApp::start(Backend::Postgres);
    let sqlite_app = test::init_service(build_app(sqlite.state.clone())).await;
    let postgres_app = test::init_service(build_app(postgres.state.clone())).await;
    load(&sqlite, &sqlite_app).await;
    load(&postgres, &postgres_app).await;
    std::thread::sleep(std::time::Duration::from_millis(5));
    let as_of = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    // SQLite's clock reads milliseconds: an as_of within its current millisecond is not
    // yet before it.
    std::thread::sleep(std::time::Duration::from_millis(5));
    let body = json!({"period": "2026", "label": "jämförelse", "as_of": as_of});
    let on_sqlite = send(
        &sqlite_app,
        post_json("/api/v1/snapshots", &sqlite.admin(), &body),
    )
    .await;
    let on_postgres = send(
        &postgres_app,
        post_json("/api/v1/snapshots", &postgres.admin(), &body),
    )
    .await;
    assert_eq!(on_sqlite.status, 201, "{:?}", on_sqlite.json());
    assert_eq!(on_postgres.status, 201, "{:?}", on_postgres.json());
    assert_eq!(on_sqlite.json()["sha256"], on_postgres.json()["sha256"]);
}

/// The cells of a CSV export, after its byte-order mark.
fn csv_cells(reply: &crate::common::Reply) -> Vec<String> {
    reply.ok();
    assert!(reply.content_type().starts_with("text/csv"));
    let text = std::str::from_utf8(&reply.body).unwrap();
    let text = text.strip_prefix('\u{feff}').expect("a byte-order mark");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    reader
        .records()
        .flat_map(|record| {
            record
                .unwrap()
                .iter()
                .map(str::to_string)
                .collect::<Vec<_>>()
        })
        .collect()
}

async fn every_csv_export_neutralises_formulas(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let admin = t.admin();
    let code =
        json!({"code": "formel", "label_sv": "=HYPERLINK(\"http://x\")", "label_en": "@SUM(A1)"});
    let added = send(
        &app,
        post_json("/api/v1/classifications/bransch", &admin, &code),
    )
    .await;
    assert_eq!(added.status, 201);
    let hostile = json!({
        "projects": [{
            "ref": "F", "title": "=1+1", "organisation": "+46 470 00 00 00", "status": "pagaende",
            "project_type": "projekt", "sakomrade": "innovation_foretagande",
            "effektkedja": "varor_tjanster_direkt", "branscher": ["formel"],
            "start_date": "2025-07-01", "end_date": "2027-12-31",
            "granted_sek": 100, "total_budget_sek": 200,
            "indicators": [{"indicator": "RCO01", "target": 1}]
        }],
        "values": [{"project_ref": "F", "indicator": "RCO01", "period": "2026H1",
                    "entities": ["5560360793"]}],
        "narratives": [{"project_ref": "F", "period": "2026H1", "progress": "@SUM(A1)",
                        "lessons": "-2+3", "deviations": "+cmd|' /C calc'!A0"}]
    });
    let stored = send(
        &app,
        post_json(
            "/api/v1/regions/07/submissions",
            &t.token(Role::Region, Some("07")),
            &hostile,
        ),
    )
    .await;
    stored.ok();
    let scheduler = t.token(Role::Scheduler, None);
    let snapshot = send(
        &app,
        post_json(
            "/api/v1/snapshots",
            &scheduler,
            &json!({"period": "2026H1", "label": "=label"}),
        ),
    )
    .await
    .json();
    let national = t.token(Role::National, None);
    let exports = [
        get("/api/v1/narratives?format=csv", &national),
        get(
            "/api/v1/aggregates?indicator=RCO01&period=2026H1&group_by=bransch&format=csv",
            &national,
        ),
        get(
            &format!(
                "/api/v1/snapshots/{}?format=csv",
                snapshot["id"].as_str().unwrap()
            ),
            &national,
        ),
    ];
    let mut all = Vec::new();
    for export in exports {
        all.extend(csv_cells(&send(&app, export).await));
    }
    for cell in &all {
        assert!(
            !cell.starts_with(['=', '+', '-', '@', '\t', '\r']),
            "a cell a spreadsheet would run: {cell:?}"
        );
    }
    for neutralised in [
        "'=1+1",
        "'@SUM(A1)",
        "'-2+3",
        "'+cmd|' /C calc'!A0",
        "'=HYPERLINK(\"http://x\")",
    ] {
        assert!(
            all.iter().any(|c| c == neutralised),
            "{neutralised} missing"
        );
    }
}
