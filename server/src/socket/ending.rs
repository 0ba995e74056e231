//! Why a connection ended: what the wire, the heartbeat and the connection's loop each
//! report, and what the goodbye is made from.

use palaver_protocol::Close;

/// Why a connection ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// The socket failed: nothing more to say.
    Gone,
    /// The client said goodbye: the server answers in kind.
    Left,
    /// The server ends it, and says why.
    Close(Close),
}
