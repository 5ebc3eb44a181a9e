//! Record and replay: every result set a run receives, kept as a QVD file
//! (types, duals and NULLs as received) in a folder with `manifest.json`,
//! keyed by the connection's name and the statement's text; served back
//! with no database, so that a run without credentials gives the same
//! answer.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::load::frame::Frame;
use crate::load::store::{StoreColumn, StoreTable, qvd};

/// The manifest's file name in a recording folder.
const MANIFEST: &str = "manifest.json";

/// What the manifest says it is.
const FORMAT: &str = "section-access SQL recording, version 1";

#[derive(Debug, Default, Deserialize, Serialize)]
struct Manifest {
    format: String,
    results: Vec<Entry>,
}

/// One statement's result.
#[derive(Clone, Debug, Deserialize, Serialize)]
pub(crate) struct Entry {
    /// The connection's name as the script names it.
    pub(crate) connection: String,
    /// The statement's text as sent (after `$(…)` expansion).
    pub(crate) sql: String,
    /// The QVD file of the result, in the folder; `None` for a statement
    /// that returned no columns.
    pub(crate) file: Option<String>,
    /// The notes the values went through (see [`super::Notes`]).
    #[serde(default)]
    pub(crate) notes: Vec<String>,
}

/// True when two entries are one statement on one connection.
fn same(e: &Entry, connection: &str, sql: &str) -> bool {
    e.connection.eq_ignore_ascii_case(connection) && e.sql == sql
}

/// Records result sets into a folder.
#[derive(Debug)]
pub(crate) struct Recorder {
    dir: PathBuf,
    manifest: Manifest,
}

impl Recorder {
    /// Starts a recording in `dir` (created if missing; an earlier
    /// manifest there is replaced).
    pub(crate) fn new(dir: &Path) -> std::io::Result<Self> {
        std::fs::create_dir_all(dir)?;
        let r = Self {
            dir: dir.to_path_buf(),
            manifest: Manifest {
                format: FORMAT.to_string(),
                results: Vec::new(),
            },
        };
        r.save()?;
        Ok(r)
    }

    /// Keeps the result of `sql` on `connection` (`None`: no columns), once
    /// per statement.
    pub(crate) fn put(
        &mut self,
        connection: &str,
        sql: &str,
        frame: Option<&Frame>,
        notes: Vec<String>,
    ) -> std::io::Result<()> {
        if self
            .manifest
            .results
            .iter()
            .any(|e| same(e, connection, sql))
        {
            return Ok(());
        }
        let file = match frame {
            None => None,
            Some(frame) => {
                let name = format!("{:04}.qvd", self.manifest.results.len() + 1);
                let table = StoreTable {
                    name: "SQL",
                    columns: frame
                        .names
                        .iter()
                        .zip(&frame.cols)
                        .map(|(name, c)| StoreColumn {
                            name,
                            ids: &c.ids,
                            symbols: &c.syms,
                        })
                        .collect(),
                    rows: frame.rows,
                    lineage: vec![format!("{connection}: SQL {sql};")],
                    created: String::from("1970-01-01 00:00:00"),
                };
                let written = qvd(&table).map_err(|bug| std::io::Error::other(bug.what()))?;
                crate::atomic::write(&self.dir.join(&name), &written.bytes)?;
                Some(name)
            }
        };
        self.manifest.results.push(Entry {
            connection: connection.to_string(),
            sql: sql.to_string(),
            file,
            notes,
        });
        self.save()
    }

    fn save(&self) -> std::io::Result<()> {
        let text = serde_json::to_string_pretty(&self.manifest).map_err(std::io::Error::other)?;
        crate::atomic::write(&self.dir.join(MANIFEST), (text + "\n").as_bytes())
    }
}

/// A recording read back.
#[derive(Debug)]
pub(crate) struct Replay {
    dir: PathBuf,
    manifest: Manifest,
}

impl Replay {
    /// Reads the recording in `dir`; the error says what is wrong.
    pub(crate) fn open(dir: &Path) -> Result<Self, String> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| format!("cannot read `{}`: {e}", path.display()))?;
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| format!("`{}` is no recording: {e}", path.display()))?;
        if manifest.format != FORMAT {
            return Err(format!(
                "`{}` is a recording of another format (`{}`)",
                path.display(),
                manifest.format
            ));
        }
        Ok(Self {
            dir: dir.to_path_buf(),
            manifest,
        })
    }

    /// The recorded result of `sql` on `connection`, and the QVD file
    /// holding it.
    pub(crate) fn get(&self, connection: &str, sql: &str) -> Option<(&Entry, Option<PathBuf>)> {
        self.manifest
            .results
            .iter()
            .find(|e| same(e, connection, sql))
            .map(|e| (e, e.file.as_ref().map(|f| self.dir.join(f))))
    }

    /// How many statements the recording holds for `connection`.
    pub(crate) fn count(&self, connection: &str) -> usize {
        self.manifest
            .results
            .iter()
            .filter(|e| e.connection.eq_ignore_ascii_case(connection))
            .count()
    }
}
