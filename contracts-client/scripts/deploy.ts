// `npm run contracts:deploy [-- --config path.json]`: deploys the staking chain (token, timelock, checker
// registry, staking registry) and the payments chain (token, timelock, checker registry, escrow) and writes
// <deploymentsDir>/<chainId>-<role>.json, which other parts read with readDeployment().
// Deployer key: FARPLAY_DEPLOYER_KEY (default: anvil account 0, for local chains only).
// Without --config: one local anvil at FARPLAY_RPC_URL (default http://127.0.0.1:8545) serves both chains.
import { readFileSync } from 'node:fs';
import type { Address, Hex } from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { qosPolicyHash } from '../../protocol/qosPolicy.js';
import { athTokenFor, type ChainConfig, chainFor } from '../src/chains.js';
import { createChainClients } from '../src/clients.js';
import { parseDeployConfig } from '../src/config.js';
import { deployPaymentsChain, deployStakingChain } from '../src/deploy.js';
import { writeDeployment } from '../src/deployment.js';
import { localAccounts, localPrivateKey } from '../src/localChain.js';

const args = process.argv.slice(2);
const configIndex = args.indexOf('--config');
const configPath = configIndex >= 0 ? args[configIndex + 1] : process.env.FARPLAY_CONTRACTS_CONFIG;

function localDefaults() {
  const rpcUrl = process.env.FARPLAY_RPC_URL ?? 'http://127.0.0.1:8545';
  const accounts = localAccounts();
  return {
    staking: { name: 'local', chainId: 31337, rpcUrl },
    payments: { name: 'local', chainId: 31337, rpcUrl },
    checkers: accounts.checkers.map((c) => c.address),
    treasury: accounts.treasury.address,
    // A short timelock for local work, so the settlement window (which must fit in it) is short too.
    timelockDelaySeconds: 60,
    settlementWindowSeconds: 60,
  };
}

const config = parseDeployConfig(
  configPath === undefined ? localDefaults() : JSON.parse(readFileSync(configPath, 'utf8')),
);
const key = (process.env.FARPLAY_DEPLOYER_KEY as Hex | undefined) ?? localPrivateKey(0);
const deployer = privateKeyToAccount(key);
const checkerSet = {
  checkers: config.checkers as Address[],
  quorum: config.quorum,
  policyHash: (config.policyHash as Hex | undefined) ?? qosPolicyHash(),
};

// When both roles share one chain, they share one token too.
let previous: { chainId: number; token: Address } | undefined;
for (const [role, chainConfig] of [
  ['staking', config.staking as ChainConfig],
  ['payments', config.payments as ChainConfig],
] as const) {
  const chain = chainFor(chainConfig);
  const token = athTokenFor(chainConfig) ?? (previous?.chainId === chain.id ? previous.token : undefined);
  if (token === undefined && (chainConfig.name === 'mainnet' || chainConfig.name === 'arbitrum')) {
    throw new Error(`no ATH token for ${chainConfig.name}: set ${role}.athToken`);
  }
  const clients = createChainClients(chain, deployer);
  const common = {
    ...(token === undefined ? {} : { token }),
    checkerSet,
    timelockDelay: BigInt(config.timelockDelaySeconds),
    ...(config.admin === undefined ? {} : { admin: config.admin as Address }),
    ...(config.governance === undefined
      ? {}
      : {
          governance: {
            proposers: config.governance.proposers as Address[],
            executors: config.governance.executors as Address[],
            cancellers: config.governance.cancellers as Address[],
          },
        }),
  };
  const deployment =
    role === 'staking'
      ? await deployStakingChain(clients, {
          ...common,
          minStake: BigInt(config.minStakeWei),
          unbondingDelay: BigInt(config.unbondingDelaySeconds),
          playerBps: config.slashPlayerBps,
          finderBps: config.slashFinderBps,
        })
      : await deployPaymentsChain(clients, {
          ...common,
          treasury: config.treasury as Address,
          feeBps: config.feeBps,
          withdrawDelay: config.withdrawDelaySeconds,
          withdrawClaimWindow: config.withdrawClaimWindowSeconds,
        });
  previous = { chainId: deployment.chainId, token: deployment.token };
  const file = writeDeployment(deployment, config.deploymentsDir);
  console.log(`${role} chain ${deployment.chainId}: ${JSON.stringify(deployment)} → ${file}`);
}
