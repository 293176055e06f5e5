//! Lingering on a request body the handler did not read to its end.
//!
//! A server that answers early (a `PATCH` refused with 409 or 423, an upload the server already
//! holds answered 204, a body over its limit answered 413) and then closes the connection
//! while the client is still sending makes the client's operating system reset the
//! connection, and a reset can throw away the answer before the client reads it: the client
//! sees a network error instead of a status it could act on. So a body dropped before its end
//! is read and discarded in the background for at most [`LINGER_BYTES`] and
//! [`LINGER_TIME`] (as nginx's lingering close does), while the answer goes out with
//! `Connection: close`. A client that reads answers as they come (tus-js-client, browsers)
//! stops sending at once; one that sends a whole chunk before reading (most HTTP libraries)
//! still reads a clean answer when its chunk fits in the allowance.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};

/// The most bytes of an unread body drained after the answer (a client's chunk fits).
pub const LINGER_BYTES: u64 = 16 << 20;
/// The longest a drain goes on after the answer.
pub const LINGER_TIME: Duration = Duration::from_secs(30);

/// A request body that, dropped before its end, drains the rest in the background.
pub struct LingeringBody {
    inner: Option<Incoming>,
    ended: bool,
    cut_short: Arc<AtomicBool>,
}

impl LingeringBody {
    /// Wraps `body`; `cut_short` is set if it is dropped before its end (the answer should
    /// then close the connection).
    pub fn new(body: Incoming, cut_short: Arc<AtomicBool>) -> Self {
        Self {
            inner: Some(body),
            ended: false,
            cut_short,
        }
    }
}

impl Body for LingeringBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let Some(inner) = this.inner.as_mut() else {
            return Poll::Ready(None);
        };
        let polled = Pin::new(inner).poll_frame(cx);
        if matches!(polled, Poll::Ready(None | Some(Err(_)))) {
            this.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.ended || self.inner.as_ref().is_none_or(Body::is_end_stream)
    }

    fn size_hint(&self) -> SizeHint {
        self.inner
            .as_ref()
            .map_or_else(|| SizeHint::with_exact(0), Body::size_hint)
    }
}

impl Drop for LingeringBody {
    fn drop(&mut self) {
        let Some(body) = self.inner.take() else {
            return;
        };
        if self.ended || body.is_end_stream() {
            return;
        }
        self.cut_short.store(true, Ordering::Release);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(drain(body));
        }
    }
}

/// Reads and discards `body` until it ends, breaks, or passes the allowance; dropping it
/// then lets the connection close.
async fn drain(mut body: Incoming) {
    let mut read = 0u64;
    let reading = async {
        while let Some(Ok(frame)) = poll_fn(|cx| Pin::new(&mut body).poll_frame(cx)).await {
            read = read.saturating_add(frame.data_ref().map_or(0, |d| d.len() as u64));
            if read > LINGER_BYTES {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIME, reading).await;
    tracing::debug!(read, "drained the unread part of a request body");
}
