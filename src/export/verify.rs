//! `section-access verify`: the export loaded into a fresh schema of a
//! real PostgreSQL server, then, for every identity the audit knows, the
//! identity set as a session would set it and the rows of every table
//! counted as the reader role, compared with the audit.

use postgres::{Client, NoTls};

use crate::access::Options as AccessOptions;
use rayon::prelude::*;

use crate::audit::{Audit, Entry, label};
use crate::load::App;
use crate::load::describe_pg_error as describe;
use crate::names::Identity;

use super::{COPY_OPTIONS, ExportError, Options, Plan, READER_ROLE, Step, ident};

/// One identity as the database and the audit see it.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Seen {
    /// `granted` or `denied`.
    pub decision: String,
    /// The deny reason's code.
    pub reason: Option<String>,
    /// Rows per application table, in model order.
    pub rows: Vec<u64>,
    /// Omitted fields, sorted (granted identities only).
    pub omitted: Vec<String>,
}

/// The comparison for one identity (JSON: `{"identity", "audit",
/// "database", "agrees"}`).
#[derive(Clone, Debug)]
pub struct Checked {
    /// Who.
    pub identity: Identity,
    /// The audit's answer.
    pub audit: Seen,
    /// The database's answer.
    pub database: Seen,
}

impl serde::Serialize for Checked {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Checked", 4)?;
        st.serialize_field("identity", &self.identity)?;
        st.serialize_field("audit", &self.audit)?;
        st.serialize_field("database", &self.database)?;
        st.serialize_field("agrees", &self.agrees())?;
        st.end()
    }
}

impl Checked {
    /// True when both answers are the same.
    pub fn agrees(&self) -> bool {
        self.audit == self.database
    }
}

/// The result of `verify` (JSON: `{"schema", "tables", "identities",
/// "agrees"}`; rows per table in the order of `tables`).
#[derive(Clone, Debug)]
pub struct Verification {
    /// The schema the export was loaded into.
    pub schema: String,
    /// The application tables, in model order.
    pub tables: Vec<String>,
    /// Per identity, in audit order.
    pub identities: Vec<Checked>,
}

/// Exports `app` into a fresh schema of the database at `url` and checks
/// every identity of the audit (and `extra`). The schema is dropped
/// afterwards unless `keep`.
pub fn verify(
    app: &App,
    rules: &AccessOptions,
    url: &str,
    schema: Option<&str>,
    extra: &[Identity],
    keep: bool,
) -> Result<Verification, ExportError> {
    let fail = |what: &str, e: &postgres::Error| {
        ExportError(crate::secrets::masked(&format!(
            "verify: {what}: {}",
            describe(e)
        )))
    };
    let mut client = Client::connect(url, NoTls).map_err(|e| fail("cannot connect", &e))?;
    let schema = match schema {
        Some(s) => s.to_string(),
        None => fresh_schema(&mut client).map_err(|e| fail("cannot list schemas", &e))?,
    };
    let opts = Options {
        schema: schema.clone(),
        ..Options::default()
    };
    let plan = super::postgres(app, rules, &opts)?;
    load(&mut client, &plan)
        .map_err(|e| fail(&format!("loading the export into schema `{schema}`"), &e))?;
    let audit = Audit::run(app, rules, extra, &|_, _| {});
    let tables: Vec<String> = app
        .data
        .tables()
        .iter()
        .map(|t| t.name.to_string())
        .collect();
    // The identities in as many pieces as there are workers, each on its
    // own connection (the server does the work), results in audit order.
    let piece = audit
        .entries
        .len()
        .div_ceil(rayon::current_num_threads())
        .max(1);
    let result: Result<Vec<Vec<Checked>>, String> = audit
        .entries
        .par_chunks(piece)
        .map(|entries| {
            let mut client = Client::connect(url, NoTls).map_err(|e| describe(&e))?;
            check(&mut client, &schema, &tables, &audit, entries)
        })
        .collect();
    let result = result.map(|pieces| pieces.into_iter().flatten().collect::<Vec<_>>());
    let cleanup = if keep {
        Ok(())
    } else {
        client
            .batch_execute(&format!(
                "RESET ROLE; DROP SCHEMA {} CASCADE;",
                ident(&schema)?
            ))
            .map_err(|e| fail(&format!("dropping schema `{schema}`"), &e))
    };
    let identities = result.map_err(|why| {
        ExportError(crate::secrets::masked(&format!(
            "verify: querying as the reader role: {why}"
        )))
    })?;
    cleanup?;
    Ok(Verification {
        schema,
        tables,
        identities,
    })
}

/// `section_access_verify`, or the first `section_access_verify_N` not taken.
fn fresh_schema(client: &mut Client) -> Result<String, postgres::Error> {
    let taken: Vec<String> = client
        .query("SELECT nspname::text FROM pg_namespace WHERE nspname LIKE 'section\\_access\\_verify%'", &[])?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let base = "section_access_verify".to_string();
    Ok((1..)
        .map(|n| {
            if n == 1 {
                base.clone()
            } else {
                format!("{base}_{n}")
            }
        })
        .find(|s| !taken.contains(s))
        .unwrap_or(base))
}

/// Runs the steps of `plan` as `psql -f load.sql` would.
pub fn load(client: &mut Client, plan: &Plan) -> Result<(), postgres::Error> {
    use std::io::Write;
    for step in &plan.steps {
        match step {
            Step::Sql(sql) => client.batch_execute(sql)?,
            Step::Copy { table, data, .. } => {
                let mut w =
                    client.copy_in(&format!("COPY {table} FROM STDIN WITH {COPY_OPTIONS}"))?;
                // A failed write surfaces as the error of `finish`.
                let _ = w.write_all(data);
                w.finish()?;
            }
        }
    }
    Ok(())
}

/// Every identity set in turn and counted as the reader role.
fn check(
    client: &mut Client,
    schema: &str,
    tables: &[String],
    audit: &Audit,
    entries: &[Entry],
) -> Result<Vec<Checked>, String> {
    let pg = |e: postgres::Error| describe(&e);
    let s = format!("\"{}\"", schema.replace('"', "\"\""));
    let counts: Vec<String> = tables
        .iter()
        .map(|t| format!("(SELECT count(*) FROM {s}.\"{}\")", t.replace('"', "\"\"")))
        .collect();
    let query = format!(
        "SELECT (d).decision, (d).reason, ARRAY[{}]::bigint[], {s}.omitted() FROM (SELECT {s}.decision() AS d) x",
        counts.join(", ")
    );
    client
        .batch_execute(&format!("SET ROLE {READER_ROLE}"))
        .map_err(pg)?;
    let set = client.prepare(
        "SELECT set_config('section_access.userid', $1, false), set_config('section_access.email', $2, false), \
         set_config('section_access.groups', $3, false)",
    ).map_err(pg)?;
    let count = client.prepare(&query).map_err(pg)?;
    let mut out = Vec::with_capacity(entries.len());
    for entry in entries {
        let grant = audit.grant_of(entry).ok_or_else(|| {
            crate::bug::Bug::new(format!(
                "identity `{}` has no grant in the audit",
                label(&entry.identity)
            ))
            .to_string()
        })?;
        let id = &entry.identity;
        // Groups as a JSON array: a group name may hold a comma.
        let groups =
            serde_json::Value::from(id.groups.iter().map(|g| g.to_string()).collect::<Vec<_>>())
                .to_string();
        client
            .execute(
                &set,
                &[
                    &id.userid.as_ref().map_or(String::new(), |u| u.to_string()),
                    &id.email.as_ref().map_or(String::new(), |e| e.to_string()),
                    &groups,
                ],
            )
            .map_err(pg)?;
        let row = client.query_one(&count, &[]).map_err(pg)?;
        let decision: String = row.try_get(0).map_err(pg)?;
        let granted = decision == "granted";
        let rows: Vec<i64> = row.try_get(2).map_err(pg)?;
        let mut omitted: Vec<String> = row.try_get(3).map_err(pg)?;
        omitted.sort();
        let database = Seen {
            decision,
            reason: row.try_get(1).map_err(pg)?,
            rows: rows
                .into_iter()
                .map(|n| u64::try_from(n).map_err(|_| format!("a count of {n} rows")))
                .collect::<Result<_, _>>()?,
            omitted: if granted { omitted } else { Vec::new() },
        };
        let mut audit_omitted = grant.view.omitted.clone();
        audit_omitted.sort();
        let audit_seen = Seen {
            decision: grant.decision().to_string(),
            reason: grant.outcome.reason().map(|r| r.code().to_string()),
            rows: tables.iter().map(|t| grant.view.rows(t) as u64).collect(),
            omitted: if grant.is_granted() {
                audit_omitted
            } else {
                Vec::new()
            },
        };
        out.push(Checked {
            identity: id.clone(),
            audit: audit_seen,
            database,
        });
    }
    client.batch_execute("RESET ROLE").map_err(pg)?;
    Ok(out)
}

impl serde::Serialize for Verification {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Verification", 4)?;
        st.serialize_field("schema", &self.schema)?;
        st.serialize_field("tables", &self.tables)?;
        st.serialize_field("identities", &self.identities)?;
        st.serialize_field("agrees", &self.agrees())?;
        st.end()
    }
}

impl Verification {
    /// The table of identities × tables, one line per identity; a
    /// difference shows both answers.
    pub fn text(&self) -> String {
        let mut out = format!("{:<32} {:<28}", "identity", "decision");
        for t in &self.tables {
            out.push_str(&format!(" {t:>12}"));
        }
        out.push_str("  check\n");
        for c in &self.identities {
            let decision = match &c.database.reason {
                Some(r) => format!("{} ({r})", c.database.decision),
                None => c.database.decision.clone(),
            };
            out.push_str(&format!("{:<32} {:<28}", label(&c.identity), decision));
            for (i, _) in self.tables.iter().enumerate() {
                let db = c.database.rows.get(i).copied().unwrap_or_default();
                let au = c.audit.rows.get(i).copied().unwrap_or_default();
                let cell = if db == au {
                    db.to_string()
                } else {
                    format!("{db}≠{au}")
                };
                out.push_str(&format!(" {cell:>12}"));
            }
            if c.agrees() {
                out.push_str("  ok\n");
            } else {
                out.push_str(&format!(
                    "  DIFFERS: database {} {:?} omits {:?}; audit {} {:?} omits {:?}\n",
                    c.database.decision,
                    c.database.reason,
                    c.database.omitted,
                    c.audit.decision,
                    c.audit.reason,
                    c.audit.omitted
                ));
            }
        }
        let bad = self.identities.iter().filter(|c| !c.agrees()).count();
        out.push_str(&format!(
            "{} identities, {} tables: {}\n",
            self.identities.len(),
            self.tables.len(),
            if bad == 0 {
                "the database gives every identity exactly what the audit gives".to_string()
            } else {
                format!("{bad} identities differ")
            }
        ));
        out
    }

    /// True when every identity agrees.
    pub fn agrees(&self) -> bool {
        self.identities.iter().all(Checked::agrees)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::UserId;

    fn seen(decision: &str, rows: &[u64]) -> Seen {
        Seen {
            decision: decision.to_string(),
            reason: None,
            rows: rows.to_vec(),
            omitted: Vec::new(),
        }
    }

    #[test]
    fn a_difference_shows_both_answers_and_fails_the_verification() {
        let checked = |db: Seen, audit: Seen| Checked {
            identity: Identity::new(Some(UserId::new("anna")), None, Vec::new()),
            audit,
            database: db,
        };
        let v = Verification {
            schema: "s".into(),
            tables: vec!["Orders".into()],
            identities: vec![
                checked(seen("granted", &[3]), seen("granted", &[3])),
                checked(seen("granted", &[4]), seen("granted", &[3])),
            ],
        };
        assert!(!v.agrees());
        let text = v.text();
        assert!(text.contains("4≠3"), "{text}");
        assert!(text.contains("DIFFERS"), "{text}");
        assert!(
            text.ends_with("2 identities, 1 tables: 1 identities differ\n"),
            "{text}"
        );
        let json = serde_json::to_value(&v).unwrap();
        assert_eq!(json["agrees"], false);
        assert_eq!(json["identities"][1]["database"]["rows"][0], 4);
        assert_eq!(json["identities"][1]["agrees"], false);
        assert_eq!(json["identities"][0]["identity"]["userid"], "ANNA");
    }
}
