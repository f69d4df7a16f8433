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
        let (child, addr) = spawn_and_wait(binary, &dir, env);
        Self { child, addr, dir }
    }

    /// Stops the gateway and starts it again on the same folder (its
    /// configuration, key and secret), as a restart or a redeploy does;
    /// it may listen on another port.
    pub fn restart(&mut self, binary: &Path, env: &[(&str, &str)]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, addr) = spawn_and_wait(binary, &self.dir, env);
        self.child = child;
        self.addr = addr;
    }

    /// What it logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("gateway.log")).unwrap_or_default()
    }
}

/// Starts `binary run` on `dir/fidogate.yaml` and waits until it listens.
fn spawn_and_wait(binary: &Path, dir: &Path, env: &[(&str, &str)]) -> (Child, SocketAddr) {
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
    let port = loop {
        if let Some(port) = listening_ports(child.id()).into_iter().next() {
            break port;
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
    (child, SocketAddr::from(([127, 0, 0, 1], port)))
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
