//! Comparisons that mean something: every aggregate also per matched project and per
//! million kronor granted (`per=project|granted_msek`), computed by the service, exact, in
//! every format and in snapshots. Every figure below is worked out by hand from `load`:
//! Kronoberg (07) runs A (1 000 000 kr, branscher kkn and ikt) and B (500 000 kr, no
//! bransch), Kalmar (08) runs C (2 000 000 kr, kkn).

use actix_web::test;
use serde_json::{Value, json};

use crate::aggregates::{load, value};
use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, post_json, send};
use crate::rounds::{incomplete, transition_in};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    per_project_and_per_million_kronor_by_hand,
    a_project_in_two_groups_counts_in_each_and_once_nationally,
    both_paths_divide_alike_as_of_and_latest,
    accepted_reports_divide_by_the_accepted_projects_only,
    every_format_and_snapshots_carry_the_divided_figures,
    ratios_and_unknown_measures_are_refused,
    shares_of_the_target_and_of_the_projects_reporting_by_hand,
);

async fn ask(t: &TestApp, app: &impl TestService, query: &str) -> Value {
    send(
        app,
        get(
            &format!("/api/v1/aggregates?{query}"),
            &t.token(Role::National, None),
        ),
    )
    .await
    .ok()
    .json()
}

/// (group code, value, target) of each row, in the answer's order.
fn figures(answer: &Value, group: &str) -> Vec<(Value, Value, Value)> {
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| {
            (
                row[group].clone(),
                row["value"].clone(),
                row["target"].clone(),
            )
        })
        .collect()
}

async fn per_project_and_per_million_kronor_by_hand(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    // RCR01 2026H1 (one decimal): 07 has 0.1 + 1.5 = 1.6 from A and B, target 5 + 2 = 7;
    // 08 has 2 from C, which plans no RCR01.
    let total = ask(&t, &app, "indicator=RCR01&period=2026H1&group_by=region").await;
    assert_eq!(total["per"], "total");
    assert_eq!(
        figures(&total, "region"),
        vec![
            (json!("07"), json!(1.6), json!(7)),
            (json!("08"), json!(2), Value::Null)
        ]
    );

    let per_project = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1&group_by=region&per=project",
    )
    .await;
    assert_eq!(per_project["per"], "project");
    assert_eq!(
        figures(&per_project, "region"),
        vec![
            (json!("07"), json!(0.8), json!(3.5)),
            (json!("08"), json!(2), Value::Null)
        ]
    );
    // 3.6 over 3 projects; the target 7 over 3: three places (one and two more).
    assert_eq!(per_project["national"]["value"], json!(1.2));
    assert_eq!(per_project["national"]["target"], json!(2.333));
    assert_eq!(
        (
            &per_project["national"]["projects"],
            &per_project["national"]["reporting_projects"]
        ),
        (&json!(3), &json!(3)),
        "the counts are not divided"
    );
    assert_eq!(per_project["stats"]["median"], json!(1.4));
    assert_eq!(per_project["stats"]["min"], json!(0.8));

    let per_msek = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1&group_by=region&per=granted_msek",
    )
    .await;
    assert_eq!(per_msek["per"], "granted_msek");
    // 1.6 over 1.5 million kronor is 1.0666…, 7 over 1.5 is 4.666…; 2 over 2 million.
    assert_eq!(
        figures(&per_msek, "region"),
        vec![
            (json!("07"), json!(1.067), json!(4.667)),
            (json!("08"), json!(1), Value::Null)
        ]
    );
    // 3.6 over 3.5 million is 1.02857…; 7 over 3.5 is 2.
    assert_eq!(per_msek["national"]["value"], json!(1.029));
    assert_eq!(per_msek["national"]["target"], json!(2));
    // The median of 1.067 and 1 is 1.0335, rounded half away from zero to three places.
    assert_eq!(per_msek["stats"]["median"], json!(1.034));

    // A project field: NAT-R01 is the kronor granted; per project 1 500 000 over 2 in 07,
    // 3 500 000 over 3 nationally, to two places (the indicator has none).
    let granted = ask(
        &t,
        &app,
        "indicator=NAT-R01&period=2026H1&group_by=region&per=project",
    )
    .await;
    assert_eq!(
        figures(&granted, "region"),
        vec![
            (json!("07"), json!(750000), Value::Null),
            (json!("08"), json!(2000000), Value::Null)
        ]
    );
    assert_eq!(granted["national"]["value"], json!(1166666.67));

    // A year is its half-years: RCR01 2026 in 07 is 0.1 + 0.2 + 1.5 over 2 projects.
    let year = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026&group_by=region&per=project",
    )
    .await;
    assert_eq!(year["rows"][0]["value"], json!(0.9));
}

async fn a_project_in_two_groups_counts_in_each_and_once_nationally(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    // A is in ikt and kkn, C in kkn, B in no bransch.
    let per_project = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1&group_by=bransch&per=project",
    )
    .await;
    assert_eq!(
        figures(&per_project, "bransch"),
        vec![
            (Value::Null, json!(1.5), json!(2)),
            (json!("ikt"), json!(0.1), json!(5)),
            (json!("kkn"), json!(1.05), json!(2.5)),
        ]
    );
    assert_eq!(
        per_project["national"]["value"],
        json!(1.2),
        "3.6 over 3 projects, not the rows"
    );
    let per_msek = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1&group_by=bransch&per=granted_msek",
    )
    .await;
    // kkn: 0.1 + 2 over 1 + 2 million kronor; B: 1.5 over half a million.
    assert_eq!(
        figures(&per_msek, "bransch"),
        vec![
            (Value::Null, json!(3), json!(4)),
            (json!("ikt"), json!(0.1), json!(5)),
            (json!("kkn"), json!(0.7), json!(1.667)),
        ]
    );
    assert_eq!(per_msek["national"]["value"], json!(1.029));
    // By period: each half-year's projects and kronor.
    let by_period = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1..2026H2&group_by=period,region&per=granted_msek",
    )
    .await;
    let rows: Vec<(Value, Value, Value)> = by_period["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["period"].clone(), r["region"].clone(), r["value"].clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!("2026H1"), json!("07"), json!(1.067)),
            (json!("2026H1"), json!("08"), json!(1)),
            (json!("2026H2"), json!("07"), json!(0.133)),
            (json!("2026H2"), json!("08"), Value::Null),
        ]
    );
}

async fn both_paths_divide_alike_as_of_and_latest(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let before = ask(&t, &app, "indicator=RCR01&period=2026H1&group_by=region").await;
    let as_of = before["as_of"].as_str().unwrap().to_string();
    let correction = json!({"values": [value("B", "RCR01", "2026H1", json!(3.5))]});
    send(
        &app,
        post_json(
            "/api/v1/regions/07/submissions",
            &t.token(Role::Region, Some("07")),
            &correction,
        ),
    )
    .await
    .ok();
    // Live, added up in the database: 07 has 0.1 + 3.5 over 2 projects, over 1.5 million.
    let now = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1&group_by=region&per=project",
    )
    .await;
    assert_eq!(now["rows"][0]["value"], json!(1.8));
    let now = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1&group_by=region&per=granted_msek",
    )
    .await;
    assert_eq!(now["rows"][0]["value"], json!(2.4));
    // As of before the correction, value by value: the figures as they stood.
    let at = |per: &str| {
        format!(
            "indicator=RCR01&period=2026H1&group_by=region&per={per}&as_of={}",
            as_of.replace('+', "%2B")
        )
    };
    let then = ask(&t, &app, &at("project")).await;
    assert_eq!(then["rows"][0]["value"], json!(0.8));
    assert_eq!(then["national"]["value"], json!(1.2));
    let then = ask(&t, &app, &at("granted_msek")).await;
    assert_eq!(then["rows"][0]["value"], json!(1.067));
    assert_eq!(then["national"]["value"], json!(1.029));
    // `latest` (value by value): A's last half-year is 12, C's 5; 07 has two projects.
    let latest = ask(
        &t,
        &app,
        "indicator=NAT-E01&period=2026H1..2026H2&group_by=region&per=project",
    )
    .await;
    assert_eq!(
        figures(&latest, "region")
            .into_iter()
            .map(|(_, value, _)| value)
            .collect::<Vec<_>>(),
        vec![json!(6), json!(5)]
    );
    let latest = ask(
        &t,
        &app,
        "indicator=NAT-E01&period=2026H1..2026H2&group_by=region&per=granted_msek",
    )
    .await;
    assert_eq!(latest["rows"][0]["value"], json!(8));
    assert_eq!(latest["rows"][1]["value"], json!(2.5));
    // By sex (value by value): NAT-A01 in 08 is 50 women and 50 men over one project and
    // 2 million kronor.
    let by_sex = ask(
        &t,
        &app,
        "indicator=NAT-A01&period=2026H1&group_by=region,sex&per=granted_msek&region=08",
    )
    .await;
    let women = by_sex["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["sex"] == "kvinnor")
        .unwrap();
    assert_eq!(women["value"], json!(25));
}

async fn accepted_reports_divide_by_the_accepted_projects_only(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    transition_in(&app, &kronoberg, "07", "2026H1", "submit", incomplete())
        .await
        .ok();
    let national = t.token(Role::National, None);
    transition_in(&app, &national, "07", "2026H1", "accept", json!({}))
        .await
        .ok();
    // Only Kronoberg's 2026H1 counts: its 1.6 over its 2 projects and 1.5 million kronor;
    // Kalmar's project and kronor are not in the nation either.
    let per_project = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1&group_by=region&per=project&reports=accepted",
    )
    .await;
    assert_eq!(
        figures(&per_project, "region"),
        vec![(json!("07"), json!(0.8), json!(3.5))]
    );
    assert_eq!(per_project["national"]["value"], json!(0.8));
    assert_eq!(per_project["national"]["projects"], json!(2));
    let per_msek = ask(
        &t,
        &app,
        "indicator=RCR01&period=2026H1&group_by=region&per=granted_msek&reports=accepted",
    )
    .await;
    assert_eq!(per_msek["national"]["value"], json!(1.067));
    assert_eq!(per_msek["reports"]["rests_on"], json!(["07:2026H1"]));
}

async fn every_format_and_snapshots_carry_the_divided_figures(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let national = t.token(Role::National, None);
    let query = "indicator=RCR01&period=2026H1&group_by=region&per=granted_msek";

    let csv = send(
        &app,
        get(&format!("/api/v1/aggregates?{query}&format=csv"), &national),
    )
    .await
    .ok()
    .body
    .clone();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(
        reader.headers().unwrap().iter().collect::<Vec<_>>(),
        vec![
            "scope",
            "region",
            "region_label",
            "value_per_granted_msek",
            "target_per_granted_msek",
            "projects",
            "reporting_projects",
            "target_share",
            "reporting_share"
        ]
    );
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(
        records[0][..5],
        ["group", "07", "Kronoberg", "1.067", "4.667"]
    );
    assert_eq!(records[2][..4], ["national", "", "", "1.029"]);

    let xlsx = send(
        &app,
        get(
            &format!("/api/v1/aggregates?{query}&format=xlsx"),
            &national,
        ),
    )
    .await
    .ok()
    .body
    .clone();
    use calamine::Reader;
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = workbook.worksheet_range("RCR01").unwrap();
    assert_eq!(
        sheet.get_value((0, 0)),
        Some(&calamine::Data::String(
            "Nya arbetstillfällen i stödda organisationer (årsarbetskrafter per miljon kronor beviljat), 2026H1".into()
        ))
    );
    assert_eq!(
        sheet.get_value((1, 3)),
        Some(&calamine::Data::String("value_per_granted_msek".into()))
    );
    assert_eq!(sheet.get_value((2, 3)), Some(&calamine::Data::Float(1.067)));

    let stat = send(
        &app,
        get(
            &format!("/api/v1/aggregates?{query}&format=json-stat2"),
            &national,
        ),
    )
    .await
    .ok()
    .json();
    assert_eq!(stat["value"], json!([1.067, 1, 1.029]));
    assert_eq!(stat["extension"]["per"], "granted_msek");
    assert_eq!(
        stat["dimension"]["indicator"]["category"]["unit"]["RCR01"],
        json!({"label": "årsarbetskrafter per miljon kronor beviljat", "decimals": 3})
    );

    let snapshot = send(
        &app,
        post_json(
            "/api/v1/snapshots",
            &t.token(Role::Scheduler, None),
            &json!({"period": "2026H1", "label": "Jämförelser"}),
        ),
    )
    .await;
    assert_eq!(snapshot.status, 201);
    let snapshot = snapshot.json();
    let path = format!("/api/v1/snapshots/{}", snapshot["id"].as_str().unwrap());
    let stored = send(&app, get(&path, &national)).await.ok().json();
    let aggregates = stored["figures"]["aggregates"].as_array().unwrap();
    let rcr01 = |per: &str| {
        aggregates
            .iter()
            .find(|a| a["indicator"]["code"] == "RCR01" && a["per"] == per)
            .unwrap_or_else(|| panic!("RCR01 per {per}"))
    };
    assert_eq!(rcr01("total")["national"]["value"], json!(3.6));
    assert_eq!(rcr01("project")["national"]["value"], json!(1.2));
    assert_eq!(rcr01("granted_msek")["national"]["value"], json!(1.029));
    assert!(
        aggregates
            .iter()
            .filter(|a| a["indicator"]["code"] == "NAT-U01")
            .all(|a| a["per"] == "total"),
        "a ratio only in total"
    );
    let csv = send(&app, get(&format!("{path}?format=csv"), &national))
        .await
        .ok()
        .body
        .clone();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    assert_eq!(reader.headers().unwrap().iter().next_back(), Some("per"));
    let national_per_msek = reader
        .records()
        .map(|r| r.unwrap())
        .find(|r| &r[0] == "RCR01" && &r[1] == "national" && &r[11] == "granted_msek")
        .unwrap();
    assert_eq!(&national_per_msek[3], "1.029");
    // The shares of the totals: 3.6 of 7, 3 of 3 projects reporting.
    assert_eq!(
        (&national_per_msek[9], &national_per_msek[10]),
        ("51.4", "100")
    );
    assert_eq!(
        rcr01("granted_msek")["national"]["target_share"],
        json!(51.4)
    );
}

async fn ratios_and_unknown_measures_are_refused(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let versions = t.count("data_versions");
    for per in ["project", "granted_msek"] {
        let reply = send(
            &app,
            get(
                &format!("/api/v1/aggregates?indicator=NAT-U01&period=2026H1&per={per}"),
                &t.token(Role::Region, Some("07")),
            ),
        )
        .await;
        let problem = reply.problem(422);
        assert_eq!(reply.invalid_fields(), vec!["per".to_string()]);
        let message = problem.to_string();
        assert!(
            message.contains("NAT-U01 is a ratio") && message.contains("per=total"),
            "{message}"
        );
    }
    let total = send(
        &app,
        get(
            "/api/v1/aggregates?indicator=NAT-U01&period=2026H1&per=total",
            &t.token(Role::Region, Some("07")),
        ),
    )
    .await;
    assert_eq!(total.status, 200, "a ratio's total is answered");
    let unknown = send(
        &app,
        get(
            "/api/v1/aggregates?indicator=RCR01&period=2026H1&per=region",
            &t.token(Role::National, None),
        ),
    )
    .await;
    unknown.problem(422);
    assert_eq!(unknown.invalid_fields(), vec!["query".to_string()]);
    assert!(
        String::from_utf8_lossy(&unknown.body).contains("granted_msek"),
        "the message names the measures"
    );
    assert_eq!(t.count("data_versions"), versions, "nothing was stored");
}

/// (group code, target_share, reporting_share) of each row, then the national row's.
fn shares(answer: &Value, group: &str) -> Vec<(Value, Value, Value)> {
    answer["rows"]
        .as_array()
        .unwrap()
        .iter()
        .chain([&answer["national"]])
        .map(|row| {
            (
                row[group].clone(),
                row["target_share"].clone(),
                row["reporting_share"].clone(),
            )
        })
        .collect()
}

async fn shares_of_the_target_and_of_the_projects_reporting_by_hand(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let national = t.token(Role::National, None);
    // RCR01 2026H1: 07 has 1.6 of its target 7 (22.857… %), both its projects reporting;
    // 08 has no target; the nation 3.6 of 7 (51.428… %), 3 of 3 reporting.
    let expected = vec![
        (json!("07"), json!(22.9), json!(100)),
        (json!("08"), Value::Null, json!(100)),
        (Value::Null, json!(51.4), json!(100)),
    ];
    for per in ["total", "project", "granted_msek"] {
        let answer = ask(
            &t,
            &app,
            &format!("indicator=RCR01&period=2026H1&group_by=region&per={per}"),
        )
        .await;
        assert_eq!(shares(&answer, "region"), expected, "per={per}");
    }
    // NAT-E01 2026H1: A reports, B does not (1 of 2 in 07), C does; no targets planned.
    let answer = ask(&t, &app, "indicator=NAT-E01&period=2026H1&group_by=region").await;
    assert_eq!(
        shares(&answer, "region"),
        vec![
            (json!("07"), Value::Null, json!(50)),
            (json!("08"), Value::Null, json!(100)),
            (Value::Null, Value::Null, json!(66.7)),
        ]
    );
    // A ratio has no target.
    let ratio = ask(&t, &app, "indicator=NAT-U01&period=2026H1").await;
    assert_eq!(ratio["national"]["target_share"], Value::Null);

    let query = "indicator=RCR01&period=2026H1&group_by=region";
    let csv = send(
        &app,
        get(&format!("/api/v1/aggregates?{query}&format=csv"), &national),
    )
    .await
    .ok()
    .body
    .clone();
    let text = String::from_utf8(csv[3..].to_vec()).unwrap();
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let records: Vec<Vec<String>> = reader
        .records()
        .map(|r| r.unwrap().iter().map(String::from).collect())
        .collect();
    assert_eq!(records[0][7..], ["22.9", "100"]);
    assert_eq!(records[1][7..], ["", "100"]);
    assert_eq!(records[2][7..], ["51.4", "100"]);

    let xlsx = send(
        &app,
        get(
            &format!("/api/v1/aggregates?{query}&format=xlsx"),
            &national,
        ),
    )
    .await
    .ok()
    .body
    .clone();
    use calamine::Reader;
    let mut workbook = calamine::Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
    let sheet = workbook.worksheet_range("RCR01").unwrap();
    assert_eq!(
        sheet.get_value((1, 7)),
        Some(&calamine::Data::String("target_share".into()))
    );
    assert_eq!(sheet.get_value((2, 7)), Some(&calamine::Data::Float(22.9)));
    assert_eq!(sheet.get_value((4, 7)), Some(&calamine::Data::Float(51.4)));
    assert_eq!(sheet.get_value((4, 8)), Some(&calamine::Data::Float(100.0)));

    let stat = send(
        &app,
        get(
            &format!("/api/v1/aggregates?{query}&format=json-stat2"),
            &national,
        ),
    )
    .await
    .ok()
    .json();
    assert_eq!(stat["value"], json!([1.6, 2, 3.6]));
    assert_eq!(stat["extension"]["target_share"], json!([22.9, null, 51.4]));
    assert_eq!(stat["extension"]["reporting_share"], json!([100, 100, 100]));
}
