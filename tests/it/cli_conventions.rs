//! The conventions of command-line tools: `--version` with the build's
//! commit, shell completions, a manual page.

use crate::common::{run, stdout};

#[test]
fn version_names_the_package_version_and_the_commit() {
    let o = run(&["--version"]);
    assert!(o.status.success());
    let text = stdout(&o);
    let want = format!("section-access {} (commit ", env!("CARGO_PKG_VERSION"));
    assert!(text.starts_with(&want), "{text}");
    let commit = text
        .trim_end()
        .trim_start_matches(&want)
        .trim_end_matches(')');
    assert!(
        commit == "unknown"
            || (commit.len() == 12 && commit.bytes().all(|b| b.is_ascii_hexdigit())),
        "{text}"
    );
}

#[test]
fn completions_for_every_shell_name_the_commands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let o = run(&["completions", shell]);
        assert!(o.status.success(), "{shell}");
        let text = stdout(&o);
        for word in ["section-access", "preview", "audit", "verify", "user"] {
            assert!(text.contains(word), "{shell}: no `{word}`");
        }
    }
    let o = run(&["completions", "tcsh"]);
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn the_manual_page_is_roff_listing_the_commands() {
    let o = run(&["man"]);
    assert!(o.status.success());
    let text = stdout(&o);
    assert!(
        text.starts_with(".ie") || text.contains(".TH section-access"),
        "{}",
        &text[..200.min(text.len())]
    );
    for word in ["preview", "audit", "export", "verify", "completions"] {
        assert!(text.contains(word), "no `{word}`");
    }
}
