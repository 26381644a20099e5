import { type Hex, isAddress } from 'viem';
import { encodeType } from './hashQosLink.js';
import { keccak256Bytes } from './keccak256Bytes.js';

/**
 * EIP-712 struct hashing without viem's generic path: one buffer and one js-sha3 keccak per struct, type hashes
 * computed once. Same values as viem's `hashStruct` (`test/unit/matchmaker-edgeMessageDigest.test.ts`) and the
 * same refusals (an address that is not one — mixed case with a wrong checksum —, an integer out of its type's
 * range, a bytes32 of another size, all thrown as errors); about 30x cheaper. The matchmaker verifies a signed
 * heartbeat of every edge every 2 s: through viem the digest alone cost ~0.3–0.7 ms of its one thread each.
 * Handles the types edge control messages use: string, address, bytesN, (u)intN, bool, structs and arrays
 * of them.
 */
type Field = { readonly name: string; readonly type: string };
type Types = Record<string, readonly Field[]>;

const typeHashes = new WeakMap<Types, Map<string, Uint8Array>>();
const utf8 = new TextEncoder();
/** keccak256 of nothing: the hash of an empty string or array (a heartbeat without sessions or peers has four). */
const EMPTY = keccak256Bytes(new Uint8Array(0));
const hashOf = (data: Uint8Array) => (data.length === 0 ? EMPTY : keccak256Bytes(data));

function typeHash(types: Types, primary: string): Uint8Array {
  let byType = typeHashes.get(types);
  if (!byType) {
    byType = new Map();
    typeHashes.set(types, byType);
  }
  let hash = byType.get(primary);
  if (!hash) {
    hash = keccak256Bytes(utf8.encode(encodeType(types, primary)));
    byType.set(primary, hash);
  }
  return hash;
}

/** Writes the integer `value` of type `(u)int<bits>` as a 32-byte big-endian two's-complement word. */
function putInt(out: Uint8Array, offset: number, value: unknown, signed: boolean, bits: number): void {
  if (typeof value !== 'number' && typeof value !== 'bigint') throw new TypeError(`not an integer: ${value}`);
  if (typeof value === 'number' && !Number.isSafeInteger(value))
    throw new RangeError(`not an integer: ${value}`);
  if (typeof value === 'number' && value >= 0 && (bits > 52 || value < 2 ** bits / (signed ? 2 : 1))) {
    // The common case (counts, times): no BigInt.
    let v = value;
    for (let i = offset + 31; v > 0; i--) {
      out[i] = v % 256;
      v = Math.floor(v / 256);
    }
    return;
  }
  const v = BigInt(value);
  const min = signed ? -(2n ** BigInt(bits - 1)) : 0n;
  const max = signed ? 2n ** BigInt(bits - 1) - 1n : 2n ** BigInt(bits) - 1n;
  if (v < min || v > max)
    throw new RangeError(`${value} is out of range for ${signed ? 'int' : 'uint'}${bits}`);
  out.set(Buffer.from(BigInt.asUintN(256, v).toString(16).padStart(64, '0'), 'hex'), offset);
}

function putHex(out: Uint8Array, offset: number, value: unknown, size: number): void {
  if (typeof value !== 'string' || value.length !== 2 + 2 * size || !/^0x[0-9a-fA-F]*$/.test(value)) {
    throw new TypeError(`not ${size} bytes of hex: ${String(value)}`);
  }
  out.set(Buffer.from(value.slice(2), 'hex'), offset);
}

/** Encodes one field's value into the 32-byte word at `offset` of `out` (EIP-712 `encodeData`). */
function encodeField(types: Types, type: string, value: unknown, out: Uint8Array, offset: number): void {
  if (types[type] !== undefined) {
    out.set(hashTypedStruct(types, type, value as Record<string, unknown>), offset);
    return;
  }
  if (type === 'string') {
    if (typeof value !== 'string') throw new TypeError(`not a string: ${value}`);
    out.set(hashOf(utf8.encode(value)), offset);
    return;
  }
  if (type.endsWith(']')) {
    const inner = type.slice(0, type.lastIndexOf('['));
    if (!Array.isArray(value)) throw new TypeError(`not an array: ${value}`);
    const words = new Uint8Array(32 * value.length);
    value.forEach((item, i) => {
      encodeField(types, inner, item, words, 32 * i);
    });
    out.set(hashOf(words), offset);
    return;
  }
  if (type === 'address') {
    if (typeof value !== 'string' || !isAddress(value)) throw new TypeError(`not an address: ${value}`);
    putHex(out, offset + 12, value, 20);
    return;
  }
  if (type === 'bool') {
    if (typeof value !== 'boolean') throw new TypeError(`not a boolean: ${value}`);
    out[offset + 31] = value ? 1 : 0;
    return;
  }
  const int = /^(u?)int(\d+)$/.exec(type);
  if (int) {
    putInt(out, offset, value, int[1] === '', Number(int[2]));
    return;
  }
  const bytes = /^bytes(\d+)$/.exec(type);
  if (bytes) {
    putHex(out, offset, value, Number(bytes[1]));
    return;
  }
  throw new TypeError(`unsupported EIP-712 type ${type}`);
}

/** EIP-712 `hashStruct(primary, data)` as bytes. */
export function hashTypedStruct(types: Types, primary: string, data: Record<string, unknown>): Uint8Array {
  const fields = types[primary];
  if (!fields) throw new TypeError(`unknown EIP-712 type ${primary}`);
  const buf = new Uint8Array(32 * (fields.length + 1));
  buf.set(typeHash(types, primary), 0);
  fields.forEach((f, i) => {
    encodeField(types, f.type, data[f.name], buf, 32 * (i + 1));
  });
  return keccak256Bytes(buf);
}

/** The EIP-712 digest `keccak256(0x1901 ‖ domainSeparator ‖ hashStruct(primary, message))` as 0x-hex. */
export function hashTypedMessage(
  separator: Uint8Array,
  types: Types,
  primary: string,
  message: Record<string, unknown>,
): Hex {
  const buf = new Uint8Array(66);
  buf[0] = 0x19;
  buf[1] = 0x01;
  buf.set(separator, 2);
  buf.set(hashTypedStruct(types, primary, message), 34);
  return `0x${Buffer.from(keccak256Bytes(buf)).toString('hex')}`;
}
