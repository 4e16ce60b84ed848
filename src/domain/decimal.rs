//! Exact decimal values, stored as integers scaled by 10^SCALE so that both databases sum
//! them exactly.

use rust_decimal::Decimal;

/// Decimal places kept in storage; an indicator's `decimals` may not exceed it.
pub const SCALE: u32 = 4;

/// The largest magnitude accepted for one value (10^14). With SCALE every stored integer stays
/// below 10^18, well inside i64; sums are carried in i128 so they cannot overflow.
pub const MAX_ABS: i64 = 100_000_000_000_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecimalError {
    /// More decimal places than allowed.
    TooManyDecimals { allowed: u32 },
    /// Magnitude above `MAX_ABS`.
    OutOfRange,
    /// Negative where only non-negative numbers are meaningful.
    Negative,
}

/// Converts a decimal into its scaled integer, refusing more than `decimals` places.
/// Trailing zeros do not count as places: `1.50` has one.
pub fn to_scaled(value: Decimal, decimals: u32) -> Result<i64, DecimalError> {
    let normalized = value.normalize();
    if normalized.scale() > decimals.min(SCALE) {
        return Err(DecimalError::TooManyDecimals {
            allowed: decimals.min(SCALE),
        });
    }
    if normalized.abs() > Decimal::from(MAX_ABS) {
        return Err(DecimalError::OutOfRange);
    }
    let scaled = normalized * Decimal::from(10_i64.pow(SCALE));
    // Exact: the number has at most SCALE places and is below 10^18 after scaling.
    Ok(i64::try_from(scaled).expect("checked range"))
}

/// Like `to_scaled` for quantities that cannot be negative (counts, amounts, targets).
pub fn to_scaled_non_negative(value: Decimal, decimals: u32) -> Result<i64, DecimalError> {
    if value.is_sign_negative() && !value.is_zero() {
        return Err(DecimalError::Negative);
    }
    to_scaled(value, decimals)
}

/// The decimal a scaled integer stands for, without trailing zeros.
/// A number as a person types it: `1 234,5` (Swedish), `1234.5`, with spaces or no-break
/// spaces between the thousands; exact, or none.
pub fn parse_typed(text: &str) -> Option<Decimal> {
    let groups: Vec<&str> = text.trim().split(char::is_whitespace).collect();
    // Spaces group the thousands (`1 234,5`) and nothing else: `1 5` is no number.
    if let Some((first, rest)) = groups.split_first()
        && !rest.is_empty()
    {
        let digits = |group: &str| group.bytes().all(|b| b.is_ascii_digit());
        let first = first.strip_prefix('-').unwrap_or(first);
        let whole_of_last = |group: &'_ str| {
            group
                .split([',', '.'])
                .next()
                .unwrap_or_default()
                .to_string()
        };
        let grouped = (1..=3).contains(&first.len())
            && digits(first)
            && rest.iter().enumerate().all(|(index, group)| {
                let whole = if index + 1 == rest.len() {
                    whole_of_last(group)
                } else {
                    group.to_string()
                };
                whole.len() == 3 && digits(&whole)
            });
        if !grouped {
            return None;
        }
    }
    let compact = groups.concat();
    let normal = if compact.contains('.') {
        compact
    } else {
        compact.replace(',', ".")
    };
    parse_exact(&normal)
}

/// A plain decimal (`-12.5`: an optional minus, digits, at most one point with digits after
/// it), read only if it can be held without rounding. Nothing else is a number here:
/// `1_5`, `0x10`, `1e3`, `NaN` and `+1` are not, though Rust's parser takes some of them.
pub fn parse_exact(text: &str) -> Option<Decimal> {
    let digits = text.strip_prefix('-').unwrap_or(text);
    let (whole, fraction) = digits.split_once('.').unwrap_or((digits, "0"));
    let plain = !whole.is_empty()
        && !fraction.is_empty()
        && whole.bytes().all(|b| b.is_ascii_digit())
        && fraction.bytes().all(|b| b.is_ascii_digit());
    if !plain {
        return None;
    }
    Decimal::from_str_exact(text).ok()
}

/// Reads a decimal from JSON exactly as it was written, a number or a string in plain
/// decimal form: serde's own reading would round digits it cannot hold and take `1_5` as 15.
pub mod exact {
    use rust_decimal::Decimal;
    use serde::de::{Deserialize, Deserializer, Error};

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Decimal, D::Error> {
        let written = match serde_json::Value::deserialize(deserializer)? {
            serde_json::Value::Number(number) => number.to_string(),
            serde_json::Value::String(text) => text,
            other => {
                return Err(D::Error::custom(format!(
                    "expected a number, found {other}"
                )));
            }
        };
        super::parse_exact(&written).ok_or_else(|| {
            let shown: String = written.chars().take(40).collect();
            D::Error::custom(format!(
                "{shown} is not a plain decimal that can be stored exactly (digits, at most one point, at most 28 digits)"
            ))
        })
    }

    /// `deserialize` for an optional field (`null` or absent is `None`).
    pub mod option {
        use rust_decimal::Decimal;
        use serde::de::{Deserialize, Deserializer};

        pub fn deserialize<'de, D: Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Decimal>, D::Error> {
            #[derive(serde::Deserialize)]
            struct Exact(#[serde(deserialize_with = "super::deserialize")] Decimal);
            Ok(Option::<Exact>::deserialize(deserializer)?.map(|Exact(value)| value))
        }
    }
}

pub fn from_scaled(scaled: i64) -> Decimal {
    Decimal::new(scaled, SCALE).normalize()
}

/// The decimal a scaled sum stands for; sums are carried in i128 so they cannot overflow.
pub fn from_scaled_sum(scaled: i128) -> Decimal {
    Decimal::from_i128_with_scale(scaled, SCALE).normalize()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_are_read_swedish_or_not() {
        assert_eq!(parse_typed("1,5"), Some(Decimal::new(15, 1)));
        assert_eq!(parse_typed("1 234,5"), Some(Decimal::new(12345, 1)));
        assert_eq!(parse_typed("1\u{a0}234,5"), Some(Decimal::new(12345, 1)));
        assert_eq!(parse_typed("1234.5"), Some(Decimal::new(12345, 1)));
        assert_eq!(parse_typed("12 345"), Some(Decimal::from(12345)));
        assert_eq!(parse_typed("tolv"), None);
        assert_eq!(parse_typed(" 7 "), Some(Decimal::from(7)));
        assert_eq!(
            parse_typed("-1 000 000.25"),
            Some(Decimal::new(-100000025, 2))
        );
        for refused in [
            "1 5", "1 0 0", "1\t5", "1  234", "1 23", "1234 567", "1 234 5",
        ] {
            assert_eq!(parse_typed(refused), None, "{refused}");
        }
    }

    #[test]
    fn only_plain_exact_decimals_are_numbers() {
        assert_eq!(parse_exact("-12.50"), Some(Decimal::new(-1250, 2)));
        assert_eq!(parse_exact("7"), Some(Decimal::from(7)));
        for refused in [
            "1_5",
            "0x10",
            "1e3",
            "NaN",
            "inf",
            "+1",
            ".5",
            "5.",
            "1.2.3",
            "",
            "-",
            "0.99999999999999999999999999999",
            "99999999999999999999999999999999",
        ] {
            assert_eq!(parse_exact(refused), None, "{refused}");
            assert_eq!(parse_typed(refused), None, "{refused}");
        }
    }

    #[test]
    fn json_numbers_are_read_as_written() {
        #[derive(serde::Deserialize)]
        struct Value {
            #[serde(deserialize_with = "exact::deserialize")]
            value: Decimal,
            #[serde(default, deserialize_with = "exact::option::deserialize")]
            part: Option<Decimal>,
        }
        let read = |json: &str| serde_json::from_str::<Value>(json).map(|v| (v.value, v.part));
        assert_eq!(
            read(r#"{"value": 1.50}"#).unwrap(),
            (Decimal::new(150, 2), None)
        );
        assert_eq!(
            read(r#"{"value": "2", "part": 0.1}"#).unwrap(),
            (Decimal::from(2), Some(Decimal::new(1, 1)))
        );
        assert_eq!(read(r#"{"value": 1, "part": null}"#).unwrap().1, None);
        for refused in [
            r#"{"value": 0.99999999999999999999999999999}"#,
            r#"{"value": "1_5"}"#,
            r#"{"value": 1e3}"#,
            r#"{"value": true}"#,
            r#"{"value": 1, "part": "NaN"}"#,
        ] {
            assert!(read(refused).is_err(), "{refused}");
        }
    }
    use std::str::FromStr;

    fn d(text: &str) -> Decimal {
        Decimal::from_str(text).unwrap()
    }

    #[test]
    fn scales_exactly() {
        assert_eq!(to_scaled(d("0.1"), 2), Ok(1000));
        assert_eq!(to_scaled(d("0.2"), 2), Ok(2000));
        assert_eq!(from_scaled(1000 + 2000), d("0.3"));
        assert_eq!(to_scaled(d("1.50"), 1), Ok(15000));
        assert_eq!(to_scaled(d("12"), 0), Ok(120000));
        assert_eq!(from_scaled(120000).to_string(), "12");
    }

    #[test]
    fn negative_zero_is_zero() {
        assert_eq!(to_scaled_non_negative(d("-0"), 0), Ok(0));
        assert_eq!(to_scaled_non_negative(d("-0.0"), 0), Ok(0));
        assert_eq!(
            to_scaled_non_negative(d("-1"), 0),
            Err(DecimalError::Negative)
        );
    }

    #[test]
    fn refuses_extra_places_and_range() {
        assert_eq!(
            to_scaled(d("1.25"), 1),
            Err(DecimalError::TooManyDecimals { allowed: 1 })
        );
        assert_eq!(
            to_scaled(d("1.00001"), 9),
            Err(DecimalError::TooManyDecimals { allowed: SCALE })
        );
        assert_eq!(
            to_scaled(d("100000000000001"), 0),
            Err(DecimalError::OutOfRange)
        );
        assert!(to_scaled(d("100000000000000"), 0).is_ok());
    }

    #[test]
    fn sums_do_not_overflow() {
        let big = i128::from(i64::MAX) * 4;
        assert_eq!(
            from_scaled_sum(big),
            Decimal::from_i128_with_scale(big, SCALE)
        );
    }
}
