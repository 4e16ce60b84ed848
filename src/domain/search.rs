//! Searching a region's projects by text: the words a person types, each found in a
//! project's ref, title or organisation, whatever their case (Å as å, as a Swede types).

/// The longest search text: a search is a few words, not a document.
pub const MAX_SEARCH_CHARS: usize = 100;

/// A checked search: its words, lowercased.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Search {
    words: Vec<String>,
}

/// Why a search text is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchError {
    Empty,
    TooLong,
    ControlCharacter,
}

impl Search {
    pub fn parse(text: &str) -> Result<Search, SearchError> {
        if text.chars().count() > MAX_SEARCH_CHARS {
            return Err(SearchError::TooLong);
        }
        if text.chars().any(char::is_control) {
            return Err(SearchError::ControlCharacter);
        }
        let words: Vec<String> = text.split_whitespace().map(str::to_lowercase).collect();
        if words.is_empty() {
            return Err(SearchError::Empty);
        }
        Ok(Search { words })
    }

    /// Whether every word is part of one of the fields.
    pub fn matches(&self, fields: &[&str]) -> bool {
        let fields: Vec<String> = fields.iter().map(|f| f.to_lowercase()).collect();
        self.words
            .iter()
            .all(|word| fields.iter().any(|field| field.contains(word.as_str())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn matches(text: &str, fields: &[&str]) -> bool {
        Search::parse(text).unwrap().matches(fields)
    }

    #[test]
    fn every_word_is_found_in_some_field_whatever_its_case() {
        let fields = ["KRO-2025-014", "Sydostleden – cykelled", "Region Kronoberg"];
        assert!(matches("kro-2025", &fields));
        assert!(matches("CYKELLED kronoberg", &fields));
        assert!(matches("  led  region ", &fields));
        assert!(!matches("cykelled kalmar", &fields));
    }

    #[test]
    fn swedish_letters_match_in_either_case() {
        assert!(matches("ÖSTERSUND", &["Företagsby i Östersund"]));
        assert!(matches("åre", &["ÅRE DESTINATION"]));
        assert!(!matches("ore", &["Åre"]));
    }

    #[test]
    fn empty_long_and_control_texts_are_refused() {
        assert_eq!(Search::parse("   "), Err(SearchError::Empty));
        assert_eq!(Search::parse(""), Err(SearchError::Empty));
        let long = "a".repeat(MAX_SEARCH_CHARS + 1);
        assert_eq!(Search::parse(&long), Err(SearchError::TooLong));
        assert!(Search::parse(&"å".repeat(MAX_SEARCH_CHARS)).is_ok());
        assert_eq!(Search::parse("a\u{0}b"), Err(SearchError::ControlCharacter));
    }
}
