//! Reporting periods: half-years (`2026H1`, `2026H2`) and years (`2026`).

use chrono::NaiveDate;
use std::fmt;

/// Years the service accepts. Projects funded by anslag 1:1 lie well inside this range; a
/// year outside it is a typing error, not data.
pub const FIRST_YEAR: i32 = 2000;
pub const LAST_YEAR: i32 = 2100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodId {
    /// `half` is 1 (January–June) or 2 (July–December).
    HalfYear {
        year: i32,
        half: u8,
    },
    Year(i32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodKind {
    HalfYear,
    Year,
}

impl PeriodKind {
    pub fn as_str(self) -> &'static str {
        match self {
            PeriodKind::HalfYear => "half_year",
            PeriodKind::Year => "year",
        }
    }
}

impl PeriodId {
    /// Parses `YYYY`, `YYYYH1` or `YYYYH2`; anything else (`2026H3`, `26H1`, ` 2026`) is `None`.
    pub fn parse(text: &str) -> Option<PeriodId> {
        let (year_text, half) = match text.len() {
            4 => (text, None),
            // Compared as a byte so that a multi-byte character there cannot split a slice.
            6 if text.as_bytes()[4] == b'H' => (&text[..4], Some(&text[5..])),
            _ => return None,
        };
        if !year_text.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let year: i32 = year_text.parse().ok()?;
        if !(FIRST_YEAR..=LAST_YEAR).contains(&year) {
            return None;
        }
        match half {
            None => Some(PeriodId::Year(year)),
            Some("1") => Some(PeriodId::HalfYear { year, half: 1 }),
            Some("2") => Some(PeriodId::HalfYear { year, half: 2 }),
            Some(_) => None,
        }
    }

    pub fn kind(self) -> PeriodKind {
        match self {
            PeriodId::HalfYear { .. } => PeriodKind::HalfYear,
            PeriodId::Year(_) => PeriodKind::Year,
        }
    }

    pub fn year(self) -> i32 {
        match self {
            PeriodId::HalfYear { year, .. } | PeriodId::Year(year) => year,
        }
    }

    /// The first day of the period.
    pub fn start_date(self) -> NaiveDate {
        let month = match self {
            PeriodId::HalfYear { half: 2, .. } => 7,
            _ => 1,
        };
        NaiveDate::from_ymd_opt(self.year(), month, 1).expect("valid first day")
    }

    /// The last day of the period.
    pub fn end_date(self) -> NaiveDate {
        let (month, day) = match self {
            PeriodId::HalfYear { half: 1, .. } => (6, 30),
            _ => (12, 31),
        };
        NaiveDate::from_ymd_opt(self.year(), month, day).expect("valid last day")
    }

    /// The half-years the period is made of, in order.
    pub fn half_years(self) -> Vec<PeriodId> {
        match self {
            PeriodId::HalfYear { .. } => vec![self],
            PeriodId::Year(year) => vec![
                PeriodId::HalfYear { year, half: 1 },
                PeriodId::HalfYear { year, half: 2 },
            ],
        }
    }
}

impl fmt::Display for PeriodId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PeriodId::HalfYear { year, half } => write!(f, "{year}H{half}"),
            PeriodId::Year(year) => write!(f, "{year}"),
        }
    }
}

/// How a period is closed for the regions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockMode {
    /// Open until the deadline has passed.
    Deadline,
    /// Closed by an admin.
    Locked,
    /// Reopened for every region by an admin, whatever the deadline.
    Open,
}

impl LockMode {
    pub fn as_str(self) -> &'static str {
        match self {
            LockMode::Deadline => "deadline",
            LockMode::Locked => "locked",
            LockMode::Open => "open",
        }
    }

    pub fn parse(text: &str) -> Option<LockMode> {
        [LockMode::Deadline, LockMode::Locked, LockMode::Open]
            .into_iter()
            .find(|mode| mode.as_str() == text)
    }

    /// Whether the period is closed for regions without a lock exception on `today`. The
    /// deadline is the last day on which regions may write.
    pub fn is_locked(self, deadline: NaiveDate, today: NaiveDate) -> bool {
        match self {
            LockMode::Deadline => today > deadline,
            LockMode::Locked => true,
            LockMode::Open => false,
        }
    }
}

/// Today's date in Sweden, where deadlines are set.
pub fn swedish_today() -> NaiveDate {
    super::clock::now()
        .and_utc()
        .with_timezone(&chrono_tz::Europe::Stockholm)
        .date_naive()
}

/// The periods asked for: one period or a range, in half-years, and whether `group_by=period`
/// gives years or half-years.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeriodSpan {
    pub half_years: Vec<PeriodId>,
    /// Years when both ends are years (`2026`, `2022..2026`), otherwise half-years.
    pub by_year: bool,
}

impl PeriodSpan {
    /// Parses `YYYY`, `YYYYH1`, `YYYYH2` or a range `A..B` of those, B not before A.
    pub fn parse(text: &str) -> Option<PeriodSpan> {
        let (first, last) = match text.split_once("..") {
            Some((a, b)) => (PeriodId::parse(a)?, PeriodId::parse(b)?),
            None => {
                let one = PeriodId::parse(text)?;
                (one, one)
            }
        };
        let start = first.half_years()[0];
        let end = *last.half_years().last().expect("a period has half-years");
        if end < start {
            return None;
        }
        let mut half_years = Vec::new();
        let mut current = start;
        while current <= end {
            half_years.push(current);
            current = match current {
                PeriodId::HalfYear { year, half: 1 } => PeriodId::HalfYear { year, half: 2 },
                PeriodId::HalfYear { year, .. } => PeriodId::HalfYear {
                    year: year + 1,
                    half: 1,
                },
                PeriodId::Year(_) => unreachable!("half-years only"),
            };
        }
        let by_year = matches!(first, PeriodId::Year(_)) && matches!(last, PeriodId::Year(_));
        Some(PeriodSpan {
            half_years,
            by_year,
        })
    }

    pub fn start(&self) -> NaiveDate {
        self.half_years[0].start_date()
    }

    pub fn end(&self) -> NaiveDate {
        self.half_years[self.half_years.len() - 1].end_date()
    }

    /// The `period` group a half-year falls in.
    pub fn bucket(&self, half_year: PeriodId) -> PeriodId {
        if self.by_year {
            PeriodId::Year(half_year.year())
        } else {
            half_year
        }
    }

    /// The `period` groups of the span, in order.
    pub fn buckets(&self) -> Vec<PeriodId> {
        let mut buckets: Vec<PeriodId> = self.half_years.iter().map(|h| self.bucket(*h)).collect();
        buckets.dedup();
        buckets
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lock_modes() {
        let deadline = NaiveDate::from_ymd_opt(2026, 9, 30).unwrap();
        let on = deadline;
        let after = deadline.succ_opt().unwrap();
        assert!(!LockMode::Deadline.is_locked(deadline, on));
        assert!(LockMode::Deadline.is_locked(deadline, after));
        assert!(LockMode::Locked.is_locked(deadline, on));
        assert!(!LockMode::Open.is_locked(deadline, after));
        for mode in [LockMode::Deadline, LockMode::Locked, LockMode::Open] {
            assert_eq!(LockMode::parse(mode.as_str()), Some(mode));
        }
    }

    #[test]
    fn parses_half_years_and_years() {
        let h1 = PeriodId::parse("2026H1").unwrap();
        assert_eq!(
            h1,
            PeriodId::HalfYear {
                year: 2026,
                half: 1
            }
        );
        assert_eq!(h1.to_string(), "2026H1");
        assert_eq!(h1.start_date().to_string(), "2026-01-01");
        assert_eq!(h1.end_date().to_string(), "2026-06-30");
        let h2 = PeriodId::parse("2026H2").unwrap();
        assert_eq!(h2.start_date().to_string(), "2026-07-01");
        assert_eq!(h2.end_date().to_string(), "2026-12-31");
        let year = PeriodId::parse("2026").unwrap();
        assert_eq!(year.kind(), PeriodKind::Year);
        assert_eq!(year.half_years(), vec![h1, h2]);
        assert_eq!(year.end_date().to_string(), "2026-12-31");
    }

    #[test]
    fn rejects_everything_else() {
        for bad in [
            "2026H3",
            "2026H0",
            "2026h1",
            "26H1",
            " 2026",
            "2026 ",
            "1999",
            "2101",
            "+026",
            "2026H",
            "2026H12",
            "",
            "abcd",
            "2026-H1",
            "２０２６",
            "\u{80}\u{80}\u{80}",
            "2026é",
            "20Ïé",
        ] {
            assert_eq!(PeriodId::parse(bad), None, "{bad:?}");
        }
    }

    fn h(text: &str) -> PeriodId {
        PeriodId::parse(text).unwrap()
    }

    #[test]
    fn spans() {
        let year = PeriodSpan::parse("2026").unwrap();
        assert_eq!(year.half_years, vec![h("2026H1"), h("2026H2")]);
        assert!(year.by_year);
        let range = PeriodSpan::parse("2024H2..2026H1").unwrap();
        assert_eq!(range.half_years.len(), 4);
        assert!(!range.by_year);
        assert_eq!(PeriodSpan::parse("2022..2026").unwrap().buckets().len(), 5);
        assert_eq!(PeriodSpan::parse("2026H2..2026H1"), None);
        assert_eq!(PeriodSpan::parse("2026H3"), None);
        assert_eq!(PeriodSpan::parse("2026.."), None);
    }
}
