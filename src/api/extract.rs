//! Request extractors whose failures come out as problem+json like every other error.

use actix_web::error::PayloadError;
use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, mime, web};
use chrono::{DateTime, Utc};
use futures_util::future::LocalBoxFuture;
use serde::de::{
    self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor,
};
use serde_json::error::Category;

use crate::api::formats::XLSX;
use crate::domain::codes::RegionCode;
use crate::domain::validation::FieldError;
use crate::error::AppError;

/// A JSON request body. Malformed JSON is a 400; JSON of the wrong shape a 422 that names
/// the field (`values[3].period`); a body over the size limit a 413.
pub struct JsonBody<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for JsonBody<T> {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = JsonBytes::from_request(request, payload);
        Box::pin(async move { parse_json(&body.await?.0).map(JsonBody) })
    }
}

/// The raw bytes of a JSON request body, within the size limit in force (`PayloadConfig`).
pub struct JsonBytes(pub web::Bytes);

impl FromRequest for JsonBytes {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let body = read_body(
            request,
            payload,
            is_json(request),
            "the body must be JSON with Content-Type: application/json",
        );
        Box::pin(async move { Ok(JsonBytes(body.await?)) })
    }
}

/// The formats a submission arrives in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmissionFormat {
    Json,
    Csv,
    Xlsx,
}

/// A submission's body, not yet read: JSON, CSV (`text/csv`) or the reporting workbook
/// (xlsx). It is read by `read`, once the handler has admitted it, so that a body refused
/// for lack of room is never held in memory.
pub struct SubmissionBody {
    pub format: SubmissionFormat,
    request: HttpRequest,
    payload: Payload,
}

impl FromRequest for SubmissionBody {
    type Error = AppError;
    type Future = std::future::Ready<Result<Self, AppError>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let mime = request.mime_type().ok().flatten();
        let format = if is_json(request) {
            Some(SubmissionFormat::Json)
        } else {
            mime.and_then(|mime| match mime.essence_str() {
                "text/csv" => Some(SubmissionFormat::Csv),
                XLSX => Some(SubmissionFormat::Xlsx),
                _ => None,
            })
        };
        std::future::ready(match format {
            Some(format) => Ok(SubmissionBody {
                format,
                request: request.clone(),
                payload: payload.take(),
            }),
            None => Err(AppError::UnsupportedMediaType(
                "the body must be JSON (application/json), CSV (text/csv) or an Excel workbook (application/vnd.openxmlformats-officedocument.spreadsheetml.sheet)".into(),
            )),
        })
    }
}

impl SubmissionBody {
    /// The length the client declared (`Content-Length`), if any.
    pub fn declared_length(&self) -> Option<u64> {
        self.request
            .headers()
            .get(actix_web::http::header::CONTENT_LENGTH)?
            .to_str()
            .ok()?
            .parse()
            .ok()
    }

    /// Reads the body within the size limit in force.
    pub async fn read(mut self) -> Result<web::Bytes, AppError> {
        read_body(&self.request, &mut self.payload, true, "").await
    }
}

fn is_json(request: &HttpRequest) -> bool {
    request.mime_type().ok().flatten().is_some_and(|mime| {
        mime.type_() == mime::APPLICATION
            && (mime.subtype() == mime::JSON || mime.suffix() == Some(mime::JSON))
    })
}

/// Reads a body of an accepted media type, within the size limit in force.
fn read_body(
    request: &HttpRequest,
    payload: &mut Payload,
    accepted: bool,
    refusal: &'static str,
) -> LocalBoxFuture<'static, Result<web::Bytes, AppError>> {
    let body = web::Bytes::from_request(request, payload);
    Box::pin(async move {
        if !accepted {
            return Err(AppError::UnsupportedMediaType(refusal.into()));
        }
        body.await
            .map_err(|error| match error.as_error::<PayloadError>() {
                Some(PayloadError::Overflow) => AppError::PayloadTooLarge(
                    "the body is larger than this endpoint accepts".into(),
                ),
                _ => AppError::BadRequest("the body could not be read".into()),
            })
    })
}

/// Parses a JSON document, naming the field where its shape is wrong. Text with a NUL
/// character is refused here, for every body at once: no identifier or text holds one, and
/// PostgreSQL cannot store it.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, AppError> {
    if has_nul_escape(bytes)
        && let Some(field) = nul_field(bytes)
    {
        return Err(AppError::invalid(
            if field.is_empty() { "body" } else { &field },
            "nul_character",
            "text must not contain the NUL character (\\u0000)",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        // Numbers are read exactly through serde_json's private number token; it is no
        // field of the client's.
        let field = error
            .path()
            .to_string()
            .replace(".$serde_json::private::Number", "");
        let error = error.into_inner();
        match error.classify() {
            Category::Data => AppError::Invalid(vec![FieldError::new(
                if field == "." {
                    "body".to_string()
                } else {
                    field
                },
                "invalid_value",
                strip_position(&error.to_string()),
            )]),
            Category::Syntax | Category::Eof | Category::Io if field != "." => {
                AppError::BadRequest(format!("malformed JSON at {field}: {error}"))
            }
            Category::Syntax | Category::Eof | Category::Io => {
                AppError::BadRequest(format!("malformed JSON: {error}"))
            }
        }
    })?;
    deserializer
        .end()
        .map_err(|error| AppError::BadRequest(format!("malformed JSON: {error}")))?;
    Ok(value)
}

/// Whether the JSON text escapes a NUL character (`\u0000`) anywhere: a backslash that is
/// not itself escaped, followed by `u0000`. A raw NUL byte is malformed JSON already.
fn has_nul_escape(bytes: &[u8]) -> bool {
    const ESCAPE: &[u8] = b"u0000";
    let mut backslashes = 0;
    for (position, byte) in bytes.iter().enumerate() {
        if *byte == b'\\' {
            backslashes += 1;
            continue;
        }
        if backslashes % 2 == 1 && bytes[position..].starts_with(ESCAPE) {
            return true;
        }
        backslashes = 0;
    }
    false
}

/// The path (`projects[0].organisation`) of the first text in the JSON document `bytes`
/// that holds a NUL character, named as a field error names it. The document is walked, not
/// built: a body of a million items costs its path, not a tree many times its size.
fn nul_field(bytes: &[u8]) -> Option<String> {
    let mut found = None;
    let search = NulSearch {
        path: String::new(),
        found: &mut found,
    };
    // The walk stops with an error where it finds one; a malformed document is named by
    // the parse that follows.
    let _ = search.deserialize(&mut serde_json::Deserializer::from_slice(bytes));
    found
}

/// One step of `nul_field`'s walk: the value at `path`.
struct NulSearch<'a> {
    path: String,
    found: &'a mut Option<String>,
}

impl NulSearch<'_> {
    fn member(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    fn stop<E: de::Error>(self, path: String) -> Result<(), E> {
        *self.found = Some(path);
        Err(E::custom("a NUL character"))
    }
}

impl<'de> DeserializeSeed<'de> for NulSearch<'_> {
    type Value = ();

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for NulSearch<'_> {
    type Value = ();

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("any JSON value")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<(), E> {
        if text.contains('\0') {
            let path = self.path.clone();
            return self.stop(path);
        }
        Ok(())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<(), E> {
        Ok(())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<(), E> {
        Ok(())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<(), E> {
        Ok(())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<(), E> {
        Ok(())
    }

    fn visit_unit<E: de::Error>(self) -> Result<(), E> {
        Ok(())
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
        let mut index = 0;
        loop {
            let item = NulSearch {
                path: format!("{}[{index}]", self.path),
                found: &mut *self.found,
            };
            if items.next_element_seed(item)?.is_none() {
                return Ok(());
            }
            index += 1;
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, mut fields: A) -> Result<(), A::Error> {
        while let Some(key) = fields.next_key::<std::borrow::Cow<'de, str>>()? {
            let path = self.member(&key);
            if key.contains('\0') {
                return self.stop(path);
            }
            fields.next_value_seed(NulSearch {
                path,
                found: &mut *self.found,
            })?;
        }
        Ok(())
    }
}

/// serde's messages end in " at line L column C", which says nothing once the field is named.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(position) => message[..position].to_string(),
        None => message.to_string(),
    }
}

/// Query strings that do not fit their parameters are a 422 naming the query.
pub fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|error, _| {
        AppError::invalid("query", "invalid_query", error.to_string()).into()
    })
}

/// Path segments that do not fit their parameters name no resource.
pub fn path_config() -> web::PathConfig {
    web::PathConfig::default()
        .error_handler(|_, _| AppError::NotFound("no such resource".into()).into())
}

/// The region of the path; a code that is no län names no resource.
pub fn parse_region(text: &str) -> Result<RegionCode, AppError> {
    RegionCode::parse(text).ok_or_else(|| AppError::NotFound(format!("no region '{text}'")))
}

/// An `as_of` parameter: an RFC 3339 instant, or 422 naming the field.
pub fn parse_as_of(text: Option<&str>) -> Result<Option<DateTime<Utc>>, AppError> {
    text.map(|text| {
        DateTime::parse_from_rfc3339(text)
            .map(|time| time.with_timezone(&Utc))
            .map_err(|_| {
                AppError::invalid(
                    "as_of",
                    "invalid_time",
                    "must be an RFC 3339 time such as 2026-09-30T12:00:00Z",
                )
            })
    })
    .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_escapes_are_found_and_escaped_backslashes_are_not() {
        assert!(has_nul_escape(br#"{"code": "A\u0000"}"#));
        assert!(
            has_nul_escape(br#"["\\\u0000"]"#),
            "an escaped backslash, then NUL"
        );
        assert!(
            !has_nul_escape(br#"["\\u0000"]"#),
            "a backslash and the text u0000"
        );
        assert!(!has_nul_escape(br#"{"code": "u0000"}"#));
        assert!(has_nul_escape(br#"{"a": "\u00001"}"#), "NUL, then 1");
    }

    #[test]
    fn a_nul_character_is_named_by_its_field() {
        let refused = parse_json::<serde_json::Value>(
            br#"{"projects": [{"ref": "A"}, {"title": "x\u0000"}]}"#,
        );
        match refused {
            Err(AppError::Invalid(errors)) => {
                assert_eq!(errors[0].field, "projects[1].title");
                assert_eq!(errors[0].code, "nul_character");
            }
            other => panic!("refused: {other:?}"),
        }
        assert!(parse_json::<serde_json::Value>(br#"{"a": "\\u0000"}"#).is_ok());
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        items: Vec<Item>,
    }

    #[derive(Debug, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Item {
        period: String,
    }

    #[test]
    fn shape_errors_name_the_field() {
        let error =
            parse_json::<Body>(br#"{"items": [{"period": "x"}, {"period": 3}]}"#).unwrap_err();
        let AppError::Invalid(errors) = error else {
            panic!("{error:?}")
        };
        assert_eq!(errors[0].field, "items[1].period");
        let error = parse_json::<Body>(br#"{"items": [], "extra": 1}"#).unwrap_err();
        let AppError::Invalid(errors) = error else {
            panic!("{error:?}")
        };
        assert_eq!(errors[0].field, "extra");
        assert!(
            errors[0].message.contains("unknown field `extra`"),
            "{}",
            errors[0].message
        );
    }

    #[test]
    fn syntax_errors_are_malformed() {
        assert!(matches!(
            parse_json::<Body>(b"{\"items\": ["),
            Err(AppError::BadRequest(_))
        ));
        assert!(matches!(
            parse_json::<Body>(br#"{"items": []} {}"#),
            Err(AppError::BadRequest(_))
        ));
        let deep = "[".repeat(1000);
        assert!(matches!(
            parse_json::<serde_json::Value>(deep.as_bytes()),
            Err(AppError::BadRequest(_))
        ));
    }
}
