//! The hearing side of the Redis bus: one RESP3 connection subscribed to the channels
//! of the topics the hub asks for, kept in step as they change; what those channels
//! carry passes the checkpoint on its way to the hub. Each (re)connection subscribes
//! again and tells the hub to resync.

use super::link::{timed_out, Link, RETRY_EVERY, TIMEOUT};
use super::presence::Presence;
use super::signing::Checkpoint;
use super::{Inbound, Present, Topic};
use palaver_protocol::RoomId;
use redis::{aio::MultiplexedConnection, AsyncConnectionConfig, Msg, PushInfo, PushKind};
use std::{
    collections::BTreeSet,
    sync::{
        atomic::{AtomicBool, Ordering},
        Arc,
    },
    time::Instant,
};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// Events received but not yet taken by the hub. Past it, what arrives is dropped and
/// the hub resyncs from the store.
pub(super) const INCOMING: usize = 16_384;
/// Channels subscribed or unsubscribed per round trip.
const SUBSCRIBE_BATCH: usize = 512;

/// What the hub asks to hear: every topic it needs now, and the rooms it just started
/// serving, whose presence it needs read.
pub(super) struct Wanted {
    pub topics: BTreeSet<Topic>,
    pub fresh: Vec<RoomId>,
}

/// Receives the events of the topics wanted that pass the checkpoint, subscribing
/// again whenever the connection drops.
pub(super) async fn listen_loop(
    link: Arc<Link>,
    presence: Presence,
    mut checkpoint: Checkpoint,
    mut wishes: mpsc::UnboundedReceiver<Wanted>,
    inbound: mpsc::Sender<Inbound>,
    shutdown: CancellationToken,
) {
    let mut wanted: BTreeSet<Topic> = BTreeSet::new();
    let mut lost_at: Option<Instant> = None;
    while !shutdown.is_cancelled() {
        let (pushed, mut pushes) = mpsc::channel::<PushInfo>(INCOMING);
        let overflowed = Arc::new(AtomicBool::new(false));
        let full = overflowed.clone();
        // Called by the connection as pushes arrive: never waits for the hub. A
        // subscription's confirmation is dropped here, so a node subscribing to tens of
        // thousands of channels at once does not fill the queue with them.
        let sender = move |push: PushInfo| -> Result<(), ()> {
            if !confirms(&push.kind) && pushed.try_send(push).is_err() {
                full.store(true, Ordering::Relaxed);
            }
            Ok(())
        };
        let connected = tokio::select! {
            c = tokio::time::timeout(TIMEOUT, link.connect(AsyncConnectionConfig::new().set_push_sender(sender))) => c,
            () = shutdown.cancelled() => return,
        };
        let connected = connected.unwrap_or_else(|_| Err(timed_out()));
        match connected {
            Ok((mut conn, sharded)) => {
                let mut subscribed = BTreeSet::new();
                while let Ok(wish) = wishes.try_recv() {
                    wanted = wish.topics;
                }
                let heard = async {
                    sync(&mut conn, sharded, &mut subscribed, &wanted).await?;
                    match lost_at.take() {
                        Some(at) => {
                            tracing::info!("Redis is back after {:?}: catching up from the database", at.elapsed())
                        }
                        None => tracing::info!(node = %checkpoint.node(), sharded, "subscribed to Redis"),
                    }
                    // Every room is caught up and its presence read again.
                    if inbound.send(Inbound::Resync).await.is_err() {
                        return Ok::<bool, redis::RedisError>(false);
                    }
                    loop {
                        let warning = checkpoint.warning_due();
                        tokio::select! {
                            wish = wishes.recv() => {
                                let Some(wish) = wish else { return Ok(false) };
                                let mut fresh = wish.fresh;
                                wanted = wish.topics;
                                while let Ok(wish) = wishes.try_recv() {
                                    fresh.extend(wish.fresh);
                                    wanted = wish.topics;
                                }
                                sync(&mut conn, sharded, &mut subscribed, &wanted).await?;
                                if !fresh.is_empty() {
                                    let rooms = presence.rooms(&mut conn, &fresh).await?;
                                    if inbound.send(Inbound::Present(Present { rooms, busy: None })).await.is_err() {
                                        return Ok(false);
                                    }
                                }
                            }
                            push = pushes.recv() => {
                                if overflowed.swap(false, Ordering::Relaxed) && inbound.send(Inbound::Resync).await.is_err() {
                                    return Ok(false);
                                }
                                let Some(push) = push.filter(|p| p.kind != PushKind::Disconnection) else { return Ok(true) };
                                let Some(message) = Msg::from_push_info(push) else { continue };
                                if let Some(envelope) = checkpoint.admit(message.get_payload_bytes()) {
                                    if inbound.send(Inbound::Event(envelope)).await.is_err() {
                                        return Ok(false);
                                    }
                                }
                            }
                            () = until(warning) => checkpoint.warn(Instant::now()),
                            () = shutdown.cancelled() => return Ok(false),
                        }
                    }
                };
                match heard.await {
                    Ok(false) => return,
                    Ok(true) => {
                        tracing::warn!("lost the Redis subscription; serving this node's clients and reconnecting")
                    }
                    Err(e) => {
                        tracing::warn!("Redis subscription failed ({e}); serving this node's clients and reconnecting")
                    }
                }
                lost_at.get_or_insert_with(Instant::now);
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

/// Subscribes to the channels of `wanted` not yet subscribed, and unsubscribes from the
/// others, one channel per command (each answers once), many per round trip.
async fn sync(
    conn: &mut MultiplexedConnection,
    sharded: bool,
    subscribed: &mut BTreeSet<Topic>,
    wanted: &BTreeSet<Topic>,
) -> redis::RedisResult<()> {
    let (subscribe, unsubscribe) = if sharded { ("SSUBSCRIBE", "SUNSUBSCRIBE") } else { ("SUBSCRIBE", "UNSUBSCRIBE") };
    let added: Vec<&Topic> = wanted.difference(subscribed).collect();
    let removed: Vec<&Topic> = subscribed.difference(wanted).collect();
    for (command, topics) in [(subscribe, added), (unsubscribe, removed)] {
        for chunk in topics.chunks(SUBSCRIBE_BATCH) {
            let mut pipe = redis::pipe();
            for topic in chunk {
                pipe.cmd(command).arg(topic.channel());
            }
            pipe.query_async::<()>(conn).await?;
        }
    }
    subscribed.clone_from(wanted);
    Ok(())
}

/// Whether a push only confirms a subscription or its end.
fn confirms(kind: &PushKind) -> bool {
    matches!(
        kind,
        PushKind::Subscribe
            | PushKind::SSubscribe
            | PushKind::PSubscribe
            | PushKind::Unsubscribe
            | PushKind::SUnsubscribe
            | PushKind::PUnsubscribe
    )
}

/// Waits until `at`, or forever.
async fn until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at.into()).await,
        None => std::future::pending().await,
    }
}
