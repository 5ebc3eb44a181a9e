//! The integration tests, in one binary so that a change relinks one test
//! executable, not twenty. Each module is one subject; `common` holds what
//! they share (the binary, the repository root, `../shared` when present).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic,
    reason = "tests: a failed unwrap is a failed test"
)]

mod common;

mod access_fixtures;
mod audit_sql;
mod cli_audit;
mod cli_check;
mod cli_conventions;
mod cli_interrupt;
mod cli_preview;
#[cfg(feature = "serve")]
mod cli_serve;
mod corpus;
mod duckdb_crosscheck;
mod excel;
mod exists_prop;
#[cfg(all(feature = "postgres", feature = "sqlite"))]
mod export;
mod findings_fixtures;
mod jwt;
mod jwt_props;
mod limits;
mod parse_fixtures;
#[cfg(all(feature = "postgres", feature = "sqlite"))]
mod pg_server;
mod props;
mod qvd;
mod random_app;
mod reduce_prop;
mod run_apps;
mod run_fixtures;
#[cfg(feature = "serve")]
mod serve_api;
#[cfg(feature = "serve")]
mod serve_browser;
#[cfg(feature = "serve")]
mod serve_load;
#[cfg(all(feature = "postgres", feature = "sqlite"))]
mod sql;
mod store;
mod symbols_prop;
mod threads;
mod who;
