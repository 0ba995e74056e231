//! Every string of the page in English and Korean: one typed table (a string missing in
//! either language does not compile), the words for a refusal, a name's problem and who
//! is typing, and the templates' `{slots}` filled in or cut around.

use palaver_protocol::{ErrorReason, Invalid, MAX_NAME_CHARS, MAX_ROOM_CHARS};

/// `template` with each `{name}` replaced by its value.
pub fn fill(template: &str, values: &[(&str, &str)]) -> String {
    values.iter().fold(template.to_owned(), |text, (name, value)| text.replace(&format!("{{{name}}}"), value))
}

/// A template cut around its one `{slot}`: the text before and after it (for a slot
/// that is an element of its own, such as a name in bold).
pub fn around<'a>(template: &'a str, slot: &str) -> (&'a str, &'a str) {
    template.split_once(&format!("{{{slot}}}")).unwrap_or((template, ""))
}

macro_rules! texts {
    ($($(#[$doc:meta])* $key:ident: $en:literal, $ko:literal;)*) => {
        /// Every string of the page, in one language. `{name}` marks a value filled in.
        pub struct Texts {
            $($(#[$doc])* pub $key: &'static str,)*
        }

        pub static ENGLISH: Texts = Texts { $($key: $en,)* };
        pub static KOREAN: Texts = Texts { $($key: $ko,)* };

        impl Texts {
            /// Every entry with its key, for the tests that hold the languages to each other.
            pub fn entries(&self) -> Vec<(&'static str, &'static str)> {
                vec![$((stringify!($key), self.$key)),*]
            }

            /// The strings one per line, in the table's order: how the page carries
            /// the words of its language (no string holds a line break).
            pub fn to_page(&self) -> String {
                [$(self.$key),*].join("\n")
            }

            /// The table the page carries ([`Texts::to_page`]); a string missing from
            /// it is empty.
            pub fn from_page(lines: &'static str) -> Texts {
                let mut lines = lines.split('\n');
                Texts { $($key: lines.next().unwrap_or_default(),)* }
            }
        }
    };
}

texts! {
    // The page and its places.
    site_title: "{place} · Palaver", "{place} · Palaver";
    no_such_room: "No such room", "그런 방은 없습니다";
    bad_room_name: "“{name}” is not a valid room name: {reason}.", "“{name}”은(는) 방 이름으로 쓸 수 없습니다: {reason}.";
    page_not_found: "Page not found", "페이지를 찾을 수 없습니다";
    go_to_lobby: "Go to the lobby", "로비로 가기";
    skip_to_composer: "Skip to the message box", "메시지 입력란으로 건너뛰기";
    needs_javascript: "Palaver needs JavaScript to show and send messages live.", "Palaver에서 메시지를 실시간으로 보고 보내려면 JavaScript가 필요합니다.";
    language: "Language", "언어";
    // Search.
    search: "Search", "검색";
    search_for: "“{query}” · Search", "“{query}” · 검색";
    search_messages: "Search messages", "메시지 검색";
    search_placeholder: "Search every room", "모든 방에서 검색";
    search_results: "Found messages", "검색된 메시지";
    search_hint: "Words from messages in any room: the last word may be the start of one.", "아무 방의 메시지에 있는 단어를 입력하세요. 마지막 단어는 앞부분만 써도 됩니다.";
    searching: "Searching…", "검색하는 중…";
    no_results: "No messages with “{query}”.", "“{query}”이(가) 들어간 메시지가 없습니다.";
    more_results: "More results", "결과 더 보기";
    // The room list.
    rooms: "Rooms", "방 목록";
    unread_count: "{count} unread", "읽지 않은 메시지 {count}개";
    mention_count: "{count} mentioning you", "나를 언급한 메시지 {count}개";
    muted_unread: "new messages, muted", "새 메시지 (알림 끔)";
    room_name: "Room name", "방 이름";
    join_placeholder: "Join or create a room", "방에 들어가거나 새로 만들기";
    go: "Go", "이동";
    browse_rooms: "Browse rooms", "방 둘러보기";
    leave_room: "Leave #{room}", "#{room}에서 나가기";
    // The room's header.
    online: "{count} online: {names}", "{count}명 접속 중: {names}";
    connecting: "Connecting…", "연결 중…";
    connected: "Connected", "연결됨";
    reconnecting: "Reconnecting…", "다시 연결하는 중…";
    offline: "Offline: what you write is sent when you are back", "오프라인: 쓴 메시지는 다시 연결되면 보내집니다";
    notify_label: "In #{room}, notify me of", "#{room}에서 알림 받을 메시지";
    notify_all: "All messages", "모든 메시지";
    notify_mentions: "Mentions of me", "나를 언급한 메시지";
    notify_muted: "Nothing (muted)", "받지 않음 (알림 끔)";
    enable_notifications: "Enable notifications", "알림 켜기";
    // The messages.
    messages: "Messages", "메시지 목록";
    loading: "Loading…", "불러오는 중…";
    load_older: "Load older messages", "이전 메시지 불러오기";
    no_messages: "No messages yet. Say hello!", "아직 메시지가 없습니다. 인사를 건네 보세요!";
    load_between: "Load the messages in between", "사이의 메시지 불러오기";
    new_line: "New", "새 메시지";
    mark_read: "Mark all as read", "모두 읽음으로 표시";
    new_messages: "New messages ↓", "새 메시지 ↓";
    renamed: "{old} is now known as {new}", "{old} 님의 이름이 {new}(으)로 바뀌었습니다";
    sending: "Sending…", "보내는 중…";
    not_sent: "Not sent: {reason}", "보내지 못했습니다: {reason}";
    retry: "Retry", "다시 보내기";
    you: "You", "나";
    guest: "guest", "게스트";
    quote_deleted: "deleted", "삭제됨";
    message_deleted: "message deleted", "삭제된 메시지입니다";
    message_removed: "removed by an admin", "관리자가 삭제한 메시지입니다";
    edited: "(edited)", "(수정됨)";
    reactions: "Reactions", "반응";
    add_reaction: "Add a reaction", "반응 남기기";
    message_actions: "Message actions", "메시지 동작";
    more_actions: "More actions", "동작 더 보기";
    reply: "Reply", "답장";
    react: "React", "반응";
    edit: "Edit", "수정";
    delete: "Delete", "삭제";
    delete_confirm: "Delete for everyone?", "모두에게서 삭제할까요?";
    report: "Report", "신고";
    remove_preview: "Remove the preview", "미리보기 없애기";
    today: "Today", "오늘";
    yesterday: "Yesterday", "어제";
    am: "AM", "오전";
    pm: "PM", "오후";
    // Who is typing.
    typing_one: "{name} is typing…", "{name} 님이 입력하는 중…";
    typing_two: "{a} and {b} are typing…", "{a} 님과 {b} 님이 입력하는 중…";
    typing_many: "{count} people are typing…", "{count}명이 입력하는 중…";
    // Writing.
    you_are: "You are {name}", "{name} 님으로 대화 중";
    change_name: "change name", "이름 바꾸기";
    sign_out: "sign out", "로그아웃";
    settings: "settings", "설정";
    keep_name: "sign up to keep this name", "가입해서 이 이름 지키기";
    account_links: "or <a href=\"/sign-in\">sign in</a> · <a href=\"/sign-up\">sign up</a>", "또는 <a href=\"/sign-in\">로그인</a> · <a href=\"/sign-up\">가입</a>";
    editing_hint: "Editing your message · Enter to save · Esc to cancel", "메시지 수정 중 · Enter 키로 저장 · Esc 키로 취소";
    replying_hint: "Replying to {quote} · Esc to cancel", "{quote}에 답장 · Esc 키로 취소";
    cancel: "Cancel", "취소";
    close: "Close", "닫기";
    people_to_mention: "People to mention", "언급할 사람";
    message: "Message", "메시지";
    message_placeholder: "Write a message…", "메시지를 입력하세요…";
    send: "Send", "보내기";
    // Files attached to a message (uploads.rs).
    attach_files: "Attach files", "파일 첨부";
    files_to_send: "Files to send", "보낼 파일";
    files_unavailable: "Files cannot be attached now; try again", "지금은 파일을 첨부할 수 없습니다. 다시 시도하세요";
    save: "Save", "저장";
    over_limit: "{count} characters over the {limit}-character limit", "{limit}자 제한보다 {count}자 깁니다";
    // Choosing a name.
    your_name: "Your name", "이름";
    name_placeholder: "How others will see you", "다른 사람에게 보일 이름";
    start_chatting: "Start chatting", "대화 시작하기";
    // What is wrong with a name typed.
    room_length: "a room name has 1 to {max} characters", "방 이름은 1자에서 {max}자까지입니다";
    room_chars: "a room name uses only lowercase letters, digits, - and _", "방 이름에는 영문 소문자, 숫자, -, _만 쓸 수 있습니다";
    name_empty: "a name cannot be empty", "이름을 입력하세요";
    name_length: "a name has at most {max} characters", "이름은 {max}자까지입니다";
    name_control: "a name cannot contain control, invisible or direction characters", "이름에 제어 문자, 보이지 않는 문자, 방향 문자를 쓸 수 없습니다";
    // Why the server refused something.
    error_bad_frame: "the server could not read it", "서버가 읽을 수 없는 요청입니다";
    error_empty_text: "the message is empty", "메시지가 비어 있습니다";
    error_text_too_long: "the message is too long", "메시지가 너무 깁니다";
    error_bad_name: "the name is not valid", "이름이 올바르지 않습니다";
    error_bad_room: "the room name is not valid", "방 이름이 올바르지 않습니다";
    error_bad_token: "the session has expired", "세션이 만료되었습니다";
    error_not_identified: "choose a name first", "먼저 이름을 정하세요";
    error_not_joined: "not in this room", "이 방에 들어와 있지 않습니다";
    error_unavailable: "messages cannot be stored or loaded right now; try again", "지금은 메시지를 저장하거나 불러올 수 없습니다. 다시 시도하세요";
    error_rate_limited: "too fast, slow down", "너무 빠릅니다. 잠시 후 다시 시도하세요";
    error_no_such_message: "that message is not in this room", "이 방에 없는 메시지입니다";
    error_not_yours: "only its author can change it", "작성자만 바꿀 수 있습니다";
    error_deleted: "that message was deleted", "삭제된 메시지입니다";
    error_bad_reaction: "that reaction is not offered", "쓸 수 없는 반응입니다";
    error_too_many_reactions: "the message has all the kinds of reaction it can", "이 메시지에는 반응을 더 달 수 없습니다";
    error_bad_query: "search for at least one word", "검색할 단어를 하나 이상 입력하세요";
    error_not_allowed: "you may not do that in this room", "이 방에서는 할 수 없는 일입니다";
    error_bad_file: "a file of this message cannot be sent; attach it again", "이 메시지의 파일을 보낼 수 없습니다. 다시 첨부하세요";
}

impl Texts {
    /// Why the server refused something, for the person who sent it.
    pub fn error(&self, reason: ErrorReason) -> &'static str {
        match reason {
            // What the page's own frames never are (an unknown type, a binary frame, an id
            // the page did not make) reads as what it is: a frame the server could not read.
            ErrorReason::BadFrame | ErrorReason::UnknownType | ErrorReason::BinaryUnsupported | ErrorReason::BadId => {
                self.error_bad_frame
            }
            ErrorReason::EmptyText => self.error_empty_text,
            ErrorReason::TextTooLong => self.error_text_too_long,
            ErrorReason::BadName => self.error_bad_name,
            ErrorReason::BadRoom => self.error_bad_room,
            ErrorReason::BadToken => self.error_bad_token,
            ErrorReason::NotIdentified => self.error_not_identified,
            ErrorReason::NotJoined => self.error_not_joined,
            ErrorReason::Unavailable => self.error_unavailable,
            ErrorReason::RateLimited => self.error_rate_limited,
            ErrorReason::NoSuchMessage => self.error_no_such_message,
            ErrorReason::NotYours => self.error_not_yours,
            ErrorReason::Deleted => self.error_deleted,
            ErrorReason::BadReaction => self.error_bad_reaction,
            ErrorReason::TooManyReactions => self.error_too_many_reactions,
            ErrorReason::BadQuery => self.error_bad_query,
            ErrorReason::NotAllowed => self.error_not_allowed,
            ErrorReason::BadFile => self.error_bad_file,
        }
    }

    /// What is wrong with a room name or a display name typed.
    pub fn invalid(&self, problem: Invalid) -> String {
        let (template, max) = match problem {
            Invalid::RoomLength => (self.room_length, MAX_ROOM_CHARS),
            Invalid::RoomChars => (self.room_chars, 0),
            Invalid::NameEmpty => (self.name_empty, 0),
            Invalid::NameLength => (self.name_length, MAX_NAME_CHARS),
            Invalid::NameControl => (self.name_control, 0),
        };
        fill(template, &[("max", &max.to_string())])
    }

    /// "Ann is typing…", "Ann and Bob are typing…", "3 people are typing…".
    pub fn typing(&self, names: &[String]) -> Option<String> {
        match names {
            [] => None,
            [one] => Some(fill(self.typing_one, &[("name", one)])),
            [a, b] => Some(fill(self.typing_two, &[("a", a), ("b", b)])),
            more => Some(fill(self.typing_many, &[("count", &more.len().to_string())])),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The `{slots}` of a template, in order.
    fn slots(template: &str) -> Vec<&str> {
        let mut slots: Vec<&str> =
            template.split('{').skip(1).filter_map(|rest| rest.split_once('}').map(|(slot, _)| slot)).collect();
        slots.sort_unstable();
        slots
    }

    #[test]
    fn every_string_is_in_both_languages_with_the_same_slots() {
        let (english, korean) = (ENGLISH.entries(), KOREAN.entries());
        assert_eq!(english.len(), korean.len());
        // Strings that read the same in both: the site's name around a place.
        let same_in_both = ["site_title"];
        for ((key, en), (ko_key, ko)) in english.iter().zip(&korean) {
            assert_eq!(key, ko_key);
            assert!(!en.trim().is_empty() && !ko.trim().is_empty(), "{key} is empty in a language");
            assert_eq!(slots(en), slots(ko), "{key}: both languages fill in the same values");
            if !same_in_both.contains(key) {
                assert!(ko.chars().any(|c| ('가'..='힣').contains(&c)), "{key} is not translated to Korean: {ko:?}");
                assert!(!en.chars().any(|c| ('가'..='힣').contains(&c)), "{key} has Korean in English: {en:?}");
            }
        }
        // Every refusal and every problem with a name reads as something in both.
        for texts in [&ENGLISH, &KOREAN] {
            for reason in ErrorReason::ALL {
                assert!(!texts.error(reason).is_empty());
            }
            let problems = [
                Invalid::RoomLength,
                Invalid::RoomChars,
                Invalid::NameEmpty,
                Invalid::NameLength,
                Invalid::NameControl,
            ];
            for problem in problems {
                assert!(!texts.invalid(problem).contains('{'), "{problem:?} filled in");
            }
        }
        assert_eq!(KOREAN.invalid(Invalid::NameLength), format!("이름은 {MAX_NAME_CHARS}자까지입니다"));
    }

    #[test]
    fn the_page_carries_its_languages_words_whole() {
        for texts in [&ENGLISH, &KOREAN] {
            let page = texts.to_page();
            // Written raw into a `<script>` element, read back line by line.
            assert!(!page.to_ascii_lowercase().contains("</script"), "a string would end the element early");
            let read = Texts::from_page(page.leak());
            assert_eq!(read.entries(), texts.entries());
        }
        assert_eq!(Texts::from_page("{place}").site_title, "{place}");
        assert_eq!(Texts::from_page("{place}").no_such_room, "", "a missing string reads as empty");
    }

    #[test]
    fn templates_fill_and_cut() {
        assert_eq!(
            fill(ENGLISH.over_limit, &[("count", "3"), ("limit", "2000")]),
            "3 characters over the 2000-character limit"
        );
        assert_eq!(around(KOREAN.you_are, "name"), ("", " 님으로 대화 중"));
        assert_eq!(around(ENGLISH.you_are, "name"), ("You are ", ""));
        assert_eq!(ENGLISH.typing(&["A".into(), "B".into(), "C".into()]).unwrap(), "3 people are typing…");
        assert_eq!(KOREAN.typing(&["민수".into()]).unwrap(), "민수 님이 입력하는 중…");
        assert_eq!(KOREAN.typing(&[]), None);
    }
}
