import { readFileSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { parseArgs } from 'node:util';
import { privateKeyToAccount } from 'viem/accounts';
import { type CapabilitySnapshotPayload, signCapabilitySnapshot } from '../../protocol/capabilitySnapshot.js';
import { FarplayError } from '../../protocol/errors.js';
import { loadNodeKey } from '../operator/loadNodeKey.js';
import { type CapacityBenchOptions, measureCapacity } from '../operator/measureCapacity.js';
import type { CliContext } from './CliContext.js';
import { fetchMatchmakerJson } from './fetchMatchmakerJson.js';
import { loadCliConfig } from './loadCliConfig.js';
import { progressBar } from './progressBar.js';
import { resolveConfigFile } from './resolveConfigFile.js';

/**
 * `farplay-edge bench`: measures the concurrent 720p30 sessions this machine sustains, signs the result with
 * the node key bound to a fresh matchmaker nonce (the capability snapshot sent with every registration), and
 * lowers `capacity` in the config file if it promised more.
 */
export async function benchCommand(context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args: context.args,
    options: {
      config: { type: 'string' },
      window: { type: 'string' },
      warmup: { type: 'string' },
      max: { type: 'string' },
      start: { type: 'string' },
    },
    strict: true,
  });
  const config = loadCliConfig(values.config, context.env);
  const configFile = resolveConfigFile(values.config, context.env);
  const key = loadNodeKey(config);
  if (!key) throw new FarplayError('OPERATOR_NOT_INITIALIZED', 'no node key: run `farplay-edge init` first');
  const account = privateKeyToAccount(key);
  if (!config.capabilityFile) {
    throw new FarplayError(
      'EDGE_BAD_CONFIG',
      'capabilityFile is not set: the bench has nowhere to write its snapshot',
    );
  }
  // The nonce first: the snapshot then proves it was measured after this moment.
  const { nonce } = await fetchMatchmakerJson<{ nonce: string }>(config.matchmakerUrl, '/v1/operator/nonce');

  const options: CapacityBenchOptions = {
    // The bench waits for the edge's info-level 'edge ready' line: keep the log level at info.
    edgeEnv: { FARPLAY_EDGE_ENCODERS: JSON.stringify(config.encoders) },
    log: () => {},
    onProgress: (p) => {
      const label =
        p.phase === 'measuring'
          ? `${p.sessions} session${p.sessions === 1 ? '' : 's'}: measuring`
          : `${p.sessions} session${p.sessions === 1 ? '' : 's'}: ${p.phase}`;
      context.output.progress(
        progressBar(p.phase === 'measuring' ? p.fraction : p.phase === 'done' ? 1 : 0, label),
      );
    },
  };
  const numeric = (value: string | undefined) => (value === undefined ? undefined : Number(value));
  const window = numeric(values.window);
  const warmup = numeric(values.warmup);
  const max = numeric(values.max);
  const start = numeric(values.start);
  if (window !== undefined) options.windowSeconds = window;
  if (warmup !== undefined) options.warmupSeconds = warmup;
  if (max !== undefined) options.max = max;
  if (start !== undefined) options.start = start;

  context.output.out(
    'measuring concurrent 720p30 sessions (each step adds a session until one falls below 95 % of 30 fps)…',
  );
  const result = await measureCapacity({
    ...options,
    log: (line) => {
      if (/ sessions?: min /.test(line)) context.output.out(`  ${line}`);
    },
  });
  const best = result.steps.find((step) => step.sessions === result.sessions);
  const payload: CapabilitySnapshotPayload = {
    edge: account.address,
    sessions: result.sessions,
    width: result.width,
    height: result.height,
    fps: result.targetFps,
    encoder: result.encoder,
    minFpsMilli: Math.round((best?.minFps ?? 0) * 1000),
    cpu: (cpus()[0]?.model ?? 'unknown').slice(0, 128),
    cores: Math.max(1, cpus().length),
    gpu: config.gpu.slice(0, 128),
    measuredAt: Date.now(),
    nonce,
  };
  const snapshot = await signCapabilitySnapshot(account, payload);
  writeFileSync(config.capabilityFile, `${JSON.stringify(snapshot, null, 2)}\n`);
  context.output.out(
    `✓ ${result.sessions} concurrent ${result.width}x${result.height}@${result.targetFps} session${result.sessions === 1 ? '' : 's'} on ${result.encoder} (slowest ${best?.minFps ?? 0} fps)`,
  );
  context.output.out(`✓ capability snapshot signed by ${account.address} → ${config.capabilityFile}`);
  if (result.sessions === 0) {
    context.output.out(
      '✗ this machine cannot sustain one session: the matchmaker will refuse its registration',
    );
    context.output.out('    fix: use a GPU with NVENC (see `farplay-edge doctor`) or a faster CPU');
    return 1;
  }
  if (configFile && config.capacity > result.sessions) {
    const file = JSON.parse(readFileSync(configFile, 'utf8')) as Record<string, unknown>;
    file.capacity = result.sessions;
    writeFileSync(configFile, `${JSON.stringify(file, null, 2)}\n`);
    context.output.out(
      `✓ capacity in ${configFile} lowered from ${config.capacity} to ${result.sessions} (what was measured)`,
    );
  }
  context.output.out(
    JSON.stringify({ sessions: result.sessions, encoder: result.encoder, perSession: result.perSession }),
  );
  return 0;
}
