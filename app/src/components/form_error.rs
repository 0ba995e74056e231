//! The page's small forms (a name, a room to open) are fixed HTML with one submit
//! listener: what was typed is read from the form, and what is wrong with it is said in
//! the line under it (`role="alert"`, hidden while nothing is wrong).

use leptos::wasm_bindgen::JsCast;
use leptos::web_sys::{Element, HtmlInputElement};

/// The form a submit event is of, if its class is `class`, and its box; the event then
/// sends nothing (the page acts on it).
pub fn submitted(ev: &leptos::ev::SubmitEvent, class: &str) -> Option<(Element, HtmlInputElement)> {
    let form = ev.target()?.dyn_into::<Element>().ok().filter(|f| f.class_name() == class)?;
    ev.prevent_default();
    let input = form.query_selector("input").ok().flatten()?.dyn_into::<HtmlInputElement>().ok()?;
    Some((form, input))
}

/// Says what is wrong with what was typed in `form` (as a sentence), or nothing.
pub fn say(form: &Element, problem: Option<&str>) {
    if let Ok(Some(line)) = form.query_selector("[role=alert]") {
        let _ = line.toggle_attribute_with_force("hidden", problem.is_none());
        line.set_text_content(problem.map(sentence).as_deref());
    }
}

/// The line under a form, for its HTML: empty and hidden until something is wrong.
pub fn line(testid: &str) -> String {
    format!("<p class=\"form-error\" role=\"alert\" data-testid=\"{testid}\" hidden></p>")
}

/// `text` with its first letter a capital (the reasons start with an ASCII letter, or
/// with a letter that has no capital; Unicode's case tables would cost page size).
pub fn sentence(text: &str) -> String {
    let mut chars = text.chars();
    chars.next().map(|first| std::iter::once(first.to_ascii_uppercase()).chain(chars).collect()).unwrap_or_default()
}
