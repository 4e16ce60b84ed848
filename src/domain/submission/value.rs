//! The checks of one value against its indicator: the rule decides whether it is a number,
//! a list of enterprises or not reported at all, and whether it has parts by sex.

use super::catalogue::value_is_stored;
use super::input::ValueInput;
use super::items::ItemErrors;
use super::records::ValueRecord;
use super::{Context, MAX_COMMENT_CHARS, MAX_ENTITIES};
use crate::domain::decimal::SCALE;
use crate::domain::indicator::Aggregation;
use crate::domain::orgnr;

pub(super) fn check_value(
    value: ValueInput,
    context: &Context,
    item: &mut ItemErrors<'_>,
) -> Option<ValueRecord> {
    let before = item.list.len();
    if let Some(comment) = &value.comment {
        item.text("comment", comment, MAX_COMMENT_CHARS, false);
    }
    let Some(rule) = context.indicators.get(&value.indicator) else {
        item.add(
            "indicator",
            "unknown_indicator",
            format!("no indicator '{}'", value.indicator),
        );
        return None;
    };
    if rule.derived {
        item.add(
            "indicator",
            "derived_indicator",
            "computed from the project's granted_sek or total_budget_sek",
        );
        return None;
    }
    if rule.aggregation == Aggregation::Ratio {
        item.add(
            "indicator",
            "ratio_indicator",
            "report the ratio's numerator and denominator instead",
        );
        return None;
    }
    let (scaled, entities) = if rule.aggregation == Aggregation::Distinct {
        let entities = check_entities(value.entities.as_deref(), item)?;
        let count = i64::try_from(entities.len()).expect("bounded list") * 10_i64.pow(SCALE);
        if let Some(stated) = value.value
            && item.scaled("value", stated, 0) != Some(count)
        {
            item.add(
                "value",
                "count_mismatch",
                "must equal the number of distinct entities",
            );
        }
        (Some(count), entities)
    } else {
        if value.entities.is_some() {
            item.add(
                "entities",
                "not_allowed",
                "only distinct indicators list enterprises",
            );
        }
        match value.value {
            Some(v) => (item.scaled("value", v, rule.decimals), Vec::new()),
            None => {
                item.add(
                    "value",
                    "required",
                    "a value is required; leave the item out if nothing is reported",
                );
                (None, Vec::new())
            }
        }
    };
    let by_sex = match (&value.by_sex, rule.by_sex) {
        (Some(parts), true) => {
            let kvinnor = item.scaled("by_sex.kvinnor", parts.kvinnor, rule.decimals);
            let man = item.scaled("by_sex.man", parts.man, rule.decimals);
            let ej_angivet = item.scaled("by_sex.ej_angivet", parts.ej_angivet, rule.decimals);
            match (kvinnor, man, ej_angivet, scaled) {
                (Some(k), Some(m), Some(e), Some(total)) if k + m + e != total => {
                    item.add(
                        "by_sex",
                        "sum_mismatch",
                        "kvinnor + man + ej_angivet must equal value",
                    );
                    None
                }
                (Some(k), Some(m), Some(e), _) => Some([k, m, e]),
                _ => None,
            }
        }
        (None, true) => {
            item.add(
                "by_sex",
                "required",
                "this indicator is reported by sex (kvinnor, man, ej_angivet)",
            );
            None
        }
        (Some(_), false) => {
            item.add(
                "by_sex",
                "not_allowed",
                "this indicator has no sex breakdown",
            );
            None
        }
        (None, false) => None,
    };
    let record = ValueRecord {
        project_ref: value.project_ref,
        indicator: value.indicator,
        period: value.period,
        value: scaled?,
        by_sex,
        entities,
        comment: value.comment.filter(|c| !c.is_empty()),
    };
    if !rule.active && !value_is_stored(context, &record) {
        item.add(
            "indicator",
            "inactive_indicator",
            "the indicator is no longer in use: a value stored before it was retired may be sent again unchanged, but not created or changed",
        );
    }
    (item.list.len() == before).then_some(record)
}

fn check_entities(entities: Option<&[String]>, item: &mut ItemErrors<'_>) -> Option<Vec<String>> {
    let Some(entities) = entities else {
        item.add(
            "entities",
            "required",
            "list the enterprises' organisationsnummer",
        );
        return None;
    };
    if entities.len() > MAX_ENTITIES {
        item.add(
            "entities",
            "too_many_items",
            format!("at most {MAX_ENTITIES}"),
        );
        return None;
    }
    let mut normalised = Vec::with_capacity(entities.len());
    for (i, entity) in entities.iter().enumerate() {
        match orgnr::normalize(entity) {
            Some(number) => normalised.push(number),
            None => item.add(
                &format!("entities[{i}]"),
                "invalid_orgnr",
                "must be an organisationsnummer: 10 digits (NNNNNN-NNNN allowed) with a valid check digit",
            ),
        }
    }
    normalised.sort();
    normalised.dedup();
    Some(normalised)
}
