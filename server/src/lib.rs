//! Palaver's server: the server-rendered chat pages, static files, and the WebSocket
//! that fans every stored message out to everyone in its room.
//!
//! [`run`] is the whole server on a listener until a shutdown token is cancelled; the
//! binary (`main.rs`) adds only settings from the environment, logging and signals.

pub mod access;
pub mod account_pages;
pub mod accounts;
pub mod admin;
pub mod admin_page;
pub mod admission;
pub mod assets;
pub mod bus;
pub mod chat;
pub mod config;
pub mod error;
pub mod files;
pub mod hub;
pub mod identity;
pub mod limits;
pub mod listen;
pub mod origin;
pub mod pages;
pub mod pictures;
pub mod preview;
pub mod push;
pub mod room_pages;
pub mod search;
pub mod session;
pub mod socket;
pub mod store;
pub mod words;
pub mod worker;

use admission::Admission;
use app::shell;
use axum::http::{header, HeaderValue};
use axum::{extract::FromRef, middleware, routing::get, Router};
use chat::{Context, Gate};
use config::Config;
use error::StartError;
use hub::Hub;
use identity::Identity;
use leptos::prelude::LeptosOptions;
use std::{path::PathBuf, sync::Arc};
use store::{postgres::PostgresStore, sqlite::SqliteStore, Store};
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tower_http::{compression::CompressionLayer, set_header::SetResponseHeaderLayer, trace::TraceLayer};

/// What every request handler can reach.
#[derive(Clone, FromRef)]
pub struct AppState {
    pub leptos_options: LeptosOptions,
    pub hub: Arc<Hub>,
    pub gate: Gate,
    /// What the files' handlers need.
    pub desk: files::Desk,
    /// What the push routes need.
    pub push: push::http::Desk,
}

/// Serves Palaver on `listener` until `shutdown` is cancelled: opens the message store
/// (SQLite in the data directory, or the shared PostgreSQL database) and, with Redis,
/// joins the other nodes; then serves pages and chat connections. On
/// shutdown it stops accepting, tells every chat connection to close ("going away"),
/// and waits, within one grace period for all of it, for requests in flight and
/// connections to finish.
pub async fn run(listener: TcpListener, config: Config, shutdown: CancellationToken) -> Result<(), StartError> {
    config.log();
    let (store, identity) = open(&config).await?;
    let hub = match &config.redis_url {
        Some(url) => {
            let node = bus::NodeId::fresh()?;
            let key = bus::signing::BusKey::new(&identity);
            let (bus, inbound) =
                bus::redis::RedisBus::start(url, config.redis_pubsub, node.clone(), key, shutdown.clone())
                    .map_err(|e| StartError::Config(format!("PALAVER_REDIS_URL: {e}")))?;
            tracing::info!(%node, "one of several nodes: telling the others through Redis");
            Hub::start_with(store, Arc::new(bus), inbound, shutdown.clone()).await?
        }
        None => {
            if config.database_url.is_some() {
                tracing::warn!(
                    "PostgreSQL without Redis: run only ONE node, or the others will not see its messages live"
                );
            }
            Hub::start(store).await?
        }
    };
    let auth =
        Arc::new(accounts::Auth::new(hub.store_handle(), Some(hub.clone()), identity.clone(), config.accounts.clone()));
    auth.announce_first_run(listener.local_addr()?).await;
    let pruning = tokio::spawn({
        let auth = auth.clone();
        async move { auth.prune_audit_forever().await }
    });
    let door = listen::Door {
        connections: admission::HttpConnections::new(
            config.max_http_connections_per_ip,
            &config.ip_limits.trusted_proxies,
        ),
        hosts: Arc::new(config.allowed_hosts),
        max_upload: config.files.limits.per_file,
    };
    let connections = TaskTracker::new();
    let file_storage = match &config.files.s3 {
        Some(s3) => files::Storage::s3(s3)?,
        None => files::Storage::dir(&config.data_dir.join("files"))?,
    };
    tracing::info!("files kept in {}", file_storage.place);
    let files = Arc::new(files::Files::new(file_storage, &config.files, hub.clone()));
    let sweeping = tokio::spawn({
        let files = files.clone();
        async move { files.sweep_forever().await }
    });
    // The same on every node (the shared secret's), so every node serves a card's picture.
    let picture_key = identity.derive_key(b"palaver link pictures v1");
    let gate = Gate {
        cx: Context {
            hub: hub.clone(),
            auth,
            identity,
            liveness: config.liveness,
            rate: config.rate,
            shutdown: shutdown.clone(),
            files: files.clone(),
            previews: config.previews.map(|admitted| {
                let fetcher = preview::Fetcher::new(preview::Guard::admitting(admitted));
                preview::Previews::new(fetcher, hub.clone(), picture_key)
            }),
        },
        allowed_origins: config.allowed_origins,
        admission: Admission::new(config.ip_limits),
        connections: connections.clone(),
    };
    let desk = files::Desk { files, auth: gate.cx.auth.clone(), origins: gate.allowed_origins.clone() };
    let sender = push::Sender::new(
        push::Vapid::new(&gate.cx.identity),
        config.push.contact.clone(),
        preview::Guard::admitting(config.push.admitted.clone()),
    )
    .map_err(|e| StartError::Config(format!("cannot make the push client: {e}")))?;
    let pushes = Arc::new(push::Push::new(sender, hub.store_handle()));
    if let Some(committed) = hub.committed() {
        tokio::spawn(push::messages::push_loop(pushes.clone(), hub.clone(), committed, config.push.text));
    }
    let push = push::http::Desk { push: pushes, auth: gate.cx.auth.clone(), origins: gate.allowed_origins.clone() };
    let app = router(AppState { leptos_options: config.leptos, hub: hub.clone(), gate, desk, push });

    tracing::info!("Palaver listening on http://{}", listener.local_addr()?);
    let stopping = async move {
        shutdown.cancelled().await;
        tracing::info!("shutting down: closing chat connections");
    };
    let began = listen::serve(listener, app, door, stopping, config.shutdown_grace).await;
    connections.close();
    let left = config.shutdown_grace.saturating_sub(began.elapsed());
    if tokio::time::timeout(left, connections.wait()).await.is_err() {
        tracing::warn!(open = connections.len(), "chat connections still open after {:?}", config.shutdown_grace);
    }
    pruning.abort();
    sweeping.abort();
    hub.save_reads().await;
    hub.leave_cluster().await;
    tracing::info!("stopped");
    Ok(())
}

/// The configured store, and the secret every node signs with: `PALAVER_SECRET`, else
/// the one kept in the shared database (the first node to start makes it), else the
/// one in the data directory.
pub async fn open(config: &Config) -> Result<(Arc<dyn Store>, Identity), StartError> {
    let store = open_store(config).await?;
    let kept = match &config.secret {
        None => store.shared_secret(identity::random_bytes::<32>()?.to_vec()).await?,
        Some(_) => None,
    };
    let identity = match kept {
        Some(kept) => Identity::new(kept),
        None => Identity::load(config.secret.clone(), &config.data_dir)?,
    };
    Ok((store, identity))
}

/// The configured store: PostgreSQL when a database URL is set, else SQLite.
async fn open_store(config: &Config) -> Result<Arc<dyn Store>, StartError> {
    Ok(match &config.database_url {
        Some(url) => {
            let store = PostgresStore::open(url).await?;
            tracing::info!("messages stored in {}", store.place());
            Arc::new(store)
        }
        None => {
            let store = SqliteStore::open(&config.data_dir)?;
            tracing::info!("messages stored in {}", store.path().display());
            Arc::new(store)
        }
    })
}

/// The whole HTTP surface: pages and static files (compressed), the chat socket at
/// `/ws`, and plain WebSocket clients at `/`.
pub fn router(state: AppState) -> Router {
    // Rendering a page runs its futures on Tokio (an error only means it already does).
    let _ = any_spawner::Executor::init_tokio();
    let worker = worker::Worker::new(state.leptos_options.site_root.as_ref());
    let pages = Router::new()
        .route("/sw.js", get(move || worker.clone().respond()))
        .route("/", get(pages::page))
        .route("/r/{room}", get(pages::page))
        .route("/search", get(pages::page))
        .route("/rooms", get(pages::page))
        .route("/session", axum::routing::post(session::start))
        .route("/session/end", axum::routing::post(account_pages::forms::sign_out))
        .route("/sign-out", axum::routing::post(account_pages::forms::sign_out))
        .route("/sign-in", get(account_pages::forms::sign_in_page).post(account_pages::forms::sign_in))
        .route("/sign-up", get(account_pages::forms::sign_up_page).post(account_pages::forms::sign_up))
        .route("/setup", get(account_pages::forms::setup_page).post(account_pages::forms::setup))
        .route("/settings", get(account_pages::settings::show))
        .route("/settings/export", get(account_pages::export::export))
        .route("/passkeys/add/begin", axum::routing::post(account_pages::passkeys::add_begin))
        .route("/passkeys/add/finish", axum::routing::post(account_pages::passkeys::add_finish))
        .route("/passkeys/sign-in/begin", axum::routing::post(account_pages::passkeys::sign_in_begin))
        .route("/passkeys/sign-in/finish", axum::routing::post(account_pages::passkeys::sign_in_finish))
        .route("/settings/{*what}", axum::routing::post(account_pages::settings::change))
        .route("/report", get(room_pages::report_page).post(room_pages::report))
        .route("/direct", get(room_pages::direct_page).post(room_pages::direct))
        .route("/people", get(room_pages::people_page))
        .route("/people/{action}", axum::routing::post(room_pages::people_change))
        .route("/admin", get(admin_page::show))
        .route("/admin/rooms/export", get(admin_page::export_room))
        .route("/admin/{section}", get(admin_page::show_section))
        .route("/admin/{section}/{action}", axum::routing::post(admin_page::change))
        .route("/previews/{file}", get(preview::serve::picture))
        // Static files, and every other address: a page that says it is not there (404).
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        .layer(middleware::from_fn_with_state(
            assets::Site { root: PathBuf::from(state.leptos_options.site_root.as_ref()) },
            assets::precompressed,
        ))
        .layer(CompressionLayer::new())
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")));
    // Files: neither compressed on the fly nor given the pages' headers (each answer
    // sets its own).
    let files = Router::new()
        .route("/files", axum::routing::post(files::upload::upload))
        .route("/files/{id}", get(files::serve::file))
        .route("/files/{id}/{form}", get(files::serve::form))
        .route("/push/key", get(push::http::key))
        .route("/push/subscriptions", axum::routing::post(push::http::subscribe).delete(push::http::unsubscribe))
        .route("/push/test", axum::routing::post(push::http::test));
    Router::new()
        .route("/ws", get(chat::upgrade))
        .merge(files)
        .merge(pages)
        .layer(middleware::from_fn_with_state(state.gate.clone(), chat::plain_upgrade))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}
