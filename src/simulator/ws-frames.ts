/**
 * The WebSocket wire (RFC 6455) as far as the simulated gateway needs it: the upgrade
 * handshake's accept key, text/close/ping/pong frames out (unmasked, as a server sends),
 * and a parser for the client's frames (masked, possibly fragmented).
 */
import { createHash } from 'node:crypto';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const OP_CONT = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

export function acceptKey(key: string): string {
  return createHash('sha1')
    .update(key + GUID)
    .digest('base64');
}

/** One unmasked frame (FIN set). */
export function frame(opcode: number, payload: Buffer | string = Buffer.alloc(0)): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const n = body.length;
  let head: Buffer;
  if (n < 126) {
    head = Buffer.from([0x80 | opcode, n]);
  } else if (n < 65_536) {
    head = Buffer.alloc(4);
    head[0] = 0x80 | opcode;
    head[1] = 126;
    head.writeUInt16BE(n, 2);
  } else {
    head = Buffer.alloc(10);
    head[0] = 0x80 | opcode;
    head[1] = 127;
    head.writeBigUInt64BE(BigInt(n), 2);
  }
  return Buffer.concat([head, body]);
}

export function closeFrame(code: number, reason = ''): Buffer {
  const r = Buffer.from(reason, 'utf8');
  const b = Buffer.alloc(2 + r.length);
  b.writeUInt16BE(code, 0);
  r.copy(b, 2);
  return frame(OP_CLOSE, b);
}

export interface Message {
  opcode: number;
  payload: Buffer;
}

/** Accumulates bytes and yields whole messages (fragments joined); throws on a protocol error. */
export class FrameParser {
  private buf: Buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];
  private fragOpcode = 0;

  push(chunk: Buffer): Message[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: Message[] = [];
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0] as number;
      const b1 = this.buf[1] as number;
      const fin = (b0 & 0x80) !== 0;
      const opcode = b0 & 0x0f;
      const masked = (b1 & 0x80) !== 0;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        const big = this.buf.readBigUInt64BE(2);
        if (big > 16_000_000n) throw new Error('frame too large');
        len = Number(big);
        off = 10;
      }
      if (!masked) throw new Error('client frames must be masked');
      if (this.buf.length < off + 4 + len) break;
      const mask = this.buf.subarray(off, off + 4);
      const payload = Buffer.from(this.buf.subarray(off + 4, off + 4 + len));
      for (let i = 0; i < payload.length; i++) payload[i] = (payload[i] as number) ^ (mask[i % 4] as number);
      this.buf = this.buf.subarray(off + 4 + len);
      if (opcode >= 0x8) {
        out.push({ opcode, payload });
        continue;
      }
      if (opcode !== OP_CONT) this.fragOpcode = opcode;
      this.fragments.push(payload);
      if (fin) {
        out.push({ opcode: this.fragOpcode, payload: Buffer.concat(this.fragments) });
        this.fragments = [];
      }
    }
    return out;
  }
}
