//! A room's messages, oldest first. Kept scrolled to the newest unless the reader has
//! scrolled up, in which case a "new messages" marker appears; scrolling to the top
//! (or the button there) loads older pages until the beginning.

use super::list_keys::{keep_focus_across_redraws, pick_after, picture_after, step_in_list};
use super::message_item::{notice, Actions, MessageItem};
use crate::chat::{Chat, Delivery, Intent, Row, Timeline};
use crate::locale::Locale;
use crate::markdown::escape;
use leptos::{either::Either, html, prelude::*};
use palaver_protocol::{RoomId, Seq};

/// How close to the bottom (in pixels) still counts as "reading the newest".
const STICK_TO_BOTTOM_PX: i32 = 48;
/// How close to the top starts loading older messages.
const LOAD_OLDER_PX: i32 = 40;

#[component]
pub fn MessageList(room: RoomId, ssr_page: Option<Timeline>) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let locale = Locale::get();
    let t = locale.t();
    let list = NodeRef::<html::Ol>::new();
    let at_bottom = RwSignal::new(true);
    let unseen = RwSignal::new(false);
    let server_rendered = StoredValue::new(ssr_page);

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
    // The first message unread when the room was opened here: the "New" line's place.
    let new_line = RwSignal::new(chat.unread.with_untracked(|u| u.get(&room).and_then(|r| r.first)));
    // Days as the reader's clock has them (the server's guess of it, until hydrated).
    let rows = move || {
        let today = locale.day(locale.now());
        let new_from = new_line.get();
        with_timeline(&|t: &Timeline| t.rows(&|at| locale.day(at), today, new_from))
    };
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
    // "No messages yet" only once that is known (the server's page, or the socket's
    // `joined`), not while a room moved to is still on its way.
    let empty = Memo::new(move |_| timeline_flag(Timeline::is_empty));

    // Keep the reader's place: at the bottom when they were there, still when older
    // messages arrive above, and a marker when new ones arrive below. Measured in the
    // next animation frame, once the list shows the change.
    let previous = StoredValue::new((None::<Seq>, 0));
    // A message jumped to is scrolled to the middle once it is in the list.
    let jump_to = StoredValue::new(None::<Seq>);
    let here = StoredValue::new(room.clone());
    let first_now = move || {
        here.with_value(|room| chat.timelines.with_untracked(|all| all.get(room).and_then(Timeline::first_seq)))
    };
    let try_jump = move || {
        let (Some(seq), Some(el)) = (jump_to.get_value(), list.get_untracked()) else { return };
        if let Ok(Some(target)) = el.query_selector(&format!("[data-seq=\"{seq}\"]")) {
            jump_to.set_value(None);
            let options = web_sys::ScrollIntoViewOptions::new();
            options.set_block(web_sys::ScrollLogicalPosition::Center);
            target.scroll_into_view_with_scroll_into_view_options(&options);
            at_bottom.set(el.scroll_height() - el.scroll_top() - el.client_height() < STICK_TO_BOTTOM_PX);
            // The place is the jump's now: a "keep the reader's place" still queued
            // for the page that brought the message must not move it again.
            previous.set_value((first_now(), el.scroll_height()));
        }
    };
    Effect::new(move |_| {
        if let Some(seq) = chat.highlight.get() {
            jump_to.set_value(Some(seq));
            request_animation_frame(try_jump);
        }
    });
    // The newest message is read once it is on screen in the tab in front: the server
    // keeps how far, for every tab of mine.
    let last_read = StoredValue::new(None::<Seq>);
    // Until this tab reads the room, the first unread message the server names gets the
    // "New" line, and the room opens there (loading it, if it is far back).
    let armed = StoredValue::new(true);
    let mark_read = move || {
        // Connected, and welcomed as someone (a visitor without a name reads nothing).
        let connected =
            chat.status.get_untracked() == crate::chat::ConnectionStatus::Connected && chat.my_user(false).is_some();
        // (An empty room is read too, at 0: opened, so that what comes later counts.)
        let newest = here.with_value(|room| {
            chat.timelines.with_untracked(|all| all.get(room).filter(|t| t.loaded).map(|t| t.last_seq().unwrap_or(0)))
        });
        // Not while the list is on its way to a message further back.
        let here_to_stay = connected && at_bottom.get_untracked() && jump_to.get_value().is_none();
        if let Some(seq) = newest.filter(|s| here_to_stay && Some(*s) > last_read.get_value()) {
            if in_front() {
                armed.set_value(false);
                last_read.set_value(Some(seq));
                chat.intend(Intent::Read(here.get_value(), seq));
            }
        }
    };
    Effect::new(move |_| {
        let first = here.with_value(|room| chat.unread.with(|u| u.get(room).and_then(|r| r.first)));
        if let Some(first) = first.filter(|_| armed.get_value()) {
            armed.set_value(false);
            new_line.set(Some(first));
            // (Unless the room was opened at another message.)
            if chat.highlight.get_untracked().is_none() {
                chat.show(first);
                jump_to.set_value(Some(first));
            }
        }
        chat.me.track();
        if chat.status.get() == crate::chat::ConnectionStatus::Connected {
            request_animation_frame(move || {
                try_jump();
                mark_read();
            });
        }
    });
    for event in ["focus", "visibilitychange"] {
        let handle = window_event_listener_untyped(event, move |_| mark_read());
        on_cleanup(move || handle.remove());
    }
    {
        let room = room.clone();
        // How many messages the list had: only more of them below is news (a reaction or
        // an edit above is not).
        let counted = StoredValue::new(0u64);
        Effect::new(move |_| {
            let (first, count, sending) = chat
                .timelines
                .with(|all| {
                    all.get(&room).map(|t| {
                        let sending = t
                            .entries()
                            .last()
                            .is_some_and(|e| matches!(e.delivery, Some(Delivery::Pending | Delivery::Uploading)));
                        (t.first_seq(), t.entries().count() as u64, sending)
                    })
                })
                .unwrap_or((None, 0, false));
            request_animation_frame(move || {
                let Some(el) = list.get_untracked() else { return };
                let (prev_first, prev_height) = previous.get_value();
                let more = count > counted.get_value();
                counted.set_value(count);
                if prev_first.is_some() && first < prev_first {
                    el.set_scroll_top(el.scroll_top() + el.scroll_height() - prev_height);
                } else if at_bottom.get_untracked() || (more && sending) {
                    // At the newest, or I just sent one: my message is in view.
                    el.set_scroll_top(el.scroll_height());
                    at_bottom.set(true);
                    unseen.set(false);
                } else if more {
                    unseen.set(true);
                }
                previous.set_value((first, el.scroll_height()));
                try_jump();
                mark_read();
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
                mark_read();
            } else if top < last_top.get_value() {
                at_bottom.set(false);
            }
            last_top.set_value(top);
            if el.scroll_top() < LOAD_OLDER_PX {
                chat.load_older();
            }
        }
    };
    // Every button in the rows answers here, by its `data-act` (one handler for the
    // list, not one per button: less code in the page).
    let actions = Actions { picking: RwSignal::new(None), confirming: RwSignal::new(None) };
    provide_context(actions);
    // An opened picker takes the focus (its first emoji); Esc gives it back to the
    // React button it came from.
    let focus_in_list = move |selector: String| {
        request_animation_frame(move || {
            use leptos::wasm_bindgen::JsCast;
            let found = list.get_untracked().and_then(|el| el.query_selector(&selector).ok().flatten());
            if let Some(el) = found.and_then(|el| el.dyn_into::<web_sys::HtmlElement>().ok()) {
                let _ = el.focus();
            }
        });
    };
    let on_click = move |ev: leptos::ev::MouseEvent| {
        let target = event_target::<web_sys::Element>(&ev);
        let Some(button) = target.closest("[data-act]").ok().flatten() else {
            actions.confirming.set(None);
            return;
        };
        let attr = |name: &str| button.get_attribute(name).unwrap_or_default();
        let number = |name: &str| attr(name).parse::<Seq>().ok();
        let row = button.closest("[data-seq]").ok().flatten();
        let seq = row.and_then(|li| li.get_attribute("data-seq")).and_then(|v| v.parse::<Seq>().ok());
        let act = attr("data-act");
        // A menu's choice closes it (Delete once sure).
        if act != "delete" || actions.confirming.get_untracked() == seq {
            if let Some(menu) = button.closest("details").ok().flatten() {
                let _ = menu.remove_attribute("open");
            }
        }
        if act != "delete" {
            actions.confirming.set(None);
        }
        match (act.as_str(), seq) {
            ("jump", _) => {
                ev.prevent_default();
                if let Some(target) = number("data-target") {
                    chat.jump(target);
                }
            }
            ("older", _) => chat.load_older(),
            ("fill", _) => chat.fill_gap(number("data-after").unwrap_or_default()),
            ("retry", _) => chat.retry(palaver_protocol::ClientMsgId(attr("data-id"))),
            ("reply", Some(seq)) => chat.reply_to(seq),
            ("unpreview", Some(seq)) => chat.intend(crate::chat::Intent::HidePreview(seq)),
            ("edit", Some(seq)) => {
                chat.start_editing(Some(seq));
            }
            ("delete", Some(seq)) if actions.confirming.get_untracked() == Some(seq) => chat.delete(seq),
            ("delete", Some(seq)) => actions.confirming.set(Some(seq)),
            ("react", Some(seq)) => {
                actions.picking.update(|p| *p = if *p == Some(seq) { None } else { Some(seq) });
            }
            ("pick" | "chip", Some(seq)) => {
                // From the picker, the focus goes back to the React button it came from.
                if actions.picking.get_untracked().is_some() {
                    focus_in_list(format!("li[data-seq=\"{seq}\"] [data-act=\"react\"]"));
                }
                actions.picking.set(None);
                chat.react(seq, &attr("data-emoji"), attr("aria-pressed") == "true");
            }
            _ => {}
        }
    };
    // An opened picker takes the focus; the rows' React buttons (fixed markup) say
    // which one is open.
    let shown = StoredValue::new(None::<Seq>);
    Effect::new(move |_| {
        let picking = actions.picking.get();
        for (seq, open) in [(shown.get_value(), "false"), (picking, "true")] {
            let found = list.get_untracked().zip(seq).and_then(|(el, s)| {
                el.query_selector(&format!("li[data-seq=\"{s}\"] [data-act=react]")).ok().flatten()
            });
            if let Some(button) = found {
                let _ = button.set_attribute("aria-expanded", open);
            }
        }
        shown.set_value(picking);
        if let Some(seq) = picking {
            // (Its first emoji's scroll margin brings the whole picker into sight.)
            focus_in_list(format!("[data-testid=\"reaction-picker\"][data-seq=\"{seq}\"] .pick"));
        }
    });
    // The list is one Tab stop: Up and Down go from message to message, Left and Right
    // through the focused message's links and buttons, Esc back to the message.
    let on_keydown = move |ev: leptos::ev::KeyboardEvent| {
        use leptos::wasm_bindgen::JsCast;
        let key = ev.key();
        let target: web_sys::Element = event_target(&ev);
        let to = if let Some(open) = document().query_selector(".viewer:popover-open").ok().flatten() {
            // A picture open over the page: Esc is the browser's, to close it; Left and
            // Right go to the picture before or after it.
            picture_after(&open, &key)
        } else if key == "Escape" {
            if let Some(seq) = actions.picking.get_untracked() {
                actions.picking.set(None);
                focus_in_list(format!("li[data-seq=\"{seq}\"] [data-act=\"react\"]"));
                return;
            }
            let row = target.closest("[data-testid=message]").ok().flatten().filter(|row| row != &target);
            if let Some(menu) = row.as_ref().and_then(|row| row.query_selector("details[open]").ok().flatten()) {
                let _ = menu.remove_attribute("open");
            }
            row
        } else {
            pick_after(target.clone(), &key).or_else(|| step_in_list(&target, &key))
        };
        if let Some(to) = to.and_then(|to| to.dyn_into::<web_sys::HtmlElement>().ok()) {
            ev.prevent_default();
            let _ = to.focus();
        }
    };
    let jump_to_newest = move |_| {
        if let Some(el) = list.get_untracked() {
            el.set_scroll_top(el.scroll_height());
        }
        unseen.set(false);
        at_bottom.set(true);
    };

    let on_focusin = keep_focus_across_redraws(chat, focus_in_list);

    view! {
        <div class="messages-wrap">
            // Focusable, so the keyboard can scroll it.
            <ol
                class="messages"
                data-testid="message-list"
                aria-label=t.messages
                tabindex="0"
                node_ref=list
                on:scroll=on_scroll
                on:click=on_click
                on:keydown=on_keydown
                on:focusin=on_focusin
            >
                // The same markup while a page loads, so the button is never redrawn under
                // a click; a click while a page is on its way does nothing.
                {move || {
                    has_older.get().then(|| {
                        notice("notice older", None, Box::new(move || {
                            ["<button class=\"link\" data-testid=\"load-older\" data-act=\"older\">", t.load_older, "</button>"].concat()
                        }))
                    })
                }}
                {move || empty.get().then(|| notice("notice empty", None, Box::new(move || t.no_messages.to_owned())))}
                <For
                    each=rows
                    // Keyed by everything shown, so a row is redrawn when any of it changes.
                    key=|row: &Row| row.clone()
                    children=move |row: Row| match row {
                        Row::Message(entry) => Either::Left(view! { <MessageItem entry/> }),
                        Row::Gap(after) => Either::Right(notice("notice gap", None, Box::new(move || {
                            format!("<button class=\"link\" data-testid=\"load-between\" data-act=\"fill\" data-after=\"{after}\">{}</button>", t.load_between)
                        }))),
                        Row::Day(day) => Either::Right(notice("day", Some("day-separator"), Box::new(move || {
                            let mut html = String::from("<span>");
                            escape(&mut html, &locale.day_label(day));
                            html + "</span>"
                        }))),
                    }
                />
            </ol>
            {move || {
                unseen.get().then(|| {
                    view! {
                        <button class="new-messages" data-testid="new-messages" on:click=jump_to_newest>
                            {t.new_messages}
                        </button>
                    }
                })
            }}
        </div>
    }
}

/// Whether this tab is the one in front: shown, and with the focus.
fn in_front() -> bool {
    #[cfg(feature = "hydrate")]
    {
        let doc = document();
        doc.visibility_state() == web_sys::VisibilityState::Visible && doc.has_focus().unwrap_or(false)
    }
    #[cfg(not(feature = "hydrate"))]
    false
}
