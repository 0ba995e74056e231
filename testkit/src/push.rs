//! A push service of a test's own, on loopback, standing where a browser vendor's is:
//! it takes pushes at `http://ADDR/push/NAME`, one endpoint per test browser, and does
//! what a real one and the browser do between them: checks the VAPID token (ES256 by the
//! key it names, for this service's origin, not expired, with a contact) and opens the
//! payload with the browser's private key and secret (RFC 8291). A push that fails a
//! check is answered 400 and kept with why; one that passes is answered 201 (or what
//! the test set for that browser: 410 for one that unsubscribed) and kept opened.

use aes_gcm::{aead::Aead, Aes128Gcm, KeyInit, Nonce};
use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use hkdf::Hkdf;
use p256::{
    ecdsa::{signature::Verifier, Signature, VerifyingKey},
    elliptic_curve::sec1::ToEncodedPoint,
    PublicKey, SecretKey,
};
use sha2::Sha256;
use std::{
    collections::HashMap,
    io::{BufRead, BufReader, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

/// A push that passed every check, opened.
#[derive(Debug, Clone)]
pub struct Received {
    /// The payload, as the page's service worker would read it.
    pub payload: String,
    pub ttl: u64,
    pub urgency: Option<String>,
    /// The VAPID key it was signed with (base64url).
    pub key: String,
    /// The token's claims.
    pub claims: serde_json::Value,
}

#[derive(Default)]
struct Inbox {
    received: HashMap<String, Vec<Received>>,
    refused: Vec<String>,
    answers: HashMap<String, u16>,
}

/// The service (see the module's doc); once dropped, it takes no more pushes.
pub struct PushService {
    pub addr: SocketAddr,
    inbox: Arc<Mutex<Inbox>>,
    browsers: Mutex<HashMap<String, (SecretKey, [u8; 16])>>,
}

/// A test browser's subscription: what `PushSubscription.toJSON()` would give.
pub struct Browser {
    pub name: String,
    pub endpoint: String,
    /// `{"endpoint": …, "keys": {"p256dh": …, "auth": …}}`
    pub subscription: String,
}

impl PushService {
    pub fn start() -> std::io::Result<Arc<PushService>> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let service =
            Arc::new(PushService { addr: listener.local_addr()?, inbox: Arc::default(), browsers: Mutex::default() });
        let weak = Arc::downgrade(&service);
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                // Gone with the test: the thread ends at the next connection.
                let Some(service) = weak.upgrade() else { return };
                std::thread::spawn(move || service.serve(stream));
            }
        });
        Ok(service)
    }

    /// A new browser's subscription at this service.
    pub fn browser(&self, name: &str) -> Browser {
        let secret = loop {
            if let Ok(key) = SecretKey::from_slice(&random::<32>()) {
                break key;
            }
        };
        let auth = random::<16>();
        let endpoint = format!("http://{}/push/{name}", self.addr);
        let p256dh = URL_SAFE_NO_PAD.encode(secret.public_key().to_encoded_point(false).as_bytes());
        let subscription = serde_json::json!({
            "endpoint": endpoint,
            "expirationTime": null,
            "keys": { "p256dh": p256dh, "auth": URL_SAFE_NO_PAD.encode(auth) },
        })
        .to_string();
        self.browsers.lock().unwrap().insert(name.to_owned(), (secret, auth));
        Browser { name: name.to_owned(), endpoint, subscription }
    }

    /// From now on, pushes to `name` are answered `status` (checked all the same).
    pub fn answer(&self, name: &str, status: u16) {
        self.inbox.lock().unwrap().answers.insert(name.to_owned(), status);
    }

    /// The pushes `name` has had.
    pub fn received(&self, name: &str) -> Vec<Received> {
        self.inbox.lock().unwrap().received.get(name).cloned().unwrap_or_default()
    }

    /// Waits until `name` has had `count` pushes, at most `limit`; those it has.
    pub fn wait_for(&self, name: &str, count: usize, limit: Duration) -> Vec<Received> {
        let deadline = Instant::now() + limit;
        while self.received(name).len() < count && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.received(name)
    }

    /// Pushes refused, each with why.
    pub fn refused(&self) -> Vec<String> {
        self.inbox.lock().unwrap().refused.clone()
    }

    fn serve(&self, stream: TcpStream) {
        let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
        let mut reader = BufReader::new(&stream);
        let mut head = Vec::new();
        loop {
            let mut line = String::new();
            if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                break;
            }
            head.push(line.trim_end().to_owned());
        }
        let header = |name: &str| {
            head.iter().skip(1).find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.trim().eq_ignore_ascii_case(name).then(|| v.trim().to_owned())
            })
        };
        let length: usize = header("content-length").and_then(|l| l.parse().ok()).unwrap_or(0);
        let mut body = vec![0; length.min(1 << 20)];
        let read = reader.read_exact(&mut body);
        let request_line = head.first().cloned().unwrap_or_default();
        let name = request_line.strip_prefix("POST /push/").and_then(|r| r.split(' ').next()).map(str::to_owned);
        let checked = match (read, name) {
            (Err(e), _) => Err(format!("body not read: {e}")),
            (Ok(()), None) => Err(format!("not a push: {request_line}")),
            (Ok(()), Some(name)) => self.check(&name, &header, &body).map(|r| (name, r)),
        };
        let mut inbox = self.inbox.lock().unwrap();
        let status = match checked {
            Ok((name, received)) => {
                let status = inbox.answers.get(&name).copied().unwrap_or(201);
                inbox.received.entry(name).or_default().push(received);
                status
            }
            Err(why) => {
                inbox.refused.push(why);
                400
            }
        };
        drop(inbox);
        // A service that is busy says for how long.
        let wait = if status == 429 { "Retry-After: 30\r\n" } else { "" };
        let answer = format!("HTTP/1.1 {status} Push\r\n{wait}Content-Length: 0\r\nConnection: close\r\n\r\n");
        let _ = (&stream).write_all(answer.as_bytes());
    }

    /// Every check a push service and a browser make, and the payload opened.
    fn check(&self, name: &str, header: &dyn Fn(&str) -> Option<String>, body: &[u8]) -> Result<Received, String> {
        let (secret, auth) = self.browsers.lock().unwrap().get(name).cloned().ok_or("no such browser")?;
        let authorization = header("authorization").ok_or("no Authorization")?;
        let (token, key) = authorization
            .strip_prefix("vapid t=")
            .and_then(|rest| rest.split_once(", k="))
            .ok_or_else(|| format!("not a VAPID authorization: {authorization}"))?;
        let claims = verify(token, key)?;
        let origin = format!("http://{}", self.addr);
        if claims["aud"] != origin.as_str() {
            return Err(format!("the token is for {}, not {origin}", claims["aud"]));
        }
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let exp = claims["exp"].as_u64().ok_or("no exp")?;
        if exp <= now || exp > now + 24 * 3600 {
            return Err(format!("exp {exp} is not within the next 24 hours"));
        }
        let sub = claims["sub"].as_str().unwrap_or_default();
        if !(sub.starts_with("mailto:") || sub.starts_with("https:")) {
            return Err(format!("sub {sub:?} is not a contact"));
        }
        if header("content-encoding").as_deref() != Some("aes128gcm") {
            return Err("Content-Encoding is not aes128gcm".into());
        }
        let ttl = header("ttl").and_then(|t| t.parse().ok()).ok_or("no TTL")?;
        let payload = open(&secret, &auth, body)?;
        Ok(Received { payload, ttl, urgency: header("urgency"), key: key.to_owned(), claims })
    }
}

/// The claims of an ES256 token signed by `key`.
fn verify(token: &str, key: &str) -> Result<serde_json::Value, String> {
    let b64 = |s: &str| URL_SAFE_NO_PAD.decode(s).map_err(|e| format!("not base64url: {e}"));
    let (signed, signature) = token.rsplit_once('.').ok_or("not a token")?;
    let (header, claims) = signed.split_once('.').ok_or("not a token")?;
    let header: serde_json::Value = serde_json::from_slice(&b64(header)?).map_err(|e| e.to_string())?;
    if header["alg"] != "ES256" {
        return Err(format!("alg {} is not ES256", header["alg"]));
    }
    let verifier = VerifyingKey::from_sec1_bytes(&b64(key)?).map_err(|_| "k is not a P-256 key")?;
    let signature = Signature::from_slice(&b64(signature)?).map_err(|_| "not an ES256 signature")?;
    verifier.verify(signed.as_bytes(), &signature).map_err(|_| "the signature does not hold")?;
    serde_json::from_slice(&b64(claims)?).map_err(|e| e.to_string())
}

/// Opens an `aes128gcm` body as the browser whose key is `secret` and secret `auth`.
fn open(secret: &SecretKey, auth: &[u8; 16], body: &[u8]) -> Result<String, String> {
    if body.len() < 86 + 17 || body[20] != 65 {
        return Err("not an aes128gcm body with a P-256 key id".into());
    }
    let (salt, sender, sealed) = (&body[..16], &body[21..86], &body[86..]);
    let sender_key = PublicKey::from_sec1_bytes(sender).map_err(|_| "the key id is not a P-256 key")?;
    let shared = p256::ecdh::diffie_hellman(secret.to_nonzero_scalar(), sender_key.as_affine());
    let ua_public = secret.public_key().to_encoded_point(false);
    let info = [b"WebPush: info\0".as_slice(), ua_public.as_bytes(), sender].concat();
    let mut ikm = [0u8; 32];
    Hkdf::<Sha256>::new(Some(auth), shared.raw_secret_bytes()).expand(&info, &mut ikm).map_err(|e| e.to_string())?;
    let content = Hkdf::<Sha256>::new(Some(salt), &ikm);
    let (mut key, mut nonce) = ([0u8; 16], [0u8; 12]);
    content.expand(b"Content-Encoding: aes128gcm\0", &mut key).map_err(|e| e.to_string())?;
    content.expand(b"Content-Encoding: nonce\0", &mut nonce).map_err(|e| e.to_string())?;
    let cipher = Aes128Gcm::new_from_slice(&key).map_err(|e| e.to_string())?;
    let mut record = cipher.decrypt(Nonce::from_slice(&nonce), sealed).map_err(|_| "the payload does not open")?;
    // Padding (zeros), after the last record's delimiter (2).
    while record.last() == Some(&0) {
        record.pop();
    }
    if record.pop() != Some(2) {
        return Err("the record does not end as a last record does".into());
    }
    String::from_utf8(record).map_err(|_| "the payload is not text".into())
}

fn random<const N: usize>() -> [u8; N] {
    let mut bytes = [0u8; N];
    std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes)).expect("/dev/urandom");
    bytes
}
