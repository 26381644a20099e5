import type { KeyObject } from 'node:crypto';
import type { CreateSessionResponse } from './playerApi.js';
import type { SessionTokenSigner } from './SessionTokenSigner.js';
import { type SessionClaims, signSessionToken } from './sessionToken.js';

/** What `mintSessionToken` needs: the session, the edge it plays on and the signing key. */
export interface MintSessionTokenParameters {
  sessionId: string;
  gameId: string;
  /** The version of a studio's game the session plays (signed in as `gv`). */
  gameVersion?: number;
  edge: {
    edgeId: string;
    region: string;
    /** The edge's HTTP base URL (a trailing slash is dropped). */
    url: string;
  };
  /** Ed25519 private key (`importSessionPrivateKey`). */
  privateKey: KeyObject;
  /** Token lifetime in seconds. */
  ttlSeconds: number;
  /** Now, unix ms (default Date.now()). */
  nowMs?: number;
  /** The session key that owns the session (signed in as `own`). */
  owner?: string | undefined;
  /** The session's checkers and quorum, signed into the token for the edge (protocol/billingSession.ts). */
  checkers?: { urls: readonly string[]; quorum: number };
  /** The session's on-chain billing id, signed in as `bid` (protocol/billingSession.ts). */
  billingId?: string;
  /** A checker's probe session: the checker's address (signed in as `prb`; protocol/edgeProbe.ts). */
  probe?: string;
}

/** The result is what `POST /v1/sessions` answers. */
export type MintSessionTokenResult = CreateSessionResponse;

function claimsOf(parameters: Omit<MintSessionTokenParameters, 'privateKey'>): SessionClaims {
  const iat = Math.floor((parameters.nowMs ?? Date.now()) / 1000);
  return {
    sid: parameters.sessionId,
    gameId: parameters.gameId,
    edgeId: parameters.edge.edgeId,
    iat,
    exp: iat + parameters.ttlSeconds,
    ...(parameters.checkers ? { chk: [...parameters.checkers.urls], q: parameters.checkers.quorum } : {}),
    ...(parameters.gameVersion !== undefined ? { gv: parameters.gameVersion } : {}),
    ...(parameters.owner ? { own: parameters.owner.toLowerCase() } : {}),
    ...(parameters.billingId ? { bid: parameters.billingId.toLowerCase() } : {}),
    ...(parameters.probe ? { prb: parameters.probe.toLowerCase() } : {}),
  };
}

function answerOf(
  parameters: Omit<MintSessionTokenParameters, 'privateKey'>,
  token: string,
  exp: number,
): MintSessionTokenResult {
  const { sessionId, gameId, edge } = parameters;
  const url = edge.url.replace(/\/$/, '');
  return {
    sessionId,
    gameId,
    token,
    expiresAt: exp * 1000,
    edge: {
      edgeId: edge.edgeId,
      region: edge.region,
      url,
      signalUrl: `${url.replace(/^http/, 'ws')}/v1/signal`,
    },
  };
}

/**
 * Signs a session token for a session on an edge and builds the player's answer (token, expiry, edge
 * URLs with the signalling URL). Matchmakers and standalone edges both answer session requests with it.
 */
export function mintSessionToken(parameters: MintSessionTokenParameters): MintSessionTokenResult {
  const claims = claimsOf(parameters);
  return answerOf(parameters, signSessionToken(claims, parameters.privateKey), claims.exp);
}

/**
 * `mintSessionToken` with the signature from `signer` (a worker thread, batched): the matchmaker's allocations,
 * whose one thread the Ed25519 signature per session was the largest single cost of.
 */
export async function mintSessionTokenAsync(
  parameters: Omit<MintSessionTokenParameters, 'privateKey'>,
  signer: SessionTokenSigner,
): Promise<MintSessionTokenResult> {
  const claims = claimsOf(parameters);
  return answerOf(parameters, await signer.sign(claims), claims.exp);
}
