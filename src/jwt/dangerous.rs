//! Decoding a token WITHOUT verifying it, for `token inspect`.
//!
//! Nothing here may decide access: anyone can write any claims into an
//! unverified token. Use [`verify`](super::verify) for identities.

use serde::Serialize;
use serde_json::Value;

use super::error::{JwtError, Part};
use super::json;

/// A token's parts as written by whoever made it; not verified.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Unverified {
    /// The JOSE header.
    pub header: Value,
    /// The claims, when the payload is a JSON object.
    pub claims: Option<Value>,
    /// The payload as text, when it is UTF-8 but not a JSON object.
    pub payload_text: Option<String>,
    /// Why the payload could not be read as claims, if it could not.
    #[serde(serialize_with = "code")]
    pub payload_error: Option<JwtError>,
    /// Length of the decoded signature in bytes (0 for unsigned tokens).
    pub signature_len: usize,
}

fn code<S: serde::Serializer>(e: &Option<JwtError>, s: S) -> Result<S::Ok, S::Error> {
    match e {
        Some(e) => s.serialize_some(&e.code()),
        None => s.serialize_none(),
    }
}

/// Decodes `token` without checking its signature or any claim.
///
/// Errors only when the token cannot be cut into parts or the header is not
/// a JSON object; the payload is shown as far as it can be read.
pub fn decode_unverified(token: &str) -> Result<Unverified, JwtError> {
    let decoded = super::decode(token)?;
    let (claims, payload_text, payload_error) = match decoded.payload {
        Ok(bytes) => match json::parse_object(&bytes, Part::Payload) {
            Ok(map) => (Some(Value::Object(map)), None, None),
            Err(e) => (None, String::from_utf8(bytes).ok(), Some(e)),
        },
        Err(e) => (None, None, Some(e)),
    };
    Ok(Unverified {
        header: Value::Object(decoded.header),
        claims,
        payload_text,
        payload_error,
        signature_len: decoded.signature.map(|s| s.len()).unwrap_or(0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_rfc7515_a4_text_payload() {
        let t = "eyJhbGciOiJFUzUxMiJ9.UGF5bG9hZA.AdwMgeerwtHoh-l192l60hp9wAHZFVJbLfD_UxMi70cwnZOYaRI1bKPWROc-mZZqwqT2SI-KGDKB34XO0aw_7XdtAG8GaSwFKdCAPZgoXD2YBJZCPEX3xKpRwcdOO8KpEHwJjyqOgzDO7iKvU8vcnwNrmxYbSW9ERBXukOXolLzeO_Jn";
        let u = decode_unverified(t).unwrap();
        assert_eq!(u.header["alg"], "ES512");
        assert_eq!(u.claims, None);
        assert_eq!(u.payload_text.as_deref(), Some("Payload"));
        assert_eq!(u.signature_len, 132);
    }

    #[test]
    fn refuses_what_cannot_be_cut() {
        assert_eq!(
            decode_unverified("x.y").unwrap_err().code(),
            "malformed-token"
        );
    }
}
