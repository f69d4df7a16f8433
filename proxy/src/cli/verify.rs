//! `fidogate verify`: verify one registration offline.

use super::{EXIT_ACCEPTED, EXIT_REJECTED, EXIT_USAGE, roots};
use clap::{Args, Subcommand};
use fidogate_core::trust::TrustAnchors;
use fidogate_core::webauthn::{
    CoseAlgorithm, Policy, RegistrationCredential, RelyingParty, UserVerification,
    verify_registration,
};
use fidogate_core::{ErrorClass, UnixTime, b64};
use serde_json::json;
use std::io::Read as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

/// Largest input read, in bytes.
const MAX_INPUT: u64 = 1024 * 1024;

#[derive(Debug, Subcommand)]
pub(crate) enum VerifyCommand {
    /// Verify a WebAuthn registration (the PublicKeyCredential JSON).
    Webauthn(WebauthnArgs),
    /// Verify a UAF registration (the RegistrationResponse array).
    Uaf(UafArgs),
}

#[derive(Debug, Args)]
pub(crate) struct UafArgs {
    /// The AppID the response must be for.
    #[arg(long, value_name = "APPID")]
    app_id: String,
    /// The challenge issued (fcParams.challenge), base64url.
    #[arg(long, value_name = "B64URL")]
    challenge: String,
    /// A trusted FacetID (repeat; default: only the AppID's own https origin).
    #[arg(long = "facet-id", value_name = "FACET")]
    facet_ids: Vec<String>,
    /// An accepted AAID (repeat; default: any).
    #[arg(long = "aaid", value_name = "AAID")]
    aaids: Vec<String>,
    /// Trust anchors for every AAID: a PEM file or a folder of them (repeat).
    #[arg(long = "roots", value_name = "PATH")]
    roots: Vec<PathBuf>,
    /// The verification instant, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339")]
    time: Option<String>,
    /// Reject attestations that do not chain to a trust anchor.
    #[arg(long)]
    require_trusted: bool,
    /// FIDO metadata: a BLOB (.jwt), a decoded payload, a statement file
    /// or a folder of them (repeat).
    #[arg(long = "metadata", value_name = "PATH")]
    metadata: Vec<PathBuf>,
    /// A root a metadata BLOB may chain to, besides the shipped
    /// GlobalSign Root CA - R3 (PEM; repeat).
    #[arg(long = "metadata-root", value_name = "PEM")]
    metadata_roots: Vec<PathBuf>,
    /// The RegistrationResponse array JSON file, or - for standard input.
    #[arg(value_name = "FILE|-", default_value = "-")]
    input: String,
}

#[derive(Debug, Args)]
pub(crate) struct WebauthnArgs {
    /// The RP ID the credential must be scoped to.
    #[arg(long, value_name = "ID")]
    rp_id: String,
    /// An allowed origin (repeat for several).
    #[arg(long = "origin", value_name = "ORIGIN", required = true)]
    origins: Vec<String>,
    /// An allowed top origin for registration in a cross-origin iframe.
    #[arg(long = "top-origin", value_name = "ORIGIN")]
    top_origins: Vec<String>,
    /// The challenge issued for the registration, base64url.
    #[arg(long, value_name = "B64URL")]
    challenge: String,
    /// An allowed COSE algorithm (repeat; default: every supported one but
    /// RS1, -65535, which is accepted only when listed).
    #[arg(long = "alg", value_name = "N", allow_negative_numbers = true)]
    algs: Vec<i64>,
    /// Trust anchors: a PEM file or a folder of them (repeat).
    #[arg(long = "roots", value_name = "PATH")]
    roots: Vec<PathBuf>,
    /// The verification instant, RFC 3339 (default: now).
    #[arg(long, value_name = "RFC3339")]
    time: Option<String>,
    /// Reject attestations that do not chain to a trust anchor.
    #[arg(long)]
    require_trusted: bool,
    /// Reject registrations without user verification.
    #[arg(long)]
    require_uv: bool,
    /// Reject RS1 (SHA-1) TPM attestation statements.
    #[arg(long)]
    reject_sha1_tpm: bool,
    /// Accept android-key attestations whose origin and purpose are only
    /// software-enforced.
    #[arg(long)]
    allow_software_android_key: bool,
    /// Check the android-safetynet timestampMs against the verification time
    /// with this skew, in seconds (default: not checked offline).
    #[arg(long, value_name = "SECS")]
    safetynet_skew: Option<u64>,
    /// FIDO metadata: a BLOB (.jwt), a decoded payload, a statement file
    /// or a folder of them (repeat).
    #[arg(long = "metadata", value_name = "PATH")]
    metadata: Vec<PathBuf>,
    /// A root a metadata BLOB may chain to, besides the shipped
    /// GlobalSign Root CA - R3 (PEM; repeat).
    #[arg(long = "metadata-root", value_name = "PEM")]
    metadata_roots: Vec<PathBuf>,
    /// The credential JSON file, or - for standard input.
    #[arg(value_name = "FILE|-", default_value = "-")]
    input: String,
}

pub(crate) fn run(cmd: VerifyCommand) -> ExitCode {
    let (name, result) = match cmd {
        VerifyCommand::Webauthn(args) => ("webauthn", webauthn(&args)),
        VerifyCommand::Uaf(args) => ("uaf", uaf(&args)),
    };
    result.unwrap_or_else(|message| {
        eprintln!("fidogate verify {name}: {message}");
        ExitCode::from(EXIT_USAGE)
    })
}

fn uaf(args: &UafArgs) -> Result<ExitCode, String> {
    use fidogate_core::uaf::{
        RegistrationPolicy, ServerDataCheck, UafExpectations, verify_registration_response,
    };
    if b64::decode(&args.challenge).is_err() {
        return Err(format!("--challenge {:?} is not base64url", args.challenge));
    }
    let expected = UafExpectations {
        app_id: args.app_id.clone(),
        challenge: args.challenge.clone(),
        trusted_facets: args.facet_ids.clone(),
        policy: if args.aaids.is_empty() {
            RegistrationPolicy::any()
        } else {
            RegistrationPolicy::aaids(&args.aaids)
        },
        // With metadata, trust is decided after its statement's roots too.
        require_trusted: args.require_trusted && args.metadata.is_empty(),
    };
    let mut anchors = TrustAnchors::new();
    for p in &args.roots {
        for a in roots::load(p)? {
            anchors.add_global(a);
        }
    }
    let time = verification_time(args.time.as_deref())?;
    let metadata = load_metadata(&args.metadata, &args.metadata_roots, time)?;
    let input = read_input(&args.input)?;
    let value: serde_json::Value =
        serde_json::from_slice(&input).map_err(|e| format!("{} is not JSON: {e}", args.input))?;
    // serverData is the gateway's to check: offline it is skipped.
    Ok(
        match verify_registration_response(&value, &expected, ServerDataCheck::Skip, &anchors, time)
        {
            Ok(regs) => {
                let mut registrations = Vec::new();
                for r in &regs {
                    let (described, by_statement) =
                        match metadata.as_ref().map(|m| m.check_uaf(r, time)) {
                            Some(Err(e)) => return Ok(rejected(e.class(), e.to_string())),
                            Some(Ok(Some(v))) => (Some(verdict_json(&v)), v.trusted),
                            Some(Ok(None)) | None => (None, false),
                        };
                    let trusted = r.trusted || by_statement;
                    if args.require_trusted && !trusted {
                        return Ok(rejected(
                            ErrorClass::Untrusted,
                            format!(
                                "AAID {}: {} attestation chains neither to a trust anchor nor to its metadata statement's roots, and --require-trusted is set",
                                r.aaid,
                                r.attestation.as_str()
                            ),
                        ));
                    }
                    let mut one = json!({
                            "aaid": r.aaid,
                            "key_id": b64::encode(&r.key_id),
                            "public_key": b64::encode(&r.public_key),
                            "public_key_encoding": r.public_key_encoding.name(),
                            "sign_counter": r.sign_counter,
                            "reg_counter": r.reg_counter,
                            "authenticator_version": r.authenticator_version,
                            "attestation": r.attestation.as_str(),
                            "trusted": trusted,
                    });
                    if let (Some(m), Some(obj)) = (described, one.as_object_mut()) {
                        obj.insert("metadata".to_owned(), m);
                    }
                    registrations.push(one);
                }
                println!("{}", json!({"ok": true, "registrations": registrations}));
                ExitCode::from(EXIT_ACCEPTED)
            }
            Err(e) => rejected(e.class(), e.to_string()),
        },
    )
}

/// Reads FILE or standard input, bounded.
pub(crate) fn read_input(input: &str) -> Result<Vec<u8>, String> {
    let mut buf = Vec::new();
    let res = if input == "-" {
        std::io::stdin().take(MAX_INPUT + 1).read_to_end(&mut buf)
    } else {
        std::fs::File::open(input).and_then(|f| f.take(MAX_INPUT + 1).read_to_end(&mut buf))
    };
    res.map_err(|e| format!("cannot read {input}: {e}"))?;
    if buf.len() as u64 > MAX_INPUT {
        return Err(format!("{input} is larger than {MAX_INPUT} bytes"));
    }
    Ok(buf)
}

/// Parses `--time`, or reads the clock.
pub(crate) fn verification_time(time: Option<&str>) -> Result<UnixTime, String> {
    match time {
        None => Ok(UnixTime::from_system(std::time::SystemTime::now())),
        Some(t) => time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339)
            .map(|dt| UnixTime::from_secs(dt.unix_timestamp()))
            .map_err(|e| format!("--time {t:?} is not RFC 3339: {e}")),
    }
}

/// The `--metadata` files, verified at `time` (`None` when there are none).
fn load_metadata(
    paths: &[PathBuf],
    extra_roots: &[PathBuf],
    time: UnixTime,
) -> Result<Option<fidogate_core::metadata::Metadata>, String> {
    if paths.is_empty() {
        if !extra_roots.is_empty() {
            return Err("--metadata-root needs --metadata".into());
        }
        return Ok(None);
    }
    let roots = fidogate_proxy::metadata_files::roots(extra_roots).map_err(|e| e.to_string())?;
    let loaded = fidogate_proxy::metadata_files::load(paths, &roots, time)
        .map_err(|e| format!("--metadata {e}"))?;
    if let Some(b) = &loaded.blob
        && b.stale(time)
    {
        eprintln!(
            "fidogate verify: warning: the metadata BLOB {} is past its nextUpdate ({})",
            b.path,
            b.next_update.map(|d| d.to_iso()).unwrap_or_default()
        );
    }
    Ok(Some(loaded.metadata))
}

/// The success JSON's `metadata` member.
fn verdict_json(v: &fidogate_core::metadata::MetadataVerdict) -> serde_json::Value {
    json!({
        "description": v.description,
        "status": v.status,
        "certification": v.certification,
        "effective_date": v.effective_date,
        "source": v.source.as_str(),
        "unlisted_algorithm": v.unlisted_algorithm,
    })
}

/// Loads every `--roots` path as anchors for all formats.
fn load_anchors(paths: &[PathBuf]) -> Result<TrustAnchors, String> {
    let mut anchors = TrustAnchors::new();
    for p in paths {
        for a in roots::load(p)? {
            anchors.add_global(a);
        }
    }
    Ok(anchors)
}

/// Prints the rejection object and returns exit status 1.
pub(crate) fn rejected(class: ErrorClass, message: String) -> ExitCode {
    println!(
        "{}",
        json!({"ok": false, "error": {"class": class.as_str(), "message": message}})
    );
    ExitCode::from(EXIT_REJECTED)
}

fn webauthn(args: &WebauthnArgs) -> Result<ExitCode, String> {
    let challenge = b64::decode(&args.challenge)
        .map_err(|_| format!("--challenge {:?} is not base64url", args.challenge))?;
    let algorithms = if args.algs.is_empty() {
        CoseAlgorithm::CREDENTIAL.to_vec()
    } else {
        args.algs
            .iter()
            .map(|a| {
                CoseAlgorithm::from_id(*a)
                    .ok_or_else(|| format!("--alg {a} is not a supported credential algorithm"))
            })
            .collect::<Result<_, _>>()?
    };
    let rp = RelyingParty {
        rp_id: args.rp_id.clone(),
        origins: args.origins.clone(),
        top_origins: args.top_origins.clone(),
        algorithms,
    };
    let policy = Policy {
        user_verification: if args.require_uv {
            UserVerification::Required
        } else {
            UserVerification::Preferred
        },
        // With metadata, trust is decided after its statement's roots too.
        accept_untrusted: !args.require_trusted || !args.metadata.is_empty(),
        allow_sha1_tpm: !args.reject_sha1_tpm,
        android_key_require_tee: !args.allow_software_android_key,
        safetynet_timestamp_skew: args.safetynet_skew.map(Duration::from_secs),
        ..Policy::default()
    };
    let anchors = load_anchors(&args.roots)?;
    let time = verification_time(args.time.as_deref())?;
    let metadata = load_metadata(&args.metadata, &args.metadata_roots, time)?;
    let input = read_input(&args.input)?;
    let value: serde_json::Value =
        serde_json::from_slice(&input).map_err(|e| format!("{} is not JSON: {e}", args.input))?;
    let credential = match RegistrationCredential::from_value(&value) {
        Ok(c) => c,
        Err(e) => return Ok(rejected(ErrorClass::Malformed, format!("credential: {e}"))),
    };
    Ok(
        match verify_registration(&credential, &challenge, &rp, &anchors, &policy, time) {
            Ok(reg) => {
                let (described, by_statement) =
                    match metadata.as_ref().map(|m| m.check_webauthn(&reg, time)) {
                        Some(Err(e)) => return Ok(rejected(e.class(), e.to_string())),
                        Some(Ok(Some(v))) => (Some(verdict_json(&v)), v.trusted),
                        Some(Ok(None)) | None => (None, false),
                    };
                let trusted = reg.trusted || by_statement;
                if args.require_trusted && !trusted {
                    return Ok(rejected(
                        ErrorClass::Untrusted,
                        format!(
                            "{} attestation ({}) chains neither to a trust anchor nor to its metadata statement's roots, and --require-trusted is set",
                            reg.fmt.id(),
                            reg.attestation_type.as_str()
                        ),
                    ));
                }
                let mut out = json!({
                    "ok": true,
                    "fmt": reg.fmt.id(),
                    "attestation_type": reg.attestation_type.as_str(),
                    "trusted": trusted,
                    "aaguid": reg.aaguid_string(),
                    "credential_id": b64::encode(&reg.credential_id),
                    "public_key": b64::encode(&reg.public_key),
                    "alg": reg.alg,
                    "sign_count": reg.sign_count,
                    "flags": {"up": reg.flags.up(), "uv": reg.flags.uv(), "be": reg.flags.be(), "bs": reg.flags.bs()},
                });
                if let (Some(m), Some(obj)) = (described, out.as_object_mut()) {
                    obj.insert("metadata".to_owned(), m);
                }
                println!("{out}");
                ExitCode::from(EXIT_ACCEPTED)
            }
            Err(e) => rejected(e.class(), e.to_string()),
        },
    )
}
