import type {
  FastifyBaseLogger,
  FastifyError,
  FastifyInstance,
  FastifyTypeProvider,
  RawReplyDefaultExpression,
  RawRequestDefaultExpression,
  RawServerBase,
} from 'fastify';
import { type FarplayError, toFarplayError } from '../errors.js';

/**
 * Makes every error a fastify service answers a catalogue body (`{code, message}`): thrown
 * `FarplayError`s keep their code and status, schema failures become `BAD_REQUEST`, anything else
 * `INTERNAL` (logged; the body never leaks it). Unknown routes answer `NOT_FOUND` naming the route,
 * without its query string (which may hold a token). A 429 keeps its `retry-after` header.
 */
export function useCatalogueErrors<
  Server extends RawServerBase,
  Logger extends FastifyBaseLogger,
  Provider extends FastifyTypeProvider,
>(
  app: FastifyInstance<
    Server,
    RawRequestDefaultExpression<Server>,
    RawReplyDefaultExpression<Server>,
    Logger,
    Provider
  >,
): void {
  app.setErrorHandler((error: FastifyError | FarplayError, request, reply) => {
    const farplay = toFarplayError(error);
    if (farplay.code === 'INTERNAL') request.log.error({ err: error }, 'request failed');
    if (farplay.code === 'RATE_LIMITED') {
      const retry = reply.getHeader('retry-after');
      if (retry !== undefined) reply.header('retry-after', retry);
    }
    return reply.status(farplay.status).send(farplay.toBody());
  });
  app.setNotFoundHandler((request, reply) =>
    reply
      .status(404)
      .send({ code: 'NOT_FOUND', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );
}
