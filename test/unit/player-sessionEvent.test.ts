import { describe, expect, it } from 'vitest';
import { MAX_SESSION_EVENT_BYTES, parseSessionEvent } from '../../protocol/playerApi.js';

// The player checks every message on the session events socket against its schema, as signalling does:
// a `moved` without a usable session must not send the player to an edge it cannot play on.

const session = {
  sessionId: 's-2',
  gameId: 'breakout',
  token: 'tok',
  expiresAt: 1_700_000_000_000,
  edge: {
    edgeId: 'e-2',
    region: 'us-east',
    url: 'http://127.0.0.1:9',
    signalUrl: 'ws://127.0.0.1:9/v1/signal',
  },
};

describe('parseSessionEvent', () => {
  it('accepts moved and ended as the schema describes them', () => {
    const moved = { type: 'moved', session, reason: 'edge lost' };
    expect(parseSessionEvent(JSON.stringify(moved))).toEqual(moved);
    expect(parseSessionEvent('{"type":"ended","reason":"maintenance"}')).toEqual({
      type: 'ended',
      reason: 'maintenance',
    });
  });

  it('refuses a known type whose fields do not match', () => {
    expect(parseSessionEvent(JSON.stringify({ type: 'moved', reason: 'x' }))).toBeUndefined();
    const noSignal = { ...session, edge: { ...session.edge, signalUrl: undefined } };
    expect(
      parseSessionEvent(JSON.stringify({ type: 'moved', session: noSignal, reason: 'x' })),
    ).toBeUndefined();
    expect(parseSessionEvent(JSON.stringify({ type: 'ended', reason: 42 }))).toBeUndefined();
    expect(parseSessionEvent(JSON.stringify({ type: 'ended' }))).toBeUndefined();
  });

  it('refuses unknown types, non-JSON, binary and oversized frames', () => {
    expect(parseSessionEvent('{"type":"party"}')).toBeUndefined();
    expect(parseSessionEvent('not json')).toBeUndefined();
    expect(parseSessionEvent(new ArrayBuffer(4))).toBeUndefined();
    const huge = JSON.stringify({ type: 'ended', reason: 'x'.repeat(MAX_SESSION_EVENT_BYTES) });
    expect(parseSessionEvent(huge)).toBeUndefined();
  });
});
