import type { FastifyRequest } from 'fastify';
import { FarplayError } from '../../protocol/errors.js';

/** The studio whose API key the request's `Authorization: Bearer <key>` carries; MM_BAD_API_KEY otherwise. */
export function studioOf(request: FastifyRequest, studioKeys: ReadonlyMap<string, string>): string {
  const header = request.headers.authorization ?? '';
  const key = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  const studio = key ? studioKeys.get(key) : undefined;
  if (!studio) throw new FarplayError('MM_BAD_API_KEY');
  return studio;
}
