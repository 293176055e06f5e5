//! A peer session over a TCP connection (blocking, std only). Reading and writing run at the
//! same time, one of them on a thread of its own: both sides send their records at once, and
//! a side that only wrote would fill the socket buffers and wait on the other forever.

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::mpsc;
use std::time::Duration;

use super::session::{PeerSession, PeerSummary};
use crate::error::{Error, Result};
use crate::store::Store;

/// Runs `session` over `stream` until both sides are done. A peer silent for longer than
/// `idle` breaks the session. On error the connection is closed, so the peer stops too.
pub fn run_over_stream(
    store: &mut Store,
    session: &mut PeerSession,
    stream: TcpStream,
    idle: Duration,
) -> Result<PeerSummary> {
    stream.set_read_timeout(Some(idle))?;
    stream.set_nodelay(true)?;
    let mut writer = stream.try_clone()?;
    let (to_writer, queue) = mpsc::channel::<Vec<u8>>();
    let written = std::thread::spawn(move || -> std::io::Result<()> {
        for bytes in queue {
            writer.write_all(&bytes)?;
        }
        writer.flush()
    });
    let result = drive(store, session, &stream, &to_writer);
    drop(to_writer);
    let wrote = written
        .join()
        .map_err(|_| Error::PeerBroken("the writer thread failed".into()))?;
    if result.is_err() {
        // Closing wakes the peer now instead of after its idle timeout.
        let _ = stream.shutdown(Shutdown::Both);
    }
    result?;
    wrote.map_err(|e| Error::PeerBroken(format!("sending: {e}")))?;
    let _ = stream.shutdown(Shutdown::Write);
    Ok(session.summary().clone())
}

fn drive(
    store: &mut Store,
    session: &mut PeerSession,
    mut stream: &TcpStream,
    to_writer: &mpsc::Sender<Vec<u8>>,
) -> Result<()> {
    let mut buf = vec![0; 64 << 10];
    loop {
        let out = session.take_output();
        if !out.is_empty() && to_writer.send(out).is_err() {
            return Err(Error::PeerBroken("the connection closed".into()));
        }
        if session.is_finished() {
            return Ok(());
        }
        let n = match stream.read(&mut buf) {
            Ok(0) => {
                return Err(Error::PeerBroken(
                    "the peer closed the connection before the session finished".into(),
                ));
            }
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                return Err(Error::PeerBroken("the peer went silent".into()));
            }
            Err(e) => return Err(Error::PeerBroken(format!("receiving: {e}"))),
        };
        if let Err(e) = session.feed(store, &buf[..n]) {
            // What the session queued before failing (its Auth) still goes out, so the peer
            // learns why instead of seeing a bare close.
            let _ = to_writer.send(session.take_output());
            return Err(e);
        }
    }
}
