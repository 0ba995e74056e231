//! One push to one browser, through its push service: the payload encrypted for it, a
//! VAPID token for the service's origin, `TTL` and `Urgency`, over HTTPS. The address
//! is a stranger's to choose, so it is guarded as link previews are: the service must
//! be on the public internet (or admitted by the operator, `PALAVER_PUSH_ADMIT`), by its
//! IP literal or every address its name resolves to; no redirects, no proxy.

use super::{ece, Subscription, Target, Vapid};
use crate::preview::Guard;
use reqwest::header::{HeaderValue, AUTHORIZATION, CONTENT_ENCODING, CONTENT_TYPE, RETRY_AFTER};
use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};
use url::Host;

/// How a push went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The push service took it.
    Sent,
    /// The subscription is no more (404, 410): it is to be forgotten.
    Gone,
    /// Too many for now (429, now or earlier): not before this long.
    Later(Duration),
    /// Refused, or not sent: why.
    Failed(String),
}

/// Sends pushes as the workspace (see the module's doc).
pub struct Sender {
    client: reqwest::Client,
    vapid: Vapid,
    contact: String,
    guard: Guard,
    /// Per push service (its origin): not sent to before then, as it asked (429).
    waiting: Mutex<HashMap<String, Instant>>,
}

impl Sender {
    /// A sender signing with `vapid`, naming `contact` to push services, reaching public
    /// addresses and those `guard` admits.
    pub fn new(vapid: Vapid, contact: String, guard: Guard) -> Result<Sender, reqwest::Error> {
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .dns_resolver(Arc::new(Guarded(guard.clone())))
            .user_agent("Palaver")
            .build()?;
        Ok(Sender { client, vapid, contact, guard, waiting: Mutex::default() })
    }

    pub fn public_key(&self) -> &str {
        self.vapid.public_key()
    }

    /// Sends `payload` to the browser of `to`, for the push service to keep up to `ttl`
    /// while the browser is away.
    pub async fn send(&self, to: &Subscription, payload: &[u8], ttl: Duration) -> Outcome {
        let target = match Target::of(to) {
            Ok(target) => target,
            Err(why) => return Outcome::Failed(why),
        };
        if let Some(why) = self.refuses(&target.url) {
            return Outcome::Failed(why);
        }
        let service = target.url.origin().ascii_serialization();
        if let Some(wait) = self.waiting_for(&service) {
            return Outcome::Later(wait);
        }
        let body = match ece::encrypt(&target.key, &target.auth, payload) {
            Ok(body) => body,
            Err(e) => return Outcome::Failed(e.to_string()),
        };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        let authorization = self.vapid.authorization(&target.url, &self.contact, now);
        let sent = self
            .client
            .post(target.url)
            .header("TTL", ttl.as_secs().to_string())
            .header("Urgency", "normal")
            .header(CONTENT_ENCODING, "aes128gcm")
            .header(CONTENT_TYPE, "application/octet-stream")
            .header(AUTHORIZATION, authorization)
            .body(body)
            .send()
            .await;
        let answer = match sent {
            Ok(answer) => answer,
            Err(e) => return Outcome::Failed(format!("not sent: {e}")),
        };
        match answer.status().as_u16() {
            200..=299 => Outcome::Sent,
            404 | 410 => Outcome::Gone,
            429 => {
                let wait = retry_after(answer.headers().get(RETRY_AFTER));
                self.waiting.lock().expect("never poisoned").insert(service, Instant::now() + wait);
                Outcome::Later(wait)
            }
            status => Outcome::Failed(format!("the push service answered {status}")),
        }
    }

    /// How long the push service at `origin` asked to be left alone still, if it did.
    fn waiting_for(&self, origin: &str) -> Option<Duration> {
        let mut waiting = self.waiting.lock().expect("never poisoned");
        let now = Instant::now();
        waiting.retain(|_, until| *until > now);
        waiting.get(origin).map(|until| *until - now)
    }

    /// Why a push may not go to `url` before any name is looked up: plain HTTP to an
    /// address not admitted, or an IP literal that is not public.
    fn refuses(&self, url: &url::Url) -> Option<String> {
        let port = url.port_or_known_default()?;
        let literal = match url.host()? {
            Host::Ipv4(ip) => Some(SocketAddr::new(ip.into(), port)),
            Host::Ipv6(ip) => Some(SocketAddr::new(ip.into(), port)),
            Host::Domain(_) => None,
        };
        let admitted = literal.is_some_and(|addr| self.guard.admits(addr));
        if url.scheme() != "https" && !admitted {
            return Some("push services are reached over https".into());
        }
        let addr = literal?;
        self.guard.refuses(addr).map(|why| format!("{addr} is not on the public internet: {why}"))
    }
}

/// The wait a 429 asks for (seconds; a minute if it says none).
fn retry_after(value: Option<&HeaderValue>) -> Duration {
    let secs = value.and_then(|v| v.to_str().ok()?.trim().parse::<u64>().ok()).unwrap_or(60);
    Duration::from_secs(secs.min(3600))
}

/// Looks names up as the system does, and refuses a name any of whose addresses is not
/// public (one that also leads inside is not followed at all).
struct Guarded(Guard);

impl reqwest::dns::Resolve for Guarded {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let guard = self.0.clone();
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some((addr, why)) = addrs.iter().find_map(|a| guard.refuses(*a).map(|why| (a, why))) {
                return Err(format!("{host} leads to {}: {why}", addr.ip()).into());
            }
            Ok(Box::new(addrs.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::Identity;
    use reqwest::dns::Resolve;

    fn sender(admitted: &[&str]) -> Sender {
        let vapid = Vapid::new(&Identity::new(b"0123456789abcdef0123456789abcdef".to_vec()));
        let guard = Guard::admitting(admitted.iter().map(|a| a.parse().unwrap()).collect());
        Sender::new(vapid, "mailto:ops@example.com".into(), guard).unwrap()
    }

    #[test]
    fn only_https_to_the_public_internet_unless_admitted() {
        let sender = sender(&["127.0.0.1:8443"]);
        let refuses = |url: &str| sender.refuses(&url::Url::parse(url).unwrap());
        assert_eq!(refuses("https://fcm.googleapis.com/fcm/send/x"), None);
        assert_eq!(refuses("https://93.184.215.14/push"), None);
        assert_eq!(refuses("http://127.0.0.1:8443/push/a"), None, "admitted");
        for inside in [
            "http://fcm.googleapis.com/fcm/send/x",
            "https://127.0.0.1/push",
            "https://127.0.0.1:8444/push",
            "http://127.0.0.1:8444/push",
            "https://169.254.169.254/latest/meta-data",
            "https://10.1.2.3/push",
            "https://[::1]/push",
            "https://[::ffff:127.0.0.1]/push",
        ] {
            assert!(refuses(inside).is_some(), "{inside} refused");
        }
    }

    #[tokio::test]
    async fn a_name_that_leads_inside_is_not_looked_up_for_a_push() {
        let guarded = Guarded(Guard::default());
        let refused = guarded.resolve("localhost".parse().unwrap()).await.err().expect("localhost refused");
        assert!(refused.to_string().contains("localhost leads to"), "{refused}");
    }

    #[test]
    fn a_push_service_asking_to_wait_is_waited_for_at_most_an_hour() {
        assert_eq!(retry_after(Some(&HeaderValue::from_static("30"))), Duration::from_secs(30));
        assert_eq!(retry_after(Some(&HeaderValue::from_static("999999"))), Duration::from_secs(3600));
        assert_eq!(retry_after(Some(&HeaderValue::from_static("soon"))), Duration::from_secs(60));
        assert_eq!(retry_after(None), Duration::from_secs(60));
    }
}
