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

use palaver_protocol::{has_control, ErrorReason, FrameError, MAX_QUERY_CHARS};
use std::collections::HashSet;
use unicode_normalization::UnicodeNormalization;

/// The most distinct words one query may look for: each is a term of the index's query
/// and a pass over every found message's text.
pub const MAX_QUERY_TERMS: usize = 16;

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

/// What a query asks for: at most [`MAX_QUERY_CHARS`] characters with no control
/// characters, at least one word, each word once, at most [`MAX_QUERY_TERMS`] of them.
pub fn query(text: &str) -> Result<Query, FrameError> {
    let refuse = |detail: String| Err(FrameError::new(ErrorReason::BadQuery, detail));
    let text = text.trim_start();
    if text.trim_end().chars().count() > MAX_QUERY_CHARS {
        return refuse(format!("a search query has at most {MAX_QUERY_CHARS} characters"));
    }
    if has_control(text, &[]) {
        return refuse("a search query cannot contain control characters".to_owned());
    }
    let words_typed = words(&fold(text).0);
    let still_typing = !text.ends_with(char::is_whitespace);
    let last = words_typed.len().checked_sub(1);
    let mut query = Query { words: Vec::new(), prefixes: Vec::new() };
    let mut seen = HashSet::new();
    for (i, word) in words_typed.into_iter().enumerate() {
        let (terms, prefix) = match word {
            // One syllable is the start of a word (of its pairs).
            Word::Hangul(run) if run.chars().count() == 1 => (vec![run], true),
            Word::Hangul(run) => (pairs(&run), false),
            Word::Other(w) => (vec![w], still_typing && Some(i) == last),
        };
        for term in terms {
            // A word asked for whole already has every start of it.
            if !seen.insert(term.clone()) {
                continue;
            }
            if seen.len() > MAX_QUERY_TERMS {
                return refuse(format!("a search looks for at most {MAX_QUERY_TERMS} different words"));
            }
            if prefix {
                query.prefixes.push(term)
            } else {
                query.words.push(term)
            }
        }
    }
    if query.words.is_empty() && query.prefixes.is_empty() {
        return refuse("the query has no word to look for".to_owned());
    }
    Ok(query)
}

/// Where a text matches a query: ranges of characters (start, end), in order, merged.
/// A word matches a whole word of the text, a prefix the start of one (marked to its
/// end); a pair of syllables anywhere in a run of Hangul, one syllable too. One pass over
/// the text's words, each looked up once: linear in the text for any query.
pub fn marks(text: &str, query: &Query) -> Vec<[u32; 2]> {
    let (folded, origin) = fold(text);
    let words: Vec<Vec<char>> = query.words.iter().map(|w| w.chars().collect()).collect();
    let whole: HashSet<&[char]> = words.iter().map(Vec::as_slice).collect();
    let prefixes: Vec<Vec<char>> = query.prefixes.iter().map(|p| p.chars().collect()).collect();
    let mut merged: Vec<[u32; 2]> = Vec::new();
    let mut mark = |start: usize, end: usize| {
        // Back to the text's own characters.
        let (start, end) = (origin[start] as u32, origin[end - 1] as u32 + 1);
        match merged.last_mut() {
            Some(last) if start <= last[1] => last[1] = last[1].max(end),
            _ => merged.push([start, end]),
        }
    };
    let mut i = 0;
    while i < folded.len() {
        if !folded[i].is_alphanumeric() {
            i += 1;
            continue;
        }
        let hangul = is_hangul(folded[i]);
        let mut end = i;
        while end < folded.len() && folded[end].is_alphanumeric() && is_hangul(folded[end]) == hangul {
            end += 1;
        }
        let word = &folded[i..end];
        if !hangul {
            if whole.contains(word) || prefixes.iter().any(|p| word.starts_with(p)) {
                mark(i, end);
            }
        } else {
            for k in i..end {
                let single = prefixes.iter().any(|p| p.len() == 1 && p[0] == folded[k]);
                let pair = k + 1 < end && whole.contains(&folded[k..k + 2]);
                match (pair, single) {
                    (true, _) => mark(k, k + 2),
                    (false, true) => mark(k, k + 1),
                    _ => {}
                }
            }
        }
        i = end;
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
        assert_eq!(query("Hello wor"), Ok(Query { words: vec!["hello".into()], prefixes: vec!["wor".into()] }));
        assert_eq!(query("hello world "), Ok(Query { words: vec!["hello".into(), "world".into()], prefixes: vec![] }));
        // Operators and quotes are just text: only the words are looked for.
        assert_eq!(query("\"a\" AND b* OR NOT (c)").unwrap().words, ["a", "and", "b", "or", "not"]);
        assert_eq!(query("   ").unwrap_err().reason, ErrorReason::BadQuery);
        assert_eq!(query("*** \" -").unwrap_err().reason, ErrorReason::BadQuery);
    }

    #[test]
    fn a_query_has_each_word_once_and_few_of_them() {
        // Repeats anywhere in the query count once (not only next to each other).
        let q = query(&"alpha beta ".repeat(MAX_QUERY_CHARS / 11)).unwrap();
        assert_eq!((q.words.len() + q.prefixes.len()), 2, "{q:?}");
        assert_eq!(query(&"alpha beta ".repeat(3_000)).unwrap_err().reason, ErrorReason::BadQuery);
        assert_eq!(query("b a b a b ").unwrap().words, ["b", "a"]);
        assert_eq!(query("b a b a b").unwrap(), Query { words: vec!["b".into(), "a".into()], prefixes: vec![] });
        let many: Vec<String> = (0..=MAX_QUERY_TERMS).map(|i| format!("w{i}")).collect();
        let err = query(&many.join(" ")).unwrap_err();
        assert_eq!(err.reason, ErrorReason::BadQuery);
        assert!(err.detail.contains("at most"), "{}", err.detail);
        assert!(query(&many[..MAX_QUERY_TERMS].join(" ")).is_ok());
        // The same limits as the socket's: length and control characters.
        assert_eq!(query(&"a".repeat(MAX_QUERY_CHARS + 1)).unwrap_err().reason, ErrorReason::BadQuery);
        assert!(query(&format!("{} ", "a".repeat(MAX_QUERY_CHARS))).is_ok());
        assert_eq!(query("a\u{0}b").unwrap_err().reason, ErrorReason::BadQuery);
    }

    #[test]
    fn every_match_of_a_long_text_is_marked_once() {
        // Every word of a long text matches: each is still looked at once.
        let text = "ab ".repeat(600) + &"회의".repeat(300);
        let q = query("ab 회의 a b c d e f g h i j k l m n").unwrap();
        let marks = marks(&text, &q);
        assert_eq!(marks.len(), 601, "each word its mark, the Hangul run one");
        assert_eq!(marks[600], [1800, 2400]);
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
