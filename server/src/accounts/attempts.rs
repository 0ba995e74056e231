//! Sign-in attempts, counted per client address and per account: at most `max` in any
//! `window` for each, so that guessing a password is slow from one address and slow
//! against one account from many.

use std::{
    collections::{HashMap, VecDeque},
    sync::Mutex,
    time::{Duration, Instant},
};

/// At most this many keys are remembered; past it, those with no attempt in the window go.
const PRUNE_AT: usize = 100_000;

pub struct Attempts {
    max: usize,
    window: Duration,
    seen: Mutex<HashMap<String, VecDeque<Instant>>>,
}

impl Attempts {
    pub fn new(max: usize, window: Duration) -> Attempts {
        Attempts { max: max.max(1), window, seen: Mutex::default() }
    }

    /// Counts an attempt against every key, unless one of them is at its limit: then
    /// nothing is counted and the answer is how long until that key has room again.
    pub fn take(&self, keys: &[&str], now: Instant) -> Result<(), Duration> {
        let mut seen = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if seen.len() >= PRUNE_AT {
            seen.retain(|_, times| times.back().is_some_and(|t| now.duration_since(*t) < self.window));
        }
        let mut wait = Duration::ZERO;
        for key in keys {
            if let Some(times) = seen.get_mut(*key) {
                while times.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                    times.pop_front();
                }
                if times.len() >= self.max {
                    let oldest = times.front().copied().unwrap_or(now);
                    wait = wait.max(self.window.saturating_sub(now.duration_since(oldest)));
                }
            }
        }
        if wait > Duration::ZERO {
            return Err(wait);
        }
        for key in keys {
            seen.entry((*key).to_owned()).or_default().push_back(now);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_key_has_its_own_limit_and_it_frees_up_with_time() {
        let attempts = Attempts::new(3, Duration::from_secs(180));
        let t0 = Instant::now();
        for _ in 0..3 {
            attempts.take(&["ip:1", "acct:ann"], t0).unwrap();
        }
        let wait = attempts.take(&["ip:2", "acct:ann"], t0 + Duration::from_secs(60)).unwrap_err();
        assert_eq!(wait, Duration::from_secs(120), "the account is at its limit, from any address");
        assert!(attempts.take(&["ip:1", "acct:bo"], t0).is_err(), "so is the address, for any account");
        attempts.take(&["ip:2", "acct:bo"], t0).unwrap();
        attempts.take(&["ip:1", "acct:ann"], t0 + Duration::from_secs(180)).unwrap();
    }
}
