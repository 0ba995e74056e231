//! A lean WebSocket client for load: the upgrade by hand, masked text frames out, and
//! frames in parsed straight from the read buffer. It speaks Palaver's protocol (frames
//! from `palaver_protocol`) over real sockets, cheaply enough that one core can drive
//! thousands of connections and hundreds of thousands of deliveries a second.

use palaver_protocol::{ClientMsg, ClientMsgId, Hello, RoomId};
use std::{
    io,
    net::{IpAddr, SocketAddr},
    sync::{
        atomic::{AtomicU64, Ordering},
        Arc,
    },
};
use testkit::stamp::{now_us, stamped};
use tokio::{
    io::{AsyncReadExt, AsyncWriteExt},
    net::{TcpSocket, TcpStream},
    sync::{mpsc, watch},
};

const OP_TEXT: u8 = 0x1;
const OP_CLOSE: u8 = 0x8;
const OP_PING: u8 = 0x9;
const OP_PONG: u8 = 0xA;
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// One client frame, masked as the protocol requires.
pub fn frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    out.push(0x80 | opcode);
    match payload.len() {
        n if n < 126 => out.push(0x80 | n as u8),
        n if n < 65536 => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
    out
}

pub fn text(msg: &ClientMsg) -> Vec<u8> {
    frame(OP_TEXT, msg.encode().as_bytes())
}

/// A `send` whose text starts with the time it was sent, padded to `len` characters.
pub fn stamped_send(room: &RoomId, id: String, len: usize) -> Vec<u8> {
    self::text(&ClientMsg::Send {
        room: room.clone(),
        id: ClientMsgId(id),
        text: stamped(len),
        reply_to: None,
        files: Vec::new(),
    })
}

/// An open chat socket.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Parsed up to here.
    start: usize,
}

/// What a connection saw while it ran.
#[derive(Default)]
pub struct Seen {
    /// Send-to-receipt latency of every timed message, in microseconds.
    pub latencies_us: Vec<u32>,
    pub messages: u64,
    pub acks: u64,
    pub errors: u64,
    /// Messages missing in the numbering of the room (one room per connection).
    pub gaps: u64,
    /// Messages whose number came before, or again: delivered twice (or out of order).
    /// Not counted in `messages`.
    pub duplicates: u64,
    pub last_seq: u64,
    pub closed: bool,
}

impl Seen {
    /// Counts message `seq` of the connection's room: false (and counted as a duplicate)
    /// if it came before, or again.
    pub fn number(&mut self, seq: u64) -> bool {
        if seq <= self.last_seq {
            self.duplicates += 1;
            return false;
        }
        if self.last_seq != 0 && seq > self.last_seq + 1 {
            self.gaps += seq - self.last_seq - 1;
        }
        self.last_seq = seq;
        self.messages += 1;
        true
    }
}

impl Conn {
    /// Opens a TCP connection from `source` and upgrades it to a chat socket.
    pub async fn open(server: SocketAddr, source: IpAddr) -> io::Result<Conn> {
        Conn::open_with(server, source, None).await
    }

    /// Opens a connection whose receive buffer is `recv_buffer` bytes, if given: one
    /// that stops reading then pushes back on the server almost at once.
    pub async fn open_with(server: SocketAddr, source: IpAddr, recv_buffer: Option<u32>) -> io::Result<Conn> {
        let socket = TcpSocket::new_v4()?;
        if let Some(bytes) = recv_buffer {
            socket.set_recv_buffer_size(bytes)?;
        }
        socket.bind(SocketAddr::new(source, 0))?;
        let mut stream = socket.connect(server).await?;
        stream.set_nodelay(true)?;
        let request = format!(
            "GET /ws HTTP/1.1\r\nHost: {server}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
             Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        stream.write_all(request.as_bytes()).await?;
        let mut buf = Vec::with_capacity(4096);
        let head_end = loop {
            if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break at + 4;
            }
            if stream.read_buf(&mut buf).await? == 0 || buf.len() > 8192 {
                return Err(io::Error::other("the upgrade got no answer"));
            }
        };
        if !buf.starts_with(b"HTTP/1.1 101") {
            let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
            return Err(io::Error::other(format!("upgrade refused: {}", head.lines().next().unwrap_or(""))));
        }
        Ok(Conn { stream, buf, start: head_end })
    }

    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// The next complete frame already in the buffer: (opcode, payload range).
    fn parse(&mut self) -> Option<(u8, std::ops::Range<usize>)> {
        let (opcode, _, payload) = frame_at(&self.buf[self.start..])?;
        let range = self.start + payload.start..self.start + payload.end;
        self.start += payload.end;
        Some((opcode, range))
    }

    /// Reads more; false at the end of the stream.
    async fn fill(&mut self) -> io::Result<bool> {
        if self.start == self.buf.len() {
            self.buf.clear();
            self.start = 0;
        } else if self.start > self.buf.capacity() / 2 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(self.buf.capacity().max(16 * 1024));
        }
        Ok(self.stream.read_buf(&mut self.buf).await? > 0)
    }

    /// The next text frame, answering pings on the way; `None` once closed.
    pub async fn next_text(&mut self) -> io::Result<Option<String>> {
        loop {
            while let Some((opcode, range)) = self.parse() {
                match opcode {
                    OP_TEXT => return Ok(Some(String::from_utf8_lossy(&self.buf[range]).into_owned())),
                    OP_PING => {
                        let pong = frame(OP_PONG, &self.buf[range]);
                        self.stream.write_all(&pong).await?;
                    }
                    OP_CLOSE => return Ok(None),
                    _ => {}
                }
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Reads, without answering pings, until the server ends the connection: the code of
    /// its close frame, or `None` if the stream ended without one.
    pub async fn close_code(&mut self) -> io::Result<Option<u16>> {
        loop {
            while let Some((opcode, range)) = self.parse() {
                if opcode == OP_CLOSE {
                    // A close frame without a body means "no code" (1005).
                    return Ok(Some(self.buf[range].get(..2).map_or(1005, |c| u16::from_be_bytes([c[0], c[1]]))));
                }
            }
            if !self.fill().await? {
                return Ok(None);
            }
        }
    }

    /// Waits for a text frame starting with `prefix` (e.g. `{"type":"joined"`).
    pub async fn expect(&mut self, prefix: &str) -> io::Result<String> {
        loop {
            match self.next_text().await? {
                Some(t) if t.starts_with(prefix) => return Ok(t),
                Some(t) if t.starts_with(r#"{"type":"error""#) => return Err(io::Error::other(t)),
                Some(_) => continue,
                None => return Err(io::Error::other(format!("closed while waiting for {prefix}"))),
            }
        }
    }

    /// Says hello as `name` and joins `room`.
    pub async fn enter(&mut self, name: &str, room: &RoomId) -> io::Result<()> {
        self.enter_as(Hello::Name(name.into()), room, None).await.map(drop)
    }

    /// Says `hello` and joins `room` (catching up after `after`, if given): the
    /// `welcome` and `joined` frames.
    pub async fn enter_as(&mut self, hello: Hello, room: &RoomId, after: Option<u64>) -> io::Result<(String, String)> {
        self.send(&text(&ClientMsg::Hello(hello))).await?;
        let welcome = self.expect(r#"{"type":"welcome""#).await?;
        self.send(&text(&ClientMsg::Join { room: room.clone(), after })).await?;
        let joined = self.expect(r#"{"type":"joined""#).await?;
        Ok((welcome, joined))
    }

    /// Reads until the load ends, writing whatever arrives on `outgoing`, and tallies
    /// what it receives: latency of timed messages, acknowledgements, errors, gaps in
    /// numbering.
    pub async fn run(mut self, mut wiring: Wiring) -> Seen {
        let mut seen = Seen::default();
        seen.closed = self.run_from(&mut seen, &mut wiring).await == Ended::Closed;
        seen
    }

    /// Like [`Conn::run`], tallying into `seen`, until the load's phase changes or the
    /// connection closes.
    pub async fn run_from(&mut self, seen: &mut Seen, wiring: &mut Wiring) -> Ended {
        loop {
            // Everything already read, then more.
            while let Some((opcode, range)) = self.parse() {
                match opcode {
                    OP_TEXT => {
                        if tally(seen, &self.buf[range]) {
                            wiring.received.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    OP_PING => {
                        let pong = frame(OP_PONG, &self.buf[range]);
                        if self.stream.write_all(&pong).await.is_err() {
                            return Ended::Closed;
                        }
                    }
                    OP_CLOSE => return Ended::Closed,
                    _ => {}
                }
            }
            tokio::select! {
                biased;
                _ = wiring.phase.changed() => return Ended::Phase,
                Some(bytes) = wiring.outgoing.recv() => {
                    if self.stream.write_all(&bytes).await.is_err() {
                        return Ended::Closed;
                    }
                }
                more = self.fill() => if !matches!(more, Ok(true)) {
                    return Ended::Closed;
                },
            }
        }
    }
}

/// What a running connection is wired to: frames to write, the load's phase (a change
/// ends [`Conn::run_from`]), and the load's count of messages received.
pub struct Wiring {
    pub outgoing: mpsc::UnboundedReceiver<Vec<u8>>,
    pub phase: watch::Receiver<u8>,
    pub received: Arc<AtomicU64>,
}

/// Why [`Conn::run_from`] returned.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The load moved to its next phase.
    Phase,
    /// The server closed the connection, or it failed.
    Closed,
}

/// The first complete WebSocket frame in `b`, if there is one: its opcode, its mask
/// (client frames have one), and where its payload lies in `b` (it ends the frame).
pub fn frame_at(b: &[u8]) -> Option<(u8, Option<[u8; 4]>, std::ops::Range<usize>)> {
    if b.len() < 2 {
        return None;
    }
    let opcode = b[0] & 0x0f;
    let (len, mut at) = match b[1] & 0x7f {
        126 if b.len() >= 4 => (u16::from_be_bytes([b[2], b[3]]) as usize, 4),
        127 if b.len() >= 10 => (u64::from_be_bytes(b[2..10].try_into().ok()?) as usize, 10),
        126 | 127 => return None,
        n => (n as usize, 2),
    };
    let mask = if b[1] & 0x80 != 0 {
        let m: [u8; 4] = b.get(at..at + 4)?.try_into().ok()?;
        at += 4;
        Some(m)
    } else {
        None
    };
    (b.len() >= at + len).then_some((opcode, mask, at..at + len))
}

/// Folds one received text frame into the tally, reading only what it needs. True for
/// a chat message seen for the first time.
fn tally(seen: &mut Seen, frame: &[u8]) -> bool {
    if frame.starts_with(br#"{"type":"message""#) {
        let received = now_us();
        match number_after(frame, br#""seq":"#) {
            Some(seq) if !seen.number(seq) => {
                if seen.duplicates == 1 {
                    eprintln!("message {seq} again: {}", String::from_utf8_lossy(frame));
                }
                return false;
            }
            Some(_) => {}
            None => seen.messages += 1,
        }
        if let Some(sent) = number_after(frame, br#""text":""#) {
            seen.latencies_us.push(received.saturating_sub(sent).min(u32::MAX as u64) as u32);
        }
        return true;
    } else if frame.starts_with(br#"{"type":"ack""#) {
        seen.acks += 1;
    } else if frame.starts_with(br#"{"type":"error""#) {
        if seen.errors == 0 {
            eprintln!("error from the server: {}", String::from_utf8_lossy(frame));
        }
        seen.errors += 1;
    }
    false
}

/// The decimal number right after the first `key` in `frame`.
fn number_after(frame: &[u8], key: &[u8]) -> Option<u64> {
    let at = frame.windows(key.len()).position(|w| w == key)? + key.len();
    let digits = frame[at..].iter().take_while(|b| b.is_ascii_digit());
    let mut n: u64 = 0;
    let mut any = false;
    for d in digits {
        n = n.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
        any = true;
    }
    any.then_some(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_number_and_the_stamp_of_a_message() {
        let mut seen = Seen::default();
        let stamp = now_us();
        let frame = format!(
            r#"{{"type":"message","room":"r","seq":7,"id":"a","author":{{"id":"u","name":"n"}},"kind":"text","text":"{stamp} xx","sent_at":1}}"#
        );
        assert!(tally(&mut seen, frame.as_bytes()));
        assert!(tally(&mut seen, frame.replace(r#""seq":7"#, r#""seq":10"#).as_bytes()));
        assert_eq!((seen.messages, seen.last_seq, seen.gaps), (2, 10, 2));
        assert_eq!(seen.latencies_us.len(), 2);
        assert!(seen.latencies_us[0] < 1_000_000);
    }

    #[test]
    fn a_number_seen_before_is_a_duplicate_not_a_delivery() {
        let mut seen = Seen::default();
        let message = |seq: u64| {
            format!(
                r#"{{"type":"message","room":"r","seq":{seq},"id":"a","author":{{"id":"u","name":"n"}},"kind":"text","text":"1 x","sent_at":1}}"#
            )
        };
        for seq in [1, 2, 2, 3, 1, 4] {
            tally(&mut seen, message(seq).as_bytes());
        }
        assert_eq!((seen.messages, seen.duplicates, seen.gaps, seen.last_seq), (4, 2, 0, 4));
        assert_eq!(seen.latencies_us.len(), 4);
    }

    #[test]
    fn frames_are_masked_with_the_right_length_header() {
        let f = frame(OP_TEXT, &[b'a'; 200]);
        assert_eq!((f[0], f[1], u16::from_be_bytes([f[2], f[3]])), (0x81, 0x80 | 126, 200));
        assert_eq!(f.len(), 4 + 4 + 200);
        assert_eq!(f[8] ^ MASK[0], b'a');
    }
}
