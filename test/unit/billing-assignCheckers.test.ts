import { describe, expect, it } from 'vitest';
import { assignCheckers } from '../../matchmaker/assignCheckers.js';
import { billingSessionId } from '../../protocol/billingSession.js';
import { mintedClaims } from '../support/mintedClaims.js';

const urls = ['http://c1:1', 'http://c2:2', 'http://c3:3', 'http://c4:4', 'http://c5:5'];

describe('checker assignment', () => {
  it('gives a session the same checkers every time, distinct ones, and spreads sessions over all of them', () => {
    const a = assignCheckers('session-a', urls, 3);
    expect(assignCheckers('session-a', [...urls].reverse(), 3)).toEqual(a);
    expect(new Set(a).size).toBe(3);
    const used = new Set<string>();
    for (let i = 0; i < 50; i++) for (const u of assignCheckers(`s-${i}`, urls, 3)) used.add(u);
    expect(used.size).toBe(5);
  });

  it('names the checkers in the session token the edge verifies, and maps the session to its on-chain id', () => {
    const claims = mintedClaims({ checkers: { urls: urls.slice(0, 3), quorum: 2 } });
    expect(claims.chk).toEqual(urls.slice(0, 3));
    expect(claims.q).toBe(2);
    expect(billingSessionId('s-1')).toMatch(/^0x[0-9a-f]{64}$/);
    expect(billingSessionId('s-1')).not.toBe(billingSessionId('s-2'));
  });
});
