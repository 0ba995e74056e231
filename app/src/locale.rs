//! The reader's language and clock: every string of the page in English and Korean (one
//! typed table, so a string missing in either language does not compile), and times and
//! dates as the reader writes them (`3:05 PM`, `오후 3:05`) in their time zone.
//!
//! The server renders the page for the reader: the language comes from their `lang`
//! cookie (the page's switch sets it) or else their browser's `Accept-Language`, and the
//! time zone from the `tz` cookie the page writes (UTC until it has). The page reads the
//! same from `<html lang data-tz>` to hydrate what the server rendered, then moves to the
//! browser's own time zone.

use crate::protocol::{ErrorReason, Invalid, MAX_NAME_CHARS, MAX_ROOM_CHARS};
use leptos::prelude::*;

/// A language the page speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Lang {
    #[default]
    En,
    Ko,
}

impl Lang {
    pub const ALL: [Lang; 2] = [Lang::En, Lang::Ko];

    /// Its BCP 47 code, for `<html lang>` and the `lang` cookie.
    pub fn code(self) -> &'static str {
        match self {
            Lang::En => "en",
            Lang::Ko => "ko",
        }
    }

    /// Its name in itself, for the switch to it.
    pub fn own_name(self) -> &'static str {
        match self {
            Lang::En => "English",
            Lang::Ko => "한국어",
        }
    }

    /// The language a code or language tag names (`ko`, `ko-KR`, `EN-us`), if spoken here.
    pub fn parse(tag: &str) -> Option<Lang> {
        let primary = tag.trim().split(['-', '_']).next()?;
        Lang::ALL.into_iter().find(|l| l.code().eq_ignore_ascii_case(primary))
    }

    /// The first language spoken here among an `Accept-Language` header's, by their
    /// weights (`ko-KR,ko;q=0.9,en;q=0.8`); English when none is.
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, usize, Lang)> = None;
        for (i, item) in header.split(',').enumerate() {
            let mut parts = item.split(';');
            let Some(lang) = parts.next().and_then(Lang::parse) else { continue };
            let weight = parts
                .filter_map(|p| p.trim().strip_prefix("q="))
                .find_map(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            // Higher weight first; among equals, the one listed first.
            if weight > 0.0 && best.is_none_or(|(w, _, _)| weight > w) {
                best = Some((weight, i, lang));
            }
        }
        best.map(|(_, _, lang)| lang).unwrap_or_default()
    }

    /// The other language: what the switch offers.
    pub fn other(self) -> Lang {
        match self {
            Lang::En => Lang::Ko,
            Lang::Ko => Lang::En,
        }
    }

    pub fn texts(self) -> &'static Texts {
        match self {
            Lang::En => &ENGLISH,
            Lang::Ko => &KOREAN,
        }
    }
}

/// What a page request says of its reader: their language and their UTC offset; and
/// when the page was rendered (so the browser names days as the server did, until live).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Reader {
    pub lang: Lang,
    /// Minutes east of UTC (Seoul is 540), from the `tz` cookie; 0 until the page set it.
    pub utc_offset_min: i32,
    /// The server's clock when it rendered the page, in milliseconds since the epoch.
    pub rendered_at: i64,
}

/// The cookie that remembers the language chosen with the page's switch.
pub const LANG_COOKIE: &str = "lang";
/// The cookie in which the page tells the server the reader's UTC offset.
pub const TZ_COOKIE: &str = "tz";
/// The largest UTC offset there is (Kiribati, +14:00), in minutes.
const MAX_OFFSET_MIN: i32 = 14 * 60;

impl Reader {
    /// The reader of a request with these `Cookie` and `Accept-Language` headers, at
    /// `rendered_at`.
    pub fn of_request(cookies: Option<&str>, accept_language: Option<&str>, rendered_at: i64) -> Reader {
        let cookie = |name: &str| {
            cookies?.split(';').find_map(|c| {
                let (k, v) = c.split_once('=')?;
                (k.trim() == name).then(|| v.trim().to_owned())
            })
        };
        let lang = cookie(LANG_COOKIE)
            .and_then(|c| Lang::parse(&c))
            .unwrap_or_else(|| accept_language.map(Lang::from_accept_language).unwrap_or_default());
        let utc_offset_min =
            cookie(TZ_COOKIE).and_then(|c| c.parse::<i32>().ok()).filter(|m| m.abs() <= MAX_OFFSET_MIN).unwrap_or(0);
        Reader { lang, utc_offset_min, rendered_at }
    }

    /// The reader this page was rendered for: the request's on the server (the shell
    /// works it out once and provides it to the app), what the server wrote into
    /// `<html lang data-tz data-rendered>` in the browser.
    pub fn current() -> Reader {
        if let Some(reader) = use_context::<Reader>() {
            return reader;
        }
        #[cfg(feature = "ssr")]
        if let Some(request) = use_context::<http::request::Parts>() {
            let header = |name| request.headers.get(name).and_then(|v| v.to_str().ok());
            let now = crate::clock::now_ms() as i64;
            return Reader::of_request(header(http::header::COOKIE), header(http::header::ACCEPT_LANGUAGE), now);
        }
        #[cfg(feature = "hydrate")]
        if let Some(html) = document().document_element() {
            let number = |name: &str| html.get_attribute(name).and_then(|t| t.parse::<i64>().ok());
            let lang = html.get_attribute("lang").and_then(|l| Lang::parse(&l)).unwrap_or_default();
            let utc_offset_min = number("data-tz").and_then(|m| i32::try_from(m).ok()).unwrap_or(0);
            let rendered_at = number("data-rendered").unwrap_or_else(|| crate::clock::now_ms() as i64);
            return Reader { lang, utc_offset_min, rendered_at };
        }
        Reader { rendered_at: crate::clock::now_ms() as i64, ..Reader::default() }
    }
}

/// Where the clock on the page is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Zone {
    /// A fixed offset from UTC, in minutes east: what the server knows of the reader.
    Fixed(i32),
    /// The browser's own time zone, daylight saving time included (UTC off the browser).
    Browser,
}

impl Zone {
    /// Minutes east of UTC at that instant.
    fn offset_min(self, unix_ms: i64) -> i64 {
        match self {
            Zone::Fixed(minutes) => i64::from(minutes),
            #[cfg(feature = "hydrate")]
            Zone::Browser => {
                -(js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(unix_ms as f64)).get_timezone_offset() as i64)
            }
            #[cfg(not(feature = "hydrate"))]
            Zone::Browser => {
                let _ = unix_ms;
                0
            }
        }
    }
}

/// The page's language and clock. Provided by [`crate::App`].
///
/// Until the page is live it keeps the server's view (its guess of the zone, its time of
/// rendering), so hydrating finds exactly what the server rendered; then it moves to the
/// browser's zone and clock, and whatever differs is redrawn.
#[derive(Clone, Copy)]
pub struct Locale {
    pub lang: Lang,
    zone: RwSignal<Zone>,
    /// The time of rendering until live; `None` once the browser's own clock counts.
    rendered_at: RwSignal<Option<i64>>,
}

impl Locale {
    pub fn new(reader: Reader) -> Locale {
        Locale {
            lang: reader.lang,
            zone: RwSignal::new(Zone::Fixed(reader.utc_offset_min)),
            rendered_at: RwSignal::new(Some(reader.rendered_at)),
        }
    }

    /// The page's locale (English and UTC where none was provided).
    pub fn get() -> Locale {
        use_context::<Locale>().unwrap_or_else(|| Locale::new(Reader::default()))
    }

    pub fn t(self) -> &'static Texts {
        self.lang.texts()
    }

    /// Once the page is live: times in the browser's own zone from now on, and the
    /// server told the reader's offset, so the next page it renders has them right.
    pub fn use_browser_zone(self) {
        #[cfg(feature = "hydrate")]
        {
            let offset = Zone::Browser.offset_min(js_sys::Date::now() as i64);
            let cookie = format!("{TZ_COOKIE}={offset}; Path=/; Max-Age=31536000; SameSite=Lax");
            let _ = js_sys::Reflect::set(&document(), &"cookie".into(), &cookie.into());
        }
        self.zone.set(Zone::Browser);
        self.rendered_at.set(None);
        #[cfg(feature = "hydrate")]
        self.at_midnight();
    }

    /// At each local midnight, what names a day from today ("Today", "Yesterday") is
    /// named again.
    #[cfg(feature = "hydrate")]
    fn at_midnight(self) {
        let now = js_sys::Date::now() as i64;
        let local = now + Zone::Browser.offset_min(now) * 60_000;
        let wait = 86_400_000 - local.rem_euclid(86_400_000) + 1_000;
        set_timeout(
            move || {
                // Unchanged, but said again: what reads the time of day reads it anew.
                self.rendered_at.set(None);
                self.at_midnight();
            },
            std::time::Duration::from_millis(wait as u64),
        );
    }

    /// What time it is for the page (tracks going live, and each midnight).
    pub fn now(self) -> i64 {
        self.rendered_at.get().unwrap_or_else(|| crate::clock::now_ms() as i64)
    }

    /// Local date and time of an instant (tracks the zone).
    fn local(self, unix_ms: i64) -> Civil {
        let zone = self.zone.get();
        Civil::of(unix_ms + zone.offset_min(unix_ms) * 60_000)
    }

    /// The local day of an instant, as days since 1970-01-01 (tracks the zone).
    pub fn day(self, unix_ms: i64) -> i64 {
        self.local(unix_ms).days
    }

    /// `3:05 PM`, `오후 3:05` (tracks the zone).
    pub fn time(self, unix_ms: i64) -> String {
        self.local(unix_ms).clock(self.lang)
    }

    /// The whole date and time, for a time's tooltip (tracks the zone).
    pub fn full_time(self, unix_ms: i64) -> String {
        let civil = self.local(unix_ms);
        match self.lang {
            Lang::En => format!("{}, {}", civil.date(self.lang, true), civil.clock(self.lang)),
            Lang::Ko => format!("{} {}", civil.date(self.lang, true), civil.clock(self.lang)),
        }
    }

    /// "Today", "Yesterday" or the date of a local day (tracks the zone and the clock).
    pub fn day_label(self, day: i64) -> String {
        day_label(self.lang, day, self.local(self.now()).days)
    }
}

/// A day's name between the messages: "Today", "Yesterday", or its date (with the year
/// when it is not this year's).
pub fn day_label(lang: Lang, day: i64, today: i64) -> String {
    let t = lang.texts();
    match today - day {
        0 => t.today.to_owned(),
        1 => t.yesterday.to_owned(),
        _ => {
            let civil = Civil::of(day * 86_400_000);
            civil.date(lang, civil.year != Civil::of(today * 86_400_000).year)
        }
    }
}

/// A moment as a calendar and a wall clock show it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Civil {
    days: i64,
    year: i64,
    month: i64,
    day: i64,
    hour: i64,
    minute: i64,
}

const EN_WEEKDAYS: [&str; 7] = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
const KO_WEEKDAYS: [&str; 7] = ["일요일", "월요일", "화요일", "수요일", "목요일", "금요일", "토요일"];
const EN_MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

impl Civil {
    /// Of milliseconds since the epoch, already shifted to the wall clock's zone.
    fn of(local_ms: i64) -> Civil {
        let days = local_ms.div_euclid(86_400_000);
        let (year, month, day) = civil_date(days);
        let minutes = local_ms.rem_euclid(86_400_000) / 60_000;
        Civil { days, year, month, day, hour: minutes / 60, minute: minutes % 60 }
    }

    /// 0 for Sunday (1970-01-01 was a Thursday).
    fn weekday(self) -> usize {
        (self.days + 4).rem_euclid(7) as usize
    }

    fn clock(self, lang: Lang) -> String {
        let t = lang.texts();
        let (half, hour) = match self.hour {
            0 => (t.am, 12),
            h @ 1..=11 => (t.am, h),
            12 => (t.pm, 12),
            h => (t.pm, h - 12),
        };
        let minute = self.minute;
        match lang {
            Lang::En => format!("{hour}:{minute:02} {half}"),
            Lang::Ko => format!("{half} {hour}:{minute:02}"),
        }
    }

    /// "Monday, 30 November" (", 2026" with the year); "11월 30일 월요일" ("2026년 " before).
    fn date(self, lang: Lang, with_year: bool) -> String {
        let Civil { year, month, day, .. } = self;
        match (lang, with_year) {
            (Lang::En, false) => format!("{}, {day} {}", EN_WEEKDAYS[self.weekday()], EN_MONTHS[month as usize - 1]),
            (Lang::En, true) => {
                format!("{}, {day} {} {year}", EN_WEEKDAYS[self.weekday()], EN_MONTHS[month as usize - 1])
            }
            (Lang::Ko, false) => format!("{month}월 {day}일 {}", KO_WEEKDAYS[self.weekday()]),
            (Lang::Ko, true) => format!("{year}년 {month}월 {day}일 {}", KO_WEEKDAYS[self.weekday()]),
        }
    }
}

/// Year, month and day of a count of days since 1970-01-01 (proleptic Gregorian).
fn civil_date(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// A server timestamp as an ISO 8601 UTC instant, for `<time datetime>`.
pub fn iso_time(unix_ms: i64) -> String {
    let Civil { year, month, day, hour, minute, .. } = Civil::of(unix_ms);
    let second = unix_ms.rem_euclid(60_000) / 1000;
    format!("{year:04}-{month:02}-{day:02}T{hour:02}:{minute:02}:{second:02}Z")
}

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
    people_online: "people online", "접속한 사람 수";
    unread_count: "{count} unread", "읽지 않은 메시지 {count}개";
    mention_count: "{count} mentioning you", "나를 언급한 메시지 {count}개";
    muted_unread: "new messages, muted", "새 메시지 (알림 끔)";
    room_name: "Room name", "방 이름";
    join_placeholder: "Join or create a room", "방에 들어가거나 새로 만들기";
    go: "Go", "이동";
    // The room's header.
    online: "{count} online: {names}", "{count}명 접속 중: {names}";
    connecting: "Connecting…", "연결 중…";
    connected: "Connected", "연결됨";
    reconnecting: "Reconnecting…", "다시 연결하는 중…";
    notify_label: "Notify me of", "알림 받을 메시지";
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
    quote_deleted: "deleted", "삭제됨";
    message_deleted: "message deleted", "삭제된 메시지입니다";
    edited: "(edited)", "(수정됨)";
    reactions: "Reactions", "반응";
    add_reaction: "Add a reaction", "반응 남기기";
    reply: "Reply", "답장";
    react: "React", "반응";
    edit: "Edit", "수정";
    delete: "Delete", "삭제";
    delete_confirm: "Delete for everyone?", "모두에게서 삭제할까요?";
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
    editing_hint: "Editing your message · Enter to save · Esc to cancel", "메시지 수정 중 · Enter 키로 저장 · Esc 키로 취소";
    replying_hint: "Replying to {quote} · Esc to cancel", "{quote}에 답장 · Esc 키로 취소";
    cancel: "Cancel", "취소";
    people_to_mention: "People to mention", "언급할 사람";
    message: "Message", "메시지";
    message_placeholder: "Write a message…", "메시지를 입력하세요…";
    send: "Send", "보내기";
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
    name_control: "a name cannot contain control characters", "이름에 제어 문자를 쓸 수 없습니다";
    // Why the server refused something.
    error_bad_frame: "the server could not read it", "서버가 읽을 수 없는 요청입니다";
    error_unknown_type: "the server does not know this request", "서버가 모르는 요청입니다";
    error_binary: "binary frames are not supported", "바이너리 프레임은 지원하지 않습니다";
    error_empty_text: "the message is empty", "메시지가 비어 있습니다";
    error_text_too_long: "the message is too long", "메시지가 너무 깁니다";
    error_bad_id: "the message id is not valid", "메시지 ID가 올바르지 않습니다";
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
}

impl Texts {
    /// Why the server refused something, for the person who sent it.
    pub fn error(&self, reason: ErrorReason) -> &'static str {
        match reason {
            ErrorReason::BadFrame => self.error_bad_frame,
            ErrorReason::UnknownType => self.error_unknown_type,
            ErrorReason::BinaryUnsupported => self.error_binary,
            ErrorReason::EmptyText => self.error_empty_text,
            ErrorReason::TextTooLong => self.error_text_too_long,
            ErrorReason::BadId => self.error_bad_id,
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
        for lang in Lang::ALL {
            for reason in ErrorReason::ALL {
                assert!(!lang.texts().error(reason).is_empty());
            }
            let problems = [
                Invalid::RoomLength,
                Invalid::RoomChars,
                Invalid::NameEmpty,
                Invalid::NameLength,
                Invalid::NameControl,
            ];
            for problem in problems {
                assert!(!lang.texts().invalid(problem).contains('{'), "{problem:?} filled in");
            }
        }
        assert_eq!(KOREAN.invalid(Invalid::NameLength), format!("이름은 {MAX_NAME_CHARS}자까지입니다"));
    }

    #[test]
    fn the_language_is_the_cookies_or_the_browsers_first_spoken_here() {
        assert_eq!(Lang::from_accept_language("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7"), Lang::Ko);
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9,ko;q=0.8"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr-FR, ko;q=0.5, en;q=0.3"), Lang::Ko);
        assert_eq!(Lang::from_accept_language("en;q=0.2, KO;q=0.9"), Lang::Ko);
        assert_eq!(Lang::from_accept_language("ko;q=0, en;q=0.1"), Lang::En);
        assert_eq!(Lang::from_accept_language("fr, de"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::En);
        assert_eq!(Lang::from_accept_language("*"), Lang::En);

        let korean_browser = Some("ko-KR,ko;q=0.9");
        assert_eq!(Reader::of_request(None, korean_browser, 0).lang, Lang::Ko);
        assert_eq!(
            Reader::of_request(Some("a=1; lang=en; tz=540"), korean_browser, 7),
            Reader { lang: Lang::En, utc_offset_min: 540, rendered_at: 7 }
        );
        assert_eq!(
            Reader::of_request(Some("lang=fr; tz=-300"), korean_browser, 0),
            Reader { lang: Lang::Ko, utc_offset_min: -300, rendered_at: 0 }
        );
        assert_eq!(Reader::of_request(Some("tz=99999"), None, 0), Reader::default(), "no such offset");
        assert_eq!(Reader::of_request(Some("tz=abc;lang"), None, 0), Reader::default());
    }

    #[test]
    fn times_read_as_each_language_writes_them() {
        let owner = Owner::new();
        owner.set();
        // 2023-11-14 22:13:20 UTC, a Tuesday.
        let at = 1_700_000_000_000;
        let utc = |lang| Locale::new(Reader { lang, ..Reader::default() });
        let seoul = |lang| Locale::new(Reader { lang, utc_offset_min: 540, rendered_at: 0 });
        assert_eq!(utc(Lang::En).time(at), "10:13 PM");
        assert_eq!(utc(Lang::Ko).time(at), "오후 10:13");
        assert_eq!(seoul(Lang::En).time(at), "7:13 AM", "the next morning in Seoul");
        assert_eq!(seoul(Lang::Ko).time(at), "오전 7:13");
        assert_eq!(utc(Lang::En).time(0), "12:00 AM");
        assert_eq!(utc(Lang::Ko).time(12 * 3_600_000 + 5 * 60_000), "오후 12:05");
        assert_eq!(utc(Lang::En).full_time(at), "Tuesday, 14 November 2023, 10:13 PM");
        assert_eq!(seoul(Lang::Ko).full_time(at), "2023년 11월 15일 수요일 오전 7:13");
        assert_eq!(iso_time(at), "2023-11-14T22:13:20Z");
        assert_eq!(iso_time(-1), "1969-12-31T23:59:59Z");
        assert_eq!(iso_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(iso_time(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(seoul(Lang::En).day(at) - utc(Lang::En).day(at), 1);
    }

    #[test]
    fn days_are_named_from_today() {
        let today = 19_675; // 2023-11-14, a Tuesday
        assert_eq!(day_label(Lang::En, today, today), "Today");
        assert_eq!(day_label(Lang::Ko, today - 1, today), "어제");
        assert_eq!(day_label(Lang::En, today - 2, today), "Sunday, 12 November");
        assert_eq!(day_label(Lang::Ko, today - 2, today), "11월 12일 일요일");
        assert_eq!(day_label(Lang::En, today - 400, today), "Monday, 10 October 2022");
        assert_eq!(day_label(Lang::Ko, today - 400, today), "2022년 10월 10일 월요일");
    }

    #[test]
    fn until_live_the_page_keeps_the_servers_clock_then_takes_the_browsers() {
        let owner = Owner::new();
        owner.set();
        let day_ms = 86_400_000;
        // Rendered on day 10 at 23:00 UTC, for a reader the server takes to be at UTC.
        let locale =
            Locale::new(Reader { lang: Lang::En, utc_offset_min: 0, rendered_at: 10 * day_ms + 23 * 3_600_000 });
        assert_eq!(locale.day_label(10), "Today", "as the server rendered it");
        assert_eq!(locale.time(10 * day_ms), "12:00 AM");
        locale.use_browser_zone();
        assert_eq!(locale.day_label(10), "Sunday, 11 January 1970", "the browser's clock says it is long after");
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
