//! Chat connections: the upgrade at `/ws` (the chat protocol) and at `/` (plain
//! WebSocket clients), each run as a task of its own by one connection skeleton that
//! differs only in how frames are read and written. From the bottom up, each module
//! depending only on those before it: `transport.rs` (JSON frames or plain lines),
//! `context.rs` (what the server gives every connection), `rooms.rs` (the rooms a
//! connection has joined, each one's feed, catching up on them), `state.rs` (what a
//! connection keeps between frames), `commands.rs` (each command's answer) and
//! `connection.rs` (the loop); the upgrades, here, on top.

mod allowed;
mod commands;
mod connection;
mod context;
mod identify;
mod rooms;
mod state;
#[cfg(test)]
mod tests;
mod transport;

pub use connection::serve;
pub use context::Context;
pub use rooms::MAX_ROOMS_PER_CONNECTION;
pub use state::Member;
pub use transport::{plain_line, Plain, Protocol, Transport};

use crate::admission::{Admission, Pass, Refused};
use crate::origin::{AllowedOrigins, CrossOrigin};
use crate::socket::Upgrade;
use axum::{
    extract::{ConnectInfo, Request, State},
    http::{header, HeaderMap, StatusCode},
    middleware::Next,
    response::{IntoResponse, Response},
};
use futures::FutureExt;
use std::net::SocketAddr;
use tokio_util::task::TaskTracker;

/// What the upgrade handlers need: who may connect, and where connections are counted.
#[derive(Clone)]
pub struct Gate {
    pub cx: Context,
    pub allowed_origins: AllowedOrigins,
    pub admission: Admission,
    /// Every connection's task, so shutdown can wait for them to finish.
    pub connections: TaskTracker,
}

impl Gate {
    /// Checks an upgrade's origin and its address's limits; the pass holds its place.
    fn admit(&self, peer: SocketAddr, headers: &HeaderMap) -> Result<Pass, Denied> {
        self.allowed_origins.check(headers).map_err(Denied::Origin)?;
        let ip = self.admission.client_ip(peer, headers);
        self.admission.admit(ip).map_err(Denied::Address)
    }

    /// Upgrades to a connection that speaks `transport`, run as a task of its own once
    /// the `101` response has gone out.
    fn accept<T: Transport>(
        &self,
        upgrade: Upgrade,
        response: Response,
        pass: Pass,
        transport: T,
        member: Option<Box<Member>>,
    ) -> Response {
        let cx = self.cx.clone();
        let connections = self.connections.clone();
        self.connections.spawn(async move {
            let (stream, early) = match upgrade.socket().await {
                Ok(socket) => socket,
                Err(e) => {
                    tracing::debug!("{e}");
                    return;
                }
            };
            let (frames, wire) = crate::socket::open(stream, early).await;
            // A task of the connection's own: the upgrade's task ends here, and with it
            // the state it kept for the handshake. `map`, not an `async` block: a block
            // would keep a second copy of the connection's future next to the one it
            // awaits.
            connections.spawn(serve(frames, wire, cx, transport, member).map(move |()| drop(pass)));
        });
        response
    }
}

/// Why an upgrade was refused before it started.
enum Denied {
    Origin(CrossOrigin),
    Address(Refused),
}

impl IntoResponse for Denied {
    fn into_response(self) -> Response {
        match self {
            Denied::Origin(refused) => refused.into_response(),
            Denied::Address(refused) => refused.into_response(),
        }
    }
}

/// `GET /ws`: a chat protocol connection.
pub async fn upgrade(
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    State(gate): State<Gate>,
    mut req: Request,
) -> Response {
    let pass = match gate.admit(peer, req.headers()) {
        Ok(pass) => pass,
        Err(denied) => return denied.into_response(),
    };
    // A signed-in browser's page: the socket is its account's.
    let member = match gate.cx.auth.visitor(req.headers()).await {
        Some(crate::accounts::Visitor::Member { session, account }) => {
            let credential = crate::identity::Credential::Session(session);
            Some(Box::new(Member { credential, role: account.role, user: account.user }))
        }
        _ => None,
    };
    match Upgrade::answer(&mut req) {
        Ok((upgrade, response)) => gate.accept(upgrade, response, pass, Protocol, member),
        Err(refused) => refused.into_response(),
    }
}

/// A WebSocket upgrade at `/` is a plain client (`websocat ws://HOST/`): it is served
/// here; every other request goes on to the pages.
pub async fn plain_upgrade(State(gate): State<Gate>, mut req: Request, next: Next) -> Response {
    let wants_socket = req.uri().path() == "/"
        && req
            .headers()
            .get(header::UPGRADE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("websocket"));
    if !wants_socket {
        return next.run(req).await;
    }
    let Some(peer) = crate::listen::peer(req.extensions()) else {
        return (StatusCode::INTERNAL_SERVER_ERROR, "no peer address for this connection").into_response();
    };
    let pass = match gate.admit(peer, req.headers()) {
        Ok(pass) => pass,
        Err(denied) => return denied.into_response(),
    };
    // Plain clients are guests: where there are none, they are turned away.
    if !gate.cx.auth.guests_allowed().await {
        return (StatusCode::FORBIDDEN, "this workspace has no guests: plain clients need an account\n")
            .into_response();
    }
    match Upgrade::answer(&mut req) {
        Ok((upgrade, response)) => match Plain::guest() {
            Ok(plain) => gate.accept(upgrade, response, pass, plain, None),
            Err(e) => {
                tracing::error!("cannot name a guest: {e}");
                (StatusCode::SERVICE_UNAVAILABLE, "the server cannot take a guest right now; try again\n")
                    .into_response()
            }
        },
        Err(refused) => refused.into_response(),
    }
}
