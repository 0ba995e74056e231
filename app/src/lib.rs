//! Palaver's shared crate: the wire protocol both sides speak, the chat's client state,
//! and the Leptos components, rendered on the server and hydrated in the browser.

pub mod by_room;
pub mod chat;
pub mod clock;
pub mod components;
pub mod history;
pub mod locale;
pub mod location;
pub mod markdown;
#[cfg(feature = "hydrate")]
pub mod notify;
#[cfg(feature = "hydrate")]
pub mod parts;
pub mod session;
pub mod start;

use chat::{Chat, ChatLink};
use components::chat_page::ChatPage;
use components::search_page::{RenderedSearch, RENDERED_SEARCH_ID};
use history::{RenderedHistory, RENDERED_PAGE_ID};
use leptos::prelude::*;
use locale::{Locale, Reader};
use location::{Location, Place};

/// Starts the browser's connection to the server for a freshly created chat. The
/// front end passes one to [`App`]; on the server there is none.
pub type Connector = fn(ChatLink);

/// The Content-Security-Policy of every page: only this site's scripts (the inline
/// hydration script carries the page's nonce), styles, images and socket; never framed.
/// `reload_port` is `cargo leptos watch`'s live-reload socket, allowed in development only.
pub fn content_security_policy(nonce: &str, reload_port: Option<u32>) -> String {
    let reload = reload_port.map(|port| format!(" ws://*:{port}")).unwrap_or_default();
    format!(
        "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; style-src 'self'; \
         img-src 'self' data:; connect-src 'self'{reload}; frame-ancestors 'none'; base-uri 'none'; \
         form-action 'self'; object-src 'none'"
    )
}

/// The HTML document around the app, rendered by the server.
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    if let (Some(nonce), Some(response)) = (leptos::nonce::use_nonce(), use_context::<leptos_axum::ResponseOptions>()) {
        let reload = (options.env == leptos::config::Env::DEV).then_some(options.reload_port);
        if let Ok(value) = http::HeaderValue::from_str(&content_security_policy(&nonce, reload)) {
            response.insert_header(http::header::CONTENT_SECURITY_POLICY, value);
        }
    }
    // The messages rendered into the page, for the browser to hydrate the same list.
    let rendered = use_context::<history::RenderedPage>().map(|page| {
        view! { <script type="application/json" id=RENDERED_PAGE_ID inner_html=page.to_script_json()></script> }
    });
    let start = use_context::<start::PageStart>().unwrap_or_default();
    // What is unread, in the title and the icon (the page keeps them current).
    let (count, mentions) = components::room_list::totals(start.unread());
    let about = start.about();
    let start =
        view! { <script type="application/json" id=start::PAGE_START_ID inner_html=start.to_script()></script> };
    let reader = Reader::current();
    let texts =
        view! { <script type="text/plain" id=locale::TEXTS_ID inner_html=reader.lang.texts().to_page()></script> };
    let found = use_context::<RenderedSearch>().map(|found| {
        view! { <script type="application/json" id=RENDERED_SEARCH_ID inner_html=found.to_script_json()></script> }
    });
    // Worked out once, here, and the same for the app inside.
    provide_context(reader);
    let title = Place::of(&Location::initial()).title(reader.lang, &about);
    let title = if count > 0 { format!("({count}) {title}") } else { title };
    let icon = if mentions > 0 { "/favicon-mention.svg" } else { "/favicon.svg" };
    // A signed-in account's page: its socket is the account's, with no token to keep.
    #[cfg(feature = "ssr")]
    let (member, admin) = use_context::<Member>().map_or((None, None), |m| (Some(m.0), m.1.then_some("")));
    #[cfg(not(feature = "ssr"))]
    let (member, admin): (Option<String>, Option<&str>) = (None, None);
    // The most a file may be, in MB, for the page to refuse a larger one before it goes.
    #[cfg(feature = "ssr")]
    let file_mb = use_context::<FileLimit>().map(|limit| limit.0);
    #[cfg(not(feature = "ssr"))]
    let file_mb: Option<u64> = None;

    view! {
        <!DOCTYPE html>
        <html lang=reader.lang.code() data-tz=reader.utc_offset_min data-rendered=reader.rendered_at data-member=member data-admin=admin data-file-mb=file_mb>
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover, interactive-widget=resizes-content"/>
                <title>{title}</title>
                <meta name="theme-color" content="#ffffff" media="(prefers-color-scheme: light)"/>
                <meta name="theme-color" content="#1f232b" media="(prefers-color-scheme: dark)"/>
                <link rel="icon" type="image/svg+xml" href=icon/>
                <link rel="apple-touch-icon" href="/icon-192.png"/>
                <link rel="manifest" href="/manifest.webmanifest"/>
                <link rel="stylesheet" id="leptos" href="/pkg/palaver.css"/>
                <script src="/offline.js" defer></script>
                <AutoReload options=options.clone()/>
                <HydrationScripts options/>
                {rendered}
                {found}
                {start}
                {texts}
            </head>
            <body>
                <App/>
            </body>
        </html>
    }
}

/// The handle of the account a page is rendered for, and whether it is an admin's (or
/// the owner's): the server provides it.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone)]
pub struct Member(pub String, pub bool);

/// The most a file may be, in MB (`PALAVER_FILE_MAX_MB`): the server provides it.
#[cfg(feature = "ssr")]
#[derive(Debug, Clone, Copy)]
pub struct FileLimit(pub u64);

#[component]
pub fn App(
    /// Opens the live connection; `None` when rendering on the server.
    #[prop(optional)]
    connect: Option<Connector>,
) -> impl IntoView {
    let (chat, link) = Chat::new();
    start::PageStart::apply(chat);
    provide_context(chat);
    let locale = Locale::new(Reader::current());
    provide_context(locale);
    let location = Location::current();
    provide_context(location);
    // An address that names a message (a search result's) opens the room there.
    let initial = Location::initial();
    if let (Place::Room(room), Some(seq)) = (Place::of(&initial), location::message_at(&initial)) {
        chat.open_at(room, seq);
    }
    provide_context(RenderedHistory::current());
    if let Some(connect) = connect {
        connect(link);
        // Hydrated as the server rendered it; from here on, the browser's own clock.
        Effect::new(move |_| locale.use_browser_zone());
        // The other tabs hear which room this one shows (see notify.rs).
        #[cfg(feature = "hydrate")]
        Effect::new(move |_| {
            let shown = match location.place() {
                Place::Room(room) => Some(room.to_string()),
                _ => None,
            };
            notify::show_room(shown);
        });
    }

    view! { <ChatPage/> }
}
