//! The `signins` scenario: how many sign-ins a second Palaver answers with argon2id at
//! its parameters (19 MiB, 2 passes, 1 lane), per CPU-second of the server, and what a
//! flood of them does to the chat beside it: the latency of messages in a room before
//! and during the flood. Hashing runs on its own threads (`PALAVER_HASHING_THREADS`, half
//! the cores), so the chat's p99 should barely move.

use crate::client::Conn;
use crate::load::{latency, room, source, Latency, Load};
use crate::server::Server;
use crate::settings::{Result, Settings};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

const PASSWORD: &str = "correct+horse+battery";
/// Sign-ins tried at once.
const FLOOD: usize = 32;

/// A form POST from the site's own page: the status.
async fn post(addr: std::net::SocketAddr, path: &str, body: &str) -> Result<u16> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len(),
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let head = String::from_utf8_lossy(&raw[..raw.len().min(32)]).into_owned();
    Ok(head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0))
}

/// Messages in a room of two for `run_for`, 20 a second: their latency.
pub async fn chat_latency(server: std::net::SocketAddr, run_for: Duration, tag: &str) -> Result<Latency> {
    let room = room(&format!("signins-{tag}"));
    let mut conns = Vec::new();
    for i in 0..2 {
        let mut conn = Conn::open(server, source(i)).await?;
        conn.enter(&format!("{tag}{i}"), &room).await?;
        conns.push(conn);
    }
    let load = Load::start_with(conns, false);
    let sent = load.send(&[(0, room)], 20.0, 100, run_for).await;
    load.drain(sent * 2, Duration::from_secs(5)).await;
    Ok(latency(&load.finish().await))
}

pub async fn run(settings: &Settings) -> Result<()> {
    let server = Server::start(&[
        ("PALAVER_SIGN_UP", "open".into()),
        ("PALAVER_SIGN_IN_ATTEMPTS", "100000000".into()),
        ("PALAVER_GUESTS", "on".into()),
        ("PALAVER_RATE_PER_SEC", "1000".into()),
        ("PALAVER_RATE_BURST", "1000".into()),
    ]);
    let made = post(server.addr, "/sign-up", &format!("handle=bench&display_name=Bench&password={PASSWORD}")).await?;
    if made != 303 {
        return Err(format!("sign-up answered {made}").into());
    }
    let run_for = Duration::from_secs(if settings.quick { 3 } else { 10 });
    let before = chat_latency(server.addr, run_for, "before").await?;
    let (done, busy, stop) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let cpu = server.cpu_seconds();
    let started = Instant::now();
    let mut flood = Vec::new();
    for _ in 0..FLOOD {
        let (done, busy, stop, addr) = (done.clone(), busy.clone(), stop.clone(), server.addr);
        flood.push(tokio::spawn(async move {
            while stop.load(Ordering::Relaxed) == 0 {
                match post(addr, "/sign-in", &format!("handle=bench&password={PASSWORD}")).await {
                    Ok(303) => done.fetch_add(1, Ordering::Relaxed),
                    Ok(_) | Err(_) => busy.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let during = chat_latency(server.addr, run_for, "during").await?;
    stop.store(1, Ordering::Relaxed);
    for task in flood {
        let _ = task.await;
    }
    let (elapsed, cpu) = (started.elapsed().as_secs_f64(), server.cpu_seconds() - cpu);
    let signed_in = done.load(Ordering::Relaxed) as f64;
    println!();
    println!(
        "signins: {:.0} sign-ins/s ({} tried at once; {} turned away busy), {:.1} per server CPU-second; argon2id m=19 MiB t=2 p=1",
        signed_in / elapsed,
        FLOOD,
        busy.load(Ordering::Relaxed),
        signed_in / cpu.max(1e-9),
    );
    println!(
        "signins: chat beside it, 20 messages/s: p50 {:.2} ms p99 {:.2} ms before, p50 {:.2} ms p99 {:.2} ms during the flood",
        before.p50, before.p99, during.p50, during.p99
    );
    if signed_in == 0.0 {
        return Err("no sign-in went through".into());
    }
    Ok(())
}
