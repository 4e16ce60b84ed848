//! The dashboard compares like with like, in a real browser on both backends: Indikator by
//! total, per project and per million kronor granted (a control used by keyboard), with the
//! API's median of the chosen measure and the caller's region marked; a ratio only as it
//! is; indicators named, not coded, on every chart, heading and table. axe-core on each
//! state.

use fantoccini::{Client, Locator, key::Key};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::browser::{
    accessibility_violations, api, choose, open_browser, press, ready, screenshot, serve, sign_in,
    text,
};
use crate::common::{Backend, TestApp};
use crate::dashboard::{as_shown, load_demo};
use uppfoljning::auth::Role;

backend_tests!(the_indicator_view_compares_like_with_like);

/// The part that compares the groups (regions), first of the Indikator view.
const GROUPS: &str = "#indikator-parts section:first-child";

/// The labels of the chart drawn on the canvas `id`.
async fn chart_labels(client: &Client, id: &str) -> Vec<String> {
    let labels = client
        .execute(
            "return Chart.getChart(document.getElementById(arguments[0])).data.labels;",
            vec![json!(id)],
        )
        .await
        .unwrap();
    serde_json::from_value(labels).unwrap()
}

/// The labels of the chart's datasets (its legend).
async fn chart_legend(client: &Client, id: &str) -> Vec<String> {
    let labels = client
        .execute(
            "return Chart.getChart(document.getElementById(arguments[0])).data.datasets.map(d => d.label);",
            vec![json!(id)],
        )
        .await
        .unwrap();
    serde_json::from_value(labels).unwrap()
}

async fn the_indicator_view_compares_like_with_like(backend: Backend) {
    let Some(browser) = open_browser().await else {
        return;
    };
    let t = TestApp::start(backend);
    load_demo(&t);
    let (base, server) = serve(&t);
    let client = &browser.client;
    let kronoberg = t.token(Role::Region, Some("07"));
    client.goto(&format!("{base}/dashboard/")).await.unwrap();
    sign_in(client, &kronoberg).await;
    ready(client, "oversikt").await;

    // Översikt: the chart names every indicator as its table does, name and code beside.
    let indicators = api(&base, &kronoberg, "/indicators");
    let active: Vec<&Value> = indicators
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["active"] == true)
        .collect();
    let labels = chart_labels(client, "oversikt-chart").await;
    assert_eq!(labels.len(), active.len());
    for indicator in &active {
        let code = indicator["code"].as_str().unwrap();
        let name = format!("{} ({code})", indicator["name_sv"].as_str().unwrap());
        assert!(labels.contains(&name), "{name} not among {labels:?}");
        assert_eq!(
            text(
                client,
                &format!("#oversikt-tables tr[data-key='{code}'] th")
            )
            .await,
            name,
            "the same text in the table"
        );
    }

    client
        .find(Locator::Css("#nav button[data-view=indikator]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    ready(client, "indikator").await;
    choose(client, "i-indicator", "RCR01").await;
    ready(client, "indikator").await;
    let period = client
        .execute("return document.getElementById('i-period').value;", vec![])
        .await
        .unwrap();
    let period = period.as_str().unwrap().to_string();
    let heading = text(client, "#i-groups-title").await;
    assert_eq!(
        heading,
        "Per region: Nya arbetstillfällen i stödda organisationer (RCR01)"
    );

    // The measure control by keyboard alone: focused, one step down is per project, one more
    // per million kronor granted.
    client
        .execute("document.getElementById('i-per').focus();", vec![])
        .await
        .unwrap();
    for (per, measure) in [
        ("project", " per projekt"),
        ("granted_msek", " per miljon kronor beviljat"),
    ] {
        press(client, Key::Down).await;
        ready(client, "indikator").await;
        let chosen = client
            .execute("return document.getElementById('i-per').value;", vec![])
            .await
            .unwrap();
        assert_eq!(chosen, json!(per));
        let answer = api(
            &base,
            &kronoberg,
            &format!("/aggregates?indicator=RCR01&period={period}&group_by=region&per={per}"),
        );
        assert_eq!(answer["per"], per);
        // RCR01 has one decimal; the API gives figures per project or per million kronor
        // to three.
        let places = 3;
        let rows = answer["rows"].as_array().unwrap();
        assert!(rows.len() > 1, "regions to compare");
        for row in rows {
            let region = row["region"].as_str().unwrap();
            assert_eq!(
                text(
                    client,
                    &format!("{GROUPS} tr[data-key='{region}'] td[data-field=value]")
                )
                .await,
                as_shown(&row["value"], places),
                "{per}: region {region}"
            );
        }
        assert_eq!(
            text(
                client,
                &format!("{GROUPS} tr[data-key=median] td[data-field=value]")
            )
            .await,
            as_shown(&answer["stats"]["median"], places),
            "{per}: the API's median"
        );
        assert_eq!(
            text(client, &format!("{GROUPS} tr[data-key=median] th")).await,
            format!("Median{measure}")
        );
        assert_eq!(
            text(
                client,
                &format!("{GROUPS} tr[data-key=national] td[data-field=value]")
            )
            .await,
            as_shown(&answer["national"]["value"], places),
            "{per}: the nation"
        );
        // Kronoberg is marked in the table and on the chart.
        let mine = client
            .find(Locator::Css(&format!("{GROUPS} tr.mine")))
            .await
            .unwrap();
        assert_eq!(mine.attr("data-key").await.unwrap().as_deref(), Some("07"));
        assert!(
            mine.text().await.unwrap().contains("(din region)"),
            "marked in words, not by colour alone"
        );
        let labels = chart_labels(client, "i-groups").await;
        assert!(
            labels.contains(&"Kronoberg (din region)".to_string()),
            "{labels:?}"
        );
        let legend = chart_legend(client, "i-groups").await;
        assert_eq!(
            legend,
            vec![
                format!("Nya arbetstillfällen i stödda organisationer{measure}"),
                format!(
                    "Median{measure} {}",
                    as_shown(&answer["stats"]["median"], places)
                ),
            ]
        );
        assert!(
            text(client, "#i-groups-title").await.ends_with(measure),
            "the heading says what is compared"
        );
        let violations = accessibility_violations(client).await;
        assert!(violations.is_empty(), "Indikator {per}: {violations:#?}");
        screenshot(client, &format!("indikator-{per}")).await;
    }

    // A ratio is compared only as it is: the control says why and asks nothing else.
    choose(client, "i-indicator", "NAT-U01").await;
    ready(client, "indikator").await;
    let control = client
        .execute(
            "const s = document.getElementById('i-per');
             return [s.value, s.disabled, document.getElementById('i-per-note').hidden];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(control, json!(["total", true, false]));
    let answer = api(
        &base,
        &kronoberg,
        &format!("/aggregates?indicator=NAT-U01&period={period}&group_by=region"),
    );
    assert_eq!(
        text(
            client,
            &format!("{GROUPS} tr[data-key=median] td[data-field=value]")
        )
        .await,
        as_shown(&answer["stats"]["median"], 1)
    );
    assert!(
        text(client, "#i-groups-title")
            .await
            .contains("Andel deltagare som bedömer ökad förmåga (NAT-U01)")
    );
    let violations = accessibility_violations(client).await;
    assert!(violations.is_empty(), "Indikator, a ratio: {violations:#?}");
    screenshot(client, "indikator-ratio").await;

    browser.client.clone().close().await.unwrap();
    server.stop(true).await;
}
