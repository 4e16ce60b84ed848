//! Sign-in with the organisation's identity provider, and the sessions it starts: a sign-in
//! begun is stored until the provider's answer comes back (to whichever instance), a session
//! is stored by the hash of its id, and every instance finds it. Sign-ins, refusals and
//! sign-outs are logged with subject and role and counted (`sign_ins_total`).

use chrono::{NaiveDateTime, TimeDelta};
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::auth::{Principal, Role};
use crate::db::sessions::{self, SessionRow, SignInRow};
use crate::domain::codes::RegionCode;
use crate::error::AppError;
use crate::observability::record_sign_in;
use crate::oidc::{Identity, Oidc, Refusal};
use crate::state::AppState;

/// How long a person has at the provider's login form before the sign-in must begin again.
pub const SIGN_IN_SECONDS: i64 = 10 * 60;

/// A session's last use is stored at most this often, so that reading a page is not a write
/// each time; the idle timeout is that much less exact.
const TOUCH_AFTER_SECONDS: i64 = 60;

/// A fresh secret: 32 random bytes, as hex.
fn secret() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    hex(&bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// What is stored of a secret: its SHA-256, as hex.
pub fn hash(secret: &str) -> String {
    hex(&Sha256::digest(secret.as_bytes()))
}

/// The CSRF token of a session: derived from its id by a one-way hash, so that it is bound
/// to the session, needs no storage, and does not give the session id away. The page reads
/// it from `GET /auth/session` (same origin only) and sends it as `X-CSRF-Token`.
pub fn csrf_token(session_id: &str) -> String {
    hash(&format!("csrf:{session_id}"))
}

/// Whether `given` is the session's CSRF token. The hashes are compared, so that the time a
/// comparison takes tells nothing of the token.
pub fn csrf_matches(session_id: &str, given: &str) -> bool {
    hash(given) == hash(&csrf_token(session_id))
}

/// Begins a sign-in: the provider's authorization URL, and the `state` the browser keeps in
/// its sign-in cookie.
pub async fn begin(state: &AppState, oidc: &Oidc) -> Result<(String, String), Refusal> {
    let begun = oidc.begin().await?;
    let now = crate::domain::now();
    let row = SignInRow {
        state_hash: hash(&begun.state),
        nonce: begun.nonce,
        pkce_verifier: begun.verifier,
        created_at: now,
    };
    let stale_before = now - TimeDelta::seconds(SIGN_IN_SECONDS);
    state
        .write(move |conn| Ok(sessions::begin(conn, &row, stale_before)?))
        .await
        .map_err(unavailable)?;
    Ok((begun.url, begun.state))
}

/// A session started: its id for the cookie, and who it is for.
pub struct Started {
    pub session_id: String,
    pub identity: Identity,
}

/// Finishes a sign-in with the provider's answer: `returned_state` must be the state this
/// browser's sign-in cookie holds (`kept_state`), and a sign-in begun with it, unused and not
/// stale; the code is exchanged and the ID token verified; a new session replaces
/// `previous_session`, so that the id is new at every sign-in. The account's other sessions
/// take the role, län and name of this sign-in: they are what the provider says of the
/// account now. A sign-in refused after the state was found this browser's own ends
/// `previous_session` too (the browser asked to be someone new, who may be another person
/// at a shared computer); one refused for the account's claims ends every session of the
/// account, whose role the provider no longer gives.
pub async fn finish(
    state: &AppState,
    oidc: &Oidc,
    code: String,
    returned_state: &str,
    kept_state: Option<&str>,
    previous_session: Option<&str>,
) -> Result<Started, Refusal> {
    let started = finish_sign_in(
        state,
        oidc,
        code,
        returned_state,
        kept_state,
        previous_session,
    )
    .await;
    match &started {
        Ok(started) => {
            let identity = &started.identity;
            tracing::info!(
                subject = %identity.subject,
                person = %identity.person,
                role = identity.role.as_str(),
                region = identity.region.as_ref().map(RegionCode::as_str),
                "signed in"
            );
            record_sign_in("signed_in", identity.role.as_str());
        }
        Err(refusal) => refused(refusal),
    }
    started
}

async fn finish_sign_in(
    state: &AppState,
    oidc: &Oidc,
    code: String,
    returned_state: &str,
    kept_state: Option<&str>,
    previous_session: Option<&str>,
) -> Result<Started, Refusal> {
    if kept_state != Some(returned_state) {
        return Err(Refusal::new(
            "state_mismatch",
            "Inloggningen hör inte till den här webbläsaren. Börja om inloggningen.",
        ));
    }
    let state_hash = hash(returned_state);
    let begun = state
        .write(move |conn| Ok(sessions::take(conn, &state_hash)?))
        .await
        .map_err(unavailable)?
        .ok_or_else(|| {
            Refusal::new(
                "state_unknown",
                "Inloggningen är redan använd eller okänd. Börja om inloggningen.",
            )
        })?;
    let now = crate::domain::now();
    if now - begun.created_at > TimeDelta::seconds(SIGN_IN_SECONDS) {
        return Err(Refusal::new(
            "sign_in_stale",
            "Inloggningen tog för lång tid. Börja om inloggningen.",
        ));
    }
    let identity = match oidc.finish(code, &begun.nonce, begun.pkce_verifier).await {
        Ok(identity) => identity,
        Err(refusal) => {
            end_refused(state, &refusal, previous_session).await;
            return Err(refusal);
        }
    };
    let session_id = secret();
    let settings = oidc.config();
    let row = SessionRow {
        id_hash: hash(&session_id),
        issuer: identity.issuer.clone(),
        subject: identity.subject.clone(),
        person: identity.person.clone(),
        role: identity.role.as_str().to_string(),
        region: identity.region.as_ref().map(|r| r.as_str().to_string()),
        id_token: identity.id_token.clone(),
        created_at: now,
        last_seen_at: now,
        expires_at: now + TimeDelta::seconds(settings.session_lifetime_seconds),
    };
    let previous = previous_session.map(hash);
    state
        .write(move |conn| {
            if let Some(previous) = previous {
                sessions::end(conn, &previous)?;
            }
            sessions::start(conn, &row, now)?;
            Ok(sessions::follow(conn, &row)?)
        })
        .await
        .map_err(unavailable)?;
    Ok(Started {
        session_id,
        identity,
    })
}

/// Ends the sessions a refused sign-in leaves without a person: the browser's own, and every
/// session of the account whose claims were refused. A refusal is answered even when they
/// cannot be ended now; the failure is logged.
async fn end_refused(state: &AppState, refusal: &Refusal, previous_session: Option<&str>) {
    let previous = previous_session.map(hash);
    let account = refusal.account.clone();
    let ended = state
        .write(move |conn| {
            let mut ended = 0;
            if let Some(previous) = previous {
                ended += usize::from(sessions::end(conn, &previous)?.is_some());
            }
            if let Some(account) = account {
                ended += sessions::end_account(conn, &account.issuer, &account.subject)?;
            }
            Ok(ended)
        })
        .await;
    match ended {
        Ok(0) => {}
        Ok(ended) => tracing::info!(
            ended,
            reason = refusal.reason,
            "sessions ended by a refused sign-in"
        ),
        Err(error) => {
            tracing::error!(%error, "the sessions of a refused sign-in could not be ended")
        }
    }
}

/// Logs and counts a refused sign-in.
pub fn refused(refusal: &Refusal) {
    tracing::warn!(reason = refusal.reason, message = %refusal.message, "sign-in refused");
    record_sign_in("refused", refusal.reason);
}

fn unavailable(error: AppError) -> Refusal {
    tracing::error!(%error, "a sign-in could not be stored");
    Refusal::new(
        "unavailable",
        "Inloggningen kunde inte sparas just nu. Försök igen om en stund.",
    )
}

/// Whether a session has ended at `now`: its absolute lifetime, or its idle timeout.
fn ended(row: &SessionRow, now: NaiveDateTime, idle_seconds: i64) -> bool {
    now >= row.expires_at || now - row.last_seen_at > TimeDelta::seconds(idle_seconds)
}

/// The caller a session is, if it has not ended; its use is noted for the idle timeout.
pub async fn principal(
    state: &AppState,
    oidc: &Oidc,
    session_id: &str,
) -> Result<Option<Principal>, AppError> {
    let id_hash = hash(session_id);
    let looked_up = id_hash.clone();
    let Some(row) = state
        .db(move |conn| Ok(sessions::find(conn, &looked_up)?))
        .await?
    else {
        return Ok(None);
    };
    let now = crate::domain::now();
    if ended(&row, now, oidc.config().session_idle_seconds) {
        state
            .write(move |conn| Ok(sessions::end(conn, &id_hash)?))
            .await?;
        return Ok(None);
    }
    if now - row.last_seen_at > TimeDelta::seconds(TOUCH_AFTER_SECONDS) {
        state
            .write(move |conn| Ok(sessions::touch(conn, &id_hash, now)?))
            .await?;
    }
    let role = Role::parse(&row.role)
        .ok_or_else(|| AppError::Internal(format!("stored session role '{}'", row.role)))?;
    Ok(Some(Principal {
        issuer: Some(row.issuer),
        subject: row.subject,
        name: row.person,
        role,
        region: row.region.as_deref().and_then(RegionCode::parse),
    }))
}

/// Ends a session; the provider's sign-out address for it, where the provider has one.
pub async fn end(
    state: &AppState,
    oidc: &Oidc,
    session_id: &str,
) -> Result<Option<String>, AppError> {
    let id_hash = hash(session_id);
    let Some(row) = state
        .write(move |conn| Ok(sessions::end(conn, &id_hash)?))
        .await?
    else {
        return Ok(None);
    };
    tracing::info!(
        subject = %row.subject,
        person = %row.person,
        role = %row.role,
        region = row.region.as_deref(),
        "signed out"
    );
    let role = Role::parse(&row.role).map_or("unknown", Role::as_str);
    record_sign_in("signed_out", role);
    Ok(oidc.logout_url(&row.id_token).await)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(created: NaiveDateTime, last_seen: NaiveDateTime, expires: NaiveDateTime) -> SessionRow {
        SessionRow {
            id_hash: String::new(),
            issuer: String::new(),
            subject: String::new(),
            person: String::new(),
            role: "national".into(),
            region: None,
            id_token: String::new(),
            created_at: created,
            last_seen_at: last_seen,
            expires_at: expires,
        }
    }

    #[test]
    fn a_session_ends_when_idle_or_at_its_lifetime() {
        let start = crate::domain::now();
        let minutes = |m| start + TimeDelta::minutes(m);
        let session = row(start, minutes(50), minutes(60));
        assert!(!ended(&session, minutes(55), 30 * 60));
        assert!(ended(&session, minutes(60), 30 * 60), "lifetime");
        assert!(ended(&session, minutes(59), 60), "idle");
    }

    #[test]
    fn the_csrf_token_is_bound_to_its_session_and_hides_it() {
        let id = secret();
        let token = csrf_token(&id);
        assert!(csrf_matches(&id, &token));
        assert!(!csrf_matches(&secret(), &token));
        assert!(!csrf_matches(&id, ""));
        assert_ne!(token, hash(&id));
        assert_eq!(id.len(), 64);
    }
}
