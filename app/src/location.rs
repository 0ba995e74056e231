//! The page's address: which room `/` and `/r/NAME` show, what `/search?q=WORDS`
//! looks for, and moving between them in the browser without reloading (the History
//! API, Back and Forward included).
//!
//! Three addresses and one kind of link do not need a router: this keeps the page's
//! WebAssembly small.

use crate::by_room::ByRoom;
use crate::locale::Lang;
use leptos::prelude::*;
use palaver_protocol::{Invalid, RoomAbout, RoomId, Seq, DEFAULT_ROOM};

/// What an address shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    Room(RoomId),
    /// `/r/NAME` where NAME is not a valid room name, and why.
    BadRoom {
        name: String,
        reason: Invalid,
    },
    /// Messages found for `query` (`?q=`), from search position `before` (`&before=`).
    Search {
        query: String,
        before: Option<u64>,
    },
    /// The directory of rooms, from the first room named after `after` (`?after=`).
    Rooms {
        after: Option<String>,
    },
    NotFound,
}

impl Place {
    /// The place a path (percent-encoded, as in a URL, with its query if any) shows.
    pub fn of(path: &str) -> Place {
        let (path, query) = path.split_once('?').unwrap_or((path, ""));
        if path == "/search" {
            let param = |name: &str| query_param(query, name);
            return Place::Search {
                query: param("q").unwrap_or_default(),
                before: param("before").and_then(|b| b.parse().ok()),
            };
        }
        if path == "/rooms" {
            return Place::Rooms { after: query_param(query, "after") };
        }
        if path == "/" || path.is_empty() {
            return Place::Room(RoomId::lobby());
        }
        let Some(encoded) = path.strip_prefix("/r/").filter(|n| !n.is_empty() && !n.contains('/')) else {
            return Place::NotFound;
        };
        let name = percent_decode(encoded);
        match RoomId::parse(&name) {
            Ok(room) => Place::Room(room),
            Err(reason) => Place::BadRoom { name, reason },
        }
    }
}

impl Place {
    /// The document title for this place.
    pub fn title(&self, lang: Lang, about: &ByRoom<RoomAbout>) -> String {
        let t = lang.texts();
        let place = match self {
            Place::Room(room) => about.shown_name(room),
            Place::BadRoom { .. } => t.no_such_room.to_owned(),
            Place::Search { query, .. } if query.trim().is_empty() => t.search.to_owned(),
            Place::Search { query, .. } => crate::locale::fill(t.search_for, &[("query", query.trim())]),
            Place::Rooms { .. } => t.browse_rooms.to_owned(),
            Place::NotFound => t.page_not_found.to_owned(),
        };
        crate::locale::fill(t.site_title, &[("place", &place)])
    }
}

/// The address of a room's page.
pub fn room_href(room: &RoomId) -> String {
    if room.as_str() == DEFAULT_ROOM {
        "/".to_owned()
    } else {
        format!("/r/{room}")
    }
}

/// A value of a URL's query, decoded.
fn query_param(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
        .map(|v| percent_decode(&v.replace('+', " ")))
}

/// The address of message `seq` of `room`: the room opened there (the server renders
/// the page around it, so it works without JavaScript too), highlighted.
pub fn message_href(room: &RoomId, seq: Seq) -> String {
    format!("{}?at={seq}#m-{seq}", room_href(room))
}

/// The message a room's address asks to open at (`?at=`), if any.
pub fn message_at(path: &str) -> Option<Seq> {
    let (path, query) = path.split_once('?')?;
    query_param(query, "at").filter(|_| path != "/search")?.parse().ok()
}

/// The address of the search for `query` (from search position `before`).
pub fn search_href(query: &str, before: Option<u64>) -> String {
    let mut href = format!("/search?q={}", percent_encode(query));
    if let Some(before) = before {
        href.push_str(&format!("&before={before}"));
    }
    href
}

/// Text as a URL's query value: letters, digits and `-._~` as they are, every other
/// byte as `%XX`.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            const HEX: &[u8; 16] = b"0123456789ABCDEF";
            out.extend(['%', HEX[usize::from(b >> 4)] as char, HEX[usize::from(b & 15)] as char]);
        }
    }
    out
}

/// `%XX` sequences decoded as UTF-8 (invalid sequences replaced, never an error).
fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1).copied().and_then(hex), bytes.get(i + 2).copied().and_then(hex)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The path on screen. Provided by [`crate::App`]; changes on [`Location::go_to`] and on
/// the browser's Back and Forward.
#[derive(Clone, Copy)]
pub struct Location {
    path: RwSignal<String>,
}

impl Location {
    /// The current request's path on the server, the address bar's in the browser.
    pub fn current() -> Location {
        let path = RwSignal::new(initial_path());
        let location = Location { path };
        #[cfg(feature = "hydrate")]
        {
            window_event_listener(leptos::ev::popstate, move |_| path.set(initial_path()));
            // Every link marked `data-nav` ([`Link`], the room list's rows) is followed
            // here, by one listener for the page.
            window_event_listener(leptos::ev::click, move |ev| {
                let modified = ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key();
                if ev.button() != 0 || modified || ev.default_prevented() {
                    return;
                }
                let link = event_target::<leptos::web_sys::Element>(&ev).closest("a[data-nav]").ok().flatten();
                if let Some(href) = link.and_then(|a| a.get_attribute("href")) {
                    ev.prevent_default();
                    location.go_to(&href);
                }
            });
        }
        location
    }

    pub fn place(&self) -> Place {
        self.path.with(|p| Place::of(p))
    }

    /// The path of the page asked for (the request's on the server).
    pub fn initial() -> String {
        initial_path()
    }

    /// Shows `href` (a path of this site) without reloading the page.
    pub fn go_to(&self, href: &str) {
        #[cfg(feature = "hydrate")]
        if let Ok(history) = window().history() {
            if self.path.with_untracked(|p| p != href) {
                let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href));
            }
        }
        self.path.set(href.to_owned());
    }
}

/// Shows `href` from outside the page's views (a notification's click): the address
/// bar moves, and [`Location`] follows it as it follows Back and Forward.
#[cfg(feature = "hydrate")]
pub fn go_to_from_outside(href: &str) {
    let window = window();
    if let Ok(history) = window.history() {
        let _ = history.push_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(href));
    }
    if let Ok(popstate) = leptos::web_sys::Event::new("popstate") {
        let _ = window.dispatch_event(&popstate);
    }
}

#[cfg(feature = "hydrate")]
fn initial_path() -> String {
    let location = window().location();
    let path = location.pathname().unwrap_or_else(|_| "/".into());
    path + &location.search().unwrap_or_default()
}

#[cfg(not(feature = "hydrate"))]
fn initial_path() -> String {
    #[cfg(feature = "ssr")]
    if let Some(parts) = use_context::<http::request::Parts>() {
        return parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
    }
    "/".to_owned()
}

/// A link to one of this site's pages, followed without reloading the page (by the
/// listener [`Location::current`] sets; a click with a modifier key, to open a new tab
/// or window, is left to the browser).
#[component]
pub fn Link(href: String, text: String) -> impl IntoView {
    view! { <a href=href data-nav="">{text}</a> }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_name_rooms() {
        assert_eq!(Place::of("/"), Place::Room(RoomId::lobby()));
        assert_eq!(Place::of("/r/design"), Place::Room(RoomId::parse("design").unwrap()));
        assert_eq!(Place::of("/r/lobby"), Place::Room(RoomId::lobby()));
        assert!(matches!(Place::of("/r/Not%20Valid"), Place::BadRoom { name, .. } if name == "Not Valid"));
        assert!(matches!(Place::of("/r/%E2%9C%93"), Place::BadRoom { name, .. } if name == "✓"));
        assert!(matches!(Place::of("/r/%zz"), Place::BadRoom { name, .. } if name == "%zz"));
        for path in ["/r/", "/r/a/b", "/no/such/page", "/favicon.ico", "/r"] {
            assert_eq!(Place::of(path), Place::NotFound, "{path}");
        }
        assert_eq!(Place::of("/r/design?x=1"), Place::Room(RoomId::parse("design").unwrap()));
    }

    #[test]
    fn searches_have_addresses_that_carry_any_text() {
        for query in ["plain", "two words", "회의는 3시?", "a&b=c+d%e #f", ""] {
            for before in [None, Some(42)] {
                let href = search_href(query, before);
                assert_eq!(Place::of(&href), Place::Search { query: query.to_owned(), before }, "{href}");
            }
        }
        assert_eq!(Place::of("/search?q=hello+world"), Place::Search { query: "hello world".into(), before: None });
        assert_eq!(Place::of("/search"), Place::Search { query: String::new(), before: None });
    }

    #[test]
    fn rooms_have_addresses_that_name_them() {
        for room in [RoomId::lobby(), RoomId::parse("design").unwrap()] {
            assert_eq!(Place::of(&room_href(&room)), Place::Room(room.clone()));
        }
        assert_eq!(room_href(&RoomId::lobby()), "/");
        let design = RoomId::parse("design").unwrap();
        let href = message_href(&design, 42);
        assert_eq!(href, "/r/design?at=42#m-42");
        let path = href.split('#').next().unwrap();
        assert_eq!((Place::of(path), message_at(path)), (Place::Room(design), Some(42)));
        assert_eq!(message_at("/r/design"), None);
        assert_eq!(message_at("/r/design?at=x"), None);
    }
}
