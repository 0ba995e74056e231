//! Who sends Palaver's pushes (VAPID, RFC 8292): a P-256 key derived from the server's
//! secret, so every node of a workspace has the same one and nothing more is kept; its
//! public half is what browsers subscribe with, and each push carries a token signed
//! with it for the push service's origin.

use crate::identity::Identity;
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use p256::{
    ecdsa::{signature::Signer, Signature, SigningKey},
    elliptic_curve::sec1::ToEncodedPoint,
    SecretKey,
};
use url::Url;

/// How long a push's token holds (the RFC allows up to 24 hours).
const TOKEN_LIFE_SECS: u64 = 12 * 3600;

/// The workspace's push key.
pub struct Vapid {
    key: SigningKey,
    /// The public key, uncompressed, in base64url: the page's `applicationServerKey`.
    public: String,
}

impl Vapid {
    /// The key `identity`'s secret gives.
    pub fn new(identity: &Identity) -> Vapid {
        // A 32-byte string is a P-256 key unless it is at least the group's order, which
        // one in 2^32 are: the next purpose is taken then.
        let secret = (0u8..)
            .find_map(|n| {
                SecretKey::from_slice(&identity.derive_key(&[b"palaver push v1 ".as_slice(), &[n]].concat())).ok()
            })
            .expect("a key among the first 256");
        let public = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        Vapid { key: SigningKey::from(secret), public }
    }

    pub fn public_key(&self) -> &str {
        &self.public
    }

    /// The `Authorization` header of a push to `endpoint`, at `now` (seconds since the
    /// epoch): a token for the endpoint's origin, naming `contact` (a `mailto:` or
    /// `https:` address the push service may write to).
    pub fn authorization(&self, endpoint: &Url, contact: &str, now: u64) -> String {
        let header = URL_SAFE_NO_PAD.encode(br#"{"typ":"JWT","alg":"ES256"}"#);
        let claims = serde_json::json!({
            "aud": endpoint.origin().ascii_serialization(),
            "exp": now + TOKEN_LIFE_SECS,
            "sub": contact,
        });
        let claims = URL_SAFE_NO_PAD.encode(claims.to_string());
        let signed = format!("{header}.{claims}");
        let signature: Signature = self.key.sign(signed.as_bytes());
        format!("vapid t={signed}.{}, k={}", URL_SAFE_NO_PAD.encode(signature.to_bytes()), self.public)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use p256::ecdsa::{signature::Verifier, VerifyingKey};

    #[test]
    fn the_token_is_signed_for_the_origin_by_the_key_browsers_subscribed_with() {
        let identity = Identity::new(b"0123456789abcdef0123456789abcdef".to_vec());
        let vapid = Vapid::new(&identity);
        assert_eq!(vapid.public_key(), Vapid::new(&identity).public_key(), "the same secret, the same key");
        let other = Vapid::new(&Identity::new(b"another secret, also 32 bytes ok".to_vec()));
        assert_ne!(vapid.public_key(), other.public_key());

        let endpoint = Url::parse("https://push.example.net:8443/send/abc?x=1").unwrap();
        let header = vapid.authorization(&endpoint, "mailto:ops@example.com", 1_000);
        let (token, key) = header.strip_prefix("vapid t=").unwrap().split_once(", k=").unwrap();
        assert_eq!(key, vapid.public_key());
        let (signed, signature) = token.rsplit_once('.').unwrap();
        let verifier = VerifyingKey::from_sec1_bytes(&URL_SAFE_NO_PAD.decode(key).unwrap()).unwrap();
        let signature = Signature::from_slice(&URL_SAFE_NO_PAD.decode(signature).unwrap()).unwrap();
        verifier.verify(signed.as_bytes(), &signature).expect("a valid ES256 signature");
        let claims = URL_SAFE_NO_PAD.decode(signed.split_once('.').unwrap().1).unwrap();
        let claims: serde_json::Value = serde_json::from_slice(&claims).unwrap();
        assert_eq!(claims["aud"], "https://push.example.net:8443");
        assert_eq!(claims["exp"], 1_000 + TOKEN_LIFE_SECS);
        assert_eq!(claims["sub"], "mailto:ops@example.com");
        let forged = format!("{}x", &signed[..signed.len() - 1]);
        assert!(verifier.verify(forged.as_bytes(), &signature).is_err());
    }
}
