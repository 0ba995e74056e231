//! The page's largest files, compressed ahead of time. A release build writes a gzip
//! twin beside the WebAssembly (`scripts/precompress.sh`, with zopfli: about 5% smaller
//! than compressing on each request, and no CPU spent per download). A request that
//! takes gzip gets the twin while it is at least as new as the file; otherwise (no twin,
//! or a stale one left from an earlier build under `cargo leptos watch`) the file is
//! served as any other, compressed on the fly.

use axum::{
    body::Body,
    extract::{Request, State},
    http::{header, HeaderMap, HeaderValue, Response},
    middleware::Next,
};
use std::path::{Path, PathBuf};

/// The files that have a twin.
const TWINNED: &[&str] = &["wasm"];

/// The site's files, for [`precompressed`].
#[derive(Clone)]
pub struct Site {
    pub root: PathBuf,
}

pub async fn precompressed(State(site): State<Site>, request: Request, next: Next) -> Response<Body> {
    let shell = shell_file(request.uri().path());
    if let Some(file) = twinned_file(&site.root, request.uri().path()) {
        if takes_gzip(request.headers()) {
            if let Some((bytes, tag)) = fresh_twin(&file).await {
                let unchanged = request.headers().get(header::IF_NONE_MATCH).is_some_and(|asked| *asked == tag);
                return twin_response(bytes, tag, unchanged);
            }
        }
    }
    let mut response = next.run(request).await;
    if shell && !response.headers().contains_key(header::CACHE_CONTROL) {
        // The page's files keep their names from build to build: a browser asks each
        // time whether its copy is still the one (an answer of 304 when it is), so a
        // deploy is never hidden behind an old copy.
        response.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    }
    response
}

/// Whether a path names one of the site's own files: the page's build (`/pkg/…`) or a
/// file at the top (icons, manifest, scripts).
fn shell_file(path: &str) -> bool {
    path.starts_with("/pkg/") || path.rsplit_once('/').is_some_and(|(dir, name)| dir.is_empty() && name.contains('.'))
}

/// The file a path names, if it is one with a twin (and names nothing outside the site).
fn twinned_file(root: &Path, path: &str) -> Option<PathBuf> {
    let relative = path.strip_prefix('/')?;
    let extension = relative.rsplit_once('.')?.1;
    let plain = relative.split('/').all(|part| !part.is_empty() && part != "." && part != "..");
    (TWINNED.contains(&extension) && plain).then(|| root.join(relative))
}

/// Whether the client accepts gzip (and has not ruled it out with `q=0`).
fn takes_gzip(headers: &HeaderMap) -> bool {
    headers.get_all(header::ACCEPT_ENCODING).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(',')).any(
        |coding| {
            let mut parts = coding.split(';').map(str::trim);
            let name = parts.next().unwrap_or_default();
            let refused = parts.any(|p| p.strip_prefix("q=").and_then(|q| q.trim().parse::<f32>().ok()) == Some(0.0));
            (name.eq_ignore_ascii_case("gzip") || name == "*") && !refused
        },
    )
}

/// The twin's bytes and its entity tag (its size and time), if it exists and is not
/// older than the file.
async fn fresh_twin(file: &Path) -> Option<(Vec<u8>, HeaderValue)> {
    let mut twin = file.as_os_str().to_owned();
    twin.push(".gz");
    let twin = PathBuf::from(twin);
    let (made, of) = (tokio::fs::metadata(&twin).await.ok()?, tokio::fs::metadata(file).await.ok()?);
    if made.modified().ok()? < of.modified().ok()? {
        return None;
    }
    let at = made.modified().ok()?.duration_since(std::time::UNIX_EPOCH).ok()?;
    let tag = HeaderValue::from_str(&format!("\"gz-{:x}-{:x}\"", made.len(), at.as_nanos())).ok()?;
    Some((tokio::fs::read(&twin).await.ok()?, tag))
}

fn twin_response(bytes: Vec<u8>, tag: HeaderValue, unchanged: bool) -> Response<Body> {
    let mut response = match unchanged {
        true => {
            let mut response = Response::new(Body::empty());
            *response.status_mut() = axum::http::StatusCode::NOT_MODIFIED;
            response
        }
        false => Response::new(Body::from(bytes)),
    };
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/wasm"));
    if !unchanged {
        headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
    headers.insert(header::ETAG, tag);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accepting(value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::ACCEPT_ENCODING, HeaderValue::from_str(value).unwrap());
        headers
    }

    #[test]
    fn gzip_is_taken_unless_refused() {
        assert!(takes_gzip(&accepting("gzip, deflate, br, zstd")));
        assert!(takes_gzip(&accepting("br;q=1.0, gzip;q=0.8")));
        assert!(takes_gzip(&accepting("*")));
        assert!(!takes_gzip(&accepting("gzip;q=0")));
        assert!(!takes_gzip(&accepting("gzip; q=0.0, br")));
        assert!(!takes_gzip(&accepting("identity")));
        assert!(!takes_gzip(&HeaderMap::new()));
    }

    #[test]
    fn only_twinned_files_inside_the_site() {
        let root = Path::new("/srv/site");
        assert_eq!(twinned_file(root, "/pkg/palaver.wasm"), Some(PathBuf::from("/srv/site/pkg/palaver.wasm")));
        assert_eq!(twinned_file(root, "/pkg/palaver.js"), None);
        assert_eq!(twinned_file(root, "/pkg/../../etc/x.wasm"), None);
        assert_eq!(twinned_file(root, "//x.wasm"), None);
    }

    #[tokio::test]
    async fn a_twin_older_than_its_file_is_not_served() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("a.wasm");
        std::fs::write(dir.path().join("a.wasm.gz"), b"twin").unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        std::fs::write(&file, b"newer build").unwrap();
        assert_eq!(fresh_twin(&file).await, None, "stale: left from an earlier build");
        std::fs::write(dir.path().join("a.wasm.gz"), b"twin").unwrap();
        let (bytes, tag) = fresh_twin(&file).await.unwrap();
        assert_eq!(bytes, b"twin");
        assert!(tag.to_str().unwrap().starts_with("\"gz-4-"));
        // Asked again with the tag: 304, nothing sent.
        let again = twin_response(bytes.clone(), tag.clone(), true);
        assert_eq!(again.status(), axum::http::StatusCode::NOT_MODIFIED);
        assert_eq!(again.headers().get(header::ETAG), Some(&tag));
        assert_eq!(twin_response(bytes, tag, false).headers().get(header::CONTENT_ENCODING).unwrap(), "gzip");
        assert_eq!(fresh_twin(&dir.path().join("b.wasm")).await, None);
    }

    #[test]
    fn the_sites_own_files_are_the_shell() {
        for path in ["/pkg/palaver.wasm", "/pkg/palaver.css", "/favicon.svg", "/offline.js"] {
            assert!(shell_file(path), "{path}");
        }
        for path in ["/", "/r/design", "/files/abc/x.png", "/search", "/previews/a.png"] {
            assert!(!shell_file(path), "{path}");
        }
    }
}
