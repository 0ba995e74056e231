//! A push message's payload, encrypted for one browser (RFC 8291, with the `aes128gcm`
//! content coding of RFC 8188): a fresh P-256 key and salt for each message, agreed
//! with the browser's key (`p256dh`) and authenticated with its secret (`auth`), in one
//! record that only that browser can open.

use aes_gcm::{aead::Aead, Aes128Gcm, KeyInit, Nonce};
use hkdf::Hkdf;
use p256::{elliptic_curve::sec1::ToEncodedPoint, PublicKey, SecretKey};
use sha2::Sha256;

/// The record size written in the header: the one record holds the whole payload.
const RECORD_SIZE: u32 = 4096;
/// The header: salt (16), record size (4), key id length (1) and the sender's key (65).
const HEADER: usize = 16 + 4 + 1 + 65;
/// The most a payload may hold: push services take bodies of 4,096 bytes, less the
/// header, the record's tag (16) and its delimiter (1).
pub const MAX_PAYLOAD: usize = RECORD_SIZE as usize - HEADER - 16 - 1;

/// Why a payload was not encrypted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unsealable {
    #[error("the browser's key is not a P-256 point (65 bytes, uncompressed)")]
    Key,
    #[error("the browser's secret is not 16 bytes")]
    Secret,
    #[error("the payload is over {MAX_PAYLOAD} bytes")]
    TooLong,
    #[error("no randomness for a fresh key")]
    Random,
}

/// `payload`, encrypted for the browser whose key is `ua_public` (65 bytes) and whose
/// secret is `auth` (16 bytes): the body of the push request.
pub fn encrypt(ua_public: &[u8], auth: &[u8], payload: &[u8]) -> Result<Vec<u8>, Unsealable> {
    let salt = crate::identity::random_bytes::<16>().map_err(|_| Unsealable::Random)?;
    encrypt_with(ua_public, auth, payload, &fresh_key()?, salt)
}

/// A new P-256 key, for one message.
pub fn fresh_key() -> Result<SecretKey, Unsealable> {
    // Nearly every 32 random bytes are a key; the few that are not are drawn again.
    for _ in 0..8 {
        let bytes = crate::identity::random_bytes::<32>().map_err(|_| Unsealable::Random)?;
        if let Ok(key) = SecretKey::from_slice(&bytes) {
            return Ok(key);
        }
    }
    Err(Unsealable::Random)
}

/// [`encrypt`] with the sender's key and salt given.
fn encrypt_with(
    ua_public: &[u8],
    auth: &[u8],
    payload: &[u8],
    sender: &SecretKey,
    salt: [u8; 16],
) -> Result<Vec<u8>, Unsealable> {
    if ua_public.len() != 65 || ua_public[0] != 4 {
        return Err(Unsealable::Key);
    }
    let ua = PublicKey::from_sec1_bytes(ua_public).map_err(|_| Unsealable::Key)?;
    if auth.len() != 16 {
        return Err(Unsealable::Secret);
    }
    if payload.len() > MAX_PAYLOAD {
        return Err(Unsealable::TooLong);
    }
    let sender_public = sender.public_key().to_encoded_point(false);
    let shared = p256::ecdh::diffie_hellman(sender.to_nonzero_scalar(), ua.as_affine());
    // The input key: the shared secret, authenticated by the browser's secret and bound
    // to both keys.
    let mut key_info = Vec::with_capacity(14 + 65 + 65);
    key_info.extend_from_slice(b"WebPush: info\0");
    key_info.extend_from_slice(ua_public);
    key_info.extend_from_slice(sender_public.as_bytes());
    let mut ikm = [0u8; 32];
    expand(Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes()), &key_info, &mut ikm);
    let content = Hkdf::<Sha256>::new(Some(&salt), &ikm);
    let (mut key, mut nonce) = ([0u8; 16], [0u8; 12]);
    expand(content.clone(), b"Content-Encoding: aes128gcm\0", &mut key);
    expand(content, b"Content-Encoding: nonce\0", &mut nonce);
    // One record, the last: the payload, then its delimiter (2), no padding.
    let mut record = Vec::with_capacity(payload.len() + 1);
    record.extend_from_slice(payload);
    record.push(2);
    let cipher = Aes128Gcm::new_from_slice(&key).expect("a 16-byte key");
    let sealed = cipher.encrypt(Nonce::from_slice(&nonce), record.as_slice()).expect("a record under 4 KB encrypts");
    let mut body = Vec::with_capacity(HEADER + sealed.len());
    body.extend_from_slice(&salt);
    body.extend_from_slice(&RECORD_SIZE.to_be_bytes());
    body.push(65);
    body.extend_from_slice(sender_public.as_bytes());
    body.extend_from_slice(&sealed);
    Ok(body)
}

/// HKDF's expand, to lengths it always gives.
fn expand(hkdf: Hkdf<Sha256>, info: &[u8], out: &mut [u8]) {
    hkdf.expand(info, out).expect("at most 32 bytes from SHA-256's HKDF");
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};

    fn b64(s: &str) -> Vec<u8> {
        URL_SAFE_NO_PAD.decode(s).unwrap()
    }

    #[test]
    fn the_rfc_8291_example_encrypts_to_its_bytes() {
        let sender = SecretKey::from_slice(&b64("yfWPiYE-n46HLnH0KqZOF1fJJU3MYrct3AELtAQ-oRw")).unwrap();
        let ua = b64("BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4");
        let salt: [u8; 16] = b64("DGv6ra1nlYgDCS1FRnbzlw").try_into().unwrap();
        let body = encrypt_with(
            &ua,
            &b64("BTBZMqHH6r4Tts7J_aSIgg"),
            b"When I grow up, I want to be a watermelon",
            &sender,
            salt,
        )
        .unwrap();
        assert_eq!(
            URL_SAFE_NO_PAD.encode(body),
            "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3\
             jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN"
        );
    }

    #[test]
    fn each_message_has_its_own_key_and_salt_and_bad_keys_are_refused() {
        let ua = fresh_key().unwrap().public_key().to_encoded_point(false).as_bytes().to_vec();
        let auth = [7u8; 16];
        let (one, two) = (encrypt(&ua, &auth, b"x").unwrap(), encrypt(&ua, &auth, b"x").unwrap());
        assert_ne!(one[..HEADER], two[..HEADER], "salt and sender key differ");
        assert_eq!(one.len(), HEADER + 1 + 1 + 16);
        assert_eq!(encrypt(&ua[..33], &auth, b"x"), Err(Unsealable::Key));
        let mut off_curve = ua.clone();
        off_curve[64] ^= 1;
        assert_eq!(encrypt(&off_curve, &auth, b"x"), Err(Unsealable::Key));
        assert_eq!(encrypt(&ua, &auth[..8], b"x"), Err(Unsealable::Secret));
        assert_eq!(encrypt(&ua, &auth, &[b'a'; MAX_PAYLOAD + 1]), Err(Unsealable::TooLong));
        assert_eq!(encrypt(&ua, &auth, &[b'a'; MAX_PAYLOAD]).unwrap().len(), RECORD_SIZE as usize);
    }
}
