//! A check on each backend: `on_each_backend!(check, ...)` makes, of each
//! `async fn check(backend: &[(&str, &str)])` in scope, a test on SQLite (no settings)
//! and one on a PostgreSQL server of the test's own (`PALAVER_DATABASE_URL`).

use std::time::Duration;
use testkit::services::Postgres;

/// A PostgreSQL server of the test's own, with a `palaver` database, and its URL.
pub fn postgres() -> (Postgres, String) {
    let pg = Postgres::start(Duration::from_secs(300)).expect("PostgreSQL (scripts/setup.sh installs it)");
    pg.create_database("palaver").unwrap();
    let url = pg.url("palaver");
    (pg, url)
}

#[macro_export]
macro_rules! on_each_backend {
    ($($name:ident),* $(,)?) => {
        mod on_each_backend {
            mod sqlite {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::super::$name(&[]).await;
                })*
            }
            mod postgres {
                $(#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let (_pg, url) = $crate::common::backends::postgres();
                    super::super::$name(&[("PALAVER_DATABASE_URL", url.as_str())]).await;
                })*
            }
        }
    };
}
