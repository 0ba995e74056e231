//! The list of messages, oldest first, kept scrolled to the newest unless the reader
//! has scrolled up.

use crate::chat::{format_time, Chat, Delivery, Entry};
use leptos::{html, prelude::*};

/// How close to the bottom (in pixels) still counts as "reading the newest".
const STICK_TO_BOTTOM_PX: i32 = 48;

#[component]
pub fn MessageList() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let list = NodeRef::<html::Ol>::new();
    let at_bottom = StoredValue::new(true);

    Effect::new(move |_| {
        chat.timeline.track();
        if let (Some(el), true) = (list.get_untracked(), at_bottom.get_value()) {
            el.set_scroll_top(el.scroll_height());
        }
    });
    let on_scroll = move |_| {
        if let Some(el) = list.get_untracked() {
            at_bottom.set_value(el.scroll_height() - el.scroll_top() - el.client_height() < STICK_TO_BOTTOM_PX);
        }
    };

    let entries = move || chat.timeline.with(|t| t.entries().cloned().collect::<Vec<_>>());
    let empty = move || chat.timeline.with(|t| t.entries().next().is_none());
    let gap = move || chat.timeline.with(|t| t.has_gap());

    view! {
        <ol class="messages" data-testid="message-list" aria-live="polite" node_ref=list on:scroll=on_scroll>
            <Show when=gap>
                <li class="notice">"Some earlier messages could not be loaded."</li>
            </Show>
            <Show when=empty>
                <li class="notice empty">"No messages yet. Say hello!"</li>
            </Show>
            <For
                each=entries
                // Keyed by everything shown, so a row is redrawn when any of it changes.
                key=|e: &Entry| e.clone()
                children=move |entry: Entry| view! { <MessageItem entry/> }
            />
        </ol>
    }
}

#[component]
fn MessageItem(entry: Entry) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let state = match &entry.delivery {
        None => "received",
        Some(Delivery::Pending) => "pending",
        Some(Delivery::Sent) => "sent",
        Some(Delivery::Failed(_)) => "failed",
    };
    let time = entry.sent_at.map(format_time);
    let mine = entry.delivery.is_some();
    let footer = match entry.delivery {
        Some(Delivery::Pending) => view! { <span class="delivery">"Sending…"</span> }.into_any(),
        Some(Delivery::Failed(reason)) => {
            let id = entry.id.clone();
            view! {
                <span class="delivery failed">"Not sent: " {reason}</span>
                <button class="retry" on:click=move |_| chat.retry(id.clone())>"Retry"</button>
            }
            .into_any()
        }
        _ => ().into_any(),
    };
    view! {
        <li class="message" class:mine=mine data-testid="message" data-state=state>
            <span class="text" data-testid="message-text">{entry.text}</span>
            <span class="meta">
                {time.map(|t| view! { <time data-testid="message-time">{t}</time> })}
                {footer}
            </span>
        </li>
    }
}
