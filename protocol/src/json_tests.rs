//! The plain JSON reader and writer of [`crate::json`] held to serde's: generated frames
//! written by one are read the same by the other, and any text either reads is read the
//! same by both (or refused by both).

use super::json::{self, Json};
use super::*;
use proptest::prelude::*;

fn config() -> ProptestConfig {
    ProptestConfig { cases: 1_000, failure_persistence: None, ..ProptestConfig::default() }
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("quote \" backslash \\ slash / \u{0} \u{1f} \u{7f} \u{2028} é 한국어 😀".to_owned()),
        any::<String>(),
    ]
}

fn room() -> impl Strategy<Value = RoomId> {
    "[a-z0-9_-]{1,12}".prop_map(|r| RoomId::parse(&r).unwrap())
}

fn user() -> impl Strategy<Value = User> {
    (text(), text()).prop_map(|(id, name)| User { id: UserId(id), name, handle: None })
}

fn seq() -> impl Strategy<Value = Seq> {
    prop_oneof![Just(0), Just(u64::MAX), any::<u64>()]
}

fn message() -> impl Strategy<Value = ChatMessage> {
    let quote = proptest::option::of((text(), text(), any::<bool>()).prop_map(|(author, text, deleted)| Quote {
        author,
        text,
        deleted,
    }));
    let reactions = proptest::collection::vec((text(), proptest::collection::vec(user(), 0..3)), 0..3)
        .prop_map(|rs| rs.into_iter().map(|(emoji, by)| Reaction { emoji, by }).collect::<Vec<_>>());
    (
        (room(), seq(), text(), user(), prop::sample::select(MessageKind::ALL.to_vec()), text()),
        (any::<i64>(), proptest::option::of(seq()), any::<bool>(), any::<bool>(), quote, reactions),
        (proptest::collection::vec(user(), 0..3), any::<bool>(), proptest::option::of(preview())),
    )
        .prop_map(
            |(
                (room, seq, id, author, kind, text),
                (sent_at, target, edited, deleted, quote, reactions),
                (mentions, removed, preview),
            )| {
                ChatMessage {
                    room,
                    seq,
                    id: ClientMsgId(id),
                    author,
                    kind,
                    text,
                    sent_at,
                    target,
                    edited,
                    deleted,
                    removed,
                    quote,
                    reactions,
                    mentions,
                    preview: preview.map(Box::new),
                    files: vec![Attachment {
                        id: "f".repeat(32),
                        name: "a \"b\".png".into(),
                        size: 9,
                        mime: "image/png".into(),
                        width: 3,
                        height: 0,
                    }],
                }
            },
        )
}

fn preview() -> impl Strategy<Value = LinkPreview> {
    (text(), text(), text(), text(), text()).prop_map(|(url, title, description, site, image)| LinkPreview {
        url,
        title,
        description,
        site,
        image,
    })
}

fn server_msg() -> impl Strategy<Value = ServerMsg> {
    let messages = || proptest::collection::vec(message(), 0..3);
    let people = || proptest::collection::vec(user(), 0..3);
    prop_oneof![
        (user(), text()).prop_map(|(user, token)| ServerMsg::Welcome { user, token }),
        (room(), messages(), any::<bool>(), any::<bool>(), people()).prop_map(
            |(room, messages, complete, has_older, online)| ServerMsg::Joined {
                room,
                messages,
                complete,
                has_older,
                online
            }
        ),
        message().prop_map(ServerMsg::Message),
        message().prop_map(ServerMsg::Notification),
        (room(), text(), seq()).prop_map(|(room, id, seq)| ServerMsg::Ack { room, id: ClientMsgId(id), seq }),
        (room(), messages(), any::<bool>()).prop_map(|(room, messages, has_older)| ServerMsg::Older {
            room,
            messages,
            has_older
        }),
        (room(), seq(), messages(), any::<bool>()).prop_map(|(room, seq, messages, has_older)| ServerMsg::Around {
            room,
            seq,
            messages,
            has_older
        }),
        (
            text(),
            proptest::collection::vec((message(), proptest::collection::vec(any::<[u32; 2]>(), 0..3)), 0..3),
            proptest::option::of(any::<u64>())
        )
            .prop_map(|(query, hits, next)| ServerMsg::Results {
                query,
                hits: hits.into_iter().map(|(message, marks)| SearchHit { message, marks }).collect(),
                next
            }),
        (room(), people()).prop_map(|(room, online)| ServerMsg::Presence { room, online }),
        (room(), seq(), proptest::option::of(preview())).prop_map(|(room, seq, preview)| ServerMsg::Preview {
            room,
            seq,
            preview
        }),
        (room(), any::<u32>()).prop_map(|(room, more)| ServerMsg::Crowd { room, more }),
        (room(), user()).prop_map(|(room, user)| ServerMsg::Arrived { room, user }),
        (room(), user()).prop_map(|(room, user)| ServerMsg::Departed { room, user }),
        (room(), user()).prop_map(|(room, user)| ServerMsg::Typing { room, user }),
        proptest::collection::vec((room(), any::<usize>()), 0..3).prop_map(|rs| ServerMsg::Rooms {
            rooms: rs.into_iter().map(|(room, online)| RoomSummary { room, online }).collect()
        }),
        (
            proptest::collection::vec(
                (
                    room(),
                    proptest::option::of(seq()),
                    any::<u32>(),
                    any::<u32>(),
                    proptest::option::of(seq()),
                    prop::sample::select(Level::ALL.to_vec())
                ),
                0..3
            ),
            any::<bool>(),
            proptest::collection::vec(room(), 0..3)
        )
            .prop_map(|(rs, all, left)| ServerMsg::Unread {
                all,
                left,
                rooms: rs
                    .into_iter()
                    .map(|(room, read, unread, mentions, first, level)| RoomUnread {
                        room,
                        read,
                        unread,
                        mentions,
                        first,
                        level
                    })
                    .collect()
            }),
        proptest::collection::vec((room(), text(), text()), 0..3).prop_map(|rs| ServerMsg::About {
            rooms: rs.into_iter().map(|(room, title, topic)| RoomAbout { room, title, topic }).collect()
        }),
        (
            prop::sample::select(ErrorReason::ALL.to_vec()),
            text(),
            proptest::option::of(text()),
            proptest::option::of(room()),
            proptest::option::of(any::<u64>())
        )
            .prop_map(|(reason, detail, id, room, retry_after_ms)| ServerMsg::Error {
                reason,
                detail,
                id: id.map(ClientMsgId),
                room,
                retry_after_ms
            }),
    ]
}

fn client_msg() -> impl Strategy<Value = ClientMsg> {
    prop_oneof![
        (proptest::option::of(text()), proptest::option::of(text()))
            .prop_filter_map("hello needs something", |(t, n)| Hello::from_parts(t, n).map(ClientMsg::Hello)),
        (room(), proptest::option::of(seq())).prop_map(|(room, after)| ClientMsg::Join { room, after }),
        room().prop_map(|room| ClientMsg::Leave { room }),
        (room(), text(), text(), proptest::option::of(seq())).prop_map(|(room, id, text, reply_to)| {
            ClientMsg::Send { room, id: ClientMsgId(id), text, reply_to, files: Vec::new() }
        }),
        (room(), text(), seq(), text()).prop_map(|(room, id, target, text)| ClientMsg::Edit {
            room,
            id: ClientMsgId(id),
            target,
            text
        }),
        (room(), text(), seq()).prop_map(|(room, id, target)| ClientMsg::Delete { room, id: ClientMsgId(id), target }),
        (room(), text(), seq(), text(), any::<bool>()).prop_map(|(room, id, target, emoji, remove)| {
            ClientMsg::React { room, id: ClientMsgId(id), target, emoji, remove }
        }),
        room().prop_map(|room| ClientMsg::Typing { room }),
        (room(), seq()).prop_map(|(room, before)| ClientMsg::History { room, before }),
        (room(), seq()).prop_map(|(room, seq)| ClientMsg::Around { room, seq }),
        (text(), proptest::option::of(any::<u64>())).prop_map(|(query, before)| ClientMsg::Search { query, before }),
        (room(), seq()).prop_map(|(room, seq)| ClientMsg::Read { room, seq }),
        Just(ClientMsg::Unread),
        room().prop_map(|room| ClientMsg::Forget { room }),
        (room(), prop::sample::select(Level::ALL.to_vec())).prop_map(|(room, level)| ClientMsg::Notify { room, level }),
    ]
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn server_frames_serde_writes_read_the_same(msg in server_msg()) {
        let wire = serde_json::to_string(&msg).unwrap();
        prop_assert_eq!(ServerMsg::decode(&wire).unwrap(), msg);
    }

    #[test]
    fn client_frames_are_written_as_serde_writes_them(msg in client_msg()) {
        prop_assert_eq!(msg.encode(), serde_json::to_string(&msg).unwrap());
    }

    #[test]
    fn any_text_is_read_as_serde_reads_it(text in "[\\[\\]{}\",:0-9a-z\\\\ .e+-]{0,40}|\\PC{0,40}") {
        let ours = Json::parse(&text).ok();
        let theirs = serde_json::from_str::<serde_json::Value>(&text).ok();
        // Numbers with fractions are refused here (no frame has one); all else agrees.
        if let Some(theirs) = theirs.filter(|v| !has_fraction(v)) {
            prop_assert!(ours.is_some(), "serde reads {:?}: {:?}", text, theirs);
            prop_assert_eq!(ours.map(|v| to_serde(&v)), Some(theirs));
        } else {
            prop_assert!(ours.is_none() || serde_json::from_str::<serde_json::Value>(&text).is_ok(), "{:?}", text);
        }
    }
}

fn has_fraction(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Number(n) => n.is_f64(),
        serde_json::Value::Array(items) => items.iter().any(has_fraction),
        serde_json::Value::Object(fields) => fields.values().any(has_fraction),
        _ => false,
    }
}

fn to_serde(value: &Json) -> serde_json::Value {
    match value {
        Json::Null => serde_json::Value::Null,
        Json::Bool(b) => (*b).into(),
        Json::Int(n) => serde_json::from_str(&n.to_string()).unwrap(),
        Json::Str(s) => s.clone().into(),
        Json::Arr(items) => items.iter().map(to_serde).collect(),
        Json::Obj(fields) => {
            let mut map = serde_json::Map::new();
            for (k, v) in fields {
                map.insert(k.clone(), to_serde(v));
            }
            serde_json::Value::Object(map)
        }
    }
}

#[test]
fn names_on_the_wire_are_serdes() {
    for kind in MessageKind::ALL {
        assert_eq!(serde_json::to_string(&kind).unwrap(), format!("\"{}\"", kind.name()));
        assert_eq!(MessageKind::named(kind.name()), Some(kind));
    }
    for reason in ErrorReason::ALL {
        assert_eq!(serde_json::to_string(&reason).unwrap(), format!("\"{}\"", reason.name()));
        assert_eq!(ErrorReason::named(reason.name()), Some(reason));
    }
}

#[test]
fn hostile_json_is_refused_not_followed() {
    let deep = "[".repeat(100_000);
    assert_eq!(Json::parse(&deep).unwrap_err().what, "nested too deep");
    for bad in ["", "{", "[1,]", "{\"a\" 1}", "\"\\ud800\"", "\"\\x\"", "01", "1.5", "1e3", "\"a\nb\"", "nul", "[] []"]
    {
        assert!(Json::parse(bad).is_err(), "{bad:?}");
    }
    assert!(ServerMsg::decode(r#"{"type":"ack","room":"lobby","id":"x","seq":-1}"#).is_err());
    assert!(ServerMsg::decode(r#"{"type":"message","room":"Bad Room"}"#).is_err());
    assert_eq!(
        Json::parse(r#" {"a": ["\u00e9\ud83d\ude00", -3, true, null]} "#).unwrap(),
        Json::Obj(vec![(
            "a".into(),
            Json::Arr(vec![Json::Str("é😀".into()), Json::Int(-3), Json::Bool(true), Json::Null])
        )])
    );
    let _ = json::MAX_DEPTH;
}
