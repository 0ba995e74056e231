//! The admin page's sections as HTML, written whole by the server: people, rooms,
//! reports and the audit log, each a table with its forms.

use super::words::Words;
use crate::account_pages::pages::{button, error_box, text, when};
use crate::accounts::audit::KINDS;
use crate::store::accounts::{InviteRow, PersonRow, Role};
use crate::store::rooms::{AuditRow, Kind, ReportRow, RoomRow, RoomRules};
use app::markdown::escape;
use palaver_protocol::{ChatMessage, RoomId, UserId};
use std::collections::HashMap;

/// Which section is on screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Section {
    People,
    Invites,
    Rooms,
    Reports,
    Audit,
}

impl Section {
    pub fn path(self) -> &'static str {
        match self {
            Section::People => "/admin",
            Section::Invites => "/admin/invites",
            Section::Rooms => "/admin/rooms",
            Section::Reports => "/admin/reports",
            Section::Audit => "/admin/audit",
        }
    }

    fn label(self, w: &Words) -> &'static str {
        match self {
            Section::People => w.people,
            Section::Invites => w.invites,
            Section::Rooms => w.rooms,
            Section::Reports => w.reports,
            Section::Audit => w.audit,
        }
    }
}

/// The page's head: its title, the sections (the one on screen marked), and what the
/// last form did.
pub fn head(h: &mut String, w: &Words, on: Section, done: Option<&str>, error: Option<&str>) {
    text(h, "h1", w.title);
    h.push_str("<nav class=\"admin-nav\"><ul>");
    for s in [Section::People, Section::Invites, Section::Rooms, Section::Reports, Section::Audit] {
        let current = if s == on { " aria-current=\"page\"" } else { "" };
        h.push_str(&format!("<li><a href=\"{}\"{current}>", s.path()));
        escape(h, s.label(w));
        h.push_str("</a></li>");
    }
    h.push_str("</ul></nav>");
    error_box(h, error);
    if let Some(done) = done {
        h.push_str("<p class=\"form-done\" role=\"status\">");
        escape(h, done);
        h.push_str("</p>");
    }
    text(h, "h2", on.label(w));
}

fn header_row(h: &mut String, labels: &[&str]) {
    h.push_str("<thead><tr>");
    for label in labels {
        h.push_str("<th scope=\"col\">");
        escape(h, label);
        h.push_str("</th>");
    }
    h.push_str("</tr></thead><tbody>");
}

fn cell(h: &mut String, value: &str) {
    h.push_str("<td>");
    escape(h, value);
    h.push_str("</td>");
}

fn select(h: &mut String, name: &str, label: &str, options: &[(&str, &str)], chosen: &str) {
    h.push_str(&format!("<select name=\"{name}\" aria-label=\""));
    escape(h, label);
    h.push_str("\">");
    for (value, shown) in options {
        let selected = if *value == chosen { " selected" } else { "" };
        h.push_str(&format!("<option value=\"{value}\"{selected}>"));
        escape(h, shown);
        h.push_str("</option>");
    }
    h.push_str("</select>");
}

/// People: each account's role, standing, when they joined and were last seen, how
/// many sessions; and what `by` may do to each.
pub fn people(h: &mut String, w: &Words, by: Role, rows: &[PersonRow], more_after: Option<&str>) {
    h.push_str("<table class=\"admin-table\" data-testid=\"people\">");
    header_row(h, &[w.handle, w.name, w.role, w.status, w.joined, w.last_seen, w.sessions, w.actions]);
    for p in rows {
        let a = &p.account;
        h.push_str("<tr data-handle=\"");
        escape(h, &a.handle);
        h.push_str("\">");
        cell(h, &format!("@{}", a.handle));
        cell(h, &a.user.name);
        cell(h, a.role.as_str());
        cell(h, if a.suspended { w.suspended } else { w.active });
        h.push_str("<td>");
        when(h, p.created_at);
        h.push_str("</td><td>");
        match p.last_seen {
            Some(at) => when(h, at),
            None => escape(h, w.never),
        }
        h.push_str("</td>");
        cell(h, &p.sessions.to_string());
        h.push_str("<td class=\"actions\">");
        let handle = || vec![("handle", a.handle.clone())];
        if by == Role::Owner && a.role != Role::Owner {
            h.push_str("<form method=\"post\" action=\"/admin/people/role\" class=\"inline\">");
            h.push_str("<input type=\"hidden\" name=\"handle\" value=\"");
            escape(h, &a.handle);
            h.push_str("\">");
            let label = format!("{} @{}", w.role, a.handle);
            select(h, "role", &label, &[("member", "member"), ("admin", "admin")], a.role.as_str());
            h.push_str("<button type=\"submit\">");
            escape(h, w.set_role);
            h.push_str("</button></form>");
            button(h, "/admin/people/owner", &handle(), w.make_owner);
        }
        if a.role < by {
            match a.suspended {
                true => button(h, "/admin/people/lift", &handle(), w.lift),
                false => button(h, "/admin/people/suspend", &handle(), w.suspend),
            }
            button(h, "/admin/people/sign-out", &handle(), w.sign_out_everywhere);
        }
        h.push_str("</td></tr>");
    }
    h.push_str("</tbody></table>");
    if let Some(after) = more_after {
        h.push_str("<p><a href=\"/admin?after=");
        escape(h, after);
        h.push_str("\">");
        escape(h, w.more);
        h.push_str("</a></p>");
    }
}

/// Invite links: who made each, its uses left, when it expires, who joined with it;
/// made (and revoked) in settings.
pub fn invites(h: &mut String, w: &Words, rows: &[InviteRow], handles: &HashMap<UserId, String>) {
    h.push_str("<p><a href=\"/settings\">");
    escape(h, w.invites_in_settings);
    h.push_str("</a></p><table class=\"admin-table\" data-testid=\"invites\">");
    header_row(h, &[w.who, w.uses_left, w.expires, w.joined_with]);
    for i in rows {
        h.push_str("<tr>");
        let by = i.created_by.as_ref().and_then(|id| handles.get(id)).map(|h| format!("@{h}"));
        cell(h, &by.unwrap_or_default());
        cell(h, &if i.revoked { w.revoked.to_owned() } else { i.uses_left.to_string() });
        h.push_str("<td>");
        when(h, i.expires_at);
        h.push_str("</td>");
        cell(h, &i.joined.iter().map(|j| format!("@{j}")).collect::<Vec<_>>().join(", "));
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
}

/// The fields of a room's settings (in a form the caller opens and closes).
fn room_fields(h: &mut String, w: &Words, room: &str, rules: &RoomRules) {
    let kinds = [("public", w.public), ("private", w.private)];
    if rules.kind == Kind::Direct {
        escape(h, w.direct);
    } else {
        select(h, "kind", &format!("{} #{room}", w.kind), &kinds, rules.kind.as_str());
        // A direct conversation is called by its people.
        h.push_str(" <input type=\"text\" name=\"title\" maxlength=\"80\" aria-label=\"");
        escape(h, &format!("{} #{room}", w.name_shown));
        h.push_str("\" value=\"");
        escape(h, &rules.title);
        h.push('"');
        h.push('>');
    }
    h.push_str(" <input type=\"text\" name=\"topic\" maxlength=\"200\" aria-label=\"");
    escape(h, &format!("{} #{room}", w.topic));
    h.push_str("\" value=\"");
    escape(h, &rules.topic);
    h.push_str("\"> ");
    let postings = [("everyone", w.everyone), ("admins", w.admins_only)];
    select(h, "posting", &format!("{} #{room}", w.posting), &postings, rules.posting.as_str());
    h.push_str(" <label><input type=\"checkbox\" name=\"archived\" value=\"yes\"");
    if rules.archived {
        h.push_str(" checked");
    }
    h.push_str("> ");
    escape(h, w.archived);
    h.push_str("</label> <button type=\"submit\">");
    escape(h, w.save);
    h.push_str("</button>");
}

/// A form of a room and a handle (add or remove someone).
fn person_form(h: &mut String, action: &str, room: &RoomId, label: &str) {
    h.push_str(&format!("<form method=\"post\" action=\"{action}\" class=\"inline\">"));
    h.push_str(&format!("<input type=\"hidden\" name=\"room\" value=\"{room}\">"));
    h.push_str("<input type=\"text\" name=\"handle\" required maxlength=\"33\" aria-label=\"");
    escape(h, &format!("{label} #{room}: {}", "handle"));
    h.push_str("\"><button type=\"submit\">");
    escape(h, label);
    h.push_str("</button></form>");
}

/// Rooms: making one; each room with rules (kind, topic, posting, archived, how many
/// people are listed), its settings and people; and any other room by name.
pub fn rooms(h: &mut String, w: &Words, rows: &[RoomRow]) {
    h.push_str("<form method=\"post\" action=\"/admin/rooms/make\" class=\"account-form\">");
    text(h, "h3", w.make_room);
    crate::account_pages::pages::field(h, "name", w.room, "text", "", "required maxlength=\"64\"", None);
    h.push_str("<label for=\"new-kind\">");
    escape(h, w.kind);
    h.push_str("</label><select id=\"new-kind\" name=\"kind\"><option value=\"public\">");
    escape(h, w.public);
    h.push_str("</option><option value=\"private\">");
    escape(h, w.private);
    h.push_str("</option></select>");
    crate::account_pages::pages::field(h, "topic", w.topic, "text", "", "maxlength=\"200\"", None);
    crate::account_pages::pages::field(h, "members", w.members, "text", "", "", Some(w.members_hint));
    h.push_str("<button type=\"submit\">");
    escape(h, w.make_room);
    h.push_str("</button></form>");
    h.push_str("<table class=\"admin-table\" data-testid=\"rooms\">");
    header_row(h, &[w.room, w.members, w.actions]);
    for r in rows {
        h.push_str(&format!("<tr data-room=\"{}\"><th scope=\"row\">#{}</th>", r.room, r.room));
        cell(h, &r.members.to_string());
        h.push_str("<td class=\"actions\"><form method=\"post\" action=\"/admin/rooms/save\" class=\"inline\">");
        h.push_str(&format!("<input type=\"hidden\" name=\"room\" value=\"{}\">", r.room));
        let (title, topic) = (r.title.clone(), r.topic.clone());
        let rules =
            RoomRules { kind: r.kind, title, topic, posting: r.posting, archived: r.archived, ..RoomRules::default() };
        room_fields(h, w, r.room.as_str(), &rules);
        h.push_str("</form>");
        if r.kind != Kind::Direct {
            person_form(h, "/admin/rooms/add", &r.room, w.add_person);
            person_form(h, "/admin/rooms/remove", &r.room, w.remove_person);
        }
        h.push_str(&format!("<a href=\"/admin/rooms/export?room={}\" aria-label=\"", r.room));
        escape(h, &format!("{} #{}", w.export, r.room));
        h.push_str("\">");
        escape(h, w.export);
        h.push_str("</a>");
        h.push_str("</td></tr>");
    }
    h.push_str("</tbody></table>");
    h.push_str("<form method=\"post\" action=\"/admin/rooms/save\" class=\"account-form\">");
    text(h, "h3", w.other_room);
    crate::account_pages::pages::field(h, "room", w.room, "text", "", "required maxlength=\"64\"", None);
    room_fields(h, w, "", &RoomRules::default());
    h.push_str("</form>");
}

/// Open reports: the message (as it is now), who reported it and why.
pub fn reports(h: &mut String, w: &Words, rows: &[(ReportRow, Option<ChatMessage>, String)]) {
    if rows.is_empty() {
        text(h, "p", w.no_reports);
        return;
    }
    h.push_str("<ul class=\"reports\" data-testid=\"reports\">");
    for (report, message, reporter) in rows {
        h.push_str(&format!(
            "<li data-report=\"{}\"><p><strong>#{} · {}</strong> ",
            report.id, report.room, report.seq
        ));
        match message.as_ref().filter(|m| !m.deleted) {
            Some(m) => {
                escape(h, &format!("{}: ", m.author.name));
                h.push_str("<q>");
                escape(h, &m.text);
                h.push_str("</q>");
            }
            None => escape(h, w.message_gone),
        }
        h.push_str("</p><p>");
        escape(h, &format!("{} @{reporter} · ", w.reported_by));
        when(h, report.created_at);
        if !report.reason.is_empty() {
            escape(h, &format!(" · {}: {}", w.reason, report.reason));
        }
        h.push_str("</p>");
        let id = vec![("id", report.id.to_string())];
        if message.as_ref().is_some_and(|m| !m.deleted) {
            button(h, "/admin/reports/remove", &id, w.remove_message);
        }
        button(h, "/admin/reports/close", &id, w.close_report);
        h.push_str("</li>");
    }
    h.push_str("</ul>");
}

/// The audit log, newest first, filtered by person and kind; `handles` names the ids.
pub fn audit(
    h: &mut String,
    w: &Words,
    rows: &[AuditRow],
    handles: &HashMap<UserId, String>,
    person: &str,
    kind: &str,
) {
    h.push_str("<form method=\"get\" action=\"/admin/audit\" class=\"inline\" data-testid=\"audit-filter\">");
    h.push_str("<label>");
    escape(h, w.person);
    h.push_str(" <input type=\"text\" name=\"person\" maxlength=\"33\" value=\"");
    escape(h, person);
    h.push_str("\"></label> ");
    let mut kinds = vec![("", w.any_kind)];
    kinds.extend(KINDS.iter().map(|k| (*k, *k)));
    select(h, "kind", w.what, &kinds, kind);
    h.push_str(" <button type=\"submit\">");
    escape(h, w.filter);
    h.push_str("</button></form>");
    if rows.is_empty() {
        text(h, "p", w.none);
        return;
    }
    let name = |id: &Option<UserId>| match id {
        Some(id) => handles.get(id).map_or_else(|| id.to_string(), |handle| format!("@{handle}")),
        None => String::new(),
    };
    h.push_str("<table class=\"admin-table\" data-testid=\"audit\">");
    header_row(h, &[w.when, w.what, w.who, w.whom, w.room, w.from, w.detail]);
    for row in rows {
        let e = &row.entry;
        h.push_str(&format!("<tr data-kind=\"{}\"><td>", e.kind.replace('"', "")));
        when(h, row.at);
        h.push_str("</td>");
        cell(h, &e.kind);
        cell(h, &name(&e.actor));
        cell(h, &name(&e.subject));
        cell(h, &e.room.as_ref().map(|r| format!("#{r}")).unwrap_or_default());
        cell(h, [e.address.as_str(), e.user_agent.as_str()].join(" ").trim());
        cell(h, &e.detail);
        h.push_str("</tr>");
    }
    h.push_str("</tbody></table>");
    if let Some(last) = rows.last() {
        let query = format!("before={}&person={}&kind={}", last.id, urlencode(person), urlencode(kind));
        h.push_str(&format!("<p><a href=\"/admin/audit?{query}\">"));
        escape(h, w.older);
        h.push_str("</a></p>");
    }
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}
