import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from './operator-support.js';

const PASSPHRASE = 'operator service passphrase';
const env = { FARPLAY_EDGE_KEYSTORE_PASSPHRASE: PASSPHRASE };
const analyze = spawnSync('systemd-analyze', ['--version'], { encoding: 'utf8' });
const noAnalyze =
  analyze.error || analyze.status !== 0
    ? 'systemd-analyze is not installed (Debian: apt-get install systemd)'
    : undefined;

let root: string;

/** A fresh `farplay-edge init` folder; returns its config file. */
async function initEdge(name: string): Promise<string> {
  const dir = join(root, name);
  const init = await runCli(
    ['init', '--dir', dir, '--matchmaker', 'http://127.0.0.1:9', '--region', 'eu-west', '--scrypt-n', '1024'],
    env,
  );
  expect(init.code).toBe(0);
  return join(dir, 'edge.json');
}

/** The `Key=value` lines of a unit file. */
function directives(unit: string): string[] {
  return unit.split('\n').filter((line) => /^[A-Za-z]+=/.test(line));
}

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'farplay-service-'));
});

describe('farplay-edge service install', () => {
  it('writes a hardened system unit, hands the keys over as credentials and says how to enable and follow it', async () => {
    const config = await initEdge('edge');
    const unitDir = join(root, 'units');
    mkdirSync(unitDir);
    const run = await runCli(['service', 'install', '--config', config, '--unit-dir', unitDir], env);
    expect(
      run.errors.filter((line) => !line.includes('service user cannot read') && !line.includes('fix:')),
    ).toEqual([]);
    expect(run.code).toBe(0);
    const text = run.lines.join('\n');
    expect(text).toContain(
      'sudo systemctl daemon-reload && sudo systemctl enable --now farplay-edge.service',
    );
    expect(text).toContain('journalctl -u farplay-edge.service -f');
    // The passphrase came from the environment: install wrote it where only the owner reads it.
    const passphraseFile = join(root, 'edge', 'passphrase');
    expect(readFileSync(passphraseFile, 'utf8')).toBe(`${PASSPHRASE}\n`);
    expect(statSync(passphraseFile).mode & 0o077).toBe(0);

    const unit = readFileSync(join(unitDir, 'farplay-edge.service'), 'utf8');
    const lines = directives(unit);
    for (const expected of [
      'Restart=on-failure',
      'DynamicUser=yes',
      'NoNewPrivileges=yes',
      'ProtectSystem=strict',
      'CapabilityBoundingSet=',
      'DevicePolicy=closed',
      'PrivateTmp=yes',
      'WantedBy=multi-user.target',
      `LoadCredential=edge.json:${config}`,
      `LoadCredential=node-key.json:${join(root, 'edge', 'node-key.json')}`,
      `LoadCredential=passphrase:${passphraseFile}`,
      'Environment=FARPLAY_EDGE_CONFIG_FILE=%d/edge.json',
    ]) {
      expect(lines).toContain(expected);
    }
    // A system service, never a root one and never a user (desktop-session) one.
    expect(lines.some((line) => /^User=root$/.test(line))).toBe(false);
    expect(unit).not.toContain('default.target');
    // The writable places are the unit's own directories: the package cache goes to its cache directory.
    expect(lines).toContain('Environment=FARPLAY_EDGE_PACKAGE_CACHE_DIR=%C/farplay-edge/packages');
    expect(lines.find((line) => line.startsWith('ExecStart='))).toMatch(
      /^ExecStart=\/\S+ \/\S+\/edge\/cli\/farplay-edge\.mjs run$/,
    );
  });

  it.skipIf(noAnalyze !== undefined)(
    `systemd-analyze verify accepts the unit${noAnalyze ? ` (skipped: ${noAnalyze})` : ''}`,
    async () => {
      const config = await initEdge('verified');
      const unitDir = join(root, 'verified-units');
      mkdirSync(unitDir);
      const run = await runCli(
        ['service', 'install', '--config', config, '--unit-dir', unitDir, '--name', 'farplay-edge-verify'],
        env,
      );
      expect(run.code).toBe(0);
      const unitFile = join(unitDir, 'farplay-edge-verify.service');
      const verify = spawnSync('systemd-analyze', ['verify', unitFile], { encoding: 'utf8' });
      // Only what it says about this unit counts (the host's own units may draw warnings too).
      const ours = `${verify.stdout}${verify.stderr}`
        .split('\n')
        .filter((line) => line.includes('farplay-edge-verify'));
      expect(ours).toEqual([]);
      expect(verify.status).toBe(0);
    },
  );

  it('refuses without a passphrase the service can read, with a wrong one, and where it cannot write', async () => {
    const config = await initEdge('refused');
    const unitDir = join(root, 'refused-units');
    mkdirSync(unitDir);
    const none = await runCli(['service', 'install', '--config', config, '--unit-dir', unitDir], {});
    expect(none.code).toBe(1);
    expect(none.errors[0]).toMatch(/cannot ask for the keystore passphrase.*\[OPERATOR_NO_PASSPHRASE\]$/);

    const wrong = join(root, 'wrong-passphrase');
    writeFileSync(wrong, 'not the passphrase\n');
    const bad = await runCli(
      ['service', 'install', '--config', config, '--unit-dir', unitDir, '--passphrase-file', wrong],
      {},
    );
    expect(bad.errors[0]).toMatch(/\[OPERATOR_BAD_PASSPHRASE\]$/);

    const nowhere = await runCli(
      ['service', 'install', '--config', config, '--unit-dir', join(root, 'no', 'such', 'dir')],
      env,
    );
    expect(nowhere.errors[0]).toMatch(
      /cannot write .*farplay-edge\.service.*\[OPERATOR_SERVICE_NOT_WRITABLE\]$/,
    );
  });
});
