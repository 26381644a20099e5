/**
 * The Dependency Descriptor RTP header extension (AV1 RTP payload spec, appendix A; bitstream in §A.8),
 * written for the edge's one-layer H.264 stream (L1T1). With it on a packet Chromium hands the frame to
 * its generic reference finder (explicit frame numbers and references) instead of the H.264
 * sequence-number-only one, whose GoP bookkeeping treats every received ULPFEC packet as padding (see
 * edge/README.md, "Loss recovery").
 *
 * The structure, attached to the first packet of every keyframe: one decode target, one spatial and one
 * temporal layer, template_id_offset 0, two templates — 0 for keyframes (no references, decode target
 * indication Switch) and 1 for delta frames (one reference, fdiff 1: the frame sent before; Required).
 * No chains: with one decode target every frame is needed by it, so the one chain would repeat the
 * references (fdiff 1 on every delta frame) and tell a receiver nothing more; libwebrtc's receiver reads
 * chains only for loss notification, which the edge does not negotiate. No render resolution: H.264
 * carries it in the SPS.
 */

/** Template ids (template_id_offset 0, so the index is the id). */
export const DD_KEY_TEMPLATE = 0;
export const DD_DELTA_TEMPLATE = 1;

/** What one packet's descriptor says. */
export interface DependencyDescriptorFields {
  startOfFrame: boolean;
  endOfFrame: boolean;
  /** The frame's number, 16 bits (one per frame sent, wrapping). */
  frameNumber: number;
  keyframe: boolean;
  /** Attach the template dependency structure and the active decode targets (the keyframe's first packet). */
  attachStructure: boolean;
}

/** MSB-first bit writer. */
class BitWriter {
  readonly #bits: number[] = [];

  write(value: number, width: number): void {
    for (let i = width - 1; i >= 0; i--) this.#bits.push((value >>> i) & 1);
  }

  /** ns(n) (§A.8.1 notation): a value below n in ⌊log2 n⌋ or one more bits. */
  writeNs(value: number, n: number): void {
    let w = 0;
    for (let x = n; x !== 0; x >>>= 1) w++;
    const m = (1 << w) - n;
    if (value < m) this.write(value, w - 1);
    else {
      const v = value + m;
      this.write(v >>> 1, w - 1);
      this.write(v & 1, 1);
    }
  }

  /** The bits written, zero-padded to whole bytes. */
  bytes(): Buffer {
    const out = Buffer.alloc(Math.ceil(this.#bits.length / 8));
    this.#bits.forEach((bit, i) => {
      if (bit) out[i >> 3] = (out[i >> 3] as number) | (0x80 >> (i & 7));
    });
    return out;
  }
}

/** Decode target indications (§A.4): 2 = Switch, 3 = Required. */
const DTI_SWITCH = 2;
const DTI_REQUIRED = 3;
/** next_layer_idc: 0 = same layer, 3 = no more templates. */
const SAME_LAYER = 0;
const NO_MORE_LAYERS = 3;

/** template_dependency_structure() for L1T1 (see the module comment). */
function writeL1T1Structure(bits: BitWriter): void {
  bits.write(0, 6); // template_id_offset
  bits.write(0, 5); // dt_cnt_minus_one: one decode target
  // template_layers(): both templates on spatial 0 / temporal 0.
  bits.write(SAME_LAYER, 2);
  bits.write(NO_MORE_LAYERS, 2);
  // template_dtis(): one decode target per template.
  bits.write(DTI_SWITCH, 2);
  bits.write(DTI_REQUIRED, 2);
  // template_fdiffs(): key none; delta one, fdiff 1 (fdiff_minus_one 0).
  bits.write(0, 1);
  bits.write(1, 1);
  bits.write(0, 4);
  bits.write(0, 1);
  // template_chains(): chain_cnt = ns(DtCnt + 1) = 0.
  bits.writeNs(0, 2);
  // decode_target_layers() reads nothing; no render resolutions.
  bits.write(0, 1);
}

/** One packet's Dependency Descriptor payload: 3 bytes, or 8 with the structure attached. */
export function dependencyDescriptor(fields: DependencyDescriptorFields): Buffer {
  const bits = new BitWriter();
  bits.write(fields.startOfFrame ? 1 : 0, 1);
  bits.write(fields.endOfFrame ? 1 : 0, 1);
  bits.write(fields.keyframe ? DD_KEY_TEMPLATE : DD_DELTA_TEMPLATE, 6);
  bits.write(fields.frameNumber & 0xffff, 16);
  if (fields.attachStructure) {
    bits.write(1, 1); // template_dependency_structure_present_flag
    bits.write(1, 1); // active_decode_targets_present_flag
    bits.write(0, 3); // custom_dtis_flag, custom_fdiffs_flag, custom_chains_flag
    writeL1T1Structure(bits);
    bits.write(1, 1); // active_decode_targets_bitmask: the one decode target
  }
  // frame_dependency_definition(): all from the template (no custom flags), so no bits.
  return bits.bytes();
}
