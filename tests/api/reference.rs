//! Regions, code lists, the indicator catalogue and periods.

use actix_web::test;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::common::{Backend, TestApp, get, post_json, put_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    regions_are_the_21_lan,
    classifications_list_every_dimension,
    indicator_catalogue_is_seeded,
    admin_creates_and_replaces_an_indicator,
    invalid_indicators_are_rejected_and_not_stored,
    indicator_changes_that_alter_stored_meaning_are_refused,
    only_admins_write_the_catalogue,
    admin_adds_codes_to_open_lists,
    invalid_codes_are_rejected_and_not_stored,
    admin_creates_periods,
    invalid_periods_are_rejected_and_not_stored,
);

async fn regions_are_the_21_lan(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let reply = send(
        &app,
        get("/api/v1/regions", &t.token(Role::Region, Some("07"))),
    )
    .await;
    assert_eq!(reply.status, 200);
    let regions = reply.json();
    let codes: Vec<&str> = regions
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes.len(), 21);
    assert_eq!(codes[0], "01");
    assert!(!codes.contains(&"02") && !codes.contains(&"11"));
    assert_eq!(regions[5], json!({"code": "07", "name": "Kronoberg"}));
}

async fn classifications_list_every_dimension(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let reply = send(
        &app,
        get("/api/v1/classifications", &t.token(Role::National, None)),
    )
    .await;
    assert_eq!(reply.status, 200);
    let lists = reply.json();
    for (dimension, size) in [
        ("project_type", 5),
        ("sakomrade", 5),
        ("fokusomrade", 10),
        ("effektkedja", 4),
        ("bransch", 8),
        ("verktyg", 9),
        ("syfte", 8),
        ("status", 4),
        ("levels", 6),
        ("sex", 3),
    ] {
        assert_eq!(
            lists[dimension].as_array().unwrap().len(),
            size,
            "{dimension}"
        );
    }
    assert_eq!(
        lists["sakomrade"][0],
        json!({"code": "innovation_foretagande", "label_sv": "Innovation och företagande", "label_en": "Innovation and entrepreneurship"})
    );
    assert_eq!(lists["fokusomrade"][3]["code"], "transportsystem");
    assert_eq!(lists["fokusomrade"][3]["sakomrade"], "attraktiva_miljoer");
    assert_eq!(lists["levels"][0]["code"], "resurser");
    assert_eq!(lists["levels"][5]["code"], "langsiktiga_effekter");
}

async fn indicator_catalogue_is_seeded(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let token = t.token(Role::Scheduler, None);
    let list = send(&app, get("/api/v1/indicators", &token)).await.json();
    assert_eq!(list.as_array().unwrap().len(), 17);
    let ratio = send(&app, get("/api/v1/indicators/NAT-U01", &token)).await;
    assert_eq!(ratio.status, 200);
    assert_eq!(
        ratio.json(),
        json!({
            "code": "NAT-U01", "name_sv": "Andel deltagare som bedömer ökad förmåga",
            "name_en": "Share of participants reporting increased capability",
            "unit": "procent", "level": "utfall", "aggregation": "ratio",
            "numerator": "NAT-U01N", "denominator": "NAT-A01", "by_sex": false,
            "decimals": 1, "derived_from": null, "required_for": [], "active": true
        })
    );
    let rco01 = send(&app, get("/api/v1/indicators/RCO01", &token))
        .await
        .json();
    assert_eq!(rco01["aggregation"], "distinct");
    assert_eq!(rco01["required_for"], json!(["varor_tjanster_direkt"]));
    let granted = send(&app, get("/api/v1/indicators/NAT-R01", &token))
        .await
        .json();
    assert_eq!(granted["derived_from"], "granted_sek");
    send(&app, get("/api/v1/indicators/NOPE", &token))
        .await
        .problem(404);
}

fn new_indicator() -> Value {
    json!({
        "code": "NAT-X01", "name_sv": "Andel nya företag", "name_en": "Share of new firms",
        "unit": "procent", "level": "utfall", "aggregation": "ratio",
        "numerator": "RCO83", "denominator": "RCO84", "decimals": 1,
        "required_for": ["kunskap_strategier"]
    })
}

async fn admin_creates_and_replaces_an_indicator(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let created = send(
        &app,
        post_json("/api/v1/indicators", &admin, &new_indicator()),
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let expected = json!({
        "code": "NAT-X01", "name_sv": "Andel nya företag", "name_en": "Share of new firms",
        "unit": "procent", "level": "utfall", "aggregation": "ratio",
        "numerator": "RCO83", "denominator": "RCO84", "by_sex": false, "decimals": 1,
        "derived_from": null, "required_for": ["kunskap_strategier"], "active": true
    });
    assert_eq!(created.json(), expected);
    assert_eq!(
        send(&app, get("/api/v1/indicators/NAT-X01", &admin))
            .await
            .json(),
        expected
    );

    let mut changed = new_indicator();
    changed["name_en"] = json!("Share of firms that are new");
    changed["required_for"] = json!(["kunskap_strategier", "infrastruktur"]);
    changed["active"] = json!(false);
    let replaced = send(
        &app,
        put_json("/api/v1/indicators/NAT-X01", &admin, &changed),
    )
    .await;
    assert_eq!(replaced.status, 200);
    let stored = send(&app, get("/api/v1/indicators/NAT-X01", &admin))
        .await
        .json();
    assert_eq!(stored["name_en"], "Share of firms that are new");
    assert_eq!(
        stored["required_for"],
        json!(["infrastruktur", "kunskap_strategier"])
    );
    assert_eq!(stored["active"], false);

    let again = send(
        &app,
        post_json("/api/v1/indicators", &admin, &new_indicator()),
    )
    .await;
    again.problem(409);
    let missing = send(&app, put_json("/api/v1/indicators/NAT-X02", &admin, &json!({"code": "NAT-X02", "name_sv": "a", "name_en": "a", "unit": "a", "level": "utfall", "aggregation": "sum"}))).await;
    missing.problem(404);
    assert_eq!(t.count("indicators"), 18);
}

async fn invalid_indicators_are_rejected_and_not_stored(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let with = |field: &str, value: Value| {
        let mut body = new_indicator();
        body[field] = value;
        body
    };
    let cases: Vec<(Value, &str)> = vec![
        (with("denominator", Value::Null), "denominator"),
        (with("denominator", json!("NAT-NOPE")), "denominator"),
        (with("numerator", json!("RCO01")), "numerator"),
        (with("level", json!("nowhere")), "level"),
        (
            with("required_for", json!(["infrastruktur", "nope"])),
            "required_for[1]",
        ),
        (with("code", json!("nat x")), "code"),
        (with("decimals", json!(9)), "decimals"),
        (with("name_sv", json!(" ")), "name_sv"),
        (with("aggregation", json!("mean")), "aggregation"),
        (with("decimals", json!("1")), "decimals"),
        (with("surprise", json!(1)), "surprise"),
    ];
    for (body, field) in cases {
        let reply = send(&app, post_json("/api/v1/indicators", &admin, &body)).await;
        assert_eq!(reply.invalid_fields(), vec![field.to_string()], "{body}");
    }
    let malformed = actix_web::test::TestRequest::post()
        .uri("/api/v1/indicators")
        .insert_header(("Authorization", format!("Bearer {admin}")))
        .insert_header(("Content-Type", "application/json"))
        .set_payload("{\"code\": ");
    send(&app, malformed).await.problem(400);
    let not_json = actix_web::test::TestRequest::post()
        .uri("/api/v1/indicators")
        .insert_header(("Authorization", format!("Bearer {admin}")))
        .insert_header(("Content-Type", "text/plain"))
        .set_payload(new_indicator().to_string());
    send(&app, not_json).await.problem(415);
    let mismatch = send(
        &app,
        put_json("/api/v1/indicators/RCO83", &admin, &new_indicator()),
    )
    .await;
    assert_eq!(mismatch.invalid_fields(), vec!["code"]);
    assert_eq!(t.count("indicators"), 17);
    assert_eq!(t.count("indicator_requirements"), 7);
}

async fn indicator_changes_that_alter_stored_meaning_are_refused(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let current = send(&app, get("/api/v1/indicators/NAT-A01", &admin))
        .await
        .json();
    let mut body = current.clone();
    body["aggregation"] = json!("latest");
    let reply = send(&app, put_json("/api/v1/indicators/NAT-A01", &admin, &body)).await;
    assert_eq!(reply.invalid_fields(), vec!["aggregation"]);
    assert_eq!(
        send(&app, get("/api/v1/indicators/NAT-A01", &admin))
            .await
            .json(),
        current
    );
}

async fn only_admins_write_the_catalogue(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    for token in [
        t.token(Role::Region, Some("07")),
        t.token(Role::National, None),
        t.token(Role::Scheduler, None),
    ] {
        send(
            &app,
            post_json("/api/v1/indicators", &token, &new_indicator()),
        )
        .await
        .problem(403);
        send(
            &app,
            put_json("/api/v1/indicators/RCO83", &token, &new_indicator()),
        )
        .await
        .problem(403);
        send(
            &app,
            post_json(
                "/api/v1/periods",
                &token,
                &json!({"id": "2026H1", "deadline": "2026-09-30"}),
            ),
        )
        .await
        .problem(403);
        let code = json!({"code": "gruvor", "label_sv": "Gruvor", "label_en": "Mining"});
        send(
            &app,
            post_json("/api/v1/classifications/bransch", &token, &code),
        )
        .await
        .problem(403);
    }
    assert_eq!(t.count("indicators"), 17);
    assert_eq!(t.count("periods"), 0);
    assert_eq!(t.count("codes WHERE dimension = 'bransch'"), 8);
}

async fn admin_adds_codes_to_open_lists(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let bransch = json!({"code": "gruvnaring", "label_sv": "Gruvnäring", "label_en": "Mining"});
    let reply = send(
        &app,
        post_json("/api/v1/classifications/bransch", &admin, &bransch),
    )
    .await;
    assert_eq!(reply.status, 201);
    assert_eq!(reply.json()["dimension"], "bransch");
    let fokus = json!({"code": "cirkular_ekonomi", "label_sv": "Cirkulär ekonomi", "label_en": "Circular economy", "sakomrade": "innovation_foretagande"});
    assert_eq!(
        send(
            &app,
            post_json("/api/v1/classifications/fokusomrade", &admin, &fokus)
        )
        .await
        .status,
        201
    );
    let lists = send(&app, get("/api/v1/classifications", &admin))
        .await
        .json();
    assert_eq!(lists["bransch"][8]["code"], "gruvnaring");
    assert_eq!(
        lists["fokusomrade"][10]["sakomrade"],
        "innovation_foretagande"
    );
    send(
        &app,
        post_json("/api/v1/classifications/bransch", &admin, &bransch),
    )
    .await
    .problem(409);
}

async fn invalid_codes_are_rejected_and_not_stored(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let code = |extra: Value| {
        let mut body = json!({"code": "ny_kod", "label_sv": "Ny", "label_en": "New"});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let cases = [
        (
            "fokusomrade",
            code(json!({"sakomrade": "nope"})),
            "sakomrade",
        ),
        ("fokusomrade", code(json!({})), "sakomrade"),
        ("bransch", code(json!({"sakomrade": "ovrigt"})), "sakomrade"),
        ("sakomrade", code(json!({})), "dimension"),
        ("bransch", code(json!({"code": "Ny Kod"})), "code"),
        ("bransch", code(json!({"label_sv": "x\u{7}"})), "label_sv"),
    ];
    for (dimension, body, field) in cases {
        let reply = send(
            &app,
            post_json(
                &format!("/api/v1/classifications/{dimension}"),
                &admin,
                &body,
            ),
        )
        .await;
        assert_eq!(
            reply.invalid_fields(),
            vec![field.to_string()],
            "{dimension} {body}"
        );
    }
    send(
        &app,
        post_json("/api/v1/classifications/nope", &admin, &code(json!({}))),
    )
    .await
    .problem(404);
    assert_eq!(t.count("codes"), 62);
}

async fn admin_creates_periods(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let reply = send(
        &app,
        post_json(
            "/api/v1/periods",
            &admin,
            &json!({"id": "2099H2", "deadline": "2100-02-15"}),
        ),
    )
    .await;
    assert_eq!(reply.status, 201);
    assert_eq!(
        reply.json(),
        json!({"id": "2099H2", "kind": "half_year", "start_date": "2099-07-01", "end_date": "2099-12-31",
               "deadline": "2100-02-15", "locked": false, "lock_exceptions": [],
               "closed": false, "closed_by": null, "open_for": [],
               "effective_deadline": "2100-02-15", "deadline_set_by": "2099H2"})
    );
    let year = send(
        &app,
        post_json(
            "/api/v1/periods",
            &admin,
            &json!({"id": "2024", "deadline": "2025-03-31"}),
        ),
    )
    .await
    .json();
    assert_eq!(year["kind"], "year");
    assert_eq!(year["locked"], true, "its deadline has passed");
    let list = send(
        &app,
        get("/api/v1/periods", &t.token(Role::Region, Some("01"))),
    )
    .await
    .json();
    let ids: Vec<&str> = list
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["2024", "2099H2"]);
    send(
        &app,
        post_json(
            "/api/v1/periods",
            &admin,
            &json!({"id": "2099H2", "deadline": "2100-03-01"}),
        ),
    )
    .await
    .problem(409);
}

async fn invalid_periods_are_rejected_and_not_stored(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    let cases = [
        (json!({"id": "2026H3", "deadline": "2026-09-30"}), "id"),
        (json!({"id": "26H1", "deadline": "2026-09-30"}), "id"),
        (
            json!({"id": "2026H1", "deadline": "2026-06-29"}),
            "deadline",
        ),
        (
            json!({"id": "2026H1", "deadline": "2026-02-30"}),
            "deadline",
        ),
        (json!({"id": "2026H1"}), "body"),
        (
            json!({"id": "2026H1", "deadline": "2026-09-30", "locked": true}),
            "locked",
        ),
    ];
    for (body, field) in cases {
        let reply = send(&app, post_json("/api/v1/periods", &admin, &body)).await;
        assert_eq!(reply.invalid_fields(), vec![field.to_string()], "{body}");
    }
    assert_eq!(t.count("periods"), 0);
}
