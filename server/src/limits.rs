//! How fast a client may act: the token bucket behind every per-connection and
//! per-address rate, and the rates that are not settings.

use palaver_protocol::{ErrorReason, FrameError, RATE_BURST, RATE_PER_SEC};
use std::time::Duration;
use tokio::time::Instant;

/// A rate: `per_sec` on average, `burst` at once after a pause.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_sec: u32,
    pub burst: u32,
}

impl Default for Rate {
    /// Messages one connection may post (`PALAVER_RATE_PER_SEC`, `PALAVER_RATE_BURST`).
    fn default() -> Self {
        Rate { per_sec: RATE_PER_SEC, burst: RATE_BURST }
    }
}

/// "Typing" notes a connection may send: a few a second at most; extra ones are dropped.
pub const TYPING_RATE: Rate = Rate { per_sec: 2, burst: 4 };

/// Joins, leaves and renames a connection may make: a person clicking around rooms
/// stays well within it; a client toggling rooms to spam presence does not.
pub const MOVES_RATE: Rate = Rate { per_sec: 2, burst: 20 };

/// Searches a connection may make: a search box asks as one types (a moment after the
/// last key), well within it.
pub const SEARCH_RATE: Rate = Rate { per_sec: 5, burst: 15 };

/// History pages a connection may load (`history`, `around`, and a `join` of a room it
/// is already in, which loads the room again): scrolling back fast or following a
/// reply's quote stays well within it; asking page after page to keep the store busy
/// does not.
pub const PAGES_RATE: Rate = Rate { per_sec: 5, burst: 20 };

/// A token bucket: holds up to `burst` tokens, refilled at `per_sec`. After a refusal
/// it refuses everything until the wait it gave is over, so a later post cannot slip in
/// ahead of a refused one and the connection's posts keep their order. That wait is at
/// least one token's time (200 ms at 5 a second), even when the next token is a moment
/// away: posts the client sent before it heard of the refusal are still on their way
/// or queued behind it, and must be refused too, to be resent after the refused one.
pub struct Bucket {
    rate: Rate,
    tokens: f64,
    last: Instant,
    refusing_until: Option<Instant>,
}

impl Bucket {
    pub fn new(rate: Rate) -> Bucket {
        Bucket { rate, tokens: f64::from(rate.burst), last: Instant::now(), refusing_until: None }
    }

    /// Takes a token, or says how long until there is one.
    pub fn take(&mut self) -> Result<(), Duration> {
        let now = Instant::now();
        if let Some(until) = self.refusing_until.filter(|until| now < *until) {
            return Err(until - now);
        }
        let per_sec = f64::from(self.rate.per_sec.max(1));
        self.tokens =
            (self.tokens + now.duration_since(self.last).as_secs_f64() * per_sec).min(f64::from(self.rate.burst));
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            // A whole token's time (by then there is a token), in whole milliseconds,
            // as the refusal says.
            let wait = Duration::from_millis((1000.0 / per_sec).ceil() as u64);
            self.refusing_until = Some(now + wait);
            Err(wait)
        }
    }

    /// Takes a token, or the `rate_limited` error that says how long to wait; `what`
    /// names what is limited ("messages", "joins and leaves").
    pub fn take_or_refuse(&mut self, what: &str) -> Result<(), FrameError> {
        self.take().map_err(|wait| {
            let detail = format!("slow down: at most {} {what} a second", self.rate.per_sec);
            FrameError {
                retry_after_ms: Some(wait.as_millis().max(1) as u64),
                ..FrameError::new(ErrorReason::RateLimited, detail)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_bucket_allows_a_burst_then_the_rate() {
        let mut bucket = Bucket::new(Rate { per_sec: 5, burst: 10 });
        for _ in 0..10 {
            assert!(bucket.take().is_ok());
        }
        let refusal = bucket.take_or_refuse("messages").unwrap_err();
        let wait = Duration::from_millis(refusal.retry_after_ms.unwrap());
        assert!(wait <= Duration::from_millis(200) && wait > Duration::ZERO, "{wait:?}");
        assert_eq!(refusal.reason, ErrorReason::RateLimited);
        assert_eq!(refusal.detail, "slow down: at most 5 messages a second");
        // Until that wait is over, everything is refused, even as the bucket refills.
        tokio::time::advance(wait - Duration::from_millis(1)).await;
        assert_eq!(bucket.take(), Err(Duration::from_millis(1)), "no overtaking a refused post");
        tokio::time::advance(Duration::from_millis(1)).await;
        assert!(bucket.take().is_ok());
        assert!(bucket.take().is_err());
        tokio::time::advance(Duration::from_secs(60)).await;
        for _ in 0..10 {
            assert!(bucket.take().is_ok(), "refills up to the burst, no further");
        }
        assert!(bucket.take().is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_holds_for_a_whole_token_even_when_the_next_is_a_moment_away() {
        let mut bucket = Bucket::new(Rate { per_sec: 5, burst: 10 });
        for _ in 0..10 {
            assert!(bucket.take().is_ok());
        }
        // The next token is 1 ms away; posts still on their way must not take it before
        // the refused one is sent again.
        tokio::time::advance(Duration::from_millis(199)).await;
        assert_eq!(bucket.take(), Err(Duration::from_millis(200)));
        tokio::time::advance(Duration::from_millis(150)).await;
        assert_eq!(bucket.take(), Err(Duration::from_millis(50)), "a later post is refused too");
        tokio::time::advance(Duration::from_millis(50)).await;
        assert!(bucket.take().is_ok(), "the refused post, sent again once the wait is over, goes");
    }
}
