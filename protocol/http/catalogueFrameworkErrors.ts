import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { FarplayError } from '../errors.js';

/**
 * fastify's `frameworkErrors` option: the errors fastify raises before routing (a URL that is not valid
 * percent-encoding, a bad constraint) answer a catalogue body too (`BAD_REQUEST`), like every other error
 * (`useCatalogueErrors`). Found by the fuzzer (test/integration/fuzz.test.ts).
 */
export function catalogueFrameworkErrors(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  const farplay = new FarplayError(
    'BAD_REQUEST',
    error.code === 'FST_ERR_BAD_URL' ? 'the URL is not valid' : undefined,
  );
  void reply.status(farplay.status).send(farplay.toBody());
}
