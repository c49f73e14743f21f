//! Media stories (issue 4): images, documents, voice notes and videos sent by URL or upload reach
//! the contact intact (or converted, checked with ffprobe); media a contact sends is stored with its
//! media fields and downloaded on demand; bad files are refused with the documented codes and
//! nothing is sent. Test files are made here (ffmpeg, tiny PDFs) and served from loopback.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use serde_json::Value;
use sha2::{Digest, Sha256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{Resp, TestEnv, eventually};

/// A one-page PDF, small enough to read.
const PDF: &[u8] = b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n\
2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n\
3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 72 72]>>endobj\n\
trailer<</Root 1 0 R>>\n%%EOF\n";

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Runs ffmpeg with `args` (output last) in `dir` and returns the output file's bytes.
async fn ffmpeg(dir: &Path, out: &str, args: &[&str]) -> Vec<u8> {
    let path = dir.join(out);
    let status = tokio::process::Command::new("ffmpeg")
        .args(["-hide_banner", "-loglevel", "error", "-nostdin", "-y"])
        .args(args)
        .arg(&path)
        .status()
        .await
        .expect("ffmpeg runs (it is installed on every test machine)");
    assert!(status.success(), "ffmpeg made {out}");
    tokio::fs::read(&path).await.expect("generated file")
}

/// `(format_name, first stream's codec_name)` of `bytes`, by ffprobe.
async fn probe(dir: &Path, name: &str, bytes: &[u8]) -> (String, String) {
    let path = dir.join(name);
    tokio::fs::write(&path, bytes).await.expect("written");
    let out = tokio::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=format_name:stream=codec_name",
        ])
        .args(["-of", "json"])
        .arg(&path)
        .output()
        .await
        .expect("ffprobe runs");
    let v: Value = serde_json::from_slice(&out.stdout).expect("ffprobe json");
    (
        v["format"]["format_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
        v["streams"][0]["codec_name"]
            .as_str()
            .unwrap_or_default()
            .to_string(),
    )
}

/// A tiny HTTP server on loopback serving fixed files by path (`/files/<name>`).
struct FileServer {
    base: String,
}

impl FileServer {
    async fn start(files: HashMap<String, Vec<u8>>) -> FileServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let base = format!("http://{}", listener.local_addr().expect("addr"));
        let files = Arc::new(files);
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = listener.accept().await {
                let files = files.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 1024];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match conn.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf);
                    let path = head.split_whitespace().nth(1).unwrap_or("/");
                    let name = path.trim_start_matches("/files/");
                    let response = match files.get(name) {
                        None if name == "redirect" => b"HTTP/1.1 302 Found\r\nlocation: http://169.254.169.254/latest/meta-data\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_vec(),
                        Some(body) => {
                            let mut r = format!(
                                "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                                body.len()
                            )
                            .into_bytes();
                            r.extend_from_slice(body);
                            r
                        }
                        None => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                            .to_vec(),
                    };
                    let _ = conn.write_all(&response).await;
                });
            }
        });
        FileServer { base }
    }

    fn url(&self, name: &str) -> String {
        format!("{}/files/{name}", self.base)
    }
}

/// The media test files, made with ffmpeg: (name, bytes).
async fn fixtures(dir: &Path) -> HashMap<String, Vec<u8>> {
    let png = ffmpeg(
        dir,
        "red.png",
        &["-f", "lavfi", "-i", "color=c=red:s=32x32", "-frames:v", "1"],
    )
    .await;
    let jpg = ffmpeg(
        dir,
        "thumb.jpg",
        &[
            "-f",
            "lavfi",
            "-i",
            "color=c=blue:s=32x32",
            "-frames:v",
            "1",
        ],
    )
    .await;
    let wav = ffmpeg(
        dir,
        "tone.wav",
        &["-f", "lavfi", "-i", "sine=frequency=440:duration=1"],
    )
    .await;
    // MPEG-4 Part 2 in Matroska: not what WhatsApp plays, so `convert` has work to do.
    let mkv = ffmpeg(
        dir,
        "clip.mkv",
        &[
            "-f",
            "lavfi",
            "-i",
            "testsrc=size=64x48:rate=10:duration=1",
            "-c:v",
            "mpeg4",
        ],
    )
    .await;
    HashMap::from([
        ("red.png".to_string(), png),
        ("thumb.jpg".to_string(), jpg),
        ("tone.wav".to_string(), wav),
        ("clip.mkv".to_string(), mkv),
        ("doc.pdf".to_string(), PDF.to_vec()),
        ("big.bin".to_string(), vec![7u8; 1536 * 1024]),
    ])
}

/// The message the phone `number` received with media of `kind` and caption/file name `tag`.
async fn phone_receives_media(env: &TestEnv, number: &str, id: &str) -> fakewa::InboxMessage {
    eventually(&format!("{number} to receive media {id}"), || async {
        let inbox = env.fakewa.inbox(number).await.ok()?;
        inbox.into_iter().find(|m| {
            id.ends_with(&m.id)
                && m.media
                    .as_ref()
                    .is_some_and(|x| x.sha256.is_some() || x.error.is_some())
        })
    })
    .await
}

/// `POST route` from `id` to `chat` with the file at `url`, declared as `filename` of type
/// `mimetype`, plus `extra` parameters.
async fn send_by_url(
    env: &TestEnv,
    (id, chat): (&str, &str),
    route: &str,
    (url, filename, mimetype): (&str, &str, &str),
    extra: &[(&str, &str)],
) -> Resp {
    let mut params = vec![
        ("instance_id", id),
        ("chatId", chat),
        ("file[url]", url),
        ("file[filename]", filename),
        ("file[mimetype]", mimetype),
    ];
    params.extend_from_slice(extra);
    env.call("POST", route, &params).await
}

/// The container format and first codec of the file the phone `number` received in its message
/// `inbox_id`.
async fn probe_received(
    env: &TestEnv,
    dir: &Path,
    number: &str,
    inbox_id: &str,
    name: &str,
) -> (String, String) {
    let bytes = env
        .fakewa
        .inbox_media(number, inbox_id)
        .await
        .expect("received bytes");
    probe(dir, name, &bytes).await
}

fn sent_id(res: &Resp) -> String {
    res.assert_status(200);
    res.json["id"].as_str().expect("id").to_string()
}

#[tokio::test]
async fn media_sent_by_url_or_upload_reaches_the_contact_intact() {
    let env = TestEnv::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let files = fixtures(dir.path()).await;
    let server = FileServer::start(files.clone()).await;
    let me = env.phone("12015550311", "Mona").await;
    let bob = env.phone("12015550322", "Bob").await;
    let id = env.linked_instance(&me).await;
    let chat = "12015550322@c.us";

    let to = (id.as_str(), chat);

    // An image by URL, with a caption.
    let url = server.url("red.png");
    let file = (url.as_str(), "red.png", "image/png");
    let extra = [("caption", "a red square")];
    let res = send_by_url(&env, to, "/v2/send/image", file, &extra).await;
    let image_id = sent_id(&res);
    assert_eq!(res.json["type"], "image", "{}", res.text);
    assert_eq!(res.json["hasMedia"], true);
    assert_eq!(res.json["body"], "a red square");
    assert_eq!(res.json["media"]["mimetype"], "image/png");
    assert!(
        !res.text.contains("mediaKey") && !res.text.contains("directPath"),
        "{}",
        res.text
    );
    let got = phone_receives_media(&env, &bob, &image_id).await;
    let media = got.media.expect("media");
    assert_eq!(media.kind, "image");
    assert_eq!(media.caption.as_deref(), Some("a red square"));
    assert_eq!(
        media.sha256,
        Some(sha256(&files["red.png"])),
        "{:?}",
        media.error
    );

    // A PDF by URL, as a reply to the image.
    let url = server.url("doc.pdf");
    let file = (url.as_str(), "report.pdf", "application/pdf");
    let extra = [("caption", "the report"), ("reply_to", image_id.as_str())];
    let res = send_by_url(&env, to, "/v2/send/pdf", file, &extra).await;
    let pdf_id = sent_id(&res);
    assert_eq!(res.json["type"], "document", "{}", res.text);
    assert_eq!(
        res.json["replyTo"]["id"]
            .as_str()
            .map(|r| image_id.ends_with(r)),
        Some(true)
    );
    let media = phone_receives_media(&env, &bob, &pdf_id)
        .await
        .media
        .expect("media");
    assert_eq!(media.file_name.as_deref(), Some("report.pdf"));
    assert_eq!(media.mimetype.as_deref(), Some("application/pdf"));
    assert_eq!(media.caption.as_deref(), Some("the report"));
    assert_eq!(media.sha256, Some(sha256(PDF)));

    // The same document uploaded (multipart) instead of a URL.
    let form = reqwest::multipart::Form::new()
        .text("instance_id", id.clone())
        .text("chatId", chat)
        .text("caption", "uploaded")
        .part(
            "file",
            reqwest::multipart::Part::bytes(PDF.to_vec())
                .file_name("upload.pdf")
                .mime_str("application/pdf")
                .expect("mime"),
        );
    let res = env
        .http
        .post(format!("{}/v2/send/pdf", env.wawp.base))
        .bearer_auth(&env.token)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let res = Resp::read(res).await;
    let upload_id = sent_id(&res);
    let media = phone_receives_media(&env, &bob, &upload_id)
        .await
        .media
        .expect("media");
    assert_eq!(media.file_name.as_deref(), Some("upload.pdf"));
    assert_eq!(media.sha256, Some(sha256(PDF)));

    // A WAV converted to an OGG/Opus voice note.
    let url = server.url("tone.wav");
    let file = (url.as_str(), "tone.wav", "audio/wav");
    let extra = [("convert", "true")];
    let res = send_by_url(&env, to, "/v2/send/voice", file, &extra).await;
    let voice_id = sent_id(&res);
    assert_eq!(res.json["type"], "ptt", "{}", res.text);
    let got = phone_receives_media(&env, &bob, &voice_id).await;
    let media = got.media.expect("media");
    assert_eq!((media.kind.as_str(), media.ptt), ("audio", Some(true)));
    assert!(
        media
            .mimetype
            .as_deref()
            .is_some_and(|m| m.starts_with("audio/ogg")),
        "{media:?}"
    );
    let (format, codec) = probe_received(&env, dir.path(), &bob, &got.id, "got-voice.ogg").await;
    assert_eq!((format.as_str(), codec.as_str()), ("ogg", "opus"));

    // An MPEG-4/Matroska clip converted to MP4/H.264.
    let url = server.url("clip.mkv");
    let file = (url.as_str(), "clip.mkv", "video/x-matroska");
    let extra = [
        ("caption", "a clip"),
        ("convert", "true"),
        ("asNote", "false"),
    ];
    let res = send_by_url(&env, to, "/v2/send/video", file, &extra).await;
    let video_id = sent_id(&res);
    assert_eq!(res.json["type"], "video", "{}", res.text);
    let got = phone_receives_media(&env, &bob, &video_id).await;
    let media = got.media.expect("media");
    assert_eq!(
        (media.kind.as_str(), media.caption.as_deref()),
        ("video", Some("a clip"))
    );
    assert_eq!(media.mimetype.as_deref(), Some("video/mp4"));
    let (format, codec) = probe_received(&env, dir.path(), &bob, &got.id, "got-video.mp4").await;
    assert!(format.contains("mp4"), "{format}");
    assert_eq!(codec, "h264");

    // A link with a custom preview; the high-quality thumbnail is uploaded.
    let res = env
        .call(
            "POST",
            "/v2/send/link-preview",
            &[
                ("instance_id", &id),
                ("chatId", chat),
                ("url", "https://wawp.example/docs"),
                ("text", "read this"),
                ("thumbnail", &server.url("thumb.jpg")),
                ("title", "Wawp docs"),
                ("description", "Everything about the API"),
                ("linkPreviewHighQuality", "true"),
            ],
        )
        .await;
    res.assert_status(200);
    assert_eq!(res.json["body"], "read this\nhttps://wawp.example/docs");
    env.phone_receives(&bob, "read this\nhttps://wawp.example/docs")
        .await;
}

#[tokio::test]
async fn media_from_a_contact_is_stored_and_downloaded_on_demand() {
    let env = TestEnv::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let files = fixtures(dir.path()).await;
    let me = env.phone("12015550333", "Nora").await;
    let carl = env.phone("12015550344", "Carl").await;
    let id = env.linked_instance(&me).await;
    let chat = "12015550344@c.us";

    env.fakewa
        .send_media(
            &carl,
            "12015550333",
            fakewa::PhoneMedia {
                kind: "image".into(),
                data: files["red.png"].clone(),
                mimetype: "image/png".into(),
                caption: Some("look".into()),
                ..Default::default()
            },
        )
        .await
        .expect("carl sends an image");

    let stored = env
        .stored(&id, chat, "the image", |m| m["hasMedia"] == true)
        .await;
    assert_eq!(stored["type"], "image", "{stored}");
    assert_eq!(stored["body"], "look");
    assert_eq!(stored["media"]["mimetype"], "image/png");
    assert_eq!(stored["media"]["url"], Value::Null, "not downloaded yet");
    let text = stored.to_string();
    assert!(
        !text.contains("mediaKey") && !text.contains("directPath"),
        "{text}"
    );

    // downloadMedia=true: a URL on wawp whose bytes are the image.
    let res = env
        .call(
            "GET",
            "/v2/chats/messages",
            &[
                ("instance_id", &id),
                ("chatId", chat),
                ("downloadMedia", "true"),
            ],
        )
        .await;
    res.assert_status(200);
    let m = res
        .json
        .as_array()
        .and_then(|a| a.iter().find(|m| m["hasMedia"] == true).cloned());
    let url = m
        .as_ref()
        .and_then(|m| m["media"]["url"].as_str())
        .unwrap_or_else(|| panic!("{}", res.text))
        .to_string();
    assert!(url.contains("/v2/files/"), "{url}");
    let got = env.http.get(&url).send().await.expect("file fetched");
    assert_eq!(got.status().as_u16(), 200);
    assert_eq!(
        got.headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok()),
        Some("image/png")
    );
    let bytes = got.bytes().await.expect("bytes");
    assert_eq!(sha256(&bytes), sha256(&files["red.png"]));

    // The same through /v2/messages/get.
    let message_id = stored["id"].as_str().expect("id");
    let res = env
        .call(
            "POST",
            "/v2/messages/get",
            &[
                ("instance_id", &id),
                ("chatId", chat),
                ("messageId", message_id),
                ("downloadMedia", "true"),
            ],
        )
        .await;
    res.assert_status(200);
    assert!(
        res.json["media"]["url"]
            .as_str()
            .is_some_and(|u| u.contains("/v2/files/")),
        "{}",
        res.text
    );

    // An unknown file name is a 404.
    let missing = env
        .http
        .get(format!("{}/v2/files/{}.png", env.wawp.base, "0".repeat(32)))
        .send()
        .await
        .expect("sent");
    assert_eq!(missing.status().as_u16(), 404);

    // /v2/media/convert: an uploaded WAV becomes an OGG/Opus file served by wawp.
    let form = reqwest::multipart::Form::new()
        .text("instance_id", id.clone())
        .text("outputFormat", "ogg")
        .part(
            "file",
            reqwest::multipart::Part::bytes(files["tone.wav"].clone()).file_name("tone.wav"),
        );
    let res = env
        .http
        .post(format!("{}/v2/media/convert", env.wawp.base))
        .bearer_auth(&env.token)
        .multipart(form)
        .send()
        .await
        .expect("sent");
    let res = Resp::read(res).await;
    res.assert_status(200);
    assert_eq!(
        res.json["mimetype"], "audio/ogg; codecs=opus",
        "{}",
        res.text
    );
    assert_eq!(res.json["filename"], "tone.ogg");
    let url = res.json["url"].as_str().expect("url");
    let bytes = env
        .http
        .get(url)
        .send()
        .await
        .expect("got")
        .bytes()
        .await
        .expect("bytes");
    let (format, codec) = probe(dir.path(), "converted.ogg", &bytes).await;
    assert_eq!((format.as_str(), codec.as_str()), ("ogg", "opus"));
}

#[tokio::test]
async fn bad_files_are_refused_with_documented_errors_and_nothing_is_sent() {
    // A 1 MiB cap, so that a small file is too large.
    let env = TestEnv::start_with(|c| c.media.max_mb = 1).await;
    let dir = tempfile::tempdir().expect("dir");
    let server = FileServer::start(fixtures(dir.path()).await).await;
    let me = env.phone("12015550355", "Olga").await;
    let dan = env.phone("12015550366", "Dan").await;
    let id = env.linked_instance(&me).await;
    let chat = "12015550366@c.us";
    let send = |route: &'static str, url: String| {
        let id = id.clone();
        let env = &env;
        async move {
            env.call(
                "POST",
                route,
                &[
                    ("instance_id", &id),
                    ("chatId", chat),
                    ("file[url]", &url),
                    ("caption", "x"),
                ],
            )
            .await
        }
    };

    // Nobody listens on this port.
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let res = send(
        "/v2/send/image",
        format!("http://127.0.0.1:{closed}/cat.png"),
    )
    .await;
    res.assert_error(400, "invalid_param");
    assert_eq!(res.json["details"]["param"], "file[url]");

    let res = send("/v2/send/image", server.url("missing.png")).await;
    res.assert_error(400, "invalid_param");
    assert!(
        res.json["details"]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("404")),
        "{}",
        res.text
    );

    let res = send("/v2/send/pdf", server.url("big.bin")).await;
    res.assert_error(413, "payload_too_large");

    let res = send("/v2/send/image", server.url("doc.pdf")).await;
    res.assert_error(415, "unsupported_media_type");
    assert_eq!(res.json["details"]["detected"], "application/pdf");

    // Private targets other than the allowed 127.0.0.1: given, or as a redirect hop.
    for target in [
        "http://169.254.169.254/latest/meta-data".to_string(),
        "http://10.1.2.3/cat.png".to_string(),
        server.url("redirect"),
    ] {
        let res = send("/v2/send/image", target.clone()).await;
        res.assert_error(400, "invalid_param");
        assert!(
            res.json["details"]["reason"]
                .as_str()
                .is_some_and(|r| r.contains("private")),
            "{target}: {}",
            res.text
        );
    }

    let res = env
        .call(
            "POST",
            "/v2/send/image",
            &[("instance_id", &id), ("chatId", chat), ("caption", "x")],
        )
        .await;
    res.assert_error(400, "missing_param");
    assert_eq!(
        res.json["details"]["missing"],
        serde_json::json!(["file[url]"])
    );

    // Nothing reached Dan: the next message he gets is this text, and it is his only one.
    env.send_text(&id, chat, "only this")
        .await
        .assert_status(200);
    env.phone_receives(&dan, "only this").await;
    let inbox = env.fakewa.inbox(&dan).await.expect("inbox");
    assert_eq!(inbox.len(), 1, "{inbox:?}");
}
