//! Per-client limits on the intercepted endpoints: who the client is
//! (the peer, or the rightmost address a trusted proxy vouches for) and
//! how often it may call (a generic cell rate algorithm per client).
//!
//! ```
//! use fidogate_core::gateway::limit::{ClientLimiter, Cidr};
//! use std::net::IpAddr;
//! use std::time::Duration;
//!
//! let limiter = ClientLimiter::new(10, 20, 1000);
//! let client: IpAddr = "203.0.113.7".parse()?;
//! let at = Duration::from_secs(5);
//! // A burst of 20 at once, then one every 100 ms.
//! for _ in 0..20 {
//!     assert!(limiter.check(client, at).is_ok());
//! }
//! assert_eq!(limiter.check(client, at), Err(Duration::from_millis(100)));
//! assert!(limiter.check(client, at + Duration::from_millis(100)).is_ok());
//!
//! let proxies = vec![Cidr::parse("10.0.0.0/8")?];
//! let peer: IpAddr = "10.1.2.3".parse()?;
//! let xff = ["198.51.100.9, 10.9.9.9"];
//! assert_eq!(fidogate_core::gateway::limit::client_of(Some(peer), xff, &proxies),
//!     Some("198.51.100.9".parse()?));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! # Security
//! - `X-Forwarded-For` is believed only from a peer in `trusted_proxies`,
//!   and only up to the first address that is not itself trusted, read
//!   from the right: a client cannot pick its own key by sending the
//!   header, since the proxy it talks to appends the address it saw.
//! - IPv6 clients are keyed by their /64, which one host can fill with
//!   addresses of its own.
//! - The table is bounded (`max_clients`); entries whose budget has fully
//!   come back are dropped first. While it is full of clients still over
//!   their budget, a new client is admitted unrecorded (and one warning
//!   logged per minute) rather than refused: a limit that let an attacker
//!   with many addresses lock out new users would be worse than none.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// An address block, `192.0.2.0/24`, `2001:db8::/32`, or one address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// Parses `addr/prefix` or a bare address (all of its bits).
    pub fn parse(text: &str) -> Result<Self, String> {
        let (addr, prefix) = match text.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (text, None),
        };
        let addr: IpAddr = addr
            .trim()
            .parse()
            .map_err(|_| format!("{text:?} is not an IP address or CIDR block"))?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            None => max,
            Some(p) => p
                .trim()
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("{text:?}: the prefix length must be 0 to {max}"))?,
        };
        Ok(Self { addr, prefix })
    }

    /// Whether `ip` is inside the block (an IPv4-mapped IPv6 address is
    /// its IPv4 address).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match (self.addr, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

/// How many `X-Forwarded-For` entries are read, from the right.
const MAX_FORWARDED: usize = 32;

/// The client of a request: `peer`, unless `peer` is a trusted proxy, in
/// which case the rightmost `X-Forwarded-For` address that is not a
/// trusted proxy (`headers` are the header's values in order). When every
/// address is trusted, the leftmost; when an entry is not an address, the
/// last trusted hop before it. `None` when the peer is unknown.
pub fn client_of<'a>(
    peer: Option<IpAddr>,
    forwarded: impl IntoIterator<Item = &'a str>,
    trusted: &[Cidr],
) -> Option<IpAddr> {
    let peer = canonical(peer?);
    let is_trusted = |ip: IpAddr| trusted.iter().any(|c| c.contains(ip));
    if !is_trusted(peer) {
        return Some(peer);
    }
    let entries: Vec<&str> = forwarded
        .into_iter()
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .filter(|e| !e.is_empty())
        .collect();
    let mut client = peer;
    for entry in entries.iter().rev().take(MAX_FORWARDED) {
        let Some(ip) = forwarded_addr(entry) else {
            return Some(client);
        };
        client = ip;
        if !is_trusted(ip) {
            return Some(ip);
        }
    }
    Some(client)
}

/// One `X-Forwarded-For` entry: an address, `v4:port` or `[v6]:port`.
fn forwarded_addr(entry: &str) -> Option<IpAddr> {
    if let Ok(ip) = entry.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = entry.strip_prefix('[') {
        let (ip, _) = rest.split_once(']')?;
        return ip.parse().ok().map(canonical);
    }
    let (ip, port) = entry.rsplit_once(':')?;
    port.parse::<u16>().ok()?;
    ip.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
}

/// The table key: an IPv4 address, or an IPv6 /64.
fn key(ip: IpAddr) -> u128 {
    match canonical(ip) {
        IpAddr::V4(v4) => u128::from(u32::from(v4)),
        IpAddr::V6(v6) => (u128::from(v6) & !u128::from(u64::MAX)) | (1 << 32),
    }
}

const SHARDS: usize = 16;

/// A per-client rate limit: `burst` requests at once, then
/// `per_sec` a second, for at most `max_clients` clients tracked at once.
///
/// Each client has a theoretical arrival time (TAT): a request at `now`
/// is allowed when `max(TAT, now) + interval` is at most `burst` intervals
/// ahead of `now`, and then moves the TAT there. Times are on the caller's
/// monotonic clock ([`Source::monotonic`](super::Source::monotonic)).
#[derive(Debug)]
pub struct ClientLimiter {
    interval: u64,
    tolerance: u64,
    per_shard: usize,
    shards: Vec<Mutex<Shard>>,
    last_warning: AtomicU64,
}

#[derive(Debug, Default)]
struct Shard {
    tat: HashMap<u128, u64, foldhash::fast::RandomState>,
    next_sweep: u64,
}

impl ClientLimiter {
    /// `per_sec` (at least 1) requests a second after a burst of `burst`
    /// (at least 1), for up to `max_clients` clients at once.
    pub fn new(per_sec: u32, burst: u32, max_clients: usize) -> Self {
        let interval = 1_000_000_000 / u64::from(per_sec.max(1));
        Self {
            interval,
            tolerance: interval.saturating_mul(u64::from(burst.max(1))),
            per_shard: max_clients.div_ceil(SHARDS).max(1),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            last_warning: AtomicU64::new(0),
        }
    }

    /// Counts a request from `client` at `now`: `Ok` when allowed, else
    /// how long until the client's next request would be.
    pub fn check(&self, client: IpAddr, now: Duration) -> Result<(), Duration> {
        let now = u64::try_from(now.as_nanos()).unwrap_or(u64::MAX);
        let key = key(client);
        let shard = usize::try_from(key % SHARDS as u128).unwrap_or(0);
        let Some(Ok(mut shard)) = self.shards.get(shard).map(Mutex::lock) else {
            // A poisoned shard: a panic elsewhere; do not limit.
            return Ok(());
        };
        let tat = shard.tat.get(&key).copied().unwrap_or(now).max(now);
        let next = tat.saturating_add(self.interval);
        if next - now > self.tolerance {
            return Err(Duration::from_nanos(next - now - self.tolerance));
        }
        if shard.tat.len() >= self.per_shard && !shard.tat.contains_key(&key) {
            // Entries at or before now have their whole budget back:
            // dropping them loses nothing.
            if now >= shard.next_sweep {
                shard.tat.retain(|_, t| *t > now);
                shard.next_sweep = now.saturating_add(100_000_000);
            }
            if shard.tat.len() >= self.per_shard {
                self.warn_full(now);
                return Ok(());
            }
        }
        shard.tat.insert(key, next);
        Ok(())
    }

    /// Clients tracked now.
    pub fn len(&self) -> usize {
        self.shards
            .iter()
            .filter_map(|s| s.lock().ok().map(|s| s.tat.len()))
            .sum()
    }

    /// Whether no client is tracked.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn warn_full(&self, now: u64) {
        let last = self.last_warning.load(Ordering::Relaxed);
        if (last == 0 || now.saturating_sub(last) >= 60_000_000_000)
            && self
                .last_warning
                .compare_exchange(last, now.max(1), Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            tracing::warn!(
                max_clients = self.per_shard * SHARDS,
                "rate_limit: every tracked client is over its budget; new clients are not limited until entries expire (raise rate_limit.max_clients)"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn a_burst_then_the_rate() {
        let l = ClientLimiter::new(10, 20, 100);
        let t = Duration::from_secs(1000);
        for _ in 0..20 {
            assert_eq!(l.check(ip("192.0.2.1"), t), Ok(()));
        }
        assert_eq!(l.check(ip("192.0.2.1"), t), Err(Duration::from_millis(100)));
        // Another client is not affected.
        assert_eq!(l.check(ip("192.0.2.2"), t), Ok(()));
        // 50 ms later: still 50 ms to wait; 100 ms: one more.
        let half = t + Duration::from_millis(50);
        assert_eq!(
            l.check(ip("192.0.2.1"), half),
            Err(Duration::from_millis(50))
        );
        let one = t + Duration::from_millis(100);
        assert_eq!(l.check(ip("192.0.2.1"), one), Ok(()));
        assert!(l.check(ip("192.0.2.1"), one).is_err());
        // Two seconds idle: the whole burst is back.
        let later = one + Duration::from_secs(2);
        for _ in 0..20 {
            assert_eq!(l.check(ip("192.0.2.1"), later), Ok(()));
        }
        assert!(l.check(ip("192.0.2.1"), later).is_err());
    }

    #[test]
    fn refused_requests_do_not_spend_budget() {
        let l = ClientLimiter::new(1, 1, 100);
        let t = Duration::from_secs(10);
        assert_eq!(l.check(ip("192.0.2.1"), t), Ok(()));
        for _ in 0..100 {
            assert!(l.check(ip("192.0.2.1"), t).is_err());
        }
        assert_eq!(l.check(ip("192.0.2.1"), t + Duration::from_secs(1)), Ok(()));
    }

    #[test]
    fn ipv6_clients_are_keyed_by_their_64() {
        let l = ClientLimiter::new(1, 2, 100);
        let t = Duration::from_secs(10);
        assert_eq!(l.check(ip("2001:db8:1:2::1"), t), Ok(()));
        assert_eq!(l.check(ip("2001:db8:1:2::ffff"), t), Ok(()));
        assert!(l.check(ip("2001:db8:1:2:abcd::9"), t).is_err());
        assert_eq!(l.check(ip("2001:db8:1:3::1"), t), Ok(()));
        // An IPv4-mapped address is the IPv4 client.
        assert_eq!(l.check(ip("192.0.2.9"), t), Ok(()));
        assert_eq!(l.check(ip("::ffff:192.0.2.9"), t), Ok(()));
        assert!(l.check(ip("192.0.2.9"), t).is_err());
    }

    #[test]
    fn the_table_stays_bounded_and_drops_idle_clients_first() {
        let l = ClientLimiter::new(1, 1, 64);
        let t = Duration::from_secs(10);
        for i in 0..10_000u32 {
            let _ = l.check(IpAddr::V4(i.into()), t);
        }
        assert!(l.len() <= 64, "{}", l.len());
        // A second later every budget is back: new clients are recorded
        // again, and limited.
        let later = t + Duration::from_secs(2);
        let fresh = ip("198.51.100.1");
        assert_eq!(l.check(fresh, later), Ok(()));
        assert!(l.check(fresh, later).is_err());
    }

    #[test]
    fn cidrs() {
        struct Case {
            name: &'static str,
            cidr: &'static str,
            ip: &'static str,
            inside: bool,
        }
        let cases = [
            Case {
                name: "v4 block",
                cidr: "10.0.0.0/8",
                ip: "10.200.1.1",
                inside: true,
            },
            Case {
                name: "v4 outside",
                cidr: "10.0.0.0/8",
                ip: "11.0.0.1",
                inside: false,
            },
            Case {
                name: "v4 single",
                cidr: "127.0.0.2",
                ip: "127.0.0.2",
                inside: true,
            },
            Case {
                name: "v4 single other",
                cidr: "127.0.0.2",
                ip: "127.0.0.1",
                inside: false,
            },
            Case {
                name: "v4 all",
                cidr: "0.0.0.0/0",
                ip: "8.8.8.8",
                inside: true,
            },
            Case {
                name: "v6 block",
                cidr: "2001:db8::/32",
                ip: "2001:db8:ff::1",
                inside: true,
            },
            Case {
                name: "v6 outside",
                cidr: "2001:db8::/32",
                ip: "2001:db9::1",
                inside: false,
            },
            Case {
                name: "mapped v4",
                cidr: "192.0.2.0/24",
                ip: "::ffff:192.0.2.5",
                inside: true,
            },
            Case {
                name: "v4 in v6 block",
                cidr: "::/0",
                ip: "192.0.2.5",
                inside: false,
            },
        ];
        for c in cases {
            let cidr = Cidr::parse(c.cidr).unwrap();
            assert_eq!(cidr.contains(ip(c.ip)), c.inside, "{}", c.name);
        }
        for bad in [
            "10.0.0.0/33",
            "::/129",
            "example.com",
            "10.0.0.0/",
            "10.0.0.0/x",
            "",
        ] {
            assert!(Cidr::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_client_behind_trusted_proxies() {
        struct Case {
            name: &'static str,
            peer: &'static str,
            xff: &'static [&'static str],
            client: &'static str,
        }
        let trusted = [
            Cidr::parse("10.0.0.0/8").unwrap(),
            Cidr::parse("127.0.0.2").unwrap(),
        ];
        let cases = [
            Case {
                name: "untrusted peer: header ignored",
                peer: "192.0.2.1",
                xff: &["198.51.100.1"],
                client: "192.0.2.1",
            },
            Case {
                name: "trusted peer, one hop",
                peer: "127.0.0.2",
                xff: &["198.51.100.1"],
                client: "198.51.100.1",
            },
            Case {
                name: "spoofed left entries ignored",
                peer: "127.0.0.2",
                xff: &["6.6.6.6, 198.51.100.1"],
                client: "198.51.100.1",
            },
            Case {
                name: "trusted hops skipped",
                peer: "10.0.0.1",
                xff: &["198.51.100.1, 10.0.0.9", "10.0.0.8"],
                client: "198.51.100.1",
            },
            Case {
                name: "every hop trusted: leftmost",
                peer: "10.0.0.1",
                xff: &["10.0.0.3, 10.0.0.2"],
                client: "10.0.0.3",
            },
            Case {
                name: "garbage: last trusted hop",
                peer: "10.0.0.1",
                xff: &["198.51.100.1, unknown, 10.0.0.2"],
                client: "10.0.0.2",
            },
            Case {
                name: "no header: the proxy",
                peer: "10.0.0.1",
                xff: &[],
                client: "10.0.0.1",
            },
            Case {
                name: "ports",
                peer: "10.0.0.1",
                xff: &["198.51.100.1:4711"],
                client: "198.51.100.1",
            },
            Case {
                name: "v6 with port",
                peer: "10.0.0.1",
                xff: &["[2001:db8::1]:443"],
                client: "2001:db8::1",
            },
        ];
        for c in cases {
            let got = client_of(Some(ip(c.peer)), c.xff.iter().copied(), &trusted);
            assert_eq!(got, Some(ip(c.client)), "{}", c.name);
        }
        assert_eq!(client_of(None, ["198.51.100.1"], &trusted), None);
    }
}
