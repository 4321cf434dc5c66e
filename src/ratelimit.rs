//! Per-key rate limits (governor, GCRA): a small wrapper that answers "allowed, or retry after
//! N seconds" and keeps its memory bounded; and a cap on the connections one address holds open.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

/// Forget idle keys after this many checks, so a scan of many addresses cannot grow memory.
const PRUNE_EVERY: u64 = 1024;

#[derive(Clone)]
pub struct KeyedLimiter<K: Hash + Eq + Clone = IpAddr> {
    limiter: Arc<DefaultKeyedRateLimiter<K>>,
    checks: Arc<AtomicU64>,
}

impl<K: Hash + Eq + Clone> KeyedLimiter<K> {
    /// `per_minute` requests per key per minute, with bursts up to that many.
    pub fn per_minute(per_minute: u32) -> KeyedLimiter<K> {
        let n = NonZeroU32::new(per_minute).unwrap_or(NonZeroU32::MIN);
        KeyedLimiter { limiter: Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_minute(n))), checks: Arc::default() }
    }

    /// Ok when allowed; otherwise the whole seconds to wait.
    pub fn check(&self, key: &K) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % PRUNE_EVERY == PRUNE_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(key).map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// At most `per_address` open connections per IP address (`server.public_connections_per_ip`).
#[derive(Debug)]
pub struct ConnectionCap {
    per_address: u32,
    open: Mutex<HashMap<IpAddr, u32>>,
}

/// One open connection's place in the count; freed on drop.
#[derive(Debug)]
pub struct ConnectionSlot {
    cap: Arc<ConnectionCap>,
    address: IpAddr,
}

impl ConnectionCap {
    /// `None` when `per_address` is 0 (no limit).
    pub fn new(per_address: u32) -> Option<Arc<ConnectionCap>> {
        (per_address > 0).then(|| Arc::new(ConnectionCap { per_address, open: Mutex::default() }))
    }

    /// A place for one more connection from `address`, or `None` when it holds its share.
    /// IPv4-mapped IPv6 addresses count as their IPv4 address.
    pub fn try_acquire(self: &Arc<Self>, address: IpAddr) -> Option<ConnectionSlot> {
        let address = address.to_canonical();
        let mut open = self.open.lock().ok()?;
        let count = open.entry(address).or_default();
        if *count >= self.per_address {
            return None;
        }
        *count += 1;
        Some(ConnectionSlot { cap: Arc::clone(self), address })
    }
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        if let Ok(mut open) = self.cap.open.lock()
            && let Some(count) = open.get_mut(&self.address)
        {
            *count -= 1;
            if *count == 0 {
                open.remove(&self.address);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_per_key() {
        let limiter: KeyedLimiter = KeyedLimiter::per_minute(3);
        let a: IpAddr = [127, 0, 0, 1].into();
        let b: IpAddr = [127, 0, 0, 2].into();
        for _ in 0..3 {
            assert!(limiter.check(&a).is_ok());
        }
        let wait = limiter.check(&a).expect_err("fourth is refused");
        assert!((1..=60).contains(&wait), "{wait}");
        assert!(limiter.check(&b).is_ok(), "other keys are unaffected");
    }

    #[test]
    fn connection_cap_frees_places_on_drop() {
        assert!(ConnectionCap::new(0).is_none(), "0 means no limit");
        let cap = ConnectionCap::new(2).expect("cap");
        let a: IpAddr = [192, 0, 2, 1].into();
        let mapped: IpAddr = "::ffff:192.0.2.1".parse().expect("ip");
        let first = cap.try_acquire(a).expect("first");
        let _second = cap.try_acquire(mapped).expect("second, the same address");
        assert!(cap.try_acquire(a).is_none(), "third is refused");
        assert!(cap.try_acquire([192, 0, 2, 2].into()).is_some(), "other addresses are unaffected");
        drop(first);
        assert!(cap.try_acquire(a).is_some(), "a closed connection frees its place");
    }
}
