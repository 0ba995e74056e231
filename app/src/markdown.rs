//! How a message's text is shown: a small Markdown subset (`*italic*`, `**bold**`,
//! `` `code` ``, fenced code blocks, `>` quotes, `-` and `1.` lists, `[links](https://…)`
//! and bare `https://` addresses), parsed into plain [`Node`]s and written as HTML by
//! one function that escapes every piece of the message's own text (and each link's
//! address) as it writes it: raw HTML in a message is shown as text, and only http,
//! https and mailto links become links. The same code renders on the server and in the
//! browser, so the hydrated page matches the server's.
//!
//! The parser is Palaver's own, for the subset only: a full CommonMark parser grew the
//! page's WebAssembly by a third (past its 250 KB budget). Every step is linear in the
//! text (openers are matched with stacks and precomputed positions, never by searching
//! again), and nesting is capped at [`MAX_DEPTH`], so no message can make it slow or deep.

mod parse;

pub use parse::{parse, plain_text, Node, MAX_DEPTH};

/// A message's text, formatted, with the `@name`s of `names` marked: the HTML of its
/// nodes, every piece of text escaped. One string for the page to set, rather than a
/// view per node: a message's formatting never changes in place (an edit renders the
/// message again), and the page's WebAssembly carries no rendering code per tag.
pub fn render(text: &str, names: &[&str]) -> String {
    let nodes = parse(text);
    let mut html = String::with_capacity(text.len() + 16);
    write_html(&mut html, &if names.is_empty() { nodes } else { mark_mentions(nodes, names) });
    html
}

/// The first http or https link a message's text shows, if any (the one its preview
/// card is of).
pub fn first_link(text: &str) -> Option<String> {
    fn find(nodes: &[Node]) -> Option<&str> {
        nodes.iter().find_map(|node| match node {
            Node::Link { href, .. } if !href.to_ascii_lowercase().starts_with("mailto:") => Some(href.as_str()),
            Node::Emphasis(n)
            | Node::Strong(n)
            | Node::Paragraph(n)
            | Node::Quote(n)
            | Node::Link { children: n, .. } => find(n),
            Node::List { items, .. } => items.iter().find_map(|item| find(item)),
            _ => None,
        })
    }
    find(&parse(text)).map(|href| href.trim().to_owned())
}

/// Nodes with the `@name`s of `names` in their text marked (not in code or links).
pub fn mark_mentions(nodes: Vec<Node>, names: &[&str]) -> Vec<Node> {
    let mut out = Vec::with_capacity(nodes.len());
    for node in nodes {
        match node {
            Node::Text(t) => {
                let mut from = 0;
                for (range, _) in palaver_protocol::find_mentions(&t, names) {
                    if range.start > from {
                        out.push(Node::Text(t[from..range.start].to_owned()));
                    }
                    out.push(Node::Mention(t[range.clone()].to_owned()));
                    from = range.end;
                }
                if from < t.len() {
                    out.push(Node::Text(t[from..].to_owned()));
                }
            }
            Node::Emphasis(c) => out.push(Node::Emphasis(mark_mentions(c, names))),
            Node::Strong(c) => out.push(Node::Strong(mark_mentions(c, names))),
            Node::Paragraph(c) => out.push(Node::Paragraph(mark_mentions(c, names))),
            Node::Quote(c) => out.push(Node::Quote(mark_mentions(c, names))),
            Node::List { start, items } => {
                out.push(Node::List { start, items: items.into_iter().map(|i| mark_mentions(i, names)).collect() })
            }
            other => out.push(other),
        }
    }
    out
}

/// Appends `text` with the characters that mean something in HTML escaped (in text and
/// in a quoted attribute alike).
pub fn escape(html: &mut String, text: &str) {
    for c in text.chars() {
        match c {
            '&' => html.push_str("&amp;"),
            '<' => html.push_str("&lt;"),
            '>' => html.push_str("&gt;"),
            '"' => html.push_str("&quot;"),
            '\'' => html.push_str("&#39;"),
            c => html.push(c),
        }
    }
}

/// Appends the nodes' HTML. The message keeps whitespace (`white-space: pre-wrap`): a
/// line break is a newline.
fn write_html(html: &mut String, nodes: &[Node]) {
    for node in nodes {
        match node {
            Node::Text(t) => escape(html, t),
            Node::LineBreak => html.push('\n'),
            Node::Code(t) => around_text(html, "<code class=\"md-code\">", t, "</code>"),
            Node::Mention(t) => around_text(html, "<span class=\"mention\">", t, "</span>"),
            Node::CodeBlock(t) => around_text(html, "<pre class=\"md-pre\"><code>", t, "</code></pre>"),
            Node::Emphasis(c) => around(html, "<em>", c, "</em>"),
            Node::Strong(c) => around(html, "<strong>", c, "</strong>"),
            Node::Paragraph(c) => around(html, "<p class=\"md-p\">", c, "</p>"),
            Node::Quote(c) => around(html, "<blockquote class=\"md-quote\">", c, "</blockquote>"),
            Node::Link { href, children } => {
                html.push_str("<a href=\"");
                escape(html, href);
                // Out of the Tab order, as everything in a message (the list's arrow keys reach it).
                around(
                    html,
                    "\" target=\"_blank\" rel=\"noopener noreferrer nofollow\" tabindex=\"-1\">",
                    children,
                    "</a>",
                );
            }
            Node::List { start: Some(start), items } => {
                html.push_str(&format!("<ol class=\"md-list\" start=\"{start}\">"));
                items.iter().for_each(|item| around(html, "<li>", item, "</li>"));
                html.push_str("</ol>");
            }
            Node::List { start: None, items } => {
                html.push_str("<ul class=\"md-list\">");
                items.iter().for_each(|item| around(html, "<li>", item, "</li>"));
                html.push_str("</ul>");
            }
        }
    }
}

/// Appends `open`, the nodes' HTML, and `close`.
fn around(html: &mut String, open: &str, nodes: &[Node], close: &str) {
    html.push_str(open);
    write_html(html, nodes);
    html.push_str(close);
}

/// Appends `open`, `text` escaped, and `close`.
fn around_text(html: &mut String, open: &str, text: &str, close: &str) {
    html.push_str(open);
    escape(html, text);
    html.push_str(close);
}

#[cfg(test)]
mod tests {
    use super::parse::tests::{p, text};
    use super::*;
    use Node::*;

    #[test]
    fn the_first_web_link_is_the_one_with_a_card() {
        assert_eq!(first_link("see https://a.example/x and https://b.example").as_deref(), Some("https://a.example/x"));
        assert_eq!(
            first_link("mail [me](mailto:a@b.c), then **[docs](http://d.example)**").as_deref(),
            Some("http://d.example")
        );
        assert_eq!(first_link("- one\n- two https://list.example").as_deref(), Some("https://list.example"));
        assert_eq!(first_link("`https://code.example` and javascript:alert(1)"), None, "code is no link");
    }

    #[test]
    fn mentions_are_marked_outside_code_and_links() {
        let names = ["Ann", "Bob Lee"];
        let marked = mark_mentions(parse("hi @ann, **@Bob Lee** `@Ann` [@Ann](https://a.example)"), &names);
        assert_eq!(
            marked,
            [p(vec![
                text("hi "),
                Mention("@ann".into()),
                text(", "),
                Strong(vec![Mention("@Bob Lee".into())]),
                text(" "),
                Code("@Ann".into()),
                text(" "),
                Link { href: "https://a.example".into(), children: vec![text("@Ann")] },
            ])]
        );
        assert_eq!(plain_text(&marked), "hi @ann, @Bob Lee @Ann @Ann");
    }

    #[test]
    fn the_html_escapes_the_message_and_keeps_the_formatting() {
        assert_eq!(
            render("**bold** <b>x</b> & `a<b>` @Ann [\"q\"](https://a.example/?q=\"'<x>)\n- one", &["Ann"]),
            "<p class=\"md-p\"><strong>bold</strong> &lt;b&gt;x&lt;/b&gt; &amp; <code class=\"md-code\">a&lt;b&gt;</code> \
             <span class=\"mention\">@Ann</span> <a href=\"https://a.example/?q=&quot;&#39;&lt;x&gt;\" target=\"_blank\" \
             rel=\"noopener noreferrer nofollow\" tabindex=\"-1\">&quot;q&quot;</a></p><ul class=\"md-list\"><li>one</li></ul>"
        );
        assert_eq!(render("```\n<script>\n```", &[]), "<pre class=\"md-pre\"><code>&lt;script&gt;\n</code></pre>");
        assert_eq!(render("3. c\n4. d", &[]), "<ol class=\"md-list\" start=\"3\"><li>c</li><li>d</li></ol>");
    }

    /// Each `<` of the HTML begins one of the tags the formatting writes, and no quote
    /// ends an attribute early: what a message holds can only ever be text.
    fn only_formatting_tags(html: &str) -> bool {
        const TAGS: [&str; 22] = [
            "<p class=\"md-p\">",
            "</p>",
            "<em>",
            "</em>",
            "<strong>",
            "</strong>",
            "<code class=\"md-code\">",
            "<code>",
            "</code>",
            "<span class=\"mention\">",
            "</span>",
            "<blockquote class=\"md-quote\">",
            "</blockquote>",
            "<pre class=\"md-pre\">",
            "</pre>",
            "<ul class=\"md-list\">",
            "</ul>",
            "</ol>",
            "<li>",
            "</li>",
            "</a>",
            "<ol class=\"md-list\" start=\"",
        ];
        let link_end = "\" target=\"_blank\" rel=\"noopener noreferrer nofollow\" tabindex=\"-1\">";
        let mut rest = html;
        while let Some(at) = rest.find(['<', '"']) {
            rest = &rest[at..];
            if let Some(tag) = TAGS.iter().find(|t| rest.starts_with(**t)) {
                rest = &rest[tag.len()..];
                if tag.ends_with('"') {
                    let Some(end) = rest.find("\">") else { return false };
                    if !rest[..end].chars().all(|c| c.is_ascii_digit()) {
                        return false;
                    }
                    rest = &rest[end + 2..];
                }
            } else if let Some(after) = rest.strip_prefix("<a href=\"") {
                let Some(end) = after.find('"') else { return false };
                if after[..end].contains(['<', '>', '\'']) || !after[end..].starts_with(link_end) {
                    return false;
                }
                rest = &after[end + link_end.len()..];
            } else {
                return false;
            }
        }
        true
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// Any text, formatted, holds only the formatting's own tags.
        #[test]
        fn any_text_renders_as_text_in_formatting_tags(
            text in "(\\PC|[*_`>\\[\\]()<!#\"'&-]|\n|https://|javascript:|<script>|\" onload=\"){0,200}"
        ) {
            proptest::prop_assert!(only_formatting_tags(&render(&text, &["Ann"])), "{}", render(&text, &["Ann"]));
        }
    }
}
