//! The reader's language and clock: every string of the page in English and Korean (one
//! typed table, so a string missing in either language does not compile), and times and
//! dates as the reader writes them (`3:05 PM`, `오후 3:05`) in their time zone.
//!
//! The server renders the page for the reader: the language comes from their `lang`
//! cookie (the page's switch sets it) or else their browser's `Accept-Language`, and the
//! time zone from the `tz` cookie the page writes (UTC until it has). The page reads the
//! same from `<html lang data-tz>` to hydrate what the server rendered, then moves to the
//! browser's own time zone.
//!
//! The strings are in `locale/texts.rs`, the languages in `locale/lang.rs`, dates and
//! times as each language writes them in `locale/calendar.rs`; here, the reader and the
//! page's language and clock as the components read them (`Locale`, in signals).

mod calendar;
mod lang;
mod texts;

pub use calendar::{day_label, iso_time};
pub use lang::{Lang, TEXTS_ID};
pub use texts::{around, fill, Texts, ENGLISH, KOREAN};

use calendar::Civil;
use leptos::prelude::*;

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

#[cfg(test)]
mod tests {
    use super::*;

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
}
