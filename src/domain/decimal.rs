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
/// spaces between the thousands.
pub fn parse_typed(text: &str) -> Option<Decimal> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '\u{a0}')
        .collect();
    let normal = if compact.contains('.') {
        compact
    } else {
        compact.replace(',', ".")
    };
    normal.parse().ok()
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
