//! A TCP proxy that cuts the first `PATCH` it carries after a given number of body bytes: it
//! forwards exactly that many, then closes both sides, like a connection lost mid-upload.
//! Everything else (and every later connection) passes through.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub struct CutProxy {
    pub addr: SocketAddr,
    pub cut: Arc<AtomicBool>,
}

impl CutProxy {
    pub async fn start(upstream: SocketAddr, cut_after: u64) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind proxy");
        let addr = listener.local_addr().expect("addr");
        let cut = Arc::new(AtomicBool::new(false));
        let done = Arc::clone(&cut);
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let done = Arc::clone(&done);
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(upstream).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let to_server = async move {
                        let mut seen = Vec::new();
                        let mut left: Option<u64> = None;
                        let mut buf = vec![0u8; 64 * 1024];
                        loop {
                            let n = match cr.read(&mut buf).await {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            let mut pass = n;
                            if !done.load(Ordering::SeqCst) {
                                if left.is_none() {
                                    let before = seen.len();
                                    seen.extend_from_slice(&buf[..n]);
                                    if let Some(end) = patch_head_end(&seen) {
                                        left = Some(cut_after + (end - before) as u64);
                                    }
                                }
                                if let Some(l) = left.as_mut() {
                                    if (n as u64) >= *l {
                                        pass = *l as usize;
                                        let _ = sw.write_all(&buf[..pass]).await;
                                        done.store(true, Ordering::SeqCst);
                                        return;
                                    }
                                    *l -= n as u64;
                                }
                            }
                            if sw.write_all(&buf[..pass]).await.is_err() {
                                break;
                            }
                        }
                        let _ = sw.shutdown().await;
                    };
                    let to_client = async move {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                        let _ = cw.shutdown().await;
                    };
                    // The cut ends the client-to-server half; dropping both closes everything.
                    tokio::select! {
                        () = to_server => {}
                        () = to_client => {}
                    }
                });
            }
        });
        Self { addr, cut }
    }

    pub fn endpoint(&self) -> String {
        format!("http://{}/v1/uploads", self.addr)
    }
}

/// Where the head of a `PATCH` request ends in `seen`, once it is all there.
fn patch_head_end(seen: &[u8]) -> Option<usize> {
    let start = find(seen, b"PATCH /")?;
    find(&seen[start..], b"\r\n\r\n").map(|i| start + i + 4)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
