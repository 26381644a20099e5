import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterEach, describe, expect, it } from 'vitest';
import { buildApp } from '../../checker/buildApp.js';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { EdgeBilling } from '../../edge/billing/EdgeBilling.js';
import { QosOutboxFile } from '../../edge/billing/QosOutboxFile.js';
import { parseEdgeConfig } from '../../edge/config.js';
import { createEdge } from '../../edge/createEdge.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { billingSessionId } from '../../protocol/billingSession.js';
import { stakingDomain } from '../../protocol/eip712.js';
import { QosOutbox, type QosOutboxEvent } from '../../protocol/QosOutbox.js';
import { until } from '../support/playerPage.js';
import { goodMinute, newSession, type TestChains } from './checker-support.js';

// A side's reports reach every checker in order, even one that is down when they are signed: they are kept and
// resent until it takes them (real checker HTTP servers, one stopped and started again on the same port).
const PERIOD = 1000;
const chains: TestChains = {
  escrow: { chainId: 31338, address: privateKeyToAccount(generatePrivateKey()).address },
  staking: { chainId: 31337, address: privateKeyToAccount(generatePrivateKey()).address },
};
const player = privateKeyToAccount(generatePrivateKey());
const edgeKey = generatePrivateKey();
const edge = privateKeyToAccount(edgeKey);
const good = goodMinute(PERIOD);
const apps: FastifyInstance[] = [];
// The checkers' clock is far ahead: every minute has closed when its report arrives.
const later = () => Date.now() + 3_600_000;

async function checker(port = 0): Promise<{ app: FastifyInstance; url: string }> {
  const app = await buildApp({
    config: {
      privateKey: generatePrivateKey(),
      periodMs: PERIOD,
      reportGraceMs: 400,
      sweepMs: 1000,
      paymentsChainId: chains.escrow.chainId,
      escrowAddress: chains.escrow.address,
      stakingChainId: chains.staking.chainId,
      stakingAddress: chains.staking.address,
      logLevel: 'silent',
    },
    now: later,
  });
  apps.push(app);
  return { app, url: await app.listen({ host: '127.0.0.1', port }) };
}

afterEach(async () => {
  await Promise.all(apps.splice(0).map((a) => a.close()));
});

describe('QosOutbox', () => {
  it('keeps the reports a down checker missed and delivers them in order once it is back', async () => {
    const s = await newSession(chains, player, edge);
    const up = await checker();
    const down = await checker();
    const downPort = Number(new URL(down.url).port);
    await down.app.close();
    await new CheckerClient(up.url).openSession(s.grantJson, s.grantSignature);

    const events: QosOutboxEvent[] = [];
    const outbox = new QosOutbox({
      checkers: [up.url, down.url],
      backoffMs: 20,
      maxBackoffMs: 100,
      onEvent: (e) => events.push(e),
    });
    const now = later();
    for (let minute = 0; minute < 3; minute++) {
      outbox.push(await s.edgeChain.next(minute, good.edge, { targetFps: 60 }, now));
    }
    await new Promise<void>((resolve) => {
      const check = () =>
        outbox.pending[up.url] === 0 && events.some((e) => e.kind === 'retry' && e.checker === down.url)
          ? resolve()
          : setTimeout(check, 20);
      check();
    });
    expect(outbox.pending[down.url]).toBe(3);

    // Back on the same port; the session is opened there too (a checker not opened yet is also retried).
    const back = await checker(downPort);
    await new CheckerClient(back.url).openSession(s.grantJson, s.grantSignature);
    outbox.retryNow();
    await outbox.drained();
    outbox.close();
    const evidence = (await new CheckerClient(back.url).evidence(s.grant.sessionId)) as {
      reports: { minute: number; role: number }[];
    };
    expect(evidence.reports.map((r) => r.minute)).toEqual([0, 1, 2]);
    expect(events.filter((e) => e.kind === 'dropped')).toEqual([]);
  });

  it('drops a report a checker refuses for good (a forged one) and goes on with the next', async () => {
    const s = await newSession(chains, player, edge);
    const other = await newSession(chains, player, privateKeyToAccount(generatePrivateKey()));
    const c = await checker();
    await new CheckerClient(c.url).openSession(s.grantJson, s.grantSignature);
    const events: QosOutboxEvent[] = [];
    const outbox = new QosOutbox({ checkers: [c.url], backoffMs: 20, onEvent: (e) => events.push(e) });
    const now = later();
    // Signed by another edge key for this session id: the checker refuses it as a bad signature.
    const forged = await other.edgeChain.next(0, good.edge, { targetFps: 60 }, now);
    forged.link = { ...forged.link, report: { ...forged.link.report, sessionId: s.grant.sessionId } };
    outbox.push(forged);
    outbox.push(await s.edgeChain.next(0, good.edge, { targetFps: 60 }, now));
    await outbox.drained();
    outbox.close();
    expect(events.map((e) => e.kind)).toEqual(['dropped', 'delivered']);
    expect(events[0]).toMatchObject({ code: 'CHECKER_BAD_SIGNATURE' });
  });
});

describe('the edge’s QoS outbox file', () => {
  it('keeps reports queued for a down checker across an edge crash and delivers every one, in order, after the restart', async () => {
    const sessionId = `restart-${Date.now()}`;
    const s = await newSession(chains, player, edge, { sessionId: billingSessionId(sessionId) });
    const down = await checker();
    const port = Number(new URL(down.url).port);
    await down.app.close();
    const dir = mkdtempSync(join(tmpdir(), 'farplay-outbox-'));
    const file = join(dir, 'edge.jsonl');
    try {
      // The first edge process queues four reports for the checker that is down, then is killed.
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', fileURLToPath(new URL('./billing-outbox-edge-process.ts', import.meta.url))],
        {
          env: {
            ...process.env,
            OUTBOX_EDGE: JSON.stringify({
              file,
              sessionId,
              checker: down.url,
              edgeKey,
              staking: chains.staking,
              periodMs: PERIOD,
              count: 4,
            }),
          },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      expect(line).toBe(`queued ${JSON.stringify({ [down.url]: 4 })}`);
      child.kill('SIGKILL');
      await once(child, 'exit');

      // The checker comes back on its address; the restarted edge's billing resends what the file holds.
      const back = await checker(port);
      const client = new CheckerClient(back.url);
      await client.openSession(s.grantJson, s.grantSignature);
      const server = await createEdge({
        config: parseEdgeConfig({ port: 0, nodePrivateKey: edgeKey, logLevel: 'silent' }),
        logger: pino({ level: 'silent' }),
        encoderProbe: await probeEncoders({ candidates: ['libx264'] }),
      });
      const opened = QosOutboxFile.open(file);
      expect(
        opened.recovered.map((r) => [r.sessionId, r.entries.map((e) => e.report.link.report.minute)]),
      ).toEqual([[sessionId, [0, 1, 2, 3]]]);
      const billing = new EdgeBilling({
        edge: server.edge,
        domain: stakingDomain(chains.staking.chainId, chains.staking.address),
        periodMs: PERIOD,
        logger: pino({ level: 'silent' }),
        outboxFile: opened,
      });
      type Evidence = { reports: { minute: number; role: number; late: boolean }[] };
      const evidence = await until(
        async () => (await client.evidence(s.grant.sessionId)) as unknown as Evidence,
        (e) => e.reports.filter((r) => r.role === 0).length === 4,
        { timeoutMs: 30_000, what: 'the four edge reports at the checker' },
      );
      // The checker takes a side's chain only in order (CHECKER_CHAIN_BROKEN otherwise): all four, minute by minute.
      const edgeReports = evidence.reports.filter((r) => r.role === 0);
      expect(edgeReports.map((r) => r.minute)).toEqual([0, 1, 2, 3]);
      await until(
        () => opened.file.owed,
        (n) => n === 0,
        { what: 'the file to owe nothing' },
      );
      await billing.close();
      await server.close();
      // Nothing is owed any more: a third start has nothing to resend.
      const again = QosOutboxFile.open(file);
      expect(again.recovered).toEqual([]);
      again.file.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
