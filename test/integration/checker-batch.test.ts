import type { FastifyInstance } from 'fastify';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../checker/buildApp.js';
import { createRedisStore } from '../../checker/store/createRedisStore.js';
import { deleteRedisPrefix } from '../../matchmaker/store/createRedisStore.js';
import { QosRole, stakingDomain } from '../../protocol/eip712.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import type { SignedQosReport } from '../../protocol/qosReport.js';
import {
  checkerChainConfig,
  checkerPrefix,
  goodMinute,
  newSession,
  type TestChains,
} from './checker-support.js';

// POST /v1/reports/batch (an edge's reports of a period for all its sessions in one request), over HTTP (fastify
// inject) with an injected clock, on both stores: each item gets what the single route would answer, a bad item
// is refused alone with its code.
const redisUrl = inject('redisUrl');
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deleteRedisPrefix(redisUrl, p);
});

const PERIOD = 1000;
const chains: TestChains = {
  escrow: { chainId: 31338, address: privateKeyToAccount(generatePrivateKey()).address },
  staking: { chainId: 31337, address: privateKeyToAccount(generatePrivateKey()).address },
};
const player = privateKeyToAccount(generatePrivateKey());
const edge = privateKeyToAccount(generatePrivateKey());
const good = goodMinute(PERIOD);
const domain = stakingDomain(chains.staking.chainId, chains.staking.address);

type Result = { accepted?: Record<string, unknown>; error?: { code: string } };

describe.each(['memory', 'redis'])('checker report batches (%s store)', (storeKind) => {
  let app: FastifyInstance;
  let clock: number;

  beforeEach(async () => {
    clock = Date.now();
    const keyPrefix = checkerPrefix('batch');
    prefixes.push(keyPrefix);
    app = await buildApp({
      config: {
        periodMs: PERIOD,
        reportGraceMs: 400,
        sweepMs: 60_000,
        ...checkerChainConfig(chains),
        logLevel: 'silent',
      },
      ...(storeKind === 'redis' ? { store: createRedisStore({ url: redisUrl, keyPrefix }) } : {}),
      now: () => clock,
    });
  });
  afterEach(async () => {
    await app.close();
  });

  const post = (url: string, payload: unknown) =>
    app.inject({ method: 'POST', url, payload: payload as object });
  const batch = async (reports: unknown[]) => {
    const res = await post('/v1/reports/batch', { reports });
    expect(res.statusCode, res.body).toBe(200);
    return (res.json() as { results: Result[] }).results;
  };
  const opened = async () => {
    const s = await newSession(chains, player, edge);
    const res = await post('/v1/sessions', { grant: s.grantJson, grantSignature: s.grantSignature });
    expect(res.statusCode, res.body).toBe(200);
    return s;
  };
  const edgeMinute = (chain: QosReportChain, minute: number) =>
    chain.next(minute, good.edge, { targetFps: 60, framesEncoded: good.edge.frames }, clock);
  const playerMinute = (chain: QosReportChain, minute: number) =>
    chain.next(minute, good.player, { glassP50Ms: 40, glassSamples: 30 }, clock);

  it('takes an edge’s reports of several sessions in one request and bills each minute as the single route does', async () => {
    const a = await opened();
    const b = await opened();
    clock += 2 * PERIOD;
    // Two minutes of one session's chain in order in the same batch, and another session's.
    const results = await batch([
      await edgeMinute(a.edgeChain, 0),
      await edgeMinute(b.edgeChain, 0),
      await edgeMinute(a.edgeChain, 1),
    ]);
    expect(results.map((r) => r.accepted)).toEqual([
      { minute: 0, role: 0, verdict: null, attestation: null },
      { minute: 0, role: 0, verdict: null, attestation: null },
      { minute: 1, role: 0, verdict: null, attestation: null },
    ]);
    // The players' reports, one per request as pages send them, complete the minutes.
    const single = await post(
      `/v1/sessions/${a.grant.sessionId}/reports`,
      await playerMinute(a.playerChain, 0),
    );
    expect(single.json()).toMatchObject({ verdict: { billable: true }, attestation: { minutes: 1 } });
    // A player's reports may come in a batch too; the answer carries the verdict and attestation.
    const [pb0, pa1] = await batch([
      await playerMinute(b.playerChain, 0),
      await playerMinute(a.playerChain, 1),
    ]);
    expect(pb0?.accepted).toMatchObject({ verdict: { billable: true }, attestation: { minutes: 1 } });
    expect(pa1?.accepted).toMatchObject({ verdict: { billable: true }, attestation: { minutes: 2 } });
    expect((await app.inject(`/v1/sessions/${a.grant.sessionId}`)).json().billableMinutes).toBe(2);
    const evidence = (await app.inject(`/v1/sessions/${b.grant.sessionId}/evidence`)).json();
    expect(evidence.reports).toHaveLength(2);
  });

  it('refuses a bad item with its own code and takes the others', async () => {
    const a = await opened();
    const b = await opened();
    const stranger = await newSession(chains, player, edge);
    clock += 2 * PERIOD;
    const mallory = privateKeyToAccount(generatePrivateKey());
    const forged = await edgeMinute(
      new QosReportChain({
        sessionId: b.grant.sessionId,
        role: QosRole.edge,
        signer: mallory,
        domain,
      }),
      0,
    );
    const a0 = await edgeMinute(a.edgeChain, 0);
    const b0 = await edgeMinute(b.edgeChain, 0);
    const tampered = structuredClone(b0);
    tampered.link.report.metrics.frames += 1;
    const { reportSignature: _omit, ...unsigned } = await edgeMinute(stranger.edgeChain, 0);
    const results = await batch([
      { link: 'garbage' },
      forged,
      a0,
      tampered,
      await edgeMinute(stranger.edgeChain, 1),
      unsigned as SignedQosReport,
      a0,
      // A minute not closed yet (signed on a chain of its own: a.edgeChain must not advance past minute 0).
      await edgeMinute(
        new QosReportChain({ sessionId: a.grant.sessionId, role: QosRole.edge, signer: edge, domain }),
        50,
      ),
      await edgeMinute(a.edgeChain, 1),
    ]);
    expect(results.map((r) => r.error?.code ?? 'accepted')).toEqual([
      'BAD_REQUEST',
      'CHECKER_BAD_SIGNATURE',
      'accepted',
      'CHECKER_BAD_SIGNATURE',
      'CHECKER_UNKNOWN_SESSION',
      'CHECKER_UNKNOWN_SESSION',
      'CHECKER_REPLAY',
      'CHECKER_EARLY',
      'accepted',
    ]);
    // The refused items changed nothing: b's genuine first report is still taken.
    const [again] = await batch([b0]);
    expect(again?.accepted).toMatchObject({ minute: 0, role: 0 });
  });

  it('refuses a batch that is not one with BAD_REQUEST', async () => {
    for (const body of [{}, { reports: [] }, { reports: 'x' }, { reports: [], more: 1 }]) {
      const res = await post('/v1/reports/batch', body);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.json().code).toBe('BAD_REQUEST');
    }
  });
});
