//! The chat page: header with the connection status, the messages, the composer.

use super::{composer::Composer, connection_status::ConnectionStatusBadge, message_list::MessageList};
use leptos::prelude::*;

#[component]
pub fn ChatPage() -> impl IntoView {
    view! {
        <div class="chat">
            <header class="chat-header">
                <h1>"Palaver"</h1>
                <ConnectionStatusBadge/>
            </header>
            <noscript>
                <p class="notice">"Palaver needs JavaScript to show and send messages live."</p>
            </noscript>
            <MessageList/>
            <Composer/>
        </div>
    }
}
