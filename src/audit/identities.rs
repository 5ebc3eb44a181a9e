//! Who the audit is about: the identities the security tables name, read
//! from a directory export, and the one order they are listed in.

use std::path::{Path, PathBuf};

use crate::access::{Options, Origin};
use crate::load::App;
use crate::model::Model;
use crate::names::{Email, GroupName, Identity, UserId};

use super::listed;

/// Identity columns whose values name a user (`NTNAME` may also name a
/// group; a member of that group is then covered by the `GROUP`-less
/// enumeration of the user of the same name, which matches the same rows).
pub(super) const USER_COLUMNS: [&str; 2] = ["USERID", "NTNAME"];

/// Every identity the security tables name, under `opts.uppercase`:
/// each `USERID`/`NTNAME` value as a user without groups, each `USER.EMAIL`
/// value as an identity with only that e-mail, each `GROUP` value as a
/// member of that group without a user id. Wildcards and blank cells name
/// nobody. Sorted: users, then e-mails, then groups.
pub fn identities(app: &App, opts: &Options) -> Vec<Identity> {
    let sec = app.security(opts.uppercase);
    let mut out = named_identities(&sec, app.star.as_deref());
    sort_named(&mut out);
    out.into_iter().map(|(i, _)| i).collect()
}

/// The identities of [`identities`], unsorted, each with the symbol it was
/// read off when the identity's value is that symbol's text exactly (the
/// matcher then needs no lookup for it).
pub(super) fn named_identities(sec: &Model, star: Option<&str>) -> Vec<(Identity, Option<Origin>)> {
    listed::Listed::of(sec, star).identities()
}

/// A service account's user id (`INTERNAL\…`, e.g. the reload scheduler):
/// it sees data no person sees, so its grant does not count for "someone
/// sees this row".
pub(super) fn is_service_account(userid: &str) -> bool {
    userid.starts_with("INTERNAL\\")
}

/// The positions of `ids` in [`sort_identities`] order, each identity
/// once (of two equal identities, the first one's position stays: either
/// origin is right). The identities stay where they are: a million of them
/// are not moved around to be sorted.
pub(super) fn sorted_order(ids: &[(Identity, Option<Origin>)]) -> Vec<u32> {
    // A million identities compare strings behind pointers: sort on a
    // prefix held inline, comparing whole identities only on equal ones.
    let mut order: Vec<(u128, u32)> = ids
        .iter()
        .zip(0u32..)
        .map(|((id, _), i)| (prefix(id), i))
        .collect();
    let get = |i: u32| ids.get(i as usize).map(|(id, _)| id);
    order.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0).then_with(|| match (get(a.1), get(b.1)) {
            (Some(x), Some(y)) => compare(x, y).then(a.1.cmp(&b.1)),
            _ => a.1.cmp(&b.1),
        })
    });
    order.dedup_by(|b, a| a.0 == b.0 && get(a.1) == get(b.1));
    order.into_iter().map(|(_, i)| i).collect()
}

/// [`sorted_order`] applied: the identities sorted, each once.
pub(super) fn sort_named(ids: &mut Vec<(Identity, Option<Origin>)>) {
    let order = sorted_order(ids);
    let mut slots: Vec<Option<(Identity, Option<Origin>)>> = ids.drain(..).map(Some).collect();
    ids.extend(
        order
            .iter()
            .filter_map(|&i| slots.get_mut(i as usize).and_then(Option::take)),
    );
}

/// The classes of identity in audit order, its first criterion: users,
/// then e-mails, then identities with neither (none, then group members).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum Rank {
    /// Has a user id: ordered by it.
    User,
    /// An e-mail but no user id: ordered by the e-mail.
    Email,
    /// Neither, nor groups.
    Anonymous,
    /// Only groups: ordered by them.
    Group,
}

impl Rank {
    /// The rank of an identity and the text it is first ordered by within
    /// its rank (its user id, e-mail or first group).
    pub(super) fn of(i: &Identity) -> (Rank, &str) {
        match (&i.userid, &i.email, i.groups.first()) {
            (Some(u), _, _) => (Rank::User, u.as_str()),
            (None, Some(e), _) => (Rank::Email, e.as_str()),
            (None, None, None) => (Rank::Anonymous, ""),
            (None, None, Some(g)) => (Rank::Group, g.as_str()),
        }
    }

    /// The first bytes of the audit order of an identity of this rank
    /// first ordered by `text`, as a number in the same order: the rank,
    /// then the first 15 bytes of `text`, padded with zeros. A smaller
    /// prefix means a smaller identity; equal prefixes say nothing.
    pub(super) fn prefix(self, text: &str) -> u128 {
        let mut bytes = [0u8; 16];
        if let Some((first, rest)) = bytes.split_first_mut() {
            *first = self as u8;
            for (b, t) in rest.iter_mut().zip(text.bytes()) {
                *b = t;
            }
        }
        u128::from_be_bytes(bytes)
    }

    /// [`compare`] of two identities that each have one name only (a user
    /// id, an e-mail or a group), given by rank and name: what the
    /// listing of the security tables orders its items by.
    pub(super) fn compare_named(a: (Rank, &str), b: (Rank, &str)) -> std::cmp::Ordering {
        a.cmp(&b)
    }
}

/// [`Rank::prefix`] of an identity.
pub(super) fn prefix(i: &Identity) -> u128 {
    let (rank, text) = Rank::of(i);
    rank.prefix(text)
}

/// The audit order, defined once: by [`Rank`], then user id, then e-mail
/// (one before none), then groups. [`Rank::prefix`] and
/// [`Rank::compare_named`] are this order on a part of an identity.
/// Compared by reference: cloning the names per comparison dominated
/// audits of large security tables.
pub(super) fn compare(a: &Identity, b: &Identity) -> std::cmp::Ordering {
    fn key(i: &Identity) -> (Rank, Option<&UserId>, bool, Option<&Email>, &[GroupName]) {
        (
            Rank::of(i).0,
            i.userid.as_ref(),
            i.email.is_none(),
            i.email.as_ref(),
            &i.groups,
        )
    }
    key(a).cmp(&key(b))
}

/// Sorts and de-duplicates identities: users first, then e-mails, then
/// group members, each by name.
pub fn sort_identities(ids: &mut Vec<Identity>) {
    // Unstable is enough: identities comparing equal are equal, and go.
    ids.sort_unstable_by(compare);
    ids.dedup();
}

/// A user-directory export that could not be read.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
pub enum IdentitiesError {
    /// The file could not be opened or is not CSV.
    #[error("cannot read identities from `{path}`: {message}")]
    #[diagnostic(
        code(identities::read),
        help("the file is CSV with a header row: `userid,email,groups`, groups separated by `;`")
    )]
    Read {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// The header names none of the expected columns.
    #[error("`{path}` has no `userid`, `email` or `groups` column")]
    #[diagnostic(
        code(identities::header),
        help("the first line names the columns: `userid,email,groups`")
    )]
    Header {
        /// The file.
        path: PathBuf,
    },
}

/// Reads identities from a CSV file with a header naming any of `userid`,
/// `email` and `groups` (case-insensitive; groups separated by `;`). Rows
/// with neither a user id nor an e-mail nor a group are skipped.
pub fn read_identities(path: &Path) -> Result<Vec<Identity>, IdentitiesError> {
    let read = |e: &dyn std::fmt::Display| IdentitiesError::Read {
        path: path.to_path_buf(),
        message: e.to_string().to_lowercase(),
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_path(path)
        .map_err(|e| read(&e))?;
    let headers = reader.headers().map_err(|e| read(&e))?.clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}').eq_ignore_ascii_case(name))
    };
    let (user, email, groups) = (col("userid"), col("email"), col("groups"));
    if user.is_none() && email.is_none() && groups.is_none() {
        return Err(IdentitiesError::Header {
            path: path.to_path_buf(),
        });
    }
    let mut out = Vec::new();
    for record in reader.records() {
        let record = record.map_err(|e| read(&e))?;
        let cell = |i: Option<usize>| {
            i.and_then(|i| record.get(i))
                .map(str::trim)
                .filter(|s| !s.is_empty())
        };
        let groups: Vec<GroupName> = cell(groups)
            .map(|g| {
                g.split(';')
                    .map(str::trim)
                    .filter(|g| !g.is_empty())
                    .map(GroupName::new)
                    .collect()
            })
            .unwrap_or_default();
        let userid = cell(user).map(UserId::new);
        let email = cell(email).map(Email::new);
        if userid.is_none() && email.is_none() && groups.is_empty() {
            continue;
        }
        out.push(Identity::new(userid, email, groups));
    }
    Ok(out)
}

/// A short label for an identity: the user id, else the e-mail, else
/// `group:NAME`.
pub fn label(identity: &Identity) -> String {
    let mut parts = Vec::new();
    if let Some(u) = &identity.userid {
        parts.push(u.to_string());
    }
    if let Some(e) = &identity.email {
        parts.push(e.to_string());
    }
    if !identity.groups.is_empty() {
        let g: Vec<&str> = identity.groups.iter().map(|g| g.as_str()).collect();
        parts.push(format!("group:{}", g.join(";")));
    }
    if parts.is_empty() {
        String::from("(anonymous)")
    } else {
        parts.join(" ")
    }
}
