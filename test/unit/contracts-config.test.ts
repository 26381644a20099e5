import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { athTokenFor, chainFor, KNOWN_ATH_TOKENS } from '../../contracts-client/src/chains.js';
import { parseDeployConfig } from '../../contracts-client/src/config.js';
import { type Deployment, readDeployment, writeDeployment } from '../../contracts-client/src/deployment.js';
import { FarplayError } from '../../protocol/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'farplay-deployments-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const checker = '0x00000000000000000000000000000000000000c1';
const base = {
  staking: { name: 'mainnet', rpcUrl: 'https://eth.example' },
  payments: { name: 'arbitrum', rpcUrl: 'https://arb.example' },
  checkers: [checker],
  quorum: 1,
  treasury: '0x00000000000000000000000000000000000000f1',
};

describe('chain configs', () => {
  it('knows mainnet, Arbitrum One and their Sepolia testnets with RPC URLs from config', () => {
    expect(chainFor({ name: 'mainnet', rpcUrl: 'https://eth.example' }).id).toBe(1);
    expect(chainFor({ name: 'arbitrum', rpcUrl: 'https://arb.example' }).id).toBe(42161);
    expect(chainFor({ name: 'sepolia', rpcUrl: 'https://s.example' }).id).toBe(11155111);
    expect(chainFor({ name: 'arbitrumSepolia', rpcUrl: 'https://as.example' }).id).toBe(421614);
    expect(chainFor({ name: 'arbitrum', rpcUrl: 'https://arb.example' }).rpcUrls.default.http[0]).toBe(
      'https://arb.example',
    );
    expect(chainFor({ name: 'local', chainId: 31338, rpcUrl: 'http://127.0.0.1:1' }).id).toBe(31338);
  });

  it('refuses a chain id that contradicts the named chain, and a local chain without id', () => {
    expect(() => chainFor({ name: 'mainnet', chainId: 5, rpcUrl: 'https://x.example' })).toThrow(
      FarplayError,
    );
    expect(() => chainFor({ name: 'local', rpcUrl: 'http://127.0.0.1:1' })).toThrow(/chainId/);
  });

  it('uses the known ATH addresses on mainnet and Arbitrum unless config overrides, none on testnets', () => {
    expect(athTokenFor({ name: 'mainnet', rpcUrl: 'https://x.example' })).toBe(KNOWN_ATH_TOKENS[1]);
    expect(athTokenFor({ name: 'arbitrum', rpcUrl: 'https://x.example' })).toBe(KNOWN_ATH_TOKENS[42161]);
    expect(athTokenFor({ name: 'sepolia', rpcUrl: 'https://x.example' })).toBeUndefined();
    const own = '0x1111111111111111111111111111111111111111';
    expect(athTokenFor({ name: 'mainnet', rpcUrl: 'https://x.example', athToken: own })).toBe(own);
  });
});

describe('deploy config', () => {
  it('applies defaults', () => {
    const config = parseDeployConfig(base);
    expect(config.feeBps).toBe(250);
    expect(config.deploymentsDir).toBe('.farplay/deployments');
    expect(Object.isFrozen(config)).toBe(true);
  });

  it('names the bad field', () => {
    expect(() => parseDeployConfig({ ...base, feeBps: 5000 })).toThrow(/feeBps/);
    expect(() => parseDeployConfig({ ...base, treasury: 'nope' })).toThrow(/treasury/);
    expect(() => parseDeployConfig({ ...base, quorum: 2 })).toThrow(/quorum/);
    try {
      parseDeployConfig({ ...base, staking: { name: 'ropsten', rpcUrl: 'https://x.example' } });
      expect.unreachable();
    } catch (error) {
      expect((error as FarplayError).code).toBe('CHAIN_BAD_CONFIG');
    }
  });
});

describe('governance config (audit finding 7)', () => {
  const bad = (over: Record<string, unknown>) => () => parseDeployConfig({ ...base, ...over });

  it('refuses zero delays and a zero treasury', () => {
    expect(bad({ timelockDelaySeconds: 0 })).toThrow(/timelockDelaySeconds/);
    expect(bad({ withdrawDelaySeconds: 0 })).toThrow(/withdrawDelaySeconds/);
    expect(bad({ withdrawClaimWindowSeconds: 0 })).toThrow(/withdrawClaimWindowSeconds/);
    expect(bad({ unbondingDelaySeconds: 0 })).toThrow(/unbondingDelaySeconds/);
    expect(bad({ treasury: '0x0000000000000000000000000000000000000000' })).toThrow(/treasury/);
  });

  it('requires the withdrawal delay to cover a whole session plus the settlement window', () => {
    // 4 h sessions + 6 h window = 36 000 s; a 10-hour delay is just enough, one second less is not.
    expect(parseDeployConfig({ ...base, withdrawDelaySeconds: 36_000 }).withdrawDelaySeconds).toBe(36_000);
    expect(bad({ withdrawDelaySeconds: 35_999 })).toThrow(/withdrawDelaySeconds.*36000/);
    expect(bad({ maxSessionMinutes: 24 * 60 })).toThrow(/withdrawDelaySeconds/);
  });

  it('requires the timelock delay to leave edges a settlement window before a policy change executes', () => {
    expect(bad({ timelockDelaySeconds: 3600 })).toThrow(/timelockDelaySeconds.*21600/);
    expect(
      parseDeployConfig({ ...base, timelockDelaySeconds: 3600, settlementWindowSeconds: 3600 })
        .timelockDelaySeconds,
    ).toBe(3600);
  });

  it('takes separate, non-empty proposer, executor and canceller sets', () => {
    const governance = {
      proposers: ['0x00000000000000000000000000000000000000a1'],
      executors: ['0x0000000000000000000000000000000000000000'],
      cancellers: [
        '0x00000000000000000000000000000000000000a2',
        '0x00000000000000000000000000000000000000a3',
      ],
    };
    const config = parseDeployConfig({ ...base, governance });
    expect(config.governance).toEqual(governance);
    expect(Object.isFrozen(config.governance?.cancellers)).toBe(true);
    expect(bad({ governance: { ...governance, cancellers: [] } })).toThrow(/cancellers/);
  });
});

describe('deployment files', () => {
  it('round-trips a deployment and reports a missing one with CHAIN_NO_DEPLOYMENT', () => {
    const deployment: Deployment = {
      chainId: 31338,
      role: 'payments',
      token: '0x5fbdb2315678afecb367f032d93f642f64180aa3',
      testToken: true,
      timelock: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512',
      checkerRegistry: '0x9fe46736679d2d9a65f0992f2272de9f3c7fa6e0',
      escrow: '0xcf7ed3acca5a467e9e704c703e8d87f634fb0fc9',
      deployedAt: '2026-01-01T00:00:00.000Z',
    };
    writeDeployment(deployment, dir);
    expect(readDeployment(31338, 'payments', dir)).toEqual(deployment);
    try {
      readDeployment(31338, 'staking', dir);
      expect.unreachable();
    } catch (error) {
      expect((error as FarplayError).code).toBe('CHAIN_NO_DEPLOYMENT');
    }
  });

  it('reports a truncated or empty deployment file with CHAIN_NO_DEPLOYMENT, not a parse error', () => {
    for (const [chainId, text] of [
      [41, '{"chainId": 41, "ro'],
      [42, 'null'],
    ] as const) {
      writeFileSync(join(dir, `${chainId}-staking.json`), text);
      expect(() => readDeployment(chainId, 'staking', dir)).toThrow(
        expect.objectContaining({ code: 'CHAIN_NO_DEPLOYMENT' }),
      );
    }
  });
});
