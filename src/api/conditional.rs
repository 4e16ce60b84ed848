//! Conditional requests: the `ETag`, `Last-Modified` and `Cache-Control` of an answer, and
//! the 304 to an `If-None-Match` or `If-Modified-Since` that still holds, decided before
//! anything is computed.
//!
//! An answer computed from the data is validated by the data version: its `ETag` is the
//! version and a digest of the question (what was asked, in which format, by which role and
//! region, of which build), so two questions never share one and every write gives a new
//! one; its `Last-Modified` is the version's stamp. A handler asks `at_data_version` first
//! and answers the 304 it may return, computes otherwise, and sends the answer through
//! `Validators::send`. The version is read before the answer is computed, so the answer is
//! at least as new as its validators say: a later question is never wrongly answered 304.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use actix_web::http::header::{
    self, CacheControl, CacheDirective, ETag, EntityTag, Header, HttpDate, IfModifiedSince,
    IfNoneMatch, LastModified,
};
use actix_web::{HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use sha2::{Digest, Sha256};

use crate::auth::Principal;
use crate::db;
use crate::error::AppError;
use crate::state::AppState;

/// How long a client may keep an answer that never changes without asking again.
const IMMUTABLE_MAX_AGE: u32 = 31_536_000;

/// What a conditional request comes to.
pub enum Conditional {
    /// Nothing changed since the client's copy: answer this (304, no body).
    NotModified(HttpResponse),
    /// Compute the answer and send it with these.
    Answer(Validators),
}

/// When an answer counts as modified, for `If-Modified-Since`.
enum Modified {
    /// Data answers: by the versions' stamps, which are finer than HTTP's seconds.
    Versions {
        stamp: NaiveDateTime,
        previous_stamp: NaiveDateTime,
    },
    /// An answer that never changes: only before it existed.
    Never { created: NaiveDateTime },
}

/// The validators and caching rule of one answer.
pub struct Validators {
    etag: EntityTag,
    last_modified: SystemTime,
    modified: Modified,
    cache: Vec<CacheDirective>,
}

/// Reads the data version (without computing anything) and judges the request's
/// preconditions for `question` asked by `caller` (None: without a token); `question` must
/// name everything the answer depends on besides the data, the caller's role and region and
/// the build.
pub async fn at_data_version(
    state: &AppState,
    request: &HttpRequest,
    caller: Option<&Principal>,
    question: &str,
) -> Result<Conditional, AppError> {
    let current = state
        .db(|conn| Ok(db::data_version::validators(conn)?))
        .await?;
    let scope = match caller {
        Some(caller) => format!(
            "{}/{}",
            caller.role.as_str(),
            caller.region.as_ref().map(|r| r.as_str()).unwrap_or("-")
        ),
        None => "anonymous".to_string(),
    };
    let validators = Validators {
        etag: EntityTag::new_strong(format!(
            "{}-{}",
            current.version,
            digest(&[&scope, question])
        )),
        last_modified: whole_second_after(current.stamp),
        modified: Modified::Versions {
            stamp: current.stamp,
            previous_stamp: current.previous_stamp,
        },
        cache: vec![CacheDirective::Private, CacheDirective::NoCache],
    };
    Ok(validators.judge(request))
}

/// `question` with the reporting periods as they are now. A period's deadline or lock is
/// no data version, since no figure rests on it, but which half-years a report or
/// completeness lists as open, due and missing does.
pub async fn with_periods(state: &AppState, question: String) -> Result<String, AppError> {
    let periods = state.db(|conn| Ok(db::periods::list(conn)?)).await?;
    let listed: Vec<String> = periods
        .iter()
        .map(|(row, exceptions)| {
            format!(
                "{} {} {} {}",
                row.id,
                row.deadline,
                row.lock_mode,
                exceptions.join(",")
            )
        })
        .collect();
    Ok(format!("{question} periods {}", listed.join(";")))
}

/// The validators of a published snapshot, which never changes: `identity` names it (its
/// digest and format), `published` when it was published. Anyone may keep it for a year
/// without asking again.
pub fn published(request: &HttpRequest, identity: &str, published: NaiveDateTime) -> Conditional {
    Validators {
        etag: EntityTag::new_strong(digest(&[identity])),
        last_modified: whole_second_after(published),
        modified: Modified::Never { created: published },
        cache: vec![
            CacheDirective::Public,
            CacheDirective::MaxAge(IMMUTABLE_MAX_AGE),
            CacheDirective::Extension("immutable".into(), None),
        ],
    }
    .judge(request)
}

/// The validators of an answer made from the published snapshots alone (the PxWeb API):
/// `identity` names the question and the snapshots it reads, `last_published` when the
/// newest of them was published. It changes only when a snapshot is published, so anyone
/// may keep it, asking again before using it.
pub fn published_tables(
    request: &HttpRequest,
    identity: &str,
    last_published: NaiveDateTime,
) -> Conditional {
    Validators {
        etag: EntityTag::new_strong(digest(&[identity])),
        last_modified: whole_second_after(last_published),
        modified: Modified::Never {
            created: last_published,
        },
        cache: vec![CacheDirective::Public, CacheDirective::NoCache],
    }
    .judge(request)
}

impl Validators {
    /// 304 when `If-None-Match` names this answer's tag (`*` never), or, without `If-None-Match`, when
    /// nothing was modified after `If-Modified-Since` (RFC 9110 §13.2.2).
    fn judge(self, request: &HttpRequest) -> Conditional {
        let unchanged = match IfNoneMatch::parse(request) {
            // `*` matches whatever exists, but this is judged before the question is checked
            // or the caller's right to the answer: a question that would be refused is
            // never answered 304, so `*` is answered in full.
            Ok(IfNoneMatch::Any) => false,
            Ok(IfNoneMatch::Items(tags)) if !tags.is_empty() => {
                tags.iter().any(|tag| tag.weak_eq(&self.etag))
            }
            _ => match IfModifiedSince::parse(request) {
                Ok(IfModifiedSince(since)) => self.unmodified_since(SystemTime::from(since)),
                Err(_) => false,
            },
        };
        if unchanged {
            Conditional::NotModified(self.send(HttpResponse::NotModified().finish()))
        } else {
            Conditional::Answer(self)
        }
    }

    /// Whether the answer is as it was at `since` (whole seconds). `Last-Modified` is the
    /// version's stamp rounded up to the second, so a client's copy from a version stamped
    /// within the second before `since` sends that second back; a later version stamped in
    /// that same second would look unmodified by the second alone, so the answer counts
    /// as unmodified only when the current version is the only one stamped after the
    /// second before `since`.
    fn unmodified_since(&self, since: SystemTime) -> bool {
        let since = system_to_naive(since);
        match self.modified {
            Modified::Versions {
                stamp,
                previous_stamp,
            } => stamp <= since && previous_stamp <= since - chrono::Duration::seconds(1),
            Modified::Never { created } => created <= since,
        }
    }

    /// `response` with the validators and the caching rule.
    pub fn send(&self, mut response: HttpResponse) -> HttpResponse {
        let headers = response.headers_mut();
        for (name, value) in [
            (header::ETAG, ETag(self.etag.clone()).to_string()),
            (
                header::LAST_MODIFIED,
                LastModified(HttpDate::from(self.last_modified)).to_string(),
            ),
            (
                header::CACHE_CONTROL,
                CacheControl(self.cache.clone()).to_string(),
            ),
        ] {
            if let Ok(value) = header::HeaderValue::from_str(&value) {
                headers.insert(name, value);
            }
        }
        response
    }
}

/// Hex of the first 16 bytes of the SHA-256 of the parts and this build's version (a new
/// build may answer in another shape).
fn digest(parts: &[&str]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(env!("CARGO_PKG_VERSION"));
    for part in parts {
        // Lengths first, so that no two lists of parts hash alike.
        hasher.update((part.len() as u64).to_be_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// `time` (UTC) rounded up to the whole second, as HTTP dates have no finer part.
fn whole_second_after(time: NaiveDateTime) -> SystemTime {
    let utc = time.and_utc();
    let seconds = utc.timestamp() + i64::from(utc.timestamp_subsec_nanos() > 0);
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

fn system_to_naive(time: SystemTime) -> NaiveDateTime {
    chrono::DateTime::<chrono::Utc>::from(time).naive_utc()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use chrono::NaiveDate;

    fn at(h: u32, m: u32, s: u32, ms: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(2026, 12, 2)
            .expect("date")
            .and_hms_milli_opt(h, m, s, ms)
            .expect("time")
    }

    fn versions(stamp: NaiveDateTime, previous_stamp: NaiveDateTime) -> Validators {
        Validators {
            etag: EntityTag::new_strong("7-abc".into()),
            last_modified: whole_second_after(stamp),
            modified: Modified::Versions {
                stamp,
                previous_stamp,
            },
            cache: vec![CacheDirective::Private, CacheDirective::NoCache],
        }
    }

    fn since(time: NaiveDateTime) -> SystemTime {
        whole_second_after(time)
    }

    #[test]
    fn last_modified_is_rounded_up_to_the_second() {
        assert_eq!(
            system_to_naive(whole_second_after(at(10, 0, 0, 300))),
            at(10, 0, 1, 0)
        );
        assert_eq!(
            system_to_naive(whole_second_after(at(10, 0, 1, 0))),
            at(10, 0, 1, 0)
        );
    }

    #[test]
    fn a_copy_of_the_current_version_is_unmodified() {
        let current = versions(at(10, 0, 0, 300), at(9, 0, 0, 0));
        assert!(current.unmodified_since(since(at(10, 0, 0, 300))));
        assert!(current.unmodified_since(since(at(11, 0, 0, 0))));
        assert!(!current.unmodified_since(since(at(9, 59, 59, 0))));
    }

    #[test]
    fn a_later_version_in_the_same_second_is_modified() {
        // The client's copy is of the version stamped 10:00:00.300 (Last-Modified 10:00:01);
        // another was stamped at 10:00:00.700 after it.
        let later = versions(at(10, 0, 0, 700), at(10, 0, 0, 300));
        assert!(!later.unmodified_since(since(at(10, 0, 0, 300))));
        assert!(later.unmodified_since(since(at(10, 0, 2, 0))));
    }

    #[test]
    fn if_none_match_wins_over_if_modified_since() {
        let current = || versions(at(10, 0, 0, 300), at(9, 0, 0, 0));
        let request = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "\"other\""))
            .insert_header((header::IF_MODIFIED_SINCE, "Wed, 02 Dec 2026 11:00:00 GMT"))
            .to_http_request();
        assert!(matches!(current().judge(&request), Conditional::Answer(_)));
        let request = TestRequest::default()
            .insert_header((header::IF_NONE_MATCH, "\"x\", W/\"7-abc\""))
            .to_http_request();
        assert!(matches!(
            current().judge(&request),
            Conditional::NotModified(_)
        ));
    }
}
