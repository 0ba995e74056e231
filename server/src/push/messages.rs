//! Pushes for messages: each text message committed through this node (so each message
//! is weighed once, on the node that stored it) is pushed to the people it would tell
//! of itself, as their tabs' notifications would (`hub/counts.rs`): everyone whose
//! level in its room is "all" (a direct room's people), and everyone it names unless
//! they muted the room; never its author, never someone who may not read the room. Only
//! people with no tab open anywhere are pushed: a tab, on any node, tells them itself.

use super::{Payload, Push};
use crate::access::{may_read, Reader};
use crate::hub::Hub;
use crate::store::{accounts::Role, StoreError};
use palaver_protocol::{ChatMessage, Level, UserId};
use std::{collections::BTreeSet, sync::Arc, time::Duration};
use tokio::sync::{mpsc, Semaphore};

/// How long a push service keeps a message's push for a browser that is away.
const MESSAGE_TTL: Duration = Duration::from_secs(24 * 3600);
/// Pushes under way at once; more wait their turn.
const SENDING: usize = 16;
/// The most of a message's text a push carries (characters).
const TEXT_CHARS: usize = 300;

/// Pushes each message from `committed` to whom it concerns (see the module's doc),
/// with its text if `with_text`.
pub async fn push_loop(push: Arc<Push>, hub: Arc<Hub>, mut committed: mpsc::Receiver<ChatMessage>, with_text: bool) {
    let sending = Arc::new(Semaphore::new(SENDING));
    while let Some(m) = committed.recv().await {
        let people = match concerned(&push, &hub, &m).await {
            Ok(people) => people,
            Err(e) => {
                tracing::warn!(room = %m.room, seq = m.seq, "cannot work out whom to push a message to: {e}");
                continue;
            }
        };
        for person in people {
            if hub.has_tab(&person).await {
                continue;
            }
            let payload = Payload::Message {
                room: m.room.clone(),
                seq: m.seq,
                from: m.author.name.clone(),
                text: with_text.then(|| m.text.chars().take(TEXT_CHARS).collect()),
            };
            let Ok(turn) = sending.clone().acquire_owned().await else { return };
            let push = push.clone();
            tokio::spawn(async move {
                let _turn = turn;
                if let Err(e) = push.deliver(&person, &payload, MESSAGE_TTL).await {
                    tracing::warn!("cannot push a message: {e}");
                }
            });
        }
    }
}

/// Who `m` tells of itself, tab or not (see the module's doc), among the people with a
/// browser subscribed (asked of the store at most once a second): a message in a
/// workspace where nobody subscribed, or naming only people who did not, costs nothing.
async fn concerned(push: &Push, hub: &Hub, m: &ChatMessage) -> Result<Vec<UserId>, StoreError> {
    let subscribed = push.subscribed().await?;
    if subscribed.is_empty() {
        return Ok(Vec::new());
    }
    let store = push.store();
    let mut people: BTreeSet<UserId> = store.pushed_in(&m.room).await?.into_iter().collect();
    for named in m.mentions.iter().filter(|named| subscribed.contains(&named.id)) {
        let levels = store.levels(&named.id).await?;
        if !levels.iter().any(|(room, level)| room == &m.room && *level == Level::Muted) {
            people.insert(named.id.clone());
        }
    }
    people.remove(&m.author.id);
    let rules = hub.rules(&m.room).await?;
    // Only accounts are listed in private and direct rooms; the role does not matter.
    people.retain(|id| may_read(&rules, &Reader::Member { id: id.clone(), role: Role::Member }));
    Ok(people.into_iter().collect())
}
