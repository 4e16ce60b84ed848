//! Where each item of a submission read from a file came from, so that an error about
//! `values[10].value` can name the line and column of a CSV file or the cell of a workbook
//! (`Värden!G12`) that the officer has to fix.

use std::collections::HashMap;

use crate::domain::validation::FieldError;

/// The place one item (`values[3]`, `projects[1].indicators[0]`, `values[2].entities[5]`)
/// was read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The workbook's sheet; `None` for a CSV file.
    pub sheet: Option<&'static str>,
    /// The line of a CSV file or the row of a sheet, counting the header as 1.
    pub row: u64,
    /// The item's fields and the column each was read from: a header name for CSV, a column
    /// letter for a sheet. A field path matches its longest listed prefix (`by_sex.kvinnor`
    /// before `by_sex`); indices are ignored (`branscher[2]` is `branscher`).
    pub columns: &'static [(&'static str, &'static str)],
}

/// The origins of a submission's items by their path.
#[derive(Debug, Default)]
pub struct Origins(HashMap<String, Origin>);

impl Origins {
    pub fn new() -> Self {
        Origins::default()
    }

    pub fn insert(&mut self, item: String, origin: Origin) {
        self.0.insert(item, origin);
    }

    /// Names the line or cell of each error whose field lies in an item read from the file.
    pub fn name(&self, errors: &mut [FieldError]) {
        for error in errors {
            let Some((origin, rest)) = self.item_of(&error.field) else {
                continue;
            };
            let column = column_of(origin.columns, rest);
            match origin.sheet {
                None => {
                    error.line = Some(origin.row);
                    error.column = column.map(str::to_string);
                }
                Some(sheet) => {
                    error.sheet = Some(sheet.to_string());
                    error.row = Some(origin.row);
                    error.column = column.map(str::to_string);
                    error.cell = column.map(|column| format!("{sheet}!{column}{}", origin.row));
                }
            }
        }
    }

    /// The most specific item that `field` lies in, and the rest of the field after it.
    fn item_of<'a>(&self, field: &'a str) -> Option<(&Origin, &'a str)> {
        let mut end = field.len();
        loop {
            let (item, rest) = field.split_at(end);
            if let Some(origin) = self.0.get(item) {
                return Some((origin, rest.trim_start_matches('.')));
            }
            end = item.rfind(['.', '['])?;
        }
    }
}

/// The column of `field` (without its item), by its longest listed prefix.
fn column_of(columns: &[(&str, &'static str)], field: &str) -> Option<&'static str> {
    let field = strip_indices(field);
    columns
        .iter()
        .filter(|(name, _)| {
            field == *name
                || field.starts_with(name) && field[name.len()..].starts_with('.')
                || name.is_empty()
        })
        .max_by_key(|(name, _)| name.len())
        .map(|(_, column)| *column)
}

fn strip_indices(field: &str) -> String {
    let mut plain = String::with_capacity(field.len());
    let mut depth = 0;
    for c in field.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => plain.push(c),
            _ => {}
        }
    }
    plain
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALUE: &[(&str, &str)] = &[
        ("", "A"),
        ("value", "G"),
        ("by_sex", "H"),
        ("by_sex.man", "I"),
    ];
    const ENTERPRISE: &[(&str, &str)] = &[("", "D")];
    const LINE: &[(&str, &str)] = &[("value", "value")];

    fn named(origins: &Origins, field: &str) -> FieldError {
        let mut errors = [FieldError::new(field, "x", "y")];
        origins.name(&mut errors);
        errors[0].clone()
    }

    #[test]
    fn cells_are_named_by_the_most_specific_item_and_field() {
        let mut origins = Origins::new();
        let value = |row| Origin {
            sheet: Some("Värden"),
            row,
            columns: VALUE,
        };
        origins.insert("values[10]".into(), value(12));
        origins.insert(
            "values[10].entities[1]".into(),
            Origin {
                sheet: Some("Företag"),
                row: 7,
                columns: ENTERPRISE,
            },
        );
        let error = named(&origins, "values[10].value");
        assert_eq!(error.cell.as_deref(), Some("Värden!G12"));
        assert_eq!(
            (error.sheet.as_deref(), error.row, error.column.as_deref()),
            (Some("Värden"), Some(12), Some("G"))
        );
        assert_eq!(
            named(&origins, "values[10].by_sex.man").cell.as_deref(),
            Some("Värden!I12")
        );
        assert_eq!(
            named(&origins, "values[10].by_sex.kvinnor").cell.as_deref(),
            Some("Värden!H12")
        );
        assert_eq!(
            named(&origins, "values[10]").cell.as_deref(),
            Some("Värden!A12"),
            "an item's own error names its first cell"
        );
        assert_eq!(
            named(&origins, "values[10].entities[1]").cell.as_deref(),
            Some("Företag!D7")
        );
        assert_eq!(
            named(&origins, "values[100].value").cell,
            None,
            "values[10] is not a prefix of values[100]"
        );
        assert_eq!(named(&origins, "projects").row, None);
    }

    #[test]
    fn lines_are_named_for_csv() {
        let mut origins = Origins::new();
        origins.insert(
            "values[0]".into(),
            Origin {
                sheet: None,
                row: 2,
                columns: LINE,
            },
        );
        let error = named(&origins, "values[0].value");
        assert_eq!(
            (error.line, error.column.as_deref(), error.cell),
            (Some(2), Some("value"), None)
        );
        let error = named(&origins, "values[0].comment");
        assert_eq!((error.line, error.column), (Some(2), None));
    }

    #[test]
    fn indices_inside_an_item_are_ignored() {
        assert_eq!(strip_indices("branscher[2]"), "branscher");
        assert_eq!(column_of(&[("branscher", "I")], "branscher[2]"), Some("I"));
        assert_eq!(column_of(&[("by_sex", "H")], "by_sexy"), None);
    }
}
