import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Address, LocalAccount } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { buildApp as buildChecker } from '../checker/buildApp.js';
import { localChain } from '../contracts-client/src/chains.js';
import { publishCheckerEndpoint } from '../contracts-client/src/checkers.js';
import { createChainClients } from '../contracts-client/src/clients.js';
import { createLocalFaucet } from '../contracts-client/src/createLocalFaucet.js';
import { type LocalChains, startLocalChains } from '../contracts-client/src/localChain.js';
import { type RunningEdgeBilling, startEdgeBilling } from '../edge/billing/startEdgeBilling.js';
import type { Edge } from '../edge/Edge.js';
import type { Faucet } from '../matchmaker/http/billingRoutes.js';
import { qosPolicy } from '../protocol/qosPolicy.js';

/** The local chains with the network's billing around them (what `npm start` runs besides edges). */
export interface LocalBilling {
  chains: LocalChains;
  checkerUrls: string[];
  faucet: Faucet;
  /** Turns the checkers' active probes of the edges on, through the matchmaker at `url` (checker/README.md, Probes). */
  probeVia(url: string): void;
  /** FARPLAY_MM_* settings that point the matchmaker at the checkers and the contracts. */
  matchmakerEnv: Record<string, string>;
  /** Starts an edge's QoS reports and settlement agent (its gas funded from the faucet). */
  startEdge(edge: Edge, logger: Logger): Promise<RunningEdgeBilling>;
}

/** How many checkers `npm start` runs, and how many of them settle a minute. */
const CHECKERS = 3;
const QUORUM = 2;

/**
 * Starts the two local chains with a checker set of three demo checkers (quorum 2) and the policy of `periodMs`,
 * the three checkers (in-process stores, loopback, any free port; each publishes its URL in the staking chain's
 * CheckerRegistry with its own key, where the matchmaker reads them) and a faucet; pushes their closers.
 */
export async function startLocalBilling(p: {
  periodMs: number;
  logger: Logger;
  closers: (() => Promise<void>)[];
  /** More edge keys staked besides the demo edge's. */
  extraEdges?: readonly LocalAccount[];
}): Promise<LocalBilling> {
  const reportGraceMs = Math.min(10_000, Math.max(500, Math.floor(p.periodMs / 3)));
  const policy = qosPolicy({ periodMs: p.periodMs, reportGraceMs });
  const chains = await startLocalChains({
    deploymentsDir: '.farplay/deployments',
    checkerCount: CHECKERS,
    quorum: QUORUM,
    policy,
    ...(p.extraEdges ? { extraEdges: p.extraEdges } : {}),
  });
  p.closers.push(() => chains.close());
  const escrow = chains.payments.deployment.escrow as Address;
  const staking = chains.staking.deployment.staking as Address;
  const checkerUrls: string[] = [];
  const checkers: FastifyInstance[] = [];
  for (let i = 0; i < CHECKERS; i++) {
    const app: FastifyInstance = await buildChecker({
      config: {
        privateKey: chains.privateKeys.checkers[i] as `0x${string}`,
        periodMs: p.periodMs,
        reportGraceMs,
        paymentsChainId: chains.payments.chainId,
        escrowAddress: escrow,
        stakingChainId: chains.staking.chainId,
        stakingAddress: staking,
      },
      logger: p.logger.child({ part: 'checker', checker: i + 1 }),
    });
    p.closers.push(() => app.close());
    checkers.push(app);
    const url = await app.listen({ host: '127.0.0.1', port: 0 });
    checkerUrls.push(url);
    const key = chains.privateKeys.checkers[i] as `0x${string}`;
    await publishCheckerEndpoint(
      createChainClients(localChain(chains.staking.chainId, chains.staking.rpcUrl), privateKeyToAccount(key)),
      chains.staking.deployment.checkerRegistry,
      url,
    );
  }
  const faucet = createLocalFaucet({
    chainId: chains.payments.chainId,
    rpcUrl: chains.payments.rpcUrl,
    token: chains.payments.deployment.token,
    funder: chains.accounts.deployer,
  });
  return {
    chains,
    checkerUrls,
    faucet,
    probeVia(url) {
      for (const app of checkers) app.prober.useMatchmaker(url);
    },
    matchmakerEnv: {
      // No FARPLAY_MM_CHECKER_URLS: the matchmaker assigns the checkers the staking chain's registry lists.
      FARPLAY_MM_CHECKERS_PER_SESSION: String(CHECKERS),
      FARPLAY_MM_CHECKER_QUORUM: String(QUORUM),
      FARPLAY_MM_QOS_PERIOD_MS: String(p.periodMs),
      FARPLAY_MM_PAYMENTS_CHAIN_ID: String(chains.payments.chainId),
      FARPLAY_MM_ESCROW_ADDRESS: escrow,
      FARPLAY_MM_STAKING_CHAIN_ID: String(chains.staking.chainId),
      FARPLAY_MM_STAKING_ADDRESS: staking,
      // Only edges staked in that registry register.
      FARPLAY_MM_STAKING_RPC_URL: chains.staking.rpcUrl,
      FARPLAY_MM_PAYMENTS_RPC_URL: chains.payments.rpcUrl,
      // A paid network: the page's wallet (funded by the faucet) must have its deposit in escrow.
      FARPLAY_MM_REQUIRE_DEPOSIT: 'true',
    },
    async startEdge(edge, logger) {
      await faucet(edge.account.address);
      return startEdgeBilling({
        edge,
        logger,
        periodMs: p.periodMs,
        reportGraceMs,
        staking: { chainId: chains.staking.chainId, address: staking },
        payments: { chainId: chains.payments.chainId, rpcUrl: chains.payments.rpcUrl, escrow },
        settleEveryMs: Math.max(60_000, 10 * p.periodMs),
      });
    },
  };
}
