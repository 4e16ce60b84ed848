//! Bearer-token authentication and role checks. Handlers state who may call them by the
//! extractor they take (`Authorized<AdminOnly>`, ...); none checks roles by hand.

use std::future::{Ready, ready};
use std::io::Write;
use std::marker::PhantomData;
use std::path::Path;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::app::AppState;
use crate::config::{Config, ConfigError, JwtKeySource};
use crate::domain::codes::RegionCode;
use crate::error::AppError;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Region,
    National,
    Scheduler,
    Admin,
}

impl Role {
    pub fn parse(text: &str) -> Option<Role> {
        match text {
            "region" => Some(Role::Region),
            "national" => Some(Role::National),
            "scheduler" => Some(Role::Scheduler),
            "admin" => Some(Role::Admin),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Region => "region",
            Role::National => "national",
            Role::Scheduler => "scheduler",
            Role::Admin => "admin",
        }
    }
}

/// The verified caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub subject: String,
    pub role: Role,
    /// Set exactly when `role` is `Region`.
    pub region: Option<RegionCode>,
}

/// The claims of a token, as signed and as read.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<String>,
}

impl Claims {
    fn into_principal(self) -> Result<Principal, &'static str> {
        if self.sub.trim().is_empty() || self.sub.len() > 200 {
            return Err("the token's sub claim must be 1 to 200 characters");
        }
        let role = Role::parse(&self.role).ok_or("the token's role claim is not a known role")?;
        let region = match (role, self.region) {
            (Role::Region, Some(code)) => Some(
                RegionCode::parse(&code)
                    .ok_or("the token's region claim is not a valid län code")?,
            ),
            (Role::Region, None) => return Err("a region token must carry a region claim"),
            (_, _) => None,
        };
        Ok(Principal {
            subject: self.sub,
            role,
            region,
        })
    }
}

/// The keys that verify tokens and, with a shared secret, sign them.
pub struct TokenKeys {
    decoding: DecodingKey,
    encoding: Option<EncodingKey>,
    validation: Validation,
    issuer: Option<String>,
    audience: Option<String>,
}

const SECRET_BYTES: usize = 32;

impl TokenKeys {
    /// Loads the key the configuration names; creates the secret file on first start.
    pub fn load(config: &Config) -> Result<TokenKeys, ConfigError> {
        let (algorithm, decoding, encoding) = match &config.jwt_key {
            JwtKeySource::Secret(secret) => (
                Algorithm::HS256,
                DecodingKey::from_secret(secret),
                Some(EncodingKey::from_secret(secret)),
            ),
            JwtKeySource::SecretFile(path) => {
                let secret = load_or_create_secret(path)?;
                (
                    Algorithm::HS256,
                    DecodingKey::from_secret(&secret),
                    Some(EncodingKey::from_secret(&secret)),
                )
            }
            JwtKeySource::PublicKeyFile(path) => {
                let (algorithm, key) = load_public_key(path)?;
                (algorithm, key, None)
            }
        };
        let mut validation = Validation::new(algorithm);
        let mut required = vec!["exp", "sub"];
        required.extend(config.jwt_issuer.as_ref().map(|_| "iss"));
        required.extend(config.jwt_audience.as_ref().map(|_| "aud"));
        validation.set_required_spec_claims(&required);
        validation.validate_nbf = true;
        match &config.jwt_issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match &config.jwt_audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        Ok(TokenKeys {
            decoding,
            encoding,
            validation,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
        })
    }

    /// Verifies a bearer token; the error says why it was refused.
    pub fn verify(&self, token: &str) -> Result<Principal, &'static str> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|error| {
                use jsonwebtoken::errors::ErrorKind;
                match error.kind() {
                    ErrorKind::ExpiredSignature => "the token has expired",
                    ErrorKind::ImmatureSignature => "the token is not valid yet",
                    ErrorKind::InvalidIssuer => "the token has the wrong issuer",
                    ErrorKind::InvalidAudience => "the token has the wrong audience",
                    ErrorKind::InvalidAlgorithm => "the token is signed with another algorithm",
                    ErrorKind::InvalidSignature => "the token's signature is invalid",
                    ErrorKind::MissingRequiredClaim(_) => "the token lacks a required claim",
                    _ => "the token is malformed",
                }
            })?;
        data.claims.into_principal()
    }

    /// Signs a token for `role` valid for `ttl_seconds`, with the configured issuer and
    /// audience. Only possible with a shared secret.
    pub fn sign(
        &self,
        subject: &str,
        role: Role,
        region: Option<&RegionCode>,
        ttl_seconds: u64,
    ) -> Result<String, String> {
        let encoding = self.encoding.as_ref().ok_or(
            "JWT_PUBLIC_KEY_FILE is set: tokens come from the identity provider that holds the private key",
        )?;
        let now = jsonwebtoken::get_current_timestamp();
        let claims = Claims {
            sub: subject.to_string(),
            role: role.as_str().to_string(),
            region: region.map(|r| r.as_str().to_string()),
            exp: now + ttl_seconds,
            iat: Some(now),
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, encoding)
            .map_err(|e| format!("cannot sign the token: {e}"))
    }
}

fn load_or_create_secret(path: &Path) -> Result<Vec<u8>, ConfigError> {
    let error = |problem: String| ConfigError {
        variable: "DATA_DIR",
        problem,
    };
    if let Some(parent) = path.parent() {
        crate::config::ensure_dir(parent, "DATA_DIR")?;
    }
    let mut secret = [0u8; SECRET_BYTES];
    rand::rng().fill_bytes(&mut secret);
    let hex: String = secret.iter().map(|b| format!("{b:02x}")).collect();
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(mut file) => {
            file.write_all(hex.as_bytes())
                .map_err(|e| error(format!("cannot write {}: {e}", path.display())))?;
            Ok(hex.into_bytes())
        }
        // Another process (or an earlier start) created it first: use that one.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let stored = std::fs::read_to_string(path)
                .map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
            let stored = stored.trim();
            if stored.len() < crate::config::MIN_SECRET_BYTES {
                return Err(error(format!("{} holds no usable secret", path.display())));
            }
            Ok(stored.as_bytes().to_vec())
        }
        Err(e) => Err(error(format!("cannot create {}: {e}", path.display()))),
    }
}

fn load_public_key(path: &Path) -> Result<(Algorithm, DecodingKey), ConfigError> {
    let error = |problem: String| ConfigError {
        variable: "JWT_PUBLIC_KEY_FILE",
        problem,
    };
    let pem =
        std::fs::read(path).map_err(|e| error(format!("cannot read {}: {e}", path.display())))?;
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok((Algorithm::RS256, key));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
        return Ok((Algorithm::ES256, key));
    }
    Err(error(format!(
        "{} is neither an RSA nor an EC public key in PEM form",
        path.display()
    )))
}

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
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(authenticate(request).and_then(|principal| {
            A::check(&principal, request)?;
            Ok(Authorized {
                principal,
                rule: PhantomData,
            })
        }))
    }
}

fn authenticate(request: &HttpRequest) -> Result<Principal, AppError> {
    let state = request
        .app_data::<web::Data<AppState>>()
        .ok_or_else(|| AppError::Internal("application state missing".into()))?;
    let header = request
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or(AppError::Unauthorized(
            "an Authorization: Bearer token is required",
        ))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|value| value.strip_prefix("Bearer "))
        .map(str::trim)
        .filter(|token| !token.is_empty())
        .ok_or(AppError::Unauthorized(
            "the Authorization header must be 'Bearer <token>'",
        ))?;
    let principal = state.keys.verify(token).map_err(AppError::Unauthorized)?;
    tracing::Span::current().record("subject", principal.subject.as_str());
    if let Some(limiter) = &state.rate_limiter {
        limiter
            .check(&principal.subject, std::time::Instant::now())
            .map_err(AppError::TooManyRequests)?;
    }
    Ok(principal)
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
