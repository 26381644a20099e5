// The compose network's `deploy` step: waits for the two anvil chains, deploys the contracts (staking chain:
// TestATH, checker registry, staking registry; payments chain: TestATH, escrow), funds the demo player's
// escrow balance, and writes the deployment files the edges and matchmakers read. Idempotent: a chain that
// already has a deployment file is left alone.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pino } from 'pino';
import { parseEther } from 'viem';
import { testATHAbi } from '../contracts-client/src/abis/TestATH.js';
import { localChain } from '../contracts-client/src/chains.js';
import { sortAddresses } from '../contracts-client/src/checkers.js';
import { createChainClients } from '../contracts-client/src/clients.js';
import { deployPaymentsChain, deployStakingChain } from '../contracts-client/src/deploy.js';
import { writeDeployment } from '../contracts-client/src/deployment.js';
import { depositFor } from '../contracts-client/src/escrow.js';
import { localAccounts } from '../contracts-client/src/localChain.js';
import { sendTx } from '../contracts-client/src/tx.js';
import { qosPolicy, qosPolicyHash } from '../protocol/qosPolicy.js';

const log = pino({ name: 'compose-deploy' });
const stakingRpc = process.env.FARPLAY_STAKING_RPC_URL ?? 'http://127.0.0.1:18545';
const paymentsRpc = process.env.FARPLAY_PAYMENTS_RPC_URL ?? 'http://127.0.0.1:18546';
const dir = process.env.FARPLAY_DEPLOYMENTS_DIR ?? '/deployments';
// The published policy's period and report grace (the checkers', matchmakers' and edges' settings in
// docker-compose.yml): their hash is the escrow's and registry's, or no attestation settles.
const policy = qosPolicy({
  periodMs: Number(process.env.FARPLAY_QOS_PERIOD_MS ?? 60_000),
  reportGraceMs: Number(process.env.FARPLAY_QOS_REPORT_GRACE_MS ?? 10_000),
});

async function waitForChain(rpcUrl: string): Promise<void> {
  for (let attempt = 0; attempt < 120; attempt++) {
    try {
      const response = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
      });
      if (response.ok) return;
    } catch {
      // not up yet
    }
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`chain ${rpcUrl} did not come up`);
}

async function main(): Promise<void> {
  await Promise.all([waitForChain(stakingRpc), waitForChain(paymentsRpc)]);
  const accounts = localAccounts();
  const checkerSet = {
    checkers: sortAddresses(accounts.checkers.map((c) => c.address)),
    quorum: 3,
    policyHash: qosPolicyHash(policy),
  };
  if (!existsSync(join(dir, '31337-staking.json'))) {
    const clients = createChainClients(localChain(31337, stakingRpc), accounts.deployer);
    const staking = await deployStakingChain(clients, {
      checkerSet,
      timelockDelay: 60n,
      unbondingDelay: 7n * 86_400n,
    });
    writeDeployment(staking, dir);
    log.info({ staking: staking.staking, token: staking.token }, 'staking chain deployed');
  }
  if (!existsSync(join(dir, '31338-payments.json'))) {
    const clients = createChainClients(localChain(31338, paymentsRpc), accounts.deployer);
    const payments = await deployPaymentsChain(clients, {
      checkerSet,
      timelockDelay: 60n,
      treasury: accounts.treasury.address,
      withdrawDelay: 86_400,
    });
    const deposit = parseEther('1000');
    await sendTx(clients, {
      address: payments.token,
      abi: testATHAbi,
      functionName: 'mint',
      args: [accounts.deployer.address, deposit],
    });
    await depositFor(
      clients,
      { address: payments.escrow as `0x${string}`, chainId: 31338 },
      payments.token,
      accounts.player.address,
      deposit,
    );
    writeDeployment(payments, dir);
    log.info({ escrow: payments.escrow }, 'payments chain deployed, demo player funded');
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log.error({ err: error }, 'deploy failed');
    process.exit(1);
  },
);
