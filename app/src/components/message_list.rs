//! A room's messages, oldest first. Kept scrolled to the newest unless the reader has
//! scrolled up, in which case a "new messages" marker appears; scrolling to the top
//! (or the button there) loads older pages until the beginning.

use crate::chat::{format_time, Chat, Delivery, Entry, Timeline};
use crate::protocol::HistoryPage;
use crate::protocol::{MessageKind, RoomId, Seq};
use leptos::{
    either::{Either, EitherOf3},
    html,
    prelude::*,
};

/// How close to the bottom (in pixels) still counts as "reading the newest".
const STICK_TO_BOTTOM_PX: i32 = 48;
/// How close to the top starts loading older messages.
const LOAD_OLDER_PX: i32 = 40;

#[component]
pub fn MessageList(room: RoomId, ssr_page: Option<HistoryPage>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let list = NodeRef::<html::Ol>::new();
    let at_bottom = RwSignal::new(true);
    let unseen = RwSignal::new(false);
    let server_rendered = StoredValue::new(ssr_page.map(|p| Timeline::from_page(p.messages, p.has_older)));

    // Once in the browser, the server-rendered page becomes the room's timeline, which
    // the socket then keeps current.
    {
        let room = room.clone();
        Effect::new(move |_| {
            if let Some(seed) = server_rendered.get_value() {
                chat.update_timeline(&room, |t| {
                    if !t.loaded && t.is_empty() {
                        *t = seed;
                    }
                });
            }
        });
    }

    let with_timeline = {
        let room = room.clone();
        move |f: &dyn Fn(&Timeline) -> Vec<Entry>| {
            chat.timelines.with(|all| match all.get(&room) {
                Some(t) if t.loaded || !t.is_empty() => f(t),
                _ => server_rendered.with_value(|seed| seed.as_ref().map(f).unwrap_or_default()),
            })
        }
    };
    let entries = move || with_timeline(&|t| t.entries().cloned().collect());
    let timeline_flag = {
        let room = room.clone();
        move |f: fn(&Timeline) -> bool| {
            chat.timelines.with(|all| match all.get(&room) {
                Some(t) if t.loaded || !t.is_empty() => f(t),
                _ => server_rendered.with_value(|seed| seed.as_ref().is_some_and(f)),
            })
        }
    };
    let has_older = {
        let flag = timeline_flag.clone();
        Memo::new(move |_| flag(|t| t.has_older))
    };
    let loading_older = {
        let flag = timeline_flag.clone();
        Memo::new(move |_| flag(|t| t.loading_older))
    };
    // "No messages yet" only once that is known (the server's page, or the socket's
    // `joined`), not while a room moved to is still on its way.
    let empty = Memo::new(move |_| timeline_flag(Timeline::is_empty));

    // Keep the reader's place: at the bottom when they were there, still when older
    // messages arrive above, and a marker when new ones arrive below. Measured in the
    // next animation frame, once the list shows the change.
    let previous = StoredValue::new((None::<Seq>, 0));
    {
        let room = room.clone();
        Effect::new(move |_| {
            let (first, count) = chat
                .timelines
                .with(|all| all.get(&room).map(|t| (t.first_seq(), t.entries().count())))
                .unwrap_or((None, 0));
            request_animation_frame(move || {
                let Some(el) = list.get_untracked() else { return };
                let (prev_first, prev_height) = previous.get_value();
                if prev_first.is_some() && first < prev_first {
                    el.set_scroll_top(el.scroll_top() + el.scroll_height() - prev_height);
                } else if at_bottom.get_untracked() {
                    el.set_scroll_top(el.scroll_height());
                } else if count > 0 {
                    unseen.set(true);
                }
                previous.set_value((first, el.scroll_height()));
            });
        });
    }
    let last_top = StoredValue::new(0);
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            let top = el.scroll_top();
            let bottom = el.scroll_height() - top - el.client_height() < STICK_TO_BOTTOM_PX;
            // Only the reader scrolling up leaves the bottom: a scroll event of ours can
            // arrive after more messages made the list taller.
            if bottom {
                at_bottom.set(true);
                unseen.set(false);
            } else if top < last_top.get_value() {
                at_bottom.set(false);
            }
            last_top.set_value(top);
            if el.scroll_top() < LOAD_OLDER_PX {
                chat.load_older();
            }
        }
    };
    let jump_to_newest = move |_| {
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        unseen.set(false);
        at_bottom.set(true);
    };

    view! {
        <div class="messages-wrap">
            <ol class="messages" data-testid="message-list" aria-live="polite" node_ref=list on:scroll=on_scroll>
                {move || {
                    has_older.get().then(|| {
                        view! {
                            <li class="notice older">
                                <button class="link" data-testid="load-older" on:click=move |_| chat.load_older() disabled=loading_older>
                                    {move || if loading_older.get() { "Loading…" } else { "Load older messages" }}
                                </button>
                            </li>
                        }
                    })
                }}
                {move || empty.get().then(|| view! { <li class="notice empty">"No messages yet. Say hello!"</li> })}
                <For
                    each=entries
                    // Keyed by everything shown, so a row is redrawn when any of it changes.
                    key=|e: &Entry| e.clone()
                    children=move |entry: Entry| view! { <MessageItem entry/> }
                />
            </ol>
            {move || {
                unseen.get().then(|| {
                    view! {
                        <button class="new-messages" data-testid="new-messages" on:click=jump_to_newest>
                            "New messages ↓"
                        </button>
                    }
                })
            }}
        </div>
    }
}

#[component]
fn MessageItem(entry: Entry) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let author = entry.author.as_ref().map(|a| a.name.clone()).unwrap_or_default();
    if entry.kind == MessageKind::Renamed {
        let line = format!("{} is now known as {}", entry.text, author);
        return Either::Left(view! { <li class="notice rename" data-testid="rename-notice">{line}</li> });
    }
    let state = match &entry.delivery {
        None => "received",
        Some(Delivery::Pending) => "pending",
        Some(Delivery::Sent) => "sent",
        Some(Delivery::Failed(_)) => "failed",
    };
    let time = entry.sent_at.map(format_time);
    let author_id = entry.author.as_ref().map(|a| a.id.clone());
    let own = entry.delivery.is_some();
    let mine =
        Memo::new(move |_| own || chat.me.with(|m| m.user().is_some_and(|me| Some(&me.id) == author_id.as_ref())));
    let footer = match entry.delivery {
        Some(Delivery::Pending) => EitherOf3::A(view! { <span class="delivery">"Sending…"</span> }),
        Some(Delivery::Failed(reason)) => {
            let id = entry.id.clone();
            EitherOf3::B(view! {
                <span class="delivery failed">"Not sent: " {reason}</span>
                <button class="retry" data-testid="retry" on:click=move |_| chat.retry(id.clone())>"Retry"</button>
            })
        }
        _ => EitherOf3::C(()),
    };
    if entry.deleted {
        return Either::Right(Either::Left(view! {
            <li class="message deleted" class:mine=mine data-testid="message" data-state=state data-seq=entry.seq>
                <span class="author" data-testid="message-author">{author}</span>
                <div class="text" data-testid="message-deleted">"message deleted"</div>
                <span class="meta">{time.map(|t| view! { <time data-testid="message-time">{t}</time> })}</span>
            </li>
        }));
    }
    // My own stored messages can be edited and deleted; deleting asks once more.
    let actions = entry.seq.filter(|_| entry.kind == MessageKind::Text).map(|seq| {
        let confirming = RwSignal::new(false);
        view! {
            <span class="actions" class:hidden=move || !mine.get()>
                <button class="link" data-testid="edit-button" on:click=move |_| { chat.start_editing(Some(seq)); }>
                    "Edit"
                </button>
                <button
                    class="link danger"
                    data-testid="delete-button"
                    on:click=move |_| {
                        if confirming.get_untracked() {
                            chat.delete(seq);
                        } else {
                            confirming.set(true);
                        }
                    }
                    on:blur=move |_| confirming.set(false)
                >
                    {move || if confirming.get() { "Delete for everyone?" } else { "Delete" }}
                </button>
            </span>
        }
    });
    let edited = entry.edited;
    Either::Right(Either::Right(view! {
        <li class="message" class:mine=mine data-testid="message" data-state=state data-seq=entry.seq>
            <span class="author" data-testid="message-author">{author}</span>
            // Formatted (markdown.rs): a block, as it may hold paragraphs, lists and code.
            <div class="text" data-testid="message-text">{crate::markdown::render(&entry.text)}</div>
            <span class="meta">
                {edited.then(|| view! { <span class="edited" data-testid="edited">"(edited)"</span> })}
                {time.map(|t| view! { <time data-testid="message-time">{t}</time> })}
                {footer}
                {actions}
            </span>
        </li>
    }))
}
