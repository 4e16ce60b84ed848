//! The reporting workbook's sheets and columns, shared by the template that writes it and
//! the upload that reads it back: a column's place is fixed, so that an error can name its
//! cell and a renamed or moved header is found.

/// One sheet: its name, its headers from column A on, and the submission field each column
/// fills (by letter), for naming the cell of an error.
pub struct Layout {
    pub name: &'static str,
    pub headers: &'static [&'static str],
    pub fields: &'static [(&'static str, &'static str)],
}

pub const PROJEKT: Layout = Layout {
    name: "Projekt",
    headers: &[
        "ref",
        "titel",
        "organisation",
        "status",
        "projekttyp",
        "sakområde",
        "fokusområde",
        "effektkedja",
        "branscher",
        "verktyg",
        "syften",
        "startdatum",
        "slutdatum",
        "beviljat_kr",
        "total_budget_kr",
    ],
    fields: &[
        ("", "A"),
        ("ref", "A"),
        ("title", "B"),
        ("organisation", "C"),
        ("status", "D"),
        ("project_type", "E"),
        ("sakomrade", "F"),
        ("fokusomrade", "G"),
        ("effektkedja", "H"),
        ("branscher", "I"),
        ("verktyg", "J"),
        ("syften", "K"),
        ("start_date", "L"),
        ("end_date", "M"),
        ("granted_sek", "N"),
        ("total_budget_sek", "O"),
    ],
};

/// Projekt's columns with a drop-down, and the code list of each.
pub const PROJEKT_DROP_DOWNS: [(u16, &str); 5] = [
    (3, "status"),
    (4, "project_type"),
    (5, "sakomrade"),
    (6, "fokusomrade"),
    (7, "effektkedja"),
];

pub const PLANER: Layout = Layout {
    name: "Planer",
    headers: &[
        "ref",
        "indikator",
        "utgångsvärde",
        "utgångsår",
        "målvärde",
        "målformulering",
        "källa",
    ],
    fields: &[
        ("", "A"),
        ("indicator", "B"),
        ("baseline", "C"),
        ("baseline_year", "D"),
        ("target", "E"),
        ("goal", "F"),
        ("source", "G"),
    ],
};

pub const VARDEN: Layout = Layout {
    name: "Värden",
    headers: &[
        "ref",
        "halvår",
        "indikator",
        "namn",
        "enhet",
        "decimaler",
        "värde",
        "kvinnor",
        "män",
        "ej_angivet",
        "kommentar",
    ],
    fields: &[
        ("", "A"),
        ("project_ref", "A"),
        ("period", "B"),
        ("indicator", "C"),
        ("value", "G"),
        ("by_sex", "H"),
        ("by_sex.kvinnor", "H"),
        ("by_sex.man", "I"),
        ("by_sex.ej_angivet", "J"),
        ("comment", "K"),
    ],
};

/// Värden's columns that are read back; the others (name, unit, decimals) are there to
/// help the officer.
pub const VARDEN_VALUE: u16 = 6;
pub const VARDEN_COMMENT: u16 = 10;

pub const FORETAG: Layout = Layout {
    name: "Företag",
    headers: &[
        "ref",
        "halvår",
        "indikator",
        "organisationsnummer",
        "kommentar",
    ],
    fields: &[
        ("", "A"),
        ("project_ref", "A"),
        ("period", "B"),
        ("indicator", "C"),
        ("value", "D"),
        ("entities", "D"),
        ("comment", "E"),
    ],
};

/// One enterprise of a list: its organisationsnummer.
pub const FORETAG_ENTERPRISE: &[(&str, &str)] = &[("", "D")];

pub const BERATTELSER: Layout = Layout {
    name: "Berättelser",
    headers: &["ref", "halvår", "framsteg", "lärdomar", "avvikelser"],
    fields: &[
        ("", "A"),
        ("project_ref", "A"),
        ("period", "B"),
        ("progress", "C"),
        ("lessons", "D"),
        ("deviations", "E"),
    ],
};

/// The sheets an upload reads, in the workbook's order.
pub const DATA_SHEETS: [&Layout; 5] = [&PROJEKT, &PLANER, &VARDEN, &FORETAG, &BERATTELSER];

/// The workbook's defined name that holds the data version the template was made at: the
/// upload compares each cell with what was stored then, so that an old template cannot undo
/// a newer change. A defined name rather than a cell, as no one types over it by mistake.
pub const DATA_VERSION_NAME: &str = "uppfoljning_dataversion";

/// Sheets that only help the officer, and are not read.
pub const HELP_SHEETS: [&str; 2] = ["Instruktioner", "Koder"];

/// `A` … `Z`, `AA` …: the letters of a column index.
pub fn column_letter(column: u16) -> String {
    let mut index = u32::from(column) + 1;
    let mut letters = Vec::new();
    while index > 0 {
        let rest = (index - 1) % 26;
        letters.push(char::from(b'A' + rest as u8));
        index = (index - 1) / 26;
    }
    letters.iter().rev().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_letters() {
        assert_eq!(column_letter(0), "A");
        assert_eq!(column_letter(25), "Z");
        assert_eq!(column_letter(26), "AA");
    }

    #[test]
    fn every_field_names_a_column_of_its_sheet() {
        for layout in DATA_SHEETS {
            let letters: Vec<String> = (0..layout.headers.len() as u16)
                .map(column_letter)
                .collect();
            for (field, letter) in layout.fields {
                assert!(
                    letters.iter().any(|l| l == letter),
                    "{}: {field} → {letter}",
                    layout.name
                );
            }
        }
        assert_eq!(VARDEN.headers[VARDEN_VALUE as usize], "värde");
        assert_eq!(VARDEN.headers[VARDEN_COMMENT as usize], "kommentar");
    }
}
