// A compose network's checker: waits for the `deploy` step's files, takes the escrow and staking registry
// addresses from them and the checker key the local registry lists (anvil mnemonic index 4 + N, N = 1..3),
// then runs checker/main.ts. Every other FARPLAY_CHECKER_* variable (port, Redis URL, key prefix) comes from
// docker-compose.yml.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readDeployment } from '../contracts-client/src/deployment.js';
import { localPrivateKey } from '../contracts-client/src/localChain.js';

const dir = process.env.FARPLAY_DEPLOYMENTS_DIR ?? '/deployments';
const index = Number(process.argv[2]);
if (!Number.isInteger(index) || index < 1 || index > 5) {
  process.stderr.write('usage: composeChecker.ts N (1..5: which of the local registry’s checkers)\n');
  process.exit(2);
}
while (!existsSync(join(dir, '31337-staking.json')) || !existsSync(join(dir, '31338-payments.json'))) {
  await new Promise((resolve) => setTimeout(resolve, 500));
}
process.env.FARPLAY_CHECKER_PRIVATE_KEY ??= localPrivateKey(4 + index);
process.env.FARPLAY_CHECKER_ESCROW_ADDRESS ??= readDeployment(31338, 'payments', dir).escrow;
process.env.FARPLAY_CHECKER_STAKING_ADDRESS ??= readDeployment(31337, 'staking', dir).staking;
await import('../checker/main.js');
