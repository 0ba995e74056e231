//! Settings, read from the environment with defaults that run out of the box. Every
//! setting is listed in README.md.

use crate::access::Creators;
use crate::accounts::{self, Guests, SignUp, DAY_MS};
use crate::admission::IpLimits;
use crate::error::StartError;
use crate::limits::Rate;
use crate::origin::{AllowedHosts, AllowedOrigins};
use crate::socket::Liveness;
use leptos::config::{Env, LeptosOptions, ReloadWSProtocol};
use std::{net::IpAddr, net::SocketAddr, path::PathBuf, str::FromStr, sync::Arc, time::Duration};

/// Everything the server needs to start.
#[derive(Debug, Clone)]
pub struct Config {
    /// Address, static-file root and the rest of Leptos' settings (`LEPTOS_*` variables).
    pub leptos: LeptosOptions,
    /// Where the message database and the generated secret live (`PALAVER_DATA_DIR`).
    pub data_dir: PathBuf,
    /// The token-signing secret, if given (`PALAVER_SECRET`); otherwise kept in the data dir.
    pub secret: Option<String>,
    /// Ping interval and idle timeout (`PALAVER_PING_INTERVAL_MS`, `PALAVER_IDLE_TIMEOUT_MS`).
    pub liveness: Liveness,
    /// Origins besides the server's own host whose pages may open chat sockets
    /// (`PALAVER_ALLOWED_ORIGINS`, comma-separated).
    pub allowed_origins: AllowedOrigins,
    /// Host names besides `localhost` and IP addresses that requests may be for
    /// (`PALAVER_ALLOWED_HOSTS`, comma-separated).
    pub allowed_hosts: AllowedHosts,
    /// Open HTTP connections per client address, chat sockets aside
    /// (`PALAVER_MAX_HTTP_CONNECTIONS_PER_IP`).
    pub max_http_connections_per_ip: u32,
    /// Messages per second and burst per connection (`PALAVER_RATE_PER_SEC`, `PALAVER_RATE_BURST`).
    pub rate: Rate,
    /// How long shutdown waits for requests and connections to close (`PALAVER_SHUTDOWN_GRACE_MS`).
    pub shutdown_grace: Duration,
    /// Chat sockets per client address, and which proxies' `X-Forwarded-For` to believe.
    pub ip_limits: IpLimits,
    /// The PostgreSQL database several nodes share (`PALAVER_DATABASE_URL` or
    /// `DATABASE_URL`); unset: the SQLite file in the data directory.
    pub database_url: Option<String>,
    /// The Redis server nodes tell each other through (`PALAVER_REDIS_URL` or `REDIS_URL`).
    pub redis_url: Option<String>,
    /// Sharded or plain pub/sub on that Redis (`PALAVER_REDIS_PUBSUB`).
    pub redis_pubsub: crate::bus::redis::Channels,
    /// Who may sign up and chat, how long sessions last, sign-in limits
    /// (`PALAVER_SIGN_UP`, `PALAVER_GUESTS`, `PALAVER_SESSION_IDLE_DAYS`,
    /// `PALAVER_SESSION_MAX_DAYS`, `PALAVER_HASHING_THREADS`, `PALAVER_SIGN_IN_ATTEMPTS`,
    /// `PALAVER_SIGN_IN_WINDOW_SECS`).
    pub accounts: accounts::Settings,
    /// Link previews (`PALAVER_LINK_PREVIEWS=on|off`, on by default): `None` when off,
    /// else the addresses they may reach though not public (`PALAVER_PREVIEW_ADMIT`,
    /// `IP:PORT,…`: a test's own web server; nothing in production).
    pub previews: Option<Vec<SocketAddr>>,
    /// Uploaded files: limits (`PALAVER_FILE_MAX_MB`, `PALAVER_UPLOAD_MB_PER_HOUR`,
    /// `PALAVER_FILES_MAX_MB`), where they are kept (`PALAVER_S3_URL` and its keys, else
    /// the data directory's `files`), and how they are handed out (`PALAVER_FILE_LINKS`).
    pub files: crate::files::Settings,
    /// Web Push: the contact push services are given (`PALAVER_PUSH_CONTACT`, a `mailto:`
    /// or `https:` address), whether a message's push carries its text
    /// (`PALAVER_PUSH_TEXT=on|off`, off by default), and the push services that may be
    /// reached though not public (`PALAVER_PUSH_ADMIT`, `IP:PORT,…`: a test's own).
    pub push: PushSettings,
}

/// See [`Config::push`].
#[derive(Debug, Clone)]
pub struct PushSettings {
    pub contact: String,
    pub text: bool,
    pub admitted: Vec<SocketAddr>,
}

/// Name of the front-end bundle under `/pkg`, as the workspace's Leptos metadata sets it.
const OUTPUT_NAME: &str = "palaver";

impl Config {
    pub fn from_env() -> Result<Config, StartError> {
        Config::from_lookup(|name| std::env::var(name).ok())
    }

    /// The settings as `var` gives them (the environment, or a test's own list).
    pub fn from_lookup(var: impl Fn(&str) -> Option<String>) -> Result<Config, StartError> {
        let settings = Settings(&var);
        let liveness = Liveness::default();
        Ok(Config {
            leptos: settings.leptos()?,
            data_dir: var("PALAVER_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from),
            secret: var("PALAVER_SECRET").filter(|s| !s.is_empty()),
            liveness: Liveness {
                ping_every: settings.millis("PALAVER_PING_INTERVAL_MS", liveness.ping_every)?,
                idle_timeout: settings.millis("PALAVER_IDLE_TIMEOUT_MS", liveness.idle_timeout)?,
            },
            allowed_origins: AllowedOrigins::parse(&var("PALAVER_ALLOWED_ORIGINS").unwrap_or_default()),
            allowed_hosts: AllowedHosts::parse(&var("PALAVER_ALLOWED_HOSTS").unwrap_or_default())
                .map_err(|e| StartError::Config(format!("PALAVER_ALLOWED_HOSTS: {e}")))?,
            max_http_connections_per_ip: settings.number("PALAVER_MAX_HTTP_CONNECTIONS_PER_IP", 64)?,
            rate: Rate {
                per_sec: settings.number("PALAVER_RATE_PER_SEC", Rate::default().per_sec)?,
                burst: settings.number("PALAVER_RATE_BURST", Rate::default().burst)?,
            },
            shutdown_grace: settings.millis("PALAVER_SHUTDOWN_GRACE_MS", Duration::from_secs(5))?,
            ip_limits: settings.ip_limits()?,
            database_url: settings.database_url()?,
            redis_url: settings.redis_url()?,
            redis_pubsub: settings.redis_pubsub()?,
            accounts: settings.accounts()?,
            previews: settings.previews()?,
            files: settings.files()?,
            push: settings.push()?,
        })
        .and_then(Config::check_nodes)
    }

    /// Several nodes need both a shared database and Redis; Redis alone is refused.
    fn check_nodes(self) -> Result<Config, StartError> {
        if self.redis_url.is_some() && self.database_url.is_none() {
            return Err(StartError::Config(
                "PALAVER_REDIS_URL is set but PALAVER_DATABASE_URL is not: nodes that share Redis must share a \
                 PostgreSQL database too (the SQLite file is one machine's)"
                    .into(),
            ));
        }
        Ok(self)
    }

    /// Says at start which limits are in force, so an operator can see them in the log.
    pub fn log(&self) {
        let ip = &self.ip_limits;
        tracing::info!(
            env = ?self.leptos.env,
            data_dir = %self.data_dir.display(),
            posts_per_sec = self.rate.per_sec,
            post_burst = self.rate.burst,
            sockets_per_ip = ip.max_open,
            http_connections_per_ip = self.max_http_connections_per_ip,
            new_sockets_per_ip_per_sec = ip.new_per_sec.per_sec,
            new_socket_burst_per_ip = ip.new_per_sec.burst,
            pages_per_ip_per_sec = ip.pages_per_sec.per_sec,
            page_burst_per_ip = ip.pages_per_sec.burst,
            trusted_proxies = ip.trusted_proxies.len(),
            ping_every_ms = self.liveness.ping_every.as_millis() as u64,
            idle_timeout_ms = self.liveness.idle_timeout.as_millis() as u64,
            shutdown_grace_ms = self.shutdown_grace.as_millis() as u64,
            "limits in force"
        );
    }
}

/// Reads and checks one setting at a time.
struct Settings<'a, F>(&'a F);

impl<F: Fn(&str) -> Option<String>> Settings<'_, F> {
    fn text(&self, name: &str, default: &str) -> String {
        (self.0)(name).unwrap_or_else(|| default.to_owned())
    }

    fn leptos(&self) -> Result<LeptosOptions, StartError> {
        let addr = self.text("LEPTOS_SITE_ADDR", "127.0.0.1:3000");
        let site_addr: SocketAddr =
            addr.parse().map_err(|_| StartError::Config(format!("LEPTOS_SITE_ADDR={addr:?} is not an address")))?;
        // Production unless asked: the live-reload allowance in the page's CSP is only for
        // `cargo leptos watch`, which says so with LEPTOS_WATCH=true.
        let env = match (self.0)("LEPTOS_ENV") {
            Some(env) => match env.to_ascii_lowercase().as_str() {
                "dev" | "development" => Env::DEV,
                "prod" | "production" => Env::PROD,
                _ => return Err(StartError::Config(format!("LEPTOS_ENV={env:?} is neither DEV nor PROD"))),
            },
            None if (self.0)("LEPTOS_WATCH").is_some_and(|w| w == "true") => Env::DEV,
            None => Env::PROD,
        };
        let reload_ws_protocol = match self.text("LEPTOS_RELOAD_WS_PROTOCOL", "ws").to_ascii_lowercase().as_str() {
            "ws" => ReloadWSProtocol::WS,
            "wss" => ReloadWSProtocol::WSS,
            other => {
                return Err(StartError::Config(format!("LEPTOS_RELOAD_WS_PROTOCOL={other:?} is neither ws nor wss")))
            }
        };
        let hash_files = match self.text("LEPTOS_HASH_FILES", "false").as_str() {
            "true" => true,
            "false" => false,
            other => return Err(StartError::Config(format!("LEPTOS_HASH_FILES={other:?} is neither true nor false"))),
        };
        let reload_external_port = match (self.0)("LEPTOS_RELOAD_EXTERNAL_PORT") {
            Some(_) => Some(self.number("LEPTOS_RELOAD_EXTERNAL_PORT", 0)?),
            None => None,
        };
        Ok(LeptosOptions::builder()
            .output_name(self.text("LEPTOS_OUTPUT_NAME", OUTPUT_NAME))
            .site_root(self.text("LEPTOS_SITE_ROOT", "target/site"))
            .site_pkg_dir(self.text("LEPTOS_SITE_PKG_DIR", "pkg"))
            .env(env)
            .site_addr(site_addr)
            .reload_port(self.number("LEPTOS_RELOAD_PORT", 3001)?)
            .reload_external_port(reload_external_port)
            .reload_ws_protocol(reload_ws_protocol)
            .not_found_path(Arc::from(self.text("LEPTOS_NOT_FOUND_PATH", "/404")))
            .hash_file(Arc::from(self.text("LEPTOS_HASH_FILE_NAME", "hash.txt")))
            .hash_files(hash_files)
            .build())
    }

    /// The first of these variables that is set and not empty.
    fn either(&self, names: [&str; 2]) -> Option<(String, String)> {
        names
            .iter()
            .find_map(|n| (self.0)(n).filter(|v| !v.trim().is_empty()).map(|v| (n.to_string(), v.trim().to_owned())))
    }

    fn database_url(&self) -> Result<Option<String>, StartError> {
        match self.either(["PALAVER_DATABASE_URL", "DATABASE_URL"]) {
            Some((_, url)) if url.starts_with("postgres://") || url.starts_with("postgresql://") => Ok(Some(url)),
            Some((name, _)) => Err(StartError::Config(format!("{name} must be a postgres:// or postgresql:// URL"))),
            None => Ok(None),
        }
    }

    fn redis_url(&self) -> Result<Option<String>, StartError> {
        match self.either(["PALAVER_REDIS_URL", "REDIS_URL"]) {
            Some((_, url)) if url.starts_with("redis://") => Ok(Some(url)),
            Some((name, _)) => Err(StartError::Config(format!("{name} must be a redis:// URL"))),
            None => Ok(None),
        }
    }

    fn redis_pubsub(&self) -> Result<crate::bus::redis::Channels, StartError> {
        let value = self.text("PALAVER_REDIS_PUBSUB", "auto");
        crate::bus::redis::Channels::parse(&value).ok_or_else(|| {
            StartError::Config(format!("PALAVER_REDIS_PUBSUB must be auto, sharded or plain, not {value:?}"))
        })
    }

    fn ip_limits(&self) -> Result<IpLimits, StartError> {
        let defaults = IpLimits::default();
        let trusted_proxies = self
            .text("PALAVER_TRUSTED_PROXIES", "")
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| {
                a.parse::<IpAddr>()
                    .map(|ip| ip.to_canonical())
                    .map_err(|_| StartError::Config(format!("PALAVER_TRUSTED_PROXIES: {a:?} is not an IP address")))
            })
            .collect::<Result<_, _>>()?;
        Ok(IpLimits {
            max_open: self.number("PALAVER_MAX_CONNECTIONS_PER_IP", defaults.max_open)?,
            new_per_sec: Rate {
                per_sec: self.number("PALAVER_NEW_CONNECTIONS_PER_IP_PER_SEC", defaults.new_per_sec.per_sec)?,
                burst: self.number("PALAVER_NEW_CONNECTIONS_PER_IP_BURST", defaults.new_per_sec.burst)?,
            },
            trusted_proxies,
            pages_per_sec: Rate {
                per_sec: self.number("PALAVER_PAGES_PER_IP_PER_SEC", defaults.pages_per_sec.per_sec)?,
                burst: self.number("PALAVER_PAGES_PER_IP_BURST", defaults.pages_per_sec.burst)?,
            },
        })
    }

    fn previews(&self) -> Result<Option<Vec<SocketAddr>>, StartError> {
        match self.text("PALAVER_LINK_PREVIEWS", "on").trim() {
            "on" => {}
            "off" => return Ok(None),
            other => return Err(StartError::Config(format!("PALAVER_LINK_PREVIEWS={other:?}: it is on or off"))),
        }
        Ok(Some(self.addresses("PALAVER_PREVIEW_ADMIT")?))
    }

    fn push(&self) -> Result<PushSettings, StartError> {
        let contact = self.text("PALAVER_PUSH_CONTACT", "mailto:admin@localhost").trim().to_owned();
        if !(contact.starts_with("mailto:") || contact.starts_with("https://")) {
            return Err(StartError::Config(format!("PALAVER_PUSH_CONTACT={contact:?}: a mailto: or https: address")));
        }
        let text = match self.text("PALAVER_PUSH_TEXT", "off").trim() {
            "on" => true,
            "off" => false,
            other => return Err(StartError::Config(format!("PALAVER_PUSH_TEXT={other:?}: it is on or off"))),
        };
        Ok(PushSettings { contact, text, admitted: self.addresses("PALAVER_PUSH_ADMIT")? })
    }

    /// A comma-separated list of `IP:PORT`s.
    fn addresses(&self, name: &str) -> Result<Vec<SocketAddr>, StartError> {
        let list = self.text(name, "");
        let addresses = list
            .split(',')
            .map(str::trim)
            .filter(|a| !a.is_empty())
            .map(|a| a.parse().map_err(|_| StartError::Config(format!("{name}: {a:?} is not an IP:PORT"))));
        addresses.collect()
    }

    fn files(&self) -> Result<crate::files::Settings, StartError> {
        use crate::files::{Limits, Links, S3Settings, Settings};
        let mb = |name: &str, default: u64| self.number(name, default).map(|n: u64| n.saturating_mul(1 << 20));
        let d = Limits::default();
        let limits = Limits {
            per_file: mb("PALAVER_FILE_MAX_MB", d.per_file >> 20)?,
            per_hour: mb("PALAVER_UPLOAD_MB_PER_HOUR", d.per_hour >> 20)?,
            total: mb("PALAVER_FILES_MAX_MB", d.total >> 20)?,
        };
        let s3 = (self.0)("PALAVER_S3_URL").filter(|u| !u.trim().is_empty()).map(|url| S3Settings {
            url: url.trim().to_owned(),
            key_id: self.text("PALAVER_S3_ACCESS_KEY_ID", ""),
            secret: self.text("PALAVER_S3_SECRET_ACCESS_KEY", ""),
            region: self.text("PALAVER_S3_REGION", "us-east-1"),
        });
        let links = match self.text("PALAVER_FILE_LINKS", "server").trim() {
            "server" => Links::Server,
            "signed" if s3.is_some() => Links::Signed,
            "signed" => return Err(StartError::Config("PALAVER_FILE_LINKS=signed needs PALAVER_S3_URL".into())),
            other => return Err(StartError::Config(format!("PALAVER_FILE_LINKS={other:?}: it is server or signed"))),
        };
        Ok(Settings { limits, s3, links })
    }

    fn accounts(&self) -> Result<accounts::Settings, StartError> {
        let d = accounts::Settings::default();
        let choice =
            |name: &str, options: &[&str]| -> Result<Option<usize>, StartError> {
                match (self.0)(name) {
                    None => Ok(None),
                    Some(v) => options.iter().position(|o| *o == v.trim()).map(Some).ok_or_else(|| {
                        StartError::Config(format!("{name}={v:?}: it is one of {}", options.join(", ")))
                    }),
                }
            };
        let sign_up = match choice("PALAVER_SIGN_UP", &["invite", "open"])? {
            Some(1) => SignUp::Open,
            Some(_) => SignUp::Invite,
            None => d.sign_up,
        };
        let guests = match choice("PALAVER_GUESTS", &["auto", "on", "off"])? {
            Some(1) => Guests::On,
            Some(2) => Guests::Off,
            Some(_) => Guests::Auto,
            None => d.guests,
        };
        let days =
            |name, default: i64| -> Result<i64, StartError> { Ok(self.number(name, default / DAY_MS)? * DAY_MS) };
        Ok(accounts::Settings {
            sign_up,
            guests,
            expiry: crate::store::accounts::Expiry {
                idle_ms: days("PALAVER_SESSION_IDLE_DAYS", d.expiry.idle_ms)?,
                absolute_ms: days("PALAVER_SESSION_MAX_DAYS", d.expiry.absolute_ms)?,
            },
            hashing_threads: self.number("PALAVER_HASHING_THREADS", d.hashing_threads)?,
            attempts: self.number("PALAVER_SIGN_IN_ATTEMPTS", d.attempts)?,
            attempts_window: Duration::from_secs(
                self.number("PALAVER_SIGN_IN_WINDOW_SECS", d.attempts_window.as_secs())?,
            ),
            creators: match choice("PALAVER_ROOM_CREATORS", &["members", "admins"])? {
                Some(1) => Creators::Admins,
                Some(_) => Creators::Members,
                None => d.creators,
            },
            audit_days: self.number("PALAVER_AUDIT_DAYS", d.audit_days)?,
        })
    }

    fn millis(&self, name: &str, default: Duration) -> Result<Duration, StartError> {
        Ok(Duration::from_millis(self.number(name, default.as_millis() as u64)?))
    }

    /// A positive whole number, or the default when unset.
    fn number<T: FromStr + PartialOrd + Default + Copy>(&self, name: &str, default: T) -> Result<T, StartError> {
        match (self.0)(name) {
            Some(v) => T::from_str(v.trim())
                .ok()
                .filter(|n| *n > T::default())
                .ok_or_else(|| StartError::Config(format!("{name}={v:?} is not a positive whole number"))),
            None => Ok(default),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cluster_settings_are_read_and_checked_together() {
        let c = config(&[]).unwrap();
        assert_eq!((c.database_url, c.redis_url), (None, None), "one machine, SQLite, by default");
        let c = config(&[("DATABASE_URL", "postgres://db/palaver"), ("REDIS_URL", "redis://cache/")]).unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgres://db/palaver"));
        assert_eq!(c.redis_url.as_deref(), Some("redis://cache/"));
        let c = config(&[("PALAVER_DATABASE_URL", "postgresql://a/b"), ("DATABASE_URL", "postgres://c/d")]).unwrap();
        assert_eq!(c.database_url.as_deref(), Some("postgresql://a/b"), "PALAVER_ first");
        let c = config(&[("PALAVER_DATABASE_URL", "postgres://db/p")]).unwrap();
        assert!(c.redis_url.is_none(), "PostgreSQL alone: allowed, for one node");
        let err = config(&[("PALAVER_REDIS_URL", "redis://cache/")]).unwrap_err().to_string();
        assert!(err.contains("PALAVER_DATABASE_URL") && err.contains("SQLite"), "{err}");
    }

    #[test]
    fn the_files_settings_are_read_and_checked() {
        use crate::files::{Limits, Links};
        let c = config(&[]).unwrap();
        assert_eq!(c.files.limits, Limits::default());
        assert_eq!((c.files.limits.per_file, c.files.s3.is_none(), c.files.links), (25 << 20, true, Links::Server));
        let c = config(&[
            ("PALAVER_FILE_MAX_MB", "5"),
            ("PALAVER_UPLOAD_MB_PER_HOUR", "50"),
            ("PALAVER_FILES_MAX_MB", "1000"),
            ("PALAVER_S3_URL", "https://s3.example.com/chat"),
            ("PALAVER_FILE_LINKS", "signed"),
        ])
        .unwrap();
        assert_eq!(c.files.limits, Limits { per_file: 5 << 20, per_hour: 50 << 20, total: 1000 << 20 });
        let s3 = c.files.s3.unwrap();
        assert_eq!(
            (s3.url.as_str(), s3.region.as_str(), c.files.links),
            ("https://s3.example.com/chat", "us-east-1", Links::Signed)
        );
        let err = config(&[("PALAVER_FILE_LINKS", "signed")]).unwrap_err().to_string();
        assert!(err.contains("PALAVER_S3_URL"), "{err}");
        assert!(config(&[("PALAVER_FILE_LINKS", "cdn")]).is_err());
        assert!(config(&[("PALAVER_FILE_MAX_MB", "0")]).is_err());
    }

    fn config(vars: &[(&str, &str)]) -> Result<Config, StartError> {
        Config::from_lookup(|name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string()))
    }

    #[test]
    fn defaults_run_out_of_the_box_in_production() {
        let c = config(&[]).unwrap();
        assert_eq!(c.leptos.env, Env::PROD, "no live-reload allowance unless asked");
        assert_eq!(c.leptos.site_addr, "127.0.0.1:3000".parse::<SocketAddr>().unwrap());
        assert_eq!(&*c.leptos.output_name, "palaver");
        assert_eq!(c.rate, Rate::default());
        assert_eq!(c.data_dir, PathBuf::from("data"));
        assert_eq!(config(&[("LEPTOS_WATCH", "true")]).unwrap().leptos.env, Env::DEV, "cargo leptos watch");
        assert_eq!(config(&[("LEPTOS_WATCH", "false")]).unwrap().leptos.env, Env::PROD);
        assert_eq!(config(&[("LEPTOS_ENV", "DEV")]).unwrap().leptos.env, Env::DEV);
    }

    #[test]
    fn the_leptos_settings_cargo_leptos_passes_are_read() {
        let c = config(&[
            ("LEPTOS_OUTPUT_NAME", "chat"),
            ("LEPTOS_SITE_ROOT", "/srv/site"),
            ("LEPTOS_SITE_PKG_DIR", "assets"),
            ("LEPTOS_RELOAD_PORT", "4001"),
            ("LEPTOS_RELOAD_EXTERNAL_PORT", "443"),
            ("LEPTOS_RELOAD_WS_PROTOCOL", "wss"),
            ("LEPTOS_HASH_FILES", "true"),
            ("LEPTOS_HASH_FILE_NAME", "hashes.txt"),
            ("LEPTOS_NOT_FOUND_PATH", "/missing"),
        ])
        .unwrap()
        .leptos;
        assert_eq!((&*c.output_name, &*c.site_root, &*c.site_pkg_dir), ("chat", "/srv/site", "assets"));
        assert_eq!((c.reload_port, c.reload_external_port), (4001, Some(443)));
        assert_eq!(c.reload_ws_protocol, ReloadWSProtocol::WSS);
        assert!(c.hash_files);
        assert_eq!((&*c.hash_file, &*c.not_found_path), ("hashes.txt", "/missing"));
    }

    #[test]
    fn bad_settings_are_refused_by_name() {
        for (name, value) in [
            ("PALAVER_RATE_PER_SEC", "0"),
            ("PALAVER_IDLE_TIMEOUT_MS", "soon"),
            ("PALAVER_TRUSTED_PROXIES", "10.0.0.1, proxy.local"),
            ("PALAVER_ALLOWED_HOSTS", "chat.example.com, https://chat.example.com"),
            ("PALAVER_MAX_HTTP_CONNECTIONS_PER_IP", "0"),
            ("PALAVER_PAGES_PER_IP_BURST", "-3"),
            ("LEPTOS_SITE_ADDR", "localhost"),
            ("LEPTOS_ENV", "staging"),
            ("LEPTOS_RELOAD_WS_PROTOCOL", "http"),
            ("LEPTOS_HASH_FILES", "yes"),
            ("PALAVER_DATABASE_URL", "mysql://db/palaver"),
            ("REDIS_URL", "http://cache"),
        ] {
            let err = config(&[(name, value)]).unwrap_err().to_string();
            assert!(err.contains(name), "{err}");
        }
    }
}
