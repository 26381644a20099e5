import { type Address, type LocalAccount, parseEther } from 'viem';
import { testATHAbi } from './abis/TestATH.js';
import { localChain } from './chains.js';
import { createChainClients } from './clients.js';
import { sendTx } from './tx.js';

export interface LocalFaucetParameters {
  chainId: number;
  rpcUrl: string;
  /** The TestATH token (local chains only: it has an open `mint`). */
  token: Address;
  /** A funded development account that pays the ETH and mints. */
  funder: LocalAccount;
  /** Per request (defaults 1 ETH and 100 ATH). */
  eth?: bigint;
  ath?: bigint;
}

/**
 * A faucet for local chains (`npm start`): sends a page's wallet ETH for gas and mints it test ATH to deposit.
 * Never for real networks: TestATH's open mint exists only on local deployments.
 */
export function createLocalFaucet(p: LocalFaucetParameters) {
  const clients = createChainClients(localChain(p.chainId, p.rpcUrl), p.funder);
  const eth = p.eth ?? parseEther('1');
  const ath = p.ath ?? parseEther('100');
  let queue: Promise<unknown> = Promise.resolve();
  return (address: Address): Promise<{ eth: string; ath: string }> => {
    // One funder account: transactions one after another keep its nonces in order.
    const run = queue.then(async () => {
      const hash = await clients.walletClient.sendTransaction({
        account: p.funder,
        chain: clients.walletClient.chain,
        to: address,
        value: eth,
      });
      await clients.publicClient.waitForTransactionReceipt({ hash });
      await sendTx(clients, {
        address: p.token,
        abi: testATHAbi,
        functionName: 'mint',
        args: [address, ath],
      });
      return { eth: eth.toString(), ath: ath.toString() };
    });
    queue = run.catch(() => {});
    return run;
  };
}
