//! The chat page for one room (`/` is the lobby, `/r/NAME` any other): the room list,
//! the room's header with who is online, its messages, who is typing, and the composer
//! (or the name form, until this browser has a name).

use super::{
    composer::Composer, connection_status::ConnectionStatusBadge, message_list::MessageList, name_form::NameForm,
    presence::Presence, room_list::RoomList, typing_indicator::TypingIndicator,
};
use crate::chat::{Chat, Me};
use crate::history::RenderedHistory;
use crate::location::{Link, Location, Place};
use crate::protocol::RoomId;
use leptos::either::{Either, EitherOf3};
use leptos::prelude::*;

#[component]
pub fn ChatPage() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let location = expect_context::<Location>();
    let place = Memo::new(move |_| location.place());
    // The socket task follows the page to whatever room it shows, and so does the title
    // (the server writes the first one into the page).
    Effect::new(move |_| {
        let place = place.get();
        #[cfg(feature = "hydrate")]
        document().set_title(&place.title());
        if let Place::Room(r) = place {
            chat.switch_room(r);
        }
    });

    move || match place.get() {
        Place::Room(r) => EitherOf3::A(view! { <RoomView room=r/> }),
        Place::BadRoom { name, reason } => {
            not_found();
            EitherOf3::B(view! {
                <main class="chat bad-room" data-testid="bad-room">
                    <h1>"No such room"</h1>
                    <p>{format!("“{name}” is not a valid room name: {reason}.")}</p>
                    <p><Link href="/".into() text="Go to the lobby".into()/></p>
                </main>
            })
        }
        Place::NotFound => {
            not_found();
            EitherOf3::C(view! {
                <main class="chat not-found" data-testid="not-found">
                    <h1>"Page not found"</h1>
                    <p><Link href="/".into() text="Go to the lobby".into()/></p>
                </main>
            })
        }
    }
}

/// Answers the page's request with 404 (on the server; nothing to do in the browser).
fn not_found() {
    #[cfg(feature = "ssr")]
    if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
        response.set_status(http::StatusCode::NOT_FOUND);
    }
}

#[component]
fn RoomView(room: RoomId) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let ssr_page = expect_context::<RenderedHistory>().take(&room);
    let named = Memo::new(move |_| chat.me.with(|m| !matches!(m, Me::Anonymous)));
    let heading = format!("#{}", room);
    let r = room.clone();
    let data_room = room.to_string();
    let (for_list, for_presence, for_typing) = (room.clone(), room.clone(), room.clone());

    view! {
        <div class="chat">
            // First in the tab order: straight to the box to write in.
            <a
                class="skip-link"
                href=move || if named.get() { "#message-input" } else { "#display-name" }
                data-testid="skip-link"
            >
                "Skip to the message box"
            </a>
            <RoomList current=for_list/>
            <main class="room" data-testid="room" data-room=data_room>
                <header class="chat-header">
                    <h1 data-testid="room-name">{heading}</h1>
                    <Presence room=for_presence/>
                    <ConnectionStatusBadge/>
                </header>
                <noscript>
                    <p class="notice">"Palaver needs JavaScript to show and send messages live."</p>
                </noscript>
                <MessageList room=r ssr_page/>
                // What a screen reader says of new messages (see `Chat::announcement`).
                <p class="sr-only" aria-live="polite" data-testid="announcer">{move || chat.announcement.get()}</p>
                <TypingIndicator room=for_typing/>
                {move || {
                    if named.get() {
                        Either::Left(view! { <Composer room=room.clone()/> })
                    } else {
                        Either::Right(view! { <NameForm/> })
                    }
                }}
            </main>
        </div>
    }
}
