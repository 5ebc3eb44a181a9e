//! `$(…)` expansion at run time: statements whose text holds `$(…)` are
//! expanded and parsed when they run, as Qlik does. The expanded text
//! becomes a source of its own so a diagnostic can show it, while its
//! location names the statement it came from. Also runs `$(Include=…)`.

use std::path::PathBuf;
use std::sync::Arc;

use crate::script::source::{SharedText, SourceId, Span};

use super::paths::io_reason;
use super::{Flow, R, Runner};
use crate::load::error::{Fail, LoadError, LoadErrorKind};
use crate::load::expr::value_text;

impl Runner<'_> {
    /// Registers expanded text as a source of its own and returns it with
    /// its id. The text is preceded by blank lines and spaces up to the
    /// statement's own line and column, so positions in it read like
    /// positions in the original file (up to the first expansion). The same
    /// expansion at the same place (a loop) reuses its source.
    pub(super) fn add_expansion(&mut self, text: String, from: Span) -> (SourceId, SharedText) {
        let key = (from.source, from.start, text);
        if let Some((id, padded)) = self.expansion_cache.get(&key) {
            return (*id, Arc::clone(padded));
        }
        let origin = self
            .expansions
            .get(&from.source)
            .cloned()
            .unwrap_or_else(|| self.app.sources.location(from));
        let at = self.app.sources.location(from);
        let mut padded = "\n".repeat(at.line.saturating_sub(1) as usize);
        padded.push_str(&" ".repeat(at.column.saturating_sub(1) as usize));
        padded.push_str(&key.2);
        let padded = Arc::new(padded);
        let name = format!("{} (after $(…) expansion)", origin.path.display());
        let id = self
            .app
            .sources
            .add(PathBuf::from(name), Arc::clone(&padded));
        self.expansions.insert(id, origin);
        self.expansion_cache.insert(key, (id, Arc::clone(&padded)));
        (id, padded)
    }

    pub(super) fn expand(&mut self, text: &str, span: Span) -> R<String> {
        let mut env = ExpandEnv { runner: self };
        match crate::script::expand(text, &mut env) {
            Ok(t) => Ok(t),
            Err(e) => {
                let at = span.start as usize + e.offset();
                let espan = Span::new(span.source, at, at + 2);
                Err(self.err(
                    Fail::new(LoadErrorKind::Expansion, espan, e.to_string())
                        .label("this expansion")
                        .help(match &e {
                            crate::script::ExpandError::Include { .. } => {
                                "`Must_Include` requires the file; use `Include` to skip a missing one"
                            }
                            _ => "check the variable's value and the `$(…)` syntax",
                        }),
                ))
            }
        }
    }

    pub(super) fn run_deferred(&mut self, text: &str, span: Span) -> R<Flow> {
        // `$(Include=…)` alone: run the file as a source of its own, so its
        // diagnostics name the included file.
        if let Some((path, must)) = include_only(text) {
            let path = self.expand(&path, span)?;
            return self.run_include(&path, must, span);
        }
        // The deferred text stops before its `;`; put it back to parse.
        let mut expanded = self.expand(text, span)?;
        expanded.push(';');
        let (id, expanded) = self.add_expansion(expanded, span);
        let parsed = crate::script::parse(id, &expanded)
            .map_err(|e| LoadError::from_parse(e, &self.app.sources, self.expansions.get(&id)))?;
        self.enter(span, "`$(…)` expansion")?;
        let r = self.run_block(&parsed.script.body);
        self.depth = self.depth.saturating_sub(1);
        r
    }

    /// `BINARY [app]`: the parent app's script (`--binary-script`) runs in
    /// its place, into this run's models, so its tables and section access
    /// are this app's to start with. Like Qlik, nothing else is inherited:
    /// its variables, subs and settings end with it.
    pub(super) fn run_binary(&mut self, app: Option<&str>, span: Span) -> R<()> {
        let Some(parent) = self.opts.binary_script.clone() else {
            let message = match app {
                Some(a) => format!("`BINARY` cannot read the app `{a}` offline"),
                None => String::from("`BINARY` cannot read an app offline"),
            };
            if self.opts.allow_unsupported {
                return self.unsupported(span, &message);
            }
            return Err(self.err(
                Fail::new(LoadErrorKind::Unsupported, span, message)
                    .label("the app's data is not available")
                    .help("run with `--binary-script PARENT.qvs` to run the parent app's load script in its place"),
            ));
        };
        let loaded = self.app.data.tables().len() + self.app.access.tables().len();
        if loaded > 0 || !self.app.variables.is_empty() {
            return Err(self.err(
                Fail::new(
                    LoadErrorKind::BadArgument,
                    span,
                    "`BINARY` after other statements",
                )
                .help("Qlik requires `BINARY` to be the first statement of the script"),
            ));
        }
        let text = match crate::script::read(&parent) {
            Ok(text) => Arc::new(text),
            Err(e) => {
                return Err(self.err(
                    Fail::new(
                        LoadErrorKind::MissingFile,
                        span,
                        format!(
                            "cannot read the binary script `{}`: {}",
                            parent.display(),
                            io_reason(&e)
                        ),
                    )
                    .label("this `BINARY`")
                    .help("check the path given to `--binary-script`"),
                ));
            }
        };
        let id = self.app.sources.add(parent.clone(), Arc::clone(&text));
        let parsed = crate::script::parse_shared(id, &text)
            .map_err(|e| LoadError::from_parse(e, &self.app.sources, None))?;
        // The parent runs as a script of its own (its folder, its name, no
        // further `--binary-script`), into this run's app.
        let opts = crate::load::LoadOptions {
            binary_script: None,
            ..self.opts.clone()
        };
        let mut runner = super::Runner::new(&parent, &opts);
        runner.app = std::mem::take(&mut self.app);
        for w in parsed.warnings {
            runner.warn(w.code, w.message, Some(w.span));
        }
        let r = runner.run_script(&parsed.script.body);
        self.app = runner.finish();
        r?;
        self.app.variables.clear();
        self.binary_access = !self.app.access.tables().is_empty();
        Ok(())
    }

    pub(super) fn run_include(&mut self, path: &str, must: bool, span: Span) -> R<Flow> {
        let full = self.find_file(path, span);
        let text = match crate::script::read(&full) {
            Ok(text) => Arc::new(text),
            Err(e) if must => {
                return Err(self.err(
                    Fail::new(
                        LoadErrorKind::MissingFile,
                        span,
                        format!("cannot include `{path}`: {}", io_reason(&e)),
                    )
                    .label("this include")
                    .help(self.where_to_map(path, &full)),
                ));
            }
            Err(e) => {
                self.warn(
                    "include-missing",
                    format!("`Include` of `{path}` skipped: {}", io_reason(&e)),
                    Some(span),
                );
                return Ok(Flow::Normal);
            }
        };
        let id = self.app.sources.add(full, Arc::clone(&text));
        let parsed = crate::script::parse_shared(id, &text)
            .map_err(|e| LoadError::from_parse(e, &self.app.sources, None))?;
        for w in parsed.warnings {
            self.warn(w.code, w.message, Some(w.span));
        }
        self.enter(span, "`Include`")?;
        let r = self.run_block(&parsed.script.body);
        self.depth = self.depth.saturating_sub(1);
        r
    }
}

/// The runner seen by the parser's `$(…)` expansion.
struct ExpandEnv<'r, 'o> {
    runner: &'r mut Runner<'o>,
}

impl crate::script::Expander for ExpandEnv<'_, '_> {
    fn variable(&mut self, name: &str) -> Option<String> {
        self.runner.app.variables.get(name).cloned()
    }

    fn evaluate(&mut self, expr: &str) -> Result<String, String> {
        let (id, padded) = self
            .runner
            .add_expansion(expr.to_string(), self.runner.current);
        let e = crate::script::parse_expr(id, &padded).map_err(|e| e.to_string())?;
        let v = self.runner.eval_expr(&e).map_err(|e| e.to_string())?;
        Ok(value_text(&v))
    }

    fn include(&mut self, path: &str, must: bool) -> Result<String, String> {
        let span = self.runner.current;
        let full = self.runner.find_file(path, span);
        match crate::script::read(&full) {
            Ok(text) => Ok(text),
            Err(e) if must => Err(format!(
                "{} ({})",
                io_reason(&e),
                self.runner.where_to_map(path, &full)
            )),
            Err(_) => Ok(String::new()),
        }
    }
}

/// `$(Include=path)` / `$(Must_Include=path)` as a whole statement.
fn include_only(text: &str) -> Option<(String, bool)> {
    let t = text.trim();
    let inner = t.strip_prefix("$(")?.strip_suffix(')')?;
    let (key, path) = inner.split_once('=')?;
    let must = match key.trim().to_lowercase().as_str() {
        "include" => false,
        "must_include" => true,
        _ => return None,
    };
    if path.contains(')') {
        return None;
    }
    Some((path.trim().to_string(), must))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn include_statements_are_recognised() {
        assert_eq!(
            include_only(" $(Include=a.qvs) "),
            Some((String::from("a.qvs"), false))
        );
        assert_eq!(
            include_only("$(Must_Include=lib://X/b.qvs)"),
            Some((String::from("lib://X/b.qvs"), true))
        );
        assert_eq!(include_only("$(v) x"), None);
    }
}
