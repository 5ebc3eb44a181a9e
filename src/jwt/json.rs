//! Strict JSON for JOSE headers and claims: UTF-8, an object, no member twice.

use std::collections::HashSet;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::error::{JwtError, Part, shorten};

/// Parses `bytes` as a JSON object; `Err` says whether it is not JSON, not an
/// object, or has a duplicate member (RFC 7515 §4: parsers that keep the last
/// duplicate and parsers that keep the first would disagree on `alg`).
pub(crate) fn parse_object(bytes: &[u8], part: Part) -> Result<Map<String, Value>, JwtError> {
    let value: Value = serde_json::from_slice(bytes).map_err(|_| JwtError::NotJson { part })?;
    let Value::Object(map) = value else {
        return Err(JwtError::NotObject { part });
    };
    let check: DupCheck = serde_json::from_slice(bytes).map_err(|_| JwtError::NotJson { part })?;
    match check.0 {
        Some(name) => Err(JwtError::DuplicateMember {
            part,
            name: shorten(&name),
        }),
        None => Ok(map),
    }
}

/// The first member name found twice in one object, anywhere in a document.
struct DupCheck(Option<String>);

impl<'de> Deserialize<'de> for DupCheck {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(DupVisitor)
    }
}

struct DupVisitor;

impl<'de> Visitor<'de> for DupVisitor {
    type Value = DupCheck;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, _: bool) -> Result<DupCheck, E> {
        Ok(DupCheck(None))
    }

    fn visit_i64<E>(self, _: i64) -> Result<DupCheck, E> {
        Ok(DupCheck(None))
    }

    fn visit_u64<E>(self, _: u64) -> Result<DupCheck, E> {
        Ok(DupCheck(None))
    }

    fn visit_f64<E>(self, _: f64) -> Result<DupCheck, E> {
        Ok(DupCheck(None))
    }

    fn visit_str<E>(self, _: &str) -> Result<DupCheck, E> {
        Ok(DupCheck(None))
    }

    fn visit_unit<E>(self) -> Result<DupCheck, E> {
        Ok(DupCheck(None))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<DupCheck, A::Error> {
        let mut found = None;
        while let Some(DupCheck(inner)) = seq.next_element()? {
            found = found.or(inner);
        }
        Ok(DupCheck(found))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DupCheck, A::Error> {
        let mut seen = HashSet::new();
        let mut found = None;
        while let Some(key) = map.next_key::<String>()? {
            let DupCheck(inner) = map.next_value()?;
            if found.is_none() && seen.contains(&key) {
                found = Some(key);
            } else {
                seen.insert(key);
            }
            found = found.or(inner);
        }
        Ok(DupCheck(found))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(bytes: &[u8]) -> String {
        match parse_object(bytes, Part::Header) {
            Ok(_) => "ok".into(),
            Err(e) => e.code(),
        }
    }

    #[test]
    fn objects_pass() {
        assert_eq!(code(br#"{"alg":"HS256","typ":"JWT"}"#), "ok");
    }

    #[test]
    fn non_objects_and_non_json_fail() {
        assert_eq!(code(b"[1,2]"), "header-not-object");
        assert_eq!(code(b"\"HS256\""), "header-not-object");
        assert_eq!(code(b"{\"alg\":"), "header-not-json");
        assert_eq!(code(b"\xff\xfe"), "header-not-json");
        assert_eq!(code(b""), "header-not-json");
    }

    #[test]
    fn duplicates_fail_at_any_depth() {
        assert_eq!(code(br#"{"alg":"none","alg":"HS256"}"#), "duplicate-member");
        assert_eq!(code(br#"{"a":[{"x":1,"x":2}]}"#), "duplicate-member");
        assert_eq!(code(br#"{"a":{"x":1},"b":{"x":2}}"#), "ok");
    }
}
