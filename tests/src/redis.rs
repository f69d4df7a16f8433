//! A real `redis-server` for the tests: on 127.0.0.1, on a port found
//! free, without persistence, stopped (and startable again on the same
//! port) by the test, killed on drop. No system service is assumed.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running (or stopped) Redis of the test's own.
#[derive(Debug)]
pub struct RedisServer {
    child: Option<Child>,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it listens with TLS, when started with [`RedisServer::start_tls`].
    pub tls_addr: Option<SocketAddr>,
    extra: Vec<String>,
}

/// Whether `redis-server` can be run here; when not, the Redis tests say
/// so and are skipped (the bootstrap script installs it).
pub fn available() -> bool {
    let found = Command::new("redis-server")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        eprintln!("SKIPPED: redis-server is not installed (bash scripts/bootstrap.sh installs it)");
    }
    found
}

impl RedisServer {
    /// Starts a Redis on a free port and waits until it answers PING.
    pub fn start() -> Self {
        Self::start_with(false, &[])
    }

    /// Starts a Redis that also listens with TLS (the certificate chain
    /// and key in PEM files; clients are not asked for certificates), and
    /// waits until its plain port answers PING.
    pub fn start_tls(cert_file: &std::path::Path, key_file: &std::path::Path) -> Self {
        let files = [
            "--tls-cert-file".to_owned(),
            cert_file.display().to_string(),
            "--tls-key-file".to_owned(),
            key_file.display().to_string(),
            // Redis wants a CA to check clients against, though it is told
            // not to ask them: its own chain serves.
            "--tls-ca-cert-file".to_owned(),
            cert_file.display().to_string(),
            "--tls-auth-clients".to_owned(),
            "no".to_owned(),
        ];
        Self::start_with(true, &files)
    }

    fn start_with(tls: bool, extra: &[String]) -> Self {
        // Redis takes a port number, not port 0: find a free one, and try
        // another if it was taken in between.
        let free = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .unwrap_or(0)
        };
        for _ in 0..20 {
            let port = free();
            let tls_addr = tls.then(|| SocketAddr::from(([127, 0, 0, 1], free())));
            let mut extra = extra.to_vec();
            if let Some(t) = tls_addr {
                extra.extend(["--tls-port".to_owned(), t.port().to_string()]);
            }
            let mut server = Self {
                child: None,
                addr: SocketAddr::from(([127, 0, 0, 1], port)),
                tls_addr,
                extra,
            };
            if server.try_start() {
                return server;
            }
        }
        panic!("redis-server did not start on any free port");
    }

    /// The `rediss://` URL of database 0 on the TLS port.
    pub fn tls_url(&self) -> Option<String> {
        self.tls_addr.map(|a| format!("rediss://{a}/0"))
    }

    /// The `redis://` URL of database 0.
    pub fn url(&self) -> String {
        format!("redis://{}/0", self.addr)
    }

    fn try_start(&mut self) -> bool {
        let child = Command::new("redis-server")
            .args([
                "--bind",
                "127.0.0.1",
                "--port",
                &self.addr.port().to_string(),
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let Ok(mut child) = child else {
            return false;
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if self.answers() {
                self.child = Some(child);
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        false
    }

    /// Whether it answers PING now.
    pub fn answers(&self) -> bool {
        let Ok(mut s) = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)) else {
            return false;
        };
        let _ = s.set_read_timeout(Some(Duration::from_secs(1)));
        let mut pong = [0u8; 7];
        s.write_all(b"PING\r\n").is_ok() && s.read_exact(&mut pong).is_ok() && &pong == b"+PONG\r\n"
    }

    /// Stops it (the port is then refused).
    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Freezes it (SIGSTOP): connections stay open and nothing answers,
    /// as a store that hangs does.
    pub fn pause(&self) {
        if let Some(c) = &self.child {
            crate::process::signal(c.id(), "STOP");
        }
    }

    /// Lets a paused server go on (SIGCONT).
    pub fn resume(&self) {
        if let Some(c) = &self.child {
            crate::process::signal(c.id(), "CONT");
        }
    }

    /// Starts it again on the same port, empty.
    pub fn start_again(&mut self) {
        assert!(
            self.try_start(),
            "redis-server did not start again on {}",
            self.addr
        );
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.resume();
        self.stop();
    }
}
