//! Words for the search index, the same for every backend: what a message is indexed
//! under, what a query asks for, and where a found message's text matches it.
//!
//! Text is folded first (compatibility decomposition, combining marks dropped, lower
//! case), so `Café` is found by `cafe` and `CAFE`. Then it is cut into words at anything
//! that is not a letter or a digit. Korean is written without spaces between a word and
//! its particles (`회의는`, "the meeting" + topic marker), so a run of Hangul is indexed
//! as its overlapping pairs of syllables (`회의`, `의는`): a query is cut the same way,
//! and `회의` finds `회의는` because all of its pairs are there. The backends index these
//! words as they are (SQLite's FTS5, PostgreSQL's `tsvector`), so both find the same
//! messages for the same query.

use crate::store::Store;
use app::protocol::{ErrorReason, FrameError, SearchHit, SEARCH_PAGE};
use unicode_normalization::UnicodeNormalization;

/// A page of the messages found for a query as typed, newest first, their matches
/// marked; and where the next page starts, if there is more.
pub async fn find(
    store: &dyn Store,
    text: &str,
    before: Option<u64>,
) -> Result<(Vec<SearchHit>, Option<u64>), FrameError> {
    let Some(query) = query(text) else {
        return Err(FrameError::new(ErrorReason::BadQuery, "the query has no word to look for"));
    };
    let mut found = store.search(&query, before, SEARCH_PAGE + 1).await.map_err(crate::chat::unavailable)?;
    let next = (found.len() > SEARCH_PAGE).then(|| found[SEARCH_PAGE - 1].position);
    found.truncate(SEARCH_PAGE);
    let hits =
        found.into_iter().map(|f| SearchHit { marks: marks(&f.message.text, &query), message: f.message }).collect();
    Ok((hits, next))
}

/// A query's words: each must be in a message; the last one, still being typed, may be
/// the start of a word.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub words: Vec<String>,
    /// Matched as the start of a word.
    pub prefixes: Vec<String>,
}

fn is_hangul(c: char) -> bool {
    matches!(c, '\u{AC00}'..='\u{D7A3}' | '\u{1100}'..='\u{11FF}' | '\u{3130}'..='\u{318F}')
}

/// The text folded: compatibility forms decomposed, combining marks dropped, lower case;
/// with, for each folded character, the index of the character it came from.
fn fold(text: &str) -> (Vec<char>, Vec<usize>) {
    let (mut folded, mut origin) = (Vec::with_capacity(text.len()), Vec::with_capacity(text.len()));
    for (i, c) in text.chars().enumerate() {
        // Most text is ASCII: nothing to decompose.
        if c.is_ascii() {
            folded.push(c.to_ascii_lowercase());
            origin.push(i);
            continue;
        }
        if is_hangul(c) {
            // Hangul syllables decompose into letters (jamo): keep them whole.
            folded.push(c);
            origin.push(i);
            continue;
        }
        for d in std::iter::once(c).nfkd().filter(|d| !unicode_normalization::char::is_combining_mark(*d)) {
            for l in d.to_lowercase() {
                folded.push(l);
                origin.push(i);
            }
        }
    }
    (folded, origin)
}

/// One word of folded text: a run of Hangul, or a run of other letters and digits.
#[derive(Debug, PartialEq, Eq)]
enum Word {
    Hangul(String),
    Other(String),
}

fn words(folded: &[char]) -> Vec<Word> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut hangul = false;
    let flush = |current: &mut String, hangul: bool, out: &mut Vec<Word>| {
        if !current.is_empty() {
            let word = std::mem::take(current);
            out.push(if hangul { Word::Hangul(word) } else { Word::Other(word) });
        }
    };
    for &c in folded {
        if !c.is_alphanumeric() {
            flush(&mut current, hangul, &mut out);
            continue;
        }
        if is_hangul(c) != hangul {
            flush(&mut current, hangul, &mut out);
            hangul = is_hangul(c);
        }
        current.push(c);
    }
    flush(&mut current, hangul, &mut out);
    out
}

/// A Hangul run's overlapping pairs of syllables (one syllable stays itself).
fn pairs(run: &str) -> Vec<String> {
    let chars: Vec<char> = run.chars().collect();
    if chars.len() < 2 {
        return vec![run.to_owned()];
    }
    chars.windows(2).map(|w| w.iter().collect()).collect()
}

/// The words a message's text is indexed under, each once.
pub fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for word in words(&fold(text).0) {
        let new = match word {
            Word::Hangul(run) => pairs(&run),
            Word::Other(w) => vec![w],
        };
        for t in new {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

/// What a query asks for, or `None` when it has no word to look for.
pub fn query(text: &str) -> Option<Query> {
    let words_typed = words(&fold(text).0);
    let still_typing = !text.ends_with(char::is_whitespace);
    let last = words_typed.len().checked_sub(1);
    let mut query = Query { words: Vec::new(), prefixes: Vec::new() };
    for (i, word) in words_typed.into_iter().enumerate() {
        match word {
            // One syllable is the start of a word (of its pairs).
            Word::Hangul(run) if run.chars().count() == 1 => query.prefixes.push(run),
            Word::Hangul(run) => query.words.extend(pairs(&run)),
            Word::Other(w) if still_typing && Some(i) == last => query.prefixes.push(w),
            Word::Other(w) => query.words.push(w),
        }
    }
    query.words.dedup();
    (!query.words.is_empty() || !query.prefixes.is_empty()).then_some(query)
}

/// Where a text matches a query: ranges of characters (start, end), in order, merged.
/// A word matches at the start of a word of the text (to its end, for a prefix); a pair
/// of syllables anywhere.
pub fn marks(text: &str, query: &Query) -> Vec<[u32; 2]> {
    let (folded, origin) = fold(text);
    let starts_word = |i: usize| i == 0 || !folded[i - 1].is_alphanumeric();
    let word_end = |mut i: usize| {
        while i < folded.len() && folded[i].is_alphanumeric() && !is_hangul(folded[i]) {
            i += 1;
        }
        i
    };
    let mut found: Vec<(usize, usize)> = Vec::new();
    let terms = query.words.iter().map(|w| (w, false)).chain(query.prefixes.iter().map(|p| (p, true)));
    for (term, prefix) in terms {
        let term: Vec<char> = term.chars().collect();
        let hangul = term.iter().all(|c| is_hangul(*c));
        if term.is_empty() || term.len() > folded.len() {
            continue;
        }
        for i in 0..=folded.len() - term.len() {
            if folded[i..i + term.len()] != term[..] || !(hangul || starts_word(i)) {
                continue;
            }
            let end = i + term.len();
            let whole = end == folded.len() || !folded[end].is_alphanumeric() || is_hangul(folded[end]) != hangul;
            match (hangul, prefix) {
                (true, _) => found.push((i, end)),
                (false, true) => found.push((i, word_end(end))),
                (false, false) if whole => found.push((i, end)),
                _ => {}
            }
        }
    }
    found.sort_unstable();
    let mut merged: Vec<[u32; 2]> = Vec::new();
    for (start, end) in found {
        // Back to the text's own characters.
        let (start, end) = (origin[start] as u32, origin[end - 1] as u32 + 1);
        match merged.last_mut() {
            Some(last) if start <= last[1] => last[1] = last[1].max(end),
            _ => merged.push([start, end]),
        }
    }
    merged
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(text: &str, q: &str) -> Vec<String> {
        let chars: Vec<char> = text.chars().collect();
        marks(text, &query(q).unwrap()).iter().map(|[s, e]| chars[*s as usize..*e as usize].iter().collect()).collect()
    }

    #[test]
    fn text_is_folded_and_cut_into_words() {
        assert_eq!(tokens("Café au LAIT, s'il vous plaît!"), ["cafe", "au", "lait", "s", "il", "vous", "plait"]);
        assert_eq!(tokens("ﬁne ＡＢＣ ß"), ["fine", "abc", "ß"]);
        assert_eq!(tokens("x = <script>alert(1)</script> x"), ["x", "script", "alert", "1"]);
        assert_eq!(tokens(""), Vec::<String>::new());
    }

    #[test]
    fn korean_is_indexed_by_pairs_of_syllables() {
        assert_eq!(tokens("회의는 3시에"), ["회의", "의는", "3", "시에"]);
        assert_eq!(tokens("집"), ["집"]);
        assert_eq!(tokens("abc회의"), ["abc", "회의"]);
        let q = query("회의").unwrap();
        assert_eq!(q.words, ["회의"]);
        let written = tokens("내일 회의는 취소");
        assert!(q.words.iter().all(|w| written.contains(w)), "회의 finds 회의는");
        assert_eq!(query("회").unwrap().prefixes, ["회"], "one syllable: the start of a pair");
        assert_eq!(query("회의는").unwrap().words, ["회의", "의는"]);
    }

    #[test]
    fn a_query_is_words_and_the_last_one_is_being_typed() {
        assert_eq!(query("Hello wor"), Some(Query { words: vec!["hello".into()], prefixes: vec!["wor".into()] }));
        assert_eq!(
            query("hello world "),
            Some(Query { words: vec!["hello".into(), "world".into()], prefixes: vec![] })
        );
        // Operators and quotes are just text: only the words are looked for.
        assert_eq!(query("\"a\" AND b* OR NOT (c)").unwrap().words, ["a", "and", "b", "or", "not"]);
        assert_eq!(query("   "), None);
        assert_eq!(query("*** \" -"), None);
    }

    #[test]
    fn matches_are_marked_in_the_texts_own_characters() {
        assert_eq!(marked("Le Café est ouvert", "cafe "), ["Café"]);
        assert_eq!(marked("hello help helicopter", "hel"), ["hello", "help", "helicopter"]);
        assert_eq!(marked("shell hello", "hello "), ["hello"], "words match whole, at a word's start");
        assert_eq!(marked("내일 회의는 취소", "회의는 "), ["회의는"]);
        assert_eq!(marked("내일 회의는 취소", "회의 "), ["회의"]);
        assert_eq!(marked("ﬁne", "fine "), ["ﬁne"]);
        assert_eq!(marked("nothing here", "other "), Vec::<String>::new());
    }
}
