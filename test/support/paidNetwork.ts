import type { FastifyInstance } from 'fastify';
import type { Logger } from 'pino';
import type { Page } from 'playwright-core';
import type { Address, Hex, PublicClient } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { buildApp as buildChecker } from '../../checker/buildApp.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { publishCheckerEndpoint } from '../../contracts-client/src/checkers.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { createLocalFaucet } from '../../contracts-client/src/createLocalFaucet.js';
import { type EscrowRef, readAccount, readEdgeEarnings } from '../../contracts-client/src/escrow.js';
import { type LocalChains, startLocalChains } from '../../contracts-client/src/localChain.js';
import {
  type RunningEdgeBilling,
  type StartEdgeBillingParameters,
  startEdgeBilling,
} from '../../edge/billing/startEdgeBilling.js';
import { parseEdgeConfig } from '../../edge/config.js';
import { type EdgeControl, startEdgeControl } from '../../edge/control/startEdgeControl.js';
import { createEdge } from '../../edge/createEdge.js';
import type { EdgeServer } from '../../edge/http/EdgeServer.js';
import { probeEncoders } from '../../edge/media/probeEncoders.js';
import { type RunningMatchmaker, startMatchmaker } from '../../matchmaker/startMatchmaker.js';
import { qosPolicy } from '../../protocol/qosPolicy.js';
import { playerTestDistDir } from '../../scripts/buildPlayer.js';

export interface PaidNetworkOptions {
  /** The published policy's period and report grace, ms (short in tests). */
  periodMs: number;
  graceMs: number;
  logger: Logger;
  /**
   * The address the chains and checkers listen on and are named by, and the matchmaker's address for edges
   * (default 127.0.0.1). A netlab `root` host's address lets edges in network namespaces reach them all; the
   * matchmaker then listens on every address and the page still opens it at 127.0.0.1 (`pageUrl`).
   */
  host?: string;
  /** Writes the chains' deployment files there (what a separate edge process reads). */
  deploymentsDir?: string;
  /**
   * The checkers slash refuted claims: each gets the staking chain's RPC (it submits `slashRefuted` as finder, a
   * rank × `staggerMs` after the refutation) and publishes its endpoint in the CheckerRegistry, where its peers find
   * it to co-sign. Off by default.
   */
  refutedSlashing?: { staggerMs: number };
}

/**
 * A paid local network as `npm start` runs it, without the edge: two anvil chains with the contracts (the demo
 * edge registered and staked, a policy of `periodMs` periods), three checkers with quorum 2, and a matchmaker
 * serving the test player build that requires a deposit covering the grant and funds page wallets from a faucet.
 */
export interface PaidNetwork {
  chains: LocalChains;
  checkers: FastifyInstance[];
  checkerUrls: string[];
  matchmaker: RunningMatchmaker;
  /** Where a browser opens the matchmaker (and its player page). */
  pageUrl: string;
  /** Where edges reach the matchmaker. */
  matchmakerUrl: string;
  escrow: EscrowRef;
  stakingAddress: Address;
  /** A reader on the payments chain. */
  payments: PublicClient;
  /** A reader on the staking chain. */
  staking: PublicClient;
  /** A player's escrow balance, wei. */
  balanceOf(player: Address): Promise<bigint>;
  /** The demo edge's gross earnings on `sessionIds`, wei. */
  edgeEarnings(sessionIds: readonly Hex[]): Promise<bigint>;
  close(): Promise<void>;
}

export async function startPaidNetwork(o: PaidNetworkOptions): Promise<PaidNetwork> {
  const host = o.host ?? '127.0.0.1';
  const closers: (() => Promise<unknown>)[] = [];
  const close = async () => {
    for (const c of closers.splice(0).reverse()) await c().catch(() => {});
  };
  try {
    const chains = await startLocalChains({
      checkerCount: 3,
      quorum: 2,
      policy: qosPolicy({ periodMs: o.periodMs, reportGraceMs: o.graceMs }),
      host,
      ...(o.deploymentsDir !== undefined ? { deploymentsDir: o.deploymentsDir } : {}),
    });
    closers.push(() => chains.close());
    const escrow: EscrowRef = {
      chainId: chains.payments.chainId,
      address: chains.payments.deployment.escrow as Address,
    };
    const stakingAddress = chains.staking.deployment.staking as Address;
    const checkers: FastifyInstance[] = [];
    const checkerUrls: string[] = [];
    for (const key of chains.privateKeys.checkers.slice(0, 3)) {
      const app = await buildChecker({
        config: {
          privateKey: key,
          periodMs: o.periodMs,
          reportGraceMs: o.graceMs,
          sweepMs: 50,
          paymentsChainId: escrow.chainId,
          escrowAddress: escrow.address,
          stakingChainId: chains.staking.chainId,
          stakingAddress,
          ...(o.refutedSlashing
            ? { stakingRpcUrl: chains.staking.rpcUrl, slashStaggerMs: o.refutedSlashing.staggerMs }
            : {}),
          logLevel: 'silent',
        },
      });
      closers.push(() => app.close());
      checkers.push(app);
      const url = await app.listen({ host, port: 0 });
      checkerUrls.push(url);
      if (o.refutedSlashing)
        await publishCheckerEndpoint(
          createChainClients(
            localChain(chains.staking.chainId, chains.staking.rpcUrl),
            privateKeyToAccount(key),
          ),
          chains.staking.deployment.checkerRegistry,
          url,
        );
    }
    const loopback = host === '127.0.0.1';
    const matchmaker = await startMatchmaker(
      {
        host: loopback ? host : '0.0.0.0',
        port: 0,
        logLevel: 'silent',
        staticDir: playerTestDistDir,
        checkerUrls: checkerUrls.join(','),
        checkerQuorum: 2,
        qosPeriodMs: o.periodMs,
        paymentsChainId: escrow.chainId,
        escrowAddress: escrow.address,
        stakingChainId: chains.staking.chainId,
        stakingAddress,
        paymentsRpcUrl: chains.payments.rpcUrl,
        requireDeposit: true,
        grantMaxMinutes: 30,
      },
      o.logger,
      {
        faucet: createLocalFaucet({
          chainId: chains.payments.chainId,
          rpcUrl: chains.payments.rpcUrl,
          token: chains.payments.deployment.token,
          funder: chains.accounts.deployer,
        }),
      },
    );
    closers.push(() => matchmaker.close());
    const port = new URL(matchmaker.url).port;
    const payments = createChainClients(
      localChain(chains.payments.chainId, chains.payments.rpcUrl),
      chains.accounts.deployer,
    ).publicClient;
    const staking = createChainClients(
      localChain(chains.staking.chainId, chains.staking.rpcUrl),
      chains.accounts.deployer,
    ).publicClient;
    return {
      chains,
      checkers,
      checkerUrls,
      matchmaker,
      pageUrl: `http://127.0.0.1:${port}`,
      matchmakerUrl: `http://${host}:${port}`,
      escrow,
      stakingAddress,
      payments,
      staking,
      balanceOf: async (player) => (await readAccount(payments, escrow, player)).balance,
      edgeEarnings: (sessionIds) =>
        readEdgeEarnings(payments, escrow, chains.accounts.edge.address, sessionIds),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}

/** What a page's QoS reports tell a test: the session's on-chain id and when each period's report left the page. */
export interface PageReports {
  /** The on-chain session id the page reports under (the grant's), once a first report left. */
  billingId(): Hex | undefined;
  /** Period → when its report first left the browser (unix ms): the page's period clock. */
  sentAt: Map<number, number>;
}

/** Watches the page's report POSTs to the checkers (playwright request events; nothing is held). */
export function watchPageReports(page: Page): PageReports {
  let id: Hex | undefined;
  const sentAt = new Map<number, number>();
  page.on('request', (request) => {
    if (request.method() !== 'POST' || !/\/v1\/sessions\/[^/]+\/reports$/.test(request.url())) return;
    const body = JSON.parse(request.postData() ?? '{}') as {
      link?: { report?: { minute?: number; sessionId?: Hex } };
    };
    const report = body.link?.report;
    if (report?.sessionId !== undefined) id ??= report.sessionId.toLowerCase() as Hex;
    if (typeof report?.minute === 'number' && !sentAt.has(report.minute))
      sentAt.set(report.minute, Date.now());
  });
  return { billingId: () => id, sentAt };
}

export interface PaidEdgeOptions {
  /** ATH wei per period the edge asks. */
  price: bigint;
  periodMs: number;
  graceMs: number;
  logger: Logger;
  /** Test-only: rewrites the edge's QoS figures before it signs them (a lying edge). */
  reportTransform?: StartEdgeBillingParameters['reportTransform'];
}

/** An in-process edge on `net` with the demo edge's key: listening, registered with the matchmaker, billing. */
export interface PaidEdge {
  server: EdgeServer;
  control: EdgeControl;
  billing: RunningEdgeBilling;
}

/** Starts the demo edge on a paid network (libx264, heartbeats every 250 ms), as `startPaidNetwork`'s edge side. */
export async function startPaidEdge(net: PaidNetwork, o: PaidEdgeOptions): Promise<PaidEdge> {
  const { chains, matchmaker } = net;
  const server = await createEdge({
    config: parseEdgeConfig({
      port: 0,
      nodePrivateKey: chains.privateKeys.edge,
      matchmakerPublicKey: matchmaker.sessionPublicKey,
      logLevel: 'silent',
      pricePerMinute: o.price.toString(),
    }),
    logger: o.logger,
    encoderProbe: await probeEncoders({ candidates: ['libx264'] }),
  });
  await server.listen({ port: 0 });
  const control = startEdgeControl({
    edge: server.edge,
    account: chains.accounts.edge,
    matchmakerUrl: matchmaker.url,
    heartbeatMs: 250,
    logger: o.logger,
  });
  await control.registered;
  const billing = startEdgeBilling({
    edge: server.edge,
    logger: o.logger,
    periodMs: o.periodMs,
    reportGraceMs: o.graceMs,
    staking: { chainId: chains.staking.chainId, address: net.stakingAddress },
    payments: {
      chainId: chains.payments.chainId,
      rpcUrl: chains.payments.rpcUrl,
      escrow: net.escrow.address,
    },
    ...(o.reportTransform ? { reportTransform: o.reportTransform } : {}),
  });
  return { server, control, billing };
}
