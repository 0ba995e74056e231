//! Search (`/search?q=WORDS`): messages of every room with the words, newest first, the
//! words marked; a result opens its room at the message. The server renders the first
//! page of results (so the page works without JavaScript, its "More results" a plain
//! link); in the browser the results follow the box as one types.
//!
//! In the browser the page is a lazily loaded part (`parts.rs`): the chat's first
//! screen never shows it. Until the part is in, the server's page stays as it came (its
//! form searches by a page load, its links work); then the part draws it anew, live,
//! keeping what was typed and the focus.

use crate::chat::{Chat, ConnectionStatus, Results};
use crate::history::script_json;
use crate::locale::{fill, Locale};
use crate::location::{message_href, room_href, search_href, Location};
use crate::markdown::escape;
use leptos::{ev::SubmitEvent, prelude::*};
use palaver_protocol::{RoomId, SearchHit, ServerMsg};

/// How long after the last key the box searches, in milliseconds.
const SEARCH_AFTER_MS: u64 = 250;

/// The results the server rendered into the page (provided by the server's handler).
#[derive(Debug, Clone)]
pub struct RenderedSearch(pub Results);

/// The `id` of the `<script type="application/json">` element that carries them.
pub const RENDERED_SEARCH_ID: &str = "palaver-rendered-search";

impl RenderedSearch {
    /// As a `results` frame's JSON, safe inside a `<script>` element.
    pub fn to_script_json(&self) -> String {
        let Results { query, hits, next, .. } = self.0.clone();
        script_json(&serde_json::to_string(&ServerMsg::Results { query, hits, next }).unwrap_or_default())
    }
}

/// The results the server rendered for this page, if any.
fn rendered_results() -> Option<Results> {
    #[cfg(feature = "hydrate")]
    {
        let json = document().get_element_by_id(RENDERED_SEARCH_ID)?.text_content()?;
        match ServerMsg::decode(&json).ok()? {
            ServerMsg::Results { query, hits, next } => Some(Results::found(query, hits, next)),
            _ => None,
        }
    }
    #[cfg(not(feature = "hydrate"))]
    use_context::<RenderedSearch>().map(|r| r.0)
}

/// The search page's body, under the header of the page around it.
pub fn search_body(query: String) -> impl IntoView {
    #[cfg(not(feature = "hydrate"))]
    return view! { <div class="search-body"><SearchPage query/></div> };
    #[cfg(feature = "hydrate")]
    {
        let (chat, location, locale) = (expect_context::<Chat>(), expect_context::<Location>(), Locale::get());
        let body = NodeRef::<leptos::html::Div>::new();
        body.on_load(move |el| {
            leptos::task::spawn_local(async move {
                let _ = search_part(chat, location, locale, el, query).await;
            })
        });
        view! { <div class="search-body" node_ref=body></div> }
    }
}

/// Draws the live search page into `body` (the server's, or an empty one), in place of
/// what it holds; the page drawn before is taken down.
#[cfg(feature = "hydrate")]
#[crate::parts::wasm_split(search, fallible, wasm_split_path = crate::parts)]
fn search_part(
    chat: Chat,
    location: Location,
    locale: Locale,
    body: leptos::web_sys::HtmlDivElement,
    query: String,
) -> Result<(), crate::parts::SplitLoaderError> {
    use wasm_bindgen::JsCast;
    type Shown = leptos::mount::UnmountHandle<leptos::tachys::view::any_view::AnyViewState>;
    thread_local! {
        static SHOWN: std::cell::RefCell<Option<Shown>> = const { std::cell::RefCell::new(None) };
    }
    // What was typed in the server's box before the part came, and whether it has the focus.
    let typed = body
        .query_selector("input")
        .ok()
        .flatten()
        .and_then(|i| i.dyn_into::<leptos::web_sys::HtmlInputElement>().ok());
    let focused = typed.as_ref().is_some_and(|i| document().active_element().as_ref() == Some(i.as_ref()));
    let query = typed.map(|i| i.value()).filter(|typed| !typed.is_empty()).unwrap_or(query);
    body.set_inner_html("");
    let shown = leptos::mount::mount_to(body.clone().unchecked_into(), move || {
        provide_context(chat);
        provide_context(location);
        provide_context(locale);
        view! { <SearchPage query/> }.into_any()
    });
    SHOWN.set(Some(shown));
    if focused {
        if let Some(input) = body.query_selector("input").ok().flatten() {
            let _ = input.unchecked_into::<leptos::web_sys::HtmlElement>().focus();
        }
    }
    Ok(())
}

#[component]
pub fn SearchPage(query: String) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let location = expect_context::<Location>();
    let locale = Locale::get();
    let t = locale.t();
    if let Some(found) = rendered_results().filter(|r| r.query == query.trim()) {
        chat.found.set(Some(found));
    }
    let draft = RwSignal::new(query.clone());
    // Searches a moment after the last key; the address follows the box.
    let keys = StoredValue::new(0u64);
    let ask = move |query: String| {
        let query = query.trim().to_owned();
        if !query.is_empty() {
            #[cfg(feature = "hydrate")]
            if let Ok(history) = window().history() {
                let href = search_href(&query, None);
                let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&href));
            }
            chat.search(query);
        }
    };
    let on_input = move |ev| {
        let typed = event_target_value(&ev);
        draft.set(typed.clone());
        keys.update_value(|k| *k += 1);
        let mine = keys.get_value();
        set_timeout(
            move || {
                if keys.get_value() == mine {
                    ask(typed);
                }
            },
            std::time::Duration::from_millis(SEARCH_AFTER_MS),
        );
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        keys.update_value(|k| *k += 1);
        ask(draft.get_untracked());
    };
    // Once connected, a search the page does not have the answer to is asked (typed
    // before the socket was up or the page's part came, or an address opened in the
    // page), and the address follows it as it does the box.
    Effect::new(move |_| {
        if chat.status.get() == ConnectionStatus::Connected {
            let query = draft.get_untracked().trim().to_owned();
            let answered = chat.found.with_untracked(|f| f.as_ref().is_some_and(|r| r.query == query && !r.loading));
            if !answered {
                ask(query);
            }
        }
    });

    // The results, one string of HTML on both sides (cheaper in the page's WebAssembly
    // than a view of them).
    let hits = move || chat.found.with(|f| f.as_ref().map(|r| hits_html(&r.hits, locale)).unwrap_or_default());
    let status = move || {
        chat.found.with(|f| match f {
            Some(r) if r.loading && r.hits.is_empty() => t.searching.to_owned(),
            Some(r) if !r.loading && r.hits.is_empty() && !r.query.is_empty() => {
                fill(t.no_results, &[("query", &r.query)])
            }
            _ => String::new(),
        })
    };
    // The next page: a plain link (the server renders it), with or without JavaScript.
    let more = move || {
        chat.found.with(|f| {
            let r = f.as_ref()?;
            let href = search_href(&r.query, Some(r.next?));
            Some(view! { <p class="more"><a href=href data-testid="more-results">{t.more_results}</a></p> })
        })
    };
    // A result opens its room at the message (one handler for the list).
    let open = move |ev: leptos::ev::MouseEvent| {
        if ev.button() != 0 || ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key() {
            return;
        }
        let Some(hit) = event_target::<leptos::web_sys::Element>(&ev).closest("[data-seq]").ok().flatten() else {
            return;
        };
        let attr = |name: &str| hit.get_attribute(name).unwrap_or_default();
        if let (Ok(room), Ok(seq)) = (RoomId::parse(&attr("data-room")), attr("data-seq").parse()) {
            ev.prevent_default();
            chat.open_at(room.clone(), seq);
            location.go_to(&room_href(&room));
        }
    };

    view! {
            <form class="search-form" role="search" aria-label=t.search_messages action="/search" method="get" on:submit=on_submit>
                <input
                    type="search"
                    name="q"
                    data-testid="search-input"
                    aria-label=t.search_messages
                    aria-describedby="search-hint"
                    placeholder=t.search_placeholder
                    autocomplete="off"
                    prop:value=draft
                    on:input=on_input
                />
                <button type="submit" data-testid="search-button">{t.search}</button>
                <p class="hint" id="search-hint">{t.search_hint}</p>
            </form>
            <p class="search-status" role="status" data-testid="search-status">{status}</p>
            <ol class="hits" aria-label=t.search_results data-testid="search-results" on:click=open inner_html=hits></ol>
            {more}
    }
}

/// Where and when a result was written, in one line.
fn hit_place(hit: &SearchHit, locale: Locale) -> String {
    let m = &hit.message;
    format!("#{} · {} · {}", m.room, m.author.name, locale.time(m.sent_at))
}

/// The text of a result in pieces, each marked (where it matches) or not.
fn pieces(text: &str, marks: &[[u32; 2]]) -> Vec<(String, bool)> {
    let chars: Vec<char> = text.chars().collect();
    let piece = |from: usize, to: usize| chars[from..to].iter().collect::<String>();
    let mut out = Vec::new();
    let mut at = 0;
    for &[start, end] in marks {
        let (start, end) = ((start as usize).clamp(at, chars.len()), (end as usize).min(chars.len()));
        if start >= end {
            continue;
        }
        if start > at {
            out.push((piece(at, start), false));
        }
        out.push((piece(start, end), true));
        at = end;
    }
    if at < chars.len() {
        out.push((piece(at, chars.len()), false));
    }
    out
}

/// The results as HTML: each a link to its message, the words it matches marked.
fn hits_html(hits: &[SearchHit], locale: Locale) -> String {
    let mut html = String::new();
    for hit in hits {
        let (room, seq) = (&hit.message.room, hit.message.seq);
        html.push_str("<li><a class=\"hit\" data-testid=\"search-result\" href=\"");
        escape(&mut html, &message_href(room, seq));
        html.push_str("\" title=\"");
        escape(&mut html, &locale.full_time(hit.message.sent_at));
        html.push_str("\" data-room=\"");
        escape(&mut html, room.as_str());
        html.push_str(&format!("\" data-seq=\"{seq}\"><span class=\"hit-where\">"));
        escape(&mut html, &hit_place(hit, locale));
        html.push_str("</span><span class=\"hit-text\" data-testid=\"search-result-text\">");
        for (piece, mark) in pieces(&hit.message.text, &hit.marks) {
            html.push_str(if mark { "<mark>" } else { "" });
            escape(&mut html, &piece);
            html.push_str(if mark { "</mark>" } else { "" });
        }
        html.push_str("</span></a></li>");
    }
    html
}
