//! Bus events signed by the node that sends them and checked by every node that hears
//! them, so that whatever else can publish on Redis cannot make a node show a message,
//! clear someone's unread counts or empty a room's presence, nor replay what a node said.
//!
//! A payload on the bus is a header and the JSON envelope: an HMAC-SHA256 (32 bytes) of
//! everything after it, when it was sent (8 bytes, milliseconds since 1970) and its
//! number (8 bytes). The key is derived from the server secret, which every node shares,
//! and is never the secret itself (that signs tokens). Each node numbers what it sends
//! from 1; a node lets through from each other node only numbers past the last it heard
//! from it, sent within [`STALE_AFTER`] of its own clock.

use super::{Envelope, NodeId};
use crate::identity::Identity;
use hmac::{digest::KeyInit, Hmac, Mac};
use sha2::Sha256;
use std::{
    collections::HashMap,
    fmt,
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant, SystemTime},
};

type HmacSha256 = Hmac<Sha256>;

const MAC: usize = 32;
/// Bytes before the envelope: its signature, when it was sent and its number.
pub const HEADER: usize = MAC + 8 + 8;
/// What the bus key is derived for (a space, so no token's payload is ever the same).
const PURPOSE: &[u8] = b"palaver bus v1";
/// Events sent longer ago than this (or as far ahead, by this node's clock) are
/// replays, or their node's clock is off: nodes' clocks must agree within it.
pub const STALE_AFTER: Duration = Duration::from_secs(60);
/// A node not heard from for this long is forgotten: anything of its replayed later
/// is stale by then.
const FORGET_AFTER: Duration = Duration::from_secs(300);
/// At most one warning about dropped events this often.
pub const WARN_EVERY: Duration = Duration::from_secs(10);

/// Signs and checks bus payloads. Cloning copies a keyed HMAC state, so a signature costs
/// one pass over the payload and no key setup.
#[derive(Clone)]
pub struct BusKey {
    mac: HmacSha256,
}

/// A payload whose signature holds.
#[derive(Debug, PartialEq)]
pub struct Signed<'a> {
    /// When it was sent, in milliseconds since 1970 by its node's clock.
    pub sent_ms: u64,
    /// Its number among what its node sent.
    pub number: u64,
    /// The envelope, as JSON.
    pub body: &'a [u8],
}

impl BusKey {
    /// The key of every node sharing `identity`'s secret.
    pub fn new(identity: &Identity) -> BusKey {
        BusKey::from_key(identity.derive_key(PURPOSE))
    }

    fn from_key(key: [u8; 32]) -> BusKey {
        // HMAC pads a key shorter than SHA-256's block with zeros: padding it here
        // keys the same HMAC without a fallible length check.
        let mut block = [0u8; 64];
        block[..key.len()].copy_from_slice(&key);
        BusKey { mac: <HmacSha256 as KeyInit>::new(&block.into()) }
    }

    /// A payload to write an envelope into (after its [`HEADER`]) and then sign.
    pub fn blank() -> Vec<u8> {
        let mut payload = Vec::with_capacity(HEADER + 256);
        payload.resize(HEADER, 0);
        payload
    }

    /// Fills in the header of `payload` (a [`BusKey::blank`] with the envelope after it).
    pub fn sign(&self, payload: &mut [u8], sent_ms: u64, number: u64) {
        let Some((header, _)) = payload.split_first_chunk_mut::<HEADER>() else { return };
        header[MAC..MAC + 8].copy_from_slice(&sent_ms.to_be_bytes());
        header[MAC + 8..].copy_from_slice(&number.to_be_bytes());
        let mut mac = self.mac.clone();
        mac.update(&payload[MAC..]);
        payload[..MAC].copy_from_slice(&mac.finalize().into_bytes());
    }

    /// The header and envelope of `payload`, if a node with this key signed it.
    pub fn open<'a>(&self, payload: &'a [u8]) -> Result<Signed<'a>, Refusal> {
        let Some((mac, signed)) = payload.split_first_chunk::<MAC>() else { return Err(Refusal::Unsigned) };
        let Some((sent_ms, rest)) = signed.split_first_chunk::<8>() else { return Err(Refusal::Unsigned) };
        let Some((number, body)) = rest.split_first_chunk::<8>() else { return Err(Refusal::Unsigned) };
        let mut check = self.mac.clone();
        check.update(signed);
        // Compares in constant time.
        if check.verify_slice(mac).is_err() {
            return Err(if payload.starts_with(b"{") { Refusal::Unsigned } else { Refusal::Forged });
        }
        Ok(Signed { sent_ms: u64::from_be_bytes(*sent_ms), number: u64::from_be_bytes(*number), body })
    }
}

/// Why an event from the bus was dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Too short to hold a signature, or plain JSON (as nodes of versions that did not
    /// sign sent).
    Unsigned,
    /// A signature that does not hold: another key, or changed on the way.
    Forged,
    /// Signed longer ago than [`STALE_AFTER`] (or as far ahead).
    Stale,
    /// A number its node had already sent: the same event again.
    Replayed,
    /// Signed with this chat's key, but not an event this node can read.
    Unreadable,
}

const REFUSALS: [(Refusal, &str); 5] = [
    (Refusal::Unsigned, "unsigned"),
    (Refusal::Forged, "wrong signature"),
    (Refusal::Stale, "stale"),
    (Refusal::Replayed, "replayed"),
    (Refusal::Unreadable, "unreadable"),
];

/// Events dropped since the node started, by why: kept by the bus, readable while the
/// node runs.
#[derive(Debug, Default)]
pub struct Dropped {
    counts: [AtomicU64; REFUSALS.len()],
}

impl Dropped {
    pub fn total(&self) -> u64 {
        self.counts.iter().map(|c| c.load(Ordering::Relaxed)).sum()
    }

    pub fn of(&self, refusal: Refusal) -> u64 {
        self.counts[refusal as usize].load(Ordering::Relaxed)
    }

    fn add(&self, refusal: Refusal) {
        self.counts[refusal as usize].fetch_add(1, Ordering::Relaxed);
    }
}

impl fmt::Display for Dropped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for (refusal, name) in REFUSALS {
            let count = self.of(refusal);
            if count > 0 {
                write!(f, "{}{count} {name}", if first { "" } else { ", " })?;
                first = false;
            }
        }
        Ok(())
    }
}

/// What one node lets through from the bus: events signed with the chat's key, recent,
/// and new from the node that sent them. What it turns away is counted, and told in
/// the log at most every [`WARN_EVERY`].
pub struct Checkpoint {
    key: BusKey,
    node: NodeId,
    /// How this node's own envelopes start: they come back, and are skipped unread.
    own: Vec<u8>,
    heard: HashMap<NodeId, Heard>,
    swept: Instant,
    dropped: Arc<Dropped>,
    warned: Option<Instant>,
    untold: u64,
}

/// The last number heard from a node, and when.
struct Heard {
    number: u64,
    at: Instant,
}

impl Checkpoint {
    pub fn new(key: BusKey, node: NodeId, dropped: Arc<Dropped>) -> Checkpoint {
        // Envelopes are serialized with the node first.
        let own = format!("{{\"node\":{},", serde_json::Value::String(node.0.clone())).into_bytes();
        Checkpoint { key, node, own, heard: HashMap::new(), swept: Instant::now(), dropped, warned: None, untold: 0 }
    }

    /// The node this checkpoint is for.
    pub fn node(&self) -> &NodeId {
        &self.node
    }

    /// Another node's event in `payload`, if it passes; `None` for this node's own or
    /// one dropped (counted, and warned of in time).
    pub fn admit(&mut self, payload: &[u8]) -> Option<Envelope> {
        self.admit_at(payload, now_ms(), Instant::now())
    }

    fn admit_at(&mut self, payload: &[u8], now_ms: u64, now: Instant) -> Option<Envelope> {
        match self.check(payload, now_ms, now) {
            Ok(envelope) => envelope,
            Err(refusal) => {
                self.dropped.add(refusal);
                self.untold += 1;
                if self.warned.is_none_or(|at| now.duration_since(at) >= WARN_EVERY) {
                    self.warn(now);
                }
                None
            }
        }
    }

    fn check(&mut self, payload: &[u8], now_ms: u64, now: Instant) -> Result<Option<Envelope>, Refusal> {
        // This node's own, back from Redis: skipped before the cost of a signature (one
        // forged in its name would be dropped all the same, uncounted).
        if payload.get(HEADER..).is_some_and(|body| body.starts_with(&self.own)) {
            return Ok(None);
        }
        let signed = self.key.open(payload)?;
        if now_ms.abs_diff(signed.sent_ms) > STALE_AFTER.as_millis() as u64 {
            return Err(Refusal::Stale);
        }
        let envelope: Envelope = serde_json::from_slice(signed.body).map_err(|_| Refusal::Unreadable)?;
        if envelope.node == self.node {
            return Ok(None);
        }
        // Forgotten after twice the stale limit and more: by then, whatever of theirs is
        // replayed is stale, whatever their clock.
        if now.duration_since(self.swept) >= STALE_AFTER {
            self.heard.retain(|_, heard| now.duration_since(heard.at) < FORGET_AFTER);
            self.swept = now;
        }
        match self.heard.get_mut(&envelope.node) {
            Some(heard) if signed.number <= heard.number => return Err(Refusal::Replayed),
            Some(heard) => *heard = Heard { number: signed.number, at: now },
            None => {
                self.heard.insert(envelope.node.clone(), Heard { number: signed.number, at: now });
            }
        }
        Ok(Some(envelope))
    }

    /// When the events dropped since the last warning are to be warned of, if any are.
    pub fn warning_due(&self) -> Option<Instant> {
        let last = self.warned?;
        (self.untold > 0).then(|| last + WARN_EVERY)
    }

    /// Warns of the events dropped since the last warning, with the running total.
    pub fn warn(&mut self, now: Instant) {
        if self.untold == 0 {
            return;
        }
        tracing::warn!(
            "bus events dropped since start: {} ({}), {} since the last warning: something other than this chat's \
             nodes publishes on Redis, or a node runs with another PALAVER_SECRET, an older version or a clock off \
             by more than {:?}",
            self.dropped.total(),
            self.dropped,
            self.untold,
            STALE_AFTER,
        );
        self.warned = Some(now);
        self.untold = 0;
    }
}

/// Milliseconds since 1970 by this node's clock, as [`BusKey::sign`] takes them.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bus::Event;
    use palaver_protocol::{RoomId, UserId};

    fn key(secret: &[u8]) -> BusKey {
        BusKey::new(&Identity::new(secret.to_vec()))
    }

    const SECRET: &[u8] = b"0123456789abcdef0123456789abcdef";

    /// `node`'s event, signed with `key` as its node sends it.
    fn payload(key: &BusKey, node: &str, sent_ms: u64, number: u64) -> Vec<u8> {
        let event = Event::Gone { room: RoomId::parse("r").unwrap(), user: UserId("u1".into()) };
        let mut payload = BusKey::blank();
        serde_json::to_writer(&mut payload, &Envelope { node: NodeId(node.into()), event }).unwrap();
        key.sign(&mut payload, sent_ms, number);
        payload
    }

    #[test]
    fn a_signature_holds_for_every_node_with_the_secret_and_for_nothing_changed() {
        let signed = payload(&key(SECRET), "n1", 5, 7);
        let opened = key(SECRET).open(&signed).unwrap();
        assert_eq!((opened.sent_ms, opened.number), (5, 7));
        assert_eq!(opened.body, &signed[HEADER..]);
        assert!(opened.body.starts_with(b"{\"node\":\"n1\""));

        assert_eq!(key(b"another secret, also 32 bytes ok").open(&signed), Err(Refusal::Forged));
        for at in [0, MAC, MAC + 8, HEADER, signed.len() - 1] {
            let mut changed = signed.clone();
            changed[at] ^= 1;
            assert_eq!(key(SECRET).open(&changed), Err(Refusal::Forged), "byte {at} changed");
        }
        let plain = &signed[HEADER..];
        assert_eq!(key(SECRET).open(plain), Err(Refusal::Unsigned));
        for short in [&b""[..], b"junk", &signed[..HEADER - 1]] {
            assert_eq!(key(SECRET).open(short), Err(Refusal::Unsigned));
        }
    }

    fn checkpoint() -> (Checkpoint, Arc<Dropped>) {
        let dropped = Arc::new(Dropped::default());
        (Checkpoint::new(key(SECRET), NodeId("me".into()), dropped.clone()), dropped)
    }

    #[test]
    fn a_node_lets_through_each_signed_event_once_in_time_and_counts_the_rest() {
        let (mut gate, dropped) = checkpoint();
        let (now_ms, now) = (1_000_000_000, Instant::now());
        let k = key(SECRET);
        let pass = |gate: &mut Checkpoint, p: &[u8]| gate.admit_at(p, now_ms, now).map(|e| e.node.0);

        assert_eq!(pass(&mut gate, &payload(&k, "a", now_ms, 1)), Some("a".into()));
        assert_eq!(pass(&mut gate, &payload(&k, "a", now_ms, 3)), Some("a".into()), "numbers may skip");
        assert_eq!(pass(&mut gate, &payload(&k, "b", now_ms, 1)), Some("b".into()), "per node");
        assert_eq!(pass(&mut gate, &payload(&k, "me", now_ms, 9)), None, "its own");
        let other = key(b"another secret, also 32 bytes ok");
        assert_eq!(pass(&mut gate, &payload(&other, "me", now_ms, 10)), None, "its own, by the first bytes");
        assert_eq!(dropped.total(), 0);

        assert_eq!(pass(&mut gate, &payload(&k, "a", now_ms, 3)), None, "the same again");
        assert_eq!(pass(&mut gate, &payload(&k, "a", now_ms, 2)), None, "an older one");
        assert_eq!(dropped.of(Refusal::Replayed), 2);
        let minute = STALE_AFTER.as_millis() as u64;
        assert_eq!(pass(&mut gate, &payload(&k, "a", now_ms - minute - 1, 4)), None, "sent too long ago");
        assert_eq!(pass(&mut gate, &payload(&k, "a", now_ms + minute + 1, 5)), None, "from too far ahead");
        assert_eq!(dropped.of(Refusal::Stale), 2);
        assert_eq!(pass(&mut gate, &payload(&k, "a", now_ms - minute, 6)), Some("a".into()), "a clock a minute off");

        let forged = payload(&key(b"another secret, also 32 bytes ok"), "a", now_ms, 100);
        assert_eq!(pass(&mut gate, &forged), None);
        assert_eq!(pass(&mut gate, &forged[HEADER..]), None);
        assert_eq!(pass(&mut gate, b"junk"), None);
        let mut unreadable = BusKey::blank();
        unreadable.extend_from_slice(b"{\"node\":\"a\",\"event\":{\"t\":\"news from the future\"}}");
        k.sign(&mut unreadable, now_ms, 101);
        assert_eq!(pass(&mut gate, &unreadable), None);
        assert_eq!(
            [Refusal::Unsigned, Refusal::Forged, Refusal::Unreadable].map(|r| dropped.of(r)),
            [2, 1, 1],
            "{dropped}"
        );
        assert_eq!(dropped.total(), 8);
        assert_eq!(dropped.to_string(), "2 unsigned, 1 wrong signature, 2 stale, 2 replayed, 1 unreadable");
        assert_eq!(pass(&mut gate, &payload(&k, "a", now_ms, 102)), Some("a".into()), "the real node still heard");
    }

    #[test]
    fn nodes_long_silent_are_forgotten_and_what_they_said_is_stale_by_then() {
        let (mut gate, dropped) = checkpoint();
        let (start_ms, start) = (1_000_000_000, Instant::now());
        let k = key(SECRET);
        let said = payload(&k, "gone", start_ms, 1);
        assert!(gate.admit_at(&said, start_ms, start).is_some());
        let later = start + FORGET_AFTER;
        let later_ms = start_ms + FORGET_AFTER.as_millis() as u64;
        assert!(gate.admit_at(&payload(&k, "live", later_ms, 1), later_ms, later).is_some());
        assert_eq!(gate.heard.len(), 1, "only the node still talking is remembered");
        assert!(gate.admit_at(&said, later_ms, later).is_none(), "its old word replayed");
        assert_eq!(dropped.of(Refusal::Stale), 1);
    }

    #[test]
    fn drops_are_warned_of_at_once_then_at_most_every_ten_seconds() {
        let (mut gate, dropped) = checkpoint();
        let now = Instant::now();
        assert_eq!(gate.warning_due(), None);
        gate.admit_at(b"junk", 0, now);
        assert_eq!((gate.warned, gate.untold), (Some(now), 0), "the first is told at once");
        assert_eq!(gate.warning_due(), None, "nothing more to tell");
        for n in 1..=100 {
            gate.admit_at(b"junk", 0, now + Duration::from_millis(n));
        }
        assert_eq!(gate.warned, Some(now), "no warning per event");
        assert_eq!(gate.warning_due(), Some(now + WARN_EVERY));
        gate.warn(now + WARN_EVERY);
        assert_eq!((gate.warning_due(), dropped.total()), (None, 101));
        gate.admit_at(b"junk", 0, now + WARN_EVERY * 3);
        assert_eq!(gate.warned, Some(now + WARN_EVERY * 3), "a drop after a quiet spell is told at once");
    }
}
