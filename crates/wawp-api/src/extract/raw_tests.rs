use super::*;
use serde_json::json;

fn run(query: Option<&str>, ct: &str, body: &str) -> Result<RawParams, ApiError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("runtime");
    rt.block_on(parse(query, ct, Bytes::from(body.to_string())))
}

fn value(query: Option<&str>, ct: &str, body: &str) -> Value {
    Value::Object(run(query, ct, body).expect("parses").value)
}

#[test]
fn names_split_on_brackets_and_dots() {
    assert_eq!(split_name("file[url]"), ["file", "url"]);
    assert_eq!(split_name("message.title"), ["message", "title"]);
    assert_eq!(
        split_name("event.location.name"),
        ["event", "location", "name"]
    );
    assert_eq!(split_name("participants[]"), ["participants", ""]);
    assert_eq!(split_name("a[b][c]"), ["a", "b", "c"]);
    assert_eq!(split_name("plain"), ["plain"]);
}

#[test]
fn form_names_nest() {
    let v = value(
        None,
        "application/x-www-form-urlencoded",
        "file%5Burl%5D=http%3A%2F%2Fx%2Fa.jpg&file[filename]=a.jpg&message.title=T&event.location.name=Cairo\
         &participants[]=1%40c.us&participants[]=2%40c.us&rows[0]=a&rows[1]=b",
    );
    assert_eq!(
        v,
        json!({"file":{"url":"http://x/a.jpg","filename":"a.jpg"},"message":{"title":"T"},
            "event":{"location":{"name":"Cairo"}},"participants":["1@c.us","2@c.us"],"rows":["a","b"]})
    );
}

#[test]
fn body_wins_over_query_and_objects_merge() {
    let v = value(
        Some("instance_id=Q&access_token=t&file[url]=q&file[filename]=f"),
        "application/json",
        r#"{"instance_id":"B","file[url]":"b"}"#,
    );
    assert_eq!(
        v,
        json!({"instance_id":"B","access_token":"t","file":{"url":"b","filename":"f"}})
    );
}

#[test]
fn repeated_plain_names_become_a_list() {
    let v = value(Some("id=1&id=2&id=3"), "", "");
    assert_eq!(v, json!({"id":["1","2","3"]}));
}

#[test]
fn malformed_json_says_where() {
    let err = run(None, "application/json", "{\n  \"a\": 1,\n  \"b\" 2\n}").expect_err("malformed");
    assert_eq!(err.code, Code::InvalidParam);
    assert_eq!(err.details["line"], 3);
    assert_eq!(err.details["column"], 7);
    assert!(err.message.contains("line 3, column 7"), "{}", err.message);
}

#[test]
fn unknown_body_types_are_refused_and_empty_bodies_ignored() {
    let err = run(None, "application/octet-stream", "xx").expect_err("415");
    assert_eq!(err.code, Code::UnsupportedMediaType);
    assert!(run(None, "application/octet-stream", "").is_ok());
    let v = value(None, "text/plain", r#"{"a":"b"}"#);
    assert_eq!(v, json!({"a":"b"}));
}

#[test]
fn multipart_keeps_fields_and_files() {
    let body = "--XB\r\nContent-Disposition: form-data; name=\"chatId\"\r\n\r\n201@c.us\r\n\
        --XB\r\nContent-Disposition: form-data; name=\"participants\"\r\n\r\n[\"1@c.us\"]\r\n\
        --XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.txt\"\r\nContent-Type: text/plain\r\n\r\nhello\r\n\
        --XB--\r\n";
    let raw = run(None, "multipart/form-data; boundary=XB", body).expect("multipart");
    assert_eq!(
        Value::Object(raw.value.clone()),
        json!({"chatId":"201@c.us","participants":"[\"1@c.us\"]"})
    );
    assert_eq!(raw.files.len(), 1);
    assert_eq!(raw.files[0].filename.as_deref(), Some("a.txt"));
    assert_eq!(raw.files[0].content_type.as_deref(), Some("text/plain"));
    assert_eq!(&raw.files[0].bytes[..], b"hello");
}

#[test]
fn presence_checks_follow_spec_names() {
    let raw = run(
        Some("a=&b=1&message=%7B%22title%22%3A%22T%22%7D"),
        "application/json",
        r#"{"file":{"url":"u"}}"#,
    )
    .expect("parses");
    assert!(!raw.is_present("a"));
    assert!(raw.is_present("b"));
    assert!(raw.is_present("file[url]"));
    assert!(!raw.is_present("file[filename]"));
    assert!(raw.is_present("message.title"));
    assert!(!raw.is_present("message.footer"));
}
