import { NetLabError } from './NetLabError.js';

/** Link properties of one host's link to the lab switch. All default to 0 / false. */
export interface NetLabLink {
  /** One-way delay of this host's link in ms (a frame a→b waits delay_a + delay_b). Default 0. */
  delayMs?: number;
  /** Uniform jitter ±ms added to this host's leg. Default 0. Frames keep their order unless `reorder`. */
  jitterMs?: number;
  /** Loss of this host's leg in percent (0..100), per frame. Default 0. */
  lossPct?: number;
  /** Cut the host off: every frame from or to it is dropped, including those in flight. Default false. */
  down?: boolean;
  /** Let jitter reorder frames of this host. Default false. */
  reorder?: boolean;
  /**
   * Upstream capacity (host → lab) in kbit/s, shaped by the kernel's `tbf` on the host's TAP (50 ms
   * queue, then tail drop). 0 = unlimited (default). Downstream is not shaped.
   */
  rateKbit?: number;
}

/** Throws NETLAB_BAD_CONFIG naming the host and field when a link value is out of range. */
export function validateLink(name: string, link: NetLabLink): void {
  const check = (field: string, v: number | undefined, max: number): void => {
    if (v !== undefined && !(Number.isFinite(v) && v >= 0 && v <= max)) {
      throw new NetLabError(
        'NETLAB_BAD_CONFIG',
        `host ${name}: ${field} must be a number in 0..${max}, got ${v}`,
      );
    }
  };
  check('delayMs', link.delayMs, 60_000);
  check('jitterMs', link.jitterMs, 60_000);
  check('lossPct', link.lossPct, 100);
  check('rateKbit', link.rateKbit, 10_000_000);
}
