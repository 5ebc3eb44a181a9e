//! The row limit with its default (half the machine's memory): a cartesian
//! JOIN of two large generated tables is refused before it is built, with
//! the tables, the reason and the row count it would make.

use crate::common::{run, text};

#[test]
fn a_cartesian_join_of_large_tables_is_refused_at_the_default_limit() {
    let out = run(&[
        "check",
        "fixtures/scripts/run-errors/join-cartesian-past-limit/script.qvs",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("load::too-large"), "{err}");
    assert!(err.contains("into `A` (100000 rows)"), "{err}");
    assert!(err.contains("would make 10000000000 rows"), "{err}");
    assert!(
        err.contains("no common field: a cartesian product"),
        "{err}"
    );
    assert!(err.contains("half this machine's memory"), "{err}");
}

#[test]
fn max_rows_sets_the_limit() {
    let out = run(&[
        "check",
        "--max-rows",
        "3",
        "fixtures/scripts/run/load-while/script.qvs",
    ]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("`--max-rows 3`"), "{err}");
}
