//! Statements that change fields rather than tables: `ALIAS` and
//! `NULLASVALUE`/`NULLASNULL` (switches read by every LOAD that follows)
//! and `AUTONUMBER` (the values of fields loaded so far become numbers).

use std::collections::HashMap;

use crate::model::{FieldId, Symbols, Value};
use crate::script::ast::{Name, Section};
use crate::script::source::Span;

use super::{R, Runner};
use crate::load::error::{Fail, LoadErrorKind};
use crate::load::expr::wildcard_match;
use crate::load::frame::Frame;

/// The numbers `AUTONUMBER` gave, per namespace (the `USING` name, or the
/// field's own name): a value's key and its number.
#[derive(Default)]
pub(super) struct AutoNumbers {
    spaces: HashMap<String, HashMap<(Option<u64>, String), u32>>,
}

impl Runner<'_> {
    /// `ALIAS a AS b, …`: fields loaded from now on named `a` are named `b`
    /// (a later alias of the same name replaces an earlier one).
    pub(super) fn run_alias(&mut self, pairs: &[(Name, Name)]) {
        for (from, to) in pairs {
            self.aliases.retain(|(f, _)| *f != from.name);
            self.aliases.push((from.name.clone(), to.name.clone()));
        }
    }

    /// `NULLASVALUE …` / `NULLASNULL …`: switches for the loads that follow
    /// (the last one naming a field wins).
    pub(super) fn run_null_as_value(&mut self, on: bool, fields: &[String]) {
        for f in fields {
            self.null_as_value.push((on, f.clone()));
        }
    }

    fn null_as_value_on(&self, field: &str) -> bool {
        let mut on = false;
        for (q, pattern) in &self.null_as_value {
            if wildcard_match(pattern, field, false) {
                on = *q;
            }
        }
        on
    }

    /// What `ALIAS` and `NULLASVALUE` do to the fields a LOAD made, before
    /// they are qualified and committed: aliased names, and NULLs of the
    /// fields switched on turned into the text of `NullValue` (empty when
    /// it is not set, which Qlik does not document: noted).
    pub(super) fn field_switches(&mut self, frame: &mut Frame, span: Span) {
        for n in &mut frame.names {
            if let Some((_, to)) = self.aliases.iter().find(|(from, _)| from == n) {
                n.clone_from(to);
            }
        }
        if self.null_as_value.is_empty() {
            return;
        }
        let text = self.app.variables.get("NullValue").cloned();
        let (mut unset, mut changed) = (false, false);
        for (name, col) in frame.names.iter().zip(frame.cols.iter_mut()) {
            if !self.null_as_value_on(name) || !col.ids.iter().any(|id| id.is_null()) {
                continue;
            }
            changed = true;
            unset |= text.is_none();
            let id = col
                .syms
                .intern(Value::text_only(text.as_deref().unwrap_or("")));
            for x in &mut col.ids {
                if x.is_null() {
                    *x = id;
                }
            }
        }
        if changed {
            self.note_once(
                "nullasvalue-rows-loaded",
                "`NullAsValue` turned the NULLs of the rows loaded into `NullValue`; NULLs that a later JOIN or concatenation adds stay NULL (Qlik does not document which NULLs it turns)",
                span,
            );
        }
        if unset {
            self.note_once(
                "nullvalue-unset",
                "`NullAsValue` with no `NullValue` set: NULLs became empty texts (Qlik does not document the default)",
                span,
            );
        }
    }

    /// `AUTONUMBER fields [USING namespace]`: the values of the fields
    /// loaded so far become 1, 2, … in the order they were first loaded,
    /// numbered per namespace (the field itself without `USING`). A field
    /// of both sections is numbered alike in both, so their link holds.
    pub(super) fn run_autonumber(
        &mut self,
        fields: &[String],
        using: Option<&str>,
        span: Span,
    ) -> R<()> {
        let matches = |name: &str, section: Section| {
            fields.iter().any(|p| match section {
                Section::Application => wildcard_match(p, name, false),
                Section::Access => wildcard_match(&p.to_uppercase(), name, false),
            })
        };
        let mut done = false;
        for section in [Section::Application, Section::Access] {
            let model = self.model(section);
            let chosen: Vec<(FieldId, String)> = model
                .live_fields()
                .into_iter()
                .filter_map(|f| {
                    let name = model.field_name(f)?.as_str();
                    matches(name, section).then(|| (f, name.to_uppercase()))
                })
                .collect();
            for (field, upper) in chosen {
                let space = using.map_or(upper, |u| format!("\u{0}{u}"));
                let fresh = self.numbered(section, field, &space, span)?;
                if let Some(s) = self.model_mut(section).symbols_mut(field) {
                    *s = fresh;
                }
                done = true;
            }
        }
        if done {
            self.note_once(
                "autonumber-order",
                "`AUTONUMBER` numbers each field's values from 1 in the order they were first loaded (Qlik documents unique integers, not their order)",
                span,
            );
        }
        Ok(())
    }

    /// The symbols of `field` with each value replaced by its number in
    /// `space`; ids stay those of the values they replace.
    fn numbered(
        &mut self,
        section: Section,
        field: FieldId,
        space: &str,
        span: Span,
    ) -> R<Symbols> {
        let old: Vec<Value> = self
            .model(section)
            .symbols(field)
            .map(|s| s.iter().map(|(_, v)| v).collect())
            .unwrap_or_default();
        let numbers = self.autonumbers.spaces.entry(space.to_owned()).or_default();
        let mut fresh = Symbols::default();
        for (i, v) in old.iter().enumerate() {
            let key = (v.num().map(f64::to_bits), v.text().into_owned());
            let next = u32::try_from(numbers.len() + 1).unwrap_or(u32::MAX);
            let n = *numbers.entry(key).or_insert(next);
            let id = fresh.intern(Value::Num(f64::from(n)));
            // Distinct values get distinct numbers, interned in id order:
            // each keeps its id, so the columns need no change.
            if id.index() != i {
                return Err(self.err(Fail::new(
                    LoadErrorKind::Bug,
                    span,
                    "internal error: `AUTONUMBER` gave two values of a field one number",
                )));
            }
        }
        Ok(fresh)
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::load::{App, LoadOptions, run_source};
    use crate::model::Model;

    fn run(script: &str) -> App {
        run_source(Path::new("t.qvs"), script, &LoadOptions::default()).unwrap()
    }

    /// The texts of field `f` of table `t`, row by row (NULL as `-`).
    fn column(m: &Model, t: &str, f: &str) -> Vec<String> {
        let table = m.table(t).unwrap();
        let field = m.find_field(f).unwrap();
        let pos = table.position(field).unwrap();
        table.columns()[pos]
            .ids
            .iter()
            .map(|&id| {
                if id.is_null() {
                    "-".to_owned()
                } else {
                    m.text(field, id).unwrap().into_owned()
                }
            })
            .collect()
    }

    #[test]
    fn autonumber_keeps_a_field_of_both_sections_linked() {
        let app = run("Section Access;\n\
             SA: LOAD * INLINE [\nACCESS, USERID, REGION\nUSER, A, South\nUSER, B, North\n];\n\
             Section Application;\n\
             T: LOAD * INLINE [\nREGION, X\nNORTH, 1\nSOUTH, 2\nEAST, 3\n];\n\
             AUTONUMBER REGION;\n");
        assert_eq!(column(&app.data, "T", "REGION"), ["1", "2", "3"]);
        // SOUTH is 2 and NORTH 1 in both models: the link holds.
        assert_eq!(column(&app.access, "SA", "REGION"), ["2", "1"]);
    }

    #[test]
    fn a_later_alias_replaces_an_earlier_and_null_as_value_follows_the_alias() {
        let app = run(
            "ALIAS A AS X;\nALIAS A AS Y;\nNullAsValue Y;\nSET NullValue = 'none';\n\
             T: LOAD If(RecNo() = 1, 'a') AS A AUTOGENERATE 2;\n",
        );
        assert!(app.data.find_field("X").is_none());
        assert_eq!(column(&app.data, "T", "Y"), ["a", "none"]);
    }

    #[test]
    fn null_as_value_without_null_value_gives_empty_text_and_a_note() {
        let app = run("NullAsValue *;\nT: LOAD If(RecNo() = 1, 'a') AS A AUTOGENERATE 2;\n");
        assert_eq!(column(&app.data, "T", "A"), ["a", ""]);
        assert!(app.warnings.iter().any(|w| w.code == "nullvalue-unset"));
    }
}
