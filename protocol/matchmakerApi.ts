import Type, { type Static } from 'typebox';
import { CandidatesRequest, GameInfo } from './playerApi.js';

/**
 * Matchmaker routes beyond the player API (protocol/playerApi.ts): matchmaker info for edges, extra
 * candidate filters, and the studio publishing API. Edge control messages: protocol/edgeRegistration.ts.
 */

/** GET /v1/matchmaker: what an edge needs to talk to this matchmaker. */
export const MatchmakerInfo = Type.Object({
  /** Ed25519 public key (base64url spki) that verifies session tokens. */
  sessionPublicKey: Type.String(),
  /**
   * The deployment id edge messages are signed for (protocol/deployment.ts): derived from `sessionPublicKey`;
   * an edge computes it from the key it pins rather than trusting this field.
   */
  deployment: Type.String(),
  heartbeatMs: Type.Integer(),
  edgeTtlMs: Type.Integer(),
  reservationTtlMs: Type.Integer(),
  messageMaxAgeMs: Type.Integer(),
  /** 'memory' or 'redis'. */
  store: Type.String(),
});
export type MatchmakerInfo = Static<typeof MatchmakerInfo>;

/** POST /v1/edges/register answer. */
export const RegisterEdgeResponse = Type.Object({
  edgeId: Type.String(),
  heartbeatMs: Type.Integer(),
  edgeTtlMs: Type.Integer(),
  sessionPublicKey: Type.String(),
});
export type RegisterEdgeResponse = Static<typeof RegisterEdgeResponse>;

/** POST /v1/edges/heartbeat answer: the peers (other live edges) the edge should measure its RTT to. */
export const HeartbeatResponse = Type.Object({
  ok: Type.Boolean(),
  peers: Type.Optional(
    Type.Array(Type.Object({ edgeId: Type.String(), url: Type.String() }), { maxItems: 4 }),
  ),
});
export type HeartbeatResponse = Static<typeof HeartbeatResponse>;

/** POST /v1/candidates body: the player request plus optional filters. */
export const CandidatesQuery = Type.Object({
  ...CandidatesRequest.properties,
  /** Only edges with this encoder working (e.g. 'h264_nvenc'). */
  encoder: Type.Optional(Type.String({ maxLength: 64 })),
  /** Only edges at or below this price per minute after the multiplier, ATH wei. */
  maxPricePerMinute: Type.Optional(Type.String({ pattern: '^[0-9]{1,30}$' })),
});
export type CandidatesQuery = Static<typeof CandidatesQuery>;

/** POST /v1/studio/games body (Authorization: Bearer <studio API key>). */
export const GameManifest = Type.Object(
  {
    ...GameInfo.properties,
    /** 'builtin:<name>' (a game edges ship) or 'package' (the uploaded package, started with `command`). */
    runtime: Type.String({ pattern: '^(builtin:[a-z0-9][a-z0-9-]*|package)$' }),
    command: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
    /** sha256 (hex) of an uploaded package; required with runtime 'package'. */
    packageSha256: Type.Optional(Type.String({ pattern: '^[0-9a-f]{64}$' })),
    /** A package game may use the network (default false: its sandbox has no network at all). */
    network: Type.Optional(Type.Boolean()),
  },
  { additionalProperties: false },
);
export type GameManifest = Static<typeof GameManifest>;

/** GET /v1/games/:gameId/manifest answer: a published game's manifest (what an edge starts it from). */
export const PublishedManifest = Type.Object({
  ...GameManifest.properties,
  /** The studio that published it. */
  studio: Type.String(),
  /** When this version was published (unix ms). */
  publishedAt: Type.Integer(),
  /** The version number (1, 2, … per game id; absent for games stored before versions were numbered). */
  version: Type.Optional(Type.Integer({ minimum: 1 })),
});
export type PublishedManifest = Static<typeof PublishedManifest>;

/** POST /v1/studio/games answer: the game as the catalogue lists it and the version just published. */
export const GamePublished = Type.Object({ game: GameInfo, version: Type.Integer({ minimum: 1 }) });
export type GamePublished = Static<typeof GamePublished>;

/** One version in GET /v1/studio/games/:gameId/versions. */
export const GameVersionSummary = Type.Object({
  version: Type.Integer(),
  publishedAt: Type.Integer(),
  title: Type.String(),
  runtime: Type.String(),
  command: Type.Optional(Type.String()),
  packageSha256: Type.Optional(Type.String()),
});
export type GameVersionSummary = Static<typeof GameVersionSummary>;

/** GET /v1/studio/games/:gameId/versions answer (the studio's own games only). */
export const GameVersionsResponse = Type.Object({
  gameId: Type.String(),
  /** The version a studio pinned, or null (the latest is served). */
  pinned: Type.Union([Type.Integer(), Type.Null()]),
  /** The version players get now, or null when the game is unpublished. */
  live: Type.Union([Type.Integer(), Type.Null()]),
  versions: Type.Array(GameVersionSummary),
});
export type GameVersionsResponse = Static<typeof GameVersionsResponse>;

/** GET /v1/studio/games answer: the calling studio's games in the catalogue. */
export const StudioGamesResponse = Type.Object({
  studio: Type.String(),
  games: Type.Array(
    Type.Object({
      id: Type.String(),
      title: Type.String(),
      runtime: Type.String(),
      version: Type.Union([Type.Integer(), Type.Null()]),
      publishedAt: Type.Integer(),
    }),
  ),
});
export type StudioGamesResponse = Static<typeof StudioGamesResponse>;

/** POST /v1/studio/games/:gameId/pin body: the version to serve, or null for the latest. */
export const PinGameRequest = Type.Object({
  version: Type.Union([Type.Integer({ minimum: 1 }), Type.Null()]),
});
export type PinGameRequest = Static<typeof PinGameRequest>;

/** PUT /v1/studio/packages answer. */
export const PackageUploaded = Type.Object({ sha256: Type.String(), size: Type.Integer() });
export type PackageUploaded = Static<typeof PackageUploaded>;

/** GET /v1/sessions/:sessionId answer. */
export const SessionStatus = Type.Object({
  sessionId: Type.String(),
  gameId: Type.String(),
  edgeId: Type.String(),
  state: Type.Union([Type.Literal('reserved'), Type.Literal('active')]),
});
export type SessionStatus = Static<typeof SessionStatus>;

/** GET /v1/edges: the registry as this instance sees it (operators, debugging). */
export const EdgeSummary = Type.Object({
  edgeId: Type.String(),
  region: Type.String(),
  lat: Type.Number(),
  lon: Type.Number(),
  url: Type.String(),
  capacity: Type.Integer(),
  usedSlots: Type.Integer(),
  encoders: Type.Array(Type.String()),
  pricePerMinute: Type.String(),
  priceMultiplier: Type.Number(),
  games: Type.Array(Type.String()),
});
/** GET /v1/edges answer. */
export const ListEdgesResponse = Type.Object({ edges: Type.Array(EdgeSummary) });
export type ListEdgesResponse = Static<typeof ListEdgesResponse>;
