//! Where the arrow keys move the focus in the message list, which is one Tab stop:
//! from message to message, through a message's links and buttons, and between the
//! emoji of a reaction picker.

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
