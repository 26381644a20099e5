import Type, { type Static } from 'typebox';
import { Check } from 'typebox/value';

/**
 * WebSocket signalling between the player and an edge: `GET {edgeUrl}/v1/signal?token=<session token>`.
 * Messages are JSON text frames of at most `MAX_SIGNAL_MESSAGE_BYTES`; a larger one closes the socket
 * with `SignalCloseCodes.TOO_LARGE`.
 *
 * Flow: the edge sends `session`, then `offer` (sendonly H.264 video, Opus audio and the negotiated
 * `input` data channel, see protocol/input.ts); the player answers with `answer`; both sides trickle
 * `candidate`s (a `null` candidate means end of candidates). Control while playing: `keyframe`,
 * `bitrate` (a cap on the adaptive bitrate), `resize`, `stamps` (frame stamps on or off), `ping`
 * (answered by `pong` with the same `t`), `end`. While streaming the edge reports its bandwidth adaptation
 * with `quality`; on a billed network it may `paused` the stream (code and message) and `resumed` it. The edge ends the
 * session with `ended` and closes the socket with `SignalCloseCodes.ENDED` (1000).
 */

/** Largest signalling message accepted, in bytes (64 KiB). */
export const MAX_SIGNAL_MESSAGE_BYTES = 64 * 1024;

/** WebSocket close codes the edge uses on the signalling socket. */
export const SignalCloseCodes = {
  /** Session ended normally (by either side, or by the edge operator). */
  ENDED: 1000,
  /** Edge shutting down. */
  GOING_AWAY: 1001,
  /** A message that is not JSON or does not match the schema, or an SDP the edge cannot use. */
  BAD_MESSAGE: 4400,
  /** Session token missing, malformed, badly signed, for another edge, or expired. */
  BAD_TOKEN: 4401,
  /** The token's game is not on this edge. */
  UNKNOWN_GAME: 4404,
  /** The token's session is already connected on this edge. */
  SESSION_IN_USE: 4403,
  /** The edge has no free slot. */
  EDGE_FULL: 4409,
  /** The token was used before (a token opens one session, once). */
  TOKEN_USED: 4410,
  /** A message larger than MAX_SIGNAL_MESSAGE_BYTES. */
  TOO_LARGE: 4413,
  /** Too many messages (signalling or input) in a short time. */
  FLOOD: 4429,
  /** WebRTC failed: ICE/DTLS failure or consent lost. */
  PEER_FAILED: 4408,
  /** Something unexpected on the edge (encoder failure etc.). */
  INTERNAL: 4500,
} as const;
export type SignalCloseCode = (typeof SignalCloseCodes)[keyof typeof SignalCloseCodes];

const Sdp = Type.String({ minLength: 1, maxLength: 60_000 });
const CandidateFields = {
  /** ICE candidate line (`candidate:...`), or null for end of candidates. */
  candidate: Type.Union([Type.String({ maxLength: 1024 }), Type.Null()]),
  sdpMid: Type.Optional(Type.Union([Type.String({ maxLength: 64 }), Type.Null()])),
  sdpMLineIndex: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: 64 }), Type.Null()])),
};

// --- edge → player ---

/** First message: what the session plays and how it is encoded. */
export const SessionMessage = Type.Object({
  type: Type.Literal('session'),
  sessionId: Type.String(),
  gameId: Type.String(),
  width: Type.Integer(),
  height: Type.Integer(),
  fps: Type.Integer(),
  /** The H.264 encoder in use, e.g. 'libx264' or 'h264_nvenc'. */
  encoder: Type.String(),
});
export type SessionMessage = Static<typeof SessionMessage>;

export const OfferMessage = Type.Object({ type: Type.Literal('offer'), sdp: Sdp });
export type OfferMessage = Static<typeof OfferMessage>;

export const CandidateMessage = Type.Object({ type: Type.Literal('candidate'), ...CandidateFields });
export type CandidateMessage = Static<typeof CandidateMessage>;

export const PongMessage = Type.Object({ type: Type.Literal('pong'), t: Type.Number() });
export type PongMessage = Static<typeof PongMessage>;

export const ErrorMessage = Type.Object({
  type: Type.Literal('error'),
  /** A code from protocol/errors.ts. */
  code: Type.String(),
  message: Type.String(),
});
export type ErrorMessage = Static<typeof ErrorMessage>;

export const EndedMessage = Type.Object({ type: Type.Literal('ended'), reason: Type.String() });
export type EndedMessage = Static<typeof EndedMessage>;

/**
 * Bandwidth adaptation, about once a second and whenever the picture changes: the edge's estimate of
 * what the path carries, the encoder's target under it, the picture it sends and why it last changed.
 */
export const QualityMessage = Type.Object({
  type: Type.Literal('quality'),
  estimateKbps: Type.Integer({ minimum: 0 }),
  targetKbps: Type.Integer({ minimum: 0 }),
  /** The player's cap in force, kbit/s; null = auto (the edge's maximum). */
  capKbps: Type.Union([Type.Integer({ minimum: 0 }), Type.Null()]),
  width: Type.Integer(),
  height: Type.Integer(),
  fps: Type.Integer(),
  /** Why quality last changed, e.g. "delay: queue building" or "estimate 2.8 Mbit/s < 5.5 Mbit/s …". */
  reason: Type.String({ maxLength: 200 }),
});
export type QualityMessage = Static<typeof QualityMessage>;

/**
 * The edge paused the stream (billing, issue 9): it stops sending video and audio but keeps the connection and
 * the game; `code` (protocol/errors.ts) and `message` say why. `resumed` follows when the cause is gone.
 */
export const PausedMessage = Type.Object({
  type: Type.Literal('paused'),
  code: Type.String(),
  message: Type.String(),
});
export type PausedMessage = Static<typeof PausedMessage>;

/** The stream is sent again after a `paused` (a keyframe comes first). */
export const ResumedMessage = Type.Object({ type: Type.Literal('resumed') });
export type ResumedMessage = Static<typeof ResumedMessage>;

export const EdgeMessage = Type.Union([
  SessionMessage,
  OfferMessage,
  CandidateMessage,
  PongMessage,
  ErrorMessage,
  EndedMessage,
  QualityMessage,
  PausedMessage,
  ResumedMessage,
]);
export type EdgeMessage = Static<typeof EdgeMessage>;

// --- player → edge ---

export const AnswerMessage = Type.Object({ type: Type.Literal('answer'), sdp: Sdp });
export type AnswerMessage = Static<typeof AnswerMessage>;

/** Ask for a keyframe now (e.g. after a decode error). */
export const KeyframeMessage = Type.Object({ type: Type.Literal('keyframe') });
export type KeyframeMessage = Static<typeof KeyframeMessage>;

/**
 * Cap the video bitrate (kbit/s): the edge adapts to the network under the cap, clamped to its
 * configured range; a cap at or above the edge's maximum is "auto".
 */
export const BitrateMessage = Type.Object({
  type: Type.Literal('bitrate'),
  kbps: Type.Integer({ minimum: 100, maximum: 100_000 }),
});

/** The `bitrate` cap that means "auto": the largest a message may carry, above every edge's maximum. */
export const AUTO_BITRATE_KBPS = 100_000;
export type BitrateMessage = Static<typeof BitrateMessage>;

/**
 * Ask for another output size (even numbers). The edge re-opens the encoder at that size, the game draws
 * at it from the next frame, and a keyframe with the new size follows.
 */
export const ResizeMessage = Type.Object({
  type: Type.Literal('resize'),
  width: Type.Integer({ minimum: 16, maximum: 7680, multipleOf: 2 }),
  height: Type.Integer({ minimum: 16, maximum: 4320, multipleOf: 2 }),
});
export type ResizeMessage = Static<typeof ResizeMessage>;

/**
 * Frame stamps on or off (default off): while on, the edge paints the time-code strip
 * (protocol/frameStamp.ts) into the top of every frame from the next one on, for the player's latency
 * overlay or a benchmark. Sent before the answer, it holds from the first frame.
 */
export const StampsMessage = Type.Object({ type: Type.Literal('stamps'), on: Type.Boolean() });
export type StampsMessage = Static<typeof StampsMessage>;

/** Signalling round trip; the edge answers `pong` with the same `t`. */
export const PingMessage = Type.Object({ type: Type.Literal('ping'), t: Type.Number() });
export type PingMessage = Static<typeof PingMessage>;

/** The player ends the session. */
export const EndMessage = Type.Object({ type: Type.Literal('end') });
export type EndMessage = Static<typeof EndMessage>;

export const PlayerMessage = Type.Union([
  AnswerMessage,
  CandidateMessage,
  KeyframeMessage,
  BitrateMessage,
  ResizeMessage,
  StampsMessage,
  PingMessage,
  EndMessage,
]);
export type PlayerMessage = Static<typeof PlayerMessage>;

/** Parses a player → edge message; returns undefined when it is not JSON or does not match the schema. */
export function parsePlayerMessage(text: string): PlayerMessage | undefined {
  return parseWith(PlayerMessage, text);
}

/** Parses an edge → player message; returns undefined when it is not JSON or does not match the schema. */
export function parseEdgeMessage(text: string): EdgeMessage | undefined {
  return parseWith(EdgeMessage, text);
}

function parseWith<T extends typeof PlayerMessage | typeof EdgeMessage>(
  schema: T,
  text: string,
): Static<T> | undefined {
  if (text.length > MAX_SIGNAL_MESSAGE_BYTES) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  return Check(schema, value) ? (value as Static<T>) : undefined;
}
