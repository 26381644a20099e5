// A compose network's matchmaker, billed the way `npm start` runs it (scripts/startLocalBilling.ts): waits for the
// `deploy` step's files, points the matchmaker at the escrow, the staking registry (only staked edges register)
// and both chains, and runs it with the local chains' faucet (the page's wallet is funded and deposits), so every
// session gets its checkers (FARPLAY_MM_CHECKER_URLS, from docker-compose.yml) and the page signs its grant.
// The faucet pays from the anvil mnemonic's account FARPLAY_COMPOSE_FAUCET_INDEX (one per matchmaker, so two
// faucets never race for one account's nonces).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Address } from 'viem';
import { mnemonicToAccount } from 'viem/accounts';
import { createLocalFaucet } from '../contracts-client/src/createLocalFaucet.js';
import { readDeployment } from '../contracts-client/src/deployment.js';
import { ANVIL_MNEMONIC } from '../contracts-client/src/localChain.js';
import { runMatchmaker } from '../matchmaker/runMatchmaker.js';

const dir = process.env.FARPLAY_DEPLOYMENTS_DIR ?? '/deployments';
const stakingRpc = process.env.FARPLAY_STAKING_RPC_URL ?? 'http://127.0.0.1:18545';
const paymentsRpc = process.env.FARPLAY_PAYMENTS_RPC_URL ?? 'http://127.0.0.1:18546';
while (!existsSync(join(dir, '31337-staking.json')) || !existsSync(join(dir, '31338-payments.json'))) {
  await new Promise((resolve) => setTimeout(resolve, 500));
}
const payments = readDeployment(31338, 'payments', dir);
const staking = readDeployment(31337, 'staking', dir);
const env: Record<string, string | undefined> = {
  FARPLAY_MM_PAYMENTS_CHAIN_ID: '31338',
  FARPLAY_MM_ESCROW_ADDRESS: payments.escrow,
  FARPLAY_MM_PAYMENTS_RPC_URL: paymentsRpc,
  FARPLAY_MM_STAKING_CHAIN_ID: '31337',
  FARPLAY_MM_STAKING_ADDRESS: staking.staking,
  FARPLAY_MM_STAKING_RPC_URL: stakingRpc,
  FARPLAY_MM_REQUIRE_DEPOSIT: 'true',
  ...process.env,
};
const faucet = createLocalFaucet({
  chainId: 31338,
  rpcUrl: paymentsRpc,
  token: payments.token as Address,
  funder: mnemonicToAccount(ANVIL_MNEMONIC, {
    addressIndex: Number(process.env.FARPLAY_COMPOSE_FAUCET_INDEX ?? 8),
  }),
});
await runMatchmaker(env, { faucet });
