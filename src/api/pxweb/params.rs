//! The query parameters and the body of PxWeb requests, read as the reference server reads
//! them: names in any case, lists as commas or repeated keys, unknown parameters ignored
//! (clients still send ones the specification has dropped, such as `outputValues[VAR]`).

use serde_json::Value;

use crate::domain::pxweb::selection::{Request, VariableRequest, split_values};
use crate::domain::pxweb::table::Language;
use crate::error::AppError;

/// More distinct variables than any table has (region, sex, contents, half-year): a
/// request naming more is refused before its names are compared with one another, so
/// that a body of a million names costs no more than one of a few.
const MAX_VARIABLES: usize = 8;

/// A refused parameter, titled as the reference server does.
pub fn refused(title: &'static str, detail: impl Into<String>) -> AppError {
    AppError::PxWeb {
        status: 400,
        title,
        detail: detail.into(),
    }
}

/// The query's parameters, names in lowercase (what is inside `[...]` kept as sent).
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: &str) -> Result<Params, AppError> {
        let pairs = actix_web::web::Query::<Vec<(String, String)>>::from_query(query)
            .map_err(|e| refused("Parameter error", format!("unreadable query: {e}")))?
            .into_inner();
        Ok(Params(
            pairs
                .into_iter()
                .map(|(name, value)| (lowercase_name(&name), value))
                .collect(),
        ))
    }

    /// The last value of a parameter.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map(|(_, value)| value.as_str())
    }

    /// A list parameter: comma-separated, or the name repeated.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(n, _)| n == name)
            .flat_map(|(_, value)| value.split(','))
            .map(|value| value.trim().to_string())
            .filter(|value| !value.is_empty())
            .collect()
    }

    /// `lang`: `sv` (default) or `en`.
    pub fn language(&self) -> Result<Language, AppError> {
        match self.get("lang") {
            None => Ok(Language::Sv),
            Some(text) => Language::parse(text).ok_or_else(|| {
                refused(
                    "Unsupported language",
                    format!("'{text}' is not a language of this API: sv or en"),
                )
            }),
        }
    }

    /// A whole number, or `None` when absent.
    pub fn number(&self, name: &str) -> Result<Option<i64>, AppError> {
        self.get(name)
            .map(|text| {
                text.trim().parse::<i64>().map_err(|_| {
                    refused("Parameter error", format!("{name} must be a whole number"))
                })
            })
            .transpose()
    }

    /// The selection of a GET data request: `valuecodes[VAR]=a,b`, `codelist[VAR]=ID`,
    /// `heading`, `stub`; `None` when it selects no values (the default selection then).
    pub fn selection(&self) -> Result<Option<Request>, AppError> {
        let mut request = Request {
            heading: self.list("heading"),
            stub: self.list("stub"),
            ..Request::default()
        };
        for (name, value) in &self.0 {
            if let Some(variable) = bracketed(name, "valuecodes") {
                variable_request(&mut request, variable)?
                    .values
                    .extend(split_values(value));
            } else if let Some(variable) = bracketed(name, "codelist") {
                variable_request(&mut request, variable)?.codelist = Some(value.clone());
            }
        }
        Ok(request
            .selections
            .iter()
            .any(|s| !s.values.is_empty())
            .then_some(request))
    }
}

/// The selection of a variable in `request`, added if not yet there; refused when that
/// would name more variables than any table has.
fn variable_request<'a>(
    request: &'a mut Request,
    variable: &str,
) -> Result<&'a mut VariableRequest, AppError> {
    let at = match request
        .selections
        .iter()
        .position(|s| s.variable.eq_ignore_ascii_case(variable))
    {
        Some(at) => at,
        None if request.selections.len() >= MAX_VARIABLES => {
            return Err(refused(
                "Non-existent variable",
                format!(
                    "the selection names more than {MAX_VARIABLES} variables; no table has as many"
                ),
            ));
        }
        None => {
            request.selections.push(VariableRequest {
                variable: variable.to_string(),
                codelist: None,
                values: Vec::new(),
            });
            request.selections.len() - 1
        }
    };
    Ok(&mut request.selections[at])
}

/// `valueCodes[Tid]` → `valuecodes[Tid]`: the name in lowercase, the variable as sent.
fn lowercase_name(name: &str) -> String {
    match name.split_once('[') {
        Some((head, rest)) => format!("{}[{rest}", head.to_ascii_lowercase()),
        None => name.to_ascii_lowercase(),
    }
}

/// The variable of `prefix[VAR]`.
fn bracketed<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    name.strip_prefix(prefix)?
        .strip_prefix('[')?
        .strip_suffix(']')
        .filter(|variable| !variable.is_empty())
}

/// The selection of a POST data request, `{"selection": [{"variableCode", "valueCodes",
/// "codelist"}], "placement": {"heading", "stub"}}` with names in any case; `None` for an
/// empty body or an empty selection (the default selection then).
pub fn body_selection(body: &[u8]) -> Result<Option<Request>, AppError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let malformed = |detail: String| refused("Parameter error", detail);
    let body: Value = serde_json::from_slice(body)
        .map_err(|e| malformed(format!("the body is not JSON: {e}")))?;
    let texts = |value: Option<&Value>, what: &str| -> Result<Vec<String>, AppError> {
        match value {
            None | Some(Value::Null) => Ok(Vec::new()),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(String::from)
                        .ok_or_else(|| malformed(format!("{what} must be a list of texts")))
                })
                .collect(),
            Some(_) => Err(malformed(format!("{what} must be a list of texts"))),
        }
    };
    let placement = field(&body, "placement");
    let mut request = Request {
        heading: texts(
            placement.and_then(|p| field(p, "heading")),
            "placement.heading",
        )?,
        stub: texts(placement.and_then(|p| field(p, "stub")), "placement.stub")?,
        ..Request::default()
    };
    let selections = match field(&body, "selection") {
        None | Some(Value::Null) => return Ok(None),
        Some(Value::Array(items)) => items,
        Some(_) => return Err(malformed("selection must be a list".into())),
    };
    for (i, item) in selections.iter().enumerate() {
        let variable = field(item, "variableCode")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(format!("selection[{i}].variableCode is required")))?;
        let codelist = match field(item, "codelist") {
            None | Some(Value::Null) => None,
            Some(Value::String(id)) => Some(id.clone()),
            Some(_) => return Err(malformed(format!("selection[{i}].codelist must be a text"))),
        };
        let values = texts(
            field(item, "valueCodes"),
            &format!("selection[{i}].valueCodes"),
        )?;
        let entry = variable_request(&mut request, variable)?;
        entry.values.extend(values);
        if codelist.is_some() {
            entry.codelist = codelist;
        }
    }
    Ok((!request.selections.is_empty()).then_some(request))
}

/// A member of a JSON object by its name in any case.
fn field<'a>(object: &'a Value, name: &str) -> Option<&'a Value> {
    object
        .as_object()?
        .iter()
        .find(|(key, _)| key.eq_ignore_ascii_case(name))
        .map(|(_, value)| value)
}
