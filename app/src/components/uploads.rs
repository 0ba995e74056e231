//! Files attached to the next message: chosen with the paper-clip button, dropped on
//! the composer, or pasted (a screenshot). Each is uploaded at once (`POST /files`, one
//! request per file) with a progress bar and a × that cancels it; the message goes
//! when every one is stored, its `send` naming them. A file over the server's size
//! limit (`data-file-max` on the page) is refused before a byte is sent; the server's
//! own refusals are shown as it words them.
//!
//! The list, the file box and the picture viewer are fixed HTML kept by hand, the
//! files on their way are plain state of the page, and one listener on the document
//! takes all their events: every typed view, handler, effect and signal type costs the
//! page's WebAssembly.

use crate::locale::{fill, Locale};
use crate::markdown::escape;
use leptos::prelude::*;
use leptos::wasm_bindgen::{closure::Closure, JsCast};
use leptos::web_sys::{self, ClipboardEvent, DragEvent, Element, Event, File, FileList, XmlHttpRequest};
use palaver_protocol::{json, percent_encode, Attachment};
use std::cell::RefCell;

/// One file on its way, or stored.
struct Upload {
    key: u32,
    xhr: Option<XmlHttpRequest>,
    /// Stored: what the message names.
    done: Option<Attachment>,
}

/// The files of the next message.
#[derive(Default)]
struct State {
    list: Vec<Upload>,
    next_key: u32,
    /// Send was asked for while files were on their way: the message goes once they
    /// are all stored.
    waiting: bool,
    /// How many are stored: the composer's Send button follows it.
    stored: Option<RwSignal<usize>>,
    /// The room on screen, which files go to.
    room: Option<RwSignal<palaver_protocol::RoomId>>,
    listening: bool,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::default();
}

fn with<T>(f: impl FnOnce(&mut State) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// The composer's element matching `selector`.
fn part(selector: &str) -> Option<Element> {
    document().query_selector(&format!(".composer-area {selector}")).ok().flatten()
}

/// A new composer: its files start empty (any still on their way stop), `stored` counts
/// them, and the document's one listener is set up (the first time).
pub fn start(stored: RwSignal<usize>, room: RwSignal<palaver_protocol::RoomId>) {
    let (gone, listen) = with(|s| {
        s.stored = Some(stored);
        s.room = Some(room);
        s.waiting = false;
        (std::mem::take(&mut s.list), !std::mem::replace(&mut s.listening, true))
    });
    gone.into_iter().filter_map(|u| u.xhr).for_each(|x| drop(x.abort()));
    if listen {
        let on_event = listener(on_event);
        for kind in ["click", "change", "dragover", "drop", "paste", "keydown"] {
            let _ = document().add_event_listener_with_callback(kind, &on_event);
        }
    }
}

/// Files not stored (on their way, or refused: removed with their ×).
pub fn unstored() -> usize {
    with(|s| s.list.iter().filter(|u| u.done.is_none()).count())
}

/// Send was asked for while files are on their way: it is, once they are stored.
pub fn wait() {
    with(|s| s.waiting = true);
    show_waiting(true);
}

fn show_waiting(waiting: bool) {
    if let Some(note) = part("[data-testid=sends-after-upload]") {
        let _ = note.toggle_attribute_with_force("hidden", !waiting);
    }
}

fn count() {
    let (stored, n) = with(|s| (s.stored, s.list.iter().filter(|u| u.done.is_some()).count()));
    if let Some(stored) = stored {
        stored.set(n);
    }
}

/// The stored files, for the message being sent: the list is then empty.
pub fn take() -> Vec<Attachment> {
    let taken = with(|s| s.list.drain(..).filter_map(|u| u.done).collect());
    if let Some(ul) = part("ul.uploads") {
        ul.set_inner_html("");
    }
    count();
    taken
}

/// Uploads `files` to the room on screen, each on its own: whether there were any.
fn add(files: Option<FileList>) -> bool {
    let Some(files) = files.filter(|f| f.length() > 0) else { return false };
    let max = document()
        .document_element()
        .and_then(|e| e.get_attribute("data-file-max"))
        .and_then(|m| m.parse::<u64>().ok())
        .unwrap_or(u64::MAX);
    let Some(room) = with(|s| s.room).map(|r| r.get_untracked()) else { return false };
    for file in (0..files.length()).filter_map(|i| files.item(i)) {
        upload(file, room.as_str(), max);
    }
    count();
    true
}

fn upload(file: File, room: &str, max: u64) {
    let Some(ul) = part("ul.uploads") else { return };
    let t = Locale::get().t();
    let key = with(|s| {
        s.next_key += 1;
        s.next_key
    });
    let name = file.name();
    let mut html = format!("<li data-key=\"{key}\" data-testid=\"upload\"><span>");
    escape(&mut html, &name);
    html.push_str(&format!(
        "</span> <progress max=\"100\" value=\"0\"></progress> <button type=\"button\" class=\"link\" data-testid=\"cancel-upload\" aria-label=\"{0}\" title=\"{0}\">×</button></li>",
        t.remove_file
    ));
    let _ = ul.insert_adjacent_html("beforeend", &html);
    let Some(li) = ul.last_element_child() else { return };
    let mut upload = Upload { key, xhr: None, done: None };
    if file.size() as u64 > max {
        failed(&li, &fill(t.file_too_large, &[("max", &(max >> 20).to_string())]));
    } else if let Ok(xhr) = XmlHttpRequest::new() {
        let url = format!("/files?room={room}&name={}", percent_encode(&name));
        let progress = li.query_selector("progress").ok().flatten();
        if let (Ok(sending), Some(bar)) = (xhr.upload(), progress) {
            sending.set_onprogress(Some(&listener(move |e| {
                let e: &web_sys::ProgressEvent = e.unchecked_ref();
                // (Whole percents: formatting a float would cost the page kilobytes.)
                let percent = (e.loaded() as u64 * 100 / (e.total() as u64).max(1)) as u32;
                let _ = bar.set_attribute("value", &percent.to_string());
            })));
        }
        xhr.set_onloadend(Some(&listener(move |_| ended(key, &li))));
        if xhr.open("POST", &url).and_then(|_| xhr.send_with_opt_blob(Some(&file))).is_ok() {
            upload.xhr = Some(xhr);
        }
    }
    with(|s| s.list.push(upload));
}

/// An upload came to its end: stored, or refused (the server's words), or cut off.
fn ended(key: u32, li: &Element) {
    let Some(xhr) = with(|s| s.list.iter().find(|u| u.key == key).and_then(|u| u.xhr.clone())) else { return };
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    let stored = (xhr.status() == Ok(201)).then(|| json::Json::parse(&body).ok()).flatten();
    match stored.as_ref().and_then(json::attachment_of) {
        Some(file) => {
            let _ = li.class_list().add_1("done");
            with(|s| s.list.iter_mut().filter(|u| u.key == key).for_each(|u| u.done = Some(file.clone())));
        }
        None if body.is_empty() => failed(li, Locale::get().t().upload_stopped),
        None => failed(li, body.trim()),
    }
    count();
    if unstored() == 0 && with(|s| std::mem::take(&mut s.waiting)) {
        show_waiting(false);
        // The message waiting for its files goes, as if Send were pressed again.
        if let Some(form) = part("form.composer") {
            let _ = form.unchecked_into::<web_sys::HtmlFormElement>().request_submit();
        }
    }
}

/// The × of file `key`: its upload stops, and it is no longer attached.
fn remove(key: u32) {
    let gone = with(|s| s.list.iter().position(|u| u.key == key).map(|at| s.list.remove(at)));
    // (Its end comes at once, and finds it gone.)
    if let Some(xhr) = gone.filter(|u| u.done.is_none()).and_then(|u| u.xhr) {
        let _ = xhr.abort();
    }
    if let Some(li) = part(&format!("[data-key=\"{key}\"]")) {
        li.remove();
    }
    count();
}

/// Says why a file is not attached, in place of its progress bar.
fn failed(li: &Element, why: &str) {
    if let Ok(Some(bar)) = li.query_selector("progress") {
        let mut html = String::from("<span class=\"upload-error\" role=\"alert\">");
        escape(&mut html, why);
        html.push_str("</span>");
        let _ = bar.insert_adjacent_html("afterend", &html);
        bar.remove();
    }
}

/// A JavaScript function calling `f` with each event (kept for the page's life): every
/// listener here has this one type, so its glue is in the page once.
fn listener(f: impl Fn(Event) + 'static) -> web_sys::js_sys::Function {
    Closure::<dyn Fn(Event)>::new(f).into_js_value().unchecked_into()
}

/// The fixed HTML of the files' parts of the composer: the list of files attached, the
/// note that the message waits for them, the hidden file box, and the picture viewer
/// (`viewer.rs`).
pub fn parts_html(locale: Locale) -> String {
    let t = locale.t();
    let mut html = String::from(
        "<ul class=\"uploads\" data-testid=\"uploads\"></ul><p class=\"composer-hint\" data-testid=\"sends-after-upload\" hidden>",
    );
    escape(&mut html, t.sends_after_upload);
    html.push_str(&format!(
        "</p><input type=\"file\" multiple hidden data-testid=\"file-input\">\
         <dialog id=\"viewer\" class=\"viewer\" data-testid=\"viewer\"><img alt=\"\"><p></p><form method=\"dialog\">\
         <button data-testid=\"close-viewer\" aria-label=\"{0}\" title=\"{0}\">×</button></form></dialog>",
        t.close
    ));
    html
}

/// What the composer's files and the viewer do with an event of the document: the
/// paper clip's click and the file box's change, a drop, a paste of files, a file's ×,
/// and the viewer's Left and Right.
fn on_event(ev: Event) {
    let Some(target) = ev.target().and_then(|t| t.dyn_into::<Element>().ok()) else { return };
    let kind = ev.type_();
    // Files dropped anywhere on a page with a composer; the rest in the composer.
    let here = match kind.as_str() {
        "dragover" | "drop" => part("ul.uploads").is_some(),
        _ => target.closest(".composer-area").ok().flatten().is_some(),
    };
    if !here {
        return;
    }
    match kind.as_str() {
        "click" => {
            let Ok(Some(button)) = target.closest("button") else { return };
            if button.class_name() == "attach" {
                if let Some(input) = part("input[type=file]") {
                    input.unchecked_ref::<web_sys::HtmlElement>().click();
                }
            } else if let Ok(Some(li)) = button.closest("li[data-key]") {
                remove(li.get_attribute("data-key").and_then(|k| k.parse().ok()).unwrap_or_default());
            }
        }
        "change" => {
            let input: &web_sys::HtmlInputElement = target.unchecked_ref();
            add(input.files());
            input.set_value("");
        }
        "dragover" => ev.prevent_default(),
        "drop" => {
            ev.prevent_default();
            add(ev.unchecked_ref::<DragEvent>().data_transfer().and_then(|d| d.files()));
        }
        // A pasted screenshot (or files copied) is attached; text is typed.
        "paste" => {
            if add(ev.unchecked_ref::<ClipboardEvent>().clipboard_data().and_then(|d| d.files())) {
                ev.prevent_default();
            }
        }
        _ => super::viewer::keys(&ev),
    }
}
