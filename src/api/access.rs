//! Role checks. Handlers state who may call them by the extractor they take
//! (`Authorized<AdminOnly>`, ...); none checks roles by hand.

use std::marker::PhantomData;

use actix_web::http::Method;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use futures_util::future::LocalBoxFuture;

use crate::auth::{Principal, Role};
use crate::error::AppError;
use crate::state::AppState;

/// Who may pass: each implementation is one access rule.
pub trait Access {
    fn check(principal: &Principal, request: &HttpRequest) -> Result<(), AppError>;
}

/// An authenticated caller that passed the access rule `A`.
pub struct Authorized<A: Access> {
    pub principal: Principal,
    rule: PhantomData<A>,
}

impl<A: Access> FromRequest for Authorized<A> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let principal = identify(&request)
                .await?
                .ok_or_else(|| unauthorized(&request))?;
            A::check(&principal, &request)?;
            Ok(Authorized {
                principal,
                rule: PhantomData,
            })
        })
    }
}

/// A caller that may come without a token or session (`principal` None); one with either
/// must pass the access rule `A`. For what is open to everyone in part, such as published
/// snapshots. A session cookie that has ended or is unknown makes the request anonymous,
/// not refused: a browser keeps the cookie after the session ends, and what is open to
/// everyone stays open to it.
pub struct MaybeAuthorized<A: Access> {
    pub principal: Option<Principal>,
    rule: PhantomData<A>,
}

impl<A: Access> FromRequest for MaybeAuthorized<A> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let principal = identify(&request).await?;
            if let Some(principal) = &principal {
                A::check(principal, &request)?;
            }
            Ok(MaybeAuthorized {
                principal,
                rule: PhantomData,
            })
        })
    }
}

/// The session cookie set at sign-in with the identity provider.
pub const SESSION_COOKIE: &str = "__Host-uppfoljning-session";
/// The header that carries a session's CSRF token on a state-changing request.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The caller, by one of two ways that give the same `Principal`: a bearer token (systems,
/// and the dashboard without a provider), or the session cookie of a person signed in with
/// the identity provider. A request with a token is judged by its token alone. None when
/// the request brings neither a token nor a live session: no credentials, a session that
/// has ended or is unknown, or a session cookie where no provider is configured. A token
/// that does not verify is refused.
async fn identify(request: &HttpRequest) -> Result<Option<Principal>, AppError> {
    let state = request
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?;
    let principal = match (
        request
            .headers()
            .get(actix_web::http::header::AUTHORIZATION),
        request.cookie(SESSION_COOKIE),
        &state.oidc,
    ) {
        (Some(header), _, _) => bearer(state, request, header)?,
        (None, Some(cookie), Some(oidc)) => {
            match session(state, oidc, request, cookie.value()).await? {
                Some(principal) => principal,
                None => return Ok(None),
            }
        }
        (None, Some(_), None) => {
            // No session can be: a cookie the service never set, limited as guesses are.
            limit_guessing(state, request)?;
            return Ok(None);
        }
        (None, None, _) => return Ok(None),
    };
    tracing::Span::current().record("subject", principal.subject.as_str());
    if let Some(limiter) = &state.rate_limiter {
        limiter
            .check(&principal.caller(), cost(request))
            .map_err(AppError::TooManyRequests)?;
    }
    Ok(Some(principal))
}

/// Why a request that names no caller is refused where one is needed.
fn unauthorized(request: &HttpRequest) -> AppError {
    let provider = request
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.oidc.is_some());
    if provider && request.cookie(SESSION_COOKIE).is_some() {
        AppError::Unauthorized("the session has ended or is unknown; sign in again")
    } else {
        AppError::Unauthorized("an Authorization: Bearer token is required")
    }
}

/// Guessing tokens or session ids is limited as requests without one are (`app.rs`), by
/// address.
fn limit_guessing(state: &AppState, request: &HttpRequest) -> Result<(), AppError> {
    if let Some(limiter) = &state.rate_limiter {
        limiter
            .check(&address_of(request), 1)
            .map_err(AppError::TooManyRequests)?;
    }
    Ok(())
}

/// The caller a session cookie names, None when the session has ended or is unknown. A
/// request that changes state must carry the session's CSRF token (`X-CSRF-Token`): the
/// cookie goes with every request the browser sends, but only the service's own page can
/// read the token (`GET /auth/session`).
async fn session(
    state: &AppState,
    oidc: &crate::oidc::Oidc,
    request: &HttpRequest,
    session_id: &str,
) -> Result<Option<Principal>, AppError> {
    let safe = [Method::GET, Method::HEAD, Method::OPTIONS].contains(request.method());
    if !safe {
        let given = request
            .headers()
            .get(CSRF_HEADER)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default();
        if !crate::service::sign_in::csrf_matches(session_id, given) {
            limit_guessing(state, request)?;
            return Err(AppError::Forbidden(
                "a request that changes data from a signed-in page must carry the session's X-CSRF-Token".into(),
            ));
        }
    }
    let principal = crate::service::sign_in::principal(state, oidc, session_id).await?;
    if principal.is_none() {
        limit_guessing(state, request)?;
    }
    Ok(principal)
}

fn bearer(
    state: &AppState,
    request: &HttpRequest,
    header: &actix_web::http::header::HeaderValue,
) -> Result<Principal, AppError> {
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(AppError::Unauthorized(
            "the Authorization header must be 'Bearer <token>'",
        ))?;
    state.keys.verify(token).or_else(|refused| {
        limit_guessing(state, request)?;
        Err(AppError::Unauthorized(refused))
    })
}

/// The rate limiter's key for a caller without a valid token: the address the connection
/// comes from. Behind the service's own proxy (`BEHIND_TLS_PROXY`) every connection comes
/// from the proxy, so the key is the address the proxy saw: the last `X-Forwarded-For`
/// entry, which the proxy appends (the entries before it are the client's to write).
pub fn address_of(request: &HttpRequest) -> String {
    let behind_proxy = request
        .app_data::<web::Data<AppState>>()
        .is_some_and(|state| state.config.behind_tls_proxy);
    let forwarded = behind_proxy
        .then(|| request.headers().get_all("x-forwarded-for").last())
        .flatten()
        .and_then(|value| value.to_str().ok())
        .and_then(|list| list.rsplit(',').next())
        .and_then(|last| last.trim().parse::<std::net::IpAddr>().ok());
    match forwarded.or_else(|| request.peer_addr().map(|peer| peer.ip())) {
        Some(address) => format!("address {address}"),
        None => "address unknown".into(),
    }
}

/// A read that a kept answer may spare (a list is a plain read).
pub const COST_READ: u32 = 1;
/// A read that computes (aggregates, completeness, reports, narratives, templates,
/// snapshots), or a write of one item.
pub const COST_HEAVY: u32 = 2;
/// A read computed afresh (`Cache-Control: no-cache`), a bulk submission or a snapshot.
pub const COST_COMPUTED: u32 = 10;
/// An overview (`GET /aggregates/overview`): what the national catalogue's seventeen
/// aggregates it answers cost asked one by one.
pub const COST_OVERVIEW: u32 = 17 * COST_HEAVY;

/// The routes whose reads compute, by the end of their pattern.
const HEAVY_READS: [&str; 7] = [
    "/aggregates",
    "/completeness",
    "/reports",
    "/reports/{period}",
    "/template",
    "/narratives",
    "/snapshots/{id}",
];

/// What a request costs of its caller's rate, by the work it asks for: a kept answer costs
/// little more than a list, one computed afresh or a bulk write many plain reads.
pub fn cost(request: &HttpRequest) -> u32 {
    let pattern = request.match_pattern().unwrap_or_default();
    let computes = HEAVY_READS.iter().any(|end| pattern.ends_with(end));
    let fresh = request
        .headers()
        .get(actix_web::http::header::CACHE_CONTROL)
        .and_then(|value| value.to_str().ok())
        .is_some_and(|value| value.to_ascii_lowercase().contains("no-cache"));
    let method = request.method();
    if method == Method::GET || method == Method::HEAD {
        if pattern.ends_with("/aggregates/overview") {
            return COST_OVERVIEW;
        }
        match (computes, fresh) {
            (true, true) => COST_COMPUTED,
            (true, false) => COST_HEAVY,
            (false, _) => COST_READ,
        }
    } else if pattern.ends_with("/submissions") || pattern.ends_with("/snapshots") {
        COST_COMPUTED
    } else {
        COST_HEAVY
    }
}

/// Any authenticated caller.
pub struct AnyRole;

impl Access for AnyRole {
    fn check(_: &Principal, _: &HttpRequest) -> Result<(), AppError> {
        Ok(())
    }
}

/// Admins only: the catalogue, periods, locks.
pub struct AdminOnly;

impl Access for AdminOnly {
    fn check(principal: &Principal, _: &HttpRequest) -> Result<(), AppError> {
        match principal.role {
            Role::Admin => Ok(()),
            _ => Err(AppError::Forbidden("this operation is for admins".into())),
        }
    }
}

/// The region named in the request path (`{region}`).
fn path_region(request: &HttpRequest) -> &str {
    request.match_info().get("region").unwrap_or_default()
}

fn is_own_region(principal: &Principal, request: &HttpRequest) -> bool {
    principal
        .region
        .as_ref()
        .is_some_and(|own| own.as_str() == path_region(request))
}

/// Writes to a region's data: admins, and region tokens of that region.
pub struct RegionWrite;

impl Access for RegionWrite {
    fn check(principal: &Principal, request: &HttpRequest) -> Result<(), AppError> {
        match principal.role {
            Role::Admin => Ok(()),
            Role::Region if is_own_region(principal, request) => Ok(()),
            Role::Region => Err(AppError::Forbidden(
                "a region token writes only its own region".into(),
            )),
            _ => Err(AppError::Forbidden(
                "only a region's own token or an admin writes regional data".into(),
            )),
        }
    }
}

/// Reads of a region's project data: admins, national readers, and region tokens of that
/// region.
pub struct RegionRead;

impl Access for RegionRead {
    fn check(principal: &Principal, request: &HttpRequest) -> Result<(), AppError> {
        match principal.role {
            Role::Admin | Role::National => Ok(()),
            Role::Region if is_own_region(principal, request) => Ok(()),
            Role::Region => Err(AppError::Forbidden(
                "a region token reads only its own region".into(),
            )),
            Role::Scheduler => Err(AppError::Forbidden(
                "the scheduler reads aggregates, not project data".into(),
            )),
        }
    }
}

/// Reads of narratives: admins and national readers see all, region tokens their own.
pub struct NarrativeRead;

impl Access for NarrativeRead {
    fn check(principal: &Principal, _: &HttpRequest) -> Result<(), AppError> {
        match principal.role {
            Role::Admin | Role::National | Role::Region => Ok(()),
            Role::Scheduler => Err(AppError::Forbidden(
                "the scheduler reads aggregates, not narratives".into(),
            )),
        }
    }
}

/// Creating snapshots: the scheduler and admins.
pub struct SnapshotWrite;

impl Access for SnapshotWrite {
    fn check(principal: &Principal, _: &HttpRequest) -> Result<(), AppError> {
        match principal.role {
            Role::Admin | Role::Scheduler => Ok(()),
            _ => Err(AppError::Forbidden(
                "snapshots are made by the scheduler or an admin".into(),
            )),
        }
    }
}

/// Reads of the change feed: national readers, the scheduler's jobs and admins. A region's
/// token is refused: the feed names every region's changes.
pub struct FeedRead;

impl Access for FeedRead {
    fn check(principal: &Principal, _: &HttpRequest) -> Result<(), AppError> {
        match principal.role {
            Role::Admin | Role::National | Role::Scheduler => Ok(()),
            Role::Region => Err(AppError::Forbidden(
                "the change feed names every region's changes; a region token reads its own projects".into(),
            )),
        }
    }
}

/// Publishing snapshots: national readers (Tillväxtverket, who accept the rounds) and admins.
pub struct SnapshotPublish;

impl Access for SnapshotPublish {
    fn check(principal: &Principal, _: &HttpRequest) -> Result<(), AppError> {
        match principal.role {
            Role::Admin | Role::National => Ok(()),
            _ => Err(AppError::Forbidden(
                "snapshots are published by a national reader or an admin".into(),
            )),
        }
    }
}
