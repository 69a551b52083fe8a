//! The RSA public keys of key credentials (Private Key JWT): a PEM read as
//! the contract takes it (SPKI, RSA of 2048 to 4096 bits), and its RFC 7638
//! JWK thumbprint, which Auth0 uses as the credential's `kid`.
//!
//! A private key sent by mistake is recognised by its PEM label and
//! refused before anything else reads it: no message here quotes the PEM,
//! and nothing keeps it.

use aws_lc_rs::digest::{SHA256, digest};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};

/// The key sizes Auth0 takes for Private Key JWT credentials, in bits.
pub const KEY_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// The one label the contract takes: SPKI (`SubjectPublicKeyInfo`).
const SPKI_LABEL: &str = "PUBLIC KEY";

/// An RSA public key read from a PEM.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RsaPublicKey {
    /// The modulus' size in bits.
    pub bits: usize,
    /// Its RFC 7638 JWK thumbprint: SHA-256, base64url without padding.
    pub thumbprint_sha256: String,
}

/// Reads `pem` as an SPKI RSA public key of [`KEY_BITS`]. The error names
/// the problem for the caller (`public_key.pem …`) and never quotes the PEM.
pub fn parse_spki_pem(pem: &str) -> Result<RsaPublicKey, String> {
    let text = pem.trim();
    let label = text
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.split_once("-----"))
        .map(|(label, _)| label)
        .ok_or("public_key.pem is not a PEM-encoded key")?;
    if label.contains("PRIVATE KEY") {
        return Err(
            "public_key.pem holds a private key: send only the public key, and keep the private key to yourself (consider this one exposed)"
                .into(),
        );
    }
    if label != SPKI_LABEL {
        return Err(format!(
            "public_key.pem must be an SPKI public key (-----BEGIN {SPKI_LABEL}-----)"
        ));
    }
    let end = format!("-----END {SPKI_LABEL}-----");
    let body = text
        .strip_prefix(&format!("-----BEGIN {SPKI_LABEL}-----"))
        .and_then(|rest| rest.strip_suffix(end.as_str()))
        .ok_or("public_key.pem is not a PEM-encoded key")?;
    let base64: String = body.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    let der = STANDARD
        .decode(base64)
        .map_err(|_| "public_key.pem is not a PEM-encoded key")?;
    // aws-lc checks the key (RSA_check_key) and re-encodes it as PKCS#1,
    // whose two integers are the modulus and exponent the thumbprint needs.
    let key = aws_lc_rs::rsa::PublicKey::from_der(&der)
        .map_err(|_| "public_key.pem is not an RSA public key")?;
    let (n, e) = pkcs1_integers(key.as_ref()).ok_or("public_key.pem is not an RSA public key")?;
    let bits = bit_length(n);
    if !KEY_BITS.contains(&bits) {
        return Err(format!(
            "public_key.pem is an RSA key of {bits} bits; it must have {} to {}",
            KEY_BITS.start(),
            KEY_BITS.end()
        ));
    }
    Ok(RsaPublicKey {
        bits,
        thumbprint_sha256: thumbprint(n, e),
    })
}

/// RFC 7638: SHA-256 of the JWK's required members, in lexicographic order
/// and without whitespace, base64url-encoded without padding.
fn thumbprint(n: &[u8], e: &[u8]) -> String {
    let canonical = format!(
        r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#,
        URL_SAFE_NO_PAD.encode(e),
        URL_SAFE_NO_PAD.encode(n)
    );
    URL_SAFE_NO_PAD.encode(digest(&SHA256, canonical.as_bytes()))
}

/// The size in bits of a big-endian unsigned integer without leading zeros.
fn bit_length(integer: &[u8]) -> usize {
    match integer.first() {
        None => 0,
        Some(first) => integer.len() * 8 - first.leading_zeros() as usize,
    }
}

/// The modulus and exponent of a DER `RSAPublicKey` (RFC 8017: a SEQUENCE
/// of two INTEGERs), without their sign bytes.
fn pkcs1_integers(der: &[u8]) -> Option<(&[u8], &[u8])> {
    let (sequence, rest) = der_element(der, 0x30)?;
    if !rest.is_empty() {
        return None;
    }
    let (n, rest) = der_element(sequence, 0x02)?;
    let (e, rest) = der_element(rest, 0x02)?;
    rest.is_empty().then_some((unsigned(n), unsigned(e)))
}

/// One DER element of the `tag` expected at the start of `input`: its
/// contents, and what follows it.
fn der_element(input: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&found, rest) = input.split_first()?;
    if found != tag {
        return None;
    }
    let (&first, rest) = rest.split_first()?;
    let (length, rest) = if first < 0x80 {
        (usize::from(first), rest)
    } else {
        let count = usize::from(first & 0x7f);
        if count == 0 || count > 4 || rest.len() < count {
            return None;
        }
        let (bytes, rest) = rest.split_at(count);
        let length = bytes
            .iter()
            .fold(0usize, |length, byte| (length << 8) | usize::from(*byte));
        (length, rest)
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

/// An INTEGER's contents without the zero byte that keeps it positive.
fn unsigned(integer: &[u8]) -> &[u8] {
    match integer {
        [0, rest @ ..] if !rest.is_empty() => rest,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use auth0_emulator::{
        AUTH0_RECORDED_CERTIFICATE_KID, ClientKey, EC_PUBLIC_PEM, HUGE_RSA_PUBLIC_PEM,
        SMALL_RSA_PUBLIC_PEM,
    };

    #[test]
    fn thumbprints_follow_rfc_7638() {
        // RFC 7638 section 3.1's example key and its thumbprint.
        let n = URL_SAFE_NO_PAD.decode("0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw").unwrap();
        let e = URL_SAFE_NO_PAD.decode("AQAB").unwrap();
        assert_eq!(
            thumbprint(&n, &e),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(bit_length(&n), 2048);
    }

    #[test]
    fn the_committed_keys_have_the_thumbprints_auth0_gives_them() {
        for (key, bits) in [
            (ClientKey::A, 2048),
            (ClientKey::B, 2048),
            (ClientKey::Max, 4096),
        ] {
            let read = parse_spki_pem(key.public_pem()).unwrap();
            assert_eq!(read.bits, bits, "{key:?}");
            assert_eq!(read.thumbprint_sha256, key.thumbprint(), "{key:?}");
        }
        // The thumbprint the recorded tenant gave, computed independently by
        // the emulator, agrees with ours for every committed key above; the
        // certificate itself is not SPKI and is refused.
        assert!(!AUTH0_RECORDED_CERTIFICATE_KID.is_empty());
        // Windows line ends and surrounding blanks are still the same key.
        let crlf = format!("\n  {}  ", ClientKey::A.public_pem().replace('\n', "\r\n"));
        assert_eq!(
            parse_spki_pem(&crlf).unwrap().thumbprint_sha256,
            ClientKey::A.thumbprint()
        );
    }

    #[test]
    fn keys_the_contract_refuses_are_refused_with_the_reason_and_never_quoted() {
        let reason = |pem: &str| parse_spki_pem(pem).unwrap_err();
        assert_eq!(
            reason(SMALL_RSA_PUBLIC_PEM),
            "public_key.pem is an RSA key of 1024 bits; it must have 2048 to 4096"
        );
        assert_eq!(
            reason(HUGE_RSA_PUBLIC_PEM),
            "public_key.pem is an RSA key of 8192 bits; it must have 2048 to 4096"
        );
        assert_eq!(
            reason(EC_PUBLIC_PEM),
            "public_key.pem is not an RSA public key"
        );
        let private = reason(ClientKey::A.private_pem());
        assert!(private.starts_with("public_key.pem holds a private key"));
        assert_eq!(
            reason("MIIBIjANBg"),
            "public_key.pem is not a PEM-encoded key"
        );
        assert_eq!(
            reason(auth0_emulator::AUTH0_RECORDED_CERTIFICATE_PEM),
            "public_key.pem must be an SPKI public key (-----BEGIN PUBLIC KEY-----)"
        );
        let pem = ClientKey::A.public_pem();
        let truncated = format!("{}\n-----END PUBLIC KEY-----", &pem[..200]);
        assert!(parse_spki_pem(&truncated).is_err());
        let garbled = pem.replacen("MII", "M!I", 1);
        assert_eq!(reason(&garbled), "public_key.pem is not a PEM-encoded key");
        for refused in [SMALL_RSA_PUBLIC_PEM, ClientKey::A.private_pem(), &truncated] {
            let message = reason(refused);
            let body_line = refused.lines().nth(1).unwrap_or_default();
            assert!(!message.contains(&body_line[..20]), "{message}");
        }
    }

    #[test]
    fn der_lengths_are_read_and_bounded() {
        assert_eq!(
            der_element(&[0x02, 0x01, 0x05], 0x02),
            Some((&[5u8][..], &[][..]))
        );
        assert_eq!(der_element(&[0x02, 0x02, 0x05], 0x02), None);
        assert_eq!(
            der_element(&[0x30, 0x81, 0x01, 0x00], 0x30),
            Some((&[0u8][..], &[][..]))
        );
        assert_eq!(der_element(&[0x30, 0x85, 0, 0, 0, 0, 1], 0x30), None);
        assert_eq!(der_element(&[0x31, 0x00], 0x30), None);
        assert_eq!(unsigned(&[0, 0x80]), &[0x80]);
        assert_eq!(unsigned(&[0]), &[0]);
    }
}
