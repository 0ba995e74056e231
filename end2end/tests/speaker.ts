// A chat client in Node that speaks Palaver's protocol (docs/PROTOCOL.md) over a plain
// WebSocket: for posting into rooms from outside any browser, quickly and in bulk.
import WebSocket from "ws";

/** How long any one answer from the server may take before the wait fails. */
const ANSWER_MS = 15_000;

/** A frame from the server, as parsed JSON. */
export type Frame = { type: string; [field: string]: any };

export class Speaker {
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  /** The session token from the latest `welcome`. */
  token = "";
  private waiters = new Set<() => void>();
  private closed: Error | null = null;
  private sent = 0;

  private constructor(private ws: WebSocket) {
    ws.on("message", (data) => {
      this.frames.push(JSON.parse(String(data)));
      this.waiters.forEach((wake) => wake());
    });
    const ended = (why: Error) => {
      this.closed ??= why;
      this.waiters.forEach((wake) => wake());
    };
    ws.on("close", (code) => ended(new Error(`the chat socket closed (${code})`)));
    ws.on("error", ended);
  }

  /** Opens a chat socket to the server at `baseURL` and says hello as `name`. */
  static async connect(baseURL: string, name: string): Promise<Speaker> {
    const ws = new WebSocket(`${baseURL.replace(/^http/, "ws")}/ws`, { handshakeTimeout: ANSWER_MS });
    await new Promise((opened, failed) => {
      ws.once("open", opened);
      ws.once("error", failed);
    });
    const speaker = new Speaker(ws);
    await speaker.hello({ name });
    return speaker;
  }

  /** Says hello (a rename, with the token and a new name); resolves with the answer. */
  async hello(fields: { name?: string; token?: string }): Promise<Frame> {
    const from = this.frames.length;
    this.send({ type: "hello", ...fields });
    const answer = await this.next((f) => f.type === "welcome" || f.type === "error", from);
    if (answer.type === "welcome") this.token = answer.token;
    return answer;
  }

  /** Joins `room`; resolves with the `joined` frame. */
  async join(room: string): Promise<Frame> {
    const from = this.frames.length;
    this.send({ type: "join", room });
    return this.next((f) => f.type === "joined" && f.room === room, from);
  }

  /**
   * Posts `texts` to `room` all at once, and resolves with their numbers once every one
   * is acknowledged (stored). Fails on any error, rate limits included: the shared test
   * server's are raised out of the way.
   */
  async post(room: string, texts: string[]): Promise<number[]> {
    const from = this.frames.length;
    const ids = texts.map(() => `speaker-${++this.sent}`);
    texts.forEach((text, i) => this.send({ type: "send", room, id: ids[i], text }));
    const waiting = new Set(ids);
    const seqs = new Map<string, number>();
    await this.next((f) => {
      if (f.type === "error" && waiting.has(f.id)) throw new Error(`refused: ${JSON.stringify(f)}`);
      if (f.type === "ack" && waiting.delete(f.id)) seqs.set(f.id, f.seq);
      return waiting.size === 0;
    }, from);
    return ids.map((id) => seqs.get(id)!);
  }

  /** Sends one frame as it is. */
  send(frame: object) {
    this.ws.send(JSON.stringify(frame));
  }

  /**
   * The first frame at index `from` or later for which `match` is true, waiting for it
   * at most `ms`.
   */
  next(match: (f: Frame) => boolean, from = 0, ms = ANSWER_MS): Promise<Frame> {
    return new Promise((found, failed) => {
      let at = from;
      const check = () => {
        try {
          for (; at < this.frames.length; at++) {
            if (match(this.frames[at])) return done(() => found(this.frames[at]));
          }
        } catch (e) {
          return done(() => failed(e));
        }
        if (this.closed) done(() => failed(this.closed));
      };
      const timer = setTimeout(() => done(() => failed(new Error(`no answer within ${ms} ms`))), ms);
      const done = (settle: () => void) => {
        clearTimeout(timer);
        this.waiters.delete(check);
        settle();
      };
      this.waiters.add(check);
      check();
    });
  }

  close() {
    this.ws.close();
  }
}

/** Posts `texts` to `room` as `name`, from a socket of its own that it then closes. */
export async function postAs(baseURL: string, name: string, room: string, texts: string[]): Promise<number[]> {
  const speaker = await Speaker.connect(baseURL, name);
  try {
    await speaker.join(room);
    return await speaker.post(room, texts);
  } finally {
    speaker.close();
  }
}
