//! A real browser for the dashboard's tests: Debian's headless Chromium driven over WebDriver
//! (`chromedriver`, by fantoccini), the real server listening on a port, and the steps a
//! person takes (sign in, choose, press a key), axe-core and screenshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use actix_web::{HttpServer, dev::ServerHandle};
use fantoccini::actions::{InputSource, KeyAction, KeyActions};
use fantoccini::{Client, ClientBuilder, Locator, key::Key};
use serde_json::{Value, json};

use crate::common::TestApp;
use uppfoljning::app::build_app;

const AXE: &str = include_str!("../vendor/axe-core-4.11.0.min.js");

/// The browser and its driver, stopped when dropped.
pub struct Browser {
    driver: Child,
    pub client: Client,
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn executable(variable: &str, default: &str) -> Option<PathBuf> {
    let path = PathBuf::from(std::env::var(variable).unwrap_or_else(|_| default.into()));
    path.exists().then_some(path)
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub async fn open_browser() -> Option<Browser> {
    open_browser_saving_to(None).await
}

/// The browser, saving what a page downloads into `downloads` when given (Chromium's own
/// preferences, which chromedriver also applies to a headless browser).
pub async fn open_browser_saving_to(downloads: Option<&Path>) -> Option<Browser> {
    let (Some(chromium), Some(chromedriver)) = (
        executable("CHROMIUM", "/usr/bin/chromium"),
        executable("CHROMEDRIVER", "/usr/bin/chromedriver"),
    ) else {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the browser test: .ci/run installs chromium and chromium-driver"
        );
        eprintln!("Chromium or chromedriver not found: the dashboard is not tested in a browser");
        return None;
    };
    let port = free_port();
    let driver = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start chromedriver");
    let prefs = match downloads {
        Some(folder) => json!({
            "download.default_directory": folder,
            "download.prompt_for_download": false,
        }),
        None => json!({}),
    };
    let capabilities = json!({
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1400,1800", "--lang=sv-SE"],
            "prefs": prefs,
        },
        // What the page writes to its console, and what a content security policy refuses.
        "goog:loggingPrefs": {"browser": "ALL"},
    });
    let capabilities = capabilities.as_object().unwrap().clone();
    let started = Instant::now();
    loop {
        let connected =
            ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
                .capabilities(capabilities.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await;
        match connected {
            Ok(client) => return Some(Browser { driver, client }),
            Err(error) if started.elapsed() > Duration::from_secs(20) => {
                panic!("chromedriver did not answer: {error}")
            }
            Err(_) => actix_web::rt::time::sleep(Duration::from_millis(100)).await,
        }
    }
}

/// The real server on a free port, over the test's database.
pub fn serve(t: &TestApp) -> (String, ServerHandle) {
    let state = t.state.clone();
    let server = HttpServer::new(move || build_app(state.clone()))
        .workers(2)
        .bind("127.0.0.1:0")
        .unwrap();
    let address = server.addrs()[0];
    let server = server.run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    (format!("http://{address}"), handle)
}

/// The API's answer to `path`, asked over HTTP as the page asks it.
pub fn api(base: &str, token: &str, path: &str) -> Value {
    let mut response = ureq::get(&format!("{base}/api/v1{path}"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap()
}

/// Waits until the view has drawn its figures.
pub async fn ready(client: &Client, view: &str) {
    let started = Instant::now();
    loop {
        let done = client
            .execute("return document.body.dataset.ready || null;", vec![])
            .await
            .unwrap();
        if done == json!(view) {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{view} did not finish; status: {:?}",
            client
                .execute(
                    "return [...document.querySelectorAll('.status')].map(s => s.textContent);",
                    vec![]
                )
                .await
        );
        actix_web::rt::time::sleep(Duration::from_millis(50)).await;
    }
}

pub async fn text(client: &Client, css: &str) -> String {
    client
        .find(Locator::Css(css))
        .await
        .unwrap_or_else(|e| panic!("{css}: {e}"))
        .text()
        .await
        .unwrap()
}

/// Presses a key as a keyboard does: to whatever has the focus.
pub async fn press(client: &Client, key: Key) {
    let keyboard = KeyActions::new("keyboard".into())
        .then(KeyAction::Down { value: key.into() })
        .then(KeyAction::Up { value: key.into() });
    client.perform_actions(keyboard).await.unwrap();
}

/// Chooses `value` in the select `id`, as a person does, and lets the page react.
pub async fn choose(client: &Client, id: &str, value: &str) {
    client
        .find(Locator::Css(&format!("#{id} option[value='{value}']")))
        .await
        .unwrap_or_else(|e| panic!("#{id} has no option {value}: {e}"))
        .click()
        .await
        .unwrap();
}

/// Presses "Logga ut".
pub async fn sign_out(client: &Client) {
    client
        .find(Locator::Id("sign-out"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

pub async fn sign_in(client: &Client, token: &str) {
    // The form shows once the page has asked the service which way people sign in.
    let field = client
        .wait()
        .for_element(Locator::Css("#token-sign-in:not([hidden]) #token"))
        .await
        .unwrap();
    field.clear().await.unwrap();
    field.send_keys(token).await.unwrap();
    client
        .find(Locator::Css("#sign-in-form button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
}

/// axe-core's serious and critical WCAG 2.1 A/AA violations on the page as it is now.
pub async fn accessibility_violations(client: &Client) -> Vec<Value> {
    client.execute(AXE, vec![]).await.unwrap();
    let found = client
        .execute_async(
            "const done = arguments[arguments.length - 1];
             axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                                       nodes: v.nodes.map(n => n.target.join(' '))}))))
                .catch(e => done([{id: 'axe-failed', impact: 'critical', help: String(e)}]));",
            vec![],
        )
        .await
        .unwrap();
    found
        .as_array()
        .unwrap()
        .iter()
        .filter(|v| v["impact"] == "serious" || v["impact"] == "critical")
        .cloned()
        .collect()
}

/// Chromium's log of the page's console (chromedriver's own command, not in W3C WebDriver).
#[derive(Debug)]
struct BrowserLog;

impl fantoccini::wd::WebDriverCompatibleCommand for BrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/se/log",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (http::Method, Option<String>) {
        (http::Method::POST, Some(r#"{"type": "browser"}"#.into()))
    }
}

/// The console messages written since the last call, where Chromium also reports every
/// script, style, image or request a content security policy refused.
pub async fn console_messages(client: &Client) -> Vec<String> {
    let log = client.issue_cmd(BrowserLog).await.unwrap();
    log.as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["message"].as_str().unwrap_or_default().to_string())
        .collect()
}

pub async fn screenshot(client: &Client, name: &str) {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/dashboard-screenshots");
    std::fs::create_dir_all(&folder).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(folder.join(format!("{name}.png")), png).unwrap();
}
