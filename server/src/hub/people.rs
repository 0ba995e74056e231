//! Everyone who has chosen a name, by their latest one: whom an `@name` names. Read from
//! the store when the node starts; a person saying hello here is added (and written to
//! the store with the next read positions), one seen in a room through another node too
//! (that node writes them).
//!
//! An `@name` names whoever in the room has that name; if nobody there does, everyone
//! known by it, wherever they are: so a mention reaches a person in another room, or not
//! connected at all, as an unread mention and a notification.

use palaver_protocol::{is_word, User, UserId, MAX_NAME_CHARS};
use std::collections::{BTreeMap, HashMap};
use std::ops::Bound;

/// The most people one message can name: past them, further `@name`s name nobody.
pub const MAX_MENTIONED: usize = 32;
/// The most `@`s of one message looked at: past them, the rest of the text names nobody,
/// so a text of nothing but `@`s costs a few lookups.
pub const MAX_MENTION_TRIES: usize = 4 * MAX_MENTIONED;

#[derive(Default)]
pub(super) struct People {
    names: HashMap<UserId, String>,
    /// Everyone, by name as mentions match it (ASCII case folded): their ids and names.
    by_name: BTreeMap<String, Vec<(UserId, String)>>,
    /// Names not yet written to the store.
    pub(super) unsaved: HashMap<UserId, String>,
}

/// The people who go by one name: ids and names as they write them.
type Holders = [(UserId, String)];

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
            let key = folded(&old);
            if let Some(ids) = self.by_name.get_mut(&key) {
                ids.retain(|(id, _)| *id != user.id);
                if ids.is_empty() {
                    self.by_name.remove(&key);
                }
            }
        }
        self.by_name.entry(folded(&user.name)).or_default().push((user.id.clone(), user.name.clone()));
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

    /// The people `text`'s `@name`s name, each once, at most [`MAX_MENTIONED`]: for each
    /// name, those who have it and are in the room (`here` says who is), or if none is,
    /// everyone known by it.
    #[cfg(test)]
    pub(super) fn named(&self, text: &str, here: impl Fn(&UserId) -> bool) -> Vec<User> {
        choose(self.mentioned(text), here)
    }

    /// Who has each name that `text`'s `@name`s spell, in order, for [`choose`]; at most
    /// [`MAX_MENTIONED`] names and people by each, from the first [`MAX_MENTION_TRIES`]
    /// `@`s. One pass over the text: after each `@`,
    /// the name grows a character at a time only while some known name starts with it
    /// (one ordered lookup each, at most [`MAX_NAME_CHARS`]); the longest whole one counts.
    pub(super) fn mentioned(&self, text: &str) -> Vec<Vec<User>> {
        let mut names: Vec<&str> = Vec::new();
        let mut groups = Vec::new();
        let mut word_before = false;
        let mut skip_to = 0;
        let mut tries = 0;
        for (at, c) in text.char_indices() {
            let mention = c == '@' && !word_before && at >= skip_to;
            word_before = is_word(c);
            if !mention {
                continue;
            }
            tries += 1;
            if tries > MAX_MENTION_TRIES {
                break;
            }
            let Some((len, name, known)) = self.longest_name(&text[at + 1..]) else { continue };
            skip_to = at + 1 + len;
            if names.contains(&name) {
                continue;
            }
            if names.len() == MAX_MENTIONED {
                break;
            }
            names.push(name);
            let known = known.iter().take(MAX_MENTIONED);
            groups.push(known.map(|(id, name)| User { id: id.clone(), name: name.clone() }).collect());
        }
        groups
    }

    /// The longest known name that `text` starts with as a whole word (its length in
    /// bytes of `text`), and who has it.
    fn longest_name(&self, text: &str) -> Option<(usize, &str, &Holders)> {
        let mut key = String::new();
        let mut best = None;
        for (i, c) in text.char_indices().take(MAX_NAME_CHARS) {
            key.push(c.to_ascii_lowercase());
            let mut from = self.by_name.range::<str, _>((Bound::Included(key.as_str()), Bound::Unbounded));
            let Some((name, known)) = from.next().filter(|(name, _)| name.starts_with(key.as_str())) else { break };
            let end = i + c.len_utf8();
            let whole = text[end..].chars().next().is_none_or(|next| !is_word(next));
            if *name == key && whole {
                best = Some((end, name.as_str(), known.as_slice()));
            }
        }
        best
    }
}

/// Of each name's people, those in the room (`here`), or if none is, all of them; each
/// person once, at most [`MAX_MENTIONED`].
pub(super) fn choose(groups: Vec<Vec<User>>, here: impl Fn(&UserId) -> bool) -> Vec<User> {
    let mut people: Vec<User> = Vec::new();
    for known in groups {
        let in_room: Vec<&User> = known.iter().filter(|u| here(&u.id)).collect();
        let named = if in_room.is_empty() { known.iter().collect() } else { in_room };
        for user in named {
            if people.len() == MAX_MENTIONED {
                return people;
            }
            if !people.iter().any(|p| p.id == user.id) {
                people.push(user.clone());
            }
        }
    }
    people
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
        people.seen(&user("u5", "Bob"));
        let in_room = ["u2", "u5"];
        let here = |id: &UserId| in_room.contains(&id.0.as_str());
        let nobody = |_: &UserId| false;
        // In the room: only the Ann here, though another Ann is known.
        assert_eq!(ids(people.named("hi @ANN!", here)), ["u2"]);
        // The longest name wins; nobody called "Ann Lee" is here, so the one known is named.
        assert_eq!(ids(people.named("@ann lee see this", here)), ["u3"]);
        // Not here at all: everyone known by it, each once; names in other scripts too.
        assert_eq!(ids(people.named("@민준 and @Bob and @민준", nobody)), ["u4", "u5"]);
        assert_eq!(ids(people.named("@bob", here)), ["u5"]);
        assert_eq!(ids(people.named("@Ann", nobody)), ["u1", "u2"]);
        assert!(people.named("mail me at x@ann.org, or @nobody", here).is_empty());
        // A new name: known by it from now on, no longer by the old one.
        assert!(people.remember(&user("u3", "Lee")));
        assert!(!people.remember(&user("u3", "Lee")), "nothing new to write");
        assert_eq!(ids(people.named("@Lee", nobody)), ["u3"]);
        assert_eq!(ids(people.named("@Ann Lee", nobody)), ["u1", "u2"], "now it is only Ann's");
        assert_eq!(people.unsaved.len(), 1);
    }

    #[test]
    fn one_message_names_at_most_so_many_people() {
        let everyone: Vec<User> = (0..200).map(|i| user(&format!("u{i}"), &format!("p{i}"))).collect();
        let people = People::from(everyone.clone());
        let all: Vec<String> = everyone.iter().map(|u| format!("@{}", u.name)).collect();
        let named = people.named(&all.join(" "), |_| false);
        assert_eq!(named.len(), MAX_MENTIONED);
        assert_eq!(named[0].name, "p0", "the first ones named, in order");
        // Many people by one name: still the cap.
        let twins = People::from((0..100).map(|i| user(&format!("t{i}"), "Sam")).collect());
        assert_eq!(twins.named("@sam", |_| false).len(), MAX_MENTIONED);
    }

    #[test]
    fn a_name_is_looked_for_only_as_far_as_known_names_go() {
        // Names that share their starts, and text that keeps going: still whole names only.
        let people = People::from(vec![user("u1", "a"), user("u2", "aa"), user("u3", "a a")]);
        assert_eq!(ids(people.named("@a a a", |_| false)), ["u3"], "the longest whole name");
        assert_eq!(ids(people.named(&"@aa".repeat(600), |_| false)), ["u2"], "an @ after a word is no mention");
        assert_eq!(ids(people.named(&"@aa @a ".repeat(250), |_| false)), ["u2", "u1"]);
        assert!(people.named(&"@".repeat(2_000), |_| false).is_empty());
        // Only so many `@`s are looked at: a name after them names nobody.
        let late = format!("{}@aa", "@b ".repeat(MAX_MENTION_TRIES));
        assert!(people.named(&late, |_| false).is_empty());
        assert_eq!(ids(people.named(&format!("{}@aa", "@b ".repeat(MAX_MENTION_TRIES - 1)), |_| false)), ["u2"]);
    }
}
