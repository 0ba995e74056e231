//! When a client tries again after its connection closed: exponential backoff with
//! jitter, so a restarted or lost server is not hit by every client at once. The page
//! follows it, and so does the load tester's reconnect storm.

/// The first wait before reconnecting, in milliseconds; it doubles per failure.
pub const FIRST_RETRY_MS: f64 = 250.0;
/// The longest wait before reconnecting, in milliseconds.
pub const MAX_RETRY_MS: f64 = 10_000.0;

/// The wait before the next attempt after `failures` in a row, in milliseconds.
/// `random` is uniform in [0, 1): the wait is between half the ceiling and the ceiling.
pub fn backoff(failures: u32, random: f64) -> f64 {
    let ceiling = (FIRST_RETRY_MS * f64::from(1u32 << failures.min(6))).min(MAX_RETRY_MS);
    ceiling * (0.5 + random / 2.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_a_quarter_second_up_to_ten_seconds() {
        // A random number of (almost) 1 gives the ceiling.
        let ceilings: Vec<f64> = (0..9).map(|failures| backoff(failures, 1.0)).collect();
        assert_eq!(ceilings, [250.0, 500.0, 1_000.0, 2_000.0, 4_000.0, 8_000.0, 10_000.0, 10_000.0, 10_000.0]);
        assert_eq!(backoff(u32::MAX, 1.0), MAX_RETRY_MS, "no overflow after many failures");
    }

    #[test]
    fn backoff_jitter_stays_between_half_the_ceiling_and_the_ceiling() {
        for failures in [0, 1, 3, 6, 7, 100] {
            let ceiling = backoff(failures, 1.0);
            assert_eq!(backoff(failures, 0.0), ceiling / 2.0);
            assert_eq!(backoff(failures, 0.5), ceiling * 0.75);
            for random in [0.0, 0.1, 0.25, 0.5, 0.9, 0.999_999] {
                let wait = backoff(failures, random);
                assert!(wait >= ceiling / 2.0 && wait < ceiling, "{failures} failures, {random}: {wait}");
            }
        }
    }
}
