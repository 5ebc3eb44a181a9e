//! Verification keys: an HMAC secret, a PEM public key or certificate, or a
//! JWKS; and the signature check itself.
//!
//! Keys are validated when loaded, so a bad key file is a load error and not a
//! `bad-signature` later. The token's `alg` never chooses how a key is used:
//! a key fits an algorithm or the token is refused (`alg-confusion`,
//! `key-type-mismatch`).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rsa::pkcs1::{DecodeRsaPublicKey, EncodeRsaPublicKey};
use rsa::traits::PublicKeyParts;
use serde_json::Value;
use x509_cert::der::{Decode, Encode};
use x509_cert::spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

use super::alg::{Alg, Curve, Family};
use super::error::{JwtError, KeyError, shorten};

pub(crate) const OID_RSA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
pub(crate) const OID_EC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const OID_P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const OID_P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const OID_P521: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.35");

/// The curve named by an OID.
pub(crate) fn curve_of(oid: ObjectIdentifier) -> Result<Curve, KeyError> {
    match oid {
        OID_P256 => Ok(Curve::P256),
        OID_P384 => Ok(Curve::P384),
        OID_P521 => Ok(Curve::P521),
        other => Err(KeyError::UnsupportedCurve {
            curve: other.to_string(),
        }),
    }
}

/// An HMAC shared secret; its bytes are never shown.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// A secret from its bytes; empty secrets are refused.
    pub fn new(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        let bytes = bytes.into();
        if bytes.is_empty() {
            return Err(KeyError::EmptySecret);
        }
        Ok(Self(bytes))
    }

    pub(crate) fn bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret([{} bytes redacted])", self.0.len())
    }
}

/// A validated public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum PublicKey {
    /// An RSA public key.
    Rsa {
        /// PKCS#1 `RSAPublicKey` DER.
        pkcs1: Vec<u8>,
        /// Modulus size in bits.
        bits: usize,
    },
    /// An EC public key.
    Ec {
        /// Its curve.
        curve: Curve,
        /// SEC1 encoded point.
        point: Vec<u8>,
    },
}

impl PublicKey {
    /// A public key from PEM text: `PUBLIC KEY` (SubjectPublicKeyInfo, RSA or
    /// EC), `RSA PUBLIC KEY` (PKCS#1) or `CERTIFICATE` (X.509, e.g. Qlik's
    /// `publickey.cer`; only its public key is used). Text around the first
    /// PEM block is ignored.
    pub fn from_pem(text: &[u8]) -> Result<Self, KeyError> {
        let (label, der) = pem_block(text)?;
        match label.as_str() {
            "PUBLIC KEY" => Self::from_spki_der(&der),
            "RSA PUBLIC KEY" => rsa_from_pkcs1(&der),
            "CERTIFICATE" => {
                let cert =
                    x509_cert::Certificate::from_der(&der).map_err(|_| KeyError::Invalid {
                        what: "X.509 certificate",
                    })?;
                let spki = cert
                    .tbs_certificate
                    .subject_public_key_info
                    .to_der()
                    .map_err(|_| KeyError::Invalid {
                        what: "certificate public key",
                    })?;
                Self::from_spki_der(&spki)
            }
            _ => Err(KeyError::WrongPem {
                label,
                expected: "a public key or certificate",
            }),
        }
    }

    /// A public key from SubjectPublicKeyInfo DER.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, KeyError> {
        let invalid = KeyError::Invalid { what: "public key" };
        let spki = SubjectPublicKeyInfoRef::from_der(der).map_err(|_| invalid.clone())?;
        let bits = spki.subject_public_key.as_bytes().ok_or(invalid.clone())?;
        match spki.algorithm.oid {
            OID_RSA => rsa_from_pkcs1(bits),
            OID_EC => {
                let params = spki.algorithm.parameters.ok_or(invalid.clone())?;
                let oid: ObjectIdentifier = params.decode_as().map_err(|_| invalid)?;
                ec_from_point(curve_of(oid)?, bits)
            }
            other => Err(KeyError::UnsupportedAlgorithm {
                oid: other.to_string(),
            }),
        }
    }

    /// What the key is, for messages.
    pub fn describe(&self) -> String {
        match self {
            PublicKey::Rsa { bits, .. } => format!("a {bits}-bit RSA public key"),
            PublicKey::Ec { curve, .. } => format!("a {} EC public key", curve.as_str()),
        }
    }
}

fn rsa_from_pkcs1(der: &[u8]) -> Result<PublicKey, KeyError> {
    let key = rsa::RsaPublicKey::from_pkcs1_der(der).map_err(|_| KeyError::Invalid {
        what: "RSA public key (at most 4096 bits)",
    })?;
    Ok(PublicKey::Rsa {
        pkcs1: der.to_vec(),
        bits: key.n().bits(),
    })
}

fn ec_from_point(curve: Curve, point: &[u8]) -> Result<PublicKey, KeyError> {
    let ok = match curve {
        Curve::P256 => p256::PublicKey::from_sec1_bytes(point).is_ok(),
        Curve::P384 => p384::PublicKey::from_sec1_bytes(point).is_ok(),
        Curve::P521 => p521::PublicKey::from_sec1_bytes(point).is_ok(),
    };
    if !ok {
        return Err(KeyError::Invalid {
            what: "EC public key (not a point on its curve)",
        });
    }
    Ok(PublicKey::Ec {
        curve,
        point: point.to_vec(),
    })
}

/// The label and DER of the first PEM block in `text`.
pub(crate) fn pem_block(text: &[u8]) -> Result<(String, Vec<u8>), KeyError> {
    let text = std::str::from_utf8(text).map_err(|_| KeyError::NotPem)?;
    let start = text.find("-----BEGIN ").ok_or(KeyError::NotPem)?;
    let rest = text.get(start..).ok_or(KeyError::NotPem)?;
    let end_marker = rest.find("-----END ").ok_or(KeyError::NotPem)?;
    let after_end = rest
        .get(end_marker + "-----END ".len()..)
        .ok_or(KeyError::NotPem)?;
    let close = after_end.find("-----").ok_or(KeyError::NotPem)?;
    let block_len = end_marker + "-----END ".len() + close + "-----".len();
    let block = rest.get(..block_len).ok_or(KeyError::NotPem)?;
    let label = block
        .strip_prefix("-----BEGIN ")
        .and_then(|s| s.split("-----").next())
        .unwrap_or_default()
        .to_owned();
    if label == "ENCRYPTED PRIVATE KEY" || block.contains("Proc-Type: 4,ENCRYPTED") {
        return Err(KeyError::Encrypted);
    }
    // Lenient on purpose: exported certificates come with CRLF line ends and
    // other line widths than RFC 7468's 64; headers (`Name: value`) are skipped.
    let body: String = block
        .lines()
        .skip(1)
        .filter(|line| !line.starts_with("-----END ") && !line.contains(':'))
        .flat_map(|line| line.chars().filter(|c| !c.is_ascii_whitespace()))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .map_err(|_| KeyError::BadPem {
            label: label.clone(),
        })?;
    Ok((label, der))
}

/// One usable key of a JWKS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JwkKey {
    /// `kid`, if the JWK has one.
    pub kid: Option<String>,
    /// `alg`, if the JWK restricts its algorithm.
    pub alg: Option<String>,
    /// The key.
    pub key: KeyMaterial,
}

/// A secret or a public key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyMaterial {
    /// An HMAC secret (`kty` `oct`).
    Secret(Secret),
    /// An RSA or EC public key.
    Public(PublicKey),
}

impl KeyMaterial {
    fn describe(&self) -> String {
        match self {
            KeyMaterial::Secret(_) => "an HMAC secret".into(),
            KeyMaterial::Public(p) => p.describe(),
        }
    }
}

/// The keys a token is verified with.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Keys {
    /// No key: only unsigned tokens (engine mode 1) can pass.
    #[default]
    None,
    /// An HMAC secret (the engine's `JsonWebTokenSecret`).
    Secret(Secret),
    /// A public key (the engine's `JsonWebTokenPath`, the Qlik Cloud or QSEoW
    /// certificate).
    Public(PublicKey),
    /// A JSON Web Key Set; the token's `kid` selects the key.
    Jwks(Vec<JwkKey>),
}

impl Keys {
    /// An HMAC secret from its bytes (text secrets are their UTF-8 bytes).
    pub fn secret(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        Secret::new(bytes).map(Keys::Secret)
    }

    /// A public key or certificate from PEM text (see [`PublicKey::from_pem`]).
    pub fn from_pem(text: &[u8]) -> Result<Self, KeyError> {
        PublicKey::from_pem(text).map(Keys::Public)
    }

    /// A JWKS document (`{"keys": [...]}`) or a single JWK. Keys of other
    /// types (`OKP`, ...) and encryption keys (`"use": "enc"`) are skipped; a
    /// set with no usable key is an error.
    pub fn from_jwks(json: &[u8]) -> Result<Self, KeyError> {
        let bad = |reason: &str| KeyError::BadJwks {
            reason: reason.into(),
        };
        let doc: Value = serde_json::from_slice(json).map_err(|_| bad("not JSON"))?;
        let entries: Vec<&Value> = match doc.get("keys") {
            Some(Value::Array(keys)) => keys.iter().collect(),
            Some(_) => return Err(bad("`keys` is not an array")),
            None if doc.get("kty").is_some() => vec![&doc],
            None => return Err(bad("no `keys` array")),
        };
        let mut keys = Vec::new();
        for entry in entries {
            if entry.get("use").and_then(Value::as_str) == Some("enc") {
                continue;
            }
            if let Some(key) = jwk(entry)? {
                keys.push(key);
            }
        }
        if keys.is_empty() {
            return Err(bad("no RSA, EC or oct signing key"));
        }
        Ok(Keys::Jwks(keys))
    }
}

fn jwk(entry: &Value) -> Result<Option<JwkKey>, KeyError> {
    let text = |name: &str| entry.get(name).and_then(Value::as_str);
    let kid = text("kid").map(str::to_owned);
    let describe = || match &kid {
        Some(k) => format!("key `{}`", shorten(k)),
        None => "a key without `kid`".into(),
    };
    let field = |name: &str| -> Result<Vec<u8>, KeyError> {
        let v = text(name).ok_or_else(|| KeyError::BadJwks {
            reason: format!("{} has no `{name}`", describe()),
        })?;
        URL_SAFE_NO_PAD.decode(v).map_err(|_| KeyError::BadJwks {
            reason: format!("`{name}` of {} is not base64url", describe()),
        })
    };
    let key = match text("kty") {
        Some("oct") => KeyMaterial::Secret(Secret::new(field("k")?)?),
        Some("RSA") => {
            let n = rsa::BigUint::from_bytes_be(&field("n")?);
            let e = rsa::BigUint::from_bytes_be(&field("e")?);
            let invalid = || KeyError::BadJwks {
                reason: format!("{} is not a valid RSA key (at most 4096 bits)", describe()),
            };
            let public = rsa::RsaPublicKey::new(n, e).map_err(|_| invalid())?;
            let der = public.to_pkcs1_der().map_err(|_| invalid())?;
            KeyMaterial::Public(PublicKey::Rsa {
                pkcs1: der.as_bytes().to_vec(),
                bits: public.n().bits(),
            })
        }
        Some("EC") => {
            let curve = match text("crv") {
                Some("P-256") => Curve::P256,
                Some("P-384") => Curve::P384,
                Some("P-521") => Curve::P521,
                other => {
                    return Err(KeyError::UnsupportedCurve {
                        curve: shorten(other.unwrap_or("(none)")),
                    });
                }
            };
            let (x, y) = (field("x")?, field("y")?);
            if x.len() != curve.field_len() || y.len() != curve.field_len() {
                return Err(KeyError::BadJwks {
                    reason: format!("coordinates of {} have the wrong length", describe()),
                });
            }
            let mut point = Vec::with_capacity(1 + 2 * curve.field_len());
            point.push(0x04);
            point.extend_from_slice(&x);
            point.extend_from_slice(&y);
            KeyMaterial::Public(ec_from_point(curve, &point)?)
        }
        _ => return Ok(None),
    };
    Ok(Some(JwkKey {
        kid,
        alg: text("alg").map(str::to_owned),
        key,
    }))
}

/// Whether `key` can check `alg`; the error says why not.
fn fits(alg: Alg, key: &KeyMaterial) -> Result<(), JwtError> {
    let mismatch = || JwtError::KeyTypeMismatch {
        alg: alg.as_str().into(),
        key: key.describe(),
    };
    match (alg.family(), key) {
        (Family::Hmac, KeyMaterial::Secret(_)) => Ok(()),
        (Family::Hmac, KeyMaterial::Public(_)) => Err(JwtError::AlgConfusion {
            alg: alg.as_str().into(),
            key: key.describe(),
        }),
        (Family::Rsa, KeyMaterial::Public(PublicKey::Rsa { .. })) => Ok(()),
        (Family::Ec(want), KeyMaterial::Public(PublicKey::Ec { curve, .. })) if want == *curve => {
            Ok(())
        }
        _ => Err(mismatch()),
    }
}

/// The key that checks a token with `alg` and header `kid`.
pub(crate) fn select(keys: &Keys, alg: Alg, kid: Option<&str>) -> Result<KeyMaterial, JwtError> {
    let chosen = match keys {
        Keys::None => {
            return Err(JwtError::MissingKey {
                alg: alg.as_str().into(),
            });
        }
        Keys::Secret(s) => KeyMaterial::Secret(s.clone()),
        Keys::Public(p) => KeyMaterial::Public(p.clone()),
        Keys::Jwks(set) => return select_jwk(set, alg, kid),
    };
    fits(alg, &chosen)?;
    Ok(chosen)
}

fn select_jwk(set: &[JwkKey], alg: Alg, kid: Option<&str>) -> Result<KeyMaterial, JwtError> {
    let candidates: Vec<&JwkKey> = match kid {
        Some(kid) => set
            .iter()
            .filter(|k| k.kid.as_deref() == Some(kid))
            .collect(),
        None if set.len() == 1 => set.iter().collect(),
        None => return Err(JwtError::AmbiguousKey { count: set.len() }),
    };
    let mut first_error = None;
    for candidate in &candidates {
        let result = match &candidate.alg {
            Some(a) if a != alg.as_str() => Err(JwtError::KeyTypeMismatch {
                alg: alg.as_str().into(),
                key: format!("a key for `{}`", shorten(a)),
            }),
            _ => fits(alg, &candidate.key),
        };
        match result {
            Ok(()) => return Ok(candidate.key.clone()),
            Err(e) => {
                first_error.get_or_insert(e);
            }
        }
    }
    Err(first_error.unwrap_or_else(|| JwtError::UnknownKid {
        kid: shorten(kid.unwrap_or_default()),
    }))
}

/// Checks `signature` (decoded) over `input` with a key that fits `alg`.
pub(crate) fn check_signature(
    alg: Alg,
    input: &[u8],
    signature: &[u8],
    key: &KeyMaterial,
) -> Result<(), JwtError> {
    let bad = || JwtError::BadSignature {
        alg: alg.as_str().into(),
    };
    if let Family::Ec(curve) = alg.family() {
        let expected = 2 * curve.field_len();
        if signature.len() != expected {
            return Err(if is_der_ecdsa(curve, signature) {
                JwtError::DerSignature {
                    alg: alg.as_str().into(),
                    expected,
                }
            } else {
                JwtError::SignatureLength {
                    alg: alg.as_str().into(),
                    len: signature.len(),
                    expected,
                }
            });
        }
    }
    let Some(jalg) = alg.to_jsonwebtoken() else {
        return check_es512(input, signature, key).ok_or_else(bad);
    };
    let decoding = match key {
        KeyMaterial::Secret(s) => jsonwebtoken::DecodingKey::from_secret(s.bytes()),
        KeyMaterial::Public(PublicKey::Rsa { pkcs1, .. }) => {
            jsonwebtoken::DecodingKey::from_rsa_der(pkcs1)
        }
        KeyMaterial::Public(PublicKey::Ec { point, .. }) => {
            jsonwebtoken::DecodingKey::from_ec_der(point)
        }
    };
    let encoded = URL_SAFE_NO_PAD.encode(signature);
    match jsonwebtoken::crypto::verify(&encoded, input, &decoding, jalg) {
        Ok(true) => Ok(()),
        Ok(false) => Err(bad()),
        Err(_) => Err(JwtError::BadKey {
            alg: alg.as_str().into(),
        }),
    }
}

/// ES512 through the `p521` crate; `None` when the signature does not verify.
fn check_es512(input: &[u8], signature: &[u8], key: &KeyMaterial) -> Option<()> {
    use p521::ecdsa::signature::Verifier as _;
    let KeyMaterial::Public(PublicKey::Ec {
        curve: Curve::P521,
        point,
    }) = key
    else {
        return None;
    };
    let verifying = p521::ecdsa::VerifyingKey::from_sec1_bytes(point).ok()?;
    let signature = p521::ecdsa::Signature::from_slice(signature).ok()?;
    verifying.verify(input, &signature).ok()
}

/// Whether `sig` parses as an ASN.1 DER `ECDSA-Sig-Value` for `curve`.
fn is_der_ecdsa(curve: Curve, sig: &[u8]) -> bool {
    match curve {
        Curve::P256 => p256::ecdsa::DerSignature::try_from(sig).is_ok(),
        Curve::P384 => p384::ecdsa::DerSignature::try_from(sig).is_ok(),
        Curve::P521 => p521::ecdsa::DerSignature::try_from(sig).is_ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_block_skips_surrounding_text() {
        let pem = include_str!("../../fixtures/jwt/ec256-public.pem");
        // One long line instead of 64-character lines, CRLF, text around.
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let text = format!(
            "Bag Attributes\r\n-----BEGIN PUBLIC KEY-----\r\n{body}\r\n-----END PUBLIC KEY-----\r\ntrailer\r\n"
        );
        let (label, der) = pem_block(text.as_bytes()).unwrap();
        assert_eq!(label, "PUBLIC KEY");
        let key = PublicKey::from_spki_der(&der).unwrap();
        assert_eq!(key.describe(), "a P-256 EC public key");
    }

    #[test]
    fn encrypted_and_missing_blocks_are_named() {
        let enc =
            "-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----\n";
        assert_eq!(pem_block(enc.as_bytes()), Err(KeyError::Encrypted));
        assert_eq!(pem_block(b"no pem here"), Err(KeyError::NotPem));
        assert_eq!(pem_block(b"-----BEGIN X-----\nAAAA"), Err(KeyError::NotPem));
        let bad = "-----BEGIN PUBLIC KEY-----\n!!!!\n-----END PUBLIC KEY-----\n";
        assert!(matches!(
            pem_block(bad.as_bytes()),
            Err(KeyError::BadPem { .. })
        ));
    }

    #[test]
    fn secrets_are_redacted() {
        let s = Secret::new("passw0rd").unwrap();
        assert_eq!(format!("{s:?}"), "Secret([8 bytes redacted])");
    }
}
