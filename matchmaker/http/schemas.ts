import Type from 'typebox';

/** The body of every refusal: a stable code from protocol/errors.ts, a message and optional details. */
export const ErrorResponse = Type.Object({
  code: Type.String(),
  message: Type.String(),
  details: Type.Optional(Type.Unknown()),
});

/** `{ ok: true }`: an accepted edge message. */
export const Ok = Type.Object({ ok: Type.Boolean() });

/** The usual refusals of a route with a body, for its `response` schema. */
export const errorResponses = {
  400: ErrorResponse,
  401: ErrorResponse,
  404: ErrorResponse,
  409: ErrorResponse,
} as const;

/** A session id in a path. */
export const SessionParams = Type.Object({ sessionId: Type.String({ maxLength: 128 }) });
