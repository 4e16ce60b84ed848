//! Median, mean, minimum and maximum over the rows' values: where a region stands against
//! the others (the seed's targets are "above the median for the country").

use rust_decimal::{Decimal, RoundingStrategy};

use super::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stats {
    pub median: Option<Decimal>,
    pub mean: Option<Decimal>,
    pub min: Option<Decimal>,
    pub max: Option<Decimal>,
}

/// Places kept in `mean` and `median`, and in figures per project or per million kronor,
/// beyond the indicator's own.
pub const EXTRA_PLACES: u32 = 2;

/// Over the rows that have a value; `decimals` are the indicator's.
pub fn stats(rows: &[Row], decimals: u32) -> Stats {
    let mut values: Vec<Decimal> = rows.iter().filter_map(|r| r.value).collect();
    values.sort();
    let places = decimals + EXTRA_PLACES;
    let round = |d: Decimal| {
        d.round_dp_with_strategy(places, RoundingStrategy::MidpointAwayFromZero)
            .normalize()
    };
    let n = values.len();
    let median = match n {
        0 => None,
        _ if n % 2 == 1 => Some(values[n / 2]),
        _ => Some(round((values[n / 2 - 1] + values[n / 2]) / Decimal::TWO)),
    };
    let mean = (n > 0).then(|| round(values.iter().sum::<Decimal>() / Decimal::from(n)));
    Stats {
        median,
        mean,
        min: values.first().copied(),
        max: values.last().copied(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::aggregate::test_support::d;

    fn rows(values: &[Option<&str>]) -> Vec<Row> {
        values
            .iter()
            .map(|value| Row {
                keys: vec![],
                value: value.map(d),
                numerator: None,
                denominator: None,
                target: None,
                target_share: None,
                reporting_share: None,
                projects: 1,
                reporting_projects: 1,
            })
            .collect()
    }

    #[test]
    fn over_the_rows_with_a_value() {
        let stats = stats(
            &rows(&[Some("10"), Some("1"), None, Some("4"), Some("2")]),
            0,
        );
        assert_eq!(
            stats,
            Stats {
                median: Some(d("3")),
                mean: Some(d("4.25")),
                min: Some(d("1")),
                max: Some(d("10"))
            }
        );
    }

    #[test]
    fn rounded_two_places_beyond_the_indicator() {
        let thirds = stats(&rows(&[Some("1"), Some("1"), Some("2")]), 1);
        assert_eq!(thirds.mean, Some(d("1.333")));
        assert_eq!(thirds.median, Some(d("1")), "the middle value, not rounded");
        let none = stats(&rows(&[None]), 0);
        assert_eq!(
            (none.median, none.mean, none.min, none.max),
            (None, None, None, None)
        );
    }
}
