//! Who is signed in on this node's connections: a connection opened with an account's
//! session cookie, or that said hello with a personal access token, is listed under it,
//! so that ending the session (or revoking the token) closes the connection at once,
//! here and, through the bus, on every other node.

use super::{Hub, Shared};
use crate::bus::Event;
use crate::identity::Credential;
use crate::socket::Wire;
use palaver_protocol::Close;
use std::{
    collections::HashMap,
    sync::{Arc, Weak},
};

/// The connections of each credential (those that ended are dropped as the list grows).
#[derive(Default)]
pub(super) struct Signed {
    by: HashMap<Credential, Vec<Weak<Wire>>>,
    /// Past this many credentials listed, the ones with no open connection go.
    prune_at: usize,
}

impl Signed {
    fn add(&mut self, credential: Credential, wire: &Arc<Wire>) {
        if self.by.len() >= self.prune_at {
            self.by.retain(|_, wires| {
                wires.retain(|w| w.strong_count() > 0);
                !wires.is_empty()
            });
            self.prune_at = (self.by.len() * 2).max(64);
        }
        self.by.entry(credential).or_default().push(Arc::downgrade(wire));
    }

    fn take(&mut self, credential: &Credential) -> Vec<Arc<Wire>> {
        self.by.remove(credential).unwrap_or_default().iter().filter_map(Weak::upgrade).collect()
    }
}

impl Shared {
    fn signed(&self) -> std::sync::MutexGuard<'_, Signed> {
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
}

impl Hub {
    /// Lists a connection under the credential it was signed in with.
    pub fn signed_in(&self, credential: Credential, wire: &Arc<Wire>) {
        self.shared.signed().add(credential, wire);
    }

    /// These sessions or tokens have ended: their connections close, on every node.
    pub fn sign_out(&self, ended: Vec<Credential>) {
        if ended.is_empty() {
            return;
        }
        self.shared.sign_out(&ended);
        self.shared.bus.publish(Event::SignedOut { ended });
    }
}
