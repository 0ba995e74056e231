//! Settings, read from the environment with defaults that run out of the box.

use crate::error::StartError;
use leptos::prelude::LeptosOptions;
use std::time::Duration;

/// Everything the server needs to start.
pub struct Config {
    /// Address, static-file root and the rest of Leptos' settings (`LEPTOS_*` variables).
    pub leptos: LeptosOptions,
    /// How long shutdown waits for open chat connections to close (`PALAVER_SHUTDOWN_GRACE_MS`).
    pub shutdown_grace: Duration,
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
        let shutdown_grace = match std::env::var("PALAVER_SHUTDOWN_GRACE_MS") {
            Ok(v) => Duration::from_millis(v.parse().map_err(|_| {
                StartError::Config(format!("PALAVER_SHUTDOWN_GRACE_MS={v:?} is not a number of milliseconds"))
            })?),
            Err(_) => Duration::from_secs(5),
        };
        Ok(Config { leptos, shutdown_grace })
    }
}
