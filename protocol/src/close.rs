//! How the server closes a chat connection: one table of close code and reason text.

/// Every way a chat connection can be closed by the server: one table of close code and
/// reason text, used wherever a connection ends and listed in `docs/PROTOCOL.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Close {
    /// The server is shutting down or restarting; reconnect and resume.
    GoingAway,
    /// A plain WebSocket client sent a binary frame; plain clients speak text.
    Unsupported,
    /// A text frame was not valid UTF-8.
    InvalidUtf8,
    /// No frame (not even a pong) within the idle timeout.
    Idle,
    /// A message was larger than [`MAX_FRAME_BYTES`](crate::MAX_FRAME_BYTES).
    TooBig,
    /// The client fell too far behind the live feed; reconnect and resume.
    SlowConsumer,
    /// The session the connection was signed in with has ended (signed out, from this
    /// browser or another), or its access token was revoked: sign in again.
    SignedOut,
}

impl Close {
    pub const ALL: [Close; 7] = [
        Close::GoingAway,
        Close::Unsupported,
        Close::InvalidUtf8,
        Close::Idle,
        Close::TooBig,
        Close::SlowConsumer,
        Close::SignedOut,
    ];

    /// The close code and the reason text sent with it.
    pub const fn frame(self) -> (u16, &'static str) {
        match self {
            Close::GoingAway => (1001, "server shutting down"),
            Close::Unsupported => (1003, "send text frames"),
            Close::InvalidUtf8 => (1007, "text frame is not valid UTF-8"),
            Close::Idle => (1008, "no answer to pings"),
            Close::TooBig => (1009, "message too big"),
            Close::SlowConsumer => (4008, "too slow: reconnect to catch up"),
            Close::SignedOut => (4003, "signed out: this session has ended"),
        }
    }

    pub const fn code(self) -> u16 {
        self.frame().0
    }

    pub const fn reason(self) -> &'static str {
        self.frame().1
    }

    /// The close a code stands for, if it is one of Palaver's.
    pub fn from_code(code: u16) -> Option<Close> {
        Close::ALL.into_iter().find(|c| c.code() == code)
    }
}
