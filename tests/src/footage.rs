//! Footage for the benchmarks that need gigabytes of it without keeping it on disk: a seeded
//! pseudo-random byte stream (incompressible, as video is) read like a file, the sizes of a
//! month's recordings, and what a folder takes on disk.

use std::io::Read;
use std::path::Path;

use rand::Rng;
use rand::rngs::StdRng;

/// `len` pseudo-random bytes from `seed`, read like a recording the camera wrote. The same
/// seed gives the same bytes (xorshift64*: fast enough that the import, not this, sets the
/// pace).
pub struct Footage {
    state: u64,
    left: u64,
}

impl Footage {
    /// A recording of `len` bytes.
    pub fn new(seed: u64, len: u64) -> Self {
        Self {
            // xorshift's state must not be zero.
            state: seed | 1,
            left: len,
        }
    }
}

impl Read for Footage {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        for word in buf[..n].chunks_mut(8) {
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            let bytes = self.state.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes();
            word.copy_from_slice(&bytes[..word.len()]);
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Sizes of recordings between `min` and `max` bytes that add up to `total` (a total below
/// `min` is one recording).
pub fn recording_sizes(rng: &mut StdRng, total: u64, min: u64, max: u64) -> Vec<u64> {
    let mut sizes = Vec::new();
    let mut left = total;
    while left > 0 {
        let size = if left <= max {
            left
        } else {
            let size = rng.random_range(min..=max);
            // Never leave a remainder too short to be a recording of its own.
            if left - size < min { left - min } else { size }
        };
        sizes.push(size);
        left -= size;
    }
    sizes
}

/// Bytes the files under `path` take on disk (allocated blocks), and their lengths.
pub fn disk_usage(path: &Path) -> std::io::Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::symlink_metadata(path)?;
    if !meta.is_dir() {
        return Ok((meta.blocks() * 512, meta.len()));
    }
    let mut total = (0, 0);
    for entry in std::fs::read_dir(path)? {
        let (blocks, len) = disk_usage(&entry?.path())?;
        total.0 += blocks;
        total.1 += len;
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn recordings_add_up_to_the_total_within_their_bounds() {
        let mut rng = StdRng::seed_from_u64(7);
        let sizes = recording_sizes(&mut rng, 20_000, 500, 4_000);
        assert_eq!(sizes.iter().sum::<u64>(), 20_000);
        assert!(sizes.iter().all(|s| (500..=4_000).contains(s)), "{sizes:?}");
    }

    #[test]
    fn footage_is_as_long_as_asked_and_the_same_for_one_seed() {
        let read = |seed| {
            let mut bytes = Vec::new();
            Footage::new(seed, 1_000_003)
                .read_to_end(&mut bytes)
                .expect("read");
            bytes
        };
        assert_eq!(read(3).len(), 1_000_003);
        assert_eq!(read(3), read(3));
        assert_ne!(read(3), read(4));
    }
}
