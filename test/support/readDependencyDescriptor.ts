/**
 * A Dependency Descriptor reader written from the AV1 RTP spec's §A.8 syntax (the general case: any
 * number of templates, decode targets and chains, custom fields, resolutions), to check what the edge
 * writes (edge/media/dependencyDescriptor.ts) independently of the writer.
 */

export interface DependencyStructure {
  templateIdOffset: number;
  decodeTargets: number;
  templates: Array<{
    spatialId: number;
    temporalId: number;
    dtis: number[];
    fdiffs: number[];
    chainFdiffs: number[];
  }>;
  chains: number;
  protectedBy: number[];
  resolutions: Array<{ width: number; height: number }> | undefined;
}

export interface ReadDependencyDescriptor {
  startOfFrame: boolean;
  endOfFrame: boolean;
  templateId: number;
  frameNumber: number;
  structure: DependencyStructure | undefined;
  activeDecodeTargets: number | undefined;
  /** The frame's own, from its template or the custom fields. */
  dtis: number[];
  fdiffs: number[];
  chainFdiffs: number[];
  /** Bits left over after the descriptor (zero padding to the byte: < 8). */
  paddingBits: number;
  /** Their value (0 when they are padding). */
  padding: number;
}

class BitReader {
  #at = 0;
  constructor(readonly data: Buffer) {}

  get left(): number {
    return this.data.length * 8 - this.#at;
  }

  f(n: number): number {
    let value = 0;
    for (let i = 0; i < n; i++) {
      if (this.#at >= this.data.length * 8) throw new RangeError('read past the descriptor');
      const bit = ((this.data[this.#at >> 3] as number) >> (7 - (this.#at & 7))) & 1;
      value = value * 2 + bit;
      this.#at++;
    }
    return value;
  }

  ns(n: number): number {
    let w = 0;
    for (let x = n; x !== 0; x >>= 1) w++;
    const m = (1 << w) - n;
    const v = this.f(w - 1);
    if (v < m) return v;
    return (v << 1) - m + this.f(1);
  }
}

function readStructure(r: BitReader): DependencyStructure {
  const templateIdOffset = r.f(6);
  const decodeTargets = r.f(5) + 1;
  const templates: DependencyStructure['templates'] = [];
  let spatialId = 0;
  let temporalId = 0;
  for (;;) {
    templates.push({ spatialId, temporalId, dtis: [], fdiffs: [], chainFdiffs: [] });
    const next = r.f(2);
    if (next === 3) break;
    if (next === 1) temporalId++;
    else if (next === 2) {
      temporalId = 0;
      spatialId++;
    }
  }
  for (const t of templates) for (let dt = 0; dt < decodeTargets; dt++) t.dtis.push(r.f(2));
  for (const t of templates) while (r.f(1)) t.fdiffs.push(r.f(4) + 1);
  const chains = r.ns(decodeTargets + 1);
  const protectedBy: number[] = [];
  if (chains > 0) {
    for (let dt = 0; dt < decodeTargets; dt++) protectedBy.push(r.ns(chains));
    for (const t of templates) for (let c = 0; c < chains; c++) t.chainFdiffs.push(r.f(4));
  }
  let resolutions: DependencyStructure['resolutions'];
  if (r.f(1)) {
    resolutions = [];
    for (let s = 0; s <= spatialId; s++) resolutions.push({ width: r.f(16) + 1, height: r.f(16) + 1 });
  }
  return { templateIdOffset, decodeTargets, templates, chains, protectedBy, resolutions };
}

/** Reads one descriptor; `known` is the structure received earlier (needed unless this one attaches one). */
export function readDependencyDescriptor(
  data: Buffer,
  known?: DependencyStructure,
): ReadDependencyDescriptor {
  const r = new BitReader(data);
  const startOfFrame = r.f(1) === 1;
  const endOfFrame = r.f(1) === 1;
  const templateId = r.f(6);
  const frameNumber = r.f(16);
  let structure: DependencyStructure | undefined;
  let activeDecodeTargets: number | undefined;
  let customDtis = 0;
  let customFdiffs = 0;
  let customChains = 0;
  if (data.length > 3) {
    const structurePresent = r.f(1);
    const activePresent = r.f(1);
    customDtis = r.f(1);
    customFdiffs = r.f(1);
    customChains = r.f(1);
    if (structurePresent) {
      structure = readStructure(r);
      activeDecodeTargets = 2 ** structure.decodeTargets - 1;
    }
    const s = structure ?? known;
    if (activePresent) {
      if (!s) throw new Error('active decode targets without a structure');
      activeDecodeTargets = r.f(s.decodeTargets);
    }
  }
  const s = structure ?? known;
  if (!s) throw new Error('no structure to read the frame against');
  const template = s.templates[(templateId + 64 - s.templateIdOffset) % 64];
  if (!template) throw new Error(`template ${templateId} is not in the structure`);
  const dtis = customDtis ? Array.from({ length: s.decodeTargets }, () => r.f(2)) : [...template.dtis];
  const fdiffs: number[] = [];
  if (customFdiffs) {
    for (let size = r.f(2); size !== 0; size = r.f(2)) fdiffs.push(r.f(4 * size) + 1);
  } else fdiffs.push(...template.fdiffs);
  const chainFdiffs = customChains
    ? Array.from({ length: s.chains }, () => r.f(8))
    : [...template.chainFdiffs];
  const paddingBits = r.left;
  return {
    startOfFrame,
    endOfFrame,
    templateId,
    frameNumber,
    structure,
    activeDecodeTargets,
    dtis,
    fdiffs,
    chainFdiffs,
    paddingBits,
    padding: r.f(paddingBits),
  };
}
