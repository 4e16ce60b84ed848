//! Indicator definitions and the rules they must follow.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::codes::is_indicator_code_shaped;
use super::decimal::SCALE;
use super::validation::{Errors, check_text};

/// How an indicator's values combine over projects and half-years (see `domain.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Aggregation {
    Sum,
    Latest,
    Ratio,
    Distinct,
}

impl Aggregation {
    pub const ALL: [Aggregation; 4] = [
        Aggregation::Sum,
        Aggregation::Latest,
        Aggregation::Ratio,
        Aggregation::Distinct,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Aggregation::Sum => "sum",
            Aggregation::Latest => "latest",
            Aggregation::Ratio => "ratio",
            Aggregation::Distinct => "distinct",
        }
    }

    pub fn parse(text: &str) -> Option<Aggregation> {
        Aggregation::ALL.into_iter().find(|a| a.as_str() == text)
    }
}

/// Project fields that some indicators (NAT-R01, NAT-R02) are computed from instead of
/// being reported as values.
pub const PROJECT_FIELDS: [&str; 2] = ["granted_sek", "total_budget_sek"];

/// An indicator as an admin defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndicatorDefinition {
    pub code: String,
    pub name_sv: String,
    pub name_en: String,
    pub unit: String,
    pub level: String,
    pub aggregation: Aggregation,
    pub numerator: Option<String>,
    pub denominator: Option<String>,
    pub by_sex: bool,
    pub decimals: i64,
    pub derived_from: Option<String>,
    pub required_for: Vec<String>,
    pub active: bool,
}

/// What a definition is checked against: the codes and indicators that exist.
pub struct KnownCodes<'a> {
    pub levels: &'a HashSet<String>,
    pub effektkedjor: &'a HashSet<String>,
    /// Existing indicators with their aggregation.
    pub indicators: &'a [(String, String)],
}

pub const MAX_NAME_CHARS: usize = 300;
pub const MAX_UNIT_CHARS: usize = 50;

impl IndicatorDefinition {
    /// Every rule a definition breaks, as field errors.
    pub fn check(&self, known: &KnownCodes<'_>) -> Errors {
        let mut errors = Errors::new();
        if !is_indicator_code_shaped(&self.code) {
            errors.add(
                "code",
                "invalid_code",
                "must be 1 to 32 uppercase letters, digits, '-' or '_', starting with a letter",
            );
        }
        check_text(&mut errors, "name_sv", &self.name_sv, MAX_NAME_CHARS);
        check_text(&mut errors, "name_en", &self.name_en, MAX_NAME_CHARS);
        check_text(&mut errors, "unit", &self.unit, MAX_UNIT_CHARS);
        if !known.levels.contains(&self.level) {
            errors.add(
                "level",
                "unknown_code",
                format!("unknown level '{}'", self.level),
            );
        }
        if !(0..=i64::from(SCALE)).contains(&self.decimals) {
            errors.add("decimals", "out_of_range", format!("must be 0 to {SCALE}"));
        }
        for (i, effektkedja) in self.required_for.iter().enumerate() {
            if !known.effektkedjor.contains(effektkedja) {
                errors.add(
                    format!("required_for[{i}]"),
                    "unknown_code",
                    format!("unknown effektkedja '{effektkedja}'"),
                );
            }
        }
        self.check_aggregation(known, &mut errors);
        errors
    }

    fn check_aggregation(&self, known: &KnownCodes<'_>, errors: &mut Errors) {
        let aggregation = self.aggregation;
        if aggregation == Aggregation::Ratio {
            self.check_ratio_part(errors, "numerator", self.numerator.as_deref(), known);
            self.check_ratio_part(errors, "denominator", self.denominator.as_deref(), known);
            if self.by_sex {
                errors.add(
                    "by_sex",
                    "not_allowed",
                    "a ratio is computed from its parts",
                );
            }
        } else {
            for (field, part) in [
                ("numerator", &self.numerator),
                ("denominator", &self.denominator),
            ] {
                if part.is_some() {
                    errors.add(
                        field,
                        "not_allowed",
                        "only a ratio indicator has a numerator and a denominator",
                    );
                }
            }
        }
        if aggregation == Aggregation::Distinct {
            if self.by_sex {
                errors.add(
                    "by_sex",
                    "not_allowed",
                    "a distinct count of enterprises has no sex breakdown",
                );
            }
            if self.decimals != 0 {
                errors.add(
                    "decimals",
                    "not_allowed",
                    "a distinct count has no decimals",
                );
            }
        }
        if let Some(field) = &self.derived_from {
            if !PROJECT_FIELDS.contains(&field.as_str()) {
                errors.add(
                    "derived_from",
                    "unknown_code",
                    "must be granted_sek or total_budget_sek",
                );
            }
            if aggregation != Aggregation::Sum || self.by_sex || self.decimals != 0 {
                errors.add(
                    "derived_from",
                    "not_allowed",
                    "an indicator computed from a project field is a whole-SEK sum without sex breakdown",
                );
            }
        }
    }

    fn check_ratio_part(
        &self,
        errors: &mut Errors,
        field: &str,
        part: Option<&str>,
        known: &KnownCodes<'_>,
    ) {
        let Some(part) = part else {
            errors.add(
                field,
                "required",
                "a ratio indicator names its numerator and denominator",
            );
            return;
        };
        if part == self.code {
            errors.add(field, "invalid_reference", "a ratio cannot refer to itself");
            return;
        }
        match known.indicators.iter().find(|(code, _)| code == part) {
            None => errors.add(field, "unknown_indicator", format!("no indicator '{part}'")),
            Some((_, aggregation)) if aggregation != Aggregation::Sum.as_str() => errors.add(
                field,
                "invalid_reference",
                format!("'{part}' must be a sum indicator, it is '{aggregation}'"),
            ),
            Some(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn definition() -> IndicatorDefinition {
        IndicatorDefinition {
            code: "NAT-X01".into(),
            name_sv: "Andel".into(),
            name_en: "Share".into(),
            unit: "procent".into(),
            level: "utfall".into(),
            aggregation: Aggregation::Ratio,
            numerator: Some("NAT-U01N".into()),
            denominator: Some("NAT-A01".into()),
            by_sex: false,
            decimals: 1,
            derived_from: None,
            required_for: vec!["kunskap_strategier".into()],
            active: true,
        }
    }

    fn codes_of(errors: Errors) -> Vec<(String, String)> {
        match errors.into_result() {
            Ok(()) => vec![],
            Err(list) => list.into_iter().map(|e| (e.field, e.code)).collect(),
        }
    }

    fn check(def: &IndicatorDefinition) -> Vec<(String, String)> {
        let levels = HashSet::from(["utfall".to_string()]);
        let effektkedjor = HashSet::from(["kunskap_strategier".to_string()]);
        let indicators = vec![
            ("NAT-U01N".to_string(), "sum".to_string()),
            ("NAT-A01".to_string(), "sum".to_string()),
            ("RCO01".to_string(), "distinct".to_string()),
        ];
        codes_of(def.check(&KnownCodes {
            levels: &levels,
            effektkedjor: &effektkedjor,
            indicators: &indicators,
        }))
    }

    fn pair(field: &str, code: &str) -> (String, String) {
        (field.to_string(), code.to_string())
    }

    #[test]
    fn a_valid_ratio_passes() {
        assert_eq!(check(&definition()), vec![]);
    }

    #[test]
    fn ratio_parts_must_exist_and_be_sums() {
        let mut def = definition();
        def.denominator = Some("NAT-NOPE".into());
        assert_eq!(check(&def), vec![pair("denominator", "unknown_indicator")]);
        def.denominator = None;
        assert_eq!(check(&def), vec![pair("denominator", "required")]);
        def.denominator = Some("RCO01".into());
        assert_eq!(check(&def), vec![pair("denominator", "invalid_reference")]);
    }

    #[test]
    fn other_rules() {
        let mut def = definition();
        def.code = "nat x".into();
        def.level = "nowhere".into();
        def.decimals = 7;
        def.required_for = vec!["nope".into()];
        assert_eq!(
            check(&def),
            vec![
                pair("code", "invalid_code"),
                pair("level", "unknown_code"),
                pair("decimals", "out_of_range"),
                pair("required_for[0]", "unknown_code"),
            ]
        );
    }

    #[test]
    fn distinct_has_no_sex_or_decimals() {
        let mut def = definition();
        def.aggregation = Aggregation::Distinct;
        def.numerator = None;
        def.denominator = None;
        def.by_sex = true;
        assert_eq!(
            check(&def),
            vec![
                pair("by_sex", "not_allowed"),
                pair("decimals", "not_allowed")
            ]
        );
    }
}
