import { breakoutGame } from './breakout.js';
import type { GameDefinition } from './GameRuntime.js';
import { latencyProbeGame } from './latencyProbe.js';
import { stressSceneGame } from './stressScene.js';

/**
 * The games every edge has built in: Breakout, the latency probe at 60 fps and at 30 fps (capacity
 * bench), and the stress scene (bandwidth adaptation).
 */
export function builtInGames(pricePerMinute = '0'): GameDefinition[] {
  return [
    breakoutGame(pricePerMinute),
    latencyProbeGame(pricePerMinute, 60),
    latencyProbeGame(pricePerMinute, 30),
    stressSceneGame(pricePerMinute),
  ];
}
