//! How completely the regions have reported: the values their active projects must report,
//! how many arrived, and how many arrived by the deadline.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use chrono::{NaiveDate, NaiveDateTime};

use super::period::PeriodId;

/// A project active in the asked span and the indicators it must report.
pub struct ProjectNeeds {
    pub id: i64,
    pub region: String,
    pub start: NaiveDate,
    pub end: NaiveDate,
    pub indicators: BTreeSet<String>,
}

/// A half-year open for reporting (created and started), with the last instant (UTC) a
/// value counts as on time.
pub struct OpenHalfYear {
    pub id: PeriodId,
    pub on_time_until: NaiveDateTime,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    pub active_projects: u64,
    pub required_values: u64,
    pub reported_values: u64,
    pub missing_values: u64,
    pub on_time_values: u64,
}

impl Tally {
    fn add(&mut self, other: &Tally) {
        self.active_projects += other.active_projects;
        self.required_values += other.required_values;
        self.reported_values += other.reported_values;
        self.missing_values += other.missing_values;
        self.on_time_values += other.on_time_values;
    }
}

/// Counts per region, and the national total. `first_reported` holds when each
/// (project, indicator, half-year) was first reported.
pub fn count(
    projects: &[ProjectNeeds],
    half_years: &[OpenHalfYear],
    first_reported: &HashMap<(i64, String, String), NaiveDateTime>,
) -> (BTreeMap<String, Tally>, Tally) {
    let mut regions: BTreeMap<String, Tally> = BTreeMap::new();
    for project in projects {
        let tally = regions.entry(project.region.clone()).or_default();
        tally.active_projects += 1;
        for half_year in half_years {
            if project.end < half_year.id.start_date() || project.start > half_year.id.end_date() {
                continue;
            }
            for indicator in &project.indicators {
                tally.required_values += 1;
                match first_reported.get(&(project.id, indicator.clone(), half_year.id.to_string()))
                {
                    Some(first) => {
                        tally.reported_values += 1;
                        if *first <= half_year.on_time_until {
                            tally.on_time_values += 1;
                        }
                    }
                    None => tally.missing_values += 1,
                }
            }
        }
    }
    let mut national = Tally::default();
    for tally in regions.values() {
        national.add(tally);
    }
    (regions, national)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_required_reported_missing_and_on_time() {
        let date = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let time = |y, m, d| date(y, m, d).and_hms_opt(12, 0, 0).unwrap();
        let projects = vec![
            ProjectNeeds {
                id: 1,
                region: "07".into(),
                start: date(2026, 1, 1),
                end: date(2026, 12, 31),
                indicators: ["RCO01".to_string(), "RCR01".to_string()].into(),
            },
            ProjectNeeds {
                id: 2,
                region: "07".into(),
                start: date(2026, 7, 1),
                end: date(2027, 12, 31),
                indicators: ["RCO83".to_string()].into(),
            },
        ];
        let h1 = OpenHalfYear {
            id: PeriodId::parse("2026H1").unwrap(),
            on_time_until: time(2026, 9, 30),
        };
        let h2 = OpenHalfYear {
            id: PeriodId::parse("2026H2").unwrap(),
            on_time_until: time(2027, 3, 31),
        };
        let reported = HashMap::from([
            (
                (1, "RCO01".to_string(), "2026H1".to_string()),
                time(2026, 9, 1),
            ),
            (
                (1, "RCR01".to_string(), "2026H1".to_string()),
                time(2026, 10, 15),
            ),
            (
                (2, "RCO83".to_string(), "2026H2".to_string()),
                time(2027, 1, 10),
            ),
        ]);
        let (regions, national) = count(&projects, &[h1, h2], &reported);
        let expected = Tally {
            active_projects: 2,
            required_values: 5,
            reported_values: 3,
            missing_values: 2,
            on_time_values: 2,
        };
        assert_eq!(regions["07"], expected);
        assert_eq!(national, expected);
    }
}
