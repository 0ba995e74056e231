//! The `uploads` scenario: 50 people uploading files at once (`POST /files`, as the page
//! does), first of 1 MB, then of 20 MB, for as long as the chat is measured (2 s with
//! `--quick`, 5 s; at most 2 or 5 GB a phase): how many files and megabytes a second
//! the server stores (in its data directory), its resident memory meanwhile, and the
//! chat's latency in a room beside them against the same chat without uploads. Files are
//! streamed to storage a part at a time, so the server's memory must not grow with the
//! size of the files: the run fails if it grows by half of what 50 files of 20 MB
//! weigh (what holding them whole would take).

use crate::load::Latency;
use crate::server::Server;
use crate::settings::{Result, Settings};
use crate::signins::chat_latency;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Uploads at once.
const UPLOADERS: usize = 50;
const MB: u64 = 1 << 20;

/// A sign-up from the site's own page: the session cookie it sets.
async fn session(addr: SocketAddr) -> Result<String> {
    let body = "handle=uploader&display_name=Uploader&password=correct+horse+battery";
    let request = format!(
        "POST /sign-up HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len(),
    );
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let head = String::from_utf8_lossy(&raw);
    let cookie = head
        .lines()
        .find_map(|l| l.strip_prefix("set-cookie: palaver_session=").or(l.strip_prefix("Set-Cookie: palaver_session=")))
        .and_then(|v| v.split(';').next())
        .ok_or("the sign-up set no session cookie")?;
    Ok(cookie.to_owned())
}

/// One upload of `size` bytes (written 64 KB at a time, as a browser sends a file): its
/// status.
async fn upload(addr: SocketAddr, cookie: &str, size: u64, n: u64) -> Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let head = format!(
        "POST /files?room=uploads&name=file{n}.bin HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
         Cookie: palaver_session={cookie}\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n"
    );
    stream.write_all(head.as_bytes()).await?;
    let chunk = vec![0x5au8; 64 << 10];
    let mut left = size;
    while left > 0 {
        let part = left.min(chunk.len() as u64) as usize;
        stream.write_all(&chunk[..part]).await?;
        left -= part as u64;
    }
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let status = String::from_utf8_lossy(&raw[..raw.len().min(16)]).split(' ').nth(1).and_then(|s| s.parse().ok());
    Ok(status.unwrap_or(0))
}

/// What one phase of uploads measured.
struct Phase {
    files: u64,
    failed: u64,
    seconds: f64,
    peak_rss_kib: u64,
    chat: Latency,
}

/// `UPLOADERS` uploading files of `size` over and over while a room chats beside them
/// for `run_for` (each stops at `per_uploader` files, to spare the disk).
async fn phase(
    server: &Server,
    cookie: &str,
    size: u64,
    per_uploader: u64,
    run_for: Duration,
    tag: &str,
) -> Result<Phase> {
    let (done, failed) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for u in 0..UPLOADERS {
        let (done, failed, addr, cookie) = (done.clone(), failed.clone(), server.addr, cookie.to_owned());
        tasks.push(tokio::spawn(async move {
            for i in 0..per_uploader {
                if started.elapsed() > run_for {
                    break;
                }
                match upload(addr, &cookie, size, u as u64 * 1000 + i).await {
                    Ok(201) => done.fetch_add(1, Ordering::Relaxed),
                    _ => failed.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    let watch = async {
        let mut peak = 0;
        while tasks.iter().any(|t| !t.is_finished()) {
            peak = server.rss_kib().max(peak);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        (peak, started.elapsed().as_secs_f64())
    };
    let (chat, (peak, seconds)) = tokio::join!(chat_latency(server.addr, run_for, tag), watch);
    for task in tasks {
        let _ = task.await;
    }
    let chat = chat?;
    // What was stored goes, so that the next phase (and the disk) start empty.
    if let Some(files) = server.data_dir().map(|d| d.join("files")) {
        let _ = std::fs::remove_dir_all(&files);
        let _ = std::fs::create_dir_all(&files);
    }
    let (files, failed) = (done.load(Ordering::Relaxed), failed.load(Ordering::Relaxed));
    Ok(Phase { files, failed, seconds, peak_rss_kib: peak, chat })
}

pub async fn run(settings: &Settings) -> Result<()> {
    let server = Server::start(&[
        ("PALAVER_SIGN_UP", "open".into()),
        ("PALAVER_FILE_MAX_MB", "25".into()),
        ("PALAVER_UPLOAD_MB_PER_HOUR", "10000000".into()),
        ("PALAVER_FILES_MAX_MB", "10000000".into()),
        ("PALAVER_RATE_PER_SEC", "1000".into()),
        ("PALAVER_RATE_BURST", "1000".into()),
    ]);
    let cookie = session(server.addr).await?;
    let run_for = Duration::from_secs(if settings.quick { 2 } else { 5 });
    let before = chat_latency(server.addr, run_for, "quiet").await?;
    let idle = server.rss_kib();
    // At most 2 GB (quick) or 5 GB a phase.
    let (small_each, large_each) = if settings.quick { (40, 2) } else { (100, 5) };
    let small = phase(&server, &cookie, MB, small_each, run_for, "small").await?;
    let large = phase(&server, &cookie, 20 * MB, large_each, run_for, "large").await?;
    println!();
    println!("uploads: {UPLOADERS} uploading at once; server RSS idle {} MB", idle / 1024);
    for (p, size) in [(&small, 1), (&large, 20)] {
        println!(
            "uploads: {size} MB files: {} stored ({} failed) in {:.1} s: {:.1} files/s, {:.0} MB/s; server RSS peak {} MB; \
             chat beside them p50 {:.2} ms p99 {:.2} ms (without uploads: p50 {:.2} ms p99 {:.2} ms)",
            p.files,
            p.failed,
            p.seconds,
            p.files as f64 / p.seconds,
            (p.files * size) as f64 / p.seconds,
            p.peak_rss_kib / 1024,
            p.chat.p50,
            p.chat.p99,
            before.p50,
            before.p99,
        );
    }
    if small.failed + large.failed > 0 || small.files == 0 || large.files == 0 {
        return Err(format!("{} uploads failed", small.failed + large.failed).into());
    }
    // Holding each file whole would take UPLOADERS × 20 MB; streaming, a few parts each.
    let grew = large.peak_rss_kib.saturating_sub(idle) * 1024;
    if grew > UPLOADERS as u64 * 20 * MB / 2 {
        return Err(format!("the server's memory grew by {} MB with 20 MB files", grew / MB).into());
    }
    Ok(())
}
