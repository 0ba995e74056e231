//! `server admin ...`: accounts from the command line, on the configured store (the
//! SQLite file in the data directory, or `PALAVER_DATABASE_URL`), with the same
//! settings as the server. What each subcommand prints on success goes to standard
//! output alone, one value a line, so a script can read it; errors go to standard
//! error. Exit codes: 0 done, 1 the store or the system failed, 2 the command was
//! malformed, 3 refused (a handle taken, a password too weak, nobody by that handle).

pub mod json;
mod moderation;

use crate::accounts::{Applicant, Auth, Refusal};
use crate::config::Config;
use crate::store::accounts::{Account, Role, Which};
use std::io::Read;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

pub const USAGE: &str = "\
usage: server admin COMMAND [OPTIONS]
  create-user --handle H --display-name N --password-stdin [--role owner|admin|member]
  create-token --handle H [--label L]        prints a personal access token
  invite [--uses N] [--expires 7d]            prints an invite link (path; PALAVER_PUBLIC_URL for a whole URL)
  sessions --handle H                         lists the account's sessions, tab-separated
  end-sessions --handle H                     signs the account out everywhere
  create-room --name N --kind public|private [--members a,b] [--topic T]
  set-room --room N [--kind public|private] [--title T] [--topic T] [--posting everyone|admins] [--archived yes|no]
  add-member --room N --handle H              lists someone in a private room (or lets them back in)
  remove-member --room N --handle H           they stop receiving the room at once
  set-role --handle H --role admin|member
  transfer-ownership --handle H               the owner becomes an admin
  suspend --handle H [--lift]                 signs them out everywhere and refuses sign-in (--lift: undoes it)
  audit [--since 7d|2026-12-01] [--handle H] [--kind K]
                                              the audit log as JSON Lines, oldest first
  export-room --room N                        the room's messages as JSON Lines, oldest first";

/// How an admin command ended.
#[derive(Debug)]
pub enum Failure {
    /// Malformed: the usage is printed.
    Usage(String),
    Refused(String),
    Broken(String),
}

impl Failure {
    pub fn exit_code(&self) -> ExitCode {
        ExitCode::from(match self {
            Failure::Broken(_) => 1,
            Failure::Usage(_) => 2,
            Failure::Refused(_) => 3,
        })
    }
}

/// The options after the subcommand, as `--name value` pairs (and bare `--flag`s).
pub(super) struct Options(Vec<(String, Option<String>)>);

impl Options {
    pub(super) fn parse(args: &[String], flags: &[&str], valued: &[&str]) -> Result<Options, Failure> {
        let mut out = Vec::new();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            let name = arg.strip_prefix("--").unwrap_or(arg);
            if flags.contains(&name) {
                out.push((name.to_owned(), None));
            } else if valued.contains(&name) {
                let value = args.next().ok_or_else(|| Failure::Usage(format!("{arg} needs a value")))?;
                out.push((name.to_owned(), Some(value.clone())));
            } else {
                return Err(Failure::Usage(format!("unknown option {arg:?}")));
            }
        }
        Ok(Options(out))
    }

    pub(super) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(n, _)| n == name).and_then(|(_, v)| v.as_deref())
    }

    pub(super) fn need(&self, name: &str) -> Result<&str, Failure> {
        self.get(name).ok_or_else(|| Failure::Usage(format!("--{name} is required")))
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.0.iter().any(|(n, _)| n == name)
    }
}

/// A duration as `30m`, `12h` or `7d`.
pub(super) fn duration(text: &str) -> Option<Duration> {
    let (number, unit) = text.split_at(text.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = number.parse().ok().filter(|n| *n > 0)?;
    let secs = match unit {
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return None,
    };
    Some(Duration::from_secs(n.checked_mul(secs)?))
}

fn refused(refusal: &Refusal) -> Failure {
    let lang = app::locale::Lang::En;
    match refusal {
        Refusal::Unavailable | Refusal::Busy => Failure::Broken(crate::account_pages::refusal(lang, refusal)),
        other => Failure::Refused(crate::account_pages::refusal(lang, other)),
    }
}

async fn account(auth: &Auth, handle: &str) -> Result<Account, Failure> {
    let key = crate::accounts::names::key(&handle.trim().to_lowercase());
    match auth.store().account_by_key(&key).await {
        Ok(Some(account)) => Ok(account),
        Ok(None) => Err(Failure::Refused(format!("no account has the handle {handle:?}"))),
        Err(e) => Err(Failure::Broken(e.to_string())),
    }
}

/// Runs `server admin ARGS...`: what it prints, line by line.
pub async fn run(args: &[String], config: &Config) -> Result<Vec<String>, Failure> {
    let (command, rest) = args.split_first().ok_or_else(|| Failure::Usage("which command?".into()))?;
    let (store, identity) = crate::open(config).await.map_err(|e| Failure::Broken(e.to_string()))?;
    let auth = Arc::new(Auth::new(store, None, identity, config.accounts.clone()));
    let broken = |e: crate::store::StoreError| Failure::Broken(e.to_string());
    match command.as_str() {
        "create-user" => {
            let o = Options::parse(rest, &["password-stdin"], &["handle", "display-name", "role"])?;
            if !o.has("password-stdin") {
                return Err(Failure::Usage(
                    "--password-stdin is required: the password is read from standard input".into(),
                ));
            }
            let role = match o.get("role") {
                None => Role::Member,
                Some(r) => {
                    Role::parse(r).ok_or_else(|| Failure::Usage(format!("--role {r:?}: owner, admin or member")))?
                }
            };
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password).map_err(|e| Failure::Broken(e.to_string()))?;
            let password = password.trim_end_matches(['\n', '\r']);
            let handle = o.need("handle")?;
            let applicant = Applicant {
                handle,
                display_name: o.get("display-name").unwrap_or(handle),
                password,
                role,
                invite: None,
                person: None,
            };
            let made = auth.make(applicant, true).await.map_err(|r| refused(&r))?;
            Ok(vec![made.handle])
        }
        "create-token" => {
            let o = Options::parse(rest, &[], &["handle", "label"])?;
            let account = account(&auth, o.need("handle")?).await?;
            let token =
                auth.make_token(&account.user.id, o.get("label").unwrap_or("cli")).await.map_err(|r| refused(&r))?;
            Ok(vec![token])
        }
        "invite" => {
            let o = Options::parse(rest, &[], &["uses", "expires"])?;
            let uses = match o.get("uses") {
                None => 1,
                Some(n) => {
                    n.parse::<i64>().ok().filter(|n| *n > 0).ok_or_else(|| Failure::Usage(format!("--uses {n:?}")))?
                }
            };
            let valid = match o.get("expires") {
                None => Duration::from_secs(7 * 86_400),
                Some(d) => {
                    duration(d).ok_or_else(|| Failure::Usage(format!("--expires {d:?}: like 30m, 12h or 7d")))?
                }
            };
            let code = auth.invite(None, uses, valid).await.map_err(|r| refused(&r))?;
            let base = std::env::var("PALAVER_PUBLIC_URL").unwrap_or_default();
            Ok(vec![format!("{}/sign-up?invite={code}", base.trim_end_matches('/'))])
        }
        "sessions" => {
            let o = Options::parse(rest, &[], &["handle"])?;
            let account = account(&auth, o.need("handle")?).await?;
            let now = crate::accounts::now_ms();
            let sessions = auth.store().sessions(&account.user.id, now, auth.settings.expiry).await.map_err(broken)?;
            Ok(sessions
                .iter()
                .map(|s| format!("{}\t{}\t{}\t{}\t{}", s.id, s.created_at, s.last_seen, s.address, s.user_agent))
                .collect())
        }
        "end-sessions" => {
            let o = Options::parse(rest, &[], &["handle"])?;
            let account = account(&auth, o.need("handle")?).await?;
            let ended = auth.end_sessions(&account.user.id, Which::All).await.map_err(broken)?;
            Ok(vec![ended.to_string()])
        }
        other => moderation::run(&auth, other, rest).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_durations_are_read_strictly() {
        let args: Vec<String> = ["--handle", "ann", "--password-stdin"].iter().map(|s| s.to_string()).collect();
        let o = Options::parse(&args, &["password-stdin"], &["handle"]).unwrap();
        assert_eq!(o.get("handle"), Some("ann"));
        assert!(o.has("password-stdin"));
        assert!(matches!(o.need("role"), Err(Failure::Usage(_))));
        assert!(matches!(Options::parse(&["--nope".into()], &[], &[]), Err(Failure::Usage(_))));
        assert!(matches!(Options::parse(&["--handle".into()], &[], &["handle"]), Err(Failure::Usage(_))));
        assert_eq!(duration("7d"), Some(Duration::from_secs(7 * 86_400)));
        assert_eq!(duration("30m"), Some(Duration::from_secs(1800)));
        for bad in ["7", "d", "0d", "7w", "-1d", ""] {
            assert_eq!(duration(bad), None, "{bad:?}");
        }
    }
}
