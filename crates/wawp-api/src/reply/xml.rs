//! JSON values as XML, the way the documents show them: an `<?xml …?>` declaration, a root
//! element (`<response>` or `<error>`), one element per key, arrays as repeated `<item>`.

use quick_xml::Writer;
use quick_xml::events::{BytesDecl, BytesEnd, BytesStart, BytesText, Event};
use serde_json::Value;

pub(crate) fn to_xml(root: &str, value: &Value) -> String {
    let mut writer = Writer::new_with_indent(Vec::new(), b' ', 4);
    let ok = writer
        .write_event(Event::Decl(BytesDecl::new("1.0", Some("UTF-8"), None)))
        .is_ok()
        && element(&mut writer, root, None, value).is_ok();
    if !ok {
        // Writing into a Vec cannot fail; keep a well-formed answer anyway.
        return format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<{root}/>");
    }
    String::from_utf8(writer.into_inner()).unwrap_or_default()
}

type W = Writer<Vec<u8>>;

fn element(w: &mut W, name: &str, key_attr: Option<&str>, value: &Value) -> std::io::Result<()> {
    let mut start = BytesStart::new(name);
    if let Some(key) = key_attr {
        start.push_attribute(("key", key));
    }
    match value {
        Value::Null => w.write_event(Event::Empty(start)),
        Value::Object(map) if map.is_empty() => w.write_event(Event::Empty(start)),
        Value::Array(items) if items.is_empty() => w.write_event(Event::Empty(start)),
        Value::Object(map) => {
            w.write_event(Event::Start(start))?;
            for (k, v) in map {
                if is_xml_name(k) {
                    element(w, k, None, v)?;
                } else {
                    element(w, "entry", Some(k), v)?;
                }
            }
            w.write_event(Event::End(BytesEnd::new(name)))
        }
        Value::Array(items) => {
            w.write_event(Event::Start(start))?;
            for item in items {
                element(w, "item", None, item)?;
            }
            w.write_event(Event::End(BytesEnd::new(name)))
        }
        scalar => {
            let text = match scalar {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            w.write_event(Event::Start(start))?;
            w.write_event(Event::Text(BytesText::new(&text)))?;
            w.write_event(Event::End(BytesEnd::new(name)))
        }
    }
}

/// A conservative XML name: a letter or `_`, then letters, digits, `_`, `-`, `.`; never `xml…`.
fn is_xml_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
        && !name.to_ascii_lowercase().starts_with("xml")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn errors_render_like_the_documents() {
        let v = json!({"code":"missing_param","message":"Missing required parameter: a, b",
            "details":{"missing":["a","b"],"recommendation":"Check <this> & that"}});
        let xml = to_xml("error", &v);
        assert!(
            xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"),
            "{xml}"
        );
        assert!(xml.contains("<error>"));
        assert!(xml.contains("<code>missing_param</code>"));
        assert!(xml.contains("<missing>\n            <item>a</item>\n            <item>b</item>\n        </missing>"), "{xml}");
        assert!(xml.contains("Check &lt;this&gt; &amp; that"));
    }

    #[test]
    fn odd_keys_and_nulls_stay_well_formed() {
        let v = json!({"proxy": null, "file[url]": "x", "9lives": 1, "ok": true, "n": 1.5});
        let xml = to_xml("response", &v);
        assert!(xml.contains("<proxy/>"));
        assert!(xml.contains("<entry key=\"file[url]\">x</entry>"));
        assert!(xml.contains("<entry key=\"9lives\">1</entry>"));
        assert!(xml.contains("<ok>true</ok>"));
    }
}
