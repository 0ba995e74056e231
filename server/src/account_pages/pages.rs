//! The accounts' pages as HTML, in the reader's language: signing in, signing up,
//! creating the owner account on first run, and what an error in a form says. Plain
//! forms that work without JavaScript; the server writes them whole.

use crate::accounts::names::BadHandle;
use crate::accounts::password::{Weak, MIN_CHARS};
use crate::accounts::Refusal;
use app::locale::{iso_time, Lang};
use app::markdown::escape;

/// Which form a page holds.
pub enum Form {
    SignIn,
    /// Signing up, with the invite link's code if there is one.
    SignUp {
        invite: Option<String>,
    },
    /// The first-run page: the owner account.
    Setup {
        code: String,
    },
}

/// What was typed, written back into the form after an error (never the password).
#[derive(Default)]
pub struct Typed<'a> {
    pub handle: &'a str,
    pub display_name: &'a str,
}

/// The pages' words, in each language.
pub(super) struct Words {
    pub sign_in: &'static str,
    pub sign_in_title: &'static str,
    pub sign_up_title: &'static str,
    pub setup_title: &'static str,
    pub setup_intro: &'static str,
    pub handle: &'static str,
    pub handle_hint: &'static str,
    pub display_name: &'static str,
    pub password: &'static str,
    pub password_hint: &'static str,
    pub create: &'static str,
    pub no_account: &'static str,
    pub have_account: &'static str,
    pub back: &'static str,
    pub passkey_sign_in: &'static str,
    pub closed: &'static str,
    pub wrong: &'static str,
    pub suspended: &'static str,
    pub too_many: &'static str,
    pub busy: &'static str,
    pub taken: &'static str,
    pub owner_taken: &'static str,
    pub invite_spent: &'static str,
    pub already: &'static str,
    pub unavailable: &'static str,
    pub handle_length: &'static str,
    pub handle_chars: &'static str,
    pub handle_start: &'static str,
    pub weak_short: &'static str,
    pub weak_long: &'static str,
    pub weak_common: &'static str,
    pub weak_handle: &'static str,
}

static WORDS: [Words; 2] = [
    Words {
        sign_in: "Sign in",
        sign_in_title: "Sign in to Palaver",
        sign_up_title: "Create your Palaver account",
        setup_title: "Create the owner account",
        setup_intro: "This Palaver has no owner yet. The account made here owns it: it invites people and decides who may join.",
        handle: "Handle",
        handle_hint: "How people @mention you: lowercase letters, digits, '.', '_' and '-'.",
        display_name: "Display name",
        password: "Password",
        password_hint: "At least {min} characters, and not a common password.",
        create: "Create account",
        no_account: "No account yet? Sign up",
        have_account: "Have an account? Sign in",
        back: "Back to the chat",
        passkey_sign_in: "Sign in with a passkey",
        closed: "Signing up here needs an invite link. Ask someone in the workspace for one.",
        wrong: "That handle and password do not match an account.",
        suspended: "This account is suspended. Ask an admin of the workspace.",
        too_many: "Too many sign-in attempts. Try again in {seconds} seconds.",
        busy: "The server is busy signing people in. Try again in a moment.",
        taken: "That handle is taken (or one that looks just like it). Choose another.",
        owner_taken: "This Palaver already has an owner. Sign in instead.",
        invite_spent: "This invite link has expired, been used up or revoked. Ask for a new one.",
        already: "You already have an account. Sign in instead.",
        unavailable: "The server cannot do that right now. Try again in a moment.",
        handle_length: "A handle has 2 to 32 characters.",
        handle_chars: "A handle has only lowercase letters, digits, '.', '_' and '-'.",
        handle_start: "A handle starts with a letter or a digit.",
        weak_short: "A password has at least {min} characters.",
        weak_long: "That password is too long.",
        weak_common: "That password is among the most common ones. Choose another.",
        weak_handle: "A password must be more than your handle.",
    },
    Words {
        sign_in: "로그인",
        sign_in_title: "Palaver 로그인",
        sign_up_title: "Palaver 계정 만들기",
        setup_title: "소유자 계정 만들기",
        setup_intro: "이 Palaver에는 아직 소유자가 없습니다. 여기서 만드는 계정이 소유자가 되어 사람들을 초대하고 누가 참여할지 정합니다.",
        handle: "핸들",
        handle_hint: "다른 사람이 @멘션할 때 쓰는 이름입니다. 소문자, 숫자, '.', '_', '-'를 쓸 수 있습니다.",
        display_name: "표시 이름",
        password: "비밀번호",
        password_hint: "{min}자 이상이며 흔한 비밀번호가 아니어야 합니다.",
        create: "계정 만들기",
        no_account: "계정이 없나요? 가입하기",
        have_account: "계정이 있나요? 로그인",
        back: "채팅으로 돌아가기",
        passkey_sign_in: "패스키로 로그인",
        closed: "여기서 가입하려면 초대 링크가 필요합니다. 워크스페이스의 누군가에게 요청하세요.",
        wrong: "핸들과 비밀번호가 일치하는 계정이 없습니다.",
        suspended: "정지된 계정입니다. 워크스페이스 관리자에게 문의하세요.",
        too_many: "로그인 시도가 너무 많습니다. {seconds}초 뒤에 다시 시도하세요.",
        busy: "서버가 로그인을 처리하느라 바쁩니다. 잠시 뒤에 다시 시도하세요.",
        taken: "이미 쓰이는 핸들입니다(또는 똑같아 보이는 핸들이 있습니다). 다른 핸들을 고르세요.",
        owner_taken: "이 Palaver에는 이미 소유자가 있습니다. 로그인하세요.",
        invite_spent: "이 초대 링크는 만료되었거나 다 쓰였거나 취소되었습니다. 새 링크를 요청하세요.",
        already: "이미 계정이 있습니다. 로그인하세요.",
        unavailable: "지금은 서버가 그 일을 할 수 없습니다. 잠시 뒤에 다시 시도하세요.",
        handle_length: "핸들은 2~32자입니다.",
        handle_chars: "핸들에는 소문자, 숫자, '.', '_', '-'만 쓸 수 있습니다.",
        handle_start: "핸들은 문자나 숫자로 시작해야 합니다.",
        weak_short: "비밀번호는 {min}자 이상이어야 합니다.",
        weak_long: "비밀번호가 너무 깁니다.",
        weak_common: "아주 흔한 비밀번호입니다. 다른 비밀번호를 고르세요.",
        weak_handle: "비밀번호는 핸들보다 길고 달라야 합니다.",
    },
];

pub(super) fn words(lang: Lang) -> &'static Words {
    match lang {
        Lang::En => &WORDS[0],
        Lang::Ko => &WORDS[1],
    }
}

/// What a refusal says to the person who typed the form.
pub fn refusal(lang: Lang, refusal: &Refusal) -> String {
    let w = words(lang);
    let text = match refusal {
        Refusal::BadHandle(BadHandle::Length) => w.handle_length,
        Refusal::BadHandle(BadHandle::Character) => w.handle_chars,
        Refusal::BadHandle(BadHandle::Start) => w.handle_start,
        Refusal::BadName(problem) => return lang.texts().invalid(*problem),
        Refusal::Weak(Weak::Short) => w.weak_short,
        Refusal::Weak(Weak::Long) => w.weak_long,
        Refusal::Weak(Weak::Common) => w.weak_common,
        Refusal::Weak(Weak::IsTheHandle) => w.weak_handle,
        Refusal::HandleTaken => w.taken,
        Refusal::OwnerTaken => w.owner_taken,
        Refusal::InviteSpent => w.invite_spent,
        Refusal::SignUpClosed => w.closed,
        Refusal::WrongPassword => w.wrong,
        Refusal::Suspended => w.suspended,
        Refusal::TooMany(wait) => return w.too_many.replace("{seconds}", &wait.as_secs().max(1).to_string()),
        Refusal::Busy => w.busy,
        Refusal::AlreadyAnAccount => w.already,
        Refusal::Unavailable => w.unavailable,
    };
    text.replace("{min}", &MIN_CHARS.to_string())
}

/// A whole page: `title`, then `body` (already HTML).
pub(crate) fn page(lang: Lang, title: &str, body: &str) -> String {
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"{}\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>",
        lang.code()
    );
    escape(&mut html, title);
    html.push_str(
        " · Palaver</title><link rel=\"icon\" type=\"image/svg+xml\" href=\"/favicon.svg\">\
         <link rel=\"stylesheet\" href=\"/pkg/palaver.css\"><script src=\"/passkeys.js\" defer></script>\
         <script src=\"/push.js\" defer></script>\
         </head><body><main class=\"account-page\">",
    );
    html.push_str(body);
    html.push_str("</main></body></html>");
    html
}

/// A labelled input; `hint` is said after the label (and read with the field).
pub(crate) fn field(
    html: &mut String,
    name: &str,
    label: &str,
    kind: &str,
    value: &str,
    extra: &str,
    hint: Option<&str>,
) {
    html.push_str(&format!("<label for=\"{name}\">"));
    escape(html, label);
    html.push_str("</label>");
    if let Some(hint) = hint {
        html.push_str(&format!("<small id=\"{name}-hint\">"));
        escape(html, hint);
        html.push_str("</small>");
    }
    html.push_str(&format!("<input id=\"{name}\" name=\"{name}\" type=\"{kind}\" required {extra}"));
    if hint.is_some() {
        html.push_str(&format!(" aria-describedby=\"{name}-hint\""));
    }
    html.push_str(" value=\"");
    escape(html, value);
    html.push_str("\">");
}

/// The error of a form, if any, as an alert the form starts with.
pub(crate) fn error_box(html: &mut String, error: Option<&str>) {
    if let Some(error) = error {
        html.push_str("<p class=\"form-error\" role=\"alert\">");
        escape(html, error);
        html.push_str("</p>");
    }
}

/// The sign-in, sign-up or first-run page, with what was typed and the error if any.
pub fn form(lang: Lang, form: &Form, typed: &Typed<'_>, error: Option<&str>) -> String {
    let w = words(lang);
    let (title, action, button) = match form {
        Form::SignIn => (w.sign_in_title, "/sign-in", w.sign_in),
        Form::SignUp { .. } => (w.sign_up_title, "/sign-up", w.create),
        Form::Setup { .. } => (w.setup_title, "/setup", w.create),
    };
    let mut html = String::from("<h1>");
    escape(&mut html, title);
    html.push_str("</h1>");
    if let Form::Setup { .. } = form {
        html.push_str("<p>");
        escape(&mut html, w.setup_intro);
        html.push_str("</p>");
    }
    html.push_str(&format!("<form method=\"post\" action=\"{action}\" class=\"account-form\">"));
    error_box(&mut html, error);
    let new = !matches!(form, Form::SignIn);
    let handle_extra = "autocomplete=\"username\" autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"64\"";
    field(&mut html, "handle", w.handle, "text", typed.handle, handle_extra, new.then_some(w.handle_hint));
    if new {
        field(&mut html, "display_name", w.display_name, "text", typed.display_name, "autocomplete=\"name\"", None);
    }
    let hint = w.password_hint.replace("{min}", &MIN_CHARS.to_string());
    let password_extra = match new {
        true => "autocomplete=\"new-password\" minlength=\"10\"",
        false => "autocomplete=\"current-password\"",
    };
    field(&mut html, "password", w.password, "password", "", password_extra, new.then_some(hint.as_str()));
    let hidden = match form {
        Form::SignUp { invite: Some(code) } => Some(("invite", code.as_str())),
        Form::Setup { code } => Some(("code", code.as_str())),
        _ => None,
    };
    if let Some((name, value)) = hidden {
        html.push_str(&format!("<input type=\"hidden\" name=\"{name}\" value=\""));
        escape(&mut html, value);
        html.push_str("\">");
    }
    html.push_str("<button type=\"submit\">");
    escape(&mut html, button);
    html.push_str("</button></form>");
    if let Form::SignIn = form {
        // Shown by the page's script where the browser has passkeys.
        html.push_str(
            "<p class=\"passkey-area\" id=\"passkey-area\" hidden><button type=\"button\" id=\"passkey-sign-in\">",
        );
        escape(&mut html, w.passkey_sign_in);
        html.push_str("</button></p><p class=\"form-error\" id=\"passkey-status\" role=\"alert\" hidden></p>");
    }
    html.push_str("<p class=\"account-links\">");
    let other = match form {
        Form::SignIn => Some(("/sign-up", w.no_account)),
        Form::SignUp { .. } => Some(("/sign-in", w.have_account)),
        Form::Setup { .. } => None,
    };
    if let Some((href, text)) = other {
        html.push_str(&format!("<a href=\"{href}\">"));
        escape(&mut html, text);
        html.push_str("</a> · ");
    }
    html.push_str("<a href=\"/\">");
    escape(&mut html, w.back);
    html.push_str("</a></p>");
    page(lang, title, &html)
}

/// `text` in a `tag` element.
pub(crate) fn text(html: &mut String, tag: &str, text: &str) {
    html.push_str(&format!("<{tag}>"));
    escape(html, text);
    html.push_str(&format!("</{tag}>"));
}

/// A time, in UTC, as a `<time>`.
pub(crate) fn when(html: &mut String, ms: i64) {
    let iso = iso_time(ms);
    html.push_str(&format!("<time datetime=\"{iso}\">{} UTC</time>", iso[..16].replace('T', " ")));
}

/// A form of one button (each value escaped), posting `fields` to `action`.
pub(crate) fn button(html: &mut String, action: &str, fields: &[(&str, String)], label: &str) {
    html.push_str(&format!("<form method=\"post\" action=\"{action}\" class=\"inline\">"));
    for (name, value) in fields {
        html.push_str(&format!("<input type=\"hidden\" name=\"{name}\" value=\""));
        escape(html, value);
        html.push_str("\">");
    }
    html.push_str("<button type=\"submit\">");
    escape(html, label);
    html.push_str("</button></form>");
}
