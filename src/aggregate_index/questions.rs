//! The index answers what `db::aggregates` answers, with the same domain types: the matched
//! projects per group (`Membership`), the values added up per group (`Tally`) and the values
//! one by one (`ValueFact`). The same rules pick the rows: a project matches by its
//! attributes and, for its count, by its dates; a value by its project's attributes and its
//! half-year; on accepted reports by its region's accepted (region, half-year)s.

use std::sync::Arc;

use chrono::NaiveDate;
use foldhash::{HashMap, HashMapExt, HashSet};

use super::columns::{Index, NONE, Project, half_year_code, half_year_of};
use crate::db::aggregates::{ProjectField, ProjectFilter, TallyOf};
use crate::domain::aggregate::facts::{Membership, Tally, ValueFact};
use crate::domain::aggregate::question::GroupBy;
use crate::domain::period::PeriodId;

/// The grouped attributes of one row, numbered (`NONE`: without that code), in `group_by`
/// order; at most six project attributes are grouped.
type Attributes = [u32; 6];

/// A question's filter with its codes numbered.
struct Matcher {
    regions: Option<Vec<u32>>,
    sakomraden: Option<Vec<u32>>,
    fokusomraden: Option<Vec<u32>>,
    effektkedjor: Option<Vec<u32>>,
    branscher: Option<Vec<u32>>,
    project_types: Option<Vec<u32>>,
    /// The accepted (region, half-year)s, when only they count.
    accepted: Option<HashSet<(u32, u16)>>,
}

impl Matcher {
    fn new(index: &Index, filter: &ProjectFilter) -> Matcher {
        // A code the index has never seen matches no project.
        let wanted = |codes: &[String]| -> Option<Vec<u32>> {
            (!codes.is_empty()).then(|| codes.iter().filter_map(|c| index.names.find(c)).collect())
        };
        Matcher {
            regions: wanted(&filter.regions),
            sakomraden: wanted(&filter.sakomraden),
            fokusomraden: wanted(&filter.fokusomraden),
            effektkedjor: wanted(&filter.effektkedjor),
            branscher: wanted(&filter.branscher),
            project_types: wanted(&filter.project_types),
            accepted: filter.accepted_reports.as_ref().map(|accepted| {
                accepted
                    .iter()
                    .filter_map(|(region, half_year)| {
                        Some((index.names.find(region)?, half_year_code(*half_year)?))
                    })
                    .collect()
            }),
        }
    }

    fn matches(&self, project: &Project) -> bool {
        let is_in = |codes: &Option<Vec<u32>>, code: u32| {
            codes.as_ref().is_none_or(|codes| codes.contains(&code))
        };
        is_in(&self.regions, project.region)
            && is_in(&self.sakomraden, project.sakomrade)
            && is_in(&self.fokusomraden, project.fokusomrade)
            && is_in(&self.effektkedjor, project.effektkedja)
            && is_in(&self.project_types, project.project_type)
            && self
                .branscher
                .as_ref()
                .is_none_or(|asked| project.branscher.iter().any(|b| asked.contains(b)))
    }

    /// Whether a value of `project` in `half_year` counts.
    fn counts_value(&self, project: &Project, half_year: u16) -> bool {
        self.accepted
            .as_ref()
            .is_none_or(|accepted| accepted.contains(&(project.region, half_year)))
    }

    /// Whether `project` is dated into one of `half_years` whose report of its region is
    /// accepted.
    fn dated_into_accepted(&self, project: &Project, half_years: &[Dated]) -> bool {
        let Some(accepted) = &self.accepted else {
            return true;
        };
        half_years.iter().any(|half_year| {
            half_year
                .code
                .is_some_and(|code| accepted.contains(&(project.region, code)))
                && half_year.reached_by(project)
        })
    }
}

/// Calls `each` with every row of grouped attributes `project` has: one, or one per bransch
/// when grouping by bransch (only the asked ones when filtered by bransch; a project
/// without any is one row without a bransch).
fn for_each_row(
    project: &Project,
    dimensions: &[GroupBy],
    asked_branscher: Option<&[u32]>,
    mut each: impl FnMut(Attributes),
) {
    let mut attributes = [NONE; 6];
    let mut bransch_at = None;
    for (i, dimension) in dimensions.iter().enumerate() {
        attributes[i] = match dimension {
            GroupBy::Region => project.region,
            GroupBy::Sakomrade => project.sakomrade,
            GroupBy::Fokusomrade => project.fokusomrade,
            GroupBy::Effektkedja => project.effektkedja,
            GroupBy::ProjectType => project.project_type,
            GroupBy::Bransch => {
                bransch_at = Some(i);
                NONE
            }
            GroupBy::Period | GroupBy::Sex => unreachable!("not a project attribute"),
        };
    }
    let Some(at) = bransch_at else {
        each(attributes);
        return;
    };
    let mut any = false;
    for bransch in project
        .branscher
        .iter()
        .filter(|b| asked_branscher.is_none_or(|asked| asked.contains(b)))
    {
        any = true;
        attributes[at] = *bransch;
        each(attributes);
    }
    if !any {
        attributes[at] = NONE;
        each(attributes);
    }
}

/// The groups of project attributes a question's matched projects fall in, numbered in the
/// order first met, and each project's group numbers (one per row of `for_each_row`). The
/// scans add into cells by these numbers: no key is built or hashed per value.
pub(super) struct Grouping {
    /// The attributes of each group number.
    attributes: Vec<Attributes>,
    /// A project's numbers are `numbers[starts[slot]..starts[slot + 1]]`; none when it is
    /// not matched.
    starts: Vec<u32>,
    numbers: Vec<u32>,
}

impl Grouping {
    fn new(
        index: &Index,
        dimensions: &[GroupBy],
        asked_branscher: Option<&[u32]>,
        matched: impl Fn(&Project) -> bool,
    ) -> Grouping {
        let mut numbered: HashMap<Attributes, u32> = HashMap::new();
        let mut grouping = Grouping {
            attributes: Vec::new(),
            starts: Vec::with_capacity(index.projects.len() + 1),
            numbers: Vec::with_capacity(index.projects.len()),
        };
        grouping.starts.push(0);
        for project in &index.projects {
            if matched(project) {
                for_each_row(project, dimensions, asked_branscher, |attributes| {
                    let number = *numbered.entry(attributes).or_insert_with(|| {
                        grouping.attributes.push(attributes);
                        (grouping.attributes.len() - 1) as u32
                    });
                    grouping.numbers.push(number);
                });
            }
            grouping.starts.push(grouping.numbers.len() as u32);
        }
        grouping
    }

    /// The group numbers of the project in `slot`.
    fn of(&self, slot: usize) -> &[u32] {
        &self.numbers[self.starts[slot] as usize..self.starts[slot + 1] as usize]
    }

    fn count(&self) -> usize {
        self.attributes.len()
    }

    pub(super) fn bytes(&self) -> usize {
        size_of::<Grouping>()
            + self.attributes.capacity() * size_of::<Attributes>()
            + (self.starts.capacity() + self.numbers.capacity()) * size_of::<u32>()
    }
}

/// The half-years a question counts values of, each with the number of its bucket (a
/// period group, or one bucket without grouping by period), looked up by half-year code.
struct Buckets {
    first: u16,
    /// The bucket of half-year `first + i`; `None` for one not asked for.
    of_code: Vec<Option<u32>>,
    /// Each bucket's period (`None` without grouping by period).
    periods: Vec<Option<PeriodId>>,
}

impl Buckets {
    fn new(half_years: &[PeriodId], bucket_of: impl Fn(PeriodId) -> Option<PeriodId>) -> Buckets {
        let codes: Vec<(u16, PeriodId)> = half_years
            .iter()
            .filter_map(|h| Some((half_year_code(*h)?, *h)))
            .collect();
        let first = codes.iter().map(|(code, _)| *code).min().unwrap_or(0);
        let last = codes.iter().map(|(code, _)| *code).max().unwrap_or(0);
        let mut buckets = Buckets {
            first,
            of_code: vec![
                None;
                if codes.is_empty() {
                    0
                } else {
                    usize::from(last - first) + 1
                }
            ],
            periods: Vec::new(),
        };
        for (code, half_year) in codes {
            let period = bucket_of(half_year);
            let number = match buckets.periods.iter().position(|p| *p == period) {
                Some(number) => number,
                None => {
                    buckets.periods.push(period);
                    buckets.periods.len() - 1
                }
            };
            buckets.of_code[usize::from(code - first)] = Some(number as u32);
        }
        buckets
    }

    /// Each half-year asked for, with its bucket.
    fn asked(&self) -> impl Iterator<Item = (u16, usize)> + '_ {
        self.of_code
            .iter()
            .enumerate()
            .filter_map(|(at, bucket)| Some((self.first + at as u16, (*bucket)? as usize)))
    }

    fn count(&self) -> usize {
        self.periods.len()
    }
}

/// A period's first and last day, and its half-year code (for the accepted reports).
#[derive(Clone, Copy)]
struct Dated {
    code: Option<u16>,
    start: NaiveDate,
    end: NaiveDate,
}

impl Dated {
    fn of(period: PeriodId) -> Dated {
        Dated {
            code: half_year_code(period),
            start: period.start_date(),
            end: period.end_date(),
        }
    }

    fn reached_by(&self, project: &Project) -> bool {
        project.start <= self.end && project.end >= self.start
    }
}

/// One group's matched projects, added up.
#[derive(Default)]
struct Members {
    projects: u64,
    target: Option<i128>,
    field: i128,
    granted: i128,
}

/// One group's values, added up.
#[derive(Default)]
struct Adding {
    sum: i128,
    below: i128,
    reporting: u64,
}

/// The most bytes the enterprises met may take as a bit per enterprise number and cell.
const MET_BITS_BYTES: usize = 4 << 20;

/// The enterprises met in each cell, each once: a bit per enterprise number where every
/// cell's bits fit in `MET_BITS_BYTES` (a national figure is one cell), else a set per
/// cell (a grouping by bransch and period has thousands). A set costs a hash and often a
/// move a value, a bit neither; sorting the enterprises with their repeats took longer
/// than the rest of the scan.
enum Met {
    Bits { words: usize, bits: Vec<u64> },
    Sets(Vec<HashSet<u32>>),
}

impl Met {
    /// For `cells` cells of enterprises numbered below `numbers`.
    fn new(cells: usize, numbers: usize) -> Met {
        let words = numbers.div_ceil(64);
        if cells.saturating_mul(words).saturating_mul(8) <= MET_BITS_BYTES {
            Met::Bits {
                words,
                bits: vec![0; cells * words],
            }
        } else {
            Met::Sets(
                std::iter::repeat_with(HashSet::default)
                    .take(cells)
                    .collect(),
            )
        }
    }

    fn add(&mut self, cell: usize, enterprises: &[u32]) {
        match self {
            Met::Bits { words, bits } => {
                let row = &mut bits[cell * *words..(cell + 1) * *words];
                for enterprise in enterprises {
                    row[*enterprise as usize / 64] |= 1 << (enterprise % 64);
                }
            }
            Met::Sets(sets) => sets[cell].extend(enterprises),
        }
    }

    fn count(&self, cell: usize) -> u64 {
        match self {
            Met::Bits { words, bits } => bits[cell * words..(cell + 1) * words]
                .iter()
                .map(|word| u64::from(word.count_ones()))
                .sum(),
            Met::Sets(sets) => sets[cell].len() as u64,
        }
    }
}

impl Index {
    /// The groups of the projects `matcher` matches by their attributes alone (not their
    /// dates), kept until a project changes.
    fn grouping(
        &self,
        filter: &ProjectFilter,
        matcher: &Matcher,
        dimensions: &[GroupBy],
    ) -> Arc<Grouping> {
        let key = format!(
            "groups {:?} {:?} {:?} {:?} {:?} {:?} {dimensions:?}",
            filter.regions,
            filter.sakomraden,
            filter.fokusomraden,
            filter.effektkedjor,
            filter.branscher,
            filter.project_types,
        );
        self.kept.grouping(key, || {
            Grouping::new(self, dimensions, matcher.branscher.as_deref(), |project| {
                matcher.matches(project)
            })
        })
    }

    fn texts(&self, attributes: &Attributes, count: usize) -> Vec<Option<String>> {
        attributes[..count]
            .iter()
            .map(|id| self.names.name(*id).map(str::to_string))
            .collect()
    }

    /// As `db::aggregates::memberships`; kept until a project changes.
    pub fn memberships(
        &self,
        filter: &ProjectFilter,
        group_by: &[GroupBy],
        buckets: &[PeriodId],
        target_indicator: &str,
        field: Option<ProjectField>,
    ) -> Vec<Membership> {
        let key =
            format!("members {filter:?} {group_by:?} {buckets:?} {target_indicator:?} {field:?}");
        let members = self.kept.members(key, || {
            self.count_members(filter, group_by, buckets, target_indicator, field)
        });
        members.to_vec()
    }

    fn count_members(
        &self,
        filter: &ProjectFilter,
        group_by: &[GroupBy],
        buckets: &[PeriodId],
        target_indicator: &str,
        field: Option<ProjectField>,
    ) -> Vec<Membership> {
        let matcher = Matcher::new(self, filter);
        let dimensions = project_dimensions(group_by);
        let by_period = group_by.contains(&GroupBy::Period);
        let (start, end) = filter.active_between;
        let target_of = self.names.find(target_indicator);
        let bucket_dates: Vec<Dated> = buckets.iter().map(|b| Dated::of(*b)).collect();
        let bucket_half_years: Vec<Vec<Dated>> = buckets
            .iter()
            .map(|b| b.half_years().into_iter().map(Dated::of).collect())
            .collect();
        let all_half_years: Vec<Dated> = bucket_half_years.iter().flatten().copied().collect();
        let grouping = Grouping::new(self, &dimensions, matcher.branscher.as_deref(), |project| {
            project.start <= end
                && project.end >= start
                && matcher.matches(project)
                && matcher.dated_into_accepted(project, &all_half_years)
        });
        let width = if by_period { buckets.len() } else { 1 };
        let mut cells: Vec<Option<Members>> = Vec::new();
        cells.resize_with(grouping.count() * width, || None);
        for (slot, project) in self.projects.iter().enumerate() {
            let groups = grouping.of(slot);
            if groups.is_empty() {
                continue;
            }
            let target = target_of
                .and_then(|indicator| {
                    self.plans
                        .of(slot)
                        .and_then(|plans| plans.iter().find(|(i, _)| *i == indicator))
                })
                .and_then(|(_, target)| *target)
                .map(i128::from);
            let amount = match field {
                Some(ProjectField::GrantedSek) => project.granted_sek,
                Some(ProjectField::TotalBudgetSek) => project.total_budget_sek,
                None => 0,
            };
            for bucket in 0..width {
                let counted = !by_period
                    || match matcher.accepted {
                        None => bucket_dates[bucket].reached_by(project),
                        Some(_) => matcher.dated_into_accepted(project, &bucket_half_years[bucket]),
                    };
                if !counted {
                    continue;
                }
                for group in groups {
                    let members = cells[*group as usize * width + bucket].get_or_insert_default();
                    members.projects += 1;
                    members.target = match (members.target, target) {
                        (Some(a), Some(b)) => Some(a + b),
                        (a, b) => a.or(b),
                    };
                    members.field += i128::from(amount);
                    members.granted += i128::from(project.granted_sek);
                }
            }
        }
        let memberships: Vec<Membership> = cells
            .into_iter()
            .enumerate()
            .filter_map(|(cell, members)| {
                let members = members?;
                Some(Membership {
                    attributes: self.texts(&grouping.attributes[cell / width], dimensions.len()),
                    bucket: by_period.then(|| buckets[cell % width]),
                    projects: members.projects,
                    target: members.target,
                    field: members.field,
                    granted: members.granted,
                })
            })
            .collect();
        // Without an attribute or period to group by, the one group is there even empty,
        // as a count without GROUP BY is.
        if memberships.is_empty() && dimensions.is_empty() && !by_period {
            return vec![Membership {
                attributes: Vec::new(),
                bucket: None,
                projects: 0,
                target: None,
                field: 0,
                granted: 0,
            }];
        }
        memberships
    }

    /// As `db::aggregates::tallies`.
    pub fn tallies(
        &self,
        filter: &ProjectFilter,
        group_by: &[GroupBy],
        of: TallyOf<'_>,
        half_years: &[PeriodId],
        by_year: bool,
    ) -> Vec<Tally> {
        let matcher = Matcher::new(self, filter);
        let dimensions = project_dimensions(group_by);
        let by_period = group_by.contains(&GroupBy::Period);
        let buckets = Buckets::new(half_years, |half_year| match (by_period, by_year) {
            (false, _) => None,
            (true, true) => Some(PeriodId::Year(half_year.year())),
            (true, false) => Some(half_year),
        });
        let code = match of {
            TallyOf::Sum(code) | TallyOf::Distinct(code) => code,
            TallyOf::Ratio { numerator, .. } => numerator,
        };
        let Some(column) = self.names.find(code).and_then(|id| self.columns.get(&id)) else {
            return Vec::new();
        };
        let below = match of {
            TallyOf::Ratio { denominator, .. } => self
                .names
                .find(denominator)
                .and_then(|id| self.columns.get(&id)),
            _ => None,
        };
        let grouping = self.grouping(filter, &matcher, &dimensions);
        let width = buckets.count();
        let mut cells: Vec<Adding> = Vec::new();
        cells.resize_with(grouping.count() * width, Adding::default);
        let mut met = match of {
            TallyOf::Distinct(_) => Met::new(cells.len(), self.names.count()),
            _ => Met::new(0, 0),
        };
        // Whether a project is already counted as reporting in a bucket: its groups there
        // are the same for each of its values.
        let mut reporting = vec![false; self.projects.len() * width];
        for (half_year, bucket, row) in buckets.asked().flat_map(|(half_year, bucket)| {
            column
                .rows_in(half_year)
                .iter()
                .map(move |row| (half_year, bucket, *row as usize))
        }) {
            let slot = column.project[row] as usize;
            let groups = grouping.of(slot);
            if groups.is_empty() || !matcher.counts_value(&self.projects[slot], half_year) {
                continue;
            }
            let (value, denominator, enterprises): (i64, i64, &[u32]) = match of {
                TallyOf::Sum(_) => (column.value[row], 0, &[]),
                TallyOf::Ratio { .. } => {
                    // Only the project half-years that reported both parts.
                    let Some(lower) = below.and_then(|below| {
                        let lower = below.row_of(slot as u32, half_year)?;
                        Some(below.value[lower as usize])
                    }) else {
                        continue;
                    };
                    (column.value[row], lower, &[])
                }
                TallyOf::Distinct(_) => match column.entities_of(row) {
                    Some(enterprises) => (0, 0, enterprises),
                    None => continue,
                },
            };
            for group in groups {
                let adding = &mut cells[*group as usize * width + bucket];
                adding.sum += i128::from(value);
                adding.below += i128::from(denominator);
                met.add(*group as usize * width + bucket, enterprises);
            }
            let counted = &mut reporting[slot * width + bucket];
            if !matches!(of, TallyOf::Distinct(_)) && !*counted {
                *counted = true;
                for group in groups {
                    cells[*group as usize * width + bucket].reporting += 1;
                }
            }
        }
        cells
            .into_iter()
            .enumerate()
            .filter_map(|(cell, adding)| {
                let distinct = met.count(cell);
                (adding.reporting > 0 || distinct > 0).then(|| Tally {
                    attributes: self.texts(&grouping.attributes[cell / width], dimensions.len()),
                    bucket: buckets.periods[cell % width],
                    sum: adding.sum,
                    denominator: adding.below,
                    distinct,
                    reporting: adding.reporting,
                })
            })
            .collect()
    }

    /// As `db::aggregates::values` for the current values.
    pub fn values(
        &self,
        filter: &ProjectFilter,
        group_by: &[GroupBy],
        indicator: &str,
        half_years: &[PeriodId],
        with_entities: bool,
    ) -> Vec<ValueFact> {
        let Some(column) = self
            .names
            .find(indicator)
            .and_then(|id| self.columns.get(&id))
        else {
            return Vec::new();
        };
        let matcher = Matcher::new(self, filter);
        let dimensions = project_dimensions(group_by);
        let buckets = Buckets::new(half_years, |_| None);
        let grouping = self.grouping(filter, &matcher, &dimensions);
        let texts: Vec<Arc<[Option<String>]>> = grouping
            .attributes
            .iter()
            .map(|attributes| self.texts(attributes, dimensions.len()).into())
            .collect();
        let mut facts = Vec::new();
        for (half_year, row) in buckets.asked().flat_map(|(half_year, _)| {
            column
                .rows_in(half_year)
                .iter()
                .map(move |row| (half_year, *row as usize))
        }) {
            let slot = column.project[row] as usize;
            let groups = grouping.of(slot);
            let project = &self.projects[slot];
            if groups.is_empty() || !matcher.counts_value(project, half_year) {
                continue;
            }
            let entities: Vec<String> = match column.entities_of(row) {
                Some(enterprises) if with_entities => enterprises
                    .iter()
                    .filter_map(|e| self.names.name(*e).map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            for group in groups {
                facts.push(ValueFact {
                    attributes: Arc::clone(&texts[*group as usize]),
                    project_id: project.id,
                    half_year: half_year_of(half_year),
                    value: column.value[row],
                    parts: column.parts_of(row),
                    entities: entities.clone(),
                });
            }
        }
        facts
    }
}

/// The project attributes of `group_by`, in order.
fn project_dimensions(group_by: &[GroupBy]) -> Vec<GroupBy> {
    group_by
        .iter()
        .copied()
        .filter(|g| g.is_project_attribute())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::aggregate_index::columns::{ProjectRecord, ValueRecord};
    use crate::aggregate_index::{AggregateIndex, State};

    #[test]
    fn enterprises_are_counted_once_a_cell_as_bits_and_as_sets() {
        let bits = Met::new(3, 130);
        assert!(matches!(bits, Met::Bits { words: 3, .. }));
        let sets = Met::Sets(vec![HashSet::default(); 3]);
        for mut met in [bits, sets] {
            met.add(0, &[0, 63, 64, 129, 63]);
            met.add(2, &[64]);
            met.add(0, &[129, 5]);
            assert_eq!([met.count(0), met.count(1), met.count(2)], [5, 0, 1]);
        }
        assert!(
            matches!(Met::new(100_000, 1_000_000), Met::Sets(_)),
            "past the budget"
        );
    }

    fn half_year(year: i32, half: u8) -> PeriodId {
        PeriodId::HalfYear { year, half }
    }

    fn project(id: i64, region: &str, branscher: &[&str]) -> ProjectRecord {
        ProjectRecord {
            id,
            region: region.into(),
            project_type: "T".into(),
            sakomrade: "S".into(),
            fokusomrade: None,
            effektkedja: "E".into(),
            start: NaiveDate::from_ymd_opt(2024, 1, 1).expect("date"),
            end: NaiveDate::from_ymd_opt(2026, 12, 31).expect("date"),
            granted_sek: 100,
            total_budget_sek: 200,
            branscher: branscher.iter().map(|b| b.to_string()).collect(),
            plans: Vec::new(),
        }
    }

    /// Projects 1 and 2 in region 01 (1 in branscher A and B), 3 in region 02; each reports
    /// X in both half-years of 2025, 10 × its id each.
    fn index() -> Index {
        let mut index = Index::empty(1);
        index.put_project(project(1, "01", &["A", "B"]));
        index.put_project(project(2, "01", &[]));
        index.put_project(project(3, "02", &["A"]));
        for id in 1..=3 {
            for period in ["2025H1", "2025H2"] {
                index.put_value(ValueRecord {
                    project_id: id,
                    indicator: "X",
                    period,
                    value: 10 * id,
                    parts: None,
                    entities: &[],
                });
            }
        }
        index
    }

    fn filter() -> ProjectFilter {
        ProjectFilter {
            active_between: (
                NaiveDate::from_ymd_opt(2025, 1, 1).expect("date"),
                NaiveDate::from_ymd_opt(2025, 12, 31).expect("date"),
            ),
            ..ProjectFilter::default()
        }
    }

    #[test]
    fn buckets_number_the_asked_half_years_by_period() {
        let asked = [half_year(2024, 2), half_year(2025, 1), half_year(2025, 2)];
        let by_year = Buckets::new(&asked, |h| Some(PeriodId::Year(h.year())));
        assert_eq!(
            by_year.periods,
            [Some(PeriodId::Year(2024)), Some(PeriodId::Year(2025))]
        );
        let code = |h| half_year_code(h).expect("a half-year");
        assert_eq!(
            by_year.asked().collect::<Vec<_>>(),
            [
                (code(half_year(2024, 2)), 0),
                (code(half_year(2025, 1)), 1),
                (code(half_year(2025, 2)), 1)
            ],
            "each asked half-year once, none before or after"
        );
        let together = Buckets::new(&asked, |_| None);
        assert_eq!(together.periods, [None]);
        assert_eq!(
            together
                .asked()
                .map(|(_, bucket)| bucket)
                .collect::<Vec<_>>(),
            [0, 0, 0]
        );
        assert_eq!(Buckets::new(&[], |_| None).count(), 0);
    }

    #[test]
    fn grouping_numbers_each_projects_rows() {
        let index = index();
        let by_region = Grouping::new(&index, &[GroupBy::Region], None, |p| p.id != 2);
        assert_eq!(by_region.count(), 2);
        assert_eq!(by_region.of(0), [0]);
        assert!(by_region.of(1).is_empty(), "not matched");
        assert_eq!(by_region.of(2), [1]);
        let by_bransch = Grouping::new(&index, &[GroupBy::Bransch], None, |_| true);
        assert_eq!(by_bransch.of(0), [0, 1], "A and B");
        assert_eq!(by_bransch.of(1), [2], "without a bransch");
        assert_eq!(by_bransch.of(2), [0]);
        assert_eq!(by_bransch.attributes[2][0], NONE);
    }

    #[test]
    fn a_project_reports_once_per_group_and_bucket() {
        let index = index();
        let year = [half_year(2025, 1), half_year(2025, 2)];
        let mut by_bransch = index.tallies(
            &filter(),
            &[GroupBy::Bransch],
            TallyOf::Sum("X"),
            &year,
            false,
        );
        by_bransch.sort_by(|a, b| a.attributes.cmp(&b.attributes));
        let figures: Vec<(Option<&str>, i128, u64)> = by_bransch
            .iter()
            .map(|t| (t.attributes[0].as_deref(), t.sum, t.reporting))
            .collect();
        assert_eq!(
            figures,
            [(None, 40, 1), (Some("A"), 80, 2), (Some("B"), 20, 1)]
        );
        let mut by_half_year = index.tallies(
            &filter(),
            &[GroupBy::Period],
            TallyOf::Sum("X"),
            &year,
            false,
        );
        by_half_year.sort_by_key(|t| t.bucket);
        let figures: Vec<(Option<PeriodId>, i128, u64)> = by_half_year
            .iter()
            .map(|t| (t.bucket, t.sum, t.reporting))
            .collect();
        assert_eq!(figures, [(Some(year[0]), 60, 3), (Some(year[1]), 60, 3)]);
    }

    #[test]
    fn what_is_kept_of_the_projects_is_forgotten_when_one_changes() {
        let mut index = index();
        let year = [half_year(2025, 1), half_year(2025, 2)];
        let by_region = |index: &Index| {
            let mut tallies = index.tallies(
                &filter(),
                &[GroupBy::Region],
                TallyOf::Sum("X"),
                &year,
                false,
            );
            tallies.sort_by(|a, b| a.attributes.cmp(&b.attributes));
            let members = index.memberships(&filter(), &[GroupBy::Region], &[], "X", None);
            let mut members: Vec<(Option<String>, u64)> = members
                .into_iter()
                .map(|m| (m.attributes[0].clone(), m.projects))
                .collect();
            members.sort();
            let sums: Vec<(Option<String>, i128)> = tallies
                .into_iter()
                .map(|t| (t.attributes[0].clone(), t.sum))
                .collect();
            (sums, members)
        };
        let region = |code: &str| Some(code.to_string());
        assert_eq!(
            by_region(&index),
            (
                vec![(region("01"), 60), (region("02"), 60)],
                vec![(region("01"), 2), (region("02"), 1)]
            )
        );
        // A value written keeps the groups; the scan adds the new value.
        index.put_value(ValueRecord {
            project_id: 3,
            indicator: "X",
            period: "2025H1",
            value: 100,
            parts: None,
            entities: &[],
        });
        assert_eq!(
            by_region(&index).0,
            [(region("01"), 60), (region("02"), 130)]
        );
        // Project 3 moved to region 01: its groups and members are counted anew.
        index.put_project(project(3, "01", &["A"]));
        assert_eq!(
            by_region(&index),
            (vec![(region("01"), 190)], vec![(region("01"), 3)])
        );
    }

    #[test]
    fn what_is_kept_gives_way_before_the_index_passes_its_cap() {
        let asked = index();
        let columns = asked.bytes() as u64;
        let year = [half_year(2025, 1), half_year(2025, 2)];
        asked.tallies(
            &filter(),
            &[GroupBy::Region],
            TallyOf::Sum("X"),
            &year,
            false,
        );
        asked.memberships(&filter(), &[GroupBy::Bransch], &[], "X", None);
        let with_kept = asked.bytes() as u64;
        assert!(with_kept > columns, "{with_kept} > {columns}");
        let capped = AggregateIndex::new(columns);
        match capped.within_cap(Box::new(asked)) {
            State::Ready(kept) => assert_eq!(kept.bytes() as u64, columns),
            State::Empty | State::Off => panic!("dropped though its columns fit"),
        }
        assert!(!capped.status().over_cap);
        let too_small = AggregateIndex::new(columns - 1);
        assert!(matches!(
            too_small.within_cap(Box::new(index())),
            State::Off
        ));
        assert!(too_small.status().over_cap);
    }
}
