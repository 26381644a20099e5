import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import fastify, {
  type FastifyInstance,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from 'fastify';
import type { Logger } from 'pino';
import { catalogueFrameworkErrors } from '../../protocol/http/catalogueFrameworkErrors.js';
import { redactedRequest } from '../../protocol/logRedactions.js';
import { MAX_SIGNAL_MESSAGE_BYTES } from '../../protocol/signaling.js';
import type { Edge } from '../Edge.js';
import { edgeRoutes } from './edgeRoutes.js';
import { handleSignalUpgrade } from './handleSignalUpgrade.js';

/** The edge's fastify instance, with the TypeBox type provider. */
export type EdgeApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  Logger,
  TypeBoxTypeProvider
>;

/**
 * Builds the edge's HTTP app for `edge` (not listening): the routes plugin and the signalling WebSocket
 * upgrade, which closes with the app. Tests use `app.inject()`; `EdgeServer` listens.
 */
export async function buildEdgeApp(edge: Edge, logger: Logger): Promise<EdgeApp> {
  const app = fastify({
    // Request lines never carry the WHEP `?token=` (or any secret query value): protocol/logRedactions.ts.
    loggerInstance: logger.child({}, { serializers: { req: redactedRequest } }),
    bodyLimit: MAX_SIGNAL_MESSAGE_BYTES,
    frameworkErrors: catalogueFrameworkErrors,
  }).withTypeProvider<TypeBoxTypeProvider>();
  const upgrade = handleSignalUpgrade(app.server, edge);
  app.addHook('onClose', async () => upgrade.close());
  await app.register(edgeRoutes, { edge });
  return app;
}
