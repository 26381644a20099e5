import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliContext } from '../../edge/cli/CliContext.js';
import { progressBar } from '../../edge/cli/progressBar.js';
import { FarplayError } from '../../protocol/errors.js';
import type { GamePublished } from '../../protocol/matchmakerApi.js';
import { formatBytes } from './formatBytes.js';
import { packGameFolder } from './packGameFolder.js';
import { readStudioManifest } from './readStudioManifest.js';
import { loadStudioConfig, studioConfigFile } from './StudioConfig.js';
import { studioRequest } from './studioRequest.js';
import { uploadPackage } from './uploadPackage.js';

/**
 * `farplay studio publish ./dir [--dry-run]`: checks dir/farplay.json (errors name the field), packs the
 * folder reproducibly, uploads it with a progress bar, publishes the manifest with the package's sha256 and
 * prints the sha256 and the new version. --dry-run stops after packing.
 */
export async function publishCommand(context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: context.args,
    options: {
      config: { type: 'string' },
      matchmaker: { type: 'string' },
      'dry-run': { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) {
    throw new FarplayError('STUDIO_BAD_PACKAGE', 'usage: farplay studio publish ./game-folder');
  }
  const dir = resolve(positionals[0] as string);
  const manifest = readStudioManifest(dir);
  const config = values['dry-run']
    ? undefined
    : loadStudioConfig(studioConfigFile(values.config, context.env), context.env, values.matchmaker);
  const { output } = context;
  output.out(`✓ farplay.json: ${manifest.id} (${manifest.title}), runtime ${manifest.runtime}`);
  if (manifest.runtime !== 'package') {
    if (!config) return 0;
    const { version } = await studioRequest<GamePublished>(config, '/v1/studio/games', {
      method: 'POST',
      body: manifest,
    });
    output.out(`version ${version}`);
    return 0;
  }
  const packed = await packGameFolder(dir);
  output.out(`✓ packed ${packed.entries} entries, ${formatBytes(packed.archive.length)}`);
  output.out(`sha256  ${packed.sha256}`);
  if (!config) return 0;
  const uploaded = await uploadPackage(config, packed.archive, packed.sha256, (sent, total) =>
    output.progress(progressBar(sent / total, `uploading ${formatBytes(sent)} / ${formatBytes(total)}`)),
  );
  if (uploaded.sha256 !== packed.sha256) {
    throw new FarplayError('MM_PACKAGE_MISMATCH', `the matchmaker stored ${uploaded.sha256}`);
  }
  output.out(`✓ uploaded ${formatBytes(uploaded.size)}`);
  const { version } = await studioRequest<GamePublished>(config, '/v1/studio/games', {
    method: 'POST',
    body: { ...manifest, packageSha256: packed.sha256 },
  });
  output.out(`version ${version}`);
  output.out(`✓ published ${manifest.id} version ${version}`);
  return 0;
}
