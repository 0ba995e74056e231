//! Whom an `@name` names. The store keeps everyone who has chosen a name, by their
//! latest one, with an index by name as mentions match it (ASCII case folded); each
//! post asks it for just the names its text could spell. In memory are only the people
//! heard of lately: those who said hello here (written to the store with the next read
//! positions, and until then known from here only) and those seen in a room through
//! another node (that node writes them), so a new name names someone at once and an old
//! one no longer does, whatever the store has read so far.
//!
//! An `@name` names whoever in the room has that name; if nobody there does, everyone
//! known by it, wherever they are: so a mention reaches a person in another room, or not
//! connected at all, as an unread mention and a notification. An account's handle names
//! that account alone (`by_handle`).

use palaver_protocol::{is_word, User, UserId, MAX_NAME_CHARS};
use std::collections::{HashMap, HashSet};
use std::time::{Duration, Instant};

/// The most people one message can name: past them, further `@name`s name nobody; also
/// the most people one name is looked up for.
pub const MAX_MENTIONED: usize = 32;
/// The most `@`s of one message looked at: past them, the rest of the text names nobody,
/// so a text of nothing but `@`s costs a few lookups.
pub const MAX_MENTION_TRIES: usize = 4 * MAX_MENTIONED;
/// The most names one message asks the store for (each `@` asks for every whole-word
/// start of what follows it, up to [`MAX_NAME_CHARS`] and the next `@name`, shortest
/// first): past them, longer names name nobody, so one post costs at most this many
/// index lookups.
pub const MAX_LOOKUPS: usize = 64;
/// How long someone heard of is kept in memory once the store has them.
const FRESH_FOR: Duration = Duration::from_secs(600);

/// A name as `@name`s match it: ASCII letters in either case are the same.
fn folded(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// What one text's `@`s could name: the names to look up, and for each `@` the byte
/// ranges of text after it that would be a whole name.
pub(super) struct Asked {
    /// Each `@` looked at: where its name starts, and the ends of the whole-word
    /// stretches after it, shortest first, each with its place in `names`.
    ats: Vec<(usize, Vec<(usize, usize)>)>,
    /// Every name to look up, folded, once each.
    pub(super) names: Vec<String>,
}

impl Asked {
    /// One pass over the text (at most [`MAX_NAME_CHARS`] characters after each of the
    /// first [`MAX_MENTION_TRIES`] `@`s that start a word); then the names to ask for,
    /// shortest first, each `@` in turn, so every `@`'s first word is asked for before
    /// any `@`'s longer names.
    pub(super) fn new(text: &str) -> Asked {
        let mut spans: Vec<(usize, Vec<usize>)> = Vec::new();
        let mut word_before = false;
        for (at, c) in text.char_indices() {
            let mention = c == '@' && !word_before;
            word_before = is_word(c);
            if !mention {
                continue;
            }
            if spans.len() == MAX_MENTION_TRIES {
                break;
            }
            spans.push((at + 1, name_ends(&text[at + 1..]).into_iter().map(|end| at + 1 + end).collect()));
        }
        let mut asked = Asked { ats: spans.iter().map(|(start, _)| (*start, Vec::new())).collect(), names: Vec::new() };
        let mut places: HashMap<String, usize> = HashMap::new();
        let deepest = spans.iter().map(|(_, ends)| ends.len()).max().unwrap_or(0);
        'asking: for depth in 0..deepest {
            for (n, (start, ends)) in spans.iter().enumerate() {
                let Some(&end) = ends.get(depth) else { continue };
                let name = folded(&text[*start..end]);
                let place = match places.get(&name) {
                    Some(&place) => place,
                    None if asked.names.len() < MAX_LOOKUPS => {
                        places.insert(name.clone(), asked.names.len());
                        asked.names.push(name);
                        asked.names.len() - 1
                    }
                    None => break 'asking,
                };
                asked.ats[n].1.push((end, place));
            }
        }
        asked
    }

    pub(super) fn is_empty(&self) -> bool {
        self.names.is_empty()
    }

    /// Who has each name that the text's `@name`s spell, in order, for [`choose`]: for
    /// each `@`, the longest whole name that `known` (by place in `names`) has anyone
    /// by; at most [`MAX_MENTIONED`] names.
    pub(super) fn mentioned(&self, known: &[Vec<User>]) -> Vec<Vec<User>> {
        let mut named: Vec<usize> = Vec::new();
        let mut groups = Vec::new();
        let mut skip_to = 0;
        for (start, ends) in &self.ats {
            if *start <= skip_to {
                continue;
            }
            let Some(&(end, place)) = ends.iter().rev().find(|(_, place)| !known[*place].is_empty()) else {
                continue;
            };
            skip_to = end;
            if named.contains(&place) {
                continue;
            }
            if named.len() == MAX_MENTIONED {
                break;
            }
            named.push(place);
            // Whole: [`choose`] keeps those in the room before it takes the most it may.
            groups.push(known[place].clone());
        }
        groups
    }
}

/// Where a name could end in the text after an `@` (byte offsets): after a character
/// other than a space (names are trimmed) that ends a word, within [`MAX_NAME_CHARS`]
/// characters, and short of the next `@` that starts a word (the next mention).
fn name_ends(rest: &str) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut after_word = false;
    for (i, c) in rest.char_indices().take(MAX_NAME_CHARS) {
        if (c.is_whitespace() && i == 0) || (c == '@' && !after_word) {
            break;
        }
        after_word = is_word(c);
        let end = i + c.len_utf8();
        let whole = rest[end..].chars().next().is_none_or(|next| !is_word(next));
        if whole && !c.is_whitespace() {
            ends.push(end);
        }
    }
    ends
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

/// Who goes by each name, with a name that is an account's handle naming that account
/// alone: `@handle` reaches exactly one person, whoever else has it as a display name.
pub(super) fn by_handle(mut known: Vec<Vec<User>>, names: &[String], handles: Vec<(String, User)>) -> Vec<Vec<User>> {
    for (handle, user) in handles {
        if let Some(place) = names.iter().position(|n| *n == handle) {
            known[place] = vec![user];
        }
    }
    known
}

/// Someone heard of lately, by the name they go by now.
struct Fresh {
    name: String,
    /// Whether the store has this name (or another node writes it).
    saved: bool,
    heard: Instant,
}

/// The people heard of lately (see the top of this file).
pub(super) struct People {
    fresh: HashMap<UserId, Fresh>,
    /// The same people by folded name.
    by_name: HashMap<String, Vec<UserId>>,
    pruned: Instant,
}

impl Default for People {
    fn default() -> People {
        People { fresh: HashMap::new(), by_name: HashMap::new(), pruned: Instant::now() }
    }
}

impl People {
    /// Someone seen through another node, which keeps their name in the store.
    pub(super) fn seen(&mut self, user: &User) {
        self.heard(user, true);
    }

    /// Someone who said hello on this node: true if their name is news here, to be
    /// written to the store.
    pub(super) fn remember(&mut self, user: &User) -> bool {
        self.heard(user, false)
    }

    fn heard(&mut self, user: &User, saved: bool) -> bool {
        let now = Instant::now();
        if now.duration_since(self.pruned) > FRESH_FOR / 4 {
            self.prune(now);
        }
        if let Some(known) = self.fresh.get_mut(&user.id).filter(|f| f.name == user.name) {
            known.heard = now;
            return false;
        }
        self.forget(&user.id);
        self.by_name.entry(folded(&user.name)).or_default().push(user.id.clone());
        self.fresh.insert(user.id.clone(), Fresh { name: user.name.clone(), saved, heard: now });
        true
    }

    fn forget(&mut self, id: &UserId) {
        let Some(old) = self.fresh.remove(id) else { return };
        let key = folded(&old.name);
        if let Some(ids) = self.by_name.get_mut(&key) {
            ids.retain(|known| known != id);
            if ids.is_empty() {
                self.by_name.remove(&key);
            }
        }
    }

    /// Lets go of those the store has had for a while.
    fn prune(&mut self, now: Instant) {
        self.pruned = now;
        let old: Vec<UserId> = self
            .fresh
            .iter()
            .filter(|(_, f)| f.saved && now.duration_since(f.heard) > FRESH_FOR)
            .map(|(id, _)| id.clone())
            .collect();
        for id in old {
            self.forget(&id);
        }
    }

    /// Names not yet written to the store.
    pub(super) fn unsaved(&self) -> Vec<User> {
        let unsaved = self.fresh.iter().filter(|(_, f)| !f.saved);
        unsaved.map(|(id, f)| User { id: id.clone(), name: f.name.clone(), handle: None }).collect()
    }

    /// These names are in the store now (unless changed meanwhile).
    pub(super) fn saved(&mut self, people: &[User]) {
        for user in people {
            if let Some(f) = self.fresh.get_mut(&user.id).filter(|f| f.name == user.name) {
                f.saved = true;
            }
        }
    }

    /// Who goes by each of `names` (folded), from what the store answered for them
    /// (`stored`) and who was heard of here: a person heard of by another name since
    /// is no longer known by the stored one.
    pub(super) fn known(&self, names: &[String], stored: Vec<User>) -> Vec<Vec<User>> {
        let places: HashMap<&str, usize> = names.iter().enumerate().map(|(i, n)| (n.as_str(), i)).collect();
        let mut known = vec![Vec::new(); names.len()];
        let mut listed = HashSet::new();
        for (i, name) in names.iter().enumerate() {
            for id in self.by_name.get(name).into_iter().flatten() {
                if let Some(f) = self.fresh.get(id) {
                    listed.insert(id.clone());
                    known[i].push(User { id: id.clone(), name: f.name.clone(), handle: None });
                }
            }
        }
        for user in stored {
            let Some(&place) = places.get(folded(&user.name).as_str()) else { continue };
            let renamed = self.fresh.get(&user.id).is_some_and(|f| f.name != user.name);
            if !renamed && listed.insert(user.id.clone()) {
                known[place].push(user);
            }
        }
        for people in &mut known {
            people.sort_by(|a, b| a.id.cmp(&b.id));
        }
        known
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(id: &str, name: &str) -> User {
        User { id: UserId(id.into()), name: name.into(), handle: None }
    }

    /// Whom `text` names, with `stored` in the store (asked as the store is: by folded
    /// name) and `people` heard of here.
    fn named(people: &People, stored: &[User], text: &str, here: impl Fn(&UserId) -> bool) -> Vec<String> {
        let asked = Asked::new(text);
        let answer = stored.iter().filter(|u| asked.names.contains(&folded(&u.name))).cloned().collect();
        let known = people.known(&asked.names, answer);
        choose(asked.mentioned(&known), here).into_iter().map(|u| u.id.0).collect()
    }

    #[test]
    fn a_handle_names_its_account_alone_whoever_else_has_it_as_a_name() {
        let stored = [user("u1", "Ann"), user("u2", "ann")];
        let asked = Asked::new("hey @ann, and @ann lee");
        let known = People::default().known(&asked.names, stored.to_vec());
        let known = by_handle(known, &asked.names, vec![("ann".into(), user("u7", "Annie Lee"))]);
        let ids: Vec<String> = choose(asked.mentioned(&known), |id| id.0 == "u1").into_iter().map(|u| u.id.0).collect();
        assert_eq!(ids, ["u7"], "the Ann in the room is not the handle's owner");
    }

    #[test]
    fn a_name_names_whoever_has_it_in_the_room_else_everyone_known_by_it() {
        let stored = [user("u1", "Ann"), user("u2", "ann"), user("u3", "Ann Lee"), user("u4", "민준")];
        let mut people = People::default();
        people.seen(&user("u5", "Bob"));
        let in_room = ["u2", "u5"];
        let here = |id: &UserId| in_room.contains(&id.0.as_str());
        let nobody = |_: &UserId| false;
        // In the room: only the Ann here, though another Ann is known.
        assert_eq!(named(&people, &stored, "hi @ANN!", here), ["u2"]);
        // The longest name wins; nobody called "Ann Lee" is here, so the one known is named.
        assert_eq!(named(&people, &stored, "@ann lee see this", here), ["u3"]);
        // Not here at all: everyone known by it, each once; names in other scripts too,
        // and people only heard of here.
        assert_eq!(named(&people, &stored, "@민준 and @Bob and @민준", nobody), ["u4", "u5"]);
        assert_eq!(named(&people, &stored, "@bob", here), ["u5"]);
        assert_eq!(named(&people, &stored, "@Ann", nobody), ["u1", "u2"]);
        assert!(named(&people, &stored, "mail me at x@ann.org, or @nobody", here).is_empty());
        // A new name said here: known by it from now on, and no longer by the old one,
        // though the store has not heard of it yet.
        assert!(people.remember(&user("u3", "Lee")));
        assert!(!people.remember(&user("u3", "Lee")), "nothing new to write");
        assert_eq!(named(&people, &stored, "@Lee", nobody), ["u3"]);
        assert_eq!(named(&people, &stored, "@Ann Lee", nobody), ["u1", "u2"], "now it is only Ann's");
        assert_eq!(people.unsaved(), [user("u3", "Lee")]);
        people.saved(&[user("u3", "Lee")]);
        assert_eq!(people.unsaved(), []);
        assert!(!people.remember(&user("u3", "Lee")), "still known here");
    }

    #[test]
    fn one_message_names_at_most_so_many_people() {
        let everyone: Vec<User> = (0..200).map(|i| user(&format!("u{i:03}"), &format!("p{i}"))).collect();
        let all: Vec<String> = everyone.iter().map(|u| format!("@{}", u.name)).collect();
        let named = named(&People::default(), &everyone, &all.join(" "), |_| false);
        assert_eq!(named.len(), MAX_MENTIONED);
        assert_eq!(named[0], "u000", "the first ones named, in order");
        // Many people by one name: still the cap.
        let twins: Vec<User> = (0..100).map(|i| user(&format!("t{i:03}"), "Sam")).collect();
        assert_eq!(super::tests::named(&People::default(), &twins, "@sam", |_| false).len(), MAX_MENTIONED);
        // And the Sam in the room is the one named, wherever the others' ids sort.
        let here = |id: &UserId| id.0 == "t099";
        assert_eq!(super::tests::named(&People::default(), &twins, "@sam", here), ["t099"]);
    }

    #[test]
    fn a_text_asks_for_its_whole_words_after_each_at_and_no_more() {
        let asked = Asked::new("@Ann Lee, hi @ann, x@y.z");
        assert_eq!(
            asked.names,
            ["ann", "ann lee", "ann,", "ann lee,", "ann, x", "ann lee, hi", "ann, x@y", "ann, x@y.z"]
        );
        assert!(Asked::new("@ x@y").is_empty(), "no name starts with a space, nor after a word");
        // Names that share their starts, and text that keeps going: still whole names only.
        let stored = [user("u1", "a"), user("u2", "aa"), user("u3", "a a")];
        let people = People::default();
        assert_eq!(named(&people, &stored, "@a a a", |_| false), ["u3"], "the longest whole name");
        assert_eq!(named(&people, &stored, &"@aa".repeat(600), |_| false), ["u2"], "an @ after a word is no mention");
        assert_eq!(named(&people, &stored, &"@aa @a ".repeat(250), |_| false), ["u2", "u1"]);
        assert!(named(&people, &stored, &"@".repeat(2_000), |_| false).is_empty());
        // Only so many `@`s are looked at: a name after them names nobody.
        let late = format!("{}@aa", "@b ".repeat(MAX_MENTION_TRIES));
        assert!(named(&people, &stored, &late, |_| false).is_empty());
        assert_eq!(named(&people, &stored, &format!("{}@aa", "@b ".repeat(MAX_MENTION_TRIES - 1)), |_| false), ["u2"]);
        // However the text is made, one message asks for so many names at most.
        let dots: String =
            (0..2_000).map(|i| if i % 2 == 0 { '@' } else { char::from(b'a' + (i % 26) as u8) }).collect();
        for text in [dots, "@a.b.c.d.e.f.g.h.i.j.k.l.m.n.o.p.q ".repeat(100), "@x".repeat(1_000)] {
            assert!(Asked::new(&text).names.len() <= MAX_LOOKUPS);
        }
        let spread: String = (0..MAX_LOOKUPS).map(|i| format!("@n{i}.{i} ")).collect();
        assert_eq!(Asked::new(&spread).names.len(), MAX_LOOKUPS);
        let stored = [user("u0", "n0"), user("u1", "n1.1"), user("late", &format!("n{}", MAX_LOOKUPS))];
        assert_eq!(named(&people, &stored, &spread, |_| false), ["u0"], "past the lookups, nobody");
        // First words first: past the lookups, each `@` still asked for its first word.
        let few: String = (0..MAX_LOOKUPS / 2).map(|i| format!("@n{i}.{i}.{i}.{i} ")).collect();
        assert_eq!(named(&people, &stored, &few, |_| false), ["u0", "u1"]);
    }

    #[test]
    fn people_heard_of_lately_are_kept_until_the_store_has_had_them_a_while() {
        let mut people = People::default();
        people.remember(&user("u1", "Ann"));
        people.seen(&user("u2", "Bob"));
        // Long ago, as far as the memory knows.
        let long_ago = Instant::now() - 2 * FRESH_FOR;
        for f in people.fresh.values_mut() {
            f.heard = long_ago;
        }
        people.pruned = long_ago;
        people.seen(&user("u3", "Cat"));
        assert!(!people.fresh.contains_key(&UserId("u2".into())), "the store has Bob: let go");
        assert!(people.fresh.contains_key(&UserId("u1".into())), "Ann is not written yet: kept");
        assert_eq!(people.by_name.keys().count(), 2);
        assert_eq!(named(&people, &[], "@ann @cat", |_| false), ["u1", "u3"]);
    }
}
