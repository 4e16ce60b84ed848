//! Time: the instance's clock, for what an instance stamps for people to read (when a row
//! was written) and for today's date against deadlines, and the rule by which a data
//! version is stamped from the database's clock, which every instance shares. Neither an
//! `as_of` answer nor a snapshot rests on an instance's clock.

use std::sync::atomic::{AtomicI64, Ordering};

use chrono::{NaiveDateTime, SubsecRound, TimeDelta};

/// How far this instance's clock is set off the true time, in seconds: zero in service. The
/// tests set it (`CLOCK_OFFSET_SECONDS`) on a second instance to show that `as_of` and
/// snapshots hold whatever an instance's clock says.
static OFFSET_SECONDS: AtomicI64 = AtomicI64::new(0);

/// Sets this instance's clock `seconds` off the true time (tests only).
pub fn set_offset(seconds: i64) {
    OFFSET_SECONDS.store(seconds, Ordering::Relaxed);
}

/// The instance's UTC time at the precision both databases keep (microseconds), so that a
/// stored time reads back equal on either backend.
pub fn now() -> NaiveDateTime {
    let offset = TimeDelta::seconds(OFFSET_SECONDS.load(Ordering::Relaxed));
    (chrono::Utc::now().naive_utc() + offset).trunc_subsecs(6)
}

/// The stamp of the next data version: the database's clock, at microseconds, but never at
/// or before the stamp of any earlier version, so that versions and their stamps have one
/// order and an `as_of` between two stamps finds exactly the writes committed by then, even
/// if the database's clock is set back.
pub fn version_stamp(
    database_clock: NaiveDateTime,
    latest: Option<NaiveDateTime>,
) -> NaiveDateTime {
    let clock = database_clock.trunc_subsecs(6);
    match latest {
        Some(latest) if clock <= latest => latest + TimeDelta::microseconds(1),
        _ => clock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f").unwrap()
    }

    #[test]
    fn a_version_is_stamped_by_the_database_clock() {
        assert_eq!(
            version_stamp(at("2026-12-01 00:20:00.5"), Some(at("2026-12-01 00:19:59"))),
            at("2026-12-01 00:20:00.5")
        );
        assert_eq!(
            version_stamp(at("2026-12-01 00:20:00.123456789"), None),
            at("2026-12-01 00:20:00.123456"),
            "at the microseconds both databases keep"
        );
    }

    #[test]
    fn a_stamp_never_goes_back_nor_repeats() {
        let latest = at("2026-12-01 00:20:00.000100");
        assert_eq!(
            version_stamp(at("2026-12-01 00:19:58"), Some(latest)),
            at("2026-12-01 00:20:00.000101"),
            "a clock set back"
        );
        assert_eq!(
            version_stamp(latest, Some(latest)),
            at("2026-12-01 00:20:00.000101"),
            "two versions within the clock's resolution"
        );
    }
}
