import { accessSync, constants, existsSync, readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import Type, { type Static } from 'typebox';
import { Value } from 'typebox/value';
import { FarplayError } from '../../protocol/errors.js';
import { GameManifest } from '../../protocol/matchmakerApi.js';

/** The manifest file a game folder carries. */
export const MANIFEST_FILE = 'farplay.json';

const { packageSha256: _sha, runtime, ...fields } = GameManifest.properties;

/** farplay.json: the published manifest without packageSha256 (the CLI fills it in); runtime defaults to 'package'. */
export const StudioManifest = Type.Object(
  { ...fields, runtime: Type.Optional(runtime) },
  { additionalProperties: false },
);
export type StudioManifest = Static<typeof StudioManifest>;

/**
 * Reads and checks `<dir>/farplay.json`. Every problem is STUDIO_BAD_MANIFEST with a message naming the
 * field (`farplay.json: fps: …`); a package game's command must start a file in the folder
 * (`./run.sh …` executable) or an absolute path the edge has (`/usr/games/…`).
 */
export function readStudioManifest(dir: string): GameManifest {
  const file = join(dir, MANIFEST_FILE);
  if (!existsSync(file)) throw bad(`${dir} has no ${MANIFEST_FILE}`, '(file)');
  let value: unknown;
  try {
    value = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw bad(`${MANIFEST_FILE} is not JSON: ${(error as Error).message}`, '(file)');
  }
  if (!Value.Check(StudioManifest, value)) {
    const first = Value.Errors(StudioManifest, value)[0];
    const params = (first?.params ?? {}) as {
      requiredProperties?: string[];
      additionalProperties?: string[];
    };
    let field = (first?.instancePath ?? '').replace(/^\//, '').replaceAll('/', '.');
    let message = first?.message ?? 'invalid';
    if (first?.keyword === 'required') {
      field = [field, params.requiredProperties?.[0]].filter(Boolean).join('.');
      message = 'is required';
    } else if (first?.keyword === 'additionalProperties') {
      field = [field, params.additionalProperties?.[0]].filter(Boolean).join('.');
      message = 'is not a manifest field';
    }
    throw bad(`${MANIFEST_FILE}: ${field || '(root)'}: ${message}`, field || '(root)');
  }
  const manifest = value as StudioManifest;
  const full: GameManifest = { ...manifest, runtime: manifest.runtime ?? 'package' };
  if (full.runtime === 'package') checkCommand(dir, full.command);
  return full;
}

function checkCommand(dir: string, command: string | undefined): void {
  if (!command) throw bad(`${MANIFEST_FILE}: command: is required for runtime 'package'`, 'command');
  const program = command.trim().split(/\s+/)[0] ?? '';
  if (program.startsWith('/')) return;
  const path = normalize(join(dir, program));
  if (!program.includes('/') || !path.startsWith(normalize(dir))) {
    throw bad(
      `${MANIFEST_FILE}: command: '${program}' must be a file in the folder (./name) or an absolute path`,
      'command',
    );
  }
  if (!existsSync(path) || !statSync(path).isFile()) {
    throw bad(`${MANIFEST_FILE}: command: ${program} is not a file in ${dir}`, 'command');
  }
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw bad(`${MANIFEST_FILE}: command: ${program} is not executable (chmod +x it)`, 'command');
  }
}

function bad(message: string, field: string): FarplayError {
  return new FarplayError('STUDIO_BAD_MANIFEST', message, { details: { field } });
}
