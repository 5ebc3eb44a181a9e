//! Files and folders named by the script: `lib://` libraries, the
//! `DIRECTORY` statement, relative paths, masks of `FOR EACH … FILELIST`,
//! and how a failed read is worded.

use std::path::{Path, PathBuf};

use crate::load::expr::wildcard_match;

use super::Runner;

impl Runner<'_> {
    /// A path from the script: `lib://NAME/…` through the options, absolute
    /// as is, relative from the `DIRECTORY` or the script's folder.
    pub(super) fn resolve_path(&self, path: &str) -> PathBuf {
        let trimmed = path.trim();
        if let Some(rest) = strip_prefix_ci(trimmed, "lib://") {
            let (name, tail) = match rest.find(['/', '\\']) {
                Some(i) => (rest.get(..i).unwrap_or(""), rest.get(i + 1..).unwrap_or("")),
                None => (rest, ""),
            };
            let base = self
                .opts
                .libs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.clone())
                .unwrap_or_else(|| PathBuf::from(format!("lib://{name}")));
            return join_portable(&base, tail);
        }
        let p = PathBuf::from(trimmed.replace('\\', "/"));
        if p.is_absolute() {
            return p;
        }
        let base = self
            .directory
            .clone()
            .unwrap_or_else(|| self.script_dir.clone());
        join_portable(&base, trimmed)
    }

    pub(super) fn resolve_dir(&self, p: &str) -> PathBuf {
        self.resolve_path(p)
    }

    /// Files (or folders) matching a mask with `*`/`?` in its last part.
    pub(super) fn list_files(&self, mask: &str, dirs: bool) -> Vec<String> {
        let (dir_part, pattern) = match mask.rfind(['/', '\\']) {
            Some(i) => (
                mask.get(..=i).unwrap_or(""),
                mask.get(i + 1..).unwrap_or(""),
            ),
            None => ("", mask),
        };
        let folder = self.resolve_path(if dir_part.is_empty() { "." } else { dir_part });
        let Ok(entries) = std::fs::read_dir(&folder) else {
            return Vec::new();
        };
        let mut out: Vec<String> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir() == dirs))
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| wildcard_match(pattern, n, true))
            .map(|n| format!("{dir_part}{n}"))
            .collect();
        out.sort();
        out
    }
}

/// How a failed read is worded in messages (lower case).
pub(super) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => String::from("no such file"),
        std::io::ErrorKind::PermissionDenied => String::from("permission denied"),
        _ => e.to_string().to_lowercase(),
    }
}

pub(super) fn strip_prefix_ci<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| s.get(prefix.len()..))
        .flatten()
}

/// Joins a script path (`\` or `/` separated) onto a folder.
fn join_portable(base: &Path, rel: &str) -> PathBuf {
    let mut p = base.to_path_buf();
    for part in rel.split(['/', '\\']) {
        match part {
            "" | "." => {}
            ".." => {
                p.push("..");
            }
            other => p.push(other),
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn script_paths_join_with_either_separator() {
        assert_eq!(
            join_portable(Path::new("/a"), "b\\c.csv"),
            PathBuf::from("/a/b/c.csv")
        );
    }
}
