//! A catalogue change (an indicator retired with `active: false`, its decimals lowered)
//! leaves what is stored as it was: a stored plan or value may be sent again unchanged, as
//! a resent file or an unchanged `PUT` of its project does, and only a new or changed one
//! is held to the catalogue as it is now. Values never need the decimals rule: decimals
//! cannot be lowered while an indicator has values (`api/indicators.rs`).

use super::Context;
use super::input::SubmissionInput;
use super::records::{PlanRecord, ValueRecord};
use super::stale::figures;
use crate::domain::decimal::{DecimalError, to_scaled_non_negative};
use rust_decimal::Decimal;

/// The stored projects whose plans and values the checks must compare with what is
/// stored: those the submission gives a plan or value of a retired indicator, or a plan
/// figure with more decimals than its indicator now allows. Only these are loaded.
pub(super) fn refs_to_compare(input: &SubmissionInput, context: &Context) -> Vec<String> {
    let retired = |indicator: &str| {
        context
            .indicators
            .get(indicator)
            .is_some_and(|rule| !rule.active)
    };
    let too_fine = |indicator: &str, number: Option<Decimal>| match (
        context.indicators.get(indicator),
        number,
    ) {
        (Some(rule), Some(number)) => matches!(
            to_scaled_non_negative(number, rule.decimals),
            Err(DecimalError::TooManyDecimals { .. })
        ),
        _ => false,
    };
    let plans = input.projects.iter().filter(|project| {
        project.indicators.iter().any(|plan| {
            retired(&plan.indicator)
                || too_fine(&plan.indicator, plan.baseline)
                || too_fine(&plan.indicator, plan.target)
        })
    });
    let values = input
        .values
        .iter()
        .filter(|value| retired(&value.indicator));
    let mut refs: Vec<String> = plans
        .map(|project| &project.project_ref)
        .chain(values.map(|value| &value.project_ref))
        .filter(|project_ref| context.stored_projects.contains_key(*project_ref))
        .cloned()
        .collect();
    refs.sort();
    refs.dedup();
    refs
}

/// The plan stored for the project and indicator, if `refs_to_compare` had it loaded.
pub(super) fn stored_plan<'a>(
    context: &'a Context,
    project_ref: &str,
    indicator: &str,
) -> Option<&'a PlanRecord> {
    context
        .stored
        .projects
        .get(project_ref)?
        .plans
        .iter()
        .find(|plan| plan.indicator == indicator)
}

/// Whether the value's figures are those stored (its comment may change).
pub(super) fn value_is_stored(context: &Context, value: &ValueRecord) -> bool {
    let key = (
        value.project_ref.clone(),
        value.indicator.clone(),
        value.period.clone(),
    );
    context
        .stored
        .values
        .get(&key)
        .is_some_and(|stored| figures(stored) == figures(value))
}
