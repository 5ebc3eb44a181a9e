//! The codes of findings ([`FindingCode`]): one variant per finding the
//! audit makes, plus the warnings of the script run it passes on.

use std::fmt;

use serde::Serialize;

/// What a [`super::Finding`] is about: a stable kebab-case code, in text
/// and JSON exactly its [`FindingCode::as_str`]. Each code of the audit's
/// own has a fixture in `fixtures/findings/<code>/`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum FindingCode {
    /// `no-section-access`: the script has no section access, so every
    /// identity sees all data (info).
    NoSectionAccess,
    /// `lowercase-security-value`: an identity column or `ACCESS` holds
    /// lower-case values that came from a file, `RESIDENT` or a database;
    /// Qlik upper-cases only INLINE values there, so those rows never match
    /// (error).
    LowercaseSecurityValue,
    /// `blank-identity-cell`: a blank identity cell matches nobody, so its
    /// row grants nothing (error).
    BlankIdentityCell,
    /// `legacy-field-value`: a legacy QlikView column (`NTDOMAINSID`,
    /// `NTSID`, `SERIAL`, `PASSWORD`) holds values other than `*`, which
    /// cannot be checked offline and never match here (info).
    LegacyFieldValue,
    /// `invalid-access-value`: `ACCESS` values other than `ADMIN` or `USER`;
    /// their rows grant nothing (error).
    InvalidAccessValue,
    /// `unmatched-security-field`: a security field names no application
    /// field, so it reduces nothing (error).
    UnmatchedSecurityField,
    /// `lowercase-data-value`: data values of a reduction field with
    /// lower-case letters that no security value equals: their rows are
    /// reachable by no USER (warning).
    LowercaseDataValue,
    /// `star-misses-data-values`: `*` in a reduction field means every value
    /// the security tables list, and some data values are listed nowhere:
    /// nobody with `*` sees them (warning).
    StarMissesDataValues,
    /// `omit-unknown-field`: an `OMIT` value names no application field, so
    /// it hides nothing (error).
    OmitUnknownField,
    /// `omit-key-field`: `OMIT` hides a key field, so the tables it links
    /// look unrelated to the user (warning).
    OmitKeyField,
    /// `duplicate-security-row`: a security table repeats rows; they change
    /// nothing but hide what the table means (info).
    DuplicateSecurityRow,
    /// `no-scheduler-admin`: no `ADMIN` row matches
    /// `INTERNAL\SA_SCHEDULER`, so scheduled reloads fail on Qlik Sense
    /// Enterprise on Windows (warning).
    NoSchedulerAdmin,
    /// `strict-exclusion-denied`: identities denied because a reduction
    /// field matches none of their values in the data (warning).
    StrictExclusionDenied,
    /// `reduced-to-nothing-denied`: identities denied because their
    /// reduction leaves a reduced table without rows (warning).
    ReducedToNothingDenied,
    /// `cross-product`: identities see combinations of reduction values that
    /// no single security row grants them (SPEC §5.5) (warning).
    CrossProduct,
    /// `admin-reduced`: `ADMIN` identities whose rows still reduce the data:
    /// ADMIN does not mean all data (warning).
    AdminReduced,
    /// `unreachable-data-rows`: rows of an application table that no
    /// audited identity sees (info).
    UnreachableDataRows,
    /// A warning of the script run, passed on as a finding under the run's
    /// own code: the loader's ([`crate::load::Warning`], e.g.
    /// `ragged-inline-row`, `unsupported-skipped`) or the parser's
    /// ([`crate::script::ParseWarning`], e.g. `script::unknown-statement`).
    /// Those modules own these codes (warning).
    Run(&'static str),
}

impl FindingCode {
    /// Every code of the audit's own, in declaration order (not
    /// [`FindingCode::Run`], whose codes the run owns).
    pub const AUDIT: [FindingCode; 17] = [
        FindingCode::NoSectionAccess,
        FindingCode::LowercaseSecurityValue,
        FindingCode::BlankIdentityCell,
        FindingCode::LegacyFieldValue,
        FindingCode::InvalidAccessValue,
        FindingCode::UnmatchedSecurityField,
        FindingCode::LowercaseDataValue,
        FindingCode::StarMissesDataValues,
        FindingCode::OmitUnknownField,
        FindingCode::OmitKeyField,
        FindingCode::DuplicateSecurityRow,
        FindingCode::NoSchedulerAdmin,
        FindingCode::StrictExclusionDenied,
        FindingCode::ReducedToNothingDenied,
        FindingCode::CrossProduct,
        FindingCode::AdminReduced,
        FindingCode::UnreachableDataRows,
    ];

    /// What the code means, in one sentence (the rule's description in
    /// SARIF and `docs/findings.md`).
    pub fn summary(self) -> &'static str {
        match self {
            FindingCode::NoSectionAccess => {
                "The script has no section access, so every identity sees all data."
            }
            FindingCode::LowercaseSecurityValue => {
                "An identity column or ACCESS holds lower-case values from a file, RESIDENT or a database; Qlik upper-cases only INLINE values there, so those rows never match."
            }
            FindingCode::BlankIdentityCell => {
                "A blank identity cell matches nobody, so its row grants nothing."
            }
            FindingCode::LegacyFieldValue => {
                "A legacy QlikView column (NTDOMAINSID, NTSID, SERIAL, PASSWORD) holds values other than *, which cannot be checked offline and never match here."
            }
            FindingCode::InvalidAccessValue => {
                "ACCESS holds values other than ADMIN or USER; their rows grant nothing."
            }
            FindingCode::UnmatchedSecurityField => {
                "A security field names no application field, so it reduces nothing."
            }
            FindingCode::LowercaseDataValue => {
                "Data values of a reduction field have lower-case letters that no security value equals: their rows are reachable by no USER."
            }
            FindingCode::StarMissesDataValues => {
                "* in a reduction field means every value the security tables list, and some data values are listed nowhere: nobody with * sees them."
            }
            FindingCode::OmitUnknownField => {
                "An OMIT value names no application field, so it hides nothing."
            }
            FindingCode::OmitKeyField => {
                "OMIT hides a key field, so the tables it links look unrelated to the user."
            }
            FindingCode::DuplicateSecurityRow => {
                "A security table repeats rows; they change nothing but hide what the table means."
            }
            FindingCode::NoSchedulerAdmin => {
                "No ADMIN row matches INTERNAL\\SA_SCHEDULER, so scheduled reloads fail on Qlik Sense Enterprise on Windows."
            }
            FindingCode::StrictExclusionDenied => {
                "Identities are denied because a reduction field matches none of their values in the data (strict exclusion)."
            }
            FindingCode::ReducedToNothingDenied => {
                "Identities are denied because their reduction leaves a reduced table without rows."
            }
            FindingCode::CrossProduct => {
                "Identities see combinations of reduction values that no single security row grants them."
            }
            FindingCode::AdminReduced => {
                "ADMIN identities whose rows still reduce the data: ADMIN does not mean all data."
            }
            FindingCode::UnreachableDataRows => {
                "Rows of an application table that no audited identity sees."
            }
            FindingCode::Run(_) => {
                "A warning of the script run (the loader or the parser), passed on as a finding."
            }
        }
    }

    /// The stable code, as in text and JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            FindingCode::NoSectionAccess => "no-section-access",
            FindingCode::LowercaseSecurityValue => "lowercase-security-value",
            FindingCode::BlankIdentityCell => "blank-identity-cell",
            FindingCode::LegacyFieldValue => "legacy-field-value",
            FindingCode::InvalidAccessValue => "invalid-access-value",
            FindingCode::UnmatchedSecurityField => "unmatched-security-field",
            FindingCode::LowercaseDataValue => "lowercase-data-value",
            FindingCode::StarMissesDataValues => "star-misses-data-values",
            FindingCode::OmitUnknownField => "omit-unknown-field",
            FindingCode::OmitKeyField => "omit-key-field",
            FindingCode::DuplicateSecurityRow => "duplicate-security-row",
            FindingCode::NoSchedulerAdmin => "no-scheduler-admin",
            FindingCode::StrictExclusionDenied => "strict-exclusion-denied",
            FindingCode::ReducedToNothingDenied => "reduced-to-nothing-denied",
            FindingCode::CrossProduct => "cross-product",
            FindingCode::AdminReduced => "admin-reduced",
            FindingCode::UnreachableDataRows => "unreachable-data-rows",
            FindingCode::Run(code) => code,
        }
    }
}

impl fmt::Display for FindingCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for FindingCode {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_distinct_kebab_case_and_serialize_as_their_text() {
        let mut seen = std::collections::HashSet::new();
        for code in FindingCode::AUDIT {
            let s = code.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(
                s.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{s}"
            );
            assert_eq!(code.to_string(), s);
            assert_eq!(serde_json::to_string(&code).unwrap(), format!("\"{s}\""));
        }
        let run = FindingCode::Run("ragged-inline-row");
        assert_eq!(
            serde_json::to_string(&run).unwrap(),
            "\"ragged-inline-row\""
        );
    }
}
