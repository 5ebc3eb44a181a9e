//! Why a token, a key or a mint request was refused.
//!
//! Every failed check is one [`JwtError`] variant with a stable kebab-case
//! [`code`](JwtError::code): scripts match on the code, people read the message
//! and the help. No message ever holds a secret or a whole token; values taken
//! from a token are shortened before they are shown.

use std::fmt;

use miette::Diagnostic;
use thiserror::Error;

/// The three dot-separated parts of a compact JWS.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    /// The JOSE header (first part).
    Header,
    /// The payload, normally the claims (second part).
    Payload,
    /// The signature (third part).
    Signature,
}

impl Part {
    /// The part's name in messages and codes.
    pub fn as_str(self) -> &'static str {
        match self {
            Part::Header => "header",
            Part::Payload => "payload",
            Part::Signature => "signature",
        }
    }
}

impl fmt::Display for Part {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One failed check of a token; a [`Verification`](super::Verification) lists
/// every check that failed.
#[derive(Clone, Debug, PartialEq, Error)]
#[non_exhaustive]
pub enum JwtError {
    /// The token is longer than [`MAX_TOKEN_LEN`](super::MAX_TOKEN_LEN).
    #[error("the token is {len} bytes long, more than the {limit} accepted")]
    TooLarge {
        /// Length of the token in bytes.
        len: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The token is not `header.payload.signature`.
    #[error("the token has {parts} dot-separated part(s), a signed JWT has 3")]
    Malformed {
        /// How many parts were found.
        parts: usize,
    },
    /// A part is not unpadded base64url.
    #[error("the {part} is not unpadded base64url")]
    BadBase64 {
        /// Which part.
        part: Part,
    },
    /// A part is not JSON (or not UTF-8).
    #[error("the {part} is not JSON")]
    NotJson {
        /// Which part.
        part: Part,
    },
    /// A part is JSON but not an object.
    #[error("the {part} is JSON but not an object")]
    NotObject {
        /// Which part.
        part: Part,
    },
    /// A JSON object has the same member twice.
    #[error("the {part} has member `{name}` more than once")]
    DuplicateMember {
        /// Which part.
        part: Part,
        /// The repeated member (shortened).
        name: String,
    },
    /// A header parameter the profile needs is absent.
    #[error("the header has no `{name}`")]
    MissingHeader {
        /// Header parameter name.
        name: &'static str,
    },
    /// A header parameter has the wrong JSON type.
    #[error("header parameter `{name}` must be {expected}")]
    BadHeader {
        /// Header parameter name.
        name: &'static str,
        /// What it must be.
        expected: &'static str,
    },
    /// The header asks for extensions (`crit`) this verifier does not implement.
    #[error("the header lists critical extensions (`crit`) that are not supported")]
    UnsupportedCrit,
    /// `alg` names no algorithm this verifier knows (compared case-sensitively).
    #[error("unknown algorithm `{alg}`")]
    UnknownAlg {
        /// The `alg` value (shortened).
        alg: String,
    },
    /// `alg` is `none` where unsigned tokens are not accepted.
    #[error("unsigned token (`alg` is `none`) refused by the {profile} profile")]
    AlgNoneRejected {
        /// The profile's description.
        profile: String,
    },
    /// `alg` is `none` but a signature is present.
    #[error("`alg` is `none` but the signature part is not empty")]
    NoneWithSignature,
    /// The algorithm is known but the profile does not accept it.
    #[error("algorithm `{alg}` is not accepted by the {profile} profile (accepted: {allowed})")]
    AlgNotAllowed {
        /// The token's algorithm.
        alg: String,
        /// The profile's description.
        profile: String,
        /// The accepted algorithms, comma-separated.
        allowed: String,
    },
    /// No key was given to check a signed token.
    #[error("no key to check the `{alg}` signature")]
    MissingKey {
        /// The token's algorithm.
        alg: String,
    },
    /// An HMAC algorithm was asked for while the key is a public key.
    #[error("`{alg}` needs a shared secret but the key is {key}")]
    AlgConfusion {
        /// The token's algorithm.
        alg: String,
        /// The key's description.
        key: String,
    },
    /// The key cannot check this algorithm (RSA key for ES256, P-384 key for
    /// ES256, secret for RS256, ...).
    #[error("`{alg}` cannot be checked with {key}")]
    KeyTypeMismatch {
        /// The token's algorithm.
        alg: String,
        /// The key's description.
        key: String,
    },
    /// The JWKS has no key with the token's `kid`.
    #[error("no key in the key set has kid `{kid}`")]
    UnknownKid {
        /// The token's `kid` (shortened).
        kid: String,
    },
    /// The JWKS has several keys and the token names none of them.
    #[error("the token has no `kid` and the key set holds {count} keys")]
    AmbiguousKey {
        /// Number of keys in the set.
        count: usize,
    },
    /// The header `kid` differs from the configured key id.
    #[error("header `kid` is `{found}`, expected `{expected}`")]
    WrongKid {
        /// Configured key id.
        expected: String,
        /// The token's `kid` (shortened).
        found: String,
    },
    /// An ECDSA signature is DER-encoded instead of raw `R || S`.
    #[error("the `{alg}` signature is DER-encoded, JWS needs raw R||S of {expected} bytes")]
    DerSignature {
        /// The token's algorithm.
        alg: String,
        /// Expected raw length.
        expected: usize,
    },
    /// An ECDSA signature has the wrong length.
    #[error("the `{alg}` signature is {len} bytes, expected {expected}")]
    SignatureLength {
        /// The token's algorithm.
        alg: String,
        /// Actual length.
        len: usize,
        /// Expected length.
        expected: usize,
    },
    /// The signature does not verify with the key.
    #[error("the `{alg}` signature does not verify with the given key")]
    BadSignature {
        /// The token's algorithm.
        alg: String,
    },
    /// The key could not be used for this algorithm.
    #[error("the key cannot be used for `{alg}`")]
    BadKey {
        /// The token's algorithm.
        alg: String,
    },
    /// A required claim is absent.
    #[error("the claims have no `{name}`")]
    MissingClaim {
        /// Claim name (shortened).
        name: String,
    },
    /// A claim has the wrong type or an unusable value.
    #[error("claim `{name}` must be {expected}")]
    BadClaim {
        /// Claim name (shortened).
        name: String,
        /// What it must be.
        expected: &'static str,
    },
    /// `exp` has passed (with leeway).
    #[error("the token expired at {exp} (now {now}, leeway {leeway}s)")]
    Expired {
        /// Expiry, formatted.
        exp: String,
        /// The clock, formatted.
        now: String,
        /// Leeway in seconds.
        leeway: u64,
    },
    /// `nbf` is still in the future (with leeway).
    #[error("the token is not valid before {nbf} (now {now}, leeway {leeway}s)")]
    NotYetValid {
        /// Not-before, formatted.
        nbf: String,
        /// The clock, formatted.
        now: String,
        /// Leeway in seconds.
        leeway: u64,
    },
    /// `iss` differs from the configured issuer.
    #[error("issuer is `{found}`, expected `{expected}`")]
    WrongIssuer {
        /// Configured issuer.
        expected: String,
        /// The token's issuer (shortened).
        found: String,
    },
    /// `aud` does not hold the expected audience.
    #[error("audience does not include `{expected}`")]
    WrongAudience {
        /// The audience required.
        expected: &'static str,
    },
    /// `exp - nbf` is longer than the profile allows.
    #[error("the token lives {seconds} seconds (`exp` - `nbf`), at most {limit} are accepted")]
    LifetimeTooLong {
        /// `exp - nbf`.
        seconds: i64,
        /// The limit.
        limit: i64,
    },
    /// Qlik Cloud: `subType` is not `user`.
    #[error("`subType` is `{found}`, expected `user`")]
    SubtypeNotUser {
        /// The token's `subType` (shortened).
        found: String,
    },
    /// QSEoW: a backslash inside the user id or directory.
    #[error("claim `{claim}` contains a backslash")]
    BackslashInUser {
        /// The claim's name.
        claim: String,
    },
    /// Engine with `ValidateJsonWebTokens=0`: section access cannot be opened.
    #[error("section access detected when opening an app in QlikView Personal")]
    NotEnforced,
}

impl JwtError {
    /// The stable kebab-case code of the failed check, as in `--format json`.
    pub fn code(&self) -> String {
        match self {
            JwtError::TooLarge { .. } => "token-too-large".into(),
            JwtError::Malformed { .. } => "malformed-token".into(),
            JwtError::BadBase64 { .. } => "bad-base64".into(),
            JwtError::NotJson { part } => format!("{part}-not-json"),
            JwtError::NotObject { part } => format!("{part}-not-object"),
            JwtError::DuplicateMember { .. } => "duplicate-member".into(),
            JwtError::MissingHeader { name } => format!("missing-header:{name}"),
            JwtError::BadHeader { name, .. } => format!("bad-header:{name}"),
            JwtError::UnsupportedCrit => "unsupported-crit".into(),
            JwtError::UnknownAlg { .. } => "unknown-alg".into(),
            JwtError::AlgNoneRejected { .. } => "alg-none-rejected".into(),
            JwtError::NoneWithSignature => "none-with-signature".into(),
            JwtError::AlgNotAllowed { .. } => "alg-not-allowed".into(),
            JwtError::MissingKey { .. } => "missing-key".into(),
            JwtError::AlgConfusion { .. } => "alg-confusion".into(),
            JwtError::KeyTypeMismatch { .. } => "key-type-mismatch".into(),
            JwtError::UnknownKid { .. } => "unknown-kid".into(),
            JwtError::AmbiguousKey { .. } => "ambiguous-key".into(),
            JwtError::WrongKid { .. } => "wrong-kid".into(),
            JwtError::DerSignature { .. } => "der-signature".into(),
            JwtError::SignatureLength { .. } => "signature-length".into(),
            JwtError::BadSignature { .. } => "bad-signature".into(),
            JwtError::BadKey { .. } => "bad-key".into(),
            JwtError::MissingClaim { name } => format!("missing-claim:{name}"),
            JwtError::BadClaim { name, .. } => format!("bad-claim:{name}"),
            JwtError::Expired { .. } => "expired".into(),
            JwtError::NotYetValid { .. } => "not-yet-valid".into(),
            JwtError::WrongIssuer { .. } => "wrong-issuer".into(),
            JwtError::WrongAudience { .. } => "wrong-audience".into(),
            JwtError::LifetimeTooLong { .. } => "lifetime-too-long".into(),
            JwtError::SubtypeNotUser { .. } => "subtype-not-user".into(),
            JwtError::BackslashInUser { .. } => "backslash-in-user".into(),
            JwtError::NotEnforced => "validation-not-enforced".into(),
        }
    }

    fn help_text(&self) -> String {
        match self {
            JwtError::TooLarge { .. } => {
                "tokens this large are refused before decoding; Qlik identity tokens are a few hundred bytes".into()
            }
            JwtError::Malformed { parts } if *parts == 5 => {
                "this looks like an encrypted token (JWE); Qlik accepts signed tokens (JWS) only".into()
            }
            JwtError::Malformed { .. } => {
                "a JWT is `header.payload.signature`; copy the whole token, without `Bearer ` or quotes".into()
            }
            JwtError::BadBase64 { .. } => {
                "JWT parts use the URL-safe alphabet (`-`, `_`) without `=` padding (RFC 7515 §2)".into()
            }
            JwtError::NotJson { part: Part::Payload } | JwtError::NotObject { part: Part::Payload } => {
                "the signature may still be valid, but there are no claims to map to an identity".into()
            }
            JwtError::NotJson { .. } | JwtError::NotObject { .. } => {
                "the JOSE header must be a JSON object such as {\"alg\":\"RS256\",\"typ\":\"JWT\"}".into()
            }
            JwtError::DuplicateMember { .. } => {
                "duplicate names let two parsers read different values; RFC 7515 §4 asks to reject them".into()
            }
            JwtError::MissingHeader { name: "kid" } => {
                "the Qlik Cloud identity provider matches tokens to its key by `kid`; set it when signing".into()
            }
            JwtError::MissingHeader { .. } | JwtError::BadHeader { .. } => {
                "`alg` is a string such as `RS256`, `kid` a string".into()
            }
            JwtError::UnsupportedCrit => {
                "RFC 7515 §4.1.11: a verifier must refuse critical extensions it does not understand".into()
            }
            JwtError::UnknownAlg { .. } => {
                "algorithm names are case-sensitive (RFC 7515 §4.1.1): `HS256`, `RS256`, `ES512`...; only `none` means unsigned".into()
            }
            JwtError::AlgNoneRejected { .. } => {
                "only the engine with ValidateJsonWebTokens=1 (`--validate-jwt 1`) accepts unsigned tokens".into()
            }
            JwtError::NoneWithSignature => "an unsigned token ends with a `.` and nothing after it".into(),
            JwtError::AlgNotAllowed { .. } => {
                "sign with an accepted algorithm; for Qlik Cloud other RSA algorithms need `--alg`".into()
            }
            JwtError::MissingKey { .. } => {
                "give `--secret`, `--secret-file`, `--key` (PEM public key or certificate) or `--jwks`".into()
            }
            JwtError::AlgConfusion { .. } => {
                "an HS* token checked with a public key could be forged by anyone holding that public key; the token's `alg` is not trusted".into()
            }
            JwtError::KeyTypeMismatch { .. } => {
                "HS* needs a secret, RS*/PS* an RSA key, ES256 a P-256, ES384 a P-384 and ES512 a P-521 key".into()
            }
            JwtError::UnknownKid { .. } | JwtError::AmbiguousKey { .. } => {
                "the token's `kid` header selects the key in `--jwks`".into()
            }
            JwtError::WrongKid { .. } => {
                "the key id must equal the one of the JWT identity provider (`--kid`)".into()
            }
            JwtError::DerSignature { .. } => {
                "JWS ECDSA signatures are R and S concatenated (RFC 7518 §3.4), not the DER structure `openssl dgst` writes".into()
            }
            JwtError::SignatureLength { .. } => {
                "ECDSA signatures are R||S: 64 bytes for ES256, 96 for ES384, 132 for ES512".into()
            }
            JwtError::BadSignature { .. } => {
                "the token was signed with another key, or changed after signing".into()
            }
            JwtError::BadKey { .. } => "check that the key file holds a valid public key".into(),
            JwtError::MissingClaim { .. } | JwtError::BadClaim { .. } => {
                "times (`exp`, `nbf`, `iat`) are seconds since 1970 (NumericDate); `groups` is an array of strings".into()
            }
            JwtError::Expired { .. } => {
                "RFC 7519 §4.1.4: a token is expired on and after `exp`; mint a new one or pass `--now`/`--leeway`".into()
            }
            JwtError::NotYetValid { .. } => {
                "check the clocks of the signer and the verifier, or pass `--leeway`".into()
            }
            JwtError::WrongIssuer { .. } => {
                "the issuer must equal the one of the JWT identity provider (`--issuer`)".into()
            }
            JwtError::WrongAudience { .. } => {
                "Qlik Cloud JWT sessions need `aud` = `qlik.api/login/jwt-session`".into()
            }
            JwtError::LifetimeTooLong { .. } => {
                "Qlik Cloud refuses tokens whose `exp` is more than an hour after `nbf`".into()
            }
            JwtError::SubtypeNotUser { .. } => "Qlik Cloud JWT sessions need `subType` = `user`".into(),
            JwtError::BackslashInUser { .. } => {
                "the user id becomes `DIRECTORY\\userid`; a backslash inside either part makes it ambiguous".into()
            }
            JwtError::NotEnforced => {
                "the engine only evaluates section access with -S ValidateJsonWebTokens=1 or 2 (`--validate-jwt`)".into()
            }
        }
    }
}

impl Diagnostic for JwtError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(JwtError::code(self)))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        Some(Box::new(self.help_text()))
    }
}

/// Why a key (secret, PEM, certificate, JWKS) could not be loaded.
#[derive(Clone, Debug, PartialEq, Eq, Error, Diagnostic)]
#[non_exhaustive]
pub enum KeyError {
    /// No PEM block in the text.
    #[error("no PEM block (`-----BEGIN ...-----`) found")]
    #[diagnostic(
        code(key::not_pem),
        help("give a PEM file: a public key, an RSA public key or an X.509 certificate")
    )]
    NotPem,
    /// The PEM block is not valid base64 or DER.
    #[error("the `{label}` PEM block cannot be decoded")]
    #[diagnostic(
        code(key::bad_pem),
        help("the file may be truncated or edited; export it again")
    )]
    BadPem {
        /// PEM label.
        label: String,
    },
    /// A PEM label this command does not take.
    #[error("a `{label}` PEM block is not {expected}")]
    #[diagnostic(
        code(key::wrong_pem),
        help(
            "verification takes `PUBLIC KEY`, `RSA PUBLIC KEY` or `CERTIFICATE`; minting takes `PRIVATE KEY`, `RSA PRIVATE KEY` or `EC PRIVATE KEY`"
        )
    )]
    WrongPem {
        /// PEM label found.
        label: String,
        /// What was expected.
        expected: &'static str,
    },
    /// Encrypted private keys are not supported.
    #[error("the private key is encrypted")]
    #[diagnostic(
        code(key::encrypted),
        help("decrypt it first: `openssl pkey -in key.pem -out plain.pem`")
    )]
    Encrypted,
    /// The key's algorithm is neither RSA nor EC.
    #[error("unsupported key algorithm `{oid}`")]
    #[diagnostic(
        code(key::unsupported_algorithm),
        help("Qlik accepts RSA keys and EC keys on P-256, P-384 or P-521")
    )]
    UnsupportedAlgorithm {
        /// The algorithm's OID or name.
        oid: String,
    },
    /// An EC key on another curve.
    #[error("unsupported elliptic curve `{curve}`")]
    #[diagnostic(code(key::unsupported_curve), help("use P-256, P-384 or P-521"))]
    UnsupportedCurve {
        /// The curve's OID or name.
        curve: String,
    },
    /// The key material is invalid.
    #[error("invalid {what}")]
    #[diagnostic(
        code(key::invalid),
        help("the file may be truncated or not what its label says")
    )]
    Invalid {
        /// Which kind of key.
        what: &'static str,
    },
    /// The HMAC secret is empty.
    #[error("the secret is empty")]
    #[diagnostic(
        code(key::empty_secret),
        help("give the secret the engine or identity provider uses")
    )]
    EmptySecret,
    /// The JWKS document is not usable.
    #[error("invalid JWKS: {reason}")]
    #[diagnostic(
        code(key::bad_jwks),
        help(
            "a JWKS is {{\"keys\": [{{\"kty\": \"RSA\", \"kid\": \"...\", \"n\": \"...\", \"e\": \"AQAB\"}}]}} (RFC 7517 §5)"
        )
    )]
    BadJwks {
        /// What is wrong.
        reason: String,
    },
}

/// Why a token could not be minted.
#[derive(Clone, Debug, PartialEq, Eq, Error, Diagnostic)]
#[non_exhaustive]
pub enum MintError {
    /// The profile needs a claim that was not given.
    #[error("the {profile} profile needs `{option}`")]
    #[diagnostic(code(mint::missing), help("give it on the command line"))]
    Missing {
        /// The profile's name.
        profile: &'static str,
        /// The option that is missing.
        option: &'static str,
    },
    /// The algorithm is not accepted by the profile or does not fit the key.
    #[error("cannot sign `{alg}` tokens for the {profile} profile with {key}")]
    #[diagnostic(
        code(mint::alg),
        help(
            "engine: HS*, RS*, ES*; cloud: RS256 (others with `--alg`); qseow: RS256/384/512; the key must fit the algorithm"
        )
    )]
    Alg {
        /// The algorithm asked for.
        alg: String,
        /// The profile's name.
        profile: &'static str,
        /// The key's description.
        key: String,
    },
    /// The lifetime is zero or too long for the profile.
    #[error("a lifetime of {seconds} seconds is not accepted by the {profile} profile")]
    #[diagnostic(
        code(mint::lifetime),
        help("Qlik Cloud accepts at most 3600 seconds; zero is never valid")
    )]
    Lifetime {
        /// Requested lifetime.
        seconds: u64,
        /// The profile's name.
        profile: &'static str,
    },
    /// A value contains a backslash where it would be ambiguous.
    #[error("`{option}` contains a backslash")]
    #[diagnostic(
        code(mint::backslash),
        help("QSEoW joins user id and directory as `DIRECTORY\\userid`")
    )]
    Backslash {
        /// The option.
        option: &'static str,
    },
    /// Signing failed.
    #[error("signing failed")]
    #[diagnostic(code(mint::sign), help("check that the private key is valid"))]
    Sign,
}

/// At most `max` characters of a value taken from a token, for messages.
pub(crate) fn shorten(s: &str) -> String {
    const MAX: usize = 64;
    if s.chars().count() <= MAX {
        s.to_owned()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}
