//! The directory of rooms (`/rooms`, "Browse rooms"): every room by name, with how many
//! people have it on their list and when it was last written in. A room opens with a
//! click, and is on one's list from then on. The server renders the page whole, its
//! links plain links (so it works without JavaScript, and each page of the directory is
//! as the store has it now); in the browser it stays as the server wrote it.

#[cfg(feature = "ssr")]
use crate::{chat::Chat, locale::Locale, markdown::escape};
#[cfg(feature = "ssr")]
use leptos::prelude::*;
#[cfg(feature = "ssr")]
use palaver_protocol::{RoomId, RoomListing};

/// The rooms the server found for the page (provided by its handler): a page of the
/// directory, and the last room's name when there are more after it.
#[derive(Debug, Clone)]
#[cfg(feature = "ssr")]
pub struct RenderedDirectory {
    pub rooms: Vec<RoomListing>,
    pub more_after: Option<RoomId>,
}

/// The directory's own words, in each language: only the server writes them, so they
/// are kept out of the page's WebAssembly.
#[cfg(feature = "ssr")]
struct Words {
    members: &'static str,
    one_member: &'static str,
    last_message: &'static str,
    no_messages_there: &'static str,
    on_my_list: &'static str,
    no_rooms: &'static str,
    more_rooms: &'static str,
}

#[cfg(feature = "ssr")]
static WORDS: [Words; 2] = [
    Words {
        members: "{count} members",
        one_member: "1 member",
        last_message: "last message {when}",
        no_messages_there: "no messages yet",
        on_my_list: "on your list",
        no_rooms: "No rooms yet. Type a room's name in the room list to start one.",
        more_rooms: "More rooms",
    },
    Words {
        members: "멤버 {count}명",
        one_member: "멤버 1명",
        last_message: "마지막 메시지 {when}",
        no_messages_there: "아직 메시지 없음",
        on_my_list: "내 목록에 있음",
        no_rooms: "아직 방이 없습니다. 방 목록에 방 이름을 입력해 새로 만드세요.",
        more_rooms: "방 더 보기",
    },
];

#[cfg(feature = "ssr")]
fn words(locale: Locale) -> &'static Words {
    match locale.lang {
        crate::locale::Lang::En => &WORDS[0],
        crate::locale::Lang::Ko => &WORDS[1],
    }
}

/// Rooms a page of the directory lists.
pub const DIRECTORY_PAGE: usize = 50;

/// The directory page's body: the way back to the room, and the rooms. The server
/// writes it; in the browser the page keeps what the server wrote.
pub fn directory() -> String {
    #[cfg(feature = "ssr")]
    {
        let chat = expect_context::<Chat>();
        let locale = Locale::get();
        let back = chat.room.get_untracked();
        let mut html = String::from("<p><a href=\"");
        escape(&mut html, &crate::location::room_href(&back));
        html.push_str("\">← #");
        escape(&mut html, back.as_str());
        html.push_str("</a></p>");
        let Some(found) = use_context::<RenderedDirectory>() else { return html };
        let mine = chat.unread.with_untracked(|u| found.rooms.iter().map(|r| u.contains_key(&r.room)).collect());
        html + &directory_html(&found, mine, locale)
    }
    #[cfg(not(feature = "ssr"))]
    String::new()
}

/// A page of the directory: each room a link to it, with its members, its last message
/// (`mine`: whether each is on the reader's list), and a link to the next page.
#[cfg(feature = "ssr")]
fn directory_html(found: &RenderedDirectory, mine: Vec<bool>, locale: Locale) -> String {
    use crate::locale::fill;
    let t = words(locale);
    if found.rooms.is_empty() {
        return ["<p class=\"empty\" data-testid=\"no-rooms\">", t.no_rooms, "</p>"].concat();
    }
    let mut html = String::from("<ul data-testid=\"directory\">");
    for (r, mine) in found.rooms.iter().zip(mine) {
        let name = r.room.as_str();
        html.push_str("<li data-testid=\"directory-room\" data-room=\"");
        escape(&mut html, name);
        html.push_str("\"><a href=\"");
        escape(&mut html, &crate::location::room_href(&r.room));
        html.push_str("\">#");
        escape(&mut html, name);
        html.push_str("</a> <span class=\"about\">");
        let members = match r.members {
            1 => t.one_member.to_owned(),
            n => fill(t.members, &[("count", &n.to_string())]),
        };
        escape(&mut html, &members);
        html.push_str(" · ");
        match r.last_at {
            Some(at) => {
                html.push_str("<time title=\"");
                escape(&mut html, &locale.full_time(at));
                html.push_str("\">");
                let when = format!("{} {}", locale.day_label(locale.day(at)), locale.time(at));
                escape(&mut html, &fill(t.last_message, &[("when", &when)]));
                html.push_str("</time>");
            }
            None => escape(&mut html, t.no_messages_there),
        }
        if mine {
            html.push_str(" · <span class=\"mine\" data-testid=\"on-my-list\">");
            escape(&mut html, t.on_my_list);
            html.push_str("</span>");
        }
        html.push_str("</span></li>");
    }
    html.push_str("</ul>");
    if let Some(last) = &found.more_after {
        html.push_str("<p class=\"more\"><a data-testid=\"more-rooms\" href=\"/rooms?after=");
        escape(&mut html, last.as_str());
        html.push_str("\">");
        escape(&mut html, t.more_rooms);
        html.push_str("</a></p>");
    }
    html
}

#[cfg(all(test, feature = "ssr"))]
mod tests {
    use super::*;
    use crate::locale::Reader;

    #[test]
    fn each_room_links_to_itself_with_its_members_and_last_message() {
        let owner = Owner::new();
        owner.set();
        let room = |n: &str| RoomId::parse(n).unwrap();
        let found = RenderedDirectory {
            rooms: vec![
                RoomListing { room: room("design"), members: 3, last_at: Some(1_700_000_000_000) },
                RoomListing { room: room("quiet"), members: 1, last_at: None },
            ],
            more_after: Some(room("quiet")),
        };
        let html = directory_html(&found, vec![true, false], Locale::new(Reader::default()));
        let rows: Vec<&str> = html.split("</li>").collect();
        assert!(rows[0].contains("<a href=\"/r/design\">#design</a>"), "{html}");
        assert!(rows[0].contains("3 members · <time title=\"Tuesday, 14 November 2023, 10:13 PM\">"), "{html}");
        assert!(rows[0].contains("on your list"), "{html}");
        assert!(rows[1].contains("1 member · no messages yet</span>"), "{html}");
        assert!(!rows[1].contains("on your list"), "{html}");
        assert!(
            html.ends_with("<a data-testid=\"more-rooms\" href=\"/rooms?after=quiet\">More rooms</a></p>"),
            "{html}"
        );
        for words in &WORDS {
            assert!(words.members.contains("{count}") && words.last_message.contains("{when}"));
        }
        assert!(WORDS[1].no_rooms.chars().any(|c| ('가'..='힣').contains(&c)), "Korean is Korean");
        let none = RenderedDirectory { rooms: Vec::new(), more_after: None };
        assert!(directory_html(&none, Vec::new(), Locale::new(Reader::default())).contains("No rooms yet"));
    }
}
