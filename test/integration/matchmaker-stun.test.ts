import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { UdpProbeServer } from '../../matchmaker/UdpProbeServer.js';

// Issue 8: public edges without a STUN server may miss players whose only candidates are private. The
// matchmaker's UDP probe port also answers STUN Binding requests (RFC 8489) from the socket they came to.

const servers: UdpProbeServer[] = [];
afterAll(() => {
  for (const s of servers) s.close();
});

describe('the matchmaker answers STUN Binding requests', () => {
  it('tells a client its reflexive address (XOR-MAPPED-ADDRESS) and ignores what is not a Binding request', async () => {
    const server = await UdpProbeServer.start({ host: '127.0.0.1' });
    servers.push(server);
    const client = createSocket('udp4');
    client.bind(0, '127.0.0.1');
    await once(client, 'listening');
    const transaction = randomBytes(12);
    const request = Buffer.alloc(20);
    request.writeUInt16BE(0x0001, 0);
    request.writeUInt32BE(0x2112a442, 4);
    transaction.copy(request, 8);
    const replies: Buffer[] = [];
    client.on('message', (m, from) => {
      expect(from.port).toBe(server.port); // from the socket the request went to
      replies.push(m);
    });
    // Garbage and a STUN message of another type first: no answer to either.
    client.send(Buffer.from('hello'), server.port, '127.0.0.1');
    const other = Buffer.from(request);
    other.writeUInt16BE(0x0111, 0);
    client.send(other, server.port, '127.0.0.1');
    client.send(request, server.port, '127.0.0.1');
    await once(client, 'message');
    expect(replies).toHaveLength(1);
    const reply = replies[0] as Buffer;
    expect(reply.readUInt16BE(0)).toBe(0x0101); // Binding success
    expect(reply.subarray(8, 20).equals(transaction)).toBe(true);
    expect(reply.readUInt16BE(20)).toBe(0x0020); // XOR-MAPPED-ADDRESS
    const port = reply.readUInt16BE(26) ^ 0x2112;
    const cookie = [0x21, 0x12, 0xa4, 0x42];
    const ip = [0, 1, 2, 3].map((i) => (reply[28 + i] as number) ^ (cookie[i] as number)).join('.');
    expect(`${ip}:${port}`).toBe(`127.0.0.1:${client.address().port}`);
    client.close();
  });
});
