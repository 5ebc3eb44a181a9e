//! Unit tests of the audit on hand-built apps.
