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

/// How one opened period closes for the regions: its mode, its deadline and the regions it
/// is open for again (lock exceptions).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lock {
    pub mode: LockMode,
    pub deadline: NaiveDate,
    pub exceptions: Vec<String>,
}

impl Lock {
    /// Whether it closes for `region` on `today`; `None` is any region without a lock
    /// exception.
    pub fn closes(&self, region: Option<&str>, today: NaiveDate) -> bool {
        self.mode.is_locked(self.deadline, today)
            && region.is_none_or(|region| !self.exceptions.iter().any(|r| r == region))
    }
}

/// What closes a half-year: its own lock and, when its year is opened too, the year's. A
/// year's lock and deadline apply to both its half-years, so a half-year is closed for a
/// region when either closes for it. This is the one rule for the checks of a submission
/// and for what `GET /periods` says.
#[derive(Debug, Clone, Copy)]
pub struct Closing<'a> {
    pub own: (PeriodId, &'a Lock),
    pub year: Option<(PeriodId, &'a Lock)>,
}

impl<'a> Closing<'a> {
    /// The period's own lock, and its year's when the period is a half-year and its year
    /// is in `locks`.
    pub fn of(id: PeriodId, locks: &'a [(PeriodId, Lock)]) -> Option<Closing<'a>> {
        let find = |wanted: PeriodId| {
            locks
                .iter()
                .find(|(id, _)| *id == wanted)
                .map(|(id, lock)| (*id, lock))
        };
        let year = match id {
            PeriodId::HalfYear { year, .. } => find(PeriodId::Year(year)),
            PeriodId::Year(_) => None,
        };
        Some(Closing {
            own: find(id)?,
            year,
        })
    }

    fn locks(&self) -> impl Iterator<Item = (PeriodId, &'a Lock)> {
        std::iter::once(self.own).chain(self.year)
    }

    /// The period that closes it for `region` on `today` (its own lock first), or none.
    pub fn closed_by(&self, region: Option<&str>, today: NaiveDate) -> Option<PeriodId> {
        self.locks()
            .find(|(_, lock)| lock.closes(region, today))
            .map(|(id, _)| id)
    }

    /// The deadline that applies, and the period it is set by: the earliest of those
    /// still closing by their deadline (one locked or opened again by an admin no longer
    /// closes by it), or none.
    pub fn deadline(&self) -> Option<(NaiveDate, PeriodId)> {
        self.locks()
            .filter(|(_, lock)| lock.mode == LockMode::Deadline)
            .map(|(id, lock)| (lock.deadline, id))
            .min()
    }

    /// The half-year's own deadline when its year's earlier one cuts it short.
    pub fn shortened(&self) -> Option<NaiveDate> {
        let (id, own) = self.own;
        match self.deadline() {
            Some((_, by)) if by != id && own.mode == LockMode::Deadline => Some(own.deadline),
            _ => None,
        }
    }

    /// The regions for which it is open although it is closed for the others: those with
    /// a lock exception on every period that closes it.
    pub fn open_for(&self, today: NaiveDate) -> Vec<String> {
        let mut regions: Vec<String> = self
            .locks()
            .filter(|(_, lock)| lock.closes(None, today))
            .flat_map(|(_, lock)| lock.exceptions.iter().cloned())
            .filter(|region| self.closed_by(Some(region), today).is_none())
            .collect();
        regions.sort();
        regions.dedup();
        regions
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

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    fn lock(mode: LockMode, deadline: &str, exceptions: &[&str]) -> Lock {
        Lock {
            mode,
            deadline: day(deadline),
            exceptions: exceptions.iter().map(|r| r.to_string()).collect(),
        }
    }

    #[test]
    fn a_years_lock_and_deadline_apply_to_its_half_years() {
        let today = day("2027-01-15");
        let h2 = h("2026H2");
        let year = PeriodId::Year(2026);
        let locks = vec![
            (h2, lock(LockMode::Deadline, "2027-03-31", &["07"])),
            (year, lock(LockMode::Deadline, "2026-12-31", &["07", "12"])),
        ];
        let closing = Closing::of(h2, &locks).unwrap();
        assert_eq!(
            closing.deadline(),
            Some((day("2026-12-31"), year)),
            "the year's earlier deadline"
        );
        assert_eq!(closing.closed_by(None, today), Some(year));
        assert_eq!(closing.closed_by(Some("12"), today), None);
        assert_eq!(closing.open_for(today), ["07", "12"]);
        assert_eq!(
            closing.closed_by(None, day("2026-12-31")),
            None,
            "on the day"
        );
        assert_eq!(closing.shortened(), Some(day("2027-03-31")));

        let locks = vec![
            (h2, lock(LockMode::Open, "2027-03-31", &[])),
            (year, lock(LockMode::Locked, "2026-12-31", &["12"])),
        ];
        let closing = Closing::of(h2, &locks).unwrap();
        assert_eq!(closing.deadline(), None, "neither closes by its deadline");
        assert_eq!(
            closing.closed_by(Some("07"), today),
            Some(year),
            "an open half-year in a locked year"
        );
        assert_eq!(closing.open_for(today), ["12"]);

        let locks = vec![
            (h2, lock(LockMode::Locked, "2027-03-31", &["07"])),
            (year, lock(LockMode::Open, "2026-12-31", &[])),
        ];
        let closing = Closing::of(h2, &locks).unwrap();
        assert_eq!(closing.closed_by(None, today), Some(h2));
        assert_eq!(closing.open_for(today), ["07"]);

        let alone = vec![(h2, lock(LockMode::Deadline, "2027-03-31", &[]))];
        let closing = Closing::of(h2, &alone).unwrap();
        assert_eq!(closing.deadline(), Some((day("2027-03-31"), h2)));
        assert_eq!(closing.closed_by(None, today), None);
        assert_eq!(closing.shortened(), None);
        assert!(Closing::of(h("2026H1"), &alone).is_none(), "not opened");
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
