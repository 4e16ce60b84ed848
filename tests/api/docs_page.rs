//! The API's documentation page (Swagger UI at `/docs/`) in a real browser, under its content
//! security policy: it draws every operation of the OpenAPI document, styled, and tries one
//! against the service, and the browser reports nothing the policy refused.

use std::time::{Duration, Instant};

use fantoccini::{Client, Locator};
use serde_json::{Value, json};

use crate::browser::{console_messages, open_browser, screenshot, serve};
use crate::common::{Backend, TestApp};

/// Waits until the page holds `count` elements matching `css`.
async fn wait_for(client: &Client, css: &str, count: usize) {
    let started = Instant::now();
    loop {
        let found = client.find_all(Locator::Css(css)).await.unwrap().len();
        if found >= count {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{css}: {found} of {count}; the console: {:?}",
            console_messages(client).await
        );
        actix_web::rt::time::sleep(Duration::from_millis(100)).await;
    }
}

#[actix_web::test]
async fn swagger_ui_works_under_its_content_security_policy() {
    let Some(browser) = open_browser().await else {
        return;
    };
    let t = TestApp::start(Backend::Sqlite);
    let (base, server) = serve(&t);
    let client = &browser.client;
    // The document the page draws (the operations test holds it equal to what is served).
    let document: Value = serde_json::from_str(include_str!("../../openapi/openapi.json")).unwrap();
    let operations: usize = document["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|path| path.as_object().unwrap().len())
        .sum();
    client.goto(&format!("{base}/docs")).await.unwrap();
    wait_for(client, ".opblock", operations).await;
    // The styles applied: an operation's method badge is coloured, not the browser's default.
    let badge = client
        .execute(
            "return getComputedStyle(document.querySelector('.opblock-summary-method')).backgroundColor;",
            vec![],
        )
        .await
        .unwrap();
    assert_ne!(badge, json!("rgba(0, 0, 0, 0)"), "Swagger UI's styles");
    // An operation tried from the page: the request goes to the service itself.
    let live = "#operations-health-live";
    client
        .find(Locator::Css(&format!("{live} .opblock-summary-control")))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    for button in [".try-out__btn", ".execute"] {
        client
            .wait()
            .for_element(Locator::Css(&format!("{live} {button}")))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }
    wait_for(
        client,
        &format!("{live} .live-responses-table tbody .response-col_status"),
        1,
    )
    .await;
    let status = client
        .find(Locator::Css(&format!(
            "{live} .live-responses-table tbody .response-col_status"
        )))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(status.trim(), "200");
    screenshot(client, "docs").await;
    let refused: Vec<String> = console_messages(client)
        .await
        .into_iter()
        .filter(|message| message.contains("Content Security Policy"))
        .collect();
    assert!(refused.is_empty(), "refused by the policy: {refused:#?}");
    browser.client.clone().close().await.unwrap();
    server.stop(true).await;
}
