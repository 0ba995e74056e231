//! What every load is made of: connections opened from many loopback addresses into
//! their rooms, a running load (each connection reading and tallying, senders on a
//! schedule), what a fan-out load measured, and writing as fast as the server commits.

use crate::client::{self, Conn, Seen, Wiring};
use crate::server::Server;
use crate::settings::{Result, Settings};
use futures::{stream, StreamExt};
use palaver_protocol::{Hello, RoomId, ServerMsg};
use std::{
    net::{IpAddr, Ipv4Addr},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
    time::{Duration, Instant},
};
use tokio::sync::{mpsc, watch};

/// Loopback source addresses the connections are spread over (to stay clear of the
/// ephemeral port range of any one address).
const SOURCES: u8 = 50;

pub fn source(i: usize) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2 + (i % SOURCES as usize) as u8))
}

/// A room by name (the bench's names are all valid).
pub fn room(name: &str) -> RoomId {
    RoomId::parse(name).expect("a valid room name")
}

/// Opens `count` chat sockets, `in_flight` at a time; socket `i` says hello as
/// `name(i)` and joins `room(i)`. Also how long it took.
pub async fn open_all(
    server: &Server,
    count: usize,
    in_flight: usize,
    room: impl Fn(usize) -> RoomId,
    recv_buffer: Option<u32>,
) -> Result<(Vec<Conn>, Duration)> {
    let started = Instant::now();
    let addr = server.addr;
    let opened: Vec<std::io::Result<Conn>> = stream::iter(0..count)
        .map(|i| {
            let room = room(i);
            async move {
                let mut conn = Conn::open_with(addr, source(i), recv_buffer).await?;
                conn.enter(&format!("load{i}"), &room).await?;
                Ok(conn)
            }
        })
        .buffered(in_flight)
        .collect()
        .await;
    let conns = opened.into_iter().collect::<std::io::Result<Vec<_>>>()?;
    Ok((conns, started.elapsed()))
}

/// Opens `count` chat sockets from the loopback sources, 500 at a time, saying nothing
/// yet; also how long that took.
pub async fn open_quiet(addr: std::net::SocketAddr, count: usize) -> Result<(Vec<Conn>, Duration)> {
    let started = Instant::now();
    let opened: Vec<std::io::Result<Conn>> =
        stream::iter(0..count).map(|i| Conn::open(addr, source(i))).buffered(500).collect().await;
    Ok((opened.into_iter().collect::<std::io::Result<Vec<_>>>()?, started.elapsed()))
}

/// Socket `i` of `conns` says hello as `name(i)` and joins `room(i)`, 500 at a time: the
/// session token each was given, and how long that took.
pub async fn enter_all(
    conns: &mut [Conn],
    name: impl Fn(usize) -> String,
    room: impl Fn(usize) -> RoomId,
) -> Result<(Vec<String>, Duration)> {
    let started = Instant::now();
    let entered: Vec<std::io::Result<(usize, String)>> = stream::iter(conns.iter_mut().enumerate())
        .map(|(i, conn)| {
            let (name, room) = (name(i), room(i));
            async move {
                let (welcome, _) = conn.enter_as(Hello::Name(name), &room, None).await?;
                match serde_json::from_str(&welcome) {
                    Ok(ServerMsg::Welcome { token, .. }) => Ok((i, token)),
                    _ => Err(std::io::Error::other(format!("not a welcome: {welcome}"))),
                }
            }
        })
        .buffer_unordered(500)
        .collect()
        .await;
    let mut tokens = entered.into_iter().collect::<std::io::Result<Vec<_>>>()?;
    tokens.sort_unstable_by_key(|(i, _)| *i);
    Ok((tokens.into_iter().map(|(_, token)| token).collect(), started.elapsed()))
}

/// A running load: a task per connection (by default each reading and tallying into a
/// [`Seen`]), senders fed by a schedule, and phases the tasks can tell apart.
pub struct Load<T = Seen> {
    outgoing: Vec<mpsc::UnboundedSender<Vec<u8>>>,
    phase: watch::Sender<u8>,
    received: Arc<AtomicU64>,
    tasks: Vec<tokio::task::JoinHandle<T>>,
}

/// The phase that ends a load's tasks.
pub const DONE: u8 = u8::MAX;

impl Load {
    pub fn start(conns: Vec<Conn>) -> Load {
        Load::start_with(conns, true)
    }

    /// Starts the load; `spin`: see [`Load::spawn`].
    pub fn start_with(conns: Vec<Conn>, spin: bool) -> Load {
        Load::spawn(conns, spin, Conn::run)
    }
}

impl<T: Send + 'static> Load<T> {
    /// Starts a task per member: `task(member, its wiring)`.
    pub fn spawn<M, F>(members: impl IntoIterator<Item = M>, spin: bool, mut task: impl FnMut(M, Wiring) -> F) -> Self
    where
        F: std::future::Future<Output = T> + Send + 'static,
    {
        let (phase, phases) = watch::channel(0u8);
        let received = Arc::new(AtomicU64::new(0));
        let mut outgoing = Vec::new();
        let mut tasks = Vec::new();
        // With `spin`, the load generator never sleeps while a load runs: it polls its
        // sockets on every pass. Clients on other machines cost a server nothing to wake;
        // on one machine, a sleeping load generator would be woken by the server's
        // writes, on the server's CPU time. (Not where the parts under test need the
        // load's core too: there it would take their CPU.)
        if spin {
            let spinning = phases.clone();
            tokio::spawn(async move {
                while *spinning.borrow() != DONE {
                    tokio::task::yield_now().await;
                }
            });
        }
        for member in members {
            let (tx, rx) = mpsc::unbounded_channel();
            outgoing.push(tx);
            let wiring = Wiring { outgoing: rx, phase: phases.clone(), received: received.clone() };
            tasks.push(tokio::spawn(task(member, wiring)));
        }
        Load { outgoing, phase, received, tasks }
    }

    /// Moves the load's tasks to phase `n`.
    pub fn phase(&self, n: u8) {
        let _ = self.phase.send(n);
    }

    /// Sends timed messages: `per_sec` in all, spread evenly in time and round-robin
    /// over `senders` (connection index and its room), for `run_for`. How many it sent.
    pub async fn send(&self, senders: &[(usize, RoomId)], per_sec: f64, len: usize, run_for: Duration) -> u64 {
        self.send_while(senders, per_sec, len, |elapsed| elapsed < run_for).await
    }

    /// Like [`Load::send`], for as long as `go_on(time sending so far)` says.
    pub async fn send_while(
        &self,
        senders: &[(usize, RoomId)],
        per_sec: f64,
        len: usize,
        mut go_on: impl FnMut(Duration) -> bool,
    ) -> u64 {
        let started = Instant::now();
        let mut sent: u64 = 0;
        let mut tick = tokio::time::interval(Duration::from_millis(1));
        while go_on(started.elapsed()) {
            tick.tick().await;
            let due = (started.elapsed().as_secs_f64() * per_sec) as u64;
            while sent < due {
                let (conn, room) = &senders[sent as usize % senders.len()];
                let frame = client::stamped_send(room, format!("b{sent}"), len);
                let _ = self.outgoing[*conn].send(frame);
                sent += 1;
            }
        }
        sent
    }

    /// Waits until `expected` messages have arrived in all, at most `limit`.
    pub async fn drain(&self, expected: u64, limit: Duration) {
        let deadline = Instant::now() + limit;
        while self.received.load(Ordering::Relaxed) < expected && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    pub async fn finish(self) -> Vec<T> {
        let _ = self.phase.send(DONE);
        let mut seen = Vec::new();
        for task in self.tasks {
            if let Ok(s) = task.await {
                seen.push(s);
            }
        }
        seen
    }
}

/// Latency percentiles in milliseconds, from microseconds.
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub max: f64,
}

pub fn latency(seen: &[Seen]) -> Latency {
    let mut all: Vec<u32> = seen.iter().flat_map(|s| s.latencies_us.iter().copied()).collect();
    if all.is_empty() {
        return Latency { p50: 0.0, p99: 0.0, max: 0.0 };
    }
    all.sort_unstable();
    let at = |p: f64| f64::from(all[((all.len() as f64 * p).ceil() as usize).clamp(1, all.len()) - 1]) / 1000.0;
    Latency { p50: at(0.50), p99: at(0.99), max: at(1.0) }
}

/// What one fan-out load measured.
pub struct Measured {
    pub elapsed: f64,
    pub sent: u64,
    pub delivered: u64,
    /// CPU seconds of each part under test, over the run.
    pub cpu: Vec<f64>,
    pub latency: Latency,
    pub lost: u64,
    pub duplicates: u64,
    pub errors: u64,
}

impl Measured {
    pub fn per_sec(&self, n: u64) -> f64 {
        n as f64 / self.elapsed
    }

    /// Deliveries per CPU-second of the first part measured (the server).
    pub fn per_cpu_second(&self) -> f64 {
        let cpu = self.cpu[0];
        if cpu > 0.0 {
            self.delivered as f64 / cpu
        } else {
            f64::INFINITY
        }
    }

    /// Fails the scenario on anything lost, doubled or refused.
    pub fn check(&self, label: &str) -> Result<()> {
        if self.lost > 0 || self.duplicates > 0 || self.errors > 0 {
            return Err(format!(
                "{label}: {} deliveries lost, {} duplicated, {} errors",
                self.lost, self.duplicates, self.errors
            )
            .into());
        }
        Ok(())
    }
}

/// How a fan-out load is run: `per_sec` messages a second from `senders`, each delivered
/// to `members_per_room`; `spin`: whether the load generator polls without sleeping (see
/// [`Load::start_with`]).
pub struct Fanout {
    pub senders: Vec<(usize, RoomId)>,
    pub per_sec: f64,
    pub members_per_room: u64,
    pub spin: bool,
}

/// Runs a fan-out load on open connections; `cpu` reads the CPU seconds of the parts.
pub async fn run_fanout(
    label: &str,
    conns: Vec<Conn>,
    fanout: Fanout,
    settings: &Settings,
    cpu: impl Fn() -> Vec<f64>,
) -> Measured {
    let Fanout { senders, per_sec, members_per_room, spin } = fanout;
    let load = Load::start_with(conns, spin);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let cpu_before = cpu();
    let started = Instant::now();
    let sent = load.send(&senders, per_sec, 64, settings.run_for()).await;
    let expected = sent * members_per_room;
    load.drain(expected, Duration::from_secs(10)).await;
    let elapsed = started.elapsed().as_secs_f64();
    let cpu = cpu().iter().zip(cpu_before).map(|(after, before)| after - before).collect();
    let seen = load.finish().await;
    let delivered: u64 = seen.iter().map(|s| s.messages).sum();
    let gaps: u64 = seen.iter().map(|s| s.gaps).sum();
    let acks: u64 = seen.iter().map(|s| s.acks).sum();
    let closed = seen.iter().filter(|s| s.closed).count();
    if acks < sent || closed > 0 {
        eprintln!("{label}: {sent} sent, {acks} acknowledged, {closed} connections closed by the server");
    }
    Measured {
        elapsed,
        sent,
        delivered,
        cpu,
        latency: latency(&seen),
        lost: expected.saturating_sub(delivered) + gaps,
        duplicates: seen.iter().map(|s| s.duplicates).sum(),
        errors: seen.iter().map(|s| s.errors).sum(),
    }
}

/// Writer `w`'s message `n`, of an ordinary length.
pub fn ordinary(w: usize, n: u64) -> String {
    format!("message {n} from writer {w}: some words of an ordinary length")
}

/// Each connection posts `each` messages (`text(writer, n)`) to its room as fast as they
/// are acknowledged (at most 1,000 waiting for their ack). How many were acknowledged,
/// in how many seconds.
pub async fn write_flat_out(
    conns: Vec<Conn>,
    rooms: Vec<RoomId>,
    each: u64,
    text: fn(usize, u64) -> String,
) -> Result<(u64, f64)> {
    const WINDOW: u64 = 1000;
    let started = Instant::now();
    let acked = Arc::new(AtomicU64::new(0));
    let mut writers = Vec::new();
    for (w, (mut conn, room)) in conns.into_iter().zip(rooms).enumerate() {
        let acked = acked.clone();
        writers.push(tokio::spawn(async move {
            let (mut sent, mut done) = (0u64, 0u64);
            while done < each {
                while sent < each && sent - done < WINDOW {
                    let frame = client::text(&palaver_protocol::ClientMsg::Send {
                        room: room.clone(),
                        id: palaver_protocol::ClientMsgId(format!("w{w}-{sent}")),
                        text: text(w, sent),
                        reply_to: None,
                        files: Vec::new(),
                    });
                    conn.send(&frame).await?;
                    sent += 1;
                }
                conn.expect(r#"{"type":"ack""#).await?;
                done += 1;
                acked.fetch_add(1, Ordering::Relaxed);
            }
            std::io::Result::Ok(conn)
        }));
    }
    let mut kept = Vec::new();
    for w in writers {
        kept.push(w.await??);
    }
    Ok((acked.load(Ordering::Relaxed), started.elapsed().as_secs_f64()))
}

pub fn ms(samples: &mut [Duration], p: f64) -> String {
    samples.sort_unstable();
    let at = ((samples.len() as f64 * p).ceil() as usize).clamp(1, samples.len()) - 1;
    format!("{:.2} ms", samples[at].as_secs_f64() * 1000.0)
}
