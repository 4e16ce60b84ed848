//! A realistic synthetic national portfolio, deterministic for a seed: all 21 regions
//! (larger regions more projects), every code list used, indicator plans with baselines and
//! targets, values per half-year following each indicator's rule, sex breakdowns, shared
//! enterprises across projects and regions, some missing reports, Swedish narratives.

use std::collections::BTreeMap;

use chrono::{Datelike, NaiveDate};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rust_decimal::Decimal;

use crate::domain::codes::REGIONS;
use crate::domain::orgnr;
use crate::domain::period::PeriodId;
use crate::domain::submission::input::{
    BySexInput, NarrativeInput, PlanInput, ProjectInput, SubmissionInput, ValueInput,
};
use crate::domain::submission::{MAX_NARRATIVES, MAX_PROJECTS, MAX_VALUES};

/// Each region's submission, by län code.
pub type Portfolio = BTreeMap<String, SubmissionInput>;

/// Roughly each region's share of the population, in per mille; larger regions run more
/// projects.
const REGION_WEIGHTS: [(&str, u32); 21] = [
    ("01", 240),
    ("03", 38),
    ("04", 29),
    ("05", 45),
    ("06", 35),
    ("07", 20),
    ("08", 23),
    ("09", 6),
    ("10", 15),
    ("12", 135),
    ("13", 33),
    ("14", 168),
    ("17", 27),
    ("18", 30),
    ("19", 27),
    ("20", 28),
    ("21", 28),
    ("22", 24),
    ("23", 13),
    ("24", 26),
    ("25", 24),
];

const PROJECT_TYPES: [(&str, u32); 5] = [
    ("projekt", 60),
    ("forstudie", 15),
    ("samverkansprojekt", 12),
    ("ramprojekt", 8),
    ("finansieringsinstrument", 5),
];
const SAKOMRADEN: [(&str, &[&str], u32); 5] = [
    (
        "innovation_foretagande",
        &[
            "innovation",
            "foretagande",
            "miljodriven_naringslivsutveckling",
        ],
        45,
    ),
    (
        "attraktiva_miljoer",
        &[
            "transportsystem",
            "fysisk_planering_boende",
            "informationsteknik",
            "kommersiell_offentlig_service",
            "kultur_fritid",
        ],
        25,
    ),
    ("kompetensforsorjning", &[], 15),
    (
        "internationellt_samarbete",
        &["internationellt_samarbete", "naromradet"],
        10,
    ),
    ("ovrigt", &[], 5),
];
const EFFEKTKEDJOR: [(&str, u32); 4] = [
    ("varor_tjanster_direkt", 40),
    ("varor_tjanster_indirekt", 25),
    ("kunskap_strategier", 25),
    ("infrastruktur", 10),
];
const BRANSCHER: [&str; 8] = [
    "kkn",
    "besoksnaring",
    "halsa_vard_omsorg",
    "livsmedel",
    "energi_miljo",
    "tillverkning",
    "ikt",
    "life_science",
];
const VERKTYG: [&str; 9] = [
    "miljoforbattringar",
    "bredband",
    "test_demomiljo",
    "uppfoljning_utvardering",
    "analyser_kartlaggningar",
    "strategier_handlingsplaner",
    "radgivning",
    "coachning",
    "informationsinsatser_smf",
];
const SYFTEN: [&str; 8] = [
    "exportframjande",
    "destinationsutveckling",
    "smart_specialisering",
    "digitalisering",
    "affarsutveckling",
    "nya_foretag",
    "tillvaxt_befintliga_foretag",
    "forenkling",
];
/// What each effektkedja must report (the seeded mapping).
const REQUIRED: [(&str, &[&str]); 4] = [
    ("infrastruktur", &["RCR02", "RCO84"]),
    ("kunskap_strategier", &["RCO83"]),
    ("varor_tjanster_indirekt", &["RCO04", "NAT-A01"]),
    ("varor_tjanster_direkt", &["RCO01", "RCR01"]),
];
const EXTRA: [&str; 11] = [
    "NAT-U01N", "RCR98", "NAT-E01", "RCR17", "RCO02", "RCO05", "RCR03", "RCO83", "RCO84", "RCR02",
    "RCR01",
];
const TOPICS: [&str; 8] = [
    "besöksnäringen",
    "exportmognad hos småföretag",
    "digital kompetens",
    "cirkulära affärsmodeller",
    "kompetensförsörjning inom vården",
    "livsmedelsförädling",
    "testbäddar för industrin",
    "bredband på landsbygden",
];
const PLACES: [&str; 8] = [
    "inlandet",
    "kustkommunerna",
    "länets tätorter",
    "gränsregionen",
    "skärgården",
    "fjällvärlden",
    "bruksorterna",
    "residensstaden",
];
const PROGRESS: [&str; 5] = [
    "Aktiviteterna följer planen och deltagarna är nöjda.",
    "Fler företag än väntat har anmält intresse.",
    "Samverkan med kommunerna har fördjupats under perioden.",
    "Två workshoppar och en studieresa har genomförts.",
    "Rekryteringen av deltagare har gått långsammare än planerat.",
];
const LESSONS: [&str; 5] = [
    "Tidig dialog med näringslivet ger bättre förankring.",
    "Digitala träffar når fler men fördjupar mindre.",
    "Små företag behöver stöd i ansökningsskedet.",
    "Tydliga mål gör uppföljningen enklare.",
    "Lokala ambassadörer öppnar dörrar.",
];
const DEVIATIONS: [&str; 4] = [
    "",
    "",
    "Budgeten har omfördelats mellan aktiviteter.",
    "Slutdatum flyttat ett halvår.",
];

/// How much demo data to make.
#[derive(Debug, Clone)]
pub struct DemoSpec {
    pub projects: usize,
    pub seed: u64,
    pub from: PeriodId,
    pub to: PeriodId,
    /// Half-years starting after this date get no values.
    pub today: NaiveDate,
}

/// The half-years to open, with the deadline of each (Sept 30 for H1, March 31 next year for H2).
pub fn periods(spec: &DemoSpec) -> Vec<(PeriodId, NaiveDate)> {
    half_years(spec)
        .into_iter()
        .map(|h| {
            let deadline = match h {
                PeriodId::HalfYear { year, half: 1 } => NaiveDate::from_ymd_opt(year, 9, 30),
                _ => NaiveDate::from_ymd_opt(h.year() + 1, 3, 31),
            };
            (h, deadline.expect("valid deadline"))
        })
        .collect()
}

fn half_years(spec: &DemoSpec) -> Vec<PeriodId> {
    let first = spec.from.half_years()[0];
    let last = *spec.to.half_years().last().expect("half-years");
    let mut all = Vec::new();
    let mut current = first;
    while current <= last {
        all.push(current);
        current = match current {
            PeriodId::HalfYear { year, half: 1 } => PeriodId::HalfYear { year, half: 2 },
            _ => PeriodId::HalfYear {
                year: current.year() + 1,
                half: 1,
            },
        };
    }
    all
}

fn weighted<'a, T>(rng: &mut StdRng, choices: &'a [(T, u32)]) -> &'a T {
    &choices
        .choose_weighted(rng, |(_, w)| *w)
        .expect("non-empty weights")
        .0
}

fn some(rng: &mut StdRng, list: &[&str], max: usize) -> Vec<String> {
    let count = rng.random_range(0..=max);
    let mut picked: Vec<String> = list
        .choose_multiple(rng, count)
        .map(|s| s.to_string())
        .collect();
    picked.sort();
    picked
}

/// A pool of valid organisationsnummer that projects draw from, so that some enterprises
/// appear in several projects and regions.
fn enterprise_pool(rng: &mut StdRng, size: usize) -> Vec<String> {
    (0..size)
        .map(|_| {
            let first_nine = format!("55{:07}", rng.random_range(0..10_000_000));
            let number = format!("{first_nine}{}", orgnr::check_digit(&first_nine));
            debug_assert!(orgnr::normalize(&number).is_some());
            number
        })
        .collect()
}

/// Each region's submission: its projects, values and narratives.
pub fn generate(spec: &DemoSpec) -> Portfolio {
    let mut rng = StdRng::seed_from_u64(spec.seed);
    let pool = enterprise_pool(&mut rng, (spec.projects * 4).clamp(200, 50_000));
    let all_half_years: Vec<PeriodId> = half_years(spec)
        .into_iter()
        .filter(|h| h.start_date() <= spec.today)
        .collect();
    let mut submissions: BTreeMap<String, SubmissionInput> = REGIONS
        .iter()
        .map(|(code, _)| (code.to_string(), SubmissionInput::default()))
        .collect();
    let span_start = spec.from.half_years()[0].start_date();
    let span_end = spec.to.half_years().last().expect("half-years").end_date();
    for index in 0..spec.projects {
        // The first 21 go one to each region, so that every region has data.
        let region = match REGIONS.get(index) {
            Some((code, _)) => *code,
            None => *weighted(&mut rng, &REGION_WEIGHTS),
        };
        let submission = submissions.get_mut(region).expect("a region");
        let reference = format!("{}-{:06}", span_start.year(), index + 1);
        let (sakomrade, fokus, _) = SAKOMRADEN
            .choose_weighted(&mut rng, |s| s.2)
            .expect("weights");
        let fokusomrade = (!fokus.is_empty() && rng.random_bool(0.8))
            .then(|| fokus.choose(&mut rng).expect("focus").to_string());
        let effektkedja = *weighted(&mut rng, &EFFEKTKEDJOR);
        let months = (span_end.year() - span_start.year() + 1) * 12;
        let start = add_months(span_start, rng.random_range(0..months.max(1) - 6));
        let end = add_months(start, rng.random_range(12..=36))
            .pred_opt()
            .expect("a day before")
            .min(span_end);
        let granted = rng.random_range(2..=60) * 100_000;
        let budget = granted * rng.random_range(15..=30) / 10;
        let required: Vec<&str> = REQUIRED
            .iter()
            .find(|(e, _)| *e == effektkedja)
            .map(|(_, r)| r.to_vec())
            .unwrap_or_default();
        let mut planned: Vec<&str> = required.clone();
        let extras = rng.random_range(1..=3);
        for extra in EXTRA
            .choose_multiple(&mut rng, extras)
            .copied()
            .collect::<Vec<_>>()
        {
            if !planned.contains(&extra) {
                planned.push(extra);
            }
        }
        if planned.contains(&"NAT-U01N") && !planned.contains(&"NAT-A01") {
            planned.push("NAT-A01");
        }
        planned.sort();
        let topic = TOPICS.choose(&mut rng).expect("topic");
        let place = PLACES.choose(&mut rng).expect("place");
        submission.projects.push(ProjectInput {
            project_ref: reference.clone(),
            title: format!("Utveckling av {topic} i {place}"),
            organisation: format!(
                "Region {}",
                REGIONS
                    .iter()
                    .find(|(c, _)| *c == region)
                    .expect("region")
                    .1
            ),
            status: if end < spec.today {
                "avslutat"
            } else if start > spec.today {
                "planerat"
            } else {
                "pagaende"
            }
            .into(),
            project_type: weighted(&mut rng, &PROJECT_TYPES).to_string(),
            sakomrade: sakomrade.to_string(),
            fokusomrade,
            effektkedja: effektkedja.to_string(),
            branscher: some(&mut rng, &BRANSCHER, 2),
            verktyg: some(&mut rng, &VERKTYG, 3),
            syften: some(&mut rng, &SYFTEN, 2),
            start_date: start,
            end_date: end,
            granted_sek: granted,
            total_budget_sek: budget,
            indicators: planned
                .iter()
                .map(|indicator| PlanInput {
                    indicator: indicator.to_string(),
                    baseline: Some(Decimal::ZERO),
                    baseline_year: Some(i64::from(start.year() - 1)),
                    target: Some(Decimal::from(rng.random_range(5..=60))),
                    goal: Some(format!("Målvärde för {indicator} enligt projektplanen")),
                    source: Some("Projektets egen uppföljning".into()),
                })
                .collect(),
        });
        let active: Vec<PeriodId> = all_half_years
            .iter()
            .copied()
            .filter(|h| h.end_date() >= start && h.start_date() <= end)
            .collect();
        let mut employees = Decimal::from(rng.random_range(5..=200));
        let mut survivors = Decimal::ZERO;
        for half_year in active {
            // Some projects miss a whole report.
            if rng.random_bool(0.08) {
                continue;
            }
            let period = half_year.to_string();
            let mut participants = None;
            for indicator in &planned {
                if rng.random_bool(0.05) && *indicator != "NAT-A01" {
                    continue;
                }
                let mut value = ValueInput {
                    project_ref: reference.clone(),
                    indicator: indicator.to_string(),
                    period: period.clone(),
                    value: None,
                    entities: None,
                    by_sex: None,
                    comment: None,
                };
                match *indicator {
                    "RCO01" | "RCO02" | "RCO04" | "RCO05" | "RCR03" => {
                        let count = rng.random_range(1..=8);
                        value.entities =
                            Some(pool.choose_multiple(&mut rng, count).cloned().collect());
                    }
                    "NAT-A01" | "RCR98" => {
                        let total = rng.random_range(3..=80);
                        let parts = split(&mut rng, total);
                        if *indicator == "NAT-A01" {
                            participants = Some(parts);
                        }
                        value.by_sex = Some(by_sex(parts));
                        value.value = Some(Decimal::from(parts.iter().sum::<i64>()));
                    }
                    "NAT-U01N" => continue,
                    "NAT-E01" => {
                        employees += Decimal::from(rng.random_range(0..=10));
                        value.value = Some(employees);
                    }
                    "RCR17" => {
                        survivors += Decimal::from(rng.random_range(0..=2));
                        value.value = Some(survivors);
                    }
                    "RCR01" => value.value = Some(Decimal::new(rng.random_range(0..=50), 1)),
                    "RCR02" => value.value = Some(Decimal::from(rng.random_range(0..=40) * 50_000)),
                    _ => value.value = Some(Decimal::from(rng.random_range(0..=4))),
                }
                submission.values.push(value);
            }
            // The numerator of a share never exceeds its denominator.
            if planned.contains(&"NAT-U01N")
                && let Some([k, m, e]) = participants
            {
                let parts = [
                    rng.random_range(0..=k),
                    rng.random_range(0..=m),
                    rng.random_range(0..=e),
                ];
                submission.values.push(ValueInput {
                    project_ref: reference.clone(),
                    indicator: "NAT-U01N".into(),
                    period: period.clone(),
                    value: Some(Decimal::from(parts.iter().sum::<i64>())),
                    entities: None,
                    by_sex: Some(by_sex(parts)),
                    comment: None,
                });
            }
            if rng.random_bool(0.7) {
                submission.narratives.push(NarrativeInput {
                    project_ref: reference.clone(),
                    period,
                    progress: PROGRESS.choose(&mut rng).expect("text").to_string(),
                    lessons: LESSONS.choose(&mut rng).expect("text").to_string(),
                    deviations: DEVIATIONS.choose(&mut rng).expect("text").to_string(),
                });
            }
        }
    }
    submissions
}

/// Splits a submission into several the endpoint accepts: the projects first (at most
/// `MAX_PROJECTS` or `per_chunk` each), then at most `per_chunk` values and as many
/// narratives each, never more than a submission may hold.
pub fn in_chunks(submission: SubmissionInput, per_chunk: usize) -> Vec<SubmissionInput> {
    let mut chunks: Vec<SubmissionInput> = submission
        .projects
        .chunks(per_chunk.min(MAX_PROJECTS))
        .map(|projects| SubmissionInput {
            projects: projects.to_vec(),
            ..SubmissionInput::default()
        })
        .collect();
    let values: Vec<&[ValueInput]> = submission
        .values
        .chunks(per_chunk.min(MAX_VALUES))
        .collect();
    let narratives: Vec<&[NarrativeInput]> = submission
        .narratives
        .chunks(per_chunk.min(MAX_NARRATIVES))
        .collect();
    for i in 0..values.len().max(narratives.len()) {
        chunks.push(SubmissionInput {
            projects: Vec::new(),
            values: values.get(i).map_or_else(Vec::new, |v| v.to_vec()),
            narratives: narratives.get(i).map_or_else(Vec::new, |n| n.to_vec()),
            ..SubmissionInput::default()
        });
    }
    chunks
}

fn split(rng: &mut StdRng, total: i64) -> [i64; 3] {
    let unknown = if rng.random_bool(0.1) {
        rng.random_range(0..=total.min(3))
    } else {
        0
    };
    let women = rng.random_range(0..=total - unknown);
    [women, total - unknown - women, unknown]
}

fn by_sex(parts: [i64; 3]) -> BySexInput {
    BySexInput {
        kvinnor: Decimal::from(parts[0]),
        man: Decimal::from(parts[1]),
        ej_angivet: Decimal::from(parts[2]),
    }
}

fn add_months(date: NaiveDate, months: i32) -> NaiveDate {
    date.checked_add_months(chrono::Months::new(months.max(0) as u32))
        .expect("a date in range")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(seed: u64) -> DemoSpec {
        DemoSpec {
            projects: 60,
            seed,
            from: PeriodId::parse("2024H1").unwrap(),
            to: PeriodId::parse("2026H2").unwrap(),
            today: NaiveDate::from_ymd_opt(2026, 11, 28).unwrap(),
        }
    }

    #[test]
    fn deterministic_for_a_seed_and_every_region_has_projects() {
        let a = generate(&spec(7));
        let b = generate(&spec(7));
        let c = generate(&spec(8));
        let json = |s: &BTreeMap<String, SubmissionInput>| serde_json::to_string(s).unwrap();
        assert_eq!(json(&a), json(&b));
        assert_ne!(json(&a), json(&c));
        assert_eq!(a.len(), 21);
        assert!(a.values().all(|s| !s.projects.is_empty()));
        assert_eq!(a.values().map(|s| s.projects.len()).sum::<usize>(), 60);
        assert_eq!(periods(&spec(7)).len(), 6);
    }

    #[test]
    fn chunks_keep_every_item_once() {
        let all = generate(&spec(1)).remove("01").unwrap();
        let chunks = in_chunks(all.clone(), 10);
        assert_eq!(
            chunks.iter().map(|c| c.projects.len()).sum::<usize>(),
            all.projects.len()
        );
        assert!(chunks.iter().all(|c| c.projects.len() <= 10));
        assert!(chunks.iter().all(|c| c.values.len() <= 10));
        assert_eq!(
            chunks.iter().map(|c| c.values.len()).sum::<usize>(),
            all.values.len()
        );
        assert_eq!(
            chunks.iter().map(|c| c.narratives.len()).sum::<usize>(),
            all.narratives.len()
        );
        let mut many = all.clone();
        many.narratives = vec![all.narratives[0].clone(); MAX_NARRATIVES + 1];
        let chunks = in_chunks(many, usize::MAX);
        assert!(chunks.iter().all(|c| c.narratives.len() <= MAX_NARRATIVES));
        assert_eq!(
            chunks.iter().map(|c| c.narratives.len()).sum::<usize>(),
            MAX_NARRATIVES + 1
        );
    }
}
