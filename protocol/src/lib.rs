//! The wire protocol: every frame the browser and the server exchange over the chat
//! WebSocket, the limits on them, and the validation both sides share.
//!
//! Frames are JSON text frames tagged by a `type` field; `docs/PROTOCOL.md` is the
//! reference with examples. A crate of its own, so that everything that speaks to a
//! Palaver server (the page, the server, the load tester) uses
//! the same frames without building the page.
//!
//! One module per concern, each depending only on those listed before it: `limits`,
//! `close` (the close table), `ids` (message numbers, ids, rooms, people and their
//! names), `message` (what a message carries), `rooms` (the room list's entries, unread
//! counts, notification levels), `reconnect` (when a client tries again), `error` (why
//! a frame is refused), `client` and `server` (the frames each side sends, and how a
//! client's is checked) and `json` (the page's plain JSON for both). Everything but
//! `json` is used from the crate's root.

mod client;
mod close;
mod error;
mod ids;
pub mod json;
mod limits;
mod message;
mod reconnect;
mod rooms;
mod server;

pub use client::{has_control, is_file_id, validate_text, ClientMsg, Hello, FRAME_TYPES};
pub use close::Close;
pub use error::{ErrorReason, FrameError};
pub use ids::{validate_name, ClientMsgId, Invalid, RoomId, Seq, User, UserId, MAX_SEQ};
pub use limits::{
    DEFAULT_ROOM, HISTORY_PAGE, MAX_CLIENT_MSG_ID_BYTES, MAX_FILES, MAX_FILE_NAME_CHARS, MAX_FRAME_BYTES,
    MAX_NAME_CHARS, MAX_QUERY_CHARS, MAX_REACTIONS, MAX_REPLAY, MAX_ROOM_CHARS, MAX_TEXT_CHARS, QUOTE_CHARS,
    RATE_BURST, RATE_PER_SEC, REACTIONS, SEARCH_PAGE,
};
pub use message::{
    find_mentions, is_word, percent_encode, toggle_reaction, Attachment, ChatMessage, HistoryPage, LinkPreview,
    MessageKind, Quote, Reaction,
};
pub use reconnect::{backoff, FIRST_RETRY_MS, MAX_RETRY_MS};
pub use rooms::{Level, RoomAbout, RoomListing, RoomSummary, RoomUnread};
pub use server::{SearchHit, ServerMsg};

/// Properties of the decoder over generated frames (a fuzz target; see docs/SECURITY.md).
#[cfg(test)]
mod fuzz;

/// The plain JSON of the page against serde's.
#[cfg(test)]
mod json_tests;

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> ClientMsgId {
        ClientMsgId(s.into())
    }

    fn lobby() -> RoomId {
        RoomId::lobby()
    }

    fn send(text: &str) -> String {
        serde_json::json!({"type": "send", "room": "lobby", "id": "m1", "text": text}).to_string()
    }

    fn alice() -> User {
        User { id: UserId("u1".into()), name: "Alice".into(), handle: None }
    }

    #[test]
    fn send_round_trips_with_its_wire_shape() {
        let msg =
            ClientMsg::Send { room: lobby(), id: id("a1"), text: "hello".into(), reply_to: None, files: Vec::new() };
        let wire = msg.encode();
        assert_eq!(wire, r#"{"type":"send","room":"lobby","id":"a1","text":"hello"}"#);
        assert_eq!(ClientMsg::decode(&wire).unwrap(), msg);
    }

    #[test]
    fn every_client_frame_round_trips() {
        let frames = [
            ClientMsg::Hello(Hello::Token("t".into())),
            ClientMsg::Hello(Hello::Name("Ann".into())),
            ClientMsg::Hello(Hello::Rename { token: "t".into(), name: "Ann".into() }),
            ClientMsg::Join { room: lobby(), after: Some(3) },
            ClientMsg::Join { room: lobby(), after: None },
            ClientMsg::Leave { room: lobby() },
            ClientMsg::Typing { room: lobby() },
            ClientMsg::History { room: lobby(), before: 51 },
            ClientMsg::Around { room: lobby(), seq: 7 },
            ClientMsg::Send { room: lobby(), id: id("r"), text: "yes".into(), reply_to: Some(3), files: Vec::new() },
            ClientMsg::React { room: lobby(), id: id("x"), target: 3, emoji: "👍".into(), remove: false },
            ClientMsg::React { room: lobby(), id: id("y"), target: 3, emoji: "🎉".into(), remove: true },
        ];
        for frame in frames {
            assert_eq!(ClientMsg::decode(&frame.encode()).unwrap(), frame);
        }
    }

    #[test]
    fn hello_keeps_its_wire_shape() {
        let rename = ClientMsg::Hello(Hello::Rename { token: "t".into(), name: "Ann".into() });
        assert_eq!(rename.encode(), r#"{"type":"hello","token":"t","name":"Ann"}"#);
        assert_eq!(ClientMsg::Hello(Hello::Token("t".into())).encode(), r#"{"type":"hello","token":"t"}"#);
        assert_eq!(ClientMsg::Hello(Hello::Name("Ann".into())).encode(), r#"{"type":"hello","name":"Ann"}"#);
        let named = ClientMsg::decode(r#"{"type":"hello","name":"  Ann ","token":null}"#).unwrap();
        assert_eq!(named, ClientMsg::Hello(Hello::Name("Ann".into())), "names are trimmed as they are read");
    }

    #[test]
    fn every_close_is_listed_in_the_protocol_reference_with_its_reason() {
        let reference = include_str!("../../docs/PROTOCOL.md");
        for close in Close::ALL {
            let row = format!("| {} | `{}` |", close.code(), close.reason());
            assert!(reference.contains(&row), "docs/PROTOCOL.md lacks {row}");
            assert_eq!(Close::from_code(close.code()), Some(close));
        }
        assert_eq!(Close::from_code(1000), None);
        for emoji in REACTIONS {
            assert!(reference.contains(emoji), "docs/PROTOCOL.md lacks the reaction {emoji}");
        }
    }

    #[test]
    fn server_frames_round_trip() {
        let message = ChatMessage {
            room: lobby(),
            seq: 7,
            id: id("x"),
            author: alice(),
            kind: MessageKind::Text,
            text: "<b>hi</b> ünï".into(),
            sent_at: 1_700_000_000_000,
            target: Some(2),
            edited: false,
            deleted: false,
            removed: false,
            quote: Some(Quote::of("Bob", "the question", false)),
            reactions: vec![Reaction { emoji: "👍".into(), by: vec![alice()] }],
            mentions: vec![alice()],
            preview: Some(Box::new(LinkPreview {
                url: "https://example.com/a?b=\"c\"".into(),
                title: "A <title>".into(),
                description: String::new(),
                site: "example.com".into(),
                image: "/previews/0123.webp".into(),
            })),
            files: vec![
                Attachment {
                    id: "a".repeat(32),
                    name: "the \"plan\".pdf".into(),
                    size: 123_456,
                    mime: "application/pdf".into(),
                    width: 0,
                    height: 0,
                },
                Attachment {
                    id: "b".repeat(32),
                    name: "cat.png".into(),
                    size: 9,
                    mime: "image/png".into(),
                    width: 400,
                    height: 300,
                },
            ],
        };
        let frames = [
            ServerMsg::Welcome { user: alice(), token: "tok".into() },
            ServerMsg::Joined {
                room: lobby(),
                messages: vec![message.clone()],
                complete: true,
                has_older: false,
                online: vec![alice()],
            },
            ServerMsg::Message(message.clone()),
            ServerMsg::Ack { room: lobby(), id: id("x"), seq: 7 },
            ServerMsg::Older { room: lobby(), messages: vec![message.clone()], has_older: true },
            ServerMsg::Around { room: lobby(), seq: 7, messages: vec![message], has_older: false },
            ServerMsg::Arrived { room: lobby(), user: alice() },
            ServerMsg::Departed { room: lobby(), user: alice() },
            ServerMsg::Presence { room: lobby(), online: vec![alice()] },
            ServerMsg::Crowd { room: lobby(), more: 9_900 },
            ServerMsg::Typing { room: lobby(), user: alice() },
            ServerMsg::Rooms { rooms: vec![RoomSummary { room: lobby(), online: 2 }] },
            FrameError::new(ErrorReason::TextTooLong, "too long").about(Some(&lobby()), Some(&id("x"))).into(),
            FrameError::binary().into(),
        ];
        for frame in frames {
            let wire = frame.encode();
            assert_eq!(ServerMsg::decode(&wire).unwrap(), frame);
            assert_eq!(serde_json::from_str::<ServerMsg>(&wire).unwrap(), frame, "decode reads as serde does");
        }
        for bad in [r#"{"type":"ack","room":"lobby","id":"x"}"#, r#"{"type":"nope"}"#, r#"{"room":"lobby"}"#, "[]"] {
            assert!(ServerMsg::decode(bad).is_err(), "{bad}");
            assert!(serde_json::from_str::<ServerMsg>(bad).is_err(), "{bad}");
        }
        let wire = ServerMsg::Ack { room: lobby(), id: id("x"), seq: 7 }.encode();
        assert_eq!(wire, r#"{"type":"ack","room":"lobby","id":"x","seq":7}"#);
    }

    #[test]
    fn text_is_trimmed() {
        let msg = ClientMsg::decode(&send("  hi there \n")).unwrap();
        assert_eq!(
            msg,
            ClientMsg::Send { room: lobby(), id: id("m1"), text: "hi there".into(), reply_to: None, files: Vec::new() }
        );
    }

    #[test]
    fn malformed_frames_are_bad_frames() {
        for frame in [
            "",
            "not json",
            "[1,2]",
            "{",
            r#"{"room":"lobby","id":"a","text":"x"}"#,
            r#"{"type":"send","room":"lobby","id":"a"}"#,
            r#"{"type":7}"#,
            r#"{"type":"send","room":"lobby","id":5,"text":"x"}"#,
            r#"{"type":"join","room":"lobby","after":-1}"#,
        ] {
            let err = ClientMsg::decode(frame).unwrap_err();
            assert_eq!(err.reason, ErrorReason::BadFrame, "frame {frame:?} gave {err:?}");
            assert!(!err.detail.is_empty());
        }
    }

    #[test]
    fn fields_the_protocol_does_not_have_are_ignored() {
        let frame = r#"{"type":"send","room":"lobby","id":"a","text":"x","author":{"id":"u9","name":"Mallory"}}"#;
        let msg = ClientMsg::decode(frame).unwrap();
        assert_eq!(
            msg,
            ClientMsg::Send { room: lobby(), id: id("a"), text: "x".into(), reply_to: None, files: Vec::new() }
        );
    }

    #[test]
    fn unknown_types_are_named() {
        let err = ClientMsg::decode(r#"{"type":"shout","text":"x"}"#).unwrap_err();
        assert_eq!(err.reason, ErrorReason::UnknownType);
        assert!(err.detail.contains("shout"));
    }

    #[test]
    fn empty_and_whitespace_text_is_refused_with_its_id() {
        for text in ["", " ", "\n\t  "] {
            let err = ClientMsg::decode(&send(text)).unwrap_err();
            assert_eq!(err.reason, ErrorReason::EmptyText);
            assert_eq!(err.id, Some(id("m1")));
            assert_eq!(err.room, Some(lobby()));
        }
    }

    #[test]
    fn text_length_is_counted_in_characters() {
        let at_limit = send(&"é".repeat(MAX_TEXT_CHARS));
        assert!(ClientMsg::decode(&at_limit).is_ok());
        let over = send(&"a".repeat(MAX_TEXT_CHARS + 1));
        assert_eq!(ClientMsg::decode(&over).unwrap_err().reason, ErrorReason::TextTooLong);
    }

    #[test]
    fn control_characters_are_refused_in_text_ids_and_queries() {
        // A NUL byte, which PostgreSQL cannot store in text, among others; newline and tab stay.
        for bad in ["a\u{0}b", "bell\u{7}", "a\u{1b}[31mred", "x\u{7f}", "x\u{85}y", "cr\rlf"] {
            let err = ClientMsg::decode(&send(bad)).unwrap_err();
            assert_eq!(err.reason, ErrorReason::BadFrame, "{bad:?}");
            assert!(err.detail.contains("control"), "{}", err.detail);
            assert_eq!(err.id, Some(id("m1")));
            let edit = serde_json::json!({"type": "edit", "room": "lobby", "id": "e1", "target": 1, "text": bad});
            assert_eq!(ClientMsg::decode(&edit.to_string()).unwrap_err().reason, ErrorReason::BadFrame);
            let query = serde_json::json!({"type": "search", "query": bad}).to_string();
            assert_eq!(ClientMsg::decode(&query).unwrap_err().reason, ErrorReason::BadQuery, "{bad:?}");
            let frame = serde_json::json!({"type": "send", "room": "lobby", "id": bad, "text": "hi"}).to_string();
            assert_eq!(ClientMsg::decode(&frame).unwrap_err().reason, ErrorReason::BadId, "{bad:?}");
        }
        assert!(ClientMsg::decode(&send("line one\n\tline two")).is_ok());
    }

    #[test]
    fn message_numbers_are_ones_a_store_can_hold() {
        let frames = [
            serde_json::json!({"type": "join", "room": "lobby", "after": u64::MAX}),
            serde_json::json!({"type": "history", "room": "lobby", "before": MAX_SEQ + 1}),
            serde_json::json!({"type": "around", "room": "lobby", "seq": u64::MAX}),
            serde_json::json!({"type": "send", "room": "lobby", "id": "m1", "text": "x", "reply_to": u64::MAX}),
            serde_json::json!({"type": "edit", "room": "lobby", "id": "m1", "target": u64::MAX, "text": "x"}),
            serde_json::json!({"type": "delete", "room": "lobby", "id": "m1", "target": u64::MAX}),
            serde_json::json!({"type": "react", "room": "lobby", "id": "m1", "target": u64::MAX, "emoji": "👍"}),
            serde_json::json!({"type": "search", "query": "x", "before": u64::MAX}),
        ];
        for frame in frames {
            let err = ClientMsg::decode(&frame.to_string()).unwrap_err();
            assert_eq!(err.reason, ErrorReason::BadFrame, "{frame}");
            assert!(err.detail.contains(&MAX_SEQ.to_string()), "{}", err.detail);
        }
        let at_most = serde_json::json!({"type": "around", "room": "lobby", "seq": MAX_SEQ});
        assert!(ClientMsg::decode(&at_most.to_string()).is_ok());
        let read_all = serde_json::json!({"type": "read", "room": "lobby", "seq": u64::MAX});
        assert!(ClientMsg::decode(&read_all.to_string()).is_ok(), "mark all as read");
    }

    #[test]
    fn ids_are_bounded() {
        for bad in [String::new(), "x".repeat(MAX_CLIENT_MSG_ID_BYTES + 1)] {
            let frame = serde_json::json!({"type": "send", "room": "lobby", "id": bad, "text": "hi"}).to_string();
            assert_eq!(ClientMsg::decode(&frame).unwrap_err().reason, ErrorReason::BadId);
        }
    }

    #[test]
    fn room_names_are_validated() {
        for good in ["lobby", "a", "team-42_x", &"z".repeat(MAX_ROOM_CHARS)] {
            assert!(RoomId::parse(good).is_ok(), "{good}");
        }
        for bad in ["", "Lobby", "with space", "ünï", "a/b", "../x", &"z".repeat(MAX_ROOM_CHARS + 1)] {
            assert!(RoomId::parse(bad).is_err(), "{bad}");
            let frame = serde_json::json!({"type": "join", "room": bad}).to_string();
            assert_eq!(ClientMsg::decode(&frame).unwrap_err().reason, ErrorReason::BadRoom, "{bad}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(validate_name("  Ann Lee "), Ok("Ann Lee".into()));
        assert_eq!(validate_name(&"é".repeat(MAX_NAME_CHARS)).map(|n| n.chars().count()), Ok(MAX_NAME_CHARS));
        let hidden = ["a\u{7}b", "Ann\u{202E}nnA", "An\u{200B}n", "\u{2066}Ann", "Ann\u{FEFF}"];
        for bad in ["", "   ", &"x".repeat(MAX_NAME_CHARS + 1)].into_iter().chain(hidden) {
            assert!(validate_name(bad).is_err(), "{bad:?}");
        }
        let frame = r#"{"type":"hello","name":"   "}"#;
        assert_eq!(ClientMsg::decode(frame).unwrap_err().reason, ErrorReason::BadName);
        assert_eq!(ClientMsg::decode(r#"{"type":"hello"}"#), Ok(ClientMsg::Hello(Hello::Session)));
    }

    #[test]
    fn largest_valid_frame_fits_the_frame_limit() {
        let text = "\u{1F600}".repeat(MAX_TEXT_CHARS);
        let frame = ClientMsg::Send {
            room: RoomId::parse(&"r".repeat(MAX_ROOM_CHARS)).unwrap(),
            id: ClientMsgId("x".repeat(MAX_CLIENT_MSG_ID_BYTES)),
            text,
            reply_to: Some(Seq::MAX),
            files: vec!["f".repeat(32); crate::MAX_FILES],
        }
        .encode();
        assert!(frame.len() <= MAX_FRAME_BYTES, "{} bytes", frame.len());
    }

    #[test]
    fn reactions_are_one_of_the_set_and_one_per_person() {
        let frame = |emoji: &str| {
            serde_json::json!({"type": "react", "room": "lobby", "id": "r1", "target": 4, "emoji": emoji}).to_string()
        };
        for emoji in REACTIONS {
            assert!(ClientMsg::decode(&frame(emoji)).is_ok(), "{emoji}");
        }
        for bad in ["", "x", "👍👍", "<script>", "🦀"] {
            let err = ClientMsg::decode(&frame(bad)).unwrap_err();
            assert_eq!((err.reason, err.id), (ErrorReason::BadReaction, Some(id("r1"))), "{bad:?}");
        }
        assert!(REACTIONS.len() > MAX_REACTIONS, "the limit can be reached from the picker");
        let bob = User { id: UserId("u2".into()), name: "Bob".into(), handle: None };
        let mut reactions = Vec::new();
        toggle_reaction(&mut reactions, "👍", &alice(), true);
        toggle_reaction(&mut reactions, "👍", &alice(), true);
        toggle_reaction(&mut reactions, "🎉", &bob, true);
        toggle_reaction(&mut reactions, "👍", &bob, true);
        assert_eq!(
            reactions.iter().map(|r| (r.emoji.as_str(), r.by.len())).collect::<Vec<_>>(),
            [("👍", 2), ("🎉", 1)]
        );
        toggle_reaction(&mut reactions, "🎉", &bob, false);
        toggle_reaction(&mut reactions, "🎉", &bob, false);
        toggle_reaction(&mut reactions, "👍", &alice(), false);
        assert_eq!(reactions, [Reaction { emoji: "👍".into(), by: vec![bob] }]);
    }

    #[test]
    fn a_quote_is_the_start_of_the_first_line() {
        assert_eq!(Quote::of("Ann", "short", false).text, "short");
        assert_eq!(Quote::of("Ann", "line one\nline two", false).text, "line one…");
        let long = Quote::of("Ann", &"é".repeat(QUOTE_CHARS + 5), false);
        assert_eq!(long.text.chars().count(), QUOTE_CHARS + 1);
        assert_eq!(Quote::of("Ann", "gone", true), Quote { author: "Ann".into(), text: String::new(), deleted: true });
    }

    #[test]
    fn mentions_are_whole_names_after_an_at_sign() {
        let names = ["Ann", "Ann Lee", "Bob", "김민수"];
        let named = |text: &'static str| {
            find_mentions(text, &names).into_iter().map(|(r, n)| (&text[r], n)).collect::<Vec<_>>()
        };
        assert_eq!(named("hi @ann and @Ann Lee!"), [("@ann", "Ann"), ("@Ann Lee", "Ann Lee")]);
        assert_eq!(named("@Bob"), [("@Bob", "Bob")]);
        assert_eq!(named("@김민수 님"), [("@김민수", "김민수")]);
        assert!(named("@Bobby mail@bob.org @ nobody @").is_empty(), "not part of a longer word or an address");
    }
}
