import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generatePrivateKey } from 'viem/accounts';
import { afterAll, describe, expect, it } from 'vitest';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { importSessionPrivateKey, signSessionToken } from '../../protocol/sessionToken.js';
import { SignalCloseCodes } from '../../protocol/signaling.js';
import { NodePlayer } from '../tools/NodePlayer.js';
import { TEST_SESSION_KEYS } from '../tools/testDeployment.js';
import { startTestEdge } from './edge-support.js';

// Issue 8: a session token works once — also across an edge restart (the spent tokens are in a file).

const dir = mkdtempSync(join(tmpdir(), 'farplay-spent-'));
const servers: EdgeServer[] = [];
afterAll(async () => {
  for (const s of servers) await s.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An edge of the test deployment with one node key and its spent tokens in `dir`. */
const nodePrivateKey = generatePrivateKey();
async function start(): Promise<EdgeServer> {
  const server = await startTestEdge({
    nodePrivateKey,
    matchmakerPublicKey: TEST_SESSION_KEYS.publicKey,
    spentTokensFile: join(dir, 'spent-tokens'),
  });
  servers.push(server);
  return server;
}

/** A token of the test deployment for `sid` on the edge (what the matchmaker mints). */
function token(edgeId: string, sid: string): string {
  const iat = Math.floor(Date.now() / 1000);
  const key = importSessionPrivateKey(TEST_SESSION_KEYS.privateKey);
  return signSessionToken({ sid, gameId: 'latency-probe', edgeId, iat, exp: iat + 120 }, key);
}

describe('spent session tokens survive an edge restart', () => {
  it('a token used before the restart is refused after it (EDGE_TOKEN_USED); a fresh one plays', async () => {
    const first = await start();
    const used = token(first.edge.id, 'sid-before-restart');
    const signal = (s: EdgeServer) => `${s.edge.url?.replace('http', 'ws')}/v1/signal`;
    const player = new NodePlayer({ signalUrl: signal(first), token: used });
    await player.waitFor(() => player.framesReceived > 3, 15_000, 'the first session to stream');
    player.sendSignal({ type: 'end' });
    expect((await player.closed).code).toBe(SignalCloseCodes.ENDED);
    await player.close();
    await first.close();

    const second = await start();
    expect(second.edge.id).toBe(first.edge.id);
    const again = new NodePlayer({ signalUrl: signal(second), token: used });
    expect((await again.closed).code).toBe(SignalCloseCodes.TOKEN_USED);
    expect(again.messages).toContainEqual(
      expect.objectContaining({ type: 'error', code: 'EDGE_TOKEN_USED' }),
    );
    expect(again.session).toBeUndefined();
    await again.close();
    expect(second.edge.info().activeSessions).toBe(0);

    const fresh = new NodePlayer({ signalUrl: signal(second), token: token(second.edge.id, 'sid-after') });
    await fresh.waitFor(() => fresh.framesReceived > 3, 15_000, 'a fresh token to stream');
    await fresh.close();
  });
});
