//! The languages the page speaks: their codes and own names, which one a request asks
//! for, and each one's strings.

use super::texts::Texts;
#[cfg(not(feature = "hydrate"))]
use super::texts::{ENGLISH, KOREAN};

/// The element of the page that carries the words of its language.
pub const TEXTS_ID: &str = "palaver-texts";

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

    /// The language's strings. In the browser, the words of the page's language come
    /// with the page (`TEXTS_ID`, written by the server's shell), so neither table is
    /// carried in the WebAssembly; a page only ever speaks its own language.
    pub fn texts(self) -> &'static Texts {
        #[cfg(feature = "hydrate")]
        {
            static PAGE: std::sync::OnceLock<Texts> = std::sync::OnceLock::new();
            let _ = self;
            PAGE.get_or_init(|| {
                let lines = leptos::prelude::document().get_element_by_id(TEXTS_ID).and_then(|e| e.text_content());
                Texts::from_page(lines.unwrap_or_default().leak())
            })
        }
        #[cfg(not(feature = "hydrate"))]
        match self {
            Lang::En => &ENGLISH,
            Lang::Ko => &KOREAN,
        }
    }
}
