//! The frame decoder against generated input: arbitrary text, and JSON shaped like
//! frames with every field drawn from hostile values. Whatever comes in, decoding
//! returns (never panics), refusals carry a reason and a detail, and whatever is
//! accepted is within every limit and survives a round trip.
//!
//! The suite runs a fixed number of cases; `PROPTEST_CASES=1000000 cargo test -p
//! palaver-protocol --release fuzz` runs longer.

use super::*;
use crate::client::FRAME_TYPES;
use proptest::prelude::*;
use serde_json::Value;

fn config() -> ProptestConfig {
    // PROPTEST_CASES in the environment overrides this.
    ProptestConfig { cases: 2_000, failure_persistence: None, ..ProptestConfig::default() }
}

/// Strings a hostile client would try: empty, blank, control characters, right-to-left
/// marks, HTML, very long, multi-byte, near the limits.
fn nasty_string() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("   \t\n ".to_owned()),
        Just("lobby".to_owned()),
        Just("<script>alert(1)</script>".to_owned()),
        Just("a\u{0}b\u{202e}c".to_owned()),
        Just("é".repeat(MAX_TEXT_CHARS)),
        Just("x".repeat(MAX_TEXT_CHARS + 1)),
        Just("n".repeat(MAX_NAME_CHARS + 1)),
        Just("r".repeat(MAX_ROOM_CHARS)),
        Just("r".repeat(MAX_ROOM_CHARS + 1)),
        "[a-z0-9_-]{0,70}",
        any::<String>(),
        proptest::collection::vec(any::<char>(), 0..3000).prop_map(|c| c.into_iter().collect()),
    ]
}

fn json_value() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        any::<f64>().prop_filter("JSON numbers are finite", |f| f.is_finite()).prop_map(Value::from),
        nasty_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            proptest::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// An object shaped like a frame: a real or made-up type, real field names with any
/// values, and extra fields.
fn frame_like() -> impl Strategy<Value = String> {
    let kind = prop_oneof![
        prop::sample::select(FRAME_TYPES.to_vec()).prop_map(Value::from),
        Just(Value::from("HELLO")),
        nasty_string().prop_map(Value::from),
        json_value(),
    ];
    let field = prop::sample::select(vec![
        "token", "name", "room", "after", "before", "id", "text", "target", "query", "seq", "reply_to", "emoji",
        "remove", "level", "extra",
    ]);
    (kind, proptest::collection::vec((field, json_value()), 0..6)).prop_map(|(kind, fields)| {
        let mut frame = serde_json::Map::new();
        frame.insert("type".into(), kind);
        for (name, value) in fields {
            frame.insert(name.into(), value);
        }
        Value::Object(frame).to_string()
    })
}

/// Checks what decode says about `frame`.
fn check(frame: &str) -> Result<(), TestCaseError> {
    match ClientMsg::decode(frame) {
        Err(e) => prop_assert!(!e.detail.is_empty(), "a refusal says why: {e:?}"),
        Ok(msg) => {
            match &msg {
                ClientMsg::Hello(Hello::Name(name) | Hello::Rename { name, .. }) => {
                    prop_assert_eq!(validate_name(name), Ok(name.clone()));
                }
                ClientMsg::Hello(Hello::Token(_) | Hello::Session) => {}
                ClientMsg::Join { room, .. }
                | ClientMsg::Leave { room }
                | ClientMsg::Typing { room }
                | ClientMsg::History { room, .. }
                | ClientMsg::Around { room, .. }
                | ClientMsg::Read { room, .. }
                | ClientMsg::Notify { room, .. }
                | ClientMsg::Forget { room }
                | ClientMsg::HidePreview { room, .. } => prop_assert!(RoomId::parse(room.as_str()).is_ok()),
                ClientMsg::Unread => {}
                ClientMsg::Send { room, id, text, .. } | ClientMsg::Edit { room, id, text, .. } => {
                    prop_assert!(RoomId::parse(room.as_str()).is_ok());
                    prop_assert!(!id.0.is_empty() && id.0.len() <= MAX_CLIENT_MSG_ID_BYTES);
                    prop_assert!(!has_control(&id.0, &[]), "no control characters in an id");
                    prop_assert_eq!(validate_text(text), Ok(text.as_str()));
                    prop_assert!(!has_control(text, &['\n', '\t']), "no NUL or other control characters in text");
                }
                ClientMsg::Search { query, .. } => {
                    prop_assert!(!query.is_empty() && query.trim() == query);
                    prop_assert!(!has_control(query, &[]), "no control characters in a query");
                    prop_assert!(query.chars().count() <= crate::MAX_QUERY_CHARS);
                }
                ClientMsg::Delete { room, id, .. } => {
                    prop_assert!(RoomId::parse(room.as_str()).is_ok());
                    prop_assert!(!id.0.is_empty() && id.0.len() <= MAX_CLIENT_MSG_ID_BYTES);
                }
                ClientMsg::React { room, id, emoji, .. } => {
                    prop_assert!(RoomId::parse(room.as_str()).is_ok());
                    prop_assert!(!id.0.is_empty() && id.0.len() <= MAX_CLIENT_MSG_ID_BYTES);
                    prop_assert!(REACTIONS.contains(&emoji.as_str()));
                }
            }
            prop_assert!(msg.numbers().all(|(_, n)| n <= MAX_SEQ), "numbers a store can hold");
            // What was accepted reads back the same.
            prop_assert_eq!(ClientMsg::decode(&msg.encode()), Ok(msg));
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn fuzz_arbitrary_text_is_answered_never_panics(frame in nasty_string()) {
        check(&frame)?;
    }

    #[test]
    fn fuzz_frame_shaped_json_is_validated(frame in frame_like()) {
        check(&frame)?;
    }

    #[test]
    fn fuzz_valid_sends_round_trip(room in "[a-z0-9_-]{1,64}", id in "[!-~]{1,64}", text in "[^\\s\\p{Cc}]{1,2000}") {
        let msg = ClientMsg::Send { room: RoomId::parse(&room).unwrap(), id: ClientMsgId(id), text, reply_to: None, files: Vec::new() };
        prop_assert_eq!(ClientMsg::decode(&msg.encode()), Ok(msg));
    }
}
