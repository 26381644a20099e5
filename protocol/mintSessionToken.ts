import type { KeyObject } from 'node:crypto';
import type { CreateSessionResponse } from './playerApi.js';
import { signSessionToken } from './sessionToken.js';

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

/**
 * Signs a session token for a session on an edge and builds the player's answer (token, expiry, edge
 * URLs with the signalling URL). Matchmakers and standalone edges both answer session requests with it.
 */
export function mintSessionToken(parameters: MintSessionTokenParameters): MintSessionTokenResult {
  const { sessionId, gameId, edge } = parameters;
  const iat = Math.floor((parameters.nowMs ?? Date.now()) / 1000);
  const exp = iat + parameters.ttlSeconds;
  const token = signSessionToken(
    {
      sid: sessionId,
      gameId,
      edgeId: edge.edgeId,
      iat,
      exp,
      ...(parameters.checkers ? { chk: [...parameters.checkers.urls], q: parameters.checkers.quorum } : {}),
      ...(parameters.gameVersion !== undefined ? { gv: parameters.gameVersion } : {}),
      ...(parameters.owner ? { own: parameters.owner.toLowerCase() } : {}),
      ...(parameters.billingId ? { bid: parameters.billingId.toLowerCase() } : {}),
      ...(parameters.probe ? { prb: parameters.probe.toLowerCase() } : {}),
    },
    parameters.privateKey,
  );
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
