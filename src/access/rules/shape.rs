//! The compiled rules as plain data, for exporters that state them in
//! another language (SQL): what each security symbol counts as, with no
//! identity in it. An exporter pairs this with the security model's rows
//! and the links of both models; the decision logic it must mirror is
//! [`super::Evaluator::evaluate`]'s.

use crate::access::AccessLevel;
use crate::model::{FieldId, Model, SymbolId};
use crate::names::FieldName;
use crate::reduce::Links;

use super::{Cell, Evaluator, IdKind};

/// Which of the identity's values an identity column is compared with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum IdText {
    /// The user id (`USERID`).
    User,
    /// The e-mail (`USER.EMAIL`).
    Email,
    /// Any of the groups (`GROUP`).
    Groups,
    /// The user id or any of the groups (`NTNAME`).
    UserOrGroups,
}

/// How a cell holding a symbol of an identity column matches.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum IdCell {
    /// The wildcard: anyone.
    Any,
    /// Blank, or a legacy field's value: nobody.
    Never,
    /// Whoever has this value (upper-cased as compared).
    Is(String),
}

/// An identity column of a security table.
#[derive(Debug)]
pub(crate) struct IdColumn {
    /// The security field.
    pub field: FieldId,
    /// What it is compared with.
    pub text: IdText,
    /// Per symbol of the field, how a cell holding it matches.
    pub cells: Vec<IdCell>,
}

/// A security table as a decision reads it.
#[derive(Debug)]
pub(crate) struct SecTable {
    /// False when no identity reaches the table (no identity column, and
    /// no link to a table with one): its rows apply to everyone.
    pub reached: bool,
    /// The identity columns (empty when it has none).
    pub identity: Vec<IdColumn>,
}

/// A reduction field.
#[derive(Debug)]
pub(crate) struct Reduction {
    /// The security field.
    pub security: FieldId,
    /// The application field of the same name.
    pub data: FieldId,
    /// Per symbol of the security field, the application symbols a cell
    /// holding it allows (`*` expanded to the listed values, blanks none).
    pub values: Vec<Vec<SymbolId>>,
}

/// Everything a decision reads, identity aside.
#[derive(Debug)]
pub(crate) struct RulesShape<'e> {
    /// No section access: every identity sees all data.
    pub open: bool,
    /// The security tables as compared.
    pub security: &'e Model,
    /// Their links (never through identity columns).
    pub links: &'e Links,
    /// Per security table.
    pub tables: Vec<SecTable>,
    /// `ACCESS` and, per symbol, the level it grants.
    pub access: Option<(FieldId, Vec<Option<AccessLevel>>)>,
    /// The reduction fields, in security-field order.
    pub reductions: Vec<Reduction>,
    /// `OMIT` and, per symbol, the application fields a cell holding it hides.
    pub omit: Option<(FieldId, Vec<Vec<FieldName>>)>,
    /// An empty S_f denies a USER.
    pub strict: bool,
    /// ADMIN rows are treated as USER rows (QlikView on a server).
    pub admin_as_user: bool,
    /// The links of the application data.
    pub data_links: &'e Links,
}

impl Evaluator<'_> {
    /// The rules as plain data (see [`RulesShape`]).
    pub(crate) fn shape(&self) -> RulesShape<'_> {
        let rules = &self.rules;
        let sec = rules.sec.as_ref();
        let tables = rules
            .tables
            .iter()
            .map(|st| SecTable {
                reached: st.reached,
                identity: st
                    .identity
                    .iter()
                    .map(|&(field, kind)| IdColumn {
                        field,
                        text: match kind {
                            IdKind::UserId | IdKind::Legacy => IdText::User,
                            IdKind::Email => IdText::Email,
                            IdKind::Group => IdText::Groups,
                            IdKind::NtName => IdText::UserOrGroups,
                        },
                        cells: (0..sec.symbols(field).map_or(0, |s| s.len()))
                            .map(|i| {
                                let text =
                                    SymbolId::from_index(i).and_then(|id| sec.text(field, id));
                                match (rules.cells(field).get(i), text) {
                                    (Some(Cell::Wild), _) => IdCell::Any,
                                    (Some(Cell::Value | Cell::Star), Some(text))
                                        if kind != IdKind::Legacy =>
                                    {
                                        IdCell::Is(text.into_owned())
                                    }
                                    _ => IdCell::Never,
                                }
                            })
                            .collect(),
                    })
                    .collect(),
            })
            .collect();
        // Per symbol of a reduction or OMIT field, the symbols it stands
        // for: itself, every listed one for a wildcard, none when blank.
        let stands_for = |field: FieldId| -> Vec<Vec<SymbolId>> {
            let cells = rules.cells(field);
            let len = sec.symbols(field).map_or(0, |s| s.len());
            (0..len)
                .map(|i| match cells.get(i) {
                    Some(Cell::Value | Cell::Star) => SymbolId::from_index(i).into_iter().collect(),
                    Some(Cell::Wild | Cell::BlankWild) => rules.listed(field).to_vec(),
                    _ => Vec::new(),
                })
                .collect()
        };
        let reductions = rules
            .reductions
            .iter()
            .zip(&rules.matches)
            .map(|(rf, matches)| Reduction {
                security: rf.security,
                data: rf.data,
                values: stands_for(rf.security)
                    .into_iter()
                    .map(|syms| {
                        let mut ids: Vec<SymbolId> = syms
                            .iter()
                            .flat_map(|s| matches.group(s.index()).iter().copied())
                            .collect();
                        ids.sort_unstable();
                        ids.dedup();
                        ids
                    })
                    .collect(),
            })
            .collect();
        let omit = rules.omit.map(|field| {
            let per_symbol = stands_for(field)
                .into_iter()
                .map(|syms| {
                    let mut names: Vec<FieldName> = Vec::new();
                    for s in syms {
                        let Some(text) = sec.text(field, s) else {
                            continue;
                        };
                        for (_, name) in self.omit_targets(text.trim()).0 {
                            if !names.contains(name) {
                                names.push(name.clone());
                            }
                        }
                    }
                    names
                })
                .collect();
            (field, per_symbol)
        });
        RulesShape {
            open: !self.app.has_section_access && self.app.access.tables().is_empty(),
            security: sec,
            links: &rules.links,
            tables,
            access: rules.access.map(|f| (f, rules.levels.clone())),
            reductions,
            omit,
            strict: self.opts.strict(),
            admin_as_user: self.opts.product == super::Product::QlikView && self.opts.server,
            data_links: &self.data.links,
        }
    }
}
