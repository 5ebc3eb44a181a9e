//! The token decoder under mutation, on the stable toolchain: the invariants
//! of `fuzz/fuzz_targets/jwt_verify.rs`, checked by proptest on real tokens
//! (HS256, RS256, ES256, ES512, unsigned) with bytes flipped, cut, inserted
//! and segments swapped. Any input gives an answer, never a panic, and no
//! answer grants an identity that was not verified.

use proptest::prelude::*;
use section_access::jwt::{
    self, CloudProfile, EngineProfile, Keys, MintClaims, Profile, QseowProfile, SignatureStatus,
    SigningKey, Validate,
};

const NOW: i64 = 1_700_000_000;

fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(format!(
        "{}/fixtures/jwt/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn engine(validate: Validate) -> Profile {
    Profile::Engine(EngineProfile { validate })
}

/// Valid tokens of every signature family, minted at `NOW`.
fn seeds() -> Vec<String> {
    let claims = MintClaims {
        groups: vec![String::from("sales")],
        ..MintClaims::new("us-user", NOW)
    };
    let mut out: Vec<String> = [
        SigningKey::secret("passw0rd").unwrap(),
        SigningKey::from_pem(&fixture("rsa-private.pem")).unwrap(),
        SigningKey::from_pem(&fixture("ec256-private.pem")).unwrap(),
        SigningKey::from_pem(&fixture("ec521-private.pem")).unwrap(),
    ]
    .iter()
    .map(|key| jwt::mint(&engine(Validate::Signed), key, &claims).unwrap())
    .collect();
    // {"alg":"none"}.{"sub":"us-user"}. (engine mode 1 only)
    out.push(String::from("eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1cy11c2VyIn0."));
    out
}

fn keys() -> Vec<Keys> {
    vec![
        Keys::None,
        Keys::secret("passw0rd").unwrap(),
        Keys::from_pem(&fixture("rsa-cert.pem")).unwrap(),
        Keys::from_pem(&fixture("ec256-public.pem")).unwrap(),
        Keys::from_pem(&fixture("ec521-public.pem")).unwrap(),
    ]
}

fn profiles() -> Vec<Profile> {
    vec![
        engine(Validate::SignedOrUnsigned),
        engine(Validate::Signed),
        Profile::Cloud(CloudProfile::new("kid", "issuer")),
        Profile::Qseow(QseowProfile::default()),
    ]
}

/// One edit of a token.
#[derive(Clone, Debug)]
enum Edit {
    Flip(usize, u8),
    Cut(usize),
    Insert(usize, char),
    SwapSegments(usize, usize),
}

fn edit() -> impl Strategy<Value = Edit> {
    let alphabet: Vec<char> =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u{e9}"
            .chars()
            .collect();
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Edit::Flip(i, b)),
        any::<usize>().prop_map(Edit::Cut),
        (any::<usize>(), proptest::sample::select(alphabet)).prop_map(|(i, c)| Edit::Insert(i, c)),
        (0usize..3, 0usize..3).prop_map(|(a, b)| Edit::SwapSegments(a, b)),
    ]
}

fn apply(token: &str, e: &Edit) -> String {
    let mut bytes = token.as_bytes().to_vec();
    let len = bytes.len().max(1);
    match *e {
        Edit::Flip(i, b) => {
            let i = i % len;
            if let Some(x) = bytes.get_mut(i) {
                *x ^= b | 1;
            }
        }
        Edit::Cut(i) => bytes.truncate(i % len),
        Edit::Insert(i, c) => {
            let mut buf = [0u8; 4];
            let at = i % len;
            bytes.splice(at..at, c.encode_utf8(&mut buf).bytes());
        }
        Edit::SwapSegments(a, b) => {
            let mut parts: Vec<&str> = token.split('.').collect();
            if a < parts.len() && b < parts.len() {
                parts.swap(a, b);
            }
            bytes = parts.join(".").into_bytes();
        }
    }
    String::from_utf8_lossy(&bytes).into_owned()
}

fn check(token: &str, profiles: &[Profile], keys: &[Keys]) {
    let _ = jwt::dangerous::decode_unverified(token);
    for profile in profiles {
        for key in keys {
            let v = jwt::verify(token, profile, key, NOW + 60, 0);
            assert_eq!(v.valid, v.errors.is_empty(), "{token}");
            assert!(v.identity.is_none() || v.valid, "{token}");
            if v.valid {
                let unsigned_ok = matches!(
                    profile,
                    Profile::Engine(EngineProfile {
                        validate: Validate::SignedOrUnsigned
                    })
                );
                assert!(
                    v.signature == SignatureStatus::Valid
                        || (unsigned_ok && v.signature == SignatureStatus::Unsigned),
                    "{token}"
                );
                assert!(
                    !matches!(key, Keys::None) || v.signature == SignatureStatus::Unsigned,
                    "{token}"
                );
            }
        }
    }
}

#[test]
fn the_seeds_verify_with_their_own_keys() {
    let keys = keys();
    let seeds = seeds();
    for (seed, key) in seeds.iter().zip(&keys[1..]) {
        let v = jwt::verify(seed, &engine(Validate::Signed), key, NOW + 60, 0);
        assert!(v.valid, "{seed}: {:?}", v.codes());
    }
    let unsigned = seeds.last().unwrap();
    assert!(
        jwt::verify(
            unsigned,
            &engine(Validate::SignedOrUnsigned),
            &Keys::None,
            NOW,
            0
        )
        .valid
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn mutated_tokens_never_panic_nor_grant_unverified(
        seed in 0usize..5,
        edits in proptest::collection::vec(edit(), 1..4),
    ) {
        let seeds = seeds();
        let mut token = seeds[seed].clone();
        for e in &edits {
            token = apply(&token, e);
        }
        check(&token, &profiles(), &keys());
    }

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        check(&text, &profiles(), &keys());
    }
}
