//! Search (`/search?q=WORDS`): messages of every room with the words, newest first, the
//! words marked; a result opens its room at the message. The server renders the first
//! page of results (so the page works without JavaScript, its "More results" a plain
//! link); in the browser the results follow the box as one types.

use crate::chat::{Chat, ConnectionStatus, Results};
use crate::history::script_json;
use crate::locale::{fill, iso_time, Locale};
use crate::location::{room_href, search_href, Location};
use crate::protocol::{SearchHit, ServerMsg};
use leptos::{ev::SubmitEvent, prelude::*};

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

/// The box that searches every room, for the room list: a plain form to `/search`, or,
/// with JavaScript, the same without a reload.
#[component]
pub fn SearchBox() -> impl IntoView {
    let location = expect_context::<Location>();
    let t = Locale::get().t();
    let draft = RwSignal::new(String::new());
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let query = draft.get_untracked();
        if !query.trim().is_empty() {
            location.go_to(&search_href(query.trim(), None));
        }
    };
    view! {
        <form class="search-box" role="search" action="/search" method="get" on:submit=on_submit>
            <input
                type="search"
                name="q"
                data-testid="search-box"
                aria-label=t.search_messages
                placeholder=t.search_placeholder
                autocomplete="off"
                prop:value=draft
                on:input=move |ev| draft.set(event_target_value(&ev))
            />
        </form>
    }
}

#[component]
pub fn SearchPage(query: String) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let location = expect_context::<Location>();
    let t = Locale::get().t();
    if let Some(found) = rendered_results().filter(|r| r.query == query.trim()) {
        chat.found.set(Some(found));
    }
    let draft = RwSignal::new(query.clone());
    let back = chat.room.get_untracked();
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
            chat.search(query, false);
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
    // Down from the box goes to the first result.
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        if ev.key() == "ArrowDown" {
            use leptos::wasm_bindgen::JsCast;
            let first = document().query_selector("[data-testid=\"search-result\"]").ok().flatten();
            if let Some(first) = first.and_then(|el| el.dyn_into::<leptos::web_sys::HtmlElement>().ok()) {
                ev.prevent_default();
                let _ = first.focus();
            }
        }
    };
    // Once connected, a search the page does not have the answer to is asked (typed
    // before the socket was up, or an address opened in the page).
    Effect::new(move |_| {
        if chat.status.get() == ConnectionStatus::Connected {
            let query = draft.get_untracked().trim().to_owned();
            let answered = chat.found.with_untracked(|f| f.as_ref().is_some_and(|r| r.query == query && !r.loading));
            if !query.is_empty() && !answered {
                chat.search(query, false);
            }
        }
    });

    let hits = move || chat.found.with(|f| f.as_ref().map(|r| r.hits.clone()).unwrap_or_default());
    let status = move || {
        chat.found.with(|f| match f {
            Some(r) if r.loading && r.hits.is_empty() => t.searching.to_owned(),
            Some(r) if !r.loading && r.hits.is_empty() && !r.query.is_empty() => {
                fill(t.no_results, &[("query", &r.query)])
            }
            _ => String::new(),
        })
    };
    let more = move || {
        chat.found.with(|f| {
            let r = f.as_ref()?;
            let href = search_href(&r.query, Some(r.next?));
            let query = r.query.clone();
            Some(view! {
                <p class="more">
                    <a
                        href=href
                        data-testid="more-results"
                        on:click=move |ev: leptos::ev::MouseEvent| {
                            ev.prevent_default();
                            chat.search(query.clone(), true);
                        }
                    >
                        {t.more_results}
                    </a>
                </p>
            })
        })
    };

    view! {
        <main class="chat search-page" data-testid="search-page">
            <header class="chat-header">
                <a class="back" href=room_href(&back) on:click=move |ev: leptos::ev::MouseEvent| {
                    ev.prevent_default();
                    location.go_to(&room_href(&chat.room.get_untracked()));
                }>{format!("← #{back}")}</a>
                <h1>{t.search}</h1>
            </header>
            <form class="search-form" role="search" action="/search" method="get" on:submit=on_submit>
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
                    on:keydown=on_key
                />
                <button type="submit" data-testid="search-button">{t.search}</button>
                <p class="hint" id="search-hint">{t.search_hint}</p>
            </form>
            <p class="search-status" role="status" data-testid="search-status">{status}</p>
            <ol class="hits" aria-label=t.search_results data-testid="search-results">
                <For
                    each=hits
                    key=|hit: &SearchHit| (hit.message.room.clone(), hit.message.seq, hit.message.text.clone())
                    children=move |hit: SearchHit| view! { <Hit hit/> }
                />
            </ol>
            {more}
        </main>
    }
}

/// One result: where and when, and the text with its matches marked. A link to the
/// message; with JavaScript it opens the room at the message, however far back.
#[component]
fn Hit(hit: SearchHit) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let location = expect_context::<Location>();
    let locale = Locale::get();
    let SearchHit { message, marks } = hit;
    let (room, seq, at) = (message.room.clone(), message.seq, message.sent_at);
    let href = format!("{}#m-{seq}", room_href(&room));
    let open = {
        let room = room.clone();
        move |ev: leptos::ev::MouseEvent| {
            if ev.button() == 0 && !(ev.ctrl_key() || ev.meta_key() || ev.shift_key() || ev.alt_key()) {
                ev.prevent_default();
                chat.open_at(room.clone(), seq);
                location.go_to(&room_href(&room));
            }
        }
    };
    view! {
        <li>
            <a class="hit" href=href on:click=open data-testid="search-result" data-room=room.to_string() data-seq=seq>
                <span class="hit-where">
                    <span class="hit-room">{format!("#{room}")}</span>
                    " · "
                    <span class="hit-author">{message.author.name.clone()}</span>
                    " · "
                    <time datetime=iso_time(at) title=move || locale.full_time(at)>{move || locale.time(at)}</time>
                </span>
                <span class="hit-text" data-testid="search-result-text">{marked(&message.text, &marks)}</span>
            </a>
        </li>
    }
}

/// The text in pieces: plain, and `<mark>`ed where it matches.
fn marked(text: &str, marks: &[[u32; 2]]) -> Vec<AnyView> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut at = 0;
    for &[start, end] in marks {
        let (start, end) = ((start as usize).clamp(at, chars.len()), (end as usize).min(chars.len()));
        if start >= end {
            continue;
        }
        if start > at {
            out.push(chars[at..start].iter().collect::<String>().into_any());
        }
        out.push(view! { <mark>{chars[start..end].iter().collect::<String>()}</mark> }.into_any());
        at = end;
    }
    if at < chars.len() {
        out.push(chars[at..].iter().collect::<String>().into_any());
    }
    out
}
