//! Where the arrow keys move the focus in the message list, which is one Tab stop:
//! from message to message, through a message's links and buttons, and between the
//! emoji of a reaction picker, and between the pictures of the list while one is open;
//! and where the focus goes when its row is drawn anew.

use crate::chat::Chat;
use leptos::prelude::*;

/// The emoji of its picker an arrow key, Home or End moves to from `from`, when it is
/// one: a row is as many as the style sheet lays side by side.
pub fn pick_after(from: web_sys::Element, key: &str) -> Option<web_sys::Element> {
    let picker = from.parent_element().filter(|_| from.class_name() == "pick")?;
    let row = picker.client_width() / from.client_width().max(1);
    let (steps, forward) = match key {
        "ArrowRight" => (1, true),
        "ArrowLeft" => (1, false),
        "ArrowDown" => (row, true),
        "ArrowUp" => (row, false),
        "Home" => return picker.first_element_child(),
        "End" => return picker.last_element_child(),
        _ => return None,
    };
    (0..steps).try_fold(from, |at, _| match forward {
        true => at.next_element_sibling(),
        false => at.previous_element_sibling(),
    })
}

/// With a picture open over the page (`open`, its viewer), Left or Right opens the one
/// before or after it in the list instead (an open viewer closes when another opens):
/// the new viewer's close button, to focus.
pub fn picture_after(open: &web_sys::Element, key: &str) -> Option<web_sys::Element> {
    use leptos::wasm_bindgen::JsCast;
    let back = match key {
        "ArrowLeft" => true,
        "ArrowRight" => false,
        _ => return None,
    };
    let all = document().query_selector_all(".viewer").ok()?;
    let at = (0..all.length()).find(|i| all.item(*i).as_ref() == Some(open.as_ref()))?;
    let next = all.item(if back { at.checked_sub(1)? } else { at + 1 })?.dyn_into::<web_sys::HtmlElement>().ok()?;
    next.show_popover().ok()?;
    next.last_element_child()
}

/// Where Up or Down (from message to message; from the list itself Up goes to the
/// newest), or Left or Right (through the links and buttons the message shows) moves
/// the focus from `from`.
pub fn step_in_list(from: &web_sys::Element, key: &str) -> Option<web_sys::Element> {
    use leptos::wasm_bindgen::JsCast;
    let row = from.closest("[data-testid=message]").ok().flatten();
    let up = matches!(key, "ArrowUp" | "ArrowLeft");
    let step = |e: &web_sys::Element| if up { e.previous_element_sibling() } else { e.next_element_sibling() };
    match key {
        _ if from.class_name() == "pick" => None,
        "ArrowUp" | "ArrowDown" => {
            let mut at = match &row {
                Some(row) => step(row),
                None if up => from.last_element_child(),
                None => None,
            };
            while let Some(e) = at {
                if e.get_attribute("data-testid").as_deref() == Some("message") {
                    return Some(e);
                }
                at = step(&e);
            }
            None
        }
        "ArrowLeft" | "ArrowRight" => {
            let all = row?.query_selector_all("a, button, summary").ok()?;
            let shown: Vec<web_sys::HtmlElement> = (0..all.length())
                .filter_map(|i| all.item(i)?.dyn_into::<web_sys::HtmlElement>().ok())
                .filter(|e| e.offset_parent().is_some())
                .collect();
            let to = match shown.iter().position(|e| from == e.as_ref() as &web_sys::Element) {
                None if up => shown.len().checked_sub(1)?,
                None => 0,
                Some(at) if up => at.checked_sub(1)?,
                Some(at) => at + 1,
            };
            shown.get(to).map(|e| e.clone().into())
        }
        _ => None,
    }
}

/// The keyboard's place survives a row drawn anew (a reaction, an edit, a delete):
/// what had the focus in a message, now gone from the page with its old row, gives it
/// to the same control of the message's new row (`focus_in_list` finds it). The list's
/// `focusin` handler.
pub fn keep_focus_across_redraws(
    chat: Chat,
    focus_in_list: impl Fn(String) + Copy + 'static,
) -> impl Fn(leptos::ev::FocusEvent) + Copy + 'static {
    let kept = StoredValue::new_local(None::<(web_sys::Element, String)>);
    Effect::new(move |_| {
        chat.timelines.track();
        if kept.with_value(Option::is_none) {
            return;
        }
        request_animation_frame(move || {
            let Some((had, place)) = kept.get_value() else { return };
            let active = document().active_element();
            let lost = active.is_none() || active == document().body().map(Into::into);
            if !had.is_connected() && lost {
                focus_in_list(place);
            }
        });
    });
    move |ev: leptos::ev::FocusEvent| {
        let target: web_sys::Element = event_target(&ev);
        let row = target.closest("[data-seq]").ok().flatten();
        let place = row.and_then(|row| {
            let seq = row.get_attribute("data-seq")?;
            Some(match target.get_attribute("data-act") {
                Some(act) => format!("li[data-seq=\"{seq}\"] [data-act=\"{act}\"]"),
                None => format!("li[data-seq=\"{seq}\"]"),
            })
        });
        kept.set_value(place.map(|place| (target, place)));
    }
}
