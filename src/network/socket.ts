// One netlink socket (rtnetlink, or nfnetlink for nf_tables): requests go out with a fresh
// sequence number, and the replies that carry it come back as messages, an ACK, or an error
// naming the whole call. Blocking reads are fine here: the kernel answers synchronously, within
// the send (dumps, within the read).
import { KernelError } from '../errors.js';
import { errnoName } from '../sys/errno.js';
import {
  AF_NETLINK, bind, close, closeOffThread, MSG_DONTWAIT, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_NETFILTER, NETLINK_ROUTE, recv, sendto, sendtoOffThread, setsockopt,
  setsockoptInt, SO_RCVBUF, SO_RCVBUFFORCE, SO_RCVTIMEO, SOCK_CLOEXEC, SOCK_RAW, socket, SOL_NETLINK, SOL_SOCKET, MSG_TRUNC,
} from '../sys/libc.js';
import {
  decodeAck, decodeMessages, encodeMessage, messageTypeName, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END,
  NFNL_SUBSYS_NFTABLES, nfgenmsg, NFPROTO_UNSPEC, NLM_F_ACK, NLM_F_DUMP, NLM_F_DUMP_INTR, NLM_F_REQUEST,
  NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, readI32, writeU16, type Message,
} from './nl/index.js';

/** Largest datagram we read; the kernel sends dumps in parts of at most 32 KiB. */
const RECV_BUFFER = 64 * 1024;
/** How long a read may block before the request is reported as unanswered. */
const REPLY_TIMEOUT_SECONDS = 10;
/** How often a dump the kernel reports as interrupted (NLM_F_DUMP_INTR) is retried. */
const DUMP_ATTEMPTS = 5;

/** One request of a batch: its type, flags beyond NLM_F_REQUEST | NLM_F_ACK, body, and what an error calls it besides its type. */
export interface BatchedRequest {
  readonly type: number;
  readonly flags: number;
  readonly body: Buffer;
  readonly what: string;
}

/** A netlink socket (NETLINK_ROUTE unless said) in the network namespace of the thread that opened it. */
export class NetlinkSocket {
  private seq = Math.floor(Math.random() * 0x7fffffff);
  private readonly buf = Buffer.alloc(RECV_BUFFER);
  private closed = false;

  private constructor(readonly fd: number) {}

  /** Opens a socket in the calling thread's current network namespace (NETLINK_NETFILTER: nf_tables). */
  static open(protocol: typeof NETLINK_ROUTE | typeof NETLINK_NETFILTER = NETLINK_ROUTE): NetlinkSocket {
    const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    try {
      // The kernel's own explanation with every error, and no copy of our request in it.
      setsockoptInt(fd, SOL_NETLINK, NETLINK_EXT_ACK, 1);
      setsockoptInt(fd, SOL_NETLINK, NETLINK_CAP_ACK, 1);
      const timeval = new BigInt64Array([BigInt(REPLY_TIMEOUT_SECONDS), 0n]);
      setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, Buffer.from(timeval.buffer));
      bind(fd, sockaddrNetlink());
    } catch (e) {
      close(fd);
      throw e;
    }
    return new NetlinkSocket(fd);
  }

  /**
   * A socket in the calling thread's current network namespace that receives the kernel's
   * notifications of the multicast `groups` (RTMGRP_ bits: RTMGRP_LINK), read with pending(),
   * with `room` bytes of receive buffer (what the kernel queues past it is dropped: ENOBUFS).
   */
  static listen(groups: number, room: number): NetlinkSocket {
    const fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
    try {
      receiveRoom(fd, room);
      bind(fd, sockaddrNetlink(groups));
    } catch (e) {
      close(fd);
      throw e;
    }
    return new NetlinkSocket(fd);
  }

  /**
   * The messages queued on this socket now (a listen() socket's notifications), read without
   * waiting. Throws a KernelError ENOBUFS when the kernel dropped some (the buffer overran).
   */
  pending(): Message[] {
    const messages: Message[] = [];
    for (;;) {
      const n = this.receive('notifications', MSG_DONTWAIT);
      if (n === undefined) return messages;
      if (n > this.buf.length) throw new Error(`netlink notification of ${n} bytes exceeds the ${this.buf.length}-byte buffer`);
      messages.push(...decodeMessages(Buffer.from(this.buf.subarray(0, n))));
    }
  }

  /**
   * Sends a request with NLM_F_ACK and returns the messages the kernel answered before its
   * ACK (none for a change, the object for a get). `what` completes the message type into the
   * call an error names: `stkv1a2b (peer eth0 in stk-p-web)`.
   */
  request(type: number, flags: number, body: Buffer, what: string): Message[] {
    const call = `${messageTypeName(type)} ${what}`;
    const seq = this.send(type, NLM_F_REQUEST | NLM_F_ACK | flags, body, call);
    return this.collect(seq, call, false).messages;
  }

  /**
   * request(), the kernel's work done on one of libuv's threads (sendtoOffThread): for a request
   * that waits in the kernel (a link deletion). Nothing else may use this socket meanwhile (its
   * replies would be taken for stale ones): callers open a socket of its own for it.
   */
  async requestOffThread(type: number, flags: number, body: Buffer, what: string): Promise<Message[]> {
    const call = `${messageTypeName(type)} ${what}`;
    const { seq, msg } = this.next(type, NLM_F_REQUEST | NLM_F_ACK | flags, body, call);
    await sendtoOffThread(this.fd, msg, sockaddrNetlink(), () => `send ${call}`);
    return this.collect(seq, call, false).messages;
  }

  /**
   * Sends nf_tables requests as one batch (NFNL_MSG_BATCH_BEGIN … END in one datagram): the
   * kernel applies all of them or none. Each is acknowledged; the first that failed, in the
   * batch's order, is thrown, named by its `what` (a batch the kernel refused as a whole is
   * reported against its first request). The kernel processes the batch, and queues every
   * answer it gives, within the send: what is not queued once the queue is read empty never
   * comes (a batch it could not parse, answers it failed to queue), and is said so at once.
   * The send is made on one of libuv's threads (sendtoOffThread): applying a table waits in the
   * kernel (3-8 ms for a project's firewall in the host's namespace, traced in a fresh `up`),
   * which no longer holds up this thread. Nothing else may use this socket meanwhile.
   */
  async batch(requests: readonly BatchedRequest[]): Promise<void> {
    if (requests.length === 0) return;
    // Room for an acknowledgement each (~1 KiB of buffer apiece, the kernel's accounting): past
    // the default (~208 KiB, ~200 answers) the kernel would drop them, the batch applied all the same.
    const room = requests.length * 1024 + 64 * 1024;
    if (room > 200 * 1024) receiveRoom(this.fd, room);
    const named = (r: BatchedRequest) => `${messageTypeName(r.type)} ${r.what}`;
    const first = named(requests[0]!);
    const control = (type: number) => encodeMessage({ type, flags: NLM_F_REQUEST, seq: this.nextSeq() }, nfgenmsg(NFPROTO_UNSPEC, NFNL_SUBSYS_NFTABLES));
    const begin = control(NFNL_MSG_BATCH_BEGIN);
    const beginSeq = this.seq;
    const calls = new Map<number, string>();
    const parts = [begin];
    for (const r of requests) {
      const { seq, msg } = this.next(r.type, NLM_F_REQUEST | NLM_F_ACK | r.flags, r.body, named(r));
      calls.set(seq, named(r));
      parts.push(msg);
    }
    parts.push(control(NFNL_MSG_BATCH_END));
    await sendtoOffThread(this.fd, Buffer.concat(parts), sockaddrNetlink(), () => `send the batch of ${first} and ${requests.length - 1} more`);
    const failed = new Map<number, KernelError>();
    const waiting = new Set(calls.keys());
    while (waiting.size > 0) {
      const n = this.receive(first, MSG_DONTWAIT);
      if (n === undefined) {
        if (failed.size > 0) break; // the first failure says what went wrong
        const unanswered = [...calls.keys()].filter((seq) => waiting.has(seq));
        throw new Error(`${first}: the kernel answered ${calls.size - unanswered.length} of the batch's ${calls.size} requests and no more (first unanswered: ${calls.get(unanswered[0]!)})`);
      }
      if (n > this.buf.length) throw new Error(`${first}: reply of ${n} bytes exceeds the ${this.buf.length}-byte buffer`);
      for (const m of decodeMessages(Buffer.from(this.buf.subarray(0, n)))) {
        if (m.header.type !== NLMSG_ERROR) continue;
        const ack = decodeAck(m.body, m.header.flags);
        if (m.header.seq === beginSeq && ack.errno !== 0) throw kernelError(`batch of ${first} and ${requests.length - 1} more`, ack.errno, ack.message);
        const call = calls.get(m.header.seq);
        if (call === undefined || !waiting.delete(m.header.seq)) continue; // an earlier, abandoned request's
        if (ack.errno !== 0) failed.set(m.header.seq, kernelError(call, ack.errno, ack.message));
      }
    }
    const firstFailed = [...calls.keys()].find((seq) => failed.has(seq));
    if (firstFailed !== undefined) throw failed.get(firstFailed)!;
  }

  /** Sends a dump request (NLM_F_DUMP) and returns every message of the multi-part reply. */
  dump(type: number, body: Buffer, what: string): Message[] {
    const call = `${messageTypeName(type)} ${what}`;
    for (let attempt = 1; ; attempt++) {
      const seq = this.send(type, NLM_F_REQUEST | NLM_F_DUMP, body, call);
      const { messages, interrupted } = this.collect(seq, call, true);
      if (!interrupted || attempt >= DUMP_ATTEMPTS) return messages;
    }
  }

  /** Closes the socket; closing twice is a no-op. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    close(this.fd);
  }

  /**
   * Closes the socket on one of libuv's threads (closeOffThread): the release of an nfnetlink
   * socket that changed nf_tables waits in the kernel for the transaction's cleanup (5-19 ms
   * measured in a namespace of its own, 2 ms traced in a fresh `up`). The socket is unusable
   * from this call on; the promise settles once the descriptor is closed.
   */
  closeOffThread(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return closeOffThread(this.fd);
  }

  /** The next request's sequence number and its encoded message. */
  private next(type: number, flags: number, body: Buffer, call: string): { seq: number; msg: Buffer } {
    if (this.closed) throw new Error(`${call}: netlink socket is closed`);
    const seq = this.nextSeq();
    return { seq, msg: encodeMessage({ type, flags, seq }, body) };
  }

  private nextSeq(): number {
    this.seq = (this.seq + 1) >>> 0;
    return this.seq;
  }

  private send(type: number, flags: number, body: Buffer, call: string): number {
    const { seq, msg } = this.next(type, flags, body, call);
    sendto(this.fd, msg, sockaddrNetlink(), () => `send ${call}`);
    return seq;
  }

  /**
   * One datagram; a read cut short by a signal (EINTR: SIGCHLD from a spawn) is retried. With
   * MSG_DONTWAIT, undefined when nothing is queued.
   */
  private receive(call: string): number;
  private receive(call: string, dontWait: typeof MSG_DONTWAIT): number | undefined;
  private receive(call: string, dontWait = 0): number | undefined {
    for (;;) {
      try {
        return recv(this.fd, this.buf, MSG_TRUNC | dontWait, () => `receive reply to ${call}`);
      } catch (e) {
        if (dontWait !== 0 && e instanceof KernelError && e.errno === 'EAGAIN') return undefined;
        if (!(e instanceof KernelError && e.errno === 'EINTR')) throw e;
      }
    }
  }

  private collect(seq: number, call: string, dump: boolean): { messages: Message[]; interrupted: boolean } {
    const messages: Message[] = [];
    let interrupted = false;
    for (;;) {
      const n = this.receive(call);
      if (n > this.buf.length) {
        throw new Error(`${call}: reply of ${n} bytes exceeds the ${this.buf.length}-byte buffer`);
      }
      for (const m of decodeMessages(Buffer.from(this.buf.subarray(0, n)))) {
        if (m.header.seq !== seq) continue; // the tail of an earlier, abandoned request
        if (m.header.flags & NLM_F_DUMP_INTR) interrupted = true;
        switch (m.header.type) {
          case NLMSG_NOOP:
            continue;
          case NLMSG_OVERRUN:
            throw new KernelError(call, 'ENOBUFS', 105);
          case NLMSG_ERROR: {
            const ack = decodeAck(m.body, m.header.flags);
            if (ack.errno !== 0) throw kernelError(call, ack.errno, ack.message);
            return { messages, interrupted };
          }
          case NLMSG_DONE: {
            const error = m.body.length >= 4 ? -readI32(m.body, 0) : 0;
            if (error > 0) throw kernelError(call, error, undefined);
            if (dump) return { messages, interrupted };
            continue;
          }
          default:
            messages.push(m);
        }
      }
    }
  }
}

function kernelError(call: string, errno: number, message: string | undefined): KernelError {
  const options = message ? { cause: new Error(`kernel: ${message}`) } : undefined;
  return new KernelError(call, errnoName(errno), errno, options);
}

/** Sets the receive buffer of socket `fd` to `room` bytes, past net.core.rmem_max where it may (CAP_NET_ADMIN). */
function receiveRoom(fd: number, room: number): void {
  try {
    setsockoptInt(fd, SOL_SOCKET, SO_RCVBUFFORCE, room);
  } catch {
    setsockoptInt(fd, SOL_SOCKET, SO_RCVBUF, room); // without CAP_NET_ADMIN: up to net.core.rmem_max
  }
}

/** struct sockaddr_nl: pid 0 (the kernel, or this socket's own the kernel picks), and the multicast `groups` it joins (none by default). */
function sockaddrNetlink(groups = 0): Buffer {
  const b = Buffer.alloc(12);
  writeU16(b, AF_NETLINK, 0);
  b.writeUInt32LE(groups >>> 0, 8); // nl_groups, after nl_pad and nl_pid
  return b;
}
