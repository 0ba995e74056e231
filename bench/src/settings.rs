//! What a run was asked for (`--quick`, `--check`), and what a scenario fails with.

use std::time::Duration;

pub struct Settings {
    pub quick: bool,
    /// `--check`: scenarios with bounds of their own fail past them.
    pub check: bool,
}

impl Settings {
    /// How long a load runs.
    pub fn run_for(&self) -> Duration {
        if self.quick {
            Duration::from_secs(3)
        } else {
            Duration::from_secs(10)
        }
    }

    /// The most one scenario may take, start to end, before the bench gives up on it.
    pub fn time_limit(&self) -> Duration {
        if self.quick {
            Duration::from_secs(180)
        } else {
            Duration::from_secs(600)
        }
    }
}

pub type Result<T> = std::result::Result<T, Box<dyn std::error::Error>>;
