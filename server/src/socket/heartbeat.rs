//! Liveness: the server pings on a timer and closes a connection that stays silent.

use super::ending::Ending;
use bytes::Bytes;
use palaver_protocol::Close;
use std::time::Duration;
use tokio::time::Instant;

/// How often the server pings, and how long a silent connection lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Liveness {
    pub ping_every: Duration,
    pub idle_timeout: Duration,
}

impl Default for Liveness {
    fn default() -> Self {
        Liveness { ping_every: Duration::from_secs(15), idle_timeout: Duration::from_secs(40) }
    }
}

/// Pings on a timer, and notices when the peer has gone silent.
pub struct Heartbeat {
    interval: tokio::time::Interval,
    idle_timeout: Duration,
    last_heard: Instant,
}

impl Heartbeat {
    pub fn new(liveness: Liveness) -> Heartbeat {
        let mut interval = tokio::time::interval(liveness.ping_every);
        interval.reset();
        Heartbeat { interval, idle_timeout: liveness.idle_timeout, last_heard: Instant::now() }
    }

    /// Waits for the next beat: a ping to send, or the end of a silent connection.
    pub async fn beat(&mut self) -> Result<Bytes, Ending> {
        self.interval.tick().await;
        if self.last_heard.elapsed() >= self.idle_timeout {
            tracing::debug!("closing a silent connection");
            return Err(Ending::Close(Close::Idle));
        }
        Ok(super::wire::ping())
    }

    /// The peer said something (any frame, pongs included).
    pub fn heard(&mut self) {
        self.last_heard = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn pings_while_the_peer_answers_and_ends_a_silent_one() {
        let mut heartbeat =
            Heartbeat::new(Liveness { ping_every: Duration::from_secs(1), idle_timeout: Duration::from_secs(3) });
        for _ in 0..5 {
            assert_eq!(heartbeat.beat().await, Ok(super::super::wire::ping()));
            heartbeat.heard();
        }
        assert!(heartbeat.beat().await.is_ok());
        assert!(heartbeat.beat().await.is_ok());
        assert_eq!(heartbeat.beat().await.unwrap_err(), Ending::Close(Close::Idle));
    }
}
