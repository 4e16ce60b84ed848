//! Typed configuration from environment variables, checked once at start-up.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// A setting that is missing or unusable; start-up stops with this one line.
#[derive(Debug, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct ConfigError {
    pub variable: &'static str,
    pub problem: String,
}

fn config_error(variable: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError {
        variable,
        problem: problem.into(),
    }
}

/// Where the data lives: a PostgreSQL server or a SQLite file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseUrl {
    Postgres(String),
    Sqlite(PathBuf),
}

impl DatabaseUrl {
    /// `postgres://…` and `postgresql://…` select PostgreSQL; `sqlite://PATH` or a plain path
    /// selects a SQLite file.
    pub fn parse(text: &str) -> Result<DatabaseUrl, ConfigError> {
        let text = text.trim();
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Ok(DatabaseUrl::Postgres(text.to_string()));
        }
        let path = text.strip_prefix("sqlite://").unwrap_or(text);
        if path.is_empty() || path.starts_with(':') || path.contains("://") {
            return Err(config_error(
                "DATABASE_URL",
                "expected postgres://…, postgresql://…, sqlite://PATH or a file path",
            ));
        }
        Ok(DatabaseUrl::Sqlite(PathBuf::from(path)))
    }

    /// The string handed to the connection: the URL, or the SQLite file's path.
    pub fn connection_string(&self) -> String {
        match self {
            DatabaseUrl::Postgres(url) => url.clone(),
            DatabaseUrl::Sqlite(path) => path.to_string_lossy().into_owned(),
        }
    }
}

/// Where the key that verifies tokens comes from.
#[derive(Debug, Clone)]
pub enum JwtKeySource {
    /// HS256 with `JWT_SECRET`.
    Secret(Vec<u8>),
    /// HS256 with the secret kept in the data folder, created on first start.
    SecretFile(PathBuf),
    /// RS256 or ES256 with the public key in `JWT_PUBLIC_KEY_FILE`.
    PublicKeyFile(PathBuf),
}

/// Sign-in with the organisation's identity provider (OpenID Connect), set by `OIDC_ISSUER`,
/// `OIDC_CLIENT_ID`, `OIDC_CLIENT_SECRET` and `OIDC_REDIRECT_URL` together.
#[derive(Debug, Clone)]
pub struct OidcConfig {
    /// The provider's issuer; its discovery document is below it.
    pub issuer: String,
    pub client_id: String,
    pub client_secret: String,
    /// This service's `/auth/callback` as the provider knows it (`https://…/auth/callback`).
    pub redirect_url: String,
    /// The claim that holds the roles: a string or an array of strings.
    pub roles_claim: String,
    /// The claim that holds the region's län code.
    pub lan_claim: String,
    /// The provider's names for roles (groups, app roles) and the role each gives: `region`,
    /// `national` or `admin`, never `scheduler`. Empty: the names are the roles' own.
    pub role_map: Vec<(String, String)>,
    /// A session ends after this many seconds without a request.
    pub session_idle_seconds: i64,
    /// A session ends this many seconds after sign-in, used or not.
    pub session_lifetime_seconds: i64,
}

/// The roles a person may sign in as; machines (`scheduler`) keep bearer tokens.
pub const SIGN_IN_ROLES: [&str; 3] = ["region", "national", "admin"];
/// Half an hour without a request ends a session.
pub const DEFAULT_SESSION_IDLE_SECONDS: i64 = 30 * 60;
/// A working day: a session ends ten hours after sign-in.
pub const DEFAULT_SESSION_LIFETIME_SECONDS: i64 = 10 * 3600;

#[derive(Debug, Clone)]
pub struct Config {
    pub database: DatabaseUrl,
    pub bind: SocketAddr,
    pub data_dir: PathBuf,
    pub jwt_key: JwtKeySource,
    pub jwt_issuer: Option<String>,
    pub jwt_audience: Option<String>,
    pub pool_size: u32,
    pub max_body_bytes: usize,
    /// The larger limit of the bulk submission endpoint.
    pub max_submission_bytes: usize,
    /// Requests per second per token subject; 0 turns limiting off.
    pub rate_limit_per_second: u32,
    /// Origins allowed to call from a browser; empty: no CORS.
    pub cors_allowed_origins: Vec<String>,
    /// The most cells an aggregate answer may have in any format (422 above it).
    pub max_answer_cells: usize,
    /// The bearer token that reads `/metrics`; without one `/metrics` is not served.
    pub metrics_token: Option<String>,
    /// The longest a token may still be valid: one whose `exp` lies further ahead is refused.
    pub jwt_max_lifetime_seconds: u64,
    /// The bytes of kept aggregate answers (as serialised JSON); 0 keeps none.
    pub kept_answers_bytes: u64,
    /// The most bytes the in-memory aggregate index may hold (`aggregate_index`); past it
    /// aggregates are computed in SQL. 0 keeps no index.
    pub aggregate_index_bytes: u64,
    /// Requests arrive over TLS (through a proxy that ends it): answers carry HSTS.
    pub behind_tls_proxy: bool,
    /// For tests only: sets this instance's clock this many seconds off, to show that no
    /// `as_of` answer or snapshot rests on an instance's clock (`domain::clock`). Zero in
    /// service.
    pub clock_offset_seconds: i64,
    /// Sign-in with an identity provider; without one the dashboard takes a pasted token.
    pub oidc: Option<OidcConfig>,
    /// The most cells one PxWeb data request may select (`/config`'s `maxDataCells`); more is
    /// refused with "Too many cells selected".
    pub pxweb_max_data_cells: usize,
}

pub const DEFAULT_BIND: &str = "127.0.0.1:8080";
pub const DEFAULT_DATA_DIR: &str = "./data";
pub const DEFAULT_POOL_SIZE: u32 = 10;
pub const DEFAULT_RATE_LIMIT_PER_SECOND: u32 = 100;
pub const DEFAULT_MAX_BODY_BYTES: usize = 1024 * 1024;
/// 90 days: a regional system's token is renewed each quarter at the latest.
pub const DEFAULT_JWT_MAX_LIFETIME_SECONDS: u64 = 90 * 24 * 3600;
/// Room for some hundred large answers; their memory is a few times their JSON.
pub const DEFAULT_KEPT_ANSWERS_BYTES: u64 = 64 * 1024 * 1024;
/// Room for a whole regional portfolio: 100,000 values of about 200 bytes each, and more.
/// About fifteen million values (some fifty bytes each).
pub const DEFAULT_AGGREGATE_INDEX_BYTES: u64 = 768 * 1024 * 1024;
pub const DEFAULT_MAX_SUBMISSION_BYTES: usize = 64 * 1024 * 1024;
/// An aggregate's table (rows by columns) or JSON-stat cube: some 30 MB of JSON.
pub const DEFAULT_MAX_ANSWER_CELLS: usize = 1_000_000;
/// Every PxWeb table whole many times over (22 regions, 4 sexes, 4 contents, 40 years of
/// half-years: some 28,000 cells).
pub const DEFAULT_PXWEB_MAX_DATA_CELLS: usize = 150_000;
/// HS256 secrets shorter than this are guessable.
pub const MIN_SECRET_BYTES: usize = 32;
/// The file in the data folder that keeps the generated HS256 secret.
pub const SECRET_FILE_NAME: &str = "jwt-secret";

impl Config {
    /// Reads the configuration from the environment (after `.env`, if present).
    pub fn from_env() -> Result<Config, ConfigError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which answers a variable's value.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |name: &str| lookup(name).filter(|value| !value.trim().is_empty());
        let data_dir = PathBuf::from(get("DATA_DIR").unwrap_or_else(|| DEFAULT_DATA_DIR.into()));
        let database = match get("DATABASE_URL") {
            Some(url) => DatabaseUrl::parse(&url)?,
            None => DatabaseUrl::Sqlite(data_dir.join("uppfoljning.db")),
        };
        let bind = get("BIND")
            .unwrap_or_else(|| DEFAULT_BIND.into())
            .parse()
            .map_err(|_| config_error("BIND", "expected an address such as 127.0.0.1:8080"))?;
        let jwt_key = match (get("JWT_SECRET"), get("JWT_PUBLIC_KEY_FILE")) {
            (Some(_), Some(_)) => {
                return Err(config_error(
                    "JWT_SECRET",
                    "set either JWT_SECRET or JWT_PUBLIC_KEY_FILE, not both",
                ));
            }
            (Some(secret), None) if secret.len() < MIN_SECRET_BYTES => {
                return Err(config_error(
                    "JWT_SECRET",
                    format!("must be at least {MIN_SECRET_BYTES} bytes"),
                ));
            }
            (Some(secret), None) => JwtKeySource::Secret(secret.into_bytes()),
            (None, Some(path)) => JwtKeySource::PublicKeyFile(PathBuf::from(path)),
            (None, None) => JwtKeySource::SecretFile(data_dir.join(SECRET_FILE_NAME)),
        };
        let jwt_issuer = get("JWT_ISSUER");
        let jwt_audience = get("JWT_AUDIENCE");
        let metrics_token = get("METRICS_TOKEN");
        if metrics_token
            .as_ref()
            .is_some_and(|token| token.len() < MIN_SECRET_BYTES)
        {
            return Err(config_error(
                "METRICS_TOKEN",
                format!("must be at least {MIN_SECRET_BYTES} bytes"),
            ));
        }
        Ok(Config {
            database,
            bind,
            data_dir,
            jwt_key,
            jwt_issuer,
            jwt_audience,
            pool_size: parse_number(
                get("DB_POOL_SIZE"),
                "DB_POOL_SIZE",
                DEFAULT_POOL_SIZE,
                1..=512,
            )?,
            max_body_bytes: parse_number(
                get("MAX_BODY_BYTES"),
                "MAX_BODY_BYTES",
                DEFAULT_MAX_BODY_BYTES,
                1024..=1024 * 1024 * 1024,
            )?,
            max_submission_bytes: parse_number(
                get("MAX_SUBMISSION_BYTES"),
                "MAX_SUBMISSION_BYTES",
                DEFAULT_MAX_SUBMISSION_BYTES,
                1024..=1024 * 1024 * 1024,
            )?,
            rate_limit_per_second: parse_number(
                get("RATE_LIMIT_PER_SECOND"),
                "RATE_LIMIT_PER_SECOND",
                DEFAULT_RATE_LIMIT_PER_SECOND,
                0..=1_000_000,
            )?,
            cors_allowed_origins: cors_origins(get("CORS_ALLOWED_ORIGINS"))?,
            // Bounded so that every answer within it fits a worksheet (1,048,576 rows).
            max_answer_cells: parse_number(
                get("MAX_ANSWER_CELLS"),
                "MAX_ANSWER_CELLS",
                DEFAULT_MAX_ANSWER_CELLS,
                1..=5_000_000,
            )?,
            metrics_token,
            jwt_max_lifetime_seconds: parse_number(
                get("JWT_MAX_LIFETIME_SECONDS"),
                "JWT_MAX_LIFETIME_SECONDS",
                DEFAULT_JWT_MAX_LIFETIME_SECONDS,
                60..=10 * 366 * 24 * 3600,
            )?,
            kept_answers_bytes: parse_number(
                get("KEPT_ANSWERS_BYTES"),
                "KEPT_ANSWERS_BYTES",
                DEFAULT_KEPT_ANSWERS_BYTES,
                0..=1 << 40,
            )?,
            aggregate_index_bytes: parse_number(
                get("AGGREGATE_INDEX_BYTES"),
                "AGGREGATE_INDEX_BYTES",
                DEFAULT_AGGREGATE_INDEX_BYTES,
                0..=1 << 40,
            )?,
            behind_tls_proxy: parse_flag(get("BEHIND_TLS_PROXY"), "BEHIND_TLS_PROXY")?,
            clock_offset_seconds: parse_number(
                get("CLOCK_OFFSET_SECONDS"),
                "CLOCK_OFFSET_SECONDS",
                0,
                -86_400..=86_400,
            )?,
            oidc: oidc_config(&get)?,
            pxweb_max_data_cells: parse_number(
                get("PXWEB_MAX_DATA_CELLS"),
                "PXWEB_MAX_DATA_CELLS",
                DEFAULT_PXWEB_MAX_DATA_CELLS,
                1..=5_000_000,
            )?,
        })
    }
}

/// The provider's settings: all four required together, or none.
fn oidc_config(get: &dyn Fn(&str) -> Option<String>) -> Result<Option<OidcConfig>, ConfigError> {
    let required = [
        "OIDC_ISSUER",
        "OIDC_CLIENT_ID",
        "OIDC_CLIENT_SECRET",
        "OIDC_REDIRECT_URL",
    ];
    let values: Vec<Option<String>> = required.iter().map(|name| get(name)).collect();
    if values.iter().all(Option::is_none) {
        return Ok(None);
    }
    if let Some(missing) = required.iter().zip(&values).find(|(_, v)| v.is_none()) {
        return Err(config_error(
            missing.0,
            "OIDC_ISSUER, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET and OIDC_REDIRECT_URL are set together",
        ));
    }
    let [issuer, client_id, client_secret, redirect_url] = <[Option<String>; 4]>::try_from(values)
        .expect("four values")
        .map(Option::unwrap_or_default);
    for (variable, url) in [
        ("OIDC_ISSUER", &issuer),
        ("OIDC_REDIRECT_URL", &redirect_url),
    ] {
        if !(url.starts_with("https://") || url.starts_with("http://")) || url.contains(' ') {
            return Err(config_error(variable, "expected an https:// URL"));
        }
    }
    Ok(Some(OidcConfig {
        issuer: issuer.trim_end_matches('/').to_string(),
        client_id,
        client_secret,
        redirect_url,
        roles_claim: get("OIDC_ROLES_CLAIM").unwrap_or_else(|| "roles".into()),
        lan_claim: get("OIDC_LAN_CLAIM").unwrap_or_else(|| "lan".into()),
        role_map: role_map(get("OIDC_ROLE_MAP"))?,
        session_idle_seconds: parse_number(
            get("SESSION_IDLE_SECONDS"),
            "SESSION_IDLE_SECONDS",
            DEFAULT_SESSION_IDLE_SECONDS,
            60..=7 * 24 * 3600,
        )?,
        session_lifetime_seconds: parse_number(
            get("SESSION_LIFETIME_SECONDS"),
            "SESSION_LIFETIME_SECONDS",
            DEFAULT_SESSION_LIFETIME_SECONDS,
            60..=30 * 24 * 3600,
        )?,
    }))
}

/// `OIDC_ROLE_MAP`: `name=role` pairs separated by commas, such as
/// `uppf-admin=admin,uppf-analys=national,uppf-region=region`.
fn role_map(value: Option<String>) -> Result<Vec<(String, String)>, ConfigError> {
    let mut map = Vec::new();
    for pair in value.iter().flat_map(|v| v.split(',')).map(str::trim) {
        if pair.is_empty() {
            continue;
        }
        match pair.split_once('=').map(|(n, r)| (n.trim(), r.trim())) {
            Some((name, role)) if !name.is_empty() && SIGN_IN_ROLES.contains(&role) => {
                map.push((name.to_string(), role.to_string()));
            }
            _ => {
                return Err(config_error(
                    "OIDC_ROLE_MAP",
                    format!("'{pair}' is not name=region, name=national or name=admin"),
                ));
            }
        }
    }
    Ok(map)
}

/// A comma-separated list of origins such as `https://analys.example.se`.
fn cors_origins(value: Option<String>) -> Result<Vec<String>, ConfigError> {
    let origins: Vec<String> = value
        .iter()
        .flat_map(|v| v.split(','))
        .map(|o| o.trim().trim_end_matches('/').to_string())
        .filter(|o| !o.is_empty())
        .collect();
    match origins
        .iter()
        .find(|o| !(o.starts_with("https://") || o.starts_with("http://")) || o.contains(' '))
    {
        Some(bad) => Err(config_error(
            "CORS_ALLOWED_ORIGINS",
            format!("'{bad}' is not an origin such as https://analys.example.se"),
        )),
        None => Ok(origins),
    }
}

fn parse_number<T>(
    value: Option<String>,
    variable: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + std::fmt::Display,
{
    let Some(text) = value else {
        return Ok(default);
    };
    match text.trim().parse::<T>() {
        Ok(number) if range.contains(&number) => Ok(number),
        _ => Err(config_error(
            variable,
            format!(
                "expected a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        )),
    }
}

fn parse_flag(value: Option<String>, variable: &'static str) -> Result<bool, ConfigError> {
    match value.as_deref().map(str::trim) {
        None | Some("false") | Some("0") => Ok(false),
        Some("true") | Some("1") => Ok(true),
        Some(_) => Err(config_error(variable, "expected true or false")),
    }
}

/// Creates a folder (and its parents) if it does not exist.
pub fn ensure_dir(path: &Path, variable: &'static str) -> Result<(), ConfigError> {
    std::fs::create_dir_all(path)
        .map_err(|e| config_error(variable, format!("cannot create {}: {e}", path.display())))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn config(vars: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Config::from_lookup(|name| map.get(name).cloned())
    }

    #[test]
    fn defaults() {
        let c = config(&[]).unwrap();
        assert_eq!(
            c.database,
            DatabaseUrl::Sqlite(PathBuf::from("./data/uppfoljning.db"))
        );
        assert_eq!(c.bind.to_string(), DEFAULT_BIND);
        assert!(
            matches!(c.jwt_key, JwtKeySource::SecretFile(ref p) if p.ends_with(SECRET_FILE_NAME))
        );
        assert_eq!(c.pool_size, DEFAULT_POOL_SIZE);
    }

    #[test]
    fn database_urls() {
        assert!(matches!(
            DatabaseUrl::parse("postgres://u@h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert!(matches!(
            DatabaseUrl::parse("postgresql://h/db"),
            Ok(DatabaseUrl::Postgres(_))
        ));
        assert_eq!(
            DatabaseUrl::parse("sqlite://data/x.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("data/x.db"))
        );
        assert_eq!(
            DatabaseUrl::parse("/tmp/x.db").unwrap(),
            DatabaseUrl::Sqlite(PathBuf::from("/tmp/x.db"))
        );
        assert!(DatabaseUrl::parse("mysql://h/db").is_err());
        assert!(DatabaseUrl::parse(":memory:").is_err());
    }

    #[test]
    fn bad_settings_name_their_variable() {
        let cases: [(&[(&str, &str)], &str); 13] = [
            (
                &[("OIDC_ISSUER", "https://idp.example.se")],
                "OIDC_CLIENT_ID",
            ),
            (
                &[
                    ("OIDC_ISSUER", "https://idp.example.se"),
                    ("OIDC_CLIENT_ID", "uppfoljning"),
                    ("OIDC_CLIENT_SECRET", "s"),
                    ("OIDC_REDIRECT_URL", "https://u.example.se/auth/callback"),
                    ("OIDC_ROLE_MAP", "drift=scheduler"),
                ],
                "OIDC_ROLE_MAP",
            ),
            (&[("DB_POOL_SIZE", "0")], "DB_POOL_SIZE"),
            (&[("MAX_BODY_BYTES", "lots")], "MAX_BODY_BYTES"),
            (&[("BIND", "localhost")], "BIND"),
            (&[("JWT_SECRET", "short")], "JWT_SECRET"),
            (&[("RATE_LIMIT_PER_SECOND", "-1")], "RATE_LIMIT_PER_SECOND"),
            (&[("CORS_ALLOWED_ORIGINS", "*")], "CORS_ALLOWED_ORIGINS"),
            (
                &[
                    ("JWT_SECRET", "0123456789abcdef0123456789abcdef"),
                    ("JWT_PUBLIC_KEY_FILE", "k.pem"),
                ],
                "JWT_SECRET",
            ),
            (&[("METRICS_TOKEN", "short")], "METRICS_TOKEN"),
            (
                &[("JWT_MAX_LIFETIME_SECONDS", "0")],
                "JWT_MAX_LIFETIME_SECONDS",
            ),
            (&[("BEHIND_TLS_PROXY", "yes please")], "BEHIND_TLS_PROXY"),
            (&[("PXWEB_MAX_DATA_CELLS", "0")], "PXWEB_MAX_DATA_CELLS"),
        ];
        for (vars, variable) in cases {
            let error = config(vars).unwrap_err();
            assert_eq!(error.variable, variable);
            assert!(error.to_string().starts_with(variable));
        }
    }
}
