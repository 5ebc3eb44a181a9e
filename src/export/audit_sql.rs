//! `export --target duckdb|spark`: the audit as set-based SQL, for engines
//! that scale past one machine. `audit.sql` reads the exported tables and
//! rules (CSV) and returns one row per identity and application table —
//! `userid, email, groups, decision, reason, table_name, row_count` — equal
//! to `audit --format json`.
//!
//! Like the PostgreSQL export it states the rules, not the answers, but for
//! every identity at once:
//!
//! 1. **Identities → grants.** Each identity is matched against the
//!    security rows with equi-joins (a row joins on its first identity
//!    column that is not `*`; rows with `*` everywhere apply to all), the
//!    matched and kept rows propagate through linked security tables as a
//!    nest of semi-joins, and the kept rows give the level and S_f. The
//!    identities then collapse into grant classes: same level, same S_f
//!    per field.
//! 2. **Grant classes → rows.** The data model's propagation is the same
//!    nest of semi-joins, computed per class rather than per identity, so
//!    each table is scanned once per class whatever the number of
//!    identities. When a single table holds every reduction field (the
//!    common shape, and the benchmark apps'), the nest is computed once
//!    per *atom* instead — each combination of reduction values that
//!    occurs in that table — and a class's rows are the union over the
//!    atoms it allows: a sum where every row reaches one atom, a bitmap OR
//!    where rows reach several (DuckDB `bitstring_agg`/`bit_or`, Spark
//!    `bitmap_construct_agg`/`bitmap_or_agg`).
//! 3. A USER class left without rows in a table holding an applied field
//!    is denied (`reduced-to-nothing`); the classes join back to their
//!    identities.
//!
//! Every value is compared as text, so the export refuses what text
//! cannot tell apart, as the PostgreSQL export does.

use std::collections::HashSet;
use std::fmt::Write;
use std::io;
use std::path::Path;

use crate::access::{self, Evaluator, IdText, RulesShape};
use crate::audit::{identities, sort_identities};
use crate::load::App;
use crate::model::{BitSet, FieldId};
use crate::names::Identity;
use crate::reduce::Links;

use super::ExportError;
use super::rows::{
    Csv, bug, exportable, held_reductions, reductions_on_side, security_rows, value_rows,
};

/// The engine `audit.sql` is written for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Engine {
    /// DuckDB 1.1 or later: `duckdb < audit.sql` from the export's folder.
    DuckDb,
    /// Spark SQL 3.5 or later: `spark-sql -f audit.sql`, or `spark.sql`
    /// per statement (statements end with `;` and a line break).
    Spark,
}

impl Engine {
    /// The engine's name as `--target` spells it.
    pub fn name(self) -> &'static str {
        match self {
            Self::DuckDb => "duckdb",
            Self::Spark => "spark",
        }
    }

    /// A string literal.
    fn text(self, s: &str) -> String {
        match self {
            Self::DuckDb => format!("'{}'", s.replace('\'', "''")),
            Self::Spark => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        }
    }

    /// A statement making relation `name` from `select`, computed once.
    fn relation(self, name: &str, select: &str) -> String {
        match self {
            Self::DuckDb => format!("CREATE TEMP TABLE {name} AS\n{select};\n"),
            // Tables rather than cached views: a cached view keeps its
            // lineage, and Spark plans (and prints) every relation with the
            // whole chain of relations behind it.
            Self::Spark => format!(
                "DROP TABLE IF EXISTS {name};\nCREATE TABLE {name} USING parquet AS\n{select};\n"
            ),
        }
    }

    /// Statements making relation `name` (columns `pos` when asked, then
    /// `columns`, all text) from the CSV `file`, NULL being `null`.
    fn load(self, name: &str, file: &str, columns: &[String], null: &str, pos: bool) -> String {
        let file = self.text(file);
        let null = self.text(null);
        match self {
            Self::DuckDb => {
                let cols: Vec<String> = columns
                    .iter()
                    .map(|c| format!("'{c}': 'VARCHAR'"))
                    .collect();
                let pos = if pos {
                    "row_number() OVER () AS pos, "
                } else {
                    ""
                };
                self.relation(
                    name,
                    &format!(
                        "SELECT {pos}* FROM read_csv({file}, header = true, auto_detect = false, \
                         columns = {{{}}}, delim = ',', quote = '\"', escape = '\"', nullstr = {null}, \
                         allow_quoted_nulls = false, max_line_size = 1073741824)",
                        cols.join(", ")
                    ),
                )
            }
            Self::Spark => {
                let cols: Vec<String> = columns.iter().map(|c| format!("{c} STRING")).collect();
                let pos = if pos {
                    "monotonically_increasing_id() AS pos, "
                } else {
                    ""
                };
                format!(
                    "CREATE TEMPORARY VIEW {name}_csv ({}) USING csv OPTIONS (path {file}, header 'true', \
                     multiLine 'true', quote '\"', escape '\"', nullValue {null}, mode 'FAILFAST');\n{}",
                    cols.join(", "),
                    self.relation(name, &format!("SELECT {pos}* FROM {name}_csv"))
                )
            }
        }
    }

    /// The aggregate of `expr` as one text, sorted: the same set gives
    /// the same text.
    fn sorted_list(self, expr: &str) -> String {
        match self {
            Self::DuckDb => format!("string_agg({expr}, ',' ORDER BY {expr})"),
            Self::Spark => format!("concat_ws(',', array_sort(collect_list({expr})))"),
        }
    }

    /// The bucket of bitmap position `pos`.
    fn bucket(self, pos: &str) -> String {
        match self {
            Self::DuckDb => format!("{pos} // 32768"),
            Self::Spark => format!("bitmap_bucket_number({pos})"),
        }
    }

    /// The aggregate bitmap of the positions `pos` of one bucket.
    fn bitmap(self, pos: &str) -> String {
        match self {
            Self::DuckDb => format!("bitstring_agg(CAST({pos} % 32768 AS INTEGER), 0, 32767)"),
            Self::Spark => format!("bitmap_construct_agg(bitmap_bit_position({pos}))"),
        }
    }

    /// The number of positions in the union of the bitmaps `bits`.
    fn union_count(self, bits: &str) -> String {
        match self {
            Self::DuckDb => format!("bit_count(bit_or({bits}))"),
            Self::Spark => format!("bitmap_count(bitmap_or_agg({bits}))"),
        }
    }
}

/// An audit export: `audit.sql` and the files it reads.
#[derive(Clone, Debug)]
pub struct AuditSql {
    /// The engine it is written for.
    pub engine: Engine,
    /// `audit.sql`.
    pub sql: String,
    /// The CSV files, by path relative to the export's folder.
    pub files: Vec<(String, Vec<u8>)>,
    /// How the rows are counted: per grant class, or per atom.
    pub strategy: Strategy,
    /// Remarks on what the export does not preserve exactly.
    pub notes: Vec<String>,
}

/// How `audit.sql` counts the rows of each grant class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Strategy {
    /// The data model's semi-joins per grant class.
    Classes,
    /// The semi-joins per combination of values of the one table holding
    /// every reduction field, then a union per class.
    Atoms,
}

impl AuditSql {
    /// Writes `audit.sql` and the data files into `dir` (created when
    /// missing), each file whole or not at all.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let files = self.files.iter().map(|(f, d)| (f.as_str(), d.as_slice()));
        super::write_export(dir, files, "audit.sql", &self.sql)
    }
}

/// The audit of `app` under `rules`, for the identities the security
/// tables name plus `extra`, as SQL for `engine`. `strategy` forces a way
/// of counting (`None`: atoms when one table holds every reduction field).
pub fn audit_sql(
    app: &App,
    rules: &access::Options,
    extra: &[Identity],
    engine: Engine,
    strategy: Option<Strategy>,
) -> Result<AuditSql, ExportError> {
    let ev = Evaluator::new(app, *rules);
    let shape = ev.shape();
    exportable(&shape, &app.data)?;
    let mut ids = identities(app, rules);
    ids.extend(extra.iter().cloned());
    sort_identities(&mut ids);
    let reducing: Vec<usize> = app
        .data
        .tables()
        .iter()
        .enumerate()
        .filter(|(_, tb)| shape.reductions.iter().any(|r| tb.has_field(r.data)))
        .map(|(t, _)| t)
        .collect();
    let strategy = match (strategy, reducing.as_slice()) {
        (Some(s), [_]) => s,
        (Some(Strategy::Atoms), _) => {
            return Err(ExportError(
                "cannot count per atom: reduction fields are held by more than one table (or none)"
                    .to_string(),
            ));
        }
        (Some(s), _) => s,
        (None, [_]) => Strategy::Atoms,
        (None, _) => Strategy::Classes,
    };
    let names = ids
        .iter()
        .flat_map(|i| {
            i.userid
                .iter()
                .map(|u| u.as_str())
                .chain(i.email.iter().map(|e| e.as_str()))
                .chain(i.groups.iter().map(|g| g.as_str()))
        })
        .chain(app.data.tables().iter().map(|t| t.name.as_str()))
        .chain(shape.tables.iter().flat_map(|st| {
            st.identity.iter().flat_map(|c| {
                c.cells.iter().filter_map(|cell| match cell {
                    access::IdCell::Is(text) => Some(text.as_str()),
                    _ => None,
                })
            })
        }));
    let csv = Csv::unclashing(&[&app.data, shape.security], names);
    let mut g = Gen {
        app,
        shape: &shape,
        engine,
        csv,
        sql: String::new(),
        done: HashSet::new(),
        files: Vec::new(),
        atoms_in: reducing
            .first()
            .copied()
            .filter(|_| strategy == Strategy::Atoms),
    };
    g.head(&ids, strategy);
    g.load(&ids)?;
    g.grants()?;
    match g.atoms_in {
        Some(r) => g.count_by_atoms(r)?,
        None => g.count_by_classes()?,
    }
    g.answer();
    let notes = vec![
        "every field is compared as text: the value as qlik shows it (a dual's text)".to_string(),
    ];
    Ok(AuditSql {
        engine,
        sql: g.sql,
        files: g.files,
        strategy,
        notes,
    })
}

/// Rows of a relation joined to a table's row (`r`): the relation's
/// columns equal (NULL equal to NULL) to the row's.
#[derive(Clone)]
struct Restrict {
    relation: String,
    on: Vec<(String, String)>,
}

/// Whether a hub member's side holds a selection.
enum Active {
    /// Never: it constrains nothing.
    Never,
    /// For every context.
    Always,
    /// For the contexts (alias `c` of the context relation) where this
    /// condition holds.
    When(String),
}

/// A member of a hub: its table, its key's columns, when it constrains.
struct Member {
    table: usize,
    key: Vec<String>,
    active: Active,
}

/// Propagation (SPEC §5.6) over a forest of links as set-based SQL: per
/// context (an identity, a grant class or an atom), the rows of each table
/// that stay, as a join of the table with its own restrictions and with
/// the key sets of its neighbours, each key set a relation computed once.
struct Program {
    /// Prefix of its relations' names.
    tag: &'static str,
    /// The contexts: a relation with a column `ctx`.
    contexts: String,
    /// Per table, its relation.
    tables: Vec<String>,
    /// Per table, its own restrictions.
    own: Vec<Vec<Restrict>>,
    /// Per table, a condition on its row (`r`), or none.
    filter: Vec<Option<String>>,
    /// The hubs.
    hubs: Vec<Vec<Member>>,
}

/// Where the SQL goes.
struct Gen<'a> {
    app: &'a App,
    shape: &'a RulesShape<'a>,
    engine: Engine,
    csv: Csv,
    sql: String,
    /// Relations already made.
    done: HashSet<String>,
    files: Vec<(String, Vec<u8>)>,
    /// The one table holding every reduction field, when counting per atom.
    atoms_in: Option<usize>,
}

/// A table's rows that stay, per context: `FROM` the table (`r`) joined
/// with its restrictions, the context column, and conditions on the row.
struct Source {
    from: String,
    ctx: String,
    conds: Vec<String>,
}

impl Source {
    /// `FROM …` with the conditions and `more`.
    fn sql(&self, more: &[String]) -> String {
        let conds: Vec<&String> = self.conds.iter().chain(more).collect();
        if conds.is_empty() {
            self.from.clone()
        } else {
            let conds: Vec<&str> = conds.iter().map(|c| c.as_str()).collect();
            format!("{}\n  WHERE {}", self.from, conds.join(" AND "))
        }
    }
}

/// Null-safe equality, as both engines spell it.
fn same(a: &str, b: &str) -> String {
    format!("{a} IS NOT DISTINCT FROM {b}")
}

/// The `parts` as one `UNION ALL`, or `empty` when there are none.
fn union_all(parts: impl Iterator<Item = String>, empty: &str) -> String {
    let parts: Vec<String> = parts.collect();
    if parts.is_empty() {
        empty.to_string()
    } else {
        parts.join("\nUNION ALL\n")
    }
}

fn or_all(parts: &[String], empty: &str) -> String {
    if parts.is_empty() {
        empty.to_string()
    } else {
        parts.join(" OR ")
    }
}

impl Gen<'_> {
    fn emit(&mut self, name: &str, select: &str) {
        if self.done.insert(name.to_string()) {
            self.sql.push_str(&self.engine.relation(name, select));
        }
    }

    fn head(&mut self, ids: &[Identity], strategy: Strategy) {
        let e = self.engine;
        let run = match e {
            Engine::DuckDb => "duckdb < audit.sql",
            Engine::Spark => "spark-sql -f audit.sql (or spark.sql per statement)",
        };
        let _ = writeln!(
            self.sql,
            "-- section-access export --target {}: the audit of {} identities as set-based SQL.\n\
             -- Run from this folder: {run}. The last statement returns one row per identity and\n\
             -- application table: userid, email, groups, decision, reason, table_name, row_count.\n\
             -- Rows are counted per {}.{}",
            e.name(),
            ids.len(),
            match strategy {
                Strategy::Classes => "grant class",
                Strategy::Atoms => "combination of reduction values, then per grant class",
            },
            match e {
                Engine::DuckDb => "",
                Engine::Spark =>
                    "\n-- Its tables go to the database section_access_audit (DROP DATABASE section_access_audit CASCADE\n\
                     -- removes them).\nCREATE DATABASE IF NOT EXISTS section_access_audit;\nUSE section_access_audit;",
            }
        );
    }

    /// The CSV files and the statements that read them.
    fn load(&mut self, ids: &[Identity]) -> Result<(), ExportError> {
        let (e, null) = (self.engine, self.csv.null.clone());
        // A file `data/NAME.csv` with its header, and the statement making
        // relation `sa_NAME` of it.
        let file = |g: &mut Self, name: &str, columns: &[String], csv: Vec<u8>, pos: bool| {
            let path = format!("data/{name}.csv");
            g.sql
                .push_str(&e.load(&format!("sa_{name}"), &path, columns, &null, pos));
            g.files.push((path, csv));
        };
        let names =
            |names: &[&str]| -> Vec<String> { names.iter().map(|n| n.to_string()).collect() };
        // The identities, in the audit's order, and their groups.
        let (id_cols, group_cols) = (
            names(&["id", "userid", "email", "groups"]),
            names(&["id", "grp"]),
        );
        let mut out = self.csv.header(&id_cols);
        let mut groups = self.csv.header(&group_cols);
        for (n, id) in ids.iter().enumerate() {
            let gs: Vec<&str> = id.groups.iter().map(|g| g.as_str()).collect();
            self.csv.row(
                &mut out,
                [
                    Some(n.to_string()),
                    id.userid.as_ref().map(|u| u.as_str().to_string()),
                    id.email.as_ref().map(|m| m.as_str().to_string()),
                    Some(gs.join(";")),
                ]
                .into_iter(),
            );
            for g in gs {
                self.csv.row(
                    &mut groups,
                    [Some(n.to_string()), Some(g.to_string())].into_iter(),
                );
            }
        }
        file(self, "ids", &id_cols, out, false);
        file(self, "idgroups", &group_cols, groups, false);
        // The application tables, columns c0, c1… in field order.
        let app = self.app;
        let data = &app.data;
        let table_cols = names(&["t", "name"]);
        let mut tables = self.csv.header(&table_cols);
        for (t, table) in data.tables().iter().enumerate() {
            let fields: Vec<FieldId> = table.fields().collect();
            let columns: Vec<String> = (0..fields.len()).map(|i| format!("c{i}")).collect();
            let csv = self.csv.table(data, table, &fields)?;
            let pos = self.atoms_in.is_some_and(|r| r != t);
            file(self, &format!("t{t}"), &columns, csv, pos);
            self.csv.row(
                &mut tables,
                [Some(t.to_string()), Some(table.name.to_string())].into_iter(),
            );
        }
        file(self, "tables", &table_cols, tables, false);
        // The security rows and what reduction symbols allow.
        for t in 0..self.shape.tables.len() {
            let rows = security_rows(self.shape, t, &self.csv)?;
            let columns: Vec<String> = rows.columns.iter().map(|(c, _)| c.clone()).collect();
            file(self, &format!("sec{t}"), &columns, rows.csv, false);
        }
        let value_cols = names(&["field", "symbol", "vid", "value"]);
        let mut values = self.csv.header(&value_cols);
        for row in value_rows(self.shape, data)? {
            self.csv.row(&mut values, row.into_iter());
        }
        file(self, "value", &value_cols, values, false);
        Ok(())
    }

    /// The column of field `f` in application table `t` (`r.cN`).
    fn column(&self, t: usize, f: FieldId) -> Option<String> {
        let table = self.app.data.tables().get(t)?;
        table.fields().position(|x| x == f).map(|i| format!("c{i}"))
    }

    /// Per identity: the reason it is denied before any data is counted
    /// (`sa_grant.reason`), its level and its grant class (`cls`); per
    /// class, its level, which fields apply (`a0`, `a1`…) and one identity
    /// (`sa_cls`); per identity, S_f (`sa_s`).
    fn grants(&mut self) -> Result<(), ExportError> {
        let shape = self.shape;
        let sec = shape.security;
        // The identity's texts each kind of identity column compares with.
        let texts = |kind: IdText| match kind {
            IdText::User => "sa_tx_u",
            IdText::Email => "sa_tx_e",
            IdText::Groups => "sa_tx_g",
            IdText::UserOrGroups => "sa_tx_ug",
        };
        self.emit(
            "sa_tx_u",
            "SELECT DISTINCT id AS ctx, userid AS t FROM sa_ids WHERE userid IS NOT NULL",
        );
        self.emit(
            "sa_tx_e",
            "SELECT DISTINCT id AS ctx, email AS t FROM sa_ids WHERE email IS NOT NULL",
        );
        self.emit(
            "sa_tx_g",
            "SELECT DISTINCT id AS ctx, grp AS t FROM sa_idgroups",
        );
        self.emit(
            "sa_tx_ug",
            "SELECT ctx, t FROM sa_tx_u UNION SELECT ctx, t FROM sa_tx_g",
        );
        self.emit("sa_ctx_ids", "SELECT id AS ctx FROM sa_ids");
        // Rows of each identity table the identity matches directly: a row
        // joins on its first column that is not `*`.
        for (t, st) in shape.tables.iter().enumerate() {
            if st.identity.is_empty() {
                continue;
            }
            let n = st.identity.len();
            let mut branches = Vec::new();
            for first in 0..=n {
                let mut conds: Vec<String> = (0..first.min(n))
                    .map(|j| format!("r._id{j}_any = 't'"))
                    .collect();
                let head = if first == n {
                    format!("SELECT x.ctx, r._row FROM sa_sec{t} r CROSS JOIN sa_ctx_ids x")
                } else {
                    let kind = st.identity.get(first).map_or(IdText::User, |c| c.text);
                    format!(
                        "SELECT x.ctx, r._row FROM sa_sec{t} r JOIN {} x ON x.t = r._id{first}",
                        texts(kind)
                    )
                };
                for (j, col) in st.identity.iter().enumerate().skip(first + 1) {
                    conds.push(format!(
                        "(r._id{j}_any = 't' OR EXISTS (SELECT 1 FROM {} y WHERE y.ctx = x.ctx AND y.t = r._id{j}))",
                        texts(col.text)
                    ));
                }
                branches.push(if conds.is_empty() {
                    head
                } else {
                    format!("{head} WHERE {}", conds.join(" AND "))
                });
            }
            self.emit(&format!("sa_mo{t}"), &branches.join("\nUNION ALL\n"));
        }
        // Matched and kept rows of the reached security tables.
        let has_access: Vec<bool> = sec
            .tables()
            .iter()
            .map(|tb| shape.access.as_ref().is_some_and(|(f, _)| tb.has_field(*f)))
            .collect();
        let reached = |t: usize| shape.tables.get(t).is_some_and(|st| st.reached);
        let own = |t: usize| -> Vec<Restrict> {
            let direct = shape
                .tables
                .get(t)
                .is_some_and(|st| st.reached && !st.identity.is_empty());
            if direct {
                vec![Restrict {
                    relation: format!("sa_mo{t}"),
                    on: vec![("_row".into(), "_row".into())],
                }]
            } else {
                Vec::new()
            }
        };
        let program = |tag: &'static str, kept: bool| {
            let own: Vec<Vec<Restrict>> = (0..shape.tables.len()).map(own).collect();
            let filter: Vec<Option<String>> = (0..shape.tables.len())
                .map(|t| {
                    (kept && reached(t) && has_access.get(t) == Some(&true))
                        .then(|| "r._level IS NOT NULL".to_string())
                })
                .collect();
            let constrained: Vec<bool> = own
                .iter()
                .zip(&filter)
                .map(|(o, f)| !o.is_empty() || f.is_some())
                .collect();
            Program {
                tag,
                contexts: "sa_ctx_ids".into(),
                tables: (0..shape.tables.len())
                    .map(|t| format!("sa_sec{t}"))
                    .collect(),
                hubs: hubs(
                    shape.links,
                    |_, f| Some(format!("_f{}", f.0)),
                    |_, side| {
                        if side.iter().any(|u| constrained.get(u) == Some(&true)) {
                            Active::Always
                        } else {
                            Active::Never
                        }
                    },
                ),
                own,
                filter,
            }
        };
        // A reached table holds identity columns or links to one that
        // does, so something always restricts its rows.
        let (matched, kept) = (program("m", false), program("k", true));
        for t in (0..shape.tables.len()).filter(|&t| reached(t)) {
            for (name, p) in [("m", &matched), ("k", &kept)] {
                let src = self.from(p, t, None).ok_or_else(|| {
                    bug(format!(
                        "reached security table {t} has nothing restricting its rows"
                    ))
                })?;
                let select = format!("SELECT {} AS ctx, r._row {}", src.ctx, src.sql(&[]));
                self.emit(&format!("sa_{name}{t}"), &select);
            }
        }
        let access_tables: Vec<usize> = (0..shape.tables.len())
            .filter(|&t| has_access.get(t) == Some(&true) && reached(t))
            .collect();
        let matched_any = union_all(
            access_tables
                .iter()
                .map(|t| format!("SELECT ctx FROM sa_m{t}")),
            "SELECT ctx FROM sa_ctx_ids WHERE 1 = 0",
        );
        let levels = union_all(
            access_tables.iter().map(|t| {
                format!("SELECT k.ctx, r._level FROM sa_k{t} k JOIN sa_sec{t} r ON r._row = k._row")
            }),
            "SELECT ctx, CAST(NULL AS STRING) AS _level FROM sa_ctx_ids WHERE 1 = 0",
        );
        self.emit(
            "sa_matched",
            &format!("SELECT DISTINCT ctx FROM ({matched_any}) x"),
        );
        self.emit(
            "sa_lv",
            &format!(
                "SELECT ctx, bool_or(_level = 'ADMIN') AS is_admin, bool_or(_level = 'USER') AS is_user\n\
                 FROM ({levels}) x GROUP BY ctx"
            ),
        );
        let direct = union_all(
            shape
                .tables
                .iter()
                .enumerate()
                .filter(|(_, st)| !st.identity.is_empty())
                .map(|(t, _)| format!("SELECT ctx FROM sa_mo{t}")),
            "SELECT ctx FROM sa_ctx_ids WHERE 1 = 0",
        );
        self.emit(
            "sa_direct",
            &format!("SELECT DISTINCT ctx FROM ({direct}) x"),
        );
        // S_f per identity: what the kept rows of reached tables and every
        // row of the others allow, as application values.
        let mut parts = Vec::new();
        for (i, r) in shape.reductions.iter().enumerate() {
            for (t, tb) in sec.tables().iter().enumerate() {
                if !tb.has_field(r.security) {
                    continue;
                }
                if reached(t) {
                    parts.push(format!(
                        "SELECT k.ctx, '{i}' AS field, r._r{i} AS sym FROM sa_k{t} k JOIN sa_sec{t} r ON r._row = k._row"
                    ));
                } else {
                    parts.push(format!(
                        "SELECT x.ctx, '{i}' AS field, r._r{i} AS sym FROM sa_sec{t} r CROSS JOIN sa_ctx_ids x"
                    ));
                }
            }
        }
        let syms = union_all(
            parts.into_iter(),
            "SELECT ctx, CAST(NULL AS STRING) AS field, CAST(NULL AS STRING) AS sym FROM sa_ctx_ids WHERE 1 = 0",
        );
        self.emit(
            "sa_s",
            &format!(
                "SELECT DISTINCT x.ctx, v.field, v.vid, v.value FROM ({syms}) x\n\
                 JOIN sa_value v ON v.field = x.field AND v.symbol = x.sym"
            ),
        );
        let list = self.engine.sorted_list("vid");
        self.emit(
            "sa_sk",
            &format!("SELECT ctx, field, {list} AS k FROM sa_s GROUP BY ctx, field"),
        );
        // The decision before the data is counted, and the grant class.
        let nf = shape.reductions.len();
        let mut joins = String::new();
        let mut keys = Vec::new();
        for i in 0..nf {
            let _ = write!(
                joins,
                "\n  LEFT JOIN (SELECT ctx, k FROM sa_sk WHERE field = '{i}') k{i} ON k{i}.ctx = i.id"
            );
            keys.push(format!("coalesce(k{i}.k, '') AS k{i}"));
        }
        let level = if shape.admin_as_user {
            "'USER'".to_string()
        } else {
            "CASE WHEN coalesce(l.is_admin, false) THEN 'ADMIN' ELSE 'USER' END".to_string()
        };
        let mut reason = String::from("CASE");
        if shape.open {
            reason.push_str(" WHEN false THEN ''");
        } else if shape.access.is_none() {
            reason
                .push_str(" WHEN d.ctx IS NOT NULL THEN 'no-valid-access' ELSE 'no-matching-row'");
        } else {
            reason.push_str(
                "\n    WHEN m.ctx IS NULL THEN 'no-matching-row'\
                 \n    WHEN NOT (coalesce(l.is_admin, false) OR coalesce(l.is_user, false)) THEN 'no-valid-access'",
            );
            if shape.strict && nf > 0 {
                let empty: Vec<String> = (0..nf)
                    .map(|i| format!("coalesce(k{i}.k, '') = ''"))
                    .collect();
                let _ = write!(
                    reason,
                    "\n    WHEN {level} = 'USER' AND ({}) THEN 'strict-exclusion'",
                    empty.join(" OR ")
                );
            }
        }
        reason.push_str(" END");
        let level = if shape.open {
            "'ADMIN'".to_string()
        } else {
            level
        };
        let mut class = vec!["g.level".to_string()];
        class.extend((0..nf).map(|i| format!("'|', g.k{i}")));
        let mut columns = vec![format!("{reason} AS reason"), format!("{level} AS level")];
        columns.extend(keys);
        self.emit(
            "sa_grant",
            &format!(
                "SELECT g.*, CASE WHEN g.reason IS NULL THEN concat({}) END AS cls FROM (\n\
                 SELECT i.id, {}\n\
                 FROM sa_ids i\n  LEFT JOIN sa_matched m ON m.ctx = i.id\n  LEFT JOIN sa_direct d ON d.ctx = i.id\n  \
                 LEFT JOIN sa_lv l ON l.ctx = i.id{joins}) g",
                class.join(", "),
                columns.join(",\n  ")
            ),
        );
        let mut per_class = vec![
            "cls AS ctx".to_string(),
            "min(level) AS level".to_string(),
            "min(id) AS rep".to_string(),
        ];
        per_class.extend((0..nf).map(|i| format!("min(k{i}) <> '' AS a{i}")));
        self.emit(
            "sa_cls",
            &format!(
                "SELECT {} FROM sa_grant WHERE reason IS NULL GROUP BY cls",
                per_class.join(", ")
            ),
        );
        self.emit(
            "sa_cv",
            "SELECT c.ctx, s.field, s.value FROM sa_cls c JOIN sa_s s ON s.ctx = c.rep",
        );
        // Per reduction field held by the data, the values a class lets
        // through: S_f, or every value and NULL where S_f is empty (the
        // field does not apply).
        let app = self.app;
        let data = &app.data;
        for (i, r) in shape.reductions.iter().enumerate() {
            let every: Vec<String> = data
                .tables()
                .iter()
                .enumerate()
                .filter_map(|(t, _)| {
                    self.column(t, r.data)
                        .map(|c| format!("SELECT r.{c} AS v FROM sa_t{t} r"))
                })
                .collect();
            if every.is_empty() {
                continue;
            }
            self.emit(
                &format!("sa_f{i}"),
                &format!(
                    "SELECT ctx, value AS v FROM sa_cv WHERE field = '{i}'\nUNION ALL\n\
                     SELECT c.ctx, a.v FROM sa_cls c CROSS JOIN (SELECT DISTINCT v FROM ({}) x) a WHERE NOT c.a{i}",
                    every.join(" UNION ALL ")
                ),
            );
        }
        Ok(())
    }

    /// The data program over contexts `contexts` whose table restrictions
    /// on reduction field `i` are relation `filter(i)` (column `v`), and
    /// whose hub members are active as `active` says (reduction fields on
    /// the member's side, hub fields excepted).
    fn data_program(
        &self,
        tag: &'static str,
        contexts: &str,
        filter: &dyn Fn(usize) -> String,
        active: &dyn Fn(&[usize]) -> Active,
    ) -> Program {
        let data = &self.app.data;
        let shape = self.shape;
        let own = data
            .tables()
            .iter()
            .enumerate()
            .map(|(t, _)| {
                shape
                    .reductions
                    .iter()
                    .enumerate()
                    .filter_map(|(i, r)| {
                        self.column(t, r.data).map(|c| Restrict {
                            relation: filter(i),
                            on: vec![("v".into(), c)],
                        })
                    })
                    .collect()
            })
            .collect();
        let hubs = hubs(
            shape.data_links,
            |t, f| self.column(t, f),
            |fields, side| {
                let on_side = reductions_on_side(shape, data, fields, side);
                if on_side.is_empty() {
                    Active::Never
                } else {
                    active(&on_side)
                }
            },
        );
        Program {
            tag,
            contexts: contexts.to_string(),
            tables: (0..data.tables().len())
                .map(|t| format!("sa_t{t}"))
                .collect(),
            own,
            filter: vec![None; data.tables().len()],
            hubs,
        }
    }

    /// Rows per grant class and table (`sa_n{t}`), per class.
    fn count_by_classes(&mut self) -> Result<(), ExportError> {
        let p = self.data_program("d", "sa_cls", &|i| format!("sa_f{i}"), &|on_side| {
            let applied: Vec<String> = on_side.iter().map(|i| format!("c.a{i}")).collect();
            Active::When(applied.join(" OR "))
        });
        for t in 0..p.tables.len() {
            let select = match self.from(&p, t, None) {
                Some(src) => format!(
                    "SELECT {0} AS ctx, count(*) AS n {1} GROUP BY {0}",
                    src.ctx,
                    src.sql(&[])
                ),
                None => format!(
                    "SELECT c.ctx, x.n FROM sa_cls c CROSS JOIN (SELECT count(*) AS n FROM sa_t{t}) x"
                ),
            };
            self.emit(&format!("sa_n{t}"), &select);
        }
        Ok(())
    }

    /// Rows per grant class and table (`sa_n{t}`), through the atoms of
    /// table `r`, the one holding every reduction field.
    fn count_by_atoms(&mut self, r: usize) -> Result<(), ExportError> {
        let shape = self.shape;
        let fields: Vec<(usize, String)> = shape
            .reductions
            .iter()
            .enumerate()
            .filter_map(|(i, red)| self.column(r, red.data).map(|c| (i, c)))
            .collect();
        let values: Vec<String> = fields
            .iter()
            .map(|(i, c)| format!("r.{c} AS v{i}"))
            .collect();
        let order: Vec<String> = fields.iter().map(|(i, _)| format!("v{i}")).collect();
        self.emit(
            "sa_atom",
            &format!(
                "SELECT row_number() OVER (ORDER BY {0}) AS ctx, {0} FROM (SELECT DISTINCT {1} FROM sa_t{r} r) x",
                order.join(", "),
                values.join(", ")
            ),
        );
        for (i, _) in &fields {
            self.emit(
                &format!("sa_af{i}"),
                &format!("SELECT ctx, v{i} AS v FROM sa_atom"),
            );
        }
        let p = self.data_program("a", "sa_atom", &|i| format!("sa_af{i}"), &|_| {
            Active::Always
        });
        // The atoms each class allows, for classes where a field applies.
        let applied: Vec<String> = fields.iter().map(|(i, _)| format!("c.a{i}")).collect();
        let applied = or_all(&applied, "false");
        let first = fields
            .first()
            .map(|(i, _)| *i)
            .ok_or_else(|| bug("counting per atom without a reduction field".into()))?;
        let mut from = String::from("FROM sa_atom a");
        for (i, _) in &fields {
            let value = same(&format!("f{i}.v"), &format!("a.v{i}"));
            let on = if *i == first {
                value
            } else {
                format!("f{i}.ctx = f{first}.ctx AND {value}")
            };
            let _ = write!(from, " JOIN sa_f{i} f{i} ON {on}");
        }
        self.emit(
            "sa_ca",
            &format!(
                "SELECT f{first}.ctx, a.ctx AS atom {from} JOIN sa_cls c ON c.ctx = f{first}.ctx WHERE {applied}"
            ),
        );
        let e = self.engine;
        for t in 0..p.tables.len() {
            let total = format!(
                "SELECT c.ctx, x.n FROM sa_cls c CROSS JOIN (SELECT count(*) AS n FROM sa_t{t}) x"
            );
            let Some(src) = self.from(&p, t, None) else {
                self.emit(&format!("sa_n{t}"), &total);
                continue;
            };
            let per_class = if t == r {
                // Each row holds one atom.
                self.emit(
                    &format!("sa_an{t}"),
                    &format!(
                        "SELECT {0} AS atom, count(*) AS n {1} GROUP BY {0}",
                        src.ctx,
                        src.sql(&[])
                    ),
                );
                format!(
                    "SELECT ca.ctx, sum(s.n) AS n FROM sa_ca ca JOIN sa_an{t} s ON s.atom = ca.atom GROUP BY ca.ctx"
                )
            } else {
                // Rows reached by one atom are summed, rows reached by
                // several are bitmap positions OR-ed per class.
                self.emit(
                    &format!("sa_ra{t}"),
                    &format!("SELECT {} AS atom, r.pos {}", src.ctx, src.sql(&[])),
                );
                self.emit(
                    &format!("sa_rm{t}"),
                    &format!("SELECT pos, count(*) AS m FROM sa_ra{t} GROUP BY pos"),
                );
                self.emit(
                    &format!("sa_as{t}"),
                    &format!(
                        "SELECT a.atom, count(*) AS n FROM sa_ra{t} a JOIN sa_rm{t} m ON m.pos = a.pos \
                         WHERE m.m = 1 GROUP BY a.atom"
                    ),
                );
                self.emit(
                    &format!("sa_ab{t}"),
                    &format!(
                        "SELECT a.atom, {} AS b, {} AS bits FROM sa_ra{t} a JOIN sa_rm{t} m ON m.pos = a.pos \
                         WHERE m.m > 1 GROUP BY a.atom, {}",
                        e.bucket("a.pos"),
                        e.bitmap("a.pos"),
                        e.bucket("a.pos")
                    ),
                );
                format!(
                    "SELECT ctx, sum(n) AS n FROM (\n\
                     SELECT ca.ctx, s.n FROM sa_ca ca JOIN sa_as{t} s ON s.atom = ca.atom\n\
                     UNION ALL\n\
                     SELECT ca.ctx, {} AS n FROM sa_ca ca JOIN sa_ab{t} b ON b.atom = ca.atom GROUP BY ca.ctx, b.b\n\
                     ) x GROUP BY ctx",
                    e.union_count("b.bits")
                )
            };
            self.emit(
                &format!("sa_n{t}"),
                &format!("{per_class}\nUNION ALL\n{total} WHERE NOT ({applied})",),
            );
        }
        Ok(())
    }

    /// The answer: per identity and table, the decision and the rows.
    fn answer(&mut self) {
        let shape = self.shape;
        let data = &self.app.data;
        let tables = data.tables().len();
        // Reduced to nothing: a USER class without rows in a non-empty
        // table that holds an applied field.
        let mut emptied = Vec::new();
        let mut joins = String::new();
        for (t, tb) in data.tables().iter().enumerate() {
            let _ = write!(joins, "\n  LEFT JOIN sa_n{t} n{t} ON n{t}.ctx = c.ctx");
            let applied: Vec<String> = held_reductions(shape, tb)
                .iter()
                .map(|i| format!("c.a{i}"))
                .collect();
            if applied.is_empty() {
                continue;
            }
            emptied.push(format!(
                "(({}) AND z.s{t} > 0 AND coalesce(n{t}.n, 0) = 0)",
                applied.join(" OR ")
            ));
        }
        let sizes: Vec<String> = (0..tables)
            .map(|t| format!("(SELECT count(*) FROM sa_t{t}) AS s{t}"))
            .collect();
        let sizes = if sizes.is_empty() {
            "SELECT 0 AS s".to_string()
        } else {
            format!("SELECT {}", sizes.join(", "))
        };
        self.emit("sa_sizes", &sizes);
        self.emit(
            "sa_cdec",
            &format!(
                "SELECT c.ctx, CASE WHEN c.level = 'USER' AND ({}) THEN 'reduced-to-nothing' END AS reason\n\
                 FROM sa_cls c CROSS JOIN sa_sizes z{joins}",
                or_all(&emptied, "false")
            ),
        );
        let counts: Vec<String> = (0..tables)
            .map(|t| format!("SELECT ctx, '{t}' AS t, n FROM sa_n{t}"))
            .collect();
        let counts = if counts.is_empty() {
            "SELECT ctx, CAST(NULL AS STRING) AS t, 0 AS n FROM sa_cls WHERE 1 = 0".to_string()
        } else {
            counts.join("\nUNION ALL\n")
        };
        self.emit("sa_n", &counts);
        let _ = write!(
            self.sql,
            "SELECT i.userid, i.email, i.groups,\n  \
             CASE WHEN coalesce(g.reason, d.reason) IS NULL THEN 'granted' ELSE 'denied' END AS decision,\n  \
             coalesce(g.reason, d.reason) AS reason,\n  \
             tb.name AS table_name,\n  \
             CASE WHEN tb.t IS NULL THEN NULL WHEN coalesce(g.reason, d.reason) IS NOT NULL THEN 0 \
             ELSE coalesce(n.n, 0) END AS row_count\n\
             FROM sa_ids i\n  JOIN sa_grant g ON g.id = i.id\n  LEFT JOIN sa_cdec d ON d.ctx = g.cls\n  \
             LEFT JOIN sa_tables tb ON 1 = 1\n  LEFT JOIN sa_n n ON n.ctx = g.cls AND n.t = tb.t\n\
             ORDER BY CAST(i.id AS BIGINT), CAST(tb.t AS BIGINT);\n"
        );
    }

    /// `FROM` table `t` joined with what restricts its rows (but through
    /// hub `except`), and the context column; `None` when nothing does.
    /// Makes the key sets it reads first.
    fn from(&mut self, p: &Program, t: usize, except: Option<usize>) -> Option<Source> {
        let mut restricts: Vec<Restrict> = p.own.get(t).cloned().unwrap_or_default();
        for (h, members) in p.hubs.iter().enumerate() {
            if Some(h) == except {
                continue;
            }
            let Some(mine) = members.iter().find(|m| m.table == t) else {
                continue;
            };
            for (m, member) in members.iter().enumerate() {
                if member.table == t || matches!(member.active, Active::Never) {
                    continue;
                }
                let Some(relation) = self.key_set(p, h, m) else {
                    continue;
                };
                restricts.push(Restrict {
                    relation,
                    on: mine
                        .key
                        .iter()
                        .enumerate()
                        .map(|(k, c)| (format!("k{k}"), c.clone()))
                        .collect(),
                });
            }
        }
        let relation = p.tables.get(t)?;
        let mut from = format!("FROM {relation} r");
        for (n, r) in restricts.iter().enumerate() {
            let mut on: Vec<String> =
                r.on.iter()
                    .map(|(col, row)| same(&format!("j{n}.{col}"), &format!("r.{row}")))
                    .collect();
            if n > 0 {
                on.insert(0, format!("j{n}.ctx = j0.ctx"));
            }
            let _ = write!(from, "\n  JOIN {} j{n} ON {}", r.relation, on.join(" AND "));
        }
        if restricts.is_empty() {
            return None;
        }
        Some(Source {
            from,
            ctx: "j0.ctx".to_string(),
            conds: p.filter.get(t).cloned().flatten().into_iter().collect(),
        })
    }

    /// The keys of member `m` of hub `h` (columns `k0`, `k1`…) per context:
    /// those of its rows that stay, looked at from the hub; for contexts
    /// where its side holds no selection, every key of the hub and NULL.
    fn key_set(&mut self, p: &Program, h: usize, m: usize) -> Option<String> {
        let name = format!("sa_{}ks{h}_{m}", p.tag);
        if self.done.contains(&name) {
            return Some(name);
        }
        let members = p.hubs.get(h)?;
        let member = members.get(m)?;
        let source = self.from(p, member.table, Some(h))?;
        let keys: Vec<String> = member
            .key
            .iter()
            .enumerate()
            .map(|(k, c)| format!("r.{c} AS k{k}"))
            .collect();
        let not_null: Vec<String> = member
            .key
            .iter()
            .map(|c| format!("r.{c} IS NOT NULL"))
            .collect();
        let mut select = format!(
            "SELECT DISTINCT {} AS ctx, {} {}",
            source.ctx,
            keys.join(", "),
            source.sql(&not_null)
        );
        if let Active::When(cond) = &member.active {
            let every = format!("sa_{}all{h}", p.tag);
            let parts: Vec<String> = members
                .iter()
                .filter_map(|mb| {
                    let rel = p.tables.get(mb.table)?;
                    let cols: Vec<String> = mb
                        .key
                        .iter()
                        .enumerate()
                        .map(|(k, c)| format!("r.{c} AS k{k}"))
                        .collect();
                    Some(format!("SELECT {} FROM {rel} r", cols.join(", ")))
                })
                .collect();
            self.emit(
                &every,
                &format!("SELECT DISTINCT * FROM ({}) x", parts.join(" UNION ALL ")),
            );
            let cols: Vec<String> = (0..member.key.len()).map(|k| format!("a.k{k}")).collect();
            let _ = write!(
                select,
                "\nUNION\nSELECT c.ctx, {} FROM {} c CROSS JOIN {every} a WHERE NOT ({cond})",
                cols.join(", "),
                p.contexts
            );
        }
        self.emit(&name, &select);
        Some(name)
    }
}

/// The hubs of `links` as a [`Program`] has them: per member, its table,
/// its key's columns (`column(table, field)`) and when it constrains
/// (`active(hub fields, side)`).
fn hubs(
    links: &Links,
    column: impl Fn(usize, FieldId) -> Option<String>,
    active: impl Fn(&[FieldId], &BitSet) -> Active,
) -> Vec<Vec<Member>> {
    links
        .hubs()
        .map(|(fields, members)| {
            members
                .iter()
                .map(|&(table, side)| Member {
                    table,
                    key: fields.iter().filter_map(|f| column(table, *f)).collect(),
                    active: active(fields, side),
                })
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_quoted_as_each_engine_reads_them() {
        assert_eq!(Engine::DuckDb.text("it's \\N"), "'it''s \\N'");
        assert_eq!(Engine::Spark.text("it's \\N"), "'it\\'s \\\\N'");
    }

    #[test]
    fn each_engine_materialises_a_relation_its_own_way() {
        assert!(
            Engine::DuckDb
                .relation("x", "SELECT 1")
                .starts_with("CREATE TEMP TABLE x AS")
        );
        let spark = Engine::Spark.relation("x", "SELECT 1");
        assert!(spark.starts_with("DROP TABLE IF EXISTS x;\nCREATE TABLE x USING parquet AS"));
        assert!(spark.ends_with(";\n"));
    }
}
