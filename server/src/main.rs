//! Starts Palaver: reads the settings, sets up logging, serves until SIGINT or SIGTERM.

use server::{
    admission::Admission, config::Config, error::StartError, hub::Hub, identity::Identity, listen, router,
    store::sqlite::SqliteStore, AppState,
};
use std::{process::ExitCode, sync::Arc};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
    // Read before any thread starts: the settings may fill in the environment.
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("{e}");
            return ExitCode::FAILURE;
        }
    };
    // One worker per core this process may run on (taskset and cgroups included): more
    // workers than cores only adds context switches.
    let workers = std::thread::available_parallelism().map_or(1, |n| n.get());
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(workers).enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), StartError> {
    let addr = config.leptos.site_addr;
    let listener = listen_on(addr).map_err(|source| StartError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    let store = SqliteStore::open(&config.data_dir)?;
    tracing::info!("messages stored in {}", store.path().display());
    let identity = Identity::load(config.secret, &config.data_dir)?;
    let hub = Hub::start(Arc::new(store)).await?;
    let app = router(AppState {
        leptos_options: config.leptos,
        hub: hub.clone(),
        identity,
        liveness: config.liveness,
        allowed_origins: config.allowed_origins,
        rate: config.rate,
        admission: Admission::new(config.ip_limits),
    });

    tracing::info!("Palaver listening on http://{local}");
    let began = listen::serve(listener, app, shutdown_signal(hub.clone()), config.shutdown_grace).await;
    // One grace period for everything: requests in flight and chat connections alike.
    let left = config.shutdown_grace.saturating_sub(began.elapsed());
    if !hub.wait_until_idle(left).await {
        tracing::warn!("chat connections still open after {:?}; exiting anyway", config.shutdown_grace);
    }
    tracing::info!("stopped");
    Ok(())
}

/// Connections the kernel may hold waiting to be accepted (capped by `net.core.somaxconn`):
/// a burst of reconnecting browsers should wait in line, not retry after a second.
const ACCEPT_BACKLOG: u32 = 4096;

fn listen_on(addr: std::net::SocketAddr) -> std::io::Result<TcpListener> {
    let socket = if addr.is_ipv4() { tokio::net::TcpSocket::new_v4()? } else { tokio::net::TcpSocket::new_v6()? };
    socket.set_reuseaddr(true)?;
    socket.bind(addr)?;
    socket.listen(ACCEPT_BACKLOG)
}

/// Resolves on SIGINT or SIGTERM, after telling every chat connection to close.
async fn shutdown_signal(hub: Arc<Hub>) {
    let interrupt = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!("cannot listen for SIGINT: {e}");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!("cannot listen for SIGTERM: {e}");
                std::future::pending::<()>().await
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => {},
        () = terminate => {},
    }
    tracing::info!("shutting down: closing chat connections");
    hub.shut_down();
}
