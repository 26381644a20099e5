// `npm run bench:stream -- --capacity` (through bench/stream.ts) or `tsx bench/capacity.ts`:
// how many concurrent 720p30 sessions this machine sustains at >= 95 % of the target fps. The measurement
// itself is edge/operator/measureCapacity.ts (also behind `farplay-edge bench`). Last line: one JSON object.
import { fileURLToPath } from 'node:url';
import { type CapacityBenchOptions, measureCapacity } from '../edge/operator/measureCapacity.js';

export type {
  CapacityBenchOptions,
  CapacityBenchResult,
  CapacityStep,
} from '../edge/operator/measureCapacity.js';

/** Runs the capacity bench (edge/operator/measureCapacity.ts). */
export const runCapacityBench = measureCapacity;

function argValue(name: string): string | undefined {
  const index = process.argv.indexOf(name);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const numeric = (name: string) => (argValue(name) === undefined ? undefined : Number(argValue(name)));
  const options: CapacityBenchOptions = {};
  const windowSeconds = numeric('--window');
  const start = numeric('--start');
  const max = numeric('--max');
  if (windowSeconds !== undefined) options.windowSeconds = windowSeconds;
  if (start !== undefined) options.start = start;
  if (max !== undefined) options.max = max;
  const edgeUrl = argValue('--edge');
  if (edgeUrl) options.edgeUrl = edgeUrl;
  measureCapacity(options).then(
    (result) => {
      console.log(JSON.stringify(result));
      process.exit(0);
    },
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
