//! A TCP proxy for fault injection: it passes connections through, except that the first
//! `drop_responses` connections have their response swallowed after the server sent it (the
//! server has committed; the client never hears). Plain threads, loopback only.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

/// A running proxy; it stops accepting when dropped.
pub struct DroppingProxy {
    addr: SocketAddr,
    dropped: Arc<AtomicUsize>,
    _listener: Arc<TcpListener>,
}

impl DroppingProxy {
    /// Proxies to `upstream`, swallowing the responses of the first `drop_responses`
    /// connections.
    pub fn start(upstream: SocketAddr, drop_responses: usize) -> Self {
        let listener = Arc::new(TcpListener::bind("127.0.0.1:0").expect("bind proxy"));
        let addr = listener.local_addr().expect("addr");
        let dropped = Arc::new(AtomicUsize::new(0));
        let (l, d) = (Arc::clone(&listener), Arc::clone(&dropped));
        std::thread::spawn(move || {
            for (n, client) in l.incoming().enumerate() {
                let Ok(client) = client else { return };
                let swallow = n < drop_responses;
                let d = Arc::clone(&d);
                std::thread::spawn(move || {
                    if handle(client, upstream, swallow) && swallow {
                        d.fetch_add(1, Ordering::SeqCst);
                    }
                });
            }
        });
        Self {
            addr,
            dropped,
            _listener: listener,
        }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many responses were swallowed so far.
    pub fn dropped(&self) -> usize {
        self.dropped.load(Ordering::SeqCst)
    }
}

/// Returns whether a response came back from upstream.
fn handle(mut client: TcpStream, upstream: SocketAddr, swallow: bool) -> bool {
    let Ok(mut server) = TcpStream::connect(upstream) else {
        return false;
    };
    let (Ok(mut c2), Ok(mut s2)) = (client.try_clone(), server.try_clone()) else {
        return false;
    };
    std::thread::spawn(move || {
        let _ = std::io::copy(&mut c2, &mut s2);
        let _ = s2.shutdown(Shutdown::Write);
    });
    if !swallow {
        let got = std::io::copy(&mut server, &mut client)
            .map(|n| n > 0)
            .unwrap_or(false);
        let _ = client.shutdown(Shutdown::Both);
        return got;
    }
    // Read the start of the response (the server has committed by then), let the rest
    // arrive, then hang up on the client without a byte.
    let mut buf = [0u8; 4096];
    let got = matches!(server.read(&mut buf), Ok(n) if n > 0);
    server
        .set_read_timeout(Some(Duration::from_millis(200)))
        .ok();
    while matches!(server.read(&mut buf), Ok(n) if n > 0) {}
    let _ = client.flush();
    let _ = client.shutdown(Shutdown::Both);
    let _ = server.shutdown(Shutdown::Both);
    got
}
