import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type Hex, hashTypedData, hexToBytes } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../checker/buildApp.js';
import { createRedisStore } from '../../checker/store/createRedisStore.js';
import { verifyAttestation } from '../../contracts-client/src/escrow.js';
import { deleteRedisPrefix } from '../../matchmaker/store/createRedisStore.js';
import { QosRole, slashTypes, stakingDomain } from '../../protocol/eip712.js';
import { evaluateMinute } from '../../protocol/evaluateMinute.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import { qosPolicy } from '../../protocol/qosPolicy.js';
import type { SignedQosReport } from '../../protocol/qosReport.js';
import { recoverAddress } from '../../protocol/recoverAddress.js';
import {
  checkerChainConfig,
  checkerPrefix,
  goodMinute,
  newSession,
  type TestChains,
  type TestSession,
} from './checker-support.js';

// The checker over HTTP (fastify inject) with an injected clock, on the in-process and the Redis store.
const redisUrl = inject('redisUrl');
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deleteRedisPrefix(redisUrl, p);
});

const PERIOD = 1000;
const GRACE = 400;
const chains: TestChains = {
  escrow: { chainId: 31338, address: privateKeyToAccount(generatePrivateKey()).address },
  staking: { chainId: 31337, address: privateKeyToAccount(generatePrivateKey()).address },
};
const player = privateKeyToAccount(generatePrivateKey());
const edge = privateKeyToAccount(generatePrivateKey());
const checkerKey = generatePrivateKey();
const good = goodMinute(PERIOD);

describe.each(['memory', 'redis'])('checker app (%s store)', (storeKind) => {
  let app: FastifyInstance;
  let clock: number;
  let s: TestSession;

  beforeEach(async () => {
    clock = Date.now();
    const keyPrefix = checkerPrefix('app');
    prefixes.push(keyPrefix);
    app = await buildApp({
      config: {
        privateKey: checkerKey,
        periodMs: PERIOD,
        reportGraceMs: GRACE,
        sweepMs: 60_000,
        ...checkerChainConfig(chains),
        logLevel: 'silent',
      },
      ...(storeKind === 'redis' ? { store: createRedisStore({ url: redisUrl, keyPrefix }) } : {}),
      now: () => clock,
    });
    s = await newSession(chains, player, edge);
    const open = await post('/v1/sessions', { grant: s.grantJson, grantSignature: s.grantSignature });
    expect(open.statusCode, open.body).toBe(200);
  });
  afterEach(async () => {
    await app.close();
  });

  const post = (url: string, payload: unknown) =>
    app.inject({ method: 'POST', url, payload: payload as object });
  const report = (r: SignedQosReport, sessionId: Hex = s.grant.sessionId) =>
    post(`/v1/sessions/${sessionId}/reports`, r);
  const edgeMinute = (chain: QosReportChain, minute: number, over: Partial<typeof good.edge> = {}) =>
    chain.next(minute, { ...good.edge, ...over }, { targetFps: 60, framesEncoded: good.edge.frames }, clock);
  const playerMinute = (chain: QosReportChain, minute: number, over: Partial<typeof good.player> = {}) =>
    chain.next(minute, { ...good.player, ...over }, { glassP50Ms: 40, glassSamples: 30 }, clock);
  const expectCode = (
    res: { statusCode: number; body: string; json: () => { code?: string } },
    status: number,
    code: string,
  ) => {
    expect(res.statusCode, res.body).toBe(status);
    expect(res.json().code).toBe(code);
  };

  it('answers its health with its address and the hash of the policy it applies', async () => {
    const res = await app.inject('/v1/health');
    expect(res.json()).toMatchObject({
      ok: true,
      checker: privateKeyToAccount(checkerKey).address,
      periodMs: PERIOD,
      store: storeKind,
    });
    const policy = await app.inject('/v1/policy');
    expect(policy.json().policy).toEqual(qosPolicy({ periodMs: PERIOD, reportGraceMs: GRACE }));
  });

  it('opens a session only with the player’s signature on an unexpired grant, one grant per session id', async () => {
    const again = await post('/v1/sessions', { grant: s.grantJson, grantSignature: s.grantSignature });
    expect(again.statusCode).toBe(200);
    const other = await newSession(chains, player, edge);
    const forged = await post('/v1/sessions', { grant: other.grantJson, grantSignature: s.grantSignature });
    expectCode(forged, 422, 'CHECKER_BAD_GRANT');
    const expired = await newSession(chains, player, edge, { expiry: 1000n });
    expectCode(
      await post('/v1/sessions', { grant: expired.grantJson, grantSignature: expired.grantSignature }),
      422,
      'CHECKER_BAD_GRANT',
    );
    const rival = await newSession(chains, player, edge, {
      sessionId: s.grant.sessionId,
      pricePerMinute: 1n,
    });
    expectCode(
      await post('/v1/sessions', { grant: rival.grantJson, grantSignature: rival.grantSignature }),
      409,
      'CHECKER_GRANT_CONFLICT',
    );
  });

  it('bills a good minute once both ends reported it, with an attestation the escrow would accept', async () => {
    clock += PERIOD;
    const first = await report(await edgeMinute(s.edgeChain, 0));
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ minute: 0, role: 0, verdict: null, attestation: null });
    const second = await report(await playerMinute(s.playerChain, 0));
    expect(second.statusCode, second.body).toBe(200);
    const body = second.json();
    expect(body.verdict).toMatchObject({ minute: 0, billable: true, reasons: [] });
    expect(body.attestation).toMatchObject({ minutes: 1, checker: privateKeyToAccount(checkerKey).address });
    expect(
      await verifyAttestation(
        chains.escrow,
        {
          sessionId: s.grant.sessionId,
          grantHash: body.attestation.grantHash,
          minutes: 1,
          policyHash: body.attestation.policyHash,
        },
        body.attestation.signature,
        privateKeyToAccount(checkerKey).address,
      ),
    ).toBe(true);
    const att = await app.inject(`/v1/sessions/${s.grant.sessionId}/attestation?minutes=1`);
    expect(att.json().signature).toBe(body.attestation.signature);
    expect((await app.inject(`/v1/sessions/${s.grant.sessionId}`)).json().billableMinutes).toBe(1);
  });

  it('refuses forged, tampered, replayed, wrong-session, unknown-session, early and unsigned-evidence reports', async () => {
    clock += PERIOD;
    const mallory = privateKeyToAccount(generatePrivateKey());
    const domain = stakingDomain(chains.staking.chainId, chains.staking.address);
    const forgedChain = new QosReportChain({
      sessionId: s.grant.sessionId,
      role: QosRole.edge,
      signer: mallory,
      domain,
    });
    expectCode(await report(await edgeMinute(forgedChain, 0)), 401, 'CHECKER_BAD_SIGNATURE');
    const genuine = await edgeMinute(s.edgeChain, 0);
    const tampered = structuredClone(genuine);
    tampered.link.report.metrics.frames += 1;
    expectCode(await report(tampered), 401, 'CHECKER_BAD_SIGNATURE');
    const { reportSignature: _omit, ...bare } = genuine;
    expectCode(await report(bare as SignedQosReport), 400, 'CHECKER_BAD_REPORT');
    expect((await report(genuine)).statusCode).toBe(200);
    expectCode(await report(genuine), 409, 'CHECKER_REPLAY');

    const other = await newSession(chains, player, edge);
    await post('/v1/sessions', { grant: other.grantJson, grantSignature: other.grantSignature });
    expectCode(await report(genuine, other.grant.sessionId), 403, 'CHECKER_WRONG_SESSION');
    // The other session's player key signing for this session is not this session's key.
    const crossed = new QosReportChain({
      sessionId: s.grant.sessionId,
      role: QosRole.player,
      signer: other.sessionKey,
      domain,
    });
    expectCode(await report(await playerMinute(crossed, 0)), 401, 'CHECKER_BAD_SIGNATURE');
    const stranger = await newSession(chains, player, edge);
    expectCode(
      await report(await edgeMinute(stranger.edgeChain, 0), stranger.grant.sessionId),
      404,
      'CHECKER_UNKNOWN_SESSION',
    );
    expectCode(await report(await edgeMinute(s.edgeChain, 10)), 425, 'CHECKER_EARLY');
  });

  it('refuses garbage with codes and stays up under random bytes', async () => {
    for (let i = 0; i < 60; i++) {
      const bytes = randomBytes(1 + ((i * 37) % 3000));
      const res = await app.inject({
        method: 'POST',
        url: `/v1/sessions/${s.grant.sessionId}/reports`,
        headers: { 'content-type': i % 2 === 0 ? 'application/json' : 'application/octet-stream' },
        payload: bytes,
      });
      expect(res.statusCode).toBeGreaterThanOrEqual(400);
      expect(res.statusCode).toBeLessThan(500);
      expect(typeof res.json().code).toBe('string');
    }
    expectCode(await post(`/v1/sessions/${s.grant.sessionId}/reports`, { link: 1 }), 400, 'BAD_REQUEST');
    expectCode(await post('/v1/sessions/0x1234/reports', {}), 400, 'BAD_REQUEST');
    const big = await app.inject({
      method: 'POST',
      url: `/v1/sessions/${s.grant.sessionId}/reports`,
      headers: { 'content-type': 'application/json' },
      payload: `"${'a'.repeat(64 * 1024)}"`,
    });
    expectCode(big, 413, 'PAYLOAD_TOO_LARGE');
    expect((await app.inject('/v1/health')).json().ok).toBe(true);
  });

  it('refuses a report that skips one the checker never got, until the missing one comes', async () => {
    clock += 3 * PERIOD;
    const m0 = await edgeMinute(s.edgeChain, 0);
    const m1 = await edgeMinute(s.edgeChain, 1);
    const m2 = await edgeMinute(s.edgeChain, 2);
    expect((await report(m0)).statusCode).toBe(200);
    const broken = await report(m2);
    expectCode(broken, 409, 'CHECKER_CHAIN_BROKEN');
    expect(broken.json().details.head.minute).toBe(0);
    expect((await report(m1)).statusCode).toBe(200);
    expect((await report(m2)).statusCode).toBe(200);
  });

  it('keeps an edge’s two different reports of one minute as slashing evidence with a signed slash order', async () => {
    clock += PERIOD;
    const honest = await edgeMinute(s.edgeChain, 0);
    const twin = new QosReportChain({
      sessionId: s.grant.sessionId,
      role: QosRole.edge,
      signer: edge,
      domain: stakingDomain(chains.staking.chainId, chains.staking.address),
    });
    const lie = await edgeMinute(twin, 0, { frames: 1 });
    expect((await report(honest)).statusCode).toBe(200);
    const res = await report(lie);
    expectCode(res, 409, 'CHECKER_EQUIVOCATION');
    const slash = res.json().details.slash;
    expect(slash.order).toMatchObject({
      edge: edge.address,
      sessionId: s.grant.sessionId.toLowerCase(),
      minute: 0,
    });
    expect(slash.evidence).toHaveLength(2);
    expect(slash.order.deadline).toBe((s.grant.expiry + 30n * 86_400n).toString());
    const digest = hashTypedData({
      domain: stakingDomain(chains.staking.chainId, chains.staking.address),
      types: slashTypes,
      primaryType: 'Slash',
      message: { ...slash.order, deadline: BigInt(slash.order.deadline) },
    });
    expect(recoverAddress(hexToBytes(digest), slash.signature)).toBe(
      privateKeyToAccount(checkerKey).address.toLowerCase(),
    );
    const evidence = (await app.inject(`/v1/sessions/${s.grant.sessionId}/evidence`)).json();
    expect(evidence.contradictions).toHaveLength(1);
    expect(evidence.contradictions[0]).toMatchObject({ kind: 'equivocation', slashable: true, minute: 0 });
  });

  it('decides a minute without the missing side after the grace, refuses the late report but keeps its chain', async () => {
    clock += PERIOD;
    expect((await report(await edgeMinute(s.edgeChain, 0))).statusCode).toBe(200);
    clock += GRACE + 1;
    expect(await app.checker.sweep()).toBe(1);
    const late = await report(await playerMinute(s.playerChain, 0));
    expectCode(late, 409, 'CHECKER_LATE');
    clock += PERIOD;
    expect((await report(await edgeMinute(s.edgeChain, 1))).statusCode).toBe(200);
    const next = await report(await playerMinute(s.playerChain, 1));
    expect(next.json().verdict.billable).toBe(true);
    expect(next.json().attestation.minutes).toBe(1);
    const evidence = (await app.inject(`/v1/sessions/${s.grant.sessionId}/evidence`)).json();
    expect(evidence.verdicts.map((v: { reasons: string[] }) => v.reasons)).toEqual([
      ['no-player-report'],
      [],
    ]);
    expect(evidence.reports.map((r: { late: boolean }) => r.late)).toEqual([false, true, false, false]);
  });

  it('does not bill a minute the player refutes (60 fps claimed, 20 decoded) and serves evidence anyone can re-check', async () => {
    clock += 2 * PERIOD;
    await report(await edgeMinute(s.edgeChain, 0));
    await report(await playerMinute(s.playerChain, 0));
    await report(await edgeMinute(s.edgeChain, 1));
    const res = await report(
      await playerMinute(s.playerChain, 1, { frames: Math.round(good.edge.frames / 3) }),
    );
    expect(res.json().verdict).toMatchObject({ billable: false, contradiction: true });
    expect(res.json().attestation).toBeNull();
    const evidence = (await app.inject(`/v1/sessions/${s.grant.sessionId}/evidence`)).json();
    expect(evidence.billableMinutes).toBe(1);
    expect(evidence.contradictions).toEqual([expect.objectContaining({ kind: 'refuted', minute: 1 })]);
    // Re-check every verdict from the signed reports and the published policy.
    for (const v of evidence.verdicts) {
      const side = (role: number) => {
        const r = evidence.reports.find(
          (x: { minute: number; role: number }) => x.minute === v.minute && x.role === role,
        );
        return { metrics: r.link.report.metrics, detail: r.link.detail };
      };
      const again = evaluateMinute({
        policy: evidence.policy,
        minute: v.minute,
        edge: side(0),
        player: side(1),
      });
      expect({ ...again, decidedAt: v.decidedAt }).toEqual(v);
    }
    expect(evidence.session.grant).toEqual(s.grantJson);
  });

  it('refuses minutes beyond the grant', async () => {
    const short = await newSession(chains, player, edge, { maxMinutes: 1 });
    await post('/v1/sessions', { grant: short.grantJson, grantSignature: short.grantSignature });
    clock += 2 * PERIOD;
    await report(await edgeMinute(short.edgeChain, 0), short.grant.sessionId);
    expectCode(
      await report(await edgeMinute(short.edgeChain, 1), short.grant.sessionId),
      422,
      'CHECKER_BEYOND_GRANT',
    );
  });
});
