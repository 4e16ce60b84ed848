//! The index answers what `db::aggregates` answers, with the same domain types: the matched
//! projects per group (`Membership`), the values added up per group (`Tally`) and the values
//! one by one (`ValueFact`). The same rules pick the rows: a project matches by its
//! attributes and, for its count, by its dates; a value by its project's attributes and its
//! half-year; on accepted reports by its region's accepted (region, half-year)s.

use std::collections::{HashMap, HashSet};

use super::columns::{Column, Index, NONE, Project, half_year_code, half_year_of};
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
    fn dated_into_accepted(&self, project: &Project, half_years: &[PeriodId]) -> bool {
        let Some(accepted) = &self.accepted else {
            return true;
        };
        half_years.iter().any(|half_year| {
            half_year_code(*half_year)
                .is_some_and(|code| accepted.contains(&(project.region, code)))
                && project.start <= half_year.end_date()
                && project.end >= half_year.start_date()
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

impl Index {
    fn texts(&self, attributes: &Attributes, count: usize) -> Vec<Option<String>> {
        attributes[..count]
            .iter()
            .map(|id| self.names.name(*id).map(str::to_string))
            .collect()
    }

    /// Which projects match the filter's attributes, by slot.
    fn matched(&self, matcher: &Matcher) -> Vec<bool> {
        self.projects.iter().map(|p| matcher.matches(p)).collect()
    }

    /// As `db::aggregates::memberships`.
    pub fn memberships(
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
        let all_half_years: Vec<PeriodId> = buckets.iter().flat_map(|b| b.half_years()).collect();
        let bucket_half_years: Vec<Vec<PeriodId>> =
            buckets.iter().map(|b| b.half_years()).collect();
        let mut groups: HashMap<(Attributes, Option<usize>), Membership> = HashMap::new();
        for project in &self.projects {
            if project.start > end
                || project.end < start
                || !matcher.matches(project)
                || !matcher.dated_into_accepted(project, &all_half_years)
            {
                continue;
            }
            let target = target_of
                .and_then(|indicator| project.plans.iter().find(|(i, _)| *i == indicator))
                .and_then(|(_, target)| *target)
                .map(i128::from);
            let amount = match field {
                Some(ProjectField::GrantedSek) => project.granted_sek,
                Some(ProjectField::TotalBudgetSek) => project.total_budget_sek,
                None => 0,
            };
            let counted_in: Vec<Option<usize>> = if !by_period {
                vec![None]
            } else if matcher.accepted.is_none() {
                // The buckets are in order and adjoin: from the first the project reaches
                // to the last.
                (0..buckets.len())
                    .filter(|i| {
                        project.start <= buckets[*i].end_date()
                            && project.end >= buckets[*i].start_date()
                    })
                    .map(Some)
                    .collect()
            } else {
                (0..buckets.len())
                    .filter(|i| matcher.dated_into_accepted(project, &bucket_half_years[*i]))
                    .map(Some)
                    .collect()
            };
            for_each_row(
                project,
                &dimensions,
                matcher.branscher.as_deref(),
                |attributes| {
                    for bucket in &counted_in {
                        let membership =
                            groups
                                .entry((attributes, *bucket))
                                .or_insert_with(|| Membership {
                                    attributes: self.texts(&attributes, dimensions.len()),
                                    bucket: bucket.map(|i| buckets[i]),
                                    projects: 0,
                                    target: None,
                                    field: 0,
                                    granted: 0,
                                });
                        membership.projects += 1;
                        membership.target = match (membership.target, target) {
                            (Some(a), Some(b)) => Some(a + b),
                            (a, b) => a.or(b),
                        };
                        membership.field += i128::from(amount);
                        membership.granted += i128::from(project.granted_sek);
                    }
                },
            );
        }
        // Without an attribute or period to group by, the one group is there even empty,
        // as a count without GROUP BY is.
        if groups.is_empty() && dimensions.is_empty() && !by_period {
            return vec![Membership {
                attributes: Vec::new(),
                bucket: None,
                projects: 0,
                target: None,
                field: 0,
                granted: 0,
            }];
        }
        groups.into_values().collect()
    }

    /// The rows of `indicator`'s column that count for the question: in the half-years,
    /// of a matched project, on an accepted report when only those count.
    fn counted_rows<'a>(
        &'a self,
        column: &'a Column,
        matcher: &'a Matcher,
        matched: &'a [bool],
        half_years: &[PeriodId],
    ) -> impl Iterator<Item = usize> + 'a {
        let codes: Vec<u16> = half_years
            .iter()
            .filter_map(|h| half_year_code(*h))
            .collect();
        let (first, last) = (
            codes.iter().copied().min().unwrap_or(1),
            codes.iter().copied().max().unwrap_or(0),
        );
        (0..column.value.len()).filter(move |row| {
            let half_year = column.half_year[*row];
            let project = column.project[*row] as usize;
            half_year >= first
                && half_year <= last
                && codes.contains(&half_year)
                && matched[project]
                && matcher.counts_value(&self.projects[project], half_year)
        })
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
        #[derive(Default)]
        struct Adding {
            sum: i128,
            below: i128,
            projects: HashSet<u32>,
            enterprises: HashSet<u32>,
        }
        let matcher = Matcher::new(self, filter);
        let matched = self.matched(&matcher);
        let dimensions = project_dimensions(group_by);
        let by_period = group_by.contains(&GroupBy::Period);
        let bucket_of = |half_year: u16| -> Option<PeriodId> {
            let half_year = half_year_of(half_year);
            match (by_period, by_year) {
                (false, _) => None,
                (true, true) => Some(PeriodId::Year(half_year.year())),
                (true, false) => Some(half_year),
            }
        };
        let code = match of {
            TallyOf::Sum(code) | TallyOf::Distinct(code) => code,
            TallyOf::Ratio { numerator, .. } => numerator,
        };
        let column = self.names.find(code).and_then(|id| self.columns.get(&id));
        let below = match of {
            TallyOf::Ratio { denominator, .. } => self
                .names
                .find(denominator)
                .and_then(|id| self.columns.get(&id)),
            _ => None,
        };
        let mut groups: HashMap<(Attributes, Option<PeriodId>), Adding> = HashMap::new();
        if let Some(column) = column {
            for row in self.counted_rows(column, &matcher, &matched, half_years) {
                let slot = column.project[row];
                let half_year = column.half_year[row];
                let project = &self.projects[slot as usize];
                let (value, denominator, enterprises): (i64, i64, &[u32]) = match of {
                    TallyOf::Sum(_) => (column.value[row], 0, &[]),
                    TallyOf::Ratio { .. } => {
                        // Only the project half-years that reported both parts.
                        let Some(below) = below else { continue };
                        let Some(lower) = below.row_of(slot, half_year) else {
                            continue;
                        };
                        (column.value[row], below.value[lower as usize], &[])
                    }
                    TallyOf::Distinct(_) => match column.entities.get(&(row as u32)) {
                        Some(enterprises) => (0, 0, enterprises),
                        None => continue,
                    },
                };
                let bucket = bucket_of(half_year);
                for_each_row(
                    project,
                    &dimensions,
                    matcher.branscher.as_deref(),
                    |attributes| {
                        let adding = groups.entry((attributes, bucket)).or_default();
                        adding.sum += i128::from(value);
                        adding.below += i128::from(denominator);
                        if matches!(of, TallyOf::Distinct(_)) {
                            adding.enterprises.extend(enterprises);
                        } else {
                            adding.projects.insert(slot);
                        }
                    },
                );
            }
        }
        groups
            .into_iter()
            .map(|((attributes, bucket), adding)| Tally {
                attributes: self.texts(&attributes, dimensions.len()),
                bucket,
                sum: adding.sum,
                denominator: adding.below,
                distinct: adding.enterprises.len() as u64,
                reporting: adding.projects.len() as u64,
            })
            .filter(|tally| tally.reporting > 0 || tally.distinct > 0)
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
        let matched = self.matched(&matcher);
        let dimensions = project_dimensions(group_by);
        let mut facts = Vec::new();
        for row in self.counted_rows(column, &matcher, &matched, half_years) {
            let project = &self.projects[column.project[row] as usize];
            let entities: Vec<String> = match column.entities.get(&(row as u32)) {
                Some(enterprises) if with_entities => enterprises
                    .iter()
                    .filter_map(|e| self.names.name(*e).map(str::to_string))
                    .collect(),
                _ => Vec::new(),
            };
            for_each_row(
                project,
                &dimensions,
                matcher.branscher.as_deref(),
                |attributes| {
                    facts.push(ValueFact {
                        attributes: self.texts(&attributes, dimensions.len()),
                        project_id: project.id,
                        half_year: half_year_of(column.half_year[row]),
                        value: column.value[row],
                        parts: column.parts.get(&(row as u32)).copied(),
                        entities: entities.clone(),
                    });
                },
            );
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
