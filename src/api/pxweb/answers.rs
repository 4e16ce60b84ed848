//! The JSON the PxWeb API 2 answers (`PxAPI-2.yml`): the configuration, tables, and
//! JSON-stat 2.0 datasets with the specification's extensions, for the metadata (no
//! values) and for data.

use chrono::{DateTime, SecondsFormat, Utc};
use rust_decimal::Decimal;
use serde_json::{Map, Value, json};

use crate::domain::pxweb::selection::Selection;
use crate::domain::pxweb::table::{CONTENTS, Language, REGION, Role, TIME, Table};

/// The version of the specification followed (`PxApiSpecs` v2.2.0); clients check that it
/// is at least 2.0.0.
pub const API_VERSION: &str = "2.2.0";

/// Where the figures come from, as a table's `source` and the configuration's reference.
pub fn source(language: Language) -> &'static str {
    match language {
        Language::Sv => "Tillväxtverket, uppföljning av anslag 1:1 (publicerade ögonblicksbilder)",
        Language::En => {
            "Swedish Agency for Economic and Regional Growth, follow-up of appropriation 1:1 (published snapshots)"
        }
    }
}

pub fn time(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A link as the specification writes them.
pub fn link(rel: &str, language: Language, href: String) -> Value {
    json!({"rel": rel, "hreflang": language.code(), "href": href})
}

/// `GET /config`.
pub fn config(max_data_cells: usize, calls_per_second: u32) -> Value {
    json!({
        "apiVersion": API_VERSION,
        "appVersion": env!("CARGO_PKG_VERSION"),
        "languages": Language::ALL
            .iter()
            .map(|l| json!({"id": l.code(), "label": l.name()}))
            .collect::<Vec<_>>(),
        "defaultLanguage": Language::Sv.code(),
        "maxDataCells": max_data_cells,
        // The limit of requests without a token, per address and second (0: none).
        "maxCallsPerTimeWindow": calls_per_second,
        "timeWindow": 1,
        "license": "CC0-1.0",
        "sourceReferences": Language::ALL
            .iter()
            .map(|l| json!({"language": l.code(), "text": source(*l)}))
            .collect::<Vec<_>>(),
        "defaultDataFormat": "json-stat2",
        "dataFormats": super::FORMATS,
        "features": [],
    })
}

/// A table as `/tables` lists it and `/tables/{id}` answers it.
pub fn table(table: &Table, language: Language, base: &str) -> Value {
    let href = |tail: &str| format!("{base}/tables/{}{tail}?lang={}", table.id, language.code());
    json!({
        "type": "Table",
        "id": table.id,
        "label": table.label(language),
        "description": "",
        "sortCode": table.id,
        "updated": time(table.updated()),
        "firstPeriod": table.first_period(),
        "lastPeriod": table.last_period(),
        "category": "public",
        "variableNames": table
            .variables
            .iter()
            .map(|v| v.label.get(language))
            .collect::<Vec<_>>(),
        "discontinued": false,
        "source": source(language),
        "subjectCode": "AN11",
        "timeUnit": "Other",
        "paths": [[{"id": "AN11", "label": match language {
            Language::Sv => "Anslag 1:1, nationella indikatorer",
            Language::En => "Appropriation 1:1, national indicators",
        }, "sortCode": "1"}]],
        "links": [
            link("self", language, href("")),
            link("metadata", language, href("/metadata")),
            link("data", language, href("/data")),
        ],
    })
}

/// The whole table as a selection: every value, the contents and half-years as columns,
/// the rest as rows (in the table's order, since they come first).
fn whole(table: &Table) -> Selection {
    let (heading, stub): (Vec<usize>, Vec<usize>) = (0..table.variables.len())
        .partition(|i| [CONTENTS, TIME].contains(&table.variables[*i].code));
    Selection {
        taken: table
            .variables
            .iter()
            .map(|v| (0..v.categories.len()).collect())
            .collect(),
        stub,
        heading,
    }
}

/// `GET /tables/{id}/metadata`: the whole table as a JSON-stat 2.0 dataset, `value: []`.
pub fn metadata(table: &Table, language: Language) -> Value {
    dataset(table, language, &whole(table), false)
}

/// The selected data as a JSON-stat 2.0 dataset: values in row-major order of `id` (the
/// stub's variables, then the heading's), a missing figure `null` with the status `..`.
pub fn data(table: &Table, language: Language, selection: &Selection) -> Value {
    dataset(table, language, selection, true)
}

fn dataset(table: &Table, language: Language, selection: &Selection, with_values: bool) -> Value {
    let ids = selection.shown();
    let categories: Vec<&Vec<usize>> = ids.iter().map(|i| &selection.taken[*i]).collect();
    let name = |i: &usize| table.variables[*i].code;
    let heading: Vec<&str> = selection.heading.iter().map(name).collect();
    let stub: Vec<&str> = selection.stub.iter().map(name).collect();
    let mut dimensions = Map::new();
    for (i, taken) in ids.iter().zip(categories.iter().copied()) {
        dimensions.insert(
            table.variables[*i].code.to_string(),
            dimension(table, *i, taken, language),
        );
    }
    let names: Vec<&str> = ids.iter().map(|i| table.variables[*i].code).collect();
    let with_role = |role: Role| -> Vec<&str> {
        ids.iter()
            .filter(|i| table.variables[**i].role == role)
            .map(|i| table.variables[*i].code)
            .collect()
    };
    // A role only for the dimensions shown (a region left out has no geo dimension).
    let roles: Map<String, Value> = [
        ("time", Role::Time),
        ("geo", Role::Geo),
        ("metric", Role::Metric),
    ]
    .into_iter()
    .map(|(name, role)| (name.to_string(), json!(with_role(role))))
    .filter(|(_, shown)| shown.as_array().is_some_and(|ids| !ids.is_empty()))
    .collect();
    let (values, status) = if with_values {
        cells(table, selection)
    } else {
        (Vec::new(), Map::new())
    };
    let indicator = &table.indicator;
    let mut dataset = json!({
        "version": "2.0",
        "class": "dataset",
        "label": table.label(language),
        "source": source(language),
        "updated": time(table.updated()),
        "note": [match language {
            Language::Sv => format!(
                "Enhet: {}. Varje halvår kommer från den senast publicerade ögonblicksbilden som håller det (se halvårens noter).",
                indicator.unit
            ),
            Language::En => format!(
                "Unit: {}. Each half-year comes from the newest published snapshot holding it (see the half-years' notes).",
                indicator.unit
            ),
        }],
        "role": roles,
        "id": names,
        "size": categories.iter().map(|c| c.len()).collect::<Vec<_>>(),
        "dimension": dimensions,
        "value": values,
        "extension": {
            "px": {
                "tableid": table.id,
                "decimals": indicator.decimals,
                "official-statistics": false,
                "aggregallowed": false,
                "language": language.code(),
                "contents": indicator.name.get(language),
                "heading": heading,
                "stub": stub,
                "matrix": table.id,
                "subject-code": "AN11",
            },
            "firstPeriod": table.first_period(),
            "lastPeriod": table.last_period(),
            "discontinued": false,
        },
    });
    if !status.is_empty() {
        dataset["status"] = Value::Object(status);
    }
    dataset
}

/// One variable as a JSON-stat dimension, with the categories `taken`.
fn dimension(table: &Table, i: usize, taken: &[usize], language: Language) -> Value {
    let variable = &table.variables[i];
    let mut index = Map::new();
    let mut labels = Map::new();
    for (position, category) in taken.iter().map(|c| &variable.categories[*c]).enumerate() {
        index.insert(category.code.clone(), json!(position));
        labels.insert(category.code.clone(), json!(category.label.get(language)));
    }
    let mut category = json!({"index": index, "label": labels});
    if variable.code == CONTENTS {
        let indicator = &table.indicator;
        let projects = match language {
            Language::Sv => "antal projekt",
            Language::En => "number of projects",
        };
        let unit: Map<String, Value> = taken
            .iter()
            .map(|c| {
                let code = variable.categories[*c].code.clone();
                let unit = match code.as_str() {
                    "value" | "target" => {
                        json!({"base": indicator.unit, "decimals": indicator.decimals})
                    }
                    _ => json!({"base": projects, "decimals": 0}),
                };
                (code, unit)
            })
            .collect();
        category["unit"] = Value::Object(unit);
    }
    if variable.code == TIME {
        let notes: Map<String, Value> = taken
            .iter()
            .map(|c| {
                let source = &table.sources[*c];
                let note = match language {
                    Language::Sv => format!(
                        "Ögonblicksbild \"{}\" ({}), siffrorna per {}, publicerad {}, sha256 {}",
                        source.label,
                        source.snapshot_id,
                        time(source.as_of),
                        time(source.published_at),
                        source.sha256
                    ),
                    Language::En => format!(
                        "Snapshot \"{}\" ({}), figures as of {}, published {}, sha256 {}",
                        source.label,
                        source.snapshot_id,
                        time(source.as_of),
                        time(source.published_at),
                        source.sha256
                    ),
                };
                (source.half_year.clone(), json!([note]))
            })
            .collect();
        category["note"] = Value::Object(notes);
    }
    let mut extension = json!({
        "elimination": variable.elimination.is_some(),
        "show": if variable.code == REGION { "code_value" } else { "value" },
        "codelists": [],
    });
    if let Some(total) = variable.elimination {
        extension["eliminationValueCode"] = json!(total);
    }
    json!({
        "label": variable.label.get(language),
        "category": category,
        "extension": extension,
    })
}

/// The selected figures in row-major order of the shown variables, and the status `..` of
/// each missing one by its position.
fn cells(table: &Table, selection: &Selection) -> (Vec<Value>, Map<String, Value>) {
    let mut values = Vec::new();
    let mut status = Map::new();
    for (position, value) in figures(table, selection).into_iter().enumerate() {
        match value {
            Some(value) => values.push(number(value)),
            None => {
                values.push(Value::Null);
                status.insert(position.to_string(), json!(".."));
            }
        }
    }
    (values, status)
}

/// A figure as an exact JSON number, written as the snapshot writes it.
pub fn number(value: Decimal) -> Value {
    serde_json::from_str(&value.to_string()).unwrap_or(Value::Null)
}

/// Every selected figure, in row-major order of the shown variables (stub, then heading).
pub fn figures(table: &Table, selection: &Selection) -> Vec<Option<Decimal>> {
    let shown = selection.shown();
    let mut position: Vec<usize> = vec![0; table.variables.len()];
    let mut figures = Vec::with_capacity(selection.cells());
    loop {
        let coordinate: Vec<usize> = position
            .iter()
            .enumerate()
            .map(|(v, k)| selection.taken[v][*k])
            .collect();
        figures.push(table.value(&coordinate));
        // The last shown variable turns fastest.
        let mut turned = false;
        for v in shown.iter().rev() {
            position[*v] += 1;
            if position[*v] < selection.taken[*v].len() {
                turned = true;
                break;
            }
            position[*v] = 0;
        }
        if !turned {
            return figures;
        }
    }
}
