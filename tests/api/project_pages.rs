//! Projekt: a region's projects searched and filtered by their classification (the API),
//! and the dashboard's Projekt view in a real browser on both backends: a region sees its
//! own projects and is refused another region's, the national role picks any region, search
//! and a filter narrow the list as the API does, one project's page shows what the API
//! answers, axe-core finds nothing in any state and every step works by keyboard alone.

use std::time::{Duration, Instant};

use actix_web::test;
use fantoccini::{Client, Locator, key::Key};
use serde_json::{Value, json};

use crate::browser::{
    accessibility_violations, api, choose, console_messages, open_browser, press, ready,
    screenshot, serve, sign_in, sign_out,
};
use crate::common::{Backend, TestApp, get, post_json, put_json, send};
use crate::dashboard::{load_demo, swedish};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

crate::backend_tests!(
    project_lists_search_and_filter_by_classification,
    the_projekt_view_in_a_browser,
);

fn project(reference: &str, title: &str, organisation: &str) -> Value {
    json!({
        "ref": reference, "title": title, "organisation": organisation, "status": "pagaende",
        "project_type": "projekt", "sakomrade": "innovation_foretagande", "fokusomrade": "foretagande",
        "effektkedja": "varor_tjanster_direkt", "branscher": ["besoksnaring", "kkn"],
        "verktyg": ["radgivning"], "syften": ["nya_foretag"],
        "start_date": "2025-07-01", "end_date": "2027-12-31",
        "granted_sek": 1500000, "total_budget_sek": 3200000,
        "indicators": [{"indicator": "RCO01", "baseline": 0, "target": 40}]
    })
}

async fn project_lists_search_and_filter_by_classification(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let kronoberg = t.token(Role::Region, Some("07"));
    let mut projects = vec![
        project("KRO-1", "Sydostleden – cykelled", "Region Kronoberg"),
        project("KRO-2", "ÅTERBRUK i Växjö", "Linnéuniversitetet"),
        project("KRO-3", "Smaka på Småland", "Region Kronoberg"),
        project("KRO-4", "Förstudie om vätgas", "Energikontor Sydost"),
    ];
    projects[2]["branscher"] = json!(["livsmedel"]);
    projects[3]["project_type"] = json!("forstudie");
    projects[3]["fokusomrade"] = json!("innovation");
    projects[3]["branscher"] = json!([]);
    let stored = send(
        &app,
        post_json(
            "/api/v1/regions/07/submissions",
            &kronoberg,
            &json!({"projects": projects}),
        ),
    )
    .await;
    assert_eq!(stored.status, 200, "{:?}", stored.json());
    let list = |query: &str| get(&format!("/api/v1/regions/07/projects{query}"), &kronoberg);
    let refs = |page: &Value| -> Vec<String> {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["ref"].as_str().unwrap().to_string())
            .collect()
    };
    for (query, expected) in [
        ("?q=cykelled", vec!["KRO-1"]),
        // Case does not matter, Swedish letters included.
        ("?q=%C3%A5terbruk", vec!["KRO-2"]),
        ("?q=SM%C3%85LAND", vec!["KRO-3"]),
        // Every word, each in any of ref, title and organisation.
        ("?q=v%C3%A4xj%C3%B6%20linn%C3%A9", vec!["KRO-2"]),
        ("?q=kro-4", vec!["KRO-4"]),
        ("?q=region%20kronoberg", vec!["KRO-1", "KRO-3"]),
        ("?q=region%20kalmar", vec![]),
        ("?bransch=livsmedel", vec!["KRO-3"]),
        ("?bransch=kkn", vec!["KRO-1", "KRO-2"]),
        ("?project_type=forstudie", vec!["KRO-4"]),
        ("?fokusomrade=foretagande", vec!["KRO-1", "KRO-2", "KRO-3"]),
        ("?q=kronoberg&bransch=kkn", vec!["KRO-1"]),
        (
            "?q=kro&status=pagaende&sakomrade=innovation_foretagande",
            vec!["KRO-1", "KRO-2", "KRO-3", "KRO-4"],
        ),
    ] {
        let page = send(&app, list(query)).await.json();
        assert_eq!(refs(&page), expected, "{query}");
        assert_eq!(page["total"], json!(expected.len()), "{query}");
    }
    // A search pages like any list: the total counts every match, the page holds its part.
    let second = send(&app, list("?q=kro&page_size=3&page=2")).await.json();
    assert_eq!(refs(&second), ["KRO-4"]);
    assert_eq!(second["total"], 4);

    let long = "a".repeat(101);
    for (query, field) in [
        ("?q=".to_string(), "q"),
        ("?q=%20%20".to_string(), "q"),
        (format!("?q={long}"), "q"),
        ("?q=a%07b".to_string(), "q"),
        ("?bransch=inget".to_string(), "bransch"),
        ("?project_type=inget".to_string(), "project_type"),
        ("?fokusomrade=inget".to_string(), "fokusomrade"),
    ] {
        assert_eq!(
            send(&app, list(&query)).await.invalid_fields(),
            vec![field],
            "{query}"
        );
    }
    assert!(
        send(&app, list(&format!("?q={}", "%C3%A5".repeat(100))))
            .await
            .status
            == 200
    );
    // Another region's token is refused whatever it searches for.
    let kalmar = t.token(Role::Region, Some("08"));
    send(&app, get("/api/v1/regions/07/projects?q=cykelled", &kalmar))
        .await
        .problem(403);
    let national = t.token(Role::National, None);
    let page = send(
        &app,
        get("/api/v1/regions/07/projects?q=cykelled", &national),
    )
    .await
    .json();
    assert_eq!(refs(&page), ["KRO-1"]);
    assert_eq!(t.count("projects"), 4);
}

/// Runs `script` in the page and returns what it returns.
async fn read(client: &Client, script: &str) -> Value {
    client.execute(script, vec![]).await.unwrap()
}

/// Forgets that a view is drawn, so that the next `ready` waits for the next drawing.
async fn unready(client: &Client) {
    read(client, "delete document.body.dataset.ready; return null;").await;
}

async fn listed_refs(client: &Client) -> Vec<String> {
    serde_json::from_value(
        read(
            client,
            "return [...document.querySelectorAll('#projekt-list tbody tr')].map(r => r.dataset.key);",
        )
        .await,
    )
    .unwrap()
}

fn api_refs(page: &Value) -> Vec<String> {
    page["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["ref"].as_str().unwrap().to_string())
        .collect()
}

async fn no_violations(client: &Client, state: &str) {
    let violations = accessibility_violations(client).await;
    assert!(violations.is_empty(), "{state}: {violations:#?}");
}

async fn status(client: &Client) -> String {
    read(
        client,
        "return document.getElementById('projekt-status').textContent;",
    )
    .await
    .as_str()
    .unwrap()
    .to_string()
}

/// Presses Tab until the focused element's text is `wanted`.
async fn tab_to(client: &Client, wanted: &str) {
    let mut passed = Vec::new();
    loop {
        press(client, Key::Tab).await;
        let now = client.active_element().await.unwrap().text().await.unwrap();
        if now == wanted {
            return;
        }
        passed.push(now);
        assert!(passed.len() < 40, "Tab did not reach {wanted}: {passed:?}");
    }
}

async fn focused_text(client: &Client) -> String {
    client.active_element().await.unwrap().text().await.unwrap()
}

/// A project of region 07 with values and narratives in the demo data.
async fn reported_project(app: &impl crate::common::TestService, token: &str) -> Value {
    let page = send(app, get("/api/v1/regions/07/projects?page_size=500", token))
        .await
        .json();
    for listed in page["items"].as_array().unwrap() {
        let path = format!(
            "/api/v1/regions/07/projects/{}",
            listed["ref"].as_str().unwrap()
        );
        let project = send(app, get(&path, token)).await.json();
        if !project["narratives"].as_array().unwrap().is_empty()
            && !project["values"].as_array().unwrap().is_empty()
            && !project["indicators"].as_array().unwrap().is_empty()
        {
            return project;
        }
    }
    panic!("no demo project of Kronoberg with values and narratives")
}

/// The project as `PUT` takes it, with a new title: a second version that touches no figure.
fn retitled(project: &Value) -> Value {
    let mut input = serde_json::Map::new();
    for field in [
        "ref",
        "title",
        "organisation",
        "status",
        "project_type",
        "sakomrade",
        "fokusomrade",
        "effektkedja",
        "branscher",
        "verktyg",
        "syften",
        "start_date",
        "end_date",
        "granted_sek",
        "total_budget_sek",
        "indicators",
    ] {
        input.insert(field.into(), project[field].clone());
    }
    input.insert("title".into(), json!("Nytt namn på projektet"));
    Value::Object(input)
}

async fn the_projekt_view_in_a_browser(backend: Backend) {
    let Some(browser) = open_browser().await else {
        return;
    };
    let t = TestApp::start(backend);
    load_demo(&t);
    let (base, server) = serve(&t);
    let client = &browser.client;
    let kronoberg = t.token(Role::Region, Some("07"));
    let app = test::init_service(build_app(t.state.clone())).await;
    let chosen = reported_project(&app, &kronoberg).await;
    let reference = chosen["ref"].as_str().unwrap().to_string();
    let renamed = send(
        &app,
        put_json(
            &format!("/api/v1/regions/07/projects/{reference}"),
            &kronoberg,
            &retitled(&chosen),
        ),
    )
    .await;
    assert_eq!(renamed.status, 200, "{:?}", renamed.json());

    a_region_sees_its_own_list(client, &base, &kronoberg).await;
    search_and_a_filter_narrow_the_list(client, &base, &kronoberg, &chosen).await;
    the_project_page_shows_what_the_api_answers(client, &base, &kronoberg, &reference).await;
    another_regions_projects_are_refused(client, &base, &t).await;
    the_national_role_picks_any_region(client, &base, &t).await;
    let refused_by_policy: Vec<String> = console_messages(client)
        .await
        .into_iter()
        .filter(|m| m.contains("Content Security Policy"))
        .collect();
    assert!(refused_by_policy.is_empty(), "{refused_by_policy:?}");
    browser.client.clone().close().await.unwrap();
    server.stop(true).await;
}

async fn a_region_sees_its_own_list(client: &Client, base: &str, token: &str) {
    client.goto(&format!("{base}/dashboard/")).await.unwrap();
    sign_in(client, token).await;
    ready(client, "oversikt").await;
    // Keyboard alone, from the top of the page: Tab to the view, Enter opens it.
    client
        .goto(&format!("{base}/dashboard/?keyboard"))
        .await
        .unwrap();
    ready(client, "oversikt").await;
    tab_to(client, "Projekt").await;
    press(client, Key::Enter).await;
    ready(client, "projekt").await;
    assert_eq!(
        read(
            client,
            "return getComputedStyle(document.getElementById('p-region-choice')).display === 'none';"
        )
        .await,
        json!(true),
        "a region chooses no region"
    );
    let answer = api(base, token, "/regions/07/projects?page_size=25");
    assert_eq!(listed_refs(client).await, api_refs(&answer));
    assert!(
        status(client).await.contains("Kronoberg"),
        "{}",
        status(client).await
    );
    no_violations(client, "the list").await;
    screenshot(client, "projekt-list").await;
}

async fn search_and_a_filter_narrow_the_list(
    client: &Client,
    base: &str,
    token: &str,
    chosen: &Value,
) {
    let all = api(base, token, "/regions/07/projects?page_size=25");
    let reference = chosen["ref"].as_str().unwrap();
    // The search field by keyboard: typed, then Enter.
    client
        .find(Locator::Id("p-q"))
        .await
        .unwrap()
        .send_keys(reference)
        .await
        .unwrap();
    unready(client).await;
    press(client, Key::Enter).await;
    ready(client, "projekt").await;
    let searched = api(
        base,
        token,
        &format!("/regions/07/projects?page_size=25&q={reference}"),
    );
    assert_eq!(listed_refs(client).await, api_refs(&searched));
    assert!(api_refs(&searched).contains(&reference.to_string()));
    assert!(searched["total"].as_i64() < all["total"].as_i64());
    no_violations(client, "a search").await;
    client
        .find(Locator::Id("p-q"))
        .await
        .unwrap()
        .clear()
        .await
        .unwrap();

    // A status that fewer of the region's projects have than all.
    let statuses = api(base, token, "/classifications")["status"].clone();
    let (code, filtered) = statuses
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["code"].as_str().unwrap().to_string())
        .map(|code| {
            let page = api(
                base,
                token,
                &format!("/regions/07/projects?page_size=25&status={code}"),
            );
            (code, page)
        })
        .find(|(_, page)| page["total"].as_i64() < all["total"].as_i64())
        .expect("a status that narrows the list");
    unready(client).await;
    choose(client, "p-status", &code).await;
    ready(client, "projekt").await;
    assert_eq!(listed_refs(client).await, api_refs(&filtered));
    no_violations(client, "a filter").await;
    screenshot(client, "projekt-filtered").await;
    unready(client).await;
    choose(client, "p-status", "").await;
    ready(client, "projekt").await;
    assert_eq!(listed_refs(client).await, api_refs(&all));
}

async fn the_project_page_shows_what_the_api_answers(
    client: &Client,
    base: &str,
    token: &str,
    reference: &str,
) {
    let path = format!("/regions/07/projects/{reference}");
    let project = api(base, token, &path);
    let versions = api(base, token, &format!("{path}/versions"));
    let history = api(base, token, &format!("{path}/history"));
    let catalogue = api(base, token, "/indicators");
    let decimals = |code: &str| {
        catalogue
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["code"] == code)
            .map_or(2, |i| i["decimals"].as_u64().unwrap() as u32)
    };

    // By keyboard: from the search field, Tab to the project's link, Enter opens it.
    client
        .find(Locator::Id("p-q"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    tab_to(client, reference).await;
    press(client, Key::Enter).await;
    ready(client, "projekt-project").await;
    assert_eq!(
        client.current_url().await.unwrap().fragment(),
        Some(format!("projekt/07/{reference}").as_str())
    );
    assert_eq!(
        focused_text(client).await,
        format!("{reference} – Nytt namn på projektet")
    );

    let facts = read(
        client,
        "return Object.fromEntries([...document.querySelectorAll('#projekt-page .facts dd')]
            .map(d => [d.dataset.field, d.textContent]));",
    )
    .await;
    assert!(
        facts["Sakområde"]
            .as_str()
            .unwrap()
            .ends_with(&format!("({})", project["sakomrade"].as_str().unwrap()))
    );
    assert!(
        !facts["Sakområde"]
            .as_str()
            .unwrap()
            .starts_with(project["sakomrade"].as_str().unwrap()),
        "a name, not a code"
    );
    assert_eq!(facts["Startdatum"], project["start_date"]);
    assert_eq!(facts["Slutdatum"], project["end_date"]);
    assert_eq!(
        facts["Beviljat belopp"],
        json!(format!("{} kr", swedish(&project["granted_sek"], 0)))
    );
    assert_eq!(
        facts["Total budget"],
        json!(format!("{} kr", swedish(&project["total_budget_sek"], 0)))
    );

    // Each plan: baseline, target and the value of every half-year, as the API has them.
    let shown = read(
        client,
        "return Object.fromEntries([...document.querySelectorAll('#projekt-page section.plan')]
            .map(s => [s.dataset.indicator, Object.fromEntries([...s.querySelectorAll('tbody tr')]
                .map(r => [r.dataset.key, r.querySelector('[data-field=value]').textContent]))]));",
    )
    .await;
    let plans = project["indicators"].as_array().unwrap();
    assert_eq!(shown.as_object().unwrap().len(), plans.len());
    for plan in plans {
        let code = plan["indicator"].as_str().unwrap();
        let places = decimals(code);
        assert_eq!(
            shown[code]["baseline"],
            json!(swedish(&plan["baseline"], places)),
            "{code}"
        );
        assert_eq!(
            shown[code]["target"],
            json!(swedish(&plan["target"], places)),
            "{code}"
        );
        for value in project["values"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|v| v["indicator"] == code)
        {
            let period = value["period"].as_str().unwrap();
            assert_eq!(
                shown[code][period],
                json!(swedish(&value["value"], places)),
                "{code} {period}"
            );
        }
    }
    let canvases = read(
        client,
        "return document.querySelectorAll('#projekt-page section.plan canvas').length;",
    )
    .await;
    assert_eq!(
        canvases,
        json!(plans.len()),
        "a chart beside each plan's table"
    );

    let narratives = read(
        client,
        "return Object.fromEntries([...document.querySelectorAll('#projekt-page section.narrative')]
            .map(s => [s.dataset.period, Object.fromEntries([...s.querySelectorAll('dd')]
                .map(d => [d.dataset.field, d.textContent]))]));",
    )
    .await;
    let stated = project["narratives"].as_array().unwrap();
    assert_eq!(narratives.as_object().unwrap().len(), stated.len());
    for narrative in stated {
        let period = narrative["period"].as_str().unwrap();
        for field in ["progress", "lessons", "deviations"] {
            let text = narrative[field].as_str().unwrap();
            let expected = if text.is_empty() { "–" } else { text };
            assert_eq!(
                narratives[period][field],
                json!(expected),
                "{period} {field}"
            );
        }
    }

    let rows = read(
        client,
        "return [...document.querySelectorAll('#projekt-page section[aria-labelledby=projekt-versions] tbody tr')]
            .map(r => ({version: r.querySelector('[data-field=version]').textContent,
                        by: r.querySelector('[data-field=changed_by]').textContent,
                        changes: r.querySelector('[data-field=changes]').textContent}));",
    )
    .await;
    let versions = versions.as_array().unwrap();
    assert_eq!(rows.as_array().unwrap().len(), versions.len());
    assert!(versions.len() >= 2);
    for (row, version) in rows.as_array().unwrap().iter().zip(versions) {
        assert_eq!(row["version"], json!(version["valid_from"].to_string()));
        assert_eq!(row["by"], version["changed_by"]);
    }
    let last = rows.as_array().unwrap().last().unwrap()["changes"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        last.contains("Titel:") && last.contains("→ Nytt namn på projektet"),
        "{last}"
    );
    let changes = read(
        client,
        "return [...document.querySelectorAll('#projekt-page section[aria-labelledby=projekt-history] tbody tr')]
            .map(r => r.querySelector('[data-field=changed_by]').textContent);",
    )
    .await;
    let authors: Vec<Value> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["changed_by"].clone())
        .collect();
    assert_eq!(changes, json!(authors));

    no_violations(client, "a project's page").await;
    screenshot(client, "projekt-page").await;

    // Back to the list by keyboard: the link is just before the heading that has the focus;
    // the list returns with the focus on the project left.
    let back_by_shift_tab = {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        KeyActions::new("keyboard".into())
            .then(KeyAction::Down {
                value: Key::Shift.into(),
            })
            .then(KeyAction::Down {
                value: Key::Tab.into(),
            })
            .then(KeyAction::Up {
                value: Key::Tab.into(),
            })
            .then(KeyAction::Up {
                value: Key::Shift.into(),
            })
    };
    client.perform_actions(back_by_shift_tab).await.unwrap();
    assert_eq!(
        focused_text(client).await,
        "Tillbaka till projekten i Kronoberg"
    );
    press(client, Key::Enter).await;
    ready(client, "projekt").await;
    assert_eq!(focused_text(client).await, reference);
}

async fn another_regions_projects_are_refused(client: &Client, base: &str, t: &TestApp) {
    let national = t.token(Role::National, None);
    let kalmar = api(base, &national, "/regions/08/projects?page_size=1");
    let other = kalmar["items"][0]["ref"].as_str().unwrap().to_string();
    let kronoberg = t.token(Role::Region, Some("07"));
    let refused = ureq::get(&format!("{base}/api/v1/regions/08/projects/{other}"))
        .header("Authorization", &format!("Bearer {kronoberg}"))
        .call()
        .unwrap_err();
    assert!(matches!(refused, ureq::Error::StatusCode(403)));
    for hash in [format!("projekt/08/{other}"), "projekt/08".to_string()] {
        unready(client).await;
        read(client, &format!("location.hash = '#{hash}'; return null;")).await;
        ready(client, "projekt-refused").await;
        let said = status(client).await;
        assert!(
            said.contains("Du har inte behörighet") && said.contains("Kalmar"),
            "{said}"
        );
        let rows = read(
            client,
            "return document.querySelectorAll('#projekt-page .facts, #projekt-list:not([hidden]) tr').length;",
        )
        .await;
        assert_eq!(rows, json!(0), "nothing of Kalmar's is shown");
        let shown = read(
            client,
            "return document.querySelector('#projekt-list:not([hidden]) .error, #projekt-page:not([hidden]) .error').textContent;",
        )
        .await;
        assert_eq!(
            shown,
            json!(said),
            "said in the view, not only in its status line"
        );
        no_violations(client, "a refused project").await;
    }
    screenshot(client, "projekt-refused").await;
}

async fn the_national_role_picks_any_region(client: &Client, base: &str, t: &TestApp) {
    let national = t.token(Role::National, None);
    sign_out(client).await;
    read(client, "location.hash = '#projekt'; return null;").await;
    sign_in(client, &national).await;
    ready(client, "projekt").await;
    assert_eq!(
        read(
            client,
            "return getComputedStyle(document.getElementById('p-region-choice')).display === 'none';"
        )
        .await,
        json!(false)
    );
    // The list opens on the region chosen last (Kalmar, refused to Kronoberg's token above).
    for region in ["25", "08"] {
        unready(client).await;
        choose(client, "p-region", region).await;
        ready(client, "projekt").await;
        let answer = api(
            base,
            &national,
            &format!("/regions/{region}/projects?page_size=25"),
        );
        assert_eq!(listed_refs(client).await, api_refs(&answer), "{region}");
    }
    // And any region's project opens.
    let first = listed_refs(client).await[0].clone();
    unready(client).await;
    read(
        client,
        &format!("location.hash = '#projekt/08/{first}'; return null;"),
    )
    .await;
    ready(client, "projekt-project").await;
    let started = Instant::now();
    while !status(client).await.contains(&first) {
        assert!(started.elapsed() < Duration::from_secs(5));
    }
    no_violations(client, "the national list and page").await;
    screenshot(client, "projekt-national").await;
}
