//! The sidebar: every room with how many people are in it, and a box to join or
//! create a room by name.

use super::form_error::FormError;
use crate::chat::Chat;
use crate::location::{room_href, Link, Location};
use crate::protocol::{RoomId, RoomSummary};
use leptos::{ev::SubmitEvent, prelude::*};

#[component]
pub fn RoomList(current: RoomId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let rooms = {
        let current = current.clone();
        move || {
            let mut rooms = chat.rooms.get();
            for must in [RoomId::lobby(), current.clone()] {
                if !rooms.iter().any(|r| r.room == must) {
                    rooms.push(RoomSummary { room: must, online: 0 });
                }
            }
            rooms.sort_by(|a, b| a.room.cmp(&b.room));
            rooms
        }
    };
    let draft = RwSignal::new(String::new());
    let problem = RwSignal::new(None::<String>);
    let location = expect_context::<Location>();
    let on_submit = move |ev: SubmitEvent| {
        ev.prevent_default();
        let name = draft.get_untracked().trim().to_ascii_lowercase();
        match RoomId::parse(&name) {
            Ok(room) => {
                problem.set(None);
                draft.set(String::new());
                location.go_to(&room_href(&room));
            }
            Err(reason) => problem.set(Some(reason)),
        }
    };

    view! {
        <nav class="room-list" aria-label="Rooms">
            <h2>"Rooms"</h2>
            <ul data-testid="room-list">
                <For
                    each=rooms
                    key=|r: &RoomSummary| (r.room.clone(), r.online)
                    children=move |r: RoomSummary| {
                        let is_current = r.room == current;
                        view! {
                            <li class:current=is_current data-testid="room-entry" data-room=r.room.to_string()>
                                <Link href=room_href(&r.room) text=format!("#{}", r.room)/>
                                <span class="online-count" data-testid="room-online" title="people online">{r.online}</span>
                            </li>
                        }
                    }
                />
            </ul>
            <form class="join-room" on:submit=on_submit>
                <input
                    type="text"
                    data-testid="join-room-input"
                    aria-label="Room name"
                    placeholder="Join or create a room"
                    autocomplete="off"
                    prop:value=draft
                    on:input=move |ev| draft.set(event_target_value(&ev))
                />
                <button type="submit" data-testid="join-room-button">"Go"</button>
                <FormError problem testid="join-room-error"/>
            </form>
        </nav>
    }
}
