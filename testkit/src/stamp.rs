//! Latency stamps: a message text that starts with the time it was sent, read back by
//! whoever receives it (both ends share the machine's clock).

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the Unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A text that starts with the time now, padded with `x` to `len` characters.
pub fn stamped(len: usize) -> String {
    let stamp = now_us().to_string();
    format!("{stamp} {}", "x".repeat(len.saturating_sub(stamp.len() + 1)))
}

/// When a stamped text was sent.
pub fn sent_at(text: &str) -> Option<u64> {
    text.split(' ').next()?.parse().ok()
}

/// The `p` quantile (0 to 1) of sorted samples.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_reads_back() {
        let before = now_us();
        let text = stamped(100);
        assert_eq!(text.chars().count(), 100);
        assert!(sent_at(&text).is_some_and(|t| t >= before && t <= now_us()));
        assert_eq!(percentile(&[1, 2, 3, 4], 0.5), 2);
        assert_eq!(percentile(&[1, 2, 3, 4], 1.0), 4);
    }
}
