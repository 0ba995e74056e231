//! One message of the list: its author, text, reactions and the buttons that act on it
//! (answered by the list's one click handler, by their `data-act`).
//!
//! What never changes once a row is drawn (the quote it answers, the avatar, the
//! author, the formatted text, "(edited)", the delivery line and the buttons) is written
//! as HTML, escaping every piece of a person's text; only what changes in place is a
//! view of its own: the row's classes, the time (in the browser's zone once hydrated),
//! the reactions and the picker. The page's WebAssembly then carries little rendering
//! code per message part. A changed message is a new row (the list is keyed by it).

use crate::chat::{avatar_colour, initials, Chat, Delivery, Entry};
use crate::locale::{fill, iso_time, Locale};
use crate::markdown::escape;
use leptos::{either::Either, prelude::*};
use palaver_protocol::{MessageKind, Seq, REACTIONS};

/// What the rows' buttons have open: the reaction picker, and a delete to confirm.
#[derive(Clone, Copy)]
pub struct Actions {
    pub picking: RwSignal<Option<Seq>>,
    pub confirming: RwSignal<Option<Seq>>,
}

/// The parts of a row before its reactions: the quote it answers, the avatar, the
/// author, the text and its link's card.
fn lead_html(entry: &Entry, locale: Locale) -> String {
    let t = locale.t();
    let mut html = String::new();
    if let (Some(q), Some(target)) = (&entry.quote, entry.target) {
        html.push_str(&format!(
            "<a class=\"quote{}\" href=\"#m-{target}\" data-testid=\"reply-quote\" data-act=\"jump\" data-target=\"{target}\" tabindex=\"-1\">\
             <span class=\"quote-author\">",
            if q.deleted { " gone" } else { "" }
        ));
        escape(&mut html, &q.author);
        html.push_str("</span> <span class=\"quote-text\">");
        escape(&mut html, if q.deleted { t.quote_deleted } else { &q.text });
        html.push_str("</span></a>");
    }
    if let Some(a) = &entry.author {
        html.push_str(&format!("<span class=\"avatar avatar-{}\" aria-hidden=\"true\">", avatar_colour(&a.id)));
        escape(&mut html, &initials(&a.name));
        html.push_str("</span>");
    }
    person(&mut html, "author", entry.author.as_ref(), t);
    html.push_str(" data-testid=\"message-author\">");
    escape(&mut html, entry.author.as_ref().map_or("", |a| a.name.as_str()));
    // On my own messages the name is not shown; a screen reader says "You" (style sheet).
    html.push_str("</span><span class=\"you\">");
    html.push_str(t.you);
    html.push_str("</span>");
    if entry.deleted {
        html.push_str("<div class=\"text\" data-testid=\"message-deleted\">");
        escape(&mut html, if entry.removed { t.message_removed } else { t.message_deleted });
    } else {
        // Formatted (markdown.rs): a block, as it may hold paragraphs, lists and code.
        let names: Vec<&str> = entry.mentions.iter().map(|u| u.name.as_str()).collect();
        html.push_str("<div class=\"text\" data-testid=\"message-text\">");
        html.push_str(&crate::markdown::render(&entry.text, &names));
    }
    html.push_str("</div>");
    // Its first link's card: what the page says it is (the server fetched it).
    let card = entry.preview.as_ref().filter(|p| !entry.deleted && p.url.starts_with("http"));
    if let Some(p) = card {
        html.push_str("<div class=\"card\"><a data-testid=\"link-preview\" tabindex=\"-1\" target=\"_blank\" rel=\"noopener noreferrer nofollow\" href=\"");
        escape(&mut html, &p.url);
        html.push('"');
        html.push('>');
        // Its picture: the server's own thumbnail, never the page's address.
        if p.image.starts_with("/previews/") {
            html.push_str("<img alt=\"\" loading=\"lazy\" data-testid=\"link-preview-picture\" src=\"");
            escape(&mut html, &p.image);
            html.push_str("\">");
        }
        for (before, text) in [
            ("<span class=\"card-site\">", &p.site),
            ("</span><strong>", &p.title),
            ("</strong><span>", &p.description),
        ] {
            html.push_str(before);
            escape(&mut html, text);
        }
        html.push_str("</span></a>");
        // Its author may take it away.
        html.push_str(&format!(
            "<button class=\"link own\" data-testid=\"remove-preview\" data-act=\"unpreview\" tabindex=\"-1\" aria-label=\"{0}\" title=\"{0}\">×</button></div>",
            t.remove_preview
        ));
    }
    // Its files: a picture's thumbnail opens it large over the page (a popover: Esc,
    // a click outside or × closes it, with or without JavaScript); any other file is a
    // download.
    if !entry.deleted && !entry.files.is_empty() {
        html.push_str("<div class=\"files\">");
        for f in entry.files.iter().filter(|f| palaver_protocol::is_file_id(&f.id)) {
            let id = &f.id;
            if f.width > 0 {
                // At most 240 pixels a side in the list (whole numbers: no float formatting).
                let side = f.width.max(f.height).max(240);
                let (w, h) = (f.width * 240 / side, f.height * 240 / side);
                let mut name = String::new();
                escape(&mut name, &f.name);
                html.push_str(&format!(
                    "<button type=\"button\" class=\"picture\" popovertarget=\"view-{id}\" tabindex=\"-1\" data-testid=\"file-picture\">\
                     <img src=\"/files/{id}/small\" loading=\"lazy\" width=\"{w}\" height=\"{h}\" alt=\"{name}\"></button>\
                     <div popover id=\"view-{id}\" class=\"viewer\" role=\"dialog\" aria-label=\"{name}\" data-testid=\"viewer\">\
                     <img src=\"/files/{id}\" loading=\"lazy\" alt=\"{name}\"><p>{name}</p>\
                     <button type=\"button\" popovertarget=\"view-{id}\" popovertargetaction=\"hide\" data-testid=\"close-viewer\" aria-label=\"{close}\" title=\"{close}\">×</button></div>",
                    close = t.close
                ));
            } else {
                html.push_str(&format!(
                    "<a class=\"file\" href=\"/files/{id}\" download tabindex=\"-1\" data-testid=\"file-link\">"
                ));
                escape(&mut html, &f.name);
                html.push_str(&format!("</a><span class=\"file-about\">{} · ", size_text(f.size)));
                escape(&mut html, &f.mime);
                html.push_str("</span>");
            }
        }
        html.push_str("</div>");
    }
    html
}

/// A file's size for people: bytes, KB or MB (of 1,024).
pub fn size_text(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{} KB", bytes.div_ceil(1024)),
        _ => format!("{}.{} MB", bytes / 1_048_576, bytes % 1_048_576 * 10 / 1_048_576),
    }
}

/// The parts of a row's last line after its time: how its sending goes, and the buttons
/// (anyone may answer or react to a stored message; my own can be edited and deleted,
/// which asks once more: what is open, the row's class says; a member may report
/// another's to the admins, and an admin delete it: the page's `data-member` and
/// `data-admin` say, for the style sheet).
fn tail_html(entry: &Entry, locale: Locale, room: &str) -> String {
    let t = locale.t();
    let mut html = String::new();
    match &entry.delivery {
        Some(Delivery::Pending | Delivery::Uploading) => {
            html.push_str("<span class=\"delivery\">");
            html.push_str(t.sending);
            html.push_str("</span>");
        }
        Some(Delivery::Failed(reason)) => {
            html.push_str("<span class=\"delivery failed\">");
            escape(&mut html, &fill(t.not_sent, &[("reason", t.error(*reason))]));
            html.push_str("</span><button class=\"retry\" data-testid=\"retry\" data-act=\"retry\" data-id=\"");
            escape(&mut html, &entry.id.0);
            html.push_str("\">");
            html.push_str(t.retry);
            html.push_str("</button>");
        }
        _ => {}
    }
    // A toolbar shown on hover and while the message has the focus (on a touch screen,
    // its "⋯" button's tap gives it): out of the Tab order, the arrow keys go through it
    // (the list's keydown); Edit and Delete in its menu.
    if entry.seq.is_some() && !entry.deleted {
        html.push_str(&format!(
            "<button class=\"link open-actions\" tabindex=\"-1\" aria-label=\"{0}\" title=\"{0}\">⋯</button>\
             <span class=\"actions\" role=\"toolbar\" aria-label=\"{0}\">\
             <button class=\"link\" data-testid=\"reply-button\" data-act=\"reply\" tabindex=\"-1\">{1}</button>\
             <button class=\"link\" data-testid=\"react-button\" data-act=\"react\" aria-haspopup=\"true\" aria-expanded=\"false\" tabindex=\"-1\">{2}</button>\
             <details class=\"more\"><summary class=\"link\" data-testid=\"more-actions\" tabindex=\"-1\" aria-label=\"{3}\" title=\"{3}\">⋯</summary>\
             <span class=\"menu\"><button class=\"link own\" data-testid=\"edit-button\" data-act=\"edit\" tabindex=\"-1\">{4}</button>\
             <button class=\"link danger own admin\" data-testid=\"delete-button\" data-act=\"delete\" tabindex=\"-1\">\
             <span class=\"ask\">{5}</span><span class=\"sure\">{6}</span></button>\
             <a class=\"link others\" data-testid=\"report-link\" tabindex=\"-1\" href=\"/report?room={8}&amp;seq={7}\">{9}</a></span></details></span>",
            t.message_actions, t.reply, t.react, t.more_actions, t.edit, t.delete, t.delete_confirm,
            entry.seq.unwrap_or_default(), room, t.report
        ));
    }
    html
}

#[component]
pub fn MessageItem(entry: Entry) -> impl IntoView {
    let chat = expect_context::<Chat>();
    let actions = expect_context::<Actions>();
    let locale = Locale::get();
    let t = locale.t();
    if entry.kind == MessageKind::Renamed {
        let author = entry.author.as_ref().map(|a| a.name.clone()).unwrap_or_default();
        let mut line = String::new();
        escape(&mut line, &fill(t.renamed, &[("old", &entry.text), ("new", &author)]));
        return Either::Left(notice("notice rename", Some("rename-notice"), Box::new(move || line.clone())));
    }
    let state = match &entry.delivery {
        None => "received",
        Some(Delivery::Pending | Delivery::Uploading) => "pending",
        Some(Delivery::Sent) => "sent",
        Some(Delivery::Failed(_)) => "failed",
    };
    let time = entry.sent_at.map(|at| {
        view! {
            <time datetime=iso_time(at) title=move || locale.full_time(at) data-testid="message-time">
                {move || locale.time(at)}
            </time>
        }
    });
    let (lead, tail) = (lead_html(&entry, locale), tail_html(&entry, locale, chat.room.get_untracked().as_str()));
    let edited = if entry.edited {
        ["<span class=\"edited\" data-testid=\"edited\">", t.edited, "</span>"].concat()
    } else {
        String::new()
    };
    let seq = entry.seq;
    let (new_line, deleted, continued) = (entry.new_line, entry.deleted, entry.continued);
    // Mine (my own, or sent from here), naming me, jumped to: one class list.
    let author_id = entry.author.as_ref().map(|a| a.id.clone());
    let own = entry.delivery.is_some();
    let mentioned: Vec<_> = entry.mentions.iter().map(|u| u.id.clone()).collect();
    let class = move || {
        let (mine, named) = match chat.my_user(true) {
            Some(me) => (own || Some(&me.id) == author_id.as_ref(), mentioned.contains(&me.id)),
            None => (own, false),
        };
        let mut class = String::from("message");
        for (on, name) in [
            (deleted, " deleted"),
            (continued, " continued"),
            (mine, " mine"),
            (named, " mentions-me"),
            (seq.is_some() && chat.highlight.get() == seq, " highlighted"),
            (seq.is_some() && actions.confirming.get() == seq, " confirming"),
        ] {
            if on {
                class.push_str(name);
            }
        }
        class
    };
    // Each emoji: how many, who (shown on hover or focus), and whether I did.
    let reactions = StoredValue::new(entry.reactions);
    // My reactions show as mine (and take back when clicked again).
    let chips = move || {
        let me = chat.my_user(true).map(|u| u.id);
        let mut html = String::new();
        reactions.with_value(|rs| {
            for r in rs {
                let who = r.by.iter().map(|u| u.name.as_str()).collect::<Vec<_>>().join(", ");
                let mine = r.by.iter().any(|u| Some(&u.id) == me.as_ref());
                let count = r.by.len();
                html.push_str(&format!(
                    "<button class=\"chip{}\" tabindex=\"-1\" aria-pressed=\"{mine}\" data-testid=\"reaction\" data-act=\"chip\" data-emoji=\"",
                    if mine { " mine" } else { "" }
                ));
                escape(&mut html, &r.emoji);
                html.push_str("\" aria-label=\"");
                escape(&mut html, &format!("{} {count}: {who}", r.emoji));
                for attr in ["\" title=\"", "\" data-who=\""] {
                    html.push_str(attr);
                    escape(&mut html, &who);
                }
                html.push_str("\">");
                escape(&mut html, &format!("{} {count}", r.emoji));
                html.push_str("</button>");
            }
        });
        (!html.is_empty()).then(|| group("reactions", t.reactions, "reactions", None, html))
    };
    // The picker: every emoji a reaction may be; one I already gave takes it back.
    let picker = move || {
        let seq = seq.filter(|s| actions.picking.get() == Some(*s))?;
        let me = chat.my_user(false).map(|u| u.id);
        // Fixed markup: the emoji are the protocol's own, nobody's input.
        // One Tab stop: the arrow keys move between the emoji (the list's keydown).
        let picks: String = REACTIONS
            .iter()
            .enumerate()
            .map(|(n, emoji)| {
                let had = reactions.with_value(|rs| {
                    rs.iter().any(|r| &r.emoji == emoji && r.by.iter().any(|u| Some(&u.id) == me.as_ref()))
                });
                format!(
                    "<button class=\"pick\" data-testid=\"pick-reaction\" data-act=\"pick\" data-emoji=\"{emoji}\" \
                     aria-pressed=\"{had}\" aria-label=\"{emoji}\" title=\"{emoji}\"{}>{emoji}</button>",
                    if n == 0 { "" } else { " tabindex=\"-1\"" }
                )
            })
            .collect();
        Some(group("picker", t.add_reaction, "reaction-picker", Some(seq), picks))
    };
    Either::Right(view! {
        <li
            class=class
            id=seq.map(|s| format!("m-{s}"))
            tabindex="-1"
            data-testid="message"
            data-state=state
            data-seq=seq
            data-new=new_line.then_some(t.new_line)
        >
            <div class="fixed" inner_html=lead></div>
            {chips}
            <span class="meta">
                <span class="fixed" inner_html=edited></span>
                {time}
                <span class="fixed" inner_html=tail></span>
            </span>
            {picker}
        </li>
    })
}

/// A group of buttons under a message (its reactions, the reaction picker): fixed HTML,
/// one view for both.
fn group(
    class: &'static str,
    label: &'static str,
    testid: &'static str,
    seq: Option<Seq>,
    html: String,
) -> impl IntoView {
    view! { <div class=class role="group" aria-label=label data-testid=testid data-seq=seq inner_html=html></div> }
}

/// A row of the list that is not a message from someone ("load older", "no messages
/// yet", a gap, a day, a rename): fixed HTML, drawn again when what `html` reads
/// changes. Every such row is this one view, and its buttons answer through the list's
/// `data-act` handler.
pub fn notice(
    class: &'static str,
    testid: Option<&'static str>,
    html: Box<dyn FnMut() -> String + Send>,
) -> impl IntoView {
    view! { <li class=class data-testid=testid inner_html=html></li> }
}

/// Opens a `<span>` of class `class` for a person's name: with their handle on hover if
/// they have an account, else marked a guest (the style sheet shows the mark on the
/// pages of members). The caller ends the tag.
pub fn person(html: &mut String, class: &str, user: Option<&palaver_protocol::User>, t: &crate::locale::Texts) {
    match user.and_then(|u| u.handle.as_deref()) {
        Some(handle) => {
            html.push_str(&format!("<span class=\"{class}\" title=\"@"));
            escape(html, handle);
            html.push('"');
        }
        None => html.push_str(&format!("<span class=\"{class} guest\" data-guest=\"{}\"", t.guest)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_are_said_in_bytes_kilobytes_or_megabytes() {
        assert_eq!(size_text(0), "0 B");
        assert_eq!(size_text(1023), "1023 B");
        assert_eq!(size_text(1025), "2 KB");
        assert_eq!(size_text(5 << 20), "5.0 MB");
        assert_eq!(size_text((5 << 20) + (1 << 19)), "5.5 MB");
    }
}
