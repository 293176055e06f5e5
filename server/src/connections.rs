//! The accept loop: every connection is held to [`ConnectionLimits`] (`docs/security.md`).
//!
//! - **Header read and idle keep-alive**: a request's head must arrive within `header_read`
//!   of the connection opening or of the previous response (hyper's header-read timer starts
//!   whenever the connection waits for a head), or the connection is closed.
//! - **Progress floor**: a connection that moves fewer than `floor_bytes` in either direction
//!   during any `floor_window` is closed: it cuts bodies trickled in (and answers read out)
//!   slower than the floor, while footage over the slowest mobile link still in use (GPRS,
//!   ~5 KB/s) moves many times the floor.
//! - **Caps**: at most `per_address` connections from one address (more are closed at once),
//!   and `overall` in all. Past `overall`, `reserve` more are accepted in a restricted mode
//!   that answers only the health checks (`/v1/health`, `/healthz`, `/readyz`), `/metrics`
//!   and requests carrying a session cookie or a bearer token (everything else: `503` +
//!   `Retry-After`), so monitoring and signed-in users still get in
//!   while anonymous connections fill the server.
//! - **Early answers**: a body the handler did not read to its end is drained for a while
//!   after the answer ([`crate::linger`]), so the client reads the answer, not a reset.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::http::{HeaderValue, Request, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::Watcher;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

use crate::linger::LingeringBody;

/// What each connection is held to.
#[derive(Clone, Debug)]
pub struct ConnectionLimits {
    /// A request head must arrive within this, from the connection's start or the previous
    /// response (so it is also the idle keep-alive timeout).
    pub header_read: Duration,
    /// A connection moving fewer than `floor_bytes` in a `floor_window` is closed.
    pub floor_bytes: u64,
    /// See `floor_bytes`.
    pub floor_window: Duration,
    /// Connections from one address at once.
    pub per_address: usize,
    /// Connections in all at once, before the restricted reserve.
    pub overall: usize,
    /// Connections past `overall` that only health checks and signed-in clients may use.
    pub reserve: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self {
            header_read: Duration::from_secs(20),
            floor_bytes: 32 * 1024,
            floor_window: Duration::from_secs(30),
            per_address: 256,
            overall: 4096,
            reserve: 128,
        }
    }
}

/// Open connections per address and in all.
#[derive(Default)]
struct Table {
    by_address: HashMap<IpAddr, usize>,
    total: usize,
}

/// A place in the [`Table`], given back on drop.
struct Ticket {
    table: Arc<Mutex<Table>>,
    address: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut t = self.table.lock().unwrap_or_else(|e| e.into_inner());
        t.total = t.total.saturating_sub(1);
        if let Some(n) = t.by_address.get_mut(&self.address) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                t.by_address.remove(&self.address);
            }
        }
    }
}

/// How a connection is served.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Full,
    Restricted,
}

fn admit(
    table: &Arc<Mutex<Table>>,
    limits: &ConnectionLimits,
    address: IpAddr,
) -> Option<(Ticket, Mode)> {
    let mut t = table.lock().unwrap_or_else(|e| e.into_inner());
    let mine = t.by_address.get(&address).copied().unwrap_or(0);
    if mine >= limits.per_address || t.total >= limits.overall + limits.reserve {
        return None;
    }
    let mode = if t.total >= limits.overall {
        Mode::Restricted
    } else {
        Mode::Full
    };
    t.total += 1;
    *t.by_address.entry(address).or_default() += 1;
    Some((
        Ticket {
            table: Arc::clone(table),
            address,
        },
        mode,
    ))
}

/// Serves `app` on `listener` under `limits` until `shutdown` completes, then lets the
/// requests in flight finish. With `tls`, each connection shakes hands first (within
/// `header_read`); the limits hold the same, counting the encrypted bytes.
pub async fn serve_connections(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    tls: Option<TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let table = Arc::new(Mutex::new(Table::default()));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    // Out of file descriptors, or a connection reset before accept: keep going
                    // after a pause rather than spin or stop serving.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };
        let Some((ticket, mode)) = admit(&table, &limits, peer.ip()) else {
            tracing::debug!(%peer, "connection over the cap closed");
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let progress = Arc::new(AtomicU64::new(0));
        let counted = Counted {
            inner: stream,
            progress: Arc::clone(&progress),
        };
        let connection = Connection {
            app: app.clone(),
            peer,
            mode,
            limits: limits.clone(),
            progress,
            graceful: graceful.watcher(),
        };
        let tls = tls.clone();
        tokio::spawn(async move {
            let _ticket = ticket;
            match tls {
                None => connection.run(counted).await,
                Some(tls) => {
                    let handshake = tls.accept(counted);
                    match tokio::time::timeout(connection.limits.header_read, handshake).await {
                        Ok(Ok(stream)) => connection.run(stream).await,
                        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                    }
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// One admitted connection, ready to serve HTTP over a plain or TLS stream.
struct Connection {
    app: Router,
    peer: SocketAddr,
    mode: Mode,
    limits: ConnectionLimits,
    progress: Arc<AtomicU64>,
    graceful: Watcher,
}

impl Connection {
    async fn run<S>(self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let service = connection_service(self.app, self.peer, self.mode);
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.header_read)
            .serve_connection(TokioIo::new(stream), service);
        let conn = self.graceful.watch(conn);
        watch_progress(conn, &self.progress, &self.limits, self.peer).await;
    }
}

/// Drives `conn` to its end, or drops it (closing the socket) when a window passes with too
/// little progress.
async fn watch_progress<F>(
    conn: F,
    progress: &AtomicU64,
    limits: &ConnectionLimits,
    peer: SocketAddr,
) where
    F: Future<Output = Result<(), hyper::Error>>,
{
    tokio::pin!(conn);
    let mut ticks = tokio::time::interval(limits.floor_window);
    ticks.tick().await;
    loop {
        tokio::select! {
            done = &mut conn => {
                if let Err(e) = done {
                    tracing::debug!(%peer, error = %e, "connection ended");
                }
                return;
            }
            _ = ticks.tick() => {
                if progress.swap(0, Ordering::AcqRel) < limits.floor_bytes {
                    tracing::debug!(%peer, "connection below the progress floor closed");
                    return;
                }
            }
        }
    }
}

fn connection_service(
    app: Router,
    peer: SocketAddr,
    mode: Mode,
) -> impl hyper::service::Service<
    Request<hyper::body::Incoming>,
    Response = Response,
    Error = Infallible,
    Future = impl Future<Output = Result<Response, Infallible>> + Send,
> + Clone {
    hyper::service::service_fn(move |mut req: Request<hyper::body::Incoming>| {
        let app = app.clone();
        async move {
            if mode == Mode::Restricted && !may_use_reserve(&req) {
                return Ok(busy());
            }
            req.extensions_mut().insert(ConnectInfo(peer));
            let cut_short = Arc::new(AtomicBool::new(false));
            let req = req.map(|body| {
                axum::body::Body::new(LingeringBody::new(body, Arc::clone(&cut_short)))
            });
            let mut response = tower::ServiceExt::oneshot(app, req).await?;
            if cut_short.load(Ordering::Acquire) {
                // The rest of the body is being drained; the connection cannot be reused.
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            Ok(response)
        }
    })
}

/// Health checks and requests with credentials (checked by the routes as always).
fn may_use_reserve<B>(req: &Request<B>) -> bool {
    // A probe refused under load would have the orchestrator restart a busy server.
    if matches!(
        req.uri().path(),
        "/v1/health" | "/healthz" | "/readyz" | "/metrics"
    ) {
        return true;
    }
    let headers = req.headers();
    headers.contains_key(header::AUTHORIZATION)
        || headers.get_all(header::COOKIE).iter().any(|v| {
            v.to_str()
                .is_ok_and(|v| v.contains(crate::identity::SESSION_COOKIE))
        })
}

fn busy() -> Response {
    let mut response = crate::AppError::from(crate::Error::Busy {
        retry_after_secs: crate::work_gate::BUSY_RETRY_AFTER_SECS,
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

/// A stream that counts the bytes it moves.
struct Counted {
    inner: TcpStream,
    progress: Arc<AtomicU64>,
}

impl AsyncRead for Counted {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let polled = Pin::new(&mut this.inner).poll_read(cx, buf);
        let moved = buf.filled().len().saturating_sub(before);
        this.progress.fetch_add(moved as u64, Ordering::Relaxed);
        polled
    }
}

impl AsyncWrite for Counted {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_write(cx, data);
        if let Poll::Ready(Ok(n)) = &polled {
            this.progress.fetch_add(*n as u64, Ordering::Relaxed);
        }
        polled
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

/// Raises the soft open-file limit to the hard one (each connection holds a descriptor);
/// the limit in force afterwards.
pub fn raise_open_file_limit() -> u64 {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok((soft, hard)) if soft < hard => match setrlimit(Resource::RLIMIT_NOFILE, hard, hard) {
            Ok(()) => hard,
            Err(e) => {
                tracing::warn!(error = %e, soft, hard, "cannot raise the open-file limit");
                soft
            }
        },
        Ok((soft, _)) => soft,
        Err(e) => {
            tracing::warn!(error = %e, "cannot read the open-file limit");
            0
        }
    }
}
