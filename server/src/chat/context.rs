//! What every connection is given by the server: the hub, who signs tokens, the limits
//! it runs under and the shutdown signal.

use crate::accounts::Auth;
use crate::hub::Hub;
use crate::identity::Identity;
use crate::limits::Rate;
use crate::socket::Liveness;
use std::sync::Arc;
use tokio_util::sync::CancellationToken;

/// Everything a connection needs from the server; each connection keeps a copy, so
/// it stays small.
#[derive(Clone)]
pub struct Context {
    pub hub: Arc<Hub>,
    /// Accounts, their sessions and tokens.
    pub auth: Arc<Auth>,
    pub identity: Identity,
    pub liveness: Liveness,
    pub rate: Rate,
    /// Cancelled when the server shuts down: every connection closes with "going away".
    pub shutdown: CancellationToken,
    /// Gives stored messages their link's card (none when link previews are off).
    pub previews: Option<Arc<crate::preview::Previews>>,
    /// Uploaded files: their storage and limits.
    pub files: Arc<crate::files::Files>,
}
