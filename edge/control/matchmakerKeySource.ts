import { FarplayError } from '../../protocol/errors.js';
import type { EdgeConfig } from '../config.js';

/**
 * Where the edge gets the key it verifies session tokens with (issue 8: a key fetched over plain HTTP can be
 * swapped by anyone on the path, who could then mint tokens the edge accepts):
 * - 'pinned': `matchmakerPublicKey` is in the config (what `npm start` and `farplay-edge` configs do);
 * - 'fetch': no key, but the matchmaker is reached over HTTPS or on this machine (loopback), so
 *   GET /v1/matchmaker is authentic;
 * - 'standalone': no matchmaker at all.
 * A remote plain-HTTP matchmaker without a pinned key is refused with EDGE_BAD_CONFIG.
 */
export function matchmakerKeySource(
  config: Pick<EdgeConfig, 'matchmakerPublicKey' | 'matchmakerUrl'>,
): 'pinned' | 'fetch' | 'standalone' {
  if (config.matchmakerPublicKey) return 'pinned';
  if (!config.matchmakerUrl) return 'standalone';
  const url = new URL(config.matchmakerUrl);
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const loopback = host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
  if (url.protocol === 'https:' || loopback) return 'fetch';
  throw new FarplayError(
    'EDGE_BAD_CONFIG',
    `matchmakerPublicKey must be set (FARPLAY_EDGE_MATCHMAKER_PUBLIC_KEY) for a matchmaker reached over plain HTTP (${url.origin}): ` +
      'a key fetched over it could be replaced on the way. Copy sessionPublicKey from its GET /v1/matchmaker over a trusted path.',
  );
}
