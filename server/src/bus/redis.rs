//! The bus over Redis pub/sub: a channel per room and per person ([`super::Topic`]),
//! sharded (`SPUBLISH`/`SSUBSCRIBE`, Redis 7) where the server has it and plain
//! channels otherwise (`PALAVER_REDIS_PUBSUB`). Redis being away never stops a node:
//! it serves its own clients, drops what it cannot send (the others catch up from the
//! database), and reconnects by itself; each (re)subscription tells the hub to resync.
//! Every event is signed as it is sent and checked as it is heard
//! ([`super::signing`]). Who is in each room is kept beside the channels
//! ([`super::presence`]).

pub use super::link::Channels;
use super::link::Link;
use super::listen::{listen_loop, Wanted};
use super::presence::Presence;
use super::signing::{now_ms, BusKey, Checkpoint, Dropped};
use super::{Bus, Envelope, Event, Inbound, NodeId, Present, Topic};
use palaver_protocol::{RoomId, User};
use std::{
    collections::BTreeSet,
    sync::Arc,
    time::{Duration, Instant},
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Events waiting to be published; past it, new ones are dropped (and caught up).
const OUTGOING: usize = 16_384;
/// Most events sent in one round trip.
const PUBLISH_BATCH: usize = 256;
/// An event to publish: where to, its payload (signed as it is sent), and the change
/// to the presence hashes it makes.
struct Outgoing {
    topics: Vec<Topic>,
    payload: Vec<u8>,
    presence: Option<Event>,
}

pub struct RedisBus {
    node: NodeId,
    outgoing: mpsc::Sender<Outgoing>,
    wanted: mpsc::UnboundedSender<Wanted>,
    link: Arc<Link>,
    presence: Presence,
    dropped: Arc<Dropped>,
}

impl RedisBus {
    /// Starts publishing and subscribing at `url` (`redis://...`), signing and checking
    /// events with `key`. Only a malformed URL is an error: an unreachable Redis is
    /// tried again until `shutdown`.
    pub fn start(
        url: &str,
        channels: Channels,
        node: NodeId,
        key: BusKey,
        shutdown: CancellationToken,
    ) -> Result<(RedisBus, mpsc::Receiver<Inbound>), redis::RedisError> {
        let link = Arc::new(Link::new(url, channels)?);
        let (outgoing, queue) = mpsc::channel(OUTGOING);
        let (wanted, wishes) = mpsc::unbounded_channel();
        let (inbound, events) = mpsc::channel(super::listen::INCOMING);
        let dropped = Arc::new(Dropped::default());
        let checkpoint = Checkpoint::new(key.clone(), node.clone(), dropped.clone());
        let presence = Presence::new(key.clone(), node.clone());
        tokio::spawn(publish_loop(link.clone(), key, presence.clone(), queue));
        tokio::spawn(listen_loop(link.clone(), presence.clone(), checkpoint, wishes, inbound, shutdown));
        Ok((RedisBus { node, outgoing, wanted, link, presence, dropped }, events))
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
        let topics = event.topics();
        let presence = matches!(event, Event::Here { .. } | Event::Gone { .. }).then(|| event.clone());
        let envelope = Envelope { node: self.node.clone(), event };
        // Room for the signature in front, filled in as it is sent.
        let mut payload = BusKey::blank();
        match serde_json::to_writer(&mut payload, &envelope) {
            // Full: Redis is slow or away; the other nodes catch up from the database.
            Ok(()) => {
                let _ = self.outgoing.try_send(Outgoing { topics, payload, presence });
            }
            Err(e) => tracing::error!("cannot encode a bus event: {e}"),
        }
    }

    fn listen(&self, topics: BTreeSet<Topic>, fresh: Vec<RoomId>) {
        let _ = self.wanted.send(Wanted { topics, fresh });
    }

    fn refresh(&self, mine: Vec<(RoomId, Vec<User>)>) -> futures::future::BoxFuture<'_, Option<Present>> {
        Box::pin(async move {
            let mut conn = self.link.commands().await?;
            match self.presence.refresh(&mut conn, mine).await {
                Ok(present) => Some(present),
                Err(e) => {
                    tracing::warn!("cannot refresh who is here in Redis: {e}");
                    self.link.broke();
                    None
                }
            }
        })
    }

    fn listeners(&self, topic: &Topic) -> futures::future::BoxFuture<'_, Option<u64>> {
        let channel = topic.channel();
        Box::pin(async move {
            let mut conn = self.link.commands().await?;
            let count = if self.link.sharded() { "SHARDNUMSUB" } else { "NUMSUB" };
            let counts: std::collections::HashMap<String, u64> =
                redis::cmd("PUBSUB").arg(count).arg(&channel).query_async(&mut conn).await.ok()?;
            counts.get(&channel).copied()
        })
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

/// Signs and sends what is queued, many events per round trip, until the bus is dropped
/// (so what a node says as it shuts down still goes out). Events are numbered here, in
/// the order Redis gets them, as the other nodes' checks expect.
async fn publish_loop(link: Arc<Link>, key: BusKey, presence: Presence, mut queue: mpsc::Receiver<Outgoing>) {
    let mut number: u64 = 0;
    // Said once per outage, not on every attempt.
    let mut out_since: Option<Instant> = None;
    let mut batch = Vec::with_capacity(PUBLISH_BATCH);
    while queue.recv_many(&mut batch, PUBLISH_BATCH).await > 0 {
        let Some(mut conn) = link.commands().await else {
            if out_since.is_none() {
                tracing::warn!("Redis unavailable for publishing; other nodes catch up from the database");
                out_since = Some(Instant::now());
            }
            batch.clear();
            continue;
        };
        if let Some(at) = out_since.take() {
            tracing::info!("publishing to Redis again after {:?}", at.elapsed());
        }
        let publish = if link.sharded() { "SPUBLISH" } else { "PUBLISH" };
        let mut pipe = redis::pipe();
        let sent = now_ms();
        for Outgoing { topics, mut payload, presence: change } in batch.drain(..) {
            match change {
                Some(Event::Here { room, user }) => presence.here(&mut pipe, &room, &user),
                Some(Event::Gone { room, user }) => presence.gone(&mut pipe, &room, &user),
                _ => {}
            }
            // Numbered once per channel: a node hearing both a message's room and a
            // person it names takes the second copy for news, not for a replay.
            let last = topics.len().saturating_sub(1);
            for (i, topic) in topics.into_iter().enumerate() {
                number += 1;
                let mut signed = if i == last { std::mem::take(&mut payload) } else { payload.clone() };
                key.sign(&mut signed, sent, number);
                pipe.cmd(publish).arg(topic.channel()).arg(signed).ignore();
            }
        }
        if let Err(e) = pipe.query_async::<()>(&mut conn).await {
            tracing::warn!("publishing to Redis failed ({e}); other nodes catch up from the database");
            out_since.get_or_insert_with(Instant::now);
            link.broke();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use palaver_protocol::UserId;

    async fn next(heard: &mut mpsc::Receiver<Inbound>) -> Inbound {
        tokio::time::timeout(Duration::from_secs(5), heard.recv()).await.expect("an event in time").expect("open")
    }

    #[tokio::test]
    async fn nodes_hear_the_topics_they_listen_to_signed_and_drop_and_count_the_rest() {
        let redis = testkit::services::Redis::start(Duration::from_secs(60)).unwrap();
        let secret = Identity::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let shutdown = CancellationToken::new();
        let start = |node: &str, channels| {
            RedisBus::start(&redis.url(), channels, NodeId(node.into()), BusKey::new(&secret), shutdown.clone())
                .unwrap()
        };
        for (n, channels) in [Channels::Auto, Channels::Plain].into_iter().enumerate() {
            let (a, _) = start(&format!("a{n}"), channels);
            let (b, mut heard) = start(&format!("b{n}"), channels);
            assert!(matches!(next(&mut heard).await, Inbound::Resync), "b subscribed");
            let (r, elsewhere) = (RoomId::parse("r").unwrap(), RoomId::parse("elsewhere").unwrap());
            let ann = palaver_protocol::User { id: UserId("ann".into()), name: "Ann".into(), handle: None };
            let here = |room: &RoomId| Event::Here { room: room.clone(), user: ann.clone() };
            let typing = |room: &RoomId| Event::Typing { room: room.clone(), user: ann.clone() };
            let from_a = |event| Envelope { node: NodeId(format!("a{n}")), event };

            // Ann is in r through a before b serves it: b reads her there once it listens.
            a.publish(here(&r));
            tokio::time::sleep(Duration::from_millis(200)).await;
            b.listen(BTreeSet::from([Topic::Room(r.clone())]), vec![r.clone()]);
            let present =
                Present { rooms: vec![(r.clone(), vec![(NodeId(format!("a{n}")), ann.clone())])], busy: None };
            assert!(matches!(next(&mut heard).await, Inbound::Present(p) if p == present), "{channels:?}");

            // b hears r, not a room it does not serve.
            a.publish(typing(&elsewhere));
            a.publish(typing(&r));
            assert!(matches!(next(&mut heard).await, Inbound::Event(e) if e == from_a(typing(&r))));

            let mut attacker =
                redis::Client::open(redis.url()).unwrap().get_multiplexed_async_connection().await.unwrap();
            let plain = serde_json::to_vec(&from_a(typing(&r))).unwrap();
            let mut guessed = BusKey::blank();
            guessed.extend_from_slice(&plain);
            BusKey::new(&Identity::new(b"a guess at the secret of this chat".to_vec())).sign(
                &mut guessed,
                now_ms(),
                99,
            );
            let publish = if channels == Channels::Plain { "PUBLISH" } else { "SPUBLISH" };
            for forged in [plain, guessed, b"junk".to_vec()] {
                let heard_by: i64 = redis::cmd(publish)
                    .arg(Topic::Room(r.clone()).channel())
                    .arg(forged)
                    .query_async(&mut attacker)
                    .await
                    .unwrap();
                assert_eq!(heard_by, 1, "b listens on r's channel with {publish}");
            }
            a.publish(Event::Gone { room: r.clone(), user: ann.id.clone() });
            assert!(
                matches!(next(&mut heard).await, Inbound::Event(e) if e.event == Event::Gone { room: r.clone(), user: ann.id.clone() }),
                "the next event b hears is a's, not a forged one"
            );
            assert_eq!(b.dropped(), 3, "each forged one counted");
            // Once b no longer serves r, it hears nothing of it.
            b.listen(BTreeSet::new(), Vec::new());
            tokio::time::sleep(Duration::from_millis(200)).await;
            a.publish(typing(&r));
            tokio::time::sleep(Duration::from_millis(200)).await;
            assert!(heard.try_recv().is_err(), "nothing of r after b stopped listening");
        }
        shutdown.cancel();
    }

    #[tokio::test]
    async fn a_node_hearing_more_people_than_its_queue_holds_misses_none_of_their_events() {
        let redis = testkit::services::Redis::start(Duration::from_secs(60)).unwrap();
        let secret = Identity::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let shutdown = CancellationToken::new();
        let start = |node: &str| {
            RedisBus::start(&redis.url(), Channels::Auto, NodeId(node.into()), BusKey::new(&secret), shutdown.clone())
                .unwrap()
        };
        let (a, _) = start("a");
        let (b, mut heard) = start("b");
        assert!(matches!(next(&mut heard).await, Inbound::Resync), "b subscribed");
        // More people at once than events the queue holds: their confirmations must not
        // take its place.
        let people: Vec<UserId> =
            (0..super::super::listen::INCOMING + 4_000).map(|i| UserId(format!("p{i}"))).collect();
        b.listen(people.iter().cloned().map(Topic::Person).collect(), Vec::new());
        let read = |user: &UserId| Event::Read { user: user.clone(), room: RoomId::parse("r").unwrap(), seq: 7 };
        let last = people.last().unwrap();
        // Listening on the last person's channel once every subscription is made.
        let channel = Topic::Person(last.clone()).channel();
        let deadline = std::time::Instant::now() + Duration::from_secs(20);
        while !redis.command(&["PUBSUB", "SHARDNUMSUB", &channel]).unwrap_or_default().ends_with(":1\r\n") {
            assert!(std::time::Instant::now() < deadline, "b subscribed to everyone in time");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        // Who listens to a person's channel: the nodes they have a tab open on.
        assert_eq!(a.listeners(&Topic::Person(last.clone())).await, Some(1));
        assert_eq!(a.listeners(&Topic::Person(UserId("nobody".into()))).await, Some(0));
        a.publish(read(last));
        match next(&mut heard).await {
            Inbound::Event(e) => assert_eq!(e.event, read(last)),
            Inbound::Resync => panic!("b's queue overflowed with confirmations: what came meanwhile was dropped"),
            _ => panic!("another inbound"),
        }
        shutdown.cancel();
    }
}
