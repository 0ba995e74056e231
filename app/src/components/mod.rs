//! The chat page's visible parts, one file each.

pub mod chat_page;
pub mod composer;
pub mod connection_status;
pub mod message_list;
