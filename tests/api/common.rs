//! The test harness: the real application against a real, fresh database per test.
//! SQLite always; PostgreSQL too when TEST_POSTGRES_URL names a server, in a database of
//! its own that is dropped afterwards.

use actix_web::body::MessageBody;
use actix_web::dev::{Service, ServiceResponse};
use actix_web::http::StatusCode;
use actix_web::http::header::HeaderMap;
use actix_web::test::{self, TestRequest};
use actix_web::web;
use diesel::prelude::*;
use diesel::{Connection, PgConnection};
use serde_json::Value;

use uppfoljning::auth::Role;
use uppfoljning::config::{Config, DatabaseUrl, JwtKeySource};
use uppfoljning::db::{DbConnection, PooledDb};
use uppfoljning::domain::codes::RegionCode;
use uppfoljning::state::AppState;

pub const SECRET: &[u8] = b"test-secret-test-secret-test-secret!";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub fn postgres_url() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL")
        .ok()
        .filter(|url| !url.is_empty())
}

/// Defines, for each named async test function taking a `Backend`, a test on SQLite and
/// one on PostgreSQL (which passes without running when TEST_POSTGRES_URL is unset).
#[macro_export]
macro_rules! backend_tests {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                use $crate::common::Backend;

                #[actix_web::test]
                async fn sqlite() {
                    super::$name(Backend::Sqlite).await;
                }

                #[actix_web::test]
                async fn postgres() {
                    if $crate::common::postgres_url().is_none() {
                        eprintln!("TEST_POSTGRES_URL is not set: PostgreSQL not tested");
                        return;
                    }
                    super::$name(Backend::Postgres).await;
                }
            }
        )*
    };
}

/// A PostgreSQL database made for one test.
struct PostgresDatabase {
    server_url: String,
    name: String,
}

impl PostgresDatabase {
    fn create() -> (PostgresDatabase, String) {
        let server_url = postgres_url().expect("TEST_POSTGRES_URL");
        let name = format!("uppfoljning_test_{}", uuid::Uuid::new_v4().simple());
        let mut admin = PgConnection::establish(&server_url).expect("connect to TEST_POSTGRES_URL");
        diesel::sql_query(format!("CREATE DATABASE {name}"))
            .execute(&mut admin)
            .expect("create test database");
        let url = with_database(&server_url, &name);
        (PostgresDatabase { server_url, name }, url)
    }
}

impl Drop for PostgresDatabase {
    fn drop(&mut self) {
        if let Ok(mut admin) = PgConnection::establish(&self.server_url) {
            let _ = diesel::sql_query(format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ))
            .execute(&mut admin);
        }
    }
}

/// The URL with its database name replaced.
fn with_database(url: &str, database: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, format!("?{query}")),
        None => (url, String::new()),
    };
    let authority_start = base.find("://").map(|i| i + 3).unwrap_or(0);
    let base = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    format!("{base}/{database}{query}")
}

pub struct TestApp {
    pub state: web::Data<AppState>,
    pub config: Config,
    // Dropped after the state's pool: the database outlives its connections.
    _postgres: Option<PostgresDatabase>,
    _folder: tempfile::TempDir,
}

impl TestApp {
    pub fn start(backend: Backend) -> TestApp {
        TestApp::start_with(backend, |_| {})
    }

    /// Starts with the test configuration changed by `adjust`.
    pub fn start_with(backend: Backend, adjust: impl FnOnce(&mut Config)) -> TestApp {
        let folder = tempfile::tempdir().expect("temp dir");
        let (postgres, database) = match backend {
            Backend::Sqlite => (None, DatabaseUrl::Sqlite(folder.path().join("test.db"))),
            Backend::Postgres => {
                let (db, url) = PostgresDatabase::create();
                (Some(db), DatabaseUrl::Postgres(url))
            }
        };
        let mut config = Config {
            database,
            bind: "127.0.0.1:0".parse().unwrap(),
            data_dir: folder.path().to_path_buf(),
            jwt_key: JwtKeySource::Secret(SECRET.to_vec()),
            jwt_issuer: None,
            jwt_audience: None,
            pool_size: 4,
            max_body_bytes: 1024 * 1024,
            max_submission_bytes: uppfoljning::config::DEFAULT_MAX_SUBMISSION_BYTES,
            rate_limit_per_second: 0,
            cors_allowed_origins: Vec::new(),
            max_answer_cells: uppfoljning::config::DEFAULT_MAX_ANSWER_CELLS,
            metrics_token: None,
            jwt_max_lifetime_seconds: uppfoljning::config::DEFAULT_JWT_MAX_LIFETIME_SECONDS,
            kept_answers_bytes: uppfoljning::config::DEFAULT_KEPT_ANSWERS_BYTES,
            aggregate_index_bytes: uppfoljning::config::DEFAULT_AGGREGATE_INDEX_BYTES,
            behind_tls_proxy: false,
            clock_offset_seconds: 0,
            oidc: None,
            pxweb_max_data_cells: uppfoljning::config::DEFAULT_PXWEB_MAX_DATA_CELLS,
        };
        adjust(&mut config);
        let state = AppState::open(config.clone()).expect("start the service");
        TestApp {
            state: web::Data::new(state),
            config,
            _postgres: postgres,
            _folder: folder,
        }
    }

    /// A connection for looking at what was stored.
    pub fn conn(&self) -> PooledDb {
        self.state.pool.get().expect("a connection")
    }

    pub fn token(&self, role: Role, region: Option<&str>) -> String {
        let region = region.map(|r| RegionCode::parse(r).expect("valid region"));
        self.state
            .keys
            .sign("test", role, region.as_ref(), 600)
            .expect("sign")
    }

    pub fn admin(&self) -> String {
        self.token(Role::Admin, None)
    }

    /// Counts the rows of a table.
    pub fn count(&self, table: &str) -> i64 {
        #[derive(QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        let mut conn = self.conn();
        let conn: &mut DbConnection = &mut conn;
        diesel::sql_query(format!("SELECT COUNT(*) AS n FROM {table}"))
            .get_result::<Count>(conn)
            .expect("count")
            .n
    }
}

/// A response, read whole.
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a 200 answer, showing the body otherwise.
    pub fn ok(&self) -> &Reply {
        assert_eq!(
            self.status.as_u16(),
            200,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        self
    }

    /// Asserts a problem+json answer with `status` and returns the problem.
    pub fn problem(&self, status: u16) -> Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(self.content_type(), "application/problem+json");
        let problem = self.json();
        // A refused submission keeps its own `status` ("rejected") beside the problem fields.
        assert!(
            problem["status"] == status || problem["status"] == "rejected",
            "{problem}"
        );
        assert!(
            problem["type"]
                .as_str()
                .unwrap()
                .starts_with("urn:uppfoljning:problem:")
        );
        assert!(problem["title"].is_string() && problem["detail"].is_string());
        problem
    }

    /// The `field`s of a 422 problem's errors.
    pub fn invalid_fields(&self) -> Vec<String> {
        let problem = self.problem(422);
        problem["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e["field"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The application as `test::init_service` gives it, named once for the helpers.
pub trait TestService:
    Service<actix_http::Request, Response = ServiceResponse<Self::Body>, Error = actix_web::Error>
{
    type Body: MessageBody;
}

impl<S, B> TestService for S
where
    S: Service<actix_http::Request, Response = ServiceResponse<B>, Error = actix_web::Error>,
    B: MessageBody,
{
    type Body = B;
}

pub async fn send(app: &impl TestService, request: TestRequest) -> Reply {
    let response = test::call_service(app, request.to_request()).await;
    let status = response.status();
    let headers = response.headers().clone();
    let body = test::read_body(response).await.to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

pub fn get(path: &str, token: &str) -> TestRequest {
    TestRequest::get()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
}

pub fn post_json(path: &str, token: &str, body: &Value) -> TestRequest {
    TestRequest::post()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_json(body)
}

pub fn put_json(path: &str, token: &str, body: &Value) -> TestRequest {
    TestRequest::put()
        .uri(path)
        .insert_header(("Authorization", format!("Bearer {token}")))
        .set_json(body)
}

#[test]
fn database_urls_are_rewritten() {
    assert_eq!(
        with_database("postgres://u@h:5432/postgres", "x"),
        "postgres://u@h:5432/x"
    );
    assert_eq!(with_database("postgres://h", "x"), "postgres://h/x");
    assert_eq!(
        with_database("postgresql://h/db?sslmode=disable", "x"),
        "postgresql://h/x?sslmode=disable"
    );
}
