//! The text box and Send button. Enter sends, Shift+Enter starts a new line (the box
//! grows to a few lines), and Enter that ends an input method's composition (Hangul,
//! kana-kanji) only ends it; blank text is never sent. Each room keeps its own draft
//! while another is shown. Typing tells
//! the room (at most every couple of seconds). Up in an empty box edits my last
//! message (as does its Edit button); Enter saves the edit, Esc cancels it. A message's
//! Reply button makes the next message an answer to it (Esc cancels). Typing `@` offers
//! the names of the people in the room and of those who wrote in it lately (arrows to
//! choose, Enter or Tab to take one). Files go with a message by the paper clip, a drop
//! or a paste (`uploads.rs`, loaded once the page is up); with files, the text may be
//! blank. Also who "I" am, with a way to rename.

use super::name_form::NameForm;
use crate::chat::{now_ms, Chat, Intent};
use crate::locale::{around, fill, Locale};
use crate::markdown::escape;
use leptos::{either::Either, ev::KeyboardEvent, ev::SubmitEvent, html, prelude::*};
use palaver_protocol::{validate_text, RoomId, User, MAX_TEXT_CHARS};

/// Least time between two "typing" notes to the room, in milliseconds.
const TYPING_EVERY_MS: f64 = 2_000.0;
/// Most names offered at once for an `@`.
const MAX_SUGGESTIONS: usize = 6;
/// How many of the room's latest messages offer their authors for an `@`.
const RECENT_AUTHORS: usize = 200;

/// The `@name` being typed just before `caret`: where its `@` is, and what follows it.
pub fn mention_query(text: &str, caret: usize) -> Option<(usize, &str)> {
    let before = text.get(..caret)?;
    let at = before.rfind('@')?;
    let query = &before[at + 1..];
    let starts_word = before[..at].chars().next_back().is_none_or(|c| !palaver_protocol::is_word(c));
    (starts_word && query.chars().count() <= palaver_protocol::MAX_NAME_CHARS && !query.contains(['\n', '@']))
        .then_some((at, query))
}

/// Someone to suggest: their name, and their handle if they have an account (an
/// `@mention` then names the handle).
pub type Named = (String, Option<String>);

/// The people (among `people`) whose name or handle starts with `query`, ignoring ASCII
/// case, in order, each once.
pub fn suggestions(people: &[Named], query: &str) -> Vec<Named> {
    let starts = |s: &str| s.get(..query.len()).is_some_and(|start| start.eq_ignore_ascii_case(query));
    let mut out: Vec<Named> = Vec::new();
    for person in people {
        let matches = starts(&person.0) || person.1.as_deref().is_some_and(starts);
        if matches && !out.contains(person) && out.len() < MAX_SUGGESTIONS {
            out.push(person.clone());
        }
    }
    out
}

/// The people offered for an `@`, as the list's options (`chosen` is the one Enter
/// takes): each one's name, and handle if any, which is what the mention names.
fn options_html(people: &[Named], chosen: usize, guest: &str) -> String {
    let mut html = String::new();
    for (i, (name, handle)) in people.iter().enumerate() {
        // A guest marked as one (the style sheet shows it on members' pages).
        let mark = match handle {
            None => format!(" guest\" data-guest=\"{guest}"),
            Some(_) => String::new(),
        };
        html.push_str(&format!(
            "<li role=\"option\" id=\"mention-{i}\" class=\"mention-option{mark}\" aria-selected=\"{}\" data-testid=\"mention-option\" data-name=\"",
            i == chosen
        ));
        escape(&mut html, handle.as_ref().unwrap_or(name));
        html.push_str("\">");
        escape(&mut html, name);
        if let Some(handle) = handle {
            html.push_str(" <span class=\"handle\">@");
            escape(&mut html, handle);
            html.push_str("</span>");
        }
        html.push_str("</li>");
    }
    html
}

#[component]
pub fn Composer(
    /// The room written to, whose draft the box keeps.
    room: RoomId,
) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let t = Locale::get().t();
    let draft = RwSignal::new(chat.draft(&room));
    // What is typed stays the room's draft until it is sent.
    Effect::new(move |_| draft.with(|d| chat.keep_draft(&room, d)));
    let renaming = RwSignal::new(false);
    let last_typing = StoredValue::new(0.0);
    let over_limit = move || draft.with(|d| d.trim().chars().count().saturating_sub(MAX_TEXT_CHARS));
    let with_files = move || chat.attached.get() > 0 && chat.editing.with(Option::is_none);
    let sendable = move || draft.with(|d| validate_text(d).is_ok() || with_files() && d.trim().is_empty());
    // The composer's files, for the room shown (and the part that keeps them, fetched now).
    #[cfg(feature = "hydrate")]
    let lang = Locale::get().lang;
    #[cfg(feature = "hydrate")]
    super::uploads::files(chat, lang, super::uploads::Act::Show);

    let input = NodeRef::<html::Textarea>::new();
    // Editing begins: the message's text in the box, ready to change.
    Effect::new(move |_| {
        if let Some((_, text)) = chat.editing.get() {
            draft.set(text);
            if let Some(input) = input.get() {
                let _ = input.focus();
            }
        }
    });
    // Replying begins: the box, ready for the answer.
    Effect::new(move |_| {
        if chat.replying.with(Option::is_some) {
            if let Some(input) = input.get_untracked() {
                let _ = input.focus();
            }
        }
    });
    let stop_editing = move || {
        chat.editing.set(None);
        draft.set(String::new());
    };
    // The note's Cancel: of the edit, else of the answer.
    let cancel = move || match chat.editing.with_untracked(Option::is_some) {
        true => stop_editing(),
        false => chat.replying.set(None),
    };

    // `@` suggestions: the people in the room whose names start with what follows it.
    let caret = RwSignal::new(0usize);
    let chosen = RwSignal::new(0usize);
    let dismissed = RwSignal::new(false);
    let read_caret = move || {
        if let Some(el) = input.get_untracked() {
            let at = el.selection_start().ok().flatten().unwrap_or(0) as usize;
            // The browser counts UTF-16 units; the draft is UTF-8.
            let text = el.value();
            let mut units = 0;
            let bytes = text.char_indices().find(|(_, c)| {
                units += c.len_utf16();
                units > at
            });
            caret.set(bytes.map_or(text.len(), |(i, _)| i));
        }
    };
    let suggested = move || {
        if dismissed.get() {
            return Vec::new();
        }
        let room = chat.room.get();
        let me = chat.my_user(true).map(|u| u.id);
        draft.with(|d| {
            let Some((_, query)) = mention_query(d, caret.get()) else { return Vec::new() };
            // Who is here, then who wrote here lately (newest first).
            let mut names = Vec::new();
            let mut add = |u: &User| {
                if Some(&u.id) != me.as_ref() {
                    names.push((u.name.clone(), u.handle.clone()));
                }
            };
            chat.online.with(|o| o.get(&room).into_iter().flat_map(|(p, _)| p).for_each(&mut add));
            chat.timelines.with(|all| {
                let recent = all.get(&room).into_iter().flat_map(|t| t.entries().rev().take(RECENT_AUTHORS));
                recent.filter_map(|e| e.author.as_ref()).for_each(&mut add);
            });
            suggestions(&names, query)
        })
    };
    let take_suggestion = move |name: String| {
        let at = caret.get_untracked();
        let Some((start, _)) = draft.with_untracked(|d| mention_query(d, at).map(|(start, _)| (start, ()))) else {
            return;
        };
        let text = draft.with_untracked(|d| format!("{}@{name} {}", &d[..start], &d[at..]));
        let end = start + name.len() + 2;
        draft.set(text);
        caret.set(end);
        chosen.set(0);
        if let Some(el) = input.get_untracked() {
            el.set_value(&draft.get_untracked());
            let units = draft.with_untracked(|d| d[..end].encode_utf16().count()) as u32;
            let _ = el.set_selection_range(units, units);
            let _ = el.focus();
        }
    };
    let send_now = move || {
        let text = draft.get_untracked();
        let editing = chat.editing.get_untracked();
        if !untrack(sendable) || !untrack(suggested).is_empty() {
            // Enter took a suggested name (see on_keydown), it does not send.
            return;
        }
        #[cfg(feature = "hydrate")]
        if untrack(with_files) {
            super::uploads::files(chat, lang, super::uploads::Act::Send(text.trim().to_owned()));
            draft.set(String::new());
            return;
        }
        let Ok(text) = validate_text(&text).map(str::to_owned) else { return };
        match editing {
            Some((seq, before)) => {
                if text != before.trim() {
                    chat.edit(seq, text);
                }
                stop_editing();
            }
            None => {
                chat.send(text);
                draft.set(String::new());
                last_typing.set_value(0.0);
            }
        }
    };
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        send_now();
        // Sent with the button too, the box keeps the focus for the next message.
        if let Some(el) = input.get_untracked() {
            let _ = el.focus();
        }
    };
    let on_keydown = move |ev: KeyboardEvent| {
        // Keys that an input method is composing with are its own (229: what some
        // browsers report for the Enter that ends a composition).
        if ev.is_composing() || ev.key_code() == 229 {
            return;
        }
        let editing = chat.editing.with_untracked(Option::is_some);
        let offered = untrack(suggested);
        if !offered.is_empty() {
            let n = offered.len();
            match ev.key().as_str() {
                "ArrowDown" => chosen.update(|c| *c = (*c + 1) % n),
                "ArrowUp" => chosen.update(|c| *c = (*c + n - 1) % n),
                "Enter" | "Tab" => {
                    let (name, handle) = offered[chosen.get_untracked().min(n - 1)].clone();
                    take_suggestion(handle.unwrap_or(name))
                }
                "Escape" => dismissed.set(true),
                _ => return,
            }
            ev.prevent_default();
            return;
        }
        match ev.key().as_str() {
            "Enter" if !ev.shift_key() => {
                ev.prevent_default();
                send_now();
            }
            "Escape" if chat.replying.with_untracked(Option::is_some) => {
                ev.prevent_default();
                chat.replying.set(None);
            }
            "ArrowUp" if !editing && draft.with_untracked(String::is_empty) => {
                if chat.start_editing(None) {
                    ev.prevent_default();
                }
            }
            "Escape" if editing => {
                ev.prevent_default();
                stop_editing();
            }
            _ => {}
        }
    };
    let editing = Memo::new(move |_| chat.editing.with(Option::is_some));
    let on_input = move |ev| {
        draft.set(event_target_value(&ev));
        read_caret();
        dismissed.set(false);
        chosen.set(0);
        let now = now_ms();
        if now - last_typing.get_value() > TYPING_EVERY_MS && sendable() {
            last_typing.set_value(now);
            chat.intend(Intent::Typing);
        }
    };
    let my_name = move || chat.my_name(true);

    let me_or_rename = move || {
        if renaming.get() {
            Either::Left(view! { <NameForm on_done=Callback::new(move |()| renaming.set(false))/> })
        } else {
            Either::Right(my_name().map(|name| {
                let (before, after) = around(t.you_are, "name");
                let mut html = String::new();
                escape(&mut html, before);
                html.push_str("<strong data-testid=\"my-name\">");
                escape(&mut html, &name);
                html.push_str("</strong>");
                escape(&mut html, after);
                html.push_str(&format!(
                    " · <button class=\"link\" data-testid=\"rename-button\" data-act=\"rename\">{}</button>",
                    t.change_name
                ));
                view! { <p class="me" data-testid="me" inner_html=html></p> }
            }))
        }
    };

    view! {
        // One listener for the area's buttons: Change (my name), Cancel (an edit or an
        // answer) and the paper clip; the files' own × are in `uploads.rs`.
        <div
            class="composer-area"
            on:click=move |ev: leptos::ev::MouseEvent| {
                let act = event_target::<web_sys::Element>(&ev).closest("[data-act]").ok().flatten().and_then(|b| b.get_attribute("data-act"));
                match act.as_deref() {
                    Some("rename") => renaming.set(true),
                    Some("cancel") => cancel(),
                    // The picker opens at once (a browser opens it only while the click is
                    // being handled); the part takes what is picked, loaded again if need be.
                    #[cfg(feature = "hydrate")]
                    Some("attach") => {
                        if let Some(input) = document().get_element_by_id("attach-input") {
                            wasm_bindgen::JsCast::unchecked_into::<leptos::web_sys::HtmlElement>(input).click();
                        }
                        super::uploads::files(chat, lang, super::uploads::Act::Show)
                    }
                    _ => {}
                }
            }
        >
            {me_or_rename}
            // What the box is doing other than writing a new message: editing one of
            // mine, or answering one (editing shows when both are under way).
            {move || {
                let (class, testid, text) = if editing.get() {
                    ("composer-editing", "editing-hint", t.editing_hint.to_owned())
                } else {
                    let (_, quote) = chat.replying.get()?;
                    ("composer-replying", "replying-hint", fill(t.replying_hint, &[("quote", &quote)]))
                };
                let cancel_id = if editing.get_untracked() { "cancel-edit" } else { "cancel-reply" };
                let mut html = String::new();
                escape(&mut html, &text);
                html.push_str(&format!(
                    " <button type=\"button\" class=\"link\" data-testid=\"{cancel_id}\" data-act=\"cancel\">{}</button>",
                    t.cancel
                ));
                Some(view! { <p class=class data-testid=testid inner_html=html></p> })
            }}
            <ul class="tray" data-testid="tray" aria-label=t.files_to_send hidden></ul>
            <form class="composer" class:editing=editing on:submit=on_submit>
                {move || {
                    let offered = suggested();
                    let html = options_html(&offered, chosen.get(), t.guest);
                    // The box says which list it offers names from, and which one Enter takes.
                    if let Some(el) = input.get_untracked() {
                        let _ = match offered.is_empty() {
                            true => el.remove_attribute("aria-controls").and(el.remove_attribute("aria-activedescendant")),
                            false => el
                                .set_attribute("aria-controls", "mention-list")
                                .and(el.set_attribute("aria-activedescendant", &format!("mention-{}", chosen.get_untracked()))),
                        };
                    }
                    (!offered.is_empty()).then(|| {
                        view! {
                            <ul
                                class="mentions-list"
                                id="mention-list"
                                role="listbox"
                                aria-label=t.people_to_mention
                                data-testid="mention-suggestions"
                                inner_html=html
                                on:mousedown=move |ev| {
                                    // The box keeps the focus; the name clicked is taken.
                                    ev.prevent_default();
                                    let option = event_target::<web_sys::Element>(&ev).closest("[data-name]").ok().flatten();
                                    if let Some(name) = option.and_then(|o| o.get_attribute("data-name")) {
                                        take_suggestion(name);
                                    }
                                }
                            ></ul>
                        }
                    })
                }}
                <textarea
                    node_ref=input
                    id="message-input"
                    rows="1"
                    name="text"
                    data-testid="composer-input"
                    aria-label=t.message
                    placeholder=t.message_placeholder
                    autocomplete="off"
                    aria-autocomplete="list"
                    prop:value=draft
                    on:input=on_input
                    on:keydown=on_keydown
                    on:click=move |_| read_caret()
                    on:keyup=move |ev: KeyboardEvent| {
                        if matches!(ev.key().as_str(), "ArrowLeft" | "ArrowRight" | "Home" | "End") {
                            read_caret();
                        }
                    }
                ></textarea>
                <button type="button" class="attach" data-act="attach" data-testid="attach-button" aria-label=t.attach_files title=t.attach_files>
                    "📎"
                </button>
                <input type="file" id="attach-input" data-testid="attach-input" multiple hidden/>
                <button type="submit" data-testid="send-button" disabled=move || !sendable()>
                    {move || if editing.get() { t.save } else { t.send }}
                </button>
                <p
                    class="composer-hint"
                    role="alert"
                    hidden=move || over_limit() == 0
                    inner_html=move || {
                        let (count, limit) = (over_limit().to_string(), MAX_TEXT_CHARS.to_string());
                        let mut html = String::new();
                        escape(&mut html, &fill(t.over_limit, &[("count", &count), ("limit", &limit)]));
                        html
                    }
                ></p>
            </form>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_names_offered_are_options_with_the_chosen_one_selected() {
        let html = options_html(&[("Ann".to_owned(), Some("ann".into())), ("<b>\"x\"".to_owned(), None)], 1, "guest");
        assert_eq!(
            html,
            "<li role=\"option\" id=\"mention-0\" class=\"mention-option\" aria-selected=\"false\" data-testid=\"mention-option\" data-name=\"ann\">Ann <span class=\"handle\">@ann</span></li>\
             <li role=\"option\" id=\"mention-1\" class=\"mention-option guest\" data-guest=\"guest\" aria-selected=\"true\" data-testid=\"mention-option\" \
             data-name=\"&lt;b&gt;&quot;x&quot;\">&lt;b&gt;&quot;x&quot;</li>"
        );
    }

    #[test]
    fn an_at_sign_starts_a_name_to_suggest() {
        assert_eq!(mention_query("hi @an", 6), Some((3, "an")));
        assert_eq!(mention_query("@", 1), Some((0, "")));
        assert_eq!(mention_query("hi @Ann Lee", 11), Some((3, "Ann Lee")));
        assert_eq!(mention_query("mail@example", 12), None, "not inside a word");
        assert_eq!(mention_query("hi @an and more", 6), Some((3, "an")), "up to the caret");
        assert_eq!(mention_query("no at", 5), None);
        let named = |n: &str| (n.to_owned(), None);
        let names = vec![named("Ann"), named("bob"), named("Annika"), named("Ann")];
        let shown = |people: Vec<Named>| people.into_iter().map(|p| p.0).collect::<Vec<_>>();
        assert_eq!(shown(suggestions(&names, "an")), ["Ann", "Annika"]);
        assert_eq!(shown(suggestions(&names, "B")), ["bob"]);
        assert_eq!(shown(suggestions(&names, "")), ["Ann", "bob", "Annika"]);
        let lee = ("Ann Lee".to_owned(), Some("alee".to_owned()));
        assert_eq!(suggestions(std::slice::from_ref(&lee), "al"), std::slice::from_ref(&lee), "by handle too");
        assert_eq!(suggestions(std::slice::from_ref(&lee), "ann"), [lee], "and by name");
    }
}
