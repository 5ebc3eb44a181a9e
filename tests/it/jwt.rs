//! JWT verification and minting: RFC examples, attacks, each profile rule at
//! its boundary, and the `token` command line.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use section_access::jwt::{
    self, Alg, CloudProfile, EngineProfile, Keys, MintClaims, Profile, QseowProfile,
    SignatureStatus, SigningKey, Validate, Verification,
};
use serde_json::{Value, json};

const NOW: i64 = 1_700_000_000;
/// Just before the RFC 7515 examples' `exp` (1300819380).
const RFC_NOW: i64 = 1_300_819_379;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/jwt")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

fn token_file(name: &str) -> String {
    String::from_utf8(read(name)).unwrap().trim().to_owned()
}

fn pem(name: &str) -> Keys {
    Keys::from_pem(&read(name)).unwrap()
}

fn jwks(name: &str) -> Keys {
    Keys::from_jwks(&read(name)).unwrap()
}

fn secret(s: &str) -> Keys {
    Keys::secret(s).unwrap()
}

fn engine(level: u8) -> Profile {
    Profile::Engine(EngineProfile {
        validate: Validate::from_level(level).unwrap(),
    })
}

fn cloud() -> Profile {
    Profile::Cloud(CloudProfile::new("kid-1", "https://idp.example"))
}

fn qseow() -> Profile {
    Profile::Qseow(QseowProfile::default())
}

fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Signs `payload` (raw bytes, need not be JSON) under `header` with
/// jsonwebtoken directly, so tests can build tokens `mint` never would.
fn sign_raw(
    header: &Value,
    payload: &[u8],
    alg: jsonwebtoken::Algorithm,
    key: &jsonwebtoken::EncodingKey,
) -> String {
    let input = format!("{}.{}", b64(header.to_string()), b64(payload));
    let sig = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).unwrap();
    format!("{input}.{sig}")
}

fn hs256(claims: &Value, secret: &str) -> String {
    sign_raw(
        &json!({"alg": "HS256", "typ": "JWT"}),
        claims.to_string().as_bytes(),
        jsonwebtoken::Algorithm::HS256,
        &jsonwebtoken::EncodingKey::from_secret(secret.as_bytes()),
    )
}

fn rsa_key() -> jsonwebtoken::EncodingKey {
    jsonwebtoken::EncodingKey::from_rsa_pem(&read("rsa-private.pem")).unwrap()
}

fn rs256(header: &Value, claims: &Value) -> String {
    sign_raw(
        header,
        claims.to_string().as_bytes(),
        jsonwebtoken::Algorithm::RS256,
        &rsa_key(),
    )
}

fn codes(v: &Verification) -> Vec<String> {
    v.codes()
}

fn userid(v: &Verification) -> String {
    v.identity
        .as_ref()
        .and_then(|i| i.userid.as_ref())
        .map(|u| u.as_str().to_owned())
        .unwrap_or_default()
}

/// The token with one bit of its decoded signature flipped.
fn flip_signature_bit(token: &str) -> String {
    let (input, sig) = token.rsplit_once('.').unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    let last = bytes.len() - 1;
    bytes[last / 2] ^= 0x01;
    format!("{input}.{}", b64(bytes))
}

/// The token with its header replaced (signature kept).
fn with_header(token: &str, header: &str) -> String {
    let rest = token.split_once('.').unwrap().1;
    format!("{}.{rest}", b64(header))
}

// ---------------------------------------------------------------- RFC examples

#[test]
fn rfc7515_a1_to_a3_signatures_verify() {
    for (token, key) in [
        ("rfc/7515-a1-hs256.jwt", "rfc/7515-a1-key.json"),
        ("rfc/7515-a2-rs256.jwt", "rfc/7515-a2-key.json"),
        ("rfc/7515-a3-es256.jwt", "rfc/7515-a3-key.json"),
    ] {
        let v = jwt::verify(&token_file(token), &engine(2), &jwks(key), RFC_NOW, 0);
        assert_eq!(v.signature, SignatureStatus::Valid, "{token}");
        // The examples have `iss` and `exp` but no `sub`, which the engine
        // requires.
        assert_eq!(codes(&v), ["missing-claim:sub"], "{token}");
        assert_eq!(v.claims.as_ref().unwrap()["iss"], "joe", "{token}");
    }
}

#[test]
fn rfc7515_a4_es512_signature_verifies_over_a_text_payload() {
    let v = jwt::verify(
        &token_file("rfc/7515-a4-es512.jwt"),
        &engine(2),
        &jwks("rfc/7515-a4-key.json"),
        RFC_NOW,
        0,
    );
    assert_eq!(v.signature, SignatureStatus::Valid);
    assert_eq!(codes(&v), ["payload-not-json"]);
    assert!(v.claims.is_none());
}

#[test]
fn rfc7515_a5_unsecured() {
    let t = token_file("rfc/7515-a5-none.jwt");
    let v = jwt::verify(&t, &engine(1), &Keys::None, RFC_NOW, 0);
    assert_eq!(v.signature, SignatureStatus::Unsigned);
    assert_eq!(codes(&v), ["missing-claim:sub"]);
    let v = jwt::verify(&t, &engine(2), &Keys::None, RFC_NOW, 0);
    assert_eq!(codes(&v)[0], "alg-none-rejected");
}

#[test]
fn rfc7515_examples_expire_at_their_exp() {
    let v = jwt::verify(
        &token_file("rfc/7515-a2-rs256.jwt"),
        &engine(2),
        &jwks("rfc/7515-a2-key.json"),
        RFC_NOW + 1,
        0,
    );
    assert_eq!(codes(&v), ["expired", "missing-claim:sub"]);
}

#[test]
fn rfc7520_section4_examples_select_keys_by_kid() {
    let keys = jwks("rfc/7520-keys.json");
    // 4.1 and 4.3 share a kid; the key type decides which one checks.
    for name in [
        "rfc/7520-4.1-rs256.jwt",
        "rfc/7520-4.3-es512.jwt",
        "rfc/7520-4.4-hs256.jwt",
    ] {
        let v = jwt::verify(&token_file(name), &engine(2), &keys, NOW, 0);
        assert_eq!(v.signature, SignatureStatus::Valid, "{name}");
        assert_eq!(codes(&v), ["payload-not-json"], "{name}");
    }
}

#[test]
fn bit_flipped_signatures_fail() {
    let cases = [
        ("rfc/7515-a1-hs256.jwt", "rfc/7515-a1-key.json"),
        ("rfc/7515-a2-rs256.jwt", "rfc/7515-a2-key.json"),
        ("rfc/7515-a3-es256.jwt", "rfc/7515-a3-key.json"),
        ("rfc/7515-a4-es512.jwt", "rfc/7515-a4-key.json"),
        ("rfc/7520-4.1-rs256.jwt", "rfc/7520-keys.json"),
        ("rfc/7520-4.3-es512.jwt", "rfc/7520-keys.json"),
        ("rfc/7520-4.4-hs256.jwt", "rfc/7520-keys.json"),
    ];
    for (token, key) in cases {
        let t = flip_signature_bit(&token_file(token));
        let v = jwt::verify(&t, &engine(2), &jwks(key), RFC_NOW, 0);
        assert_eq!(v.signature, SignatureStatus::Invalid, "{token}");
        assert_eq!(codes(&v)[0], "bad-signature", "{token}");
        assert!(!v.valid);
    }
}

#[test]
fn changed_payload_fails() {
    let t = token_file("rfc/7515-a2-rs256.jwt");
    let parts: Vec<&str> = t.split('.').collect();
    let payload = b64(br#"{"iss":"joe","sub":"admin"}"#);
    let forged = format!("{}.{payload}.{}", parts[0], parts[2]);
    let v = jwt::verify(
        &forged,
        &engine(2),
        &jwks("rfc/7515-a2-key.json"),
        RFC_NOW,
        0,
    );
    assert_eq!(codes(&v), ["bad-signature"]);
    assert!(v.identity.is_none());
}

// ------------------------------------------------------------------- attacks

#[test]
fn swapped_alg_headers_fail() {
    // (signed token, its key, header put in place of the real one, code)
    let rsa = ("rfc/7515-a2-rs256.jwt", "rfc/7515-a2-key.json");
    let ec = ("rfc/7515-a3-es256.jwt", "rfc/7515-a3-key.json");
    for ((token, key), header, want) in [
        (rsa, r#"{"alg":"RS384"}"#, "bad-signature"),
        (rsa, r#"{"alg":"HS256"}"#, "alg-confusion"),
        (rsa, r#"{"alg":"ES256"}"#, "key-type-mismatch"),
        (ec, r#"{"alg":"ES384"}"#, "key-type-mismatch"),
        (ec, r#"{"alg":"none"}"#, "alg-none-rejected"),
    ] {
        let forged = with_header(&token_file(token), header);
        let v = jwt::verify(&forged, &engine(2), &jwks(key), RFC_NOW, 0);
        assert_eq!(codes(&v)[0], want, "{token} with {header}");
    }
}

#[test]
fn hs256_signed_with_the_public_key_is_alg_confusion() {
    // The classic attack: HMAC over the token with the verifier's public key
    // file as the secret.
    let public_pem = String::from_utf8(read("rsa-public.pem")).unwrap();
    let t = hs256(&json!({"sub": "admin"}), &public_pem);
    for key in ["rsa-public.pem", "rsa-cert.pem", "rsa-public-pkcs1.pem"] {
        let v = jwt::verify(&t, &engine(2), &pem(key), NOW, 0);
        assert_eq!(codes(&v), ["alg-confusion"], "{key}");
        assert!(!v.valid);
        assert!(v.identity.is_none());
    }
}

#[test]
fn none_is_refused_outside_engine_mode_1_and_its_case_variants_everywhere() {
    let none = format!(
        "{}.{}.",
        b64(r#"{"alg":"none"}"#),
        b64(r#"{"sub":"admin"}"#)
    );
    for profile in [engine(2), cloud(), qseow()] {
        let v = jwt::verify(&none, &profile, &pem("rsa-cert.pem"), NOW, 0);
        assert!(
            codes(&v).contains(&"alg-none-rejected".to_owned()),
            "{profile:?}"
        );
        assert!(!v.valid);
    }
    for variant in ["None", "NONE", "nOne"] {
        let t = format!(
            "{}.{}.",
            b64(format!(r#"{{"alg":"{variant}"}}"#)),
            b64(r#"{"sub":"admin"}"#)
        );
        let v = jwt::verify(&t, &engine(1), &Keys::None, NOW, 0);
        assert_eq!(codes(&v), ["unknown-alg"], "{variant}");
    }
    let v = jwt::verify(&none, &engine(1), &Keys::None, NOW, 0);
    assert!(v.valid);
    assert_eq!(userid(&v), "ADMIN");
}

#[test]
fn unsigned_token_with_a_signature_is_refused_in_mode_1() {
    let t = format!(
        "{}.{}.{}",
        b64(r#"{"alg":"none"}"#),
        b64(r#"{"sub":"a"}"#),
        b64("sig")
    );
    let v = jwt::verify(&t, &engine(1), &Keys::None, NOW, 0);
    assert_eq!(codes(&v), ["none-with-signature"]);
}

#[test]
fn algorithms_outside_the_profile_are_refused() {
    let ps = sign_raw(
        &json!({"alg": "PS256"}),
        br#"{"sub":"a"}"#,
        jsonwebtoken::Algorithm::PS256,
        &rsa_key(),
    );
    let v = jwt::verify(&ps, &engine(2), &pem("rsa-public.pem"), NOW, 0);
    assert_eq!(codes(&v), ["alg-not-allowed"]);
    let v = jwt::verify(&ps, &qseow(), &pem("rsa-public.pem"), NOW, 0);
    assert_eq!(codes(&v)[0], "alg-not-allowed");
    // HS256 is never a cloud algorithm, even when configured.
    let mut c = CloudProfile::new("kid-1", "https://idp.example");
    c.algorithms = vec![Alg::HS256, Alg::RS256];
    let hs = hs256(&json!({"sub": "a"}), "s");
    let v = jwt::verify(&hs, &Profile::Cloud(c), &secret("s"), NOW, 0);
    assert!(codes(&v).contains(&"alg-not-allowed".to_owned()));
}

#[test]
fn keys_of_the_wrong_type_are_refused() {
    let rs = token_file("openssl-rs256.jwt");
    let v = jwt::verify(&rs, &engine(2), &secret("passw0rd"), NOW, 0);
    assert_eq!(codes(&v), ["key-type-mismatch"]);
    let v = jwt::verify(&rs, &engine(2), &pem("ec256-public.pem"), NOW, 0);
    assert_eq!(codes(&v), ["key-type-mismatch"]);
    let key = SigningKey::from_pem(&read("ec256-private.pem")).unwrap();
    let es = jwt::mint(&engine(2), &key, &MintClaims::new("a", NOW)).unwrap();
    for wrong in ["ec384-public.pem", "ec521-public.pem", "rsa-public.pem"] {
        let v = jwt::verify(&es, &engine(2), &pem(wrong), NOW, 0);
        assert_eq!(codes(&v), ["key-type-mismatch"], "{wrong}");
    }
    let v = jwt::verify(&es, &engine(2), &pem("ec256-public.pem"), NOW, 0);
    assert!(v.valid, "{:?}", v.errors);
}

#[test]
fn der_encoded_ecdsa_signatures_are_refused() {
    let t = token_file("openssl-es256-der.jwt");
    let v = jwt::verify(&t, &engine(2), &pem("ec256-public.pem"), NOW, 0);
    assert_eq!(codes(&v), ["der-signature"]);
    assert_eq!(v.signature, SignatureStatus::Invalid);
    // A raw signature one byte short is a length error, not DER.
    let (input, sig) = token_file("rfc/7515-a3-es256.jwt")
        .rsplit_once('.')
        .map(|(a, b)| (a.to_owned(), b.to_owned()))
        .unwrap();
    let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
    bytes.pop();
    let v = jwt::verify(
        &format!("{input}.{}", b64(bytes)),
        &engine(2),
        &jwks("rfc/7515-a3-key.json"),
        RFC_NOW,
        0,
    );
    assert_eq!(codes(&v)[0], "signature-length");
}

#[test]
fn malformed_tokens_are_refused() {
    let good = hs256(&json!({"sub": "a"}), "s");
    let (h, rest) = good.split_once('.').unwrap();
    let cases = [
        (format!("{h}=.{rest}"), "bad-base64"),
        (format!("{h}.{rest}="), "bad-base64"),
        (format!("{h}.{rest}.x"), "malformed-token"),
        (format!("{h}{rest}"), "malformed-token"),
        (format!("{}.{rest}", b64("[]")), "header-not-object"),
        (format!("{}.{rest}", b64("null")), "header-not-object"),
        (format!("{}.{rest}", b64("{")), "header-not-json"),
        (format!("{}.{rest}", b64([0xff, 0xfe])), "header-not-json"),
        (format!(" {good}"), "bad-base64"),
        (format!("{}.{rest}", h.replace('J', "+")), "bad-base64"),
    ];
    for (token, code) in cases {
        let v = jwt::verify(&token, &engine(2), &secret("s"), NOW, 0);
        assert_eq!(codes(&v)[0], code, "{token}");
        assert!(!v.valid);
    }
}

#[test]
fn non_object_payloads_fail_the_claims_not_the_signature() {
    let key = jsonwebtoken::EncodingKey::from_secret(b"s");
    for (payload, code) in [
        (&b"[1,2]"[..], "payload-not-object"),
        (b"not json", "payload-not-json"),
    ] {
        let t = sign_raw(
            &json!({"alg": "HS256"}),
            payload,
            jsonwebtoken::Algorithm::HS256,
            &key,
        );
        let v = jwt::verify(&t, &engine(2), &secret("s"), NOW, 0);
        assert_eq!(v.signature, SignatureStatus::Valid);
        assert_eq!(codes(&v), [code]);
    }
}

#[test]
fn tokens_over_16_kib_are_refused() {
    let t = hs256(&json!({"sub": "a", "pad": "x".repeat(16 * 1024)}), "s");
    let v = jwt::verify(&t, &engine(2), &secret("s"), NOW, 0);
    assert_eq!(codes(&v), ["token-too-large"]);
    assert!(v.header.is_none());
}

#[test]
fn duplicate_header_members_are_refused() {
    let t = hs256(&json!({"sub": "a"}), "s");
    let rest = t.split_once('.').unwrap().1;
    let forged = format!("{}.{rest}", b64(r#"{"alg":"none","alg":"HS256"}"#));
    assert_eq!(
        codes(&jwt::verify(&forged, &engine(1), &secret("s"), NOW, 0)),
        ["duplicate-member"]
    );
}

// --------------------------------------------------------------- engine rules

#[test]
fn qlik_core_tutorial_token() {
    // HS256 with the tutorial's JsonWebTokenSecret `passw0rd`; lower-case
    // `sub` values only match the upper-cased security table this way.
    let t = hs256(&json!({"sub": "us-user", "exp": NOW + 60}), "passw0rd");
    let v = jwt::verify(&t, &engine(2), &secret("passw0rd"), NOW, 0);
    assert!(v.valid, "{:?}", v.errors);
    assert_eq!(userid(&v), "US-USER");
    let v = jwt::verify(&t, &engine(2), &secret("password"), NOW, 0);
    assert_eq!(codes(&v), ["bad-signature"]);
}

#[test]
fn engine_mode_0_cannot_open_section_access() {
    let t = hs256(&json!({"sub": "us-user"}), "passw0rd");
    let v = jwt::verify(&t, &engine(0), &secret("passw0rd"), NOW, 0);
    assert_eq!(codes(&v), ["validation-not-enforced"]);
    assert!(v.identity.is_none());
}

#[test]
fn engine_claims() {
    let check = |claims: Value| {
        codes(&jwt::verify(
            &hs256(&claims, "s"),
            &engine(2),
            &secret("s"),
            NOW,
            0,
        ))
    };
    assert!(check(json!({"sub": "a"})).is_empty(), "exp is optional");
    assert_eq!(check(json!({})), ["missing-claim:sub"]);
    assert_eq!(check(json!({"sub": 7})), ["bad-claim:sub"]);
    assert_eq!(check(json!({"sub": "  "})), ["bad-claim:sub"]);
    assert_eq!(
        check(json!({"sub": "a", "groups": "g"})),
        ["bad-claim:groups"]
    );
    assert_eq!(
        check(json!({"sub": "a", "groups": ["g", 1]})),
        ["bad-claim:groups"]
    );
    // The engine docs write `exp` as a string of digits.
    assert!(check(json!({"sub": "a", "exp": (NOW + 1).to_string()})).is_empty());
    assert_eq!(
        check(json!({"sub": "a", "exp": NOW.to_string()})),
        ["expired"]
    );
    assert_eq!(check(json!({"sub": "a", "exp": "12a"})), ["bad-claim:exp"]);
    assert_eq!(check(json!({"sub": "a", "exp": ""})), ["bad-claim:exp"]);
    assert_eq!(check(json!({"sub": "a", "exp": true})), ["bad-claim:exp"]);
}

#[test]
fn engine_groups_map_to_group() {
    let t = hs256(
        &json!({"sub": "jdoe", "groups": ["Sales", "emea", "sales"]}),
        "s",
    );
    let v = jwt::verify(&t, &engine(2), &secret("s"), NOW, 0);
    let groups: Vec<String> = v
        .identity
        .unwrap()
        .groups
        .iter()
        .map(|g| g.as_str().to_owned())
        .collect();
    assert_eq!(groups, ["EMEA", "SALES"]);
}

#[test]
fn exp_boundary_and_leeway() {
    let t = hs256(&json!({"sub": "a", "exp": NOW}), "s");
    let at = |now, leeway| codes(&jwt::verify(&t, &engine(2), &secret("s"), now, leeway));
    // RFC 7519 §4.1.4: on or after exp is expired.
    assert_eq!(at(NOW, 0), ["expired"]);
    assert!(at(NOW - 1, 0).is_empty());
    assert!(at(NOW, 1).is_empty());
    assert_eq!(at(NOW + 1, 1), ["expired"]);
}

#[test]
fn nbf_boundary_and_leeway() {
    let t = hs256(&json!({"sub": "a", "nbf": NOW}), "s");
    let at = |now, leeway| codes(&jwt::verify(&t, &engine(2), &secret("s"), now, leeway));
    assert!(at(NOW, 0).is_empty());
    assert_eq!(at(NOW - 1, 0), ["not-yet-valid"]);
    assert!(at(NOW - 1, 1).is_empty());
    assert_eq!(at(NOW - 2, 1), ["not-yet-valid"]);
}

// ---------------------------------------------------------------- cloud rules

fn cloud_claims() -> Value {
    json!({
        "iss": "https://idp.example",
        "aud": "qlik.api/login/jwt-session",
        "sub": "0hEhiPyhMBdtOCv2UZKoLo4G24p-7R6eeGdZUQHF0-c",
        "subType": "user",
        "name": "Hardcore Harry",
        "email": "Harry@example.com",
        "email_verified": true,
        "groups": ["Administrators", "Sales"],
        "jti": "k5bUfcK3bqpbJNHuZsDKgxJzdkfJbZ",
        "iat": NOW,
        "nbf": NOW,
        "exp": NOW + 300,
    })
}

fn cloud_verify(claims: &Value) -> Verification {
    let t = rs256(
        &json!({"alg": "RS256", "typ": "JWT", "kid": "kid-1"}),
        claims,
    );
    jwt::verify(&t, &cloud(), &pem("rsa-cert.pem"), NOW, 0)
}

#[test]
fn cloud_valid_token_maps_sub_email_groups() {
    let v = cloud_verify(&cloud_claims());
    assert!(v.valid, "{:?}", v.errors);
    let id = v.identity.unwrap();
    assert_eq!(
        id.userid.unwrap().as_str(),
        "0HEHIPYHMBDTOCV2UZKOLO4G24P-7R6EEGDZUQHF0-C"
    );
    assert_eq!(id.email.unwrap().as_str(), "HARRY@EXAMPLE.COM");
    assert_eq!(id.groups.len(), 2);
}

#[test]
fn cloud_requires_every_claim() {
    for claim in [
        "iss",
        "aud",
        "sub",
        "subType",
        "name",
        "email",
        "email_verified",
        "jti",
        "iat",
        "nbf",
        "exp",
    ] {
        let mut claims = cloud_claims();
        claims.as_object_mut().unwrap().remove(claim);
        let v = cloud_verify(&claims);
        assert_eq!(codes(&v), [format!("missing-claim:{claim}")], "{claim}");
    }
}

#[test]
fn cloud_claim_values() {
    let with = |name: &str, value: Value| {
        let mut claims = cloud_claims();
        claims[name] = value;
        codes(&cloud_verify(&claims))
    };
    assert_eq!(with("iss", json!("https://evil.example")), ["wrong-issuer"]);
    assert_eq!(with("aud", json!("qlik.api")), ["wrong-audience"]);
    assert!(with("aud", json!(["other", "qlik.api/login/jwt-session"])).is_empty());
    assert_eq!(with("subType", json!("client")), ["subtype-not-user"]);
    assert_eq!(
        with("email_verified", json!("true")),
        ["bad-claim:email_verified"]
    );
    assert_eq!(with("iat", json!("1700000000")), ["bad-claim:iat"]);
    assert_eq!(with("groups", json!("Sales")), ["bad-claim:groups"]);
}

#[test]
fn cloud_lifetime_boundary() {
    let lifetime = |seconds: i64| {
        let mut claims = cloud_claims();
        claims["exp"] = json!(NOW + seconds);
        codes(&cloud_verify(&claims))
    };
    assert!(lifetime(3600).is_empty());
    assert_eq!(lifetime(3601), ["lifetime-too-long"]);
}

#[test]
fn cloud_kid_must_match() {
    let t = rs256(&json!({"alg": "RS256", "kid": "other"}), &cloud_claims());
    assert_eq!(
        codes(&jwt::verify(&t, &cloud(), &pem("rsa-cert.pem"), NOW, 0)),
        ["wrong-kid"]
    );
    let t = rs256(&json!({"alg": "RS256"}), &cloud_claims());
    assert_eq!(
        codes(&jwt::verify(&t, &cloud(), &pem("rsa-cert.pem"), NOW, 0)),
        ["missing-header:kid"]
    );
}

#[test]
fn cloud_other_algorithms_need_the_option() {
    let key = SigningKey::from_pem(&read("ec256-private.pem")).unwrap();
    let mut c = CloudProfile::new("kid-1", "https://idp.example");
    c.algorithms = vec![Alg::ES256];
    let mut claims = MintClaims::new("u", NOW);
    claims.email = Some("u@example.com".into());
    let t = jwt::mint(&Profile::Cloud(c.clone()), &key, &claims).unwrap();
    let v = jwt::verify(&t, &Profile::Cloud(c), &pem("ec256-public.pem"), NOW, 0);
    assert!(v.valid, "{:?}", v.errors);
    let v = jwt::verify(&t, &cloud(), &pem("ec256-public.pem"), NOW, 0);
    assert_eq!(codes(&v), ["alg-not-allowed"]);
}

#[test]
fn cloud_unverified_email_is_not_mapped_unless_allowed() {
    let mut claims = cloud_claims();
    claims["email_verified"] = json!(false);
    let v = cloud_verify(&claims);
    assert!(v.valid);
    assert_eq!(v.identity.unwrap().email, None);
    let mut c = CloudProfile::new("kid-1", "https://idp.example");
    c.allow_unverified_email = true;
    let t = rs256(&json!({"alg": "RS256", "kid": "kid-1"}), &claims);
    let v = jwt::verify(&t, &Profile::Cloud(c), &pem("rsa-cert.pem"), NOW, 0);
    assert_eq!(
        v.identity.unwrap().email.unwrap().as_str(),
        "HARRY@EXAMPLE.COM"
    );
}

#[test]
fn cloud_mint_round_trip_with_unique_jti() {
    let key = SigningKey::from_pem(&read("rsa-private.pem")).unwrap();
    let mut claims = MintClaims::new("harry", NOW);
    claims.email = Some("harry@example.com".into());
    claims.groups = vec!["Sales".into()];
    let a = jwt::mint(&cloud(), &key, &claims).unwrap();
    let b = jwt::mint(&cloud(), &key, &claims).unwrap();
    let va = jwt::verify(&a, &cloud(), &pem("rsa-cert.pem"), NOW, 0);
    let vb = jwt::verify(&b, &cloud(), &pem("rsa-cert.pem"), NOW, 0);
    assert!(va.valid, "{:?}", va.errors);
    assert_ne!(
        va.claims.as_ref().unwrap()["jti"],
        vb.claims.as_ref().unwrap()["jti"]
    );
    // Five minutes by default.
    assert_eq!(va.claims.as_ref().unwrap()["exp"], json!(NOW + 300));
    assert_eq!(
        codes(&jwt::verify(
            &a,
            &cloud(),
            &pem("rsa-cert.pem"),
            NOW + 300,
            0
        )),
        ["expired"]
    );
    claims.lifetime = 3601;
    assert!(jwt::mint(&cloud(), &key, &claims).is_err());
    claims.lifetime = 300;
    claims.email = None;
    assert!(jwt::mint(&cloud(), &key, &claims).is_err());
}

// ---------------------------------------------------------------- qseow rules

#[test]
fn qseow_builds_directory_backslash_user() {
    let t = rs256(
        &json!({"alg": "RS256"}),
        &json!({"userId": "jdoe", "userDirectory": "Corp"}),
    );
    let v = jwt::verify(&t, &qseow(), &pem("rsa-cert.pem"), NOW, 0);
    assert!(v.valid, "{:?}", v.errors);
    assert_eq!(userid(&v), "CORP\\JDOE");
}

#[test]
fn qseow_claim_names_and_groups_are_configurable() {
    let profile = Profile::Qseow(QseowProfile {
        user_id_claim: "uid".into(),
        user_directory_claim: "dir".into(),
        groups_claim: Some("roles".into()),
    });
    let t = rs256(
        &json!({"alg": "RS512"}),
        &json!({"uid": "jdoe", "dir": "corp", "roles": ["a", "b"]}),
    );
    // rs256 signs RS256 whatever the header says, so build an RS512 one.
    let t512 = sign_raw(
        &json!({"alg": "RS512"}),
        br#"{"uid":"jdoe","dir":"corp","roles":"a"}"#,
        jsonwebtoken::Algorithm::RS512,
        &rsa_key(),
    );
    assert_eq!(
        codes(&jwt::verify(&t, &profile, &pem("rsa-cert.pem"), NOW, 0)),
        ["bad-signature"]
    );
    let v = jwt::verify(&t512, &profile, &pem("rsa-cert.pem"), NOW, 0);
    assert!(v.valid, "{:?}", v.errors);
    assert_eq!(userid(&v), "CORP\\JDOE");
    assert_eq!(v.identity.unwrap().groups[0].as_str(), "A");
    let missing = rs256(
        &json!({"alg": "RS256"}),
        &json!({"userId": "jdoe", "userDirectory": "corp"}),
    );
    assert_eq!(
        codes(&jwt::verify(
            &missing,
            &profile,
            &pem("rsa-cert.pem"),
            NOW,
            0
        )),
        ["missing-claim:uid", "missing-claim:dir"]
    );
}

#[test]
fn qseow_refuses_backslashes_and_hmac() {
    for claims in [
        json!({"userId": "corp\\jdoe", "userDirectory": "x"}),
        json!({"userId": "jdoe", "userDirectory": "a\\b"}),
    ] {
        let t = rs256(&json!({"alg": "RS256"}), &claims);
        assert_eq!(
            codes(&jwt::verify(&t, &qseow(), &pem("rsa-cert.pem"), NOW, 0)),
            ["backslash-in-user"]
        );
    }
    let t = hs256(&json!({"userId": "jdoe", "userDirectory": "corp"}), "s");
    assert_eq!(
        codes(&jwt::verify(&t, &qseow(), &secret("s"), NOW, 0)),
        ["alg-not-allowed"]
    );
}

#[test]
fn qseow_mint_round_trip() {
    let key = SigningKey::from_pem(&read("rsa-private-pkcs1.pem")).unwrap();
    let mut claims = MintClaims::new("jdoe", NOW);
    claims.directory = Some("CORP".into());
    let t = jwt::mint(&qseow(), &key, &claims).unwrap();
    let v = jwt::verify(&t, &qseow(), &pem("rsa-public-pkcs1.pem"), NOW, 0);
    assert!(v.valid, "{:?}", v.errors);
    assert_eq!(userid(&v), "CORP\\JDOE");
}

// ----------------------------------------------------------------------- keys

#[test]
fn every_private_key_format_mints_tokens_its_public_key_verifies() {
    let pairs = [
        ("rsa-private.pem", "rsa-public.pem", "RS256"),
        ("rsa-private-pkcs1.pem", "rsa-cert.pem", "RS256"),
        ("ec256-private.pem", "ec256-public.pem", "ES256"),
        ("ec256-private-sec1.pem", "ec256-public.pem", "ES256"),
        ("ec384-private.pem", "ec384-public.pem", "ES384"),
        ("ec521-private.pem", "ec521-public.pem", "ES512"),
        ("ec521-private-sec1.pem", "ec521-cert.pem", "ES512"),
    ];
    for (private, public, alg) in pairs {
        let key = SigningKey::from_pem(&read(private)).unwrap();
        let t = jwt::mint(&engine(2), &key, &MintClaims::new("a", NOW)).unwrap();
        let v = jwt::verify(&t, &engine(2), &pem(public), NOW, 0);
        assert!(v.valid, "{private}: {:?}", v.errors);
        assert_eq!(v.header.unwrap()["alg"], alg);
        let v = jwt::verify(&flip_signature_bit(&t), &engine(2), &pem(public), NOW, 0);
        assert_eq!(codes(&v), ["bad-signature"], "{private}");
    }
}

#[test]
fn openssl_signed_rs256_verifies_with_every_public_key_form() {
    let t = token_file("openssl-rs256.jwt");
    for key in ["rsa-public.pem", "rsa-public-pkcs1.pem", "rsa-cert.pem"] {
        let v = jwt::verify(&t, &engine(2), &pem(key), NOW, 0);
        assert!(v.valid, "{key}: {:?}", v.errors);
    }
    let v = jwt::verify(&t, &engine(2), &pem("rsa-other-public.pem"), NOW, 0);
    assert_eq!(codes(&v), ["bad-signature"]);
}

/// The secret the `openssl-hs*.jwt` fixtures were signed with (see the
/// fixtures' README).
const OPENSSL_HMAC_SECRET: &str = "section-access test secret";

#[test]
fn openssl_signed_hs384_hs512_rs384_verify_and_tampered_ones_do_not() {
    // (token, right key, wrong key of the same kind)
    let cases = [
        (
            "openssl-hs384.jwt",
            secret(OPENSSL_HMAC_SECRET),
            secret("another secret"),
        ),
        (
            "openssl-hs512.jwt",
            secret(OPENSSL_HMAC_SECRET),
            secret("another secret"),
        ),
        (
            "openssl-rs384.jwt",
            pem("rsa-cert.pem"),
            pem("rsa-other-public.pem"),
        ),
    ];
    for (name, key, wrong) in cases {
        let t = token_file(name);
        let v = jwt::verify(&t, &engine(2), &key, NOW, 0);
        assert!(v.valid, "{name}: {:?}", v.errors);
        assert_eq!(v.signature, SignatureStatus::Valid, "{name}");
        assert_eq!(userid(&v), "US-USER", "{name}");
        let v = jwt::verify(&flip_signature_bit(&t), &engine(2), &key, NOW, 0);
        assert_eq!(codes(&v), ["bad-signature"], "{name} bit-flipped");
        assert!(!v.valid && v.identity.is_none(), "{name} bit-flipped");
        let v = jwt::verify(&t, &engine(2), &wrong, NOW, 0);
        assert_eq!(codes(&v), ["bad-signature"], "{name} with the wrong key");
    }
    // RS384 for the QSEoW profile too, against its certificate.
    let t = sign_raw(
        &json!({"alg": "RS384"}),
        br#"{"userId":"jdoe","userDirectory":"corp"}"#,
        jsonwebtoken::Algorithm::RS384,
        &rsa_key(),
    );
    let v = jwt::verify(&t, &qseow(), &pem("rsa-cert.pem"), NOW, 0);
    assert!(v.valid, "{:?}", v.errors);
    assert_eq!(userid(&v), "CORP\\JDOE");
    let v = jwt::verify(
        &flip_signature_bit(&t),
        &qseow(),
        &pem("rsa-cert.pem"),
        NOW,
        0,
    );
    assert_eq!(codes(&v), ["bad-signature"]);
}

#[test]
fn wrong_key_files_are_load_errors() {
    assert!(Keys::from_pem(&read("rsa-private.pem")).is_err());
    assert!(Keys::from_pem(b"not a pem").is_err());
    assert!(SigningKey::from_pem(&read("rsa-public.pem")).is_err());
    assert!(Keys::secret("").is_err());
    assert!(Keys::from_jwks(br#"{"keys":[]}"#).is_err());
    assert!(
        Keys::from_jwks(br#"{"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]}"#).is_err()
    );
    // Windows line endings and text around the block are fine.
    let crlf = String::from_utf8(read("rsa-cert.pem"))
        .unwrap()
        .replace('\n', "\r\n");
    assert!(Keys::from_pem(format!("subject=CN = test\r\n{crlf}").as_bytes()).is_ok());
}

#[test]
fn jwks_selection_by_kid() {
    let keys = jwks("rfc/7520-keys.json");
    let t = hs256(&json!({"sub": "a"}), "s");
    assert_eq!(
        codes(&jwt::verify(&t, &engine(2), &keys, NOW, 0)),
        ["ambiguous-key"]
    );
    let rest = t.split_once('.').unwrap().1;
    let t = format!("{}.{rest}", b64(r#"{"alg":"HS256","kid":"nobody"}"#));
    assert_eq!(
        codes(&jwt::verify(&t, &engine(2), &keys, NOW, 0)),
        ["unknown-kid"]
    );
    // The RFC 7520 RSA and EC keys share a kid; HS256 fits neither.
    let t = format!(
        "{}.{rest}",
        b64(r#"{"alg":"HS256","kid":"bilbo.baggins@hobbiton.example"}"#)
    );
    assert_eq!(
        codes(&jwt::verify(&t, &engine(2), &keys, NOW, 0)),
        ["alg-confusion"]
    );
}

#[test]
fn debug_output_never_shows_secrets() {
    let keys = secret("passw0rd");
    assert!(!format!("{keys:?}").contains("passw0rd"));
    let key = SigningKey::secret("passw0rd").unwrap();
    assert!(!format!("{key:?}").contains("passw0rd"));
}

// ----------------------------------------------------------------------- CLI

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_section-access"))
        .args(args)
        .current_dir(fixture(""))
        .env_remove("SECTION_ACCESS_JWT_SECRET")
        .output()
        .unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

#[test]
fn cli_verify_valid_json_contract() {
    let t = hs256(&json!({"sub": "us-user", "groups": ["US"]}), "passw0rd");
    let o = cli(&[
        "token", "verify", &t, "--secret", "passw0rd", "--format", "json",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let keys: Vec<&str> = v.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(
        keys,
        [
            "valid",
            "signature",
            "errors",
            "header",
            "claims",
            "identity"
        ]
    );
    assert_eq!(v["valid"], true);
    assert_eq!(v["signature"], "valid");
    assert_eq!(v["errors"], json!([]));
    assert_eq!(
        v["identity"],
        json!({"userid": "US-USER", "email": null, "groups": ["US"]})
    );
}

#[test]
fn cli_verify_invalid_exits_3_without_echoing_secret_or_token() {
    let t = hs256(&json!({"sub": "us-user"}), "passw0rd");
    let o = cli(&["token", "verify", &t, "--secret", "s3cret-value"]);
    assert_eq!(o.status.code(), Some(3));
    let all = format!("{}{}", stdout(&o), String::from_utf8_lossy(&o.stderr));
    assert!(all.contains("bad-signature"));
    assert!(!all.contains("s3cret-value"));
    assert!(!all.contains(&t));
    let o = cli(&[
        "token",
        "verify",
        &t,
        "--secret",
        "s3cret-value",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["signature"], "invalid");
    assert_eq!(v["errors"], json!(["bad-signature"]));
    assert_eq!(v["identity"], Value::Null);
}

#[test]
fn cli_verify_reads_files_and_takes_a_clock() {
    let o = cli(&[
        "token",
        "verify",
        "@rfc/7515-a5-none.jwt",
        "--validate-jwt",
        "1",
        "--now",
        "2011-03-22T18:42:59Z",
        "--format",
        "json",
    ]);
    assert_eq!(o.status.code(), Some(3));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["signature"], "unsigned");
    assert_eq!(v["errors"], json!(["missing-claim:sub"]));
    let o = cli(&[
        "token",
        "verify",
        "@rfc/7515-a5-none.jwt",
        "--validate-jwt",
        "1",
        "--now",
        "2011-03-22T18:43:00Z",
        "--format",
        "json",
    ]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["errors"], json!(["expired", "missing-claim:sub"]));
}

#[test]
fn cli_inspect_is_labelled_unverified() {
    let o = cli(&["token", "inspect", "@openssl-rs256.jwt"]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).starts_with("UNVERIFIED"));
    assert!(stdout(&o).contains("us-user"));
    let o = cli(&["token", "inspect", "@openssl-rs256.jwt", "--format", "json"]);
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["verified"], false);
    assert_eq!(v["claims"]["sub"], "us-user");
    let o = cli(&["token", "inspect", "not-a-token"]);
    assert_eq!(o.status.code(), Some(1));
}

#[test]
fn cli_mint_then_verify_cloud() {
    let o = cli(&[
        "token",
        "mint",
        "--profile",
        "cloud",
        "--private-key",
        "rsa-private.pem",
        "--kid",
        "k1",
        "--issuer",
        "https://idp.example",
        "--sub",
        "harry",
        "--email",
        "harry@example.com",
        "--groups",
        "Sales",
        "EMEA",
        "--now",
        "2024-05-01T12:00:00Z",
    ]);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let token = stdout(&o).trim().to_owned();
    let verify = |now: &str| {
        cli(&[
            "token",
            "verify",
            &token,
            "--profile",
            "cloud",
            "--key",
            "rsa-cert.pem",
            "--kid",
            "k1",
            "--issuer",
            "https://idp.example",
            "--now",
            now,
            "--format",
            "json",
        ])
    };
    let o = verify("2024-05-01T12:04:59Z");
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let v: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(
        v["identity"],
        json!({"userid": "HARRY", "email": "HARRY@EXAMPLE.COM", "groups": ["EMEA", "SALES"]})
    );
    let o = verify("2024-05-01T12:05:00Z");
    assert_eq!(o.status.code(), Some(3));
}

#[test]
fn cli_mint_engine_with_secret_matches_the_tutorial() {
    let o = cli(&[
        "token",
        "mint",
        "--secret",
        "passw0rd",
        "--sub",
        "us-user",
        "--now",
        "1700000000",
    ]);
    assert_eq!(o.status.code(), Some(0));
    let token = stdout(&o).trim().to_owned();
    let o = cli(&[
        "token",
        "verify",
        &token,
        "--secret",
        "passw0rd",
        "--now",
        "1700000000",
    ]);
    assert_eq!(o.status.code(), Some(0));
    assert!(stdout(&o).contains("US-USER"));
}

#[test]
fn cli_usage_and_input_errors() {
    let t = hs256(&json!({"sub": "a"}), "s");
    // cloud needs --kid and --issuer.
    assert_eq!(
        cli(&[
            "token",
            "verify",
            &t,
            "--profile",
            "cloud",
            "--key",
            "rsa-cert.pem"
        ])
        .status
        .code(),
        Some(2)
    );
    // options of another profile.
    assert_eq!(
        cli(&[
            "token",
            "verify",
            &t,
            "--validate-jwt",
            "1",
            "--profile",
            "qseow"
        ])
        .status
        .code(),
        Some(2)
    );
    assert_eq!(
        cli(&["token", "verify", &t, "--alg", "RS384"])
            .status
            .code(),
        Some(2)
    );
    // two keys at once.
    assert_eq!(
        cli(&[
            "token",
            "verify",
            &t,
            "--secret",
            "s",
            "--key",
            "rsa-cert.pem"
        ])
        .status
        .code(),
        Some(2)
    );
    // HS256 for cloud is refused when configuring.
    assert_eq!(
        cli(&[
            "token",
            "verify",
            &t,
            "--profile",
            "cloud",
            "--kid",
            "k",
            "--issuer",
            "i",
            "--alg",
            "HS256",
            "--key",
            "rsa-cert.pem"
        ])
        .status
        .code(),
        Some(2)
    );
    // A private key where a public key belongs, a missing file.
    assert_eq!(
        cli(&["token", "verify", &t, "--key", "rsa-private.pem"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        cli(&["token", "verify", "@no-such-file.jwt"]).status.code(),
        Some(1)
    );
    assert_eq!(cli(&["token", "mint", "--sub", "a"]).status.code(), Some(2));
}
