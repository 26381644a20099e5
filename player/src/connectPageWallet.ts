import type { NetworkBilling } from '../../protocol/billingSession.js';
import { formatAth } from './formatAth.js';
import { type Eip1193Provider, PageWallet } from './PageWallet.js';

/** What `GET /v1/billing` answers. */
export type NetworkBillingInfo = NetworkBilling;

/** ATH wei the page deposits when its escrow deposit is below it (the faucet's grant on local chains; the button). */
export const PAGE_DEPOSIT = 10n * 10n ** 18n;

/** The browser's injected EIP-1193 wallet (`window.ethereum`), if any. */
export function injectedProvider(): Eip1193Provider | undefined {
  const ethereum = (globalThis as { ethereum?: Eip1193Provider }).ethereum;
  return ethereum !== undefined && typeof ethereum.request === 'function' ? ethereum : undefined;
}

/**
 * The page's wallet for a billed network: the injected one where the browser has one, else a local one. Undefined
 * when the network does not bill or the page cannot reach its chain.
 */
export async function connectPageWallet(
  apiBase: string,
): Promise<{ wallet: PageWallet; network: NetworkBillingInfo } | undefined> {
  const res = await fetch(`${apiBase.replace(/\/$/, '')}/v1/billing`, { cache: 'no-store' }).catch(
    () => undefined,
  );
  if (res === undefined || !res.ok) return undefined;
  const network = (await res.json()) as NetworkBillingInfo;
  const provider = injectedProvider();
  if (!network.enabled || network.escrow === undefined) return undefined;
  if (provider === undefined && network.paymentsRpcUrl === undefined) return undefined;
  const wallet = await PageWallet.connect(
    {
      escrow: network.escrow,
      ...(network.paymentsRpcUrl !== undefined ? { paymentsRpcUrl: network.paymentsRpcUrl } : {}),
    },
    provider,
  );
  return { wallet, network };
}

/**
 * On a local network (the matchmaker has a faucet): funds the wallet and deposits `PAGE_DEPOSIT` when its escrow
 * deposit is below it (approve + deposit: prompts with an injected wallet). `onStatus` tells the page what is
 * happening; throws with a short message when the wallet refuses or a transaction fails.
 */
export async function topUpLocal(
  wallet: PageWallet,
  network: NetworkBillingInfo,
  apiBase: string,
  onStatus: (message: string) => void,
): Promise<void> {
  const balances = await wallet.balances();
  if (balances.available >= PAGE_DEPOSIT || !network.faucet) return;
  if (balances.ath < PAGE_DEPOSIT) {
    onStatus('Funding the wallet from the local faucet…');
    await wallet.fund(apiBase);
  }
  await depositWithProgress(wallet, onStatus);
}

/** Approve + deposit `PAGE_DEPOSIT`, telling each step. */
export async function depositWithProgress(wallet: PageWallet, onStatus: (message: string) => void) {
  await wallet.deposit(PAGE_DEPOSIT, (step) =>
    onStatus(
      step === 'approve'
        ? `Approving ${formatAth(PAGE_DEPOSIT)} ATH for the escrow (1 of 2)…`
        : `Depositing ${formatAth(PAGE_DEPOSIT)} ATH into escrow (2 of 2)…`,
    ),
  );
  onStatus(`Deposited ${formatAth(PAGE_DEPOSIT)} ATH.`);
}
