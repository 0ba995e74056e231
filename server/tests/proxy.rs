//! The nginx configuration of docs/DEPLOY.md (docs/nginx.conf), run for real: Debian's
//! nginx with TLS on a port other than 443, in front of two nodes sharing a real
//! PostgreSQL and Redis, reached as a browser reaches it (its host name and port in
//! `Host`, its page's origin in `Origin`).

use crate::common;

use common::{Client, TestServer};
use std::{net::SocketAddr, sync::Arc, time::Duration};
use testkit::{
    nginx::{self_signed, Nginx},
    services::{free_port, Postgres, Redis},
};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpListener, TcpStream},
};
use tokio_rustls::{
    rustls::{self, pki_types::ServerName},
    TlsConnector,
};
use tokio_tungstenite::{tungstenite::client::IntoClientRequest, MaybeTlsStream};

/// The longest the services of the test may live.
const LIFETIME: Duration = Duration::from_secs(300);
/// The site's name, as in docs/nginx.conf.
const SITE: &str = "chat.example.com";

/// docs/nginx.conf with only its example values changed: the nodes, the port, the
/// certificate. Each must still be there, so the file cannot drift from what is tested.
fn documented_config(nodes: [&str; 2], port: u16, cert: &testkit::nginx::Certificate) -> String {
    let mut config = include_str!("../../docs/nginx.conf").to_owned();
    let (cert_pem, key_pem) = (cert.cert_pem.display().to_string(), cert.key_pem.display().to_string());
    for (example, ours) in [
        ("server 10.0.0.11:3000", format!("server {}", nodes[0])),
        ("server 10.0.0.12:3000", format!("server {}", nodes[1])),
        ("listen 443 ssl http2;", format!("listen 127.0.0.1:{port} ssl http2;")),
        // The test machine may have no IPv6.
        ("listen [::]:443 ssl http2;", String::new()),
        ("/etc/ssl/certs/chat.example.com.pem", cert_pem),
        ("/etc/ssl/private/chat.example.com.key", key_pem),
    ] {
        assert_eq!(config.matches(example).count(), 1, "docs/nginx.conf no longer has {example:?}");
        config = config.replace(example, &ours);
    }
    config
}

/// A TLS client that trusts only the test's certificate.
fn tls(cert_der: &[u8]) -> TlsConnector {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert_der.to_vec().into()).expect("the test's certificate");
    // ring, the one provider compiled in.
    let config = rustls::ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    TlsConnector::from(Arc::new(config))
}

/// A loopback port whose connections are carried over TLS to `nginx`, as a browser's
/// are: the test's WebSocket clients speak through it.
async fn tls_tunnel(connector: TlsConnector, nginx: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut plain, _)) = listener.accept().await {
            let connector = connector.clone();
            tokio::spawn(async move {
                let tcp = TcpStream::connect(nginx).await?;
                let mut secure = connector.connect(ServerName::try_from(SITE).unwrap(), tcp).await?;
                tokio::io::copy_bidirectional(&mut plain, &mut secure).await
            });
        }
    });
    addr
}

/// A chat socket through `tunnel`, opened as the site's page opens one.
async fn browser_socket(tunnel: SocketAddr, port: u16) -> Client {
    let mut request = format!("ws://{SITE}:{port}/ws").into_client_request().unwrap();
    request.headers_mut().insert("origin", format!("https://{SITE}:{port}").parse().unwrap());
    let stream = TcpStream::connect(tunnel).await.unwrap();
    let (ws, _) =
        tokio::time::timeout(common::WAIT, tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream)))
            .await
            .expect("upgraded in time")
            .expect("the socket is let through nginx to a node");
    Client { ws, welcome: None }
}

/// The next message on `client`'s rooms: (author, text).
async fn next_said(client: &mut Client) -> (String, String) {
    let message = client.next_message().await;
    (message.author.name, message.text)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_documented_nginx_config_serves_pages_and_sockets_over_tls_on_any_port() {
    let pg = Postgres::start(LIFETIME).expect("PostgreSQL (scripts/setup.sh installs it)");
    pg.create_database("palaver").unwrap();
    let redis = Redis::start(LIFETIME).expect("Redis (scripts/setup.sh installs it)");
    let (db, bus) = (pg.url("palaver"), redis.url());
    let nodes: Vec<TestServer> = (0..2)
        .map(|_| {
            let env = [
                ("PALAVER_DATABASE_URL", db.as_str()),
                ("PALAVER_REDIS_URL", bus.as_str()),
                ("PALAVER_ALLOWED_HOSTS", SITE),
                ("PALAVER_TRUSTED_PROXIES", "127.0.0.1"),
                // Every client comes through nginx: the proxy's connections are not counted.
                ("PALAVER_MAX_HTTP_CONNECTIONS_PER_IP", "1"),
            ];
            TestServer::binary_in(Arc::new(tempfile::tempdir().unwrap()), &env)
        })
        .collect();

    let certs = tempfile::tempdir().unwrap();
    let cert = self_signed(certs.path(), SITE).expect("openssl (scripts/setup.sh installs it)");
    let port = free_port();
    let config = documented_config([&nodes[0].addr, &nodes[1].addr], port, &cert);
    let nginx = Nginx::start(&config, port, LIFETIME).expect("nginx (scripts/setup.sh installs it)");
    let nginx_addr: SocketAddr = ([127, 0, 0, 1], nginx.port()).into();
    let connector = tls(&cert.cert_der);

    // A page, over TLS, for the site's name on this port.
    let tcp = TcpStream::connect(nginx_addr).await.unwrap();
    let mut secure = connector.connect(ServerName::try_from(SITE).unwrap(), tcp).await.expect("a TLS handshake");
    let request = format!("GET /r/proxied HTTP/1.1\r\nHost: {SITE}:{port}\r\nConnection: close\r\n\r\n");
    secure.write_all(request.as_bytes()).await.unwrap();
    let mut page = Vec::new();
    let _ = tokio::time::timeout(common::WAIT, secure.read_to_end(&mut page)).await.expect("the page in time");
    let page = testkit::http::Response::parse(&page);
    assert_eq!(page.status, 200, "{}\nnginx: {}", page.head, nginx.error_log());
    assert!(page.text().contains("Palaver"), "the chat page");

    // Two browsers' sockets through nginx, and a reader on each node directly: whichever
    // node nginx chose, a message crosses to the other.
    let tunnel = tls_tunnel(connector, nginx_addr).await;
    let mut ann = browser_socket(tunnel, port).await;
    ann.hello(None, Some("Ann")).await;
    ann.join("proxied", None).await;

    // A file larger than nginx's default body (1 MB) goes through to a node, as the
    // page uploads one: the documented `client_max_body_size`.
    let tcp = TcpStream::connect(nginx_addr).await.unwrap();
    let mut secure = tls(&cert.cert_der).connect(ServerName::try_from(SITE).unwrap(), tcp).await.unwrap();
    let body = vec![b'x'; 3 << 20];
    let head = format!(
        "POST /files?room=proxied&name=big.txt HTTP/1.1\r\nHost: {SITE}:{port}\r\nOrigin: https://{SITE}:{port}\r\n\
         Cookie: palaver_session={}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        ann.token(),
        body.len()
    );
    secure.write_all(head.as_bytes()).await.unwrap();
    secure.write_all(&body).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(common::WAIT, secure.read_to_end(&mut answer)).await.expect("the answer in time");
    let answer = testkit::http::Response::parse(&answer);
    assert_eq!(answer.status, 201, "{}{}\nnginx: {}", answer.head, answer.text(), nginx.error_log());
    let mut bob = browser_socket(tunnel, port).await;
    bob.hello(None, Some("Bob")).await;
    bob.join("proxied", None).await;
    let mut readers = Vec::new();
    for node in &nodes {
        let mut reader = node.named("Reader").await;
        reader.join("proxied", None).await;
        readers.push(reader);
    }
    ann.say("proxied", "a1", "hello through nginx").await;
    let said = ("Ann".to_owned(), "hello through nginx".to_owned());
    for (n, reader) in readers.iter_mut().enumerate() {
        assert_eq!(next_said(reader).await, said, "the reader on node {n}");
    }
    assert_eq!(next_said(&mut bob).await, said);
    assert_eq!(next_said(&mut ann).await, said, "her own, as everyone's");
    bob.say("proxied", "b1", "and back").await;
    assert_eq!(next_said(&mut ann).await, ("Bob".to_owned(), "and back".to_owned()));

    // Why the config passes `$http_host`: a Host without the port (what `$host` would
    // pass on) does not match the page's origin, and the socket is refused.
    let upgrade = format!(
        "GET /ws HTTP/1.1\r\nHost: {SITE}\r\nOrigin: https://{SITE}:{port}\r\nConnection: Upgrade\r\n\
         Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
    );
    let refused = testkit::http::exchange(nodes[0].addr.parse().unwrap(), upgrade.as_bytes()).unwrap();
    assert_eq!(refused.status, 403, "{}", refused.head);
}
