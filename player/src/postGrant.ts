import type { Hex } from 'viem';
import type { Grant } from '../../protocol/eip712.js';

/**
 * Hands the session's signed grant to the matchmaker (`POST /v1/sessions/:id/grant`), which checks it (session, edge,
 * session key, signature, deposit) and opens the session at its checkers before the stream starts.
 */
export async function postGrant(
  apiBase: string,
  sessionId: string,
  grant: Grant,
  grantSignature: Hex,
): Promise<void> {
  const res = await fetch(
    `${apiBase.replace(/\/$/, '')}/v1/sessions/${encodeURIComponent(sessionId)}/grant`,
    {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        grant: { ...grant, pricePerMinute: grant.pricePerMinute.toString(), expiry: grant.expiry.toString() },
        grantSignature,
      }),
    },
  );
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { code?: string; message?: string };
    throw new Error(`the grant was refused: ${body.code ?? res.status} ${body.message ?? ''}`.trim());
  }
}
