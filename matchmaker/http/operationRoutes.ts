import { createHash, timingSafeEqual } from 'node:crypto';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest, onRequestHookHandler } from 'fastify';
import { FarplayError } from '../../protocol/errors.js';
import type { MatchmakerMetrics } from '../metrics.js';

export interface OperationRoutesOptions {
  metrics: MatchmakerMetrics;
  /** Bearer token that opens the operator endpoints ('' = none: only from the matchmaker's machine). */
  operatorToken: string;
}

const digest = (value: string): Buffer => createHash('sha256').update(value, 'utf8').digest();

/**
 * True for the operator: the right `Authorization: Bearer <operatorToken>` (compared in constant time), or,
 * without one, a request from this machine (loopback peer, no forwarding header: not a local proxy's).
 */
function isOperator(request: FastifyRequest, operatorToken: string): boolean {
  const header = request.headers.authorization ?? '';
  if (operatorToken !== '' && header.startsWith('Bearer ')) {
    return timingSafeEqual(digest(header.slice(7).trim()), digest(operatorToken));
  }
  const peer = request.socket.remoteAddress ?? '';
  const loopback = peer === '::1' || peer.startsWith('127.') || peer.startsWith('::ffff:127.');
  return (
    loopback && request.headers['x-forwarded-for'] === undefined && request.headers.forwarded === undefined
  );
}

/** Operator routes: Prometheus metrics at /metrics and the OpenAPI UI at /docs, for the operator only. */
export const operationRoutes: FastifyPluginAsyncTypebox<OperationRoutesOptions> = async (
  app,
  { metrics, operatorToken },
) => {
  const operatorOnly: onRequestHookHandler = (request, _reply, done) => {
    done(isOperator(request, operatorToken) ? undefined : new FarplayError('MM_OPERATOR_ONLY'));
  };
  await app.register(swaggerUi, { routePrefix: '/docs', uiHooks: { onRequest: operatorOnly } });
  app.get(
    '/metrics',
    { config: { rateLimit: false }, schema: { hide: true }, onRequest: operatorOnly },
    async (_request, reply) =>
      reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
};
