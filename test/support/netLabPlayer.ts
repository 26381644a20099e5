import { ensurePlayerBuilt } from '../../scripts/buildPlayer.js';
import { NetLabEdge, type NetLabEdgeOptions } from '../tools/NetLabEdge.js';
import { createNetLab, type NetLab } from '../tools/netlab/createNetLab.js';
import { type LaunchedChromium, launchChromium } from './chromium.js';

/** A netlab with the edge in its own namespace and Chromium in the root one, for the e2e network tests. */
export interface NetLabPlayer {
  lab: NetLab;
  edge: NetLabEdge;
  browser: LaunchedChromium;
  /** Closes Chromium, the edge and the lab (whatever of them started). */
  close(): Promise<void>;
}

/**
 * Builds the player (with its test hook), creates the lab (root 5 ms, the edge `edgeDelayMs` one way), starts the
 * edge there with `edge` options on top of the player's static dir, and launches Chromium.
 */
export async function startNetLabPlayer(options: {
  edgeDelayMs: number;
  edge?: Omit<NetLabEdgeOptions, 'staticDir'>;
}): Promise<NetLabPlayer> {
  const { dir } = await ensurePlayerBuilt({ testHook: true });
  const lab = await createNetLab({
    hosts: [
      { name: 'root', delayMs: 5 },
      { name: 'edge', delayMs: options.edgeDelayMs },
    ],
  });
  let edge: NetLabEdge | undefined;
  try {
    edge = await NetLabEdge.start(lab.host('edge'), { ...options.edge, staticDir: dir });
    const browser = await launchChromium({ viewport: { width: 1320, height: 880 } });
    const started = edge;
    return {
      lab,
      edge: started,
      browser,
      async close() {
        await browser.close();
        await started.close();
        await lab.close();
      },
    };
  } catch (error) {
    await edge?.close();
    await lab.close();
    throw error;
  }
}
