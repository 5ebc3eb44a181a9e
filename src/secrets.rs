//! Passwords kept out of every output: in database URLs and connect
//! strings (`--connect`, errors, notes), and in the script text an error
//! shows around its location (`ODBC CONNECT TO [Dsn;PWD=…]`).

use std::borrow::Cow;

/// Keys whose value is a password in a connect string or URL query, lower
/// case, with what separates key and value.
const KEYS: &[&str] = &["pwd=", "password=", "xpassword is"];

/// Where a secret value ends.
fn ends_secret(c: char) -> bool {
    matches!(
        c,
        ';' | '&' | ']' | '[' | '\'' | '"' | ')' | ',' | '}' | '\r' | '\n'
    )
}

/// The byte ranges of `text` that hold passwords.
fn secrets(text: &str) -> Vec<std::ops::Range<usize>> {
    let lower = text.to_ascii_lowercase();
    let mut found = Vec::new();
    for key in KEYS {
        let mut from = 0;
        while let Some(at) = lower.get(from..).and_then(|l| l.find(key)) {
            let value = from + at + key.len();
            let rest = text.get(value..).unwrap_or_default();
            let start = value + (rest.len() - rest.trim_start_matches([' ', '\t']).len());
            let len = text
                .get(start..)
                .unwrap_or_default()
                .find(ends_secret)
                .unwrap_or(text.len() - start);
            let end = start
                + text
                    .get(start..start + len)
                    .map_or(0, |s| s.trim_end().len());
            if end > start {
                found.push(start..end);
            }
            from = value;
        }
    }
    // `scheme://user:password@host`
    let mut from = 0;
    while let Some(at) = text.get(from..).and_then(|t| t.find("://")) {
        let start = from + at + 3;
        let rest = text.get(start..).unwrap_or_default();
        let authority = rest
            .find(|c: char| c == '/' || c == '?' || c.is_whitespace() || ends_secret(c))
            .unwrap_or(rest.len());
        let authority = rest.get(..authority).unwrap_or_default();
        if let Some(at_sign) = authority.rfind('@')
            && let Some(colon) = authority.get(..at_sign).and_then(|u| u.find(':'))
            && colon + 1 < at_sign
        {
            found.push(start + colon + 1..start + at_sign);
        }
        from = start;
    }
    found
}

/// `text` with each password replaced by `***` (URLs, connect strings,
/// `--connect` arguments).
pub fn masked(text: &str) -> String {
    let mut ranges = secrets(text);
    ranges.sort_by_key(|r| std::cmp::Reverse(r.start));
    let mut out = text.to_string();
    let mut last = usize::MAX;
    for r in ranges {
        if r.end <= last && out.is_char_boundary(r.start) && out.is_char_boundary(r.end) {
            out.replace_range(r.clone(), "***");
            last = r.start;
        }
    }
    out
}

/// `text` with each password's characters replaced by `*`, one per byte,
/// so that every offset into the text still holds (the script an error
/// shows around its location).
pub(crate) fn masked_in_place(text: &str) -> Cow<'_, str> {
    let ranges = secrets(text);
    if ranges.is_empty() {
        return Cow::Borrowed(text);
    }
    let mut bytes = text.as_bytes().to_vec();
    for r in ranges {
        if let Some(secret) = bytes.get_mut(r) {
            secret.fill(b'*');
        }
    }
    // Whole characters were replaced by ASCII: still UTF-8.
    Cow::Owned(String::from_utf8_lossy(&bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_never_show() {
        assert_eq!(
            masked("postgresql://anna:s3cr%40t@db:5432/hr?sslmode=disable"),
            "postgresql://anna:***@db:5432/hr?sslmode=disable"
        );
        assert_eq!(masked("postgresql://db/hr"), "postgresql://db/hr");
        assert_eq!(masked("postgresql://anna@db/hr"), "postgresql://anna@db/hr");
        assert_eq!(
            masked("odbc:DSN=hr;UID=anna;PWD=secret;Encrypt=yes"),
            "odbc:DSN=hr;UID=anna;PWD=***;Encrypt=yes"
        );
        assert_eq!(
            masked("postgresql://db/hr?user=anna&password=secret"),
            "postgresql://db/hr?user=anna&password=***"
        );
        assert_eq!(masked("Dsn;Password=x"), "Dsn;Password=***");
    }

    #[test]
    fn script_text_keeps_its_offsets() {
        let script =
            "ODBC CONNECT TO [Dsn;PWD=sécret] (XUserId is AB, XPassword is QOXS);\nLOAD 1;";
        let m = masked_in_place(script);
        assert_eq!(m.len(), script.len());
        assert!(!m.contains("sécret") && !m.contains("QOXS"), "{m}");
        assert!(
            m.contains("PWD=*******]") && m.contains("XPassword is ****)"),
            "{m}"
        );
        assert!(m.ends_with("\nLOAD 1;"));
        assert!(matches!(masked_in_place("LOAD 1;"), Cow::Borrowed(_)));
    }
}
