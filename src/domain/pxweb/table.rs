//! One PxWeb table per indicator, built from the published snapshots: each half-year from
//! the newest published snapshot holding it.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use rust_decimal::Decimal;

/// The languages the tables are labelled in; Swedish is the default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Language {
    Sv,
    En,
}

impl Language {
    pub const ALL: [Language; 2] = [Language::Sv, Language::En];

    /// `sv` or `en`, in any case.
    pub fn parse(text: &str) -> Option<Language> {
        Language::ALL
            .into_iter()
            .find(|language| language.code().eq_ignore_ascii_case(text))
    }

    pub fn code(self) -> &'static str {
        match self {
            Language::Sv => "sv",
            Language::En => "en",
        }
    }

    /// The language's name in itself.
    pub fn name(self) -> &'static str {
        match self {
            Language::Sv => "Svenska",
            Language::En => "English",
        }
    }
}

/// A text in both languages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Text {
    pub sv: String,
    pub en: String,
}

impl Text {
    pub fn new(sv: impl Into<String>, en: impl Into<String>) -> Text {
        Text {
            sv: sv.into(),
            en: en.into(),
        }
    }

    pub fn get(&self, language: Language) -> &str {
        match language {
            Language::Sv => &self.sv,
            Language::En => &self.en,
        }
    }
}

/// What a variable is, as JSON-stat's `role` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Geo,
    Time,
    Metric,
    Other,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Category {
    pub code: String,
    pub label: Text,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variable {
    pub code: &'static str,
    pub label: Text,
    pub role: Role,
    pub categories: Vec<Category>,
    /// The category a selection that leaves the variable out takes (the total); `None`: the
    /// variable must be selected.
    pub elimination: Option<&'static str>,
}

impl Variable {
    pub fn codes(&self) -> Vec<&str> {
        self.categories.iter().map(|c| c.code.as_str()).collect()
    }

    pub fn index_of(&self, code: &str) -> Option<usize> {
        self.categories.iter().position(|c| c.code == code)
    }
}

pub const REGION: &str = "Region";
pub const SEX: &str = "Kon";
pub const CONTENTS: &str = "ContentsCode";
pub const TIME: &str = "Tid";

/// The national figure's region code, as SCB codes Riket.
pub const NATION: &str = "00";
/// The sex category of the figure over everyone.
pub const ALL_SEXES: &str = "totalt";

/// The contents of every table: the figure, the sum of targets, the projects and those
/// that reported. `(code, Swedish, English)`.
const CONTENTS_CODES: [(&str, &str, &str); 4] = [
    ("value", "Värde", "Value"),
    ("target", "Målvärde", "Target"),
    ("projects", "Projekt", "Projects"),
    (
        "reporting_projects",
        "Rapporterande projekt",
        "Reporting projects",
    ),
];

/// The parts of a by-sex figure (`domain::aggregate::question::SEXES`) with their labels.
const SEXES: [(&str, &str, &str); 3] = [
    ("kvinnor", "kvinnor", "women"),
    ("man", "män", "men"),
    ("ej_angivet", "ej angivet", "not stated"),
];

/// The published snapshot a half-year's figures come from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Source {
    pub half_year: String,
    pub snapshot_id: String,
    pub label: String,
    pub as_of: DateTime<Utc>,
    pub sha256: String,
    pub published_at: DateTime<Utc>,
}

/// An indicator as the catalogue described it when a snapshot was made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Indicator {
    pub code: String,
    pub name: Text,
    pub unit: String,
    pub decimals: i64,
}

/// One group's figures in a snapshot: a region (`NATION` for the national figure) and a
/// sex (`None` over everyone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Figure {
    pub region: String,
    pub sex: Option<String>,
    pub value: Option<Decimal>,
    pub target: Option<Decimal>,
    pub projects: u64,
    pub reporting_projects: u64,
}

impl Figure {
    fn content(&self, code: &str) -> Option<Decimal> {
        match code {
            "value" => self.value,
            "target" => self.target,
            "projects" => Some(Decimal::from(self.projects)),
            "reporting_projects" => Some(Decimal::from(self.reporting_projects)),
            _ => None,
        }
    }
}

/// What one published snapshot says of one indicator.
#[derive(Debug, Clone)]
pub struct IndicatorFigures {
    pub indicator: Indicator,
    /// Whether the snapshot split it by sex.
    pub by_sex: bool,
    pub figures: Vec<Figure>,
}

/// One published half-year: its source and the figures of every indicator in it.
#[derive(Debug, Clone)]
pub struct PublishedHalfYear {
    pub source: Source,
    pub indicators: Vec<IndicatorFigures>,
}

/// Keeps, of the published snapshots of single half-years given oldest first, the newest
/// for each half-year, in half-year order (`2025H1` sorts before `2025H2` and `2026H1`).
pub fn newest_per_half_year(published: Vec<PublishedHalfYear>) -> Vec<PublishedHalfYear> {
    let mut newest: BTreeMap<String, PublishedHalfYear> = BTreeMap::new();
    for half_year in published {
        newest.insert(half_year.source.half_year.clone(), half_year);
    }
    newest.into_values().collect()
}

/// An indicator's table.
#[derive(Debug, Clone)]
pub struct Table {
    pub id: String,
    pub indicator: Indicator,
    /// Region, sex (for indicators split by sex), contents, half-year.
    pub variables: Vec<Variable>,
    /// The source of each half-year, in the order of the time variable.
    pub sources: Vec<Source>,
    /// (region, sex, half-year) → figure; sex `ALL_SEXES` over everyone.
    figures: HashMap<(String, String, String), Figure>,
}

impl Table {
    pub fn label(&self, language: Language) -> String {
        let by = match (language, self.has_sex()) {
            (Language::Sv, true) => "efter region, kön och halvår",
            (Language::Sv, false) => "efter region och halvår",
            (Language::En, true) => "by region, sex and half-year",
            (Language::En, false) => "by region and half-year",
        };
        format!("{} {by}", self.indicator.name.get(language))
    }

    pub fn has_sex(&self) -> bool {
        self.variables.iter().any(|v| v.code == SEX)
    }

    pub fn variable(&self, code: &str) -> Option<&Variable> {
        self.variables.iter().find(|v| v.code == code)
    }

    pub fn first_period(&self) -> &str {
        &self
            .sources
            .first()
            .expect("a table has a half-year")
            .half_year
    }

    pub fn last_period(&self) -> &str {
        &self
            .sources
            .last()
            .expect("a table has a half-year")
            .half_year
    }

    /// When the newest of its half-years was published.
    pub fn updated(&self) -> DateTime<Utc> {
        self.sources
            .iter()
            .map(|s| s.published_at)
            .max()
            .expect("a table has a half-year")
    }

    /// The figure at one category of every variable (indices into each variable's
    /// categories, in the order of `variables`); `None` where nothing is published.
    pub fn value(&self, coordinate: &[usize]) -> Option<Decimal> {
        let code = |name: &str| {
            let i = self.variables.iter().position(|v| v.code == name)?;
            Some(self.variables[i].categories[coordinate[i]].code.clone())
        };
        let sex = code(SEX).unwrap_or_else(|| ALL_SEXES.to_string());
        let key = (code(REGION)?, sex, code(TIME)?);
        self.figures.get(&key)?.content(&code(CONTENTS)?)
    }
}

/// One table per indicator in the published half-years (given in half-year order, one
/// each), labelled as the newest snapshot holding the indicator describes it. `regions`:
/// the 21 län with their names.
pub fn tables(half_years: &[PublishedHalfYear], regions: &[(String, String)]) -> Vec<Table> {
    let mut codes: Vec<&str> = half_years
        .iter()
        .flat_map(|h| h.indicators.iter().map(|i| i.indicator.code.as_str()))
        .collect();
    codes.sort_unstable();
    codes.dedup();
    codes
        .into_iter()
        .map(|code| table(code, half_years, regions))
        .collect()
}

fn table(code: &str, half_years: &[PublishedHalfYear], regions: &[(String, String)]) -> Table {
    let held: Vec<(&Source, &IndicatorFigures)> = half_years
        .iter()
        .filter_map(|h| {
            h.indicators
                .iter()
                .find(|i| i.indicator.code == code)
                .map(|i| (&h.source, i))
        })
        .collect();
    let (_, newest) = held.last().expect("the indicator is in a half-year");
    let by_sex = held.iter().any(|(_, i)| i.by_sex);
    let mut region_categories = vec![Category {
        code: NATION.into(),
        label: Text::new("Riket", "Sweden"),
    }];
    region_categories.extend(regions.iter().map(|(code, name)| Category {
        code: code.clone(),
        label: Text::new(name.clone(), name.clone()),
    }));
    let mut variables = vec![Variable {
        code: REGION,
        label: Text::new("region", "region"),
        role: Role::Geo,
        categories: region_categories,
        elimination: Some(NATION),
    }];
    if by_sex {
        let mut sexes = vec![Category {
            code: ALL_SEXES.into(),
            label: Text::new("totalt", "total"),
        }];
        sexes.extend(SEXES.iter().map(|(code, sv, en)| Category {
            code: code.to_string(),
            label: Text::new(*sv, *en),
        }));
        variables.push(Variable {
            code: SEX,
            label: Text::new("kön", "sex"),
            role: Role::Other,
            categories: sexes,
            elimination: Some(ALL_SEXES),
        });
    }
    variables.push(Variable {
        code: CONTENTS,
        label: Text::new("tabellinnehåll", "contents"),
        role: Role::Metric,
        categories: CONTENTS_CODES
            .iter()
            .map(|(code, sv, en)| Category {
                code: code.to_string(),
                label: Text::new(*sv, *en),
            })
            .collect(),
        elimination: None,
    });
    variables.push(Variable {
        code: TIME,
        label: Text::new("halvår", "half-year"),
        role: Role::Time,
        categories: held
            .iter()
            .map(|(source, _)| Category {
                code: source.half_year.clone(),
                label: Text::new(source.half_year.clone(), source.half_year.clone()),
            })
            .collect(),
        elimination: None,
    });
    let mut figures = HashMap::new();
    for (source, indicator) in &held {
        for figure in &indicator.figures {
            let sex = figure.sex.clone().unwrap_or_else(|| ALL_SEXES.to_string());
            let key = (figure.region.clone(), sex, source.half_year.clone());
            figures.insert(key, figure.clone());
        }
    }
    Table {
        id: code.to_string(),
        indicator: newest.indicator.clone(),
        variables,
        sources: held.iter().map(|(source, _)| (*source).clone()).collect(),
        figures,
    }
}

#[cfg(test)]
pub mod tests {
    use super::*;

    pub fn source(half_year: &str, day: u32) -> Source {
        let at = DateTime::parse_from_rfc3339(&format!("2027-04-{day:02}T00:00:00Z"))
            .unwrap()
            .with_timezone(&Utc);
        Source {
            half_year: half_year.into(),
            snapshot_id: format!("s-{half_year}-{day}"),
            label: format!("Snapshot {day}"),
            as_of: at,
            sha256: "0".repeat(64),
            published_at: at,
        }
    }

    pub fn figure(region: &str, sex: Option<&str>, value: i64) -> Figure {
        Figure {
            region: region.into(),
            sex: sex.map(String::from),
            value: Some(Decimal::from(value)),
            target: sex.is_none().then(|| Decimal::from(value * 10)),
            projects: 3,
            reporting_projects: 2,
        }
    }

    pub fn indicator(code: &str, by_sex: bool, figures: Vec<Figure>) -> IndicatorFigures {
        IndicatorFigures {
            indicator: Indicator {
                code: code.into(),
                name: Text::new(format!("{code} sv"), format!("{code} en")),
                unit: "antal".into(),
                decimals: 0,
            },
            by_sex,
            figures,
        }
    }

    pub fn regions() -> Vec<(String, String)> {
        vec![
            ("01".into(), "Stockholm".into()),
            ("07".into(), "Kronoberg".into()),
        ]
    }

    pub fn published() -> Vec<PublishedHalfYear> {
        vec![
            PublishedHalfYear {
                source: source("2026H1", 1),
                indicators: vec![indicator("A", false, vec![figure("07", None, 1)])],
            },
            PublishedHalfYear {
                source: source("2025H2", 2),
                indicators: vec![
                    indicator("A", false, vec![figure("00", None, 5)]),
                    indicator(
                        "B",
                        true,
                        vec![figure("00", None, 7), figure("07", Some("kvinnor"), 4)],
                    ),
                ],
            },
            // A correction of 2026H1, published later.
            PublishedHalfYear {
                source: source("2026H1", 3),
                indicators: vec![indicator("A", false, vec![figure("07", None, 2)])],
            },
        ]
    }

    #[test]
    fn each_half_year_comes_from_its_newest_snapshot_in_order() {
        let half_years = newest_per_half_year(published());
        let kept: Vec<(&str, &str)> = half_years
            .iter()
            .map(|h| (h.source.half_year.as_str(), h.source.snapshot_id.as_str()))
            .collect();
        assert_eq!(kept, [("2025H2", "s-2025H2-2"), ("2026H1", "s-2026H1-3")]);
    }

    #[test]
    fn one_table_per_indicator_with_its_variables_and_figures() {
        let tables = tables(&newest_per_half_year(published()), &regions());
        assert_eq!(tables.len(), 2);
        let a = &tables[0];
        let names: Vec<&str> = a.variables.iter().map(|v| v.code).collect();
        assert_eq!(names, [REGION, CONTENTS, TIME]);
        assert_eq!(a.variable(REGION).unwrap().codes(), ["00", "01", "07"]);
        assert_eq!(a.variable(TIME).unwrap().codes(), ["2025H2", "2026H1"]);
        assert_eq!((a.first_period(), a.last_period()), ("2025H2", "2026H1"));
        // Kronoberg, value, 2026H1: the correction's figure.
        assert_eq!(a.value(&[2, 0, 1]), Some(Decimal::from(2)));
        assert_eq!(a.value(&[2, 1, 1]), Some(Decimal::from(20)));
        assert_eq!(a.value(&[2, 2, 1]), Some(Decimal::from(3)));
        // Nothing published for Stockholm.
        assert_eq!(a.value(&[1, 0, 1]), None);
        assert_eq!(a.label(Language::En), "A en by region and half-year");

        let b = &tables[1];
        assert_eq!(
            b.variable(SEX).unwrap().codes(),
            ["totalt", "kvinnor", "man", "ej_angivet"]
        );
        assert_eq!(b.variable(TIME).unwrap().codes(), ["2025H2"]);
        assert_eq!(b.value(&[0, 0, 0, 0]), Some(Decimal::from(7)));
        assert_eq!(b.value(&[2, 1, 0, 0]), Some(Decimal::from(4)));
        // No target by sex.
        assert_eq!(b.value(&[2, 1, 1, 0]), None);
        assert_eq!(b.label(Language::Sv), "B sv efter region, kön och halvår");
    }

    #[test]
    fn languages_are_matched_without_case() {
        assert_eq!(Language::parse("SV"), Some(Language::Sv));
        assert_eq!(Language::parse("en"), Some(Language::En));
        assert_eq!(Language::parse("fi"), None);
    }
}
