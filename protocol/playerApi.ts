import Type, { type Static } from 'typebox';
import { Check } from 'typebox/value';
import { SessionBilling } from './billingSession.js';
import { NetworkCoordinate } from './networkCoordinates.js';
import { SessionKeyAddress, SessionProof } from './sessionProof.js';

/**
 * The player-facing HTTP API (`/v1/...`), served by the matchmaker — and, in single-edge standalone
 * mode, by an edge itself with the same shapes, so the player page works against either.
 *
 * Flow: GET /v1/games → POST /v1/candidates → player measures RTT to each candidate's `probeUrl`
 * (several GETs, median; the probe answers 204 with no body) → POST /v1/sessions with the
 * measurements → open `signalUrl` (WebSocket) with `?token=`. While playing, the player watches
 * `GET /v1/sessions/:sessionId/events` (WebSocket on the matchmaker) for `moved` and `ended`.
 */

/** A catalogue entry: what a game is, its stream format, price and input devices. */
export const GameInfo = Type.Object({
  id: Type.String({ minLength: 1, maxLength: 64, pattern: '^[a-z0-9][a-z0-9-]*$' }),
  title: Type.String({ maxLength: 120 }),
  description: Type.String({ maxLength: 2000 }),
  width: Type.Integer({ minimum: 16, maximum: 7680 }),
  height: Type.Integer({ minimum: 16, maximum: 4320 }),
  fps: Type.Integer({ minimum: 1, maximum: 240 }),
  /** Price per minute in ATH wei, decimal string. */
  pricePerMinute: Type.String({ pattern: '^[0-9]{1,78}$' }),
  /** Input devices the game reads. */
  input: Type.Array(
    Type.Union([
      Type.Literal('keyboard'),
      Type.Literal('mouse'),
      Type.Literal('gamepad'),
      Type.Literal('touch'),
    ]),
  ),
  /**
   * The catalogue picture (PNG, JPEG or WebP): absolute, or relative to the API that lists the game.
   * An edge serves one rendered from a real frame of each built-in game (`/v1/games/:id/thumbnail`);
   * a studio gives its own asset's URL.
   */
  thumbnailUrl: Type.Optional(Type.String({ maxLength: 2048 })),
  /** The keys a touch screen's on-screen pad sends (default: four arrows, A = Space, B = Enter). */
  inputMap: Type.Optional(
    Type.Object({
      /** Which arrow keys the d-pad sends: none, ← → only, ↑ ↓ only, or all four (default all). */
      dpad: Type.Optional(
        Type.Union([
          Type.Literal('none'),
          Type.Literal('horizontal'),
          Type.Literal('vertical'),
          Type.Literal('all'),
        ]),
      ),
      /** The buttons, primary first: a short label and the key each sends (`KeyboardEvent.code`). */
      buttons: Type.Optional(
        Type.Array(
          Type.Object({
            label: Type.String({ minLength: 1, maxLength: 8 }),
            key: Type.String({ pattern: '^[A-Za-z0-9]{1,24}$' }),
          }),
          { maxItems: 4 },
        ),
      ),
    }),
  ),
});
export type GameInfo = Static<typeof GameInfo>;

/** Response header of an edge's RTT probe (`probeUrl`): the edge's clock, unix ms, when it answered. */
export const EDGE_TIME_HEADER = 'x-farplay-edge-time';

/** GET /v1/games answer. */
export const ListGamesResponse = Type.Object({ games: Type.Array(GameInfo) });
export type ListGamesResponse = Static<typeof ListGamesResponse>;

/** POST /v1/candidates body: the game and an optional location hint. */
/** An RTT the player measured to a candidate's probe URL. */
export const RttMeasurement = Type.Object({
  edgeId: Type.String({ maxLength: 128 }),
  rttMs: Type.Number({ minimum: 0, maximum: 60_000 }),
});
export type RttMeasurement = Static<typeof RttMeasurement>;

export const CandidatesRequest = Type.Object({
  gameId: Type.String({ minLength: 1, maxLength: 64 }),
  /** Coarse location hint (e.g. from the page); the matchmaker also uses the client address. */
  lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
  lon: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
  /**
   * Where `lat`/`lon` come from: 'timezone' = a guess from the browser's time zone, which the matchmaker's
   * location of the client address (when it has one) replaces. Absent: the location stands as given.
   */
  locationSource: Type.Optional(Type.Literal('timezone')),
  /** How many candidates to return (default 5). */
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 16 })),
  /**
   * Round 1 of a cold player's probing (protocol/probeEdges.ts): edges spread over the coordinate space
   * (farthest-point, from the one nearest the hint) instead of the nearest ones, so the probes locate it.
   */
  landmarks: Type.Optional(Type.Boolean()),
  /** The player's fitted coordinate (round 2, or a returning player's): ranked by the RTT it predicts. */
  coordinate: Type.Optional(NetworkCoordinate),
  /** Edges already probed, left out. */
  exclude: Type.Optional(Type.Array(Type.String({ maxLength: 128 }), { maxItems: 32 })),
  /**
   * RTTs the player measured so far (round 2, or a returning player's last ones): edges are ranked by the
   * lower bound these and the edges' RTTs to each other give (`CoordinateModel.rttLowerBound`), the
   * coordinate's prediction breaking ties and standing in where no bound is known.
   */
  measured: Type.Optional(Type.Array(RttMeasurement, { maxItems: 32 })),
});
export type CandidatesRequest = Static<typeof CandidatesRequest>;

/** One edge for the player to probe, with its price after the regional multiplier. */
export const Candidate = Type.Object({
  edgeId: Type.String(),
  region: Type.String(),
  /** URL the player GETs to measure RTT (204, no body, CORS open). */
  probeUrl: Type.String(),
  /** Price per minute in ATH wei after the regional multiplier, decimal string. */
  pricePerMinute: Type.String(),
  priceMultiplier: Type.Number(),
  /** The matchmaker's predicted RTT in ms, if it has one. */
  predictedRttMs: Type.Optional(Type.Number()),
  /**
   * With `measured` in the request: the least RTT (ms) the player can have to this edge, from its
   * measurements and the edges' RTTs to each other (an edge above the best measured RTT cannot beat it).
   */
  rttLowerBoundMs: Type.Optional(Type.Number()),
  /** The edge's network coordinate: the page fits its own from its probes with it. */
  coordinate: Type.Optional(NetworkCoordinate),
});
export type Candidate = Static<typeof Candidate>;

/** POST /v1/candidates answer, best first. */
export const CandidatesResponse = Type.Object({
  candidates: Type.Array(Candidate),
  /**
   * The location the ranking used: the request's ('page'), the client address's from the matchmaker's
   * IP-location database ('ip'; DB-IP City Lite by default, see matchmaker/README.md), or none. A standalone
   * edge leaves it out.
   */
  locatedBy: Type.Optional(Type.Union([Type.Literal('page'), Type.Literal('ip'), Type.Literal('none')])),
});
export type CandidatesResponse = Static<typeof CandidatesResponse>;

/** POST /v1/sessions body: the game and the player's measured RTTs (at most 32). */
export const CreateSessionRequest = Type.Object({
  gameId: Type.String({ minLength: 1, maxLength: 64 }),
  measurements: Type.Array(RttMeasurement, { maxItems: 32 }),
  /** Set when moving an existing session (failover); the old session's id. */
  replaces: Type.Optional(Type.String({ maxLength: 128 })),
  /** Address of the throwaway session key (protocol/sessionProof.ts) that must sign every later act on the session. */
  sessionKey: Type.Optional(SessionKeyAddress),
  /** With `replaces`: the old session key's signed 'replace' act (protocol/sessionProof.ts). */
  replacesProof: Type.Optional(SessionProof),
  /** Coarse location hint: where the player's coordinate fit starts (and kept for failover). */
  lat: Type.Optional(Type.Number({ minimum: -90, maximum: 90 })),
  lon: Type.Optional(Type.Number({ minimum: -180, maximum: 180 })),
  /** The coordinate the page fitted from its probes: where the matchmaker's own fit starts. */
  coordinate: Type.Optional(NetworkCoordinate),
  /** The wallet that will sign the session's grant: on a paid network its escrow deposit must cover it. */
  payer: Type.Optional(Type.String({ pattern: '^0x[0-9a-fA-F]{40}$' })),
});
export type CreateSessionRequest = Static<typeof CreateSessionRequest>;

/** Where an allocated session plays: the edge and its signalling URL. */
export const SessionEdge = Type.Object({
  edgeId: Type.String(),
  region: Type.String(),
  /** The edge's HTTP base URL. */
  url: Type.String(),
  /** The edge's signalling WebSocket URL; append `?token=<token>`. */
  signalUrl: Type.String(),
});
export type SessionEdge = Static<typeof SessionEdge>;

/** POST /v1/sessions answer: the session, its signed token and its edge. */
export const CreateSessionResponse = Type.Object({
  sessionId: Type.String(),
  gameId: Type.String(),
  /** Session token (protocol/sessionToken.ts), verified by the edge. */
  token: Type.String(),
  /** Unix ms after which the token is no longer accepted for a new connection. */
  expiresAt: Type.Integer(),
  edge: SessionEdge,
  /** The matchmaker deployment's id: session-key proofs (protocol/sessionProof.ts) sign it. */
  deployment: Type.Optional(Type.String()),
  /** Billing (issue 9): the session's checkers, price, period and chains; absent on an unbilled network. */
  billing: Type.Optional(SessionBilling),
});
export type CreateSessionResponse = Static<typeof CreateSessionResponse>;

/** Messages on the session events WebSocket (matchmaker → player). */
export const SessionEvent = Type.Union([
  Type.Object({ type: Type.Literal('moved'), session: CreateSessionResponse, reason: Type.String() }),
  Type.Object({ type: Type.Literal('ended'), reason: Type.String() }),
]);
export type SessionEvent = Static<typeof SessionEvent>;

/** Largest session-events message accepted, in bytes (64 KiB). */
export const MAX_SESSION_EVENT_BYTES = 64 * 1024;

/**
 * Parses one session-events message (a WebSocket text frame) against `SessionEvent`; undefined when
 * it is not text, larger than `MAX_SESSION_EVENT_BYTES`, not JSON, or does not match the schema.
 */
export function parseSessionEvent(data: unknown): SessionEvent | undefined {
  if (typeof data !== 'string' || data.length > MAX_SESSION_EVENT_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(data);
  } catch {
    return undefined;
  }
  return Check(SessionEvent, value) ? value : undefined;
}
