import Type, { type Static } from 'typebox';
import { type Address, type Hex, recoverTypedDataAddress } from 'viem';
import { FarplayError } from './errors.js';

/**
 * Session ownership: the player page makes a throwaway secp256k1 key per session and names its address
 * (`sessionKey`) in the session request. Every later act on that session — watching its events,
 * replacing it, ending it — carries a fresh EIP-712 signature by that key over the act, the session id
 * and the deployment (the matchmaker's id), with `issuedAt` (unix ms) inside a freshness window and a
 * random 32-byte `nonce` the matchmaker claims once. A proof is therefore useless for another act,
 * another session, another matchmaker deployment, or a second time. Runs in Node and in the browser.
 */

/** The acts a session key authorises. */
export const SessionActs = {
  /** Open the session's events socket (moved / ended, with the new token on a move). */
  watch: 'watch',
  /** Release the session in favour of a new one (`replaces` in a session request). */
  replace: 'replace',
  /** End the session (frees its slot). */
  end: 'end',
} as const;
/** One of `SessionActs`. */
export type SessionAct = (typeof SessionActs)[keyof typeof SessionActs];

/** EIP-712 domain of session acts (off-chain; the deployment is bound in the message). */
export const sessionActDomain = { name: 'Farplay Session', version: '1' } as const;

/** EIP-712 types of a session act. */
export const sessionActTypes = {
  SessionAct: [
    { name: 'act', type: 'string' },
    { name: 'sessionId', type: 'string' },
    { name: 'deployment', type: 'string' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const;

/** An address (0x + 40 hex), the form of a session key. */
export const SessionKeyAddress = Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' });

/** A signed session act as it travels (JSON body field, or base64url JSON in a `proof` query parameter). */
export const SessionProof = Type.Object(
  {
    issuedAt: Type.Integer({ minimum: 0 }),
    nonce: Type.String({ pattern: '^0x[0-9a-f]{64}$' }),
    signature: Type.String({ pattern: '^0x[0-9a-fA-F]{130}$' }),
  },
  { additionalProperties: false },
);
/** A signed session act (see `SessionProof`). */
export type SessionProof = Static<typeof SessionProof>;

/** Anything that signs EIP-712 typed data (a viem LocalAccount). */
export interface SessionSigner {
  signTypedData(parameters: {
    domain: typeof sessionActDomain;
    types: typeof sessionActTypes;
    primaryType: 'SessionAct';
    message: { act: string; sessionId: string; deployment: string; issuedAt: bigint; nonce: Hex };
  }): Promise<Hex>;
}

/** What `signSessionAct` signs. */
export interface SignSessionActParameters {
  act: SessionAct;
  sessionId: string;
  /** The matchmaker's deployment id (`CreateSessionResponse.deployment`). */
  deployment: string;
  /** Unix ms (default Date.now()). */
  issuedAt?: number;
}

/** Signs one session act with the session key. */
export async function signSessionAct(
  signer: SessionSigner,
  parameters: SignSessionActParameters,
): Promise<SessionProof> {
  const issuedAt = parameters.issuedAt ?? Date.now();
  const nonce = randomHex32();
  const signature = await signer.signTypedData({
    domain: sessionActDomain,
    types: sessionActTypes,
    primaryType: 'SessionAct',
    message: {
      act: parameters.act,
      sessionId: parameters.sessionId,
      deployment: parameters.deployment,
      issuedAt: BigInt(issuedAt),
      nonce,
    },
  });
  return { issuedAt, nonce, signature };
}

/** What `verifySessionAct` checks. */
export interface VerifySessionActParameters {
  proof: SessionProof | undefined;
  act: SessionAct;
  sessionId: string;
  deployment: string;
  /** The session key address the session was created with (undefined: nobody can act on it). */
  owner: string | undefined;
  /** Largest age (and future skew) accepted, ms (default 60 000). */
  maxAgeMs?: number;
  /** Now, unix ms (default Date.now()). */
  now?: number;
}

/**
 * Checks a session act: present, fresh and signed by `owner` for this act, session and deployment.
 * Throws `MM_NOT_SESSION_OWNER` or `MM_STALE_MESSAGE`. Replay (a nonce seen before) is the store's job.
 */
export async function verifySessionAct(parameters: VerifySessionActParameters): Promise<void> {
  const { proof, owner } = parameters;
  if (!proof || !owner) {
    throw new FarplayError('MM_NOT_SESSION_OWNER', `${parameters.act} needs a proof by the session key`);
  }
  const now = parameters.now ?? Date.now();
  const maxAgeMs = parameters.maxAgeMs ?? 60_000;
  if (Math.abs(now - proof.issuedAt) > maxAgeMs) {
    throw new FarplayError('MM_STALE_MESSAGE', `session proof issuedAt is more than ${maxAgeMs} ms from now`);
  }
  let signer: Address;
  try {
    signer = await recoverTypedDataAddress({
      domain: sessionActDomain,
      types: sessionActTypes,
      primaryType: 'SessionAct',
      message: {
        act: parameters.act,
        sessionId: parameters.sessionId,
        deployment: parameters.deployment,
        issuedAt: BigInt(proof.issuedAt),
        nonce: proof.nonce as Hex,
      },
      signature: proof.signature as Hex,
    });
  } catch (error) {
    throw new FarplayError('MM_NOT_SESSION_OWNER', 'session proof signature is malformed', { cause: error });
  }
  if (signer.toLowerCase() !== owner.toLowerCase()) {
    throw new FarplayError('MM_NOT_SESSION_OWNER', 'session proof is not signed by the session key');
  }
}

/** A proof as one query-string value (base64url of its JSON). */
export function encodeSessionProof(proof: SessionProof): string {
  const json = JSON.stringify(proof);
  const base64 = btoa(json);
  return base64.replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Parses `encodeSessionProof`'s output; undefined when it is not a proof. */
export function decodeSessionProof(value: string | null | undefined): SessionProof | undefined {
  if (!value || value.length > 1024 || !/^[A-Za-z0-9_-]+$/.test(value)) return undefined;
  try {
    const json = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
    const p = JSON.parse(json) as Record<string, unknown>;
    if (
      typeof p.issuedAt !== 'number' ||
      !Number.isSafeInteger(p.issuedAt) ||
      typeof p.nonce !== 'string' ||
      !/^0x[0-9a-f]{64}$/.test(p.nonce) ||
      typeof p.signature !== 'string' ||
      !/^0x[0-9a-fA-F]{130}$/.test(p.signature)
    )
      return undefined;
    return { issuedAt: p.issuedAt, nonce: p.nonce, signature: p.signature };
  } catch {
    return undefined;
  }
}

function randomHex32(): Hex {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
