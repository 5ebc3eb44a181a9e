//! Domain names: fields, tables and the parts of an identity.
//!
//! Each newtype is normalised once, at construction, so the rest of the crate
//! never wonders whether a name was already upper-cased.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;

use serde::{Serialize, Serializer};

macro_rules! name_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(Arc<str>);

        impl $name {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($name), &*self.0)
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }

        impl std::borrow::Borrow<str> for $name {
            fn borrow(&self) -> &str {
                &self.0
            }
        }
    };
}

name_type!(
    /// A field name exactly as written (application field names are
    /// case-sensitive; security field names are upper-cased by the loader).
    FieldName
);
name_type!(
    /// A table name exactly as written (case-sensitive, like Qlik).
    TableName
);
name_type!(
    /// A user id, upper-cased (SPEC §3: the incoming identity is upper-cased).
    UserId
);
name_type!(
    /// An e-mail address, upper-cased for comparison with `USER.EMAIL`.
    Email
);
name_type!(
    /// A group name, upper-cased for comparison with `GROUP` and `NTNAME`.
    GroupName
);

impl FieldName {
    /// A field name kept exactly as given.
    pub fn new(name: &str) -> Self {
        Self(Arc::from(name))
    }
}

impl TableName {
    /// A table name kept exactly as given.
    pub fn new(name: &str) -> Self {
        Self(Arc::from(name))
    }
}

/// `text` trimmed and upper-cased, copied once (an audit makes an identity
/// per user of the security tables, most already in that form).
fn normalised(text: &str) -> Arc<str> {
    Arc::from(normal_form(text).as_ref())
}

/// `text` as identities keep it: trimmed and upper-cased; borrowed when
/// that changes nothing but the blanks around it.
pub(crate) fn normal_form(text: &str) -> Cow<'_, str> {
    let text = text.trim();
    if is_upper_ascii(text) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_uppercase())
    }
}

/// True when `text` has a lower-case letter: bytewise for ASCII (a
/// million user ids are checked by `check`), char by char otherwise.
pub(crate) fn has_lower_case(text: &str) -> bool {
    if text.is_ascii() {
        any_byte(text.as_bytes(), |b| b.is_ascii_lowercase())
    } else {
        text.chars().any(char::is_lowercase)
    }
}

/// True when some byte of `bytes` is `odd`. By blocks, each folded
/// without a branch per byte, so a scan of a million user ids end to end
/// runs vectorised.
pub(crate) fn any_byte(bytes: &[u8], odd: impl Fn(u8) -> bool) -> bool {
    bytes
        .chunks(64)
        .any(|block| block.iter().fold(false, |any, &b| any | odd(b)))
}

fn is_upper_ascii(text: &str) -> bool {
    text.bytes()
        .all(|b| b.is_ascii() && !b.is_ascii_lowercase())
}

/// [`normalised`] for text already shared: the same allocation when the text
/// is already trimmed and upper-cased (an audit of a million security rows
/// then makes no copy of their user ids).
fn normalised_shared(text: &Arc<str>) -> Arc<str> {
    match normal_form(text) {
        Cow::Borrowed(same) if same.len() == text.len() => Arc::clone(text),
        other => Arc::from(other.as_ref()),
    }
}

impl UserId {
    /// A user id, trimmed and upper-cased.
    pub fn new(id: &str) -> Self {
        Self(normalised(id))
    }

    /// [`UserId::new`] of shared text, sharing it when it is already normalised.
    pub fn from_shared(id: &Arc<str>) -> Self {
        Self(normalised_shared(id))
    }
}

impl Email {
    /// An e-mail address, trimmed and upper-cased.
    pub fn new(email: &str) -> Self {
        Self(normalised(email))
    }

    /// [`Email::new`] of shared text, sharing it when it is already normalised.
    pub fn from_shared(email: &Arc<str>) -> Self {
        Self(normalised_shared(email))
    }
}

impl GroupName {
    /// A group name, trimmed and upper-cased.
    pub fn new(group: &str) -> Self {
        Self(normalised(group))
    }

    /// [`GroupName::new`] of shared text, sharing it when it is already normalised.
    pub fn from_shared(group: &Arc<str>) -> Self {
        Self(normalised_shared(group))
    }
}

/// Who is asking: what the engine knows of a user when it opens the app.
///
/// Built from command-line options or from a verified JSON Web Token; every
/// part is upper-cased at construction (SPEC §3).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize)]
pub struct Identity {
    /// `USERID` to compare with (for QSEoW: `DIRECTORY\userid`).
    pub userid: Option<UserId>,
    /// `USER.EMAIL` to compare with.
    pub email: Option<Email>,
    /// Groups, compared with `GROUP` and `NTNAME`; sorted and without duplicates.
    pub groups: Vec<GroupName>,
}

impl Identity {
    /// An identity from its parts; groups are de-duplicated and sorted so two
    /// identities with the same groups compare equal.
    pub fn new(userid: Option<UserId>, email: Option<Email>, groups: Vec<GroupName>) -> Self {
        let mut groups = groups;
        groups.sort();
        groups.dedup();
        Self {
            userid,
            email,
            groups,
        }
    }

    /// An identity for a user id alone.
    pub fn user(id: &str) -> Self {
        Self::new(Some(UserId::new(id)), None, Vec::new())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lower_case_is_found_in_ascii_and_other_text() {
        assert!(has_lower_case("aB"));
        assert!(!has_lower_case("AB 1-_@"));
        assert!(has_lower_case("ÉCOLE é"));
        assert!(!has_lower_case("ÉCOLE"));
        assert!(!has_lower_case(""));
    }

    #[test]
    fn shared_text_is_normalised_and_kept_when_normal() {
        let normal: Arc<str> = Arc::from("US-USER");
        let u = UserId::from_shared(&normal);
        assert_eq!(u.as_str(), "US-USER");
        assert!(Arc::ptr_eq(&u.0, &normal));
        for raw in [" us-user", "us-user", "US-USER "] {
            let u = UserId::from_shared(&Arc::from(raw));
            assert_eq!(u, UserId::new(raw));
            assert_eq!(u.as_str(), "US-USER");
        }
        assert_eq!(
            GroupName::from_shared(&Arc::from("Straße")),
            GroupName::new("Straße")
        );
        assert_eq!(Email::from_shared(&Arc::from("a@b")).as_str(), "A@B");
    }

    #[test]
    fn identity_parts_are_upper_cased_once() {
        let id = Identity::new(
            Some(UserId::new(" us-user ")),
            Some(Email::new("a@b.org")),
            vec![
                GroupName::new("sales"),
                GroupName::new("Admins"),
                GroupName::new("SALES"),
            ],
        );
        assert_eq!(id.userid.as_ref().map(UserId::as_str), Some("US-USER"));
        assert_eq!(id.email.as_ref().map(Email::as_str), Some("A@B.ORG"));
        let groups: Vec<&str> = id.groups.iter().map(GroupName::as_str).collect();
        assert_eq!(groups, ["ADMINS", "SALES"]);
    }

    #[test]
    fn field_names_keep_their_case() {
        assert_eq!(FieldName::new("Country").as_str(), "Country");
        assert_ne!(FieldName::new("Country"), FieldName::new("COUNTRY"));
    }
}
