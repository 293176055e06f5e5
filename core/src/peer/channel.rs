//! The encrypted channel under a peer session: a Noise `XX` handshake, then messages of any
//! size split into Noise transport messages. Sans-IO: bytes in, bytes out.
//!
//! On the byte stream every Noise message is a frame: its length as two bytes, big-endian,
//! then the message (at most 65,535 bytes). A session message is split into frames whose
//! plaintext starts with one flag byte: `1` more parts follow, `0` the last part.

use std::collections::VecDeque;

use snow::{HandshakeState, TransportState};

use crate::error::{Error, Result};

/// The Noise protocol name: XX (both sides' static keys travel encrypted), X25519,
/// ChaCha20-Poly1305, SHA-256.
pub const NOISE_PARAMS: &str = "Noise_XX_25519_ChaChaPoly_SHA256";
/// Mixed into the handshake: a peer speaking another version fails the handshake.
const PROLOGUE: &[u8] = b"siteproof-peer-v1";
/// The largest Noise message.
const MAX_FRAME: usize = 65_535;
/// Plaintext per frame: the frame less the 16-byte tag and the flag byte.
const MAX_PART: usize = MAX_FRAME - 16 - 1;
/// The largest session message accepted: bounds memory against a hostile peer.
pub const MAX_MESSAGE: usize = 64 << 20;

enum Noise {
    Handshake(Box<HandshakeState>),
    Transport(Box<TransportState>),
    Broken,
}

/// One side of the encrypted channel.
pub struct Channel {
    noise: Noise,
    input: Vec<u8>,
    output: VecDeque<u8>,
    /// Parts of the message being received.
    partial: Vec<u8>,
    handshake_hash: Option<Vec<u8>>,
    scratch: Vec<u8>,
}

/// What one received frame amounted to.
pub enum Received {
    /// The handshake just finished: the session may start sending.
    HandshakeDone,
    /// A whole session message.
    Message(Vec<u8>),
}

impl Channel {
    /// A channel with a fresh static key; the initiator's first message is queued at once.
    pub fn new(initiator: bool) -> Result<Self> {
        let params = NOISE_PARAMS.parse().map_err(noise_error)?;
        let builder = snow::Builder::new(params);
        let keys = builder.generate_keypair().map_err(noise_error)?;
        let builder = builder
            .local_private_key(&keys.private)
            .and_then(|b| b.prologue(PROLOGUE))
            .map_err(noise_error)?;
        let state = if initiator {
            builder.build_initiator()
        } else {
            builder.build_responder()
        }
        .map_err(noise_error)?;
        let mut channel = Self {
            noise: Noise::Handshake(Box::new(state)),
            input: Vec::new(),
            output: VecDeque::new(),
            partial: Vec::new(),
            handshake_hash: None,
            scratch: vec![0; MAX_FRAME],
        };
        if initiator {
            channel.write_handshake()?;
        }
        Ok(channel)
    }

    /// The handshake hash once the handshake is done: both sides hold the same value, unique
    /// to this session (it covers both sides' fresh ephemeral keys).
    pub fn handshake_hash(&self) -> Option<&[u8]> {
        self.handshake_hash.as_deref()
    }

    /// Bytes waiting to go to the peer.
    pub fn take_output(&mut self) -> Vec<u8> {
        self.output.drain(..).collect()
    }

    /// Whether bytes wait to go out.
    pub fn has_output(&self) -> bool {
        !self.output.is_empty()
    }

    /// Encrypts and queues one session message.
    pub fn send(&mut self, message: &[u8]) -> Result<()> {
        let Noise::Transport(state) = &mut self.noise else {
            return Err(broken("sending before the handshake finished"));
        };
        let parts: Vec<&[u8]> = if message.is_empty() {
            vec![&[]]
        } else {
            message.chunks(MAX_PART).collect()
        };
        let mut plain = Vec::with_capacity(MAX_PART + 1);
        for (i, part) in parts.iter().enumerate() {
            plain.clear();
            plain.push(u8::from(i + 1 < parts.len()));
            plain.extend_from_slice(part);
            let n = state
                .write_message(&plain, &mut self.scratch)
                .map_err(noise_error)?;
            push_frame(&mut self.output, &self.scratch[..n]);
        }
        Ok(())
    }

    /// Takes bytes from the peer and returns what they completed, in order. After an error
    /// the channel is broken for good.
    pub fn feed(&mut self, bytes: &[u8]) -> Result<Vec<Received>> {
        if matches!(self.noise, Noise::Broken) {
            return Err(broken("the session already failed"));
        }
        self.input.extend_from_slice(bytes);
        let mut out = Vec::new();
        let mut used = 0;
        let result = loop {
            let rest = &self.input[used..];
            if rest.len() < 2 {
                break Ok(());
            }
            let len = usize::from(u16::from_be_bytes([rest[0], rest[1]]));
            if rest.len() < 2 + len {
                break Ok(());
            }
            let frame = rest[2..2 + len].to_vec();
            used += 2 + len;
            match self.read_frame(&frame) {
                Ok(Some(received)) => out.push(received),
                Ok(None) => {}
                Err(e) => break Err(e),
            }
        };
        self.input.drain(..used);
        if let Err(e) = result {
            self.noise = Noise::Broken;
            return Err(e);
        }
        Ok(out)
    }

    fn read_frame(&mut self, frame: &[u8]) -> Result<Option<Received>> {
        match &mut self.noise {
            Noise::Handshake(state) => {
                state
                    .read_message(frame, &mut self.scratch)
                    .map_err(|_| refused("the handshake failed"))?;
                if state.is_my_turn() && !state.is_handshake_finished() {
                    self.write_handshake()?;
                }
                Ok(self.finish_handshake()?.then_some(Received::HandshakeDone))
            }
            Noise::Transport(state) => {
                let n = state
                    .read_message(frame, &mut self.scratch)
                    .map_err(|_| broken("a message did not decrypt"))?;
                let Some((&more, part)) = self.scratch[..n].split_first() else {
                    return Err(broken("an empty frame"));
                };
                if self.partial.len() + part.len() > MAX_MESSAGE {
                    return Err(broken("a message is larger than allowed"));
                }
                self.partial.extend_from_slice(part);
                match more {
                    0 => Ok(Some(Received::Message(std::mem::take(&mut self.partial)))),
                    1 => Ok(None),
                    _ => Err(broken("a frame flag is invalid")),
                }
            }
            Noise::Broken => Err(broken("the session already failed")),
        }
    }

    fn write_handshake(&mut self) -> Result<()> {
        let Noise::Handshake(state) = &mut self.noise else {
            return Err(broken("handshake already finished"));
        };
        let n = state
            .write_message(&[], &mut self.scratch)
            .map_err(noise_error)?;
        push_frame(&mut self.output, &self.scratch[..n]);
        Ok(())
    }

    /// Moves to transport mode once the handshake is complete; `true` if it just did.
    fn finish_handshake(&mut self) -> Result<bool> {
        let done = matches!(&self.noise, Noise::Handshake(s) if s.is_handshake_finished());
        if !done || self.handshake_hash.is_some() {
            return Ok(false);
        }
        let Noise::Handshake(state) = std::mem::replace(&mut self.noise, Noise::Broken) else {
            return Ok(false);
        };
        self.handshake_hash = Some(state.get_handshake_hash().to_vec());
        self.noise = Noise::Transport(Box::new(state.into_transport_mode().map_err(noise_error)?));
        Ok(true)
    }
}

fn push_frame(output: &mut VecDeque<u8>, frame: &[u8]) {
    let len = u16::try_from(frame.len()).expect("a Noise message is at most 65,535 bytes");
    output.extend(len.to_be_bytes());
    output.extend(frame);
}

fn noise_error(e: snow::Error) -> Error {
    broken(&format!("noise: {e}"))
}

fn broken(reason: &str) -> Error {
    Error::PeerBroken(reason.to_owned())
}

fn refused(reason: &str) -> Error {
    Error::PeerRefused(reason.to_owned())
}
