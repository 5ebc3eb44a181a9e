//! Fuzz the JWT decoder and verifier: any input must give an answer, never a
//! panic, and an answer must never grant an identity it did not verify.
#![no_main]

use libfuzzer_sys::fuzz_target;
use section_access::jwt::{
    self, CloudProfile, EngineProfile, Keys, Profile, QseowProfile, SignatureStatus, Validate,
};

const RSA_CERT: &[u8] = include_bytes!("../../fixtures/jwt/rsa-cert.pem");
const EC521: &[u8] = include_bytes!("../../fixtures/jwt/ec521-public.pem");
const JWKS: &[u8] = include_bytes!("../../fixtures/jwt/rfc/7520-keys.json");

fuzz_target!(|data: &[u8]| {
    let Ok(token) = std::str::from_utf8(data) else {
        return;
    };
    let _ = jwt::dangerous::decode_unverified(token);

    let keys = [
        Keys::None,
        Keys::secret("passw0rd").unwrap_or_default(),
        Keys::from_pem(RSA_CERT).unwrap_or_default(),
        Keys::from_pem(EC521).unwrap_or_default(),
        Keys::from_jwks(JWKS).unwrap_or_default(),
    ];
    let profiles = [
        Profile::Engine(EngineProfile { validate: Validate::SignedOrUnsigned }),
        Profile::Engine(EngineProfile { validate: Validate::Signed }),
        Profile::Cloud(CloudProfile::new("kid", "issuer")),
        Profile::Qseow(QseowProfile::default()),
    ];
    for profile in &profiles {
        for key in &keys {
            let v = jwt::verify(token, profile, key, 1_700_000_000, 0);
            assert_eq!(v.valid, v.errors.is_empty());
            assert!(v.identity.is_none() || v.valid);
            if v.valid {
                // Only engine mode 1 takes unsigned tokens; everything else
                // valid was checked by a key.
                let unsigned_ok = matches!(
                    profile,
                    Profile::Engine(EngineProfile { validate: Validate::SignedOrUnsigned })
                );
                assert!(
                    v.signature == SignatureStatus::Valid
                        || (unsigned_ok && v.signature == SignatureStatus::Unsigned)
                );
                assert!(!matches!(key, Keys::None) || v.signature == SignatureStatus::Unsigned);
            }
        }
    }
});
