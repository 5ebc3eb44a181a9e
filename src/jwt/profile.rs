//! The three ways Qlik products accept tokens (SPEC §7) and how each maps
//! claims to an [`Identity`].

use serde_json::{Map, Value};

use super::alg::Alg;
use super::error::{JwtError, shorten};
use crate::names::{Email, GroupName, Identity, UserId};

/// The audience Qlik Cloud requires for JWT sessions.
pub const CLOUD_AUDIENCE: &str = "qlik.api/login/jwt-session";

/// The longest `exp - nbf` Qlik Cloud accepts, in seconds.
pub const CLOUD_MAX_LIFETIME: i64 = 3600;

/// The engine's `ValidateJsonWebTokens` setting.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Validate {
    /// 0: tokens are not validated, and an app with section access cannot be
    /// opened at all.
    NotEnforced,
    /// 1: signed tokens, or unsigned ones (`alg: none`, empty signature).
    SignedOrUnsigned,
    /// 2: signed tokens only (this crate's default).
    #[default]
    Signed,
}

impl Validate {
    /// The setting from its number (0, 1 or 2).
    pub fn from_level(level: u8) -> Option<Self> {
        match level {
            0 => Some(Validate::NotEnforced),
            1 => Some(Validate::SignedOrUnsigned),
            2 => Some(Validate::Signed),
            _ => None,
        }
    }

    /// The setting's number.
    pub fn level(self) -> u8 {
        match self {
            Validate::NotEnforced => 0,
            Validate::SignedOrUnsigned => 1,
            Validate::Signed => 2,
        }
    }
}

/// Qlik Associative Engine / Qlik Core.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EngineProfile {
    /// `ValidateJsonWebTokens`.
    pub validate: Validate,
}

/// Qlik Cloud JWT identity provider.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CloudProfile {
    /// The identity provider's key id; the header `kid` must equal it.
    pub kid: String,
    /// The identity provider's issuer; `iss` must equal it.
    pub issuer: String,
    /// Accepted algorithms; RS256 unless configured. HMAC algorithms are
    /// refused whatever this says.
    pub algorithms: Vec<Alg>,
    /// Map `email` to `USER.EMAIL` even when `email_verified` is false
    /// (SPEC §9: by default it is not mapped).
    pub allow_unverified_email: bool,
}

impl CloudProfile {
    /// A profile for this key id and issuer, RS256 only.
    pub fn new(kid: impl Into<String>, issuer: impl Into<String>) -> Self {
        Self {
            kid: kid.into(),
            issuer: issuer.into(),
            algorithms: vec![Alg::RS256],
            allow_unverified_email: false,
        }
    }
}

/// Qlik Sense Enterprise on Windows, JWT virtual proxy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct QseowProfile {
    /// Claim holding the user id (default `userId`).
    pub user_id_claim: String,
    /// Claim holding the user directory (default `userDirectory`).
    pub user_directory_claim: String,
    /// Claim holding the groups, if the virtual proxy maps one.
    pub groups_claim: Option<String>,
}

impl Default for QseowProfile {
    fn default() -> Self {
        Self {
            user_id_claim: "userId".into(),
            user_directory_claim: "userDirectory".into(),
            groups_claim: None,
        }
    }
}

/// How a token is verified and mapped to an identity.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Profile {
    /// Qlik Associative Engine / Qlik Core.
    Engine(EngineProfile),
    /// Qlik Cloud JWT identity provider.
    Cloud(CloudProfile),
    /// Qlik Sense Enterprise on Windows JWT virtual proxy.
    Qseow(QseowProfile),
}

impl Default for Profile {
    fn default() -> Self {
        Profile::Engine(EngineProfile::default())
    }
}

const ENGINE_ALGS: [Alg; 9] = [
    Alg::HS256,
    Alg::HS384,
    Alg::HS512,
    Alg::RS256,
    Alg::RS384,
    Alg::RS512,
    Alg::ES256,
    Alg::ES384,
    Alg::ES512,
];
const QSEOW_ALGS: [Alg; 3] = [Alg::RS256, Alg::RS384, Alg::RS512];

impl Profile {
    /// `engine`, `cloud` or `qseow`.
    pub fn name(&self) -> &'static str {
        match self {
            Profile::Engine(_) => "engine",
            Profile::Cloud(_) => "cloud",
            Profile::Qseow(_) => "qseow",
        }
    }

    /// The profile for messages, with the engine's validation level.
    pub fn describe(&self) -> String {
        match self {
            Profile::Engine(e) => format!("engine (ValidateJsonWebTokens={})", e.validate.level()),
            other => other.name().into(),
        }
    }

    /// The signature algorithms this profile accepts.
    pub fn algorithms(&self) -> Vec<Alg> {
        match self {
            Profile::Engine(_) => ENGINE_ALGS.to_vec(),
            Profile::Cloud(c) => c
                .algorithms
                .iter()
                .copied()
                .filter(|a| !a.is_hmac())
                .collect(),
            Profile::Qseow(_) => QSEOW_ALGS.to_vec(),
        }
    }

    /// Whether unsigned (`alg: none`) tokens are accepted.
    pub fn accepts_unsigned(&self) -> bool {
        matches!(
            self,
            Profile::Engine(EngineProfile {
                validate: Validate::SignedOrUnsigned | Validate::NotEnforced
            })
        )
    }
}

/// The clock for claim checks.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Clock {
    pub now: i64,
    pub leeway: u64,
}

/// Checks the claims against the profile's rules, pushing one error per
/// failed check; returns the identity when no check failed.
pub(crate) fn check_claims(
    profile: &Profile,
    claims: &Map<String, Value>,
    clock: Clock,
    errors: &mut Vec<JwtError>,
) -> Option<Identity> {
    let before = errors.len();
    let identity = match profile {
        Profile::Engine(_) => engine(claims, clock, errors),
        Profile::Cloud(c) => cloud(c, claims, clock, errors),
        Profile::Qseow(q) => qseow(q, claims, clock, errors),
    };
    if errors.len() == before {
        identity
    } else {
        None
    }
}

fn engine(
    claims: &Map<String, Value>,
    clock: Clock,
    errors: &mut Vec<JwtError>,
) -> Option<Identity> {
    let dates = Dates {
        digit_strings: true,
    };
    dates.check_exp(claims, clock, false, errors);
    dates.check_nbf(claims, clock, false, errors);
    let sub = required_string(claims, "sub", errors);
    let groups = groups(claims, "groups", false, errors);
    Some(Identity::new(Some(UserId::new(sub?)), None, groups?))
}

fn cloud(
    profile: &CloudProfile,
    claims: &Map<String, Value>,
    clock: Clock,
    errors: &mut Vec<JwtError>,
) -> Option<Identity> {
    match required_string(claims, "iss", errors) {
        Some(iss) if iss != profile.issuer => errors.push(JwtError::WrongIssuer {
            expected: profile.issuer.clone(),
            found: shorten(iss),
        }),
        _ => {}
    }
    check_audience(claims, errors);
    let sub = required_string(claims, "sub", errors);
    match required_string(claims, "subType", errors) {
        Some(t) if t != "user" => errors.push(JwtError::SubtypeNotUser { found: shorten(t) }),
        _ => {}
    }
    let _name = required_string(claims, "name", errors);
    let email = required_string(claims, "email", errors);
    let verified = match claims.get("email_verified") {
        None => {
            errors.push(missing("email_verified"));
            None
        }
        Some(Value::Bool(b)) => Some(*b),
        Some(_) => {
            errors.push(bad("email_verified", "true or false"));
            None
        }
    };
    let _jti = required_string(claims, "jti", errors);
    let dates = Dates {
        digit_strings: false,
    };
    let _iat = dates.required(claims, "iat", errors);
    let exp = dates.check_exp(claims, clock, true, errors);
    let nbf = dates.check_nbf(claims, clock, true, errors);
    if let (Some(exp), Some(nbf)) = (exp, nbf) {
        let lifetime = exp - nbf;
        if lifetime > CLOUD_MAX_LIFETIME as f64 {
            errors.push(JwtError::LifetimeTooLong {
                seconds: lifetime.ceil() as i64,
                limit: CLOUD_MAX_LIFETIME,
            });
        }
    }
    let groups = groups(claims, "groups", false, errors);
    let email = match (email, verified) {
        (Some(e), Some(true)) => Some(Email::new(e)),
        (Some(e), Some(false)) if profile.allow_unverified_email => Some(Email::new(e)),
        _ => None,
    };
    Some(Identity::new(Some(UserId::new(sub?)), email, groups?))
}

fn qseow(
    profile: &QseowProfile,
    claims: &Map<String, Value>,
    clock: Clock,
    errors: &mut Vec<JwtError>,
) -> Option<Identity> {
    let dates = Dates {
        digit_strings: false,
    };
    dates.check_exp(claims, clock, false, errors);
    dates.check_nbf(claims, clock, false, errors);
    let mut part = |claim: &str| {
        let value = required_string(claims, claim, errors)?;
        if value.contains('\\') {
            errors.push(JwtError::BackslashInUser {
                claim: shorten(claim),
            });
            return None;
        }
        Some(value)
    };
    let user = part(&profile.user_id_claim);
    let directory = part(&profile.user_directory_claim);
    let groups = match &profile.groups_claim {
        Some(claim) => groups(claims, claim, true, errors)?,
        None => Vec::new(),
    };
    let userid = format!("{}\\{}", directory?.trim(), user?.trim());
    Some(Identity::new(Some(UserId::new(&userid)), None, groups))
}

fn missing(name: &str) -> JwtError {
    JwtError::MissingClaim {
        name: shorten(name),
    }
}

fn bad(name: &str, expected: &'static str) -> JwtError {
    JwtError::BadClaim {
        name: shorten(name),
        expected,
    }
}

/// A string claim that must be present and not blank.
fn required_string<'a>(
    claims: &'a Map<String, Value>,
    name: &str,
    errors: &mut Vec<JwtError>,
) -> Option<&'a str> {
    match claims.get(name) {
        None => {
            errors.push(missing(name));
            None
        }
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s),
        Some(_) => {
            errors.push(bad(name, "a non-empty string"));
            None
        }
    }
}

/// An optional groups claim: an array of strings (QSEoW also takes one string).
fn groups(
    claims: &Map<String, Value>,
    name: &str,
    single_string: bool,
    errors: &mut Vec<JwtError>,
) -> Option<Vec<GroupName>> {
    let expected = if single_string {
        "a string or an array of strings"
    } else {
        "an array of strings"
    };
    match claims.get(name) {
        None => Some(Vec::new()),
        Some(Value::String(s)) if single_string => Some(vec![GroupName::new(s)]),
        Some(Value::Array(items)) => {
            let names: Option<Vec<GroupName>> = items
                .iter()
                .map(|v| v.as_str().map(GroupName::new))
                .collect();
            if names.is_none() {
                errors.push(bad(name, expected));
            }
            names
        }
        Some(_) => {
            errors.push(bad(name, expected));
            None
        }
    }
}

fn check_audience(claims: &Map<String, Value>, errors: &mut Vec<JwtError>) {
    let wrong = JwtError::WrongAudience {
        expected: CLOUD_AUDIENCE,
    };
    match claims.get("aud") {
        None => errors.push(missing("aud")),
        Some(Value::String(s)) if s == CLOUD_AUDIENCE => {}
        Some(Value::Array(items)) if items.iter().any(|v| v.as_str() == Some(CLOUD_AUDIENCE)) => {}
        Some(Value::String(_) | Value::Array(_)) => errors.push(wrong),
        Some(_) => errors.push(bad("aud", "a string or an array of strings")),
    }
}

/// Reading NumericDate claims (RFC 7519 §2).
struct Dates {
    /// Accept a string of digits too (the engine's documentation writes
    /// `"exp": "1541173994"`).
    digit_strings: bool,
}

impl Dates {
    fn expected(&self) -> &'static str {
        if self.digit_strings {
            "a NumericDate (seconds since 1970, a number or a string of digits)"
        } else {
            "a NumericDate (seconds since 1970, a number)"
        }
    }

    /// The claim as seconds; `Err(())` when present but unusable.
    fn parse(&self, v: &Value) -> Result<f64, ()> {
        match v {
            Value::Number(n) => n.as_f64().filter(|f| f.is_finite()).ok_or(()),
            Value::String(s)
                if self.digit_strings
                    && !s.is_empty()
                    && s.len() <= 18
                    && s.bytes().all(|b| b.is_ascii_digit()) =>
            {
                s.parse::<i64>().map(|i| i as f64).map_err(|_| ())
            }
            _ => Err(()),
        }
    }

    fn get(
        &self,
        claims: &Map<String, Value>,
        name: &str,
        required: bool,
        errors: &mut Vec<JwtError>,
    ) -> Option<f64> {
        match claims.get(name) {
            None => {
                if required {
                    errors.push(missing(name));
                }
                None
            }
            Some(v) => match self.parse(v) {
                Ok(t) => Some(t),
                Err(()) => {
                    errors.push(bad(name, self.expected()));
                    None
                }
            },
        }
    }

    fn required(
        &self,
        claims: &Map<String, Value>,
        name: &str,
        errors: &mut Vec<JwtError>,
    ) -> Option<f64> {
        self.get(claims, name, true, errors)
    }

    /// RFC 7519 §4.1.4: valid only while `now < exp` (+ leeway); a token is
    /// expired at the second `exp` names.
    fn check_exp(
        &self,
        claims: &Map<String, Value>,
        clock: Clock,
        required: bool,
        errors: &mut Vec<JwtError>,
    ) -> Option<f64> {
        let exp = self.get(claims, "exp", required, errors)?;
        if clock.now as f64 >= exp + clock.leeway as f64 {
            errors.push(JwtError::Expired {
                exp: show_time(exp),
                now: show_time(clock.now as f64),
                leeway: clock.leeway,
            });
        }
        Some(exp)
    }

    /// RFC 7519 §4.1.5: valid from `nbf` on (- leeway).
    fn check_nbf(
        &self,
        claims: &Map<String, Value>,
        clock: Clock,
        required: bool,
        errors: &mut Vec<JwtError>,
    ) -> Option<f64> {
        let nbf = self.get(claims, "nbf", required, errors)?;
        if (clock.now as f64) + (clock.leeway as f64) < nbf {
            errors.push(JwtError::NotYetValid {
                nbf: show_time(nbf),
                now: show_time(clock.now as f64),
                leeway: clock.leeway,
            });
        }
        Some(nbf)
    }
}

/// A NumericDate as RFC 3339 (UTC) when it is in range, else as a number.
pub(crate) fn show_time(t: f64) -> String {
    let secs = t.floor();
    let formatted = if secs.is_finite() && secs.abs() < 1e15 {
        time::OffsetDateTime::from_unix_timestamp(secs as i64)
            .ok()
            .and_then(|d| {
                d.format(&time::format_description::well_known::Rfc3339)
                    .ok()
            })
    } else {
        None
    };
    formatted.unwrap_or_else(|| format!("{t:e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_dates() {
        let engine = Dates {
            digit_strings: true,
        };
        let strict = Dates {
            digit_strings: false,
        };
        assert_eq!(
            engine.parse(&Value::from("1541173994")),
            Ok(1_541_173_994.0)
        );
        assert_eq!(strict.parse(&Value::from("1541173994")), Err(()));
        assert_eq!(engine.parse(&Value::from("-1")), Err(()));
        assert_eq!(engine.parse(&Value::from("1".repeat(19))), Err(()));
        assert_eq!(strict.parse(&Value::from(1.5)), Ok(1.5));
    }

    #[test]
    fn times_are_shown_as_rfc3339() {
        assert_eq!(show_time(1_300_819_380.0), "2011-03-22T18:43:00Z");
        assert_eq!(show_time(1e300), "1e300");
    }

    #[test]
    fn cloud_never_lists_hmac() {
        let mut c = CloudProfile::new("k", "i");
        c.algorithms = vec![Alg::HS256, Alg::PS256];
        assert_eq!(Profile::Cloud(c).algorithms(), [Alg::PS256]);
    }
}
