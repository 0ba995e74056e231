//! A PostgreSQL and a Redis of their own for a test written in another language (the
//! end-to-end tests): prints `PALAVER_DATABASE_URL=...` and `PALAVER_REDIS_URL=...`, then
//! keeps both running until its standard input closes (the test is done, or died) or its
//! lifetime (first argument, in seconds; 300 if none) runs out, and stops them.

use std::{io::Read, time::Duration};
use testkit::services::{Postgres, Redis};

fn main() {
    let lifetime = Duration::from_secs(std::env::args().nth(1).and_then(|s| s.parse().ok()).unwrap_or(300));
    let started = Postgres::start(lifetime).and_then(|pg| {
        pg.create_database("palaver")?;
        Ok((pg, Redis::start(lifetime)?))
    });
    let (pg, redis) = match started {
        Ok(both) => both,
        Err(e) => {
            eprintln!("palaver-services: {e}");
            std::process::exit(1);
        }
    };
    println!("PALAVER_DATABASE_URL={}", pg.url("palaver"));
    println!("PALAVER_REDIS_URL={}", redis.url());
    let (done, wait) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        let _ = done.send(());
    });
    let _ = wait.recv_timeout(lifetime);
    drop((pg, redis));
}
