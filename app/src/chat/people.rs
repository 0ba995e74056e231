//! People as the page shows them: who I am to the chat, who is typing, and each
//! person's initials and avatar colour.

use palaver_protocol::{User, UserId};

/// How long "X is typing…" stays up after X's last keystroke, in milliseconds.
pub const TYPING_SHOWN_MS: f64 = 4_000.0;

/// Who this browser is to the chat.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Me {
    /// Not known yet (the server renders this, and the page before it reads storage).
    Unknown,
    /// No name chosen yet on this browser.
    Anonymous,
    /// A name is chosen; `user` is set once the server has confirmed it.
    Named { name: String, user: Option<User> },
}

impl Me {
    pub fn user(&self) -> Option<&User> {
        match self {
            Me::Named { user, .. } => user.as_ref(),
            _ => None,
        }
    }

    pub fn name(&self) -> Option<&str> {
        match self {
            Me::Named { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// The names of who is typing in a room at `now`, for "X is typing…"; with `guest`
/// (the word, on a member's page), a guest's name is marked as one.
pub fn typing_names(entries: Option<&Vec<(User, f64)>>, now: f64, guest: Option<&str>) -> Vec<String> {
    let shown = |u: &User| match (guest, &u.handle) {
        (Some(guest), None) => format!("{} ({guest})", u.name),
        _ => u.name.clone(),
    };
    entries
        .map(|list| list.iter().filter(|(_, until)| *until > now).map(|(u, _)| shown(u)).collect())
        .unwrap_or_default()
}

/// Up to two initials of a name, for its avatar.
pub fn initials(name: &str) -> String {
    name.split_whitespace().filter_map(|w| w.chars().next()).take(2).flat_map(char::to_uppercase).collect()
}

/// Which of the avatar colours a person has: the same everywhere, from their id.
pub fn avatar_colour(id: &UserId) -> u32 {
    // FNV-1a: small and stable.
    let hash = id.as_str().bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193));
    hash % AVATAR_COLOURS
}

/// Avatar colours in style/layout.css (`.avatar-0` …).
pub const AVATAR_COLOURS: u32 = 8;

/// Longest message text read out by the live region.
pub const ANNOUNCED_CHARS: usize = 140;

/// "Bob: see you", as brief as a screen reader should say it.
pub fn announce(author: &str, text: &str) -> String {
    let mut line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.chars().count() > ANNOUNCED_CHARS {
        line = line.chars().take(ANNOUNCED_CHARS).collect::<String>() + "…";
    }
    format!("{author}: {line}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chat::timeline::tests::user;

    #[test]
    fn avatars_read_as_initials() {
        assert_eq!(initials("ann lee"), "AL");
        assert_eq!(initials("김민수"), "김");
        assert_eq!(initials("  "), "");
        let id = UserId("u123".into());
        assert_eq!(avatar_colour(&id), avatar_colour(&id.clone()));
        assert!(avatar_colour(&id) < AVATAR_COLOURS);
    }

    #[test]
    fn typing_lines_read_naturally_and_expire() {
        let list = vec![(user("Ann"), 5_000.0), (user("Bob"), 2_000.0)];
        assert_eq!(typing_names(Some(&list), 1_000.0, None), ["Ann", "Bob"]);
        assert_eq!(typing_names(Some(&list), 3_000.0, None), ["Ann"]);
        assert_eq!(typing_names(Some(&list), 6_000.0, None), Vec::<String>::new());
        let member = User { handle: Some("bo".into()), ..user("Bob") };
        let list = vec![(user("Ann"), 5_000.0), (member, 5_000.0)];
        assert_eq!(typing_names(Some(&list), 1_000.0, Some("guest")), ["Ann (guest)", "Bob"], "on a member's page");
        let english = &crate::locale::ENGLISH;
        assert_eq!(english.typing(&["Ann".into()]).unwrap(), "Ann is typing…");
        assert_eq!(english.typing(&["Ann".into(), "Bob".into()]).unwrap(), "Ann and Bob are typing…");
    }
}
