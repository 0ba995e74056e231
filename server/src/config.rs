//! Settings, read from the environment with defaults that run out of the box.

use crate::admission::IpLimits;
use crate::error::StartError;
use crate::origin::AllowedOrigins;
use crate::ws::{Liveness, Rate};
use leptos::prelude::LeptosOptions;
use std::{net::IpAddr, path::PathBuf, str::FromStr, time::Duration};

/// Everything the server needs to start.
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
    /// Messages per second and burst per connection (`PALAVER_RATE_PER_SEC`, `PALAVER_RATE_BURST`).
    pub rate: Rate,
    /// How long shutdown waits for open chat connections to close (`PALAVER_SHUTDOWN_GRACE_MS`).
    pub shutdown_grace: Duration,
    /// Chat sockets per client address, and which proxies' `X-Forwarded-For` to believe.
    pub ip_limits: IpLimits,
}

/// Name of the front-end bundle under `/pkg`, as the workspace's Leptos metadata sets it.
const OUTPUT_NAME: &str = "palaver";

impl Config {
    pub fn from_env() -> Result<Config, StartError> {
        // cargo-leptos compiles the bundle name in; a plain `cargo build` does not.
        if std::env::var_os("LEPTOS_OUTPUT_NAME").is_none() {
            std::env::set_var("LEPTOS_OUTPUT_NAME", OUTPUT_NAME);
        }
        let leptos =
            leptos::config::get_configuration(None).map_err(|e| StartError::Config(e.to_string()))?.leptos_options;
        let defaults = Liveness::default();
        Ok(Config {
            leptos,
            data_dir: std::env::var_os("PALAVER_DATA_DIR").map_or_else(|| PathBuf::from("data"), PathBuf::from),
            secret: std::env::var("PALAVER_SECRET").ok().filter(|s| !s.is_empty()),
            liveness: Liveness {
                ping_every: millis("PALAVER_PING_INTERVAL_MS", defaults.ping_every)?,
                idle_timeout: millis("PALAVER_IDLE_TIMEOUT_MS", defaults.idle_timeout)?,
            },
            allowed_origins: AllowedOrigins::parse(&std::env::var("PALAVER_ALLOWED_ORIGINS").unwrap_or_default()),
            rate: Rate {
                per_sec: number("PALAVER_RATE_PER_SEC", Rate::default().per_sec)?,
                burst: number("PALAVER_RATE_BURST", Rate::default().burst)?,
            },
            shutdown_grace: millis("PALAVER_SHUTDOWN_GRACE_MS", Duration::from_secs(5))?,
            ip_limits: ip_limits()?,
        })
    }
}

fn ip_limits() -> Result<IpLimits, StartError> {
    let defaults = IpLimits::default();
    let trusted_proxies = std::env::var("PALAVER_TRUSTED_PROXIES")
        .unwrap_or_default()
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
        max_open: number("PALAVER_MAX_CONNECTIONS_PER_IP", defaults.max_open)?,
        new_per_sec: Rate {
            per_sec: number("PALAVER_NEW_CONNECTIONS_PER_IP_PER_SEC", defaults.new_per_sec.per_sec)?,
            burst: number("PALAVER_NEW_CONNECTIONS_PER_IP_BURST", defaults.new_per_sec.burst)?,
        },
        trusted_proxies,
    })
}

fn millis(var: &str, default: Duration) -> Result<Duration, StartError> {
    Ok(Duration::from_millis(number(var, default.as_millis() as u64)?))
}

/// A positive whole number from the environment, or the default when unset.
fn number<T: FromStr + PartialOrd + Default + Copy>(var: &str, default: T) -> Result<T, StartError> {
    match std::env::var(var) {
        Ok(v) => T::from_str(v.trim())
            .ok()
            .filter(|n| *n > T::default())
            .ok_or_else(|| StartError::Config(format!("{var}={v:?} is not a positive whole number"))),
        Err(_) => Ok(default),
    }
}
