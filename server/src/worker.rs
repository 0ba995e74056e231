//! The service worker, `/sw.js`: the site's `sw.js` with this build's version and the
//! files of its app shell written in front of it. The version is a hash of those files
//! and of the worker itself, so a deploy that changes any of them is a new worker to the
//! browser: it keeps the new shell in caches of its own, and drops the old ones.

use axum::{
    http::{header, HeaderValue, StatusCode},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::sync::OnceCell;

/// The worker of one site, made at its first request and kept.
#[derive(Clone)]
pub struct Worker {
    site_root: PathBuf,
    made: Arc<OnceCell<Option<String>>>,
}

impl Worker {
    pub fn new(site_root: impl Into<PathBuf>) -> Worker {
        Worker { site_root: site_root.into(), made: Arc::new(OnceCell::new()) }
    }

    /// The worker's script, as a response. Never kept by HTTP caches: the browser
    /// compares it each time it checks for an update.
    pub async fn respond(self) -> Response {
        let root = self.site_root.clone();
        let made = self
            .made
            .get_or_init(|| async move {
                tokio::task::spawn_blocking(move || {
                    script(&root).map_err(|e| tracing::warn!("cannot make /sw.js: {e}")).ok()
                })
                .await
                .ok()
                .flatten()
            })
            .await;
        match made {
            Some(script) => {
                let mut response = script.clone().into_response();
                let headers = response.headers_mut();
                headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/javascript; charset=utf-8"));
                headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
                response
            }
            None => (StatusCode::NOT_FOUND, "no service worker in this build\n").into_response(),
        }
    }
}

/// `sw.js` with `VERSION` and `SHELL` in front of it.
fn script(root: &Path) -> std::io::Result<String> {
    let worker = std::fs::read_to_string(root.join("sw.js"))?;
    let shell = shell(root)?;
    let mut hash = Sha256::new();
    hash.update(worker.as_bytes());
    for (address, file) in &shell {
        hash.update(address.as_bytes());
        hash.update(std::fs::read(file)?);
    }
    let version: String = hash.finalize().iter().take(8).map(|b| format!("{b:02x}")).collect();
    let addresses: Vec<String> = shell.iter().map(|(address, _)| format!("{address:?}")).collect();
    Ok(format!("const VERSION = \"{version}\";\nconst SHELL = [{}];\n{worker}", addresses.join(", ")))
}

/// The app shell: the site's own files at its top (icons, manifest, scripts) and the
/// page's build (`pkg/`: its script, style, WebAssembly and lazily loaded parts), by
/// address, in order. Compressed twins and type declarations are not fetched by pages.
fn shell(root: &Path) -> std::io::Result<Vec<(String, PathBuf)>> {
    let mut shell = Vec::new();
    for (dir, prefix) in [(root.to_path_buf(), "/"), (root.join("pkg"), "/pkg/")] {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let Ok(name) = entry.file_name().into_string() else { continue };
            let skipped =
                name == "sw.js" || name.ends_with(".gz") || name.ends_with(".d.ts") || name.ends_with(".json");
            if entry.file_type()?.is_file() && !skipped {
                shell.push((format!("{prefix}{name}"), entry.path()));
            }
        }
    }
    shell.sort();
    Ok(shell)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn site() -> tempfile::TempDir {
        let site = tempfile::tempdir().unwrap();
        std::fs::create_dir(site.path().join("pkg")).unwrap();
        for (file, text) in [
            ("sw.js", "self.addEventListener(\"fetch\", () => {});"),
            ("favicon.svg", "<svg/>"),
            ("manifest.webmanifest", "{}"),
            ("pkg/palaver.js", "js"),
            ("pkg/palaver.wasm", "wasm"),
            ("pkg/palaver.wasm.gz", "gz"),
            ("pkg/palaver.d.ts", "types"),
            ("pkg/__wasm_split_manifest.json", "{}"),
        ] {
            std::fs::write(site.path().join(file), text).unwrap();
        }
        site
    }

    fn version(script: &str) -> &str {
        script.strip_prefix("const VERSION = \"").and_then(|s| s.split('"').next()).unwrap()
    }

    #[test]
    fn the_worker_names_its_shell_and_a_version_that_changes_with_any_of_it() {
        let site = site();
        let first = script(site.path()).unwrap();
        assert!(first.contains(
            "const SHELL = [\"/favicon.svg\", \"/manifest.webmanifest\", \"/pkg/palaver.js\", \"/pkg/palaver.wasm\"];\n"
        ));
        assert!(first.ends_with("self.addEventListener(\"fetch\", () => {});"));
        assert_eq!(version(&first).len(), 16);
        assert_eq!(script(site.path()).unwrap(), first, "the same build, the same worker");
        // A deploy: a new WebAssembly, or a new worker, is a new version.
        std::fs::write(site.path().join("pkg/palaver.wasm"), "wasm 2").unwrap();
        let second = script(site.path()).unwrap();
        assert_ne!(version(&second), version(&first));
        std::fs::write(site.path().join("sw.js"), "// 2").unwrap();
        assert_ne!(version(&script(site.path()).unwrap()), version(&second));
        // What pages never fetch leaves it as it is.
        let before = script(site.path()).unwrap();
        std::fs::write(site.path().join("pkg/palaver.wasm.gz"), "gz 2").unwrap();
        assert_eq!(script(site.path()).unwrap(), before);
    }
}
