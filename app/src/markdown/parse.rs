//! The parser of the Markdown subset a message may use: the text into [`Node`]s, linear
//! in the text and nested at most [`MAX_DEPTH`] deep.

/// Blocks and spans nested deeper than this are shown flat, as their contents: the HTML
/// is written recursively, and a message of a thousand `>` must not exhaust the stack.
pub const MAX_DEPTH: usize = 12;

/// A piece of a formatted message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    Text(String),
    /// Inline code.
    Code(String),
    Emphasis(Vec<Node>),
    Strong(Vec<Node>),
    /// A link to an http, https or mailto address.
    Link {
        href: String,
        children: Vec<Node>,
    },
    Paragraph(Vec<Node>),
    /// A fenced block: shown as it is, in monospace.
    CodeBlock(String),
    Quote(Vec<Node>),
    /// `start` is the first number of a numbered list.
    List {
        start: Option<u64>,
        items: Vec<Vec<Node>>,
    },
    LineBreak,
    /// `@name`, naming someone in the room (as written).
    Mention(String),
}

/// Whether a link target may become a link.
fn allowed(href: &str) -> bool {
    let lower = href.trim_start().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://") || lower.starts_with("mailto:")
}

/// Parses a message into nodes.
pub fn parse(text: &str) -> Vec<Node> {
    let lines: Vec<&str> = text.lines().collect();
    blocks(&lines, 0)
}

/// How many backticks open a fenced block on this line, if it is a fence.
fn fence(line: &str) -> Option<usize> {
    let trimmed = line.trim_start();
    let ticks = trimmed.chars().take_while(|c| *c == '`').count();
    (ticks >= 3 && line.len() - trimmed.len() < 4).then_some(ticks)
}

/// A list item: the rest of its line, and the first number of a numbered list.
fn list_item(line: &str) -> Option<(&str, Option<u64>)> {
    let trimmed = line.trim_start();
    if line.len() - trimmed.len() > 3 {
        return None;
    }
    for bullet in ["- ", "* ", "+ "] {
        if let Some(rest) = trimmed.strip_prefix(bullet) {
            return Some((rest, None));
        }
    }
    let digits = trimmed.chars().take_while(char::is_ascii_digit).count();
    let rest = &trimmed[digits..];
    if (1..=9).contains(&digits) && (rest.starts_with(". ") || rest.starts_with(") ")) {
        return Some((&rest[2..], trimmed[..digits].parse().ok()));
    }
    None
}

/// A quote's line without its `>`.
fn quoted(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix('>')?;
    Some(rest.strip_prefix(' ').unwrap_or(rest))
}

/// Whether a line starts a block other than a paragraph.
fn starts_block(line: &str) -> bool {
    line.trim().is_empty() || fence(line).is_some() || quoted(line).is_some() || list_item(line).is_some()
}

/// The blocks of some lines: code, quotes, lists and paragraphs.
fn blocks(lines: &[&str], depth: usize) -> Vec<Node> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i];
        if line.trim().is_empty() {
            i += 1;
        } else if let Some(ticks) = fence(line) {
            // Up to a fence at least as long with nothing else on its line, or the end.
            let closes = |l: &str| fence(l).is_some_and(|t| t >= ticks) && l.trim().chars().all(|c| c == '`');
            let end = (i + 1..lines.len()).find(|&k| closes(lines[k]));
            let body = &lines[i + 1..end.unwrap_or(lines.len())];
            out.push(Node::CodeBlock(body.iter().map(|l| format!("{l}\n")).collect()));
            i = end.map_or(lines.len(), |e| e + 1);
        } else if quoted(line).is_some() && depth < MAX_DEPTH {
            let end = (i..lines.len()).find(|&k| quoted(lines[k]).is_none()).unwrap_or(lines.len());
            let inner: Vec<&str> = lines[i..end].iter().filter_map(|l| quoted(l)).collect();
            out.push(Node::Quote(blocks(&inner, depth + 1)));
            i = end;
        } else if let Some((_, start)) = list_item(line) {
            let mut items = Vec::new();
            // A list of the other kind (numbered after bullets, or bullets after
            // numbers) starts a list of its own.
            let same_kind = |(_, s): &(&str, Option<u64>)| s.is_some() == start.is_some();
            while let Some((first, _)) = lines.get(i).and_then(|l| list_item(l)).filter(same_kind) {
                // Lines indented under an item continue it.
                let mut text = first.to_owned();
                i += 1;
                while let Some(more) = lines.get(i).filter(|l| l.starts_with("  ") && !l.trim().is_empty()) {
                    text.push('\n');
                    text.push_str(more.trim_start());
                    i += 1;
                }
                items.push(inline(&text, depth + 1));
            }
            out.push(Node::List { start, items });
        } else {
            let end = (i + 1..lines.len()).find(|&k| starts_block(lines[k])).unwrap_or(lines.len());
            out.push(Node::Paragraph(inline(&lines[i..end].join("\n"), depth + 1)));
            i = end;
        }
    }
    out
}

/// A piece of a line while its emphasis is matched.
enum Piece {
    /// A node, and how deep its own nesting goes.
    Node(Node, usize),
    /// A run of `*` that may open emphasis: how many are still unmatched.
    Opener(usize),
}

/// Where each character's next `c` is (or the end).
fn next_of(chars: &[char], c: char) -> Vec<usize> {
    let mut next = vec![chars.len(); chars.len() + 1];
    for k in (0..chars.len()).rev() {
        next[k] = if chars[k] == c { k } else { next[k + 1] };
    }
    next
}

/// The spans of a paragraph or list item.
fn inline(text: &str, depth: usize) -> Vec<Node> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let (next_bracket, next_paren, next_angle) = (next_of(&chars, ']'), next_of(&chars, ')'), next_of(&chars, '>'));
    // Backtick runs by length (where each starts, and a cursor), so each code span's
    // closing run is found by moving a cursor forward, never by searching again. Sorted
    // by length: a text of n characters has fewer than √(2n) lengths of run.
    let mut runs: Vec<(usize, Vec<usize>, usize)> = Vec::new();
    let run_of = |runs: &mut Vec<(usize, Vec<usize>, usize)>, len: usize| {
        runs.binary_search_by_key(&len, |r| r.0).unwrap_or_else(|at| {
            runs.insert(at, (len, Vec::new(), 0));
            at
        })
    };
    let mut k = 0;
    while k < n {
        let len = chars[k..].iter().take_while(|c| **c == '`').count();
        if len > 0 {
            let at = run_of(&mut runs, len);
            runs[at].1.push(k);
        }
        k += len.max(1);
    }

    let mut pieces: Vec<Piece> = Vec::new();
    let mut openers: Vec<usize> = Vec::new();
    let mut plain = String::new();
    let flush = |plain: &mut String, pieces: &mut Vec<Piece>| {
        if !plain.is_empty() {
            let mut nodes = Vec::new();
            linkify(plain, &mut nodes);
            pieces.extend(nodes.into_iter().map(|node| Piece::Node(node, 1)));
            plain.clear();
        }
    };
    let mut i = 0;
    while i < n {
        match chars[i] {
            '\\' if i + 1 < n && chars[i + 1].is_ascii_punctuation() => {
                plain.push(chars[i + 1]);
                i += 2;
            }
            '\n' => {
                flush(&mut plain, &mut pieces);
                pieces.push(Piece::Node(Node::LineBreak, 0));
                i += 1;
            }
            '`' => {
                let len = chars[i..].iter().take_while(|c| **c == '`').count();
                let at = run_of(&mut runs, len);
                let (_, positions, cursor) = &mut runs[at];
                while *cursor < positions.len() && positions[*cursor] <= i {
                    *cursor += 1;
                }
                match positions.get(*cursor).copied() {
                    Some(end) => {
                        flush(&mut plain, &mut pieces);
                        let code: String =
                            chars[i + len..end].iter().map(|c| if *c == '\n' { ' ' } else { *c }).collect();
                        let code = match code.strip_prefix(' ').and_then(|c| c.strip_suffix(' ')) {
                            Some(inner) if !inner.trim().is_empty() => inner.to_owned(),
                            _ => code,
                        };
                        pieces.push(Piece::Node(Node::Code(code), 1));
                        i = end + len;
                    }
                    None => {
                        plain.extend(&chars[i..i + len]);
                        i += len;
                    }
                }
            }
            '[' => {
                // `[label](address)`, the label without brackets of its own.
                let close = next_bracket[i + 1];
                let paren = if close + 1 < n && chars[close + 1] == '(' { next_paren[close + 2] } else { n };
                let href: String = if paren < n { chars[close + 2..paren].iter().collect() } else { String::new() };
                let label: String = if close < n { chars[i + 1..close].iter().collect() } else { String::new() };
                if paren < n && !href.is_empty() && !href.contains(char::is_whitespace) && !label.contains('[') {
                    if allowed(&href) && depth < MAX_DEPTH {
                        flush(&mut plain, &mut pieces);
                        let children = inline(&label, depth + 1);
                        pieces.push(Piece::Node(Node::Link { href, children }, 2));
                    } else {
                        // Not an address it may link to: shown as written.
                        plain.extend(&chars[i..=paren]);
                    }
                    i = paren + 1;
                } else {
                    plain.push('[');
                    i += 1;
                }
            }
            '<' => {
                // `<https://…>`: an address in angle brackets.
                let end = next_angle[i + 1];
                let inside: String = if end < n { chars[i + 1..end].iter().collect() } else { String::new() };
                if end < n && allowed(&inside) && !inside.contains(char::is_whitespace) {
                    flush(&mut plain, &mut pieces);
                    let children = vec![Node::Text(inside.clone())];
                    pieces.push(Piece::Node(Node::Link { href: inside, children }, 2));
                    i = end + 1;
                } else {
                    plain.push('<');
                    i += 1;
                }
            }
            '*' => {
                let len = chars[i..].iter().take_while(|c| **c == '*').count();
                let before = if i == 0 { ' ' } else { chars[i - 1] };
                let after = chars.get(i + len).copied().unwrap_or(' ');
                flush(&mut plain, &mut pieces);
                let mut left = len;
                // A run after a non-space closes the nearest opener, as far as it goes.
                while left > 0 && !before.is_whitespace() {
                    let Some(&at) = openers.last() else { break };
                    let Piece::Opener(open) = pieces[at] else { break };
                    let used = if left >= 2 && open >= 2 { 2 } else { 1 };
                    let inner: Vec<Piece> = pieces.drain(at + 1..).collect();
                    if open == used {
                        pieces.pop();
                        openers.pop();
                    } else {
                        pieces[at] = Piece::Opener(open - used);
                    }
                    let inner_depth = inner.iter().map(|p| if let Piece::Node(_, d) = p { *d } else { 0 }).max();
                    let inner_depth = inner_depth.unwrap_or(0);
                    let children =
                        inner.into_iter().filter_map(|p| if let Piece::Node(n, _) = p { Some(n) } else { None });
                    let children = merge_text(children.collect());
                    if depth + inner_depth + 1 >= MAX_DEPTH {
                        // Too deep: the stars stay as text around what they held.
                        let stars = "*".repeat(used);
                        pieces.push(Piece::Node(Node::Text(stars.clone()), 0));
                        pieces.extend(children.into_iter().map(|c| Piece::Node(c, inner_depth)));
                        pieces.push(Piece::Node(Node::Text(stars), 0));
                    } else {
                        let node = if used == 2 { Node::Strong(children) } else { Node::Emphasis(children) };
                        pieces.push(Piece::Node(node, inner_depth + 1));
                    }
                    left -= used;
                }
                if left > 0 {
                    if after.is_whitespace() {
                        pieces.push(Piece::Node(Node::Text("*".repeat(left)), 0));
                    } else {
                        openers.push(pieces.len());
                        pieces.push(Piece::Opener(left));
                    }
                }
                i += len;
            }
            c => {
                plain.push(c);
                i += 1;
            }
        }
    }
    flush(&mut plain, &mut pieces);
    let nodes = pieces.into_iter().map(|p| match p {
        Piece::Node(node, _) => node,
        // Never closed: the stars are text.
        Piece::Opener(count) => Node::Text("*".repeat(count)),
    });
    merge_text(nodes.collect())
}

/// Adjacent text pieces as one.
fn merge_text(nodes: Vec<Node>) -> Vec<Node> {
    let mut out: Vec<Node> = Vec::with_capacity(nodes.len());
    for node in nodes {
        match (out.last_mut(), node) {
            (Some(Node::Text(a)), Node::Text(b)) => a.push_str(&b),
            (_, node) => out.push(node),
        }
    }
    out
}

/// Bare `https://` and `http://` addresses in plain text, as links.
fn linkify(text: &str, out: &mut Vec<Node>) {
    let mut rest = text;
    while let Some(at) = find_url(rest) {
        let (before, from) = rest.split_at(at);
        let end = from.find(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"').unwrap_or(from.len());
        // Trailing punctuation ends a sentence, not the address.
        let url = from[..end].trim_end_matches(['.', ',', ';', ':', '!', '?', ')', '\'']);
        if !before.is_empty() {
            out.push(Node::Text(before.to_owned()));
        }
        if url.len() <= "https://".len() {
            out.push(Node::Text(url.to_owned()));
        } else {
            out.push(Node::Link { href: url.to_owned(), children: vec![Node::Text(url.to_owned())] });
        }
        rest = &from[url.len()..];
    }
    if !rest.is_empty() {
        out.push(Node::Text(rest.to_owned()));
    }
}

fn find_url(text: &str) -> Option<usize> {
    let lower = text.to_ascii_lowercase();
    [lower.find("https://"), lower.find("http://")].into_iter().flatten().min()
}

/// The text of nodes, without formatting.
pub fn plain_text(nodes: &[Node]) -> String {
    let mut out = String::new();
    for node in nodes {
        match node {
            Node::Text(t) | Node::Code(t) | Node::CodeBlock(t) | Node::Mention(t) => out.push_str(t),
            Node::LineBreak => out.push('\n'),
            Node::Emphasis(c) | Node::Strong(c) | Node::Paragraph(c) | Node::Quote(c) => out.push_str(&plain_text(c)),
            Node::Link { children, .. } => out.push_str(&plain_text(children)),
            Node::List { items, .. } => {
                for item in items {
                    out.push_str(&plain_text(item));
                    out.push('\n');
                }
            }
        }
    }
    out
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use Node::*;

    pub(in crate::markdown) fn text(t: &str) -> Node {
        Text(t.into())
    }

    pub(in crate::markdown) fn p(children: Vec<Node>) -> Node {
        Paragraph(children)
    }

    #[test]
    fn plain_lines_stay_plain() {
        assert_eq!(parse("hello there"), [p(vec![text("hello there")])]);
        assert_eq!(parse(""), []);
    }

    #[test]
    fn the_subset_is_formatted() {
        assert_eq!(
            parse("*it* **bold** `x < y`"),
            [p(vec![
                Emphasis(vec![text("it")]),
                text(" "),
                Strong(vec![text("bold")]),
                text(" "),
                Code("x < y".into())
            ])]
        );
        assert_eq!(parse("```\nfn main() {\n    x\n}\n```"), [CodeBlock("fn main() {\n    x\n}\n".into())]);
        assert_eq!(parse("> quoted"), [Quote(vec![p(vec![text("quoted")])])]);
        assert_eq!(parse("- one\n- two"), [List { start: None, items: vec![vec![text("one")], vec![text("two")]] }]);
        assert_eq!(
            parse("- one\n1. first\n2. second\n- two"),
            [
                List { start: None, items: vec![vec![text("one")]] },
                List { start: Some(1), items: vec![vec![text("first")], vec![text("second")]] },
                List { start: None, items: vec![vec![text("two")]] },
            ],
            "numbers after bullets are a numbered list, and the other way round"
        );
        assert_eq!(
            parse("3. three\n4. four").first(),
            Some(&List { start: Some(3), items: vec![vec![text("three")], vec![text("four")]] })
        );
        assert_eq!(parse("line one\nline two"), [p(vec![text("line one"), LineBreak, text("line two")])]);
    }

    #[test]
    fn links_only_to_the_web_and_mail() {
        let link = |href: &str, t: &str| Link { href: href.into(), children: vec![text(t)] };
        assert_eq!(parse("[site](https://example.com)"), [p(vec![link("https://example.com", "site")])]);
        assert_eq!(parse("[me](mailto:a@b.c)"), [p(vec![link("mailto:a@b.c", "me")])]);
        assert_eq!(
            parse("see https://example.com/a?b=1, then"),
            [p(vec![text("see "), link("https://example.com/a?b=1", "https://example.com/a?b=1"), text(", then")])]
        );
        for hostile in
            ["[x](javascript:alert(1))", "[x](JavaScript:alert(1))", "[x](data:text/html,<script>)", "[x](vbscript:y)"]
        {
            let nodes = parse(hostile);
            assert_eq!(nodes, [p(vec![text(hostile)])], "{hostile}: shown as written, not a link");
        }
        assert_eq!(parse("<https://example.com>"), [p(vec![link("https://example.com", "https://example.com")])]);
    }

    #[test]
    fn raw_html_is_text() {
        for hostile in
            ["<script>alert(1)</script>", "<img src=x onerror=alert(1)>", "<b>bold?</b>", "<div>\nblock\n</div>"]
        {
            let shown = plain_text(&parse(hostile));
            assert_eq!(shown.trim(), hostile.trim(), "{hostile}");
            assert!(!format!("{:?}", parse(hostile)).contains("Link"), "{hostile}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Any text, and text made of Markdown's own characters, parses without a panic
        /// into links only to allowed addresses.
        #[test]
        fn any_text_parses_into_safe_nodes(text in "(\\PC|[*_`>\\[\\]()<!#-]|\n|https://|javascript:){0,200}") {
            fn links_allowed(nodes: &[Node]) -> bool {
                nodes.iter().all(|n| match n {
                    Link { href, children } => allowed(href) && links_allowed(children),
                    Emphasis(c) | Strong(c) | Paragraph(c) | Quote(c) => links_allowed(c),
                    List { items, .. } => items.iter().all(|i| links_allowed(i)),
                    _ => true,
                })
            }
            proptest::prop_assert!(links_allowed(&parse(&text)));
        }
    }

    #[test]
    fn hostile_shapes_are_bounded() {
        let started = std::time::Instant::now();
        // 32 KiB of backticks: a fence opening an empty code block at the start of a
        // line; within a line, an unclosed code span, shown as written.
        let backticks = "`".repeat(32 * 1024);
        assert_eq!(parse(&backticks), [CodeBlock(String::new())]);
        let inline = format!("x {backticks}");
        assert!(plain_text(&parse(&inline)) == inline, "shown as written");
        let bomb = "*a **".repeat(4000) + &"** a*".repeat(4000);
        parse(&bomb);
        let nested = ">".repeat(5000) + " deep";
        let nodes = parse(&nested);
        fn depth(nodes: &[Node]) -> usize {
            nodes
                .iter()
                .map(|n| match n {
                    Quote(c) | Paragraph(c) | Emphasis(c) | Strong(c) => 1 + depth(c),
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        }
        assert!(depth(&nodes) <= MAX_DEPTH + 1, "nesting is capped: {}", depth(&nodes));
        assert!(plain_text(&nodes).contains("deep"));
        let lists = "- ".repeat(3000) + "x";
        parse(&lists);
        // Generous: each of these takes milliseconds; a parser gone quadratic takes minutes.
        assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
    }
}
