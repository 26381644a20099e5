import { runtimeRequirement } from './Catalogue.js';
import type { Coordinate } from './coordinates.js';
import type { EdgeState } from './store/MatchmakerStore.js';

/** An edge as ranking needs it, precomputed at each refresh (allocation is the hot path). */
export interface EdgeView {
  state: EdgeState;
  coordinate: Coordinate;
  /** The edge's own price per minute as a number (the price tie-break's input). */
  price: number;
  games: Set<string>;
}

/**
 * The live edges in the shape `rankEdges` reads, built once per registry refresh (and after a reap):
 * typed arrays of coordinates and eligibility, edges sorted by their first coordinate axis, and the
 * scratch arrays one ranking uses. Slot counts change between refreshes through `setUsed`.
 */
export class EdgeIndex {
  readonly views: readonly EdgeView[];
  /** Per view: x, y, z, height, error. */
  readonly flat: Float64Array;
  /** Per view: 1 when it can take players at all (a working encoder, its own freeSlots > 0). */
  readonly usable: Uint8Array;
  /** Per view: 1 while its slots are all held (usedSlots ≥ capacity; kept in step by `setUsed`). */
  readonly full: Uint8Array;
  /** Mean price over all views: the scale of the price tie-break. */
  readonly meanPrice: number;
  /** The smallest edge height (a prediction's lower bound adds it). */
  readonly hMin: number;
  /**
   * The spatial index: a uniform grid of `grid.cells`³ cells over the box of the edges' coordinates (x, y, z;
   * about 4 edges per occupied cell on average), as CSR: the view indices of cell c are
   * `items[start[c] … start[c + 1])`, ascending. A ranking visits cells in rings of growing Chebyshev distance
   * from the player's cell and stops once the ring's distance bound rules out every edge further away.
   */
  readonly grid: {
    cells: number;
    min: Float64Array;
    size: Float64Array;
    start: Int32Array;
    items: Int32Array;
  };
  /** Scratch for `rankEdges` (one ranking at a time: it is synchronous). */
  readonly scratch: {
    measuredRtt: Float64Array;
    /** Measured RTTs are valid where stamp equals generation. */
    stamp: Uint32Array;
    generation: number;
    rtts: Float64Array;
    visited: Int32Array;
    kth: Float64Array;
  };
  readonly #indexById: Map<string, number>;
  readonly #gameMasks = new Map<string, Uint8Array>();

  /** Indexes `edges`; `coordinateOf` gives each edge's current network coordinate. */
  constructor(edges: readonly EdgeState[], coordinateOf: (state: EdgeState) => Coordinate) {
    const views = edges.map((state) => ({
      state,
      coordinate: coordinateOf(state),
      price: Number(state.edge.pricePerMinute),
      games: new Set([
        ...state.edge.games.map((g) => g.id),
        ...(state.edge.runtimes ?? []).map(runtimeRequirement),
      ]),
    }));
    this.views = views;
    const n = views.length;
    const flat = new Float64Array(n * 5);
    views.forEach((view, i) => {
      const c = view.coordinate;
      flat[i * 5] = c.v[0] ?? 0;
      flat[i * 5 + 1] = c.v[1] ?? 0;
      flat[i * 5 + 2] = c.v[2] ?? 0;
      flat[i * 5 + 3] = c.h;
      flat[i * 5 + 4] = c.e;
    });
    this.flat = flat;
    this.usable = Uint8Array.from(views, (v) => usableFlag(v.state));
    this.full = Uint8Array.from(views, (v) => (v.state.usedSlots >= v.state.edge.capacity ? 1 : 0));
    let priceSum = 0;
    for (const v of views) priceSum += v.price;
    this.meanPrice = priceSum / (n || 1) || 1;
    this.#indexById = new Map(views.map((v, i) => [v.state.edge.id, i]));
    this.grid = buildGrid(flat, n);
    let hMin = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) hMin = Math.min(hMin, flat[i * 5 + 3] as number);
    this.hMin = Number.isFinite(hMin) ? hMin : 0;
    this.scratch = {
      measuredRtt: new Float64Array(n),
      stamp: new Uint32Array(n),
      generation: 0,
      rtts: new Float64Array(n),
      visited: new Int32Array(n),
      kth: new Float64Array(8),
    };
  }

  /** The view index of an edge id (lower case), if indexed. */
  indexOf(edgeId: string): number | undefined {
    return this.#indexById.get(edgeId);
  }

  /** The indexed state of an edge id (lower case). */
  get(edgeId: string): EdgeState | undefined {
    const i = this.#indexById.get(edgeId);
    return i === undefined ? undefined : this.views[i]?.state;
  }

  /** Per view: 1 where the edge advertises the built-in game `need` (cached until the next index). */
  gameMask(need: string): Uint8Array {
    let mask = this.#gameMasks.get(need);
    if (!mask) {
      mask = Uint8Array.from(this.views, (v) => (v.games.has(need) ? 1 : 0));
      this.#gameMasks.set(need, mask);
    }
    return mask;
  }

  /**
   * Puts a newer state of an indexed edge (same registration and coordinate: its load and slot count moved)
   * in its view; an edge not indexed is left out.
   */
  replace(state: EdgeState): void {
    const i = this.#indexById.get(state.edge.id);
    const view = i === undefined ? undefined : this.views[i];
    if (i === undefined || !view) return;
    view.state = state;
    this.usable[i] = usableFlag(state);
    this.full[i] = state.usedSlots >= state.edge.capacity ? 1 : 0;
  }

  /** Moves an edge's slot count by `delta` (clamped to 0…capacity). */
  adjustUsed(edgeId: string, delta: number): void {
    const state = this.get(edgeId);
    if (state) this.setUsed(state, Math.max(0, Math.min(state.edge.capacity, state.usedSlots + delta)));
  }

  /** Sets an edge's slot count and keeps `full` in step. */
  setUsed(state: EdgeState, usedSlots: number): void {
    state.usedSlots = usedSlots;
    const i = this.#indexById.get(state.edge.id);
    if (i !== undefined && this.views[i]?.state === state)
      this.full[i] = usedSlots >= state.edge.capacity ? 1 : 0;
  }
}

/** 1 when an edge can take players at all: a working encoder, and its own last load not full. */
function usableFlag(state: EdgeState): number {
  return state.edge.encoders.length === 0 || (state.load !== null && state.load.freeSlots <= 0) ? 0 : 1;
}

/** Edges per grid cell aimed at (on average over the whole box; coordinates cluster, so occupied cells hold more). */
const EDGES_PER_CELL = 4;
/** Most cells per axis (64³ = 262k cells at most). */
const MAX_CELLS_PER_AXIS = 64;

/** The grid over the first three coordinates of `flat` (5 numbers per view): see `EdgeIndex.grid`. */
function buildGrid(flat: Float64Array, n: number): EdgeIndex['grid'] {
  const cells = Math.max(1, Math.min(MAX_CELLS_PER_AXIS, Math.round(Math.cbrt(n / EDGES_PER_CELL))));
  const min = new Float64Array(3);
  const size = new Float64Array(3);
  for (let a = 0; a < 3; a++) {
    let lo = Number.POSITIVE_INFINITY;
    let hi = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const v = flat[i * 5 + a] as number;
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
    min[a] = Number.isFinite(lo) ? lo : 0;
    size[a] = Number.isFinite(hi) && hi > lo ? (hi - lo) / cells : 1;
  }
  const cellOf = new Int32Array(n);
  const start = new Int32Array(cells * cells * cells + 1);
  for (let i = 0; i < n; i++) {
    const c =
      gridCell(flat[i * 5] as number, 0, min, size, cells) * cells * cells +
      gridCell(flat[i * 5 + 1] as number, 1, min, size, cells) * cells +
      gridCell(flat[i * 5 + 2] as number, 2, min, size, cells);
    cellOf[i] = c;
    start[c + 1] = (start[c + 1] as number) + 1;
  }
  for (let c = 0; c < cells * cells * cells; c++)
    start[c + 1] = (start[c + 1] as number) + (start[c] as number);
  const fill = start.slice(0, -1);
  const items = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = cellOf[i] as number;
    items[fill[c] as number] = i;
    fill[c] = (fill[c] as number) + 1;
  }
  return { cells, min, size, start, items };
}

/** The grid cell (0 … cells − 1) of coordinate `v` on axis `a` (outside the box: the nearest border cell). */
export function gridCell(v: number, a: number, min: Float64Array, size: Float64Array, cells: number): number {
  const c = Math.floor((v - (min[a] as number)) / (size[a] as number));
  return c < 0 ? 0 : c >= cells ? cells - 1 : c;
}
