//! The order a room's messages go out in on this node: in number order, whatever order
//! they arrive in. One node's own writer is always in order; with several nodes the bus
//! may bring them late, early or not at all, so a room holds what arrives early and
//! tells when a number has been missing long enough to read it from the store
//! (`cluster.rs` does).

use super::fanout::{Fanout, Frame};
use palaver_protocol::Seq;
use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

/// Messages a room holds while waiting for an earlier one; later ones are read from
/// the store when the gap is filled.
const MAX_EARLY: usize = 4096;

/// The order a room's messages go out in on this node.
#[derive(Default)]
pub(super) struct Order {
    /// The number that goes out next, once known.
    next: Option<Seq>,
    /// Until `next` is known, hold what arrives (with several nodes, the first message to
    /// arrive need not be the first to go out). One node's own writer is always in order.
    hold: bool,
    /// Whether anything has gone out yet.
    started: bool,
    /// Messages that arrived before one they follow.
    early: BTreeMap<Seq, Frame>,
    /// Since when the next number is missing.
    gap_since: Option<Instant>,
}

impl Order {
    pub(super) fn new(hold: bool) -> Order {
        Order { hold, ..Order::default() }
    }

    /// The number that goes out next, once known.
    pub(super) fn next(&self) -> Option<Seq> {
        self.next
    }

    /// Sends `frame` (number `seq`) to the room's feed if it is the next, with the early
    /// ones it lets go; holds it if it is early; drops it if it already went out.
    pub(super) fn deliver(&mut self, seq: Seq, frame: Frame, feed: &mut Fanout) {
        match self.next {
            Some(next) if seq < next => {}
            Some(next) if seq == next => {
                feed.send(frame);
                self.started = true;
                self.next = Some(next + 1);
                self.release(feed);
            }
            None if !self.hold => {
                feed.send(frame);
                self.started = true;
                self.next = Some(seq + 1);
            }
            _ => {
                if self.early.len() < MAX_EARLY {
                    self.early.insert(seq, frame);
                }
                self.gap_since.get_or_insert_with(Instant::now);
            }
        }
    }

    /// What a joining connection found newest in the store: while nothing has gone out
    /// yet, what goes out first is the one after the lowest such number (a connection
    /// that joined later skips what it has). Once something has gone out, every later
    /// joiner subscribed before it read, so the feed already suits it.
    pub(super) fn start_after(&mut self, newest: Seq, feed: &mut Fanout) {
        if !self.hold || self.started {
            return;
        }
        let first = newest + 1;
        if self.next.is_none_or(|next| first < next) {
            self.next = Some(first);
            self.release(feed);
        }
    }

    /// Sends the early messages that now follow on, and drops those already sent.
    fn release(&mut self, feed: &mut Fanout) {
        let Some(mut next) = self.next else { return };
        while let Some((&seq, _)) = self.early.first_key_value() {
            if seq > next {
                break;
            }
            if let Some((_, frame)) = self.early.pop_first() {
                if seq == next {
                    feed.send(frame);
                    self.started = true;
                    next += 1;
                }
            }
        }
        self.next = Some(next);
        self.gap_since = (!self.early.is_empty()).then(Instant::now);
    }

    /// The number to read from the store on, if one has been missing for `wait`. A room
    /// whose start was never learnt starts from the first message held.
    pub(super) fn missing(&mut self, wait: Duration, feed: &mut Fanout) -> Option<Seq> {
        self.gap_since.filter(|since| since.elapsed() >= wait)?;
        if self.next.is_none() {
            let first = *self.early.keys().next()?;
            self.start_after(first - 1, feed);
        }
        self.next.filter(|_| self.gap_since.is_some_and(|since| since.elapsed() >= wait))
    }
}
