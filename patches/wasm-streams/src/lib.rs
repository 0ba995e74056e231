//! The part of `wasm-streams` that Leptos's server-function client calls, without the
//! stream adapters it exports to JavaScript. Palaver's page makes no server-function
//! calls (its one connection is the chat socket), so nothing here runs; but the real
//! crate's exported classes are kept in the page's WebAssembly whether called or not,
//! about 3 KB compressed. Here a Rust stream cannot become a request body (an empty
//! body is sent) and a response body reads as one error.

use futures_util::stream::{self, Stream};
use wasm_bindgen::{JsCast, JsValue};

/// A web `ReadableStream`, as the real crate wraps one.
pub struct ReadableStream(web_sys::ReadableStream);

impl ReadableStream {
    /// A body for a request: this stand-in sends none (see the crate's comment).
    pub fn from_stream<S>(_stream: S) -> ReadableStream
    where
        S: Stream<Item = Result<JsValue, JsValue>> + 'static,
    {
        ReadableStream(JsValue::UNDEFINED.unchecked_into())
    }

    pub fn from_raw(raw: web_sys::ReadableStream) -> ReadableStream {
        ReadableStream(raw)
    }

    pub fn into_raw(self) -> web_sys::ReadableStream {
        self.0
    }

    /// The body as a Rust stream: one error, as this stand-in reads none.
    pub fn into_stream(self) -> impl Stream<Item = Result<JsValue, JsValue>> + Unpin + 'static {
        stream::iter([Err(JsValue::from_str("Palaver's page reads no streamed server-function responses"))])
    }
}
