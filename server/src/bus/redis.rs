//! The bus over Redis pub/sub: one channel every node publishes to and subscribes to.
//! Redis being away never stops a node: it serves its own clients, drops what it
//! cannot send (the others catch up from the database), and reconnects by itself;
//! each (re)subscription tells the hub to resync. Every event is signed as it is sent
//! and checked as it is heard ([`super::signing`]).

use super::signing::{now_ms, BusKey, Checkpoint, Dropped};
use super::{Bus, Envelope, Event, Inbound, NodeId};
use futures::StreamExt;
use redis::{aio::MultiplexedConnection, AsyncConnectionConfig, Client};
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The channel all events travel on.
pub const CHANNEL: &str = "palaver:events";
/// Events waiting to be published; past it, new ones are dropped (and caught up).
const OUTGOING: usize = 16_384;
/// Events received but not yet taken by the hub; while it is full, this node reads
/// Redis no faster than the hub takes them.
const INCOMING: usize = 16_384;
/// Most events sent in one round trip.
const PUBLISH_BATCH: usize = 256;
/// Longest wait for Redis to connect or answer.
const TIMEOUT: Duration = Duration::from_secs(2);
/// Wait between attempts to reach Redis again.
const RETRY_EVERY: Duration = Duration::from_millis(500);

pub struct RedisBus {
    node: NodeId,
    outgoing: mpsc::Sender<Vec<u8>>,
    dropped: Arc<Dropped>,
}

impl RedisBus {
    /// Starts publishing and subscribing at `url` (`redis://...`), signing and checking
    /// events with `key`. Only a malformed URL is an error: an unreachable Redis is
    /// tried again until `shutdown`.
    pub fn start(
        url: &str,
        node: NodeId,
        key: BusKey,
        shutdown: CancellationToken,
    ) -> Result<(RedisBus, mpsc::Receiver<Inbound>), redis::RedisError> {
        let client = Client::open(url)?;
        let (outgoing, queue) = mpsc::channel(OUTGOING);
        let (inbound, events) = mpsc::channel(INCOMING);
        let dropped = Arc::new(Dropped::default());
        let checkpoint = Checkpoint::new(key.clone(), node.clone(), dropped.clone());
        tokio::spawn(publish_loop(client.clone(), key, queue));
        tokio::spawn(subscribe_loop(client, checkpoint, inbound, shutdown));
        Ok((RedisBus { node, outgoing, dropped }, events))
    }
}

impl Bus for RedisBus {
    fn node(&self) -> &NodeId {
        &self.node
    }

    fn spans_nodes(&self) -> bool {
        true
    }

    fn publish(&self, event: Event) {
        let envelope = Envelope { node: self.node.clone(), event };
        // Room for the signature in front, filled in as it is sent.
        let mut payload = BusKey::blank();
        match serde_json::to_writer(&mut payload, &envelope) {
            // Full: Redis is slow or away; the other nodes catch up from the database.
            Ok(()) => {
                let _ = self.outgoing.try_send(payload);
            }
            Err(e) => tracing::error!("cannot encode a bus event: {e}"),
        }
    }

    fn dropped(&self) -> u64 {
        self.dropped.total()
    }

    fn flush(&self, limit: Duration) -> futures::future::BoxFuture<'_, ()> {
        Box::pin(async move {
            let deadline = Instant::now() + limit;
            while self.outgoing.capacity() < self.outgoing.max_capacity() && Instant::now() < deadline {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
            // The last batch taken off the queue is on its way: a round trip more.
            tokio::time::sleep(Duration::from_millis(50).min(deadline.saturating_duration_since(Instant::now()))).await;
        })
    }
}

async fn connect(client: &Client) -> redis::RedisResult<MultiplexedConnection> {
    let config = AsyncConnectionConfig::new().set_connection_timeout(TIMEOUT).set_response_timeout(TIMEOUT);
    client.get_multiplexed_async_connection_with_config(&config).await
}

/// Signs and sends what is queued, many events per round trip, until the bus is dropped
/// (so what a node says as it shuts down still goes out). Events are numbered here, in
/// the order Redis gets them, as the other nodes' checks expect.
async fn publish_loop(client: Client, key: BusKey, mut queue: mpsc::Receiver<Vec<u8>>) {
    let mut number: u64 = 0;
    let mut connection: Option<MultiplexedConnection> = None;
    let mut last_attempt: Option<Instant> = None;
    // Said once per outage, not on every attempt.
    let mut out_since: Option<Instant> = None;
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        if connection.is_none() && last_attempt.is_none_or(|at| at.elapsed() >= RETRY_EVERY) {
            last_attempt = Some(Instant::now());
            match connect(&client).await {
                Ok(c) => {
                    match out_since.take() {
                        Some(at) => tracing::info!("publishing to Redis again after {:?}", at.elapsed()),
                        None => tracing::info!("publishing to Redis"),
                    }
                    connection = Some(c);
                }
                Err(e) if out_since.is_none() => {
                    tracing::warn!("Redis unavailable for publishing ({e}); other nodes catch up from the database");
                    out_since = Some(Instant::now());
                }
                Err(_) => {}
            }
        }
        let Some(conn) = connection.as_mut() else {
            batch.clear();
            continue;
        };
        let mut pipe = redis::pipe();
        let sent = now_ms();
        for mut payload in batch.drain(..) {
            number += 1;
            key.sign(&mut payload, sent, number);
            pipe.cmd("PUBLISH").arg(CHANNEL).arg(payload).ignore();
        }
        if let Err(e) = pipe.query_async::<()>(conn).await {
            tracing::warn!("publishing to Redis failed ({e}); other nodes catch up from the database");
            out_since.get_or_insert_with(Instant::now);
            connection = None;
        }
    }
}

/// Receives every other node's events that pass the checkpoint, resubscribing whenever
/// the subscription drops.
async fn subscribe_loop(
    client: Client,
    mut checkpoint: Checkpoint,
    inbound: mpsc::Sender<Inbound>,
    shutdown: CancellationToken,
) {
    let mut lost_at: Option<Instant> = None;
    while !shutdown.is_cancelled() {
        let subscribed = async {
            let mut pubsub =
                tokio::time::timeout(TIMEOUT, client.get_async_pubsub()).await.map_err(|_| timeout())??;
            tokio::time::timeout(TIMEOUT, pubsub.subscribe(CHANNEL)).await.map_err(|_| timeout())??;
            Ok::<_, redis::RedisError>(pubsub)
        };
        let pubsub = tokio::select! {
            s = subscribed => s,
            () = shutdown.cancelled() => return,
        };
        match pubsub {
            Ok(pubsub) => {
                match lost_at.take() {
                    Some(at) => tracing::info!("Redis is back after {:?}: catching up from the database", at.elapsed()),
                    None => tracing::info!(node = %checkpoint.node(), "subscribed to Redis"),
                }
                if inbound.send(Inbound::Resync).await.is_err() {
                    return;
                }
                let mut messages = pubsub.into_on_message();
                loop {
                    let warning = checkpoint.warning_due();
                    let message = tokio::select! {
                        m = messages.next() => m,
                        () = until(warning) => {
                            checkpoint.warn(Instant::now());
                            continue;
                        }
                        () = shutdown.cancelled() => return,
                    };
                    let Some(message) = message else { break };
                    if let Some(envelope) = checkpoint.admit(message.get_payload_bytes()) {
                        if inbound.send(Inbound::Event(envelope)).await.is_err() {
                            return;
                        }
                    }
                }
                tracing::warn!("lost the Redis subscription; serving this node's clients and reconnecting");
                lost_at = Some(Instant::now());
            }
            Err(e) => {
                if lost_at.is_none() {
                    tracing::warn!("Redis unavailable ({e}); serving this node's clients and trying again");
                    lost_at = Some(Instant::now());
                }
            }
        }
        tokio::select! {
            () = tokio::time::sleep(RETRY_EVERY) => {}
            () = shutdown.cancelled() => return,
        }
    }
}

/// Waits until `at`, or forever.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}

fn timeout() -> redis::RedisError {
    redis::RedisError::from(std::io::Error::new(std::io::ErrorKind::TimedOut, "Redis did not answer in time"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::signing::now_ms;
    use crate::identity::Identity;
    use palaver_protocol::{RoomId, UserId};

    async fn next(heard: &mut mpsc::Receiver<Inbound>) -> Inbound {
        tokio::time::timeout(Duration::from_secs(5), heard.recv()).await.expect("an event in time").expect("open")
    }

    #[tokio::test]
    async fn nodes_hear_each_others_signed_events_and_drop_and_count_the_rest() {
        let redis = testkit::services::Redis::start(Duration::from_secs(60)).unwrap();
        let secret = Identity::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let shutdown = CancellationToken::new();
        let start = |node: &str| {
            RedisBus::start(&redis.url(), NodeId(node.into()), BusKey::new(&secret), shutdown.clone()).unwrap()
        };
        let (a, _) = start("a");
        let (b, mut heard) = start("b");
        assert!(matches!(next(&mut heard).await, Inbound::Resync), "b subscribed");
        let gone = |user: &str| Event::Gone { room: RoomId::parse("r").unwrap(), user: UserId(user.into()) };
        let from_a = |event| Envelope { node: NodeId("a".into()), event };

        a.publish(gone("u1"));
        assert!(matches!(next(&mut heard).await, Inbound::Event(e) if e == from_a(gone("u1"))));

        let mut attacker = connect(&Client::open(redis.url()).unwrap()).await.unwrap();
        let plain = serde_json::to_vec(&from_a(gone("u2"))).unwrap();
        let mut guessed = BusKey::blank();
        guessed.extend_from_slice(&plain);
        BusKey::new(&Identity::new(b"a guess at the secret of this chat".to_vec())).sign(&mut guessed, now_ms(), 99);
        for forged in [plain, guessed, b"junk".to_vec()] {
            redis::cmd("PUBLISH").arg(CHANNEL).arg(forged).query_async::<i64>(&mut attacker).await.unwrap();
        }
        a.publish(gone("u3"));
        assert!(
            matches!(next(&mut heard).await, Inbound::Event(e) if e == from_a(gone("u3"))),
            "the next event b hears is a's, not a forged one"
        );
        assert_eq!(b.dropped(), 3, "each forged one counted");
        shutdown.cancel();
    }
}
