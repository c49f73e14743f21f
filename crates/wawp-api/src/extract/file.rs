//! The spec's `file` parameter: `file[url]` (with `file[filename]` and `file[mimetype]`), the
//! same object given as a JSON string (`file={"url":…}`), or instead a `multipart/form-data`
//! upload in a part named `file` (API-CONVENTIONS.md "Parameters").
//!
//! [`WithFile<T>`] is [`Params<T>`](super::Params) for routes that send a file: `file[url]` in
//! `T::REQUIRED` is satisfied by an uploaded part, and every missing name is still reported at
//! once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use wawp_core::media::{FileInput, FileSource};

use crate::error::ApiError;
use crate::extract::params::{Required, missing_names, typed};
use crate::extract::raw::RawParams;

/// `file` as documented (for the OpenAPI schema): a URL, or an upload in a multipart part `file`.
#[derive(Debug, Deserialize, ToSchema)]
pub struct FileFields {
    /// Where wawp fetches the file (http or https; private addresses are refused unless allowed).
    #[schema(example = "https://example.com/cat.jpg")]
    pub url: Option<String>,
    /// File name shown to the recipient (documents); default: the URL's last segment.
    #[schema(example = "cat.jpg")]
    pub filename: Option<String>,
    /// Declared MIME type; the type read from the bytes wins.
    #[schema(example = "image/jpeg")]
    pub mimetype: Option<String>,
}

/// Typed parameters plus the file (extractor).
#[derive(Debug)]
pub struct WithFile<T>(pub T, pub FileInput);

impl<T, S> FromRequestParts<S> for WithFile<T>
where
    T: Required + DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let raw = RawParams::from_request_parts(parts, state).await?;
        let file = file_input(&raw, "file");
        let names: Vec<&str> = T::REQUIRED
            .iter()
            .copied()
            .filter(|n| !(n.starts_with("file") && file.is_some()))
            .collect();
        let mut missing = missing_names(parts, &raw, &names);
        if file.is_none() && !missing.iter().any(|m| m.starts_with("file")) {
            missing.push("file[url]".to_string());
        }
        if !missing.is_empty() {
            return Err(ApiError::missing(&missing));
        }
        let params = typed::<T>(raw)?;
        let file = file.ok_or_else(|| ApiError::missing(&["file[url]".to_string()]))?;
        Ok(WithFile(params, file))
    }
}

/// The file parameter `name` (`file`, `thumbnail`): an uploaded part of that name wins over a URL.
pub fn file_input(raw: &RawParams, name: &str) -> Option<FileInput> {
    let fields = object_at(raw, name);
    let field = |k: &str| {
        fields
            .as_ref()
            .and_then(|f| f.get(k))
            .and_then(Value::as_str)
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    };
    if let Some(part) = raw
        .files
        .iter()
        .find(|f| f.field == name || f.field.starts_with(&format!("{name}[")))
    {
        return Some(FileInput {
            source: FileSource::Upload(part.bytes.to_vec()),
            filename: field("filename").or_else(|| part.filename.clone()),
            mimetype: field("mimetype").or_else(|| part.content_type.clone()),
        });
    }
    let url = field("url").or_else(|| raw.string(name).filter(|s| !s.starts_with('{')))?;
    Some(FileInput {
        source: FileSource::Url(url),
        filename: field("filename"),
        mimetype: field("mimetype"),
    })
}

/// The object at `name`, also when it was given as a JSON string.
fn object_at(raw: &RawParams, name: &str) -> Option<Map<String, Value>> {
    match raw.lookup(name)? {
        Value::Object(m) => Some(m.clone()),
        Value::String(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        },
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::extract::raw::FilePart;

    fn raw(value: Value) -> RawParams {
        RawParams {
            value: value.as_object().cloned().unwrap_or_default(),
            files: Vec::new(),
        }
    }

    #[test]
    fn a_url_an_object_string_or_an_upload() {
        let by_url = file_input(
            &raw(serde_json::json!({"file": {"url": "https://x.example/a.jpg", "filename": "a.jpg"}})),
            "file",
        )
        .expect("file");
        assert!(matches!(by_url.source, FileSource::Url(ref u) if u == "https://x.example/a.jpg"));
        assert_eq!(by_url.filename.as_deref(), Some("a.jpg"));

        let as_string = file_input(
            &raw(serde_json::json!({"file": "{\"url\":\"https://x.example/b.mp3\"}"})),
            "file",
        )
        .expect("file");
        assert!(matches!(as_string.source, FileSource::Url(ref u) if u.ends_with("b.mp3")));

        let mut upload = raw(serde_json::json!({}));
        upload.files.push(FilePart {
            field: "file".into(),
            filename: Some("c.png".into()),
            content_type: Some("image/png".into()),
            bytes: bytes::Bytes::from_static(b"png"),
        });
        let up = file_input(&upload, "file").expect("file");
        assert!(matches!(up.source, FileSource::Upload(ref b) if b == b"png"));
        assert_eq!(up.filename.as_deref(), Some("c.png"));

        assert!(file_input(&raw(serde_json::json!({})), "file").is_none());
        assert!(
            file_input(
                &raw(serde_json::json!({"thumbnail": "https://x.example/t.jpg"})),
                "thumbnail"
            )
            .is_some()
        );
    }
}
