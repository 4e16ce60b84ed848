//! Codes of the classification: län codes and the code-list dimensions.

use std::fmt;

/// The 21 län (SCB codes) that exist today, with their names.
pub const REGIONS: [(&str, &str); 21] = [
    ("01", "Stockholm"),
    ("03", "Uppsala"),
    ("04", "Södermanland"),
    ("05", "Östergötland"),
    ("06", "Jönköping"),
    ("07", "Kronoberg"),
    ("08", "Kalmar"),
    ("09", "Gotland"),
    ("10", "Blekinge"),
    ("12", "Skåne"),
    ("13", "Halland"),
    ("14", "Västra Götaland"),
    ("17", "Värmland"),
    ("18", "Örebro"),
    ("19", "Västmanland"),
    ("20", "Dalarna"),
    ("21", "Gävleborg"),
    ("22", "Västernorrland"),
    ("23", "Jämtland"),
    ("24", "Västerbotten"),
    ("25", "Norrbotten"),
];

/// A valid län code such as `07`. Codes of län that no longer exist (02, 11, 15, 16) are not.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RegionCode(String);

impl RegionCode {
    pub fn parse(code: &str) -> Option<RegionCode> {
        REGIONS
            .iter()
            .any(|(known, _)| *known == code)
            .then(|| RegionCode(code.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RegionCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The code lists of a project's classification, plus the results-chain levels and sexes.
/// The string is the dimension's name in the database and in `GET /api/v1/classifications`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Dimension {
    ProjectType,
    Sakomrade,
    Fokusomrade,
    Effektkedja,
    Bransch,
    Verktyg,
    Syfte,
    Status,
    Level,
    Sex,
}

impl Dimension {
    pub const ALL: [Dimension; 10] = [
        Dimension::ProjectType,
        Dimension::Sakomrade,
        Dimension::Fokusomrade,
        Dimension::Effektkedja,
        Dimension::Bransch,
        Dimension::Verktyg,
        Dimension::Syfte,
        Dimension::Status,
        Dimension::Level,
        Dimension::Sex,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Dimension::ProjectType => "project_type",
            Dimension::Sakomrade => "sakomrade",
            Dimension::Fokusomrade => "fokusomrade",
            Dimension::Effektkedja => "effektkedja",
            Dimension::Bransch => "bransch",
            Dimension::Verktyg => "verktyg",
            Dimension::Syfte => "syfte",
            Dimension::Status => "status",
            Dimension::Level => "levels",
            Dimension::Sex => "sex",
        }
    }

    pub fn parse(name: &str) -> Option<Dimension> {
        Dimension::ALL.into_iter().find(|d| d.as_str() == name)
    }

    /// Whether admins may add codes. The other lists are the national model itself
    /// (project types, sakområden, effektkedjor, statuses, levels, sexes); the open lists
    /// grow as new branches, tools, purposes and focus areas appear ("etc." in the seed).
    pub fn is_extendable(self) -> bool {
        matches!(
            self,
            Dimension::Bransch | Dimension::Verktyg | Dimension::Syfte | Dimension::Fokusomrade
        )
    }
}

/// Whether `code` has the shape of a code: 1 to 64 lowercase ASCII letters, digits and `_`.
pub fn is_code_shaped(code: &str) -> bool {
    !code.is_empty()
        && code.len() <= 64
        && code
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Whether `code` has the shape of an indicator code such as `RCO01` or `NAT-U01N`:
/// 1 to 32 uppercase ASCII letters, digits, `-` and `_`, starting with a letter.
pub fn is_indicator_code_shaped(code: &str) -> bool {
    code.len() <= 32
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_codes() {
        assert_eq!(RegionCode::parse("07").unwrap().as_str(), "07");
        for gone in ["02", "11", "15", "16", "7", "007", "", "26"] {
            assert!(RegionCode::parse(gone).is_none(), "{gone}");
        }
    }

    #[test]
    fn dimensions_round_trip() {
        for d in Dimension::ALL {
            assert_eq!(Dimension::parse(d.as_str()), Some(d));
        }
        assert_eq!(Dimension::parse("level"), None);
    }

    #[test]
    fn code_shapes() {
        assert!(is_code_shaped("innovation_foretagande"));
        assert!(!is_code_shaped("Innovation"));
        assert!(!is_code_shaped("a b"));
        assert!(is_indicator_code_shaped("NAT-U01N"));
        assert!(!is_indicator_code_shaped("rco01"));
        assert!(!is_indicator_code_shaped("1RCO"));
        assert!(!is_indicator_code_shaped(""));
    }
}
