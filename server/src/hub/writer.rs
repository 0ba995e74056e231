//! The writer: one task per node that stores posts in batches, one durable commit per
//! batch, then hands the stored messages to their rooms and answers each poster. A
//! batch that fails because of one post's own data is stored without it.

use super::Shared;
use crate::bus::Event;
use crate::socket::Wire;
use crate::store::{Appended, Post, Refusal, Store, StoreError};
use bytes::Bytes;
use futures::future::BoxFuture;
use palaver_protocol::{ChatMessage, MessageKind, Seq};
use std::{sync::Arc, time::Duration};
use tokio::sync::{mpsc, oneshot};

/// Most messages stored in one commit.
pub const MAX_BATCH: usize = 2048;
/// Posts waiting for the writer; senders wait when it is full.
pub(super) const WRITE_QUEUE: usize = 4096;
/// A busy writer starts a commit at most this often: what arrives meanwhile joins the
/// next one. Every commit syncs the log to disk and writes its pages (the messages,
/// their indexes, a search segment), so under load fewer, larger commits cost far less
/// per message; an idle writer commits at once.
const COMMIT_EVERY: Duration = Duration::from_millis(2);

/// What became of a post.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PostOutcome {
    /// Stored (and broadcast) as this number.
    Accepted(Seq),
    /// The same author already posted this client id here, as this number.
    Duplicate(Seq),
    /// An edit or delete that may not be made; nothing was stored.
    Refused(Refusal),
}

impl PostOutcome {
    /// The number the post is stored as, unless it was refused.
    pub fn seq(self) -> Option<Seq> {
        match self {
            PostOutcome::Accepted(s) | PostOutcome::Duplicate(s) => Some(s),
            PostOutcome::Refused(_) => None,
        }
    }
}

impl From<Appended> for PostOutcome {
    fn from(appended: Appended) -> PostOutcome {
        match appended {
            Appended::New(m) => PostOutcome::Accepted(m.seq),
            Appended::Duplicate(seq) => PostOutcome::Duplicate(seq),
            Appended::Refused(refusal) => PostOutcome::Refused(refusal),
        }
    }
}

/// What a poster's connection writes once its post's commit is over: the frames that
/// answer it (an acknowledgement, or why not).
pub type Answer = Box<dyn FnOnce(Result<PostOutcome, StoreError>) -> Vec<Bytes> + Send>;

pub(super) struct Write {
    pub(super) message: Post,
    pub(super) reply: Reply,
}

/// Who is told how a post went.
pub(super) enum Reply {
    /// A caller waiting on the outcome.
    Waiting(oneshot::Sender<Result<Appended, StoreError>>),
    /// The poster's wire, written to by the writer itself: no task of the poster's is
    /// woken, and the answer leaves in the same write as the commit's frames for that
    /// connection (its own message, usually).
    Wire(Arc<Wire>, Answer),
}

impl Reply {
    fn wire(&self) -> Option<&Arc<Wire>> {
        match self {
            Reply::Waiting(_) => None,
            Reply::Wire(wire, _) => Some(wire),
        }
    }

    fn send(self, result: Result<Appended, StoreError>) {
        match self {
            Reply::Waiting(reply) => {
                let _ = reply.send(result);
            }
            Reply::Wire(wire, answer) => wire.send(answer(result.map(PostOutcome::from))),
        }
    }
}

/// The single writer: takes whatever posts are waiting (up to [`MAX_BATCH`], gathering
/// for what is left of [`COMMIT_EVERY`] after the last commit started), stores them in
/// one commit, broadcasts the new ones in order, then answers each poster.
pub(super) async fn write_loop(store: Arc<dyn Store>, shared: Arc<Shared>, mut queue: mpsc::Receiver<Write>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut last_commit: Option<tokio::time::Instant> = None;
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        if let Some(wait) = last_commit.and_then(|at| COMMIT_EVERY.checked_sub(at.elapsed())) {
            if batch.len() < MAX_BATCH {
                tokio::time::sleep(wait).await;
                while batch.len() < MAX_BATCH {
                    let Ok(write) = queue.try_recv() else { break };
                    batch.push(write);
                }
            }
        }
        last_commit = Some(tokio::time::Instant::now());
        let (messages, replies): (Vec<_>, Vec<Reply>) = batch.drain(..).map(|w| (w.message, w.reply)).unzip();
        let results = match append_apart(&*store, messages).await {
            Ok(results) => results,
            Err(e) => {
                tracing::error!("storing messages failed: {e}");
                replies.iter().map(|_| Err(e.clone())).collect()
            }
        };
        // Posters' wires hold the commit's frames until their answers join them.
        let posters: Vec<Arc<Wire>> = replies.iter().filter_map(Reply::wire).cloned().collect();
        for wire in &posters {
            wire.hold();
        }
        let new: Vec<ChatMessage> =
            results.iter().filter_map(|r| if let Ok(Appended::New(m)) = r { Some(m.clone()) } else { None }).collect();
        for m in &new {
            shared.bus.publish(Event::Message(m.clone()));
        }
        if let Some(committed) = shared.committed.get() {
            for m in new.iter().filter(|m| m.kind == MessageKind::Text) {
                // Full: what follows messages off the chat is behind; this one is left out.
                let _ = committed.try_send(m.clone());
            }
        }
        shared.publish_all(new);
        for (result, reply) in results.into_iter().zip(replies) {
            reply.send(result);
        }
        for wire in &posters {
            wire.release();
        }
    }
}

/// Stores a batch: one result per post. When the commit fails for a reason that lies in
/// a post's own data (see [`StoreError::is_the_datas`]), nothing of it was stored, so
/// its halves are stored apart, in order, until the post at fault stands alone and
/// only it fails: one bad post never fails another person's. Any other failure (the
/// store is away) fails the whole batch, as retrying would only fail again.
fn append_apart(
    store: &dyn Store,
    batch: Vec<Post>,
) -> BoxFuture<'_, Result<Vec<Result<Appended, StoreError>>, StoreError>> {
    Box::pin(async move {
        // Kept for the rare retry: a post is small beside its commit.
        let kept = (batch.len() > 1).then(|| batch.clone());
        match store.append(batch).await {
            Ok(results) => Ok(results.into_iter().map(Ok).collect()),
            Err(e) if !e.is_the_datas() => Err(e),
            Err(e) => match kept {
                None => {
                    tracing::warn!("a post could not be stored: {e}");
                    Ok(vec![Err(e)])
                }
                Some(mut first) => {
                    let second = first.split_off(first.len() / 2);
                    let mut results = append_apart(store, first).await?;
                    results.extend(append_apart(store, second).await?);
                    Ok(results)
                }
            },
        }
    })
}

/// Text messages committed here waiting for [`Hub::committed`]'s receiver; past it,
/// they are left out.
const COMMITTED_QUEUE: usize = 1024;

impl super::Hub {
    /// Each text message committed through this node from now on, once (on every node,
    /// the messages it committed): for what follows a message off the chat, as pushes
    /// do. Only the first caller gets them.
    pub fn committed(&self) -> Option<mpsc::Receiver<ChatMessage>> {
        let (sender, receiver) = mpsc::channel(COMMITTED_QUEUE);
        self.shared.committed.set(sender).ok().map(|()| receiver)
    }
}

pub(super) fn writer_stopped() -> StoreError {
    StoreError::backend("the writer has stopped")
}
