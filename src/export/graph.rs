//! Propagation (SPEC §5.6) stated in SQL for a model whose links form a
//! forest.
//!
//! [`crate::reduce::Links::reduce`] iterates to a fixpoint; on a forest
//! that fixpoint is a finite nest of semi-joins. A row of table T stays when
//! its own predicate holds and, for every hub of T and every other member N
//! of it whose side holds a selection, T's key is among the keys of N's rows
//! that stay when N is looked at from T's side, that is with every
//! constraint of N except the one through this hub. Each such key set is a
//! `SECURITY DEFINER` function (it reads the base tables, so policies never
//! read each other's tables and cannot recurse), called as `(SELECT f())`
//! so that PostgreSQL computes it once per query.

use std::fmt::Write;

/// A model as SQL: relations, their own predicates, and their hubs.
pub(super) struct Graph {
    /// The schema, quoted.
    pub schema: String,
    /// Prefix of the key-set functions (distinct per graph).
    pub prefix: &'static str,
    /// Per table, the relation (qualified and quoted).
    pub relations: Vec<String>,
    /// Per table, the predicate on its own columns (`None`: none).
    pub own: Vec<Option<String>>,
    /// Per table, the same predicate as a policy states it: plain
    /// conjuncts that an index can serve (see [`Graph::policy_pred`]).
    pub own_policy: Vec<Option<String>>,
    /// The hubs.
    pub hubs: Vec<GraphHub>,
}

/// A link point of a [`Graph`].
pub(super) struct GraphHub {
    /// Per member: its table, its key as SQL over that table's columns
    /// (NULL when any part is NULL), and when its side holds a selection
    /// (`None`: never).
    pub members: Vec<(usize, String, Option<String>)>,
    /// True when some member has a row whose key is NULL.
    pub nulls: bool,
}

impl Graph {
    /// The predicate under which a row of table `t` stays, leaving out the
    /// constraints through hub `except` (`"true"` when nothing constrains).
    pub(super) fn pred(&self, t: usize, except: Option<usize>) -> String {
        self.pred_assuming(t, except, &[])
    }

    /// The predicate of table `t`'s policy: [`Graph::pred`] with each
    /// constraint a plain `key = ANY (array)` conjunct (PostgreSQL does not
    /// turn a policy's `IN (subquery)` into a join, but serves `= ANY` of a
    /// computed array from an index). A constraint that may not apply
    /// reads the `_a` function, which gives every key of the hub then; a
    /// hub with NULL keys keeps the exact form (a NULL key is never in an
    /// array, but stays where nothing constrains).
    pub(super) fn policy_pred(&self, t: usize) -> String {
        let mut parts: Vec<String> = self
            .own_policy
            .get(t)
            .cloned()
            .flatten()
            .into_iter()
            .collect();
        let s = &self.schema;
        for (h, m, key, active) in self.neighbours(t, None) {
            let hub_nulls = self.hubs.get(h).is_some_and(|hub| hub.nulls);
            parts.push(if active == "true" {
                format!(
                    "{key} = ANY ((SELECT {s}.{}())::text[])",
                    self.function(h, m)
                )
            } else if hub_nulls {
                format!(
                    "(NOT ({active}) OR {key} = ANY ((SELECT {s}.{}())::text[]))",
                    self.function(h, m)
                )
            } else {
                format!(
                    "{key} = ANY ((SELECT {s}.{}())::text[])",
                    self.allowed(h, m)
                )
            });
        }
        if parts.is_empty() {
            "true".to_string()
        } else {
            parts.join("\n    AND ")
        }
    }

    /// The constraints on table `t` through its hubs (but `except`): per
    /// constraint, when it applies (`"true"`: always) and the condition.
    fn constraints(&self, t: usize, except: Option<usize>) -> Vec<(&str, String)> {
        self.neighbours(t, except)
            .into_iter()
            .map(|(h, m, key, active)| {
                (
                    active,
                    format!(
                        "{key} IN (SELECT unnest({}.{}()))",
                        self.schema,
                        self.function(h, m)
                    ),
                )
            })
            .collect()
    }

    /// The members that may constrain table `t` through its hubs (but
    /// `except`): hub, member, `t`'s key in that hub, and when the
    /// member's side holds a selection.
    fn neighbours(&self, t: usize, except: Option<usize>) -> Vec<(usize, usize, &str, &str)> {
        let mut out = Vec::new();
        for (h, hub) in self.hubs.iter().enumerate() {
            if Some(h) == except {
                continue;
            }
            let Some((_, key, _)) = hub.members.iter().find(|(table, _, _)| *table == t) else {
                continue;
            };
            for (m, (table, _, active)) in hub.members.iter().enumerate() {
                if let (Some(active), false) = (active, *table == t) {
                    out.push((h, m, key.as_str(), active.as_str()));
                }
            }
        }
        out
    }

    /// [`Graph::pred`] where the conditions in `assumed` are known to hold
    /// (`true`) or not: a constraint that surely applies is a plain
    /// conjunct, which PostgreSQL turns into an indexed semi-join.
    fn pred_assuming(&self, t: usize, except: Option<usize>, assumed: &[(&str, bool)]) -> String {
        let mut parts: Vec<String> = self.own.get(t).cloned().flatten().into_iter().collect();
        for (active, within) in self.constraints(t, except) {
            let known = if active == "true" {
                Some(true)
            } else {
                assumed.iter().find(|(a, _)| *a == active).map(|(_, v)| *v)
            };
            match known {
                Some(true) => parts.push(within),
                Some(false) => {}
                None => parts.push(format!("(NOT ({active}) OR {within})")),
            }
        }
        if parts.is_empty() {
            "true".to_string()
        } else {
            parts.join("\n    AND ")
        }
    }

    /// The name of the function giving the keys of member `m` of hub `h`.
    fn function(&self, h: usize, m: usize) -> String {
        format!("_sa_{}k{h}_{m}", self.prefix)
    }

    /// The name of the function giving the keys member `m` of hub `h`
    /// allows the others: its keys when its side holds a selection, every
    /// key of the hub when not.
    fn allowed(&self, h: usize, m: usize) -> String {
        format!("_sa_{}a{h}_{m}", self.prefix)
    }

    /// `CREATE FUNCTION` of every key set a predicate may read.
    pub(super) fn functions(&self, out: &mut String) {
        for (h, hub) in self.hubs.iter().enumerate() {
            for (m, (table, key, active)) in hub.members.iter().enumerate() {
                if active.is_none() {
                    continue;
                }
                let relation = self.relations.get(*table).map_or("", String::as_str);
                // One query per combination of the conditions that decide
                // which constraints apply (a few at most), each planned
                // with its constraints as plain conjuncts.
                let mut conds: Vec<&str> = self
                    .constraints(*table, Some(h))
                    .into_iter()
                    .map(|(a, _)| a)
                    .filter(|a| *a != "true")
                    .collect();
                conds.sort_unstable();
                conds.dedup();
                let combos: Vec<Vec<(&str, bool)>> = if conds.len() > 3 {
                    vec![Vec::new()]
                } else {
                    (0..1usize << conds.len())
                        .map(|bits| {
                            conds
                                .iter()
                                .enumerate()
                                .map(|(i, c)| (*c, bits & (1 << i) != 0))
                                .collect()
                        })
                        .collect()
                };
                let branches: Vec<(String, String)> = combos
                    .iter()
                    .map(|assumed| {
                        let when = assumed
                            .iter()
                            .map(|(c, v)| if *v { format!("({c})") } else { format!("NOT ({c})") })
                            .collect::<Vec<_>>()
                            .join(" AND ");
                        let select = format!(
                            "SELECT coalesce(array_agg(DISTINCT k), '{{}}') FROM (SELECT {key} AS k FROM {relation}\n    \
                             WHERE {}) x WHERE k IS NOT NULL",
                            self.pred_assuming(*table, Some(h), assumed)
                        );
                        (when, select)
                    })
                    .collect();
                definer_branches(out, &self.schema, &self.function(h, m), "text[]", &branches);
                let Some(active) = active.as_deref().filter(|a| *a != "true") else {
                    continue;
                };
                if hub.nulls {
                    continue;
                }
                let every: Vec<String> = hub
                    .members
                    .iter()
                    .map(|(t, key, _)| {
                        format!(
                            "SELECT {key} AS k FROM {}",
                            self.relations.get(*t).map_or("", String::as_str)
                        )
                    })
                    .collect();
                definer_branches(
                    out,
                    &self.schema,
                    &self.allowed(h, m),
                    "text[]",
                    &[
                        (
                            format!("({active})"),
                            format!("SELECT {}.{}()", self.schema, self.function(h, m)),
                        ),
                        (
                            String::new(),
                            format!(
                                "SELECT coalesce(array_agg(DISTINCT k), '{{}}') FROM ({}) x WHERE k IS NOT NULL",
                                every.join(" UNION ALL ")
                            ),
                        ),
                    ],
                );
            }
        }
    }
}

/// `CREATE FUNCTION schema.name() RETURNS returns`, the value of the query
/// `select`, run as its owner: it reads the rules and the base tables,
/// which the reader cannot (and so no policy reads another table's
/// policy). PL/pgSQL, so that each session plans the query once (a SQL
/// function that cannot be inlined is planned on every call).
pub(super) fn definer(out: &mut String, schema: &str, name: &str, returns: &str, select: &str) {
    definer_branches(
        out,
        schema,
        name,
        returns,
        &[(String::new(), select.to_string())],
    );
}

/// [`definer`] choosing its query by conditions: the first branch whose
/// condition holds (the last one's is not tested; an empty one is true).
pub(super) fn definer_branches(
    out: &mut String,
    schema: &str,
    name: &str,
    returns: &str,
    branches: &[(String, String)],
) {
    let mut body = String::new();
    let last = branches.len().saturating_sub(1);
    for (i, (when, select)) in branches.iter().enumerate() {
        let _ = match (i, i == last) {
            (0, true) => writeln!(body, "  RETURN ({select});"),
            (0, false) => write!(body, "  IF {when} THEN\n    RETURN ({select});\n"),
            (_, false) => write!(body, "  ELSIF {when} THEN\n    RETURN ({select});\n"),
            (_, true) => write!(body, "  ELSE\n    RETURN ({select});\n  END IF;\n"),
        };
    }
    let _ = write!(
        out,
        "CREATE FUNCTION {schema}.{name}() RETURNS {returns}\n\
         LANGUAGE plpgsql STABLE SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $fn$\n\
         BEGIN\n{body}END\n$fn$;\n"
    );
}
