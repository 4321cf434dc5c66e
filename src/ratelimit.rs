//! Per-key rate limits (governor, GCRA): a small wrapper that answers "allowed, or retry after
//! N seconds" and keeps its memory bounded.

use std::hash::Hash;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
}
