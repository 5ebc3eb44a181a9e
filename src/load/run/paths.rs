//! Files and folders named by the script: `lib://` libraries, the
//! `DIRECTORY` statement, relative paths, masks of `FOR EACH … FILELIST`,
//! and how a failed read is worded.

use std::path::{Component, Path, PathBuf};

use crate::load::error::{Fail, LoadErrorKind};
use crate::load::expr::wildcard_match;
use crate::script::source::Span;

use super::{R, Runner};

impl Runner<'_> {
    /// A path from the script made local: the longest `--map-path` prefix
    /// it starts with, else `lib://NAME/…` through `--lib`, else absolute
    /// as is, else relative from the `DIRECTORY` or the script's folder. A
    /// server path (`C:\…`, `\\server\share\…`) or a library that no
    /// option maps stays as written (no file has that name here; see
    /// [`Runner::locate_file`]).
    pub(super) fn resolve_path(&self, path: &str) -> PathBuf {
        let trimmed = path.trim();
        if let Some((dir, rest)) = map_prefix(&self.opts.map_paths, trimmed) {
            return join_portable(dir, rest);
        }
        if let Some(rest) = strip_prefix_ci(trimmed, "lib://") {
            let (name, tail) = rest.split_once(['/', '\\']).unwrap_or((rest, ""));
            return match self
                .opts
                .libs
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
            {
                Some((_, dir)) => join_portable(dir, tail),
                None => PathBuf::from(trimmed),
            };
        }
        if server_root(trimmed).is_some() {
            return PathBuf::from(trimmed);
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

    /// The local file a script path names, for reading ([`Runner::resolve_path`]).
    /// When no file has that exact name but one differs from it only in
    /// case, that one is used, as Windows would, and a note says so.
    /// `Ok(None)`: the file is missing and `--allow-unsupported` skips it.
    pub(super) fn locate_file(&mut self, path: &str, span: Span) -> R<Option<PathBuf>> {
        let full = self.find_file(path, span);
        if full.exists() {
            return Ok(Some(full));
        }
        let help = self.where_to_map(path, &full);
        self.missing(format!("cannot read `{path}`: no such file"), span, help)
            .map(|()| None)
    }

    /// A file that is not there: an error at `span`, or with
    /// `--allow-unsupported` a warning, the load skipped and the result
    /// marked approximate (`Ok`).
    pub(super) fn missing(&mut self, message: String, span: Span, help: String) -> R<()> {
        if self.opts.allow_unsupported {
            self.app.approximate = true;
            self.warn(
                "missing-file-skipped",
                format!("{message}; skipped"),
                Some(span),
            );
            return Ok(());
        }
        Err(self.err(
            Fail::new(LoadErrorKind::MissingFile, span, message)
                .label("no such file")
                .help(help),
        ))
    }

    /// [`Runner::resolve_path`]: the file `STORE` kept for that path in
    /// this run, or the file there, or when no file has that exact name
    /// but one differs from it only in case, that one, with a note.
    pub(super) fn find_file(&mut self, path: &str, span: Span) -> PathBuf {
        let (file, by_case) = self.local_file(path);
        if by_case {
            self.warn(
                "file-case",
                format!(
                    "`{path}` found as `{}`: the names differ only in case, which Windows ignores",
                    file.display()
                ),
                Some(span),
            );
        }
        file
    }

    /// [`Runner::find_file`] without the note: the file, and whether it
    /// was found by a name differing in case.
    pub(super) fn local_file(&self, path: &str) -> (PathBuf, bool) {
        let full = self.resolve_path(path);
        // A file stored earlier in this run (not written where it says).
        if let Some(stored) = self.overlay.get(&full) {
            return (stored.to_path_buf(), false);
        }
        if full.exists() {
            return (full, false);
        }
        match find_ignoring_case(&full) {
            Some(found) => (found, true),
            None => (full, false),
        }
    }

    /// The help of a missing file: the option that maps its path, and
    /// where it was looked for.
    pub(super) fn where_to_map(&self, path: &str, full: &Path) -> String {
        let trimmed = path.trim();
        if map_prefix(&self.opts.map_paths, trimmed).is_some() {
            return format!("looked for `{}` (mapped by `--map-path`)", full.display());
        }
        if let Some(rest) = strip_prefix_ci(trimmed, "lib://") {
            let name = rest.split(['/', '\\']).next().unwrap_or(rest);
            if !self.opts.libs.keys().any(|k| k.eq_ignore_ascii_case(name)) {
                return format!("map the library with `--lib '{name}=DIR'`");
            }
        } else if let Some(root) = server_root(trimmed) {
            return format!("map this server path with `--map-path '{root}=DIR'`");
        }
        format!("looked for `{}`", full.display())
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

/// The root of a Windows server path: `C:\` of `C:\Data\x.qvd`,
/// `\\server\share` of `\\server\share\x.qvd` (either slash); `None` for
/// any other path.
pub(super) fn server_root(path: &str) -> Option<String> {
    let b = path.as_bytes();
    if let [d, b':', sep, ..] = b
        && d.is_ascii_alphabetic()
        && matches!(sep, b'\\' | b'/')
    {
        return Some(format!("{}:\\", char::from(*d)));
    }
    let rest = path
        .strip_prefix("\\\\")
        .or_else(|| path.strip_prefix("//"))?;
    let mut parts = rest.split(['\\', '/']);
    let (server, share) = (parts.next()?, parts.next()?);
    (!server.is_empty() && !share.is_empty()).then(|| format!("\\\\{server}\\{share}"))
}

/// The folder of the longest `--map-path` prefix `path` starts with (by
/// whole parts, case-insensitively, `\` and `/` alike), with the rest of
/// the path.
fn map_prefix<'p>(maps: &'p [(String, PathBuf)], path: &'p str) -> Option<(&'p Path, &'p str)> {
    maps.iter()
        .filter_map(|(prefix, dir)| {
            let rest = strip_path_prefix(path, prefix)?;
            Some((prefix.len(), dir.as_path(), rest))
        })
        .max_by_key(|&(len, _, _)| len)
        .map(|(_, dir, rest)| (dir, rest))
}

/// `path` without `prefix`, compared case-insensitively with `\` and `/`
/// alike, when the prefix ends where a part of the path does.
fn strip_path_prefix<'p>(path: &'p str, prefix: &str) -> Option<&'p str> {
    let prefix = prefix.trim_end_matches(['\\', '/']);
    let same = |a: char, b: char| {
        let slash = |c: char| c == '\\' || c == '/';
        (slash(a) && slash(b)) || a.to_lowercase().eq(b.to_lowercase())
    };
    let mut chars = path.char_indices();
    for want in prefix.chars() {
        let (_, got) = chars.next()?;
        if !same(got, want) {
            return None;
        }
    }
    let rest = chars.as_str();
    match rest.chars().next() {
        None => Some(rest),
        Some('\\' | '/') => rest.get(1..),
        Some(_) => None,
    }
}

/// A file whose path differs from `path` only in the case of its names,
/// each part looked up in its folder (the first such name in sorted order
/// when several differ only in case); `None` when there is none.
fn find_ignoring_case(path: &Path) -> Option<PathBuf> {
    let mut found = PathBuf::new();
    for part in path.components() {
        let Component::Normal(name) = part else {
            found.push(part.as_os_str());
            continue;
        };
        let exact = found.join(name);
        if exact.exists() {
            found = exact;
            continue;
        }
        let want = name.to_str()?.to_lowercase();
        let folder = if found.as_os_str().is_empty() {
            Path::new(".")
        } else {
            found.as_path()
        };
        let mut matches: Vec<String> = std::fs::read_dir(folder)
            .ok()?
            .filter_map(Result::ok)
            .filter_map(|e| e.file_name().into_string().ok())
            .filter(|n| n.to_lowercase() == want)
            .collect();
        matches.sort();
        found.push(matches.first()?);
    }
    found.exists().then_some(found)
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
    fn server_roots_are_drives_and_shares() {
        assert_eq!(server_root("C:\\Data\\x.qvd").as_deref(), Some("C:\\"));
        assert_eq!(server_root("d:/x.qvd").as_deref(), Some("d:\\"));
        assert_eq!(
            server_root("\\\\srv\\share\\x.qvd").as_deref(),
            Some("\\\\srv\\share")
        );
        assert_eq!(
            server_root("//srv/share/x").as_deref(),
            Some("\\\\srv\\share")
        );
        for local in [
            "data/x.csv",
            "/abs/x.csv",
            "lib://A/x",
            "C:x.csv",
            "\\\\srv",
        ] {
            assert_eq!(server_root(local), None, "{local}");
        }
    }

    #[test]
    fn prefixes_match_whole_parts_either_slash_any_case() {
        assert_eq!(
            strip_path_prefix("C:\\Data\\a.csv", "c:/data"),
            Some("a.csv")
        );
        assert_eq!(
            strip_path_prefix("C:/DATA/Sub/a.csv", "C:\\Data\\"),
            Some("Sub/a.csv")
        );
        assert_eq!(strip_path_prefix("C:\\Data", "C:\\Data"), Some(""));
        assert_eq!(strip_path_prefix("C:\\Database\\a.csv", "C:\\Data"), None);
        assert_eq!(strip_path_prefix("C:\\", "C:\\Data"), None);
        let maps = vec![
            (String::from("C:\\Data"), PathBuf::from("/d")),
            (String::from("C:\\Data\\Sales"), PathBuf::from("/s")),
        ];
        assert_eq!(
            map_prefix(&maps, "c:\\data\\sales\\x.csv"),
            Some((Path::new("/s"), "x.csv"))
        );
        assert_eq!(
            map_prefix(&maps, "C:\\Data\\x.csv"),
            Some((Path::new("/d"), "x.csv"))
        );
        assert_eq!(map_prefix(&maps, "D:\\Data\\x.csv"), None);
    }

    #[test]
    fn a_name_differing_only_in_case_is_found() {
        let dir = std::env::temp_dir().join(format!("sa-case-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("Data")).unwrap();
        std::fs::write(dir.join("Data").join("Orders.csv"), "A\n").unwrap();
        assert_eq!(
            find_ignoring_case(&dir.join("data").join("ORDERS.CSV")),
            Some(dir.join("Data").join("Orders.csv"))
        );
        assert_eq!(
            find_ignoring_case(&dir.join("data").join("other.csv")),
            None
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn script_paths_join_with_either_separator() {
        assert_eq!(
            join_portable(Path::new("/a"), "b\\c.csv"),
            PathBuf::from("/a/b/c.csv")
        );
    }
}
