import Type, { type Static } from 'typebox';
import { type Address, type Hex, type LocalAccount, recoverTypedDataAddress } from 'viem';
import { FarplayError } from './errors.js';

/**
 * A capability snapshot: what `farplay-edge bench` measured on this machine (concurrent sessions sustained
 * at ≥ 95 % of the target fps), signed by the edge's node key as EIP-712 typed data (domain
 * `capabilityDomain`) and bound to a nonce the matchmaker issued just before the bench (GET
 * /v1/operator/nonce), so it cannot be made up in advance. The edge sends it with its registration, and
 * the matchmaker refuses a registration that declares more sessions than the snapshot measured.
 */
export const CapabilitySnapshotPayload = Type.Object(
  {
    edge: Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' }),
    /** Concurrent sessions sustained at `width`×`height`@`fps`. */
    sessions: Type.Integer({ minimum: 0, maximum: 10_000 }),
    width: Type.Integer({ minimum: 1, maximum: 16_384 }),
    height: Type.Integer({ minimum: 1, maximum: 16_384 }),
    fps: Type.Integer({ minimum: 1, maximum: 1000 }),
    /** The encoder the sessions used, e.g. 'h264_nvenc'. */
    encoder: Type.String({ minLength: 1, maxLength: 64 }),
    /** Slowest session's delivered fps at that count, in thousandths. */
    minFpsMilli: Type.Integer({ minimum: 0, maximum: 10_000_000 }),
    cpu: Type.String({ maxLength: 128 }),
    cores: Type.Integer({ minimum: 1, maximum: 65_536 }),
    gpu: Type.String({ maxLength: 128 }),
    /** Unix ms the measurement finished. */
    measuredAt: Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 }),
    /** The matchmaker's nonce (GET /v1/operator/nonce) fetched before the bench started. */
    nonce: Type.String({ minLength: 16, maxLength: 128, pattern: '^[A-Za-z0-9_-]+$' }),
  },
  { additionalProperties: false },
);
export type CapabilitySnapshotPayload = Static<typeof CapabilitySnapshotPayload>;

/** A capability snapshot and its EIP-712 signature by the node key (the file `farplay-edge bench` writes). */
export const SignedCapabilitySnapshot = Type.Object(
  {
    payload: CapabilitySnapshotPayload,
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }),
  },
  { additionalProperties: false },
);
export type SignedCapabilitySnapshot = Static<typeof SignedCapabilitySnapshot>;

/** EIP-712 domain of capability snapshots: the same as edge control messages (edgeRegistration.ts imports this file). */
export const capabilityDomain = { name: 'Farplay Matchmaker', version: '1' } as const;

/** EIP-712 type of a capability snapshot. */
export const capabilitySnapshotTypes = {
  CapabilitySnapshot: [
    { name: 'edge', type: 'address' },
    { name: 'sessions', type: 'uint32' },
    { name: 'width', type: 'uint32' },
    { name: 'height', type: 'uint32' },
    { name: 'fps', type: 'uint32' },
    { name: 'encoder', type: 'string' },
    { name: 'minFpsMilli', type: 'uint32' },
    { name: 'cpu', type: 'string' },
    { name: 'cores', type: 'uint32' },
    { name: 'gpu', type: 'string' },
    { name: 'measuredAt', type: 'uint64' },
    { name: 'nonce', type: 'string' },
  ],
} as const;

function typedData(payload: CapabilitySnapshotPayload) {
  return {
    domain: capabilityDomain,
    types: capabilitySnapshotTypes,
    primaryType: 'CapabilitySnapshot',
    message: { ...payload, edge: payload.edge as Address, measuredAt: BigInt(payload.measuredAt) },
  } as const;
}

/** Signs a capability snapshot with the edge's node key. */
export async function signCapabilitySnapshot(
  account: LocalAccount,
  payload: CapabilitySnapshotPayload,
): Promise<SignedCapabilitySnapshot> {
  const signature = await account.signTypedData(typedData(payload));
  return { payload, signature };
}

/** Checks that `snapshot` is signed by the edge it names; throws `OPERATOR_BAD_CAPABILITY` if not. */
export async function verifyCapabilitySnapshot(snapshot: SignedCapabilitySnapshot): Promise<void> {
  let recovered: Address;
  try {
    recovered = await recoverTypedDataAddress({
      ...typedData(snapshot.payload),
      signature: snapshot.signature as Hex,
    });
  } catch (cause) {
    throw new FarplayError('OPERATOR_BAD_CAPABILITY', 'capability snapshot signature is malformed', {
      cause,
    });
  }
  if (recovered.toLowerCase() !== snapshot.payload.edge.toLowerCase()) {
    throw new FarplayError(
      'OPERATOR_BAD_CAPABILITY',
      `capability snapshot is not signed by ${snapshot.payload.edge}`,
    );
  }
}
