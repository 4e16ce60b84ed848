//! Sign-in with a real OpenID provider: `oidc-provider` from the npm registry (installed by
//! .ci/run into target/oidc-provider), started by the tests with `tests/oidc/provider.js`,
//! its own login form filled in as a person does, over HTTP or in Chromium.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use actix_web::{HttpServer, dev::ServerHandle, web};
use base64::Engine;
use diesel::RunQueryDsl;
use fantoccini::Locator;
use serde_json::{Value, json};

use crate::backend_tests;
use crate::browser::{open_browser, screenshot, sign_out, text};
use crate::child_server::free_port;
use crate::common::{Backend, SECRET, TestApp};
use uppfoljning::app::build_app;
use uppfoljning::config::OidcConfig;
use uppfoljning::state::AppState;

const CLIENT_SECRET: &str = "uppfoljning-test-secret";
const SESSION: &str = "__Host-uppfoljning-session";
/// RFC 7636's example pair, for the tests' own requests as another client.
const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// The provider, stopped when dropped.
struct Provider {
    process: Child,
    issuer: String,
}

impl Drop for Provider {
    fn drop(&mut self) {
        let _ = self.process.kill();
        let _ = self.process.wait();
    }
}

fn modules() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/oidc-provider")
}

/// Starts the provider on `port` as `issuer` for a service on `service_port`; `None` (with a
/// message) outside CI when node or the package is missing.
fn start_provider(port: u16, issuer: &str, service_port: u16) -> Option<Provider> {
    start_provider_with(port, issuer, service_port, &[])
}

/// As `start_provider`, with files named to the provider by environment variables: with
/// `OIDC_PROVIDER_KEYS`, it rotates the keys kept in that file (its new key signs, and the
/// keys of its earlier starts stay published); with `OIDC_PROVIDER_CHANGES`, the claims
/// that file holds by login name replace the people's own at their next sign-in.
fn start_provider_with(
    port: u16,
    issuer: &str,
    service_port: u16,
    files: &[(&str, &Path)],
) -> Option<Provider> {
    let installed = modules().join("node_modules/oidc-provider").exists();
    let node = Command::new("node").arg("--version").output().is_ok();
    if !(installed && node) {
        assert!(
            std::env::var_os("CI").is_none(),
            "CI runs the sign-in tests: .ci/run installs nodejs and oidc-provider"
        );
        eprintln!("node or target/oidc-provider missing: sign-in with a provider not tested");
        return None;
    }
    let mut command = Command::new("node");
    command
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/oidc/provider.js"))
        .args([
            port.to_string(),
            issuer.to_string(),
            format!("http://localhost:{service_port}/auth/callback"),
            format!("http://localhost:{service_port}/dashboard/"),
        ])
        .env("OIDC_PROVIDER_MODULES", modules())
        .envs(files.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut process = command.spawn().expect("start node");
    let mut output = BufReader::new(process.stdout.take().unwrap());
    let mut ready = String::new();
    output.read_line(&mut ready).unwrap();
    assert_eq!(ready.trim(), "ready", "the provider did not start");
    // The provider writes notices to its output later: read until it ends, or its next
    // write would end it.
    std::thread::spawn(move || for _ in output.lines() {});
    Some(Provider {
        process,
        issuer: issuer.to_string(),
    })
}

/// The service's settings for the provider, its callback on `service_port`.
fn oidc_config(issuer: &str, service_port: u16) -> OidcConfig {
    OidcConfig {
        issuer: issuer.to_string(),
        client_id: "uppfoljning".into(),
        client_secret: CLIENT_SECRET.into(),
        redirect_url: format!("http://localhost:{service_port}/auth/callback"),
        roles_claim: "roles".into(),
        lan_claim: "lan".into(),
        role_map: Vec::new(),
        session_idle_seconds: 1800,
        session_lifetime_seconds: 3600,
    }
}

/// A port for the service, held from the moment the provider is told of it until the
/// service serves on it: a port only looked up may be taken meanwhile by another test.
fn held_port() -> (std::net::TcpListener, u16) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    (listener, port)
}

/// The real server over `state` on `listener`, started: its workers start when the
/// runtime first runs the server's task, which this waits for, so that the test may then
/// call it from this thread.
async fn serve_at(state: web::Data<AppState>, listener: std::net::TcpListener) -> ServerHandle {
    let port = listener.local_addr().unwrap().port();
    let server = HttpServer::new(move || build_app(state.clone()))
        .workers(2)
        .listen(listener)
        .unwrap()
        .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    for _ in 0..100 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        let live = ureq::get(&format!("http://127.0.0.1:{port}/health/live")).call();
        if live.is_ok() {
            return handle;
        }
    }
    panic!("the server did not start");
}

/// A provider, and the service on the same database configured for it.
struct Setup {
    t: TestApp,
    provider: Provider,
    base: String,
    server: ServerHandle,
}

async fn setup(backend: Backend) -> Option<Setup> {
    let (provider_port, (service, service_port)) = (free_port(), held_port());
    let issuer = format!("http://localhost:{provider_port}");
    let provider = start_provider(provider_port, &issuer, service_port)?;
    let t = TestApp::start_with(backend, |config| {
        config.oidc = Some(oidc_config(&issuer, service_port));
    });
    let server = serve_at(t.state.clone(), service).await;
    Some(Setup {
        t,
        provider,
        base: format!("http://localhost:{service_port}"),
        server,
    })
}

/// A person's browser without the browser: an agent that follows no redirects and keeps
/// cookies by name (every server here is on localhost).
struct Person {
    agent: ureq::Agent,
    cookies: BTreeMap<String, String>,
}

struct Answer {
    status: u16,
    location: Option<String>,
    set_cookies: Vec<String>,
    body: String,
}

impl Person {
    fn new() -> Person {
        Person {
            agent: ureq::Agent::new_with_config(
                ureq::Agent::config_builder()
                    .http_status_as_error(false)
                    .max_redirects(0)
                    .max_redirects_will_error(false)
                    .timeout_global(Some(std::time::Duration::from_secs(20)))
                    .build(),
            ),
            cookies: BTreeMap::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, mut response: ureq::http::Response<ureq::Body>) -> Answer {
        let set_cookies: Vec<String> = response
            .headers()
            .get_all("set-cookie")
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for line in &set_cookies {
            let (name, value) = line.split(';').next().unwrap().split_once('=').unwrap();
            if value.is_empty() || line.to_ascii_lowercase().contains("max-age=0") {
                self.cookies.remove(name);
            } else {
                self.cookies.insert(name.to_string(), value.to_string());
            }
        }
        Answer {
            status: response.status().as_u16(),
            location: response
                .headers()
                .get("location")
                .map(|v| v.to_str().unwrap().to_string()),
            set_cookies,
            body: response.body_mut().read_to_string().unwrap_or_default(),
        }
    }

    fn get(&mut self, url: &str) -> Answer {
        let response = self
            .agent
            .get(url)
            .header("Cookie", &self.cookie_header())
            .call()
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        self.keep(response)
    }

    /// A request that changes state, with the CSRF token when given.
    fn post(&mut self, url: &str, csrf: Option<&str>, body: &Value) -> Answer {
        let mut request = self
            .agent
            .post(url)
            .header("Cookie", &self.cookie_header())
            .header("Content-Type", "application/json");
        if let Some(csrf) = csrf {
            request = request.header("X-CSRF-Token", csrf);
        }
        let response = request
            .send(body.to_string())
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.keep(response)
    }

    fn post_form(&mut self, url: &str, form: &[(&str, &str)]) -> Answer {
        let response = self
            .agent
            .post(url)
            .header("Cookie", &self.cookie_header())
            .send_form(form.iter().copied())
            .unwrap_or_else(|e| panic!("POST {url}: {e}"));
        self.keep(response)
    }

    /// Signs in at the provider's own login form from its authorization URL, as `login`;
    /// the URL the provider sends the browser back to (the service's callback).
    fn at_provider(&mut self, authorization_url: &str, login: &str) -> String {
        let origin = authorization_url
            .split('/')
            .take(3)
            .collect::<Vec<_>>()
            .join("/");
        let mut url = authorization_url.to_string();
        for _ in 0..10 {
            let answer = self.get(&url);
            if answer.status == 200 && url.contains("/interaction/") {
                assert!(
                    answer.body.contains("value=\"login\""),
                    "the provider's login form: {}",
                    answer.body
                );
                let posted = self.post_form(
                    &url,
                    &[("prompt", "login"), ("login", login), ("password", "x")],
                );
                url = absolute(&origin, posted.location.as_deref().expect("after login"));
                continue;
            }
            let next = answer
                .location
                .unwrap_or_else(|| panic!("{url}: {} {}", answer.status, answer.body));
            let next = absolute(&origin, &next);
            if !next.starts_with(&origin) {
                return next;
            }
            url = next;
        }
        panic!("the provider never sent the browser back");
    }

    /// Begins a sign-in at the service: the provider's authorization URL.
    fn begin(&mut self, base: &str) -> String {
        let answer = self.get(&format!("{base}/auth/login"));
        assert_eq!(answer.status, 302, "{}", answer.body);
        answer.location.unwrap()
    }

    /// Signs in through the service as `login`; the callback's answer.
    fn sign_in(&mut self, base: &str, login: &str) -> Answer {
        let authorization = self.begin(base);
        let callback = self.at_provider(&authorization, login);
        self.get(&callback)
    }

    fn session(&mut self, base: &str) -> Value {
        serde_json::from_str(&self.get(&format!("{base}/auth/session")).body).unwrap()
    }
}

fn absolute(origin: &str, location: &str) -> String {
    if location.starts_with('/') {
        format!("{origin}{location}")
    } else {
        location.to_string()
    }
}

/// `url` with its query parameter `name` set to `value`.
fn with_parameter(url: &str, name: &str, value: &str) -> String {
    let mut parsed = url::Url::parse(url).unwrap();
    let pairs: Vec<(String, String)> = parsed
        .query_pairs()
        .map(|(k, v)| {
            let v = if k == name {
                value.to_string()
            } else {
                v.into_owned()
            };
            (k.into_owned(), v)
        })
        .collect();
    parsed.query_pairs_mut().clear().extend_pairs(pairs);
    parsed.to_string()
}

fn parameter(url: &str, name: &str) -> String {
    url::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_else(|| panic!("{url} has no {name}"))
}

fn metrics() -> String {
    uppfoljning::observability::handle().render()
}

fn sign_ins_counted(outcome: &str, reason: &str) -> f64 {
    let series = format!("sign_ins_total{{outcome=\"{outcome}\",reason=\"{reason}\"}} ");
    metrics()
        .lines()
        .find_map(|line| line.strip_prefix(&series))
        .map_or(0.0, |n| n.trim().parse().unwrap())
}

async fn a_region_officer_signs_in_and_works_through_the_session(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let base = &s.base;
    // Half-years open for reporting, and projects in them.
    let app = actix_web::test::init_service(build_app(s.t.state.clone())).await;
    crate::aggregates::load(&s.t, &app).await;
    let signed_in_before = sign_ins_counted("signed_in", "region");
    let mut anna = Person::new();
    let answer = anna.sign_in(base, "anna.region07");
    assert_eq!(answer.status, 302, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/dashboard/"));
    let cookie = answer
        .set_cookies
        .iter()
        .find(|c| c.starts_with(&format!("{SESSION}=")))
        .expect("a session cookie");
    for flag in ["Secure", "HttpOnly", "Path=/", "SameSite=Lax"] {
        assert!(cookie.contains(flag), "{flag} missing: {cookie}");
    }
    assert!(
        !cookie.contains("Domain="),
        "a __Host- cookie names no domain"
    );
    assert!(sign_ins_counted("signed_in", "region") > signed_in_before);
    // Only the hash of the id is stored.
    let session_id = anna.cookies[SESSION].clone();
    assert_eq!(s.t.count("sessions"), 1);
    assert_eq!(
        s.t.count(&format!(
            "sessions WHERE id_hash = '{session_id}' OR id_token = '{session_id}'"
        )),
        0
    );
    assert_eq!(s.t.count("sign_ins"), 0, "a sign-in is used once");

    let me = anna.session(base);
    assert_eq!(me["provider"], true);
    assert_eq!(me["signed_in"], true);
    assert_eq!(me["role"], "region");
    assert_eq!(me["region"], "07");
    assert_eq!(me["person"], "anna.region07");
    let csrf = me["csrf_token"].as_str().unwrap().to_string();

    // Its own region's projects, not another's.
    let own = anna.get(&format!("{base}/api/v1/regions/07/projects"));
    assert_eq!(own.status, 200, "{}", own.body);
    let other = anna.get(&format!("{base}/api/v1/regions/12/projects"));
    assert_eq!(other.status, 403, "{}", other.body);

    // A state-changing request without the CSRF token is refused, and changes nothing.
    let submit = format!("{base}/api/v1/regions/07/reports/2026H1/submit");
    let body = json!({"incomplete": true, "comment": "Berättelserna kommer senare"});
    let refused = anna.post(&submit, None, &body);
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("X-CSRF-Token"), "{}", refused.body);
    let wrong = anna.post(&submit, Some("0000"), &body);
    assert_eq!(wrong.status, 403, "{}", wrong.body);
    assert_eq!(s.t.count("report_events"), 0);
    // With it, the report is submitted, and its event names the person.
    let submitted = anna.post(&submit, Some(&csrf), &body);
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let report = anna.get(&format!("{base}/api/v1/regions/07/reports/2026H1"));
    assert!(report.body.contains("anna.region07"), "{}", report.body);

    // A token in the header is judged alone: the session does not lend it anything.
    let bearer = ureq::get(&format!("{base}/api/v1/regions/07/projects"))
        .header("Authorization", "Bearer not-a-token")
        .header("Cookie", &anna.cookie_header())
        .call();
    assert!(matches!(bearer, Err(ureq::Error::StatusCode(401))));

    // Sign-out needs the CSRF token too; then the session is gone, at the provider as well.
    let refused = anna.post(&format!("{base}/auth/logout"), None, &json!({}));
    assert_eq!(refused.status, 403);
    assert_eq!(s.t.count("sessions"), 1);
    let kept = anna.cookie_header();
    let out = anna.post(&format!("{base}/auth/logout"), Some(&csrf), &json!({}));
    assert_eq!(out.status, 200, "{}", out.body);
    let logout_url = serde_json::from_str::<Value>(&out.body).unwrap()["logout_url"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        logout_url.starts_with(&format!("{}/session/end", s.provider.issuer)),
        "{logout_url}"
    );
    assert!(logout_url.contains("id_token_hint="), "{logout_url}");
    assert!(!anna.cookies.contains_key(SESSION), "the cookie is cleared");
    assert_eq!(s.t.count("sessions"), 0);
    assert!(sign_ins_counted("signed_out", "region") >= 1.0);
    let after = ureq::get(&format!("{base}/api/v1/regions/07/projects"))
        .header("Cookie", &kept)
        .call();
    assert!(matches!(after, Err(ureq::Error::StatusCode(401))));
    s.server.stop(true).await;
}

/// Each refusal: its page's status, a phrase of its text, and no session.
async fn refused_sign_ins_store_no_session(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let base = &s.base;
    let refused = |answer: &Answer, status: u16, phrase: &str| {
        assert_eq!(answer.status, status, "{}", answer.body);
        assert!(answer.body.contains(phrase), "{phrase}: {}", answer.body);
        assert!(
            !answer.set_cookies.iter().any(|c| c.starts_with(SESSION)),
            "no session cookie"
        );
        assert_eq!(s.t.count("sessions"), 0);
    };

    // People the provider knows, whose claims give no role the service knows.
    for (login, phrase) in [
        ("utan.roll", "ingen roll"),
        ("maskin", "ingen roll"),
        ("region.utan.lan", "inget giltigt län"),
    ] {
        let counted = sign_ins_counted("refused", "no_known_role")
            + sign_ins_counted("refused", "no_valid_lan");
        let answer = Person::new().sign_in(base, login);
        refused(&answer, 403, phrase);
        assert!(
            sign_ins_counted("refused", "no_known_role")
                + sign_ins_counted("refused", "no_valid_lan")
                > counted
        );
    }

    // A tampered state.
    let mut person = Person::new();
    let authorization = person.begin(base);
    let callback = person.at_provider(&authorization, "nora.analytiker");
    let tampered = with_parameter(&callback, "state", "tampered");
    refused(
        &person.get(&tampered),
        400,
        "hör inte till den här webbläsaren",
    );

    // Another browser bringing this browser's answer (its own sign-in cookie).
    let mut other = Person::new();
    other.begin(base);
    refused(
        &other.get(&callback),
        400,
        "hör inte till den här webbläsaren",
    );

    // The answer itself, once, then replayed.
    let mut person = Person::new();
    let authorization = person.begin(base);
    let callback = person.at_provider(&authorization, "nora.analytiker");
    let first = person.get(&callback);
    assert_eq!(first.status, 302, "{}", first.body);
    let replay_cookie = format!(
        "__Host-uppfoljning-sign-in={}",
        parameter(&callback, "state")
    );
    let replayed = ureq::Agent::new_with_config(
        ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .build(),
    )
    .get(&callback)
    .header("Cookie", &replay_cookie)
    .call()
    .unwrap();
    assert_eq!(replayed.status(), 400, "a state is used once");
    let csrf = person.session(base)["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    person.post(&format!("{base}/auth/logout"), Some(&csrf), &json!({}));
    assert_eq!(s.t.count("sessions"), 0);

    // The used code with a fresh state of this browser: the provider refuses it again.
    let mut thief = Person::new();
    let fresh = thief.begin(base);
    let replayed_code = with_parameter(&callback, "state", &parameter(&fresh, "state"));
    refused(
        &thief.get(&replayed_code),
        403,
        "godtog inte inloggningskoden",
    );

    // A nonce other than the one the service sent: the ID token does not belong.
    let mut person = Person::new();
    let authorization = person.begin(base);
    let other_nonce = with_parameter(&authorization, "nonce", "en-annan-nonce");
    let callback = person.at_provider(&other_nonce, "nora.analytiker");
    let counted = sign_ins_counted("refused", "id_token_nonce");
    refused(
        &person.get(&callback),
        403,
        "hör inte till den här inloggningen",
    );
    assert!(sign_ins_counted("refused", "id_token_nonce") > counted);
    s.server.stop(true).await;
}

/// A real ID token from `issuer` for `client` (signed in as `login`, asked with `nonce`), as
/// that client gets it.
fn id_token_for(
    issuer: &str,
    client: &str,
    secret: &str,
    service_port: u16,
    login: &str,
    nonce: &str,
) -> String {
    let redirect = format!("http://localhost:{service_port}/auth/callback");
    let mut authorization = url::Url::parse(&format!("{issuer}/auth")).unwrap();
    authorization
        .query_pairs_mut()
        .append_pair("client_id", client)
        .append_pair("response_type", "code")
        .append_pair("scope", "openid profile")
        .append_pair("redirect_uri", &redirect)
        .append_pair("state", "s")
        .append_pair("nonce", nonce)
        .append_pair("code_challenge", CHALLENGE)
        .append_pair("code_challenge_method", "S256");
    let mut person = Person::new();
    let callback = person.at_provider(authorization.as_str(), login);
    let code = parameter(&callback, "code");
    let basic = base64::engine::general_purpose::STANDARD.encode(format!("{client}:{secret}"));
    let mut request = person
        .agent
        .post(&format!("{issuer}/token"))
        .header("Authorization", &format!("Basic {basic}"));
    let mut form = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("redirect_uri", redirect.as_str()),
        ("code_verifier", VERIFIER),
    ];
    if client != "uppfoljning" {
        // The other client authenticates in the form.
        request = person.agent.post(&format!("{issuer}/token"));
        form.extend([("client_id", client), ("client_secret", secret)]);
    }
    let mut response = request.send_form(form).unwrap();
    let body: Value = serde_json::from_str(&response.body_mut().read_to_string().unwrap()).unwrap();
    body["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no id_token: {body}"))
        .to_string()
}

async fn tokens_for_another_audience_or_signed_with_unknown_keys_are_refused(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let oidc = s.t.state.oidc.as_ref().unwrap();
    let service_port: u16 = s.base.rsplit(':').next().unwrap().parse().unwrap();
    let issuer = s.provider.issuer.clone();

    // The provider's own token for this service verifies.
    let own = id_token_for(
        &issuer,
        "uppfoljning",
        CLIENT_SECRET,
        service_port,
        "nora.analytiker",
        "n",
    );
    let identity = oidc
        .verify(&own, "n")
        .await
        .expect("the service's own token");
    assert_eq!(identity.person, "nora.analytiker");
    assert_eq!(
        oidc.verify(&own, "m").await.unwrap_err().reason,
        "id_token_nonce"
    );

    // The same provider's token for another service of the organisation.
    let other = id_token_for(
        &issuer,
        "annan-tjanst",
        "annan-tjanst-test-secret",
        service_port,
        "nora.analytiker",
        "n",
    );
    assert_eq!(
        oidc.verify(&other, "n").await.unwrap_err().reason,
        "id_token_audience"
    );

    // A provider with the same issuer but keys of its own: the service fetches the real
    // provider's keys again (the provider may have rotated them) and still finds none.
    let imposter_port = free_port();
    let imposter = start_provider(imposter_port, &issuer, service_port).unwrap();
    let forged = id_token_for(
        &format!("http://localhost:{imposter_port}"),
        "uppfoljning",
        CLIENT_SECRET,
        service_port,
        "ada.admin",
        "n",
    );
    assert!(forged.split('.').count() == 3);
    actix_web::rt::time::sleep(uppfoljning::oidc::JWKS_REFETCH_INTERVAL).await;
    assert_eq!(
        oidc.verify(&forged, "n").await.unwrap_err().reason,
        "id_token_unknown_key"
    );
    drop(imposter);
    s.server.stop(true).await;
}

/// The key id (`kid`) in the header of a JWT.
fn key_id(jwt: &str) -> String {
    let header = jwt.split('.').next().unwrap();
    let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .unwrap();
    serde_json::from_slice::<Value>(&header).unwrap()["kid"]
        .as_str()
        .unwrap()
        .to_string()
}

/// The ID token stored with the session of `person` (the name the sessions show).
fn stored_id_token(t: &TestApp, person: &str) -> String {
    #[derive(diesel::QueryableByName)]
    struct Stored {
        #[diesel(sql_type = diesel::sql_types::Text)]
        id_token: String,
    }
    let mut conn = t.conn();
    let conn: &mut uppfoljning::db::DbConnection = &mut conn;
    diesel::sql_query(format!(
        "SELECT id_token FROM sessions WHERE person = '{person}'"
    ))
    .get_result::<Stored>(conn)
    .unwrap()
    .id_token
}

/// The provider rotates its signing key (restarted with a new key first in its JWKS, the old
/// one still published): the next sign-in, signed with a key the service has not seen,
/// succeeds because the service fetches the keys again; sessions begun before go on.
async fn a_rotated_signing_key_is_fetched_and_earlier_sessions_go_on(backend: Backend) {
    let (provider_port, (service, service_port)) = (free_port(), held_port());
    let issuer = format!("http://localhost:{provider_port}");
    let folder = tempfile::tempdir().unwrap();
    let keys = folder.path().join("keys.json");
    let Some(provider) = start_provider_with(
        provider_port,
        &issuer,
        service_port,
        &[("OIDC_PROVIDER_KEYS", &keys)],
    ) else {
        return;
    };
    let t = TestApp::start_with(backend, |config| {
        config.oidc = Some(oidc_config(&issuer, service_port));
    });
    let server = serve_at(t.state.clone(), service).await;
    let base = format!("http://localhost:{service_port}");
    let app = actix_web::test::init_service(build_app(t.state.clone())).await;
    crate::aggregates::load(&t, &app).await;

    let mut anna = Person::new();
    assert_eq!(anna.sign_in(&base, "anna.region07").status, 302);
    let first_key = key_id(&stored_id_token(&t, "anna.region07"));

    drop(provider);
    let _rotated = start_provider_with(
        provider_port,
        &issuer,
        service_port,
        &[("OIDC_PROVIDER_KEYS", &keys)],
    )
    .expect("the provider again");
    let published: Value = serde_json::from_str(&std::fs::read_to_string(&keys).unwrap()).unwrap();
    let published: Vec<&str> = published
        .as_array()
        .unwrap()
        .iter()
        .map(|key| key["kid"].as_str().unwrap())
        .collect();
    assert_eq!(published.len(), 2);
    assert_eq!(published[1], first_key, "the old key stays published");
    let new_key = published[0].to_string();
    assert_ne!(new_key, first_key);

    // The service fetches keys again at most this often; it fetched them at discovery.
    actix_web::rt::time::sleep(uppfoljning::oidc::JWKS_REFETCH_INTERVAL).await;
    let mut nora = Person::new();
    let answer = nora.sign_in(&base, "nora.analytiker");
    assert_eq!(answer.status, 302, "{}", answer.body);
    assert_eq!(answer.location.as_deref(), Some("/dashboard/"));
    assert_eq!(
        key_id(&stored_id_token(&t, "nora.analytiker")),
        new_key,
        "signed with the new key"
    );
    assert_eq!(nora.session(&base)["role"], "national");

    // The session begun before the rotation goes on.
    let me = anna.session(&base);
    assert_eq!(me["signed_in"], true, "{me}");
    let own = anna.get(&format!("{base}/api/v1/regions/07/projects"));
    assert_eq!(own.status, 200, "{}", own.body);
    server.stop(true).await;
}

/// A reverse proxy in front of the provider, as one may stand in front of any: it passes
/// every request on and every answer back, except that while `swap` holds an ID token, it
/// puts that token (once) into the token endpoint's answer in place of the one the provider
/// gave.
async fn serve_relay(
    provider_port: u16,
    port: u16,
    swap: std::sync::Arc<std::sync::Mutex<Option<String>>>,
) -> ServerHandle {
    let server = HttpServer::new(move || {
        let swap = swap.clone();
        actix_web::App::new().default_service(web::to(
            move |request: actix_web::HttpRequest, body: web::Bytes| {
                let swap = swap.clone();
                let parts = request_parts(&request);
                async move {
                    let (status, headers, body) =
                        web::block(move || pass_on(provider_port, &parts, body, &swap))
                            .await
                            .unwrap();
                    let mut answer = actix_web::HttpResponse::build(
                        actix_web::http::StatusCode::from_u16(status).unwrap(),
                    );
                    for header in headers {
                        answer.append_header(header);
                    }
                    answer.body(body)
                }
            },
        ))
    })
    .workers(1)
    .bind(("127.0.0.1", port))
    .unwrap()
    .run();
    let handle = server.handle();
    actix_web::rt::spawn(server);
    // Its workers start when the runtime first runs the server's task, as at `serve_at`.
    for _ in 0..100 {
        actix_web::rt::time::sleep(std::time::Duration::from_millis(20)).await;
        let discovery = format!("http://127.0.0.1:{port}/.well-known/openid-configuration");
        if ureq::get(&discovery).call().is_ok() {
            return handle;
        }
    }
    panic!("the relay did not start");
}

/// What the relay passes on of a request: its method, path with query, and headers.
struct RequestParts {
    method: String,
    path: String,
    headers: Vec<(String, String)>,
}

fn request_parts(request: &actix_web::HttpRequest) -> RequestParts {
    // The connection's own headers are the relay's. The host goes on as it came, as a
    // proxy keeps it: the provider names its endpoints by the host it is asked at.
    const OWN: [&str; 4] = [
        "connection",
        "content-length",
        "transfer-encoding",
        "accept-encoding",
    ];
    RequestParts {
        method: request.method().to_string(),
        path: request
            .uri()
            .path_and_query()
            .map_or("/".into(), |p| p.to_string()),
        headers: request
            .headers()
            .iter()
            .filter(|(name, _)| !OWN.contains(&name.as_str()))
            .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
            .collect(),
    }
}

/// The provider's answer to `request`: its status, headers and body.
fn pass_on(
    provider_port: u16,
    request: &RequestParts,
    body: web::Bytes,
    swap: &std::sync::Mutex<Option<String>>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let agent = Person::new().agent;
    let url = format!("http://127.0.0.1:{provider_port}{}", request.path);
    let answer = if request.method == "POST" {
        let mut post = agent.post(&url);
        for (name, value) in &request.headers {
            post = post.header(name, value);
        }
        post.send(&body[..])
    } else {
        let mut get = agent.get(&url);
        for (name, value) in &request.headers {
            get = get.header(name, value);
        }
        get.call()
    };
    let mut answer = answer.unwrap_or_else(|e| panic!("{} {url}: {e}", request.method));
    let headers = answer
        .headers()
        .iter()
        .filter(|(name, _)| {
            ![
                "connection",
                "keep-alive",
                "content-length",
                "transfer-encoding",
            ]
            .contains(&name.as_str())
        })
        .map(|(name, value)| (name.to_string(), value.to_str().unwrap().to_string()))
        .collect();
    let mut body = answer.body_mut().read_to_vec().unwrap();
    if request.path.starts_with("/token")
        && let Some(other) = swap.lock().unwrap().take()
    {
        let mut tokens: Value = serde_json::from_slice(&body).unwrap();
        assert!(tokens["id_token"].is_string(), "{tokens}");
        tokens["id_token"] = Value::String(other);
        body = tokens.to_string().into_bytes();
    }
    (answer.status().as_u16(), headers, body)
}

/// The callback receives, in the token endpoint's answer, a real ID token that the provider
/// issued to another of its clients (with this sign-in's nonce): it refuses the sign-in with
/// its page, logs and counts it, and starts no session. The service is the real binary in a
/// process of its own, so that its log is read as written.
async fn a_token_for_another_client_is_refused_at_the_callback(backend: Backend) {
    let (provider_port, relay_port, service_port) = (free_port(), free_port(), free_port());
    // The provider is reached through the relay only: its issuer is the relay's address.
    let issuer = format!("http://localhost:{relay_port}");
    let Some(_provider) = start_provider(provider_port, &issuer, service_port) else {
        return;
    };
    let swap = std::sync::Arc::new(std::sync::Mutex::new(None));
    let relay = serve_relay(provider_port, relay_port, swap.clone()).await;
    let t = TestApp::start(backend);
    let database = match &t.config.database {
        uppfoljning::config::DatabaseUrl::Postgres(url) => url.clone(),
        uppfoljning::config::DatabaseUrl::Sqlite(path) => path.to_string_lossy().into_owned(),
    };
    let log = t.config.data_dir.join("service.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_uppfoljning"))
        .env("DATABASE_URL", database)
        .env("BIND", format!("127.0.0.1:{service_port}"))
        .env("JWT_SECRET", String::from_utf8(SECRET.to_vec()).unwrap())
        .env("METRICS_TOKEN", "metrics-test-token-of-32-bytes-or-more")
        .env("OIDC_ISSUER", &issuer)
        .env("OIDC_CLIENT_ID", "uppfoljning")
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env(
            "OIDC_REDIRECT_URL",
            format!("http://localhost:{service_port}/auth/callback"),
        )
        .env("RUST_LOG", "warn")
        .env("LOG_FORMAT", "json")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .expect("start the server");
    crate::child_server::wait_ready(service_port);
    let base = format!("http://localhost:{service_port}");

    // Through the relay, a sign-in works as it does without it.
    let mut nora = Person::new();
    let answer = nora.sign_in(&base, "nora.analytiker");
    assert_eq!(answer.status, 302, "{}", answer.body);
    assert_eq!(t.count("sessions"), 1);

    let mut person = Person::new();
    let authorization = person.begin(&base);
    let other = id_token_for(
        &issuer,
        "annan-tjanst",
        "annan-tjanst-test-secret",
        service_port,
        "nora.analytiker",
        &parameter(&authorization, "nonce"),
    );
    *swap.lock().unwrap() = Some(other);
    let callback = person.at_provider(&authorization, "nora.analytiker");
    let refused = person.get(&callback);
    let metrics = ureq::get(&format!("{base}/metrics"))
        .header(
            "Authorization",
            "Bearer metrics-test-token-of-32-bytes-or-more",
        )
        .call()
        .unwrap()
        .body_mut()
        .read_to_string()
        .unwrap();
    let _ = child.kill();
    let _ = child.wait();
    relay.stop(true).await;

    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(
        swap.lock().unwrap().is_none(),
        "the relay swapped the token"
    );
    assert!(
        refused.body.contains("är utfärdad för en annan tjänst"),
        "{}",
        refused.body
    );
    assert!(
        !refused.set_cookies.iter().any(|c| c.starts_with(SESSION)),
        "no session cookie"
    );
    assert_eq!(t.count("sessions"), 1, "no session started");
    assert!(
        metrics.contains("sign_ins_total{outcome=\"refused\",reason=\"id_token_audience\"} 1"),
        "{metrics}"
    );
    let logged = std::fs::read_to_string(&log).unwrap();
    let refusal = logged
        .lines()
        .filter(|line| line.contains("sign-in refused"))
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .find(|line| line["fields"]["reason"] == "id_token_audience");
    assert!(refusal.is_some(), "no refusal logged: {logged}");
}

async fn an_expired_id_token_is_refused(backend: Backend) {
    let (provider_port, service_port) = (free_port(), free_port());
    let issuer = format!("http://localhost:{provider_port}");
    let Some(_provider) = start_provider(provider_port, &issuer, service_port) else {
        return;
    };
    let t = TestApp::start(backend);
    // An instance whose clock is two hours ahead: the provider's ID tokens (valid for an
    // hour) have expired by its clock when they arrive.
    let database = match &t.config.database {
        uppfoljning::config::DatabaseUrl::Postgres(url) => url.clone(),
        uppfoljning::config::DatabaseUrl::Sqlite(path) => path.to_string_lossy().into_owned(),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_uppfoljning"))
        .env("DATABASE_URL", database)
        .env("BIND", format!("127.0.0.1:{service_port}"))
        .env("JWT_SECRET", String::from_utf8(SECRET.to_vec()).unwrap())
        .env("CLOCK_OFFSET_SECONDS", "7200")
        .env("OIDC_ISSUER", &issuer)
        .env("OIDC_CLIENT_ID", "uppfoljning")
        .env("OIDC_CLIENT_SECRET", CLIENT_SECRET)
        .env(
            "OIDC_REDIRECT_URL",
            format!("http://localhost:{service_port}/auth/callback"),
        )
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start the server");
    crate::child_server::wait_ready(service_port);
    let answer = Person::new().sign_in(
        &format!("http://localhost:{service_port}"),
        "nora.analytiker",
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(answer.status, 403, "{}", answer.body);
    assert!(answer.body.contains("har gått ut"), "{}", answer.body);
    assert_eq!(t.count("sessions"), 0);
}

async fn a_session_works_through_a_second_instance(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let mut nora = Person::new();
    assert_eq!(nora.sign_in(&s.base, "nora.analytiker").status, 302);
    // Another instance on the same database.
    let (second_listener, second_port) = held_port();
    let second = web::Data::new(AppState::open(s.t.config.clone()).expect("second instance"));
    let second_server = serve_at(second, second_listener).await;
    let second_base = format!("http://localhost:{second_port}");
    let me = nora.session(&second_base);
    assert_eq!(me["signed_in"], true, "{me}");
    assert_eq!(me["role"], "national");
    let projects = nora.get(&format!("{second_base}/api/v1/regions/12/projects"));
    assert_eq!(projects.status, 200, "a national reader reads every region");
    // Signed out at the second, ended at the first.
    let csrf = me["csrf_token"].as_str().unwrap().to_string();
    let kept = nora.cookie_header();
    let out = nora.post(
        &format!("{second_base}/auth/logout"),
        Some(&csrf),
        &json!({}),
    );
    assert_eq!(out.status, 200, "{}", out.body);
    let first = ureq::get(&format!("{}/api/v1/regions/12/projects", s.base))
        .header("Cookie", &kept)
        .call();
    assert!(matches!(first, Err(ureq::Error::StatusCode(401))));
    second_server.stop(true).await;
    s.server.stop(true).await;
}

/// A signed-in person is one caller by the provider's issuer and `sub`, never by a name they
/// can change at the provider; what they do names them by their user name, else their sub.
async fn a_person_is_one_caller_by_sub_and_named_by_their_user_name(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let base = &s.base;
    let app = actix_web::test::init_service(build_app(s.t.state.clone())).await;
    crate::aggregates::load(&s.t, &app).await;
    let mut anna = Person::new();
    assert_eq!(anna.sign_in(base, "anna.region07").status, 302);
    let mut namesake = Person::new();
    assert_eq!(namesake.sign_in(base, "anna.ny").status, 302);

    // The same user name, two people.
    let oidc = s.t.state.oidc.as_ref().unwrap();
    let principal = |person: &Person| {
        let session_id = person.cookies[SESSION].clone();
        let state = s.t.state.clone();
        async move {
            uppfoljning::service::sign_in::principal(&state, oidc, &session_id)
                .await
                .unwrap()
                .expect("a live session")
        }
    };
    let (first, second) = (principal(&anna).await, principal(&namesake).await);
    assert_eq!(
        (first.name.as_str(), second.name.as_str()),
        ("anna.region07", "anna.region07")
    );
    assert_eq!(
        (first.subject.as_str(), second.subject.as_str()),
        ("anna.region07", "anna.ny")
    );
    assert_eq!(first.issuer.as_deref(), Some(s.provider.issuer.as_str()));
    assert_ne!(first.caller(), second.caller());

    // One's spent rate is not the other's, at an instance that limits each caller's rate.
    let mut limiting = s.t.config.clone();
    limiting.rate_limit_per_second = 5;
    let (limiting_listener, limiting_port) = held_port();
    let limiting_server = serve_at(
        web::Data::new(AppState::open(limiting).expect("a limiting instance")),
        limiting_listener,
    )
    .await;
    let projects = format!("http://localhost:{limiting_port}/api/v1/regions/07/projects");
    let mut limited = false;
    for _ in 0..100 {
        if anna.get(&projects).status == 429 {
            limited = true;
            break;
        }
    }
    assert!(limited, "anna's requests were never limited");
    let other = namesake.get(&projects);
    assert_eq!(other.status, 200, "{}", other.body);
    limiting_server.stop(true).await;

    // The report's history names each by their user name, or by their sub without one.
    let csrf = namesake.session(base)["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let report = format!("{base}/api/v1/regions/07/reports/2026H1");
    let body = json!({"incomplete": true, "comment": "Berättelserna kommer senare"});
    let submitted = namesake.post(&format!("{report}/submit"), Some(&csrf), &body);
    assert_eq!(submitted.status, 200, "{}", submitted.body);
    let mut unnamed = Person::new();
    assert_eq!(unnamed.sign_in(base, "konto-4711").status, 302);
    assert_eq!(unnamed.session(base)["person"], "konto-4711");
    let csrf = unnamed.session(base)["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let withdrawn = unnamed.post(&format!("{report}/withdraw"), Some(&csrf), &json!({}));
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    let read = crate::common::send(
        &app,
        crate::common::get("/api/v1/regions/07/reports/2026H1", &s.t.admin()),
    )
    .await
    .ok()
    .json();
    let by: Vec<&str> = read["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["anna.region07", "konto-4711"], "{read}");
    s.server.stop(true).await;
}

/// A person's cookie whose session has ended: what is open to everyone is answered as to
/// anyone (published snapshots, PxWeb, health), what is not is refused (401).
async fn an_ended_or_unknown_session_is_anonymous_where_everyone_may_read(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let base = &s.base;
    let app = actix_web::test::init_service(build_app(s.t.state.clone())).await;
    crate::aggregates::load(&s.t, &app).await;
    let published = crate::publishing::published(&s.t, &app, "2026H1", "Publicerad").await;
    let draft = crate::publishing::snapshot(&s.t, &app, "2026H1", "Utkast").await;
    let snapshot = |summary: &Value| {
        format!(
            "{base}/api/v1/snapshots/{}",
            summary["id"].as_str().unwrap()
        )
    };

    // Signed in, the person reads the draft too: the cookie is looked at.
    let mut nora = Person::new();
    assert_eq!(nora.sign_in(base, "nora.analytiker").status, 302);
    assert_eq!(nora.get(&snapshot(&draft)).status, 200);
    let ended = nora.cookies[SESSION].clone();
    let csrf = nora.session(base)["csrf_token"]
        .as_str()
        .unwrap()
        .to_string();
    let out = nora.post(&format!("{base}/auth/logout"), Some(&csrf), &json!({}));
    assert_eq!(out.status, 200, "{}", out.body);

    let mut anna = Person::new();
    assert_eq!(anna.sign_in(base, "anna.region07").status, 302);
    let expired = anna.cookies[SESSION].clone();
    let mut conn = s.t.conn();
    let conn: &mut uppfoljning::db::DbConnection = &mut conn;
    diesel::sql_query("UPDATE sessions SET expires_at = '2000-01-01 00:00:00'")
        .execute(conn)
        .unwrap();

    let unknown = "0".repeat(64);
    for (which, session_id) in [("ended", ended), ("expired", expired), ("unknown", unknown)] {
        let mut person = Person::new();
        person.cookies.insert(SESSION.to_string(), session_id);
        for open in [
            format!("{base}/api/v1/snapshots"),
            snapshot(&published),
            format!("{base}/pxweb/api/v2/tables"),
            format!("{base}/health/live"),
            format!("{base}/auth/session"),
        ] {
            let answer = person.get(&open);
            assert_eq!(
                answer.status, 200,
                "{which} session, {open}: {}",
                answer.body
            );
        }
        let listed: Value =
            serde_json::from_str(&person.get(&format!("{base}/api/v1/snapshots")).body).unwrap();
        assert_eq!(
            listed.as_array().unwrap().len(),
            1,
            "{which} session: only the published snapshot, as to anyone"
        );
        assert_eq!(person.get(&snapshot(&draft)).status, 404, "{which} session");
        assert_eq!(person.session(base)["signed_in"], false);
        let protected = person.get(&format!("{base}/api/v1/regions/07/projects"));
        assert_eq!(protected.status, 401, "{which} session: {}", protected.body);
        assert!(
            protected.body.contains("sign in again"),
            "{}",
            protected.body
        );
    }
    assert_eq!(s.t.count("sessions"), 0, "the expired session was ended");
    s.server.stop(true).await;
}

backend_tests!(
    a_region_officer_signs_in_and_works_through_the_session,
    refused_sign_ins_store_no_session,
    tokens_for_another_audience_or_signed_with_unknown_keys_are_refused,
    an_expired_id_token_is_refused,
    a_session_works_through_a_second_instance,
    a_person_signs_in_in_the_browser_and_out_again,
    an_ended_or_unknown_session_is_anonymous_where_everyone_may_read,
    a_person_is_one_caller_by_sub_and_named_by_their_user_name,
    a_rotated_signing_key_is_fetched_and_earlier_sessions_go_on,
    a_token_for_another_client_is_refused_at_the_callback,
    the_newest_sign_in_says_what_every_session_of_the_account_may_do,
);

/// What the provider says of an account at its newest sign-in holds for every session of
/// the account: a person moved to another region is that region's at the computer they
/// signed in at before too, and a person whose role is withdrawn, refused at their next
/// sign-in, is signed out everywhere. A sign-in refused at a shared computer ends the
/// session of the one who sat there before.
async fn the_newest_sign_in_says_what_every_session_of_the_account_may_do(backend: Backend) {
    let (provider_port, (service, service_port)) = (free_port(), held_port());
    let issuer = format!("http://localhost:{provider_port}");
    let folder = tempfile::tempdir().unwrap();
    let changes = folder.path().join("changes.json");
    let change = |claims: Value| {
        std::fs::write(&changes, json!({ "byter.roll": claims }).to_string()).unwrap();
    };
    change(json!({"roles": ["admin"]}));
    let Some(_provider) = start_provider_with(
        provider_port,
        &issuer,
        service_port,
        &[("OIDC_PROVIDER_CHANGES", &changes)],
    ) else {
        return;
    };
    let t = TestApp::start_with(backend, |config| {
        config.oidc = Some(oidc_config(&issuer, service_port));
    });
    let server = serve_at(t.state.clone(), service).await;
    let base = format!("http://localhost:{service_port}");

    let mut office = Person::new();
    assert_eq!(office.sign_in(&base, "byter.roll").status, 302);
    assert_eq!(office.session(&base)["role"], "admin");
    change(json!({"roles": ["region"], "lan": "12"}));
    let mut laptop = Person::new();
    assert_eq!(laptop.sign_in(&base, "byter.roll").status, 302);
    for me in [office.session(&base), laptop.session(&base)] {
        assert_eq!(
            (&me["role"], &me["region"]),
            (&json!("region"), &json!("12")),
            "{me}"
        );
    }
    let feed = office.get(&format!("{base}/api/v1/changes"));
    assert_eq!(feed.status, 403, "no longer an admin: {}", feed.body);

    change(json!({"roles": []}));
    let refused = office.sign_in(&base, "byter.roll");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert!(refused.body.contains("ingen roll"), "{}", refused.body);
    for person in [&mut office, &mut laptop] {
        assert_eq!(person.session(&base)["signed_in"], false);
        let projects = person.get(&format!("{base}/api/v1/regions/12/projects"));
        assert_eq!(projects.status, 401, "{}", projects.body);
    }
    assert_eq!(t.count("sessions"), 0);

    let mut shared = Person::new();
    assert_eq!(shared.sign_in(&base, "nora.analytiker").status, 302);
    // Nora leaves the provider's own session behind her, not the service's.
    shared
        .cookies
        .retain(|name, _| name.starts_with("__Host-uppfoljning"));
    let refused = shared.sign_in(&base, "utan.roll");
    assert_eq!(refused.status, 403, "{}", refused.body);
    assert_eq!(shared.session(&base)["signed_in"], false);
    assert_eq!(t.count("sessions"), 0);
    server.stop(true).await;
}

/// Chromium signs in through the provider's own login form, lands on the dashboard with the
/// role and län, holds no secret a script can read, and signs out at the provider too.
async fn a_person_signs_in_in_the_browser_and_out_again(backend: Backend) {
    let Some(s) = setup(backend).await else {
        return;
    };
    let Some(browser) = open_browser().await else {
        return;
    };
    let client = &browser.client;
    client
        .goto(&format!("{}/dashboard/", s.base))
        .await
        .unwrap();
    let login = client
        .wait()
        .for_element(Locator::Css(
            "#provider-sign-in:not([hidden]) #provider-login",
        ))
        .await
        .unwrap();
    assert_eq!(
        login.text().await.unwrap(),
        "Logga in med organisationens konto"
    );
    let token_form = client.find(Locator::Id("token-sign-in")).await.unwrap();
    assert!(
        !token_form.is_displayed().await.unwrap(),
        "no token paste with a provider"
    );
    screenshot(client, "provider-sign-in").await;
    login.click().await.unwrap();

    // The provider's own form.
    let name = client
        .wait()
        .for_element(Locator::Css("input[name=login]"))
        .await
        .unwrap();
    name.send_keys("anna.region07").await.unwrap();
    client
        .find(Locator::Css("input[name=password]"))
        .await
        .unwrap()
        .send_keys("x")
        .await
        .unwrap();
    client
        .find(Locator::Css("button[type=submit]"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();

    let who = client
        .wait()
        .for_element(Locator::Css("#who:not([hidden])"))
        .await
        .unwrap();
    let shown = who.text().await.unwrap();
    assert_eq!(shown, "Inloggad: Region Kronoberg", "{shown}");
    screenshot(client, "provider-signed-in").await;
    let secrets = client
        .execute(
            "return [document.cookie, JSON.stringify(sessionStorage), JSON.stringify(localStorage)];",
            vec![],
        )
        .await
        .unwrap();
    assert_eq!(secrets, json!(["", "{}", "{}"]), "no secret in the page");
    assert_eq!(s.t.count("sessions"), 1);

    sign_out(client).await;
    // The provider asks whether to sign out there too.
    client
        .wait()
        .for_url(&url::Url::parse(&format!("{}/session/end", s.provider.issuer)).unwrap())
        .await
        .ok();
    assert_eq!(s.t.count("sessions"), 0, "the session ended");
    if let Ok(confirm) = client
        .find(Locator::Css("button[autofocus], form button"))
        .await
    {
        confirm.click().await.unwrap();
    }
    client
        .wait()
        .for_element(Locator::Css("#provider-sign-in:not([hidden])"))
        .await
        .unwrap();
    assert_eq!(
        text(client, "#provider-login").await,
        "Logga in med organisationens konto"
    );
    s.server.stop(true).await;
}
