import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../bench/evaluateCoordinates.js';
import { type Coordinate, CoordinateModel } from '../../matchmaker/coordinates.js';
import { geoCoordinate, predictRtt } from '../../protocol/networkCoordinates.js';

// Issue 8: the matchmaker's edges learn only from plausible, agreeing measurements, a few per source, and
// stay near their anchors; honest players agreeing with each other still teach them.
const EDGES = [
  ['paris', 48.86, 2.35],
  ['london', 51.5, -0.12],
  ['frankfurt', 50.11, 8.68],
  ['madrid', 40.42, -3.7],
] as const;

function model(anchorRadiusMs = 30): CoordinateModel {
  const m = new CoordinateModel({ random: seededRandom(3), anchorRadiusMs });
  for (const [id, lat, lon] of EDGES) m.ensure(id, lat, lon);
  return m;
}

const parisPlayer = geoCoordinate(48.9, 2.4);
const predicted = (m: CoordinateModel, id: string, from: Coordinate = parisPlayer) =>
  predictRtt(from, m.get(id) as Coordinate);

/** Honest measurements of a player near `lat`/`lon`, with `extra` ms added to Paris (a slow access link). */
function honest(m: CoordinateModel, lat: number, lon: number, extra = 0) {
  const at = geoCoordinate(lat, lon);
  return EDGES.map(([id]) => ({
    edgeId: id,
    rttMs: predictRtt(at, m.get(id) as Coordinate) + (id === 'paris' ? extra : 0),
  }));
}

describe('learning edge coordinates from players', () => {
  it('one source teaches only a few times, however often it asks', () => {
    const lied = (sources: (i: number) => string) => {
      const m = model();
      const before = predicted(m, 'paris');
      // A plausible lie (Paris 3 ms slower), not an outlier: only the per-source budget stops it.
      for (let i = 0; i < 150; i++) m.learn(honest(m, 48.9, 2.4, 3), { source: sources(i), now: 1_000 });
      return predicted(m, 'paris') - before;
    };
    const one = lied(() => 'one-address');
    const many = lied((i) => `address-${i}`);
    expect(Math.abs(one)).toBeLessThanOrEqual(0.5);
    expect(many).toBeGreaterThan(4 * Math.abs(one));
  });

  it('drops a measurement that disagrees wildly with the others (an outlier teaches nothing)', () => {
    const m = model();
    const before = EDGES.map(([id]) => predicted(m, id));
    for (let i = 0; i < 150; i++) m.learn(honest(m, 48.9, 2.4, 40));
    const after = EDGES.map(([id]) => predicted(m, id));
    for (const [i, ms] of before.entries())
      expect(Math.abs((after[i] as number) - ms)).toBeLessThanOrEqual(1);
  });

  it('drops implausible RTTs and fits that disagree with themselves', () => {
    const m = model();
    const before = EDGES.map(([id]) => predicted(m, id));
    for (let i = 0; i < 150; i++) {
      m.learn([
        { edgeId: 'paris', rttMs: 23_832 },
        { edgeId: 'london', rttMs: 1 },
        { edgeId: 'frankfurt', rttMs: 1 },
        { edgeId: 'madrid', rttMs: 1 },
      ]);
      m.learn([
        { edgeId: 'paris', rttMs: 1 },
        { edgeId: 'london', rttMs: 80 },
        { edgeId: 'frankfurt', rttMs: 80 },
        { edgeId: 'madrid', rttMs: 1 },
      ]);
    }
    const after = EDGES.map(([id]) => predicted(m, id));
    for (const [i, ms] of before.entries())
      expect(Math.abs((after[i] as number) - ms)).toBeLessThanOrEqual(5);
  });

  it('never moves an edge further than its anchor radius from where its geography put it', () => {
    const m = model(5);
    const home = geoCoordinate(48.86, 2.35);
    for (let i = 0; i < 2000; i++) m.learn(honest(m, 48.9, 2.4, 30));
    const c = m.get('paris') as Coordinate;
    const d = Math.hypot(...c.v.map((x, k) => x - (home.v[k] ?? 0)));
    expect(d).toBeLessThanOrEqual(5 + 1e-9);
  });

  it('still learns what many players agree on: a slow access link at the Paris edge', () => {
    const m = model();
    const before = predicted(m, 'paris');
    const random = seededRandom(9);
    for (let i = 0; i < 400; i++) {
      const lat = 44 + random() * 8;
      const lon = -2 + random() * 10;
      m.learn(honest(m, lat, lon, 3), { source: `player-${i}`, now: 1_000 });
    }
    // Each player saw Paris 3 ms slower than the model said; the model moves that way.
    expect(predicted(m, 'paris') - before).toBeGreaterThan(1);
  });
});
