//! The matched projects counted per group, with their targets and project fields.

use std::collections::BTreeMap;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text};

use super::{
    AttributeColumns, ProjectField, ProjectFilter, attribute_columns, bransch_join,
    dated_into_accepted, joined_sum, plans_source, project_conditions, projects_source,
    select_attributes, split_sum,
};
use crate::db::DbConnection;
use crate::db::binds::Binds;
use crate::domain::aggregate::facts::Membership;
use crate::domain::aggregate::question::GroupBy;
use crate::domain::period::PeriodId;

#[derive(QueryableByName)]
struct MemberRow {
    #[diesel(embed)]
    keys: AttributeColumns,
    /// Indexes into the buckets asked for; 0 and 0 without periods.
    #[diesel(sql_type = BigInt)]
    first_bucket: i64,
    #[diesel(sql_type = BigInt)]
    last_bucket: i64,
    /// On accepted reports, which buckets: `1` or `0` for each, in order; otherwise NULL.
    #[diesel(sql_type = Nullable<Text>)]
    buckets: Option<String>,
    #[diesel(sql_type = BigInt)]
    projects: i64,
    #[diesel(sql_type = Nullable<Text>)]
    target_high: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    target_low: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    field_high: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    field_low: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    granted_high: Option<String>,
    #[diesel(sql_type = Nullable<Text>)]
    granted_low: Option<String>,
}

/// The matched projects counted per group (each row of the join is one project in one
/// group: project_indicators has one row per project and indicator, project_codes one per
/// project and bransch) of `group_by`'s project attributes, and per period bucket when
/// grouping by period, with their targets for `target_indicator`, the sum of `field` and
/// the kronor granted to them. With an empty `group_by`, the national count. On accepted
/// reports a project counts only in the buckets with a half-year it is dated into whose
/// report of its region is accepted.
pub fn memberships(
    conn: &mut DbConnection,
    filter: &ProjectFilter,
    group_by: &[GroupBy],
    buckets: &[PeriodId],
    target_indicator: &str,
    field: Option<ProjectField>,
) -> QueryResult<Vec<Membership>> {
    let columns = attribute_columns(group_by);
    let by_period = group_by.contains(&GroupBy::Period);
    let (start, end) = filter.active_between;
    let mut binds = Binds::for_connection(conn);
    let accepted = filter.accepted_reports.as_deref();
    // With periods, each project is counted once with the first and the last of the
    // (ordered, adjoining) buckets it is active in, and spread over the buckets between
    // here: one pass over the projects instead of one per bucket.
    let (first_bucket, last_bucket) = if by_period && accepted.is_none() {
        let mut count_of = |condition: &dyn Fn(&mut Binds, &PeriodId) -> String| {
            buckets
                .iter()
                .map(|b| format!("CASE WHEN {} THEN 1 ELSE 0 END", condition(&mut binds, b)))
                .collect::<Vec<_>>()
                .join(" + ")
        };
        let before = count_of(&|binds, b| format!("p.start_date > {}", binds.date(b.end_date())));
        let reached = count_of(&|binds, b| format!("p.end_date >= {}", binds.date(b.start_date())));
        (before, format!("{reached} - 1"))
    } else {
        ("0".to_string(), "0".to_string())
    };
    // On accepted reports a project counts only where a report of its region is accepted,
    // and the buckets it counts in need not adjoin: each is marked `1` or `0`.
    let (marked_buckets, accepted_condition) = match accepted {
        None => ("NULL".to_string(), String::new()),
        Some(accepted) => {
            let marks = if by_period {
                buckets
                    .iter()
                    .map(|bucket| {
                        format!(
                            "CASE WHEN {} THEN '1' ELSE '0' END",
                            dated_into_accepted(accepted, &bucket.half_years(), &mut binds)
                        )
                    })
                    .collect::<Vec<_>>()
                    .join(" || ")
            } else {
                "NULL".to_string()
            };
            let half_years: Vec<PeriodId> = buckets.iter().flat_map(|b| b.half_years()).collect();
            let condition = dated_into_accepted(accepted, &half_years, &mut binds);
            (marks, format!(" AND {condition}"))
        }
    };
    let mut group_columns: Vec<&str> = columns.clone();
    match (by_period, accepted) {
        (false, _) => {}
        (true, None) => group_columns.extend(["first_bucket", "last_bucket"]),
        (true, Some(_)) => group_columns.push("buckets"),
    }
    let sql = format!(
        "SELECT {attributes}, CAST({first_bucket} AS BIGINT) AS first_bucket, \
         CAST({last_bucket} AS BIGINT) AS last_bucket, CAST({marked_buckets} AS TEXT) AS buckets, \
         COUNT(*) AS projects, {target}, {field}, {granted} \
         FROM {projects} p{bransch} \
         LEFT JOIN {plans} i ON i.project_id = p.id AND i.indicator = {indicator} \
         WHERE p.start_date <= {end} AND p.end_date >= {start}{conditions}{group}",
        attributes = select_attributes(&columns),
        target = split_sum("i.target", "target"),
        field = split_sum(field.map_or("0", ProjectField::column), "field"),
        granted = split_sum(ProjectField::GrantedSek.column(), "granted"),
        projects = projects_source(filter, &mut binds),
        plans = plans_source(filter, &mut binds),
        bransch = bransch_join(group_by, filter, &mut binds),
        indicator = binds.text(target_indicator),
        end = binds.date(end),
        start = binds.date(start),
        conditions = project_conditions(filter, &mut binds) + &accepted_condition,
        group = if group_columns.is_empty() {
            String::new()
        } else {
            format!(" GROUP BY {}", group_columns.join(", "))
        },
    );
    let rows: Vec<MemberRow> = binds.load(conn, sql)?;
    let rows = rows
        .into_iter()
        .filter(|row| row.projects > 0 || columns.is_empty());
    if !by_period {
        return rows
            .map(|row| {
                Ok(Membership {
                    attributes: row.keys.take(columns.len()),
                    bucket: None,
                    projects: row.projects as u64,
                    target: joined_sum(row.target_high, row.target_low)?,
                    field: joined_sum(row.field_high, row.field_low)?.unwrap_or(0),
                    granted: joined_sum(row.granted_high, row.granted_low)?.unwrap_or(0),
                })
            })
            .collect();
    }
    let mut spread: BTreeMap<(Vec<Option<String>>, usize), Membership> = BTreeMap::new();
    for row in rows {
        let attributes = row.keys.take(columns.len());
        let target = joined_sum(row.target_high, row.target_low)?;
        let field = joined_sum(row.field_high, row.field_low)?.unwrap_or(0);
        let granted = joined_sum(row.granted_high, row.granted_low)?.unwrap_or(0);
        let counted_in: Vec<usize> = match &row.buckets {
            Some(marks) => marks.match_indices('1').map(|(index, _)| index).collect(),
            None => match (
                usize::try_from(row.first_bucket),
                usize::try_from(row.last_bucket),
            ) {
                (Ok(first), Ok(last)) => (first..=last).collect(),
                _ => Vec::new(),
            },
        };
        for (index, bucket) in counted_in
            .into_iter()
            .filter_map(|index| Some((index, buckets.get(index)?)))
        {
            let membership = spread
                .entry((attributes.clone(), index))
                .or_insert_with(|| Membership {
                    attributes: attributes.clone(),
                    bucket: Some(*bucket),
                    projects: 0,
                    target: None,
                    field: 0,
                    granted: 0,
                });
            membership.projects += row.projects as u64;
            membership.target = match (membership.target, target) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
            membership.field += field;
            membership.granted += granted;
        }
    }
    Ok(spread.into_values().collect())
}
