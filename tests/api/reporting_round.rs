//! A whole reporting round in the browser (headless Chromium, the real server on each
//! backend): Kronoberg downloads its half-year's workbook from the page, uploads it with two
//! errors (a cell the reader cannot read, a value the checks refuse) and sees both cells
//! named in Swedish, fixes them (dropped on the page), stores it
//! and signs off as incomplete with a reason; Tillväxtverket, whose first return meets a
//! report changed meanwhile (412, the reload message), returns it with a comment; Kronoberg
//! reads the comment and signs off again; Tillväxtverket accepts it and, in bulk, Kalmar's,
//! and the `reports=accepted` figures follow. Every button is reached with Tab and pressed
//! with Enter, every choice of region and half-year made with the arrow keys; the file is chosen through the page's file input (as the picker hands it
//! over) and, once, dropped as a drop event carrying it. Every state is checked with
//! axe-core and saved as a screenshot.

use std::path::Path;
use std::time::{Duration, Instant};

use actix_web::test;
use fantoccini::{Client, Locator, key::Key};
use serde_json::{Value, json};

use crate::aggregates::load;
use crate::backend_tests;
use crate::browser::{
    accessibility_violations, console_messages, open_browser_saving_to, press, ready, screenshot,
    serve, sign_in, sign_out, text,
};
use crate::common::{Backend, TestApp, TestService, get, post_json, send};
use crate::spreadsheet::{Sheets, Typed, text as typed_text};
use uppfoljning::app::build_app;
use uppfoljning::auth::Role;

backend_tests!(
    a_reporting_round_in_the_browser,
    a_bulk_accept_checks_the_revision_read_of_each_report,
);

const H1: &str = "2026H1";

/// Waits until `script` (a function body) returns true in the page.
async fn until(client: &Client, script: &str, what: &str) {
    let started = Instant::now();
    loop {
        let value = client.execute(script, vec![]).await.unwrap();
        if value == json!(true) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what}: the page shows {:?}; alert {:?}",
            text(client, "main").await,
            client
                .execute(
                    "return document.getElementById('r-alert')?.textContent;",
                    vec![]
                )
                .await
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn state_shown(client: &Client, state: &str) {
    until(
        client,
        &format!("return document.getElementById('r-state')?.textContent === '{state}';"),
        &format!("the report is {state}"),
    )
    .await;
}

/// Moves the focus with Tab alone until it is on `css`.
async fn tab_to(client: &Client, css: &str) {
    let script = format!("return document.activeElement?.matches({css:?}) ?? false;");
    for _ in 0..300 {
        if client.execute(&script, vec![]).await.unwrap() == json!(true) {
            return;
        }
        press(client, Key::Tab).await;
    }
    panic!("Tab never reached {css}");
}

/// Moves the focus with Tab alone until it is on `css`, then presses Enter: what a person
/// without a mouse does.
async fn by_keyboard(client: &Client, css: &str) {
    tab_to(client, css).await;
    press(client, Key::Enter).await;
}

/// Chooses `value` in the select `id` without a mouse: Tab to it, then the arrow keys,
/// each of which changes the choice as it moves.
async fn choose_by_keyboard(client: &Client, id: &str, value: &str) {
    tab_to(client, &format!("#{id}")).await;
    let script = format!(
        "const select = document.getElementById({id:?});
         const wanted = [...select.options].findIndex(o => o.value === {value:?});
         if (wanted < 0) return 'absent';
         return wanted === select.selectedIndex ? 'chosen'
           : wanted > select.selectedIndex ? 'down' : 'up';"
    );
    for _ in 0..50 {
        match client.execute(&script, vec![]).await.unwrap().as_str() {
            Some("chosen") => return,
            Some("down") => press(client, Key::Down).await,
            Some("up") => press(client, Key::Up).await,
            other => panic!("#{id} has no option {value}: {other:?}"),
        }
    }
    panic!("the arrow keys never reached {value} in #{id}");
}

/// Types `words` into what has the focus, as a keyboard does.
async fn type_in(client: &Client, words: &str) {
    client
        .active_element()
        .await
        .unwrap()
        .send_keys(words)
        .await
        .unwrap();
}

/// No serious or critical WCAG 2.1 AA violation, no refusal by the content security
/// policy, and a screenshot to look at.
async fn checked(client: &Client, state: &str) {
    let violations = accessibility_violations(client).await;
    assert!(violations.is_empty(), "{state}: {violations:#?}");
    let refused: Vec<String> = console_messages(client)
        .await
        .into_iter()
        .filter(|m| m.contains("Content Security Policy") || m.contains("Uncaught"))
        .collect();
    assert!(refused.is_empty(), "{state}: {refused:#?}");
    screenshot(client, &format!("rapportering-{state}")).await;
}

/// Signs in as `token` and opens `region`'s report of 2026H1 in the workspace.
async fn open_report(client: &Client, base: &str, token: &str, region: &str) {
    client
        .goto(&format!("{base}/dashboard/#rapportering"))
        .await
        .unwrap();
    if client
        .find(Locator::Css("#sign-in:not([hidden])"))
        .await
        .is_err()
    {
        sign_out(client).await;
    }
    sign_in(client, token).await;
    ready(client, "rapportering").await;
    // The page stays loaded between sign-ins: forget which report the last one showed.
    client
        .execute("delete document.body.dataset.report;", vec![])
        .await
        .unwrap();
    choose_by_keyboard(client, "r-half-year", H1).await;
    choose_by_keyboard(client, "r-region", region).await;
    until(
        client,
        &format!("return (document.body.dataset.report ?? '').startsWith('{region}:{H1}:');"),
        "the report is open",
    )
    .await;
}

/// The file the page downloaded, once Chromium has finished writing it.
async fn downloaded(folder: &Path, name: &str) -> Vec<u8> {
    let path = folder.join(name);
    let started = Instant::now();
    while !path.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "nothing downloaded: {:?}",
            std::fs::read_dir(folder).unwrap().collect::<Vec<_>>()
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
    std::fs::read(path).unwrap()
}

async fn accepted_rcr01(app: &impl TestService, t: &TestApp) -> Value {
    let path = format!("/api/v1/aggregates?indicator=RCR01&period={H1}&reports=accepted");
    send(app, get(&path, &t.token(Role::National, None)))
        .await
        .json()["national"]["value"]
        .clone()
}

async fn a_reporting_round_in_the_browser(backend: Backend) {
    let folder = tempfile::tempdir().unwrap();
    let Some(browser) = open_browser_saving_to(Some(folder.path())).await else {
        return;
    };
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let (base, server) = serve(&t);
    let client = &browser.client;
    let kronoberg = t.token(Role::Region, Some("07"));
    let kalmar = t.token(Role::Region, Some("08"));
    let national = t.token(Role::National, None);

    // Kronoberg's workspace offers Kronoberg only, and nothing of Tillväxtverket's.
    open_report(client, &base, &kronoberg, "07").await;
    let regions = client
        .execute(
            "return [...document.querySelectorAll('#r-region option')].map(o => o.value);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(regions, json!(["07"]));
    let elsewhere = client
        .execute(
            "return [...document.querySelectorAll('main button')]
               .filter(b => b.offsetParent !== null && !b.closest('#rapportering-table tr[data-key=\"07\"]'))
               .map(b => b.id || b.textContent);",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(
        elsewhere,
        json!(["r-submit", "r-download"]),
        "a region acts on its own report only"
    );
    assert_eq!(text(client, "#r-review").await, "");
    checked(client, "region").await;

    // The workbook, downloaded with its button.
    by_keyboard(client, "#r-download").await;
    let workbook = downloaded(folder.path(), "rapport_07_2026H1.xlsx").await;
    let template = send(
        &app,
        get(
            &format!("/api/v1/regions/07/reports/{H1}/template"),
            &kronoberg,
        ),
    )
    .await;
    assert_eq!(
        Sheets::read(&workbook).0,
        Sheets::read(&template.body).0,
        "the page saved the API's workbook"
    );

    // Two errors: a word the reader cannot read as a number, and a value below zero that
    // the checks refuse; the first does not hide the second.
    let original = Sheets::read(&workbook);
    let mut wrong = Sheets(original.0.clone());
    let word_row = wrong.row_of("Värden", &["B", H1, "RCR01"]);
    wrong.set("Värden", word_row, 6, typed_text("tolv"));
    let value_row = wrong.row_of("Värden", &["A", H1, "RCR01"]);
    wrong.set("Värden", value_row, 6, Typed::Number(-1.0));
    let wrong = wrong.write_from(&workbook);
    let wrong_path = folder.path().join("ifylld.xlsx");
    std::fs::write(&wrong_path, &wrong).unwrap();
    let before = [t.count("value_revisions"), t.count("project_history")];
    client
        .find(Locator::Id("r-file"))
        .await
        .unwrap()
        .send_keys(wrong_path.to_str().unwrap())
        .await
        .unwrap();
    until(
        client,
        "return document.querySelectorAll('#r-upload-result tbody tr').length === 2;",
        "both errors listed",
    )
    .await;
    let places = client
        .execute(
            "return [...document.querySelectorAll('#r-upload-result tbody [data-field=place]')].map(c => c.textContent);",
            vec![],
        )
        .await
        .unwrap();
    let mut places: Vec<String> = serde_json::from_value(places).unwrap();
    places.sort();
    let mut named = vec![
        format!("Värden!G{}", value_row + 1),
        format!("Värden!G{}", word_row + 1),
    ];
    named.sort();
    assert_eq!(places, named);
    // The messages are the API's own, in Swedish.
    let swedish = send(
        &app,
        test::TestRequest::post()
            .uri("/api/v1/regions/07/submissions?dry_run=true")
            .insert_header(("Authorization", format!("Bearer {kronoberg}")))
            .insert_header(("Content-Type", crate::workbooks::XLSX))
            .insert_header(("Accept-Language", "sv"))
            .set_payload(wrong.clone()),
    )
    .await
    .json();
    let messages = client
        .execute(
            "return [...document.querySelectorAll('#r-upload-result tbody [data-field=message]')].map(c => c.textContent);",
            vec![],
        )
        .await
        .unwrap();
    let expected: Vec<Value> = swedish["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["message"].clone())
        .collect();
    assert_eq!(messages, json!(expected));
    assert!(
        text(client, "#r-result-title")
            .await
            .contains("ingenting sparades")
    );
    assert_eq!(
        [t.count("value_revisions"), t.count("project_history")],
        before,
        "a dry run stores nothing"
    );
    checked(client, "upload-errors").await;

    // A CSV file's errors are named by line and column.
    let csv_path = folder.path().join("varden.csv");
    std::fs::write(
        &csv_path,
        "project_ref,indicator,period,value\nA,RCR01,2026H1,abc\n",
    )
    .unwrap();
    client
        .find(Locator::Id("r-file"))
        .await
        .unwrap()
        .send_keys(csv_path.to_str().unwrap())
        .await
        .unwrap();
    until(
        client,
        "return (document.getElementById('r-result-title')?.textContent ?? '').startsWith('varden.csv');",
        "the CSV file checked",
    )
    .await;
    assert_eq!(
        text(client, "#r-upload-result tbody [data-field=place]").await,
        "rad 2, kolumn value"
    );
    checked(client, "upload-csv-errors").await;

    // Fixed, with A's RCR01 corrected, and dropped on the page.
    let mut fixed = Sheets(original.0.clone());
    let a_row = fixed.row_of("Värden", &["A", H1, "RCR01"]);
    fixed.set("Värden", a_row, 6, Typed::Number(0.3));
    let fixed = fixed.write_from(&workbook);
    client
        .execute(
            "const file = new File([new Uint8Array(arguments[0])], 'rapport_07_2026H1.xlsx');
             const data = new DataTransfer();
             data.items.add(file);
             const zone = document.getElementById('r-drop');
             zone.dispatchEvent(new DragEvent('dragover', {dataTransfer: data, bubbles: true, cancelable: true}));
             zone.dispatchEvent(new DragEvent('drop', {dataTransfer: data, bubbles: true, cancelable: true}));",
            vec![json!(fixed)],
        )
        .await
        .unwrap();
    client
        .wait()
        .for_element(Locator::Id("r-store"))
        .await
        .unwrap();
    assert_eq!(
        text(
            client,
            "#r-upload-result tr[data-key=values] td[data-field=updated]"
        )
        .await,
        "1"
    );
    assert_eq!(
        [t.count("value_revisions"), t.count("project_history")],
        before
    );
    checked(client, "upload-checked").await;
    by_keyboard(client, "#r-store").await;
    until(
        client,
        "return (document.getElementById('r-result-title')?.textContent ?? '').endsWith('är sparad');",
        "stored",
    )
    .await;
    assert_eq!(
        text(
            client,
            "#r-upload-result tr[data-key=values] td[data-field=updated]"
        )
        .await,
        "1"
    );
    assert_eq!(t.count("value_revisions"), before[0] + 1);
    checked(client, "upload-stored").await;

    // Signed off as incomplete: the reason is asked for, and required.
    let missing = text(client, "#r-missing").await;
    assert!(missing.contains("halvårets berättelse"), "{missing}");
    by_keyboard(client, "#r-submit").await;
    client
        .wait()
        .for_element(Locator::Css("dialog[open] #r-dialog-comment"))
        .await
        .unwrap();
    checked(client, "dialog-sign-off").await;
    by_keyboard(client, "dialog[open] button[type=submit]").await;
    until(
        client,
        "return document.getElementById('r-dialog-error')?.textContent.length > 0;",
        "the reason is required",
    )
    .await;
    checked(client, "dialog-reason-required").await;
    type_in(client, "Berättelserna kommer i augusti").await;
    by_keyboard(client, "dialog[open] button[type=submit]").await;
    state_shown(client, "Inskickad").await;
    assert!(client.find(Locator::Id("r-submit")).await.is_err());
    checked(client, "signed-off").await;
    // Taken back, and signed off again.
    by_keyboard(client, "#r-withdraw").await;
    by_keyboard(client, "dialog[open] button[type=submit]").await;
    state_shown(client, "Öppen").await;
    by_keyboard(client, "#r-submit").await;
    type_in(client, "Berättelserna kommer i augusti").await;
    by_keyboard(client, "dialog[open] button[type=submit]").await;
    state_shown(client, "Inskickad").await;

    // Tillväxtverket reviews; meanwhile Kronoberg withdraws and signs off again by API.
    open_report(client, &base, &national, "07").await;
    assert!(
        text(client, "#r-accept-all").await.ends_with("(1)"),
        "one submitted report"
    );
    assert!(
        client.find(Locator::Id("r-file")).await.is_err(),
        "national uploads nothing"
    );
    checked(client, "national").await;
    // Escape closes a dialog without doing anything, and gives the focus back.
    by_keyboard(client, "#r-return").await;
    press(client, Key::Escape).await;
    until(
        client,
        "return !document.querySelector('dialog') && document.activeElement.id === 'r-return';",
        "the dialog closed",
    )
    .await;
    state_shown(client, "Inskickad").await;
    for (transition, body) in [
        ("withdraw", json!({})),
        ("submit", json!({"incomplete": true, "comment": "Igen"})),
    ] {
        send(
            &app,
            post_json(
                &format!("/api/v1/regions/07/reports/{H1}/{transition}"),
                &kronoberg,
                &body,
            ),
        )
        .await
        .ok();
    }
    by_keyboard(client, "#r-return").await;
    type_in(client, "Fyll i berättelsen för A").await;
    by_keyboard(client, "dialog[open] button[type=submit]").await;
    until(
        client,
        "return document.getElementById('r-alert').textContent.startsWith('Någon annan har ändrat rapporten');",
        "the reload message",
    )
    .await;
    until(
        client,
        "return document.getElementById('r-details').textContent.includes('Igen');",
        "the report reloaded",
    )
    .await;
    state_shown(client, "Inskickad").await;
    checked(client, "stale").await;
    by_keyboard(client, "#r-return").await;
    type_in(client, "Fyll i berättelsen för A").await;
    by_keyboard(client, "dialog[open] button[type=submit]").await;
    state_shown(client, "Återsänd").await;
    assert_eq!(text(client, "#r-alert").await, "");

    // Kronoberg reads the comment and signs off again; nothing of Tillväxtverket's is left.
    open_report(client, &base, &kronoberg, "07").await;
    assert_eq!(text(client, "#r-review").await, "");
    let notice = text(client, "#r-returned").await;
    assert!(notice.contains("Fyll i berättelsen för A"), "{notice}");
    checked(client, "returned").await;
    by_keyboard(client, "#r-submit").await;
    type_in(client, "Berättelsen för A kommer i augusti").await;
    by_keyboard(client, "dialog[open] button[type=submit]").await;
    state_shown(client, "Inskickad").await;

    // Tillväxtverket accepts Kronoberg's with a comment, then every submitted one at once.
    assert_eq!(accepted_rcr01(&app, &t).await, Value::Null);
    send(
        &app,
        post_json(
            &format!("/api/v1/regions/08/reports/{H1}/submit"),
            &kalmar,
            &json!({"incomplete": true, "comment": "Kalmar"}),
        ),
    )
    .await
    .ok();
    open_report(client, &base, &national, "07").await;
    by_keyboard(client, "#r-accept").await;
    type_in(client, "Godkänd efter komplettering").await;
    by_keyboard(client, "dialog[open] button[type=submit]").await;
    state_shown(client, "Godkänd").await;
    assert_eq!(
        accepted_rcr01(&app, &t).await,
        json!(1.8),
        "A's 0.3 and B's 1.5"
    );
    let history = text(client, "#r-details").await;
    for said in [
        "Godkänd efter komplettering",
        "Fyll i berättelsen för A",
        "Berättelserna kommer i augusti",
    ] {
        assert!(history.contains(said), "{said}: {history}");
    }
    assert!(
        history.contains("halvårets berättelse"),
        "what was missing at each sign-off: {history}"
    );
    until(
        client,
        "return (document.getElementById('r-accept-all')?.textContent ?? '').endsWith('(1)');",
        "Kalmar waits",
    )
    .await;
    by_keyboard(client, "#r-accept-all").await;
    client
        .wait()
        .for_element(Locator::Css("dialog[open]"))
        .await
        .unwrap();
    checked(client, "dialog-accept-all").await;
    by_keyboard(client, "dialog[open] button[type=submit]").await;
    until(
        client,
        "return document.querySelector('#r-review tr[data-key=\"08\"] [data-field=state]')?.textContent === 'Godkänd';",
        "Kalmar accepted",
    )
    .await;
    assert_eq!(accepted_rcr01(&app, &t).await, json!(3.8), "and C's 2");
    checked(client, "accepted").await;

    // An admin works on any region's report: Kalmar's workbook can be uploaded, and the
    // accepted report returned.
    open_report(client, &base, &t.admin(), "08").await;
    let options = client
        .execute(
            "return document.querySelectorAll('#r-region option').length;",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(options, json!(21));
    assert!(client.find(Locator::Id("r-file")).await.is_ok());
    assert!(client.find(Locator::Id("r-return")).await.is_ok());
    assert!(client.find(Locator::Id("r-submit")).await.is_err());
    browser.client.clone().close().await.unwrap();
    server.stop(true).await;
}

/// `POST /reports/{period}/accept` with the revisions read: a report changed since is a
/// 412, a revision for a region not listed a 422, and in both nothing is accepted.
async fn a_bulk_accept_checks_the_revision_read_of_each_report(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    load(&t, &app).await;
    let national = t.token(Role::National, None);
    for region in ["07", "08"] {
        send(
            &app,
            post_json(
                &format!("/api/v1/regions/{region}/reports/{H1}/submit"),
                &t.token(Role::Region, Some(region)),
                &json!({"incomplete": true, "comment": "Snart"}),
            ),
        )
        .await
        .ok();
    }
    let read = |region: &str| format!("/api/v1/regions/{region}/reports/{H1}");
    let kronoberg = send(&app, get(&read("07"), &national)).await.json();
    let kalmar = send(&app, get(&read("08"), &national)).await.json();
    let accept = format!("/api/v1/reports/{H1}/accept");
    let states = || async {
        let reports = send(
            &app,
            get(&format!("/api/v1/reports?period={H1}"), &national),
        )
        .await
        .json();
        reports
            .as_array()
            .unwrap()
            .iter()
            .filter(|r| r["region"] == "07" || r["region"] == "08")
            .map(|r| r["state"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };

    // A revision for a region not among those to accept, or not a region at all.
    for revisions in [json!({"09": 1}), json!({"xx": 1})] {
        let reply = send(
            &app,
            post_json(
                &accept,
                &national,
                &json!({"regions": ["07", "08"], "revisions": revisions}),
            ),
        )
        .await;
        let problem = reply.problem(422);
        assert_eq!(problem["errors"][0]["code"], "not_listed", "{problem}");
        assert_eq!(states().await, ["submitted", "submitted"]);
    }
    let reply = send(
        &app,
        post_json(
            &accept,
            &national,
            &json!({"regions": ["07"], "revisions": {"07": "tre"}}),
        ),
    )
    .await;
    assert!(reply.status.is_client_error(), "a revision is a number");
    assert_eq!(states().await, ["submitted", "submitted"]);

    // Kalmar withdraws and signs off again after the list was read: nothing is accepted.
    let kalmar_token = t.token(Role::Region, Some("08"));
    for (transition, body) in [
        ("withdraw", json!({})),
        ("submit", json!({"incomplete": true, "comment": "Igen"})),
    ] {
        send(
            &app,
            post_json(
                &format!("/api/v1/regions/08/reports/{H1}/{transition}"),
                &kalmar_token,
                &body,
            ),
        )
        .await
        .ok();
    }
    let read_at = json!({"07": kronoberg["revision"], "08": kalmar["revision"]});
    let body = json!({"regions": ["07", "08"], "revisions": read_at});
    send(&app, post_json(&accept, &national, &body))
        .await
        .problem(412);
    assert_eq!(states().await, ["submitted", "submitted"]);

    // Read again, both are accepted.
    let kalmar = send(&app, get(&read("08"), &national)).await.json();
    let read_at = json!({"07": kronoberg["revision"], "08": kalmar["revision"]});
    let body = json!({"regions": ["07", "08"], "revisions": read_at});
    let accepted = send(&app, post_json(&accept, &national, &body)).await;
    accepted.ok();
    assert_eq!(states().await, ["accepted", "accepted"]);
}
