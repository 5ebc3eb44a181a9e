//! Signing test tokens per profile, so users can check an identity provider
//! set-up (Qlik Cloud, Mail & Deploy, QSEoW virtual proxy, Qlik Core) offline.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use p256::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use rsa::pkcs1::DecodeRsaPrivateKey;
use serde_json::{Map, Value, json};

use super::alg::{Alg, Curve, Family};
use super::error::{KeyError, MintError};
use super::keys::{OID_EC, OID_RSA, Secret, curve_of, pem_block};
use super::profile::{CLOUD_AUDIENCE, CLOUD_MAX_LIFETIME, Profile};

/// Default token lifetime in seconds (5 minutes).
pub const DEFAULT_LIFETIME: u64 = 300;

/// A key to sign tokens with; its bytes are never shown.
#[derive(Clone)]
pub struct SigningKey(Inner);

#[derive(Clone)]
enum Inner {
    Secret(Secret),
    /// PKCS#1 `RSAPrivateKey` DER.
    Rsa(Vec<u8>),
    /// PKCS#8 DER of a P-256 or P-384 key.
    Ec(Curve, Vec<u8>),
    P521(p521::ecdsa::SigningKey),
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningKey({})", self.describe())
    }
}

impl SigningKey {
    /// An HMAC secret.
    pub fn secret(bytes: impl Into<Vec<u8>>) -> Result<Self, KeyError> {
        Secret::new(bytes).map(|s| Self(Inner::Secret(s)))
    }

    /// A private key from PEM: `RSA PRIVATE KEY` (PKCS#1), `PRIVATE KEY`
    /// (PKCS#8, RSA or EC) or `EC PRIVATE KEY` (SEC1), EC on P-256, P-384 or
    /// P-521. Encrypted keys are refused.
    pub fn from_pem(text: &[u8]) -> Result<Self, KeyError> {
        let (label, der) = pem_block(text)?;
        match label.as_str() {
            "RSA PRIVATE KEY" => rsa_key(&der),
            "PRIVATE KEY" => pkcs8_key(&der),
            "EC PRIVATE KEY" => sec1_key(&der),
            _ => Err(KeyError::WrongPem {
                label,
                expected: "a private key",
            }),
        }
    }

    /// The algorithm used when none is asked for.
    pub fn default_alg(&self) -> Alg {
        match &self.0 {
            Inner::Secret(_) => Alg::HS256,
            Inner::Rsa(_) => Alg::RS256,
            Inner::Ec(Curve::P256, _) => Alg::ES256,
            Inner::Ec(Curve::P384, _) => Alg::ES384,
            Inner::Ec(Curve::P521, _) | Inner::P521(_) => Alg::ES512,
        }
    }

    /// What the key is, for messages.
    pub fn describe(&self) -> String {
        match &self.0 {
            Inner::Secret(_) => "an HMAC secret".into(),
            Inner::Rsa(_) => "an RSA private key".into(),
            Inner::Ec(curve, _) => format!("a {} EC private key", curve.as_str()),
            Inner::P521(_) => "a P-521 EC private key".into(),
        }
    }

    fn fits(&self, alg: Alg) -> bool {
        match (alg.family(), &self.0) {
            (Family::Hmac, Inner::Secret(_)) | (Family::Rsa, Inner::Rsa(_)) => true,
            (Family::Ec(Curve::P521), Inner::P521(_)) => true,
            (Family::Ec(want), Inner::Ec(have, _)) => want == *have,
            _ => false,
        }
    }

    fn sign(&self, alg: Alg, input: &[u8]) -> Result<String, MintError> {
        if let Inner::P521(key) = &self.0 {
            use p521::ecdsa::signature::Signer as _;
            let sig: p521::ecdsa::Signature = key.try_sign(input).map_err(|_| MintError::Sign)?;
            return Ok(URL_SAFE_NO_PAD.encode(sig.to_bytes()));
        }
        let jalg = alg.to_jsonwebtoken().ok_or(MintError::Sign)?;
        let key = match &self.0 {
            Inner::Secret(s) => jsonwebtoken::EncodingKey::from_secret(s.bytes()),
            Inner::Rsa(der) => jsonwebtoken::EncodingKey::from_rsa_der(der),
            Inner::Ec(_, der) => jsonwebtoken::EncodingKey::from_ec_der(der),
            Inner::P521(_) => return Err(MintError::Sign),
        };
        jsonwebtoken::crypto::sign(input, &key, jalg).map_err(|_| MintError::Sign)
    }
}

fn rsa_key(pkcs1: &[u8]) -> Result<SigningKey, KeyError> {
    rsa::RsaPrivateKey::from_pkcs1_der(pkcs1).map_err(|_| KeyError::Invalid {
        what: "RSA private key",
    })?;
    Ok(SigningKey(Inner::Rsa(pkcs1.to_vec())))
}

fn pkcs8_key(der: &[u8]) -> Result<SigningKey, KeyError> {
    let invalid = KeyError::Invalid {
        what: "PKCS#8 private key",
    };
    let info = p256::pkcs8::PrivateKeyInfo::try_from(der).map_err(|_| invalid.clone())?;
    match info.algorithm.oid {
        OID_RSA => rsa_key(info.private_key),
        OID_EC => {
            let oid = info
                .algorithm
                .parameters_oid()
                .map_err(|_| invalid.clone())?;
            match curve_of(oid)? {
                Curve::P256 => {
                    p256::SecretKey::from_pkcs8_der(der).map_err(|_| invalid)?;
                    Ok(SigningKey(Inner::Ec(Curve::P256, der.to_vec())))
                }
                Curve::P384 => {
                    p384::SecretKey::from_pkcs8_der(der).map_err(|_| invalid)?;
                    Ok(SigningKey(Inner::Ec(Curve::P384, der.to_vec())))
                }
                Curve::P521 => {
                    let secret =
                        p521::SecretKey::from_pkcs8_der(der).map_err(|_| invalid.clone())?;
                    p521_key(&secret).ok_or(invalid)
                }
            }
        }
        other => Err(KeyError::UnsupportedAlgorithm {
            oid: other.to_string(),
        }),
    }
}

fn p521_key(secret: &p521::SecretKey) -> Option<SigningKey> {
    let key = p521::ecdsa::SigningKey::from_bytes(&secret.to_bytes()).ok()?;
    Some(SigningKey(Inner::P521(key)))
}

/// SEC1 keys name their curve; each curve's parser refuses the others.
fn sec1_key(der: &[u8]) -> Result<SigningKey, KeyError> {
    let invalid = KeyError::Invalid {
        what: "EC private key (P-256, P-384 or P-521)",
    };
    if let Ok(k) = p256::SecretKey::from_sec1_der(der) {
        let pkcs8 = k.to_pkcs8_der().map_err(|_| invalid.clone())?;
        return Ok(SigningKey(Inner::Ec(
            Curve::P256,
            pkcs8.as_bytes().to_vec(),
        )));
    }
    if let Ok(k) = p384::SecretKey::from_sec1_der(der) {
        let pkcs8 = k.to_pkcs8_der().map_err(|_| invalid.clone())?;
        return Ok(SigningKey(Inner::Ec(
            Curve::P384,
            pkcs8.as_bytes().to_vec(),
        )));
    }
    p521::SecretKey::from_sec1_der(der)
        .ok()
        .and_then(|k| p521_key(&k))
        .ok_or(invalid)
}

/// What to put in a minted token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MintClaims {
    /// `sub` (engine, cloud) or the user id claim (qseow).
    pub subject: String,
    /// `email` (cloud; required there).
    pub email: Option<String>,
    /// `name` (cloud; defaults to the subject).
    pub name: Option<String>,
    /// Groups (engine, cloud; qseow when a groups claim is configured).
    pub groups: Vec<String>,
    /// User directory (qseow; required there).
    pub directory: Option<String>,
    /// Header `kid` (engine, qseow; cloud uses the profile's).
    pub kid: Option<String>,
    /// Algorithm; by default the key's (HS256, RS256, ES256/384/512).
    pub alg: Option<Alg>,
    /// Seconds from `now` to `exp`.
    pub lifetime: u64,
    /// Issue time, seconds since 1970.
    pub now: i64,
}

impl MintClaims {
    /// Claims for `subject` issued at `now`, with the default lifetime.
    pub fn new(subject: impl Into<String>, now: i64) -> Self {
        Self {
            subject: subject.into(),
            email: None,
            name: None,
            groups: Vec::new(),
            directory: None,
            kid: None,
            alg: None,
            lifetime: DEFAULT_LIFETIME,
            now,
        }
    }
}

/// Signs a token that `profile` accepts (when verified with the matching
/// public key or secret at a time within its lifetime).
pub fn mint(profile: &Profile, key: &SigningKey, claims: &MintClaims) -> Result<String, MintError> {
    let alg = claims.alg.unwrap_or_else(|| key.default_alg());
    if !profile.algorithms().contains(&alg) || !key.fits(alg) {
        return Err(MintError::Alg {
            alg: alg.as_str().into(),
            profile: profile.name(),
            key: key.describe(),
        });
    }
    let lifetime = i64::try_from(claims.lifetime).unwrap_or(i64::MAX);
    if lifetime == 0 || (matches!(profile, Profile::Cloud(_)) && lifetime > CLOUD_MAX_LIFETIME) {
        return Err(MintError::Lifetime {
            seconds: claims.lifetime,
            profile: profile.name(),
        });
    }
    let exp = claims.now.saturating_add(lifetime);
    let mut header = Map::new();
    header.insert("alg".into(), json!(alg.as_str()));
    header.insert("typ".into(), json!("JWT"));
    let mut payload = Map::new();
    match profile {
        Profile::Engine(_) => {
            payload.insert("sub".into(), json!(claims.subject));
            if !claims.groups.is_empty() {
                payload.insert("groups".into(), json!(claims.groups));
            }
            payload.insert("exp".into(), json!(exp));
            if let Some(kid) = &claims.kid {
                header.insert("kid".into(), json!(kid));
            }
        }
        Profile::Cloud(cloud) => {
            let email = claims.email.as_ref().ok_or(MintError::Missing {
                profile: "cloud",
                option: "--email",
            })?;
            header.insert("kid".into(), json!(cloud.kid));
            payload.insert("iss".into(), json!(cloud.issuer));
            payload.insert("aud".into(), json!(CLOUD_AUDIENCE));
            payload.insert("sub".into(), json!(claims.subject));
            payload.insert("subType".into(), json!("user"));
            payload.insert(
                "name".into(),
                json!(claims.name.as_ref().unwrap_or(&claims.subject)),
            );
            payload.insert("email".into(), json!(email));
            payload.insert("email_verified".into(), json!(true));
            if !claims.groups.is_empty() {
                payload.insert("groups".into(), json!(claims.groups));
            }
            payload.insert("jti".into(), json!(jti(claims.now)));
            payload.insert("iat".into(), json!(claims.now));
            payload.insert("nbf".into(), json!(claims.now));
            payload.insert("exp".into(), json!(exp));
        }
        Profile::Qseow(q) => {
            let directory = claims.directory.as_ref().ok_or(MintError::Missing {
                profile: "qseow",
                option: "--directory",
            })?;
            if claims.subject.contains('\\') {
                return Err(MintError::Backslash { option: "--sub" });
            }
            if directory.contains('\\') {
                return Err(MintError::Backslash {
                    option: "--directory",
                });
            }
            payload.insert(q.user_id_claim.clone(), json!(claims.subject));
            payload.insert(q.user_directory_claim.clone(), json!(directory));
            if let Some(groups_claim) = &q.groups_claim
                && !claims.groups.is_empty()
            {
                payload.insert(groups_claim.clone(), json!(claims.groups));
            }
            payload.insert("exp".into(), json!(exp));
            if let Some(kid) = &claims.kid {
                header.insert("kid".into(), json!(kid));
            }
        }
    }
    let encode = |map: Map<String, Value>| URL_SAFE_NO_PAD.encode(Value::Object(map).to_string());
    let input = format!("{}.{}", encode(header), encode(payload));
    let signature = key.sign(alg, input.as_bytes())?;
    Ok(format!("{input}.{signature}"))
}

/// A token id unique per call: 16 random bytes, or if the system has no
/// randomness, the time and a process-wide counter.
fn jti(now: i64) -> String {
    use p521::elliptic_curve::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 16];
    if OsRng.try_fill_bytes(&mut bytes).is_ok() {
        return bytes.iter().map(|b| format!("{b:02x}")).collect();
    }
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{now:x}-{:x}-{n:x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jwt::{CloudProfile, Keys, verify};

    #[test]
    fn jti_differs_between_calls() {
        assert_ne!(jti(0), jti(0));
    }

    #[test]
    fn secrets_never_sign_cloud_tokens() {
        let key = SigningKey::secret("s").unwrap();
        let cloud = Profile::Cloud(CloudProfile::new("k", "i"));
        let claims = MintClaims::new("u", 0);
        // A secret never signs cloud tokens.
        assert!(matches!(
            mint(&cloud, &key, &claims),
            Err(MintError::Alg { .. })
        ));
    }

    #[test]
    fn engine_hs256_round_trip() {
        let key = SigningKey::secret("passw0rd").unwrap();
        let mut claims = MintClaims::new("us-user", 1000);
        claims.groups = vec!["sales".into()];
        let token = mint(&Profile::default(), &key, &claims).unwrap();
        let keys = Keys::secret("passw0rd").unwrap();
        let v = verify(&token, &Profile::default(), &keys, 1000, 0);
        assert!(v.valid, "{:?}", v.errors);
        let id = v.identity.unwrap();
        assert_eq!(id.userid.unwrap().as_str(), "US-USER");
        assert_eq!(id.groups[0].as_str(), "SALES");
        // Five minutes later it has expired.
        let v = verify(&token, &Profile::default(), &keys, 1300, 0);
        assert_eq!(v.codes(), ["expired"]);
    }
}
