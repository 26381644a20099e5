import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { type Hex, keccak256, type LocalAccount, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { buildApp as buildChecker } from '../../checker/buildApp.js';
import type { CheckerChains } from '../../checker/checkerTypes.js';
import { signGrant } from '../../contracts-client/src/escrow.js';
import { escrowDomain, type Grant, type QosMetrics, QosRole, stakingDomain } from '../../protocol/eip712.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import { type GrantJson, grantToJson } from '../../protocol/qosReport.js';

/** A Redis key prefix of its own for one checker test. */
export function checkerPrefix(name: string): string {
  return `farplay:test:checker:${name}:${randomBytes(4).toString('hex')}:`;
}

/** Good figures for one period of `periodMs` at 60 fps, as each side reports them. */
export function goodMinute(periodMs: number): { edge: QosMetrics; player: QosMetrics; targetFps: number } {
  const frames = Math.round((60 * periodMs) / 1000);
  return {
    targetFps: 60,
    edge: {
      frames,
      bitrateKbps: 4000,
      encodeTimeUs: 2500,
      rttMs: 30,
      jitterMs: 2,
      lossPpm: 500,
      freezeMs: 0,
    },
    player: { frames, bitrateKbps: 3950, encodeTimeUs: 0, rttMs: 32, jitterMs: 3, lossPpm: 600, freezeMs: 0 },
  };
}

/** Where a test's checker signatures are bound: the checker's own chain pair. */
export type TestChains = CheckerChains;

/** One session's parties: the player's wallet and grant, the edge key and the page's session key, with chains. */
export interface TestSession {
  grant: Grant;
  grantJson: GrantJson;
  grantSignature: Hex;
  edgeChain: QosReportChain;
  playerChain: QosReportChain;
  sessionKey: LocalAccount;
}

let counter = 0;

/** A fresh session id whose low 3 bits vary (cheaper settlement, as the escrow explains). */
export function newSessionId(tag = 'checker'): Hex {
  counter += 1;
  return keccak256(toHex(`${tag}-${counter}-${randomBytes(8).toString('hex')}`));
}

export async function newSession(
  chains: TestChains,
  player: LocalAccount,
  edge: LocalAccount,
  over: Partial<Grant> = {},
): Promise<TestSession> {
  const sessionKey = privateKeyToAccount(generatePrivateKey());
  const grant: Grant = {
    sessionId: newSessionId(),
    player: player.address,
    edge: edge.address,
    pricePerMinute: 10n ** 16n,
    maxMinutes: 120,
    expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400),
    sessionKey: sessionKey.address,
    ...over,
  };
  const grantSignature = await signGrant(player, chains.escrow, grant);
  const domain = stakingDomain(chains.staking.chainId, chains.staking.address);
  return {
    grant,
    grantJson: grantToJson(grant),
    grantSignature,
    sessionKey,
    edgeChain: new QosReportChain({ sessionId: grant.sessionId, role: QosRole.edge, signer: edge, domain }),
    playerChain: new QosReportChain({
      sessionId: grant.sessionId,
      role: QosRole.player,
      signer: sessionKey,
      domain,
    }),
  };
}

/** The escrow domain of `chains` (for verifying attestations). */
export const escrowDomainOf = (chains: TestChains) =>
  escrowDomain(chains.escrow.chainId, chains.escrow.address);

/** Contract addresses for checkers of a test that needs no chain: they only bind the checkers' signatures. */
/** The checker config's chain fields (where its grants, attestations and slash orders are bound) for `chains`. */
export const checkerChainConfig = (chains: TestChains) => ({
  paymentsChainId: chains.escrow.chainId,
  escrowAddress: chains.escrow.address,
  stakingChainId: chains.staking.chainId,
  stakingAddress: chains.staking.address,
});

export const OFFCHAIN_CHAINS: TestChains = {
  escrow: { chainId: 31338, address: '0x00000000000000000000000000000000000e5c40' },
  staking: { chainId: 31337, address: '0x0000000000000000000000000000000000057a4e' },
};

/** `count` in-process checkers (memory stores) listening on 127.0.0.1 with a short policy; close each app after. */
export async function startCheckers(o: {
  count: number;
  periodMs: number;
  graceMs: number;
  chains?: TestChains;
}): Promise<{ apps: FastifyInstance[]; urls: string[] }> {
  const chains = o.chains ?? OFFCHAIN_CHAINS;
  const apps: FastifyInstance[] = [];
  const urls: string[] = [];
  for (let i = 0; i < o.count; i++) {
    const app = await buildChecker({
      config: {
        periodMs: o.periodMs,
        reportGraceMs: o.graceMs,
        sweepMs: 50,
        ...checkerChainConfig(chains),
        logLevel: 'silent',
      },
    });
    apps.push(app);
    urls.push(await app.listen({ host: '127.0.0.1', port: 0 }));
  }
  return { apps, urls };
}
