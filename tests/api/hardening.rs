//! What no client can turn against the service or another client: metrics of bounded size,
//! rate limits per caller, kept answers bounded by bytes, and the security headers.

use actix_web::http::Method;
use actix_web::test::{self, TestRequest};

use crate::backend_tests;
use crate::common::{Backend, TestApp, get, send};
use uppfoljning::app::{DOCS_CONTENT_SECURITY_POLICY, build_app};
use uppfoljning::auth::Role;

backend_tests!(
    metrics_are_served_only_to_the_metrics_token,
    junk_methods_and_paths_leave_the_metrics_small,
    a_region_cannot_throttle_an_admin_with_the_same_subject,
    requests_without_a_token_are_limited_by_address,
    behind_a_proxy_requests_without_a_token_are_limited_by_the_address_it_saw,
    kept_answers_stay_under_their_byte_cap,
    docs_run_under_a_content_security_policy_and_tls_brings_hsts,
);

const METRICS_TOKEN: &str = "metrics-token-metrics-token-metrics";

/// What the README promises `/metrics` stays under, whatever clients send.
const METRICS_BOUND_BYTES: usize = 1024 * 1024;

fn metrics(token: &str) -> TestRequest {
    TestRequest::get()
        .uri("/metrics")
        .insert_header(("Authorization", format!("Bearer {token}")))
}

async fn metrics_are_served_only_to_the_metrics_token(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    // Off the public listener by default: there is nothing at /metrics.
    send(&app, metrics(METRICS_TOKEN)).await.problem(404);
    send(&app, metrics(&t.admin())).await.problem(404);

    let t = TestApp::start_with(backend, |config| {
        config.metrics_token = Some(METRICS_TOKEN.into());
    });
    let app = test::init_service(build_app(t.state.clone())).await;
    send(&app, TestRequest::get().uri("/metrics"))
        .await
        .problem(401);
    // A token of the API is not the metrics token, nor is one character more or less.
    for wrong in [
        t.admin(),
        format!("{METRICS_TOKEN}x"),
        METRICS_TOKEN[1..].to_string(),
    ] {
        let reply = send(&app, metrics(&wrong)).await;
        reply.problem(401);
        assert_eq!(reply.headers.get("www-authenticate").unwrap(), "Bearer");
    }
    let reply = send(&app, metrics(METRICS_TOKEN)).await;
    reply.ok();
    assert!(reply.content_type().starts_with("text/plain"));
    assert!(String::from_utf8_lossy(&reply.body).contains("http_requests_total"));
}

async fn junk_methods_and_paths_leave_the_metrics_small(backend: Backend) {
    let t = TestApp::start_with(backend, |config| {
        config.metrics_token = Some(METRICS_TOKEN.into());
    });
    let app = test::init_service(build_app(t.state.clone())).await;
    for n in 0..10_000 {
        let method = Method::from_bytes(format!("M{n:05}").as_bytes()).unwrap();
        let reply = send(
            &app,
            TestRequest::default().method(method).uri("/health/live"),
        )
        .await;
        assert_eq!(reply.status, 405);
    }
    for n in 0..1_000 {
        let reply = send(&app, TestRequest::get().uri(&format!("/made-up/{n}"))).await;
        assert_eq!(reply.status, 404);
    }
    let reply = send(&app, metrics(METRICS_TOKEN)).await;
    reply.ok();
    let text = String::from_utf8(reply.body.clone()).unwrap();
    assert!(
        reply.body.len() < METRICS_BOUND_BYTES,
        "/metrics is {} bytes",
        reply.body.len()
    );
    assert!(!text.contains("M00000") && !text.contains("M09999"));
    assert!(!text.contains("/made-up/"));
    assert!(text.contains(r#"method="other""#), "{text}");
    assert!(text.contains(r#"route="unmatched""#), "{text}");
}

async fn a_region_cannot_throttle_an_admin_with_the_same_subject(backend: Backend) {
    // One request a second, a burst of two: every token here has the subject `test`.
    let t = TestApp::start_with(backend, |config| config.rate_limit_per_second = 1);
    let app = test::init_service(build_app(t.state.clone())).await;
    let region = t.token(Role::Region, Some("07"));
    for _ in 0..2 {
        send(&app, get("/api/v1/regions", &region)).await.ok();
    }
    let refused = send(&app, get("/api/v1/regions", &region)).await;
    refused.problem(429);
    let wait: u64 = refused
        .headers
        .get("retry-after")
        .unwrap()
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=2).contains(&wait), "Retry-After: {wait}");
    // The admin, another region and a national reader with the same subject are callers
    // of their own.
    send(&app, get("/api/v1/regions", &t.admin())).await.ok();
    send(
        &app,
        get("/api/v1/regions", &t.token(Role::Region, Some("08"))),
    )
    .await
    .ok();
    // An answer computed afresh costs the whole burst; a plain read after it waits.
    let national = t.token(Role::National, None);
    let fresh = get("/api/v1/aggregates?indicator=RCO01&period=2025", &national)
        .insert_header(("Cache-Control", "no-cache"));
    send(&app, fresh).await.ok();
    let after = send(&app, get("/api/v1/regions", &national)).await;
    after.problem(429);
    assert!(after.headers.contains_key("retry-after"));
}

fn from_address(request: TestRequest, address: &str) -> TestRequest {
    request.peer_addr(address.parse().unwrap())
}

/// Behind the service's proxy every connection comes from the proxy: one client without a
/// token must not use up the share of every other. The proxy appends the address it saw
/// to `X-Forwarded-For`; what a client wrote before it is not believed.
async fn behind_a_proxy_requests_without_a_token_are_limited_by_the_address_it_saw(
    backend: Backend,
) {
    let t = TestApp::start_with(backend, |config| {
        config.rate_limit_per_second = 1;
        config.behind_tls_proxy = true;
    });
    let app = test::init_service(build_app(t.state.clone())).await;
    let through_proxy = |forwarded: &str| {
        from_address(TestRequest::get().uri("/openapi.json"), "10.0.0.1:4000")
            .insert_header(("X-Forwarded-For", forwarded.to_string()))
    };
    for _ in 0..2 {
        send(&app, through_proxy("198.51.100.7")).await.ok();
    }
    send(&app, through_proxy("198.51.100.7")).await.problem(429);
    // Claiming another address before the proxy's entry changes nothing.
    send(&app, through_proxy("203.0.113.9, 198.51.100.7"))
        .await
        .problem(429);
    // Another client behind the same proxy keeps its share.
    send(&app, through_proxy("198.51.100.8")).await.ok();
}

async fn requests_without_a_token_are_limited_by_address(backend: Backend) {
    let t = TestApp::start_with(backend, |config| config.rate_limit_per_second = 1);
    let app = test::init_service(build_app(t.state.clone())).await;
    let anonymous = || TestRequest::get().uri("/api/v1/regions");
    for _ in 0..2 {
        send(&app, from_address(anonymous(), "192.0.2.1:4000"))
            .await
            .problem(401);
    }
    let refused = send(&app, from_address(anonymous(), "192.0.2.1:4001")).await;
    refused.problem(429);
    assert!(refused.headers.contains_key("retry-after"));
    // Guessed tokens count against the address too.
    let guess = from_address(get("/api/v1/regions", "guess"), "192.0.2.1:4002");
    send(&app, guess).await.problem(429);
    // Another address has its own share; so does a valid token from the same address.
    send(&app, from_address(anonymous(), "192.0.2.2:4000"))
        .await
        .problem(401);
    send(
        &app,
        from_address(get("/api/v1/regions", &t.admin()), "192.0.2.1:4003"),
    )
    .await
    .ok();
    // Health checks are never refused for their number; made-up methods on their paths,
    // and paths outside the API whatever their headers, count against the address.
    for _ in 0..5 {
        let probe = TestRequest::get().uri("/health/live");
        send(&app, from_address(probe, "192.0.2.1:4004")).await.ok();
    }
    let junk = || {
        TestRequest::default()
            .method(Method::from_bytes(b"M00001").unwrap())
            .uri("/health/live")
    };
    for _ in 0..2 {
        let reply = send(&app, from_address(junk(), "192.0.2.3:4000")).await;
        assert_eq!(reply.status, 405);
    }
    send(&app, from_address(junk(), "192.0.2.3:4000"))
        .await
        .problem(429);
    let headed = || {
        TestRequest::get()
            .uri("/made-up")
            .insert_header(("Authorization", "Bearer anything"))
    };
    for _ in 0..2 {
        send(&app, from_address(headed(), "192.0.2.4:4000"))
            .await
            .problem(404);
    }
    send(&app, from_address(headed(), "192.0.2.4:4000"))
        .await
        .problem(429);
    // Inside the API, where no handler answers, a token or a session cookie names no caller
    // to limit either: they count against the address.
    for (header, address) in [
        (("Authorization", "Bearer anything"), "192.0.2.5:4000"),
        (
            ("Cookie", "__Host-uppfoljning-session=forged"),
            "192.0.2.6:4000",
        ),
    ] {
        let made_up = || {
            TestRequest::get()
                .uri("/api/v1/made-up")
                .insert_header(header)
        };
        for _ in 0..2 {
            send(&app, from_address(made_up(), address))
                .await
                .problem(404);
        }
        send(&app, from_address(made_up(), address))
            .await
            .problem(429);
    }
}

async fn kept_answers_stay_under_their_byte_cap(backend: Backend) {
    let cap: u64 = 4 * 1024;
    let t = TestApp::start_with(backend, |config| config.kept_answers_bytes = cap);
    let app = test::init_service(build_app(t.state.clone())).await;
    let national = t.token(Role::National, None);
    let ask = |query: String| get(&format!("/api/v1/aggregates?{query}"), &national);
    let mut asked_bytes = 0;
    for from in 2000..2060 {
        let reply = send(
            &app,
            ask(format!(
                "indicator=RCO01&period={from}..2100&group_by=period,region"
            )),
        )
        .await;
        reply.ok();
        asked_bytes += reply.body.len() as u64;
        assert!(t.state.answers.weighted_size() <= cap);
    }
    assert!(
        asked_bytes > 4 * cap,
        "the answers ({asked_bytes} B) pass the cap"
    );
    assert!(t.state.answers.weighted_size() > 0);

    // The same codes in another order or repeated are the same question, kept once.
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let one = |regions: &str| {
        get(
            &format!("/api/v1/aggregates?indicator=RCO01&period=2025&region={regions}"),
            &national,
        )
    };
    send(&app, one("01")).await.ok();
    let kept = t.state.answers.weighted_size();
    assert!(kept > 0);
    let again = send(&app, one("01,01,01")).await;
    again.ok();
    assert_eq!(
        t.state.answers.weighted_size(),
        kept,
        "no second answer kept"
    );
    send(&app, one("03,01")).await.ok();
    let two = t.state.answers.weighted_size();
    assert!(two > kept);
    send(&app, one("01,03,03")).await.ok();
    assert_eq!(t.state.answers.weighted_size(), two);
}

async fn docs_run_under_a_content_security_policy_and_tls_brings_hsts(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let docs = send(&app, TestRequest::get().uri("/docs/")).await;
    docs.ok();
    assert_eq!(
        docs.headers.get("content-security-policy").unwrap(),
        DOCS_CONTENT_SECURITY_POLICY
    );
    assert!(DOCS_CONTENT_SECURITY_POLICY.contains("script-src 'self';"));
    // Swagger UI works under `script-src 'self'` because every script it runs is a file
    // of the service: the page has no inline script, and the initialiser is served.
    let page = String::from_utf8(docs.body.clone()).unwrap();
    let scripts: Vec<&str> = page.split("<script").skip(1).collect();
    assert!(!scripts.is_empty());
    for script in scripts {
        let tag = script.split('>').next().unwrap();
        assert!(
            tag.contains("src=\"./"),
            "an inline script: <script{script}"
        );
    }
    let initializer = send(&app, TestRequest::get().uri("/docs/swagger-initializer.js")).await;
    initializer.ok();
    let initializer = String::from_utf8(initializer.body).unwrap();
    assert!(initializer.contains("/openapi.json"), "{initializer}");
    assert!(
        initializer.contains(r#""validatorUrl": "none""#),
        "{initializer}"
    );
    let data = send(&app, get("/api/v1/regions", &t.admin())).await;
    assert_eq!(
        data.headers.get("content-security-policy").unwrap(),
        "default-src 'none'; frame-ancestors 'none'"
    );
    // Plain HTTP by default: no HSTS, which a browser would ignore there anyway.
    for reply in [&docs, &data] {
        assert!(!reply.headers.contains_key("strict-transport-security"));
    }

    let t = TestApp::start_with(backend, |config| config.behind_tls_proxy = true);
    let app = test::init_service(build_app(t.state.clone())).await;
    for request in [
        TestRequest::get().uri("/docs/"),
        TestRequest::get().uri("/health/live"),
        get("/api/v1/regions", &t.admin()),
        TestRequest::get().uri("/api/v1/regions"),
    ] {
        let reply = send(&app, request).await;
        assert_eq!(
            reply.headers.get("strict-transport-security").unwrap(),
            "max-age=31536000"
        );
    }
}
