//! JSON Web Tokens → [`Identity`], verified the way Qlik verifies them
//! (SPEC §7). Phase: identity; this module knows nothing of tables.
//!
//! [`verify`] checks a compact JWS against a [`Profile`] (`engine`, `cloud`,
//! `qseow`) and [`Keys`], with an injected clock, and reports every failed
//! check as a [`JwtError`] with a stable code. The JOSE header is parsed here,
//! not by jsonwebtoken: `alg` is compared as an exact string, so `none`,
//! `None` and `ES512` are all handled deliberately. Signatures are checked by
//! jsonwebtoken (rust_crypto backend), ES512 by the `p521` crate.
//!
//! [`mint`] signs test tokens per profile. Decoding without verification
//! exists only in [`dangerous`].
//!
//! ```
//! use section_access::jwt::{self, Keys, Profile};
//!
//! // The Qlik Core tutorial: HS256 with the secret `passw0rd`.
//! let key = jwt::SigningKey::secret("passw0rd").unwrap();
//! let claims = jwt::MintClaims::new("us-user", 1_700_000_000);
//! let token = jwt::mint(&Profile::default(), &key, &claims).unwrap();
//!
//! let keys = Keys::secret("passw0rd").unwrap();
//! let v = jwt::verify(&token, &Profile::default(), &keys, 1_700_000_000, 0);
//! assert!(v.valid);
//! assert_eq!(v.identity.unwrap().userid.unwrap().as_str(), "US-USER");
//! ```

mod alg;
pub mod dangerous;
mod error;
mod json;
mod keys;
mod mint;
mod profile;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::{Map, Value};

pub use alg::{Alg, Curve, Family};
pub use error::{JwtError, KeyError, MintError, Part};
pub use keys::{JwkKey, KeyMaterial, Keys, PublicKey, Secret};
pub use mint::{DEFAULT_LIFETIME, MintClaims, SigningKey, mint};
pub use profile::{
    CLOUD_AUDIENCE, CLOUD_MAX_LIFETIME, CloudProfile, EngineProfile, Profile, QseowProfile,
    Validate,
};

use crate::names::Identity;
use error::shorten;

/// Tokens longer than this (16 KiB) are refused before any decoding.
pub const MAX_TOKEN_LEN: usize = 16 * 1024;

/// What the signature check found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SignatureStatus {
    /// The signature verifies with the key.
    Valid,
    /// The signature was not verified: wrong, unreadable, or no usable key.
    Invalid,
    /// The token is unsigned (`alg` is exactly `none`).
    Unsigned,
}

/// The outcome of [`verify`].
///
/// Serialised (`token verify --format json`) as
/// `{"valid", "signature", "errors": [codes], "header", "claims", "identity"}`.
#[derive(Clone, Debug, PartialEq)]
pub struct Verification {
    /// True when no check failed.
    pub valid: bool,
    /// The signature check.
    pub signature: SignatureStatus,
    /// Every failed check, in the order checked.
    pub errors: Vec<JwtError>,
    /// The header, when it is a JSON object.
    pub header: Option<Value>,
    /// The claims, when the payload is a JSON object (shown even when the
    /// token is invalid; trust them only when `valid`).
    pub claims: Option<Value>,
    /// The identity, only when the token is valid.
    pub identity: Option<Identity>,
}

impl Verification {
    fn failed(error: JwtError) -> Self {
        Self {
            valid: false,
            signature: SignatureStatus::Invalid,
            errors: vec![error],
            header: None,
            claims: None,
            identity: None,
        }
    }

    /// The error codes, in order.
    pub fn codes(&self) -> Vec<String> {
        self.errors.iter().map(JwtError::code).collect()
    }
}

impl Serialize for Verification {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("Verification", 6)?;
        st.serialize_field("valid", &self.valid)?;
        st.serialize_field("signature", &self.signature)?;
        st.serialize_field("errors", &self.codes())?;
        st.serialize_field("header", &self.header)?;
        st.serialize_field("claims", &self.claims)?;
        st.serialize_field("identity", &self.identity)?;
        st.end()
    }
}

/// A token cut into its parts and decoded, nothing verified.
pub(crate) struct Decoded<'a> {
    /// `header.payload` as sent, the signing input.
    pub signing_input: &'a str,
    pub header: Map<String, Value>,
    pub payload: Result<Vec<u8>, JwtError>,
    pub signature: Result<Vec<u8>, JwtError>,
}

/// Cuts and decodes a compact JWS. The header must decode to a JSON object;
/// the payload and signature are decoded but their errors are kept for later,
/// so a signature can be checked over a payload that is not JSON.
pub(crate) fn decode(token: &str) -> Result<Decoded<'_>, JwtError> {
    if token.len() > MAX_TOKEN_LEN {
        return Err(JwtError::TooLarge {
            len: token.len(),
            limit: MAX_TOKEN_LEN,
        });
    }
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts.as_slice() else {
        return Err(JwtError::Malformed { parts: parts.len() });
    };
    let signing_input = token
        .get(..header.len() + 1 + payload.len())
        .ok_or(JwtError::Malformed { parts: 3 })?;
    let b64 = |text: &str, part: Part| {
        URL_SAFE_NO_PAD
            .decode(text)
            .map_err(|_| JwtError::BadBase64 { part })
    };
    let header = json::parse_object(&b64(header, Part::Header)?, Part::Header)?;
    Ok(Decoded {
        signing_input,
        header,
        payload: b64(payload, Part::Payload),
        signature: b64(signature, Part::Signature),
    })
}

/// Verifies `token` under `profile` with `keys` at time `now` (seconds since
/// 1970) allowing `leeway` seconds on `exp` and `nbf`.
///
/// Never panics and never fails: the answer lists every failed check.
/// The identity is set only when the token is valid.
pub fn verify(token: &str, profile: &Profile, keys: &Keys, now: i64, leeway: u64) -> Verification {
    let decoded = match decode(token) {
        Ok(d) => d,
        Err(e) => return Verification::failed(e),
    };
    let mut errors = Vec::new();
    let signature = check_header_and_signature(&decoded, profile, keys, &mut errors);

    let claims = match &decoded.payload {
        Ok(bytes) => match json::parse_object(bytes, Part::Payload) {
            Ok(map) => Some(map),
            Err(e) => {
                errors.push(e);
                None
            }
        },
        Err(e) => {
            errors.push(e.clone());
            None
        }
    };
    let clock = profile::Clock { now, leeway };
    let identity = claims
        .as_ref()
        .and_then(|c| profile::check_claims(profile, c, clock, &mut errors));
    if let Profile::Engine(EngineProfile {
        validate: Validate::NotEnforced,
    }) = profile
    {
        errors.push(JwtError::NotEnforced);
    }
    let valid = errors.is_empty();
    Verification {
        valid,
        signature,
        identity: identity.filter(|_| valid),
        errors,
        header: Some(Value::Object(decoded.header)),
        claims: claims.map(Value::Object),
    }
}

/// The header checks (`alg`, `kid`, `crit`) and the signature.
fn check_header_and_signature(
    decoded: &Decoded<'_>,
    profile: &Profile,
    keys: &Keys,
    errors: &mut Vec<JwtError>,
) -> SignatureStatus {
    let header = &decoded.header;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(k)) => Some(k.as_str()),
        Some(_) => {
            errors.push(JwtError::BadHeader {
                name: "kid",
                expected: "a string",
            });
            None
        }
    };
    if let Profile::Cloud(cloud) = profile {
        match (header.get("kid"), kid) {
            (None, _) => errors.push(JwtError::MissingHeader { name: "kid" }),
            (_, Some(k)) if k != cloud.kid => errors.push(JwtError::WrongKid {
                expected: cloud.kid.clone(),
                found: shorten(k),
            }),
            _ => {}
        }
    }
    if header.contains_key("crit") {
        errors.push(JwtError::UnsupportedCrit);
    }
    let alg = match header.get("alg") {
        None => {
            errors.push(JwtError::MissingHeader { name: "alg" });
            return SignatureStatus::Invalid;
        }
        Some(Value::String(a)) => a.as_str(),
        Some(_) => {
            errors.push(JwtError::BadHeader {
                name: "alg",
                expected: "a string",
            });
            return SignatureStatus::Invalid;
        }
    };
    if alg == "none" {
        return check_unsigned(decoded, profile, errors);
    }
    let Some(alg) = Alg::from_name(alg) else {
        errors.push(JwtError::UnknownAlg { alg: shorten(alg) });
        return SignatureStatus::Invalid;
    };
    let allowed = profile.algorithms();
    if !allowed.contains(&alg) {
        errors.push(JwtError::AlgNotAllowed {
            alg: alg.as_str().into(),
            profile: profile.describe(),
            allowed: alg::list(&allowed),
        });
        return SignatureStatus::Invalid;
    }
    let signature = match &decoded.signature {
        Ok(s) => s,
        Err(e) => {
            errors.push(e.clone());
            return SignatureStatus::Invalid;
        }
    };
    let checked = keys::select(keys, alg, kid).and_then(|key| {
        keys::check_signature(alg, decoded.signing_input.as_bytes(), signature, &key)
    });
    match checked {
        Ok(()) => SignatureStatus::Valid,
        Err(e) => {
            errors.push(e);
            SignatureStatus::Invalid
        }
    }
}

/// `alg` is exactly `none`: accepted only where the profile takes unsigned
/// tokens, and only with an empty signature part.
fn check_unsigned(
    decoded: &Decoded<'_>,
    profile: &Profile,
    errors: &mut Vec<JwtError>,
) -> SignatureStatus {
    if !profile.accepts_unsigned() {
        errors.push(JwtError::AlgNoneRejected {
            profile: profile.describe(),
        });
        return SignatureStatus::Unsigned;
    }
    match &decoded.signature {
        Ok(s) if s.is_empty() => SignatureStatus::Unsigned,
        _ => {
            errors.push(JwtError::NoneWithSignature);
            SignatureStatus::Invalid
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        URL_SAFE_NO_PAD.encode(s)
    }

    fn token(header: &str, payload: &str, sig: &str) -> String {
        format!("{}.{}.{}", b64(header), b64(payload), sig)
    }

    fn engine(level: u8) -> Profile {
        Profile::Engine(EngineProfile {
            validate: Validate::from_level(level).unwrap(),
        })
    }

    #[test]
    fn structure_errors_stop_early() {
        let v = verify("abc", &engine(2), &Keys::None, 0, 0);
        assert_eq!(v.codes(), ["malformed-token"]);
        assert_eq!(v.signature, SignatureStatus::Invalid);
        let v = verify("a.b.c.d.e", &engine(2), &Keys::None, 0, 0);
        assert_eq!(v.codes(), ["malformed-token"]);
        let v = verify("", &engine(2), &Keys::None, 0, 0);
        assert_eq!(v.codes(), ["malformed-token"]);
    }

    #[test]
    fn size_limit_is_checked_first() {
        let big = "a".repeat(MAX_TOKEN_LEN + 1);
        assert_eq!(
            verify(&big, &engine(2), &Keys::None, 0, 0).codes(),
            ["token-too-large"]
        );
        let at_limit = "a".repeat(MAX_TOKEN_LEN);
        assert_eq!(
            verify(&at_limit, &engine(2), &Keys::None, 0, 0).codes(),
            ["malformed-token"]
        );
    }

    #[test]
    fn unsigned_tokens_only_in_mode_1() {
        let t = token(r#"{"alg":"none"}"#, r#"{"sub":"jdoe"}"#, "");
        let v = verify(&t, &engine(1), &Keys::None, 0, 0);
        assert!(v.valid, "{:?}", v.errors);
        assert_eq!(v.signature, SignatureStatus::Unsigned);
        let v = verify(&t, &engine(2), &Keys::None, 0, 0);
        assert_eq!(v.codes(), ["alg-none-rejected"]);
        assert!(v.identity.is_none());
        let v = verify(&t, &engine(0), &Keys::None, 0, 0);
        assert_eq!(v.codes(), ["validation-not-enforced"]);
    }

    #[test]
    fn none_with_a_signature_is_refused() {
        let t = token(r#"{"alg":"none"}"#, r#"{"sub":"jdoe"}"#, "AAAA");
        let v = verify(&t, &engine(1), &Keys::None, 0, 0);
        assert_eq!(v.codes(), ["none-with-signature"]);
        assert_eq!(v.signature, SignatureStatus::Invalid);
    }

    #[test]
    fn case_variants_of_none_are_unknown() {
        for alg in ["None", "NONE", "nOnE", "none "] {
            let t = token(&format!(r#"{{"alg":"{alg}"}}"#), r#"{"sub":"x"}"#, "");
            let v = verify(&t, &engine(1), &Keys::None, 0, 0);
            assert_eq!(v.codes(), ["unknown-alg"], "{alg}");
            assert!(!v.valid);
        }
    }

    #[test]
    fn header_shape_errors() {
        let t = token(r#"{"typ":"JWT"}"#, r#"{"sub":"x"}"#, "");
        assert_eq!(
            verify(&t, &engine(1), &Keys::None, 0, 0).codes(),
            ["missing-header:alg"]
        );
        let t = token(r#"{"alg":256}"#, r#"{"sub":"x"}"#, "");
        assert_eq!(
            verify(&t, &engine(1), &Keys::None, 0, 0).codes(),
            ["bad-header:alg"]
        );
        let t = token(r#"["HS256"]"#, r#"{"sub":"x"}"#, "");
        assert_eq!(
            verify(&t, &engine(1), &Keys::None, 0, 0).codes(),
            ["header-not-object"]
        );
        let t = token(r#"{"alg":"none","crit":["exp"]}"#, r#"{"sub":"x"}"#, "");
        assert_eq!(
            verify(&t, &engine(1), &Keys::None, 0, 0).codes(),
            ["unsupported-crit"]
        );
        let t = token(r#"{"alg":"HS256","alg":"none"}"#, r#"{"sub":"x"}"#, "");
        assert_eq!(
            verify(&t, &engine(1), &Keys::None, 0, 0).codes(),
            ["duplicate-member"]
        );
    }

    #[test]
    fn padded_base64_is_refused() {
        let header = format!("{}=", b64(r#"{"alg":"none"}"#));
        let t = format!("{header}.{}.", b64(r#"{"sub":"x"}"#));
        assert_eq!(
            verify(&t, &engine(1), &Keys::None, 0, 0).codes(),
            ["bad-base64"]
        );
        let t = format!("{}.{}=.", b64(r#"{"alg":"none"}"#), b64(r#"{"sub":"xy"}"#));
        assert_eq!(
            verify(&t, &engine(1), &Keys::None, 0, 0).codes(),
            ["bad-base64"]
        );
        // Standard alphabet (`+`, `/`) is not base64url.
        let t = format!("{}.{}.", b64(r#"{"alg":"none"}"#), "a+b/");
        assert_eq!(
            verify(&t, &engine(1), &Keys::None, 0, 0).codes(),
            ["bad-base64"]
        );
    }

    #[test]
    fn signed_token_without_key() {
        let t = token(r#"{"alg":"HS256"}"#, r#"{"sub":"x"}"#, "AAAA");
        let v = verify(&t, &engine(2), &Keys::None, 0, 0);
        assert_eq!(v.codes(), ["missing-key"]);
    }
}
