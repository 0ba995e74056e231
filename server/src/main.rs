//! Starts Palaver: reads the settings, sets up logging, serves until SIGINT or SIGTERM.

use server::{config::Config, error::StartError, listen};
use std::process::ExitCode;
use tokio_util::sync::CancellationToken;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().is_some_and(|a| a == "admin") {
        return admin(&args[1..]);
    }
    if let Some(arg) = args.first() {
        eprintln!(
            "unknown argument {arg:?}: `server` serves Palaver; `server admin` manages accounts\n\n{}",
            server::admin::USAGE
        );
        return ExitCode::from(2);
    }
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .init();
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

/// `server admin ...`: its output on standard output, its log and errors on standard error.
fn admin(args: &[String]) -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("warn")))
        .with_writer(std::io::stderr)
        .init();
    let outcome = Config::from_env().map_err(|e| server::admin::Failure::Usage(e.to_string())).and_then(|config| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| server::admin::Failure::Broken(e.to_string()))?;
        runtime.block_on(server::admin::run(args, &config))
    });
    match outcome {
        Ok(lines) => {
            for line in lines {
                println!("{line}");
            }
            ExitCode::SUCCESS
        }
        Err(failure) => {
            match &failure {
                server::admin::Failure::Usage(why) => eprintln!("{why}\n\n{}", server::admin::USAGE),
                server::admin::Failure::Refused(why) | server::admin::Failure::Broken(why) => eprintln!("{why}"),
            }
            failure.exit_code()
        }
    }
}

async fn serve(config: Config) -> Result<(), StartError> {
    let addr = config.leptos.site_addr;
    let listener = listen::bind(addr).map_err(|source| StartError::Bind { addr, source })?;
    let shutdown = CancellationToken::new();
    tokio::spawn(cancel_on_signal(shutdown.clone()));
    server::run(listener, config, shutdown).await
}

/// Cancels `shutdown` on SIGINT or SIGTERM.
async fn cancel_on_signal(shutdown: CancellationToken) {
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
    shutdown.cancel();
}
