//! Qlik's dollar-sign expansion: textual substitution done before a
//! statement is parsed.

use super::error::ExpandError;

/// Deepest nesting of expansions (`$(a$(b))`, or a variable whose value
/// expands another variable) before giving up.
pub const MAX_EXPANSION_DEPTH: usize = 64;

/// What [`expand`] needs from the running script.
pub trait Expander {
    /// The value of a variable, `None` when it does not exist. Qlik variable
    /// names are case-sensitive.
    fn variable(&mut self, name: &str) -> Option<String>;

    /// Evaluates the expression of `$(=expr)` and returns its text.
    fn evaluate(&mut self, expr: &str) -> Result<String, String>;

    /// The text of the file of `$(Include=path)` (`must` false) or
    /// `$(Must_Include=path)` (`must` true), already decoded. An error for
    /// an `Include` yields empty text; for a `Must_Include` it fails the
    /// expansion.
    fn include(&mut self, path: &str, must: bool) -> Result<String, String>;
}

/// Expands every `$(…)` in `text`, innermost first.
///
/// - `$(name)`: the variable's value (itself expanded), or nothing when the
///   variable does not exist, as Qlik does;
/// - `$(name(a, b))`: the value with `$1`, `$2`… replaced by the arguments
///   (`$0` is their count);
/// - `$(=expr)`: [`Expander::evaluate`];
/// - `$(Include=path)` / `$(Must_Include=path)`: [`Expander::include`]; the
///   included text is not expanded here (its statements are expanded when
///   they run).
pub fn expand(text: &str, env: &mut dyn Expander) -> Result<String, ExpandError> {
    expand_at(text, 0, env, 0)
}

fn expand_at(
    text: &str,
    base: usize,
    env: &mut dyn Expander,
    depth: usize,
) -> Result<String, ExpandError> {
    if !text.contains("$(") {
        return Ok(text.to_owned());
    }
    if depth >= MAX_EXPANSION_DEPTH {
        return Err(ExpandError::TooDeep {
            offset: base,
            limit: MAX_EXPANSION_DEPTH,
        });
    }
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some((before, inner_start)) = rest.split_once("$(") {
        out.push_str(before);
        let offset = base + (text.len() - rest.len()) + before.len();
        let Some((raw, after)) = matching_paren(inner_start) else {
            return Err(ExpandError::Unterminated { offset });
        };
        let inner = expand_at(raw, offset + 2, env, depth + 1)?;
        out.push_str(&resolve(&inner, offset, env, depth)?);
        rest = after;
    }
    out.push_str(rest);
    Ok(out)
}

/// The value of one expansion whose inside is already expanded.
fn resolve(
    inner: &str,
    offset: usize,
    env: &mut dyn Expander,
    depth: usize,
) -> Result<String, ExpandError> {
    let t = inner.trim();
    if let Some(expr) = t.strip_prefix('=') {
        return env.evaluate(expr).map_err(|message| ExpandError::Evaluate {
            expr: expr.to_owned(),
            message,
            offset,
        });
    }
    for (prefix, must) in [("must_include", true), ("include", false)] {
        if let Some(head) = t.get(..prefix.len())
            && head.eq_ignore_ascii_case(prefix)
            && let Some(path) = t
                .get(prefix.len()..)
                .and_then(|r| r.trim_start().strip_prefix('='))
        {
            let path = path.trim();
            return match env.include(path, must) {
                Ok(text) => Ok(text),
                Err(_) if !must => Ok(String::new()),
                Err(message) => Err(ExpandError::Include {
                    path: path.to_owned(),
                    message,
                    offset,
                }),
            };
        }
    }
    // `name(a, b)`: a parameterised variable.
    if let Some((name, args_text)) = t.split_once('(')
        && let Some(args_text) = args_text.strip_suffix(')')
        && !name.is_empty()
    {
        let name = name.trim();
        let args: Vec<&str> = if args_text.trim().is_empty() {
            Vec::new()
        } else {
            super::lex::split_commas(args_text)
                .into_iter()
                .map(str::trim)
                .collect()
        };
        let Some(value) = env.variable(name) else {
            return Ok(String::new());
        };
        let substituted = substitute(&value, &args);
        return expand_at(&substituted, offset, env, depth + 1);
    }
    match env.variable(t) {
        Some(value) => expand_at(&value, offset, env, depth + 1),
        None => Ok(String::new()),
    }
}

/// Replaces `$n` by the n-th argument (1-based; `$0` is the count). A `$n`
/// past the arguments stays as written.
fn substitute(value: &str, args: &[&str]) -> String {
    let mut out = String::with_capacity(value.len());
    let mut rest = value;
    while let Some((before, after)) = rest.split_once('$') {
        out.push_str(before);
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        // ASCII digits: `digits` is a char boundary.
        let (number, tail) = after.split_at(digits);
        let index = number.parse::<usize>().ok();
        let arg = index
            .and_then(|i| i.checked_sub(1))
            .and_then(|k| args.get(k));
        match (index, arg) {
            (Some(0), _) => out.push_str(&args.len().to_string()),
            (_, Some(arg)) => out.push_str(arg),
            _ => {
                out.push('$');
                out.push_str(number);
            }
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// The inside of an expansion that starts at `s` and what follows its
/// closing `)`: parentheses nest, `'…'` strings are skipped.
fn matching_paren(s: &str) -> Option<(&str, &str)> {
    let mut depth = 0usize;
    let mut in_str = false;
    for (i, c) in s.char_indices() {
        match c {
            '\'' => in_str = !in_str,
            _ if in_str => {}
            '(' => depth += 1,
            // `i` is the char boundary of a one-byte `)`.
            ')' if depth == 0 => return Some((&s[..i], &s[i + 1..])),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    #[derive(Default)]
    struct Env {
        vars: HashMap<String, String>,
        files: HashMap<String, String>,
    }

    impl Expander for Env {
        fn variable(&mut self, name: &str) -> Option<String> {
            self.vars.get(name).cloned()
        }
        fn evaluate(&mut self, expr: &str) -> Result<String, String> {
            match expr.trim() {
                "1+1" => Ok("2".into()),
                other => Err(format!("cannot evaluate {other}")),
            }
        }
        fn include(&mut self, path: &str, _must: bool) -> Result<String, String> {
            self.files
                .get(path)
                .cloned()
                .ok_or_else(|| "not found".into())
        }
    }

    fn env(vars: &[(&str, &str)]) -> Env {
        Env {
            vars: vars
                .iter()
                .map(|(a, b)| ((*a).into(), (*b).into()))
                .collect(),
            files: [("a.qvs".to_owned(), "SET x=1;".to_owned())].into(),
        }
    }

    #[test]
    fn variables_expand_and_unknown_ones_vanish() {
        let mut e = env(&[("vPath", "C:\\data\\"), ("v", "x")]);
        assert_eq!(
            expand("FROM [$(vPath)a.csv]", &mut e).unwrap(),
            "FROM [C:\\data\\a.csv]"
        );
        assert_eq!(expand("a$(nope)b", &mut e).unwrap(), "ab");
        assert_eq!(expand("$( v )", &mut e).unwrap(), "x");
        // Names are case-sensitive.
        assert_eq!(expand("$(V)", &mut e).unwrap(), "");
        assert_eq!(expand("no expansion", &mut e).unwrap(), "no expansion");
    }

    #[test]
    fn innermost_first() {
        let mut e = env(&[("i", "2"), ("v2", "two")]);
        assert_eq!(expand("$(v$(i))", &mut e).unwrap(), "two");
    }

    #[test]
    fn parameters_replace_dollar_numbers() {
        let mut e = env(&[("mul", "$1 * $2 ($0)"), ("one", "[$1]")]);
        assert_eq!(
            expand("$(mul(3, f(a, b)))", &mut e).unwrap(),
            "3 * f(a, b) (2)"
        );
        assert_eq!(expand("$(one(x))$3", &mut e).unwrap(), "[x]$3");
        // A `$` without digits, with letters, with a leading zero, past the
        // arguments, and at the very end.
        let mut e = env(&[("odd", "$ $x $01 $2 $")]);
        assert_eq!(expand("$(odd(a))", &mut e).unwrap(), "$ $x a $2 $");
    }

    #[test]
    fn evaluate_and_include() {
        let mut e = env(&[]);
        assert_eq!(expand("$(=1+1)", &mut e).unwrap(), "2");
        assert!(matches!(
            expand("$(=bad)", &mut e),
            Err(ExpandError::Evaluate { .. })
        ));
        assert_eq!(expand("$(Include=a.qvs)", &mut e).unwrap(), "SET x=1;");
        assert_eq!(expand("$(include=missing.qvs)", &mut e).unwrap(), "");
        assert!(matches!(
            expand("x $(Must_Include=missing.qvs)", &mut e),
            Err(ExpandError::Include { offset: 2, .. })
        ));
    }

    #[test]
    fn recursion_and_unterminated_are_errors() {
        let mut e = env(&[("a", "$(a)")]);
        assert!(matches!(
            expand("$(a)", &mut e),
            Err(ExpandError::TooDeep { .. })
        ));
        assert_eq!(
            expand("ab $(x", &mut e),
            Err(ExpandError::Unterminated { offset: 3 })
        );
        let deep = format!("{}x{}", "$(".repeat(200), ")".repeat(200));
        assert!(matches!(
            expand(&deep, &mut e),
            Err(ExpandError::TooDeep { .. })
        ));
    }

    #[test]
    fn quotes_inside_an_expansion_may_hold_parentheses() {
        let mut e = env(&[]);
        assert!(matches!(
            expand("$(=If(a, ')'))", &mut e),
            Err(ExpandError::Evaluate { expr, .. }) if expr == "If(a, ')')"
        ));
    }
}
