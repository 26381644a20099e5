import { accessSync, constants, existsSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FarplayError } from '../../protocol/errors.js';
import { loadNodeKey } from '../operator/loadNodeKey.js';
import { renderSystemdUnit } from '../operator/renderSystemdUnit.js';
import { unitPathProblem } from '../operator/unitPathProblem.js';
import type { CliContext } from './CliContext.js';
import { loadCliConfig } from './loadCliConfig.js';
import { resolveConfigFile } from './resolveConfigFile.js';

const SYSTEM_UNIT_DIR = '/etc/systemd/system';

/** Folders on the way to `path` (and the file) that a user other than the owner cannot pass or read. */
function closedToOthers(path: string): string[] {
  const closed: string[] = [];
  let current = path;
  for (;;) {
    try {
      const mode = statSync(current).mode;
      const isFile = current === path;
      if (isFile ? (mode & 0o004) === 0 : (mode & 0o001) === 0) closed.push(current);
    } catch {
      closed.push(current);
    }
    const parent = dirname(current);
    if (parent === current) return closed;
    current = parent;
  }
}

/** The passphrase file the service reads: --passphrase-file, the config's, or one written now from the environment. */
function servicePassphraseFile(
  flag: string | undefined,
  configured: string | undefined,
  env: Record<string, string | undefined>,
  configDir: string,
): { file: string; written: boolean } {
  if (flag) return { file: resolve(flag), written: false };
  if (configured) return { file: configured, written: false };
  const file = join(configDir, 'passphrase');
  if (existsSync(file)) return { file, written: false };
  const passphrase = env.FARPLAY_EDGE_KEYSTORE_PASSPHRASE;
  if (!passphrase) {
    throw new FarplayError(
      'OPERATOR_NO_PASSPHRASE',
      'a service cannot ask for the keystore passphrase: pass --passphrase-file FILE (its first line is the passphrase) or set FARPLAY_EDGE_KEYSTORE_PASSPHRASE once for install to write one',
    );
  }
  writeFileSync(file, `${passphrase}\n`, { mode: 0o600, flag: 'wx' });
  return { file, written: true };
}

/**
 * `farplay-edge service install`: writes a system-level systemd unit that runs this edge at boot as a dynamic
 * unprivileged user, restarted on failure, with only the devices it needs; prints the commands to enable and
 * follow it.
 */
export async function serviceCommand(context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args: context.args,
    options: {
      config: { type: 'string' },
      'unit-dir': { type: 'string' },
      name: { type: 'string' },
      'passphrase-file': { type: 'string' },
      nvidia: { type: 'boolean' },
    },
    allowPositionals: true,
    strict: true,
  });
  const { output } = context;
  if (positionals[0] !== 'install' || positionals.length > 1) {
    output.err(
      'usage: farplay-edge service install [--config FILE] [--passphrase-file FILE] [--unit-dir DIR] [--name NAME] [--nvidia]',
    );
    return 2;
  }
  const name = values.name ?? 'farplay-edge';
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(name)) {
    throw new FarplayError(
      'OPERATOR_SERVICE_BAD_PATH',
      `--name ${name}: use lowercase letters, digits and -`,
    );
  }
  const configFile = resolveConfigFile(values.config, context.env);
  const config = loadCliConfig(values.config, context.env);
  if (!configFile || !config.keystoreFile) {
    throw new FarplayError(
      'OPERATOR_NOT_INITIALIZED',
      'the config names no node keystore (keystoreFile): run `farplay-edge init` first',
    );
  }
  const passphrase = servicePassphraseFile(
    values['passphrase-file'],
    config.keystorePassphraseFile,
    context.env,
    dirname(configFile),
  );
  // The service would fail at every start with a wrong passphrase: find out now.
  loadNodeKey({ keystoreFile: config.keystoreFile, keystorePassphraseFile: passphrase.file });

  const cliPath = fileURLToPath(new URL('./farplay-edge.mjs', import.meta.url));
  const capabilityFile =
    config.capabilityFile && existsSync(config.capabilityFile) ? config.capabilityFile : undefined;
  const devices = ['/dev/uinput', '/dev/nvidiactl', '/dev/nvidia-uvm', '/dev/nvidia0'].filter((device) =>
    existsSync(device),
  );
  const nvidia = values.nvidia ?? existsSync('/dev/nvidiactl');
  const paths = {
    nodePath: process.execPath,
    cliPath,
    readmePath: fileURLToPath(new URL('../README.md', import.meta.url)),
    configFile,
    keystoreFile: config.keystoreFile,
    passphraseFile: passphrase.file,
    ...(capabilityFile ? { capabilityFile } : {}),
  };
  for (const path of [...Object.values(paths), ...devices]) {
    const problem = unitPathProblem(path);
    if (problem) throw new FarplayError('OPERATOR_SERVICE_BAD_PATH', problem);
  }
  const unit = renderSystemdUnit({ ...paths, name, devices, nvidia });

  const unitDir = resolve(values['unit-dir'] ?? SYSTEM_UNIT_DIR);
  const unitFile = join(unitDir, `${name}.service`);
  try {
    accessSync(unitDir, constants.W_OK);
    writeFileSync(unitFile, unit, { mode: 0o644 });
  } catch (cause) {
    throw new FarplayError(
      'OPERATOR_SERVICE_NOT_WRITABLE',
      `cannot write ${unitFile}: run it as root (sudo farplay-edge service install …) or pass --unit-dir`,
      { cause },
    );
  }

  if (passphrase.written)
    output.out(`✓ passphrase  ${passphrase.file} (mode 0600, read by systemd at each start)`);
  output.out(`✓ unit        ${unitFile}`);
  output.out(
    '              system service: starts at boot without anyone logged in, restarts on failure, runs as a dynamic',
  );
  output.out(
    `              unprivileged user with no capabilities; devices: ${[...devices, ...(nvidia ? ['NVIDIA'] : [])].join(', ') || 'none'}`,
  );
  output.out('              config, node keystore and passphrase are handed over as systemd credentials');
  if (!capabilityFile) {
    output.out(
      '              no capability snapshot yet: after `farplay-edge bench`, rerun `farplay-edge service install`',
    );
  }
  for (const path of [process.execPath, cliPath]) {
    const closed = closedToOthers(path);
    if (closed.length > 0) {
      output.err(
        `✗ the service user cannot read ${path}: ${closed.join(', ')} ${closed.length === 1 ? 'is' : 'are'} closed to other users`,
      );
      output.err(
        '    fix: install Node and the Farplay checkout where every user can read them (e.g. /opt/farplay)',
      );
    }
  }
  if (unitDir !== SYSTEM_UNIT_DIR) {
    output.out(`Not the system unit folder: first \`sudo systemctl link ${unitFile}\`.`);
  }
  output.out('Enable and start it, then follow its log:');
  output.out(`  sudo systemctl daemon-reload && sudo systemctl enable --now ${name}.service`);
  output.out(`  journalctl -u ${name}.service -f`);
  return 0;
}
