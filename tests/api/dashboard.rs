//! The dashboard in a real browser: headless Chromium (Debian's `chromium`) driven over
//! WebDriver (`chromedriver`) against the real server, listening on a port, with demo data.
//! The figures the page shows are compared with the API's answers to the same questions;
//! axe-core checks each view against WCAG 2.1 A and AA; a screenshot of each view is saved
//! under `target/dashboard-screenshots/`. Without Chromium the test says so and passes,
//! except in CI, where `.ci/run` installs it.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator, key::Key};
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};

use crate::browser::{
    accessibility_violations, api, choose, open_browser, press, ready, screenshot, serve, sign_in,
    sign_out, text,
};
use crate::common::{Backend, SECRET, TestApp};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;
use uppfoljning::demo::{self, DemoSpec};
use uppfoljning::domain::period::PeriodId;
use uppfoljning::service::demo_data;

/// A figure as the dashboard shows it: Swedish, `1 234,5`, at most `decimals` decimals,
/// rounded half away from zero as `Intl.NumberFormat` rounds; a missing one is a dash.
pub fn swedish(value: &Value, decimals: u32) -> String {
    if value.is_null() {
        return "–".into();
    }
    let number: Decimal = value.to_string().parse().expect("a number");
    let rounded = number
        .round_dp_with_strategy(decimals, RoundingStrategy::MidpointAwayFromZero)
        .normalize();
    let text = rounded.abs().to_string();
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    let mut grouped = String::new();
    for (index, digit) in whole.chars().enumerate() {
        if index > 0 && (whole.len() - index) % 3 == 0 {
            grouped.push('\u{a0}');
        }
        grouped.push(digit);
    }
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() {
        "\u{2212}"
    } else {
        ""
    };
    if fraction.is_empty() {
        format!("{sign}{grouped}")
    } else {
        format!("{sign}{grouped},{fraction}")
    }
}

/// A figure as WebDriver reads it off the page: the no-break spaces read as spaces.
pub fn as_shown(value: &Value, decimals: u32) -> String {
    swedish(value, decimals).replace('\u{a0}', " ")
}

/// A share the API gave, as the page shows it, read as `shown`.
fn percent(share: &Value) -> String {
    if share.is_null() {
        return "–".into();
    }
    format!("{} %", as_shown(share, 1))
}

pub fn load_demo(t: &TestApp) {
    let spec = DemoSpec {
        projects: 150,
        seed: 2026,
        from: PeriodId::parse("2025H1").unwrap(),
        to: PeriodId::parse("2026H2").unwrap(),
        today: uppfoljning::domain::period::swedish_today(),
    };
    let mut conn = t.conn();
    demo_data::load(&mut conn, &spec, demo::generate(&spec), |_| {}).expect("demo data");
}

#[actix_web::test]
async fn the_dashboard_in_a_browser() {
    let Some(browser) = open_browser().await else {
        return;
    };
    let t = TestApp::start(Backend::Sqlite);
    load_demo(&t);
    let (base, server) = serve(&t);
    let client = &browser.client;
    let national = t.token(Role::National, None);
    a_wrong_token_is_refused_with_the_apis_message(client, &base).await;
    let period = the_overview_shows_the_apis_figures(client, &base, &national).await;
    the_indicator_view_shows_the_apis_figures(client, &base, &national, &period).await;
    let year = the_reporting_view_shows_who_has_reported(client, &base, &national).await;
    a_region_is_marked_and_an_expired_token_signs_out(client, &t, &year).await;
    browser.client.clone().close().await.unwrap();
    server.stop(true).await;
}

async fn a_wrong_token_is_refused_with_the_apis_message(client: &Client, base: &str) {
    // `/` leads to the sign-in; a wrong token brings it back with the API's message.
    client.goto(&format!("{base}/")).await.unwrap();
    assert!(
        client
            .current_url()
            .await
            .unwrap()
            .path()
            .starts_with("/dashboard/")
    );
    screenshot(client, "sign-in").await;
    sign_in(client, "not-a-token").await;
    let started = Instant::now();
    while text(client, "#sign-in-error").await.is_empty() {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no error shown"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let refused = ureq::get(&format!("{base}/api/v1/indicators"))
        .header("Authorization", "Bearer not-a-token")
        .call()
        .unwrap_err();
    assert!(matches!(refused, ureq::Error::StatusCode(401)));
    let shown = text(client, "#sign-in-error").await;
    assert!(
        shown.starts_with("Inloggningen gick inte igenom"),
        "{shown}"
    );
    assert_eq!(
        client
            .execute(
                "return sessionStorage.getItem('uppfoljning.token');",
                vec![]
            )
            .await
            .unwrap(),
        Value::Null,
        "a refused token is not kept"
    );
}

/// Gives the half-year the Översikt opened with.
async fn the_overview_shows_the_apis_figures(
    client: &Client,
    base: &str,
    national: &str,
) -> String {
    // Översikt: every indicator's national figures as the API answers them.
    sign_in(client, national).await;
    ready(client, "oversikt").await;
    let period = client
        .execute("return document.getElementById('o-period').value;", vec![])
        .await
        .unwrap();
    let period = period.as_str().unwrap().to_string();
    let indicators = api(base, national, "/indicators");
    let shown_rows = client
        .find_all(Locator::Css("#oversikt-tables tbody tr"))
        .await
        .unwrap();
    let active: Vec<&Value> = indicators
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["active"] == true)
        .collect();
    assert_eq!(shown_rows.len(), active.len(), "one row per indicator");
    let mut unfiltered = Vec::new();
    for indicator in &active {
        let code = indicator["code"].as_str().unwrap();
        let decimals = indicator["decimals"].as_u64().unwrap() as u32;
        let answer = api(
            base,
            national,
            &format!("/aggregates?indicator={code}&period={period}"),
        );
        let row = format!("#oversikt-tables tr[data-key='{code}']");
        let national_row = &answer["national"];
        assert_eq!(
            text(client, &format!("{row} td[data-field=value]")).await,
            as_shown(&national_row["value"], decimals),
            "{code}: national value"
        );
        assert_eq!(
            text(client, &format!("{row} td[data-field=target]")).await,
            as_shown(&national_row["target"], decimals),
            "{code}: target"
        );
        assert_eq!(
            text(client, &format!("{row} td[data-field=coverage]")).await,
            percent(&national_row["reporting_share"]),
            "{code}: coverage"
        );
        assert_eq!(
            text(client, &format!("{row} td[data-field=share]")).await,
            percent(&national_row["target_share"]),
            "{code}: share of the target"
        );
        unfiltered.push(text(client, &format!("{row} td[data-field=value]")).await);
    }
    let levels: Vec<String> = futures_util::future::join_all(
        client
            .find_all(Locator::Css("#oversikt-tables h3"))
            .await
            .unwrap()
            .iter()
            .map(|h| h.text()),
    )
    .await
    .into_iter()
    .map(Result::unwrap)
    .collect();
    assert_eq!(
        levels.first().map(String::as_str),
        Some("Resurser"),
        "the effect chain starts with its resources: {levels:?}"
    );
    // A download fetches the same figures from the API in the format asked for.
    client
        .find(Locator::Css(
            "#oversikt-tables tr[data-key='NAT-A01'] button[aria-label$='som CSV']",
        ))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let started = Instant::now();
    loop {
        let fetched = client
            .execute(
                "return performance.getEntriesByType('resource')
                   .filter(r => r.name.includes('indicator=NAT-A01') && r.name.endsWith('format=csv'))
                   .map(r => r.responseStatus);",
                vec![],
            )
            .await
            .unwrap();
        if fetched == json!([200]) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "no CSV fetched: {fetched}"
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    let violations = accessibility_violations(client).await;
    assert!(violations.is_empty(), "Översikt: {violations:#?}");
    screenshot(client, "oversikt").await;

    // Swedish number formats, as the page's own formatter gives them in this browser.
    let formatted = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             import('/dashboard/format.js').then(f => done([
               f.number(1234.5, 1), f.number(-1234567.891, 2), f.number(0.125, 2), f.number(2, 2),
               f.number(null), f.percent(33.3), f.percent(null)]));",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        formatted,
        json!([
            "1\u{a0}234,5",
            "\u{2212}1\u{a0}234\u{a0}567,89",
            "0,13",
            "2",
            "–",
            "33,3\u{a0}%",
            "–"
        ])
    );
    assert_eq!(swedish(&json!(1234.5), 1), "1\u{a0}234,5");
    assert_eq!(
        swedish(&json!(-1234567.891), 2),
        "\u{2212}1\u{a0}234\u{a0}567,89"
    );

    // A filter changes the figures, to the API's answer for the filtered question.
    choose(client, "o-sakomrade", "innovation_foretagande").await;
    ready(client, "oversikt").await;
    let mut changed = 0;
    for (indicator, before) in active.iter().zip(&unfiltered) {
        let code = indicator["code"].as_str().unwrap();
        let decimals = indicator["decimals"].as_u64().unwrap() as u32;
        let answer = api(
            base,
            national,
            &format!(
                "/aggregates?indicator={code}&period={period}&sakomrade=innovation_foretagande"
            ),
        );
        let shown = text(
            client,
            &format!("#oversikt-tables tr[data-key='{code}'] td[data-field=value]"),
        )
        .await;
        assert_eq!(
            shown,
            as_shown(&answer["national"]["value"], decimals),
            "{code}"
        );
        changed += usize::from(shown != *before);
    }
    assert!(changed > 0, "the filter changed no figure");
    period
}

async fn the_indicator_view_shows_the_apis_figures(
    client: &Client,
    base: &str,
    national: &str,
    period: &str,
) {
    // Indikator, reached by keyboard alone: tabbing from the top of the page reaches the
    // skip link first, then the views; Enter opens one.
    client
        .goto(&format!("{base}/dashboard/?keyboard"))
        .await
        .unwrap();
    ready(client, "oversikt").await;
    let mut focused = Vec::new();
    loop {
        press(client, Key::Tab).await;
        let now = client.active_element().await.unwrap().text().await.unwrap();
        if now == "Indikator" {
            break;
        }
        focused.push(now);
        assert!(
            focused.len() < 10,
            "Tab did not reach the views: {focused:?}"
        );
    }
    assert_eq!(
        focused.first().map(String::as_str),
        Some("Hoppa till innehållet")
    );
    press(client, Key::Enter).await;
    ready(client, "indikator").await;
    assert!(client.title().await.unwrap().starts_with("Indikator"));
    choose(client, "i-indicator", "NAT-A01").await;
    ready(client, "indikator").await;
    let answer = api(
        base,
        national,
        &format!("/aggregates?indicator=NAT-A01&period={period}&group_by=region"),
    );
    for row in answer["rows"].as_array().unwrap() {
        let region = row["region"].as_str().unwrap();
        assert_eq!(
            text(
                client,
                &format!("#indikator-parts tr[data-key='{region}'] td[data-field=value]")
            )
            .await,
            as_shown(&row["value"], 0),
            "region {region}"
        );
    }
    assert_eq!(
        text(
            client,
            "#indikator-parts tr[data-key=median] td[data-field=value]"
        )
        .await,
        as_shown(&answer["stats"]["median"], 0)
    );
    assert!(
        client.find(Locator::Id("i-sex")).await.is_ok(),
        "NAT-A01 is reported by sex: its split is drawn"
    );
    let violations = accessibility_violations(client).await;
    assert!(violations.is_empty(), "Indikator: {violations:#?}");
    screenshot(client, "indikator").await;
}

/// Gives the year the view opened with.
async fn the_reporting_view_shows_who_has_reported(
    client: &Client,
    base: &str,
    national: &str,
) -> String {
    // Rapportering: the 21 regions, their completeness and, one click away, what is missing.
    client
        .find(Locator::Css("#nav button[data-view=rapportering]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    ready(client, "rapportering").await;
    let regions = client
        .find_all(Locator::Css("#rapportering-table tbody tr"))
        .await
        .unwrap();
    assert_eq!(regions.len(), 21);
    let year = client
        .execute("return document.getElementById('r-year').value;", vec![])
        .await
        .unwrap();
    let first_half = format!("{}H1", year.as_str().unwrap());
    let completeness = api(
        base,
        national,
        &format!("/completeness?period={first_half}"),
    );
    for counts in completeness["regions"].as_array().unwrap() {
        let region = counts["region"].as_str().unwrap();
        assert_eq!(
            text(
                client,
                &format!("#rapportering-table tr[data-key='{region}'] td[data-field='reported-{first_half}']")
            )
            .await,
            format!(
                "{} av {}",
                as_shown(&counts["reported_values"], 0),
                as_shown(&counts["required_values"], 0)
            ),
            "region {region}"
        );
    }
    let reports = api(base, national, &format!("/reports?period={first_half}"));
    if let Some(report) = reports
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["missing"].as_u64().unwrap_or(0) > 0)
    {
        let region = report["region"].as_str().unwrap();
        client
            .find(Locator::Css(&format!(
                "#rapportering-table tr[data-key='{region}'] td[data-field='missing-{first_half}'] button"
            )))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
        client
            .wait()
            .for_element(Locator::Id("missing-title"))
            .await
            .unwrap();
        let detail = api(
            base,
            national,
            &format!("/regions/{region}/reports/{first_half}"),
        );
        let items = client
            .find_all(Locator::Css("#rapportering-detail li"))
            .await
            .unwrap();
        assert_eq!(
            items.len(),
            detail["missing_by_project"].as_array().unwrap().len()
        );
    }
    let violations = accessibility_violations(client).await;
    assert!(violations.is_empty(), "Rapportering: {violations:#?}");
    screenshot(client, "rapportering").await;
    year.as_str().unwrap().to_string()
}

async fn a_region_is_marked_and_an_expired_token_signs_out(
    client: &Client,
    t: &TestApp,
    year: &str,
) {
    // A region sees its own region marked; an expired token brings the sign-in back.
    sign_out(client).await;
    sign_in(client, &t.token(Role::Region, Some("07"))).await;
    ready(client, "rapportering").await;
    let mine = client
        .find(Locator::Css("#rapportering-table tr.mine"))
        .await
        .unwrap()
        .attr("data-key")
        .await
        .unwrap();
    assert_eq!(mine.as_deref(), Some("07"));
    let expired = jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &json!({"sub": "test", "role": "national", "exp": 1_000_000_000}),
        &jsonwebtoken::EncodingKey::from_secret(SECRET),
    )
    .unwrap();
    client
        .execute(
            "sessionStorage.setItem('uppfoljning.token', arguments[0]);",
            vec![json!(expired)],
        )
        .await
        .unwrap();
    choose(
        client,
        "r-year",
        &(year.parse::<i32>().unwrap() - 1).to_string(),
    )
    .await;
    client
        .wait()
        .for_element(Locator::Css("#sign-in:not([hidden])"))
        .await
        .unwrap();
    let shown = text(client, "#sign-in-error").await;
    assert!(
        shown.contains("expired") || shown.contains("utgången") || shown.contains("Exp"),
        "{shown}"
    );
}

crate::backend_tests!(the_overview_waits_out_the_per_caller_limit);

/// A national analyst reloading the Översikt meets the per-caller limit: the page waits the
/// `Retry-After` the service gives, asks again, and shows every figure, not an error.
async fn the_overview_waits_out_the_per_caller_limit(backend: Backend) {
    let Some(browser) = open_browser().await else {
        return;
    };
    // A load asks four lists (1 each) and the overview of every indicator (34): 38 of the
    // burst of 60.
    let t = TestApp::start_with(backend, |config| config.rate_limit_per_second = 30);
    load_demo(&t);
    let (base, server) = serve(&t);
    let client = &browser.client;
    let national = t.token(Role::National, None);
    client.goto(&format!("{base}/dashboard/")).await.unwrap();
    client
        .execute(
            "sessionStorage.setItem('uppfoljning.token', arguments[0]);",
            vec![json!(national)],
        )
        .await
        .unwrap();
    // The caller's burst spent, as the loads before this one would have.
    let mut spent = 0;
    while ureq::get(&format!("{base}/api/v1/regions"))
        .header("Authorization", &format!("Bearer {national}"))
        .call()
        .is_ok()
    {
        spent += 1;
        assert!(spent < 1000, "the limit never refused");
    }
    client
        .goto(&format!("{base}/dashboard/?again#oversikt"))
        .await
        .unwrap();
    ready(client, "oversikt").await;
    let refused = client
        .execute(
            "return performance.getEntriesByType('resource')
               .filter(r => r.name.includes('/api/v1/') && r.responseStatus === 429).length;",
            vec![],
        )
        .await
        .unwrap();
    assert!(
        refused.as_u64().unwrap() > 0,
        "the page met the limit: {refused}"
    );
    let status = text(client, "#oversikt-status").await;
    assert!(
        status.contains("indikatorer för"),
        "no error shown: {status}"
    );
    let active = api(&base, &national, "/indicators")
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["active"] == true)
        .count();
    let rows = client
        .find_all(Locator::Css("#oversikt-tables tbody tr"))
        .await
        .unwrap();
    assert_eq!(rows.len(), active, "every indicator's figures");
    browser.client.clone().close().await.unwrap();
    server.stop(true).await;
}

/// Without a browser: every file is served with the dashboard's policy, which allows
/// nothing inline and nothing from elsewhere; `/` leads to it; the API keeps its own.
#[actix_web::test]
async fn the_dashboard_is_served_under_a_strict_policy() {
    use actix_web::test;
    let t = TestApp::start(Backend::Sqlite);
    let app = test::init_service(build_app(t.state.clone())).await;
    let root = test::call_service(&app, test::TestRequest::get().uri("/").to_request()).await;
    assert_eq!(root.status(), 308);
    assert_eq!(root.headers().get("location").unwrap(), "/dashboard/");
    for (path, media_type) in [
        ("/dashboard/", "text/html; charset=utf-8"),
        ("/dashboard/app.js", "text/javascript; charset=utf-8"),
        ("/dashboard/indikator.js", "text/javascript; charset=utf-8"),
        ("/dashboard/style.css", "text/css; charset=utf-8"),
        (
            "/dashboard/vendor/chart-4.5.1.umd.min.js",
            "text/javascript; charset=utf-8",
        ),
    ] {
        let reply = test::call_service(&app, test::TestRequest::get().uri(path).to_request()).await;
        assert_eq!(reply.status(), 200, "{path}");
        assert_eq!(
            reply.headers().get("content-type").unwrap(),
            media_type,
            "{path}"
        );
        let policy = reply
            .headers()
            .get("content-security-policy")
            .unwrap()
            .to_str()
            .unwrap();
        assert!(policy.contains("script-src 'self';"), "{path}: {policy}");
        assert!(!policy.contains("unsafe"), "{path}: {policy}");
    }
    let html = test::call_and_read_body(
        &app,
        test::TestRequest::get().uri("/dashboard/").to_request(),
    )
    .await;
    let html = String::from_utf8(html.to_vec()).unwrap();
    assert!(
        !html.contains("<script>") && !html.contains("style="),
        "nothing inline"
    );
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "nothing from elsewhere"
    );
    let missing = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/dashboard/secret.js")
            .to_request(),
    )
    .await;
    assert_eq!(missing.status(), 404);
    let api = test::call_service(
        &app,
        test::TestRequest::get()
            .uri("/api/v1/health/live")
            .to_request(),
    )
    .await;
    assert_eq!(
        api.headers().get("content-security-policy").unwrap(),
        "default-src 'none'; frame-ancestors 'none'"
    );
}
