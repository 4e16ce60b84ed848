//! The aggregate's exports: bounded in cells, categories no code can take, every indicator
//! code in every format.

use actix_web::test;
use serde_json::{Value, json};

use crate::aggregates::load;
use crate::backend_tests;
use crate::common::{Backend, Reply, TestApp, TestService, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    every_format_refuses_an_answer_past_the_cell_limit,
    the_json_stat_cube_is_counted_before_it_is_made,
    codes_never_collide_with_the_exports_own_categories,
    every_indicator_code_exports_to_every_format,
);

const FORMATS: [&str; 4] = ["json", "csv", "xlsx", "json-stat2"];

async fn ask(t: &TestApp, app: &impl TestService, query: &str) -> Reply {
    send(
        app,
        get(
            &format!("/api/v1/aggregates?{query}"),
            &t.token(Role::National, None),
        ),
    )
    .await
}

/// The refusal's one error: its field, code and message.
fn refusal(reply: &Reply) -> (String, String, String) {
    let problem = reply.problem(422);
    let error = &problem["errors"][0];
    let text = |v: &Value| v.as_str().unwrap().to_string();
    (
        text(&error["field"]),
        text(&error["code"]),
        text(&error["message"]),
    )
}

async fn every_format_refuses_an_answer_past_the_cell_limit(backend: Backend) {
    // By region and bransch the answer has 4 groups (A in kkn and ikt, B without a
    // bransch, C in kkn) and the national row, of 11 columns: 55 cells.
    let query = "indicator=RCR01&period=2026&group_by=region,bransch";
    let t = TestApp::start_with(backend, |config| config.max_answer_cells = 54);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    for format in FORMATS {
        let reply = ask(&t, &app, &format!("{query}&format={format}")).await;
        let (field, code, message) = refusal(&reply);
        assert_eq!(
            (field.as_str(), code.as_str()),
            ("group_by", "too_many_cells")
        );
        assert!(
            message.contains("55 cells") && message.contains("at most 54"),
            "{format}: {message}"
        );
    }
    let t = TestApp::start_with(backend, |config| config.max_answer_cells = 55);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    for format in FORMATS {
        ask(&t, &app, &format!("{query}&format={format}"))
            .await
            .ok();
    }
}

async fn the_json_stat_cube_is_counted_before_it_is_made(backend: Backend) {
    // Five dimensions of few rows: a table of 9 rows by 17 columns (153 cells), a cube of
    // 3 regions × 3 sakområden × 4 fokusområden × 4 branscher × 3 periods (432 cells).
    let query = "indicator=RCR01&period=2026H1..2026H2&group_by=region,sakomrade,fokusomrade,bransch,period";
    let t = TestApp::start_with(backend, |config| config.max_answer_cells = 431);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    for format in ["json", "csv", "xlsx"] {
        ask(&t, &app, &format!("{query}&format={format}"))
            .await
            .ok();
    }
    let reply = ask(&t, &app, &format!("{query}&format=json-stat2")).await;
    let (field, code, message) = refusal(&reply);
    assert_eq!(
        (field.as_str(), code.as_str()),
        ("group_by", "too_many_cells")
    );
    assert!(
        message.contains("432 cells") && message.contains("at most 431"),
        "{message}"
    );
}

async fn codes_never_collide_with_the_exports_own_categories(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let admin = t.admin();
    // The codes the export once used for its total and its missing codes are codes like any.
    for (code, label) in [("total", "Totalindustri"), ("none", "Ingen särskild")] {
        let body = json!({"code": code, "label_sv": label, "label_en": label});
        let reply = send(
            &app,
            post_json("/api/v1/classifications/bransch", &admin, &body),
        )
        .await;
        assert_eq!(
            reply.status,
            201,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
    }
    // The export's own categories are no code's shape: refused, nothing stored.
    let before = t.count("codes");
    for code in ["_T", "_U"] {
        let body = json!({"code": code, "label_sv": "x", "label_en": "x"});
        let reply = send(
            &app,
            post_json("/api/v1/classifications/bransch", &admin, &body),
        )
        .await;
        let (field, error, _) = refusal(&reply);
        assert_eq!((field.as_str(), error.as_str()), ("code", "invalid_code"));
    }
    assert_eq!(t.count("codes"), before);
    let period = json!({"id": "2026H1", "deadline": "2030-01-31"});
    let reply = send(&app, post_json("/api/v1/periods", &admin, &period)).await;
    assert_eq!(reply.status, 201);
    let project = |reference: &str, branscher: &[&str]| {
        json!({
            "ref": reference, "title": "Projekt", "organisation": "Regionen",
            "status": "pagaende", "project_type": "projekt", "sakomrade": "innovation_foretagande",
            "effektkedja": "varor_tjanster_direkt", "branscher": branscher,
            "start_date": "2026-01-01", "end_date": "2026-06-30",
            "granted_sek": 100, "total_budget_sek": 200, "indicators": []
        })
    };
    let value = |reference: &str, value: i64| json!({"project_ref": reference, "indicator": "RCR01", "period": "2026H1", "value": value});
    let body = json!({
        "projects": [project("P1", &["total"]), project("P2", &["none"]), project("P3", &[])],
        "values": [value("P1", 1), value("P2", 10), value("P3", 100)],
    });
    send(
        &app,
        post_json(
            "/api/v1/regions/07/submissions",
            &t.token(Role::Region, Some("07")),
            &body,
        ),
    )
    .await
    .ok();
    let reply = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1&group_by=bransch&format=json-stat2",
    )
    .await;
    let stat = reply.ok().json();
    let category = &stat["dimension"]["bransch"]["category"];
    let at = |code: &str| {
        let index = category["index"][code]
            .as_u64()
            .unwrap_or_else(|| panic!("no category {code}: {category}"));
        stat["value"][index as usize].as_f64().unwrap()
    };
    assert_eq!(stat["size"], json!([4, 1]), "{category}");
    assert_eq!(at("total"), 1.0);
    assert_eq!(at("none"), 10.0);
    assert_eq!(at("_U"), 100.0, "the project without a bransch");
    assert_eq!(at("_T"), 111.0, "the nation");
    assert_eq!(category["label"]["total"], "Totalindustri");
    assert_eq!(category["label"]["_T"], "Totalt");
    assert_eq!(category["label"]["_U"], "Uppgift saknas");
}

async fn every_indicator_code_exports_to_every_format(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let longest = format!("NAT-{}", "X".repeat(28));
    assert_eq!(longest.len(), 32, "the longest code the catalogue accepts");
    for code in [longest.as_str(), "HISTORY"] {
        let body = json!({"code": code, "name_sv": "Lång", "name_en": "Long", "unit": "antal",
                          "level": "utfall", "aggregation": "sum"});
        let reply = send(&app, post_json("/api/v1/indicators", &t.admin(), &body)).await;
        assert_eq!(
            reply.status,
            201,
            "{}",
            String::from_utf8_lossy(&reply.body)
        );
        for format in FORMATS {
            let query = format!("indicator={code}&period=2026&group_by=region&format={format}");
            ask(&t, &app, &query).await.ok();
        }
        let reply = ask(
            &t,
            &app,
            &format!("indicator={code}&period=2026&format=xlsx"),
        )
        .await;
        use calamine::Reader;
        let workbook = calamine::Xlsx::new(std::io::Cursor::new(reply.ok().body.clone())).unwrap();
        let names = workbook.sheet_names();
        assert_eq!(names.len(), 1);
        assert!(
            code.starts_with(names[0].trim_end_matches('_')),
            "{names:?}"
        );
        assert!(names[0].len() <= 31 && !names[0].eq_ignore_ascii_case("history"));
    }
}
