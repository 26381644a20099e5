import { describe, expect, it } from 'vitest';
import {
  evaluateAllocation,
  evaluateVivaldi,
  seededRandom,
  syntheticMatrix,
} from '../../bench/evaluateCoordinates.js';
import { type Coordinate, CoordinateModel, MAX_PEER_RTTS } from '../../matchmaker/coordinates.js';
import { priceMultiplier } from '../../matchmaker/priceMultiplier.js';
import { spreadOverRegions } from '../../matchmaker/spreadOverRegions.js';
import type { EdgeState } from '../../matchmaker/store/MatchmakerStore.js';
import { geoCoordinate, predictRtt, solveCoordinate } from '../../protocol/networkCoordinates.js';

describe('network coordinates', () => {
  it('seeds edges from geography: Paris–London predicted far below Paris–Tokyo', () => {
    const paris = geoCoordinate(48.85, 2.35);
    const london = geoCoordinate(51.5, -0.12);
    const tokyo = geoCoordinate(35.68, 139.69);
    expect(predictRtt(paris, london)).toBeLessThan(20);
    expect(predictRtt(paris, tokyo)).toBeGreaterThan(100);
  });

  it('solves a player from a few measurements to fixed edges', () => {
    const random = seededRandom(3);
    const truth: Coordinate = { v: [10, -20, 5], h: 3, e: 0 };
    const anchors = [
      { v: [0, 0, 0], h: 1 },
      { v: [50, 0, 0], h: 2 },
      { v: [0, 60, 0], h: 1 },
      { v: [0, 0, 40], h: 4 },
      { v: [-30, -30, 10], h: 2 },
    ].map((c) => {
      const coordinate = { ...c, e: 0.1 };
      return { coordinate, rttMs: predictRtt(truth, coordinate) };
    });
    const solved = solveCoordinate(anchors, undefined, random);
    const unseen: Coordinate = { v: [40, -40, 0], h: 2, e: 0.1 };
    expect(Math.abs(predictRtt(solved, unseen) - predictRtt(truth, unseen))).toBeLessThan(8);
    expect(solved.e).toBeLessThan(0.2);
  });

  it('refines edge coordinates from player measurements and reports them for sharing', () => {
    const model = new CoordinateModel({ random: seededRandom(1) });
    for (const [id, lat, lon] of [
      ['a', 48.85, 2.35],
      ['b', 51.5, -0.12],
      ['c', 40.4, -3.7],
    ] as const) {
      model.ensure(id, lat, lon);
    }
    const before = structuredClone(model.get('a'));
    model.observe([
      { edgeId: 'a', rttMs: 60 }, // much slower than geography says: a's access link is slow
      { edgeId: 'b', rttMs: 8 },
      { edgeId: 'c', rttMs: 20 },
    ]);
    const dirty = model.takeDirty();
    expect(Object.keys(dirty).sort()).toEqual(['a', 'b', 'c']);
    expect(dirty.a).not.toEqual(before);
    expect(model.takeDirty()).toEqual({});
  });

  it("keeps each edge's RTTs to its peers from heartbeats and shares them with other instances", () => {
    const model = new CoordinateModel({ random: seededRandom(1) });
    model.ensure('paris', 48.85, 2.35);
    model.ensure('london', 51.5, -0.12);
    model.ensure('madrid', 40.4, -3.7);
    expect(model.learnPeers('paris', [{ edgeId: 'london', rttMs: 12 }])).toBe(1);
    // Either side's report answers for the pair.
    expect(model.peerRtt('paris', 'london')).toBe(12);
    expect(model.peerRtt('london', 'paris')).toBe(12);
    expect(model.peerRtt('london', 'madrid')).toBeUndefined();
    // A lower sample is taken as it is; a higher one (queueing, or a new route) moves it a quarter of the way.
    model.learnPeers('paris', [{ edgeId: 'london', rttMs: 9 }]);
    expect(model.peerRtt('paris', 'london')).toBe(9);
    model.learnPeers('paris', [{ edgeId: 'london', rttMs: 49 }]);
    expect(model.peerRtt('paris', 'london')).toBe(19);
    // Faster than light between the two edges' geography: dropped, not kept.
    expect(model.learnPeers('paris', [{ edgeId: 'madrid', rttMs: 1 }])).toBe(0);
    expect(model.peerRtt('paris', 'madrid')).toBeUndefined();
    // Another instance adopts them through the store's coordinates.
    const other = new CoordinateModel({ random: seededRandom(2) });
    other.merge(model.takeDirty());
    expect(other.peerRtt('london', 'paris')).toBe(19);
  });

  it('keeps at most MAX_PEER_RTTS peers per edge, dropping the least recently measured', () => {
    const model = new CoordinateModel({ random: seededRandom(1) });
    model.ensure('self', 0, 0);
    const peers = Array.from({ length: MAX_PEER_RTTS + 5 }, (_, i) => `peer${i}`);
    for (const id of peers) model.ensure(id, 0, 0);
    for (const id of peers) model.learnPeers('self', [{ edgeId: id, rttMs: 50 }]);
    expect(Object.keys(model.get('self')?.peers ?? {}).length).toBe(MAX_PEER_RTTS);
    expect(model.peerRtt('self', 'peer0')).toBeUndefined();
    expect(model.peerRtt('self', `peer${MAX_PEER_RTTS + 4}`)).toBe(50);
  });

  it("bounds a player's RTT to an unprobed edge from its measurements and the edges' RTTs to each other", () => {
    const model = new CoordinateModel({ random: seededRandom(1) });
    for (const id of ['a', 'b', 'c', 'd']) model.ensure(id, 0, 0);
    model.learnPeers('a', [
      { edgeId: 'c', rttMs: 100 },
      { edgeId: 'd', rttMs: 15 },
    ]);
    model.learnPeers('c', [{ edgeId: 'b', rttMs: 30 }]);
    const measured = [
      { edgeId: 'a', rttMs: 10 },
      { edgeId: 'b', rttMs: 40 },
    ];
    // |10 − 100| from a beats |40 − 30| from b: c is at least 90 ms away.
    expect(model.rttLowerBound('c', measured)).toBe(90);
    expect(model.rttLowerBound('d', measured)).toBe(5);
    expect(model.rttLowerBound('a', measured)).toBe(10); // measured: its RTT
    expect(model.rttLowerBound('d', [{ edgeId: 'b', rttMs: 40 }])).toBeUndefined(); // b never measured d
  });

  it('counts a measured edge once: one edge repeated is not three anchors to refine it from', () => {
    const model = new CoordinateModel({ random: seededRandom(1) });
    model.ensure('a', 48.85, 2.35);
    const before = structuredClone(model.get('a'));
    model.observe([
      { edgeId: 'a', rttMs: 300 },
      { edgeId: 'a', rttMs: 300 },
      { edgeId: 'a', rttMs: 300 },
    ]);
    expect(model.takeDirty()).toEqual({});
    expect(model.get('a')).toEqual(before);
  });

  it('spreads probe targets over regions, least loaded first, when the player gave no location', () => {
    const edge = (region: string, i: number, usedSlots: number): EdgeState => ({
      edge: {
        id: `${region}${i}`,
        region,
        lat: 0,
        lon: 0,
        gpu: 'none',
        encoders: ['libx264'],
        capacity: 4,
        pricePerMinute: '1000',
        version: 'test',
        publicUrl: 'http://edge.test',
        games: [],
        registeredAt: 0,
      },
      load: null,
      usedSlots,
    });
    const pool = ['eu', 'us', 'jp'].flatMap((region) =>
      Array.from({ length: 10 }, (_, i) => edge(region, i, i === 7 ? 0 : 3)),
    );
    const picks = spreadOverRegions(pool, 3, seededRandom(2)).map((e) => e.edge.id);
    expect(picks.map((id) => id.slice(0, 2)).sort()).toEqual(['eu', 'jp', 'us']);
    expect(picks.every((id) => id.endsWith('7'))).toBe(true);
  });

  it('predicts unprobed edges on a synthetic Internet far better than chance, and allocates near the best', () => {
    const matrix = syntheticMatrix(400, 9);
    const flow = evaluateAllocation(matrix, { edges: 60, seed: 4 });
    expect(flow.prediction.relP50).toBeLessThan(0.3);
    expect(flow.regretMs.p90).toBeLessThan(flow.randomProbeRegretMs.p90);
    const vivaldi = evaluateVivaldi(matrix, { rounds: 300, testPairs: 3000 });
    expect(vivaldi.relP50).toBeLessThan(0.35);
  });
});

describe('regional price multiplier', () => {
  it('is 1 while free slots cover demand and rises with the excess, capped at 4', () => {
    expect(priceMultiplier(0, 10, 60_000)).toBe(1);
    expect(priceMultiplier(10, 10, 60_000)).toBe(1);
    expect(priceMultiplier(30, 10, 60_000)).toBe(2);
    expect(priceMultiplier(1000, 1, 60_000)).toBe(4);
    expect(priceMultiplier(5, 0, 60_000)).toBe(3);
  });
});
