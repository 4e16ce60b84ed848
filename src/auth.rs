//! Tokens: the roles, the verified caller (`Principal`), and the keys that sign and verify
//! bearer tokens. Who may call which endpoint is `api::access`.

use std::io::Write;
use std::path::Path;

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use rand::RngCore;
use serde::{Deserialize, Serialize};

use crate::config::{Config, ConfigError, JwtKeySource};
use crate::domain::codes::RegionCode;

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
    /// The token's `iss`, if it has one.
    pub issuer: Option<String>,
    /// Who calls, as the issuer knows them for good: a bearer token's `sub`, or the identity
    /// provider's `sub` of a signed-in person (never a name the person can change there).
    pub subject: String,
    /// Who calls, for people to read: what the caller does (report events, submissions,
    /// changes) names them by it. A bearer token's `sub`; a signed-in person's
    /// `preferred_username`, else `email`, else `sub`.
    pub name: String,
    pub role: Role,
    /// Set exactly when `role` is `Region`.
    pub region: Option<RegionCode>,
}

impl Principal {
    /// Who calls, as one text: issuer, role, region and subject. A subject alone names no
    /// one: two issuers may give out the same one, and the command line gives every token
    /// the subject `cli` unless told otherwise, to a region's system and an admin alike.
    pub fn caller(&self) -> String {
        serde_json::json!([
            self.issuer,
            self.role.as_str(),
            self.region.as_ref().map(RegionCode::as_str),
            self.subject,
        ])
        .to_string()
    }
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
            issuer: self.iss,
            name: self.sub.clone(),
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
    max_lifetime_seconds: u64,
}

const SECRET_BYTES: usize = 32;

/// How far clocks may disagree: a token is taken as expired or valid yet this many seconds
/// late or early, and may outlive the maximum lifetime by as much.
pub const LEEWAY_SECONDS: u64 = 60;

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
                // An identity provider signs tokens for many services: only its issuer and
                // this service's audience make one of them a token for this service.
                for (variable, value) in [
                    ("JWT_ISSUER", &config.jwt_issuer),
                    ("JWT_AUDIENCE", &config.jwt_audience),
                ] {
                    if value.is_none() {
                        return Err(ConfigError {
                            variable,
                            problem: "required with JWT_PUBLIC_KEY_FILE".into(),
                        });
                    }
                }
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
        validation.leeway = LEEWAY_SECONDS;
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
            max_lifetime_seconds: config.jwt_max_lifetime_seconds,
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
        let latest_exp = jsonwebtoken::get_current_timestamp()
            .saturating_add(self.max_lifetime_seconds)
            .saturating_add(LEEWAY_SECONDS);
        if data.claims.exp > latest_exp {
            return Err("the token is valid for longer than this service allows");
        }
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
        if ttl_seconds > self.max_lifetime_seconds {
            return Err(format!(
                "a token is valid for at most {} seconds (JWT_MAX_LIFETIME_SECONDS)",
                self.max_lifetime_seconds
            ));
        }
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
