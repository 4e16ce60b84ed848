//! The browser's way in with the organisation's identity provider (backend-for-frontend):
//! `GET /auth/login` sends the browser to the provider, `GET /auth/callback` takes its
//! answer and starts a session (a `__Host-` cookie), `POST /auth/logout` ends it, and
//! `GET /auth/session` tells the dashboard whether a provider is configured and who is signed
//! in, with the session's CSRF token. These are pages and the page's own calls, not the API:
//! they are not in the OpenAPI document.

use actix_web::cookie::{Cookie, SameSite, time::Duration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::access::{CSRF_HEADER, SESSION_COOKIE};
use crate::error::AppError;
use crate::oidc::{Oidc, Refusal};
use crate::service::sign_in;
use crate::state::AppState;

/// The cookie that binds a sign-in begun to the browser that began it: it holds the `state`
/// the provider must send back.
pub const SIGN_IN_COOKIE: &str = "__Host-uppfoljning-sign-in";

pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/auth/login", web::get().to(login))
        .route("/auth/callback", web::get().to(callback))
        .route("/auth/logout", web::post().to(logout))
        .route("/auth/session", web::get().to(session));
}

/// A cookie as every cookie of the sign-in is: only over HTTPS (browsers keep `Secure`
/// cookies on localhost too), never to scripts, for the whole site, and sent on the
/// top-level navigation back from the provider but not with other sites' requests.
fn cookie(name: &'static str, value: String, seconds: i64) -> Cookie<'static> {
    Cookie::build(name, value)
        .secure(true)
        .http_only(true)
        .path("/")
        .same_site(SameSite::Lax)
        .max_age(Duration::seconds(seconds))
        .finish()
}

fn provider(state: &AppState) -> Result<&Oidc, AppError> {
    state.oidc.as_ref().ok_or_else(|| {
        AppError::NotFound("no identity provider is configured; sign in with a token".into())
    })
}

/// A page that tells the person why the sign-in was refused.
fn refusal_page(refusal: &Refusal) -> HttpResponse {
    let status = match refusal.reason {
        "provider_unavailable" | "unavailable" => StatusCode::SERVICE_UNAVAILABLE,
        "state_mismatch" | "state_unknown" | "sign_in_stale" | "provider_error" => {
            StatusCode::BAD_REQUEST
        }
        _ => StatusCode::FORBIDDEN,
    };
    let message = escape(&refusal.message);
    HttpResponse::build(status)
        .content_type("text/html; charset=utf-8")
        .cookie(cookie(SIGN_IN_COOKIE, String::new(), 0))
        .body(format!(
            "<!doctype html>\n<html lang=\"sv\"><head><meta charset=\"utf-8\">\
             <title>Inloggningen nekades</title></head><body><main>\
             <h1>Inloggningen nekades</h1><p id=\"reason\">{message}</p>\
             <p><a href=\"/dashboard/\">Tillbaka till startsidan</a></p>\
             </main></body></html>\n"
        ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn login(state: web::Data<AppState>) -> Result<HttpResponse, AppError> {
    let oidc = provider(&state)?;
    match sign_in::begin(&state, oidc).await {
        Ok((url, sign_in_state)) => Ok(HttpResponse::Found()
            .insert_header(("Location", url))
            .cookie(cookie(
                SIGN_IN_COOKIE,
                sign_in_state,
                sign_in::SIGN_IN_SECONDS,
            ))
            .finish()),
        Err(refusal) => {
            sign_in::refused(&refusal);
            Ok(refusal_page(&refusal))
        }
    }
}

/// The provider's answer: a code and the state, or an error.
#[derive(Deserialize)]
struct Answer {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

async fn callback(
    state: web::Data<AppState>,
    request: HttpRequest,
    answer: web::Query<Answer>,
) -> Result<HttpResponse, AppError> {
    let oidc = provider(&state)?;
    let answer = answer.into_inner();
    let (code, returned_state) = match (answer.code, answer.state, answer.error) {
        (Some(code), Some(returned), None) => (code, returned),
        (_, _, error) => {
            let refusal = Refusal::new(
                "provider_error",
                match error.as_deref() {
                    Some("access_denied") => {
                        "Inloggningen avbröts hos identitetsleverantören.".to_string()
                    }
                    _ => "Identitetsleverantören svarade inte med en inloggning.".to_string(),
                },
            );
            sign_in::refused(&refusal);
            return Ok(refusal_page(&refusal));
        }
    };
    let kept_state = request.cookie(SIGN_IN_COOKIE);
    let previous = request.cookie(SESSION_COOKIE);
    match sign_in::finish(
        &state,
        oidc,
        code,
        &returned_state,
        kept_state.as_ref().map(|c| c.value()),
        previous.as_ref().map(|c| c.value()),
    )
    .await
    {
        Ok(started) => Ok(HttpResponse::Found()
            .insert_header(("Location", "/dashboard/"))
            .cookie(cookie(SIGN_IN_COOKIE, String::new(), 0))
            .cookie(cookie(
                SESSION_COOKIE,
                started.session_id,
                oidc.config().session_lifetime_seconds,
            ))
            .finish()),
        Err(refusal) => Ok(refusal_page(&refusal)),
    }
}

/// Where the browser goes after sign-out: the provider's sign-out, where it offers one.
#[derive(Serialize)]
struct SignedOut {
    logout_url: Option<String>,
}

async fn logout(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let oidc = provider(&state)?;
    let session_id = request
        .cookie(SESSION_COOKIE)
        .ok_or(AppError::Unauthorized("no session to sign out of"))?;
    let given = request
        .headers()
        .get(CSRF_HEADER)
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default();
    if !sign_in::csrf_matches(session_id.value(), given) {
        return Err(AppError::Forbidden(
            "sign-out from the page must carry the session's X-CSRF-Token".into(),
        ));
    }
    let logout_url = sign_in::end(&state, oidc, session_id.value()).await?;
    Ok(HttpResponse::Ok()
        .cookie(cookie(SESSION_COOKIE, String::new(), 0))
        .json(SignedOut { logout_url }))
}

/// What the dashboard needs to know before it shows anything.
#[derive(Serialize)]
struct SessionView {
    /// Whether people sign in with the identity provider (else with a pasted token).
    provider: bool,
    signed_in: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    role: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    person: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    csrf_token: Option<String>,
}

async fn session(
    state: web::Data<AppState>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let mut view = SessionView {
        provider: state.oidc.is_some(),
        signed_in: false,
        role: None,
        region: None,
        person: None,
        csrf_token: None,
    };
    if let (Some(oidc), Some(cookie)) = (&state.oidc, request.cookie(SESSION_COOKIE))
        && let Some(principal) = sign_in::principal(&state, oidc, cookie.value()).await?
    {
        view.signed_in = true;
        view.role = Some(principal.role.as_str());
        view.region = principal.region.map(|r| r.as_str().to_string());
        view.person = Some(principal.name);
        view.csrf_token = Some(sign_in::csrf_token(cookie.value()));
    }
    Ok(HttpResponse::Ok().json(view))
}
