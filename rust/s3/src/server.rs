//! The server loop: binds listeners, accepts connections (capped), serves
//! HTTP/1.1 with hyper, and shuts down gracefully.

use crate::config::ServerConfig;
use crate::dispatch::{AppState, handle_request};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use smartstorage_store::ObjectStore;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;

/// How long [`RunningServer::shutdown`] waits for in-flight requests before
/// dropping them: long enough for a normal request, short enough that a stuck
/// client cannot hold the process hostage.
const SHUTDOWN_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Cap on hyper's per-connection read buffer, which bounds the request head:
/// a head larger than this (huge or endlessly repeated headers) is answered
/// with 431. 128 KiB is far above any real S3 client's headers (S3 itself
/// allows 8 KiB) yet large enough not to slow body reads.
const MAX_READ_BUFFER: usize = 128 * 1024;

/// A server that is accepting connections.
pub struct RunningServer {
    port: u16,
    local_addrs: Vec<SocketAddr>,
    stop_tx: watch::Sender<bool>,
    accept_tasks: Vec<JoinHandle<()>>,
    connections: Arc<tokio::sync::Mutex<Option<GracefulShutdown>>>,
    credentials: Arc<crate::auth::CredentialStore>,
}

impl RunningServer {
    /// The live credential set: [`add`](crate::auth::CredentialStore::add),
    /// [`remove`](crate::auth::CredentialStore::remove) and
    /// [`list`](crate::auth::CredentialStore::list) take effect for the next
    /// request (the IPC `addCredential` / `removeCredential` commands).
    pub fn credentials(&self) -> Arc<crate::auth::CredentialStore> {
        self.credentials.clone()
    }

    /// The bound port (the real one when port 0 was asked for).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Every address the server listens on.
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.local_addrs
    }

    /// Stops accepting, lets in-flight requests finish (up to a grace period),
    /// then returns.
    pub async fn shutdown(self) {
        let _ = self.stop_tx.send(true);
        for task in self.accept_tasks {
            let _ = task.await;
        }
        let graceful = self.connections.lock().await.take();
        if let Some(graceful) = graceful
            && tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err()
        {
            tracing::warn!("in-flight requests did not finish within {SHUTDOWN_GRACE:?}; dropping them");
        }
    }
}

/// Binds `address:port` and starts serving S3 over `store`.
///
/// When `address` is `localhost`, a loopback or a wildcard IPv4 address, the
/// server also listens on `[::1]` with the same port, so clients reach it
/// through `localhost` whichever address their resolver picks.
pub async fn start_server(
    address: &str,
    port: u16,
    config: ServerConfig,
    store: Arc<dyn ObjectStore>,
) -> std::io::Result<RunningServer> {
    let listeners = bind_listeners(address, port).await?;
    let port = listeners[0].local_addr()?.port();
    let local_addrs = listeners.iter().map(|l| l.local_addr()).collect::<Result<Vec<_>, _>>()?;
    let state = Arc::new(AppState::new(config, store));
    let (stop_tx, stop_rx) = watch::channel(false);
    let connections = Arc::new(tokio::sync::Mutex::new(Some(GracefulShutdown::new())));
    let permits = Arc::new(Semaphore::new(state.config.limits.max_connections));
    // One loop for every listener: a freed connection slot must go to whichever
    // address family has a client waiting (one loop per listener let an idle
    // [::1] loop sit on the only free slot while IPv4 clients waited forever).
    let accept_tasks = vec![tokio::spawn(accept_loop(listeners, state.clone(), stop_rx, connections.clone(), permits))];
    let credentials = state.credentials.clone();
    Ok(RunningServer { port, local_addrs, stop_tx, accept_tasks, connections, credentials })
}

async fn bind_listeners(address: &str, port: u16) -> std::io::Result<Vec<TcpListener>> {
    let (primary, add_v6_loopback): (IpAddr, bool) = match address {
        "localhost" => (IpAddr::V4(Ipv4Addr::LOCALHOST), true),
        other => {
            let ip: IpAddr = other.trim_start_matches('[').trim_end_matches(']').parse().map_err(|_| {
                std::io::Error::new(
                    std::io::ErrorKind::InvalidInput,
                    format!("server address {other:?} is not an IP address or \"localhost\""),
                )
            })?;
            let v4_local = matches!(ip, IpAddr::V4(v4) if v4.is_loopback() || v4.is_unspecified());
            (ip, v4_local)
        }
    };
    let first = TcpListener::bind(SocketAddr::new(primary, port)).await?;
    let bound_port = first.local_addr()?.port();
    let mut listeners = vec![first];
    if add_v6_loopback {
        // Best effort: a host without IPv6 still serves on IPv4.
        match TcpListener::bind(SocketAddr::new(IpAddr::V6(Ipv6Addr::LOCALHOST), bound_port)).await {
            Ok(l) => listeners.push(l),
            Err(e) => tracing::debug!(error = %e, "not listening on [::1]"),
        }
    }
    Ok(listeners)
}

/// Accepts on every listener while a connection slot is free. At the cap,
/// new clients wait in the kernel's backlog until a connection ends.
async fn accept_loop(
    listeners: Vec<TcpListener>,
    state: Arc<AppState>,
    mut stop_rx: watch::Receiver<bool>,
    connections: Arc<tokio::sync::Mutex<Option<GracefulShutdown>>>,
    permits: Arc<Semaphore>,
) {
    loop {
        // Waiting for a slot must not block shutdown: at the cap, stop anyway.
        let permit = tokio::select! {
            _ = stop_rx.changed() => return,
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => return,
            },
        };
        let accepts = listeners.iter().map(|l| Box::pin(l.accept()));
        let (stream, remote) = tokio::select! {
            _ = stop_rx.changed() => return,
            (accepted, _, _) = futures_util::future::select_all(accepts) => match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    // EMFILE and friends: back off briefly instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let _ = stream.set_nodelay(true);
        let header_read_timeout = state.config.limits.header_read_timeout;
        let state = state.clone();
        let service = hyper::service::service_fn(move |req| {
            let state = state.clone();
            async move { Ok::<_, std::convert::Infallible>(handle_request(state, req, remote).await) }
        });
        let conn = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(header_read_timeout)
            .keep_alive(true)
            .max_buf_size(MAX_READ_BUFFER)
            .serve_connection(TokioIo::new(stream), service);
        let watched = {
            let guard = connections.lock().await;
            match guard.as_ref() {
                Some(graceful) => graceful.watch(conn),
                None => return,
            }
        };
        tokio::spawn(async move {
            if let Err(e) = watched.await {
                tracing::debug!(error = %e, %remote, "connection ended with an error");
            }
            drop(permit);
        });
    }
}
