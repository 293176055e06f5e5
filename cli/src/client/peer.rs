//! `siteproof client peer listen|connect`: one peer session with a teammate's device over TCP
//! on the local network (`docs/peer-sync.md`).

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use clap::{Args, Subcommand};
use siteproof_core::media::MediaStore;
use siteproof_core::peer::{Originals, PeerSession, run_over_stream};
use siteproof_core::{MediaHash, Store};

use super::discovery;
use super::{io, json};
use crate::CliError;

/// A teammate silent for this long ends the session.
const IDLE: Duration = Duration::from_secs(30);

/// `siteproof client peer ...`.
#[derive(Debug, Subcommand)]
pub enum PeerCommand {
    /// Wait for one teammate to connect, then merge with it.
    Listen {
        /// Address to listen on.
        #[arg(long, default_value = "0.0.0.0:7420")]
        addr: String,
        /// Also advertise on the local network (mDNS) under this name, so a teammate can
        /// `peer connect NAME`.
        #[arg(long)]
        name: Option<String>,
        #[command(flatten)]
        media: MediaWanted,
    },
    /// Connect to a teammate that listens, then merge with it.
    Connect {
        /// The teammate's address (e.g. 192.168.43.1:7420), or the name it advertises.
        target: String,
        /// How long to look for a named teammate on the local network, in seconds.
        #[arg(long, default_value_t = 10)]
        wait: u64,
        #[command(flatten)]
        media: MediaWanted,
    },
}

/// The teammate's media this side asks for. Thumbnails of every photo and video its visits
/// refer to come always; originals (hours of footage, perhaps) only when asked for.
#[derive(Debug, Args)]
pub struct MediaWanted {
    /// Originals to fetch as well: `all`, or a file's hash (repeat for several).
    #[arg(long = "originals", value_name = "all|HASH")]
    originals: Vec<String>,
}

impl MediaWanted {
    fn originals(&self) -> Result<Originals, CliError> {
        if self.originals.iter().any(|o| o == "all") {
            return Ok(Originals::All);
        }
        if self.originals.is_empty() {
            return Ok(Originals::None);
        }
        let hashes = self
            .originals
            .iter()
            .map(|h| h.parse::<MediaHash>())
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Originals::Only(hashes))
    }
}

/// Runs one session, with the media folder under `home`, and prints what it did as JSON.
pub fn run(store: &mut Store, home: &Path, command: PeerCommand) -> Result<(), CliError> {
    let (stream, initiator, wanted) = match command {
        PeerCommand::Listen { addr, name, media } => {
            let listener = TcpListener::bind(&addr).map_err(|e| io("cannot listen", e))?;
            let local = listener.local_addr().map_err(|e| io("cannot listen", e))?;
            let _advertised = name
                .map(|name| discovery::advertise(&name, local))
                .transpose()?;
            eprintln!("listening on {local}");
            let (stream, from) = listener.accept().map_err(|e| io("cannot accept", e))?;
            eprintln!("teammate connected from {from}");
            (stream, false, media)
        }
        PeerCommand::Connect {
            target,
            wait,
            media,
        } => {
            let addr = match target.parse::<SocketAddr>() {
                Ok(addr) => addr,
                Err(_) => discovery::find(&target, Duration::from_secs(wait))?,
            };
            (
                TcpStream::connect(addr).map_err(|e| io("cannot connect", e))?,
                true,
                media,
            )
        }
    };
    let media = MediaStore::open(home.join("media"))?;
    let mut session = PeerSession::with_media(store, initiator, media, wanted.originals()?)?;
    let summary = run_over_stream(store, &mut session, stream, IDLE)?;
    println!(
        "{}",
        json(&serde_json::json!({
            "peer": summary.peer.map(|d| d.to_string()),
            "records_sent": summary.records_sent,
            "records_received": summary.records_received,
            "records_updated": summary.records_updated,
            "bytes_sent": summary.bytes_sent,
            "bytes_received": summary.bytes_received,
            "media_received": summary.media_received,
        }))
    );
    Ok(())
}
