//! Everyone who has chosen a name, by their latest one: whom an `@name` names. Read from
//! the store when the node starts; a person saying hello here is added (and written to
//! the store with the next read positions), one seen in a room through another node too
//! (that node writes them).
//!
//! An `@name` names whoever in the room has that name; if nobody there does, everyone
//! known by it, wherever they are: so a mention reaches a person in another room, or not
//! connected at all, as an unread mention and a notification.

use app::protocol::{find_mentions, User, UserId};
use std::collections::{BTreeMap, HashMap};

#[derive(Default)]
pub(super) struct People {
    names: HashMap<UserId, String>,
    /// Everyone, by name as mentions match it (ASCII case folded), then id.
    by_name: BTreeMap<(String, UserId), String>,
    /// Names not yet written to the store.
    pub(super) unsaved: HashMap<UserId, String>,
}

/// A name as `@name`s match it: ASCII letters in either case are the same.
fn folded(name: &str) -> String {
    name.to_ascii_lowercase()
}

impl People {
    pub(super) fn from(people: Vec<User>) -> People {
        let mut all = People::default();
        for user in people {
            all.seen(&user);
        }
        all
    }

    /// Someone seen by this name; true if that is news (a new person, or a new name).
    pub(super) fn seen(&mut self, user: &User) -> bool {
        if self.names.get(&user.id) == Some(&user.name) {
            return false;
        }
        if let Some(old) = self.names.insert(user.id.clone(), user.name.clone()) {
            self.by_name.remove(&(folded(&old), user.id.clone()));
        }
        self.by_name.insert((folded(&user.name), user.id.clone()), user.name.clone());
        true
    }

    /// Someone who said hello on this node: kept, and written to the store if new.
    pub(super) fn remember(&mut self, user: &User) -> bool {
        let news = self.seen(user);
        if news {
            self.unsaved.insert(user.id.clone(), user.name.clone());
        }
        news
    }

    /// The people `text`'s `@name`s name, each once: for each name, those in the room
    /// (`here`) who have it, or if none does, everyone known by it.
    pub(super) fn named(&self, text: &str, here: &[User]) -> Vec<User> {
        // Names that could follow an `@`: those in the room, and everyone known whose
        // name starts as the text after an `@` does.
        let mut names: Vec<&str> = here.iter().map(|u| u.name.as_str()).collect();
        for (at, _) in text.match_indices('@') {
            let Some(first) = text[at + 1..].chars().next() else { continue };
            let start = folded(first.encode_utf8(&mut [0; 4]));
            let known = self.by_name.range((start.clone(), UserId(String::new()))..);
            names.extend(known.take_while(|((name, _), _)| name.starts_with(&start)).map(|(_, n)| n.as_str()));
        }
        names.sort_unstable();
        names.dedup();
        let mut people: Vec<User> = Vec::new();
        for (_, name) in find_mentions(text, &names) {
            let key = folded(name);
            let in_room: Vec<&User> = here.iter().filter(|u| folded(&u.name) == key).collect();
            let named: Vec<User> = if in_room.is_empty() {
                let known = self.by_name.range((key.clone(), UserId(String::new()))..);
                known
                    .take_while(|((n, _), _)| *n == key)
                    .map(|((_, id), name)| User { id: id.clone(), name: name.clone() })
                    .collect()
            } else {
                in_room.into_iter().cloned().collect()
            };
            for user in named {
                if !people.iter().any(|p| p.id == user.id) {
                    people.push(user);
                }
            }
        }
        people
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str) -> User {
        User { id: UserId(id.into()), name: name.into() }
    }

    fn ids(people: Vec<User>) -> Vec<String> {
        people.into_iter().map(|u| u.id.0).collect()
    }

    #[test]
    fn a_name_names_whoever_has_it_in_the_room_else_everyone_known_by_it() {
        let mut people =
            People::from(vec![user("u1", "Ann"), user("u2", "ann"), user("u3", "Ann Lee"), user("u4", "민준")]);
        let here = [user("u2", "ann"), user("u5", "Bob")];
        // In the room: only the Ann here, though another Ann is known.
        assert_eq!(ids(people.named("hi @ANN!", &here)), ["u2"]);
        // The longest name wins; nobody called "Ann Lee" is here, so the one known is named.
        assert_eq!(ids(people.named("@ann lee see this", &here)), ["u3"]);
        // Not here at all: everyone known by it, each once; names in other scripts too.
        assert_eq!(ids(people.named("@민준 and @Bob and @민준", &[])), ["u4"]);
        assert_eq!(ids(people.named("@bob", &here)), ["u5"], "someone here but not yet known");
        assert_eq!(ids(people.named("@Ann", &[])), ["u1", "u2"]);
        assert!(people.named("mail me at x@ann.org, or @nobody", &here).is_empty());
        // A new name: known by it from now on, no longer by the old one.
        assert!(people.remember(&user("u3", "Lee")));
        assert!(!people.remember(&user("u3", "Lee")), "nothing new to write");
        assert_eq!(ids(people.named("@Lee", &[])), ["u3"]);
        assert_eq!(ids(people.named("@Ann Lee", &[])), ["u1", "u2"], "now it is only Ann's");
        assert_eq!(people.unsaved.len(), 1);
    }
}
