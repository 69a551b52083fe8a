//! List cursors: a position in an owner's list, opaque to the caller,
//! tamper-evident and bound to the owner (docs/owner-index.md, "List and
//! get"). A cursor is the position and an HMAC-SHA256 tag over the owner
//! and the position, under the deployment's cursor key, both hex-encoded.
//! A cursor someone edited, made up, took from another owner or another
//! deployment does not verify.

use aws_lc_rs::hmac;

use crate::domain::{Owner, Position};
use crate::secret_string::SecretString;

/// Cursors longer than this are not ours.
const MAX_CURSOR_CHARS: usize = 1024;

fn tag_key(key: &SecretString) -> hmac::Key {
    hmac::Key::new(hmac::HMAC_SHA256, key.expose().as_bytes())
}

fn message(owner: &Owner, position: &str) -> Vec<u8> {
    // A separator no owner or position contains (both are printable).
    [
        b"m2m-cursor/v1\n",
        owner.as_str().as_bytes(),
        b"\n",
        position.as_bytes(),
    ]
    .concat()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| {
            text.get(at..at + 2)
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
        })
        .collect()
}

/// The cursor of `position` for `owner`.
pub fn encode(key: &SecretString, owner: &Owner, position: &Position) -> String {
    let tag = hmac::sign(&tag_key(key), &message(owner, &position.0));
    format!("{}.{}", hex(position.0.as_bytes()), hex(tag.as_ref()))
}

/// The position of a cursor `owner` was given, if it is one.
pub fn decode(key: &SecretString, owner: &Owner, cursor: &str) -> Option<Position> {
    if cursor.len() > MAX_CURSOR_CHARS {
        return None;
    }
    let (position, tag) = cursor.split_once('.')?;
    let position = String::from_utf8(unhex(position)?).ok()?;
    let tag = unhex(tag)?;
    hmac::verify(&tag_key(key), &message(owner, &position), &tag).ok()?;
    Some(Position(position))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owner(id: &str) -> Owner {
        Owner::parse(id).unwrap()
    }

    #[test]
    fn a_cursor_verifies_for_its_owner_and_key_only() {
        let key = SecretString::new("k1");
        let position = Position("000001795366800000#client_abc".into());
        let cursor = encode(&key, &owner("owner-a"), &position);
        assert!(!cursor.contains("client_abc"), "opaque: {cursor}");
        assert_eq!(
            decode(&key, &owner("owner-a"), &cursor),
            Some(position.clone())
        );
        // Another owner, another deployment.
        assert_eq!(decode(&key, &owner("owner-b"), &cursor), None);
        assert_eq!(
            decode(&SecretString::new("k2"), &owner("owner-a"), &cursor),
            None
        );
        // Edited: the position, the tag, either one dropped; garbage.
        let (body, tag) = cursor.split_once('.').unwrap();
        let other = hex(b"000001795366800000#client_abd");
        for forged in [
            format!("{other}.{tag}"),
            format!("{body}.{}", "0".repeat(tag.len())),
            body.to_owned(),
            format!(".{tag}"),
            format!("{body}."),
            "zz.zz".to_owned(),
            String::new(),
            format!("{cursor}0"),
            "a".repeat(MAX_CURSOR_CHARS + 1),
        ] {
            assert_eq!(decode(&key, &owner("owner-a"), &forged), None, "{forged}");
        }
    }
}
