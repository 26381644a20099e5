import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { FarplayError } from '../../protocol/errors.js';

const digest = (key: string): Buffer => createHash('sha256').update(key, 'utf8').digest();

/**
 * The studio whose API key the request's `Authorization: Bearer <key>` carries; MM_BAD_API_KEY otherwise.
 * Keys are compared in constant time (SHA-256 of each, `timingSafeEqual`, every key looked at): how long
 * the answer takes says nothing about how much of a key was right.
 */
export function studioOf(request: FastifyRequest, studioKeys: ReadonlyMap<string, string>): string {
  const header = request.headers.authorization ?? '';
  const key = header.startsWith('Bearer ') ? header.slice(7).trim() : '';
  const presented = digest(key);
  let studio: string | undefined;
  for (const [known, owner] of studioKeys) {
    if (timingSafeEqual(presented, digest(known)) && key !== '') studio ??= owner;
  }
  if (!studio) throw new FarplayError('MM_BAD_API_KEY');
  return studio;
}
