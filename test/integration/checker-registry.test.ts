// The matchmaker assigns checkers from the on-chain CheckerRegistry: each registered checker publishes its endpoint
// there with its own key, the matchmaker reads them (cached, read again), and a checker the timelock removes stops
// being assigned. Its own anvil: the timelock change moves the chain's clock.
import { type Address, createTestClient, http } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localChain } from '../../contracts-client/src/chains.js';
import {
  checkerRegistryOf,
  executeCheckerChange,
  publishCheckerEndpoint,
  readCheckerEndpoints,
  scheduleCheckerChange,
  sortAddresses,
} from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployStakingChain } from '../../contracts-client/src/deploy.js';
import {
  type AnvilNode,
  LOCAL_STAKING_CHAIN_ID,
  localAccounts,
  localPrivateKey,
  startAnvil,
} from '../../contracts-client/src/localChain.js';
import { Billing } from '../../matchmaker/Billing.js';
import { defaultMatchmakerConfig } from '../../matchmaker/config.js';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';
import { expectCode } from '../support/expectCode.js';

const KEYS = [5, 6, 7].map(localPrivateKey);
const URLS = ['http://127.0.0.1:7101', 'http://127.0.0.1:7102/', 'http://127.0.0.1:7103'];

let node: AnvilNode;
let staking: Address;
let registry: Address;
let timelock: Address;
let billing: Billing;
const clientsOf = (key: `0x${string}`) =>
  createChainClients(localChain(node.chainId, node.rpcUrl), privateKeyToAccount(key));

beforeAll(async () => {
  node = await startAnvil({ chainId: LOCAL_STAKING_CHAIN_ID });
  const admin = createChainClients(localChain(node.chainId, node.rpcUrl), localAccounts().deployer);
  const d = await deployStakingChain(admin, {
    checkerSet: {
      checkers: sortAddresses(KEYS.map((k) => privateKeyToAccount(k).address)),
      quorum: 2,
      policyHash: qosPolicyHash(),
    },
    timelockDelay: 60n,
  });
  staking = d.staking as Address;
  registry = d.checkerRegistry;
  timelock = d.timelock;
  billing = new Billing(
    defaultMatchmakerConfig({
      checkerUrls: '',
      stakingRpcUrl: node.rpcUrl,
      stakingChainId: node.chainId,
      stakingAddress: staking,
      escrowAddress: '0x000000000000000000000000000000000000bEEF',
      checkersPerSession: 3,
      checkerQuorum: 2,
    }),
  );
}, 60_000);

afterAll(async () => {
  billing?.close();
  await node?.close();
});

/** The checker URLs `n` sessions were assigned (every session's list). */
function assigned(n: number): string[][] {
  return Array.from({ length: n }, (_, i) => {
    const a = billing.assign(`session-${i}`, privateKeyToAccount(KEYS[0] as `0x${string}`).address, '0');
    if (a === undefined) throw new Error('sessions are not billed');
    return a.checkers.urls;
  });
}

describe('checkers come from the on-chain CheckerRegistry', () => {
  it('a billed network with no published endpoint refuses sessions with MM_NO_CHECKERS', async () => {
    expect(billing.enabled).toBe(true);
    await billing.start();
    expect(billing.checkerUrls).toEqual([]);
    expect(() => billing.assign('s-0', staking, '0')).toThrow(/no checker is registered/);
    await expectCode(
      billing.checkDeposit(undefined, () => 0n),
      'MM_NO_CHECKERS',
    );
  });

  it('only a registered checker publishes an endpoint, from its own key', async () => {
    await expectCode(
      publishCheckerEndpoint(clientsOf(generatePrivateKey()), registry, 'http://127.0.0.1:9999'),
      'CHAIN_NOT_CHECKER',
    );
    await expectCode(
      publishCheckerEndpoint(clientsOf(KEYS[0] as `0x${string}`), registry, `http://x/${'a'.repeat(300)}`),
      'CHAIN_ENDPOINT_TOO_LONG',
    );
  });

  it('assigns every session the registered checkers at their published endpoints', async () => {
    const found = await checkerRegistryOf(clientsOf(KEYS[0] as `0x${string}`).publicClient, staking);
    expect(found.toLowerCase()).toBe(registry.toLowerCase());
    for (const [i, key] of KEYS.entries()) {
      await publishCheckerEndpoint(clientsOf(key), registry, URLS[i] as string);
    }
    const urls = await billing.refreshCheckers();
    expect([...urls].sort()).toEqual(URLS.map((u) => u.replace(/\/$/, '')).sort());
    for (const list of assigned(20)) expect([...list].sort()).toEqual([...urls].sort());
    // The order follows the session id (neither the edge nor the player picks it).
    expect(new Set(assigned(20).map((l) => l.join(' '))).size).toBeGreaterThan(1);
  });

  it('a checker the timelock removes is no longer assigned after the next read', async () => {
    const removed = privateKeyToAccount(KEYS[1] as `0x${string}`).address;
    const admin = createChainClients(localChain(node.chainId, node.rpcUrl), localAccounts().deployer);
    const change = { timelock, registry, change: { kind: 'removeChecker', checker: removed } as const };
    await scheduleCheckerChange(admin, change);
    const testClient = createTestClient({
      mode: 'anvil',
      chain: localChain(node.chainId, node.rpcUrl),
      transport: http(node.rpcUrl),
    });
    await testClient.increaseTime({ seconds: 61 });
    await testClient.mine({ blocks: 1 });
    await executeCheckerChange(admin, change);
    const listed = await readCheckerEndpoints(admin.publicClient, registry);
    expect(listed.map((c) => c.checker)).not.toContain(removed);

    // Until the matchmaker reads the registry again it still has the old list; then the removed one is gone.
    await billing.refreshCheckers();
    const removedUrl = (URLS[1] as string).replace(/\/$/, '');
    expect(billing.checkerUrls).not.toContain(removedUrl);
    for (const list of assigned(30)) {
      expect(list).not.toContain(removedUrl);
      expect(list).toHaveLength(2);
    }
    // A removed checker can no longer publish either.
    await expectCode(
      publishCheckerEndpoint(clientsOf(KEYS[1] as `0x${string}`), registry, 'http://127.0.0.1:7777'),
      'CHAIN_NOT_CHECKER',
    );
  });
});
