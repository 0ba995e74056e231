//! The picture viewer: a message's picture opens large in a dialog over the page (its
//! link opens the picture itself without JavaScript). Esc or × closes it, Left and
//! Right go to the other pictures shown; its text alternative is the file's name. The
//! dialog is fixed HTML of the composer's (`uploads::parts_html`), whose listener
//! passes it its keys.

use leptos::prelude::*;
use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{Element, Event, HtmlDialogElement, KeyboardEvent};

/// Left and Right in the open viewer: the picture before or after, among those shown.
pub fn keys(ev: &Event) {
    let step: i32 = match ev.unchecked_ref::<KeyboardEvent>().key().as_str() {
        "ArrowLeft" => -1,
        "ArrowRight" => 1,
        _ => return,
    };
    let Some(dialog) = document().get_element_by_id("viewer").filter(|d| d.has_attribute("open")) else { return };
    ev.prevent_default();
    let Ok(all) = document().query_selector_all("[data-act=view]") else { return };
    let shown = dialog.get_attribute("data-href");
    let links: Vec<Element> = (0..all.length()).filter_map(|i| all.item(i)?.dyn_into().ok()).collect();
    let at = links.iter().position(|l| l.get_attribute("href") == shown).unwrap_or(0) as i32;
    if let Some(next) = links.get((at + step).clamp(0, links.len() as i32 - 1) as usize) {
        open(next);
    }
}

/// Shows the picture of `link` (a message's picture) in the viewer.
pub fn open(link: &Element) {
    let Some(dialog) = document().get_element_by_id("viewer") else { return };
    let href = link.get_attribute("href").unwrap_or_default();
    let name = link.query_selector("img").ok().flatten().and_then(|i| i.get_attribute("alt")).unwrap_or_default();
    if let (Ok(Some(img)), Ok(Some(caption))) = (dialog.query_selector("img"), dialog.query_selector("p")) {
        let _ = img.set_attribute("src", &href);
        let _ = img.set_attribute("alt", &name);
        caption.set_text_content(Some(&name));
    }
    let _ = dialog.set_attribute("data-href", &href);
    if !dialog.has_attribute("open") {
        let _ = dialog.unchecked_into::<HtmlDialogElement>().show_modal();
    }
}
