//! A room's messages, oldest first. Kept scrolled to the newest unless the reader has
//! scrolled up, in which case a "new messages" marker appears; scrolling to the top
//! (or the button there) loads older pages until the beginning.

use crate::chat::{format_time, Chat, Delivery, Entry, Row, Timeline};
use crate::protocol::{HistoryPage, MessageKind, Reaction, RoomId, Seq, REACTIONS};
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
        move |f: &dyn Fn(&Timeline) -> Vec<Row>| {
            chat.timelines.with(|all| match all.get(&room) {
                Some(t) if t.loaded || !t.is_empty() => f(t),
                _ => server_rendered.with_value(|seed| seed.as_ref().map(f).unwrap_or_default()),
            })
        }
    };
    let rows = move || with_timeline(&Timeline::rows);
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
    // A message jumped to is scrolled to the middle once it is in the list.
    let jump_to = StoredValue::new(None::<Seq>);
    let try_jump = move || {
        let (Some(seq), Some(el)) = (jump_to.get_value(), list.get_untracked()) else { return };
        if let Ok(Some(target)) = el.query_selector(&format!("[data-seq=\"{seq}\"]")) {
            jump_to.set_value(None);
            at_bottom.set(false);
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            target.scroll_into_view_with_scroll_into_view_options(&options);
        }
    };
    Effect::new(move |_| {
        if let Some(seq) = chat.highlight.get() {
            jump_to.set_value(Some(seq));
            request_animation_frame(try_jump);
        }
    });
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
                try_jump();
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
                    each=rows
                    // Keyed by everything shown, so a row is redrawn when any of it changes.
                    key=|row: &Row| row.clone()
                    children=move |row: Row| match row {
                        Row::Message(entry) => Either::Left(view! { <MessageItem entry/> }),
                        Row::Gap(after) => Either::Right(view! {
                            <li class="notice gap">
                                <button class="link" data-testid="load-between" on:click=move |_| chat.fill_gap(after)>
                                    "Load the messages in between"
                                </button>
                            </li>
                        }),
                    }
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
    let seq = entry.seq;
    let highlighted = move || seq.is_some() && chat.highlight.get() == seq;
    // What a reply answers: a link to it (with JavaScript, a jump that loads it if needed).
    let quote = entry.quote.clone().zip(entry.target).map(|(q, target)| {
        let text = if q.deleted { "deleted".to_owned() } else { q.text };
        view! {
            <a
                class="quote"
                class:gone=q.deleted
                href=format!("#m-{target}")
                data-testid="reply-quote"
                on:click=move |ev| {
                    ev.prevent_default();
                    chat.jump(target);
                }
            >
                <span class="quote-author">{q.author}</span>
                " "
                <span class="quote-text">{text}</span>
            </a>
        }
    });
    if entry.deleted {
        return Either::Right(Either::Left(view! {
            <li class="message deleted" class:mine=mine class:highlighted=highlighted id=seq.map(|s| format!("m-{s}")) data-testid="message" data-state=state data-seq=seq>
                {quote}
                <span class="author" data-testid="message-author">{author}</span>
                <div class="text" data-testid="message-deleted">"message deleted"</div>
                <span class="meta">{time.map(|t| view! { <time data-testid="message-time">{t}</time> })}</span>
            </li>
        }));
    }
    let names: Vec<&str> = entry.mentions.iter().map(|u| u.name.as_str()).collect();
    let text = crate::markdown::render(&entry.text, &names);
    let mentioned: Vec<_> = entry.mentions.iter().map(|u| u.id.clone()).collect();
    let mentions_me = move || chat.me.with(|m| m.user().is_some_and(|me| mentioned.contains(&me.id)));
    let picking = RwSignal::new(false);
    let reactions = entry.reactions.clone();
    let chips = seq.filter(|_| !reactions.is_empty()).map(|seq| {
        let chips = reactions.into_iter().map(|r| view! { <Chip seq reaction=r/> }).collect_view();
        view! { <div class="reactions" role="group" aria-label="Reactions" data-testid="reactions">{chips}</div> }
    });
    // Anyone may answer or react to a stored message; my own can be edited and deleted
    // (deleting asks once more).
    let actions = seq.filter(|_| entry.kind == MessageKind::Text).map(|seq| {
        let confirming = RwSignal::new(false);
        view! {
            <span class="actions">
                <button class="link" data-testid="reply-button" on:click=move |_| chat.reply_to(seq)>"Reply"</button>
                <button
                    class="link"
                    data-testid="react-button"
                    aria-haspopup="true"
                    aria-expanded=move || picking.get().to_string()
                    on:click=move |_| picking.update(|p| *p = !*p)
                >
                    "React"
                </button>
                <span class="own" class:hidden=move || !mine.get()>
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
            </span>
        }
    });
    let mine_of = StoredValue::new(entry.reactions);
    let picker = move || {
        let seq = seq.filter(|_| picking.get())?;
        let pick = REACTIONS.map(|emoji| {
            let choose = move |_| {
                let had = mine_of.with_value(|rs| chat.me.with_untracked(|m| m.user().is_some_and(|me| reacted(rs, emoji, &me.id))));
                chat.react(seq, emoji, had);
                picking.set(false);
            };
            view! { <button class="pick" data-testid="pick-reaction" aria-label=emoji title=emoji on:click=choose>{emoji}</button> }
        });
        Some(view! {
            <div
                class="picker"
                role="group"
                aria-label="Add a reaction"
                data-testid="reaction-picker"
                on:keydown=move |ev| {
                    if ev.key() == "Escape" {
                        picking.set(false);
                    }
                }
            >
                {pick.into_iter().collect_view()}
            </div>
        })
    };
    let edited = entry.edited;
    Either::Right(Either::Right(view! {
        <li class="message" class:mine=mine class:mentions-me=mentions_me class:highlighted=highlighted id=seq.map(|s| format!("m-{s}")) data-testid="message" data-state=state data-seq=seq>
            {quote}
            <span class="author" data-testid="message-author">{author}</span>
            // Formatted (markdown.rs): a block, as it may hold paragraphs, lists and code.
            <div class="text" data-testid="message-text">{text}</div>
            {chips}
            <span class="meta">
                {edited.then(|| view! { <span class="edited" data-testid="edited">"(edited)"</span> })}
                {time.map(|t| view! { <time data-testid="message-time">{t}</time> })}
                {footer}
                {actions}
            </span>
            {picker}
        </li>
    }))
}

/// Whether `who` reacted with `emoji`.
fn reacted(reactions: &[Reaction], emoji: &str, who: &crate::protocol::UserId) -> bool {
    reactions.iter().any(|r| r.emoji == emoji && r.by.iter().any(|u| &u.id == who))
}

/// One emoji under a message: how many reacted with it, who (on hover or focus), and a
/// toggle of my own.
#[component]
fn Chip(seq: Seq, reaction: Reaction) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let who = reaction.by.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(", ");
    let count = reaction.by.len();
    let label = format!("{} {count}: {who}", reaction.emoji);
    let emoji = reaction.emoji.clone();
    let by = StoredValue::new(reaction.by);
    let mine = move || chat.me.with(|m| m.user().is_some_and(|me| by.with_value(|by| by.iter().any(|u| u.id == me.id))));
    view! {
        <button
            class="chip"
            class:mine=mine
            aria-pressed=move || mine().to_string()
            aria-label=label
            title=who.clone()
            data-who=who
            data-testid="reaction"
            data-emoji=emoji.clone()
            on:click=move |_| chat.react(seq, &emoji, mine())
        >
            {reaction.emoji}
            " "
            <span class="count">{count}</span>
        </button>
    }
}
