//! Base45 (RFC 9285): bytes as characters of the QR code's alphanumeric set, so a QR code
//! holds them in alphanumeric mode (5.5 bits a character instead of 8 in byte mode).
//!
//! Written here rather than taken from the `base45` crate: its 3.2 release needs Rust 1.88
//! (`slice::as_chunks`) over our 1.85, and every release decodes a two-character tail worth
//! more than 255 by truncating it, where RFC 9285 section 4 says such input is invalid. A
//! verifier must refuse it: strict decoding means one text for one byte string.

const ALPHABET: &[u8; 45] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:";

/// The value of each ASCII byte in the alphabet; 255 elsewhere.
const VALUES: [u8; 128] = {
    let mut t = [255u8; 128];
    let mut i = 0;
    while i < 45 {
        t[ALPHABET[i] as usize] = i as u8;
        i += 1;
    }
    t
};

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not Base45 (RFC 9285)")]
pub struct Base45Error;

/// Two bytes become three characters, a last single byte two (RFC 9285 section 4).
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(2) * 3);
    let mut push = |mut n: u32, digits: usize| {
        for _ in 0..digits {
            out.push(ALPHABET[(n % 45) as usize] as char);
            n /= 45;
        }
    };
    let mut pairs = bytes.chunks_exact(2);
    for pair in &mut pairs {
        push(u32::from(pair[0]) << 8 | u32::from(pair[1]), 3);
    }
    if let [last] = pairs.remainder() {
        push(u32::from(*last), 2);
    }
    out
}

fn value(c: u8) -> Result<u32, Base45Error> {
    match VALUES.get(usize::from(c)) {
        Some(&v) if v != 255 => Ok(u32::from(v)),
        _ => Err(Base45Error),
    }
}

/// Strict: characters outside the alphabet (lower case included), a length of 1 modulo 3,
/// a triple worth more than 65535 and a pair worth more than 255 are all refused.
pub fn decode(text: &str) -> Result<Vec<u8>, Base45Error> {
    let text = text.as_bytes();
    let mut out = Vec::with_capacity(text.len() / 3 * 2 + 1);
    let mut groups = text.chunks_exact(3);
    for g in &mut groups {
        let n = value(g[0])? + value(g[1])? * 45 + value(g[2])? * 45 * 45;
        let n = u16::try_from(n).map_err(|_| Base45Error)?;
        out.extend_from_slice(&n.to_be_bytes());
    }
    match groups.remainder() {
        [] => {}
        [a, b] => out.push(u8::try_from(value(*a)? + value(*b)? * 45).map_err(|_| Base45Error)?),
        _ => return Err(Base45Error),
    }
    Ok(out)
}

/// Is every character one the QR alphanumeric mode holds (the Base45 alphabet exactly)?
pub fn is_qr_alphanumeric(text: &str) -> bool {
    text.bytes().all(|b| value(b).is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// RFC 9285 section 4.3 and 4.4.
    #[test]
    fn the_rfc_examples() {
        for (bytes, text) in [
            (&b"AB"[..], "BB8"),
            (b"Hello!!", "%69 VD92EX0"),
            (b"base-45", "UJCLQE7W581"),
            (b"ietf!", "QED8WEX0"),
            (b"", ""),
        ] {
            assert_eq!(encode(bytes), text);
            assert_eq!(decode(text).unwrap(), bytes);
        }
    }

    #[test]
    fn anything_off_the_strict_form_is_refused() {
        for bad in [
            "GGW",   // 65536: a triple above 0xFFFF
            ":::",   // 44 + 44·45 + 44·2025: far above
            "ZZ",    // 35 + 35·45 = 1610: a pair above 0xFF
            "A",     // one character left over
            "BB8A",  // likewise after a whole triple
            "bb8",   // lower case is not in the alphabet
            "BB8\n", // nor is a line break
            "BB=",   // nor '='
            "BB8中", // nor anything past ASCII
        ] {
            assert_eq!(decode(bad), Err(Base45Error), "{bad:?}");
        }
        // The largest values that are allowed.
        assert_eq!(decode("FGW").unwrap(), [0xFF, 0xFF]);
        assert_eq!(decode("U5").unwrap(), [0xFF]);
        assert!(is_qr_alphanumeric("EL1:%69 VD92EX0"));
        assert!(!is_qr_alphanumeric("el1:"));
    }

    proptest! {
        #[test]
        fn round_trips(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
            let text = encode(&bytes);
            prop_assert_eq!(text.len(), bytes.len() / 2 * 3 + bytes.len() % 2 * 2);
            prop_assert!(is_qr_alphanumeric(&text));
            prop_assert_eq!(decode(&text).unwrap(), bytes);
        }
    }
}
