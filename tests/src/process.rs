//! The real `fidogate run`, started on a configuration written for it,
//! listening on a port the operating system picked (read back from
//! `/proc`, never chosen before it is bound), and killed on drop.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A running gateway.
#[derive(Debug)]
pub struct GatewayProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// Where it serves `/metrics`, when the configuration has
    /// `metrics_listen` (found by asking each port it listens on).
    pub metrics: Option<SocketAddr>,
    /// Its folder: configuration, generated keys, logs, the test clock.
    pub dir: PathBuf,
}

impl Drop for GatewayProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

impl GatewayProcess {
    /// Starts `binary run` on `config` (a whole file, listening on
    /// `127.0.0.1:0`), with `env` set, and waits until it listens.
    pub fn start(binary: &Path, config: &str, env: &[(&str, &str)]) -> Self {
        static N: AtomicU64 = AtomicU64::new(0);
        let dir = std::env::temp_dir().join(format!(
            "fidogate-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("fidogate.yaml");
        std::fs::write(&file, config).unwrap();
        let (child, addr, metrics) = spawn_and_wait(binary, &dir, env);
        Self {
            child,
            addr,
            metrics,
            dir,
        }
    }

    /// Stops the gateway and starts it again on the same folder (its
    /// configuration, key and secret), as a restart or a redeploy does;
    /// it may listen on another port.
    pub fn restart(&mut self, binary: &Path, env: &[(&str, &str)]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, addr, metrics) = spawn_and_wait(binary, &self.dir, env);
        self.child = child;
        self.addr = addr;
        self.metrics = metrics;
    }

    /// The gateway's process ID.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// A graceful upgrade: starts `binary run --upgrade` on the same
    /// folder, waits for its upgrade socket `sock`, sends SIGQUIT to the
    /// running process, and waits until the new one listens on the same
    /// port. Returns the old process, handing its sockets over and
    /// finishing what it has in flight.
    pub fn upgrade(&mut self, binary: &Path, sock: &Path) -> Child {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join("gateway.log"))
            .unwrap();
        let _ = std::fs::remove_file(sock);
        let new = Command::new(binary)
            .args(["run", "--upgrade", "--config"])
            .arg(self.dir.join("fidogate.yaml"))
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(60);
        while !sock.exists() {
            assert!(
                Instant::now() < deadline,
                "no upgrade socket within 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        signal(self.child.id(), "QUIT");
        let port = self.addr.port();
        while !listening_ports(new.id()).contains(&port) {
            assert!(
                Instant::now() < deadline,
                "the new process did not take port {port} within 60 s:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(10));
        }
        std::mem::replace(&mut self.child, new)
    }

    /// Sends `signal` (`TERM`, `QUIT`…) to the gateway.
    pub fn signal(&self, signal_name: &str) {
        signal(self.child.id(), signal_name);
    }

    /// Waits for the gateway to exit, at most `limit`; its exit status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        wait_exit(&mut self.child, limit)
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gateway.log")).unwrap_or_default()
    }
}

/// Sends `name` (`TERM`, `QUIT`…) to process `pid`, with kill(1).
pub fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .arg(format!("-{name}"))
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(ok.success(), "kill -{name} {pid}");
}

/// Waits for `child` to exit, at most `limit`.
pub fn wait_exit(child: &mut Child, limit: Duration) -> Option<std::process::ExitStatus> {
    let deadline = Instant::now() + limit;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Starts `binary run` on `dir/fidogate.yaml` and waits until it listens.
fn spawn_and_wait(
    binary: &Path,
    dir: &Path,
    env: &[(&str, &str)],
) -> (Child, SocketAddr, Option<SocketAddr>) {
    let config = std::fs::read_to_string(dir.join("fidogate.yaml")).unwrap_or_default();
    let with_metrics = config.lines().any(|l| l.starts_with("metrics_listen:"));
    let wanted = if with_metrics { 2 } else { 1 };
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(dir.join("gateway.log"))
        .unwrap();
    let mut cmd = Command::new(binary);
    cmd.args(["run", "--config"])
        .arg(dir.join("fidogate.yaml"))
        .stdout(log.try_clone().unwrap())
        .stderr(log)
        .stdin(Stdio::null());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", binary.display()));
    let deadline = Instant::now() + Duration::from_secs(60);
    let ports = loop {
        let ports = listening_ports(child.id());
        if ports.len() >= wanted {
            break ports;
        }
        if let Ok(Some(status)) = child.try_wait() {
            let log = std::fs::read_to_string(dir.join("gateway.log")).unwrap_or_default();
            panic!("the gateway exited ({status}) before listening:\n{log}");
        }
        assert!(
            Instant::now() < deadline,
            "the gateway did not listen within 60 s"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let addrs: Vec<SocketAddr> = ports
        .into_iter()
        .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
        .collect();
    if !with_metrics {
        return (child, addrs[0], None);
    }
    let metrics = addrs
        .iter()
        .copied()
        .find(|a| serves_metrics(*a))
        .unwrap_or_else(|| panic!("none of {addrs:?} serves /metrics"));
    let addr = addrs.into_iter().find(|a| *a != metrics).unwrap();
    (child, addr, Some(metrics))
}

/// A `metrics_listen: "127.0.0.1:PORT"` line with a port free a moment
/// ago (Pingora shares one socket between two listeners that both ask
/// for port 0, so the metrics listener needs a port of its own).
pub fn metrics_listen_line() -> String {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap();
    format!("metrics_listen: \"127.0.0.1:{port}\"\n")
}

/// Whether `addr` answers `GET /metrics` with fidogate's series.
fn serves_metrics(addr: SocketAddr) -> bool {
    scrape(addr).is_some_and(|text| text.contains("fidogate_build_info"))
}

/// `GET /metrics` from `addr`: the body of a 200 answer.
pub fn scrape(addr: SocketAddr) -> Option<String> {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(10))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .ok()?;
    let mut answer = Vec::new();
    s.read_to_end(&mut answer).ok()?;
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

/// The TCP ports process `pid` listens on: its socket inodes (from
/// `/proc/PID/fd`) matched with the LISTEN entries of `/proc/PID/net/tcp`.
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return Vec::new();
    };
    let inodes: HashSet<String> = fds
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|l| {
            let l = l.to_string_lossy().into_owned();
            Some(l.strip_prefix("socket:[")?.strip_suffix(']')?.to_owned())
        })
        .collect();
    let mut ports = Vec::new();
    for table in ["tcp", "tcp6"] {
        let text = std::fs::read_to_string(format!("/proc/{pid}/net/{table}")).unwrap_or_default();
        ports.extend(listening_in(&text, &inodes));
    }
    ports
}

/// The ports of the LISTEN (state `0A`) entries of a `/proc/net/tcp`
/// table whose inode is in `inodes`.
pub fn listening_in(table: &str, inodes: &HashSet<String>) -> Vec<u16> {
    table
        .lines()
        .skip(1)
        .filter_map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            let (local, state, inode) = (f.get(1)?, f.get(3)?, f.get(9)?);
            if *state != "0A" || !inodes.contains(*inode) {
                return None;
            }
            u16::from_str_radix(local.rsplit(':').next()?, 16).ok()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_entries_are_read_by_inode_and_state() {
        let table = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 111 1 0 100 0 0 10 0\n   1: 0100007F:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 222 1 0 100 0 0 10 0\n   2: 0100007F:1F92 0100007F:9999 01 00000000:00000000 00:00000000 00000000     0        0 333 1 0 100 0 0 10 0\n   3: 0100007F\n";
        let inodes: HashSet<String> = ["111", "333"].iter().map(|s| s.to_string()).collect();
        assert_eq!(listening_in(table, &inodes), [8080]);
        assert!(listening_in("", &inodes).is_empty());
    }

    #[test]
    fn this_process_listening_is_found() {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        assert!(listening_ports(std::process::id()).contains(&port));
    }
}
