//! The chat page's visible parts, one file each.

pub mod browse_page;
pub mod chat_page;
pub mod composer;
pub mod connection_status;
pub mod form_error;
pub mod list_keys;
pub mod message_item;
pub mod message_list;
pub mod name_form;
pub mod notify_controls;
pub mod presence;
pub mod room_list;
pub mod search_page;
pub mod typing_indicator;
#[cfg(feature = "hydrate")]
pub mod uploads;
