// The edge process: reads FARPLAY_EDGE_* config, builds the logger, probes encoders, serves; with
// FARPLAY_EDGE_MATCHMAKER_URL it also registers with that matchmaker and heartbeats (edge/runEdge.ts).

import { runEdge } from './runEdge.js';

runEdge(process.env).catch((error: unknown) => {
  process.stderr.write(`edge failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
