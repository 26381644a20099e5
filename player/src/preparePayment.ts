import { formatAth } from './formatAth.js';
import { PageWallet } from './PageWallet.js';

/** What `GET /v1/billing` answers (matchmaker/Billing.ts `NetworkBilling`). */
export interface NetworkBillingInfo {
  enabled: boolean;
  requireDeposit: boolean;
  periodMs: number;
  maxMinutes: number;
  escrow?: { chainId: number; address: string };
  staking?: { chainId: number; address: string };
  paymentsRpcUrl?: string;
  faucet: boolean;
}

/** ATH wei the page deposits from the faucet's grant when its escrow deposit is below it (local chains). */
const LOCAL_DEPOSIT = 10n * 10n ** 18n;

/**
 * The page's wallet for a billed network, ready to pay: on a local network (the matchmaker has a faucet) a local
 * wallet, funded and with `LOCAL_DEPOSIT` in escrow when it has less. Undefined when the network does not bill or
 * the page cannot reach its chain. `onStatus` tells the page what is happening (progress, errors).
 */
export async function preparePayment(
  apiBase: string,
  onStatus: (message: string) => void = () => {},
): Promise<{ wallet: PageWallet; network: NetworkBillingInfo } | undefined> {
  const res = await fetch(`${apiBase.replace(/\/$/, '')}/v1/billing`, { cache: 'no-store' }).catch(
    () => undefined,
  );
  if (res === undefined || !res.ok) return undefined;
  const network = (await res.json()) as NetworkBillingInfo;
  if (!network.enabled || network.escrow === undefined || network.paymentsRpcUrl === undefined)
    return undefined;
  const wallet = new PageWallet({ escrow: network.escrow, paymentsRpcUrl: network.paymentsRpcUrl });
  let balances = await wallet.balances();
  if (balances.available < LOCAL_DEPOSIT && network.faucet) {
    if (balances.ath < LOCAL_DEPOSIT) {
      onStatus('Funding the local wallet…');
      await wallet.fund(apiBase);
    }
    await wallet.deposit(LOCAL_DEPOSIT, (step) =>
      onStatus(step === 'approve' ? 'Approving the deposit…' : 'Depositing ATH into escrow…'),
    );
    balances = await wallet.balances();
  }
  onStatus(
    `Wallet ${wallet.address.slice(0, 10)}…: ${formatAth(balances.available)} ATH available in escrow`,
  );
  return { wallet, network };
}
