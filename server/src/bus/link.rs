//! How the bus reaches its Redis: the client (RESP3, for the pushes subscribed channels
//! carry), whether channels are sharded, and one shared connection for commands
//! (publishing, presence), made again when it breaks.

use redis::{aio::MultiplexedConnection, AsyncConnectionConfig, Client};
use std::{
    sync::{
        atomic::{AtomicU8, Ordering},
        Mutex,
    },
    time::{Duration, Instant},
};

/// Longest wait for Redis to connect or answer.
pub(super) const TIMEOUT: Duration = Duration::from_secs(2);
/// Wait between attempts to reach Redis again.
pub(super) const RETRY_EVERY: Duration = Duration::from_millis(500);

/// Which pub/sub commands the nodes use (`PALAVER_REDIS_PUBSUB`): every node sharing a
/// Redis must use the same.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channels {
    /// Sharded where the server has it (Redis 7 and later), plain otherwise.
    Auto,
    /// `SPUBLISH`/`SSUBSCRIBE`: on a Redis Cluster each channel lives on one shard.
    Sharded,
    /// `PUBLISH`/`SUBSCRIBE`.
    Plain,
}

impl Channels {
    pub fn parse(value: &str) -> Option<Channels> {
        match value {
            "auto" => Some(Channels::Auto),
            "sharded" => Some(Channels::Sharded),
            "plain" => Some(Channels::Plain),
            _ => None,
        }
    }
}

/// What the bus knows of its Redis, shared by its tasks: how to connect, and whether
/// channels are sharded (found at the first connection when [`Channels::Auto`]).
pub(super) struct Link {
    client: Client,
    setting: Channels,
    /// 0: not known yet; 1: sharded; 2: plain.
    sharded: AtomicU8,
    /// A connection for commands (publishing, presence), made when first needed.
    commands: Mutex<Option<MultiplexedConnection>>,
    last_attempt: Mutex<Option<Instant>>,
}

impl Link {
    /// A link to the Redis at `url` (`redis://...`); nothing connects yet.
    pub(super) fn new(url: &str, setting: Channels) -> redis::RedisResult<Link> {
        let mut info = redis::IntoConnectionInfo::into_connection_info(url)?;
        // Pushes (what subscribed channels carry) come on a multiplexed connection.
        info.redis.protocol = redis::ProtocolVersion::RESP3;
        Ok(Link {
            client: Client::open(info)?,
            setting,
            sharded: AtomicU8::new(0),
            commands: Mutex::new(None),
            last_attempt: Mutex::new(None),
        })
    }

    /// Connects (RESP3, for the subscriber's pushes), and learns whether the server
    /// has sharded pub/sub.
    pub(super) async fn connect(
        &self,
        config: AsyncConnectionConfig,
    ) -> redis::RedisResult<(MultiplexedConnection, bool)> {
        let config = config.set_connection_timeout(TIMEOUT).set_response_timeout(TIMEOUT);
        let mut conn = self.client.get_multiplexed_async_connection_with_config(&config).await?;
        let sharded = match self.setting {
            Channels::Sharded => true,
            Channels::Plain => false,
            Channels::Auto => {
                let info: String = redis::cmd("INFO").arg("server").query_async(&mut conn).await?;
                info.lines()
                    .find_map(|l| l.strip_prefix("redis_version:"))
                    .and_then(|v| v.split('.').next()?.parse::<u32>().ok())
                    .is_some_and(|major| major >= 7)
            }
        };
        self.sharded.store(if sharded { 1 } else { 2 }, Ordering::Relaxed);
        Ok((conn, sharded))
    }

    /// The command connection, connecting at most every [`RETRY_EVERY`].
    pub(super) async fn commands(&self) -> Option<MultiplexedConnection> {
        if let Some(conn) = lock(&self.commands).clone() {
            return Some(conn);
        }
        {
            let mut last = lock(&self.last_attempt);
            if last.is_some_and(|at| at.elapsed() < RETRY_EVERY) {
                return None;
            }
            *last = Some(Instant::now());
        }
        match self.connect(AsyncConnectionConfig::new()).await {
            Ok((conn, _)) => {
                *lock(&self.commands) = Some(conn.clone());
                Some(conn)
            }
            Err(e) => {
                tracing::debug!("cannot reach Redis for commands: {e}");
                None
            }
        }
    }

    /// The command connection failed: the next use connects again.
    pub(super) fn broke(&self) {
        *lock(&self.commands) = None;
    }

    pub(super) fn sharded(&self) -> bool {
        self.sharded.load(Ordering::Relaxed) == 1
    }
}

pub(super) fn timed_out() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, "Redis did not answer in time"))
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
