import type { Hex } from 'viem';
import { afterAll, afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import type { CheckerSessionRecord, CheckerStore, StoredReport } from '../../checker/store/CheckerStore.js';
import { ZERO_HASH } from '../../checker/store/CheckerStore.js';
import { createMemoryStore } from '../../checker/store/createMemoryStore.js';
import { createRedisStore } from '../../checker/store/createRedisStore.js';
import { deleteRedisPrefix } from '../../matchmaker/store/createRedisStore.js';
import { checkerPrefix, newSessionId } from './checker-support.js';

// One contract suite, run against both checker store implementations (the Redis one on the real server).
const redisUrl = inject('redisUrl');
const prefixes: string[] = [];
const implementations: [string, () => CheckerStore][] = [
  ['memory', () => createMemoryStore()],
  [
    'redis',
    () => {
      const keyPrefix = checkerPrefix('store');
      prefixes.push(keyPrefix);
      return createRedisStore({ url: redisUrl, keyPrefix });
    },
  ],
];

afterAll(async () => {
  for (const p of prefixes) await deleteRedisPrefix(redisUrl, p);
});

const h = (n: number): Hex => `0x${n.toString(16).padStart(64, '0')}`;
const record = (sessionId: Hex, grantHash: Hex = h(0xabc)): CheckerSessionRecord => ({
  sessionId,
  grantJson: '{"grant":1}',
  grantSignature: `0x${'11'.repeat(65)}`,
  grantHash,
  openedAt: Date.now(),
  expiresAt: Date.now() + 60_000,
});
const rep = (role: 0 | 1, minute: number, hash: Hex): StoredReport => ({
  role,
  minute,
  hash,
  json: `{"m":${minute},"r":${role}}`,
});

describe.each(implementations)('checker store contract: %s', (_name, make) => {
  let store: CheckerStore;
  let s: Hex;
  beforeEach(async () => {
    store = make();
    s = newSessionId('store');
    expect(await store.openSession(record(s))).toBe('ok');
  });
  afterEach(async () => {
    await store.close();
  });

  it('opens a session once per grant and refuses another grant for the same id', async () => {
    expect(await store.openSession(record(s))).toBe('exists');
    expect(await store.openSession(record(s, h(0xdef)))).toBe('conflict');
    const got = await store.getSession(s);
    expect(got?.record.grantHash).toBe(h(0xabc));
    expect(got?.billableMinutes).toBe(0);
    expect(await store.getSession(newSessionId('none'))).toBeNull();
  });

  it('keeps each side’s chain: first from zero, then only from the head, minutes advancing', async () => {
    expect(await store.appendReport(s, rep(0, 0, h(1)), h(9), 1)).toEqual({ kind: 'broken', head: null });
    expect(await store.appendReport(s, rep(0, 0, h(1)), ZERO_HASH, Date.now() + 60_000)).toEqual({
      kind: 'pending',
    });
    expect(await store.appendReport(s, rep(0, 0, h(1)), ZERO_HASH, 1)).toEqual({ kind: 'replay' });
    const eq = await store.appendReport(s, rep(0, 0, h(2)), ZERO_HASH, 1);
    expect(eq.kind).toBe('equivocation');
    expect(eq.kind === 'equivocation' && eq.existing.hash).toBe(h(1));
    expect(await store.appendReport(s, rep(0, 2, h(3)), h(7), 1)).toEqual({
      kind: 'broken',
      head: { minute: 0, hash: h(1) },
    });
    // A side may skip a minute (it says so by chaining past it), never go back.
    expect((await store.appendReport(s, rep(0, 2, h(3)), h(1), Date.now() + 60_000)).kind).toBe('pending');
    expect((await store.appendReport(s, rep(0, 1, h(4)), h(3), 1)).kind).toBe('broken');
    const done = await store.appendReport(s, rep(1, 0, h(5)), ZERO_HASH, 1);
    expect(done.kind).toBe('complete');
    expect(done.kind === 'complete' && done.other).toEqual(rep(0, 0, h(1)));
    expect(await store.appendReport(newSessionId('x'), rep(0, 0, h(1)), ZERO_HASH, 1)).toEqual({
      kind: 'unknown',
    });
    const both = await store.minuteReports(s, 0);
    expect(both.edge?.hash).toBe(h(1));
    expect(both.player?.hash).toBe(h(5));
  });

  it('decides a minute once, counts billable ones up to the grant, and keeps late reports in the chain', async () => {
    await store.appendReport(s, rep(0, 0, h(1)), ZERO_HASH, Date.now() + 60_000);
    expect(await store.decideMinute(s, 0, '{"v":0}', true, 2)).toEqual({
      decided: true,
      billableMinutes: 1,
      counted: true,
    });
    expect(await store.decideMinute(s, 0, '{"v":"again"}', true, 2)).toEqual({
      decided: false,
      billableMinutes: 1,
      counted: false,
    });
    expect(await store.decideMinute(s, 1, '{"v":1}', false, 2)).toEqual({
      decided: true,
      billableMinutes: 1,
      counted: false,
    });
    expect((await store.decideMinute(s, 2, '{"v":2}', true, 2)).billableMinutes).toBe(2);
    expect(await store.decideMinute(s, 3, '{"v":3}', true, 2)).toEqual({
      decided: true,
      billableMinutes: 2,
      counted: false,
    });
    expect(await store.appendReport(s, rep(1, 0, h(6)), ZERO_HASH, 1)).toEqual({ kind: 'late' });
    expect((await store.appendReport(s, rep(1, 4, h(7)), h(6), Date.now() + 60_000)).kind).toBe('pending');
    expect((await store.getSession(s))?.billableMinutes).toBe(2);
    const e = await store.evidence(s);
    expect(e?.reports.map((r) => [r.minute, r.role, r.late])).toEqual([
      [0, 0, false],
      [0, 1, true],
      [4, 1, false],
    ]);
    expect(e?.verdicts.map((v) => v.json)).toEqual(['{"v":0}', '{"v":1}', '{"v":2}', '{"v":3}']);
  });

  it('hands out due minutes once and forgets decided ones', async () => {
    const now = Date.now();
    await store.appendReport(s, rep(0, 0, h(1)), ZERO_HASH, now - 10);
    await store.appendReport(s, rep(0, 1, h(2)), h(1), now - 5);
    await store.appendReport(s, rep(0, 2, h(3)), h(2), now + 60_000);
    await store.decideMinute(s, 1, '{}', false, 10);
    const due = await store.claimDue(now, 10);
    expect(due.filter((d) => d.sessionId === s.toLowerCase()).map((d) => d.minute)).toEqual([0]);
    expect((await store.claimDue(now, 10)).filter((d) => d.sessionId === s.toLowerCase())).toEqual([]);
  });

  it('keeps attestations by cumulative minutes and contradictions in order', async () => {
    expect(await store.getAttestation(s)).toBeNull();
    await store.putAttestation(s, 1, `0x${'01'.repeat(65)}`);
    await store.putAttestation(s, 2, `0x${'02'.repeat(65)}`);
    expect(await store.getAttestation(s)).toEqual({ minutes: 2, signature: `0x${'02'.repeat(65)}` });
    expect(await store.getAttestation(s, 1)).toEqual({ minutes: 1, signature: `0x${'01'.repeat(65)}` });
    expect(await store.getAttestation(s, 5)).toBeNull();
    await store.putContradiction(s, '{"a":1}');
    await store.putContradiction(s, '{"b":2}');
    const e = await store.evidence(s);
    expect(e?.contradictions).toEqual(['{"a":1}', '{"b":2}']);
    expect(e?.attestations.map((a) => a.minutes)).toEqual([1, 2]);
  });

  it('keeps the checker’s probes of the edge in order, with the session, and none for an unknown session', async () => {
    expect(await store.probes(s)).toEqual([]);
    await store.putProbe(s, '{"kind":"rtt","rttMs":1.2}');
    await store.putProbe(s, '{"kind":"session","ok":false}');
    expect(await store.probes(s)).toEqual(['{"kind":"rtt","rttMs":1.2}', '{"kind":"session","ok":false}']);
    expect((await store.evidence(s))?.probes).toHaveLength(2);
    const unknown = newSessionId('none');
    await store.putProbe(unknown, '{"kind":"rtt"}');
    expect(await store.probes(unknown)).toEqual([]);
    expect(await store.evidence(unknown)).toBeNull();
    expect(await store.evidence(newSessionId('none'))).toBeNull();
  });
});
