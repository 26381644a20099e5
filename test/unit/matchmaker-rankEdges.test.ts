import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/evaluateCoordinates.js';
import type { Coordinate } from '../../matchmaker/coordinates.js';
import { EdgeIndex } from '../../matchmaker/EdgeIndex.js';
import { type RankEdgesQuery, rankEdges } from '../../matchmaker/rankEdges.js';
import type { EdgeState } from '../../matchmaker/store/MatchmakerStore.js';
import { geoCoordinate } from '../../protocol/networkCoordinates.js';
import { PONG } from '../tools/FakeEdge.js';

// The ranking walks a grid over the edges' coordinates outwards from the player and stops early; these check
// that it returns exactly what scoring every edge returns, on networks shaped like real ones (edges clustered
// in metros on the globe, some full, some unusable, some without the game, some measured).

function network(count: number, seed: number): { edges: EdgeState[]; coordinates: Map<string, Coordinate> } {
  const random = seededRandom(seed);
  const metros = Array.from({ length: 40 }, () => ({
    lat: -60 + random() * 130,
    lon: -180 + random() * 360,
  }));
  const edges: EdgeState[] = [];
  const coordinates = new Map<string, Coordinate>();
  for (let i = 0; i < count; i++) {
    const metro = metros[Math.floor(random() * metros.length)] as { lat: number; lon: number };
    const lat = metro.lat + (random() - 0.5) * 4;
    const lon = metro.lon + (random() - 0.5) * 4;
    const id = `0x${i.toString(16).padStart(40, '0')}`;
    const capacity = 1 + Math.floor(random() * 8);
    edges.push({
      edge: {
        id,
        region: 'r',
        lat,
        lon,
        gpu: 'none',
        encoders: random() < 0.02 ? [] : ['libx264'],
        capacity,
        pricePerMinute: String(1000 + Math.floor(random() * 500)),
        version: 'test',
        publicUrl: `http://${id}.test`,
        games: random() < 0.1 ? [] : [PONG],
        registeredAt: 0,
      },
      load: { activeSessions: 0, freeSlots: random() < 0.02 ? 0 : capacity, encodeHeadroom: 1, at: 0 },
      usedSlots: random() < 0.1 ? capacity : Math.floor(random() * capacity),
    });
    const geo = geoCoordinate(lat, lon);
    // Learnt coordinates wander off the globe a little and carry heights and errors.
    coordinates.set(id, {
      v: geo.v.map((x) => x + (random() - 0.5) * 20),
      h: random() * 8,
      e: 0.1 + random() * 0.8,
    });
  }
  return { edges, coordinates };
}

function ranked(index: EdgeIndex, query: Omit<RankEdgesQuery, 'random'>, fullScan: boolean) {
  return rankEdges(index, { ...query, random: seededRandom(99), fullScan }).map((r) => [
    r.state.edge.id,
    r.score,
  ]);
}

describe('rankEdges with the spatial index', () => {
  it('returns the same candidates, in the same order with the same scores, as scoring every edge', () => {
    const { edges, coordinates } = network(10_000, 1);
    const index = new EdgeIndex(edges, (s) => coordinates.get(s.edge.id) as Coordinate);
    const random = seededRandom(7);
    const mask = index.gameMask('pong');
    let compared = 0;
    for (let q = 0; q < 150; q++) {
      const lat = -70 + random() * 140;
      const lon = -180 + random() * 360;
      const geo = geoCoordinate(lat, lon);
      // Players on the globe, some well off it (a bad fit, or beyond every edge), with heights and errors.
      const far = q % 10 === 0 ? 400 : 0;
      const player: Coordinate = {
        v: geo.v.map((x) => x + (random() - 0.5) * 30 + far),
        h: random() * 10,
        e: random(),
      };
      const measured = new Map<string, number>();
      for (let m = 0; m < q % 6; m++) {
        const e = edges[Math.floor(random() * edges.length)] as EdgeState;
        measured.set(e.edge.id, 5 + random() * 150);
      }
      const exclude =
        q % 7 === 0 ? (edges[Math.floor(random() * edges.length)] as EdgeState).edge.id : undefined;
      for (const take of [1, 8, 32]) {
        const query = { mask: q % 3 === 0 ? null : mask, measured, player, take, exclude };
        const viaIndex = ranked(index, query, false);
        expect(viaIndex).toEqual(ranked(index, query, true));
        expect(viaIndex.length).toBe(take);
        compared++;
      }
    }
    expect(compared).toBe(450);
  }, 60_000);

  it('agrees on a tiny network, a single edge and edges all at one point', () => {
    for (const count of [1, 2, 7]) {
      const { edges, coordinates } = network(count, count);
      const index = new EdgeIndex(edges, (s) => coordinates.get(s.edge.id) as Coordinate);
      const player = { v: [1, 2, 3], h: 1, e: 0.5 };
      const query = { mask: null, measured: new Map<string, number>(), player, take: 8 };
      expect(ranked(index, query, false)).toEqual(ranked(index, query, true));
    }
    const { edges } = network(50, 3);
    const same = new EdgeIndex(edges, () => ({ v: [10, 10, 10], h: 2, e: 0.3 }));
    const query = {
      mask: null,
      measured: new Map<string, number>(),
      player: { v: [0, 0, 0], h: 0, e: 1 },
      take: 8,
    };
    expect(ranked(same, query, false)).toEqual(ranked(same, query, true));
  });
});
