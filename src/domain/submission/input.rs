//! The submission as a region sends it. Every reader of a submission (the JSON body, the
//! demo generator) builds these, and `check` turns them into records.

use chrono::NaiveDate;
use rust_decimal::Decimal;
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use super::{MAX_CODES, MAX_ENTITIES, MAX_NARRATIVES, MAX_PLANS, MAX_PROJECTS, MAX_VALUES};
use crate::domain::decimal::exact;

/// One project with its full classification and indicator plans.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProjectInput {
    /// The region's own identifier of the project: 1 to 64 printable characters, no `/`.
    #[serde(rename = "ref")]
    #[schema(example = "20201234")]
    pub project_ref: String,
    pub title: String,
    pub organisation: String,
    /// A `status` code.
    #[schema(example = "pagaende")]
    pub status: String,
    /// A `project_type` code.
    #[schema(example = "projekt")]
    pub project_type: String,
    #[schema(example = "innovation_foretagande")]
    pub sakomrade: String,
    /// Must belong to the sakomrade.
    #[serde(default)]
    pub fokusomrade: Option<String>,
    #[schema(example = "varor_tjanster_direkt")]
    pub effektkedja: String,
    #[serde(default, deserialize_with = "at_most::<MAX_CODES, _, _>")]
    pub branscher: Vec<String>,
    #[serde(default, deserialize_with = "at_most::<MAX_CODES, _, _>")]
    pub verktyg: Vec<String>,
    #[serde(default, deserialize_with = "at_most::<MAX_CODES, _, _>")]
    pub syften: Vec<String>,
    pub start_date: NaiveDate,
    pub end_date: NaiveDate,
    /// Granted 1:1 funds in whole SEK.
    pub granted_sek: i64,
    /// Total budget including co-financing in whole SEK; at least `granted_sek`.
    pub total_budget_sek: i64,
    #[serde(default, deserialize_with = "at_most::<MAX_PLANS, _, _>")]
    pub indicators: Vec<PlanInput>,
}

/// A project's plan for one indicator.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PlanInput {
    #[schema(example = "RCO01")]
    pub indicator: String,
    /// Utgångsvärde.
    #[serde(default, deserialize_with = "exact::option::deserialize")]
    pub baseline: Option<Decimal>,
    #[serde(default)]
    pub baseline_year: Option<i64>,
    /// Målvärde.
    #[serde(default, deserialize_with = "exact::option::deserialize")]
    pub target: Option<Decimal>,
    /// Målformulering.
    #[serde(default)]
    pub goal: Option<String>,
    /// Källa: where the figures come from.
    #[serde(default)]
    pub source: Option<String>,
}

/// An actual value of one project, indicator and half-year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ValueInput {
    pub project_ref: String,
    pub indicator: String,
    #[schema(example = "2026H1")]
    pub period: String,
    /// The value, with at most the indicator's decimals. For a distinct indicator it may be
    /// left out: it is the number of distinct `entities`.
    #[serde(default, deserialize_with = "exact::option::deserialize")]
    pub value: Option<Decimal>,
    /// For a distinct indicator: the enterprises' organisationsnummer.
    #[serde(default, deserialize_with = "at_most_if_any::<MAX_ENTITIES, _, _>")]
    pub entities: Option<Vec<String>>,
    /// For an indicator with `by_sex`: the parts, which add up to `value`.
    #[serde(default)]
    pub by_sex: Option<BySexInput>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BySexInput {
    #[serde(deserialize_with = "exact::deserialize")]
    pub kvinnor: Decimal,
    #[serde(deserialize_with = "exact::deserialize")]
    pub man: Decimal,
    #[serde(deserialize_with = "exact::deserialize")]
    pub ej_angivet: Decimal,
}

/// The qualitative part of one project and half-year.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NarrativeInput {
    pub project_ref: String,
    #[schema(example = "2026H1")]
    pub period: String,
    #[serde(default)]
    pub progress: String,
    #[serde(default)]
    pub lessons: String,
    #[serde(default)]
    pub deviations: String,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SubmissionInput {
    #[serde(default, deserialize_with = "at_most::<MAX_PROJECTS, _, _>")]
    pub projects: Vec<ProjectInput>,
    #[serde(default, deserialize_with = "at_most::<MAX_VALUES, _, _>")]
    pub values: Vec<ValueInput>,
    #[serde(default, deserialize_with = "at_most::<MAX_NARRATIVES, _, _>")]
    pub narratives: Vec<NarrativeInput>,
    /// Set by a reader whose file has no place for comments (a CSV without `kommentar`):
    /// each value keeps the comment stored with it instead of losing it.
    #[serde(skip)]
    pub keeps_stored_comments: bool,
}

/// Reads a list keeping at most `MAX` + 1 of its items: one more than allowed is enough
/// for the checks to refuse the list (`too_many_items`), and the rest are read past without
/// being built, so that a body of a million small items costs what the limit does.
fn at_most<'de, const MAX: usize, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Vec<T>, D::Error> {
    AtMost::<MAX, T>::deserialize(deserializer).map(|list| list.0)
}

/// `at_most` for a list that may be left out or null.
fn at_most_if_any<'de, const MAX: usize, D: Deserializer<'de>, T: Deserialize<'de>>(
    deserializer: D,
) -> Result<Option<Vec<T>>, D::Error> {
    Option::<AtMost<MAX, T>>::deserialize(deserializer).map(|list| list.map(|list| list.0))
}

/// A list read by `at_most`.
struct AtMost<const MAX: usize, T>(Vec<T>);

impl<'de, const MAX: usize, T: Deserialize<'de>> Deserialize<'de> for AtMost<MAX, T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Items<const MAX: usize, T>(std::marker::PhantomData<T>);

        impl<'de, const MAX: usize, T: Deserialize<'de>> Visitor<'de> for Items<MAX, T> {
            type Value = AtMost<MAX, T>;

            fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
                formatter.write_str("a list")
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<Self::Value, A::Error> {
                let mut kept = Vec::new();
                while kept.len() <= MAX {
                    match items.next_element()? {
                        Some(item) => kept.push(item),
                        None => return Ok(AtMost(kept)),
                    }
                }
                while items.next_element::<IgnoredAny>()?.is_some() {}
                Ok(AtMost(kept))
            }
        }

        deserializer.deserialize_seq(Items::<MAX, T>(std::marker::PhantomData))
    }
}
