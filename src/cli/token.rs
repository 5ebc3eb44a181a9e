//! `section-access token inspect|verify|mint`: JSON Web Tokens the way Qlik
//! products read them.
//!
//! `token verify --format json` prints exactly
//! `{"valid": bool, "signature": "valid"|"invalid"|"unsigned", "errors": [codes],
//! "header": {...}, "claims": {...}|null, "identity": {"userid", "email", "groups"}|null}`.

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use clap::{Args, Subcommand, ValueEnum};
use miette::Diagnostic;
use section_access::jwt::{
    self, Alg, CloudProfile, EngineProfile, KeyError, Keys, MintClaims, Profile, QseowProfile,
    SigningKey, Validate, Verification,
};
use serde_json::json;
use thiserror::Error;

use super::{Exit, Format};

/// Token files larger than this are not read (tokens are refused above 16 KiB anyway).
const MAX_FILE_LEN: u64 = 1024 * 1024;

/// Inspect, verify or mint JSON Web Tokens.
#[derive(Debug, Args)]
pub(crate) struct TokenArgs {
    #[command(subcommand)]
    command: TokenCommand,
}

#[derive(Debug, Subcommand)]
enum TokenCommand {
    /// Decode a token WITHOUT verifying it (the output is labelled UNVERIFIED).
    Inspect {
        /// The token, `@FILE` to read it from a file, or `@-` for stdin.
        token: String,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Verify a token the way a Qlik product does and show the identity it
    /// carries; exit 0 when valid, 3 when not.
    Verify {
        /// The token, `@FILE` to read it from a file, or `@-` for stdin.
        token: String,
        #[command(flatten)]
        options: TokenOptions,
        /// Output format.
        #[arg(long, value_enum, default_value_t)]
        format: Format,
    },
    /// Sign a test token for a profile and print it.
    Mint(MintArgs),
}

/// Which Qlik product reads the token (SPEC §7).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub(crate) enum ProfileArg {
    /// Qlik Associative Engine / Qlik Core: `sub` and `groups`.
    #[default]
    Engine,
    /// Qlik Cloud JWT identity provider.
    Cloud,
    /// Qlik Sense Enterprise on Windows, JWT virtual proxy.
    Qseow,
}

/// The profile and its settings, shared by `verify` and `mint`.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct ProfileOptions {
    /// Which Qlik product reads the token.
    #[arg(long, value_enum, default_value_t)]
    pub profile: ProfileArg,
    /// engine: the engine's ValidateJsonWebTokens (0 not enforced, 1 signed
    /// or unsigned, 2 signed only) [default: 2].
    #[arg(long = "validate-jwt", value_name = "0|1|2", value_parser = clap::value_parser!(u8).range(0..=2))]
    pub validate_jwt: Option<u8>,
    /// cloud: the identity provider's key id (the header `kid` must equal
    /// it). mint: the header `kid` for any profile.
    #[arg(long)]
    pub kid: Option<String>,
    /// cloud: the identity provider's issuer (`iss` must equal it).
    #[arg(long)]
    pub issuer: Option<String>,
    /// cloud: accept this algorithm instead of RS256 (repeatable; RS*, PS*,
    /// ES*; HS* never). mint: the algorithm to sign with.
    #[arg(long = "alg", value_name = "ALG")]
    pub algs: Vec<Alg>,
    /// cloud: map `email` to USER.EMAIL even when `email_verified` is false.
    #[arg(long)]
    pub allow_unverified_email: bool,
    /// qseow: the claim holding the user id [default: userId].
    #[arg(long, value_name = "CLAIM")]
    pub user_id_claim: Option<String>,
    /// qseow: the claim holding the user directory [default: userDirectory].
    #[arg(long, value_name = "CLAIM")]
    pub user_directory_claim: Option<String>,
    /// qseow: the claim holding the groups.
    #[arg(long, value_name = "CLAIM")]
    pub groups_claim: Option<String>,
}

/// How to verify a token: profile, key, clock. Flatten it into any command
/// that takes a token.
#[derive(Clone, Debug, Default, Args)]
pub(crate) struct TokenOptions {
    #[command(flatten)]
    pub profile: ProfileOptions,
    /// HMAC secret as text (the engine's JsonWebTokenSecret).
    #[arg(
        long,
        env = "SECTION_ACCESS_JWT_SECRET",
        hide_env_values = true,
        conflicts_with_all = ["secret_file", "key", "jwks"]
    )]
    pub secret: Option<String>,
    /// File whose raw bytes are the HMAC secret.
    #[arg(long, value_name = "PATH", conflicts_with_all = ["key", "jwks"])]
    pub secret_file: Option<PathBuf>,
    /// PEM public key (SPKI or PKCS#1, RSA or EC) or X.509 certificate such
    /// as Qlik's `publickey.cer`.
    #[arg(long, value_name = "PEM", conflicts_with = "jwks")]
    pub key: Option<PathBuf>,
    /// JSON Web Key Set file; the token's `kid` selects the key.
    #[arg(long, value_name = "FILE")]
    pub jwks: Option<PathBuf>,
    /// Verify as of this time: RFC 3339 (`2024-05-01T12:00:00Z`) or seconds
    /// since 1970 [default: the system clock].
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    pub now: Option<i64>,
    /// Seconds of clock skew allowed on `exp` and `nbf`.
    #[arg(long, value_name = "SECONDS", default_value_t = 0)]
    pub leeway: u64,
}

/// Sign a test token.
#[derive(Debug, Args)]
struct MintArgs {
    #[command(flatten)]
    profile: ProfileOptions,
    /// PEM private key: PKCS#1, PKCS#8 or SEC1; RSA or EC P-256/P-384/P-521.
    #[arg(long, value_name = "PEM", conflicts_with_all = ["secret", "secret_file"])]
    private_key: Option<PathBuf>,
    /// HMAC secret as text (engine only).
    #[arg(
        long,
        env = "SECTION_ACCESS_JWT_SECRET",
        hide_env_values = true,
        conflicts_with = "secret_file"
    )]
    secret: Option<String>,
    /// File whose raw bytes are the HMAC secret (engine only).
    #[arg(long, value_name = "PATH")]
    secret_file: Option<PathBuf>,
    /// The subject: `sub` (engine, cloud) or the user id (qseow).
    #[arg(long)]
    sub: String,
    /// cloud: the user's e-mail (required).
    #[arg(long)]
    email: Option<String>,
    /// cloud: the user's name [default: the subject].
    #[arg(long)]
    name: Option<String>,
    /// Groups of the user.
    #[arg(long, value_name = "GROUP", num_args = 1..)]
    groups: Vec<String>,
    /// qseow: the user directory (required).
    #[arg(long)]
    directory: Option<String>,
    /// Seconds the token is valid for.
    #[arg(long, value_name = "SECONDS", default_value_t = jwt::DEFAULT_LIFETIME)]
    lifetime: u64,
    /// Issue time: RFC 3339 or seconds since 1970 [default: the system clock].
    #[arg(long, value_name = "RFC3339", value_parser = parse_time)]
    now: Option<i64>,
}

/// Command-line options that do not make a usable configuration.
#[derive(Debug, Error, Diagnostic)]
pub(crate) enum OptionsError {
    /// An option that the profile does not take, or a missing one.
    #[error("{message}")]
    #[diagnostic(code(usage))]
    Usage {
        /// What is wrong.
        message: String,
        /// What to do.
        #[help]
        help: String,
    },
    /// A file could not be read.
    #[error("cannot read `{path}`: {reason}")]
    #[diagnostic(code(io))]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error.
        reason: String,
    },
    /// A key file could not be loaded.
    #[error("cannot load the key in `{path}`")]
    #[diagnostic(code(key))]
    Key {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        #[diagnostic_source]
        source: KeyError,
    },
    /// A key given on the command line could not be used.
    #[error(transparent)]
    #[diagnostic(transparent)]
    Secret(#[from] KeyError),
}

impl OptionsError {
    /// The exit code for this error: 2 for usage, 1 for unreadable input.
    pub(crate) fn exit(&self) -> Exit {
        match self {
            OptionsError::Usage { .. } => Exit::Usage,
            _ => Exit::Error,
        }
    }
}

fn usage(message: impl Into<String>, help: impl Into<String>) -> OptionsError {
    OptionsError::Usage {
        message: message.into(),
        help: help.into(),
    }
}

fn only_for(option: &str, profile: &str) -> OptionsError {
    usage(
        format!("`{option}` only applies to `--profile {profile}`"),
        format!("add `--profile {profile}` or leave `{option}` out"),
    )
}

impl ProfileOptions {
    /// The validated profile.
    pub(crate) fn to_profile(&self) -> Result<Profile, OptionsError> {
        let p = self.profile;
        if p != ProfileArg::Engine && self.validate_jwt.is_some() {
            return Err(only_for("--validate-jwt", "engine"));
        }
        if p != ProfileArg::Cloud {
            if self.issuer.is_some() {
                return Err(only_for("--issuer", "cloud"));
            }
            if self.allow_unverified_email {
                return Err(only_for("--allow-unverified-email", "cloud"));
            }
        }
        if p != ProfileArg::Qseow {
            for (set, name) in [
                (self.user_id_claim.is_some(), "--user-id-claim"),
                (
                    self.user_directory_claim.is_some(),
                    "--user-directory-claim",
                ),
                (self.groups_claim.is_some(), "--groups-claim"),
            ] {
                if set {
                    return Err(only_for(name, "qseow"));
                }
            }
        }
        Ok(match p {
            ProfileArg::Engine => Profile::Engine(EngineProfile {
                validate: self
                    .validate_jwt
                    .and_then(Validate::from_level)
                    .unwrap_or_default(),
            }),
            ProfileArg::Cloud => {
                let kid = self.kid.clone().ok_or_else(|| {
                    usage(
                        "`--profile cloud` needs `--kid`",
                        "the key id is shown in the JWT identity provider's settings in Qlik Cloud",
                    )
                })?;
                let issuer = self.issuer.clone().ok_or_else(|| {
                    usage(
                        "`--profile cloud` needs `--issuer`",
                        "the issuer is shown in the JWT identity provider's settings in Qlik Cloud",
                    )
                })?;
                let mut cloud = CloudProfile::new(kid, issuer);
                if let Some(hs) = self.algs.iter().find(|a| a.is_hmac()) {
                    return Err(usage(
                        format!("Qlik Cloud never accepts `{hs}`"),
                        "Qlik Cloud tokens are signed with the identity provider's private key (RS256)",
                    ));
                }
                if !self.algs.is_empty() {
                    cloud.algorithms = self.algs.clone();
                }
                cloud.allow_unverified_email = self.allow_unverified_email;
                Profile::Cloud(cloud)
            }
            ProfileArg::Qseow => {
                let mut q = QseowProfile::default();
                if let Some(c) = &self.user_id_claim {
                    q.user_id_claim = c.clone();
                }
                if let Some(c) = &self.user_directory_claim {
                    q.user_directory_claim = c.clone();
                }
                q.groups_claim = self.groups_claim.clone();
                Profile::Qseow(q)
            }
        })
    }
}

impl TokenOptions {
    /// The validated configuration: profile, keys, the clock (seconds since
    /// 1970) and the leeway in seconds.
    pub(crate) fn resolve(&self) -> Result<(Profile, Keys, i64, u64), OptionsError> {
        let p = &self.profile;
        if p.profile != ProfileArg::Cloud {
            if !p.algs.is_empty() {
                return Err(only_for("--alg", "cloud"));
            }
            if p.kid.is_some() {
                return Err(only_for("--kid", "cloud"));
            }
        }
        let profile = p.to_profile()?;
        let keys = if let Some(secret) = &self.secret {
            Keys::secret(secret.as_bytes())?
        } else if let Some(path) = &self.secret_file {
            Keys::secret(read(path)?).map_err(|source| key_error(path, source))?
        } else if let Some(path) = &self.key {
            Keys::from_pem(&read(path)?).map_err(|source| key_error(path, source))?
        } else if let Some(path) = &self.jwks {
            Keys::from_jwks(&read(path)?).map_err(|source| key_error(path, source))?
        } else {
            Keys::None
        };
        if matches!(keys, Keys::Secret(_)) && !matches!(profile, Profile::Engine(_)) {
            return Err(usage(
                format!(
                    "the {} profile does not accept HMAC secrets",
                    profile.name()
                ),
                "give the identity provider's certificate or public key with `--key`",
            ));
        }
        Ok((
            profile,
            keys,
            self.now.unwrap_or_else(system_now),
            self.leeway,
        ))
    }
}

fn key_error(path: &Path, source: KeyError) -> OptionsError {
    OptionsError::Key {
        path: path.to_path_buf(),
        source,
    }
}

fn read(path: &Path) -> Result<Vec<u8>, OptionsError> {
    let err = |e: io::Error| OptionsError::Read {
        path: path.to_path_buf(),
        reason: e.to_string(),
    };
    let file = fs::File::open(path).map_err(err)?;
    let mut bytes = Vec::new();
    file.take(MAX_FILE_LEN)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    Ok(bytes)
}

/// The token from the argument: itself, `@FILE`, or `@-` for stdin; outer
/// whitespace (a file's final newline) removed.
fn token_text(arg: &str) -> Result<String, OptionsError> {
    let bytes = match arg.strip_prefix('@') {
        Some("-") => {
            let mut bytes = Vec::new();
            io::stdin()
                .take(MAX_FILE_LEN)
                .read_to_end(&mut bytes)
                .map_err(|e| OptionsError::Read {
                    path: PathBuf::from("-"),
                    reason: e.to_string(),
                })?;
            bytes
        }
        Some(path) => read(Path::new(path))?,
        None => return Ok(arg.trim().to_owned()),
    };
    String::from_utf8(bytes)
        .map(|s| s.trim().to_owned())
        .map_err(|_| usage("the token file is not UTF-8 text", "a JWT is ASCII text"))
}

fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.parse::<i64>() {
        return Ok(secs);
    }
    time::OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| format!("`{s}` is not an RFC 3339 time such as `2024-05-01T12:00:00Z`"))
}

fn system_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}

/// Runs `token …`; returns the exit code.
pub(crate) fn run(args: TokenArgs) -> Exit {
    let result = match args.command {
        TokenCommand::Inspect { token, format } => inspect(&token, format),
        TokenCommand::Verify {
            token,
            options,
            format,
        } => verify(&token, &options, format),
        TokenCommand::Mint(m) => mint(&m),
    };
    match result {
        Ok(exit) => exit,
        Err(e) => {
            let exit = e.exit();
            eprintln!("{:?}", miette::Report::new(e));
            exit
        }
    }
}

fn pretty(v: &serde_json::Value) -> String {
    // A `Value` always serialises: `{:#}` is `to_string_pretty` without a
    // `Result` to default.
    format!("{v:#}")
}

fn inspect(arg: &str, format: Format) -> Result<Exit, OptionsError> {
    let token = token_text(arg)?;
    let u = match jwt::dangerous::decode_unverified(&token) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            return Ok(Exit::Error);
        }
    };
    let text = match format {
        Format::Json => {
            let doc = json!({
                "verified": false,
                "header": u.header,
                "claims": u.claims,
                "payload_text": u.payload_text,
                "payload_error": u.payload_error.as_ref().map(jwt::JwtError::code),
                "signature_bytes": u.signature_len,
            });
            format!("{}\n", pretty(&doc))
        }
        Format::Text => {
            let mut s = String::from(
                "UNVERIFIED: decoded only; the signature and the claims were NOT checked\n\n",
            );
            s += &format!("header:\n{}\n", pretty(&u.header));
            match (&u.claims, &u.payload_text, &u.payload_error) {
                (Some(c), _, _) => s += &format!("claims:\n{}\n", pretty(c)),
                (None, Some(t), _) => s += &format!("payload (not JSON claims):\n{t}\n"),
                (None, None, Some(e)) => s += &format!("payload: unreadable ({})\n", e.code()),
                (None, None, None) => {}
            }
            s += &format!("signature: {} bytes, not checked\n", u.signature_len);
            s
        }
    };
    Ok(super::emit(&text, Exit::Ok))
}

/// Reads a token argument (`TOKEN`, `@FILE`, `@-`) and verifies it with
/// the profile and keys of `options` (used by `preview --token` too).
pub(crate) fn verify_arg(
    arg: &str,
    options: &TokenOptions,
) -> Result<(Verification, Profile), OptionsError> {
    let token = token_text(arg)?;
    let (profile, keys, now, leeway) = options.resolve()?;
    Ok((jwt::verify(&token, &profile, &keys, now, leeway), profile))
}

fn verify(arg: &str, options: &TokenOptions, format: Format) -> Result<Exit, OptionsError> {
    let (v, profile) = verify_arg(arg, options)?;
    let text = match format {
        Format::Json => format!("{}\n", serde_json::to_string_pretty(&v).unwrap_or_default()),
        Format::Text => verification_text(&v, &profile),
    };
    let exit = super::emit(&text, Exit::Ok);
    Ok(if v.valid { exit } else { Exit::Denied })
}

fn verification_text(v: &Verification, profile: &Profile) -> String {
    let verdict = if v.valid { "VALID" } else { "INVALID" };
    let signature = match v.signature {
        jwt::SignatureStatus::Valid => "valid",
        jwt::SignatureStatus::Invalid => "not verified",
        jwt::SignatureStatus::Unsigned => "none (unsigned token)",
    };
    let mut s = format!(
        "{verdict} for the {} profile\nsignature: {signature}\n",
        profile.describe()
    );
    if let Some(id) = &v.identity {
        let or_dash = |o: Option<&str>| o.unwrap_or("-").to_owned();
        let groups: Vec<&str> = id.groups.iter().map(|g| g.as_str()).collect();
        s += "identity:\n";
        s += &format!(
            "  USERID      {}\n",
            or_dash(id.userid.as_ref().map(|u| u.as_str()))
        );
        s += &format!(
            "  USER.EMAIL  {}\n",
            or_dash(id.email.as_ref().map(|e| e.as_str()))
        );
        s += &format!(
            "  GROUP       {}\n",
            if groups.is_empty() {
                "-".to_owned()
            } else {
                groups.join(", ")
            }
        );
    }
    if !v.errors.is_empty() {
        s += "errors:\n";
        for e in &v.errors {
            s += &format!("  {}: {e}\n", e.code());
            if let Some(help) = Diagnostic::help(e) {
                s += &format!("    help: {help}\n");
            }
        }
    }
    if let Some(h) = &v.header {
        s += &format!("header: {h}\n");
    }
    match &v.claims {
        Some(c) if v.valid => s += &format!("claims: {c}\n"),
        Some(c) => s += &format!("claims (NOT trusted, the token is invalid): {c}\n"),
        None => {}
    }
    s
}

fn mint(m: &MintArgs) -> Result<Exit, OptionsError> {
    if m.profile.validate_jwt.is_some() || m.profile.allow_unverified_email {
        return Err(usage(
            "`--validate-jwt` and `--allow-unverified-email` only apply to `token verify`",
            "leave them out when minting",
        ));
    }
    let profile = m.profile.to_profile()?;
    let alg = match m.profile.algs.as_slice() {
        [] => None,
        [one] => Some(*one),
        _ => {
            return Err(usage(
                "`token mint` signs with one `--alg`",
                "give `--alg` once",
            ));
        }
    };
    let key = if let Some(path) = &m.private_key {
        SigningKey::from_pem(&read(path)?).map_err(|source| key_error(path, source))?
    } else if let Some(secret) = &m.secret {
        SigningKey::secret(secret.as_bytes())?
    } else if let Some(path) = &m.secret_file {
        SigningKey::secret(read(path)?).map_err(|source| key_error(path, source))?
    } else {
        return Err(usage(
            "`token mint` needs a key",
            "give `--private-key PEM`, or `--secret`/`--secret-file` for the engine profile",
        ));
    };
    let claims = MintClaims {
        subject: m.sub.clone(),
        email: m.email.clone(),
        name: m.name.clone(),
        groups: m.groups.clone(),
        directory: m.directory.clone(),
        kid: m.profile.kid.clone(),
        alg,
        lifetime: m.lifetime,
        now: m.now.unwrap_or_else(system_now),
    };
    match jwt::mint(&profile, &key, &claims) {
        Ok(token) => Ok(super::emit(&format!("{token}\n"), Exit::Ok)),
        Err(e) => {
            eprintln!("{:?}", miette::Report::new(e));
            Ok(Exit::Error)
        }
    }
}
