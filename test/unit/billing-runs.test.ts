import { describe, expect, it } from 'vitest';
import { BillingRuns } from '../../matchmaker/BillingRuns.js';
import { BILLING_RUN_LENGTH, billingRunId, billingSessionId } from '../../protocol/billingSession.js';
import { mintedClaims } from '../support/mintedClaims.js';

const word = (id: string) => BigInt(id) >> 3n;

describe('on-chain billing ids in runs', () => {
  it('gives 8 consecutive sessions of an edge ids of one ledger word, then opens a new run', () => {
    const runs = new BillingRuns();
    const ids = Array.from({ length: 2 * BILLING_RUN_LENGTH }, (_, i) => runs.next('0xEdGe', `sid-${i}`));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^0x[0-9a-f]{64}$/);
    const first = ids.slice(0, 8);
    const second = ids.slice(8);
    expect(new Set(first.map(word)).size).toBe(1);
    expect(new Set(second.map(word)).size).toBe(1);
    expect(word(first[0] as string)).not.toBe(word(second[0] as string));
    expect(first.map((id) => Number(BigInt(id) & 7n))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    // The run is named by the session that opened it; the edge's address is case-blind.
    expect(first[0]).toBe(billingRunId('sid-0', 0));
    expect(second[3]).toBe(billingRunId('sid-8', 3));
  });

  it('keeps each edge its own run, and run ids apart from the fallback ids', () => {
    const runs = new BillingRuns();
    const a = runs.next('0xa', 's-1');
    const b = runs.next('0xb', 's-2');
    expect(runs.next('0xA', 's-3')).toBe(billingRunId('s-1', 1));
    expect(b).toBe(billingRunId('s-2', 0));
    expect(word(a)).not.toBe(word(billingSessionId('s-1')));
    expect(() => billingRunId('s-1', 8)).toThrow(RangeError);
  });

  it('signs the id into the session token the edge verifies', () => {
    const id = billingRunId('s-1', 5);
    expect(mintedClaims({ checkers: { urls: ['http://c1:1'], quorum: 1 }, billingId: id }).bid).toBe(id);
  });
});
