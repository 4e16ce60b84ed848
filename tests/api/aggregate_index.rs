//! The in-memory aggregate index against the SQL path: the same answers on random data sets
//! and random questions, after writes from another instance, over its cap and after a
//! restart.

use actix_web::test;
use actix_web::web;
use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::common::{Backend, TestApp, TestService, get, post_json, put_json, send};
use crate::rounds::{incomplete, transition_in};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;
use uppfoljning::config::Config;
use uppfoljning::state::AppState;

backend_tests!(
    the_index_answers_every_question_as_sql_does,
    another_instances_writes_are_caught_up_before_answering,
    over_its_cap_the_index_gives_way_to_sql,
    a_restarted_instance_loads_the_whole_database,
    a_catch_up_of_more_than_a_page_of_revisions_is_exact,
);

const HALF_YEARS: [&str; 4] = ["2025H1", "2025H2", "2026H1", "2026H2"];
const REGIONS: [&str; 3] = ["07", "08", "12"];
const CLASSIFICATIONS: [(&str, Option<&str>); 5] = [
    ("innovation_foretagande", Some("innovation")),
    ("innovation_foretagande", Some("foretagande")),
    ("attraktiva_miljoer", Some("transportsystem")),
    ("kompetensforsorjning", None),
    ("ovrigt", None),
];
const EFFEKTKEDJOR: [&str; 3] = [
    "varor_tjanster_direkt",
    "kunskap_strategier",
    "infrastruktur",
];
const PROJECT_TYPES: [&str; 3] = ["projekt", "forstudie", "ramprojekt"];
const BRANSCHER: [&str; 4] = ["kkn", "ikt", "livsmedel", "tillverkning"];
/// Every rule: sum (with decimals), latest, sum by sex, a ratio of two by-sex sums,
/// distinct enterprises and the two project fields.
const INDICATORS: [(&str, bool); 9] = [
    ("RCR01", false),
    ("RCR02", false),
    ("NAT-E01", false),
    ("RCR17", false),
    ("NAT-A01", true),
    ("NAT-U01N", true),
    ("NAT-U01", true),
    ("RCO01", false),
    ("NAT-R01", false),
];
const PERIODS: [&str; 6] = [
    "2026H1",
    "2026",
    "2025H1",
    "2025H2..2026H2",
    "2025..2026",
    "2025H2..2026",
];
const GROUPS: [&str; 7] = [
    "region",
    "sakomrade",
    "fokusomrade",
    "effektkedja",
    "bransch",
    "project_type",
    "period",
];

/// A valid organisationsnummer: nine digits and their Luhn check digit.
fn orgnr(number: u32) -> String {
    let digits = format!("55{:07}", number);
    let sum: u32 = digits
        .bytes()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0') * if i % 2 == 0 { 2 } else { 1 };
            d / 10 + d % 10
        })
        .sum();
    format!("{digits}{}", (10 - sum % 10) % 10)
}

fn half_year_dates(index: usize) -> (String, String) {
    let year = 2025 + index / 2;
    if index.is_multiple_of(2) {
        (format!("{year}-01-01"), format!("{year}-06-30"))
    } else {
        (format!("{year}-07-01"), format!("{year}-12-31"))
    }
}

/// A random project, dated over some of the half-years.
fn project(rng: &mut StdRng, reference: &str) -> (Value, Vec<usize>) {
    let first = rng.random_range(0..HALF_YEARS.len());
    let last = rng.random_range(first..HALF_YEARS.len());
    let (sakomrade, fokusomrade) = *CLASSIFICATIONS.choose(rng).unwrap();
    let mut branscher: Vec<&str> = BRANSCHER.to_vec();
    branscher.shuffle(rng);
    branscher.truncate(rng.random_range(0..3));
    let mut plans: Vec<Value> = Vec::new();
    for indicator in ["RCR01", "RCO01", "NAT-A01", "NAT-E01"] {
        if rng.random_bool(0.5) {
            plans.push(json!({"indicator": indicator, "target": rng.random_range(1..50)}));
        }
    }
    let granted: i64 = rng.random_range(1..20) * 100_000;
    let body = json!({
        "ref": reference, "title": format!("Projekt {reference}"), "organisation": "Regionen",
        "status": "pagaende", "project_type": *PROJECT_TYPES.choose(rng).unwrap(),
        "sakomrade": sakomrade, "fokusomrade": fokusomrade,
        "effektkedja": *EFFEKTKEDJOR.choose(rng).unwrap(), "branscher": branscher,
        "start_date": half_year_dates(first).0, "end_date": half_year_dates(last).1,
        "granted_sek": granted, "total_budget_sek": granted * 2, "indicators": plans
    });
    (body, (first..=last).collect())
}

/// Random values of a project in some of its half-years.
fn values(rng: &mut StdRng, reference: &str, dated: &[usize]) -> Vec<Value> {
    let mut values = Vec::new();
    for half_year in dated.iter().map(|i| HALF_YEARS[*i]) {
        let entry = |indicator: &str, value: Value| json!({"project_ref": reference, "indicator": indicator, "period": half_year, "value": value});
        if rng.random_bool(0.7) {
            values.push(entry(
                "RCR01",
                json!(f64::from(rng.random_range(0..40)) / 2.0),
            ));
        }
        if rng.random_bool(0.5) {
            values.push(entry("RCR02", json!(rng.random_range(0..1_000_000))));
        }
        if rng.random_bool(0.6) {
            values.push(entry("NAT-E01", json!(rng.random_range(0..30))));
        }
        if rng.random_bool(0.3) {
            values.push(entry("RCR17", json!(rng.random_range(0..5))));
        }
        if rng.random_bool(0.6) {
            let (kvinnor, man, ej_angivet) = (
                rng.random_range(0..20),
                rng.random_range(0..20),
                rng.random_range(0..3),
            );
            let mut all = entry("NAT-A01", json!(kvinnor + man + ej_angivet));
            all["by_sex"] = json!({"kvinnor": kvinnor, "man": man, "ej_angivet": ej_angivet});
            values.push(all);
            if rng.random_bool(0.7) {
                let (k, m, e) = (
                    rng.random_range(0..=kvinnor),
                    rng.random_range(0..=man),
                    rng.random_range(0..=ej_angivet),
                );
                let mut some = entry("NAT-U01N", json!(k + m + e));
                some["by_sex"] = json!({"kvinnor": k, "man": m, "ej_angivet": e});
                values.push(some);
            }
        }
        if rng.random_bool(0.6) {
            let mut enterprises: Vec<String> = (0..rng.random_range(0..4))
                .map(|_| orgnr(rng.random_range(0..12)))
                .collect();
            enterprises.sort();
            enterprises.dedup();
            values.push(
                json!({"project_ref": reference, "indicator": "RCO01", "period": half_year,
                               "entities": enterprises}),
            );
        }
    }
    values
}

/// A random question, `accepted` sometimes on accepted reports only.
fn question(rng: &mut StdRng, accepted: bool) -> String {
    let (indicator, by_sex) = *INDICATORS.choose(rng).unwrap();
    let mut groups: Vec<&str> = GROUPS.to_vec();
    groups.shuffle(rng);
    groups.truncate(rng.random_range(0..=3));
    if by_sex && rng.random_bool(0.4) {
        groups.insert(rng.random_range(0..=groups.len()), "sex");
    }
    let mut query = format!(
        "indicator={indicator}&period={}",
        PERIODS.choose(rng).unwrap()
    );
    if !groups.is_empty() {
        query.push_str(&format!("&group_by={}", groups.join(",")));
    }
    let filters: [(&str, &[&str]); 6] = [
        ("region", &["07", "08", "07,12"]),
        (
            "sakomrade",
            &["innovation_foretagande", "ovrigt,attraktiva_miljoer"],
        ),
        ("fokusomrade", &["innovation", "transportsystem"]),
        ("effektkedja", &["varor_tjanster_direkt"]),
        ("bransch", &["kkn", "ikt,livsmedel"]),
        ("project_type", &["projekt", "forstudie,ramprojekt"]),
    ];
    for (name, codes) in filters {
        if rng.random_bool(0.15) {
            query.push_str(&format!("&{name}={}", codes.choose(rng).unwrap()));
        }
    }
    if accepted && rng.random_bool(0.4) {
        query.push_str("&reports=accepted");
    }
    query
}

async fn ask(app: &impl TestService, token: &str, query: &str) -> (u16, Value) {
    let reply = send(app, get(&format!("/api/v1/aggregates?{query}"), token)).await;
    let body = serde_json::from_slice(&reply.body).unwrap_or(Value::Null);
    (reply.status.as_u16(), body)
}

/// The same data, asked of an instance that computes every answer in SQL.
fn sql_only(t: &TestApp) -> web::Data<AppState> {
    with_index_bytes(t, 0)
}

fn with_index_bytes(t: &TestApp, bytes: u64) -> web::Data<AppState> {
    let config = Config {
        aggregate_index_bytes: bytes,
        ..t.config.clone()
    };
    web::Data::new(AppState::open(config).expect("a second instance"))
}

async fn open_periods(t: &TestApp, app: &impl TestService) {
    for period in HALF_YEARS {
        let reply = send(
            app,
            post_json(
                "/api/v1/periods",
                &t.admin(),
                &json!({"id": period, "deadline": "2030-01-31"}),
            ),
        )
        .await;
        assert_eq!(reply.status, 201);
    }
}

/// A random data set stored through `app`: each region's projects and values.
async fn random_data(
    t: &TestApp,
    app: &impl TestService,
    rng: &mut StdRng,
    prefix: &str,
    projects_per_region: usize,
) -> Vec<(String, String, Vec<usize>)> {
    let mut made = Vec::new();
    for region in REGIONS {
        let mut projects = Vec::new();
        let mut all_values = Vec::new();
        for n in 0..projects_per_region {
            let reference = format!("{prefix}{region}-{n}");
            let (body, dated) = project(rng, &reference);
            all_values.extend(values(rng, &reference, &dated));
            projects.push(body);
            made.push((region.to_string(), reference, dated));
        }
        submit(
            t,
            app,
            region,
            json!({"projects": projects, "values": all_values}),
        )
        .await;
    }
    made
}

async fn submit(t: &TestApp, app: &impl TestService, region: &str, body: Value) {
    send(
        app,
        post_json(
            &format!("/api/v1/regions/{region}/submissions"),
            &t.token(Role::Region, Some(region)),
            &body,
        ),
    )
    .await
    .ok();
}

/// Writes that move figures: new values over old ones, and projects classified anew.
async fn random_changes(
    t: &TestApp,
    app: &impl TestService,
    rng: &mut StdRng,
    made: &[(String, String, Vec<usize>)],
) {
    for region in REGIONS {
        let mine: Vec<_> = made.iter().filter(|(r, _, _)| r == region).collect();
        let mut changed = Vec::new();
        for (_, reference, dated) in &mine {
            if rng.random_bool(0.5) {
                changed.extend(values(rng, reference, dated));
            }
        }
        if !changed.is_empty() {
            submit(t, app, region, json!({"values": changed})).await;
        }
        for (_, reference, dated) in &mine {
            if !rng.random_bool(0.3) {
                continue;
            }
            let (mut body, _) = project(rng, reference);
            let (start, end) = (
                half_year_dates(dated[0]).0,
                half_year_dates(dated[dated.len() - 1]).1,
            );
            body["start_date"] = json!(start);
            body["end_date"] = json!(end);
            let reply = send(
                app,
                put_json(
                    &format!("/api/v1/regions/{region}/projects/{reference}"),
                    &t.admin(),
                    &body,
                ),
            )
            .await;
            assert!(
                reply.status.is_success(),
                "{}",
                String::from_utf8_lossy(&reply.body)
            );
        }
    }
}

/// Asks `count` random questions of both instances and requires the same answers.
async fn compare(
    rng: &mut StdRng,
    indexed: &impl TestService,
    sql: &impl TestService,
    token: &str,
    count: usize,
    accepted: bool,
) {
    for _ in 0..count {
        let query = question(rng, accepted);
        let from_index = ask(indexed, token, &query).await;
        let from_sql = ask(sql, token, &query).await;
        assert_eq!(from_index, from_sql, "{query}");
    }
}

async fn the_index_answers_every_question_as_sql_does(backend: Backend) {
    for seed in [1, 2] {
        let t = TestApp::start(backend);
        let indexed = test::init_service(build_app(t.state.clone())).await;
        let sql = test::init_service(build_app(sql_only(&t))).await;
        let national = t.token(Role::National, None);
        let mut rng = StdRng::seed_from_u64(seed);
        open_periods(&t, &indexed).await;
        let made = random_data(&t, &indexed, &mut rng, "P", 8).await;
        compare(&mut rng, &indexed, &sql, &national, 40, false).await;
        let loaded = t.state.aggregate_index.status();
        assert!(loaded.values > 0 && !loaded.over_cap, "{loaded:?}");
        // Caught up with values and projects written since it was loaded.
        random_changes(&t, &indexed, &mut rng, &made).await;
        compare(&mut rng, &indexed, &sql, &national, 40, false).await;
        // Kronoberg's 2026H1 accepted: accepted reports count on their own.
        let kronoberg = t.token(Role::Region, Some("07"));
        transition_in(&indexed, &kronoberg, "07", "2026H1", "submit", incomplete())
            .await
            .ok();
        transition_in(&indexed, &national, "07", "2026H1", "accept", json!({}))
            .await
            .ok();
        compare(&mut rng, &indexed, &sql, &national, 40, true).await;
        assert!(t.state.aggregate_index.status().values >= loaded.values);
    }
}

async fn another_instances_writes_are_caught_up_before_answering(backend: Backend) {
    let t = TestApp::start(backend);
    let first = test::init_service(build_app(t.state.clone())).await;
    let second_state = with_index_bytes(&t, t.config.aggregate_index_bytes);
    let second = test::init_service(build_app(second_state.clone())).await;
    let sql = test::init_service(build_app(sql_only(&t))).await;
    let national = t.token(Role::National, None);
    let mut rng = StdRng::seed_from_u64(7);
    open_periods(&t, &first).await;
    let made = random_data(&t, &first, &mut rng, "P", 5).await;
    let question = "indicator=RCR01&period=2025..2026&group_by=region,sakomrade";
    let before = ask(&second, &national, question).await;
    assert_eq!(before, ask(&sql, &national, question).await);
    // Written through the first instance, asked of the second, whose index was loaded
    // before the writes: every one is caught up, in the order they were committed.
    for round in 0..3 {
        random_changes(&t, &first, &mut rng, &made).await;
        submit(
            &t,
            &first,
            "07",
            json!({"values": [{"project_ref": "P07-0", "indicator": "RCR01",
                               "period": HALF_YEARS[made[0].2[0]], "value": 100 + round}]}),
        )
        .await;
        let answer = ask(&second, &national, question).await;
        assert_eq!(
            answer,
            ask(&sql, &national, question).await,
            "round {round}"
        );
        assert_ne!(answer, before, "round {round}");
        compare(&mut rng, &second, &sql, &national, 10, false).await;
        // And the other way round.
        random_changes(&t, &second, &mut rng, &made).await;
        compare(&mut rng, &first, &sql, &national, 10, false).await;
    }
    assert!(second_state.aggregate_index.status().values > 0);
}

async fn over_its_cap_the_index_gives_way_to_sql(backend: Backend) {
    let metrics_token = "metrics-token-metrics-token-metrics";
    let t = TestApp::start_with(backend, |config| {
        config.metrics_token = Some(metrics_token.into());
    });
    let app = test::init_service(build_app(t.state.clone())).await;
    let sql = test::init_service(build_app(sql_only(&t))).await;
    let national = t.token(Role::National, None);
    let mut rng = StdRng::seed_from_u64(11);
    open_periods(&t, &app).await;
    random_data(&t, &app, &mut rng, "P", 4).await;
    compare(&mut rng, &app, &sql, &national, 5, false).await;
    let full = t.state.aggregate_index.status();
    assert!(!full.over_cap && full.bytes > 0, "{full:?}");

    // An instance whose cap the index passes at once answers from SQL, the same figures.
    let small_state = with_index_bytes(&t, full.bytes / 2);
    let small = test::init_service(build_app(small_state.clone())).await;
    compare(&mut rng, &small, &sql, &national, 10, false).await;
    let status = small_state.aggregate_index.status();
    assert!(status.over_cap && status.bytes == 0, "{status:?}");
    let metrics = send(&small, get("/metrics", metrics_token)).await;
    let text = String::from_utf8(metrics.body).unwrap();
    assert!(text.contains("aggregate_index_over_cap 1"), "{text}");

    // One whose index fits at first passes its cap while catching up with writes.
    let tight_state = with_index_bytes(&t, full.bytes + 64);
    let tight = test::init_service(build_app(tight_state.clone())).await;
    compare(&mut rng, &tight, &sql, &national, 5, false).await;
    assert!(!tight_state.aggregate_index.status().over_cap);
    let more = random_data(&t, &app, &mut rng, "Q", 4).await;
    random_changes(&t, &app, &mut rng, &more).await;
    compare(&mut rng, &tight, &sql, &national, 10, false).await;
    assert!(tight_state.aggregate_index.status().over_cap);
}

async fn a_restarted_instance_loads_the_whole_database(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let national = t.token(Role::National, None);
    let mut rng = StdRng::seed_from_u64(23);
    open_periods(&t, &app).await;
    let made = random_data(&t, &app, &mut rng, "P", 10).await;
    random_changes(&t, &app, &mut rng, &made).await;
    // A new instance on the full database loads its index at start-up.
    let restarted_state = with_index_bytes(&t, t.config.aggregate_index_bytes);
    restarted_state.load_aggregate_index();
    let status = restarted_state.aggregate_index.status();
    assert_eq!(status.values as i64, t.count("indicator_values"));
    let restarted = test::init_service(build_app(restarted_state)).await;
    let sql = test::init_service(build_app(sql_only(&t))).await;
    compare(&mut rng, &restarted, &sql, &national, 30, false).await;
}

/// Every rule's values of one project in all four half-years, `round` moving each of them.
fn every_value(reference: &str, number: usize, round: usize) -> Vec<Value> {
    let n = number + round * 7;
    let mut values = Vec::new();
    for half_year in HALF_YEARS {
        let entry = |indicator: &str, value: Value| json!({"project_ref": reference, "indicator": indicator, "period": half_year, "value": value});
        values.push(entry("RCR01", json!(f64::from((n % 40) as u32) / 2.0)));
        values.push(entry("RCR02", json!(n * 13 % 100_000)));
        values.push(entry("NAT-E01", json!(n % 30)));
        values.push(entry("RCR17", json!(n % 5)));
        let mut all = entry("NAT-A01", json!(n % 20 + n % 7 + n % 3));
        all["by_sex"] = json!({"kvinnor": n % 20, "man": n % 7, "ej_angivet": n % 3});
        values.push(all);
        let mut some = entry("NAT-U01N", json!(n % 10 + n % 4));
        some["by_sex"] = json!({"kvinnor": n % 10, "man": n % 4, "ej_angivet": 0});
        values.push(some);
        values.push(
            json!({"project_ref": reference, "indicator": "RCO01", "period": half_year,
                           "entities": [orgnr((n % 12) as u32), orgnr(((n + round) % 9) as u32)]}),
        );
    }
    values
}

async fn a_catch_up_of_more_than_a_page_of_revisions_is_exact(backend: Backend) {
    let t = TestApp::start(backend);
    let indexed = test::init_service(build_app(t.state.clone())).await;
    let sql = test::init_service(build_app(sql_only(&t))).await;
    let national = t.token(Role::National, None);
    let mut rng = StdRng::seed_from_u64(31);
    open_periods(&t, &indexed).await;
    random_data(&t, &indexed, &mut rng, "P", 3).await;
    compare(&mut rng, &indexed, &sql, &national, 5, false).await;
    let loaded = t.state.aggregate_index.status();
    assert!(loaded.values > 0, "{loaded:?}");
    // 1,900 projects of 28 values: 53,200 revisions of one data version between two
    // questions, more than one page of the catch-up; then all of them moved again.
    let count = 1_900;
    for round in 0..2 {
        let mut projects = Vec::new();
        let mut values = Vec::new();
        for number in 0..count {
            let reference = format!("B{number}");
            let (mut body, _) = project(&mut rng, &reference);
            body["start_date"] = json!("2025-01-01");
            body["end_date"] = json!("2026-12-31");
            projects.push(body);
            values.extend(every_value(&reference, number, round));
        }
        let reply = send(
            &indexed,
            post_json(
                "/api/v1/regions/12/submissions",
                &t.token(Role::Region, Some("12")),
                &json!({"projects": projects, "values": values}),
            ),
        )
        .await;
        assert_eq!(
            reply.json()["values"]["created"].as_i64().unwrap()
                + reply.json()["values"]["updated"].as_i64().unwrap(),
            (count * 28) as i64,
        );
        compare(&mut rng, &indexed, &sql, &national, 30, false).await;
        for query in [
            "indicator=NAT-A01&period=2025..2026&group_by=region,sakomrade,fokusomrade,effektkedja,bransch,project_type,period,sex",
            "indicator=RCO01&period=2025H1..2026H2&group_by=period,bransch",
            "indicator=NAT-U01&period=2025..2026&group_by=sex,region",
            "indicator=RCR01&period=2025..2026&region=01,03,04,05,06,07,08,09,10,12,13,14,17,18,19,20,21,22,23,24,25&bransch=kkn,ikt,livsmedel,tillverkning,kkn",
        ] {
            let from_index = ask(&indexed, &national, query).await;
            assert_eq!(from_index.0, 200, "{query}: {}", from_index.1);
            assert_eq!(from_index, ask(&sql, &national, query).await, "{query}");
        }
        let status = t.state.aggregate_index.status();
        assert_eq!(
            status.values as i64,
            t.count("indicator_values"),
            "{status:?}"
        );
    }
}
