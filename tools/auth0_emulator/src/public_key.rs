//! The public keys of Private Key JWT credentials: what a PEM Auth0 takes
//! looks like, its size, and its `kid`.

use jsonwebtoken::DecodingKey;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, ThumbprintHash};

/// The key sizes Auth0 takes for Private Key JWT credentials, in bits.
pub const KEY_BITS: std::ops::RangeInclusive<usize> = 2048..=4096;

/// An RSA public key, ready to verify client assertions.
#[derive(Clone, Debug)]
pub struct PublicKey {
    pub key: DecodingKey,
    /// Its RFC 7638 JWK thumbprint (SHA-256, base64url): the `kid` Auth0
    /// gives a credential that names none.
    pub thumbprint: String,
}

/// The PEM labels Auth0 documents for a credential's `pem`: "PEM-formatted
/// public key (SPKI and PKCS1) or X509 certificate".
const LABELS: [&str; 3] = ["PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE"];

/// Reads `pem` as Auth0 reads a credential's: an RSA public key (SPKI or
/// PKCS#1) or a certificate holding one, of 2048 to 4096 bits. The error
/// says what is wrong, never echoing the PEM (it may be a private key sent
/// by mistake).
pub fn parse(pem: &str) -> Result<PublicKey, String> {
    let label = pem
        .trim_start()
        .strip_prefix("-----BEGIN ")
        .and_then(|rest| rest.split_once("-----"))
        .map(|(label, _)| label)
        .ok_or("pem is not PEM-encoded")?;
    if label.contains("PRIVATE KEY") {
        return Err("pem holds a private key; only the public key is sent".into());
    }
    if !LABELS.contains(&label) {
        return Err(format!(
            "pem must be a public key (SPKI or PKCS1) or an X509 certificate, not {label}"
        ));
    }
    let key = DecodingKey::from_rsa_pem(pem.as_bytes()).map_err(|_| "pem is not an RSA key")?;
    let jwk = Jwk::from_decoding_key(&key, None).map_err(|_| "pem is not a valid RSA key")?;
    let AlgorithmParameters::RSA(rsa) = &jwk.algorithm else {
        return Err("pem is not an RSA key".into());
    };
    let bits = modulus_bits(&rsa.n).ok_or("pem is not a valid RSA key")?;
    if !KEY_BITS.contains(&bits) {
        return Err(format!(
            "the RSA key has {bits} bits; it must have {} to {}",
            KEY_BITS.start(),
            KEY_BITS.end()
        ));
    }
    let thumbprint = jwk
        .thumbprint(ThumbprintHash::SHA256)
        .map_err(|_| "pem is not a valid RSA key")?;
    Ok(PublicKey { key, thumbprint })
}

/// The RFC 7638 JWK thumbprint (SHA-256, base64url) of the RSA public key
/// in `pem` (SPKI, PKCS#1 or a certificate): the `kid` Auth0 gives a
/// credential made from it without one.
pub fn jwk_thumbprint(pem: &str) -> Result<String, String> {
    parse(pem).map(|key| key.thumbprint)
}

/// The size in bits of the modulus `n` (base64url, unpadded, without
/// leading zero bytes, as JWKs write it).
fn modulus_bits(n: &str) -> Option<usize> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let sextet = |c: u8| ALPHABET.iter().position(|a| *a == c);
    let mut chars = n.bytes();
    let first = sextet(chars.next()?)?;
    let second = sextet(chars.next()?)?;
    // The first byte is the first sextet and the top two bits of the second.
    let leading = u8::try_from((first << 2) | (second >> 4)).ok()?;
    let bytes = n.len() * 6 / 8;
    (leading != 0).then(|| bytes * 8 - leading.leading_zeros() as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::jwk::{RSAKeyParameters, RSAKeyType};

    /// RFC 7638 section 3.1's example key and its thumbprint.
    #[test]
    fn thumbprints_follow_rfc_7638() {
        let n = "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw";
        let jwk = Jwk {
            common: Default::default(),
            algorithm: AlgorithmParameters::RSA(RSAKeyParameters {
                key_type: RSAKeyType::RSA,
                n: n.into(),
                e: "AQAB".into(),
            }),
        };
        assert_eq!(
            jwk.thumbprint(ThumbprintHash::SHA256).unwrap(),
            "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"
        );
        assert_eq!(modulus_bits(n), Some(2048));
    }

    #[test]
    fn a_modulus_is_counted_to_the_bit() {
        // 0x01 then 255 more bytes: 2041 bits; 0x80 then 255: 2048.
        let two_thousand_forty_one = format!("AQ{}", "A".repeat(340));
        assert_eq!(modulus_bits(&two_thousand_forty_one), Some(2041));
        let two_thousand_forty_eight = format!("gA{}", "A".repeat(340));
        assert_eq!(modulus_bits(&two_thousand_forty_eight), Some(2048));
        assert_eq!(modulus_bits("AA"), None);
        assert_eq!(modulus_bits("*A"), None);
    }

    #[test]
    fn keys_auth0_refuses_are_refused_with_the_reason() {
        let reason = |pem: &str| parse(pem).map(|key| key.thumbprint).unwrap_err();
        assert_eq!(
            reason(crate::SMALL_RSA_PUBLIC_PEM),
            "the RSA key has 1024 bits; it must have 2048 to 4096"
        );
        assert_eq!(
            reason(crate::HUGE_RSA_PUBLIC_PEM),
            "the RSA key has 8192 bits; it must have 2048 to 4096"
        );
        assert_eq!(reason(crate::EC_PUBLIC_PEM), "pem is not an RSA key");
        assert_eq!(
            reason(crate::ClientKey::A.private_pem()),
            "pem holds a private key; only the public key is sent"
        );
        assert_eq!(reason("MIIBIjANBg"), "pem is not PEM-encoded");
        let truncated = &crate::ClientKey::A.public_pem()[..200];
        assert!(parse(truncated).is_err());
    }

    #[test]
    fn keys_auth0_takes_are_read() {
        for key in [crate::ClientKey::A, crate::ClientKey::Max] {
            assert!(parse(key.public_pem()).is_ok(), "{key:?}");
        }
        let certificate = parse(crate::AUTH0_RECORDED_CERTIFICATE_PEM).unwrap();
        assert_eq!(
            certificate.thumbprint,
            crate::AUTH0_RECORDED_CERTIFICATE_KID
        );
    }
}
