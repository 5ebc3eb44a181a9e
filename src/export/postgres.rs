//! The PostgreSQL export: schema, data, rules, functions, policies, views,
//! the reader role. See the module above for the approach and
//! `notes/export.md` (beside the repository) for the traps it avoids.

use std::collections::HashSet;
use std::fmt::{self, Write};

use crate::access::{self, Evaluator, IdText, RulesShape};
use crate::load::App;
use crate::model::{BitSet, FieldId, Model};
use crate::reduce::Links;

use super::graph::{Graph, GraphHub, definer, definer_branches};
use super::rows::{
    Csv, bug, compared_fields, has_null, held_reductions, reductions_on_side, security_rows,
    value_rows,
};
use super::{ExportError, IdentityMode, Options, Plan, READER_ROLE, Step, ident, literal};

/// Exports `app`, evaluated under `rules`, to PostgreSQL.
pub fn postgres(app: &App, rules: &access::Options, opts: &Options) -> Result<Plan, ExportError> {
    let ev = Evaluator::new(app, *rules);
    let shape = ev.shape();
    Exporter::new(app, &shape, opts)?.plan()
}

struct Exporter<'a> {
    app: &'a App,
    shape: &'a access::RulesShape<'a>,
    opts: &'a Options,
    /// The schema, quoted.
    s: String,
    /// Per application table, its name and its columns (field, name quoted).
    tables: Vec<(String, Vec<(FieldId, String)>)>,
    notes: Vec<String>,
}

const ERR_PREFIX: &str = "cannot export to PostgreSQL";

fn refuse(why: impl fmt::Display) -> ExportError {
    ExportError(format!("{ERR_PREFIX}: {why}"))
}

impl<'a> Exporter<'a> {
    fn new(
        app: &'a App,
        shape: &'a RulesShape<'a>,
        opts: &'a Options,
    ) -> Result<Self, ExportError> {
        super::rows::exportable(shape, &app.data)?;
        let s = ident(&opts.schema)?;
        let mut tables = Vec::new();
        let mut seen = HashSet::new();
        for table in app.data.tables() {
            let name = table.name.to_string();
            if name.starts_with("_sa_") {
                return Err(refuse(format!(
                    "table `{name}`: names starting with `_sa_` are the export's own"
                )));
            }
            ident(&format!("{name}__visible"))?;
            if !seen.insert(name.clone()) {
                return Err(refuse(format!("two tables are named `{name}`")));
            }
            let mut cols = Vec::new();
            for f in table.fields() {
                let fname = app
                    .data
                    .field_name(f)
                    .ok_or_else(|| bug(format!("field {} of `{name}` has no name", f.0)))?;
                cols.push((f, ident(fname.as_str())?));
            }
            tables.push((name, cols));
        }
        for name in &tables {
            if tables
                .iter()
                .any(|(other, _)| *other == format!("{}__visible", name.0))
            {
                return Err(refuse(format!(
                    "table `{0}__visible` would be the view of table `{0}`",
                    name.0
                )));
            }
        }
        let mut notes = vec![
            "every field is exported as text: the value as qlik shows it (a dual's text)".to_string(),
            "omit cannot remove a column per user in PostgreSQL: each table's view `<table>__visible` \
             shows NULL in the fields omitted for the current identity"
                .to_string(),
            "the policies read the data as loaded: after the data changes, export again (qlik reduces at reload)"
                .to_string(),
        ];
        if opts.identity == IdentityMode::Settings {
            notes.push(
                "any session can set `section_access.userid`, `.email` and `.groups`: \
                 let only a trusted tier that verified the user connect as the reader, \
                 or export with `--identity current-user`"
                    .to_string(),
            );
        }
        Ok(Self {
            app,
            shape,
            opts,
            s,
            tables,
            notes,
        })
    }

    fn plan(mut self) -> Result<Plan, ExportError> {
        let mut steps = Vec::new();
        let mut head = String::new();
        let _ = writeln!(
            head,
            "-- section-access export --target postgres: Qlik Section Access as row-level security.\n\
             -- Run from this folder: psql -v ON_ERROR_STOP=1 -f load.sql (into a UTF8 database;\n\
             -- the schema {} must not exist). Query as a member of role {READER_ROLE}.",
            self.s
        );
        for note in &self.notes {
            let _ = writeln!(head, "-- note: {note}");
        }
        head.push_str(
            "BEGIN;\n\
             SET LOCAL check_function_bodies = off;\n\
             DO $$ BEGIN IF current_setting('server_encoding') <> 'UTF8' THEN\n  \
             RAISE EXCEPTION 'section-access export: the database must be UTF8, not %', current_setting('server_encoding');\n\
             END IF; END $$;\n",
        );
        let _ = writeln!(
            head,
            "DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = {r}) THEN\n  \
             CREATE ROLE {r2} NOLOGIN;\nEND IF; END $$;\nCREATE SCHEMA {s};",
            r = literal(READER_ROLE),
            r2 = READER_ROLE,
            s = self.s
        );
        steps.push(Step::Sql(head));
        self.data_tables(&mut steps)?;
        self.security_tables(&mut steps)?;
        let mut sql = String::new();
        self.identity_functions(&mut sql);
        let security = self.security_graphs();
        self.security_functions(&mut sql, &security);
        let data = self.data_graph();
        data.functions(&mut sql);
        self.filter_functions(&mut sql);
        self.decision_function(&mut sql, &data);
        self.policies(&mut sql, &data);
        steps.push(Step::Sql(sql));
        steps.push(Step::Sql("COMMIT;\n".to_string()));
        let analyze = self
            .tables
            .iter()
            .map(|(name, _)| format!("ANALYZE {}.{};\n", self.s, quoted(name)))
            .collect::<String>();
        steps.push(Step::Sql(analyze));
        Ok(Plan {
            steps,
            notes: std::mem::take(&mut self.notes),
        })
    }

    /// The application tables, their data and indexes on the fields that
    /// policies compare.
    fn data_tables(&self, steps: &mut Vec<Step>) -> Result<(), ExportError> {
        let data = &self.app.data;
        let compared = compared_fields(self.shape);
        let csv = Csv::postgres();
        for (t, (table, (name, cols))) in data.tables().iter().zip(&self.tables).enumerate() {
            let rel = format!("{}.{}", self.s, quoted(name));
            let mut sql = format!("CREATE TABLE {rel} (");
            sql.push_str(
                &cols
                    .iter()
                    .map(|(_, c)| format!("{c} text"))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            sql.push_str(");\n");
            steps.push(Step::Sql(sql));
            let fields: Vec<FieldId> = cols.iter().map(|(f, _)| *f).collect();
            steps.push(Step::Copy {
                table: rel.clone(),
                file: format!("data/t{t}.csv"),
                data: csv.table(data, table, &fields)?,
            });
            let mut idx = String::new();
            for (f, c) in cols {
                if compared.contains(f) {
                    let _ = writeln!(idx, "CREATE INDEX ON {rel} ({c});");
                }
            }
            if !idx.is_empty() {
                steps.push(Step::Sql(idx));
            }
        }
        Ok(())
    }

    /// The security rows as the decision reads them, and per symbol what a
    /// reduction or OMIT cell allows or hides.
    fn security_tables(&self, steps: &mut Vec<Step>) -> Result<(), ExportError> {
        let csv = Csv::postgres();
        for (t, st) in self.shape.tables.iter().enumerate() {
            let rel = format!("{}._sa_sec_{t}", self.s);
            let rows = security_rows(self.shape, t, &csv)?;
            let cols: Vec<String> = rows
                .columns
                .iter()
                .map(|(c, ty)| format!("{c} {ty}"))
                .collect();
            steps.push(Step::Sql(format!(
                "CREATE TABLE {rel} ({});\nALTER TABLE {rel} ENABLE ROW LEVEL SECURITY;\n",
                cols.join(", ")
            )));
            steps.push(Step::Copy {
                table: rel.clone(),
                file: format!("data/sa_sec_{t}.csv"),
                data: rows.csv,
            });
            // A user's rows found through an index, the wildcard rows
            // through a partial one (a million user rows are not scanned).
            let idx: String = (0..st.identity.len())
                .map(|j| {
                    format!(
                        "CREATE INDEX ON {rel} (_id{j});\nCREATE INDEX ON {rel} (_row) WHERE _id{j}_any;\n"
                    )
                })
                .collect();
            if !idx.is_empty() {
                steps.push(Step::Sql(idx));
            }
        }
        // What each symbol of a reduction field allows, of OMIT hides.
        self.rules_table(
            steps,
            "_sa_value",
            &[
                ("field", "int"),
                ("symbol", "int"),
                ("vid", "int"),
                ("value", "text"),
            ],
            value_rows(self.shape, &self.app.data)?,
        );
        let mut hides = Vec::new();
        if let Some((_, per_symbol)) = &self.shape.omit {
            for (sym, names) in per_symbol.iter().enumerate() {
                for name in names {
                    hides.push(vec![Some(sym.to_string()), Some(name.as_str().to_string())]);
                }
            }
        }
        self.rules_table(
            steps,
            "_sa_omit",
            &[("symbol", "int"), ("field", "text")],
            hides,
        );
        Ok(())
    }

    /// A table of the rules (the reader cannot read it: row security on,
    /// no policy) with its rows.
    fn rules_table(
        &self,
        steps: &mut Vec<Step>,
        name: &str,
        columns: &[(&str, &str)],
        rows: Vec<Vec<Option<String>>>,
    ) {
        let rel = format!("{}.{name}", self.s);
        let defs: Vec<String> = columns.iter().map(|(c, ty)| format!("{c} {ty}")).collect();
        let names: Vec<&str> = columns.iter().map(|(c, _)| *c).collect();
        steps.push(Step::Sql(format!(
            "CREATE TABLE {rel} ({});\nALTER TABLE {rel} ENABLE ROW LEVEL SECURITY;\n",
            defs.join(", ")
        )));
        let mut csv = Csv::postgres().header(&names);
        for row in rows {
            Csv::postgres().row(&mut csv, row.into_iter());
        }
        steps.push(Step::Copy {
            table: format!("{rel} ({})", names.join(", ")),
            file: format!("data/{}.csv", name.trim_start_matches('_')),
            data: csv,
        });
    }

    /// The identity as the session gives it, trimmed and upper-cased as
    /// the evaluator does (`char::is_whitespace`, Unicode upper case).
    fn identity_functions(&self, sql: &mut String) {
        let s = &self.s;
        let spaces: String = (0..=0x10FFFF_u32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace())
            .map(|c| format!("\\u{:04X}", c as u32))
            .collect();
        let _ = write!(
            sql,
            "CREATE FUNCTION {s}._sa_norm(t text) RETURNS text LANGUAGE sql IMMUTABLE AS $fn$\n  \
             SELECT nullif(upper(btrim(t, E'{spaces}') COLLATE \"und-x-icu\"), '')\n$fn$;\n"
        );
        let setting = |name: &str| format!("current_setting('section_access.{name}', true)");
        let (userid, email, groups) = match self.opts.identity {
            IdentityMode::Settings => (
                format!("SELECT {s}._sa_norm({})", setting("userid")),
                format!("SELECT {s}._sa_norm({})", setting("email")),
                format!(
                    "SELECT coalesce(array_agg(DISTINCT g) FILTER (WHERE g IS NOT NULL), '{{}}') FROM (\n    \
                     SELECT {s}._sa_norm(x) AS g FROM unnest(CASE\n      \
                     WHEN left(btrim(coalesce({set}, '')), 1) = '[' THEN ARRAY(SELECT json_array_elements_text({set}::json))\n      \
                     ELSE string_to_array(nullif({set}, ''), ',') END) x) y",
                    set = setting("groups")
                ),
            ),
            IdentityMode::CurrentUser => (
                format!("SELECT {s}._sa_norm(session_user::text)"),
                "SELECT NULL::text".to_string(),
                format!(
                    "SELECT coalesce(array_agg(DISTINCT {s}._sa_norm(r.rolname::text)), '{{}}') FROM pg_roles r\n    \
                     WHERE r.rolname <> session_user AND r.rolname <> {reader} AND r.rolname NOT LIKE 'pg\\_%'\n      \
                     AND pg_has_role(session_user, r.oid, 'MEMBER')",
                    reader = literal(READER_ROLE)
                ),
            ),
        };
        for (name, ty, body) in [
            ("identity_userid", "text", userid),
            ("identity_email", "text", email),
            ("identity_groups", "text[]", groups),
        ] {
            let _ = write!(
                sql,
                "CREATE FUNCTION {s}.{name}() RETURNS {ty} LANGUAGE sql STABLE AS $fn$\n  {body}\n$fn$;\n"
            );
        }
        // Rows of each security table the identity matches directly.
        for (t, st) in self.shape.tables.iter().enumerate() {
            if st.identity.is_empty() {
                continue;
            }
            let conds: Vec<String> = st
                .identity
                .iter()
                .enumerate()
                .map(|(j, col)| {
                    let texts = match col.text {
                        IdText::User => format!("ARRAY[{s}.identity_userid()]"),
                        IdText::Email => format!("ARRAY[{s}.identity_email()]"),
                        IdText::Groups => format!("{s}.identity_groups()"),
                        IdText::UserOrGroups => {
                            format!("array_append({s}.identity_groups(), {s}.identity_userid())")
                        }
                    };
                    // The identity once per query, not once per row.
                    format!("(_id{j}_any OR _id{j} = ANY ((SELECT {texts})::text[]))")
                })
                .collect();
            definer(
                sql,
                s,
                &format!("_sa_ident_{t}"),
                "int[]",
                &format!(
                    "SELECT coalesce(array_agg(_row), '{{}}') FROM {s}._sa_sec_{t} WHERE {}",
                    conds.join(" AND ")
                ),
            );
        }
    }

    /// The security model's propagation, once for the rows matched and
    /// once for the rows kept (valid `ACCESS`), as the evaluator reduces it.
    fn security_graphs(&self) -> [Graph; 2] {
        let sec = self.shape.security;
        let relations: Vec<String> = (0..sec.tables().len())
            .map(|t| format!("{}._sa_sec_{t}", self.s))
            .collect();
        let has_access: Vec<bool> = sec
            .tables()
            .iter()
            .map(|tb| {
                self.shape
                    .access
                    .as_ref()
                    .is_some_and(|(f, _)| tb.has_field(*f))
            })
            .collect();
        let ident = |t: usize| format!("_row IN (SELECT unnest({}._sa_ident_{t}()))", self.s);
        let matched_own: Vec<Option<String>> = self
            .shape
            .tables
            .iter()
            .enumerate()
            .map(|(t, st)| (st.reached && !st.identity.is_empty()).then(|| ident(t)))
            .collect();
        let kept_own: Vec<Option<String>> = self
            .shape
            .tables
            .iter()
            .enumerate()
            .map(|(t, st)| {
                if !st.reached {
                    return None;
                }
                let valid = has_access.get(t).copied().unwrap_or(false);
                match (!st.identity.is_empty(), valid) {
                    (true, true) => Some(format!("{} AND _level IS NOT NULL", ident(t))),
                    (true, false) => Some(ident(t)),
                    (false, true) => Some("_level IS NOT NULL".to_string()),
                    (false, false) => None,
                }
            })
            .collect();
        let graph = |prefix: &'static str, own: Vec<Option<String>>| {
            let hubs = graph_hubs(
                self.shape.links,
                sec,
                |f| format!("_f{}", f.0),
                |_, side| {
                    side.iter()
                        .any(|u| own.get(u).is_some_and(Option::is_some))
                        .then(|| "true".to_string())
                },
            );
            Graph {
                schema: self.s.clone(),
                prefix,
                relations: relations.clone(),
                own_policy: own.clone(),
                own,
                hubs,
            }
        };
        [graph("m", matched_own), graph("k", kept_own)]
    }

    /// Matched and kept rows per reached security table, S_f per reduction
    /// field and the omitted fields.
    fn security_functions(&self, sql: &mut String, graphs: &[Graph; 2]) {
        let s = &self.s;
        let [matched, kept] = graphs;
        matched.functions(sql);
        kept.functions(sql);
        for (t, st) in self.shape.tables.iter().enumerate() {
            if !st.reached {
                continue;
            }
            for (name, graph) in [("matched", matched), ("kept", kept)] {
                definer(
                    sql,
                    s,
                    &format!("_sa_{name}_{t}"),
                    "int[]",
                    &format!(
                        "SELECT coalesce(array_agg(_row), '{{}}') FROM {s}._sa_sec_{t} WHERE {}",
                        graph.pred(t, None)
                    ),
                );
            }
        }
        // The rows whose values count: kept rows of reached tables, every
        // row of the others.
        let scope = |column: &str, holds: &dyn Fn(usize) -> bool| -> String {
            let parts: Vec<String> = self
                .shape
                .tables
                .iter()
                .enumerate()
                .filter(|(t, _)| holds(*t))
                .map(|(t, st)| {
                    if st.reached {
                        format!(
                            "SELECT {column} AS sym FROM {s}._sa_sec_{t} WHERE _row IN (SELECT unnest({s}._sa_kept_{t}()))"
                        )
                    } else {
                        format!("SELECT {column} AS sym FROM {s}._sa_sec_{t}")
                    }
                })
                .collect();
            if parts.is_empty() {
                "SELECT NULL::int AS sym WHERE false".to_string()
            } else {
                parts.join("\n    UNION ALL ")
            }
        };
        let sec = self.shape.security;
        for (i, r) in self.shape.reductions.iter().enumerate() {
            let rows = scope(&format!("_r{i}"), &|t| {
                sec.tables()
                    .get(t)
                    .is_some_and(|tb| tb.has_field(r.security))
            });
            definer(
                sql,
                s,
                &format!("_sa_s{i}"),
                "text[]",
                &format!(
                    "SELECT coalesce(array_agg(DISTINCT v.value), '{{}}') FROM (\n    {rows}) x\n  \
                     JOIN {s}._sa_value v ON v.field = {i} AND v.symbol = x.sym"
                ),
            );
        }
        let omit = match &self.shape.omit {
            Some((f, _)) => {
                let rows = scope("_omit", &|t| {
                    sec.tables().get(t).is_some_and(|tb| tb.has_field(*f))
                });
                format!(
                    "SELECT coalesce(array_agg(DISTINCT o.field ORDER BY o.field), '{{}}') FROM (\n    {rows}) x\n  \
                     JOIN {s}._sa_omit o ON o.symbol = x.sym"
                )
            }
            None => "SELECT '{}'::text[]".to_string(),
        };
        definer(sql, s, "omitted", "text[]", &omit);
        let _ = writeln!(
            sql,
            "COMMENT ON FUNCTION {s}.omitted() IS 'The application fields OMIT hides from the current identity.';"
        );
    }

    /// S_f of reduction field `i`, computed once per query.
    fn s_of(&self, i: usize) -> String {
        format!("(SELECT {}._sa_s{i}())::text[]", self.s)
    }

    /// The application model's propagation of the applied reduction fields.
    fn data_graph(&self) -> Graph {
        let data = &self.app.data;
        // Per table, its reduction fields' conditions: exact (definer
        // functions), and as a policy reads them (a field with no NULL in
        // the table reads the filter function, S_f or every value when
        // S_f is empty, as an array an index serves).
        let conditions = |policy: bool| -> Vec<Option<String>> {
            data.tables()
                .iter()
                .enumerate()
                .map(|(t, tb)| {
                    let parts: Vec<String> = self
                        .shape
                        .reductions
                        .iter()
                        .enumerate()
                        .filter(|(_, r)| tb.has_field(r.data))
                        .map(|(i, r)| {
                            let (col, s, all) = (self.column(r.data), &self.s, self.s_of(i));
                            if policy && !has_null(data, t, &[r.data]) {
                                format!("{col} = ANY ((SELECT {s}._sa_sf{i}())::text[])")
                            } else {
                                format!("(cardinality({all}) = 0 OR {col} IN (SELECT unnest({s}._sa_s{i}())))")
                            }
                        })
                        .collect();
                    (!parts.is_empty()).then(|| parts.join(" AND "))
                })
                .collect()
        };
        let (own, own_policy) = (conditions(false), conditions(true));
        let hubs = graph_hubs(
            self.shape.data_links,
            data,
            |f| self.column(f),
            |fields, side| {
                let selections: Vec<String> = reductions_on_side(self.shape, data, fields, side)
                    .into_iter()
                    .map(|i| format!("cardinality({}) > 0", self.s_of(i)))
                    .collect();
                (!selections.is_empty()).then(|| selections.join(" OR "))
            },
        );
        Graph {
            schema: self.s.clone(),
            prefix: "d",
            relations: self
                .tables
                .iter()
                .map(|(name, _)| format!("{}.{}", self.s, quoted(name)))
                .collect(),
            own,
            own_policy,
            hubs,
        }
    }

    /// Per reduction field, the filter a policy reads: S_f, or every value
    /// of the field when S_f is empty (the field is not applied).
    fn filter_functions(&self, sql: &mut String) {
        let s = &self.s;
        for (i, r) in self.shape.reductions.iter().enumerate() {
            let col = self.column(r.data);
            let every: Vec<String> = self
                .app
                .data
                .tables()
                .iter()
                .zip(&self.tables)
                .filter(|(tb, _)| tb.has_field(r.data))
                .map(|(_, (name, _))| format!("SELECT {col} AS v FROM {s}.{}", quoted(name)))
                .collect();
            let every = if every.is_empty() {
                "SELECT '{}'::text[]".to_string()
            } else {
                format!(
                    "SELECT coalesce(array_agg(DISTINCT v), '{{}}') FROM ({}) x WHERE v IS NOT NULL",
                    every.join(" UNION ALL ")
                )
            };
            definer_branches(
                sql,
                s,
                &format!("_sa_sf{i}"),
                "text[]",
                &[
                    (
                        format!("cardinality({}) > 0", self.s_of(i)),
                        format!("SELECT {s}._sa_s{i}()"),
                    ),
                    (String::new(), every),
                ],
            );
        }
    }

    /// An application field as a column name.
    fn column(&self, f: FieldId) -> String {
        quoted(self.app.data.field_name(f).map_or("", |n| n.as_str()))
    }

    /// `decision()`: granted or denied and why, as `audit` gives them.
    fn decision_function(&self, sql: &mut String, data: &Graph) {
        let s = &self.s;
        let _ = write!(
            sql,
            "CREATE TYPE {s}.decision_result AS (decision text, reason text, access text);\n\
             CREATE FUNCTION {s}.decision() RETURNS {s}.decision_result\n\
             LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$\n\
             DECLARE is_admin boolean; is_user boolean; level text;\nBEGIN\n"
        );
        let body = self.decision_body(data);
        sql.push_str(&body);
        let _ = write!(
            sql,
            "END\n$fn$;\n\
             COMMENT ON FUNCTION {s}.decision() IS 'The current identity''s decision: granted or denied, the reason, the access level.';\n"
        );
        definer(
            sql,
            s,
            "_sa_granted",
            "boolean",
            &format!("SELECT (d).decision = 'granted' FROM (SELECT {s}.decision() AS d) x"),
        );
    }

    fn decision_body(&self, data: &Graph) -> String {
        let s = &self.s;
        let shape = self.shape;
        let deny = |reason: &str, level: &str| {
            format!(
                "  RETURN ROW('denied', {}, {level})::{s}.decision_result;\n",
                literal(reason)
            )
        };
        if shape.open {
            return format!("  RETURN ROW('granted', NULL, NULL)::{s}.decision_result;\n");
        }
        let mut out = String::new();
        let any_matched: Vec<String> = shape
            .tables
            .iter()
            .enumerate()
            .filter(|(_, st)| !st.identity.is_empty())
            .map(|(t, _)| format!("cardinality({s}._sa_ident_{t}()) > 0"))
            .collect();
        let any_matched = or_all(&any_matched);
        let sec = shape.security;
        let Some((access, _)) = &shape.access else {
            let _ = write!(
                out,
                "  IF {any_matched} THEN\n{}  END IF;\n",
                deny("no-valid-access", "NULL")
            );
            out.push_str(&deny("no-matching-row", "NULL"));
            return out;
        };
        let access_tables: Vec<usize> = sec
            .tables()
            .iter()
            .enumerate()
            .filter(|(t, tb)| {
                tb.has_field(*access) && shape.tables.get(*t).is_some_and(|st| st.reached)
            })
            .map(|(t, _)| t)
            .collect();
        let matched: Vec<String> = access_tables
            .iter()
            .map(|t| format!("cardinality({s}._sa_matched_{t}()) > 0"))
            .collect();
        let _ = write!(
            out,
            "  IF NOT ({}) THEN\n{}  END IF;\n",
            or_all(&matched),
            deny("no-matching-row", "NULL")
        );
        let levels: Vec<String> = access_tables
            .iter()
            .map(|t| format!("SELECT _level FROM {s}._sa_sec_{t} WHERE _row IN (SELECT unnest({s}._sa_kept_{t}()))"))
            .collect();
        let levels = if levels.is_empty() {
            "SELECT NULL::text AS _level WHERE false".to_string()
        } else {
            levels.join(" UNION ALL ")
        };
        let _ = write!(
            out,
            "  SELECT coalesce(bool_or(_level = 'ADMIN'), false), coalesce(bool_or(_level = 'USER'), false)\n    \
             INTO is_admin, is_user FROM ({levels}) l;\n  \
             IF NOT is_admin AND NOT is_user THEN\n{}  END IF;\n  \
             level := CASE WHEN is_admin THEN 'ADMIN' ELSE 'USER' END;\n",
            deny("no-valid-access", "NULL")
        );
        if shape.admin_as_user {
            out.push_str("  level := 'USER';\n");
        }
        if shape.strict && !shape.reductions.is_empty() {
            let empty: Vec<String> = (0..shape.reductions.len())
                .map(|i| format!("cardinality({s}._sa_s{i}()) = 0"))
                .collect();
            let _ = write!(
                out,
                "  IF level = 'USER' AND ({}) THEN\n{}  END IF;\n",
                empty.join(" OR "),
                deny("strict-exclusion", "level")
            );
        }
        // Reduced to nothing: a USER left without rows in a non-empty table
        // that holds an applied reduction field.
        let mut emptied = Vec::new();
        for (t, tb) in self.app.data.tables().iter().enumerate() {
            if tb.is_empty() {
                continue;
            }
            let applied: Vec<String> = held_reductions(shape, tb)
                .iter()
                .map(|i| format!("cardinality({s}._sa_s{i}()) > 0"))
                .collect();
            if applied.is_empty() {
                continue;
            }
            let rel = data.relations.get(t).map_or("", String::as_str);
            emptied.push(format!(
                "(({}) AND NOT EXISTS (SELECT 1 FROM {rel} WHERE {}))",
                applied.join(" OR "),
                data.pred(t, None)
            ));
        }
        if !emptied.is_empty() {
            let _ = write!(
                out,
                "  IF level = 'USER' AND ({}) THEN\n{}  END IF;\n",
                emptied.join("\n    OR "),
                deny("reduced-to-nothing", "level")
            );
        }
        out.push_str(&format!(
            "  RETURN ROW('granted', NULL, level)::{s}.decision_result;\n"
        ));
        out
    }

    /// Row-level security on every application table, its masking view,
    /// and the reader's grants.
    fn policies(&self, sql: &mut String, data: &Graph) {
        let s = &self.s;
        let omittable: Vec<String> = self
            .shape
            .omit
            .as_ref()
            .map(|(_, per)| {
                per.iter()
                    .flatten()
                    .map(|n| n.as_str().to_string())
                    .collect()
            })
            .unwrap_or_default();
        let _ = writeln!(sql, "GRANT USAGE ON SCHEMA {s} TO {READER_ROLE};");
        for (t, (name, cols)) in self.tables.iter().enumerate() {
            let rel = format!("{s}.{}", quoted(name));
            let _ = write!(
                sql,
                "ALTER TABLE {rel} ENABLE ROW LEVEL SECURITY;\n\
                 CREATE POLICY section_access ON {rel} FOR SELECT TO PUBLIC USING (\n  \
                 (SELECT {s}._sa_granted())\n  AND {}\n);\n",
                data.policy_pred(t)
            );
            let fields: Vec<String> = cols
                .iter()
                .map(|(f, c)| {
                    let fname = self.app.data.field_name(*f).map_or("", |n| n.as_str());
                    if omittable.iter().any(|o| o == fname) {
                        format!(
                            "CASE WHEN {} IN (SELECT unnest({s}.omitted())) THEN NULL ELSE {c} END AS {c}",
                            literal(fname)
                        )
                    } else {
                        c.clone()
                    }
                })
                .collect();
            let view = format!("{s}.{}", quoted(&format!("{name}__visible")));
            let _ = write!(
                sql,
                "CREATE VIEW {view} WITH (security_invoker = true) AS\n  SELECT {} FROM {rel};\n\
                 GRANT SELECT ON {rel}, {view} TO {READER_ROLE};\n",
                fields.join(", ")
            );
        }
    }
}

/// A key of the columns `cols` as one text: the column itself, or the
/// columns of a synthetic key encoded as a JSON array; NULL when any part
/// is NULL.
fn key_expr(cols: &[String]) -> String {
    match cols {
        [one] => one.clone(),
        _ => format!(
            "CASE WHEN {} THEN NULL ELSE json_build_array({})::text END",
            cols.iter()
                .map(|c| format!("{c} IS NULL"))
                .collect::<Vec<_>>()
                .join(" OR "),
            cols.join(", ")
        ),
    }
}

fn or_all(parts: &[String]) -> String {
    if parts.is_empty() {
        "false".to_string()
    } else {
        parts.join(" OR ")
    }
}

/// `name` quoted, its length already checked by [`ident`].
fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// The hubs of `links` (over the tables of `model`) as a [`Graph`] has
/// them: per member, its key over the columns `column` names and when its
/// side holds a selection (`active`, from the hub's fields and the side).
fn graph_hubs(
    links: &Links,
    model: &Model,
    column: impl Fn(FieldId) -> String,
    active: impl Fn(&[FieldId], &BitSet) -> Option<String>,
) -> Vec<GraphHub> {
    links
        .hubs()
        .map(|(fields, members)| {
            let cols: Vec<String> = fields.iter().map(|f| column(*f)).collect();
            GraphHub {
                nulls: members
                    .iter()
                    .any(|&(table, _)| has_null(model, table, fields)),
                members: members
                    .iter()
                    .map(|&(table, side)| (table, key_expr(&cols), active(fields, side)))
                    .collect(),
            }
        })
        .collect()
}
