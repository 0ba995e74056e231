//! Fetching a link for its preview, on the server, with the traps of fetching what
//! strangers link to closed: every address is checked by the [`Guard`] before anything is
//! sent to it, and the connection goes to the very address checked (no second name
//! lookup a rebinding DNS server could answer differently); each redirect is checked the
//! same way, at most [`MAX_REDIRECTS`] of them; no proxy from the environment; only the
//! wanted content types; the body read as it comes and cut off at its cap; a time limit
//! on connecting and on the whole.

use super::guard::Guard;
use bytes::{Bytes, BytesMut};
use http_body_util::{BodyExt, Empty};
use hyper::{header, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::rustls::{self, pki_types::ServerName};
use url::{Host, Url};

/// Redirects followed at most.
pub const MAX_REDIRECTS: usize = 5;

/// What is fetched: a page (HTML, up to 1 MB), a picture (PNG, JPEG, GIF or WebP, up
/// to 5 MB) or a page's oEmbed answer (JSON, up to 64 KB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Want {
    Page,
    Image,
    Embed,
}

impl Want {
    fn cap(self) -> usize {
        match self {
            Want::Page => 1 << 20,
            Want::Image => 5 << 20,
            Want::Embed => 64 << 10,
        }
    }

    fn accepts(self, content_type: &str) -> bool {
        let essence = content_type.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
        match self {
            Want::Page => matches!(essence.as_str(), "text/html" | "application/xhtml+xml"),
            Want::Image => matches!(essence.as_str(), "image/png" | "image/jpeg" | "image/gif" | "image/webp"),
            Want::Embed => matches!(essence.as_str(), "application/json" | "application/json+oembed" | "text/json"),
        }
    }

    fn accept_header(self) -> &'static str {
        match self {
            Want::Page => "text/html",
            Want::Image => "image/*",
            Want::Embed => "application/json",
        }
    }
}

/// Why a link was not fetched.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("only http and https links are fetched")]
    Scheme,
    #[error("links with a user name or password are not fetched")]
    Credentials,
    #[error("{0} is not on the public internet: {1}")]
    Address(SocketAddr, &'static str),
    #[error("{0} has no address")]
    NoAddress(String),
    #[error("more than {MAX_REDIRECTS} redirects")]
    TooManyRedirects,
    #[error("answered {0}")]
    Status(u16),
    #[error("not what was wanted: {0:?}")]
    Type(String),
    #[error("longer than {0} bytes")]
    TooBig(usize),
    #[error("took too long")]
    Timeout,
    #[error("{0}")]
    Failed(String),
}

/// A fetched page or picture: where it ended up (after redirects), its type and body.
#[derive(Debug, Clone)]
pub struct Fetched {
    pub url: Url,
    pub content_type: String,
    pub body: Bytes,
}

/// Fetches links for previews (see the module's doc).
#[derive(Clone)]
pub struct Fetcher {
    guard: Guard,
    tls: tokio_rustls::TlsConnector,
    connect_within: Duration,
    total_within: Duration,
}

impl Fetcher {
    /// A fetcher that reaches public addresses and those `guard` admits, connecting within
    /// 3 s and done within 10 s.
    pub fn new(guard: Guard) -> Fetcher {
        Fetcher::with_times(guard, Duration::from_secs(3), Duration::from_secs(10))
    }

    pub fn with_times(guard: Guard, connect_within: Duration, total_within: Duration) -> Fetcher {
        let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        // The provider this build has (ring); its lack of post-quantum key exchange does
        // not matter for public pages' previews.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map(|b| b.with_root_certificates(roots).with_no_client_auth())
            .expect("the ring provider supports the default protocol versions");
        Fetcher { guard, tls: tokio_rustls::TlsConnector::from(Arc::new(config)), connect_within, total_within }
    }

    /// Fetches `link` (following redirects) for what `want`s.
    pub async fn get(&self, link: &str, want: Want) -> Result<Fetched, Refused> {
        tokio::time::timeout(self.total_within, self.follow(link, want)).await.map_err(|_| Refused::Timeout)?
    }

    async fn follow(&self, link: &str, want: Want) -> Result<Fetched, Refused> {
        let mut url = Url::parse(link).map_err(|e| Refused::Failed(format!("not a link: {e}")))?;
        for _ in 0..=MAX_REDIRECTS {
            match self.once(&url, want).await? {
                Hop::Done(fetched) => return Ok(fetched),
                Hop::Redirect(next) => url = next,
            }
        }
        Err(Refused::TooManyRedirects)
    }

    /// One request: its answer, or where it redirects to.
    async fn once(&self, url: &Url, want: Want) -> Result<Hop, Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused::Scheme);
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(Refused::Credentials);
        }
        let addr = self.address(url).await?;
        let tcp = tokio::time::timeout(self.connect_within, TcpStream::connect(addr))
            .await
            .map_err(|_| Refused::Timeout)?
            .map_err(|e| Refused::Failed(format!("cannot connect to {addr}: {e}")))?;
        let request = Request::get(path_of(url))
            .header(header::HOST, host_header(url))
            .header(header::USER_AGENT, "Palaver link preview")
            .header(header::ACCEPT, want.accept_header())
            .header(header::ACCEPT_ENCODING, "identity")
            .body(Empty::<Bytes>::new())
            .map_err(|e| Refused::Failed(e.to_string()))?;
        let response = match url.scheme() {
            "https" => {
                let name = match url.host() {
                    Some(Host::Domain(d)) => ServerName::try_from(d.to_owned()),
                    _ => ServerName::try_from(addr.ip().to_string()),
                }
                .map_err(|e| Refused::Failed(e.to_string()))?;
                let tls = self.tls.connect(name, tcp).await.map_err(|e| Refused::Failed(format!("TLS: {e}")))?;
                send(TokioIo::new(tls), request).await?
            }
            _ => send(TokioIo::new(tcp), request).await?,
        };
        let status = response.status();
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            let location = response.headers().get(header::LOCATION).and_then(|l| l.to_str().ok());
            let next = location.and_then(|l| url.join(l).ok()).ok_or(Refused::Status(status.as_u16()))?;
            return Ok(Hop::Redirect(next));
        }
        if !status.is_success() {
            return Err(Refused::Status(status.as_u16()));
        }
        let content_type = response.headers().get(header::CONTENT_TYPE).and_then(|t| t.to_str().ok());
        let content_type = content_type.unwrap_or_default().to_owned();
        if !want.accepts(&content_type) {
            return Err(Refused::Type(content_type));
        }
        let cap = want.cap();
        let declared =
            response.headers().get(header::CONTENT_LENGTH).and_then(|l| l.to_str().ok()?.parse::<u64>().ok());
        if declared.is_some_and(|n| n > cap as u64) {
            return Err(Refused::TooBig(cap));
        }
        let mut body = response.into_body();
        let mut read = BytesMut::new();
        while let Some(frame) = body.frame().await {
            let frame = frame.map_err(|e| Refused::Failed(e.to_string()))?;
            if let Some(data) = frame.data_ref() {
                if read.len() + data.len() > cap {
                    return Err(Refused::TooBig(cap));
                }
                read.extend_from_slice(data);
            }
        }
        Ok(Hop::Done(Fetched { url: url.clone(), content_type, body: read.freeze() }))
    }

    /// The one address `url` is fetched from: its IP literal, or the first its host
    /// resolves to; refused if that, or any other address the host resolves to, is not
    /// public (a name that also leads inside is not followed at all).
    async fn address(&self, url: &Url) -> Result<SocketAddr, Refused> {
        let port = url.port_or_known_default().ok_or(Refused::Scheme)?;
        let addrs: Vec<SocketAddr> = match url.host() {
            Some(Host::Ipv4(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(Host::Ipv6(ip)) => vec![SocketAddr::new(ip.into(), port)],
            Some(Host::Domain(name)) => {
                let found = tokio::time::timeout(self.connect_within, tokio::net::lookup_host((name, port)))
                    .await
                    .map_err(|_| Refused::Timeout)?;
                found.map_err(|_| Refused::NoAddress(name.to_owned()))?.collect()
            }
            None => return Err(Refused::NoAddress(url.to_string())),
        };
        for addr in &addrs {
            if let Some(why) = self.guard.refuses(*addr) {
                return Err(Refused::Address(*addr, why));
            }
        }
        addrs.first().copied().ok_or_else(|| Refused::NoAddress(url.host_str().unwrap_or_default().to_owned()))
    }
}

enum Hop {
    Done(Fetched),
    Redirect(Url),
}

/// Sends `request` over `io` (HTTP/1.1): the answer's head, its body still to read.
async fn send<T>(io: T, request: Request<Empty<Bytes>>) -> Result<hyper::Response<hyper::body::Incoming>, Refused>
where
    T: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(io).await.map_err(|e| Refused::Failed(e.to_string()))?;
    tokio::spawn(async move {
        // Ends with the answer (or the fetch's time limit dropping it).
        let _ = connection.await;
    });
    sender.send_request(request).await.map_err(|e| Refused::Failed(e.to_string()))
}

fn path_of(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}

fn host_header(url: &Url) -> String {
    let host = url.host_str().unwrap_or_default();
    match url.port() {
        Some(port) => format!("{host}:{port}"),
        None => host.to_owned(),
    }
}
