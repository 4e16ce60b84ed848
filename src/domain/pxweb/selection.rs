//! The PxWeb API 2 selection language: which values of each variable a data request takes
//! (codes and the expressions `*`, `ab*`, `?`, `TOP(n[,offset])`, `BOTTOM(n[,offset])`,
//! `FROM(code)`, `TO(code)`, `RANGE(a,b)`), and how the answer is placed (`heading`,
//! `stub`). Names and expressions are matched without regard to case, as the reference
//! server does.

use super::table::{CONTENTS, Role, TIME, Table};

/// A request the specification refuses; `title` is the reference server's title for it,
/// which the clients show.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SelectionError {
    NonExistentVariable(String),
    NonExistentCodelist(String),
    NonExistentValue {
        variable: String,
        value: String,
    },
    MissingSelection(String),
    IllegalExpression {
        variable: String,
        expression: String,
    },
    IllegalPlacement(String),
    TooManyCells {
        cells: usize,
        max: usize,
    },
}

impl SelectionError {
    pub fn title(&self) -> &'static str {
        match self {
            SelectionError::NonExistentVariable(_) => "Non-existent variable",
            SelectionError::NonExistentCodelist(_) => "Non-existent codelist",
            SelectionError::NonExistentValue { .. } => "Non-existent value",
            SelectionError::MissingSelection(_) => "Missing selection for mandantory variable",
            SelectionError::IllegalExpression { .. } => "Illegal selection expression",
            SelectionError::IllegalPlacement(_) => "Illegal placment",
            SelectionError::TooManyCells { .. } => "Too many cells selected",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            SelectionError::NonExistentVariable(variable) => {
                format!("the table has no variable '{variable}'")
            }
            SelectionError::NonExistentCodelist(variable) => {
                format!("the variable '{variable}' has no code lists")
            }
            SelectionError::NonExistentValue { variable, value } => {
                format!("the variable '{variable}' has no value '{value}'")
            }
            SelectionError::MissingSelection(variable) => {
                format!("the variable '{variable}' cannot be left out: select at least one value")
            }
            SelectionError::IllegalExpression {
                variable,
                expression,
            } => format!(
                "'{expression}' of variable '{variable}' is not a value code nor an expression \
                 (*, ab*, *ab, ?, TOP(n), TOP(n,offset), BOTTOM(n), BOTTOM(n,offset), FROM(code), TO(code), RANGE(code1,code2))"
            ),
            SelectionError::IllegalPlacement(reason) => reason.clone(),
            SelectionError::TooManyCells { cells, max } => {
                format!(
                    "the selection has {cells} cells; at most {max} are answered: select fewer values"
                )
            }
        }
    }
}

/// What a client asked for: the values per variable (codes and expressions as sent), and
/// the placement. A variable left out takes its total, if it has one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub selections: Vec<VariableRequest>,
    pub heading: Vec<String>,
    pub stub: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VariableRequest {
    pub variable: String,
    pub codelist: Option<String>,
    pub values: Vec<String>,
}

/// A checked selection: per variable of the table (in the table's order) the indices of
/// the categories taken, in the table's order; and which variables the answer shows, in
/// its order (stub, then heading). A variable left out takes its total and is not shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    pub taken: Vec<Vec<usize>>,
    pub stub: Vec<usize>,
    pub heading: Vec<usize>,
}

impl Selection {
    /// The variables the answer shows, in its order: stub, then heading.
    pub fn shown(&self) -> Vec<usize> {
        self.stub.iter().chain(&self.heading).copied().collect()
    }

    pub fn cells(&self) -> usize {
        self.taken.iter().map(Vec::len).product()
    }
}

/// The values of a `valuecodes[VAR]=` parameter: split on commas, except within a value
/// wrapped in `[...]`, which may hold commas (and loses its brackets), and within an
/// expression's parentheses (`RANGE(a,b)`, `TOP(n,offset)`), where the reference server
/// would need the brackets.
pub fn split_values(text: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut current = String::new();
    let mut bracketed = false;
    let mut parentheses = 0usize;
    for c in text.chars() {
        match c {
            '[' if current.is_empty() => bracketed = true,
            ']' if bracketed => bracketed = false,
            ',' if !bracketed && parentheses == 0 => values.push(std::mem::take(&mut current)),
            _ => {
                match c {
                    '(' => parentheses += 1,
                    ')' => parentheses = parentheses.saturating_sub(1),
                    _ => {}
                }
                current.push(c);
            }
        }
    }
    values.push(current);
    values
        .into_iter()
        .map(|v| v.trim().to_string())
        .filter(|v| !v.is_empty())
        .collect()
}

/// The table's default selection, as the data endpoints answer a request without one: every
/// region, the figure itself, the latest half-year; the sex left out (its total).
pub fn default_request() -> Request {
    let all = |variable: &str, values: &[&str]| VariableRequest {
        variable: variable.into(),
        codelist: None,
        values: values.iter().map(|v| v.to_string()).collect(),
    };
    Request {
        selections: vec![
            all(super::table::REGION, &["*"]),
            all(CONTENTS, &["value"]),
            all(TIME, &["TOP(1)"]),
        ],
        heading: vec![CONTENTS.into(), TIME.into()],
        stub: vec![super::table::REGION.into()],
    }
}

/// Checks a request against a table: every variable it names exists, every variable that
/// cannot be left out is selected, every value and expression names values, the placement
/// names each shown variable once, and the cells are at most `max_cells`.
pub fn resolve(
    table: &Table,
    request: &Request,
    max_cells: usize,
) -> Result<Selection, SelectionError> {
    let variables = &table.variables;
    let find = |name: &str| {
        variables
            .iter()
            .position(|v| v.code.eq_ignore_ascii_case(name))
            .ok_or_else(|| SelectionError::NonExistentVariable(name.to_string()))
    };
    let mut asked: Vec<Option<Vec<String>>> = vec![None; variables.len()];
    for selection in &request.selections {
        let i = find(&selection.variable)?;
        if selection.codelist.is_some() {
            return Err(SelectionError::NonExistentCodelist(
                variables[i].code.into(),
            ));
        }
        if !selection.values.is_empty() {
            asked[i]
                .get_or_insert_with(Vec::new)
                .extend(selection.values.iter().cloned());
        }
    }
    let mut taken = Vec::new();
    let mut shown = Vec::new();
    for (i, variable) in variables.iter().enumerate() {
        match (&asked[i], variable.elimination) {
            (Some(values), _) => {
                let codes = variable.codes();
                let mut indices = Vec::new();
                for value in values {
                    indices.extend(expand(
                        variable.code,
                        &codes,
                        variable.role == Role::Time,
                        value,
                    )?);
                }
                indices.sort_unstable();
                indices.dedup();
                if indices.is_empty() {
                    return Err(SelectionError::NonExistentValue {
                        variable: variable.code.into(),
                        value: values.join(","),
                    });
                }
                taken.push(indices);
                shown.push(i);
            }
            (None, Some(total)) => {
                taken.push(vec![
                    variable.index_of(total).expect("the total is a category"),
                ]);
            }
            (None, None) => return Err(SelectionError::MissingSelection(variable.code.into())),
        }
    }
    let (stub, heading) = place(table, &shown, request)?;
    let selection = Selection {
        taken,
        stub,
        heading,
    };
    let cells = selection.cells();
    if cells > max_cells {
        return Err(SelectionError::TooManyCells {
            cells,
            max: max_cells,
        });
    }
    Ok(selection)
}

/// Where the shown variables go. Without a placement: the contents and the half-year as
/// columns (heading), the rest as rows (stub). With one: the variables it names where it
/// names them, the others to the side it leaves out (or the stub).
fn place(
    table: &Table,
    shown: &[usize],
    request: &Request,
) -> Result<(Vec<usize>, Vec<usize>), SelectionError> {
    let name = |i: usize| table.variables[i].code;
    if request.heading.is_empty() && request.stub.is_empty() {
        let (heading, stub): (Vec<usize>, Vec<usize>) = shown
            .iter()
            .partition(|i| [CONTENTS, TIME].contains(&name(**i)));
        return Ok((stub, heading));
    }
    let mut placed: Vec<usize> = Vec::new();
    let mut resolve_side = |names: &[String]| -> Result<Vec<usize>, SelectionError> {
        let mut side = Vec::new();
        for asked in names {
            let Some(&i) = shown.iter().find(|i| name(**i).eq_ignore_ascii_case(asked)) else {
                return Err(SelectionError::IllegalPlacement(format!(
                    "'{asked}' is not a selected variable of the table"
                )));
            };
            if placed.contains(&i) {
                return Err(SelectionError::IllegalPlacement(format!(
                    "'{asked}' is placed twice"
                )));
            }
            placed.push(i);
            side.push(i);
        }
        Ok(side)
    };
    let mut heading = resolve_side(&request.heading)?;
    let mut stub = resolve_side(&request.stub)?;
    let rest = shown.iter().copied().filter(|i| !placed.contains(i));
    if request.stub.is_empty() {
        stub.extend(rest);
    } else if request.heading.is_empty() {
        heading.extend(rest);
    } else {
        stub.extend(rest);
    }
    Ok((stub, heading))
}

/// The indices of the categories one value or expression selects, in the table's order.
fn expand(
    variable: &str,
    codes: &[&str],
    time: bool,
    text: &str,
) -> Result<Vec<usize>, SelectionError> {
    let illegal = || SelectionError::IllegalExpression {
        variable: variable.to_string(),
        expression: text.to_string(),
    };
    let index = |code: &str| {
        codes
            .iter()
            .position(|c| c.eq_ignore_ascii_case(code.trim()))
            .ok_or_else(|| SelectionError::NonExistentValue {
                variable: variable.to_string(),
                value: code.trim().to_string(),
            })
    };
    let all: Vec<usize> = (0..codes.len()).collect();
    if let Some((name, arguments)) = function(text) {
        let arguments: Vec<&str> = arguments.split(',').map(str::trim).collect();
        return match (name.as_str(), arguments.as_slice()) {
            ("TOP" | "BOTTOM", [count] | [count, _]) => {
                let count = positive(count).ok_or_else(illegal)?;
                let offset = match arguments.get(1) {
                    Some(offset) => offset.parse::<usize>().map_err(|_| illegal())?,
                    None => 0,
                };
                // The latest half-years come first for TOP, the earliest for BOTTOM; other
                // variables in their order.
                let from_end = (name == "TOP") == time;
                let mut order = all;
                if from_end {
                    order.reverse();
                }
                Ok(order.into_iter().skip(offset).take(count).collect())
            }
            ("FROM", [code]) if !code.is_empty() => Ok((index(code)?..codes.len()).collect()),
            ("TO", [code]) if !code.is_empty() => Ok((0..=index(code)?).collect()),
            ("RANGE", [first, last]) if !first.is_empty() && !last.is_empty() => {
                let (first, last) = (index(first)?, index(last)?);
                Ok((first.min(last)..=first.max(last)).collect())
            }
            _ => Err(illegal()),
        };
    }
    if text.contains('*') || text.contains('?') {
        let pattern = wildcard(text).ok_or_else(illegal)?;
        return Ok(all
            .into_iter()
            .filter(|i| pattern.matches(codes[*i]))
            .collect());
    }
    Ok(vec![index(text)?])
}

/// `NAME(arguments)` with NAME one of the expressions' names, in any case.
fn function(text: &str) -> Option<(String, &str)> {
    let open = text.find('(')?;
    let name = text[..open].trim().to_ascii_uppercase();
    if !["TOP", "BOTTOM", "FROM", "TO", "RANGE"].contains(&name.as_str()) {
        return None;
    }
    let arguments = text[open + 1..].trim_end().strip_suffix(')')?;
    Some((name, arguments))
}

fn positive(text: &str) -> Option<usize> {
    text.parse::<usize>().ok().filter(|n| *n > 0)
}

/// A code pattern: `*` at its start, end or both (at most two), `?` for one character.
struct Wildcard {
    text: String,
    at_start: bool,
    at_end: bool,
}

fn wildcard(text: &str) -> Option<Wildcard> {
    let at_start = text.starts_with('*');
    let inner = text.strip_prefix('*').unwrap_or(text);
    let at_end = inner.ends_with('*');
    let inner = inner.strip_suffix('*').unwrap_or(inner);
    if inner.contains('*') {
        return None;
    }
    Some(Wildcard {
        text: inner.to_ascii_lowercase(),
        at_start,
        at_end,
    })
}

impl Wildcard {
    fn matches(&self, code: &str) -> bool {
        let code = code.to_ascii_lowercase();
        let pattern: Vec<char> = self.text.chars().collect();
        let code: Vec<char> = code.chars().collect();
        let fits = |start: usize| {
            start + pattern.len() <= code.len()
                && pattern
                    .iter()
                    .zip(&code[start..])
                    .all(|(p, c)| *p == '?' || p == c)
        };
        if pattern.len() > code.len() {
            return false;
        }
        let last = code.len() - pattern.len();
        match (self.at_start, self.at_end) {
            (false, false) => last == 0 && fits(0),
            (false, true) => fits(0),
            (true, false) => fits(last),
            (true, true) => (0..=last).any(fits),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::table::tests::{published, regions};
    use super::super::table::{Table, newest_per_half_year, tables};
    use super::*;

    /// Table B: Region (00, 01, 07), Kon (totalt, kvinnor, man, ej_angivet), ContentsCode
    /// (4), Tid (2025H2); table A: Region, ContentsCode, Tid (2025H2, 2026H1).
    fn table(id: &str) -> Table {
        tables(&newest_per_half_year(published()), &regions())
            .into_iter()
            .find(|t| t.id == id)
            .unwrap()
    }

    fn ask(pairs: &[(&str, &str)]) -> Request {
        Request {
            selections: pairs
                .iter()
                .map(|(variable, values)| VariableRequest {
                    variable: variable.to_string(),
                    codelist: None,
                    values: split_values(values),
                })
                .collect(),
            ..Request::default()
        }
    }

    fn taken(table: &Table, pairs: &[(&str, &str)]) -> Result<Vec<Vec<usize>>, SelectionError> {
        resolve(table, &ask(pairs), 1000).map(|s| s.taken)
    }

    #[test]
    fn values_split_on_commas_outside_brackets() {
        assert_eq!(split_values("01, 07"), ["01", "07"]);
        assert_eq!(split_values("[a,b],c"), ["a,b", "c"]);
        assert_eq!(
            split_values("RANGE(01,07),TOP(1,2)"),
            ["RANGE(01,07)", "TOP(1,2)"]
        );
        assert_eq!(split_values(""), Vec::<String>::new());
    }

    #[test]
    fn expressions_select_in_the_tables_order() {
        let a = table("A");
        let with = |region: &str, time: &str| {
            taken(
                &a,
                &[("region", region), ("CONTENTSCODE", "value"), ("tid", time)],
            )
        };
        assert_eq!(
            with("*", "*").unwrap(),
            [vec![0, 1, 2], vec![0], vec![0, 1]]
        );
        assert_eq!(
            with("07,00", "2026h1").unwrap(),
            [vec![0, 2], vec![0], vec![1]]
        );
        // TOP on the time variable: the latest; elsewhere the first.
        assert_eq!(
            with("top(2)", "TOP(1)").unwrap(),
            [vec![0, 1], vec![0], vec![1]]
        );
        assert_eq!(
            with("BOTTOM(1)", "bottom(1)").unwrap(),
            [vec![2], vec![0], vec![0]]
        );
        assert_eq!(
            with("TOP(1,1)", "TOP(1,1)").unwrap(),
            [vec![1], vec![0], vec![0]]
        );
        assert_eq!(
            with("FROM(01)", "TO(2025H2)").unwrap(),
            [vec![1, 2], vec![0], vec![0]]
        );
        assert_eq!(
            with("RANGE(00,01)", "*").unwrap(),
            [vec![0, 1], vec![0], vec![0, 1]]
        );
        assert_eq!(
            with("0?", "2026*").unwrap(),
            [vec![0, 1, 2], vec![0], vec![1]]
        );
        assert_eq!(with("*7", "*H*").unwrap(), [vec![2], vec![0], vec![0, 1]]);
    }

    #[test]
    fn a_variable_with_a_total_may_be_left_out() {
        let b = table("B");
        let selection =
            resolve(&b, &ask(&[("ContentsCode", "value"), ("Tid", "*")]), 1000).unwrap();
        // Riket and totalt, not shown.
        assert_eq!(selection.taken, [vec![0], vec![0], vec![0], vec![0]]);
        assert_eq!(selection.shown(), [2, 3]);
        assert_eq!(
            resolve(&b, &ask(&[("ContentsCode", "value")]), 1000),
            Err(SelectionError::MissingSelection("Tid".into()))
        );
    }

    #[test]
    fn bad_selections_are_named() {
        let a = table("A");
        let base = [("ContentsCode", "value"), ("Tid", "*")];
        let with = |pair: (&str, &str)| {
            let mut pairs = base.to_vec();
            pairs.push(pair);
            taken(&a, &pairs).unwrap_err()
        };
        assert_eq!(
            with(("Kon", "1")),
            SelectionError::NonExistentVariable("Kon".into())
        );
        assert_eq!(
            with(("Region", "9*")),
            SelectionError::NonExistentValue {
                variable: "Region".into(),
                value: "9*".into()
            }
        );
        assert_eq!(
            with(("Region", "99")),
            SelectionError::NonExistentValue {
                variable: "Region".into(),
                value: "99".into()
            }
        );
        for bad in [
            "TOP(0)",
            "TOP(x)",
            "BOTTOM(1,2,3)",
            "FROM()",
            "RANGE(00)",
            "*0*1*",
        ] {
            assert!(
                matches!(
                    with(("Region", bad)),
                    SelectionError::IllegalExpression { .. }
                ),
                "{bad}"
            );
        }
        let codelist = Request {
            selections: vec![VariableRequest {
                variable: "Region".into(),
                codelist: Some("vs_Lan".into()),
                values: vec!["*".into()],
            }],
            ..Request::default()
        };
        assert_eq!(
            resolve(&a, &codelist, 1000),
            Err(SelectionError::NonExistentCodelist("Region".into()))
        );
    }

    #[test]
    fn too_many_cells_are_refused() {
        let a = table("A");
        let request = ask(&[("Region", "*"), ("ContentsCode", "*"), ("Tid", "*")]);
        assert_eq!(resolve(&a, &request, 24).unwrap().cells(), 24);
        assert_eq!(
            resolve(&a, &request, 23),
            Err(SelectionError::TooManyCells { cells: 24, max: 23 })
        );
    }

    #[test]
    fn placement_puts_each_shown_variable_once() {
        let a = table("A");
        let mut request = ask(&[("Region", "*"), ("ContentsCode", "*"), ("Tid", "*")]);
        let selection = resolve(&a, &request, 1000).unwrap();
        assert_eq!((selection.stub, selection.heading), (vec![0], vec![1, 2]));
        request.heading = vec!["region".into()];
        let selection = resolve(&a, &request, 1000).unwrap();
        assert_eq!((selection.stub, selection.heading), (vec![1, 2], vec![0]));
        request.stub = vec!["tid".into()];
        let selection = resolve(&a, &request, 1000).unwrap();
        assert_eq!((selection.stub, selection.heading), (vec![2, 1], vec![0]));
        request.stub = vec!["Region".into()];
        assert!(matches!(
            resolve(&a, &request, 1000),
            Err(SelectionError::IllegalPlacement(_))
        ));
        request.stub = vec!["Kon".into()];
        assert!(matches!(
            resolve(&a, &request, 1000),
            Err(SelectionError::IllegalPlacement(_))
        ));
    }
}
