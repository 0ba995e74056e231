//! The yardstick: a minimal broadcaster that speaks just enough of Palaver's protocol for
//! the load to run against it (hello, join, send), keeps its rooms' members and numbers in
//! memory and nothing else, frames each message once and makes one `write(2)` per
//! delivery. `palaver-bench baseline` measures it under the same fan-out load as
//! Palaver, on the same core, so the two compare.

use std::{cell::RefCell, collections::HashMap, io, rc::Rc};
use tokio::{
    io::AsyncReadExt,
    net::{tcp::OwnedWriteHalf, TcpListener},
};

/// Runs the broadcaster until killed. Prints the address it listens on.
pub fn serve() -> io::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&runtime, async {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("baseline listening on http://{}", listener.local_addr()?);
        let rooms: Rooms = Rc::default();
        loop {
            let (stream, _) = listener.accept().await?;
            stream.set_nodelay(true)?;
            let rooms = rooms.clone();
            tokio::task::spawn_local(async move {
                let _ = connection(stream, rooms).await;
            });
        }
    })
}

/// A room: its members' sockets and the number of its last message.
#[derive(Default)]
struct Room {
    members: Vec<Rc<OwnedWriteHalf>>,
    seq: u64,
}

/// Every room, by name.
type Rooms = Rc<RefCell<HashMap<String, Room>>>;

async fn connection(stream: tokio::net::TcpStream, rooms: Rooms) -> io::Result<()> {
    let (mut read, write) = stream.into_split();
    let write = Rc::new(write);
    let mut buf = Vec::with_capacity(4096);
    // The upgrade: answer 101 once the request's head is in.
    loop {
        if read.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
        if let Some(at) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            buf.drain(..at + 4);
            break;
        }
    }
    write_all(&write, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n").await?;
    loop {
        while let Some((opcode, payload)) = take_frame(&mut buf) {
            if opcode == 0x8 {
                return Ok(());
            }
            if opcode != 0x1 {
                continue;
            }
            let text = String::from_utf8_lossy(&payload);
            if text.contains(r#""type":"hello""#) {
                write_all(&write, &server_frame(br#"{"type":"welcome","user":{"id":"u","name":"n"},"token":"t"}"#))
                    .await?;
            } else if text.contains(r#""type":"join""#) {
                let room = field(&text, r#""room":""#).unwrap_or("");
                rooms.borrow_mut().entry(room.to_owned()).or_default().members.push(write.clone());
                let joined =
                    br#"{"type":"joined","room":"r","messages":[],"complete":true,"has_older":false,"online":[]}"#;
                write_all(&write, &server_frame(joined)).await?;
            } else if text.contains(r#""type":"send""#) {
                let name = field(&text, r#""room":""#).unwrap_or("");
                let body = field(&text, r#""text":""#).unwrap_or("");
                let id = field(&text, r#""id":""#).unwrap_or("");
                let n = {
                    let mut rooms = rooms.borrow_mut();
                    let Some(room) = rooms.get_mut(name) else { continue };
                    room.seq += 1;
                    let n = room.seq;
                    let message = format!(
                        r#"{{"type":"message","room":"{name}","seq":{n},"id":"{id}","author":{{"id":"u","name":"n"}},"kind":"text","text":"{body}","sent_at":0}}"#
                    );
                    // Framed once; one write per recipient.
                    let frame = server_frame(message.as_bytes());
                    for member in &room.members {
                        let _ = member.try_write(&frame);
                    }
                    n
                };
                let ack = format!(r#"{{"type":"ack","room":"{name}","id":"{id}","seq":{n}}}"#);
                write_all(&write, &server_frame(ack.as_bytes())).await?;
            }
        }
        if read.read_buf(&mut buf).await? == 0 {
            return Ok(());
        }
    }
}

async fn write_all(write: &Rc<OwnedWriteHalf>, bytes: &[u8]) -> io::Result<()> {
    let mut done = 0;
    while done < bytes.len() {
        write.writable().await?;
        match write.try_write(&bytes[done..]) {
            Ok(n) => done += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The string value after `key` (no escapes expected in load-test frames).
fn field<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(key)? + key.len();
    let end = text[start..].find('"')? + start;
    Some(&text[start..end])
}

/// A server frame: unmasked.
fn server_frame(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 4);
    out.push(0x81);
    if payload.len() < 126 {
        out.push(payload.len() as u8);
    } else {
        out.push(126);
        out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// Takes one masked client frame off the front of `buf`, unmasked.
fn take_frame(buf: &mut Vec<u8>) -> Option<(u8, Vec<u8>)> {
    let (opcode, mask, payload) = crate::client::frame_at(buf)?;
    let mask = mask.unwrap_or([0; 4]);
    let unmasked = buf[payload.clone()].iter().enumerate().map(|(i, b)| b ^ mask[i % 4]).collect();
    buf.drain(..payload.end);
    Some((opcode, unmasked))
}
