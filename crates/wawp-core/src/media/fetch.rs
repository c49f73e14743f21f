//! `file[url]` → bytes: through the SSRF-guarded client (every resolved address of every hop is
//! checked, at most `ssrf::MAX_REDIRECTS` redirects, the configured timeout), and never more than
//! the cap: a `Content-Length` above it is refused before the body, a body that grows past it is
//! cut off.

use reqwest::Url;

use super::MediaError;
use crate::ssrf::{self, AllowList, SsrfError};

/// Downloads `url`, at most `cap` bytes.
pub(super) async fn fetch(
    client: &reqwest::Client,
    allow: &AllowList,
    url: &str,
    cap: u64,
) -> Result<Vec<u8>, MediaError> {
    let url = Url::parse(url.trim()).map_err(|_| MediaError::BadUrl)?;
    // IP-literal hosts never reach the resolver: check them here (redirect hops are checked by
    // the client's policy, host names by its resolver).
    ssrf::check_url_static(&url, allow).map_err(MediaError::Refused)?;
    let mut response = client.get(url).send().await.map_err(request_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(MediaError::Status(status.as_u16()));
    }
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(MediaError::TooLarge { limit: cap });
    }
    let mut bytes = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(request_error)? {
        if (bytes.len() + chunk.len()) as u64 > cap {
            return Err(MediaError::TooLarge { limit: cap });
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(bytes)
}

/// A refusal by the guard (resolver or redirect policy) is [`MediaError::Refused`]; anything
/// else is unreachable.
fn request_error(e: reqwest::Error) -> MediaError {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<SsrfError>() {
            return MediaError::Refused(refused.clone());
        }
        source = s.source();
    }
    let reason = if e.is_timeout() {
        "timed out".to_string()
    } else if e.is_redirect() {
        "too many redirects".to_string()
    } else if e.is_connect() {
        "connection failed".to_string()
    } else {
        "the request failed".to_string()
    };
    MediaError::Unreachable(reason)
}

/// The last path segment of a URL, as a file name (`https://x/a/cat.jpg?x=1` → `cat.jpg`).
pub(super) fn file_name_of(url: &str) -> Option<String> {
    let url = Url::parse(url).ok()?;
    let name = url.path_segments()?.next_back()?.trim();
    (!name.is_empty() && name.contains('.')).then(|| name.to_string())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    /// A loopback server answering every request with `response`.
    async fn serve(response: &'static [u8]) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let mut buf = [0u8; 2048];
                let _ = conn.read(&mut buf).await;
                let _ = conn.write_all(response).await;
            }
        });
        format!("http://{addr}/f/cat.jpg")
    }

    fn client(allow: &AllowList) -> reqwest::Client {
        ssrf::guarded_client(Arc::new(allow.clone()), Duration::from_secs(5), "wawp/test")
            .expect("client")
    }

    #[tokio::test]
    async fn fetches_under_the_cap_and_refuses_above_it() {
        let allow = AllowList::parse("127.0.0.1");
        let url = serve(b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\n\r\nhello").await;
        let got = fetch(&client(&allow), &allow, &url, 5)
            .await
            .expect("fetched");
        assert_eq!(got, b"hello");
        let err = fetch(&client(&allow), &allow, &url, 4).await;
        assert!(
            matches!(err, Err(MediaError::TooLarge { limit: 4 })),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn private_targets_are_refused_unless_allowed() {
        let none = AllowList::none();
        let err = fetch(&client(&none), &none, "http://127.0.0.1:9/x", 10).await;
        assert!(matches!(err, Err(MediaError::Refused(_))), "{err:?}");
        let err = fetch(&client(&none), &none, "http://localhost:9/x", 10).await;
        assert!(matches!(err, Err(MediaError::Refused(_))), "{err:?}");
        let err = fetch(&client(&none), &none, "ftp://example.com/x", 10).await;
        assert!(matches!(err, Err(MediaError::Refused(_))), "{err:?}");
    }

    #[tokio::test]
    async fn http_errors_and_dead_ports_are_reported() {
        let allow = AllowList::parse("127.0.0.1");
        let url = serve(b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n").await;
        let err = fetch(&client(&allow), &allow, &url, 10).await;
        assert!(matches!(err, Err(MediaError::Status(404))), "{err:?}");
        // A port nobody listens on.
        let port = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
            l.local_addr().expect("addr").port()
        };
        let err = fetch(
            &client(&allow),
            &allow,
            &format!("http://127.0.0.1:{port}/x"),
            10,
        )
        .await;
        assert!(matches!(err, Err(MediaError::Unreachable(_))), "{err:?}");
    }

    #[test]
    fn file_names_come_from_the_last_segment() {
        assert_eq!(
            file_name_of("https://x.example/a/cat.jpg?s=1").as_deref(),
            Some("cat.jpg")
        );
        assert_eq!(file_name_of("https://x.example/"), None);
    }
}
