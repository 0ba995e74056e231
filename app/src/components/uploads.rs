//! Files attached to the next message, in the composer: by the paper clip, a file
//! dropped anywhere on the page, or pasted into the box (a screenshot). Each is uploaded
//! at once (`POST /files`, see ARCHITECTURE.md "Files") and shown in the tray above the
//! box with its size, a progress bar and a × that cancels it; an upload the network
//! broke off starts again (a few times) from its start, and a refusal shows the server's
//! reason on its row. A file larger than the server takes (`<html data-file-mb>`) or
//! past the most a message carries is refused before a byte goes.
//!
//! Sent, the message shows at once as being sent, and goes when its files are stored
//! (its rows stay in the tray until then, × still cancelling one); it names them by id,
//! so a message sent again after a reconnect carries the same files, once. A file that
//! cannot be stored leaves the message unsent with the reason, to retry with the rest.
//!
//! All but [`files`] is a lazily loaded part of the page (`parts.rs`): the page fetches
//! it when a composer is first shown, and until it is loaded nothing of it runs.

use crate::chat::{new_message_id, Chat, Delivery, Intent};
use crate::components::message_item::size_text;
use crate::locale::{fill, Lang};
use crate::markdown::escape;
use crate::parts::{wasm_split, SplitLoaderError};
use leptos::prelude::*;
use palaver_protocol::json::{attachment_of, Json};
use palaver_protocol::{percent_encode, Attachment, ClientMsgId, ErrorReason, RoomId, MAX_FILES};
use std::cell::{Cell, RefCell};
use wasm_bindgen::{prelude::*, JsCast};
use web_sys::XmlHttpRequest;
use web_sys::{
    ClipboardEvent, DragEvent, Element, Event, File, FileList, HtmlElement, HtmlInputElement, ProgressEvent,
};

/// What the composer asks of its files.
pub enum Act {
    /// Draw the tray of the room shown (a composer is shown).
    Show,
    /// Send the files attached, with this text (which may be blank).
    Send(String),
}

/// Does `act`, once the part is loaded; if it cannot be, the tray says so (the next
/// act tries again).
pub fn files(chat: Chat, lang: Lang, act: Act) {
    leptos::task::spawn_local(async move {
        if files_part(chat, lang, act).await.is_err() {
            if let Some(tray) = tray() {
                tray.set_text_content(Some(lang.texts().files_unavailable));
                let _ = tray.remove_attribute("hidden");
            }
        }
    });
}

fn tray() -> Option<Element> {
    document().query_selector(".tray").ok().flatten()
}

#[wasm_split(uploads, fallible, wasm_split_path = crate::parts)]
fn files_part(chat: Chat, lang: Lang, act: Act) -> Result<(), SplitLoaderError> {
    if HERE.replace(Some((chat, words(lang)))).is_none() {
        listen();
        // Picked before the part was in (the picker opens without it).
        let input = document().get_element_by_id("attach-input").and_then(|i| i.dyn_into::<HtmlInputElement>().ok());
        if let Some(input) = input {
            if let Some(list) = input.files().filter(|l| l.length() > 0) {
                attach(&list);
            }
            input.set_value("");
        }
    }
    match act {
        Act::Show => draw(),
        Act::Send(text) => send(text),
    }
    Ok(())
}

/// The tray's words, in the page's language (here, with the part, rather than in the
/// first chunk's table of every string).
pub struct Words {
    uploading: &'static str,
    remove: &'static str,
    failed: &'static str,
    too_large: &'static str,
    too_many: &'static str,
}

static ENGLISH: Words = Words {
    uploading: "Uploading {name}",
    remove: "Remove {name}",
    failed: "could not be uploaded; try again",
    too_large: "{name} is larger than {size}, the most a file may be",
    too_many: "A message carries at most {count} files",
};

static KOREAN: Words = Words {
    uploading: "{name} 올리는 중",
    remove: "{name} 빼기",
    failed: "올리지 못했습니다. 다시 시도하세요",
    too_large: "{name}은(는) 파일 한도인 {size}보다 큽니다",
    too_many: "메시지 하나에 파일은 {count}개까지입니다",
};

fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &ENGLISH,
        Lang::Ko => &KOREAN,
    }
}

/// Tries of an upload the network broke off, before it counts as failed.
const TRIES: u8 = 3;

/// An upload under way: the request, and its progress listener.
type Sending = (XmlHttpRequest, Closure<dyn Fn(ProgressEvent)>);

/// One file attached.
struct Upload {
    key: u32,
    room: RoomId,
    file: File,
    request: Option<Sending>,
    /// How much of it went, 0 to 1.
    progress: f64,
    tries: u8,
    stored: Option<Attachment>,
    error: Option<String>,
    /// The message it goes with, once sent.
    message: Option<ClientMsgId>,
}

thread_local! {
    static HERE: Cell<Option<(Chat, &'static Words)>> = const { Cell::new(None) };
    static TRAY: RefCell<Vec<Upload>> = const { RefCell::new(Vec::new()) };
    static KEYS: Cell<u32> = const { Cell::new(0) };
    /// The messages sent that wait for their files.
    static HELD: RefCell<Vec<(RoomId, ClientMsgId)>> = const { RefCell::new(Vec::new()) };
}

fn here() -> (Chat, &'static Words) {
    HERE.get().expect("the part is entered through files_part")
}

/// Listens, once, on the whole document: the clicks of the tray's ×, the file picker,
/// pastes into the box and files dragged over and dropped on the page.
fn listen() {
    let on = |kind: &str, f: fn(Event)| {
        let f = Closure::<dyn Fn(Event)>::new(f);
        let _ = document().add_event_listener_with_callback(kind, f.as_ref().unchecked_ref());
        f.forget();
    };
    on("click", |ev| {
        let target = ev.target().and_then(|t| t.dyn_into::<Element>().ok());
        let button = target.and_then(|t| t.closest("[data-act=unattach]").ok().flatten());
        if let Some(key) = button.and_then(|b| b.get_attribute("data-key")?.parse().ok()) {
            remove(key);
        }
    });
    on("change", |ev| {
        let input =
            ev.target().and_then(|t| t.dyn_into::<HtmlInputElement>().ok()).filter(|i| i.id() == "attach-input");
        if let Some(input) = input {
            if let Some(list) = input.files() {
                attach(&list);
            }
            input.set_value("");
        }
    });
    on("paste", |ev| {
        let ev = ev.unchecked_into::<ClipboardEvent>();
        let list = ev.clipboard_data().and_then(|d| d.files()).filter(|l| l.length() > 0);
        if let (Some(list), true) = (list, in_composer(&ev)) {
            ev.prevent_default();
            attach(&list);
        }
    });
    on("dragover", |ev| {
        let ev = ev.unchecked_into::<DragEvent>();
        if let Some(data) = ev.data_transfer().filter(|d| d.types().includes(&"Files".into(), 0) && composer()) {
            ev.prevent_default();
            data.set_drop_effect("copy");
        }
    });
    on("drop", |ev| {
        let ev = ev.unchecked_into::<DragEvent>();
        let list = ev.data_transfer().and_then(|d| d.files()).filter(|l| l.length() > 0 && composer());
        if let Some(list) = list {
            ev.prevent_default();
            attach(&list);
        }
    });
}

/// Whether a composer is shown (files have a message to go with).
fn composer() -> bool {
    document().get_element_by_id("attach-input").is_some()
}

fn in_composer(ev: &Event) -> bool {
    let target = ev.target().and_then(|t| t.dyn_into::<Element>().ok());
    target.is_some_and(|t| t.closest(".composer").ok().flatten().is_some())
}

/// The most bytes a file may have, as the server said in the page.
fn most_bytes() -> Option<f64> {
    let mb = document().document_element()?.get_attribute("data-file-mb")?.parse::<f64>().ok()?;
    Some(mb * 1_048_576.0)
}

/// Attaches the files of `list` to the next message of the room shown, and starts
/// uploading each that may go.
fn attach(list: &FileList) {
    let (chat, t) = here();
    let room = chat.room.get_untracked();
    let most = most_bytes();
    for file in (0..list.length()).filter_map(|i| list.get(i)) {
        let waiting = TRAY.with_borrow(|all| all.iter().filter(|u| u.room == room && attached(u)).count());
        let name = file.name();
        let error = if waiting >= MAX_FILES {
            Some(fill(t.too_many, &[("count", &MAX_FILES.to_string())]))
        } else {
            let over = most.filter(|most| file.size() > *most);
            over.map(|most| fill(t.too_large, &[("name", &name), ("size", &size_text(most as u64))]))
        };
        let key = KEYS.get() + 1;
        KEYS.set(key);
        let ok = error.is_none();
        let upload = Upload {
            key,
            room: room.clone(),
            file,
            request: None,
            progress: 0.0,
            tries: 0,
            stored: None,
            error,
            message: None,
        };
        TRAY.with_borrow_mut(|all| all.push(upload));
        if ok {
            start(key);
        }
    }
    draw();
}

/// Whether an upload goes with the next message (not sent yet, not refused).
fn attached(u: &Upload) -> bool {
    u.message.is_none() && u.error.is_none()
}

/// Starts (or starts again) uploading file `key`.
fn start(key: u32) {
    let Some((room, file)) =
        TRAY.with_borrow(|all| all.iter().find(|u| u.key == key).map(|u| (u.room.clone(), u.file.clone())))
    else {
        return;
    };
    let Ok(request) = XmlHttpRequest::new() else { return };
    let address = format!("/files?room={}&name={}", percent_encode(room.as_str()), percent_encode(&file.name()));
    let _ = request.open("POST", &address);
    let progress = Closure::<dyn Fn(ProgressEvent)>::new(move |ev: ProgressEvent| {
        if ev.length_computable() && ev.total() > 0.0 {
            show_progress(key, ev.loaded() / ev.total());
        }
    });
    if let Ok(upload) = request.upload() {
        upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));
    }
    let done = {
        let request = request.clone();
        Closure::once_into_js(move || finished(key, &request))
    };
    request.set_onloadend(Some(done.unchecked_ref()));
    let _ = request.send_with_opt_blob(Some(&file));
    TRAY.with_borrow_mut(|all| {
        if let Some(u) = all.iter_mut().find(|u| u.key == key) {
            u.request = Some((request, progress));
        }
    });
}

fn show_progress(key: u32, part: f64) {
    TRAY.with_borrow_mut(|all| {
        if let Some(u) = all.iter_mut().find(|u| u.key == key) {
            u.progress = part;
        }
    });
    if let Ok(Some(bar)) = document().query_selector(&format!(".upload[data-key=\"{key}\"] progress")) {
        let _ = bar.set_attribute("value", &format!("{part:.2}"));
    }
}

/// Upload `key` ended: stored, refused, or broken off by the network (then it starts
/// again, a moment later, up to [`TRIES`] times).
fn finished(key: u32, request: &XmlHttpRequest) {
    let (_, t) = here();
    let status = request.status().unwrap_or(0);
    let body = request.response_text().ok().flatten().unwrap_or_default();
    let mut again = None;
    TRAY.with_borrow_mut(|all| {
        // Gone: its × cancelled it.
        let Some(u) = all.iter_mut().find(|u| u.key == key) else { return };
        u.request = None;
        match status {
            201 => match Json::parse(&body).ok().as_ref().and_then(attachment_of) {
                Some(stored) => u.stored = Some(stored),
                None => u.error = Some(t.failed.to_owned()),
            },
            0 if u.tries + 1 < TRIES => {
                u.tries += 1;
                u.progress = 0.0;
                again = Some(u.tries);
            }
            0 => u.error = Some(t.failed.to_owned()),
            _ => u.error = Some(Some(body.trim()).filter(|b| !b.is_empty()).unwrap_or(t.failed).to_owned()),
        }
    });
    if let Some(tries) = again {
        set_timeout(move || start(key), std::time::Duration::from_millis(1_000 * u64::from(tries)));
    }
    settle();
    draw();
}

/// Takes file `key` off (its ×): cancels its upload, and leaves it out of its message.
fn remove(key: u32) {
    let gone = TRAY.with_borrow_mut(|all| all.iter().position(|u| u.key == key).map(|at| all.remove(at)));
    // Cancelled after it left the list, so its end is not taken for a failure.
    if let Some((request, _progress)) = gone.and_then(|u| u.request) {
        let _ = request.abort();
    }
    settle();
    draw();
    if let Some(input) = document().get_element_by_id("message-input") {
        let _ = input.unchecked_into::<HtmlElement>().focus();
    }
}

/// Sends the files attached in the room shown with `text`: the message shows at once,
/// and goes when they are stored.
fn send(text: String) {
    let (chat, _) = here();
    let room = chat.room.get_untracked();
    let id = new_message_id();
    TRAY.with_borrow_mut(|all| {
        all.iter_mut().filter(|u| u.room == room && attached(u)).for_each(|u| u.message = Some(id.clone()));
    });
    let me = chat.my_user(false);
    let replying = chat.replying.get_untracked().map(|(seq, _)| seq);
    chat.replying.set(None);
    chat.update_timeline(&room, |t| {
        match replying {
            Some(target) => t.push_reply(id.clone(), me, text, target),
            None => t.push_pending(id.clone(), me, text),
        }
        if let Some(entry) = t.unsent_mut(&id) {
            entry.delivery = Some(Delivery::Uploading);
        }
    });
    HELD.with_borrow_mut(|held| held.push((room, id)));
    settle();
    draw();
}

/// Each message sent whose files are all stored, refused or taken off now goes: with
/// the files stored, or unsent with the reason if one was refused (its row stays, to
/// take off); a message left with neither text nor files is forgotten.
fn settle() {
    let (chat, _) = here();
    let mut flush = false;
    for (room, id) in HELD.take() {
        let (done, stored, refused) = TRAY.with_borrow(|all| {
            let mine = || all.iter().filter(|u| u.message.as_ref() == Some(&id));
            let done = mine().all(|u| u.stored.is_some() || u.error.is_some());
            (done, mine().filter_map(|u| u.stored.clone()).collect::<Vec<_>>(), mine().any(|u| u.error.is_some()))
        });
        if !done {
            HELD.with_borrow_mut(|held| held.push((room, id)));
            continue;
        }
        TRAY.with_borrow_mut(|all| {
            all.retain(|u| u.message.as_ref() != Some(&id) || u.error.is_some());
            all.iter_mut().filter(|u| u.message.as_ref() == Some(&id)).for_each(|u| u.message = None);
        });
        chat.update_timeline(&room, |t| {
            let Some(entry) = t.unsent_mut(&id) else { return };
            entry.files = stored;
            if refused {
                entry.delivery = Some(Delivery::Failed(ErrorReason::BadFile));
            } else if entry.files.is_empty() && entry.text.is_empty() {
                t.drop_unsent(&id);
            } else {
                entry.delivery = Some(Delivery::Pending);
                flush = true;
            }
        });
    }
    if flush {
        chat.intend(Intent::Flush);
    }
}

/// Draws the tray of the room shown: each file with its size and its progress (or why
/// it was refused) and a ×; and says how many go with the next message.
fn draw() {
    let (chat, t) = here();
    let room = chat.room.get_untracked();
    let mut html = String::new();
    let mut count = 0;
    TRAY.with_borrow(|all| {
        for u in all.iter().filter(|u| u.room == room) {
            count += usize::from(attached(u));
            let name = u.file.name();
            html.push_str(&format!("<li class=\"upload\" data-testid=\"upload\" data-key=\"{}\"><span class=\"upload-name\">", u.key));
            escape(&mut html, &name);
            html.push_str(&format!("</span> <span class=\"upload-size\">{}</span> ", size_text(u.file.size() as u64)));
            match (&u.error, &u.stored) {
                (Some(why), _) => {
                    html.push_str("<span class=\"upload-error\" role=\"alert\" data-testid=\"upload-error\">");
                    escape(&mut html, why);
                    html.push_str("</span>");
                }
                (None, Some(_)) => html.push_str("<progress max=\"1\" value=\"1\" data-testid=\"upload-progress\" aria-label=\""),
                (None, None) => html.push_str(&format!(
                    "<progress max=\"1\" value=\"{:.2}\" data-testid=\"upload-progress\" aria-label=\"",
                    u.progress
                )),
            }
            if u.error.is_none() {
                escape(&mut html, &fill(t.uploading, &[("name", &name)]));
                html.push_str("\"></progress>");
            }
            html.push_str(&format!(
                " <button type=\"button\" class=\"link\" data-act=\"unattach\" data-key=\"{}\" data-testid=\"remove-upload\" aria-label=\"",
                u.key
            ));
            escape(&mut html, &fill(t.remove, &[("name", &name)]));
            html.push_str("\">×</button></li>");
        }
    });
    if let Some(tray) = tray() {
        tray.set_inner_html(&html);
        let _ = tray.toggle_attribute_with_force("hidden", html.is_empty());
    }
    chat.attached.set(count);
}
