//! Health, documentation, request ids, limits, migrations and the committed OpenAPI document.

use actix_web::test::{self, TestRequest};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::common::{Backend, TestApp, get, post_json, send};
use uppfoljning::api::openapi_document;
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;
use uppfoljning::config::{Config, JwtKeySource};
use uppfoljning::db;
use uppfoljning::state::AppState;

backend_tests!(
    health_answers_without_a_token,
    every_response_has_a_request_id,
    unknown_routes_are_problem_json,
    other_methods_on_known_paths_are_405_with_allow,
    nul_characters_in_the_uri_are_refused,
    bodies_over_the_limit_get_413,
    a_second_start_applies_no_migration,
    each_caller_is_rate_limited,
    metrics_count_requests_by_route_and_status,
    responses_carry_security_headers_and_cors_only_when_configured,
    served_openapi_equals_the_committed_document,
);

async fn health_answers_without_a_token(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    for path in ["/health/live", "/health/ready"] {
        let reply = send(&app, TestRequest::get().uri(path)).await;
        assert_eq!(reply.status, 200);
        assert_eq!(reply.json(), json!({"status": "ok"}));
    }
    let docs = send(&app, TestRequest::get().uri("/docs")).await;
    assert_eq!(docs.status, 308);
    assert_eq!(docs.headers.get("location").unwrap(), "/docs/");
    let ui = send(&app, TestRequest::get().uri("/docs/")).await;
    assert_eq!(ui.status, 200);
    assert!(String::from_utf8_lossy(&ui.body).contains("swagger"));
}

async fn every_response_has_a_request_id(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let ok = send(&app, TestRequest::get().uri("/health/live")).await;
    let generated = ok.headers.get("x-request-id").unwrap().to_str().unwrap();
    assert_eq!(generated.len(), 36);
    let refused = send(&app, TestRequest::get().uri("/api/v1/regions")).await;
    assert!(refused.headers.contains_key("x-request-id"));
    let passed_on = TestRequest::get()
        .uri("/health/live")
        .insert_header(("X-Request-Id", "lb-1234_abcd"));
    let reply = send(&app, passed_on).await;
    assert_eq!(reply.headers.get("x-request-id").unwrap(), "lb-1234_abcd");
    let hostile = TestRequest::get()
        .uri("/health/live")
        .insert_header(("X-Request-Id", "a b;<script>"));
    let reply = send(&app, hostile).await;
    assert_ne!(reply.headers.get("x-request-id").unwrap(), "a b;<script>");
}

async fn unknown_routes_are_problem_json(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    send(&app, TestRequest::get().uri("/api/v1/nothing"))
        .await
        .problem(404);
    send(&app, TestRequest::get().uri("/nothing"))
        .await
        .problem(404);
}

/// Found by the fuzzing: PostgreSQL refuses NUL in text, so a NUL in a project filter was a
/// 500. Filter codes are now checked against their lists, and a NUL in the path is a 404.
async fn nul_characters_in_the_uri_are_refused(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let filter = get("/api/v1/regions/14/projects?effektkedja=a%00b", &admin);
    assert_eq!(
        send(&app, filter).await.invalid_fields(),
        vec!["effektkedja"]
    );
    let unknown = get("/api/v1/regions/14/projects?status=ok&sakomrade=x", &admin);
    assert_eq!(
        send(&app, unknown).await.invalid_fields(),
        vec!["status", "sakomrade"]
    );
    let indicator = get("/api/v1/aggregates?indicator=%00RCO01&period=2026", &admin);
    assert_eq!(
        send(&app, indicator).await.invalid_fields(),
        vec!["indicator"]
    );
    let path = get("/api/v1/regions/14/projects/P%001", &admin);
    let reply = send(&app, path).await;
    reply.problem(404);
    assert!(reply.headers.contains_key("x-request-id"));
}

async fn other_methods_on_known_paths_are_405_with_allow(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let cases = [
        (TestRequest::delete().uri("/api/v1/indicators"), "GET, POST"),
        (
            TestRequest::patch().uri("/api/v1/indicators/NAT-A01"),
            "GET, PUT",
        ),
        (
            TestRequest::default()
                .method(actix_web::http::Method::TRACE)
                .uri("/api/v1/periods"),
            "GET, POST",
        ),
        (
            TestRequest::get().uri("/api/v1/regions/01/submissions"),
            "POST",
        ),
    ];
    for (request, allow) in cases {
        let reply = send(&app, request).await;
        reply.problem(405);
        assert_eq!(reply.headers.get("allow").unwrap(), allow);
    }
    assert_eq!(t.count("indicators"), 17, "the seeded catalogue, unchanged");
}

async fn bodies_over_the_limit_get_413(backend: Backend) {
    let t = TestApp::start_with(backend, |config| config.max_body_bytes = 2048);
    let app = test::init_service(build_app(t.state.clone())).await;
    let body = json!({"code": "NAT-BIG", "name_sv": "x".repeat(4000), "name_en": "x", "unit": "x",
                      "level": "utfall", "aggregation": "sum"});
    send(&app, post_json("/api/v1/indicators", &t.admin(), &body))
        .await
        .problem(413);
    assert_eq!(t.count("indicators"), 17);
}

async fn a_second_start_applies_no_migration(backend: Backend) {
    let t = TestApp::start(backend);
    let mut conn = t.conn();
    assert_eq!(db::run_migrations(&mut conn).unwrap(), 0);
    drop(conn);
    let again = AppState::open(t.config.clone()).expect("second start");
    let mut conn = again.pool.get().unwrap();
    assert_eq!(db::run_migrations(&mut conn).unwrap(), 0);
    assert_eq!(t.count("regions"), 21);
    assert_eq!(t.count("indicators"), 17);
}

async fn served_openapi_equals_the_committed_document(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let reply = send(&app, TestRequest::get().uri("/openapi.json")).await;
    assert_eq!(reply.status, 200);
    let served = reply.json();
    let committed: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/openapi/openapi.json"))
            .expect("openapi/openapi.json is committed"),
    )
    .expect("openapi/openapi.json is JSON");
    assert!(
        served == committed,
        "openapi/openapi.json differs from what the service serves; regenerate it with \
         `cargo run -- openapi > openapi/openapi.json`"
    );
    assert_eq!(served, serde_json::to_value(openapi_document()).unwrap());
    assert!(served["paths"]["/api/v1/regions"]["get"]["responses"]["401"].is_object());
    assert!(served["components"]["securitySchemes"]["bearer"].is_object());
}

#[test]
fn the_generated_secret_is_private_and_reused() {
    let folder = tempfile::tempdir().unwrap();
    let config = Config::from_lookup(|name| match name {
        "DATA_DIR" => Some(folder.path().to_string_lossy().into_owned()),
        _ => None,
    })
    .unwrap();
    assert!(matches!(config.jwt_key, JwtKeySource::SecretFile(_)));
    let first = uppfoljning::auth::TokenKeys::load(&config).unwrap();
    let token = first.sign("cli", Role::Admin, None, 60).unwrap();
    let second = uppfoljning::auth::TokenKeys::load(&config).unwrap();
    assert_eq!(second.verify(&token).unwrap().role, Role::Admin);
    let path = folder.path().join("jwt-secret");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

async fn each_caller_is_rate_limited(backend: Backend) {
    let t = TestApp::start_with(backend, |config| config.rate_limit_per_second = 2);
    let app = test::init_service(build_app(t.state.clone())).await;
    let token = t.token(Role::National, None);
    for _ in 0..4 {
        assert_eq!(
            send(&app, crate::common::get("/api/v1/regions", &token))
                .await
                .status,
            200
        );
    }
    let limited = send(&app, crate::common::get("/api/v1/regions", &token)).await;
    limited.problem(429);
    assert_eq!(limited.headers.get("retry-after").unwrap(), "1");
    let other = t.token(Role::Scheduler, None);
    let other_subject = t
        .state
        .keys
        .sign("another-system", Role::Scheduler, None, 60)
        .unwrap();
    assert_eq!(
        send(&app, crate::common::get("/api/v1/regions", &other_subject))
            .await
            .status,
        200
    );
    // A caller is the token's issuer, role, region and subject: the same subject in
    // another role has a share of its own.
    assert_eq!(
        send(&app, crate::common::get("/api/v1/regions", &other))
            .await
            .status,
        200
    );
    assert_eq!(
        send(&app, TestRequest::get().uri("/health/live"))
            .await
            .status,
        200
    );
}

async fn responses_carry_security_headers_and_cors_only_when_configured(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    for path in ["/health/live", "/api/v1/regions", "/nowhere"] {
        let reply = send(
            &app,
            TestRequest::get()
                .uri(path)
                .insert_header(("Origin", "https://evil.example")),
        )
        .await;
        for (name, value) in [
            ("x-content-type-options", "nosniff"),
            ("x-frame-options", "DENY"),
            ("referrer-policy", "no-referrer"),
            ("cache-control", "no-store"),
            (
                "content-security-policy",
                "default-src 'none'; frame-ancestors 'none'",
            ),
        ] {
            assert_eq!(reply.headers.get(name).unwrap(), value, "{path} {name}");
        }
        assert!(reply.headers.get("access-control-allow-origin").is_none());
    }
    let with_cors = TestApp::start_with(backend, |config| {
        config.cors_allowed_origins = vec!["https://analys.example.se".into()];
    });
    let app = test::init_service(build_app(with_cors.state.clone())).await;
    let allowed = send(
        &app,
        TestRequest::get()
            .uri("/health/live")
            .insert_header(("Origin", "https://analys.example.se")),
    )
    .await;
    assert_eq!(
        allowed.headers.get("access-control-allow-origin").unwrap(),
        "https://analys.example.se"
    );
    let refused = send(
        &app,
        TestRequest::get()
            .uri("/health/live")
            .insert_header(("Origin", "https://evil.example")),
    )
    .await;
    assert!(refused.headers.get("access-control-allow-origin").is_none());
}

async fn metrics_count_requests_by_route_and_status(backend: Backend) {
    let metrics_token = "metrics-token-metrics-token-metrics";
    let t = TestApp::start_with(backend, |config| {
        config.metrics_token = Some(metrics_token.into());
    });
    let app = test::init_service(build_app(t.state.clone())).await;
    let token = t.token(Role::Region, Some("07"));
    send(
        &app,
        crate::common::get("/api/v1/regions/07/projects", &token),
    )
    .await;
    send(
        &app,
        crate::common::get("/api/v1/regions/08/projects", &token),
    )
    .await;
    let reply = send(&app, crate::common::get("/metrics", metrics_token)).await;
    assert_eq!(reply.status, 200);
    assert!(reply.content_type().starts_with("text/plain"));
    let text = String::from_utf8(reply.body).unwrap();
    for expected in [
        "http_requests_total{method=\"GET\",route=\"/api/v1/regions/{region}/projects\",status=\"200\"}",
        "http_requests_total{method=\"GET\",route=\"/api/v1/regions/{region}/projects\",status=\"403\"}",
        "http_request_duration_seconds_bucket{method=\"GET\",route=\"/api/v1/regions/{region}/projects\"",
        "db_pool_connections ",
        "kept_answers_bytes ",
    ] {
        assert!(text.contains(expected), "{expected} missing from:\n{text}");
    }
}
