//! The `page` scenario: how big the wasm bundle is as served and how fast the chat page
//! renders; and the plain HTTP requests other scenarios time and make.

use crate::load::ms;
use crate::server::Server;
use crate::settings::{Result, Settings};
use std::time::{Duration, Instant};

/// The page: how big the bundle is as served, and how fast the chat page renders.
pub async fn page(settings: &Settings) -> Result<()> {
    let server = Server::start(&[]);
    let mut sizes = Vec::new();
    let mut gzipped = 0;
    for encoding in ["identity", "gzip", "br"] {
        let (status, head, body) = get(&server, "/pkg/palaver.wasm", encoding).await?;
        if status != 200 {
            return Err(format!("GET /pkg/palaver.wasm: {status}").into());
        }
        let served = head
            .lines()
            .find_map(|l| l.to_ascii_lowercase().strip_prefix("content-encoding:").map(|v| v.trim().to_owned()))
            .unwrap_or_else(|| "identity".into());
        sizes.push(format!("{encoding} asked, {served} served: {:.1} KB", body as f64 / 1000.0));
        if served == "gzip" {
            gzipped = body;
        }
    }
    // The page's budget: what a phone loads before it can read and write (the first
    // chunk) comes in a few seconds on a slow line. It only ever comes down: 178.4 KB
    // today (scripts/release.sh builds it for size; one build differs from the next by
    // up to half a kilobyte).
    const WASM_BUDGET_GZIP: usize = 179_500;
    if gzipped == 0 || gzipped > WASM_BUDGET_GZIP {
        return Err(
            format!("the wasm bundle is {gzipped} bytes gzipped: over the {WASM_BUDGET_GZIP}-byte budget").into()
        );
    }
    // Each lazily loaded part (app/src/parts.rs), fetched after the first screen.
    const PART_BUDGET_GZIP: usize = 60_000;
    let mut total = gzipped;
    for part in parts()? {
        let (status, head, body) = get(&server, &format!("/pkg/{part}"), "gzip").await?;
        if status != 200 || !head.to_ascii_lowercase().contains("content-encoding: gzip") {
            return Err(format!("GET /pkg/{part}: {status}, not served gzipped").into());
        }
        if body > PART_BUDGET_GZIP {
            return Err(
                format!("the part {part} is {body} bytes gzipped: over the {PART_BUDGET_GZIP}-byte budget").into()
            );
        }
        sizes.push(format!("part {part}: {:.1} KB gzipped", body as f64 / 1000.0));
        total += body;
    }
    sizes.push(format!("first chunk and parts: {:.1} KB gzipped", total as f64 / 1000.0));
    let rounds = if settings.quick { 200 } else { 1000 };
    let mut lobby = page_times(&server, "/", rounds).await?;
    println!();
    println!("page: the wasm bundle, {}", sizes.join("; "));
    println!("page: the chat page (server-rendered HTML) p50 {} p99 {}", ms(&mut lobby, 0.5), ms(&mut lobby, 0.99));
    Ok(())
}

/// The page's lazily loaded parts in the release build (`split_*.wasm`); at least one.
fn parts() -> Result<Vec<String>> {
    let pkg = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/site/pkg");
    let mut parts: Vec<String> = std::fs::read_dir(&pkg)?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("split_") && name.ends_with(".wasm"))
        .collect();
    parts.sort();
    if parts.is_empty() {
        return Err(format!("no lazily loaded parts in {}: build with scripts/release.sh", pkg.display()).into());
    }
    Ok(parts)
}

/// Times `rounds` GETs of `path` on one kept-alive connection, to the last byte.
pub async fn page_times(server: &Server, path: &str, rounds: usize) -> Result<Vec<Duration>> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await?;
    stream.set_nodelay(true)?;
    let mut times = Vec::new();
    let mut buf = Vec::with_capacity(1 << 16);
    for _ in 0..rounds {
        let t = Instant::now();
        stream.write_all(format!("GET {path} HTTP/1.1\r\nHost: {}\r\n\r\n", server.addr).as_bytes()).await?;
        buf.clear();
        // The page is sent chunked: read to the final empty chunk.
        loop {
            if stream.read_buf(&mut buf).await? == 0 {
                return Err("the server closed the connection".into());
            }
            if buf.ends_with(b"\r\n0\r\n\r\n") {
                break;
            }
        }
        times.push(t.elapsed());
        if !buf.starts_with(b"HTTP/1.1 200") {
            return Err(format!("GET {path}: {}", String::from_utf8_lossy(&buf[..buf.len().min(80)])).into());
        }
    }
    Ok(times)
}

/// A GET with `Accept-Encoding`: status, head, and the body's length on the wire.
pub async fn get(server: &Server, path: &str, encoding: &str) -> Result<(u16, String, usize)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(server.addr).await?;
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {}\r\nAccept-Encoding: {encoding}\r\nConnection: close\r\n\r\n",
        server.addr
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").ok_or("no response head")?;
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let mut body = &raw[split + 4..];
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    let mut length = body.len();
    if chunked {
        length = 0;
        while let Some(end) = body.windows(2).position(|w| w == b"\r\n") {
            let size = usize::from_str_radix(std::str::from_utf8(&body[..end])?.trim(), 16)?;
            if size == 0 {
                break;
            }
            length += size;
            body = &body[(end + 2 + size + 2).min(body.len())..];
        }
    }
    Ok((status, head, length))
}
