// The player flow of the player page, run inside a network namespace for matchmaker-netns.test.ts:
// candidates → probe each edge 5 times (median RTT over a kept-alive connection) → session.
// Args: matchmakerUrl. Prints {"measurements", "session", "privateKey"} (the session key, so the test can
// watch the session's events as its owner).
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';

const [matchmakerUrl] = process.argv.slice(2) as string[];

async function post(path: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${matchmakerUrl}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (!res.ok) throw new Error(`${path}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}

async function probe(url: string): Promise<number> {
  await fetch(url); // connection set-up is not part of the RTT
  const samples: number[] = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    await (await fetch(url)).arrayBuffer();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return samples[2] as number;
}

const { candidates } = (await post('/v1/candidates', { gameId: 'pong', limit: 5 })) as {
  candidates: { edgeId: string; probeUrl: string }[];
};
const measurements = await Promise.all(
  candidates.map(async (c) => ({ edgeId: c.edgeId, rttMs: Math.round((await probe(c.probeUrl)) * 10) / 10 })),
);
const privateKey = generatePrivateKey();
const sessionKey = privateKeyToAccount(privateKey).address;
const session = await post('/v1/sessions', { gameId: 'pong', measurements, sessionKey });
process.stdout.write(`${JSON.stringify({ measurements, session, privateKey })}\n`);
