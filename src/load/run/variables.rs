//! Variables and expressions outside loads: `SET`/`LET` values, the
//! conditions of `IF`/`DO`/`EXIT … WHEN`, and what expressions evaluate to
//! when identifiers name variables.

use crate::model::Value;
use crate::script::ast::{Cond, Expr, Guard};
use crate::script::source::Span;

use super::{R, Runner};
use crate::load::error::LoadError;
use crate::load::expr::{Binding, RowScope, compile, eval, truthy, value_text};

impl Runner<'_> {
    /// `SET name = text`: the text as written; no text removes the
    /// variable.
    pub(super) fn run_set(&mut self, name: &str, value: Option<&str>) {
        match value {
            Some(v) => {
                self.app.variables.insert(name.to_string(), v.to_string());
            }
            None => {
                self.app.variables.shift_remove(name);
            }
        }
    }

    /// `LET name = expression`: the value's text; NULL (or no
    /// expression) removes the variable.
    pub(super) fn run_let(&mut self, name: &str, value: Option<&Expr>) -> R<()> {
        let v = match value {
            Some(e) => self.eval_expr(e)?,
            None => Value::Null,
        };
        self.set_var(name, &v);
        Ok(())
    }

    pub(super) fn set_var(&mut self, name: &str, v: &Value) {
        if v.is_null() {
            self.app.variables.shift_remove(name);
        } else {
            self.app.variables.insert(name.to_string(), value_text(v));
        }
    }

    /// Evaluates an expression outside any load (identifiers are variables).
    pub(super) fn eval_expr(&self, e: &Expr) -> R<Value> {
        let mut agg = false;
        let c = compile(e, Binding::Vars, &mut agg).map_err(|f| self.err(f))?;
        eval(&c, &RowScope::no_row(self)).map_err(|f| self.err(f))
    }

    pub(super) fn eval_cond(&mut self, c: &Cond, span: Span) -> R<Value> {
        match c {
            Cond::Expr(e) => self.eval_expr(e),
            Cond::Deferred(text) => {
                let expanded = self.expand(text, span)?;
                let (id, expanded) = self.add_expansion(expanded, span);
                let e = crate::script::parse_expr(id, &expanded).map_err(|e| {
                    LoadError::from_parse(e, &self.app.sources, self.expansions.get(&id))
                })?;
                self.eval_expr(&e)
            }
            Cond::Invalid(invalid) => Err(self.invalid(invalid)),
        }
    }

    pub(super) fn guard(&mut self, g: Option<&Guard>, span: Span) -> R<bool> {
        match g {
            None => Ok(true),
            Some(g) => Ok(truthy(&self.eval_cond(&g.cond, span)?) != g.unless),
        }
    }
}
