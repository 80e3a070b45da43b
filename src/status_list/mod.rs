//! The offline status list: which e-licences a terminal without a network must refuse.
//!
//! The format is the Token Status List of draft-ietf-oauth-status-list (section 4): one entry of
//! `bits` bits per e-licence. The e-licences are spread over lists of [`LIST_SIZE`] entries;
//! the `e` claim of a code names the list and the index in it ([`position`]). Entries are packed from the least significant bits of byte 0 upwards (index 0 is
//! bits 0..bits of byte 0, index 1 the next ones), the byte array is compressed with DEFLATE in
//! the ZLIB format (RFC 1950) at the highest level, and `lst` is that, base64url without
//! padding. `token` signs it as a JWS of type `statuslist+jwt`; `standing` decides which value
//! each e-licence gets.
//!
//! No I/O here. Decoding never trusts sizes: the compressed and the decompressed list are
//! bounded ([`Limits`]), so a small `lst` that inflates to gigabytes (a zlib bomb) is refused
//! after at most [`Limits::max_decompressed`] bytes.

pub mod position;
pub mod standing;
pub mod token;

pub use position::{Position, LIST_FILL, LIST_SIZE};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use flate2::write::ZlibEncoder;
use flate2::{Compression, Decompress, FlushDecompress, Status as Flate};
use serde::{Deserialize, Serialize};
use std::io::Write;

/// A status value (draft section 7.1). Only these three are ever written; 0x03 and the
/// application-specific values are read as "unknown".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Status {
    /// 0x00: the e-licence may be used. Also every index no e-licence has yet.
    Valid = 0,
    /// 0x01: revoked for good (the draft: "this state is irreversible").
    Invalid = 1,
    /// 0x02: temporarily invalid (the draft: "this state is reversible").
    Suspended = 2,
}

impl Status {
    pub fn value(self) -> u8 {
        self as u8
    }

    pub fn from_value(value: u8) -> Option<Status> {
        match value {
            0 => Some(Status::Valid),
            1 => Some(Status::Invalid),
            2 => Some(Status::Suspended),
            _ => None,
        }
    }
}

/// Bits per entry: 1, 2, 4 or 8 (draft section 4.1), so no entry straddles two bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct Bits(u8);

impl Bits {
    pub const ONE: Bits = Bits(1);
    pub const TWO: Bits = Bits(2);

    pub fn get(self) -> u8 {
        self.0
    }

    fn per_byte(self) -> u64 {
        u64::from(8 / self.0)
    }

    fn mask(self) -> u8 {
        (((1u16) << self.0) - 1) as u8
    }
}

impl TryFrom<u8> for Bits {
    type Error = ListError;

    fn try_from(bits: u8) -> Result<Bits, ListError> {
        match bits {
            1 | 2 | 4 | 8 => Ok(Bits(bits)),
            other => Err(ListError::BadBits(other)),
        }
    }
}

impl From<Bits> for u8 {
    fn from(bits: Bits) -> u8 {
        bits.0
    }
}

/// The largest list built or read, uncompressed: 64 MiB is 268 million e-licences at two
/// bits. A bigger population needs several lists (the draft lets each token name its own).
pub const MAX_LIST_BYTES: usize = 64 << 20;

/// What a reader accepts before it has seen the contents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Largest compressed list (`lst` decoded from base64url).
    pub max_compressed: usize,
    /// Largest list once inflated; inflation stops here.
    pub max_decompressed: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits {
        // DEFLATE cannot shrink 1 % of random marks below about a tenth of the raw size; a
        // quarter of the largest list leaves room for any real list and no more.
        max_compressed: MAX_LIST_BYTES / 4,
        max_decompressed: MAX_LIST_BYTES,
    };
}

impl Default for Limits {
    fn default() -> Self {
        Limits::DEFAULT
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ListError {
    #[error("bits must be 1, 2, 4 or 8, not {0}")]
    BadBits(u8),
    #[error("status value {value} does not fit in {bits} bits")]
    ValueTooWide { value: u8, bits: u8 },
    #[error("the status list would be larger than {0} bytes")]
    TooLarge(usize),
    #[error("the compressed status list is larger than {0} bytes")]
    CompressedTooLarge(usize),
    #[error("lst is not base64url without padding")]
    NotBase64,
    #[error("lst is not one complete ZLIB stream: {0}")]
    NotZlib(String),
}

/// `status_list` as it appears in the token (draft section 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EncodedList {
    pub bits: Bits,
    pub lst: String,
    /// Where the list of every status list is (the draft's Status List Aggregation): a
    /// terminal finds the other lists there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aggregation_uri: Option<String>,
}

/// The entries, packed: `bits` bits each, index 0 in the least significant bits of byte 0.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusList {
    bits: Bits,
    bytes: Vec<u8>,
}

impl StatusList {
    pub fn new(bits: Bits) -> StatusList {
        StatusList {
            bits,
            bytes: Vec::new(),
        }
    }

    /// A list of `entries` VALID entries (rounded up to a whole byte).
    pub fn with_entries(bits: Bits, entries: u64) -> StatusList {
        let bytes = entries.div_ceil(bits.per_byte()) as usize;
        StatusList {
            bits,
            bytes: vec![0; bytes],
        }
    }

    /// A list from its packed bytes, as the draft shows them.
    pub fn from_bytes(bits: Bits, bytes: Vec<u8>) -> StatusList {
        StatusList { bits, bytes }
    }

    pub fn bits(&self) -> Bits {
        self.bits
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// How many entries the list holds: every index below this has a value, including the
    /// padding of the last byte; an index at or past it has none ("out of bounds").
    pub fn len(&self) -> u64 {
        self.bytes.len() as u64 * self.bits.per_byte()
    }

    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The value at `index`, or `None` past the end of the list.
    pub fn get(&self, index: u64) -> Option<u8> {
        let per_byte = self.bits.per_byte();
        let byte = *self.bytes.get(usize::try_from(index / per_byte).ok()?)?;
        let shift = (index % per_byte) as u8 * self.bits.0;
        Some((byte >> shift) & self.bits.mask())
    }

    /// Sets the value at `index`, growing the list (with VALID entries) to cover it.
    pub fn set(&mut self, index: u64, value: u8) -> Result<(), ListError> {
        if value > self.bits.mask() {
            return Err(ListError::ValueTooWide {
                value,
                bits: self.bits.0,
            });
        }
        let per_byte = self.bits.per_byte();
        let byte = usize::try_from(index / per_byte)
            .ok()
            .filter(|b| *b < MAX_LIST_BYTES)
            .ok_or(ListError::TooLarge(MAX_LIST_BYTES))?;
        if byte >= self.bytes.len() {
            self.bytes.resize(byte + 1, 0);
        }
        let shift = (index % per_byte) as u8 * self.bits.0;
        let slot = &mut self.bytes[byte];
        *slot = (*slot & !(self.bits.mask() << shift)) | (value << shift);
        Ok(())
    }

    /// Sets a status. With one bit there is no SUSPENDED: it is written as INVALID (1), the
    /// only "do not accept" a one-bit list can say.
    pub fn set_status(&mut self, index: u64, status: Status) -> Result<(), ListError> {
        let value = match (self.bits.0, status) {
            (1, Status::Suspended) => Status::Invalid.value(),
            (_, s) => s.value(),
        };
        self.set(index, value)
    }

    /// DEFLATE in the ZLIB format at the highest level (the draft recommends it).
    pub fn compress(&self) -> Vec<u8> {
        let mut z = ZlibEncoder::new(
            Vec::with_capacity(self.bytes.len() / 8 + 64),
            Compression::best(),
        );
        z.write_all(&self.bytes)
            .and_then(|_| z.finish())
            .expect("compressing into memory cannot fail")
    }

    /// Inflates one complete ZLIB stream under `limits`: refused when the input is larger
    /// than `max_compressed`, inflates past `max_decompressed`, is cut short, fails its
    /// checksum, or has bytes after the stream.
    pub fn decompress(bits: Bits, compressed: &[u8], limits: Limits) -> Result<Self, ListError> {
        if compressed.len() > limits.max_compressed {
            return Err(ListError::CompressedTooLarge(limits.max_compressed));
        }
        let cap = limits.max_decompressed.saturating_add(1);
        let mut z = Decompress::new(true);
        let mut out = Vec::with_capacity(cap.min(compressed.len().saturating_mul(16).max(1024)));
        loop {
            if out.len() == out.capacity() {
                if out.len() >= cap {
                    return Err(ListError::TooLarge(limits.max_decompressed));
                }
                out.reserve_exact(out.len().max(1024).min(cap - out.len()));
            }
            let (read, written) = (z.total_in() as usize, out.len());
            let status = z
                .decompress_vec(&compressed[read..], &mut out, FlushDecompress::None)
                .map_err(|e| ListError::NotZlib(e.to_string()))?;
            if status == Flate::StreamEnd {
                break;
            }
            if z.total_in() as usize == read && out.len() == written {
                return Err(ListError::NotZlib("the stream is cut short".into()));
            }
        }
        if out.len() > limits.max_decompressed {
            return Err(ListError::TooLarge(limits.max_decompressed));
        }
        if z.total_in() as usize != compressed.len() {
            return Err(ListError::NotZlib(
                "bytes after the end of the stream".into(),
            ));
        }
        Ok(StatusList { bits, bytes: out })
    }

    /// The `status_list` claim.
    pub fn encode(&self) -> EncodedList {
        EncodedList {
            bits: self.bits,
            lst: URL_SAFE_NO_PAD.encode(self.compress()),
            aggregation_uri: None,
        }
    }

    /// The list in a `status_list` claim, under `limits`.
    pub fn decode(encoded: &EncodedList, limits: Limits) -> Result<StatusList, ListError> {
        // Four base64 characters carry three bytes: refuse an oversize `lst` undecoded.
        if encoded.lst.len() / 4 * 3 > limits.max_compressed {
            return Err(ListError::CompressedTooLarge(limits.max_compressed));
        }
        let compressed = URL_SAFE_NO_PAD
            .decode(&encoded.lst)
            .map_err(|_| ListError::NotBase64)?;
        StatusList::decompress(encoded.bits, &compressed, limits)
    }
}

#[cfg(test)]
mod tests;
