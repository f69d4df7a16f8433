#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    reason = "test code"
)]
//! The configuration file: the shipped files are valid, every error names
//! the file and the key, environment overrides, key files made once.

use fidogate_proxy::config::{KeyOrigin, load, load_keys};
use std::path::{Path, PathBuf};
use std::process::Command;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn temp_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("fidogate-config-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const MINIMAL: &str = "upstream: [\"127.0.0.1:3000\"]\ngateway:\n  rp: {id: example.com, origins: [\"https://example.com\"]}\n  routes: [{name: p, dialect: webauthn}]\n";

fn error_for(yaml: &str) -> (String, String) {
    let d = temp_dir("err");
    let f = d.join("bad.yaml");
    std::fs::write(&f, yaml).unwrap();
    let e = load(&f, &no_env).unwrap_err();
    assert_eq!(e.file, f.display().to_string());
    (e.key, e.problem)
}

#[test]
fn shipped_files_are_valid() {
    let mut n = 0;
    for entry in std::fs::read_dir(repo().join("config")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "yaml") {
            let loaded = load(&p, &no_env).unwrap_or_else(|e| panic!("{e}"));
            assert!(!loaded.file.gateway.routes.is_empty(), "{}", p.display());
            n += 1;
        }
    }
    assert!(n >= 5, "the default and one file per dialect");
    let default = load(&repo().join("config/fidogate.yaml"), &no_env).unwrap();
    let dialects: Vec<_> = default
        .file
        .gateway
        .routes
        .iter()
        .map(|r| r.dialect.as_str())
        .collect();
    assert_eq!(dialects, ["webauthn", "nevis", "dfns", "uaf"]);
}

#[test]
fn errors_name_the_key() {
    let cases = [
        (format!("{MINIMAL}colour: red\n"), "colour", "unknown field"),
        (
            MINIMAL.replace("webauthn", "magic"),
            "gateway.routes[0].dialect",
            "unknown variant",
        ),
        (
            MINIMAL.replace("{name: p,", "{name: p, ttl: 5,"),
            "gateway.routes[0].ttl",
            "unknown field `ttl`",
        ),
        (
            MINIMAL.replace("127.0.0.1:3000", "localhost"),
            "upstream[0]",
            "IP:port",
        ),
        (format!("{MINIMAL}threads: 0\n"), "threads", "1 to 256"),
        (format!("{MINIMAL}log_level: loud\n"), "log_level", "one of"),
        (
            MINIMAL.replace("  routes:", "  body_limit: 70000\n  routes:"),
            "gateway.body_limit",
            "65536",
        ),
        (
            MINIMAL.replace("[\"https://example.com\"]", "[]"),
            "gateway.rp.origins",
            "at least one",
        ),
        (
            MINIMAL.replace("dialect: webauthn", "dialect: uaf"),
            "gateway.uaf.app_id",
            "uaf routes",
        ),
        (
            MINIMAL.replace(
                "dialect: webauthn}",
                "dialect: webauthn, algorithms: [-7, -9999]}",
            ),
            "gateway.routes[0].algorithms",
            "-9999 is not a supported COSE algorithm",
        ),
        (
            MINIMAL.replace("  routes:", "  webauthn: {algorithms: []}\n  routes:"),
            "gateway.webauthn.algorithms",
            "at least one",
        ),
        (
            format!("{MINIMAL}trust_anchors: [{{path: missing.pem}}]\n"),
            "trust_anchors[0].path",
            "cannot read",
        ),
        (
            "threads: 2\n".to_owned(),
            "(file)",
            "missing field `upstream`",
        ),
        (
            "upstream: [\"127.0.0.1:1\"]\ngateway: {}\n".to_owned(),
            "gateway",
            "missing field `rp`",
        ),
    ];
    for (yaml, key, problem) in cases {
        let (k, p) = error_for(&yaml);
        assert_eq!(k, key, "{yaml}");
        assert!(p.contains(problem), "{key}: {p}");
    }
}

#[test]
fn environment_overrides_listen_and_upstream() {
    let d = temp_dir("env");
    let f = d.join("c.yaml");
    std::fs::write(&f, MINIMAL).unwrap();
    let env = |k: &str| match k {
        "FIDOGATE_LISTEN" => Some("127.0.0.1:9001, 127.0.0.1:9002".to_owned()),
        "FIDOGATE_UPSTREAM" => Some("127.0.0.1:4000".to_owned()),
        _ => None,
    };
    let loaded = load(&f, &env).unwrap();
    assert_eq!(loaded.listen.len(), 2);
    assert_eq!(loaded.upstream[0].port(), 4000);
    let bad = |k: &str| (k == "FIDOGATE_UPSTREAM").then(|| "nowhere".to_owned());
    assert_eq!(load(&f, &bad).unwrap_err().key, "upstream[0]");
}

#[test]
fn keys_are_generated_once_then_read() {
    let d = temp_dir("keys");
    let f = d.join("c.yaml");
    std::fs::write(&f, MINIMAL).unwrap();
    let loaded = load(&f, &no_env).unwrap();
    let (first, origins) = load_keys(&loaded).unwrap();
    assert!(origins.iter().all(|o| matches!(o, KeyOrigin::Generated(_))));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(d.join("fidogate-signing-key.pem"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    let (second, origins) = load_keys(&loaded).unwrap();
    assert!(origins.iter().all(|o| matches!(o, KeyOrigin::Read(_))));
    assert_eq!(first.signer.kid(), second.signer.kid());
    assert_eq!(first.secret, second.secret);
    // A damaged key file is an error naming it, not a new key.
    std::fs::write(d.join("fidogate-signing-key.pem"), "garbage").unwrap();
    let e = load_keys(&loaded).unwrap_err();
    assert_eq!(e.key, "signing_key_file");
}

/// A device or a folder where a file is named: refused at once by key,
/// never read (a /dev/zero trust anchor would otherwise never end).
#[cfg(unix)]
#[test]
fn files_that_are_not_regular_are_refused_by_key_without_reading_them() {
    let started = std::time::Instant::now();
    let (key, problem) = error_for(&format!("{MINIMAL}trust_anchors: [{{path: /dev/zero}}]\n"));
    assert_eq!(key, "trust_anchors[0].path");
    assert!(problem.ends_with("is not a regular file"), "{problem}");
    let (key, problem) = error_for(&format!(
        "{MINIMAL}upstream_tls: {{sni: app.internal, ca_file: /dev/urandom}}\n"
    ));
    assert_eq!(key, "upstream_tls.ca_file");
    assert!(problem.ends_with("is not a regular file"), "{problem}");
    let d = temp_dir("folder-config");
    let e = load(&d, &no_env).unwrap_err();
    assert_eq!(
        (e.key.as_str(), e.problem.as_str()),
        ("(file)", "is not a regular file")
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    let (key, _) = error_for(&format!("{MINIMAL}upstream_timeout_secs: 0\n"));
    assert_eq!(key, "upstream_timeout_secs");
}

/// Past their bounds: a configuration over 1 MiB, a secret over 64 KiB
/// (sparse files: refused by their length, never read).
#[test]
fn oversized_configuration_and_secret_files_are_refused_by_length() {
    let d = temp_dir("oversized");
    let f = d.join("big.yaml");
    std::fs::File::create(&f)
        .unwrap()
        .set_len(1024 * 1024 + 1)
        .unwrap();
    let e = load(&f, &no_env).unwrap_err();
    assert_eq!(e.key, "(file)");
    assert_eq!(e.problem, "is 1048577 bytes; at most 1048576 are read");
    let f = d.join("c.yaml");
    std::fs::write(&f, MINIMAL).unwrap();
    let loaded = load(&f, &no_env).unwrap();
    load_keys(&loaded).unwrap();
    let secret = d.join("fidogate-secret");
    std::fs::OpenOptions::new()
        .write(true)
        .open(&secret)
        .unwrap()
        .set_len(64 * 1024 + 1)
        .unwrap();
    let e = load_keys(&loaded).unwrap_err();
    assert_eq!(e.key, "secret_file");
    assert_eq!(e.problem, "is 65537 bytes; at most 65536 are read");
}

/// Found by the config_yaml fuzz target: a key that is an empty string
/// was named as nothing at all (`file: : unknown field`).
#[test]
fn keys_that_are_empty_or_not_plain_names_are_quoted() {
    let (key, problem) = error_for("\"\": 1\n");
    assert_eq!(key, "\"\"");
    assert!(problem.contains("unknown field"), "{problem}");
    let (key, _) = error_for(&format!("{MINIMAL}\"two words\": 1\n"));
    assert_eq!(key, "\"two words\"");
    let (key, _) = error_for(&MINIMAL.replace(
        "routes: [{name: p, dialect: webauthn}]",
        "routes: [{name: p, dialect: webauthn, \"\": 2}]",
    ));
    assert_eq!(key, "gateway.routes[0].\"\"");
    let e = load(
        Path::new("/tmp/fuzz-crash-regression-missing.yaml"),
        &no_env,
    )
    .unwrap_err();
    assert_eq!(e.key, "(file)");
}

#[cfg(unix)]
#[test]
fn key_and_secret_files_of_the_wrong_kind_or_mode_are_named_at_start() {
    use std::os::unix::fs::PermissionsExt;
    let d = temp_dir("key-modes");
    let f = d.join("c.yaml");
    std::fs::write(&f, MINIMAL).unwrap();
    let loaded = load(&f, &no_env).unwrap();
    load_keys(&loaded).unwrap();
    let key = d.join("fidogate-signing-key.pem");
    let secret = d.join("fidogate-secret");
    let chmod = |p: &Path, mode: u32| {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    // Readable by others, or writable by the group: refused, naming the file and its mode.
    for (path, mode, name) in [
        (&key, 0o644, "signing_key_file"),
        (&key, 0o660, "signing_key_file"),
        (&secret, 0o604, "secret_file"),
    ] {
        chmod(path, mode);
        let e = load_keys(&loaded).unwrap_err();
        assert_eq!(e.key, name, "{e}");
        assert_eq!(e.file, path.display().to_string());
        assert!(e.problem.contains(&format!("mode {mode:04o}")), "{e}");
        assert!(e.problem.contains("chmod 600"), "{e}");
        chmod(path, 0o600);
    }
    // A service group may read them.
    chmod(&secret, 0o640);
    load_keys(&loaded).unwrap();
    // Not a regular file: a folder in the secret's place.
    std::fs::remove_file(&secret).unwrap();
    std::fs::create_dir(&secret).unwrap();
    let e = load_keys(&loaded).unwrap_err();
    assert_eq!(
        (e.key.as_str(), e.problem.as_str()),
        ("secret_file", "is not a regular file")
    );
    std::fs::remove_dir(&secret).unwrap();
    // Unreadable: a dangling link (a secret that cannot be opened is not regenerated over).
    std::os::unix::fs::symlink(d.join("nowhere"), &secret).unwrap();
    let e = load_keys(&loaded).unwrap_err();
    assert_eq!(e.key, "secret_file");
    assert!(e.problem.starts_with("cannot"), "{e}");
    assert!(
        !d.join("nowhere").exists(),
        "nothing written through the link"
    );
}

/// `fidogate run` on a full disk: a shell that ignores SIGXFSZ and may
/// write no byte (`ulimit -f 0`) runs it, as a disk without room would.
#[cfg(unix)]
#[test]
fn a_full_disk_at_the_first_start_is_named_and_leaves_no_cut_key_behind() {
    let bin = env!("CARGO_BIN_EXE_fidogate");
    let d = temp_dir("full-disk");
    let f = d.join("c.yaml");
    std::fs::write(&f, MINIMAL).unwrap();
    let out = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f 0; exec '{bin}' run --config '{}'",
            f.display()
        ))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("fidogate-signing-key.pem"), "{stderr}");
    assert!(stderr.contains("cannot write"), "{stderr}");
    let left: Vec<_> = std::fs::read_dir(&d)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(left, ["c.yaml"], "nothing half-written is left");
    // With room again, the next start generates both, whole.
    let loaded = load(&f, &no_env).unwrap();
    let (keys, origins) = load_keys(&loaded).unwrap();
    assert!(origins.iter().all(|o| matches!(o, KeyOrigin::Generated(_))));
    assert_eq!(keys.secret.len(), 32);
}

#[test]
fn check_config_exit_statuses() {
    let bin = env!("CARGO_BIN_EXE_fidogate");
    let ok = Command::new(bin)
        .args(["check-config", "--config"])
        .arg(repo().join("config/fidogate.yaml"))
        .output()
        .unwrap();
    assert_eq!(
        ok.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let d = temp_dir("cli");
    let f = d.join("bad.yaml");
    std::fs::write(&f, format!("{MINIMAL}colour: red\n")).unwrap();
    let bad = Command::new(bin)
        .args(["check-config", "--config"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&bad.stderr);
    assert!(
        stderr.contains("bad.yaml: colour: unknown field"),
        "{stderr}"
    );
    // check-config never writes key files.
    assert!(!d.join("fidogate-signing-key.pem").exists());
}

#[test]
fn truncated_files_are_errors_naming_the_file_never_panics() {
    let text = std::fs::read_to_string(repo().join("config/fidogate.yaml")).unwrap();
    let d = temp_dir("cut");
    let f = d.join("cut.yaml");
    let mut refused = 0;
    let lines: Vec<&str> = text.lines().collect();
    for n in 0..lines.len() {
        std::fs::write(&f, lines[..n].join("\n")).unwrap();
        if let Err(e) = load(&f, &no_env) {
            assert_eq!(e.file, f.display().to_string());
            assert!(!e.key.is_empty() && !e.problem.is_empty(), "{e}");
            refused += 1;
        }
    }
    // Every cut before the first route loses a required key (upstream,
    // gateway, its rp or routes) and must be refused.
    assert!(refused > lines.len() / 2, "{refused} of {}", lines.len());
    // Cut inside a line: a broken flow sequence.
    std::fs::write(&f, "upstream: [\"127.0.0.1:3000\"").unwrap();
    assert_eq!(load(&f, &no_env).unwrap_err().key, "upstream");
}

#[test]
fn the_challenge_store_keys_are_checked_by_name() {
    let with = |store: &str| {
        MINIMAL.replace(
            "gateway:\n",
            &format!("gateway:\n  challenge_store: {store}\n"),
        )
    };
    struct Case {
        store: &'static str,
        key: &'static str,
        problem: &'static str,
    }
    let cases = [
        Case {
            store: "{kind: redis}",
            key: "gateway.challenge_store.url",
            problem: "is needed by kind redis",
        },
        Case {
            store: "{kind: redis, url: \"http://127.0.0.1:6379\"}",
            key: "gateway.challenge_store.url",
            problem: "redis://",
        },
        Case {
            store: "{kind: redis, url: \"redis://127.0.0.1:notaport/0\"}",
            key: "gateway.challenge_store.url",
            problem: "",
        },
        Case {
            store: "{url: \"redis://127.0.0.1:6379/0\"}",
            key: "gateway.challenge_store.url",
            problem: "only for kind redis",
        },
        Case {
            store: "{kind: redis, url: \"redis://127.0.0.1:6379/0\", timeout_ms: 0}",
            key: "gateway.challenge_store.timeout_ms",
            problem: "1 to 60000",
        },
        Case {
            store: "{kind: valkey}",
            key: "gateway.challenge_store.kind",
            problem: "unknown variant",
        },
        Case {
            store: "{kind: redis, url: \"redis://127.0.0.1:6379/0\", pool: 4}",
            key: "gateway.challenge_store.pool",
            problem: "unknown field",
        },
    ];
    for c in cases {
        let (key, problem) = error_for(&with(c.store));
        assert_eq!(key, c.key, "{}", c.store);
        assert!(problem.contains(c.problem), "{}: {problem}", c.store);
    }
    let d = temp_dir("store-ok");
    let f = d.join("ok.yaml");
    std::fs::write(&f, with("{kind: redis, url: \"rediss://:pw@127.0.0.1:6380/1\", key_prefix: \"a:\", timeout_ms: 150}")).unwrap();
    let loaded = load(&f, &no_env).unwrap();
    assert_eq!(loaded.file.gateway.challenge_store.timeout_ms, 150);
}

#[test]
fn run_refuses_to_start_when_redis_does_not_answer() {
    // A port just freed: nothing listens there, connections are refused.
    let reserved = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = reserved.local_addr().unwrap().port();
    drop(reserved);
    let d = temp_dir("store-down");
    let f = d.join("down.yaml");
    let url = format!("redis://:hunter2@127.0.0.1:{port}/0");
    std::fs::write(
        &f,
        MINIMAL.replace(
            "gateway:\n",
            &format!(
                "gateway:\n  challenge_store: {{kind: redis, url: \"{url}\", timeout_ms: 300}}\n"
            ),
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_fidogate"))
        .args(["run", "--config"])
        .arg(&f)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Redis does not answer PING"), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    assert!(!err.contains("hunter2"), "the password is not shown: {err}");
}

#[test]
fn the_redis_ca_file_is_read_at_start_and_named_when_wrong() {
    let d = temp_dir("store-ca");
    std::fs::write(d.join("not-pem.pem"), "hello\n").unwrap();
    let ca = fidogate_testkit::certs::root_ca(
        "redis CA",
        fidogate_testkit::keys::SigningKey::generate(fidogate_testkit::keys::alg::ES256, 80),
    );
    std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
    let at = |store: &str| {
        let f = d.join("store.yaml");
        std::fs::write(
            &f,
            MINIMAL.replace(
                "gateway:\n",
                &format!("gateway:\n  challenge_store: {store}\n"),
            ),
        )
        .unwrap();
        load(&f, &no_env)
    };
    struct Case {
        name: &'static str,
        store: &'static str,
        problem: &'static str,
    }
    let cases = [
        Case {
            name: "with a plain redis:// URL",
            store: "{kind: redis, url: \"redis://127.0.0.1:6379/0\", ca_file: ca.pem}",
            problem: "only for a rediss:// URL",
        },
        Case {
            name: "missing",
            store: "{kind: redis, url: \"rediss://127.0.0.1:6379/0\", ca_file: nowhere.pem}",
            problem: "cannot read",
        },
        Case {
            name: "not PEM",
            store: "{kind: redis, url: \"rediss://127.0.0.1:6379/0\", ca_file: not-pem.pem}",
            problem: "no CERTIFICATE block",
        },
    ];
    for c in cases {
        let e = at(c.store).unwrap_err();
        assert_eq!(e.key, "gateway.challenge_store.ca_file", "{}", c.name);
        assert!(e.problem.contains(c.problem), "{}: {}", c.name, e.problem);
    }
    let loaded = at("{kind: redis, url: \"rediss://127.0.0.1:6379/0\", ca_file: ca.pem}").unwrap();
    assert_eq!(loaded.redis_roots.as_deref(), Some(ca.pem().as_bytes()));
}

#[test]
fn run_speaks_tls_to_redis_and_refuses_a_certificate_it_does_not_trust() {
    if !fidogate_tests::redis::available() {
        return;
    }
    use fidogate_testkit::certs::{root_ca, tls_server};
    use fidogate_testkit::keys::{SigningKey, alg};
    let d = temp_dir("store-tls");
    let ca = root_ca("redis CA", SigningKey::generate(alg::ES256, 81));
    let (server, key) = tls_server(&["127.0.0.1"], 82, &ca);
    std::fs::write(d.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(d.join("cert.pem"), server.pem()).unwrap();
    std::fs::write(d.join("key.pem"), key).unwrap();
    let redis =
        fidogate_tests::redis::RedisServer::start_tls(&d.join("cert.pem"), &d.join("key.pem"));
    let url = redis.tls_url().unwrap();
    let config = |name: &str, ca_file: &str| {
        let f = d.join(name);
        let yaml = MINIMAL
            .replace(
                "gateway:\n",
                &format!(
                    "gateway:\n  challenge_store: {{kind: redis, url: \"{url}\", timeout_ms: 2000{ca_file}}}\n"
                ),
            )
            .replace("upstream:", "listen: [\"127.0.0.1:0\"]\nupstream:");
        std::fs::write(&f, yaml).unwrap();
        f
    };
    // Without the CA the public web roots are asked, and refuse.
    let out = Command::new(env!("CARGO_BIN_EXE_fidogate"))
        .args(["run", "--config"])
        .arg(config("untrusted.yaml", ""))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("Redis does not answer PING"), "{err}");
    assert!(err.contains(&url), "{err}");
    assert!(err.to_lowercase().contains("certificate"), "{err}");
    // With it, the gateway starts and its store answers over TLS.
    let ca_file = d.join("ca.pem").display().to_string();
    let trusted =
        std::fs::read_to_string(config("trusted.yaml", &format!(", ca_file: \"{ca_file}\"")))
            .unwrap();
    let run = fidogate_tests::process::GatewayProcess::start(
        std::path::Path::new(env!("CARGO_BIN_EXE_fidogate")),
        &trusted,
        &[],
    );
    let mut s = std::net::TcpStream::connect(run.addr).unwrap();
    use std::io::{Read as _, Write as _};
    s.write_all(b"GET /healthz HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn tls_listener_files_are_checked_at_start_and_named() {
    use fidogate_testkit::certs::{pkcs8_pem, root_ca, tls_server, tls_server_for};
    use fidogate_testkit::keys::{SigningKey, alg};
    let d = temp_dir("tls");
    let ca = root_ca("TLS CA", SigningKey::generate(alg::ES256, 83));
    let (cert, key) = tls_server(&["127.0.0.1"], 84, &ca);
    let (_, other_key) = tls_server(&["127.0.0.1"], 85, &ca);
    let rsa = SigningKey::generate(alg::RS256, 86);
    let rsa_pkcs1 = rsa.traditional_pem().unwrap();
    let rsa_cert = tls_server_for(&["127.0.0.1"], rsa, &ca);
    let ec = SigningKey::generate(alg::ES256, 87);
    let ec_sec1 = ec.traditional_pem().unwrap();
    assert!(ec_sec1.contains("EC PRIVATE KEY") && rsa_pkcs1.contains("RSA PRIVATE KEY"));
    let ec_cert = tls_server_for(&["127.0.0.1"], ec, &ca);
    for (name, text) in [
        ("cert.pem", cert.pem()),
        ("key.pem", key.clone()),
        ("other-key.pem", other_key),
        (
            "garbage.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n".to_owned(),
        ),
        ("empty.pem", String::new()),
        ("rsa-cert.pem", rsa_cert.pem()),
        ("rsa-pkcs1.pem", rsa_pkcs1),
        ("ec-cert.pem", ec_cert.pem()),
        ("ec-sec1.pem", ec_sec1),
        ("pkcs8-of-ca.pem", pkcs8_pem(&ca.key.pkcs8_der())),
    ] {
        std::fs::write(d.join(name), text).unwrap();
    }
    let with = |cert: &str, key: &str| {
        let f = d.join("tls.yaml");
        std::fs::write(
            &f,
            format!(
                "listen:\n  - \"127.0.0.1:8080\"\n  - address: \"127.0.0.1:8443\"\n    tls: {{ cert_file: {cert}, key_file: {key} }}\n{MINIMAL}"
            ),
        )
        .unwrap();
        load(&f, &no_env)
    };
    struct Case {
        name: &'static str,
        cert: &'static str,
        key: &'static str,
        key_named: &'static str,
        problem: &'static str,
    }
    let cases = [
        Case {
            name: "certificate missing",
            cert: "nowhere.pem",
            key: "key.pem",
            key_named: "listen[1].tls.cert_file",
            problem: "cannot read",
        },
        Case {
            name: "certificate not PEM",
            cert: "garbage.pem",
            key: "key.pem",
            key_named: "listen[1].tls.cert_file",
            problem: "not a PEM certificate chain",
        },
        Case {
            name: "certificate file empty",
            cert: "empty.pem",
            key: "key.pem",
            key_named: "listen[1].tls.cert_file",
            problem: "no CERTIFICATE block",
        },
        Case {
            name: "key missing",
            cert: "cert.pem",
            key: "nowhere.pem",
            key_named: "listen[1].tls.key_file",
            problem: "cannot read",
        },
        Case {
            name: "key file holds a certificate",
            cert: "cert.pem",
            key: "cert.pem",
            key_named: "listen[1].tls.key_file",
            problem: "no PKCS#8, SEC1 or PKCS#1 private key",
        },
        Case {
            name: "another key",
            cert: "cert.pem",
            key: "other-key.pem",
            key_named: "listen[1].tls.key_file",
            problem: "does not match the certificate",
        },
        Case {
            name: "the CA's key",
            cert: "cert.pem",
            key: "pkcs8-of-ca.pem",
            key_named: "listen[1].tls.key_file",
            problem: "does not match the certificate",
        },
    ];
    for c in cases {
        let e = with(c.cert, c.key).unwrap_err();
        assert_eq!(e.key, c.key_named, "{}", c.name);
        assert!(e.problem.contains(c.problem), "{}: {}", c.name, e.problem);
        let file = if c.key_named.ends_with("cert_file") {
            c.cert
        } else {
            c.key
        };
        assert!(
            e.problem.contains(file),
            "{}: the file is named: {}",
            c.name,
            e.problem
        );
    }
    // PKCS#8, SEC1 and PKCS#1 keys are accepted with their certificates.
    for (cert, key) in [
        ("cert.pem", "key.pem"),
        ("ec-cert.pem", "ec-sec1.pem"),
        ("rsa-cert.pem", "rsa-pkcs1.pem"),
    ] {
        let loaded = with(cert, key).unwrap_or_else(|e| panic!("{cert} + {key}: {e}"));
        assert!(loaded.listen[0].tls.is_none());
        assert!(loaded.listen[1].tls.is_some(), "{cert}");
    }
    // A misspelt key inside a listener is named.
    let f = d.join("typo.yaml");
    std::fs::write(
        &f,
        format!("listen:\n  - address: \"127.0.0.1:8443\"\n    tsl: {{ cert_file: cert.pem, key_file: key.pem }}\n{MINIMAL}"),
    )
    .unwrap();
    let e = load(&f, &no_env).unwrap_err();
    assert!(e.key.starts_with("listen[0]"), "{}", e.key);
    assert!(e.problem.contains("tsl"), "{}", e.problem);
    // check-config names the file and the key too.
    with("cert.pem", "other-key.pem").unwrap_err();
    let out = Command::new(env!("CARGO_BIN_EXE_fidogate"))
        .args(["check-config", "--config"])
        .arg(d.join("tls.yaml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listen[1].tls.key_file"), "{err}");
    assert!(err.contains("other-key.pem"), "{err}");
    let _ = std::fs::remove_dir_all(d);
}

#[test]
fn the_metrics_listener_and_the_limits_are_checked_by_name() {
    let with_top = |line: &str| format!("{line}\n{MINIMAL}");
    let (key, problem) = error_for(&with_top("metrics_listen: nowhere"));
    assert_eq!(key, "metrics_listen", "{problem}");
    let (key, problem) = error_for(&with_top(
        "listen: [\"127.0.0.1:8080\"]\nmetrics_listen: \"127.0.0.1:8080\"",
    ));
    assert_eq!(key, "metrics_listen");
    assert!(problem.contains("of their own"), "{problem}");
    let with = |gateway: &str| MINIMAL.replace("gateway:\n", &format!("gateway:\n  {gateway}\n"));
    for (yaml, want) in [
        (
            "rate_limit: { per_client_per_sec: 0, burst: 20 }",
            "gateway.rate_limit.per_client_per_sec",
        ),
        (
            "rate_limit: { per_client_per_sec: 10, burst: 0 }",
            "gateway.rate_limit.burst",
        ),
        (
            "rate_limit: { per_client_per_sec: 10 }",
            "gateway.rate_limit",
        ),
        (
            "rate_limit: { per_client_per_sec: 10, burst: 20, max_clients: 0 }",
            "gateway.rate_limit.max_clients",
        ),
        (
            "trusted_proxies: [\"10.0.0.0/33\"]",
            "gateway.trusted_proxies[0]",
        ),
        (
            "trusted_proxies: [\"10.0.0.0/8\", proxy.example]",
            "gateway.trusted_proxies[1]",
        ),
    ] {
        let (key, problem) = error_for(&with(yaml));
        assert_eq!(key, want, "{yaml}: {problem}");
    }
    let d = temp_dir("limits");
    let f = d.join("ok.yaml");
    std::fs::write(
        &f,
        with("rate_limit: { per_client_per_sec: 10, burst: 20 }\n  trusted_proxies: [\"10.0.0.0/8\", \"::1\"]"),
    )
    .unwrap();
    let loaded = load(&f, &no_env).unwrap();
    assert_eq!(loaded.file.gateway.rate_limit.unwrap().burst, 20);
}

#[test]
fn a_self_signed_listener_is_generated_only_when_both_files_are_missing() {
    let d = temp_dir("self-signed");
    let f = d.join("tls.yaml");
    let yaml = format!(
        "listen:\n  - address: \"127.0.0.1:8443\"\n    tls: {{ cert_file: c.pem, key_file: k.pem, self_signed: true }}\n{MINIMAL}"
    );
    std::fs::write(&f, &yaml).unwrap();
    let loaded = load(&f, &no_env).unwrap();
    let (cert, key) = loaded.listen[0].generate.clone().expect("to be generated");
    assert!(loaded.listen[0].tls.is_none());
    // check-config writes nothing.
    assert!(!cert.exists() && !key.exists());
    let made = fidogate_proxy::tls::generate_self_signed(&cert, &key).unwrap();
    let _ = made;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    // Both there now: read as any other.
    let loaded = load(&f, &no_env).unwrap();
    assert!(loaded.listen[0].tls.is_some() && loaded.listen[0].generate.is_none());
    // One missing: named, never regenerated over the other.
    std::fs::remove_file(&cert).unwrap();
    let e = load(&f, &no_env).unwrap_err();
    assert_eq!(e.key, "listen[0].tls.cert_file", "{e}");
    // Without self_signed, missing files are an error.
    std::fs::remove_file(&key).unwrap();
    std::fs::write(&f, yaml.replace(", self_signed: true", "")).unwrap();
    let e = load(&f, &no_env).unwrap_err();
    assert_eq!(e.key, "listen[0].tls.cert_file", "{e}");
}

#[test]
fn upstream_tls_is_checked_at_start_and_named() {
    let d = temp_dir("upstream-tls");
    let (key, problem) = error_for(&format!(
        "upstream_tls: {{ sni: \"not a name\" }}\n{MINIMAL}"
    ));
    assert_eq!(key, "upstream_tls.sni", "{problem}");
    let (key, problem) = error_for(&format!(
        "upstream_tls: {{ sni: app.internal, ca_file: {}/missing.pem }}\n{MINIMAL}",
        d.display()
    ));
    assert_eq!(key, "upstream_tls.ca_file");
    assert!(problem.contains("missing.pem"), "{problem}");
    let junk = d.join("junk.pem");
    std::fs::write(&junk, "no certificate here").unwrap();
    let (key, _) = error_for(&format!(
        "upstream_tls: {{ sni: app.internal, ca_file: {} }}\n{MINIMAL}",
        junk.display()
    ));
    assert_eq!(key, "upstream_tls.ca_file");
    let (key, _) = error_for(&format!(
        "upstream_tls: {{ sni: app.internal, verify: false }}\n{MINIMAL}"
    ));
    assert_eq!(key, "upstream_tls.verify");
}

#[test]
fn the_metadata_section_is_checked_by_key_at_start() {
    use fidogate_testkit::mds::MdsPki;
    let d = temp_dir("mds");
    let pki = MdsPki::new(980);
    let root = d.join("root.pem");
    std::fs::write(&root, pki.root.pem()).unwrap();
    let blob = |no: u64, next_update: &str| {
        pki.blob(&serde_json::json!({"legalHeader": "terms", "no": no, "nextUpdate": next_update, "entries": []}))
    };
    let good = d.join("blob.jwt");
    std::fs::write(&good, blob(5, "2049-01-01")).unwrap();
    let stale = d.join("stale.jwt");
    std::fs::write(&stale, blob(6, "2020-01-01")).unwrap();
    let junk = d.join("junk.pem");
    std::fs::write(&junk, "not a CRL").unwrap();
    let statements = d.join("statements");
    std::fs::create_dir_all(&statements).unwrap();
    std::fs::copy(&good, statements.join("a-blob.jwt")).unwrap();
    let with = |section: &str| {
        format!(
            "metadata:\n{}\n{MINIMAL}",
            section
                .replace("$GOOD", &good.display().to_string())
                .replace("$STALE", &stale.display().to_string())
                .replace("$ROOT", &root.display().to_string())
                .replace("$JUNK", &junk.display().to_string())
                .replace("$STATEMENTS", &statements.display().to_string())
        )
    };
    let ok = |section: &str| {
        let f = d.join("ok.yaml");
        std::fs::write(&f, with(section)).unwrap();
        load(&f, &no_env).unwrap_or_else(|e| panic!("{section}: {e}"))
    };
    let loaded = ok("  blob_file: $GOOD\n  roots: [$ROOT]");
    let (_, configured) = loaded.metadata.unwrap();
    assert_eq!(configured.loaded.blob.unwrap().no, 5);
    // stale: warn loads, with a warning.
    let (_, configured) = ok("  blob_file: $STALE\n  roots: [$ROOT]")
        .metadata
        .unwrap();
    assert!(
        configured
            .warnings
            .iter()
            .any(|w| w.contains("past its nextUpdate"))
    );
    for (section, key, problem) in [
        (
            "  blob_file: $GOOD",
            "metadata.blob_file",
            "does not lead to a configured metadata root",
        ),
        (
            "  blob_file: $STALE\n  roots: [$ROOT]\n  stale: reject",
            "metadata.blob_file",
            "stale is reject",
        ),
        (
            "  blob_file: $GOOD\n  roots: [$ROOT]\n  legal_headers: [\"other terms\"]",
            "metadata.blob_file",
            "legalHeader",
        ),
        (
            "  blob_file: $GOOD\n  roots: [$JUNK]",
            "metadata.roots[0]",
            "no CERTIFICATE block",
        ),
        (
            "  blob_file: $GOOD\n  roots: [$ROOT]\n  crl_files: [$JUNK]",
            "metadata.crl_files[0]",
            "CRL",
        ),
        (
            "  blob_file: $GOOD\n  roots: [$ROOT]\n  revocation: require",
            "metadata.crl_files",
            "no CRL file",
        ),
        (
            "  blob_file: $GOOD\n  revocation: sometimes",
            "metadata.revocation",
            "require, if_present or off",
        ),
        (
            "  blob_file: $GOOD\n  stale: ignore",
            "metadata.stale",
            "reject or warn",
        ),
        (
            "  statements: [$STATEMENTS]",
            "metadata.statements[0]",
            "name it in metadata.blob_file",
        ),
        (
            "  statements: [/nonexistent/s.json]",
            "metadata.statements[0]",
            "cannot read",
        ),
        (
            "  reload_secs: 5",
            "metadata",
            "neither a blob_file nor statements",
        ),
        (
            "  blob_file: $GOOD\n  roots: [$ROOT]\n  policy: { reject_statuses: [BROKEN] }",
            "metadata.policy.reject_statuses",
            "not an authenticator status",
        ),
        (
            "  blob_file: $GOOD\n  roots: [$ROOT]\n  policy: { require_certified: GOLD }",
            "metadata.policy.require_certified",
            "not a certification level",
        ),
        ("  blob_file: $GOOD\n  colour: blue", "metadata", "colour"),
    ] {
        let (k, p) = error_for(&with(section));
        assert!(k.starts_with(key), "{section}: {k}: {p}");
        assert!(p.contains(problem), "{section}: {k}: {p}");
    }
}

#[test]
fn the_state_file_keeps_no_from_going_backwards_and_a_blob_as_of_its_import() {
    use fidogate_proxy::metadata_files::{State, write_state};
    use fidogate_testkit::mds::MdsPki;
    let d = temp_dir("mds-state");
    let pki = MdsPki::new(985);
    let root = d.join("root.pem");
    std::fs::write(&root, pki.root.pem()).unwrap();
    let blob_file = d.join("blob.jwt");
    let state = d.join("state.json");
    let config = d.join("fidogate.yaml");
    std::fs::write(
        &config,
        format!(
            "metadata:\n  blob_file: {}\n  roots: [{}]\n  state_file: {}\n{MINIMAL}",
            blob_file.display(),
            root.display(),
            state.display()
        ),
    )
    .unwrap();
    let write_blob = |no: u64| {
        let b = pki.blob(&serde_json::json!({"no": no, "nextUpdate": "2049-01-01", "entries": []}));
        std::fs::write(&blob_file, &b).unwrap();
        b
    };
    let sha = |b: &str| -> String {
        fidogate_core::crypto::sha256(b.as_bytes())
            .iter()
            .map(|x| format!("{x:02x}"))
            .collect()
    };
    let b = write_blob(7);
    let (_, c) = load(&config, &no_env).unwrap().metadata.unwrap();
    let recorded = c.state.unwrap();
    assert_eq!(
        (recorded.no, recorded.sha256.as_str()),
        (7, sha(&b).as_str())
    );
    write_state(&state, &recorded).unwrap();
    // Lower or equal `no` in another file: refused by name.
    write_blob(6);
    let e = load(&config, &no_env).unwrap_err();
    assert_eq!(e.key, "metadata.blob_file");
    assert!(e.problem.contains("not higher than 7"), "{}", e.problem);
    // The file imported before is verified as of its import: recorded at
    // an instant the signer was not yet valid, it fails, which shows the
    // recorded instant is the one used.
    let b = write_blob(8);
    write_state(
        &state,
        &State {
            no: 8,
            sha256: sha(&b),
            verified_at: 1_000_000_000,
        },
    )
    .unwrap();
    let e = load(&config, &no_env).unwrap_err();
    assert!(e.problem.contains("2001-09-09"), "{}", e.problem);
    // A state file that is not one is named.
    std::fs::write(&state, "{").unwrap();
    assert_eq!(
        load(&config, &no_env).unwrap_err().key,
        "metadata.state_file"
    );
}
