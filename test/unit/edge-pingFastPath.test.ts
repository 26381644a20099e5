import { describe, expect, it } from 'vitest';
import { crc32c, sctpPacket } from '../../edge/session/directPong.js';
import { findPing } from '../../edge/session/pingFastPath.js';
import { InputType } from '../../protocol/input.js';

/** An SCTP packet (common header, checksum left 0: DTLS has authenticated it already) of these chunks. */
function packet(...chunks: Buffer[]): Buffer {
  const padded = chunks.map((chunk) => Buffer.concat([chunk, Buffer.alloc((4 - (chunk.length % 4)) % 4)]));
  return Buffer.concat([Buffer.alloc(12), ...padded]);
}

function dataChunk(userData: Buffer, { streamId = 0, ppid = 53, flags = 0x07 } = {}): Buffer {
  const chunk = Buffer.alloc(16 + userData.length);
  chunk[0] = 0; // DATA
  chunk[1] = flags; // U, B, E
  chunk.writeUInt16BE(chunk.length, 2);
  chunk.writeUInt32BE(1234, 4); // TSN
  chunk.writeUInt16BE(streamId, 8);
  chunk.writeUInt32BE(ppid, 12);
  userData.copy(chunk, 16);
  return chunk;
}

function ping(seq: number, t: number): Buffer {
  const message = Buffer.alloc(13);
  message[0] = InputType.ping;
  message.writeUInt32LE(seq, 1);
  message.writeDoubleLE(t, 5);
  return message;
}

/** A SACK chunk with one gap block, as Chromium bundles in front of its DATA. */
const sack = (() => {
  const chunk = Buffer.alloc(20);
  chunk[0] = 3;
  chunk.writeUInt16BE(20, 2);
  chunk.writeUInt16BE(1, 12);
  return chunk;
})();

describe('the pong fast path finds pings in decrypted SCTP packets', () => {
  it('finds a ping alone or behind a bundled SACK, with its seq and time intact', () => {
    const alone = findPing(packet(dataChunk(ping(7, 123.5))), 0);
    expect(alone?.readUInt32LE(1)).toBe(7);
    expect(alone?.readDoubleLE(5)).toBe(123.5);
    const bundled = findPing(packet(sack, dataChunk(ping(8, 99.25))), 0);
    expect(bundled?.readUInt32LE(1)).toBe(8);
    expect(bundled?.readDoubleLE(5)).toBe(99.25);
  });

  it('leaves everything else to werift: other messages, other channels, text, fragments, a SACK alone', () => {
    const keyDown = Buffer.from([InputType.keyDown, 1, 0, 0, 0, 5]);
    expect(findPing(packet(dataChunk(keyDown)), 0)).toBeUndefined();
    expect(findPing(packet(dataChunk(ping(1, 1), { streamId: 2 })), 0)).toBeUndefined();
    expect(findPing(packet(dataChunk(ping(1, 1), { ppid: 51 })), 0)).toBeUndefined();
    expect(findPing(packet(dataChunk(ping(1, 1), { flags: 0x06 })), 0)).toBeUndefined();
    expect(findPing(packet(sack), 0)).toBeUndefined();
    // A chunk whose length runs past the packet ends the walk.
    const truncated = packet(dataChunk(ping(1, 1))).subarray(0, 30);
    expect(findPing(truncated, 0)).toBeUndefined();
  });
});

describe('the direct pong packet', () => {
  it('carries the CRC32c a receiver checks (RFC 3720 test vector; SCTP packet checksum little-endian)', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    const chunk = dataChunk(ping(3, 4.5));
    const built = sctpPacket(5000, 5000, 0xdeadbeef, Buffer.concat([chunk, Buffer.alloc(3)]));
    const stored = built.readUInt32LE(8);
    const zeroed = Buffer.from(built);
    zeroed.writeUInt32LE(0, 8);
    expect(stored).toBe(crc32c(zeroed));
    expect(built.readUInt32BE(4)).toBe(0xdeadbeef);
    expect(findPing(built, 0)?.readUInt32LE(1)).toBe(3);
  });
});
