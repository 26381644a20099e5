import { isIPv4, isIPv6 } from 'node:net';

/** STUN (RFC 8489) magic cookie. */
const MAGIC = 0x2112a442;

/**
 * The answer to a STUN Binding request (`message`, from `address`:`port`): a Binding success response with
 * the XOR-MAPPED-ADDRESS the request came from, or undefined for anything that is not a well-formed Binding
 * request. The answer is 32 bytes for IPv4 (44 for IPv6) to a request of at least 20: at most 2.2× what was sent,
 * and only to the address the request came from.
 */
export function stunBindingResponse(message: Buffer, address: string, port: number): Buffer | undefined {
  if (message.length < 20 || message.length > 548) return undefined;
  if (message.readUInt16BE(0) !== 0x0001 || message.readUInt32BE(4) !== MAGIC) return undefined;
  const length = message.readUInt16BE(2);
  if (length % 4 !== 0 || 20 + length !== message.length) return undefined;
  const transaction = message.subarray(8, 20);
  let value: Buffer;
  if (isIPv4(address)) {
    value = Buffer.alloc(8);
    value.writeUInt8(0x01, 1);
    value.writeUInt16BE(port ^ (MAGIC >>> 16), 2);
    const ip = address.split('.').map(Number);
    for (let i = 0; i < 4; i++)
      value.writeUInt8((ip[i] as number) ^ ((MAGIC >>> (24 - 8 * i)) & 0xff), 4 + i);
  } else if (isIPv6(address)) {
    value = Buffer.alloc(20);
    value.writeUInt8(0x02, 1);
    value.writeUInt16BE(port ^ (MAGIC >>> 16), 2);
    const ip = ipv6Bytes(address);
    const mask = Buffer.concat([Buffer.from([0x21, 0x12, 0xa4, 0x42]), transaction]);
    for (let i = 0; i < 16; i++) value.writeUInt8((ip[i] as number) ^ (mask[i] as number), 4 + i);
  } else return undefined;
  const response = Buffer.alloc(20 + 4 + value.length);
  response.writeUInt16BE(0x0101, 0);
  response.writeUInt16BE(4 + value.length, 2);
  response.writeUInt32BE(MAGIC, 4);
  transaction.copy(response, 8);
  response.writeUInt16BE(0x0020, 20); // XOR-MAPPED-ADDRESS
  response.writeUInt16BE(value.length, 22);
  value.copy(response, 24);
  return response;
}

function ipv6Bytes(address: string): number[] {
  const [head = '', tail = ''] = address.split('::');
  const groups = (s: string) => (s ? s.split(':') : []);
  const h = groups(head);
  const t = groups(tail);
  const all = [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  return all.flatMap((g) => {
    const n = Number.parseInt(g, 16);
    return [n >> 8, n & 0xff];
  });
}
