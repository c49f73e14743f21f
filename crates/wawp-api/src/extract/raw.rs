//! Reads the query string and the body **once**, by `Content-Type` (JSON, urlencoded,
//! multipart), and merges them into one JSON object (body wins), with bracket and dot names
//! nested: `file[url]`, `message.title`, `event.location.name`, `participants[]` repeats,
//! `participants[0]` indices. The result ([`RawParams`]) waits in the request's extensions for
//! the extractors (`Tenant`, `SessionRef`, `Params<T>`), which therefore never touch the body.

use std::convert::Infallible;

use axum::body::{Body, Bytes};
use axum::extract::{FromRequestParts, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::http::request::Parts;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};

use crate::error::{ApiError, Code};
use crate::state::AppState;

/// An uploaded file part of a multipart body (kept in memory, under the body limit).
#[derive(Clone, Debug)]
pub struct FilePart {
    /// The form field name (`file`).
    pub field: String,
    pub filename: Option<String>,
    pub content_type: Option<String>,
    pub bytes: Bytes,
}

/// The merged parameters of one request.
#[derive(Clone, Debug, Default)]
pub struct RawParams {
    pub value: Map<String, Value>,
    pub files: Vec<FilePart>,
}

impl RawParams {
    /// The value at a spec name (`file[url]`, `message.title`), descending into JSON given as a
    /// string where needed.
    pub fn lookup(&self, name: &str) -> Option<&Value> {
        let mut segments = split_name(name).into_iter();
        let first = segments.next()?;
        let mut current = self.value.get(&first)?;
        for seg in segments {
            current = match current {
                Value::Object(map) => map.get(&seg)?,
                Value::Array(items) => items.get(seg.parse::<usize>().ok()?)?,
                _ => return None,
            };
        }
        Some(current)
    }

    /// Present = not null and not an empty string (a JSON object given as a string counts for
    /// its own keys too: `message={"title":…}` satisfies `message.title`).
    pub fn is_present(&self, name: &str) -> bool {
        match self.lookup(name) {
            None => self.present_in_json_string(name),
            Some(Value::Null) => false,
            Some(Value::String(s)) => !s.trim().is_empty(),
            Some(_) => true,
        }
    }

    fn present_in_json_string(&self, name: &str) -> bool {
        let segments = split_name(name);
        let Some((first, rest)) = segments.split_first() else {
            return false;
        };
        let Some(Value::String(s)) = self.value.get(first) else {
            return false;
        };
        let Ok(parsed) = serde_json::from_str::<Value>(s) else {
            return false;
        };
        let mut current = &parsed;
        for seg in rest {
            match current.get(seg) {
                Some(next) => current = next,
                None => return false,
            }
        }
        !matches!(current, Value::Null) && current.as_str().is_none_or(|s| !s.trim().is_empty())
    }

    /// A string parameter (numbers accepted), trimmed; `None` when absent or empty.
    pub fn string(&self, name: &str) -> Option<String> {
        match self.lookup(name)? {
            Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        }
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RawParams {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, ApiError> {
        parts
            .extensions
            .get::<RawParams>()
            .cloned()
            .ok_or_else(|| ApiError::internal("parameter layer missing on this route"))
    }
}

/// Middleware: buffers and parses the parameters, then passes the request on with an empty body.
pub(crate) async fn buffer_params(
    State(state): State<AppState>,
    req: Request,
    next: Next,
) -> Response {
    let (mut parts, body) = req.into_parts();
    let limit = state.config.body_limit;
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::payload_too_large(limit).into_response(),
    };
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string();
    match parse(parts.uri.query(), &content_type, bytes).await {
        Ok(raw) => {
            parts.extensions.insert(raw);
            next.run(Request::from_parts(parts, Body::empty())).await
        }
        Err(err) => err.into_response(),
    }
}

/// Parses query and body into one object.
pub async fn parse(
    query: Option<&str>,
    content_type: &str,
    body: Bytes,
) -> Result<RawParams, ApiError> {
    let mut from_query = Map::new();
    if let Some(q) = query {
        insert_pairs(
            &mut from_query,
            form_urlencoded::parse(q.as_bytes()).map(|(k, v)| (k.into_owned(), v.into_owned())),
        );
    }
    let mut raw = RawParams::default();
    let mut from_body = Map::new();
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    if !body.iter().all(u8::is_ascii_whitespace) {
        match essence.as_str() {
            "application/x-www-form-urlencoded" => insert_pairs(
                &mut from_body,
                form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())),
            ),
            "multipart/form-data" => {
                parse_multipart(content_type, body, &mut from_body, &mut raw.files).await?
            }
            e if is_json(e) || (e.is_empty() || e == "text/plain") && looks_like_json(&body) => {
                from_body = parse_json(&body)?;
            }
            "" => insert_pairs(
                &mut from_body,
                form_urlencoded::parse(&body).map(|(k, v)| (k.into_owned(), v.into_owned())),
            ),
            _ => return Err(ApiError::unsupported_media_type(content_type)),
        }
    }
    deep_merge(&mut from_query, from_body);
    indices_to_arrays(&mut from_query);
    raw.value = from_query;
    Ok(raw)
}

fn is_json(essence: &str) -> bool {
    essence == "application/json" || essence.ends_with("+json")
}

fn looks_like_json(body: &[u8]) -> bool {
    body.iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

/// A JSON body; top-level bracket/dot names are nested like form names.
fn parse_json(body: &[u8]) -> Result<Map<String, Value>, ApiError> {
    let value: Value = serde_json::from_slice(body).map_err(|e| {
        ApiError::new(
            Code::InvalidParam,
            format!(
                "Malformed JSON body at line {}, column {}: {e}",
                e.line(),
                e.column()
            ),
        )
        .with("param", "body")
        .with("line", e.line())
        .with("column", e.column())
        .recommend(
            "Send a valid JSON object (check quotes, commas and brackets at the position given).",
        )
    })?;
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (k, v) in map {
                insert_at(&mut out, &split_name(&k), v, false);
            }
            Ok(out)
        }
        Value::Null => Ok(Map::new()),
        _ => Err(ApiError::invalid(
            "body",
            "The JSON body must be an object of parameters.",
        )),
    }
}

async fn parse_multipart(
    content_type: &str,
    body: Bytes,
    out: &mut Map<String, Value>,
    files: &mut Vec<FilePart>,
) -> Result<(), ApiError> {
    let bad = |e: multer::Error| {
        ApiError::new(Code::InvalidParam, format!("Malformed multipart body: {e}"))
            .with("param", "body")
            .recommend("Send a valid multipart/form-data body with a boundary.")
    };
    let boundary = multer::parse_boundary(content_type).map_err(bad)?;
    let stream = futures::stream::once(async move { Ok::<Bytes, Infallible>(body) });
    let mut multipart = multer::Multipart::new(stream, boundary);
    let mut pairs = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_string();
        if let Some(filename) = field.file_name().map(str::to_string) {
            let content_type = field.content_type().map(|m| m.to_string());
            let bytes = field.bytes().await.map_err(bad)?;
            files.push(FilePart {
                field: name,
                filename: Some(filename),
                content_type,
                bytes,
            });
        } else {
            pairs.push((name, field.text().await.map_err(bad)?));
        }
    }
    insert_pairs(out, pairs);
    Ok(())
}

fn insert_pairs(out: &mut Map<String, Value>, pairs: impl IntoIterator<Item = (String, String)>) {
    for (name, value) in pairs {
        if name.is_empty() {
            continue;
        }
        insert_at(out, &split_name(&name), Value::String(value), true);
    }
}

/// `a[b][]` → `["a","b",""]`; `a.b` → `["a","b"]`; `event.location[name]` → three segments.
/// An empty segment means "append to a list".
pub(crate) fn split_name(name: &str) -> Vec<String> {
    let (head, mut rest) = match name.find('[') {
        Some(i) if name.ends_with(']') => (&name[..i], &name[i..]),
        _ => (name, ""),
    };
    let mut segments: Vec<String> = head.split('.').map(str::to_string).collect();
    while let Some(stripped) = rest.strip_prefix('[') {
        let Some(end) = stripped.find(']') else { break };
        segments.push(stripped[..end].to_string());
        rest = &stripped[end + 1..];
    }
    segments
}

/// Puts `value` at `path`. With `repeat`, a second value for the same leaf makes a list.
fn insert_at(map: &mut Map<String, Value>, path: &[String], value: Value, repeat: bool) {
    let Some((key, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        match map.get_mut(key) {
            Some(Value::Array(items)) if repeat => items.push(value),
            Some(existing) if repeat && !existing.is_object() => {
                let first = existing.take();
                *existing = Value::Array(vec![first, value]);
            }
            _ => {
                map.insert(key.clone(), value);
            }
        }
        return;
    }
    if rest.len() == 1 && rest[0].is_empty() {
        // `name[]=v`: always a list.
        match map.get_mut(key) {
            Some(Value::Array(items)) => items.push(value),
            _ => {
                map.insert(key.clone(), Value::Array(vec![value]));
            }
        }
        return;
    }
    let slot = map
        .entry(key.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    if let Value::Object(inner) = slot {
        insert_at(inner, rest, value, repeat);
    }
}

/// Body over query: objects merge key by key, anything else is replaced.
fn deep_merge(base: &mut Map<String, Value>, over: Map<String, Value>) {
    for (k, v) in over {
        match (base.get_mut(&k), v) {
            (Some(Value::Object(b)), Value::Object(o)) => deep_merge(b, o),
            (_, v) => {
                base.insert(k, v);
            }
        }
    }
}

/// `{"0":a,"1":b}` (from `x[0]=a&x[1]=b`) → `[a,b]`, recursively.
fn indices_to_arrays(map: &mut Map<String, Value>) {
    for value in map.values_mut() {
        if let Value::Object(inner) = value {
            indices_to_arrays(inner);
            let n = inner.len();
            let dense = n > 0 && (0..n).all(|i| inner.contains_key(&i.to_string()));
            if dense {
                let items = (0..n)
                    .filter_map(|i| inner.remove(&i.to_string()))
                    .collect();
                *value = Value::Array(items);
            }
        }
    }
}

#[cfg(test)]
#[path = "raw_tests.rs"]
mod tests;
