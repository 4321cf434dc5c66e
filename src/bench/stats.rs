//! Counters and latency samples shared by all client tasks of one run.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

/// Latency samples: (when the message was sent, µs since the run began; how long it took, µs).
#[derive(Default)]
pub struct Samples(Mutex<Vec<(u64, u32)>>);

impl Samples {
    pub fn record(&self, sent_us: u64, latency_us: u64) {
        if let Ok(mut samples) = self.0.lock() {
            samples.push((sent_us, u32::try_from(latency_us).unwrap_or(u32::MAX)));
        }
    }

    /// Latencies (µs, sorted) of the samples sent in `[from, to)`.
    pub fn window(&self, from: u64, to: u64) -> Vec<u32> {
        let mut out: Vec<u32> = self
            .0
            .lock()
            .map(|s| s.iter().filter(|(at, _)| (from..to).contains(at)).map(|(_, l)| *l).collect())
            .unwrap_or_default();
        out.sort_unstable();
        out
    }
}

/// The `p`-th percentile (0–100) of sorted µs samples, in milliseconds; 0 without samples.
pub fn percentile_ms(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

#[derive(Default)]
pub struct Counters {
    pub sent: AtomicU64,
    pub acked: AtomicU64,
    pub delivered: AtomicU64,
    /// A message event whose seq this client had already seen.
    pub duplicates: AtomicU64,
    /// Error frames from the server, and connections that failed.
    pub errors: AtomicU64,
    pub joined: AtomicU64,
    pub started: AtomicU64,
    pub connected: AtomicU64,
    pub resumed: AtomicU64,
}

impl Counters {
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    pub fn add(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }
}

/// Microseconds since `epoch` (the run's start; all clients are in this process).
pub fn micros_since(epoch: Instant) -> u64 {
    u64::try_from(epoch.elapsed().as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_and_windows() {
        let samples = Samples::default();
        for i in 1..=100u64 {
            samples.record(i, i * 1000);
        }
        let all = samples.window(0, 1000);
        assert_eq!(percentile_ms(&all, 50.0), 50.0);
        assert_eq!(percentile_ms(&all, 99.0), 99.0);
        assert_eq!(percentile_ms(&all, 100.0), 100.0);
        assert_eq!(samples.window(10, 20).len(), 10);
        assert_eq!(percentile_ms(&[], 99.0), 0.0);
    }
}
