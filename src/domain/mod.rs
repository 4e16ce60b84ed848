//! Pure types and rules of the follow-up domain. Nothing here does I/O.

pub mod aggregate;
pub mod codes;
pub mod completeness;
pub mod decimal;
pub mod indicator;
pub mod orgnr;
pub mod period;
pub mod report;
pub mod submission;
pub mod validation;

/// The current UTC time at the precision both databases keep (microseconds), so that a
/// stored time reads back equal on either backend.
pub fn now() -> chrono::NaiveDateTime {
    use chrono::SubsecRound;
    chrono::Utc::now().naive_utc().trunc_subsecs(6)
}
