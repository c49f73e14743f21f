//! Files wawp serves (`/v2/files/{name}`, beyond the documents): converted media and downloaded
//! received media, under unguessable names that expire.

mod index;

pub use index::*;

use axum::http::header::HOST;
use axum::http::{HeaderMap, Method};

use crate::routes::Table;
use crate::state::AppState;

pub(crate) fn table() -> Table {
    Table::new().route(&[Method::GET], "/v2/files/{name}", None, get_file)
}

/// The absolute URL of the stored file `name`: under the configured public URL, else under the
/// host the client called.
pub(crate) fn file_url(state: &AppState, headers: &HeaderMap, name: &str) -> String {
    let base = match &state.config.public_url {
        Some(url) => url.trim_end_matches('/').to_string(),
        None => {
            let host = headers
                .get(HOST)
                .and_then(|h| h.to_str().ok())
                .filter(|h| !h.is_empty() && !h.contains(['/', ' ']))
                .unwrap_or("localhost");
            format!("http://{host}")
        }
    };
    format!("{base}/v2/files/{name}")
}
