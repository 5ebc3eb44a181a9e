//! `audit --format json`, rendered side by side and written in order.
//!
//! The document is [`super::AuditReport`] as
//! `serde_json::to_string_pretty` writes it (a test compares the two), but
//! serialized from the [`Audit`] without building the report first: an
//! audit of a large security table is a hundred megabytes of JSON. What a
//! verdict's [`View`] shows (reduction, omitted fields, tables) is
//! serialized once per view and spliced into each of its identities as a
//! [`RawValue`]. Views and identities are rendered in pieces by the rayon
//! pool and written in order: each piece is printed at depth 0 by serde's
//! pretty printer and moved right to its depth, so the bytes are those of
//! one printer over the whole document, at any number of threads.

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use rayon::iter::{IntoParallelRefIterator, ParallelIterator};
use rayon::slice::ParallelSlice;
use serde::ser::SerializeMap;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use super::{Audit, Entry, TableView, View};
use crate::access::AccessLevel;
use crate::bug::Bug;
use crate::names::Identity;

/// Depth, in spaces, of an identity's object in the document (the
/// `identities` array's elements).
const ELEMENT: usize = 4;

/// Depth, in spaces, of the members of an object printed at depth 0.
const MEMBER: usize = 2;

/// Identities rendered per piece, and pieces rendered before they are
/// written: about 8,000 identities, some 8 MB of text, in memory at once.
const PIECE: usize = 256;
const PIECES_AT_ONCE: usize = 32;

impl Audit {
    /// Writes the JSON report ([`super::AuditReport`]) without the final
    /// newline, exactly as `serde_json::to_string_pretty(&self.report())`.
    /// An entry whose verdict is missing is a [`Bug`], never left out.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        let mut out = BufWriter::with_capacity(1 << 16, out);
        let shown = self.shown()?;
        out.write_all(b"{\n  \"identities\": [")?;
        for window in self.entries.chunks(PIECE * PIECES_AT_ONCE) {
            let rendered: Vec<io::Result<Vec<u8>>> = window
                .par_chunks(PIECE)
                .map(|piece| self.render(piece, &shown))
                .collect();
            for piece in rendered {
                out.write_all(&piece?)?;
            }
        }
        if self.entries.is_empty() {
            out.write_all(b"]")?;
        } else {
            out.write_all(b"\n  ]")?;
        }
        out.write_all(b",\n  \"findings\": ")?;
        let mut findings = Vec::new();
        indent(
            &serde_json::to_vec_pretty(&self.findings)?,
            MEMBER,
            &mut findings,
        );
        out.write_all(&findings)?;
        if !self.sql.is_empty() {
            out.write_all(b",\n  \"sql\": ")?;
            let mut sql = Vec::new();
            indent(&serde_json::to_vec_pretty(&self.sql)?, MEMBER, &mut sql);
            out.write_all(&sql)?;
        }
        out.write_all(b"\n}")?;
        out.flush()
    }

    /// Each distinct view's members, rendered side by side, and per grant
    /// the index of its view's.
    fn shown(&self) -> io::Result<Shows> {
        let mut views: Vec<&View> = Vec::new();
        let mut index: HashMap<*const View, usize> = HashMap::new();
        let of_grant = self
            .grants
            .iter()
            .map(|g| {
                *index.entry(Arc::as_ptr(&g.view)).or_insert_with(|| {
                    views.push(&g.view);
                    views.len() - 1
                })
            })
            .collect();
        let views: serde_json::Result<Vec<Shown>> =
            views.par_iter().map(|v| Shown::of(v)).collect();
        Ok(Shows {
            views: views?,
            of_grant,
        })
    }

    /// The elements of the `identities` array for `piece`, each after its
    /// separator (the first of the document after none).
    fn render(&self, piece: &[Entry], shown: &Shows) -> io::Result<Vec<u8>> {
        let mut buf = Vec::with_capacity(piece.len() * 512);
        let mut row = Vec::with_capacity(1024);
        for e in piece {
            let g = self.grant_of(e).ok_or_else(|| {
                io::Error::other(Bug::new(format!(
                    "entry names verdict {} of {}",
                    e.grant,
                    self.grants.len()
                )))
            })?;
            let part = shown
                .of_grant
                .get(e.grant)
                .and_then(|&v| shown.views.get(v))
                .ok_or_else(|| io::Error::other(Bug::new("a verdict's view was not rendered")))?;
            row.clear();
            serde_json::to_writer_pretty(
                &mut row,
                &Row {
                    identity: &e.identity,
                    decision: g.decision(),
                    reason: g.outcome.reason().map(crate::access::DenyReason::code),
                    access: g.access,
                    reduction: &part.reduction,
                    omitted: &part.omitted,
                    tables: &part.tables,
                },
            )?;
            let first = std::ptr::eq(e, self.entries.as_ptr());
            buf.extend_from_slice(if first { b"\n" } else { b",\n" });
            buf.extend(std::iter::repeat_n(b' ', ELEMENT));
            indent(&row, ELEMENT, &mut buf);
        }
        Ok(buf)
    }
}

/// Appends `text`, printed at depth 0, moved right by `by` spaces: each
/// line after the first is indented (JSON strings hold no raw line
/// breaks, so every one is the printer's).
fn indent(text: &[u8], by: usize, out: &mut Vec<u8>) {
    let mut lines = text.split(|&b| b == b'\n');
    if let Some(first) = lines.next() {
        out.extend_from_slice(first);
    }
    for line in lines {
        out.push(b'\n');
        out.extend(std::iter::repeat_n(b' ', by));
        out.extend_from_slice(line);
    }
}

/// One identity's object: [`super::IdentityResult`] with the view's
/// members already rendered.
#[derive(Serialize)]
struct Row<'a> {
    identity: &'a Identity,
    decision: &'static str,
    reason: Option<&'static str>,
    access: Option<AccessLevel>,
    reduction: &'a RawValue,
    omitted: &'a RawValue,
    tables: &'a RawValue,
}

/// The views' members rendered, and per grant the index of its view's.
struct Shows {
    views: Vec<Shown>,
    of_grant: Vec<usize>,
}

/// A view's members, pretty-printed at the depth of an identity's members.
struct Shown {
    reduction: Box<RawValue>,
    omitted: Box<RawValue>,
    tables: Box<RawValue>,
}

impl Shown {
    fn of(view: &View) -> serde_json::Result<Self> {
        Ok(Self {
            reduction: raw(&Reduction(&view.reduction))?,
            omitted: raw(&view.omitted)?,
            tables: raw(&Tables(&view.tables))?,
        })
    }
}

/// `value` pretty-printed as a member's value at depth [`MEMBER`].
fn raw(value: &impl Serialize) -> serde_json::Result<Box<RawValue>> {
    let text = serde_json::to_vec_pretty(value)?;
    let mut out = Vec::with_capacity(text.len() + text.len() / 4);
    indent(&text, MEMBER, &mut out);
    let out = String::from_utf8(out).map_err(|e| {
        serde_json::Error::io(io::Error::other(Bug::new(format!(
            "serde_json printed bytes that are not UTF-8: {e}"
        ))))
    })?;
    RawValue::from_string(out)
}

/// `reduction`: `{"FIELD": ["value", …], …}` in the view's order.
struct Reduction<'a>(&'a [(String, Vec<String>)]);

impl Serialize for Reduction<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (name, values) in self.0 {
            map.serialize_entry(name, values)?;
        }
        map.end()
    }
}

/// `tables`: `{"Table": {"rows", "total", "fields"}, …}` in load order.
struct Tables<'a>(&'a [TableView]);

impl Serialize for Tables<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        /// One table's member, as [`crate::access::TableReport`].
        #[derive(Serialize)]
        struct Table<'a> {
            rows: usize,
            total: usize,
            fields: &'a [String],
        }
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for t in self.0 {
            let table = Table {
                rows: t.rows,
                total: t.total,
                fields: &t.fields,
            };
            map.serialize_entry(&*t.name, &table)?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::access::Options;
    use crate::audit::Audit;
    use crate::load::{LoadOptions, run_source};

    /// Escapes, non-ASCII text, empty and shared views, a denied identity:
    /// the streamed document is serde's of the built report.
    #[test]
    fn the_streamed_document_is_the_report_pretty_printed() {
        let script = "Section Access;\nSA: LOAD * INLINE [\nACCESS, USERID, GROUP, V, OMIT\nUSER, \"q\"\"uote\", *, a\\b, \nUSER, É, *, 1, W\nUSER, b, *, 1, W\nUSER, c, *, zz, \nADMIN, d, *, , \n];\nSection Application;\nT: LOAD * INLINE [\nV, W\na\\b, 1\n1, 2\n];\nU: LOAD * INLINE [\nX\n\t\n];\n";
        let app = run_source(Path::new("app.qvs"), script, &LoadOptions::default()).unwrap();
        let audit = Audit::run(&app, &Options::default(), &[], &|_, _| {});
        assert!(audit.entries.len() >= 5, "{:?}", audit.entries);
        assert!(audit.grants.iter().any(|g| !g.is_granted()));
        let mut streamed = Vec::new();
        audit.write_json(&mut streamed).unwrap();
        let serde = serde_json::to_string_pretty(&audit.report()).unwrap();
        assert_eq!(String::from_utf8(streamed).unwrap(), serde);
        assert!(serde.contains("\\\\"), "{serde}");
    }
}
