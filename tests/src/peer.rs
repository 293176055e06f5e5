//! Running peer sessions between two stores over TCP loopback, directly or through a proxy
//! that damages the stream (flips a byte, or cuts the connection).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use siteproof_core::media::MediaStore;
use siteproof_core::peer::{Originals, PeerSession, PeerSummary, run_over_stream};
use siteproof_core::{Result, Store};

/// How long a side waits for a silent peer in tests: a damaged length prefix leaves one side
/// waiting for bytes that never come.
pub const IDLE: Duration = Duration::from_secs(2);

/// One side's outcome: the session's result and what it did (also when it failed).
pub struct Side {
    /// `Ok` when the session completed.
    pub result: Result<()>,
    /// What the side sent and received.
    pub summary: PeerSummary,
}

/// What the proxy does to the stream.
#[derive(Clone, Copy, Debug)]
pub enum Damage {
    /// Passes everything.
    None,
    /// Flips the bits of byte `at` of the initiator-to-responder (`true`) or the other
    /// direction.
    Flip {
        /// Direction.
        upstream: bool,
        /// Offset in that direction's bytes.
        at: usize,
    },
    /// Ends both connections once `after` bytes have passed in both directions together: the
    /// bytes before the cut arrive, nothing after it.
    Cut {
        /// Bytes passed before the cut.
        after: usize,
    },
}

/// `a` connects to `b` (which listens) and both run a session; returns (a's side, b's side).
pub fn exchange(a: &mut Store, b: &mut Store, damage: Damage) -> (Side, Side) {
    exchange_media(a, b, damage, None, None)
}

/// [`exchange`] with media: each side's media folder and the originals it asks for.
pub fn exchange_media(
    a: &mut Store,
    b: &mut Store,
    damage: Damage,
    a_media: Option<(MediaStore, Originals)>,
    b_media: Option<(MediaStore, Originals)>,
) -> (Side, Side) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let target = listener.local_addr().expect("addr");
    std::thread::scope(|scope| {
        let responder = scope.spawn(move || {
            let (stream, _) = listener.accept().expect("accept");
            run_side(b, stream, false, b_media)
        });
        let addr = match damage {
            Damage::None => target,
            _ => {
                let proxy = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
                let addr = proxy.local_addr().expect("addr");
                scope.spawn(move || run_proxy(&proxy, target, damage));
                addr
            }
        };
        let stream = TcpStream::connect(addr).expect("connect");
        let initiator = run_side(a, stream, true, a_media);
        (initiator, responder.join().expect("responder thread"))
    })
}

fn run_side(
    store: &mut Store,
    stream: TcpStream,
    initiator: bool,
    media: Option<(MediaStore, Originals)>,
) -> Side {
    let session = match media {
        None => PeerSession::new(store, initiator),
        Some((media, originals)) => PeerSession::with_media(store, initiator, media, originals),
    };
    let mut session = match session {
        Ok(s) => s,
        Err(e) => {
            return Side {
                result: Err(e),
                summary: PeerSummary::default(),
            };
        }
    };
    let result = run_over_stream(store, &mut session, stream, IDLE).map(|_| ());
    Side {
        result,
        summary: session.summary().clone(),
    }
}

fn run_proxy(listener: &TcpListener, target: std::net::SocketAddr, damage: Damage) {
    let (down, _) = listener.accept().expect("proxy accept");
    let up = TcpStream::connect(target).expect("proxy connect");
    let passed = Arc::new(AtomicUsize::new(0));
    let cut = Arc::new(AtomicBool::new(false));
    std::thread::scope(|scope| {
        for upstream in [true, false] {
            let (from, to) = if upstream {
                (down.try_clone(), up.try_clone())
            } else {
                (up.try_clone(), down.try_clone())
            };
            let (mut from, mut to) = (from.expect("clone"), to.expect("clone"));
            let (passed, cut) = (Arc::clone(&passed), Arc::clone(&cut));
            scope.spawn(move || {
                let mut buf = [0u8; 4096];
                let mut offset = 0;
                // After a cut nothing more is passed on, but what arrives is still read to the
                // end: closing a socket with unread bytes sends a reset, and a reset makes the
                // peer's kernel drop bytes it had received and not yet read. A real cut loses
                // what is in flight; bytes delivered before it stay delivered.
                let mut forwarding = true;
                loop {
                    let n = match from.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => n,
                    };
                    if !forwarding || cut.load(Ordering::SeqCst) {
                        forwarding = false;
                        continue;
                    }
                    let mut chunk = buf[..n].to_vec();
                    if let Damage::Flip { upstream: u, at } = damage
                        && u == upstream
                        && (offset..offset + n).contains(&at)
                    {
                        chunk[at - offset] ^= 0xff;
                    }
                    offset += n;
                    if let Damage::Cut { after } = damage {
                        let before = passed.fetch_add(n, Ordering::SeqCst);
                        if before + n > after {
                            let keep = after.saturating_sub(before);
                            let _ = to.write_all(&chunk[..keep]);
                            cut.store(true, Ordering::SeqCst);
                            let _ = from.shutdown(Shutdown::Write);
                            let _ = to.shutdown(Shutdown::Write);
                            forwarding = false;
                            continue;
                        }
                    }
                    if to.write_all(&chunk).is_err() {
                        forwarding = false;
                    }
                }
                let _ = to.shutdown(Shutdown::Write);
            });
        }
    });
}
