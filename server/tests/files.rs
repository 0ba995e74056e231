//! Files over real sockets and HTTP, on SQLite with the files in a directory and on
//! PostgreSQL with them in a real S3-compatible object store (`s3s-fs`, which checks
//! every signature): uploads, their types told from their content, pictures re-encoded
//! without their metadata, the headers every file is served with, who may read a file,
//! a file claimed by one message only, the limits, a decompression bomb, and a deleted
//! message's files gone from storage; uploads never sent forgotten; two nodes sharing
//! PostgreSQL, Redis and the object store serving each other's files.

use crate::common;

use common::{photo_with_position, Client, TestServer};
use palaver_protocol::{Attachment, ClientMsg, ClientMsgId, ErrorReason, Hello, ServerMsg};
use std::path::PathBuf;
use std::time::{Duration, Instant};
use testkit::http::{exchange, get, Response};
use testkit::objects::ObjectStore;

const PASSWORD: &str = "correct horse battery";

/// Where a test's files end up, to look at them directly.
enum Kept {
    Dir(PathBuf),
    S3(ObjectStore),
}

impl Kept {
    fn has(&self, id: &str) -> bool {
        match self {
            Kept::Dir(dir) => dir.join(id).join("original").exists(),
            Kept::S3(store) => store.object_path(&format!("{id}/original")).exists(),
        }
    }
}

struct Workspace {
    server: TestServer,
    env: Vec<(String, String)>,
}

impl Workspace {
    fn start(settings: &[(String, String)]) -> Workspace {
        let limits = [("PALAVER_SIGN_UP", "open"), ("PALAVER_FILE_MAX_MB", "2"), ("PALAVER_UPLOAD_MB_PER_HOUR", "4")];
        let env: Vec<(String, String)> =
            limits.iter().map(|(k, v)| (k.to_string(), v.to_string())).chain(settings.iter().cloned()).collect();
        let pairs: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        Workspace { server: TestServer::start_with(&pairs), env }
    }

    fn cli(&self, args: &[&str]) {
        let env: Vec<(&str, &str)> = self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (code, _, err) = common::accounts::admin(self.server.data.path(), &env, args, "");
        assert_eq!(code, 0, "server admin {args:?}: {err}");
    }

    async fn member(&self, handle: &str) -> (String, Client) {
        let cookie = self.server.sign_up(handle, &handle.to_uppercase(), PASSWORD);
        let mut client = self.server.client_as(&cookie).await;
        client.send_msg(ClientMsg::Hello(Hello::Session)).await;
        client.next_where(|m| matches!(m, ServerMsg::Welcome { .. })).await;
        (cookie, client)
    }

    /// `POST /files` from the site's own page, as the person of `cookie`.
    fn upload(&self, cookie: &str, room: &str, name: &str, bytes: &[u8]) -> Response {
        let addr = &self.server.addr;
        let mut request = format!(
            "POST /files?room={room}&name={name} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\n\
             Cookie: palaver_session={cookie}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
            bytes.len()
        )
        .into_bytes();
        request.extend_from_slice(bytes);
        exchange(addr.parse().unwrap(), &request).unwrap()
    }

    fn uploaded(&self, cookie: &str, room: &str, name: &str, bytes: &[u8]) -> Attachment {
        let answer = self.upload(cookie, room, name, bytes);
        assert_eq!(answer.status, 201, "uploaded: {}", answer.text());
        serde_json::from_slice(&answer.body).unwrap()
    }

    /// `GET path` as the person of `cookie` (none: a visitor).
    fn fetch(&self, cookie: Option<&str>, path: &str) -> Response {
        let extra = cookie.map(|c| format!("Cookie: palaver_session={c}\r\n")).unwrap_or_default();
        get(self.server.addr.parse().unwrap(), path, &extra).unwrap()
    }
}

fn send(room: &str, id: &str, text: &str, files: &[&Attachment]) -> ClientMsg {
    ClientMsg::Send {
        room: common::room_id(room),
        id: ClientMsgId(id.into()),
        text: text.into(),
        reply_to: None,
        files: files.iter().map(|f| f.id.clone()).collect(),
    }
}

async fn refused(client: &mut Client) -> ErrorReason {
    match client.next_where(|m| matches!(m, ServerMsg::Error { .. })).await {
        ServerMsg::Error { reason, .. } => reason,
        _ => unreachable!(),
    }
}

async fn files_are_kept_served_and_removed_with_their_message(settings: Vec<(String, String)>, kept: Kept) {
    let w = Workspace::start(&settings);
    let kept = match kept {
        Kept::Dir(_) => Kept::Dir(w.server.data.path().join("files")),
        s3 => s3,
    };
    let (ann_cookie, mut ann) = w.member("ann").await;
    let (bob_cookie, mut bob) = w.member("bob").await;
    let (cy_cookie, _cy) = w.member("cy").await;
    w.cli(&["create-room", "--name", "plans", "--kind", "private", "--members", "ann,bob"]);
    ann.join("plans", None).await;
    bob.join("plans", None).await;

    // A photo with its position in it, and a text file named as if it were a picture.
    let photo = w.uploaded(&ann_cookie, "plans", "office.jpg", &photo_with_position());
    assert_eq!(
        (photo.mime.as_str(), photo.name.as_str(), photo.width, photo.height),
        ("image/jpeg", "office.jpg", 64, 32)
    );
    let notes_text = b"Agenda\n1. files\n2. <script>alert(1)</script>\n";
    let notes = w.uploaded(&ann_cookie, "plans", "notes.png", notes_text);
    assert_eq!((notes.mime.as_str(), notes.width), ("text/plain", 0), "told by its content, not its name");
    assert!(kept.has(&photo.id) && kept.has(&notes.id));

    // Before it is sent, a file is its uploader's alone.
    assert_eq!(w.fetch(Some(&ann_cookie), &format!("/files/{}", notes.id)).status, 200);
    assert_eq!(w.fetch(Some(&bob_cookie), &format!("/files/{}", notes.id)).status, 404);

    // Sent with a caption; everyone in the room sees the files, live and in history.
    ann.send_msg(send("plans", "m1", "the plan", &[&photo, &notes])).await;
    let seen = bob.next_message().await;
    assert_eq!(seen.files, vec![photo.clone(), notes.clone()]);
    let (history, ..) = bob.join("plans", None).await;
    assert_eq!(history.last().unwrap().files.len(), 2);
    // A message of files alone needs no text.
    let more = w.uploaded(&ann_cookie, "plans", "more.txt", b"more\n");
    ann.send_msg(send("plans", "m2", "", &[&more])).await;
    assert_eq!(bob.next_message().await.files, vec![more.clone()]);

    // A file goes with one message only, and only its uploader's, in its room.
    ann.send_msg(send("plans", "m3", "again", &[&photo])).await;
    assert_eq!(refused(&mut ann).await, ErrorReason::BadFile);
    let bobs = w.uploaded(&bob_cookie, "plans", "b.txt", b"bob\n");
    ann.send_msg(send("plans", "m4", "not mine", &[&bobs])).await;
    assert_eq!(refused(&mut ann).await, ErrorReason::BadFile);
    // Sent again after a reconnect (the same id), the message claims its files again.
    ann.send_msg(send("plans", "m2", "", &[&more])).await;
    assert!(matches!(
        ann.next_where(|m| matches!(m, ServerMsg::Ack { .. } | ServerMsg::Error { .. })).await,
        ServerMsg::Ack { .. }
    ));

    // The picture: only its re-encoded forms, inline, with nothing of the original's
    // metadata; every answer says it never runs.
    let large = w.fetch(Some(&bob_cookie), &format!("/files/{}", photo.id));
    assert_eq!(large.status, 200);
    assert_eq!(large.header("content-type").as_deref(), Some("image/webp"));
    assert!(large.body.starts_with(b"RIFF") && &large.body[8..12] == b"WEBP");
    assert!(!large.body.windows(3).any(|w| w == b"GPS") && !large.body.windows(4).any(|w| w == b"Exif"));
    assert!(large.header("content-disposition").unwrap().starts_with("inline;"));
    let small = w.fetch(Some(&bob_cookie), &format!("/files/{}/small", photo.id));
    assert_eq!((small.status, small.header("content-type").as_deref()), (200, Some("image/webp")));
    // Anything else is a download, whatever it holds.
    let file = w.fetch(Some(&bob_cookie), &format!("/files/{}", notes.id));
    assert_eq!(file.body, notes_text);
    assert_eq!(
        file.header("content-disposition").as_deref(),
        Some("attachment; filename=\"notes.png\"; filename*=UTF-8''notes.png")
    );
    for answer in [&large, &small, &file] {
        assert_eq!(answer.header("x-content-type-options").as_deref(), Some("nosniff"));
        assert_eq!(answer.header("content-security-policy").as_deref(), Some("sandbox; default-src 'none'"));
    }

    // Who may read the message may read its files; nobody else, and nothing tells
    // whether the file exists.
    assert_eq!(w.fetch(Some(&cy_cookie), &format!("/files/{}", photo.id)).status, 404);
    assert_eq!(w.fetch(None, &format!("/files/{}/small", photo.id)).status, 404);
    assert_eq!(w.fetch(Some(&bob_cookie), &format!("/files/{}", "0".repeat(32))).status, 404);
    assert_eq!(w.upload(&cy_cookie, "plans", "x.txt", b"x").status, 404, "no upload to a room one cannot read");

    // The page without JavaScript links the files.
    let page = w.fetch(Some(&bob_cookie), "/r/plans").text();
    assert!(page.contains(&format!("/files/{}", notes.id)) && page.contains(&format!("/files/{}/small", photo.id)));

    // Deleting the message removes its files, from storage too.
    let seq = seen.seq;
    ann.send_msg(ClientMsg::Delete { room: common::room_id("plans"), id: ClientMsgId("d1".into()), target: seq }).await;
    bob.next_where(|m| matches!(m, ServerMsg::Message(d) if d.target == Some(seq))).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while (kept.has(&photo.id) || kept.has(&notes.id)) && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!kept.has(&photo.id) && !kept.has(&notes.id), "removed from storage");
    assert!(kept.has(&more.id), "another message's file stays");
    assert_eq!(w.fetch(Some(&bob_cookie), &format!("/files/{}", photo.id)).status, 404);
    let (history, ..) = bob.join("plans", None).await;
    assert!(history.iter().find(|m| m.seq == seq).is_some_and(|m| m.deleted && m.files.is_empty()));

    // Limits: a file over the size (refused before its bytes are read), a decompression
    // bomb (refused at once), and the hour's total.
    let started = Instant::now();
    let too_big = w.upload(&ann_cookie, "plans", "big.bin", &vec![7u8; (2 << 20) + 1]);
    assert_eq!(too_big.status, 413, "{}", too_big.text());
    assert!(too_big.text().contains("at most 2 MB"));
    let bomb = w.upload(&ann_cookie, "plans", "bomb.png", &testkit::pictures::png_claiming(50_000, 50_000));
    assert_eq!(bomb.status, 422, "{}", bomb.text());
    assert!(bomb.text().contains("megapixels"), "{}", bomb.text());
    assert!(started.elapsed() < Duration::from_secs(3), "{:?}", started.elapsed());
    for n in 0..2 {
        w.uploaded(&bob_cookie, "plans", &format!("part{n}.bin"), &vec![n as u8; 3 << 19]);
    }
    let over = w.upload(&bob_cookie, "plans", "part2.bin", &vec![9u8; 3 << 19]);
    assert_eq!(over.status, 429, "{}", over.text());
    assert!(over.text().contains("4 MB an hour"));
    // Without a session, or from another site, nothing is kept.
    let addr = &w.server.addr;
    let stranger = format!(
        "POST /files?room=plans&name=a.txt HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://elsewhere.example\r\n\
         Cookie: palaver_session={ann_cookie}\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx"
    );
    assert_eq!(exchange(addr.parse().unwrap(), stranger.as_bytes()).unwrap().status, 403);
    assert_eq!(w.upload("nobody", "plans", "a.txt", b"x").status, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_sqlite_files_are_kept_in_a_directory_served_and_removed() {
    files_are_kept_served_and_removed_with_their_message(Vec::new(), Kept::Dir(PathBuf::new())).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_files_are_kept_in_an_object_store_served_and_removed() {
    let (_pg, url) = common::backends::postgres();
    let store = ObjectStore::start(Duration::from_secs(300)).expect("s3s-fs (scripts/setup.sh installs it)");
    let mut settings = store.settings();
    settings.push(("PALAVER_DATABASE_URL".into(), url));
    files_are_kept_served_and_removed_with_their_message(settings, Kept::S3(store)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_links_hand_out_a_file_only_after_the_check() {
    let store = ObjectStore::start(Duration::from_secs(120)).expect("s3s-fs (scripts/setup.sh installs it)");
    let mut settings = store.settings();
    settings.push(("PALAVER_FILE_LINKS".into(), "signed".into()));
    let w = Workspace::start(&settings);
    let (ann_cookie, mut ann) = w.member("ann").await;
    let (cy_cookie, _cy) = w.member("cy").await;
    w.cli(&["create-room", "--name", "plans", "--kind", "private", "--members", "ann"]);
    ann.join("plans", None).await;
    let notes = w.uploaded(&ann_cookie, "plans", "notes.txt", b"the plan\n");
    ann.send_msg(send("plans", "m1", "", &[&notes])).await;
    ann.next_where(|m| matches!(m, ServerMsg::Ack { .. })).await;
    assert_eq!(w.fetch(Some(&cy_cookie), &format!("/files/{}", notes.id)).status, 404);
    let redirect = w.fetch(Some(&ann_cookie), &format!("/files/{}", notes.id));
    assert_eq!(redirect.status, 307);
    let location = redirect.header("location").unwrap();
    let link = url::Url::parse(&location).unwrap();
    assert!(link.query().unwrap_or_default().contains("X-Amz-Signature"), "{location}");
    let addr = format!("{}:{}", link.host_str().unwrap(), link.port().unwrap()).parse().unwrap();
    let path = &location[location.find(link.path()).unwrap()..];
    let file = get(addr, path, "").unwrap();
    assert_eq!((file.status, file.body.as_slice()), (200, b"the plan\n".as_slice()), "{}", file.text());
    assert!(file.header("content-disposition").unwrap().starts_with("attachment;"));
}

/// Uploads no message took are forgotten after a day, on both stores; sent ones stay.
async fn uploads_never_sent_are_forgotten(store: &dyn server::store::Store) {
    use server::store::files::StoredFile;
    let file = |id: &str, created: i64| StoredFile {
        file: Attachment {
            id: id.repeat(32),
            name: "a.txt".into(),
            size: 1,
            mime: "text/plain".into(),
            width: 0,
            height: 0,
        },
        owner: palaver_protocol::UserId("u1".into()),
        room: common::room_id("r"),
        message: None,
        created,
    };
    let now = server::store::now_ms();
    for (id, created) in
        [("a", now - 2 * server::files::UNSENT_KEPT_MS), ("b", now - 2 * server::files::UNSENT_KEPT_MS), ("c", now)]
    {
        store.add_file(&file(id, created)).await.unwrap();
    }
    let owner = palaver_protocol::UserId("u1".into());
    let claimed = store.claim_files(&common::room_id("r"), &owner, &ClientMsgId("m".into()), &["b".repeat(32)]).await;
    assert!(claimed.unwrap().is_some());
    let gone = store.drop_unsent(now - server::files::UNSENT_KEPT_MS).await.unwrap();
    assert_eq!(gone, vec!["a".repeat(32)], "the old unsent one only");
    assert!(store.file(&"a".repeat(32)).await.unwrap().is_none());
    assert!(
        store.file(&"b".repeat(32)).await.unwrap().is_some() && store.file(&"c".repeat(32)).await.unwrap().is_some()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn uploads_never_sent_are_forgotten_on_both_stores() {
    let dir = tempfile::tempdir().unwrap();
    uploads_never_sent_are_forgotten(&server::store::sqlite::SqliteStore::open(dir.path()).unwrap()).await;
    let (_pg, url) = common::backends::postgres();
    uploads_never_sent_are_forgotten(&server::store::postgres::PostgresStore::open(&url).await.unwrap()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_sharing_an_object_store_serve_each_others_files() {
    let (_pg, url) = common::backends::postgres();
    let redis =
        testkit::services::Redis::start(Duration::from_secs(300)).expect("Redis (scripts/setup.sh installs it)");
    let store = ObjectStore::start(Duration::from_secs(300)).expect("s3s-fs (scripts/setup.sh installs it)");
    let mut env = store.settings();
    env.push(("PALAVER_DATABASE_URL".into(), url));
    env.push(("PALAVER_REDIS_URL".into(), redis.url()));
    let nodes: Vec<Workspace> = (0..2).map(|_| Workspace::start(&env)).collect();
    let mut ann = nodes[0].server.named("Ann").await;
    ann.join("shared", None).await;
    let mut bob = nodes[1].server.named("Bob").await;
    bob.join("shared", None).await;
    let bytes = b"kept where every node finds it\n";
    let file = nodes[0].uploaded(&ann.token(), "shared", "where.txt", bytes);
    ann.send_msg(send("shared", "m1", "on node 0", &[&file])).await;
    let seen = bob.next_message().await;
    assert_eq!(seen.files, vec![file.clone()], "the message and its file, through the other node");
    let served = nodes[1].fetch(Some(&bob.token()), &format!("/files/{}", file.id));
    assert_eq!(
        (served.status, served.body.as_slice()),
        (200, bytes.as_slice()),
        "served by the node that did not take it"
    );
    ann.send_msg(ClientMsg::Delete { room: common::room_id("shared"), id: ClientMsgId("d1".into()), target: seen.seq })
        .await;
    bob.next_where(|m| matches!(m, ServerMsg::Message(d) if d.target == Some(seen.seq))).await;
    let deadline = Instant::now() + Duration::from_secs(5);
    while store.object_path(&format!("{}/original", file.id)).exists() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!store.object_path(&format!("{}/original", file.id)).exists(), "gone from the bucket");
    assert_eq!(nodes[1].fetch(Some(&bob.token()), &format!("/files/{}", file.id)).status, 404);
}
