import swaggerUi from '@fastify/swagger-ui';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { MatchmakerMetrics } from '../metrics.js';

export interface OperationRoutesOptions {
  metrics: MatchmakerMetrics;
}

/** Operator routes: Prometheus metrics at /metrics and the OpenAPI UI at /docs. */
export const operationRoutes: FastifyPluginAsyncTypebox<OperationRoutesOptions> = async (
  app,
  { metrics },
) => {
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/metrics', { config: { rateLimit: false }, schema: { hide: true } }, async (_request, reply) =>
    reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()),
  );
};
