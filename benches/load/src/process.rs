//! The processes of a run: pinned to CPUs, started, waited for, killed on
//! drop, and the `fidogate run` configuration they share.

use crate::cli::RunArgs;
use crate::{ORIGIN, PASS, RP, Res, procfs};
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// CPU lists for the process under test (the first allowed CPU) and for
/// everything else (the others), when there are two or more and
pub(crate) fn pins() -> Option<(String, String)> {
    let cpus = procfs::allowed_cpus();
    let (first, rest) = cpus.split_first()?;
    if rest.is_empty() {
        return None;
    }
    let others = rest
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(",");
    let works = Command::new("taskset")
        .args(["-c", &first.to_string(), "true"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    works.then(|| (first.to_string(), others))
}

/// A child process killed when dropped.
pub(crate) struct Proc {
    pub(crate) child: Child,
    pub(crate) what: String,
}

impl Proc {
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub(crate) struct Harness {
    pub(crate) exe: PathBuf,
    pub(crate) fidogate: PathBuf,
    /// CPU lists for the process under test and for everything else.
    pub(crate) pins: Option<(String, String)>,
    pub(crate) dir: PathBuf,
}

pub(crate) fn free_port() -> Res<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("no free port: {e}"))?;
    l.local_addr().map_err(|e| e.to_string())
}

/// Whether `GET /pass` answers 200 at `addr`.
fn answers(addr: SocketAddr) -> bool {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(200)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    let req = format!("GET {PASS} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    if s.write_all(req.as_bytes()).is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    s.read_exact(&mut head).is_ok() && head.starts_with(b"HTTP/1.1 200")
}

impl Drop for Harness {
    /// The scratch directory holds a generated signing key: it goes
    /// whether the run ended well or not.
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl Harness {
    pub(crate) fn new(args: &RunArgs) -> Res<Self> {
        let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
        let fidogate = match &args.fidogate {
            Some(p) => p.clone(),
            None => exe.with_file_name("fidogate"),
        };
        if !fidogate.is_file() {
            return Err(format!(
                "{}: not found; build it first: cargo build --release -p fidogate-proxy",
                fidogate.display()
            ));
        }
        let pins = if args.no_pin { None } else { pins() };
        let dir = std::env::temp_dir().join(format!("fidogate-load-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        Ok(Self {
            exe,
            fidogate,
            pins,
            dir,
        })
    }

    /// `program`, to run on the server CPU or on the others.
    pub(crate) fn command(&self, server: bool, program: &Path) -> Command {
        match &self.pins {
            Some((s, c)) => {
                let mut cmd = Command::new("taskset");
                cmd.arg("-c").arg(if server { s } else { c }).arg(program);
                cmd
            }
            None => Command::new(program),
        }
    }

    /// Starts `program args`, on the server CPU or the others.
    pub(crate) fn spawn(
        &self,
        server: bool,
        program: &Path,
        args: &[String],
        what: &str,
    ) -> Res<Proc> {
        let child = self
            .command(server, program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("start {what}: {e}"))?;
        Ok(Proc {
            child,
            what: what.to_owned(),
        })
    }

    /// Runs one of this binary's roles to the end and reads its JSON.
    pub(crate) fn output<T: serde::de::DeserializeOwned>(
        &self,
        server: bool,
        args: &[String],
        what: &str,
    ) -> Res<T> {
        let out = self
            .command(server, &self.exe)
            .args(args)
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("{what}: {e}"))?;
        if !out.status.success() {
            return Err(format!("{what} failed ({})", out.status));
        }
        serde_json::from_slice(&out.stdout).map_err(|e| format!("{what}: output: {e}"))
    }

    pub(crate) fn wait_ready(&self, p: &mut Proc, addr: SocketAddr) -> Res<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(status)) = p.child.try_wait() {
                return Err(format!("{} exited at start ({status})", p.what));
            }
            if answers(addr) {
                return Ok(());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("{} did not answer on {addr} within 20 s", p.what))
    }

    pub(crate) fn fidogate_config(
        &self,
        listen: SocketAddr,
        upstream: SocketAddr,
        threads: usize,
        redis: Option<&str>,
    ) -> Res<PathBuf> {
        write_fidogate_config(&self.dir, listen, upstream, threads, redis)
    }
}

/// The `fidogate run` configuration of the harness, with its trust anchor
/// and key files in `d`; the challenge store is the memory one, or Redis
/// at `redis`.
pub(crate) fn write_fidogate_config(
    d: &Path,
    listen: SocketAddr,
    upstream: SocketAddr,
    threads: usize,
    redis: Option<&str>,
) -> Res<PathBuf> {
    let store = match redis {
        Some(url) => format!(
            "  challenge_store:\n    kind: redis\n    url: {url}\n    key_prefix: \"fidogate-load:\"\n    timeout_ms: 200\n"
        ),
        None => String::new(),
    };
    let root = fidogate_testkit::webauthn::attestation_root(900);
    std::fs::write(d.join("root.pem"), root.pem()).map_err(|e| format!("root.pem: {e}"))?;
    let yaml = format!(
        r#"# Written by gateway-load: the gateway as the tower layer is configured.
listen: ["{listen}"]
upstream: ["{upstream}"]
threads: {threads}
signing_key_file: {key}
secret_file: {secret}
trust_anchors:
  - path: {root}
gateway:
  rp:
    id: {RP}
    origins: ["{ORIGIN}"]
  webauthn:
    attestation: direct
    require_trusted: true
  routes:
    - name: passkeys
      dialect: webauthn
{store}"#,
        key = d.join("signing-key.pem").display(),
        secret = d.join("secret").display(),
        root = d.join("root.pem").display(),
    );
    let path = d.join("fidogate.yaml");
    std::fs::write(&path, yaml).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}
