//! A link's preview card from its page: the OpenGraph title, description, site name and
//! image (`og:*`, then `twitter:*`, then the page's oEmbed answer if it names one, then
//! `<title>` and `<meta name="description">`). Read by a small scanner of the page's
//! tags, not a browser's parser: only `<meta>`, `<link>` and `<title>` matter, and a page
//! that confuses it gets a poorer card, nothing worse.

use super::embed::Embed;
use url::Url;

/// Longest title and description kept, in characters.
const TITLE_CHARS: usize = 200;
const DESCRIPTION_CHARS: usize = 300;
const SITE_CHARS: usize = 100;

/// What a preview shows of a page.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Card {
    pub title: String,
    pub description: String,
    pub site: String,
    /// The picture's address (absolute, http or https), fetched through the same guard.
    pub image: Option<String>,
}

/// What the scanner keeps of a page's head: read once, for its oEmbed link and its card.
#[derive(Default)]
pub struct Head {
    /// `<meta>` tags' names (or properties), lowercased, and contents.
    metas: Vec<(String, String)>,
    title: Option<String>,
    /// The first JSON oEmbed answer `<link>`ed, as written.
    oembed: Option<String>,
}

/// Scans the head of an HTML page.
pub fn head(html: &str) -> Head {
    let mut found = Head::default();
    let lower = html.to_ascii_lowercase();
    let mut at = 0;
    while let Some(start) = lower[at..].find('<').map(|i| at + i) {
        let rest = &lower[start..];
        if rest.starts_with("<meta") || rest.starts_with("<link") {
            // A tag that never ends ends the reading.
            let Some(end) = tag_end(html, start) else { break };
            let attrs = attributes(&html[start + 5..end]);
            let value = |name: &str| attrs.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
            if rest.starts_with("<meta") {
                let key = value("property").or(value("name")).map(str::to_ascii_lowercase);
                if let (Some(key), Some(content)) = (key, value("content")) {
                    found.metas.push((key, content.to_owned()));
                }
            } else if found.oembed.is_none()
                && value("rel").is_some_and(|r| r.split_whitespace().any(|r| r.eq_ignore_ascii_case("alternate")))
                && value("type").is_some_and(|t| t.trim().eq_ignore_ascii_case("application/json+oembed"))
            {
                found.oembed = value("href").map(str::to_owned);
            }
            at = end;
        } else if rest.starts_with("<title") && found.title.is_none() {
            let Some(open) = tag_end(html, start) else { break };
            let close = lower[open..].find("</title").map_or(lower.len(), |i| open + i);
            found.title = Some(decode(&html[(open + 1).min(close)..close]));
            at = close;
        } else if rest.starts_with("<body") || rest.starts_with("</head") {
            break;
        } else {
            at = start + 1;
        }
    }
    found
}

/// The card of an HTML page fetched from `base`; `None` when it has no title at all.
pub fn card(html: &str, base: &Url) -> Option<Card> {
    head(html).card(base, None)
}

impl Head {
    /// The page's JSON oEmbed answer's address (absolute, http or https), if it names one.
    pub fn oembed_link(&self, base: &Url) -> Option<Url> {
        absolute(base, self.oembed.as_deref()?)
    }

    /// The page's card (it was fetched from `base`), what its tags leave out taken from
    /// its oEmbed answer, if it had one; `None` when neither has a title.
    pub fn card(self, base: &Url, embed: Option<Embed>) -> Option<Card> {
        let Head { metas: found, title, .. } = self;
        let embed = embed.unwrap_or_default();
        let first = |keys: &[&str]| {
            keys.iter().find_map(|k| found.iter().find(|(key, v)| key == k && !v.trim().is_empty()).map(|(_, v)| v))
        };
        let clean = |text: &str, most: usize| {
            let line = decode(text).split_whitespace().collect::<Vec<_>>().join(" ");
            match line.chars().count() > most {
                true => line.chars().take(most - 1).collect::<String>() + "…",
                false => line,
            }
        };
        let title = first(&["og:title", "twitter:title"]).cloned().or(embed.title).or(title)?;
        let title = clean(&title, TITLE_CHARS);
        if title.is_empty() {
            return None;
        }
        let description = first(&["og:description", "twitter:description", "description"])
            .or(embed.author_name.as_ref())
            .map(|d| clean(d, DESCRIPTION_CHARS));
        let site = first(&["og:site_name"])
            .or(embed.provider_name.as_ref())
            .map(|s| clean(s, SITE_CHARS))
            .unwrap_or_else(|| base.host_str().map(|h| h.trim_start_matches("www.").to_owned()).unwrap_or_default());
        let image = first(&["og:image", "og:image:url"])
            .or(embed.thumbnail_url.as_ref())
            .or(first(&["twitter:image"]))
            .and_then(|i| absolute(base, i))
            .map(String::from);
        Some(Card { title, description: description.unwrap_or_default(), site, image })
    }
}

/// `link` as written in a page at `base`, made absolute; only http and https.
fn absolute(base: &Url, link: &str) -> Option<Url> {
    base.join(decode(link).trim()).ok().filter(|u| matches!(u.scheme(), "http" | "https"))
}

/// Where the tag opening at `start` ends (its `>`, outside quotes), if it does.
fn tag_end(html: &str, start: usize) -> Option<usize> {
    let mut quote = None;
    for (i, c) in html[start..].char_indices() {
        match (quote, c) {
            (None, '"' | '\'') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (None, '>') => return Some(start + i),
            _ => {}
        }
    }
    None
}

/// A tag's attributes, names lowercased, values as written (quoted or not).
fn attributes(inside: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = inside.trim_end_matches('/').chars().peekable();
    loop {
        while chars.next_if(|c| c.is_whitespace() || *c == '/').is_some() {}
        let name: String = std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace() && *c != '=')).collect();
        if name.is_empty() {
            return out;
        }
        while chars.next_if(|c| c.is_whitespace()).is_some() {}
        let mut value = String::new();
        if chars.next_if_eq(&'=').is_some() {
            while chars.next_if(|c| c.is_whitespace()).is_some() {}
            match chars.next_if(|c| *c == '"' || *c == '\'') {
                Some(q) => value.extend(std::iter::from_fn(|| chars.next_if(|c| *c != q))),
                None => value.extend(std::iter::from_fn(|| chars.next_if(|c| !c.is_whitespace()))),
            }
            chars.next();
        }
        out.push((name.to_ascii_lowercase(), value));
    }
}

/// Text with HTML's character references read: the named few a title uses, and numbers.
fn decode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        let end = rest.bytes().take(12).position(|b| b == b';');
        let named = end.and_then(|e| {
            let name = &rest[1..e];
            let c = match name {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ => {
                    let n = match name.strip_prefix("#x").or_else(|| name.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok(),
                        None => name.strip_prefix('#').and_then(|d| d.parse().ok()),
                    };
                    n.and_then(char::from_u32).filter(|c| !c.is_control())?
                }
            };
            Some((c, e))
        });
        match named {
            Some((c, e)) => {
                out.push(c);
                rest = &rest[e + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> Url {
        Url::parse("https://www.example.com/a/b").unwrap()
    }

    #[test]
    fn opengraph_comes_first_then_the_title_and_description() {
        let page = r#"<!doctype html><html><head>
            <title>Plain title</title>
            <META name="description" content="Plain description">
            <meta property="og:title" content="Rust &amp; you &#8212; a &quot;guide&quot;" />
            <meta content='What it &lt;is&gt;' property='og:description'>
            <meta property="og:image" content="/img/card.png">
            </head><body><meta property="og:title" content="not this"></body></html>"#;
        let found = card(page, &base()).unwrap();
        assert_eq!(found.title, "Rust & you — a \"guide\"");
        assert_eq!(found.description, "What it <is>");
        assert_eq!(found.site, "example.com");
        assert_eq!(found.image.as_deref(), Some("https://www.example.com/img/card.png"));

        let plain =
            card("<head><title>\n  Just a   page\n</title><meta name=description content=Words></head>", &base());
        assert_eq!(
            plain,
            Some(Card {
                title: "Just a page".into(),
                description: "Words".into(),
                site: "example.com".into(),
                image: None
            })
        );
    }

    #[test]
    fn an_oembed_answer_fills_what_the_tags_leave_out() {
        let page = r#"<head><title>Watch - Tube</title>
            <link rel="icon" href="/favicon.ico">
            <link type="application/json+oembed" rel="Alternate" title="x" href="/oembed?url=a&amp;format=json">
            <link rel="alternate" type="application/json+oembed" href="/second"></head>"#;
        let link = head(page).oembed_link(&base()).unwrap();
        assert_eq!(link.as_str(), "https://www.example.com/oembed?url=a&format=json", "the first, made absolute");
        let embed = Embed {
            title: Some("A talk".into()),
            author_name: Some("Ann".into()),
            provider_name: Some("Tube".into()),
            thumbnail_url: Some("/t.jpg".into()),
        };
        let found = head(page).card(&base(), Some(embed.clone())).unwrap();
        assert_eq!((found.title.as_str(), found.description.as_str(), found.site.as_str()), ("A talk", "Ann", "Tube"));
        assert_eq!(found.image.as_deref(), Some("https://www.example.com/t.jpg"));
        assert_eq!(card(page, &base()).unwrap().title, "Watch - Tube", "without it, the page's title");

        // OpenGraph comes first; an answer with a title makes a card of a page without one.
        let tagged = r#"<meta property="og:title" content="Tagged"><meta property="og:image" content="/og.png">"#;
        let found = head(tagged).card(&base(), Some(embed.clone())).unwrap();
        assert_eq!((found.title.as_str(), found.site.as_str()), ("Tagged", "Tube"));
        assert_eq!(found.image.as_deref(), Some("https://www.example.com/og.png"));
        assert_eq!(head("<body></body>").card(&base(), Some(embed)).unwrap().title, "A talk");
        assert_eq!(head(tagged).oembed_link(&base()), None);
    }

    #[test]
    fn odd_pages_give_a_poorer_card_or_none() {
        assert_eq!(card("<html><body>no head</body></html>", &base()), None);
        assert_eq!(card("<title>   </title>", &base()), None);
        assert_eq!(card("<meta property=og:title content=\"unterminated", &base()), None);
        let long = format!("<title>{}</title>", "word ".repeat(100));
        assert_eq!(card(&long, &base()).unwrap().title.chars().count(), TITLE_CHARS);
        let sneaky = r#"<title>ok</title><meta property="og:image" content="javascript:alert(1)">"#;
        assert_eq!(card(sneaky, &base()).unwrap().image, None, "only http and https pictures");
        let sneaky_embed = r#"<link rel="alternate" type="application/json+oembed" href="file:///etc/passwd">"#;
        assert_eq!(head(sneaky_embed).oembed_link(&base()), None, "only http and https answers");
        assert_eq!(decode("&bogus; &#0; &#x110000; & &amp"), "&bogus; &#0; &#x110000; & &amp");
        assert_eq!(decode("&ééééééé;"), "&ééééééé;", "a long run of letters that are not one byte each");
    }
}
