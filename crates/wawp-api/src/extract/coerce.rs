//! Form-friendly deserialization of the merged parameter object (API-CONVENTIONS.md
//! "Parameters"): `"true"`/`"false"` for booleans, numbers in strings, numbers where a string is
//! expected, a JSON array or object given as a string (`participants=["2010…@c.us"]`), a single
//! value where a list is expected, and `""` as an absent optional. Errors carry the path of the
//! offending parameter.

use std::fmt;

use serde::de::{
    self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess, SeqAccess, Visitor,
};
use serde::forward_to_deserialize_any;
use serde_json::{Map, Number, Value};

/// A deserialization failure at `path` (`message.sections.0.title`).
#[derive(Debug, Clone, PartialEq)]
pub struct CoerceError {
    pub path: Vec<String>,
    pub message: String,
}

impl CoerceError {
    pub fn path(&self) -> String {
        self.path.join(".")
    }

    fn at(mut self, segment: &str) -> Self {
        self.path.insert(0, segment.to_string());
        self
    }
}

impl fmt::Display for CoerceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path(), self.message)
        }
    }
}

impl std::error::Error for CoerceError {}

impl de::Error for CoerceError {
    fn custom<T: fmt::Display>(msg: T) -> Self {
        CoerceError {
            path: Vec::new(),
            message: msg.to_string(),
        }
    }
}

/// Deserializes `T` from a merged parameter object with form coercion.
pub fn from_value<T: DeserializeOwned>(value: Value) -> Result<T, CoerceError> {
    T::deserialize(Coerce(value))
}

struct Coerce(Value);

fn json_err(e: serde_json::Error) -> CoerceError {
    de::Error::custom(e)
}

/// A string that holds a JSON array or object, parsed; anything else unchanged.
fn unwrap_json_string(value: Value, open: char) -> Value {
    match value {
        Value::String(s) if s.trim_start().starts_with(open) => {
            serde_json::from_str(&s).unwrap_or(Value::String(s))
        }
        other => other,
    }
}

fn number_from(value: &Value) -> Option<Number> {
    match value {
        Value::Number(n) => Some(n.clone()),
        Value::String(s) => s.trim().parse::<Number>().ok(),
        Value::Bool(b) => Some(Number::from(u8::from(*b))),
        _ => None,
    }
}

macro_rules! number_method {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
            match number_from(&self.0) {
                Some(n) => Value::Number(n).$method(visitor).map_err(json_err),
                None => Err(invalid_type(&self.0, &visitor)),
            }
        }
    )*};
}

fn invalid_type<'de, V: Visitor<'de>>(value: &Value, visitor: &V) -> CoerceError {
    let unexp = match value {
        Value::Null => de::Unexpected::Unit,
        Value::Bool(b) => de::Unexpected::Bool(*b),
        Value::Number(_) => de::Unexpected::Other("number"),
        Value::String(s) => de::Unexpected::Str(s),
        Value::Array(_) => de::Unexpected::Seq,
        Value::Object(_) => de::Unexpected::Map,
    };
    de::Error::invalid_type(unexp, visitor)
}

impl<'de> de::Deserializer<'de> for Coerce {
    type Error = CoerceError;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(b) => visitor.visit_bool(b),
            Value::Number(n) => Value::Number(n).deserialize_any(visitor).map_err(json_err),
            Value::String(s) => visitor.visit_string(s),
            Value::Array(items) => visitor.visit_seq(Seq {
                items: items.into_iter(),
                index: 0,
            }),
            Value::Object(map) => visitor.visit_map(Obj::new(map)),
        }
    }

    fn deserialize_bool<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
        let b = match &self.0 {
            Value::Bool(b) => Some(*b),
            Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
                "true" | "1" | "yes" | "on" => Some(true),
                "false" | "0" | "no" | "off" => Some(false),
                _ => None,
            },
            Value::Number(n) => match n.as_u64() {
                Some(0) => Some(false),
                Some(1) => Some(true),
                _ => None,
            },
            _ => None,
        };
        match b {
            Some(b) => visitor.visit_bool(b),
            None => Err(invalid_type(&self.0, &visitor)),
        }
    }

    number_method!(deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64 deserialize_i128
        deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64 deserialize_u128
        deserialize_f32 deserialize_f64);

    fn deserialize_str<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
        self.deserialize_string(visitor)
    }

    fn deserialize_string<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
        match self.0 {
            Value::String(s) => visitor.visit_string(s),
            Value::Number(n) => visitor.visit_string(n.to_string()),
            Value::Bool(b) => visitor.visit_string(b.to_string()),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
        match &self.0 {
            Value::Null => visitor.visit_none(),
            Value::String(s) if s.trim().is_empty() => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_seq<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
        match unwrap_json_string(self.0, '[') {
            Value::Array(items) => visitor.visit_seq(Seq {
                items: items.into_iter(),
                index: 0,
            }),
            Value::Null => visitor.visit_seq(Seq {
                items: Vec::new().into_iter(),
                index: 0,
            }),
            // A single value where a list is expected: a list of one.
            one => visitor.visit_seq(Seq {
                items: vec![one].into_iter(),
                index: 0,
            }),
        }
    }

    fn deserialize_tuple<V: Visitor<'de>>(
        self,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, CoerceError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _len: usize,
        visitor: V,
    ) -> Result<V::Value, CoerceError> {
        self.deserialize_seq(visitor)
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
        match unwrap_json_string(self.0, '{') {
            Value::Object(map) => visitor.visit_map(Obj::new(map)),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        _fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CoerceError> {
        self.deserialize_map(visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        visitor: V,
    ) -> Result<V::Value, CoerceError> {
        visitor.visit_newtype_struct(self)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, CoerceError> {
        match self.0 {
            Value::String(s) => visitor.visit_enum(s.into_deserializer()),
            other => other
                .deserialize_enum(name, variants, visitor)
                .map_err(json_err),
        }
    }

    fn deserialize_unit<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::String(s) if s.is_empty() => visitor.visit_unit(),
            other => Err(invalid_type(&other, &visitor)),
        }
    }

    fn deserialize_ignored_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, CoerceError> {
        visitor.visit_unit()
    }

    forward_to_deserialize_any! { char bytes byte_buf unit_struct identifier }
}

struct Seq {
    items: std::vec::IntoIter<Value>,
    index: usize,
}

impl<'de> SeqAccess<'de> for Seq {
    type Error = CoerceError;

    fn next_element_seed<T: DeserializeSeed<'de>>(
        &mut self,
        seed: T,
    ) -> Result<Option<T::Value>, CoerceError> {
        let Some(item) = self.items.next() else {
            return Ok(None);
        };
        let index = self.index;
        self.index += 1;
        seed.deserialize(Coerce(item))
            .map(Some)
            .map_err(|e| e.at(&index.to_string()))
    }
}

struct Obj {
    entries: serde_json::map::IntoIter,
    pending: Option<(String, Value)>,
}

impl Obj {
    fn new(map: Map<String, Value>) -> Self {
        Obj {
            entries: map.into_iter(),
            pending: None,
        }
    }
}

impl<'de> MapAccess<'de> for Obj {
    type Error = CoerceError;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, CoerceError> {
        let Some((key, value)) = self.entries.next() else {
            return Ok(None);
        };
        let out = seed.deserialize(key.clone().into_deserializer()).map(Some);
        self.pending = Some((key, value));
        out
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, CoerceError> {
        let (key, value) = self
            .pending
            .take()
            .ok_or_else(|| de::Error::custom("value without a key"))?;
        seed.deserialize(Coerce(value)).map_err(|e| e.at(&key))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Debug, Deserialize, PartialEq)]
    struct P {
        flag: bool,
        count: u32,
        ratio: Option<f64>,
        phone: String,
        participants: Vec<String>,
        reply_to: Option<String>,
        nested: Option<Inner>,
    }

    #[derive(Debug, Deserialize, PartialEq)]
    struct Inner {
        title: String,
        on: bool,
    }

    #[test]
    fn form_strings_become_the_types_asked_for() {
        let v = json!({"flag":"true","count":"42","ratio":"0.5","phone":201145202826u64,
            "participants":"[\"1@c.us\",\"2@c.us\"]","reply_to":"","nested":"{\"title\":\"t\",\"on\":\"0\"}"});
        let p: P = from_value(v).expect("coerces");
        assert_eq!(
            p,
            P {
                flag: true,
                count: 42,
                ratio: Some(0.5),
                phone: "201145202826".into(),
                participants: vec!["1@c.us".into(), "2@c.us".into()],
                reply_to: None,
                nested: Some(Inner {
                    title: "t".into(),
                    on: false
                }),
            }
        );
    }

    #[test]
    fn a_single_value_is_a_list_of_one_and_errors_say_where() {
        let v = json!({"flag":false,"count":1,"phone":"1","participants":"1@c.us","nested":{"title":"t","on":"maybe"}});
        let p: Result<P, _> = from_value(v);
        let err = p.expect_err("bad bool");
        assert_eq!(err.path(), "nested.on");
        let v = json!({"flag":false,"count":1,"phone":"1","participants":"1@c.us"});
        let p: P = from_value(v).expect("coerces");
        assert_eq!(p.participants, vec!["1@c.us".to_string()]);
        let err = from_value::<P>(json!({"flag":"x"})).expect_err("bad");
        assert_eq!(err.path(), "flag");
    }
}
