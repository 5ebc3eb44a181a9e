//! `audit --format json` streamed through serde_json's pretty printer.
//!
//! The document is [`super::AuditReport`] as
//! `serde_json::to_string_pretty` writes it (a test compares the two), but
//! serialized from the [`Audit`] without building the report first: an
//! audit of a large security table is a hundred megabytes of JSON, and most
//! of it repeats. What a verdict's [`View`] shows (reduction, omitted
//! fields, tables) is serialized once per view and spliced into each of its
//! identities as a [`RawValue`].

use std::collections::HashMap;
use std::io::{self, BufWriter, Write};
use std::sync::Arc;

use serde::ser::{Error as _, SerializeMap, SerializeSeq, SerializeStruct};
use serde::{Serialize, Serializer};
use serde_json::ser::PrettyFormatter;
use serde_json::value::RawValue;

use super::{Audit, TableView, View};
use crate::access::AccessLevel;
use crate::bug::Bug;
use crate::names::Identity;

/// Indentation per level, as `serde_json::to_string_pretty` has it.
const INDENT: &[u8] = b"  ";

/// Depth, in spaces, of the members of an identity's object (the third
/// level: document, `identities` array, identity object).
const MEMBER: usize = 6;

impl Audit {
    /// Writes the JSON report ([`super::AuditReport`]) without the final
    /// newline, exactly as `serde_json::to_string_pretty(&self.report())`.
    /// An entry whose verdict is missing is a [`Bug`], never left out.
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        // Small writes land in a buffer of a known type, not behind `dyn`.
        let mut out = BufWriter::with_capacity(1 << 16, out);
        let mut ser =
            serde_json::Serializer::with_formatter(&mut out, PrettyFormatter::with_indent(INDENT));
        Document(self).serialize(&mut ser)?;
        out.flush()
    }
}

/// The whole document: `{"identities": [...], "findings": [...]}`.
struct Document<'a>(&'a Audit);

impl Serialize for Document<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut doc = s.serialize_struct("AuditReport", 2)?;
        doc.serialize_field("identities", &Identities(self.0))?;
        doc.serialize_field("findings", &self.0.findings)?;
        doc.end()
    }
}

/// The `identities` array, one object per entry in audit order.
struct Identities<'a>(&'a Audit);

impl Serialize for Identities<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let audit = self.0;
        // The view's part of each identity, made once per view.
        let mut shown: HashMap<*const View, Shown> = HashMap::new();
        let mut seq = s.serialize_seq(Some(audit.entries.len()))?;
        for e in &audit.entries {
            let g = audit.grant_of(e).ok_or_else(|| {
                S::Error::custom(Bug::new(format!(
                    "entry names verdict {} of {}",
                    e.grant,
                    audit.grants.len()
                )))
            })?;
            let part = match shown.entry(Arc::as_ptr(&g.view)) {
                std::collections::hash_map::Entry::Occupied(o) => o.into_mut(),
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(Shown::of(&g.view).map_err(S::Error::custom)?)
                }
            };
            seq.serialize_element(&Row {
                identity: &e.identity,
                decision: g.decision(),
                reason: g.outcome.reason().map(crate::access::DenyReason::code),
                access: g.access,
                reduction: &part.reduction,
                omitted: &part.omitted,
                tables: &part.tables,
            })?;
        }
        seq.end()
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

/// `value` pretty-printed as a member's value at depth [`MEMBER`]: the
/// printer starts at depth 0, so each line after the first is moved right
/// (JSON strings hold no raw line breaks, so every one is the printer's).
fn raw(value: &impl Serialize) -> serde_json::Result<Box<RawValue>> {
    let text = serde_json::to_string_pretty(value)?;
    let mut out = String::with_capacity(text.len() + text.len() / 4);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.extend(std::iter::repeat_n(' ', MEMBER));
        }
        out.push_str(line);
    }
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
