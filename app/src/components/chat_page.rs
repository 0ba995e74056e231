//! The chat page for one room (`/` is the lobby, `/r/NAME` any other): the room list,
//! the room's header with who is online, its messages, who is typing, and the composer
//! (or the name form, until this browser has a name).

use super::{
    composer::Composer, connection_status::ConnectionStatusBadge, message_list::MessageList, name_form::NameForm,
    presence::Presence, room_list::RoomList, typing_indicator::TypingIndicator,
};
use crate::chat::{Chat, Me};
use crate::history::latest_messages;
use crate::protocol::RoomId;
use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

#[component]
pub fn ChatPage() -> impl IntoView {
    let chat = expect_context::<Chat>();
    let params = use_params_map();
    let room = Memo::new(move |_| match params.with(|p| p.get("room")) {
        Some(name) => RoomId::parse(&name).map_err(|reason| (name, reason)),
        None => Ok(RoomId::lobby()),
    });
    // The socket task follows the page to whatever room it shows.
    Effect::new(move |_| {
        if let Ok(r) = room.get() {
            chat.switch_room(r);
        }
    });

    move || match room.get() {
        Ok(r) => view! { <RoomView room=r/> }.into_any(),
        Err((name, reason)) => {
            #[cfg(feature = "ssr")]
            if let Some(response) = use_context::<leptos_axum::ResponseOptions>() {
                response.set_status(axum_status_not_found());
            }
            view! {
                <Title text="No such room · Palaver"/>
                <div class="chat bad-room" data-testid="bad-room">
                    <h1>"No such room"</h1>
                    <p>{format!("“{name}” is not a valid room name: {reason}.")}</p>
                    <p><a href="/">"Go to the lobby"</a></p>
                </div>
            }
            .into_any()
        }
    }
}

#[cfg(feature = "ssr")]
fn axum_status_not_found() -> http::StatusCode {
    http::StatusCode::NOT_FOUND
}

#[component]
fn RoomView(room: RoomId) -> AnyView {
    let chat = expect_context::<Chat>();
    let key = room.clone();
    let page = Resource::new(move || key.clone(), |room| async move { latest_messages(room.0).await.ok() });
    let named = move || chat.me.with(|m| !matches!(m, Me::Anonymous));
    let title = format!("#{} · Palaver", room);
    let heading = format!("#{}", room);
    let r = room.clone();
    let data_room = room.to_string();
    let (for_list, for_presence, for_typing) = (room.clone(), room.clone(), room);

    view! {
        <Title text=title/>
        <div class="chat">
            <RoomList current=for_list/>
            <section class="room" data-testid="room" data-room=data_room>
                <header class="chat-header">
                    <h1 data-testid="room-name">{heading}</h1>
                    <Presence room=for_presence/>
                    <ConnectionStatusBadge/>
                </header>
                <noscript>
                    <p class="notice">"Palaver needs JavaScript to show and send messages live."</p>
                </noscript>
                <Suspense fallback=|| view! { <ol class="messages" data-testid="message-list"></ol> }>
                    {
                        let room = r.clone();
                        move || {
                            let room = room.clone();
                            Suspend::new(async move {
                                let ssr_page = page.await;
                                view! { <MessageList room ssr_page/> }
                            })
                        }
                    }
                </Suspense>
                <TypingIndicator room=for_typing/>
                <Show when=named fallback=|| view! { <NameForm/> }>
                    <Composer/>
                </Show>
            </section>
        </div>
    }
    .into_any()
}
