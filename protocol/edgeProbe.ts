import Type, { type Static } from 'typebox';
import { type Address, type Hex, type LocalAccount, recoverTypedDataAddress } from 'viem';
import { edgeControlDomain } from './edgeRegistration.js';
import { FarplayError } from './errors.js';

/**
 * A checker's request for a probe session on an edge (issue 9, active probes): signed (EIP-712, the matchmaker's
 * off-chain domain of its deployment) by the checker's key, whose address must be a checker the matchmaker assigns
 * sessions from (the staking chain's CheckerRegistry, or its configured checkers). The matchmaker answers with a
 * short-lived session token carrying `prb` (the checker's address) and no checkers (`chk`): the edge admits it
 * through its normal signalling path as a probe session — never billed, never reported to the matchmaker, only
 * on a free slot and ended at once when a player needs that slot (edge/README.md, Probe sessions).
 */
export const probeRequestTypes = {
  ProbeRequest: [
    { name: 'checker', type: 'address' },
    { name: 'edge', type: 'address' },
    { name: 'issuedAt', type: 'uint64' },
  ],
} as const;

const AddressString = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' });

export const ProbeRequestPayload = Type.Object(
  {
    checker: AddressString,
    edge: AddressString,
    /** Unix ms; refused when further than the matchmaker's `messageMaxAgeMs` from its clock. */
    issuedAt: Type.Integer({ minimum: 0, maximum: 8_640_000_000_000_000 }),
    /** The matchmaker deployment it is meant for (protocol/deployment.ts). */
    deployment: Type.String({ minLength: 1, maxLength: 64 }),
  },
  { additionalProperties: false },
);
export type ProbeRequestPayload = Static<typeof ProbeRequestPayload>;

export const SignedProbeRequest = Type.Object(
  { payload: ProbeRequestPayload, signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }) },
  { additionalProperties: false },
);
export type SignedProbeRequest = Static<typeof SignedProbeRequest>;

function typedData(payload: ProbeRequestPayload) {
  return {
    domain: edgeControlDomain(payload.deployment),
    types: probeRequestTypes,
    primaryType: 'ProbeRequest',
    message: {
      checker: payload.checker as Address,
      edge: payload.edge as Address,
      issuedAt: BigInt(payload.issuedAt),
    },
  } as const;
}

/** Signs a probe request with the checker's key. */
export async function signProbeRequest(
  account: LocalAccount,
  edge: Address,
  deployment: string,
  now = Date.now(),
): Promise<SignedProbeRequest> {
  const payload: ProbeRequestPayload = { checker: account.address, edge, issuedAt: now, deployment };
  return { payload, signature: await account.signTypedData(typedData(payload)) };
}

/**
 * Checks a probe request's deployment, age and signature (by `payload.checker`); whether that checker is one the
 * matchmaker assigns is the caller's. Throws `MM_WRONG_DEPLOYMENT`, `MM_STALE_MESSAGE` or `MM_BAD_SIGNATURE`.
 */
export async function verifyProbeRequest(
  request: SignedProbeRequest,
  deployment: string,
  maxAgeMs: number,
  now = Date.now(),
): Promise<void> {
  const { payload } = request;
  if (payload.deployment !== deployment) {
    throw new FarplayError('MM_WRONG_DEPLOYMENT', `probe request is for deployment ${payload.deployment}`, {
      details: { deployment },
    });
  }
  if (Math.abs(now - payload.issuedAt) > maxAgeMs) {
    throw new FarplayError('MM_STALE_MESSAGE', `probe request issuedAt is more than ${maxAgeMs} ms from now`);
  }
  let recovered: Address;
  try {
    recovered = await recoverTypedDataAddress({ ...typedData(payload), signature: request.signature as Hex });
  } catch (cause) {
    throw new FarplayError('MM_BAD_SIGNATURE', 'probe request signature is malformed', { cause });
  }
  if (recovered.toLowerCase() !== payload.checker.toLowerCase()) {
    throw new FarplayError('MM_BAD_SIGNATURE', `probe request is not signed by ${payload.checker}`);
  }
}
