//! The browser's JSON: reading server frames and writing client frames without serde.
//!
//! Frames are the same JSON as serde makes and reads on the server (the tests hold the
//! two to each other), but this code is plain and not generic: in the page's
//! WebAssembly it is a fraction of the size of serde's derived readers, serde_json's
//! generic parser, and the float formatting its error messages pull in.
//!
//! The reader takes any JSON text; numbers must be integers (no frame has any other).
//! Nesting deeper than [`MAX_DEPTH`] is refused rather than followed.

mod frames;
mod value;

pub use frames::{attachment_of, decode_server, encode_client, message_of, page_of, room_field};
pub use value::{write_str, Json, JsonError, MAX_DEPTH};
