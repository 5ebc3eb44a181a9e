//! Qlik values: a number, a text, both (a *dual*), or NULL.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::fmt;
use std::sync::Arc;

/// One value, as Qlik's engine holds it.
///
/// Text read from a file or an INLINE table that looks like a number becomes
/// a [`Value::Dual`]: it compares as the number and shows as the text it was
/// written with (`01` stays `01`).
#[derive(Clone, Debug, Default)]
pub enum Value {
    /// No value (a missing cell after a join, `Null()`).
    #[default]
    Null,
    /// A pure number (an expression result); shown in Qlik's default format.
    Num(f64),
    /// Pure text.
    Text(Arc<str>),
    /// A number with its own text representation.
    Dual(f64, Arc<str>),
}

impl Value {
    /// A value read as text (file cell, INLINE cell): numbers become duals
    /// that keep their text, everything else stays text. Empty text is an
    /// empty string, not NULL (as in Qlik).
    pub fn from_text(text: &str) -> Value {
        match parse_number(text) {
            Some(n) => Value::Dual(n, Arc::from(text)),
            None => Value::Text(Arc::from(text)),
        }
    }

    /// A pure text value, never interpreted as a number.
    pub fn text_only(text: &str) -> Value {
        Value::Text(Arc::from(text))
    }

    /// True for NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// The numeric part, if any.
    pub fn num(&self) -> Option<f64> {
        match self {
            Value::Num(n) | Value::Dual(n, _) => Some(*n),
            Value::Null | Value::Text(_) => None,
        }
    }

    /// The text part: the text written, or the number in Qlik's default
    /// format; NULL shows as empty text.
    pub fn text(&self) -> Cow<'_, str> {
        match self {
            Value::Null => Cow::Borrowed(""),
            Value::Num(n) => Cow::Owned(format_number(*n)),
            Value::Text(t) | Value::Dual(_, t) => Cow::Borrowed(t),
        }
    }

    /// Qlik's equality for matching values (SPEC §5.3): as numbers when both
    /// sides are numbers, otherwise as text, exactly. NULL equals nothing.
    pub fn same_as(&self, other: &Value) -> bool {
        match (self, other) {
            (Value::Null, _) | (_, Value::Null) => false,
            _ => match (self.num(), other.num()) {
                (Some(a), Some(b)) => a == b,
                _ => self.text() == other.text(),
            },
        }
    }

    /// Qlik's sort order: numbers first (ascending), then text, NULL last.
    pub fn sort_cmp(&self, other: &Value) -> Ordering {
        match (self, other) {
            (Value::Null, Value::Null) => Ordering::Equal,
            (Value::Null, _) => Ordering::Greater,
            (_, Value::Null) => Ordering::Less,
            _ => match (self.num(), other.num()) {
                (Some(a), Some(b)) => a.total_cmp(&b),
                (Some(_), None) => Ordering::Less,
                (None, Some(_)) => Ordering::Greater,
                (None, None) => self.text().cmp(&other.text()),
            },
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// Bits of a number with `-0.0` folded into `0.0`, so they hash alike.
pub(crate) fn num_bits(n: f64) -> u64 {
    if n == 0.0 { 0 } else { n.to_bits() }
}

/// Recognises the numbers Qlik reads from text with the default
/// (`.` decimal) settings: optional sign, digits with an optional fraction,
/// optional exponent. `inf`, `nan`, hex and thousands separators are text.
pub fn parse_number(text: &str) -> Option<f64> {
    let b = text.as_bytes();
    // Plain integers (ids, keys: most numeric cells) without the float
    // parser: below 10^15 every integer is exact in an f64, so this is the
    // value `str::parse` gives (`-0` included).
    if let Some((neg, digits)) = match b.split_first() {
        Some((b'-', rest)) => Some((true, rest)),
        Some((b'+', rest)) => Some((false, rest)),
        Some(_) => Some((false, b)),
        None => None,
    } && !digits.is_empty()
        && digits.len() <= 15
        && digits.iter().all(u8::is_ascii_digit)
    {
        let n = digits
            .iter()
            .fold(0u64, |acc, d| acc * 10 + u64::from(d - b'0')) as f64;
        return Some(if neg { -n } else { n });
    }
    let mut i = 0;
    if matches!(b.first(), Some(b'+' | b'-')) {
        i += 1;
    }
    let int_start = i;
    while b.get(i).is_some_and(u8::is_ascii_digit) {
        i += 1;
    }
    let mut digits = i - int_start;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let frac_start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            i += 1;
        }
        digits += i - frac_start;
    }
    if digits == 0 {
        return None;
    }
    let exponent = matches!(b.get(i), Some(b'e' | b'E'));
    if exponent {
        let mut j = i + 1;
        if matches!(b.get(j), Some(b'+' | b'-')) {
            j += 1;
        }
        let exp_start = j;
        while b.get(j).is_some_and(u8::is_ascii_digit) {
            j += 1;
        }
        if j == exp_start {
            return None;
        }
        i = j;
    }
    if i != b.len() {
        return None;
    }
    // Decimals without exponent whose digits fit in 15 (amounts, prices):
    // the digits as an integer and the power of ten are both exact in an
    // f64, and IEEE division rounds correctly, so the quotient is the
    // nearest f64 to the decimal: what the float parser gives (Clinger's
    // fast path), without it.
    if digits <= 15 && !exponent {
        let mut m = 0u64;
        let mut frac = 0i32;
        let mut in_frac = false;
        for &c in b {
            match c {
                b'0'..=b'9' => {
                    m = m * 10 + u64::from(c - b'0');
                    frac += i32::from(in_frac);
                }
                b'.' => in_frac = true,
                _ => {}
            }
        }
        const POW10: [f64; 16] = [
            1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
        ];
        let scale = usize::try_from(frac)
            .ok()
            .and_then(|f| POW10.get(f))
            .copied()?;
        let n = m as f64 / scale;
        return Some(if b.first() == Some(&b'-') { -n } else { n });
    }
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// Qlik's default number format: integers without decimals, other numbers
/// with up to 14 significant digits and no trailing zeros.
pub fn format_number(n: f64) -> String {
    if n.is_nan() {
        return String::from("-");
    }
    if n.fract() == 0.0 && n.abs() < 1e15 {
        // INVARIANT: integral and well inside i64's range.
        return format!("{}", n as i64);
    }
    let s = format!("{:.*e}", 13, n);
    // Re-read through f64 to drop the noise beyond 14 significant digits,
    // then let Rust print the shortest text for that value.
    match s.parse::<f64>() {
        Ok(v) => {
            let plain = format!("{v}");
            if plain.len() > 20 {
                format!("{v:e}")
            } else {
                plain
            }
        }
        Err(_) => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_from_text_keep_their_text() {
        let v = Value::from_text("01");
        assert_eq!(v.num(), Some(1.0));
        assert_eq!(v.text(), "01");
        assert!(v.same_as(&Value::Num(1.0)));
    }

    #[test]
    fn integers_read_as_the_float_parser_reads_them() {
        for t in [
            "0",
            "-0",
            "+7",
            "007",
            "123456789012345",
            "-999999999999999",
            "1234567890123456",
        ] {
            let want: f64 = t.parse().unwrap_or(f64::NAN);
            let got = parse_number(t).unwrap_or(f64::NAN);
            assert_eq!(got.to_bits(), want.to_bits(), "{t}");
        }
    }

    #[test]
    fn decimals_read_as_the_float_parser_reads_them() {
        let mut texts: Vec<String> = [
            "0.1",
            "0.29",
            "-0.0",
            "+1.5",
            ".5",
            "5.",
            "123456789.12345",
            "999999999999999.",
            ".000000000000001",
            "0.3",
            "1.0000000000001",
            "-45.67",
            "00012.340",
        ]
        .iter()
        .map(|s| (*s).to_string())
        .collect();
        // Every two-decimal amount up to 100, and a spread of others.
        texts.extend((0..10_000).map(|i| format!("{}.{:02}", i / 100, i % 100)));
        texts.extend((0..2_000u64).map(|i| format!("{}.{}", i * 7919, i * 104_729 % 1_000_000)));
        for t in &texts {
            let want: f64 = t.parse().unwrap_or(f64::NAN);
            let got = parse_number(t).unwrap_or(f64::NAN);
            assert_eq!(got.to_bits(), want.to_bits(), "{t}");
        }
    }

    #[test]
    fn only_plain_decimal_numbers_are_numbers() {
        for yes in ["1", "-2.5", "+3", ".5", "5.", "1e3", "1E-2"] {
            assert!(parse_number(yes).is_some(), "{yes}");
        }
        for no in [
            "", "-", ".", "inf", "NaN", "0x10", "1,000", "1e", " 1", "1 ", "US",
        ] {
            assert!(parse_number(no).is_none(), "{no}");
        }
    }

    #[test]
    fn text_compares_exactly_and_numbers_by_value() {
        assert!(!Value::from_text("us").same_as(&Value::from_text("US")));
        assert!(Value::from_text("1.0").same_as(&Value::from_text("1")));
        assert!(!Value::Null.same_as(&Value::Null));
        assert!(Value::from_text("").same_as(&Value::text_only("")));
    }

    #[test]
    fn default_number_format() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-0.5), "-0.5");
        assert_eq!(format_number(0.1 + 0.2), "0.3");
        assert_eq!(format_number(1e20), "1e20");
        assert_eq!(format_number(123456.5), "123456.5");
    }

    #[test]
    fn sort_puts_numbers_before_text_and_null_last() {
        let mut v = [
            Value::Null,
            Value::text_only("b"),
            Value::Num(2.0),
            Value::from_text("1"),
        ];
        v.sort_by(Value::sort_cmp);
        let shown: Vec<String> = v.iter().map(|x| x.text().into_owned()).collect();
        assert_eq!(shown, ["1", "2", "b", ""]);
    }
}
