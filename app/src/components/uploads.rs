//! Files attached to the next message: chosen with the paper-clip button, dropped on
//! the composer, or pasted (a screenshot). Each is uploaded at once (`POST /files`, one
//! request per file) with a progress bar and a × that cancels it; the message goes
//! when every one is stored, its `send` naming them. A file over the server's size
//! limit (`data-file-max` on the page) is refused before a byte is sent; the server's
//! own refusals are shown as it words them. The list is a few DOM nodes the page keeps
//! by hand (no view per file).

use crate::locale::{fill, Locale};
use crate::markdown::escape;
use leptos::prelude::*;
use leptos::wasm_bindgen::{closure::Closure, JsCast};
use leptos::web_sys::{self, Element, File, FileList, XmlHttpRequest};
use palaver_protocol::{json, percent_encode, Attachment, RoomId};

/// One file on its way, or stored.
struct Upload {
    key: u32,
    xhr: Option<XmlHttpRequest>,
    /// Stored: what the message names.
    done: Option<Attachment>,
}

/// The files of the next message.
#[derive(Clone, Copy)]
pub struct Uploads {
    list: StoredValue<Vec<Upload>, LocalStorage>,
    /// Files stored, and those not (on their way, or refused: removed with their ×).
    pub counts: RwSignal<(usize, usize)>,
    /// Send was asked for while files were on their way: the message goes once they
    /// are all stored.
    pub waiting: RwSignal<bool>,
    pub node: NodeRef<leptos::html::Ul>,
}

impl Default for Uploads {
    fn default() -> Uploads {
        let list = StoredValue::new_local(Vec::new());
        Uploads { list, counts: RwSignal::new((0, 0)), waiting: RwSignal::new(false), node: NodeRef::new() }
    }
}

impl Uploads {
    fn count(&self) {
        let (done, all) = self.list.with_value(|l| (l.iter().filter(|u| u.done.is_some()).count(), l.len()));
        self.counts.set((done, all - done));
    }

    /// Uploads `files` to `room`, each on its own.
    pub fn add(&self, files: FileList, room: &RoomId, locale: Locale) {
        let max = document()
            .document_element()
            .and_then(|e| e.get_attribute("data-file-max"))
            .and_then(|m| m.parse::<f64>().ok())
            .unwrap_or(f64::MAX);
        for file in (0..files.length()).filter_map(|i| files.item(i)) {
            self.start(file, room, max, locale);
        }
        self.count();
    }

    fn start(&self, file: File, room: &RoomId, max: f64, locale: Locale) {
        let Some(ul) = self.node.get_untracked() else { return };
        let t = locale.t();
        let key = self.list.with_value(|l| l.last().map_or(0, |u| u.key + 1));
        let name = file.name();
        let mut html = format!("<li data-key=\"{key}\" data-testid=\"upload\"><span>");
        escape(&mut html, &name);
        html.push_str(&format!(
            "</span> <progress max=\"1\" value=\"0\"></progress> <button type=\"button\" class=\"link\" data-testid=\"cancel-upload\" aria-label=\"{0}\" title=\"{0}\">×</button></li>",
            t.remove_file
        ));
        let _ = ul.insert_adjacent_html("beforeend", &html);
        let Some(li) = ul.last_element_child() else { return };
        let mut upload = Upload { key, xhr: None, done: None };
        if file.size() > max {
            let mb = (max / 1_048_576.0).round().to_string();
            failed(&li, &fill(t.file_too_large, &[("max", &mb)]));
        } else if let Ok(xhr) = XmlHttpRequest::new() {
            let url = format!("/files?room={room}&name={}", percent_encode(&name));
            let progress = li.query_selector("progress").ok().flatten();
            if let (Ok(sending), Some(bar)) = (xhr.upload(), progress) {
                let on_progress = Closure::<dyn Fn(web_sys::ProgressEvent)>::new(move |e: web_sys::ProgressEvent| {
                    let _ = bar.set_attribute("value", &(e.loaded() / e.total().max(1.0)).to_string());
                });
                sending.set_onprogress(Some(on_progress.into_js_value().unchecked_ref()));
            }
            let this = *self;
            let on_end = Closure::once_into_js(move || this.ended(key, li, locale));
            xhr.set_onloadend(Some(on_end.unchecked_ref()));
            if xhr.open("POST", &url).and_then(|_| xhr.send_with_opt_blob(Some(&file))).is_ok() {
                upload.xhr = Some(xhr);
            }
        }
        self.list.update_value(|l| l.push(upload));
    }

    /// An upload came to its end: stored, or refused (the server's words), or cut off.
    fn ended(&self, key: u32, li: Element, locale: Locale) {
        let xhr = self.list.with_value(|l| l.iter().find(|u| u.key == key).and_then(|u| u.xhr.clone()));
        let Some(xhr) = xhr else { return };
        let body = xhr.response_text().ok().flatten().unwrap_or_default();
        let stored = (xhr.status() == Ok(201)).then(|| json::Json::parse(&body).ok()).flatten();
        match stored.as_ref().and_then(json::attachment_of) {
            Some(file) => {
                let _ = li.class_list().add_1("done");
                self.list.update_value(|l| {
                    if let Some(u) = l.iter_mut().find(|u| u.key == key) {
                        u.done = Some(file);
                    }
                });
            }
            None if body.is_empty() => failed(&li, locale.t().upload_stopped),
            None => failed(&li, body.trim()),
        }
        self.count();
    }

    /// The × of file `key`: its upload stops, and it is no longer attached.
    pub fn remove(&self, key: u32) {
        let mut gone = None;
        self.list.update_value(|l| gone = l.iter().position(|u| u.key == key).map(|at| l.remove(at)));
        // (Its end comes at once, and finds it gone.)
        if let Some(xhr) = gone.filter(|u| u.done.is_none()).and_then(|u| u.xhr) {
            let _ = xhr.abort();
        }
        if let Some(li) =
            self.node.get_untracked().and_then(|ul| ul.query_selector(&format!("[data-key=\"{key}\"]")).ok().flatten())
        {
            li.remove();
        }
        self.count();
    }

    /// The stored files, for the message being sent: the list is then empty.
    pub fn take(&self) -> Vec<Attachment> {
        let mut taken = Vec::new();
        self.list.update_value(|l| taken = l.drain(..).filter_map(|u| u.done).collect());
        if let Some(ul) = self.node.get_untracked() {
            ul.set_inner_html("");
        }
        self.count();
        taken
    }
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
