//! Who is who: session tokens that bind a user id to a display name, signed with the
//! server's secret (HMAC-SHA256), so nobody can post as someone else by editing frames.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD as B64, Engine};
use hmac::{Hmac, Mac};
use palaver_protocol::{validate_name, ClientMsgId, User, UserId};
use sha2::Sha256;
use std::{path::Path, sync::Arc};

type HmacSha256 = Hmac<Sha256>;

/// Signs and checks session tokens. Cheap to clone: every connection holds one.
#[derive(Clone)]
pub struct Identity {
    secret: Arc<[u8]>,
}

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read or create the secret file {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("PALAVER_SECRET must be at least 32 characters")]
    TooShort,
    #[error("no randomness available: {0}")]
    Random(String),
}

impl Identity {
    pub fn new(secret: Vec<u8>) -> Identity {
        Identity { secret: secret.into() }
    }

    /// The secret from `PALAVER_SECRET` if set, otherwise the one kept in `dir/secret`,
    /// created on first start.
    pub fn load(from_env: Option<String>, dir: &Path) -> Result<Identity, SecretError> {
        if let Some(secret) = from_env {
            if secret.len() < 32 {
                return Err(SecretError::TooShort);
            }
            return Ok(Identity::new(secret.into_bytes()));
        }
        let path = dir.join("secret");
        let io = |source| SecretError::Io { path: path.display().to_string(), source };
        match std::fs::read(&path) {
            Ok(bytes) if bytes.len() >= 32 => Ok(Identity::new(bytes)),
            Ok(_) => Err(io(std::io::Error::new(std::io::ErrorKind::InvalidData, "shorter than 32 bytes"))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                std::fs::create_dir_all(dir).map_err(io)?;
                let secret = random_bytes::<32>()?.to_vec();
                write_private(&path, &secret).map_err(io)?;
                Ok(Identity::new(secret))
            }
            Err(e) => Err(io(e)),
        }
    }

    /// A new person with this (already validated) name.
    pub fn new_user(&self, name: String) -> Result<User, SecretError> {
        let id: String = random_bytes::<9>()?.iter().map(|b| format!("{b:02x}")).collect();
        Ok(User { id: UserId(format!("u{id}")), name, handle: None })
    }

    /// The token that proves `user` is who it says.
    pub fn token(&self, user: &User) -> String {
        let payload = format!("{}.{}", B64.encode(user.id.as_str()), B64.encode(&user.name));
        let mac = self.mac(payload.as_bytes()).finalize().into_bytes();
        format!("{payload}.{}", B64.encode(mac))
    }

    /// The user a token names, if this server signed it.
    pub fn verify(&self, token: &str) -> Option<User> {
        let (payload, mac) = token.rsplit_once('.')?;
        self.mac(payload.as_bytes()).verify_slice(&B64.decode(mac).ok()?).ok()?;
        let (id, name) = payload.split_once('.')?;
        let id = String::from_utf8(B64.decode(id).ok()?).ok()?;
        let name = validate_name(&String::from_utf8(B64.decode(name).ok()?).ok()?).ok()?;
        Some(User { id: UserId(id), name, handle: None })
    }

    /// A key of its own for `purpose` (HMAC of its name under the secret), so that
    /// nothing signed with it can pass for a token or the other way round. A purpose's
    /// name has a space, which a token's payload never has.
    pub fn derive_key(&self, purpose: &[u8]) -> [u8; 32] {
        self.mac(purpose).finalize().into_bytes().into()
    }

    fn mac(&self, data: &[u8]) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(&self.secret).expect("HMAC takes keys of any length");
        mac.update(data);
        mac
    }
}

pub fn random_bytes<const N: usize>() -> Result<[u8; N], SecretError> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf).map_err(|e| SecretError::Random(e.to_string()))?;
    Ok(buf)
}

/// A fresh id for a message the server posts on someone's behalf (a plain client's
/// line, a rename notice): the same shape as the ids browsers make.
pub fn fresh_id() -> Result<ClientMsgId, SecretError> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64);
    Ok(ClientMsgId::fresh(now, u64::from_le_bytes(random_bytes::<8>()?)))
}

/// What a connection was signed in with: an account's session, or a personal access
/// token (each by its number in the store).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Credential {
    Session(i64),
    Token(i64),
}

/// How a guest's id begins.
const GUEST: &str = "guest-";

/// A new guest: a plain client, a new one for each connection, named `guest-` and
/// four hex digits.
pub fn new_guest() -> Result<User, SecretError> {
    let hex: String = random_bytes::<6>()?.iter().map(|b| format!("{b:02x}")).collect();
    Ok(User { id: UserId(format!("{GUEST}{hex}")), name: format!("guest-{}", &hex[..4]), handle: None })
}

/// Whether `id` is a plain client's guest (a new one for each connection, so never
/// kept as one of the people an `@name` names).
pub fn is_guest(id: &UserId) -> bool {
    id.as_str().starts_with(GUEST)
}

fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)?.write_all(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity() -> Identity {
        Identity::new(b"0123456789abcdef0123456789abcdef".to_vec())
    }

    #[test]
    fn tokens_round_trip() {
        let id = identity();
        let user = id.new_user("Ann Lee ✨".into()).unwrap();
        assert_eq!(id.verify(&id.token(&user)), Some(user));
    }

    #[test]
    fn edited_or_foreign_tokens_are_refused() {
        let id = identity();
        let user = User { id: UserId("u1".into()), name: "Ann".into(), handle: None };
        let token = id.token(&user);
        let (_, mac) = token.rsplit_once('.').unwrap();
        let forged = format!("{}.{}.{mac}", B64.encode("u1"), B64.encode("Mallory"));
        assert_eq!(id.verify(&forged), None, "a changed name breaks the signature");
        let other = Identity::new(b"another secret, also 32 bytes ok".to_vec());
        assert_eq!(other.verify(&token), None);
        for junk in ["", ".", "a.b.c", "not a token"] {
            assert_eq!(id.verify(junk), None);
        }
    }

    #[test]
    fn derived_keys_differ_by_purpose_and_secret() {
        let id = identity();
        let bus = id.derive_key(b"palaver bus v1");
        assert_eq!(bus, identity().derive_key(b"palaver bus v1"), "every node derives the same");
        assert_ne!(bus, id.derive_key(b"palaver bus v2"));
        assert_ne!(bus, Identity::new(b"another secret, also 32 bytes ok".to_vec()).derive_key(b"palaver bus v1"));
        assert_ne!(&bus[..], &id.secret[..32]);
    }

    #[test]
    fn the_secret_is_generated_once_and_kept() {
        let dir = tempfile::tempdir().unwrap();
        let first = Identity::load(None, dir.path()).unwrap();
        let user = first.new_user("Ann".into()).unwrap();
        let again = Identity::load(None, dir.path()).unwrap();
        assert_eq!(again.verify(&first.token(&user)), Some(user));
        assert!(matches!(Identity::load(Some("short".into()), dir.path()), Err(SecretError::TooShort)));
    }
}
