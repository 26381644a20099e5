import {
  type Address,
  createTestClient,
  type Hex,
  http,
  keccak256,
  type LocalAccount,
  parseEther,
  toHex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { inject } from 'vitest';
import { testATHAbi } from '../../contracts-client/src/abis/TestATH.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { type CheckerSet, sortAddresses } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { deployStakingChain } from '../../contracts-client/src/deploy.js';
import { localAccounts } from '../../contracts-client/src/localChain.js';
import {
  type Evidence,
  type RefutedEvidence,
  registerEdge,
  type StakingRef,
  signQosReport,
  signRefutedSlashOrder,
  signSlashOrder,
  stakingDomainOf,
} from '../../contracts-client/src/staking.js';
import { type ChainClients, sendTx } from '../../contracts-client/src/tx.js';
import {
  type QosLink,
  type QosMetrics,
  type QosReport,
  QosRole,
  qosLinkHash,
  qosReportHash,
  type RefutedSlashOrder,
  type SlashOrder,
} from '../../protocol/eip712.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';

// What the StakingRegistry tests share: the staking chain the test setup started, its well-known
// accounts, and a fresh deployment per file.

export const rpcUrl = inject('stakingRpcUrl');
export const chainId = inject('stakingChainId');
export const chain = localChain(chainId, rpcUrl);
export const accounts = localAccounts();
/** Clients of the deployer (mints test ATH, owns the contracts). */
export const admin = createChainClients(chain, accounts.deployer);
export const testClient = createTestClient({ mode: 'anvil', chain, transport: http(rpcUrl) });
/** The local checker keys, sorted by address as the contracts want them. */
export const checkers = [...accounts.checkers].sort((a, b) =>
  BigInt(a.address) < BigInt(b.address) ? -1 : 1,
);
/** One ATH in wei. */
export const ATH = 10n ** 18n;

/** A fresh StakingRegistry with a 3-of-n checker quorum and 1000 ATH minimum stake. */
export async function deployStakingFixture(options: {
  unbondingDelay: bigint;
  playerBps?: number;
  finderBps?: number;
}): Promise<{ staking: StakingRef; set: CheckerSet }> {
  const set = {
    checkers: sortAddresses(checkers.map((c) => c.address)),
    quorum: 3,
    policyHash: qosPolicyHash(),
  };
  const d = await deployStakingChain(admin, {
    checkerSet: set,
    minStake: 1000n * ATH,
    timelockDelay: 600n,
    ...options,
  });
  return { staking: { address: d.staking as Address, chainId, token: d.token }, set };
}

/** The staking chain's latest block time. */
export async function chainNow(): Promise<bigint> {
  return (await admin.publicClient.getBlock()).timestamp;
}

/** ATH balance of `address` on `staking`'s token. */
export async function balanceOf(staking: StakingRef, address: Address): Promise<bigint> {
  return admin.publicClient.readContract({
    address: staking.token,
    abi: testATHAbi,
    functionName: 'balanceOf',
    args: [address],
  });
}

/** Mints `amount` test ATH to `to`. */
export async function mint(staking: StakingRef, to: Address, amount: bigint): Promise<void> {
  await sendTx(admin, { address: staking.token, abi: testATHAbi, functionName: 'mint', args: [to, amount] });
}

/** A fresh key with gas and `tokens` ATH, and its own clients. */
export async function fundedAccount(
  staking: StakingRef,
  tokens: bigint,
): Promise<{ account: LocalAccount; clients: ChainClients }> {
  const account = privateKeyToAccount(generatePrivateKey());
  await testClient.setBalance({ address: account.address, value: parseEther('1') });
  await mint(staking, account.address, tokens);
  return { account, clients: createChainClients(chain, account) };
}

/** A fresh edge key registered on `staking` by a fresh operator with `stake` (and `extra` more ATH in its wallet). */
export async function stakedEdge(staking: StakingRef, stake: bigint, extra = 0n) {
  const edge = privateKeyToAccount(generatePrivateKey());
  const operator = await fundedAccount(staking, stake + extra);
  await registerEdge(operator.clients, staking, { edge, cutBps: 0, amount: stake });
  return { edge, operator };
}

/** Metrics of one minute with `frames` (the other figures of a good link). */
export const metricsWith = (frames: number): QosMetrics => ({
  frames,
  bitrateKbps: 8000,
  encodeTimeUs: 4000,
  rttMs: 20,
  jitterMs: 0,
  lossPpm: 0,
  freezeMs: 0,
});

/**
 * The arguments of `slash` for `bps` of `edge`'s pool: two conflicting reports the edge signed for `minute`
 * (3,600 and 1,800 frames) and the first three checkers' signatures over the order.
 */
export async function conflictingReportsSlash(
  staking: StakingRef,
  set: CheckerSet,
  edge: LocalAccount,
  order: { minute: number; bps: number; player?: Address; finder?: Address; deadline?: bigint },
) {
  const sessionId = keccak256(toHex(`slashing-${edge.address}`));
  const evidence = await Promise.all(
    [3600, 1800].map(async (frames) => {
      const report: QosReport = {
        sessionId,
        minute: order.minute,
        role: QosRole.edge,
        metrics: metricsWith(frames),
      };
      return { report, signature: await signQosReport(edge, staking, report) } satisfies Evidence;
    }),
  );
  const slashOrder: SlashOrder = {
    edge: edge.address,
    sessionId,
    minute: order.minute,
    bps: order.bps,
    player: order.player ?? privateKeyToAccount(generatePrivateKey()).address,
    finder: order.finder ?? privateKeyToAccount(generatePrivateKey()).address,
    deadline: order.deadline ?? (await chainNow()) + 3600n,
  };
  const signatures = await Promise.all(
    checkers
      .slice(0, 3)
      .map(async (c) => ({ signer: c.address, signature: await signSlashOrder(c, staking, slashOrder) })),
  );
  return {
    order: slashOrder,
    evidence: evidence as unknown as readonly [Evidence, Evidence],
    signatures,
    checkerSet: set,
  };
}

/**
 * The arguments of `slashRefuted` for `bps` of `edge`'s pool: the edge's report of `minute` claiming `edgeFrames`
 * (default 3,600: 60 fps), the player's link of the same minute (`playerFrames`, default 1,200: 20 fps) signed by
 * `playerSigner` (default the session key the order names), and the first `signers` (default 3) checkers'
 * signatures over the order.
 */
export async function refutedClaimSlash(
  staking: StakingRef,
  set: CheckerSet,
  edge: LocalAccount,
  order: {
    minute: number;
    bps: number;
    player: Address;
    finder: Address;
    sessionId?: Hex;
    edgeFrames?: number;
    playerFrames?: number;
    playerSigner?: LocalAccount;
    signers?: number;
  },
) {
  const sessionId = order.sessionId ?? keccak256(toHex(`refuted-${edge.address}-${order.minute}`));
  const sessionKey = privateKeyToAccount(generatePrivateKey());
  const domain = stakingDomainOf(staking);
  const report: QosReport = {
    sessionId,
    minute: order.minute,
    role: QosRole.edge,
    metrics: metricsWith(order.edgeFrames ?? 3600),
  };
  const playerChain = new QosReportChain({
    sessionId,
    role: QosRole.player,
    signer: order.playerSigner ?? sessionKey,
    domain,
  });
  // The player's chain up to the minute: the link carries the previous link's hash as on the wire.
  let signed = await playerChain.next(0, metricsWith(order.playerFrames ?? 1200), {}, 1_000);
  for (let m = 1; m <= order.minute; m++) {
    signed = await playerChain.next(
      m,
      metricsWith(order.playerFrames ?? 1200),
      { freezeCount: m },
      1_000 + m,
    );
  }
  const evidence: RefutedEvidence = {
    edge: { report, signature: await signQosReport(edge, staking, report) },
    player: { link: signed.link as QosLink, signature: signed.linkSignature as Hex },
  };
  const slashOrder: RefutedSlashOrder = {
    edge: edge.address,
    sessionId,
    minute: order.minute,
    bps: order.bps,
    player: order.player,
    sessionKey: sessionKey.address,
    finder: order.finder,
    deadline: (await chainNow()) + 3600n,
    edgeReport: qosReportHash(report),
    playerReport: qosLinkHash(signed.link),
  };
  const signatures = await Promise.all(
    checkers.slice(0, order.signers ?? 3).map(async (c) => ({
      signer: c.address,
      signature: await signRefutedSlashOrder(c, staking, slashOrder),
    })),
  );
  return { order: slashOrder, evidence, signatures, checkerSet: set };
}
