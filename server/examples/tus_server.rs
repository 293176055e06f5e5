//! A media server for tests and benchmarks: serves `app()` over an embedded data folder.
//!
//! `tus_server <data-dir> [addr]` prints `listening http://<addr>` once it accepts
//! connections, then serves until SIGTERM or Ctrl-C. `SITEPROOF_BLOBS` (a folder or
//! `s3://BUCKET/PREFIX`, with the `AWS_*` variables) puts the blobs elsewhere;
//! `SITEPROOF_UPLOAD_LEASE_MS` shortens the uploads' leases (how long an upload stays locked
//! after the process appending to it was killed) for tests that kill one, and
//! `SITEPROOF_UPLOAD_LOCK_WAIT_MS` how long a request waits for a locked upload;
//! `SITEPROOF_DATABASE_URL` (`postgres://...`) puts the database on PostgreSQL.

use std::io::Write;

use siteproof_server::{AppState, ServerConfig, serve, shutdown_signal};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = args.next().ok_or("usage: tus_server <data-dir> [addr]")?;
    let addr = args.next().unwrap_or_else(|| "127.0.0.1:0".into());
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let mut config = ServerConfig::default();
        if let Ok(url) = std::env::var("SITEPROOF_DATABASE_URL") {
            config.database = url.parse()?;
        }
        if let Ok(blobs) = std::env::var("SITEPROOF_BLOBS") {
            config.blobs = blobs.parse()?;
        }
        if let Ok(ms) = std::env::var("SITEPROOF_UPLOAD_LEASE_MS") {
            config.media.lease = std::time::Duration::from_millis(ms.parse()?);
        }
        if let Ok(ms) = std::env::var("SITEPROOF_UPLOAD_LOCK_WAIT_MS") {
            config.media.lock_wait = std::time::Duration::from_millis(ms.parse()?);
        }
        let state = AppState::open(std::path::Path::new(&dir), config).await?;
        let listener = tokio::net::TcpListener::bind(&addr).await?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "listening http://{}", listener.local_addr()?)?;
        out.flush()?;
        drop(out);
        serve(listener, state, shutdown_signal()).await?;
        Ok(())
    })
}
