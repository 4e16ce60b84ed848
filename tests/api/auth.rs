//! Every way a token can fail, and the role boundaries of the reference endpoints.

use actix_web::test::{self, TestRequest};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::backend_tests;
use crate::common::{Backend, SECRET, TestApp, get, send};
use uppfoljning::app::build_app;
use uppfoljning::auth::{Role, TokenKeys};
use uppfoljning::config::JwtKeySource;

backend_tests!(
    public_keys_verify_tokens_of_an_identity_provider,
    requests_without_a_valid_token_get_401,
    issuer_and_audience_are_checked_when_configured,
    every_role_reads_reference_data,
    tokens_valid_longer_than_the_maximum_lifetime_are_refused,
);

fn now() -> u64 {
    jsonwebtoken::get_current_timestamp()
}

fn signed(claims: Value, algorithm: Algorithm, key: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        &claims,
        &EncodingKey::from_secret(key),
    )
    .unwrap()
}

fn claims(role: &str) -> Value {
    json!({"sub": "tester", "role": role, "exp": now() + 600})
}

fn base64url(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// A token with the given header and claims and a meaningless signature.
fn unsigned(header: Value, claims: &Value) -> String {
    format!(
        "{}.{}.",
        base64url(header.to_string().as_bytes()),
        base64url(claims.to_string().as_bytes())
    )
}

async fn requests_without_a_valid_token_get_401(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let good = signed(claims("admin"), Algorithm::HS256, SECRET);
    let (head, _, signature) = {
        let parts: Vec<&str> = good.split('.').collect();
        (
            parts[0].to_string(),
            parts[1].to_string(),
            parts[2].to_string(),
        )
    };
    let tampered_claims = json!({"sub": "tester", "role": "admin", "exp": now() + 99_999});
    let tampered = format!(
        "{head}.{}.{signature}",
        base64url(tampered_claims.to_string().as_bytes())
    );
    let mut region_claims = claims("region");
    let region_without_region = signed(region_claims.clone(), Algorithm::HS256, SECRET);
    region_claims["region"] = json!("02");
    let region_02 = signed(region_claims, Algorithm::HS256, SECRET);
    let mut expired = claims("admin");
    expired["exp"] = json!(now() - 3600);
    let mut long_expired = claims("admin");
    long_expired["exp"] = json!(1);
    let mut not_yet = claims("admin");
    not_yet["nbf"] = json!(now() + 3600);
    let mut no_exp = claims("admin");
    no_exp.as_object_mut().unwrap().remove("exp");
    let mut no_sub = claims("admin");
    no_sub.as_object_mut().unwrap().remove("sub");

    let tokens: Vec<(&str, String)> = vec![
        ("malformed", "not-a-token".into()),
        (
            "alg none",
            unsigned(json!({"alg": "none", "typ": "JWT"}), &claims("admin")),
        ),
        (
            "wrong key",
            signed(
                claims("admin"),
                Algorithm::HS256,
                b"another-secret-another-secret-!!",
            ),
        ),
        (
            "other algorithm",
            signed(claims("admin"), Algorithm::HS512, SECRET),
        ),
        ("tampered payload", tampered),
        ("expired", signed(expired, Algorithm::HS256, SECRET)),
        (
            "exp far in the past",
            signed(long_expired, Algorithm::HS256, SECRET),
        ),
        ("future nbf", signed(not_yet, Algorithm::HS256, SECRET)),
        ("no exp", signed(no_exp, Algorithm::HS256, SECRET)),
        ("no sub", signed(no_sub, Algorithm::HS256, SECRET)),
        (
            "unknown role",
            signed(claims("superuser"), Algorithm::HS256, SECRET),
        ),
        ("region role without region", region_without_region),
        ("region 02", region_02),
        (
            "kid and jku headers",
            unsigned(
                json!({"alg": "HS256", "kid": "../../dev/null", "jku": "http://127.0.0.1:1/keys"}),
                &claims("admin"),
            ),
        ),
    ];
    for (case, token) in tokens {
        let reply = send(&app, get("/api/v1/regions", &token)).await;
        let problem = reply.problem(401);
        assert_eq!(
            reply.headers.get("www-authenticate").unwrap(),
            "Bearer",
            "{case}"
        );
        assert!(!problem["detail"].as_str().unwrap().is_empty(), "{case}");
    }
    let no_header = send(&app, TestRequest::get().uri("/api/v1/regions")).await;
    no_header.problem(401);
    let basic = TestRequest::get()
        .uri("/api/v1/regions")
        .insert_header(("Authorization", "Basic YWRtaW46YWRtaW4="));
    send(&app, basic).await.problem(401);
    assert_eq!(send(&app, get("/api/v1/regions", &good)).await.status, 200);
}

async fn issuer_and_audience_are_checked_when_configured(backend: Backend) {
    let t = TestApp::start_with(backend, |config| {
        config.jwt_issuer = Some("https://idp.example".into());
        config.jwt_audience = Some("uppfoljning".into());
    });
    let app = test::init_service(build_app(t.state.clone())).await;
    let with = |iss: Option<&str>, aud: Option<&str>| {
        let mut c = claims("national");
        if let Some(iss) = iss {
            c["iss"] = json!(iss);
        }
        if let Some(aud) = aud {
            c["aud"] = json!(aud);
        }
        signed(c, Algorithm::HS256, SECRET)
    };
    for (iss, aud) in [
        (Some("https://other.example"), Some("uppfoljning")),
        (Some("https://idp.example"), Some("other")),
        (None, Some("uppfoljning")),
        (Some("https://idp.example"), None),
    ] {
        send(&app, get("/api/v1/regions", &with(iss, aud)))
            .await
            .problem(401);
    }
    let good = with(Some("https://idp.example"), Some("uppfoljning"));
    assert_eq!(send(&app, get("/api/v1/regions", &good)).await.status, 200);
    // Tokens the service signs carry the configured issuer and audience.
    assert_eq!(
        send(&app, get("/api/v1/regions", &t.admin())).await.status,
        200
    );
}

async fn every_role_reads_reference_data(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    for token in [
        t.token(Role::Region, Some("25")),
        t.token(Role::National, None),
        t.token(Role::Scheduler, None),
        t.token(Role::Admin, None),
    ] {
        for path in [
            "/api/v1/regions",
            "/api/v1/classifications",
            "/api/v1/indicators",
            "/api/v1/indicators/RCO01",
            "/api/v1/periods",
        ] {
            assert_eq!(send(&app, get(path, &token)).await.status, 200, "{path}");
        }
    }
}

fn fixture(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

async fn public_keys_verify_tokens_of_an_identity_provider(backend: Backend) {
    for (algorithm, public, private) in [
        (Algorithm::ES256, "es256-public.pem", "es256-private.pem"),
        (Algorithm::RS256, "rs256-public.pem", "rs256-private.pem"),
    ] {
        // An identity provider's key alone would take any token it signed, for any service:
        // the issuer and this service's audience must be configured with it.
        let base = TestApp::start(backend);
        for (issuer, audience, named) in [
            (None, Some("uppfoljning"), "JWT_ISSUER"),
            (Some("https://idp.example"), None, "JWT_AUDIENCE"),
        ] {
            let mut config = base.config.clone();
            config.jwt_key = JwtKeySource::PublicKeyFile(fixture(public));
            config.jwt_issuer = issuer.map(str::to_string);
            config.jwt_audience = audience.map(str::to_string);
            let Err(error) = TokenKeys::load(&config) else {
                panic!("started without {named}");
            };
            assert!(error.to_string().starts_with(named), "{error}");
        }
        let t = TestApp::start_with(backend, |config| {
            config.jwt_key = JwtKeySource::PublicKeyFile(fixture(public));
            config.jwt_issuer = Some("https://idp.example".into());
            config.jwt_audience = Some("uppfoljning".into());
        });
        let app = test::init_service(build_app(t.state.clone())).await;
        let private_pem = std::fs::read(fixture(private)).unwrap();
        let key = match algorithm {
            Algorithm::ES256 => EncodingKey::from_ec_pem(&private_pem).unwrap(),
            _ => EncodingKey::from_rsa_pem(&private_pem).unwrap(),
        };
        let from_idp = |iss: Option<&str>, aud: Option<&str>| {
            let mut c = claims("national");
            if let Some(iss) = iss {
                c["iss"] = json!(iss);
            }
            if let Some(aud) = aud {
                c["aud"] = json!(aud);
            }
            jsonwebtoken::encode(&Header::new(algorithm), &c, &key).unwrap()
        };
        let token = from_idp(Some("https://idp.example"), Some("uppfoljning"));
        assert_eq!(send(&app, get("/api/v1/regions", &token)).await.status, 200);
        // Signed by the same provider for another service, by another issuer, or without
        // saying for whom.
        for (iss, aud) in [
            (Some("https://idp.example"), Some("another-service")),
            (Some("https://other-idp.example"), Some("uppfoljning")),
            (Some("https://idp.example"), None),
            (None, Some("uppfoljning")),
            (None, None),
        ] {
            send(&app, get("/api/v1/regions", &from_idp(iss, aud)))
                .await
                .problem(401);
        }
        // The public key used as an HS256 secret: the classic key-confusion attack.
        let public_pem = std::fs::read(fixture(public)).unwrap();
        let confused = signed(claims("admin"), Algorithm::HS256, &public_pem);
        send(&app, get("/api/v1/regions", &confused))
            .await
            .problem(401);
        let hs = signed(claims("admin"), Algorithm::HS256, SECRET);
        send(&app, get("/api/v1/regions", &hs)).await.problem(401);
        assert!(t.state.keys.sign("x", Role::Admin, None, 60).is_err());
    }
}

async fn tokens_valid_longer_than_the_maximum_lifetime_are_refused(backend: Backend) {
    let t = TestApp::start(backend);
    let app = test::init_service(build_app(t.state.clone())).await;
    let day = 24 * 3600;
    let expiring_in = |seconds: u64| {
        let mut c = claims("admin");
        c["exp"] = json!(now() + seconds);
        signed(c, Algorithm::HS256, SECRET)
    };
    // By default at most 90 days, with a minute's leeway for clocks.
    assert_eq!(
        send(&app, get("/api/v1/regions", &expiring_in(90 * day)))
            .await
            .status,
        200
    );
    let year_3000 = 32_503_680_000 - now();
    for seconds in [90 * day + 120, 365 * day, year_3000] {
        let reply = send(&app, get("/api/v1/regions", &expiring_in(seconds))).await;
        let problem = reply.problem(401);
        assert!(
            problem["detail"].as_str().unwrap().contains("longer"),
            "{problem}"
        );
    }
    assert!(t.state.keys.sign("x", Role::Admin, None, 90 * day).is_ok());
    assert!(t.state.keys.sign("x", Role::Admin, None, 91 * day).is_err());

    let t = TestApp::start_with(backend, |config| config.jwt_max_lifetime_seconds = 3600);
    let app = test::init_service(build_app(t.state.clone())).await;
    assert_eq!(
        send(&app, get("/api/v1/regions", &expiring_in(3000)))
            .await
            .status,
        200
    );
    send(&app, get("/api/v1/regions", &expiring_in(7200)))
        .await
        .problem(401);
}
