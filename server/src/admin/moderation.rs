//! `server admin` for rooms and moderation: making and changing rooms, their people,
//! roles, suspension, the audit log and a room's export. The operator at the command
//! line may do what the owner may (`By::Operator`); running nodes apply each change
//! within about a second.

use super::{duration, Failure, Options};
use crate::accounts::moderation::{By, Denied};
use crate::accounts::{now_ms, Auth};
use crate::store::accounts::Role;
use crate::store::rooms::{AuditQuery, Kind, Posting, RoomRules};
use palaver_protocol::RoomId;

fn denied(e: Denied) -> Failure {
    match e {
        Denied::Store(e) => Failure::Broken(e.to_string()),
        other => Failure::Refused(other.to_string()),
    }
}

fn room(name: &str) -> Result<RoomId, Failure> {
    RoomId::parse(name).map_err(|e| Failure::Usage(format!("--room {name:?}: {e}")))
}

fn kind(name: &str) -> Result<Kind, Failure> {
    match Kind::parse(name) {
        Some(k @ (Kind::Public | Kind::Private)) => Ok(k),
        _ => Err(Failure::Usage(format!("--kind {name:?}: public or private"))),
    }
}

/// When `--since` means: a duration back from now (`7d`), a day (`2026-12-01`, UTC), or
/// milliseconds since the Unix epoch.
fn since(text: &str) -> Option<i64> {
    if let Some(back) = duration(text) {
        return Some(now_ms() - back.as_millis() as i64);
    }
    if let [y, m, d] = text.split('-').collect::<Vec<_>>()[..] {
        let (y, m, d): (i64, i64, i64) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
        if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
            return None;
        }
        // Days since the epoch of a civil date (proleptic Gregorian).
        let (y, m) = if m <= 2 { (y - 1, m + 9) } else { (y, m - 3) };
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let doy = (153 * m + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        return Some((era * 146_097 + doe - 719_468) * 86_400_000);
    }
    text.parse().ok()
}

/// Runs a room or moderation subcommand.
pub(super) async fn run(auth: &Auth, command: &str, rest: &[String]) -> Result<Vec<String>, Failure> {
    let broken = |e: crate::store::StoreError| Failure::Broken(e.to_string());
    match command {
        "create-room" => {
            let o = Options::parse(rest, &[], &["name", "kind", "members", "topic"])?;
            let name = room(o.need("name")?)?;
            let members: Vec<String> = o
                .get("members")
                .unwrap_or_default()
                .split(',')
                .filter(|m| !m.trim().is_empty())
                .map(Into::into)
                .collect();
            let kind = kind(o.get("kind").unwrap_or("public"))?;
            auth.make_room(By::Operator, &name, kind, o.get("topic").unwrap_or_default(), &members)
                .await
                .map_err(denied)?;
            Ok(vec![name.to_string()])
        }
        "set-room" => {
            let o = Options::parse(rest, &[], &["room", "kind", "title", "topic", "posting", "archived"])?;
            let name = room(o.need("room")?)?;
            let mut rules: RoomRules = auth.store().room_rules(&name).await.map_err(broken)?;
            if let Some(k) = o.get("kind") {
                rules.kind = kind(k)?;
            }
            if let Some(title) = o.get("title") {
                rules.title = title.to_owned();
            }
            if let Some(topic) = o.get("topic") {
                rules.topic = topic.trim().to_owned();
            }
            if let Some(p) = o.get("posting") {
                rules.posting =
                    Posting::parse(p).ok_or_else(|| Failure::Usage(format!("--posting {p:?}: everyone or admins")))?;
            }
            if let Some(a) = o.get("archived") {
                rules.archived = match a {
                    "yes" => true,
                    "no" => false,
                    _ => return Err(Failure::Usage(format!("--archived {a:?}: yes or no"))),
                };
            }
            auth.change_room(By::Operator, &name, rules).await.map_err(denied)?;
            Ok(vec![name.to_string()])
        }
        "add-member" | "remove-member" => {
            let o = Options::parse(rest, &[], &["room", "handle"])?;
            let (name, handle) = (room(o.need("room")?)?, o.need("handle")?);
            if command == "add-member" {
                auth.add_member(By::Operator, &name, handle).await.map_err(denied)?;
            } else {
                auth.remove_member(By::Operator, &name, handle).await.map_err(denied)?;
            }
            Ok(vec![handle.trim_start_matches('@').to_owned()])
        }
        "set-role" => {
            let o = Options::parse(rest, &[], &["handle", "role"])?;
            let r = o.need("role")?;
            let role = Role::parse(r).filter(|r| *r != Role::Owner).ok_or_else(|| {
                Failure::Usage(format!("--role {r:?}: admin or member (the owner: transfer-ownership)"))
            })?;
            auth.set_role(By::Operator, o.need("handle")?, role).await.map_err(denied)?;
            Ok(vec![role.as_str().to_owned()])
        }
        "transfer-ownership" => {
            let o = Options::parse(rest, &[], &["handle"])?;
            auth.transfer_ownership(By::Operator, o.need("handle")?).await.map_err(denied)?;
            Ok(vec![o.need("handle")?.trim_start_matches('@').to_owned()])
        }
        "suspend" => {
            let o = Options::parse(rest, &["lift"], &["handle"])?;
            let suspended = !o.has("lift");
            auth.suspend(By::Operator, o.need("handle")?, suspended).await.map_err(denied)?;
            Ok(vec![if suspended { "suspended" } else { "lifted" }.to_owned()])
        }
        "audit" => {
            let o = Options::parse(rest, &[], &["since", "handle", "kind"])?;
            let from = match o.get("since") {
                None => 0,
                Some(s) => since(s).ok_or_else(|| Failure::Usage(format!("--since {s:?}: like 7d or 2026-12-01")))?,
            };
            let person = match o.get("handle") {
                None => None,
                Some(h) => Some(auth.account_of(h).await.map_err(denied)?.user.id),
            };
            let mut query =
                AuditQuery { since: from, person, kind: o.get("kind").map(Into::into), before: None, limit: 1000 };
            let mut rows = Vec::new();
            loop {
                let page = auth.audit_log(&query).await.map_err(broken)?;
                let Some(last) = page.last() else { break };
                query.before = Some(last.id);
                rows.extend(page);
            }
            Ok(rows.iter().rev().map(super::json::audit_line).collect())
        }
        "export-room" => {
            let o = Options::parse(rest, &[], &["room"])?;
            let name = room(o.need("room")?)?;
            super::json::room_lines(auth.store().as_ref(), &name).await.map_err(broken)
        }
        other => Err(Failure::Usage(format!("unknown command {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::since;

    #[test]
    fn since_is_a_duration_back_a_day_or_a_number() {
        assert_eq!(since("2026-12-01"), Some(1_796_083_200_000));
        assert_eq!(since("1970-01-01"), Some(0));
        assert_eq!(since("12345"), Some(12345));
        let week = since("7d").unwrap();
        assert!((crate::accounts::now_ms() - week - 7 * 86_400_000).abs() < 5_000);
        for bad in ["2026-13-01", "yesterday", "7w", ""] {
            assert_eq!(since(bad), None, "{bad:?}");
        }
    }
}
