//! One error type for every failure a request can meet, written as RFC 9457
//! `application/problem+json`. Internal causes are logged, never sent.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use utoipa::ToSchema;

use crate::domain::validation::{FieldError, MAX_LISTED_ERRORS};

pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("unauthorized: {0}")]
    Unauthorized(&'static str),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// The path exists; the value is the `Allow` header listing its methods.
    #[error("method not allowed; allowed: {0}")]
    MethodNotAllowed(String),
    #[error("conflict: {0}")]
    Conflict(String),
    /// An `If-Match` that no longer names the resource's version.
    #[error("precondition failed: {0}")]
    PreconditionFailed(String),
    #[error("payload too large: {0}")]
    PayloadTooLarge(String),
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("invalid request: {} field error(s)", .0.len())]
    Invalid(Vec<FieldError>),
    /// A valid write to what is closed to the writer: a locked period, or the figures of a
    /// signed-off report. The errors name each.
    #[error("locked: {} field error(s)", .0.len())]
    Locked(Vec<FieldError>),
    /// Seconds until the next request is allowed.
    #[error("too many requests")]
    TooManyRequests(u64),
    /// Too much is waiting already: the caller's own share (429) or the whole service's
    /// room (503). The detail says which.
    #[error("busy: {detail}")]
    Busy {
        own_share: bool,
        detail: &'static str,
    },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// The database cannot store now; the cause is for the log only.
    #[error("storage fault {fault:?}: {cause}")]
    Storage { fault: StorageFault, cause: String },
    /// A PxWeb API request its specification refuses, titled as the reference server
    /// titles it ("Non-existent value", "Too many cells selected"), which PxWeb clients
    /// show; 400, or 404 for a table or page that does not exist.
    #[error("pxweb {status}: {title}: {detail}")]
    PxWeb {
        status: u16,
        title: &'static str,
        detail: String,
    },
    /// The cause is for the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl AppError {
    pub fn invalid(field: impl Into<String>, code: &str, message: impl Into<String>) -> AppError {
        AppError::Invalid(vec![FieldError::new(field, code, message)])
    }

    fn kind(&self) -> (&'static str, &'static str) {
        match self {
            AppError::BadRequest(_) => ("malformed-request", "Malformed request"),
            AppError::Unauthorized(_) => ("unauthorized", "Authentication required"),
            AppError::Forbidden(_) => ("forbidden", "Forbidden"),
            AppError::NotFound(_) => ("not-found", "Not found"),
            AppError::MethodNotAllowed(_) => ("method-not-allowed", "Method not allowed"),
            AppError::Conflict(_) => ("conflict", "Conflict"),
            AppError::PreconditionFailed(_) => ("precondition-failed", "Precondition failed"),
            AppError::PayloadTooLarge(_) => ("payload-too-large", "Payload too large"),
            AppError::UnsupportedMediaType(_) => {
                ("unsupported-media-type", "Unsupported media type")
            }
            AppError::Invalid(_) => ("validation", "Invalid request"),
            AppError::Locked(_) => ("period-locked", "Period closed for reporting"),
            AppError::TooManyRequests(_) => ("too-many-requests", "Too many requests"),
            AppError::Busy { .. } => ("busy", "Too much waiting"),
            AppError::Unavailable(_) => ("unavailable", "Service unavailable"),
            AppError::Storage {
                fault: StorageFault::Full,
                ..
            } => ("storage-full", "Storage full"),
            AppError::Storage {
                fault: StorageFault::ReadOnly,
                ..
            } => ("read-only", "Database read-only"),
            AppError::PxWeb { title, .. } => ("parameter-error", *title),
            AppError::Internal(_) => ("internal", "Internal error"),
        }
    }

    /// The problem document a client sees.
    pub fn problem(&self) -> Problem {
        let (slug, title) = self.kind();
        let detail = match self {
            AppError::BadRequest(detail)
            | AppError::Forbidden(detail)
            | AppError::NotFound(detail)
            | AppError::Conflict(detail)
            | AppError::PreconditionFailed(detail)
            | AppError::PayloadTooLarge(detail)
            | AppError::UnsupportedMediaType(detail)
            | AppError::PxWeb { detail, .. } => detail.clone(),
            AppError::Unauthorized(detail) | AppError::Busy { detail, .. } => {
                (*detail).to_string()
            }
            AppError::MethodNotAllowed(allowed) => format!("This path answers {allowed}."),
            AppError::Invalid(errors) | AppError::Locked(errors) => match errors.as_slice() {
                [one] => format!("{}: {}", one.field, one.message),
                many => format!("{} fields are invalid", many.len()),
            },
            AppError::TooManyRequests(seconds) => {
                format!("Too many requests for this token; try again in {seconds} s.")
            }
            AppError::Unavailable(_) => {
                "The database is not reachable right now; try again shortly.".to_string()
            }
            AppError::Storage {
                fault: StorageFault::Full,
                ..
            } => "The database's disk is full: nothing was stored. Try again once the operators have made room.".to_string(),
            AppError::Storage {
                fault: StorageFault::ReadOnly,
                ..
            } => "The database accepts no writes right now (it is read-only): nothing was stored. Try again later.".to_string(),
            AppError::Internal(_) => {
                "An internal error occurred; it has been logged with the request id in the X-Request-Id header.".to_string()
            }
        };
        let (errors, error_count) = match self {
            // Cloning only those listed: a file may have brought a million.
            AppError::Invalid(errors) | AppError::Locked(errors) => (
                errors.iter().take(MAX_LISTED_ERRORS).cloned().collect(),
                Some(errors.len()),
            ),
            _ => (Vec::new(), None),
        };
        Problem {
            problem_type: format!("urn:uppfoljning:problem:{slug}"),
            title: title.to_string(),
            status: self.status_code().as_u16(),
            detail,
            errors,
            error_count,
        }
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        match self {
            AppError::BadRequest(_) => StatusCode::BAD_REQUEST,
            AppError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            AppError::Forbidden(_) => StatusCode::FORBIDDEN,
            AppError::NotFound(_) => StatusCode::NOT_FOUND,
            AppError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            AppError::Conflict(_) | AppError::Locked(_) => StatusCode::CONFLICT,
            AppError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            AppError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            AppError::Invalid(_) => StatusCode::UNPROCESSABLE_ENTITY,
            AppError::TooManyRequests(_)
            | AppError::Busy {
                own_share: true, ..
            } => StatusCode::TOO_MANY_REQUESTS,
            AppError::Unavailable(_) | AppError::Busy { .. } | AppError::Storage { .. } => {
                StatusCode::SERVICE_UNAVAILABLE
            }
            AppError::PxWeb { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_REQUEST)
            }
            AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            AppError::Internal(cause) => tracing::error!(cause = %cause, "internal error"),
            AppError::Unavailable(cause) => tracing::warn!(cause = %cause, "database unavailable"),
            AppError::Storage { fault, cause } => {
                tracing::error!(?fault, cause = %cause, "the database cannot store")
            }
            _ => {}
        }
        let mut response = HttpResponse::build(self.status_code());
        response.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        if matches!(self, AppError::Unauthorized(_)) {
            response.insert_header((header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer")));
        }
        match self {
            AppError::Unavailable(_) | AppError::Busy { .. } => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("5")));
            }
            AppError::Storage { .. } => {
                response.insert_header((header::RETRY_AFTER, HeaderValue::from_static("60")));
            }
            AppError::TooManyRequests(seconds) => {
                response.insert_header((header::RETRY_AFTER, seconds.to_string()));
            }
            AppError::MethodNotAllowed(allowed) => {
                response.insert_header((header::ALLOW, allowed.clone()));
            }
            _ => {}
        }
        response.body(serde_json::to_string(&self.problem()).expect("a problem serialises"))
    }
}

/// Why the database cannot store: its disk is full, or it accepts no writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StorageFault {
    Full,
    ReadOnly,
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        if let Some(fault) = storage_fault(&error) {
            AppError::Storage {
                fault,
                cause: format!("database: {error}"),
            }
        } else if lost_connection(&error) {
            // The pool drops the broken connection; the next request gets a new one once
            // the database is back.
            AppError::Unavailable(format!("database: {error}"))
        } else {
            AppError::Internal(format!("database: {error}"))
        }
    }
}

/// Whether `error` says the database cannot store. Diesel keeps PostgreSQL's
/// read_only_sql_transaction (25006) as a kind; SQLite's SQLITE_FULL and SQLITE_READONLY,
/// and PostgreSQL's disk_full (53100, which carries the system's "No space left on
/// device"), only in their messages, which SQLite never translates.
fn storage_fault(error: &diesel::result::Error) -> Option<StorageFault> {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::ReadOnlyTransaction, _) => {
            Some(StorageFault::ReadOnly)
        }
        Error::DatabaseError(_, information) => {
            let message = information.message();
            if message.contains("database or disk is full")
                || message.contains("No space left on device")
            {
                Some(StorageFault::Full)
            } else if message.contains("attempt to write a readonly database") {
                Some(StorageFault::ReadOnly)
            } else {
                None
            }
        }
        Error::RollbackErrorOnCommit { commit_error, .. } => storage_fault(commit_error),
        _ => None,
    }
}

/// Whether `error` means the database went away rather than that the query was wrong.
fn lost_connection(error: &diesel::result::Error) -> bool {
    use diesel::result::{DatabaseErrorKind, Error};
    match error {
        Error::DatabaseError(DatabaseErrorKind::ClosedConnection, _) => true,
        Error::RollbackErrorOnCommit { commit_error, .. } => lost_connection(commit_error),
        // A rollback that could not be sent: the connection is gone.
        Error::BrokenTransactionManager => true,
        _ => false,
    }
}

/// An RFC 9457 problem document.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// A URN naming the kind of problem, such as `urn:uppfoljning:problem:validation`.
    #[serde(rename = "type")]
    pub problem_type: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// The fields that are invalid (for 422 answers), at most the first 1,000; empty
    /// otherwise.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
    /// How many fields are invalid (for 422 answers), listed or not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_count: Option<usize>,
}

#[cfg(test)]
mod tests {
    use diesel::result::{DatabaseErrorKind, Error};

    use super::*;

    fn database_error(kind: DatabaseErrorKind) -> Error {
        Error::DatabaseError(kind, Box::new("server closed the connection".to_string()))
    }

    fn fault(error: Error) -> Option<StorageFault> {
        match AppError::from(error) {
            AppError::Storage { fault, .. } => Some(fault),
            _ => None,
        }
    }

    #[test]
    fn a_full_disk_and_a_read_only_database_are_storage_faults() {
        let message = |text: &str| {
            Error::DatabaseError(DatabaseErrorKind::Unknown, Box::new(text.to_string()))
        };
        assert_eq!(
            fault(message("database or disk is full")),
            Some(StorageFault::Full)
        );
        assert_eq!(
            fault(message(
                "could not extend file \"base/16384/2619\": No space left on device"
            )),
            Some(StorageFault::Full)
        );
        assert_eq!(
            fault(message("attempt to write a readonly database")),
            Some(StorageFault::ReadOnly)
        );
        let read_only = Error::DatabaseError(
            DatabaseErrorKind::ReadOnlyTransaction,
            Box::new("cannot execute INSERT in a read-only transaction".to_string()),
        );
        assert_eq!(fault(read_only), Some(StorageFault::ReadOnly));
        let on_commit = Error::RollbackErrorOnCommit {
            rollback_error: Box::new(message("cannot rollback")),
            commit_error: Box::new(message("database or disk is full")),
        };
        assert_eq!(fault(on_commit), Some(StorageFault::Full));
        let storage = AppError::from(message("database or disk is full"));
        assert_eq!(storage.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(
            !storage.problem().detail.contains("database or disk"),
            "the cause is logged, never sent"
        );
        assert_eq!(fault(message("no such table: projects")), None);
    }

    #[test]
    fn a_problem_lists_the_first_errors_and_counts_them_all() {
        let errors = vec![FieldError::new("line 2", "required", "must not be empty"); 5_000];
        let problem = AppError::Invalid(errors).problem();
        assert_eq!(problem.errors.len(), MAX_LISTED_ERRORS);
        assert_eq!(problem.error_count, Some(5_000));
        assert_eq!(AppError::NotFound("x".into()).problem().error_count, None);
    }

    #[test]
    fn a_lost_connection_is_unavailable_and_a_bad_query_internal() {
        let lost = AppError::from(database_error(DatabaseErrorKind::ClosedConnection));
        assert_eq!(lost.status_code(), StatusCode::SERVICE_UNAVAILABLE);
        let commit = Error::RollbackErrorOnCommit {
            rollback_error: Box::new(database_error(DatabaseErrorKind::ClosedConnection)),
            commit_error: Box::new(database_error(DatabaseErrorKind::ClosedConnection)),
        };
        assert_eq!(
            AppError::from(commit).status_code(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        let unique = AppError::from(database_error(DatabaseErrorKind::UniqueViolation));
        assert_eq!(unique.status_code(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(
            AppError::from(Error::NotFound).status_code(),
            StatusCode::INTERNAL_SERVER_ERROR
        );
    }
}
