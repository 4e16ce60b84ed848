//! The PxWeb tables as they stand: read from the published snapshots of single half-years
//! (each half-year from the newest published snapshot holding it), built by
//! `domain::pxweb::table`. A snapshot of a year or a range of half-years holds no
//! half-year's own figures, so it is published and read as a snapshot but makes no PxWeb
//! half-year.

use rust_decimal::Decimal;
use serde_json::Value;

use crate::db::snapshots::SnapshotRow;
use crate::db::{self, DbConnection};
use crate::domain::period::{PeriodId, PeriodKind};
use crate::domain::pxweb::table::{
    self, Figure, Indicator, IndicatorFigures, NATION, PublishedHalfYear, Source, Table, Text,
};
use crate::error::AppError;

/// Every table, by indicator code, from one consistent state of the database.
pub fn tables(conn: &mut DbConnection) -> Result<Vec<Table>, AppError> {
    let (rows, regions) = db::read_transaction(conn, |conn| {
        let rows = db::snapshots::published(conn)?;
        let regions = db::reference::list_regions(conn)?;
        Ok::<_, AppError>((rows, regions))
    })?;
    let mut published = Vec::new();
    for row in rows.iter().filter(|row| is_half_year(&row.period)) {
        published.push(half_year(row)?);
    }
    let regions: Vec<(String, String)> = regions.into_iter().map(|r| (r.code, r.name)).collect();
    Ok(table::tables(
        &table::newest_per_half_year(published),
        &regions,
    ))
}

/// One table, its id matched without regard to case (paths are).
pub fn find(conn: &mut DbConnection, id: &str) -> Result<Option<Table>, AppError> {
    Ok(tables(conn)?
        .into_iter()
        .find(|table| table.id.eq_ignore_ascii_case(id)))
}

fn is_half_year(period: &str) -> bool {
    PeriodId::parse(period).is_some_and(|id| id.kind() == PeriodKind::HalfYear)
}

fn half_year(row: &SnapshotRow) -> Result<PublishedHalfYear, AppError> {
    let broken = |what: &str| AppError::Internal(format!("snapshot {} figures: {what}", row.id));
    let figures: Value = serde_json::from_str(&row.figures).map_err(|e| broken(&e.to_string()))?;
    let published_at = row
        .published_at
        .ok_or_else(|| broken("published without a time"))?;
    let source = Source {
        half_year: row.period.clone(),
        snapshot_id: row.id.clone(),
        label: row.label.clone(),
        as_of: row.as_of.and_utc(),
        sha256: row.sha256.clone(),
        published_at: published_at.and_utc(),
    };
    // Absent in snapshots made before the split by sex was kept.
    let splits = figures["by_sex"].as_array().cloned().unwrap_or_default();
    let mut indicators = Vec::new();
    for aggregate in figures["aggregates"]
        .as_array()
        .ok_or_else(|| broken("no aggregates"))?
    {
        // The tables hold the totals; the figures per project and per million kronor are
        // the snapshot's own comparisons (absent `per`: a snapshot made before them).
        if aggregate["per"].as_str().is_some_and(|per| per != "total") {
            continue;
        }
        let summary = &aggregate["indicator"];
        let text = |key: &str| {
            summary[key]
                .as_str()
                .map(String::from)
                .ok_or_else(|| broken(key))
        };
        let code = text("code")?;
        let split = splits
            .iter()
            .find(|split| split["regions"]["indicator"]["code"].as_str() == Some(code.as_str()));
        let mut rows = lines(&aggregate["rows"], None)?;
        rows.push(figure(&aggregate["national"], Some(NATION))?);
        if let Some(split) = split {
            rows.extend(lines(&split["regions"]["rows"], None)?);
            rows.extend(lines(&split["nation"]["rows"], Some(NATION))?);
        }
        indicators.push(IndicatorFigures {
            indicator: Indicator {
                code,
                name: Text::new(text("name_sv")?, text("name_en")?),
                unit: text("unit")?,
                decimals: summary["decimals"]
                    .as_i64()
                    .ok_or_else(|| broken("decimals"))?,
            },
            by_sex: split.is_some(),
            figures: rows,
        });
    }
    Ok(PublishedHalfYear { source, indicators })
}

fn lines(rows: &Value, region: Option<&str>) -> Result<Vec<Figure>, AppError> {
    rows.as_array()
        .into_iter()
        .flatten()
        .map(|row| figure(row, region))
        .collect()
}

/// One row of an aggregate (`views::aggregates::AggregateRow`) as a figure: its region (or
/// `region`, for a national row) and sex, its numbers exact.
fn figure(row: &Value, region: Option<&str>) -> Result<Figure, AppError> {
    let group = |name: &str| row[name].as_str().map(String::from);
    let decimal = |name: &str| match &row[name] {
        Value::Number(n) => Decimal::from_str_exact(&n.to_string())
            .or_else(|_| Decimal::from_scientific(&n.to_string()))
            .map(Some)
            .map_err(|e| AppError::Internal(format!("snapshot figure {name}: {e}"))),
        _ => Ok(None),
    };
    let count = |name: &str| row[name].as_u64().unwrap_or_default();
    Ok(Figure {
        region: region
            .map(String::from)
            .or_else(|| group("region"))
            .unwrap_or_default(),
        sex: group("sex"),
        value: decimal("value")?,
        target: decimal("target")?,
        projects: count("projects"),
        reporting_projects: count("reporting_projects"),
    })
}
