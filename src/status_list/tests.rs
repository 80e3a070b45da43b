//! The status list against the draft's own examples, and its refusals.

use super::token::{self, StatusListClaims, TokenError};
use super::*;
use crate::signing::jws::JwsError;
use crate::signing::KeyRing;
use flate2::write::ZlibEncoder;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn list_of(bits: Bits, values: &[u8]) -> StatusList {
    let mut list = StatusList::new(bits);
    for (i, v) in values.iter().enumerate() {
        list.set(i as u64, *v).unwrap();
    }
    list
}

fn zlib(bytes: &[u8]) -> Vec<u8> {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    z.write_all(bytes).unwrap();
    z.finish().unwrap()
}

/// draft-ietf-oauth-status-list section 4.1: sixteen one-bit statuses are bytes 0xB9 0xA3,
/// and section 4.2 gives their `status_list` as {"bits": 1, "lst": "eNrbuRgAAhcBXQ"}.
#[test]
fn the_drafts_one_bit_example() {
    let values = [1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 0, 0, 0, 1, 0, 1];
    let list = list_of(Bits::ONE, &values);
    assert_eq!(list.as_bytes(), [0xB9, 0xA3]);
    assert_eq!(list.len(), 16);
    let encoded = list.encode();
    assert_eq!(encoded.lst, "eNrbuRgAAhcBXQ");
    assert_eq!(
        serde_json::to_string(&encoded).unwrap(),
        r#"{"bits":1,"lst":"eNrbuRgAAhcBXQ"}"#
    );
    let draft: EncodedList =
        serde_json::from_str(r#"{"bits": 1, "lst": "eNrbuRgAAhcBXQ"}"#).unwrap();
    let read = StatusList::decode(&draft, Limits::DEFAULT).unwrap();
    let back: Vec<u8> = (0..16).map(|i| read.get(i).unwrap()).collect();
    assert_eq!(back, values);
}

/// The draft's two-bit example: twelve statuses in bytes 0xC9 0x44 0xF9,
/// {"bits": 2, "lst": "eNo76fITAAPfAgc"}.
#[test]
fn the_drafts_two_bit_example() {
    let values = [1, 2, 0, 3, 0, 1, 0, 1, 1, 2, 3, 3];
    let list = list_of(Bits::TWO, &values);
    assert_eq!(list.as_bytes(), [0xC9, 0x44, 0xF9]);
    assert_eq!(list.encode().lst, "eNo76fITAAPfAgc");
    let draft = EncodedList {
        bits: Bits::TWO,
        lst: "eNo76fITAAPfAgc".into(),
        aggregation_uri: None,
    };
    let read = StatusList::decode(&draft, Limits::DEFAULT).unwrap();
    let back: Vec<u8> = (0..12).map(|i| read.get(i).unwrap()).collect();
    assert_eq!(back, values);
    assert_eq!(
        Status::from_value(read.get(3).unwrap()),
        None,
        "0x03 is not ours"
    );
}

#[test]
fn random_lists_round_trip_at_one_and_two_bits() {
    let mut rng = StdRng::seed_from_u64(7);
    for bits in [Bits::ONE, Bits::TWO] {
        let n = 100_003u64;
        let max = (1u8 << bits.get()) - 1;
        let values: Vec<u8> = (0..n)
            .map(|_| {
                if rng.gen_ratio(1, 20) {
                    rng.gen_range(1..=max)
                } else {
                    0
                }
            })
            .collect();
        let list = list_of(bits, &values);
        assert_eq!(
            list.len(),
            n.div_ceil(8 / u64::from(bits.get())) * (8 / u64::from(bits.get()))
        );
        let read = StatusList::decode(&list.encode(), Limits::DEFAULT).unwrap();
        assert_eq!(read, list);
        for (i, v) in values.iter().enumerate() {
            assert_eq!(
                read.get(i as u64),
                Some(*v),
                "bits {} index {i}",
                bits.get()
            );
        }
        // The padding of the last byte reads VALID; the first index past it reads nothing.
        assert_eq!(read.get(n), Some(0));
        assert_eq!(read.get(read.len() - 1), Some(0));
        assert_eq!(read.get(read.len()), None);
        assert_eq!(read.get(u64::MAX), None);
    }
}

#[test]
fn setting_overwrites_only_its_own_bits_and_grows_the_list() {
    let mut list = StatusList::new(Bits::TWO);
    assert!(list.is_empty());
    assert_eq!(list.get(0), None);
    list.set(9, 3).unwrap();
    assert_eq!(list.len(), 12);
    list.set(9, 1).unwrap();
    list.set(8, 2).unwrap();
    assert_eq!(list.as_bytes(), [0, 0, 0b0000_0110]);
    assert_eq!(
        list.set(0, 4),
        Err(ListError::ValueTooWide { value: 4, bits: 2 })
    );
    let past_the_cap = (MAX_LIST_BYTES as u64) * 4;
    assert_eq!(
        list.set(past_the_cap, 1),
        Err(ListError::TooLarge(MAX_LIST_BYTES))
    );
    assert_eq!(list.len(), 12, "a refused index does not grow the list");
}

#[test]
fn one_bit_has_no_suspended_so_it_says_invalid() {
    let mut one = StatusList::new(Bits::ONE);
    one.set_status(3, Status::Suspended).unwrap();
    one.set_status(5, Status::Invalid).unwrap();
    assert_eq!(one.as_bytes(), [0b0010_1000]);
    let mut two = StatusList::new(Bits::TWO);
    two.set_status(3, Status::Suspended).unwrap();
    assert_eq!(two.get(3), Some(2));
}

#[test]
fn bits_other_than_1_2_4_8_are_refused() {
    for ok in [1u8, 2, 4, 8] {
        assert_eq!(Bits::try_from(ok).unwrap().get(), ok);
    }
    for bad in [0u8, 3, 5, 16] {
        assert_eq!(Bits::try_from(bad), Err(ListError::BadBits(bad)));
    }
    assert!(serde_json::from_str::<EncodedList>(r#"{"bits":3,"lst":"eNoDAAAAAAE"}"#).is_err());
}

/// 100 MiB of zeros squeeze into about 100 KB: inflating stops at the limit.
#[test]
fn a_zlib_bomb_is_refused_at_the_decompressed_limit() {
    let mut z = ZlibEncoder::new(Vec::new(), Compression::best());
    let zeros = vec![0u8; 1 << 20];
    for _ in 0..100 {
        z.write_all(&zeros).unwrap();
    }
    let bomb = z.finish().unwrap();
    assert!(bomb.len() < 200 << 10, "{}", bomb.len());
    assert_eq!(
        StatusList::decompress(Bits::ONE, &bomb, Limits::DEFAULT),
        Err(ListError::TooLarge(MAX_LIST_BYTES))
    );
    // The same through the claim, and with a tighter limit: refused at that limit.
    let encoded = EncodedList {
        bits: Bits::ONE,
        lst: URL_SAFE_NO_PAD.encode(&bomb),
        aggregation_uri: None,
    };
    assert_eq!(
        StatusList::decode(&encoded, Limits::DEFAULT),
        Err(ListError::TooLarge(MAX_LIST_BYTES))
    );
    let tight = Limits {
        max_compressed: 1 << 20,
        max_decompressed: 1000,
    };
    assert_eq!(
        StatusList::decompress(Bits::ONE, &zlib(&[0; 1001]), tight),
        Err(ListError::TooLarge(1000))
    );
    assert!(StatusList::decompress(Bits::ONE, &zlib(&[0; 1000]), tight).is_ok());
}

#[test]
fn what_is_not_one_complete_zlib_stream_is_refused() {
    let good = zlib(&[0xB9, 0xA3, 0x01, 0x02, 0x03]);
    let decompress = |bytes: &[u8]| StatusList::decompress(Bits::ONE, bytes, Limits::DEFAULT);
    assert!(decompress(&good).is_ok());
    let not_zlib = |r: Result<StatusList, ListError>| matches!(r, Err(ListError::NotZlib(_)));
    assert!(not_zlib(decompress(&good[..good.len() - 1])), "cut short");
    assert!(not_zlib(decompress(&good[..2])), "a header alone");
    assert!(not_zlib(decompress(&[])), "nothing");
    let mut trailing = good.clone();
    trailing.push(0);
    assert!(not_zlib(decompress(&trailing)), "bytes after the stream");
    let mut bad_sum = good.clone();
    *bad_sum.last_mut().unwrap() ^= 1;
    assert!(not_zlib(decompress(&bad_sum)), "Adler-32 mismatch");
    let raw_deflate = &good[2..good.len() - 4];
    assert!(not_zlib(decompress(raw_deflate)), "DEFLATE without ZLIB");
    let tight = Limits {
        max_compressed: 4,
        max_decompressed: 1 << 20,
    };
    assert_eq!(
        StatusList::decompress(Bits::ONE, &good, tight),
        Err(ListError::CompressedTooLarge(4))
    );
    let encoded = |lst: &str| EncodedList {
        bits: Bits::ONE,
        lst: lst.into(),
        aggregation_uri: None,
    };
    assert_eq!(
        StatusList::decode(&encoded("eNrbuRgAAhcBXQ=="), Limits::DEFAULT),
        Err(ListError::NotBase64),
        "padding"
    );
    assert_eq!(
        StatusList::decode(&encoded("eNrbuRgAAhcB+Q"), Limits::DEFAULT),
        Err(ListError::NotBase64),
        "base64, not base64url"
    );
    assert_eq!(
        StatusList::decode(&encoded(&"A".repeat(100)), tight),
        Err(ListError::CompressedTooLarge(4))
    );
}

struct Signed {
    _dir: tempfile::TempDir,
    ring: KeyRing,
    claims: StatusListClaims,
    token: String,
}

fn signed() -> Signed {
    let dir = tempfile::tempdir().unwrap();
    let (ring, _) =
        KeyRing::open_or_generate(dir.path(), "2026-11-22T00:00:00Z".parse().unwrap()).unwrap();
    let mut list = StatusList::new(Bits::TWO);
    list.set_status(1, Status::Valid).unwrap();
    list.set_status(2, Status::Invalid).unwrap();
    list.set_status(3, Status::Suspended).unwrap();
    let claims = StatusListClaims {
        sub: "https://elicence.example/api/v1/status-list".into(),
        iat: 1_795_320_000,
        exp: 1_795_406_400,
        ttl: 300,
        status_list: list.encode(),
    };
    let token = token::sign(&ring, &claims);
    Signed {
        _dir: dir,
        ring,
        claims,
        token,
    }
}

impl Signed {
    fn verify(&self, token: &str) -> Result<token::VerifiedList, TokenError> {
        token::verify(token, |kid| self.ring.verifying_key(kid), Limits::DEFAULT)
    }

    fn resigned(&self, claims: &serde_json::Value) -> String {
        crate::signing::jws::sign(&self.ring, token::TYP, &serde_json::to_vec(claims).unwrap())
    }
}

#[test]
fn a_signed_list_verifies_with_its_header_and_claims() {
    let s = signed();
    let header: serde_json::Value = serde_json::from_slice(
        &URL_SAFE_NO_PAD
            .decode(s.token.split('.').next().unwrap())
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        header,
        serde_json::json!({"alg": "EdDSA", "kid": s.ring.active_kid(), "typ": "statuslist+jwt"})
    );
    let v = s.verify(&s.token).unwrap();
    assert_eq!(v.kid, s.ring.active_kid());
    assert_eq!(v.claims, s.claims);
    assert_eq!(v.list.get(2), Some(1));
    assert_eq!(v.list.get(3), Some(2));
    assert!(!v.claims.is_expired(v.claims.issued_at().unwrap()));
    assert!(v.claims.is_expired(v.claims.expires_at().unwrap()));
}

#[test]
fn a_tampered_or_foreign_list_is_refused() {
    let s = signed();
    let (h, rest) = s.token.split_once('.').unwrap();
    let (_, sig) = rest.split_once('.').unwrap();
    // Index 3 flipped to VALID, the signature kept.
    let mut forged = s.claims.clone();
    let mut list = StatusList::decode(&forged.status_list, Limits::DEFAULT).unwrap();
    list.set_status(3, Status::Valid).unwrap();
    forged.status_list = list.encode();
    let payload = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
    assert_eq!(
        s.verify(&format!("{h}.{payload}.{sig}")),
        Err(TokenError::Jws(JwsError::BadSignature))
    );
    // A roadside code is not a list, even with a valid signature.
    let code = crate::signing::jws::sign(&s.ring, crate::domain::code::CODE_TYP, b"{}");
    assert_eq!(s.verify(&code), Err(TokenError::Jws(JwsError::WrongType)));
    // Another issuer's list.
    let other = signed();
    assert_eq!(
        s.verify(&other.token),
        Err(TokenError::Jws(JwsError::UnknownKey))
    );
    assert_eq!(
        s.verify(&"a".repeat(token::MAX_TOKEN_BYTES + 1)),
        Err(TokenError::Oversize)
    );
}

#[test]
fn signed_claims_that_are_not_a_usable_list_are_refused() {
    let s = signed();
    let good = serde_json::to_value(&s.claims).unwrap();
    let claims_error =
        |v: &serde_json::Value| matches!(s.verify(&s.resigned(v)), Err(TokenError::Claims(_)));
    for missing in ["sub", "iat", "exp", "ttl", "status_list"] {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(missing);
        assert!(claims_error(&v), "{missing}");
    }
    let mut v = good.clone();
    v["ttl"] = 0.into();
    assert!(claims_error(&v));
    let mut v = good.clone();
    v["exp"] = v["iat"].clone();
    assert!(claims_error(&v));
    let mut v = good.clone();
    v["status_list"]["lst"] = "eNrbuRgAAhcBXQ==".into();
    assert_eq!(
        s.verify(&s.resigned(&v)),
        Err(TokenError::List(ListError::NotBase64))
    );
    // Claims the draft allows beside ours are ignored.
    let mut v = good.clone();
    v["iss"] = "https://elicence.example".into();
    assert!(s.verify(&s.resigned(&v)).is_ok());
}
