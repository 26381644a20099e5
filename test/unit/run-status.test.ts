import { describe, expect, it } from 'vitest';
import { renderRunStatus } from '../../edge/operator/renderRunStatus.js';

const base = {
  edgeId: '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
  sessions: 2,
  capacity: 4,
  streaming: 1,
  encodeHeadroom: 0.874,
};

describe('farplay-edge run status line', () => {
  it('shows sessions, encode headroom and the minutes of today', () => {
    const line = renderRunStatus({
      ...base,
      today: { day: '2026-11-30', sessions: 3, played: 12, attested: 10, paid: 8 },
      pending: 2,
    });
    expect(line).toBe(
      'edge 0x90F79bf6… · sessions 2/4 (1 streaming) · encode headroom 87 % · today 12 min played, 10 attested, 8 paid, 2 pending',
    );
  });

  it('says when the edge does not bill, and shows no streaming count without sessions', () => {
    expect(renderRunStatus({ ...base, sessions: 0, streaming: 0, encodeHeadroom: 1 })).toBe(
      'edge 0x90F79bf6… · sessions 0/4 · encode headroom 100 % · billing off',
    );
  });

  it('fits a terminal line so it can be redrawn in place', () => {
    const line = renderRunStatus({ ...base }, 40);
    expect(line).toHaveLength(40);
    expect(line.endsWith('…')).toBe(true);
    expect(renderRunStatus({ ...base }, 500)).not.toContain('…·');
  });
});
