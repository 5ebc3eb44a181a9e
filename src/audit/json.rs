//! `audit --format json` written straight to a writer.
//!
//! The document is [`super::AuditReport`] as `serde_json` pretty-prints it,
//! byte for byte (a test compares the two), but without building the
//! report first: an audit of a large security table is a hundred megabytes
//! of JSON, and most of it repeats. What a grant shows is rendered once per
//! [`super::View`] and copied for each identity.

use std::collections::HashMap;
use std::io::{self, Write};
use std::sync::Arc;

use super::{Audit, Verdict, View};
use crate::names::Identity;

/// Pretty-printing depth of an identity object's members (6 spaces).
const MEMBER: usize = 6;

impl Audit {
    /// Writes the JSON report ([`super::AuditReport`]) without the final
    /// newline, exactly as `serde_json::to_string_pretty(&self.report())`.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        out.write_all(b"{\n  \"identities\": [")?;
        let mut rendered: HashMap<(*const View, Option<&'static str>, &'static str), Vec<u8>> =
            HashMap::new();
        let mut buf = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let Some(g) = self.grant_of(e) else { continue };
            buf.clear();
            buf.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            buf.extend_from_slice(b"    {\n      \"identity\": ");
            identity(&mut buf, &e.identity);
            buf.extend_from_slice(b",\n");
            let access = g.access.map_or("null", |a| match a {
                crate::access::AccessLevel::Admin => "\"ADMIN\"",
                crate::access::AccessLevel::User => "\"USER\"",
            });
            let part = rendered
                .entry((
                    Arc::as_ptr(&g.view),
                    g.outcome.reason().map(crate::access::DenyReason::code),
                    access,
                ))
                .or_insert_with(|| shown(g, access));
            buf.extend_from_slice(part);
            buf.extend_from_slice(b"\n    }");
            out.write_all(&buf)?;
        }
        out.write_all(if self.entries.is_empty() {
            b"],\n  \"findings\": "
        } else {
            b"\n  ],\n  \"findings\": "
        })?;
        let findings = serde_json::to_vec_pretty(&self.findings).map_err(io::Error::other)?;
        out.write_all(&indented(&findings, 2))?;
        out.write_all(b"\n}")
    }
}

/// `text` with `n` spaces after each line break (a value pretty-printed at
/// depth 0 becomes the same value at a deeper level: JSON strings hold no
/// raw line breaks).
fn indented(text: &[u8], n: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + text.len() / 8);
    for &b in text {
        out.push(b);
        if b == b'\n' {
            out.extend(std::iter::repeat_n(b' ', n));
        }
    }
    out
}

/// A number in decimal, as serde_json writes it (no `format!` per value).
fn number(out: &mut Vec<u8>, n: usize) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    let mut n = n;
    loop {
        i -= 1;
        if let Some(d) = digits.get_mut(i) {
            *d = b'0' + (n % 10) as u8;
        }
        n /= 10;
        if n == 0 || i == 0 {
            break;
        }
    }
    out.extend_from_slice(digits.get(i..).unwrap_or_default());
}

fn spaces(out: &mut Vec<u8>, n: usize) {
    out.extend(std::iter::repeat_n(b' ', n));
}

/// A JSON string.
fn string(out: &mut Vec<u8>, s: &str) {
    // Most strings (names, values, ids) need no escape: copied as they are,
    // which is what serde_json writes for them (it escapes only `"`, `\`
    // and control characters).
    if s.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
        return;
    }
    if serde_json::to_writer(&mut *out, s).is_err() {
        // Writing to memory cannot fail; an empty string keeps the document valid.
        out.extend_from_slice(b"\"\"");
    }
}

/// `[...]` of strings whose closing bracket is at depth `at` (spaces).
fn strings<'a>(out: &mut Vec<u8>, items: impl IntoIterator<Item = &'a str>, at: usize) {
    let mut any = false;
    for s in items {
        out.extend_from_slice(if any { b",\n" } else { b"[\n" });
        spaces(out, at + 2);
        string(out, s);
        any = true;
    }
    if any {
        out.push(b'\n');
        spaces(out, at);
        out.push(b']');
    } else {
        out.extend_from_slice(b"[]");
    }
}

fn identity(out: &mut Vec<u8>, id: &Identity) {
    let at = MEMBER + 2;
    out.extend_from_slice(b"{\n");
    member(out, "userid", at);
    nullable(out, id.userid.as_ref().map(|u| u.as_str()));
    out.extend_from_slice(b",\n");
    member(out, "email", at);
    nullable(out, id.email.as_ref().map(|e| e.as_str()));
    out.extend_from_slice(b",\n");
    member(out, "groups", at);
    strings(out, id.groups.iter().map(|g| g.as_str()), at);
    out.push(b'\n');
    spaces(out, MEMBER);
    out.push(b'}');
}

/// `"name": ` of an object member at depth `at` (spaces).
fn member(out: &mut Vec<u8>, name: &str, at: usize) {
    spaces(out, at);
    string(out, name);
    out.extend_from_slice(b": ");
}

/// A JSON string, or `null`.
fn nullable(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => string(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// `{...}` whose closing brace is at depth `at`: a member per item, named
/// by `name`, its value written by `value`.
fn object<T>(
    out: &mut Vec<u8>,
    items: &[T],
    at: usize,
    name: impl Fn(&T) -> &str,
    value: impl Fn(&mut Vec<u8>, &T),
) {
    if items.is_empty() {
        out.extend_from_slice(b"{}");
        return;
    }
    out.push(b'{');
    for (i, item) in items.iter().enumerate() {
        out.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
        member(out, name(item), at + 2);
        value(out, item);
    }
    out.push(b'\n');
    spaces(out, at);
    out.push(b'}');
}

/// The members after `identity`: decision, reason, access, reduction,
/// omitted, tables.
fn shown(g: &Verdict, access: &str) -> Vec<u8> {
    let mut out = Vec::new();
    member(&mut out, "decision", MEMBER);
    string(&mut out, g.decision());
    out.extend_from_slice(b",\n");
    member(&mut out, "reason", MEMBER);
    nullable(&mut out, g.outcome.reason().map(|r| r.code()));
    out.extend_from_slice(b",\n");
    member(&mut out, "access", MEMBER);
    out.extend_from_slice(access.as_bytes());
    out.extend_from_slice(b",\n");
    member(&mut out, "reduction", MEMBER);
    object(
        &mut out,
        &g.view.reduction,
        MEMBER,
        |(name, _)| name,
        |out, (_, values)| strings(out, values.iter().map(String::as_str), MEMBER + 2),
    );
    out.extend_from_slice(b",\n");
    member(&mut out, "omitted", MEMBER);
    strings(&mut out, g.view.omitted.iter().map(String::as_str), MEMBER);
    out.extend_from_slice(b",\n");
    member(&mut out, "tables", MEMBER);
    let at = MEMBER + 2;
    object(
        &mut out,
        &g.view.tables,
        MEMBER,
        |t| &t.name,
        |out, t| {
            out.extend_from_slice(b"{\n");
            member(out, "rows", at + 2);
            number(out, t.rows);
            out.extend_from_slice(b",\n");
            member(out, "total", at + 2);
            number(out, t.total);
            out.extend_from_slice(b",\n");
            member(out, "fields", at + 2);
            strings(out, t.fields.iter().map(String::as_str), at + 2);
            out.push(b'\n');
            spaces(out, at);
            out.push(b'}');
        },
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_numbers_are_written_as_serde_json_writes_them() {
        for s in [
            "",
            "US",
            "a b",
            "é ü",
            "q\"uote",
            "back\\slash",
            "tab\there",
            "\u{1}",
            "\u{7f}",
        ] {
            let mut out = Vec::new();
            string(&mut out, s);
            assert_eq!(out, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
        for n in [0usize, 7, 10, 99, 100, 12_345, usize::MAX] {
            let mut out = Vec::new();
            number(&mut out, n);
            assert_eq!(out, serde_json::to_vec(&n).unwrap(), "{n}");
        }
    }
}
