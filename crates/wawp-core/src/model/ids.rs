//! `instance_id` and `session_name` (API-CONVENTIONS.md "Identifiers").

use std::fmt;

use rand::RngExt;

const INSTANCE_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

/// 12 characters `[A-Z0-9]`, random.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(String);

impl InstanceId {
    pub fn generate() -> Self {
        let mut rng = rand::rng();
        let id = (0..12)
            .map(|_| INSTANCE_ALPHABET[rng.random_range(0..INSTANCE_ALPHABET.len())] as char)
            .collect();
        InstanceId(id)
    }

    /// Parses a client-supplied id; `None` when it cannot be an instance id (the caller answers
    /// `invalid_session`, exactly as for an unknown one).
    pub fn parse(raw: &str) -> Option<Self> {
        let raw = raw.trim();
        let ok = raw.len() == 12 && raw.bytes().all(|b| INSTANCE_ALPHABET.contains(&b));
        ok.then(|| InstanceId(raw.to_string()))
    }

    /// Wraps an id read back from our own store.
    pub fn from_stored(raw: String) -> Self {
        InstanceId(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `wawp-` + 8 digits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionName(String);

impl SessionName {
    pub fn generate() -> Self {
        let n: u32 = rand::rng().random_range(0..100_000_000);
        SessionName(format!("wawp-{n:08}"))
    }

    pub fn from_stored(raw: String) -> Self {
        SessionName(raw)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for SessionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_have_the_documented_shape() {
        for _ in 0..100 {
            let id = InstanceId::generate();
            assert_eq!(InstanceId::parse(id.as_str()), Some(id.clone()));
            let name = SessionName::generate();
            assert!(name.as_str().starts_with("wawp-") && name.as_str().len() == 13);
            assert!(name.as_str()[5..].bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn parse_refuses_what_cannot_be_an_instance_id() {
        assert!(InstanceId::parse("3EB0BCB2E3D4").is_some());
        for bad in [
            "",
            "3eb0bcb2e3d4",
            "3EB0BCB2E3D",
            "3EB0BCB2E3D45",
            "3EB0BCB2E3D!",
        ] {
            assert!(InstanceId::parse(bad).is_none(), "{bad}");
        }
    }
}
