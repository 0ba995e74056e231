//! Who is signed in on this node's connections: a connection opened with an account's
//! session cookie, or that said hello with a personal access token, is listed under it,
//! so that ending the session (or revoking the token) closes the connection at once,
//! here and, through the bus, on every other node.

use super::{Hub, Shared};
use crate::bus::{Event, Topic};
use crate::identity::Credential;
use crate::socket::Wire;
use palaver_protocol::{Close, UserId};
use std::{
    collections::HashMap,
    sync::{Arc, Weak},
};

/// The connections of each credential (those that ended are dropped as the list grows).
#[derive(Default)]
pub(super) struct Signed {
    /// Each credential's person, and its connections.
    by: HashMap<Credential, (UserId, Vec<Weak<Wire>>)>,
    /// Past this many credentials listed, the ones with no open connection go.
    prune_at: usize,
}

impl Signed {
    fn add(&mut self, credential: Credential, user: &UserId, wire: &Arc<Wire>) {
        if self.by.len() >= self.prune_at {
            self.by.retain(|_, (_, wires)| {
                wires.retain(|w| w.strong_count() > 0);
                !wires.is_empty()
            });
            self.prune_at = (self.by.len() * 2).max(64);
        }
        self.by.entry(credential).or_insert_with(|| (user.clone(), Vec::new())).1.push(Arc::downgrade(wire));
    }

    fn take(&mut self, credential: &Credential) -> Vec<Arc<Wire>> {
        self.by
            .remove(credential)
            .map(|(_, wires)| wires)
            .unwrap_or_default()
            .iter()
            .filter_map(Weak::upgrade)
            .collect()
    }

    /// The people with a connection open here.
    pub(super) fn people(&self) -> impl Iterator<Item = UserId> + '_ {
        self.by.values().filter(|(_, wires)| wires.iter().any(|w| w.strong_count() > 0)).map(|(u, _)| u.clone())
    }

    /// Every credential of `user` listed here.
    fn of(&self, user: &UserId) -> Vec<Credential> {
        self.by.iter().filter(|(_, (u, _))| u == user).map(|(c, _)| *c).collect()
    }
}

impl Shared {
    pub(super) fn signed(&self) -> std::sync::MutexGuard<'_, Signed> {
        self.signed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Closes this node's connections of these credentials.
    pub(super) fn sign_out(&self, ended: &[Credential]) {
        let wires: Vec<Arc<Wire>> = {
            let mut signed = self.signed();
            ended.iter().flat_map(|c| signed.take(c)).collect()
        };
        for wire in wires {
            wire.end(Close::SignedOut);
        }
    }

    /// Closes this node's connections of `user`, whatever they were signed in with.
    pub(super) fn sign_out_person(&self, user: &UserId) {
        let ended = self.signed().of(user);
        self.sign_out(&ended);
    }
}

impl Hub {
    /// Whether `person` has a tab open on any node: here (a connection signed in, or a
    /// tab following their counts), or on another node, which listens on their channel
    /// while they do (see `interest.rs`).
    pub async fn has_tab(&self, person: &UserId) -> bool {
        let here = self.shared.signed().people().any(|p| &p == person) || self.shared.readers().is_following(person);
        here || self.shared.bus.listeners(&Topic::Person(person.clone())).await.is_some_and(|n| n > 0)
    }

    /// Lists a connection under the credential it was signed in with, and its person.
    pub fn signed_in(&self, credential: Credential, user: &UserId, wire: &Arc<Wire>) {
        self.shared.signed().add(credential, user, wire);
        self.shared.interest_changed.notify_one();
    }

    /// These sessions or tokens of `user`'s have ended: their connections close, on
    /// every node.
    pub fn sign_out(&self, user: &UserId, ended: Vec<Credential>) {
        if ended.is_empty() {
            return;
        }
        self.shared.sign_out(&ended);
        self.shared.bus.publish(Event::SignedOut { user: user.clone(), ended });
    }
}
