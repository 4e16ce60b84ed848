//! Organisationsnummer: the ten-digit identity of a Swedish enterprise, whose last digit is a
//! Luhn check digit over the first nine.

/// The normalised number (ten digits) if `text` is a valid organisationsnummer, written as
/// `NNNNNNNNNN` or `NNNNNN-NNNN`.
pub fn normalize(text: &str) -> Option<String> {
    let digits: String = match text.len() {
        10 => text.to_string(),
        11 if text.as_bytes()[6] == b'-' => format!("{}{}", &text[..6], &text[7..]),
        _ => return None,
    };
    if !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    luhn_valid(&digits).then_some(digits)
}

fn luhn_valid(digits: &str) -> bool {
    let sum: u32 = digits
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// The check digit that makes nine digits a valid organisationsnummer.
pub fn check_digit(first_nine: &str) -> char {
    (b'0'..=b'9')
        .map(char::from)
        .find(|digit| luhn_valid(&format!("{first_nine}{digit}")))
        .expect("one digit always completes a Luhn number")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_numbers_in_both_forms() {
        assert_eq!(normalize("5560360793").as_deref(), Some("5560360793"));
        assert_eq!(normalize("556036-0793").as_deref(), Some("5560360793"));
        assert_eq!(normalize("5567037485").as_deref(), Some("5567037485"));
        assert_eq!(normalize("2021005489").as_deref(), Some("2021005489"));
    }

    #[test]
    fn invalid_numbers() {
        for bad in [
            "5560360794",
            "556036079",
            "55603607930",
            "556036_0793",
            "55603-60793",
            "556036-079a",
            "",
            "５５６０３６０７９３",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
    }

    #[test]
    fn check_digits() {
        assert_eq!(check_digit("556036079"), '3');
        assert_eq!(check_digit("202100548"), '9');
    }
}
