//! Handles and display names. A handle is one person's alone: lowercase letters (of any
//! script without case too, such as Hangul), digits, `.`, `_` and `-`, 2 to 32 of them,
//! starting with a letter or a digit. Two handles that look alike are one handle: each
//! is kept with its confusable skeleton (Unicode TS #39), which must be unique, so
//! `ann` and `аnn` (with a Cyrillic `а`) cannot both exist. A display name is free,
//! within the protocol's name rules (no control, invisible or direction characters).

use palaver_protocol::validate_name;
use unicode_normalization::UnicodeNormalization;

pub const HANDLE_MIN: usize = 2;
pub const HANDLE_MAX: usize = 32;

/// Why a handle was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BadHandle {
    Length,
    Character,
    Start,
}

impl std::fmt::Display for BadHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            BadHandle::Length => "a handle has 2 to 32 characters",
            BadHandle::Character => "a handle has only lowercase letters, digits, '.', '_' and '-'",
            BadHandle::Start => "a handle starts with a letter or a digit",
        })
    }
}

/// The handle as typed, checked: trimmed, composed (NFC) and lower-cased (so `Ann` is
/// `ann`), then held to the rules.
pub fn handle(typed: &str) -> Result<String, BadHandle> {
    let handle: String = typed.trim().nfc().flat_map(char::to_lowercase).collect();
    let count = handle.chars().count();
    if !(HANDLE_MIN..=HANDLE_MAX).contains(&count) {
        return Err(BadHandle::Length);
    }
    let letter = |c: char| c.is_alphabetic() && !c.is_uppercase();
    if !handle.chars().all(|c| letter(c) || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
        return Err(BadHandle::Character);
    }
    if !handle.starts_with(|c: char| letter(c) || c.is_ascii_digit()) {
        return Err(BadHandle::Start);
    }
    Ok(handle)
}

/// What a handle is compared by: its confusable skeleton, lower-cased, so that handles
/// that look the same have the same key.
pub fn key(handle: &str) -> String {
    unicode_security::confusable_detection::skeleton(handle)
        .flat_map(char::to_lowercase)
        .collect::<String>()
        .nfc()
        .collect()
}

/// A display name as typed, checked (the protocol's rules for every name).
pub fn display_name(typed: &str) -> Result<String, palaver_protocol::Invalid> {
    validate_name(typed)
}

/// A name folded as mentions fold names (ASCII letters lower-cased), for comparing a
/// guest's name with the accounts' names.
pub fn folded(name: &str) -> String {
    name.to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_are_lowercase_letters_digits_and_three_marks() {
        assert_eq!(handle(" Ann "), Ok("ann".into()));
        assert_eq!(handle("ann.lee_2-x"), Ok("ann.lee_2-x".into()));
        assert_eq!(handle("김민수"), Ok("김민수".into()), "letters without case are letters");
        assert_eq!(handle("a"), Err(BadHandle::Length));
        assert_eq!(handle(&"a".repeat(33)), Err(BadHandle::Length));
        assert_eq!(handle(&"가".repeat(32)).map(|h| h.chars().count()), Ok(32));
        for bad in ["ann lee", "ann@x", "ann!", "an\u{200B}n", "ann\u{202E}", "a/b", "ann😀"] {
            assert_eq!(handle(bad), Err(BadHandle::Character), "{bad:?}");
        }
        assert_eq!(handle(".ann"), Err(BadHandle::Start));
        assert_eq!(handle("_ann"), Err(BadHandle::Start));
    }

    #[test]
    fn look_alike_handles_have_one_key() {
        let ann = key(&handle("ann").unwrap());
        assert_eq!(key(&handle("аnn").unwrap()), ann, "Cyrillic а looks like Latin a");
        assert_eq!(key(&handle("ΑNN").unwrap()), ann, "Greek capital alpha, lower-cased, then folded");
        assert_eq!(key("ann"), key("ann"));
        assert_ne!(key("ann"), key("anne"));
        assert_eq!(key("rn"), key("m"), "r and n together look like m");
        assert_eq!(key("l1"), key("ll"), "1 and l look alike");
        assert_eq!(key("o0"), key("oo"));
        assert_eq!(key("e\u{301}"), key("é"), "composed or not, one handle");
    }

    #[test]
    fn display_names_refuse_hidden_characters() {
        assert_eq!(display_name(" Ann Lee ✨ ").as_deref(), Ok("Ann Lee ✨"));
        for bad in ["Ann\u{202E}", "A\u{200D}nn", "\u{2067}Ann", "Ann\u{0}", ""] {
            assert!(display_name(bad).is_err(), "{bad:?}");
        }
    }
}
