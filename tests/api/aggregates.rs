//! National aggregates against hand-computed figures, on both backends.

use actix_web::test;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, post_json, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    sums_are_exact_and_years_are_their_half_years,
    distinct_counts_each_enterprise_once_nationally,
    latest_takes_each_projects_last_half_year,
    ratios_are_ratios_of_sums,
    sex_breakdowns_and_project_fields,
    branscher_count_in_each_row_and_once_nationally,
    as_of_gives_the_figures_as_they_stood,
    csv_xlsx_and_json_stat_carry_the_json_numbers,
    bad_questions_name_their_parameter,
    a_write_on_any_instance_changes_the_next_answer,
    the_overview_is_each_indicators_answer,
    bad_overviews_name_their_parameter,
);

pub const X: &str = "5560360793";
pub const Y: &str = "5567037485";
pub const Z: &str = "2021005489";

fn project(
    reference: &str,
    sakomrade: &str,
    fokusomrade: Option<&str>,
    branscher: &[&str],
    granted: i64,
    plans: Value,
) -> Value {
    json!({
        "ref": reference, "title": format!("Projekt {reference}"), "organisation": "Regionen",
        "status": "pagaende", "project_type": "projekt", "sakomrade": sakomrade, "fokusomrade": fokusomrade,
        "effektkedja": "varor_tjanster_direkt", "branscher": branscher,
        "start_date": "2025-07-01", "end_date": "2027-12-31",
        "granted_sek": granted, "total_budget_sek": granted * 2, "indicators": plans
    })
}

pub fn value(reference: &str, indicator: &str, period: &str, value: Value) -> Value {
    json!({"project_ref": reference, "indicator": indicator, "period": period, "value": value})
}

fn by_sex(reference: &str, indicator: &str, period: &str, kvinnor: i64, man: i64) -> Value {
    json!({"project_ref": reference, "indicator": indicator, "period": period, "value": kvinnor + man,
           "by_sex": {"kvinnor": kvinnor, "man": man, "ej_angivet": 0}})
}

fn entities(reference: &str, period: &str, orgnr: &[&str]) -> Value {
    json!({"project_ref": reference, "indicator": "RCO01", "period": period, "entities": orgnr})
}

/// Kronoberg (07) runs A and B, Kalmar (08) runs C; see each test for the figures.
pub async fn load(t: &TestApp, app: &impl TestService) {
    for (id, deadline) in [("2026H1", "2030-01-31"), ("2026H2", "2030-01-31")] {
        send(
            app,
            post_json(
                "/api/v1/periods",
                &t.admin(),
                &json!({"id": id, "deadline": deadline}),
            ),
        )
        .await;
    }
    let kronoberg = json!({
        "projects": [
            project("A", "innovation_foretagande", Some("innovation"), &["kkn", "ikt"], 1_000_000,
                    json!([{"indicator": "RCO01", "target": 10}, {"indicator": "RCR01", "target": 5}])),
            project("B", "attraktiva_miljoer", Some("transportsystem"), &[], 500_000,
                    json!([{"indicator": "RCR01", "target": 2}])),
        ],
        "values": [
            entities("A", "2026H1", &[X, Y]),
            value("A", "RCR01", "2026H1", json!(0.1)),
            value("A", "RCR01", "2026H2", json!(0.2)),
            value("B", "RCR01", "2026H1", json!(1.5)),
            value("A", "NAT-E01", "2026H1", json!(10)),
            value("A", "NAT-E01", "2026H2", json!(12)),
            by_sex("A", "NAT-U01N", "2026H1", 1, 0),
            by_sex("A", "NAT-A01", "2026H1", 5, 5),
        ]
    });
    let kalmar = json!({
        "projects": [
            project("C", "innovation_foretagande", None, &["kkn"], 2_000_000,
                    json!([{"indicator": "RCO01", "target": 20}])),
        ],
        "values": [
            entities("C", "2026H1", &[Y, Z]),
            value("C", "RCR01", "2026H1", json!(2)),
            value("C", "NAT-E01", "2026H1", json!(5)),
            by_sex("C", "NAT-U01N", "2026H1", 40, 50),
            by_sex("C", "NAT-A01", "2026H1", 50, 50),
        ]
    });
    for (region, body) in [("07", kronoberg), ("08", kalmar)] {
        let reply = send(
            app,
            post_json(
                &format!("/api/v1/regions/{region}/submissions"),
                &t.token(Role::Region, Some(region)),
                &body,
            ),
        )
        .await;
        reply.ok();
    }
}

fn aggregates(t: &TestApp, query: &str) -> actix_web::test::TestRequest {
    get(
        &format!("/api/v1/aggregates?{query}"),
        &t.token(Role::National, None),
    )
}

/// (groups..., value) of each row.
fn rows(answer: &Value) -> Vec<Value> {
    let group_by: Vec<String> = answer["group_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap().to_string())
        .collect();
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            let mut cells: Vec<Value> = group_by.iter().map(|g| row[g].clone()).collect();
            cells.push(row["value"].clone());
            Value::Array(cells)
        })
        .collect()
}

async fn sums_are_exact_and_years_are_their_half_years(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let year = send(
        &app,
        aggregates(&t, "indicator=RCR01&period=2026&group_by=region"),
    )
    .await;
    assert_eq!(year.status, 200, "{}", String::from_utf8_lossy(&year.body));
    let year = year.json();
    assert_eq!(year["indicator"]["code"], "RCR01");
    assert_eq!(year["indicator"]["aggregation"], "sum");
    assert_eq!(year["period"], "2026");
    assert_eq!(rows(&year), vec![json!(["07", 1.8]), json!(["08", 2])]);
    assert_eq!(
        year["rows"][0],
        json!({"region": "07", "value": 1.8, "target": 7, "projects": 2, "reporting_projects": 2,
               "target_share": 25.7, "reporting_share": 100})
    );
    assert_eq!(year["rows"][1]["target"], Value::Null);
    assert_eq!(
        year["national"],
        json!({"value": 3.8, "target": 7, "projects": 3, "reporting_projects": 3,
               "target_share": 54.3, "reporting_share": 100})
    );
    assert_eq!(
        year["stats"],
        json!({"median": 1.9, "mean": 1.9, "min": 1.8, "max": 2})
    );
    assert!(year["as_of"].as_str().unwrap().ends_with('Z'));
    let h1 = send(&app, aggregates(&t, "indicator=RCR01&period=2026H1"))
        .await
        .json();
    let h2 = send(&app, aggregates(&t, "indicator=RCR01&period=2026H2"))
        .await
        .json();
    assert_eq!(
        (
            h1["national"]["value"].clone(),
            h2["national"]["value"].clone()
        ),
        (json!(3.6), json!(0.2))
    );
    assert_eq!(
        h1["rows"],
        json!([h1["national"]]),
        "no group_by gives one national row"
    );
    // 0.1 + 0.2 is 0.3, not 0.30000000000000004.
    let a = send(
        &app,
        aggregates(&t, "indicator=RCR01&period=2026&group_by=region,sakomrade"),
    )
    .await
    .json();
    assert_eq!(
        rows(&a),
        vec![
            json!(["07", "attraktiva_miljoer", 1.5]),
            json!(["07", "innovation_foretagande", 0.3]),
            json!(["08", "innovation_foretagande", 2])
        ]
    );
    let by_period = send(
        &app,
        aggregates(&t, "indicator=RCR01&period=2026H1..2026H2&group_by=period"),
    )
    .await
    .json();
    assert_eq!(
        rows(&by_period),
        vec![json!(["2026H1", 3.6]), json!(["2026H2", 0.2])]
    );
    let years = send(
        &app,
        aggregates(&t, "indicator=RCR01&period=2025..2026&group_by=period"),
    )
    .await
    .json();
    assert_eq!(
        rows(&years),
        vec![json!(["2025", null]), json!(["2026", 3.8])]
    );
    // All three projects run from 2025-07-01: active in both years, none before. A target
    // is for a project's whole life, so none is shown per period.
    let active: Vec<Value> = years["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| json!([row["period"], row["projects"], row["target"]]))
        .collect();
    assert_eq!(
        active,
        vec![json!(["2025", 3, null]), json!(["2026", 3, null])]
    );
    let from_2022 = send(
        &app,
        aggregates(&t, "indicator=RCR01&period=2022..2026&group_by=period"),
    )
    .await
    .json();
    assert_eq!(from_2022["rows"], years["rows"]);
    let filtered = send(
        &app,
        aggregates(
            &t,
            "indicator=RCR01&period=2026&region=07&fokusomrade=innovation",
        ),
    )
    .await
    .json();
    assert_eq!(filtered["national"]["value"], json!(0.3));
}

async fn distinct_counts_each_enterprise_once_nationally(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let answer = send(
        &app,
        aggregates(&t, "indicator=RCO01&period=2026&group_by=region"),
    )
    .await
    .json();
    assert_eq!(rows(&answer), vec![json!(["07", 2]), json!(["08", 2])]);
    assert_eq!(
        answer["national"]["value"], 3,
        "Y was reported by both regions"
    );
    assert_eq!(answer["national"]["target"], 30);
}

async fn latest_takes_each_projects_last_half_year(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let answer = send(
        &app,
        aggregates(&t, "indicator=NAT-E01&period=2026&group_by=region"),
    )
    .await
    .json();
    assert_eq!(rows(&answer), vec![json!(["07", 12]), json!(["08", 5])]);
    assert_eq!(
        answer["national"]["value"], 17,
        "12 (A's H2) + 5 (C's H1), not 27"
    );
}

async fn ratios_are_ratios_of_sums(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let answer = send(
        &app,
        aggregates(&t, "indicator=NAT-U01&period=2026H1&group_by=region"),
    )
    .await
    .json();
    // 1 of 10 in Kronoberg and 90 of 100 in Kalmar: the mean of shares would be 50 %.
    assert_eq!(rows(&answer), vec![json!(["07", 10]), json!(["08", 90])]);
    assert_eq!(
        answer["national"],
        json!({"value": 82.7, "numerator": 91, "denominator": 110,
                                          "target": null, "projects": 3, "reporting_projects": 2,
                                          "target_share": null, "reporting_share": 66.7})
    );
    let by_sakomrade = send(
        &app,
        aggregates(&t, "indicator=NAT-U01&period=2026H1&group_by=sakomrade"),
    )
    .await
    .json();
    assert_eq!(by_sakomrade["rows"][1]["value"], 82.7);
}

async fn sex_breakdowns_and_project_fields(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let participants = send(
        &app,
        aggregates(&t, "indicator=NAT-A01&period=2026&group_by=sex"),
    )
    .await
    .json();
    assert_eq!(
        rows(&participants),
        vec![
            json!(["ej_angivet", 0]),
            json!(["kvinnor", 55]),
            json!(["man", 55])
        ]
    );
    assert_eq!(participants["national"]["value"], 110);
    let shares = send(
        &app,
        aggregates(&t, "indicator=NAT-U01&period=2026&group_by=sex"),
    )
    .await
    .json();
    assert_eq!(
        rows(&shares),
        vec![
            json!(["ej_angivet", null]),
            json!(["kvinnor", 74.5]),
            json!(["man", 90.9])
        ]
    );
    let two = send(
        &app,
        aggregates(&t, "indicator=NAT-A01&period=2026&group_by=region,sex"),
    )
    .await
    .json();
    assert_eq!(two["rows"].as_array().unwrap().len(), 6);
    assert_eq!(rows(&two)[1], json!(["07", "kvinnor", 5]));
    let granted = send(
        &app,
        aggregates(&t, "indicator=NAT-R01&period=2026&group_by=region"),
    )
    .await
    .json();
    assert_eq!(
        rows(&granted),
        vec![json!(["07", 1500000]), json!(["08", 2000000])]
    );
    assert_eq!(granted["national"]["value"], 3500000);
    let budget = send(
        &app,
        aggregates(
            &t,
            "indicator=NAT-R02&period=2024H1..2026H2&sakomrade=innovation_foretagande",
        ),
    )
    .await
    .json();
    assert_eq!(
        budget["national"]["value"], 6000000,
        "counted once per project over a range"
    );
}

async fn branscher_count_in_each_row_and_once_nationally(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let answer = send(
        &app,
        aggregates(&t, "indicator=RCR01&period=2026&group_by=bransch"),
    )
    .await
    .json();
    assert_eq!(
        rows(&answer),
        vec![json!([null, 1.5]), json!(["ikt", 0.3]), json!(["kkn", 2.3])]
    );
    assert_eq!(answer["national"]["value"], 3.8);
    assert_eq!(answer["national"]["projects"], 3);
    let kkn = send(
        &app,
        aggregates(&t, "indicator=RCO01&period=2026&bransch=kkn"),
    )
    .await
    .json();
    assert_eq!(kkn["national"]["value"], 3);
}

async fn as_of_gives_the_figures_as_they_stood(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let before_anything = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    load(&t, &app).await;
    std::thread::sleep(std::time::Duration::from_millis(5));
    let between = chrono::Utc::now();
    std::thread::sleep(std::time::Duration::from_millis(5));
    let correction = json!({"values": [value("A", "RCR01", "2026H1", json!(0.4)), entities("A", "2026H1", &[X])]});
    let reply = send(
        &app,
        post_json(
            "/api/v1/regions/07/submissions",
            &t.token(Role::Region, Some("07")),
            &correction,
        ),
    )
    .await;
    assert_eq!(reply.status, 200);
    let at = |time: chrono::DateTime<chrono::Utc>, indicator: &str| {
        format!(
            "indicator={indicator}&period=2026&as_of={}",
            time.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
        )
    };
    let now = send(&app, aggregates(&t, "indicator=RCR01&period=2026"))
        .await
        .json();
    assert_eq!(now["national"]["value"], 4.1);
    let then = send(&app, aggregates(&t, &at(between, "RCR01")))
        .await
        .json();
    assert_eq!(
        then["national"]["value"], 3.8,
        "the corrected value counts with its old value"
    );
    let early = send(&app, aggregates(&t, &at(before_anything, "RCR01")))
        .await
        .json();
    assert_eq!(
        early["national"]["value"],
        Value::Null,
        "values created later do not count"
    );
    assert_eq!(early["national"]["projects"], 0);
    let distinct_then = send(&app, aggregates(&t, &at(between, "RCO01")))
        .await
        .json();
    assert_eq!(distinct_then["national"]["value"], 3);
    let distinct_now = send(&app, aggregates(&t, "indicator=RCO01&period=2026"))
        .await
        .json();
    assert_eq!(distinct_now["national"]["value"], 3, "X, Y (Kalmar), Z");
    let kronoberg_now = send(
        &app,
        aggregates(&t, "indicator=RCO01&period=2026&region=07"),
    )
    .await
    .json();
    assert_eq!(kronoberg_now["national"]["value"], 1);
    assert_eq!(
        then["as_of"].as_str().unwrap(),
        between.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    );
}

async fn csv_xlsx_and_json_stat_carry_the_json_numbers(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let query = "indicator=NAT-U01&period=2026&group_by=region";
    let answer = send(&app, aggregates(&t, query)).await.json();
    let expected: Vec<(String, f64)> = answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["region"].as_str().unwrap().to_string(),
                r["value"].as_f64().unwrap(),
            )
        })
        .chain([(
            "national".to_string(),
            answer["national"]["value"].as_f64().unwrap(),
        )])
        .collect();

    let csv_reply = send(&app, aggregates(&t, &format!("{query}&format=csv"))).await;
    assert_eq!(csv_reply.status, 200);
    assert!(csv_reply.content_type().starts_with("text/csv"));
    assert!(
        csv_reply.body.starts_with("\u{feff}".as_bytes()),
        "UTF-8 byte-order mark for Excel"
    );
    let text = String::from_utf8(csv_reply.body[3..].to_vec()).unwrap();
    assert!(text.contains("Kronoberg"), "labels in UTF-8: {text}");
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let headers = reader.headers().unwrap().clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "scope",
            "region",
            "region_label",
            "value",
            "numerator",
            "denominator",
            "target",
            "projects",
            "reporting_projects",
            "target_share",
            "reporting_share"
        ]
    );
    let from_csv: Vec<(String, f64)> = reader
        .records()
        .map(|r| {
            let r = r.unwrap();
            let key = if &r[0] == "national" {
                "national".to_string()
            } else {
                r[1].to_string()
            };
            (key, r[3].parse().unwrap())
        })
        .collect();
    assert_eq!(from_csv, expected);
    let accepted = send(
        &app,
        aggregates(&t, query).insert_header(("Accept", "text/csv")),
    )
    .await;
    assert_eq!(accepted.body, csv_reply.body);

    let xlsx_reply = send(&app, aggregates(&t, &format!("{query}&format=xlsx"))).await;
    assert_eq!(xlsx_reply.status, 200);
    use calamine::Reader;
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(xlsx_reply.body.clone())).unwrap();
    let sheet = workbook.worksheet_range("NAT-U01").unwrap();
    let cells: Vec<Vec<calamine::Data>> = sheet.rows().map(|r| r.to_vec()).collect();
    assert!(
        cells[0][0].to_string().contains("Andel deltagare")
            && cells[0][0].to_string().contains("procent")
    );
    assert_eq!(cells[1][3].to_string(), "value");
    let from_xlsx: Vec<(String, f64)> = cells[2..]
        .iter()
        .map(|r| {
            let key = if r[0] == "national" {
                "national".to_string()
            } else {
                r[1].to_string()
            };
            (
                key,
                match r[3] {
                    calamine::Data::Float(f) => f,
                    ref other => panic!("not a number cell: {other:?}"),
                },
            )
        })
        .collect();
    assert_eq!(from_xlsx, expected);

    let stat = send(&app, aggregates(&t, &format!("{query}&format=json-stat2")))
        .await
        .json();
    assert_eq!(stat["version"], "2.0");
    assert_eq!(stat["class"], "dataset");
    assert_eq!(stat["id"], json!(["region", "indicator"]));
    assert_eq!(stat["size"], json!([3, 1]));
    assert_eq!(stat["role"]["metric"], json!(["indicator"]));
    assert_eq!(
        stat["dimension"]["region"]["category"]["label"]["07"],
        "Kronoberg"
    );
    let index = &stat["dimension"]["region"]["category"]["index"];
    let from_stat: Vec<(String, f64)> = ["07", "08", "_T"]
        .iter()
        .map(|code| {
            let key = if *code == "_T" { "national" } else { code };
            (
                key.to_string(),
                stat["value"][index[code].as_u64().unwrap() as usize]
                    .as_f64()
                    .unwrap(),
            )
        })
        .collect();
    assert_eq!(from_stat, expected);
    assert_eq!(
        stat["dimension"]["region"]["category"]["label"]["_T"],
        "Riket"
    );
}

async fn bad_questions_name_their_parameter(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let cases = [
        ("indicator=NOPE&period=2026", "indicator"),
        ("indicator=RCR01&period=2026H3", "period"),
        ("indicator=RCR01&period=2026H2..2026H1", "period"),
        ("indicator=RCR01&period=2026&group_by=colour", "group_by"),
        (
            "indicator=RCR01&period=2026&group_by=region,region",
            "group_by",
        ),
        ("indicator=RCR01&period=2026&group_by=sex", "group_by"),
        ("indicator=RCR01&period=2026&region=02", "region"),
        ("indicator=RCR01&period=2026&sakomrade=nope", "sakomrade"),
        ("indicator=RCR01&period=2026&bransch=kkn,gruvor", "bransch"),
        ("indicator=RCR01&period=2026&as_of=yesterday", "as_of"),
        ("indicator=RCR01&period=2026&format=pdf", "format"),
        ("indicator=RCR01", "query"),
        ("indicator=RCR01&period=2026&colour=red", "query"),
    ];
    for (query, field) in cases {
        let reply = send(&app, aggregates(&t, query)).await;
        assert_eq!(reply.invalid_fields(), vec![field.to_string()], "{query}");
    }
    send(
        &app,
        actix_web::test::TestRequest::get().uri("/api/v1/aggregates?indicator=RCR01&period=2026"),
    )
    .await
    .problem(401);
    for role in [Role::Scheduler, Role::Admin] {
        assert_eq!(
            send(
                &app,
                get(
                    "/api/v1/aggregates?indicator=RCR01&period=2026",
                    &t.token(role, None)
                )
            )
            .await
            .status,
            200
        );
    }
    let region = t.token(Role::Region, Some("13"));
    assert_eq!(
        send(
            &app,
            get("/api/v1/aggregates?indicator=RCR01&period=2026", &region)
        )
        .await
        .status,
        200
    );
}

/// Answers are kept between writes; a write through another instance on the same database
/// must still show in the next answer of this one.
async fn a_write_on_any_instance_changes_the_next_answer(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let other_instance = actix_web::web::Data::new(
        uppfoljning::state::AppState::open(t.config.clone()).expect("a second instance"),
    );
    let other = test::init_service(build_app(other_instance)).await;
    let question = "indicator=NAT-E01&period=2026H1&group_by=region";
    let national = |reply: crate::common::Reply| reply.json()["national"]["value"].clone();
    let first = national(send(&app, aggregates(&t, question)).await);
    assert_eq!(first, json!(15));
    assert_eq!(national(send(&app, aggregates(&t, question)).await), first);
    let correction = json!({"values": [value("A", "NAT-E01", "2026H1", json!(30))]});
    let stored = send(
        &other,
        post_json(
            "/api/v1/regions/07/submissions",
            &t.token(Role::Region, Some("07")),
            &correction,
        ),
    )
    .await;
    assert_eq!(stored.status, 200);
    assert_eq!(
        national(send(&app, aggregates(&t, question)).await),
        json!(35)
    );
    let afresh = aggregates(&t, question).insert_header(("Cache-Control", "no-cache"));
    assert_eq!(national(send(&app, afresh).await), json!(35));
}

fn overview(t: &TestApp, query: &str) -> actix_web::test::TestRequest {
    get(
        &format!("/api/v1/aggregates/overview?{query}"),
        &t.token(Role::National, None),
    )
}

/// The Översikt's one request gives, for every active indicator, what `GET /aggregates`
/// answers to the same question of it computed afresh: from the index, from SQL (an instance
/// without an index), and from kept answers, whichever was asked first; and is as fresh
/// after a write through another instance.
async fn the_overview_is_each_indicators_answer(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let active: Vec<String> = send(&app, get("/api/v1/indicators", &t.admin()))
        .await
        .json()
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["active"] == true)
        .map(|i| i["code"].as_str().unwrap().to_string())
        .collect();
    let other_instance = actix_web::web::Data::new(
        uppfoljning::state::AppState::open(t.config.clone()).expect("a second instance"),
    );
    let other = test::init_service(build_app(other_instance)).await;
    let mut without_index = t.config.clone();
    without_index.aggregate_index_bytes = 0;
    let sql = test::init_service(build_app(actix_web::web::Data::new(
        uppfoljning::state::AppState::open(without_index).expect("an instance without an index"),
    )))
    .await;
    let questions = [
        "period=2026H1",
        "period=2026",
        "period=2026H1..2026H2&sakomrade=innovation_foretagande",
        "period=2026H1&region=07,08&bransch=kkn",
        "period=2026H1&fokusomrade=innovation&effektkedja=varor_tjanster_direkt&project_type=projekt",
        "period=2026H1&reports=accepted",
    ];
    for question in questions {
        let afresh: Vec<Value> = {
            let mut answers = Vec::new();
            for code in &active {
                let asked = aggregates(&t, &format!("indicator={code}&{question}"))
                    .insert_header(("Cache-Control", "no-cache"));
                answers.push(send(&app, asked).await.json());
            }
            answers
        };
        let expected = Value::Array(afresh);
        // Computed together, on instances that kept nothing for this question.
        assert_eq!(
            send(&other, overview(&t, question)).await.json(),
            expected,
            "index: {question}"
        );
        assert_eq!(
            send(&sql, overview(&t, question)).await.json(),
            expected,
            "SQL: {question}"
        );
        // Made of the answers `app` kept for each indicator, then kept whole.
        assert_eq!(
            send(&app, overview(&t, question)).await.json(),
            expected,
            "kept: {question}"
        );
        assert_eq!(
            send(&app, overview(&t, question)).await.json(),
            expected,
            "again: {question}"
        );
    }

    let question = "period=2026H1";
    let before = send(&app, overview(&t, question)).await;
    let etag = before
        .headers
        .get("etag")
        .unwrap()
        .to_str()
        .unwrap()
        .to_string();
    let unchanged = overview(&t, question).insert_header(("If-None-Match", etag.clone()));
    assert_eq!(send(&app, unchanged).await.status, 304);
    let correction = json!({"values": [value("A", "NAT-E01", "2026H1", json!(30))]});
    send(
        &other,
        post_json(
            "/api/v1/regions/07/submissions",
            &t.token(Role::Region, Some("07")),
            &correction,
        ),
    )
    .await
    .ok();
    let after = send(&app, overview(&t, question)).await.json();
    let e01 = after
        .as_array()
        .unwrap()
        .iter()
        .find(|answer| answer["indicator"]["code"] == "NAT-E01")
        .unwrap();
    assert_eq!(e01["national"]["value"], json!(35), "fresh after the write");
    let changed = overview(&t, question).insert_header(("If-None-Match", etag));
    assert_eq!(send(&app, changed).await.status, 200);
}

async fn bad_overviews_name_their_parameter(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let cases = [
        ("period=2026H3", "period"),
        ("period=2026H2..2026H1", "period"),
        ("period=2026&region=02", "region"),
        ("period=2026&sakomrade=nope", "sakomrade"),
        ("period=2026&bransch=kkn,gruvor", "bransch"),
        ("period=2026&reports=some", "query"),
        ("period=2026&indicator=RCR01", "query"),
        ("period=2026&group_by=region", "query"),
        ("period=2026&as_of=2026-01-01T00:00:00Z", "query"),
        ("period=2026&format=csv", "query"),
        ("sakomrade=innovation_foretagande", "query"),
    ];
    for (query, field) in cases {
        let reply = send(&app, overview(&t, query)).await;
        assert_eq!(reply.invalid_fields(), vec![field.to_string()], "{query}");
    }
    send(
        &app,
        actix_web::test::TestRequest::get().uri("/api/v1/aggregates/overview?period=2026"),
    )
    .await
    .problem(401);
    for token in [
        t.token(Role::Scheduler, None),
        t.token(Role::Admin, None),
        t.token(Role::Region, Some("13")),
    ] {
        let reply = send(&app, get("/api/v1/aggregates/overview?period=2026", &token)).await;
        assert_eq!(reply.status, 200);
        assert!(!reply.json().as_array().unwrap().is_empty());
    }
}
