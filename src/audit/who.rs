//! `who`: the reverse question. Which identities see rows with given
//! values (`FIELD=VALUE`, all in one row of one table), or a given row —
//! each with the security rows that grant it; and, on request, which do
//! not and why.
//!
//! Answered from the audit's grants: one decision per distinct grant, one
//! reduction per distinct selection. When a grant's selection is on one
//! field of a model without loops, its reduction is a union over the
//! field's values (see [`crate::reduce::PerValue`]), so the values that
//! keep the target rows are found once, by selecting those rows and
//! reading which values of the field stay associated with them; a grant
//! then sees the target when its S_f meets them, with no reduction of its
//! own.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::Serialize;

use crate::access::{AccessLevel, Decision, Evaluator, Options};
use crate::load::App;
use crate::model::{BitSet, FieldId, SymbolId};
use crate::names::Identity;
use crate::reduce::Selection;

use super::findings::{ScriptLine, path_location};
use super::{Audit, label};

/// What `who` asks about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    /// Rows holding each of these values (field name, value as shown), in
    /// the first table that holds every one of the fields.
    Values(Vec<(String, String)>),
    /// One row (1-based, in load order) of a table.
    Row {
        /// The table's name.
        table: String,
        /// 1-based row number.
        row: usize,
    },
}

/// Why `who` cannot answer.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WhoError {
    /// No application table has that name.
    #[error("no table `{0}` in the data model{1}")]
    NoTable(String, String),
    /// The row number is past the table's end.
    #[error("table `{table}` has {rows} rows: there is no row {row}")]
    NoRow {
        /// The table.
        table: String,
        /// Its rows.
        rows: usize,
        /// The row asked for.
        row: usize,
    },
    /// No table holds every field asked about.
    #[error("no table holds all of {0}: give values of fields one table holds")]
    NoCommonTable(String),
    /// No application field has that name.
    #[error("no field `{0}` in the data model{1}")]
    NoField(String, String),
    /// Nothing to ask about.
    #[error("nothing to ask about: give FIELD=VALUE, or --table and --row")]
    Empty,
    /// A broken invariant (a bug, said as one).
    #[error("{0}")]
    Bug(String),
}

/// A selection as a decision applies it: per applied field, S_f.
type Applied = Vec<(FieldId, Vec<SymbolId>)>;

/// The target resolved in the model.
struct Resolved {
    /// The table.
    table: usize,
    /// Its target rows, 0-based.
    rows: Vec<usize>,
    /// The values asked about.
    values: Vec<(String, String)>,
    /// The fields they are in.
    fields: Vec<FieldId>,
}

/// An identity that sees the target.
#[derive(Clone, Debug, Serialize)]
pub struct Seer {
    /// Who.
    pub identity: Identity,
    /// `ADMIN` or `USER` (`null` without section access).
    pub access: Option<AccessLevel>,
    /// The security rows that grant it: its kept rows whose reduction
    /// values keep the target (all kept rows when nothing reduces it).
    pub granted_by: Vec<ScriptLine>,
}

/// An identity that does not see the target, and why.
#[derive(Clone, Debug, Serialize)]
pub struct NonSeer {
    /// Who.
    pub identity: Identity,
    /// `denied:<reason>` (the deny reason's code), `reduced-away` (its
    /// reduction leaves none of the target rows) or `field-omitted` (OMIT
    /// hides a field asked about).
    pub reason: String,
}

/// The answer of `who`.
#[derive(Clone, Debug, Serialize)]
pub struct WhoAnswer {
    /// The table the target rows are in.
    pub table: String,
    /// The target rows, 1-based (empty when no row holds the values).
    pub rows: Vec<usize>,
    /// The values asked about (empty for `--row`).
    pub values: Vec<(String, String)>,
    /// The identities that see at least one target row, in audit order.
    pub can: Vec<Seer>,
    /// The identities that do not, in audit order (only when asked).
    pub cannot: Option<Vec<NonSeer>>,
}

impl WhoAnswer {
    /// The answer as text: what was asked, who can, and (when asked) who
    /// cannot and why.
    pub fn text(&self) -> String {
        let what = if self.values.is_empty() {
            self.rows
                .first()
                .map_or_else(String::new, |r| format!("row {r} of {}", self.table))
        } else {
            let pairs: Vec<String> = self
                .values
                .iter()
                .map(|(f, v)| format!("{f}={v}"))
                .collect();
            format!(
                "rows of {} with {} ({} {})",
                self.table,
                pairs.join(", "),
                self.rows.len(),
                if self.rows.len() == 1 { "row" } else { "rows" }
            )
        };
        let mut out = format!("{what}\ncan see ({} identities):\n", self.can.len());
        for s in &self.can {
            let lines: Vec<String> = s.granted_by.iter().map(ToString::to_string).collect();
            out.push_str(&format!(
                "  {:<32} {:<6} {}\n",
                label(&s.identity),
                s.access.map_or("", |a| a.as_str()),
                lines.join(", ")
            ));
        }
        if let Some(cannot) = &self.cannot {
            out.push_str(&format!("cannot see ({} identities):\n", cannot.len()));
            for n in cannot {
                out.push_str(&format!("  {:<32} {}\n", label(&n.identity), n.reason));
            }
        }
        out
    }
}

/// Which identities of `audit` see the target; those that do not too
/// when `denied`.
pub fn who(
    app: &App,
    opts: &Options,
    audit: &Audit,
    target: &Target,
    denied: bool,
) -> Result<WhoAnswer, WhoError> {
    let data = &app.data;
    let Resolved {
        table,
        rows,
        values,
        fields,
    } = resolve(app, target)?;
    let ev = Evaluator::new(app, *opts);
    let shape = ev.shape();
    let index = ev.match_index();
    let decide = |matcher: &mut crate::access::Matcher<'_, '_>, identity: &Identity| {
        let key = matcher.key_from(identity, None).to_vec();
        ev.decide(&index, &key)
    };
    // One decision per grant, from its first identity, before the data
    // is reduced (the audit's verdict has the final outcome).
    let mut first: Vec<Option<usize>> = vec![None; audit.grants.len()];
    for (i, e) in audit.entries.iter().enumerate() {
        if let Some(slot) = first.get_mut(e.grant)
            && slot.is_none()
        {
            *slot = Some(i);
        }
    }
    let decisions: Vec<Option<Decision>> = first
        .par_iter()
        .zip(&audit.grants)
        .map_init(
            || index.matcher(),
            |matcher, (i, verdict)| {
                let e = i.and_then(|i| audit.entries.get(i))?;
                let mut d = decide(matcher, &e.identity);
                d.outcome = verdict.outcome;
                d.access = verdict.access;
                Some(d)
            },
        )
        .collect();
    // The values that keep the target, per field a one-field selection is
    // on (exact in a model without loops).
    let forest = !shape.data_links.is_cyclic();
    let mut keeping: HashMap<FieldId, BitSet> = HashMap::new();
    if forest && !rows.is_empty() {
        let mut target_rows = BitSet::new(data.tables().get(table).map_or(0, |t| t.len()));
        for &r in &rows {
            target_rows.insert(r);
        }
        let reduced = shape.data_links.reduce(
            data,
            &Selection {
                fields: Vec::new(),
                rows: vec![(table, target_rows)],
            },
        );
        for r in &shape.reductions {
            keeping.insert(r.data, reduced.values(data, r.data));
        }
    }
    let applied = |d: &Decision| -> Applied {
        d.reduction
            .iter()
            .filter(|r| r.applied)
            .map(|r| (r.field, r.values.clone()))
            .collect()
    };
    // Per distinct selection the union over values does not answer (on
    // several fields, or in a model with loops), whether it keeps a target
    // row: one reduction each.
    let mut distinct: HashMap<Applied, &Decision> = HashMap::new();
    for d in decisions
        .iter()
        .flatten()
        .filter(|d| d.outcome.is_granted())
    {
        let sel = applied(d);
        if sel.len() > 1 || (!forest && !sel.is_empty()) {
            distinct.entry(sel).or_insert(d);
        }
    }
    let by_selection: HashMap<Applied, bool> = distinct
        .into_par_iter()
        .map(|(sel, d)| {
            let reduced = ev.reduce(d);
            let keeps = reduced
                .rows(table)
                .is_some_and(|r| rows.iter().any(|&i| r.contains(i)));
            (sel, keeps)
        })
        .collect();
    // Per grant: sees it, or why not.
    let sees = |d: &Decision| -> Result<(), String> {
        if let Some(reason) = d.outcome.reason() {
            return Err(format!("denied:{}", reason.code()));
        }
        if fields.iter().any(|f| d.omitted.iter().any(|(o, _)| o == f)) {
            return Err("field-omitted".to_string());
        }
        if rows.is_empty() {
            return Err("reduced-away".to_string());
        }
        let sel = applied(d);
        let keeps = match sel.as_slice() {
            [] => true,
            [(f, vals)] if forest => keeping
                .get(f)
                .is_some_and(|k| vals.iter().any(|v| k.contains(v.index()))),
            _ => by_selection.get(&sel).copied().unwrap_or(false),
        };
        if keeps {
            Ok(())
        } else {
            Err("reduced-away".to_string())
        }
    };
    let verdicts: Vec<Option<Result<(), String>>> =
        decisions.iter().map(|d| d.as_ref().map(&sees)).collect();
    // The rows granting each seer: its own matched rows (identities of a
    // grant match rows of the same contents, not the same rows).
    let seers: Vec<&super::Entry> = audit
        .entries
        .iter()
        .filter(|e| matches!(verdicts.get(e.grant), Some(Some(Ok(())))))
        .collect();
    let granting: Vec<Vec<ScriptLine>> = seers
        .par_iter()
        .map_init(
            || index.matcher(),
            |matcher, e| granting_rows(app, &ev, &decide(matcher, &e.identity), &keeping),
        )
        .collect();
    let mut granting = granting.into_iter();
    let mut can = Vec::new();
    let mut cannot = Vec::new();
    for e in &audit.entries {
        let (Some(Some(verdict)), Some(Some(d))) = (verdicts.get(e.grant), decisions.get(e.grant))
        else {
            continue;
        };
        match verdict {
            Ok(()) => can.push(Seer {
                identity: e.identity.clone(),
                access: d.access,
                granted_by: granting.next().unwrap_or_default(),
            }),
            Err(reason) if denied => cannot.push(NonSeer {
                identity: e.identity.clone(),
                reason: reason.clone(),
            }),
            Err(_) => {}
        }
    }
    Ok(WhoAnswer {
        table: data
            .tables()
            .get(table)
            .map_or_else(String::new, |t| t.name.to_string()),
        rows: rows.iter().map(|r| r + 1).collect(),
        values,
        can,
        cannot: denied.then_some(cannot),
    })
}

/// The kept security rows of `d` that grant the target: those whose cell
/// in the one applied field allows a value keeping it (every kept row
/// when the selection is on no field or on several).
fn granting_rows(
    app: &App,
    ev: &Evaluator<'_>,
    d: &Decision,
    keeping: &HashMap<FieldId, BitSet>,
) -> Vec<ScriptLine> {
    let shape = ev.shape();
    let sec = shape.security;
    let applied: Vec<_> = d.reduction.iter().filter(|r| r.applied).collect();
    let one = match applied.as_slice() {
        [r] => shape
            .reductions
            .iter()
            .find(|x| x.data == r.field)
            .zip(keeping.get(&r.field)),
        _ => None,
    };
    let mut out = Vec::new();
    for m in d.matched_rows.iter().filter(|m| m.kept) {
        if let Some((red, keep)) = one {
            let cell = sec
                .table(m.table.as_str())
                .and_then(|t| t.column(red.security))
                .and_then(|c| c.get(m.row.saturating_sub(1)).copied());
            // A row of a table without the field grants through a link.
            if let Some(sym) = cell {
                let allows = red
                    .values
                    .get(sym.index())
                    .is_some_and(|vals| vals.iter().any(|v| keep.contains(v.index())));
                if sym.is_null() || !allows {
                    continue;
                }
            }
        }
        if let (Some(file), Some(line)) = (&m.file, m.line)
            && let Some(loc) = path_location(app, file, line)
            && !out.contains(&loc)
        {
            out.push(loc);
        }
    }
    out
}

/// The target in the model: its table and rows, the values asked about
/// and their fields.
fn resolve(app: &App, target: &Target) -> Result<Resolved, WhoError> {
    let data = &app.data;
    match target {
        Target::Row { table, row } => {
            let t = data.table_index(table).ok_or_else(|| {
                let names: Vec<&str> = data.tables().iter().map(|t| t.name.as_str()).collect();
                WhoError::NoTable(table.clone(), format!(" (tables: {})", names.join(", ")))
            })?;
            let len = data.tables().get(t).map_or(0, |t| t.len());
            if *row == 0 || *row > len {
                return Err(WhoError::NoRow {
                    table: table.clone(),
                    rows: len,
                    row: *row,
                });
            }
            Ok(Resolved {
                table: t,
                rows: vec![row - 1],
                values: Vec::new(),
                fields: Vec::new(),
            })
        }
        Target::Values(pairs) => {
            if pairs.is_empty() {
                return Err(WhoError::Empty);
            }
            let mut fields = Vec::new();
            for (name, _) in pairs {
                let f = data.find_field(name).ok_or_else(|| {
                    let hint = data
                        .fields()
                        .find(|(_, n)| n.as_str().eq_ignore_ascii_case(name))
                        .map_or_else(String::new, |(_, n)| format!(" (did you mean `{n}`?)"));
                    WhoError::NoField(name.clone(), hint)
                })?;
                fields.push(f);
            }
            let t = data
                .tables()
                .iter()
                .position(|tb| fields.iter().all(|f| tb.has_field(*f)))
                .ok_or_else(|| {
                    let names: Vec<String> = pairs.iter().map(|(f, _)| format!("`{f}`")).collect();
                    WhoError::NoCommonTable(names.join(", "))
                })?;
            let tb = data.tables().get(t).ok_or_else(|| {
                WhoError::Bug(
                    crate::bug::Bug::new(format!("table {t} found, then missing")).to_string(),
                )
            })?;
            // Per field, the symbol whose text is the value (none: no row).
            let wanted: Vec<(FieldId, Option<SymbolId>)> = fields
                .iter()
                .zip(pairs)
                .map(|(&f, (_, v))| {
                    let sym = data.symbols(f).and_then(|s| {
                        s.texts()
                            .find(|(_, text)| text.as_ref() == v.as_str())
                            .map(|(id, _)| id)
                    });
                    (f, sym)
                })
                .collect();
            let rows: Vec<usize> = if wanted.iter().any(|(_, s)| s.is_none()) {
                Vec::new()
            } else {
                (0..tb.len())
                    .filter(|&r| {
                        wanted
                            .iter()
                            .all(|(f, s)| tb.column(*f).and_then(|c| c.get(r)).copied() == *s)
                    })
                    .collect()
            };
            Ok(Resolved {
                table: t,
                rows,
                values: pairs.clone(),
                fields,
            })
        }
    }
}
