//! Evaluate Qlik Section Access offline.
//!
//! The crate runs a Qlik load script (security tables and application data),
//! takes an identity — typed in, or from a JSON Web Token verified the way Qlik
//! verifies it — and computes what that identity sees.
//!
//! Phases, one module each: [`script`] parses text into an AST, [`load`] runs
//! it into a [`model`], [`access`] decides who gets in with which reduction,
//! [`reduce`] applies that to the data, [`jwt`] turns tokens into identities.
//! With the default feature `serve`, `serve` is the local preview server.

pub mod access;
pub mod atomic;
pub mod audit;
pub mod bug;
pub mod export;
pub mod jwt;
mod lists;
pub mod load;
pub mod model;
pub mod names;
mod pieces;
pub mod reduce;
pub mod script;
pub mod secrets;
#[cfg(feature = "serve")]
pub mod serve;
#[cfg(test)]
mod test_support;

pub use names::{Email, FieldName, GroupName, Identity, TableName, UserId};

/// The README's Rust examples, compiled and run as doctests.
#[doc = include_str!("../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;
