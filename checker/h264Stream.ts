/**
 * What a checker's synthetic session can read from the H.264 it receives, without decoding: the NAL units of an
 * Annex B access unit, the sequence parameter set (profile, level, coded picture size after cropping) and the
 * encoder's own signature where it leaves one (libx264 writes its version string in a user-data SEI; NVENC leaves
 * none).
 */

/** The NAL units of an Annex B buffer (start codes 00 00 01 / 00 00 00 01 removed). */
export function splitAnnexB(buf: Buffer): Buffer[] {
  const units: Buffer[] = [];
  let start = -1;
  let i = 0;
  while (i + 2 < buf.length) {
    if (buf[i] === 0 && buf[i + 1] === 0 && buf[i + 2] === 1) {
      if (start >= 0) units.push(trimZeros(buf.subarray(start, i)));
      i += 3;
      start = i;
    } else i++;
  }
  if (start >= 0 && start < buf.length) units.push(buf.subarray(start));
  return units.filter((u) => u.length > 0);
}

function trimZeros(b: Buffer): Buffer {
  let end = b.length;
  while (end > 0 && b[end - 1] === 0) end--;
  return b.subarray(0, end);
}

/** The RBSP of a NAL unit (its header byte dropped, emulation-prevention bytes removed). */
function rbsp(nal: Buffer): Buffer {
  const out: number[] = [];
  for (let i = 1; i < nal.length; i++) {
    if (i + 2 < nal.length && nal[i] === 0 && nal[i + 1] === 0 && nal[i + 2] === 3) {
      out.push(0, 0);
      i += 2;
    } else out.push(nal[i] as number);
  }
  return Buffer.from(out);
}

class BitReader {
  #pos = 0;
  constructor(readonly buf: Buffer) {}
  bit(): number {
    const byte = this.buf[this.#pos >> 3];
    if (byte === undefined) throw new RangeError('SPS ends early');
    const b = (byte >> (7 - (this.#pos & 7))) & 1;
    this.#pos++;
    return b;
  }
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }
  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      if (++zeros > 31) throw new RangeError('bad exp-Golomb code');
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }
  se(): number {
    const k = this.ue();
    return k % 2 === 1 ? (k + 1) / 2 : -(k / 2);
  }
}

/** A sequence parameter set's figures. */
export interface H264Sps {
  profileIdc: number;
  levelIdc: number;
  width: number;
  height: number;
}

const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/** Parses an SPS NAL unit (type 7); throws RangeError on a truncated or malformed one. */
export function parseSps(nal: Buffer): H264Sps {
  if (((nal[0] ?? 0) & 0x1f) !== 7) throw new RangeError('not an SPS');
  const r = new BitReader(rbsp(nal));
  const profileIdc = r.bits(8);
  r.bits(8); // constraint flags
  const levelIdc = r.bits(8);
  r.ue(); // seq_parameter_set_id
  let chromaFormatIdc = 1;
  let separateColourPlane = 0;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc === 3) separateColourPlane = r.bit();
    r.ue(); // bit_depth_luma_minus8
    r.ue(); // bit_depth_chroma_minus8
    r.bit(); // qpprime_y_zero_transform_bypass_flag
    if (r.bit() === 1) {
      for (let i = 0; i < (chromaFormatIdc === 3 ? 12 : 8); i++) {
        if (r.bit() === 1) skipScalingList(r, i < 6 ? 16 : 64);
      }
    }
  }
  r.ue(); // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) r.ue();
  else if (pocType === 1) {
    r.bit();
    r.se();
    r.se();
    const n = r.ue();
    for (let i = 0; i < n; i++) r.se();
  }
  r.ue(); // max_num_ref_frames
  r.bit(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (frameMbsOnly === 0) r.bit(); // mb_adaptive_frame_field_flag
  r.bit(); // direct_8x8_inference_flag
  let crop = [0, 0, 0, 0];
  if (r.bit() === 1) crop = [r.ue(), r.ue(), r.ue(), r.ue()];
  const chroma = separateColourPlane === 1 ? 0 : chromaFormatIdc;
  const cropX = chroma === 0 ? 1 : chroma === 3 ? 1 : 2;
  const cropY = (chroma === 0 ? 1 : chroma === 1 ? 2 : 1) * (2 - frameMbsOnly);
  const [left, right, top, bottom] = crop as [number, number, number, number];
  return {
    profileIdc,
    levelIdc,
    width: widthMbs * 16 - cropX * (left + right),
    height: (2 - frameMbsOnly) * heightMapUnits * 16 - cropY * (top + bottom),
  };
}

function skipScalingList(r: BitReader, size: number): void {
  let last = 8;
  let next = 8;
  for (let j = 0; j < size; j++) {
    if (next !== 0) next = (last + r.se() + 256) % 256;
    last = next === 0 ? last : next;
  }
}

/**
 * The encoder's own signature in an SEI NAL unit (type 6), when it left one: libx264 writes a user-data-unregistered
 * SEI starting `x264 - core <build>`. Returns that string (up to its first ` - `-separated fields), or undefined.
 */
export function encoderSignature(nal: Buffer): string | undefined {
  if (((nal[0] ?? 0) & 0x1f) !== 6) return undefined;
  const text = rbsp(nal).toString('latin1');
  const at = text.indexOf('x264 - core ');
  if (at < 0) return undefined;
  const end = text.indexOf(' - ', at + 'x264 - core '.length);
  return text.slice(at, end < 0 ? at + 40 : end);
}
