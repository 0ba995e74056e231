//! Fetching links for previews through the SSRF guard, against a web server of the
//! test's own on loopback (admitted by address and port, as `PALAVER_PREVIEW_ADMIT`
//! does): a page's card, the traps (redirects inside, loops, huge bodies, wrong types,
//! a server that never answers), and a table of addresses that try to reach inside,
//! every one refused before anything is sent. Then the real server on each backend: a
//! message's first link gets its card, live and in history and in the page, and loses
//! it to an edit; a page's oEmbed answer fills its card; a link inside gets none; none at
//! all when previews are off.

use crate::common;

use common::{photo_with_position, room_id, TestServer};
use palaver_protocol::{ClientMsg, ClientMsgId, ErrorReason, ServerMsg};
use server::preview::{card, Fetcher, Guard, Refused, Want};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

const PAGE: &str = r#"<!doctype html><html><head><title>Fallback</title>
<meta property="og:title" content="Palaver &amp; friends">
<meta property="og:description" content="Chat that keeps every message.">
<meta property="og:site_name" content="Palaver">
<meta property="og:image" content="/photo.jpg">
</head><body>hello</body></html>"#;

/// A page whose card comes from its oEmbed answer (it has no OpenGraph tags).
const EMBEDDING_PAGE: &str = r#"<!doctype html><html><head><title>Watch - Tube</title>
<link rel="alternate" type="application/json+oembed" href="/oembed.json?url=%2Fwatch">
</head><body>a player</body></html>"#;
const OEMBED: &str = r#"{"version":"1.0","type":"video","title":"A talk about chat","author_name":"Ann Author",
"provider_name":"Tube","thumbnail_url":"/photo.jpg","html":"<iframe src=\"http://127.0.0.1:9/\"></iframe>"}"#;
/// A page whose oEmbed answer is inside: its card comes from its own tags.
const EMBEDDING_INSIDE: &str = r#"<head><title>Inside answer</title>
<link rel="alternate" type="application/json+oembed" href="http://127.0.0.1:9/oembed"></head>"#;

/// A web server on loopback answering by path; how many requests it was sent.
async fn web_server() -> (SocketAddr, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let asked = Arc::new(AtomicUsize::new(0));
    let counter = asked.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let counter = counter.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") {
                    if socket.read(&mut byte).await.unwrap_or(0) == 0 {
                        return;
                    }
                    head.push(byte[0]);
                }
                counter.fetch_add(1, Ordering::SeqCst);
                let head = String::from_utf8_lossy(&head).into_owned();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_owned();
                let answer = |status: &str, headers: &str, body: &[u8]| {
                    let mut out = format!(
                        "HTTP/1.1 {status}\r\n{headers}Content-Length: {}\r\nConnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    out.extend_from_slice(body);
                    out
                };
                let redirect = |to: String| answer("302 Found", &format!("Location: {to}\r\n"), b"");
                let reply = match path.as_str() {
                    "/page" => answer("200 OK", "Content-Type: text/html; charset=utf-8\r\n", PAGE.as_bytes()),
                    "/moved" => redirect("/page".into()),
                    "/watch" => answer("200 OK", "Content-Type: text/html\r\n", EMBEDDING_PAGE.as_bytes()),
                    "/oembed.json?url=%2Fwatch" => {
                        answer("200 OK", "Content-Type: application/json\r\n", OEMBED.as_bytes())
                    }
                    "/watch-inside" => answer("200 OK", "Content-Type: text/html\r\n", EMBEDDING_INSIDE.as_bytes()),
                    "/loop" => redirect("/loop".into()),
                    "/to-inside" => redirect("http://127.0.0.1:9/".into()),
                    "/to-localhost" => redirect("http://localhost:9/page".into()),
                    "/to-metadata" => redirect("http://169.254.169.254/latest/meta-data/".into()),
                    "/text" => answer("200 OK", "Content-Type: text/plain\r\n", b"just text"),
                    "/photo.jpg" => answer("200 OK", "Content-Type: image/jpeg\r\n", &photo_with_position()),
                    "/declared-huge" => {
                        let _ = socket
                            .write_all(
                                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 50000000\r\n\r\n",
                            )
                            .await;
                        return;
                    }
                    "/endless" => {
                        // No length: more and more, until the reader gives up.
                        let head = "HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n";
                        let _ = socket.write_all(head.as_bytes()).await;
                        let chunk = vec![b'a'; 64 * 1024];
                        while socket.write_all(&chunk).await.is_ok() {}
                        return;
                    }
                    "/silent" => {
                        tokio::time::sleep(Duration::from_secs(60)).await;
                        return;
                    }
                    _ => answer("404 Not Found", "", b""),
                };
                let _ = socket.write_all(&reply).await;
            });
        }
    });
    (addr, asked)
}

#[tokio::test]
async fn a_page_becomes_a_card_and_the_traps_are_refused() {
    let (addr, asked) = web_server().await;
    let fetcher = Fetcher::with_times(Guard::admitting(vec![addr]), Duration::from_secs(2), Duration::from_secs(2));
    let base = format!("http://{addr}");

    // A page (through a redirect) and its card; its picture, through the same guard.
    let page = fetcher.get(&format!("{base}/moved"), Want::Page).await.expect("the page");
    assert_eq!(page.url.path(), "/page");
    let found = card(&String::from_utf8_lossy(&page.body), &page.url).expect("a card");
    assert_eq!(found.title, "Palaver & friends");
    assert_eq!(found.description, "Chat that keeps every message.");
    assert_eq!(found.site, "Palaver");
    let picture = found.image.expect("a picture");
    assert_eq!(picture, format!("{base}/photo.jpg"));
    assert_eq!(fetcher.get(&picture, Want::Image).await.expect("the picture").content_type, "image/jpeg");
    // A page's oEmbed answer is JSON, and only JSON.
    let answer = fetcher.get(&format!("{base}/oembed.json?url=%2Fwatch"), Want::Embed).await.expect("the answer");
    assert_eq!(answer.content_type, "application/json");
    assert!(matches!(fetcher.get(&format!("{base}/page"), Want::Embed).await, Err(Refused::Type(_))));

    // Redirects inside are checked like any link, and a loop ends.
    for (path, port) in [("/to-inside", 9), ("/to-localhost", 9), ("/to-metadata", 80)] {
        match fetcher.get(&format!("{base}{path}"), Want::Page).await {
            Err(Refused::Address(to, _)) => assert_eq!(to.port(), port, "{path}"),
            other => panic!("{path}: {other:?}"),
        }
    }
    assert_eq!(fetcher.get(&format!("{base}/loop"), Want::Page).await.unwrap_err(), Refused::TooManyRedirects);
    // Only what was wanted, only as much as wanted, only as long as allowed.
    assert!(
        matches!(fetcher.get(&format!("{base}/text"), Want::Page).await, Err(Refused::Type(t)) if t == "text/plain")
    );
    assert!(matches!(fetcher.get(&format!("{base}/page"), Want::Image).await, Err(Refused::Type(_))));
    assert_eq!(fetcher.get(&format!("{base}/nothing"), Want::Page).await.unwrap_err(), Refused::Status(404));
    assert_eq!(fetcher.get(&format!("{base}/declared-huge"), Want::Page).await.unwrap_err(), Refused::TooBig(1 << 20));
    let started = Instant::now();
    assert_eq!(fetcher.get(&format!("{base}/endless"), Want::Page).await.unwrap_err(), Refused::TooBig(1 << 20));
    assert!(started.elapsed() < Duration::from_secs(2), "cut off as it came: {:?}", started.elapsed());
    let started = Instant::now();
    assert_eq!(fetcher.get(&format!("{base}/silent"), Want::Page).await.unwrap_err(), Refused::Timeout);
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());

    // Not admitted, the same server is inside like any loopback address: refused before
    // a request is sent.
    let before = asked.load(Ordering::SeqCst);
    let strict = Fetcher::new(Guard::default());
    assert!(matches!(strict.get(&format!("{base}/page"), Want::Page).await, Err(Refused::Address(..))));
    assert_eq!(asked.load(Ordering::SeqCst), before, "nothing was sent");
}

#[tokio::test]
async fn every_way_of_writing_an_inside_address_is_refused_before_any_request() {
    let fetcher = Fetcher::with_times(Guard::default(), Duration::from_secs(1), Duration::from_secs(2));
    for link in [
        "http://127.0.0.1/",
        "http://127.1/",
        "http://0x7f.0.0.1/",
        "http://0x7f000001/",
        "http://2130706433/",
        "http://0177.0.0.1/",
        "http://017700000001/",
        "http://0/",
        "http://0.0.0.0:8080/",
        "http://[::]/",
        "http://[::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://[::ffff:7f00:1]/",
        "http://[0:0:0:0:0:ffff:127.0.0.1]/",
        "http://[::127.0.0.1]/",
        "http://[64:ff9b::127.0.0.1]/",
        "http://[2002:7f00:1::]/",
        "https://169.254.169.254/latest/meta-data/",
        "http://[::ffff:169.254.169.254]/",
        "http://[fd00:ec2::254]/latest/meta-data/",
        "http://100.100.100.200/latest/meta-data/",
        "http://10.0.0.1/",
        "http://172.16.0.1/",
        "http://192.168.1.1/",
        "http://100.64.0.1/",
        "http://[fc00::1]/",
        "http://[fe80::1]/",
        "http://224.0.0.1/",
        "http://255.255.255.255/",
        "http://localhost/",
        "http://LOCALHOST:8080/",
    ] {
        let started = Instant::now();
        match fetcher.get(link, Want::Page).await {
            Err(Refused::Address(addr, why)) => assert!(!why.is_empty(), "{link} → {addr}"),
            other => panic!("{link}: {other:?}"),
        }
        assert!(started.elapsed() < Duration::from_millis(1500), "{link} answered at once");
    }
    for (link, refused) in [
        ("file:///etc/passwd", Refused::Scheme),
        ("gopher://127.0.0.1:70/", Refused::Scheme),
        ("ftp://example.com/", Refused::Scheme),
        ("http://user:secret@example.com/", Refused::Credentials),
    ] {
        assert_eq!(fetcher.get(link, Want::Page).await.unwrap_err(), refused, "{link}");
    }
}

async fn a_messages_first_link_gets_its_card_in_the_room_the_history_and_the_page(backend: &[(&str, &str)]) {
    let (site, _) = web_server().await;
    let admit = site.to_string();
    let server = TestServer::start_with(&[&[("PALAVER_PREVIEW_ADMIT", admit.as_str())], backend].concat());
    let (mut ann, mut bob) = (server.client().await, server.client().await);
    ann.hello(None, Some("Ann")).await;
    bob.hello(None, Some("Bob")).await;
    ann.join("links", None).await;
    bob.join("links", None).await;

    // Ann links to the page: everyone in the room is sent its card.
    let page = format!("http://{site}/page");
    ann.say("links", "l1", &format!("look: {page} and http://{site}/text")).await;
    let seq = bob.next_message().await.seq;
    let frame = bob.next_where(|m| matches!(m, ServerMsg::Preview { .. })).await;
    let ServerMsg::Preview { seq: carded, preview: Some(preview), .. } = frame else { panic!("{frame:?}") };
    assert_eq!(carded, seq);
    assert_eq!((preview.url.as_str(), preview.title.as_str()), (page.as_str(), "Palaver & friends"));
    assert_eq!((preview.description.as_str(), preview.site.as_str()), ("Chat that keeps every message.", "Palaver"));
    // Its picture is the server's own thumbnail: WebP, nothing of the photo's EXIF (where it
    // was taken), served as an image only.
    assert!(preview.image.starts_with("/previews/") && preview.image.ends_with(".webp"), "{}", preview.image);
    let served = server.get_response(&preview.image);
    assert_eq!(served.status, 200);
    assert_eq!(served.header("content-type").as_deref(), Some("image/webp"));
    assert_eq!(served.header("x-content-type-options").as_deref(), Some("nosniff"));
    assert_eq!(served.header("content-security-policy").as_deref(), Some("sandbox; default-src 'none'"));
    assert_eq!(&served.body[8..12], b"WEBP");
    for marker in [&b"GPS"[..], b"Exif", b"our office"] {
        assert!(!served.body.windows(marker.len()).any(|w| w == marker), "{marker:?} served");
    }
    assert_eq!(server.get_response("/previews/00000000000000000000000000000000.webp").status, 404);
    assert_eq!(server.get_response("/previews/..%2F..%2Fetc%2Fpasswd").status, 404);

    // It stays: in the history, and in the page without JavaScript.
    let (messages, ..) = bob.join("links", None).await;
    let kept = messages.iter().find(|m| m.seq == seq).and_then(|m| m.preview.as_deref());
    assert_eq!(kept.map(|p| p.title.as_str()), Some("Palaver & friends"));
    let (status, html) = server.get("/r/links");
    assert_eq!(status, 200);
    assert!(html.contains("data-testid=\"link-preview\""), "the card in the page");
    assert!(html.contains("Palaver &amp; friends"), "escaped as text");

    // A link inside gets no card; nor does a message whose link the guard refuses.
    ann.say("links", "l2", "see http://127.0.0.1:9/admin").await;
    let inside = bob.next_message().await.seq;
    let carded_inside = |m: &ServerMsg| matches!(m, ServerMsg::Preview { seq, .. } if *seq == inside);
    assert!(!bob.heard_within(Duration::from_millis(1500), carded_inside).await);

    // Its author takes a card away, for everyone and for good; nobody else may.
    ann.say("links", "l3", &format!("again {page}")).await;
    let third = bob.next_message().await.seq;
    bob.next_where(|m| matches!(m, ServerMsg::Preview { seq, preview: Some(_), .. } if *seq == third)).await;
    bob.send_msg(ClientMsg::HidePreview { room: room_id("links"), seq: third }).await;
    let refused = bob.next_where(|m| matches!(m, ServerMsg::Error { .. })).await;
    assert!(matches!(refused, ServerMsg::Error { reason: ErrorReason::NotYours, .. }), "{refused:?}");
    ann.send_msg(ClientMsg::HidePreview { room: room_id("links"), seq: third }).await;
    bob.next_where(|m| matches!(m, ServerMsg::Preview { seq, preview: None, .. } if *seq == third)).await;
    let (messages, ..) = bob.join("links", None).await;
    assert!(messages.iter().find(|m| m.seq == third).is_some_and(|m| m.preview.is_none()), "gone from the history");

    // An edit takes the card away with the text it was of.
    ann.send_msg(ClientMsg::Edit {
        room: room_id("links"),
        id: ClientMsgId("l1-edit".into()),
        target: seq,
        text: "never mind".into(),
    })
    .await;
    bob.next_where(|m| matches!(m, ServerMsg::Message(e) if e.target == Some(seq))).await;
    let (messages, ..) = bob.join("links", None).await;
    assert!(messages.iter().find(|m| m.seq == seq).is_some_and(|m| m.preview.is_none()), "no card after the edit");
    assert!(!server.get("/r/links").1.contains("data-testid=\"link-preview\""));

    // A page that names its oEmbed answer: the answer's title, author, provider and
    // thumbnail (the server's own), never its player. An answer inside is not fetched:
    // that page's own tags make its card.
    ann.say("links", "e1", &format!("http://{site}/watch")).await;
    let watched = bob.next_message().await.seq;
    let frame = bob.next_where(|m| matches!(m, ServerMsg::Preview { seq, .. } if *seq == watched)).await;
    let ServerMsg::Preview { preview: Some(embedded), .. } = frame else { panic!("{frame:?}") };
    assert_eq!(
        (embedded.title.as_str(), embedded.description.as_str(), embedded.site.as_str()),
        ("A talk about chat", "Ann Author", "Tube")
    );
    assert_eq!(server.get_response(&embedded.image).header("content-type").as_deref(), Some("image/webp"));
    ann.say("links", "e2", &format!("http://{site}/watch-inside")).await;
    let inside_answer = bob.next_message().await.seq;
    let frame = bob.next_where(|m| matches!(m, ServerMsg::Preview { seq, .. } if *seq == inside_answer)).await;
    let ServerMsg::Preview { preview: Some(plain), .. } = frame else { panic!("{frame:?}") };
    assert_eq!((plain.title.as_str(), plain.site.as_str()), ("Inside answer", "127.0.0.1"));
}

on_each_backend!(a_messages_first_link_gets_its_card_in_the_room_the_history_and_the_page);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_link_is_fetched_when_previews_are_off() {
    let (site, asked) = web_server().await;
    let admit = site.to_string();
    let server = TestServer::start_with(&[("PALAVER_PREVIEW_ADMIT", admit.as_str()), ("PALAVER_LINK_PREVIEWS", "off")]);
    let mut ann = server.client().await;
    ann.hello(None, Some("Ann")).await;
    ann.join("links", None).await;
    ann.say("links", "l1", &format!("http://{site}/page")).await;
    assert!(!ann.heard_within(Duration::from_millis(1500), |m| matches!(m, ServerMsg::Preview { .. })).await);
    assert_eq!(asked.load(Ordering::SeqCst), 0, "the site was never asked");
}
