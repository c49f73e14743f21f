//! The profile-picture store: one current picture per owner (an account, by its phone number; a group,
//! by its `…@g.us` id once groups exist), and who may see each account's picture (its `profile` privacy
//! setting). The bytes live in the media blob store (content-addressed, persisted with `--data-dir`);
//! this store keeps the picture id and the blob id. Pure data, no I/O: `stanza::picture` drives it.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

/// The CDN class WhatsApp puts in profile-picture paths (`https://pps.whatsapp.net/v/t61.24694-24/…`).
pub(crate) const PATH_CLASS: &str = "t61.24694-24";

/// An owner's current picture.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Picture {
    /// The server-assigned id, different on every change (decimal, as WhatsApp's).
    pub id: String,
    /// The blob holding the bytes (lowercase hex SHA-256).
    pub blob: String,
}

impl Picture {
    /// The download path on the media listener; `.jpg` marks it as a picture (served `image/jpeg`).
    pub fn direct_path(&self) -> String {
        format!("/v/{PATH_CLASS}/{}.jpg", self.blob)
    }

    /// The full URL on the media listener at `host` (`127.0.0.1:PORT`), shaped like WhatsApp's.
    pub fn url(&self, host: &str) -> String {
        format!(
            "https://{host}{}?ccb=11-4&oh=fakewa&oe=0",
            self.direct_path()
        )
    }
}

/// Who may see an account's picture: WhatsApp's `profile` privacy values. fakewa keeps no address books,
/// so every account counts as a contact: only `none` hides a picture from others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) enum Visibility {
    #[default]
    All,
    Contacts,
    ContactBlacklist,
    None,
}

impl Visibility {
    pub fn parse(value: &str) -> Option<Visibility> {
        match value {
            "all" => Some(Self::All),
            "contacts" => Some(Self::Contacts),
            "contact_blacklist" => Some(Self::ContactBlacklist),
            "none" => Some(Self::None),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::All => "all",
            Self::Contacts => "contacts",
            Self::ContactBlacklist => "contact_blacklist",
            Self::None => "none",
        }
    }
}

/// What a get answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Lookup<'a> {
    Found(&'a Picture),
    /// No picture (404 `item-not-found`).
    Missing,
    /// The owner's privacy hides it from this viewer (401 `not-authorized`).
    Hidden,
}

#[derive(Clone, Default, Serialize, Deserialize)]
pub(crate) struct Pictures {
    by_owner: HashMap<String, Picture>,
    #[serde(default)]
    visibility: HashMap<String, Visibility>,
    /// The last id handed out: ids grow even when the clock does not.
    #[serde(default)]
    last_id: u64,
}

impl Pictures {
    /// Sets `owner`'s picture to `blob`; returns the new picture (with a new id).
    pub fn set(&mut self, owner: &str, blob: String, now_ms: i64) -> Picture {
        let id = u64::try_from(now_ms)
            .unwrap_or(0)
            .max(self.last_id.saturating_add(1));
        self.last_id = id;
        let pic = Picture {
            id: id.to_string(),
            blob,
        };
        self.by_owner.insert(owner.to_string(), pic.clone());
        pic
    }

    /// Removes `owner`'s picture; `true` if there was one.
    pub fn remove(&mut self, owner: &str) -> bool {
        self.by_owner.remove(owner).is_some()
    }

    pub fn get(&self, owner: &str) -> Option<&Picture> {
        self.by_owner.get(owner)
    }

    /// `owner`'s picture as `viewer` (an account's phone number) may see it.
    pub fn lookup(&self, owner: &str, viewer: &str) -> Lookup<'_> {
        if owner != viewer && self.visibility(owner) == Visibility::None {
            return Lookup::Hidden;
        }
        match self.by_owner.get(owner) {
            Some(p) => Lookup::Found(p),
            None => Lookup::Missing,
        }
    }

    pub fn visibility(&self, owner: &str) -> Visibility {
        self.visibility.get(owner).copied().unwrap_or_default()
    }

    pub fn set_visibility(&mut self, owner: &str, v: Visibility) {
        self.visibility.insert(owner.to_string(), v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_change_on_every_set_even_within_one_millisecond() {
        let mut p = Pictures::default();
        let a = p.set("1555", "aa".into(), 1_000);
        let b = p.set("1555", "bb".into(), 1_000);
        let c = p.set("1555", "cc".into(), 5);
        assert_ne!(a.id, b.id);
        assert!(c.id.parse::<u64>().expect("decimal") > b.id.parse().expect("decimal"));
        assert_eq!(p.get("1555"), Some(&c));
    }

    #[test]
    fn privacy_none_hides_from_others_but_not_from_the_owner() {
        let mut p = Pictures::default();
        p.set("1", "aa".into(), 1);
        assert!(matches!(p.lookup("1", "2"), Lookup::Found(_)));
        p.set_visibility("1", Visibility::None);
        assert_eq!(p.lookup("1", "2"), Lookup::Hidden);
        assert!(matches!(p.lookup("1", "1"), Lookup::Found(_)));
        p.set_visibility("1", Visibility::Contacts);
        assert!(matches!(p.lookup("1", "2"), Lookup::Found(_)));
        assert!(p.remove("1"));
        assert_eq!(p.lookup("1", "2"), Lookup::Missing);
        assert!(!p.remove("1"));
    }

    #[test]
    fn pictures_are_served_as_jpegs_under_the_picture_class() {
        let pic = Picture {
            id: "1".into(),
            blob: "ab".into(),
        };
        assert_eq!(pic.direct_path(), "/v/t61.24694-24/ab.jpg");
        assert_eq!(Visibility::parse("none"), Some(Visibility::None));
        assert_eq!(Visibility::parse("x"), None);
        assert_eq!(Visibility::ContactBlacklist.as_str(), "contact_blacklist");
    }
}
