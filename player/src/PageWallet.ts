import {
  type Address,
  createPublicClient,
  createWalletClient,
  defineChain,
  type Hex,
  http,
  type LocalAccount,
  parseAbi,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { escrowDomain, type Grant, grantTypes } from '../../protocol/eip712.js';

const abi = parseAbi([
  'function token() view returns (address)',
  'function deposit(uint256 amount)',
  'function playerBalance(address player) view returns (uint256 balance, uint256 pendingWithdrawal, uint256 available, uint32 unlockAt, uint32 expiresAt)',
  'function approve(address spender, uint256 amount) returns (bool)',
  'function balanceOf(address owner) view returns (uint256)',
]);

const STORAGE_KEY = 'farplay.localWallet';

/** The chain side of a network as the page sees it (`GET /v1/billing`). */
export interface WalletNetwork {
  escrow: { chainId: number; address: string };
  paymentsRpcUrl: string;
}

/** What the page shows of its wallet: ATH in the wallet, and in escrow (available to new sessions). */
export interface WalletBalances {
  ath: bigint;
  deposit: bigint;
  available: bigint;
}

/**
 * The page's wallet on a local network: a key the page makes once and keeps in localStorage (local chains only;
 * never real funds), funded through the matchmaker's faucet. Reads balances, deposits (approve + deposit) and
 * signs the one EIP-712 grant per session.
 */
export class PageWallet {
  readonly account: LocalAccount;
  readonly #network: WalletNetwork;
  readonly #public;
  readonly #wallet;

  constructor(network: WalletNetwork, storage: Pick<Storage, 'getItem' | 'setItem'> = localStorage) {
    let key = storage.getItem(STORAGE_KEY) as Hex | null;
    if (key === null || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
      key = generatePrivateKey();
      storage.setItem(STORAGE_KEY, key);
    }
    this.account = privateKeyToAccount(key);
    this.#network = network;
    const chain = defineChain({
      id: network.escrow.chainId,
      name: `Farplay ${network.escrow.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [network.paymentsRpcUrl] } },
    });
    const transport = http(network.paymentsRpcUrl);
    this.#public = createPublicClient({ chain, transport });
    this.#wallet = createWalletClient({ chain, transport, account: this.account });
  }

  get address(): Address {
    return this.account.address;
  }

  get #escrow(): Address {
    return this.#network.escrow.address as Address;
  }

  /** ATH in the wallet and in escrow. */
  async balances(): Promise<WalletBalances> {
    const token = await this.#public.readContract({ address: this.#escrow, abi, functionName: 'token' });
    const [ath, account] = await Promise.all([
      this.#public.readContract({ address: token, abi, functionName: 'balanceOf', args: [this.address] }),
      this.#public.readContract({
        address: this.#escrow,
        abi,
        functionName: 'playerBalance',
        args: [this.address],
      }),
    ]);
    return { ath, deposit: account[0], available: account[2] };
  }

  /** Asks the matchmaker's faucet (local chains only) for gas and test ATH. */
  async fund(apiBase: string): Promise<void> {
    const res = await fetch(`${apiBase.replace(/\/$/, '')}/v1/faucet`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ address: this.address }),
    });
    if (!res.ok) throw new Error(`the faucet refused (${res.status})`);
  }

  /** Approves and deposits `amount` ATH wei into the escrow; `onStep` tells which transaction is waiting. */
  async deposit(amount: bigint, onStep: (step: 'approve' | 'deposit') => void = () => {}): Promise<void> {
    const token = await this.#public.readContract({ address: this.#escrow, abi, functionName: 'token' });
    onStep('approve');
    const approve = await this.#wallet.writeContract({
      address: token,
      abi,
      functionName: 'approve',
      args: [this.#escrow, amount],
    });
    await this.#public.waitForTransactionReceipt({ hash: approve });
    onStep('deposit');
    const hash = await this.#wallet.writeContract({
      address: this.#escrow,
      abi,
      functionName: 'deposit',
      args: [amount],
    });
    const receipt = await this.#public.waitForTransactionReceipt({ hash });
    if (receipt.status !== 'success') throw new Error('the deposit was reverted');
  }

  /** Signs the session's grant (one signature per session; no prompt with a local wallet). */
  signGrant(grant: Grant): Promise<Hex> {
    return this.account.signTypedData({
      domain: escrowDomain(this.#network.escrow.chainId, this.#escrow),
      types: grantTypes,
      primaryType: 'Grant',
      message: grant,
    });
  }
}
