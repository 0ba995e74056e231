//! oEmbed, where it is simple: a page that names its JSON oEmbed answer
//! (`<link rel="alternate" type="application/json+oembed" href="…">`) has it fetched,
//! through the same guard as the page, and its title, author, provider and thumbnail
//! fill what the page's own tags leave out. Its `html` (an embedded player, a script)
//! is never read: a card shows text and the server's own thumbnail only.

/// What a card takes of an oEmbed answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Embed {
    pub title: Option<String>,
    pub author_name: Option<String>,
    pub provider_name: Option<String>,
    pub thumbnail_url: Option<String>,
}

/// An oEmbed answer's fields, if `body` is one (a JSON object; fields of other types are
/// left out, not an error).
pub fn read(body: &[u8]) -> Option<Embed> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let object = value.as_object()?;
    let text = |key: &str| object.get(key).and_then(|v| v.as_str()).map(str::to_owned).filter(|s| !s.trim().is_empty());
    Some(Embed {
        title: text("title"),
        author_name: text("author_name"),
        provider_name: text("provider_name"),
        thumbnail_url: text("thumbnail_url"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_gives_its_text_fields_and_nothing_else() {
        let answer = br#"{"version":"1.0","type":"video","title":"A talk","author_name":"Ann",
            "provider_name":"Tube","thumbnail_url":"https://tube.example/t.jpg","thumbnail_width":480,
            "html":"<iframe src=\"https://tube.example/embed/1\"></iframe>"}"#;
        let embed = read(answer).unwrap();
        assert_eq!(embed.title.as_deref(), Some("A talk"));
        assert_eq!(embed.author_name.as_deref(), Some("Ann"));
        assert_eq!(embed.provider_name.as_deref(), Some("Tube"));
        assert_eq!(embed.thumbnail_url.as_deref(), Some("https://tube.example/t.jpg"));

        let odd = read(br#"{"title":42,"author_name":"  ","provider_name":["x"]}"#).unwrap();
        assert_eq!(odd, Embed::default(), "fields of other types, or blank, are left out");
        assert_eq!(read(b"[1,2]"), None);
        assert_eq!(read(b"<html>not json</html>"), None);
    }
}
