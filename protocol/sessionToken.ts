import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  sign,
  verify,
} from 'node:crypto';
import { FarplayError } from './errors.js';

/**
 * Session tokens: the matchmaker signs them (Ed25519), the edge verifies them offline before it
 * accepts a player. Wire form: `v1.<base64url(JSON claims)>.<base64url(signature over "v1.<claims>")>`.
 */
export interface SessionClaims {
  /** Session id (opaque, unique). */
  sid: string;
  /** Game the session plays. */
  gameId: string;
  /** Edge the session is allocated to (the edge's address); the edge refuses tokens for other edges. */
  edgeId: string;
  /** Issued at, unix seconds. */
  iat: number;
  /** Expires at, unix seconds. */
  exp: number;
  /** The session's checkers (base URLs) the edge sends its per-period QoS reports to (issue 9); none = unbilled. */
  chk?: string[];
  /** How many of `chk` settle a minute. */
  q?: number;
  /** The session key's address (lower case) that owns the session; edges report it in heartbeats. */
  own?: string;
  /**
   * The version of a studio's game the session plays (the one the catalogue served when it was
   * allocated): the edge fetches that manifest, so a pin or a new version applies from the next session.
   */
  gv?: number;
  /** The session's on-chain billing id (bytes32, lower case; `protocol/billingSession.ts`), with `chk`. */
  bid?: string;
  /**
   * A checker's probe session (its address, lower case): the edge admits it only on a free slot, ends it when a
   * player needs the slot, and neither bills it nor reports it to the matchmaker (protocol/edgeProbe.ts).
   */
  prb?: string;
}

const PREFIX = 'v1';
/** Largest token accepted, in characters; anything longer is refused before parsing. */
export const MAX_SESSION_TOKEN_LENGTH = 2048;

/** A fresh Ed25519 key pair for signing session tokens; keys as base64url of their DER (pkcs8 / spki). */
export function generateSessionKeyPair(): { privateKey: string; publicKey: string } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return {
    privateKey: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64url'),
    publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'),
  };
}

/** Parses a base64url pkcs8 Ed25519 private key (as made by `generateSessionKeyPair`). */
export function importSessionPrivateKey(privateKey: string): KeyObject {
  return createPrivateKey({ key: Buffer.from(privateKey, 'base64url'), format: 'der', type: 'pkcs8' });
}

/** Parses a base64url spki Ed25519 public key (as made by `generateSessionKeyPair`). */
export function importSessionPublicKey(publicKey: string): KeyObject {
  return createPublicKey({ key: Buffer.from(publicKey, 'base64url'), format: 'der', type: 'spki' });
}

/** What a session token's signature covers: `v1.<base64url(JSON claims)>`. */
export function sessionTokenBody(claims: SessionClaims): string {
  return `${PREFIX}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}`;
}

/** Signs `claims` into a session token (the matchmaker signs off its thread: `SessionTokenSigner`). */
export function signSessionToken(claims: SessionClaims, privateKey: KeyObject): string {
  const body = sessionTokenBody(claims);
  const signature = sign(null, Buffer.from(body), privateKey).toString('base64url');
  return `${body}.${signature}`;
}

export interface VerifySessionTokenParameters {
  token: unknown;
  publicKey: KeyObject;
  /** The verifying edge's id: a token for another edge is refused. */
  edgeId: string;
  /** Now, unix seconds (default: the clock). */
  now?: number;
  /** Clock skew tolerated on `iat`/`exp`, seconds (default 5). */
  skewSeconds?: number;
}

/**
 * Verifies a session token offline and returns its claims.
 * Throws FarplayError `EDGE_BAD_TOKEN` (malformed, bad signature, wrong edge) or `EDGE_TOKEN_EXPIRED`.
 */
export function verifySessionToken(parameters: VerifySessionTokenParameters): SessionClaims {
  const { token, publicKey, edgeId } = parameters;
  const now = parameters.now ?? Math.floor(Date.now() / 1000);
  const skew = parameters.skewSeconds ?? 5;
  if (typeof token !== 'string' || token.length > MAX_SESSION_TOKEN_LENGTH) {
    throw new FarplayError('EDGE_BAD_TOKEN', 'session token is missing or too long');
  }
  const parts = token.split('.');
  if (parts.length !== 3 || parts[0] !== PREFIX || !parts[1] || !parts[2]) {
    throw new FarplayError('EDGE_BAD_TOKEN', 'session token is malformed');
  }
  const ok = verify(
    null,
    Buffer.from(`${parts[0]}.${parts[1]}`),
    publicKey,
    Buffer.from(parts[2], 'base64url'),
  );
  if (!ok) throw new FarplayError('EDGE_BAD_TOKEN', 'session token signature does not verify');
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
  } catch (cause) {
    throw new FarplayError('EDGE_BAD_TOKEN', 'session token claims are not JSON', { cause });
  }
  if (!isSessionClaims(claims))
    throw new FarplayError('EDGE_BAD_TOKEN', 'session token claims are incomplete');
  if (claims.edgeId.toLowerCase() !== edgeId.toLowerCase()) {
    throw new FarplayError('EDGE_BAD_TOKEN', 'session token is for another edge');
  }
  if (claims.exp + skew < now) throw new FarplayError('EDGE_TOKEN_EXPIRED');
  if (claims.iat - skew > now)
    throw new FarplayError('EDGE_BAD_TOKEN', 'session token is issued in the future');
  return claims;
}

function isSessionClaims(value: unknown): value is SessionClaims {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.sid === 'string' &&
    v.sid.length > 0 &&
    v.sid.length <= 128 &&
    typeof v.gameId === 'string' &&
    v.gameId.length <= 128 &&
    typeof v.edgeId === 'string' &&
    v.edgeId.length <= 128 &&
    Number.isInteger(v.iat) &&
    Number.isInteger(v.exp) &&
    (v.own === undefined || (typeof v.own === 'string' && /^0x[0-9a-f]{40}$/.test(v.own))) &&
    (v.chk === undefined ||
      (Array.isArray(v.chk) &&
        v.chk.length <= 16 &&
        v.chk.every((u) => typeof u === 'string' && /^https?:\/\//.test(u) && u.length <= 256))) &&
    (v.q === undefined || (Number.isInteger(v.q) && (v.q as number) >= 1)) &&
    (v.gv === undefined || (Number.isInteger(v.gv) && (v.gv as number) >= 1)) &&
    (v.bid === undefined || (typeof v.bid === 'string' && /^0x[0-9a-f]{64}$/.test(v.bid))) &&
    (v.prb === undefined || (typeof v.prb === 'string' && /^0x[0-9a-f]{40}$/.test(v.prb)))
  );
}
