import {
  type Address,
  BaseError,
  createPublicClient,
  createWalletClient,
  custom,
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
  /** JSON-RPC the page reads through (an injected wallet's own provider when absent). */
  paymentsRpcUrl?: string;
}

/** What the page shows of its wallet: ATH in the wallet, and in escrow (available to new sessions). */
export interface WalletBalances {
  ath: bigint;
  deposit: bigint;
  available: bigint;
}

/** An EIP-1193 provider (`window.ethereum`). */
export type Eip1193Provider = Parameters<typeof custom>[0];

/** Which wallet pays: one the browser injects (EIP-1193), or the page's own local key. */
export type WalletKind = 'injected' | 'local';

/**
 * The page's wallet: an injected EIP-1193 wallet where the browser has one (viem's custom transport over
 * `window.ethereum`: it asks for the account, sends the approve and deposit transactions and signs the grant with
 * `eth_signTypedData_v4`), else a key the page makes once and keeps in localStorage (local chains only; never real
 * funds), funded through the matchmaker's faucet. Reads balances, deposits (approve + deposit) and signs the one
 * EIP-712 grant per session.
 */
export class PageWallet {
  readonly kind: WalletKind;
  readonly address: Address;
  readonly #account: LocalAccount | Address;
  readonly #network: WalletNetwork;
  readonly #public;
  readonly #wallet;

  private constructor(network: WalletNetwork, account: LocalAccount | Address, provider?: Eip1193Provider) {
    this.kind = provider === undefined ? 'local' : 'injected';
    this.#account = account;
    this.address = typeof account === 'string' ? account : account.address;
    this.#network = network;
    const rpc = network.paymentsRpcUrl;
    const chain = defineChain({
      id: network.escrow.chainId,
      name: `Farplay ${network.escrow.chainId}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: rpc === undefined ? [] : [rpc] } },
    });
    const reads = rpc !== undefined ? http(rpc) : provider !== undefined ? custom(provider) : undefined;
    if (reads === undefined) throw new Error('no JSON-RPC for the payments chain and no injected wallet');
    this.#public = createPublicClient({ chain, transport: reads });
    this.#wallet = createWalletClient({ chain, transport: provider ? custom(provider) : reads, account });
  }

  /**
   * The injected wallet when `provider` is given (asks it for an account: the wallet may prompt), else the local
   * one from `storage`.
   */
  static async connect(
    network: WalletNetwork,
    provider?: Eip1193Provider,
    storage: Pick<Storage, 'getItem' | 'setItem'> = localStorage,
  ): Promise<PageWallet> {
    if (provider !== undefined) {
      const accounts = (await provider.request({ method: 'eth_requestAccounts' })) as Address[];
      const first = accounts[0];
      if (first === undefined) throw new Error('the injected wallet gave no account');
      return new PageWallet(network, first, provider);
    }
    let key = storage.getItem(STORAGE_KEY) as Hex | null;
    if (key === null || !/^0x[0-9a-fA-F]{64}$/.test(key)) {
      key = generatePrivateKey();
      storage.setItem(STORAGE_KEY, key);
    }
    return new PageWallet(network, privateKeyToAccount(key));
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

  /**
   * Approves and deposits `amount` ATH wei into the escrow; `onStep` tells which transaction is waiting. Throws
   * with a short message when the wallet refuses or a transaction reverts.
   */
  async deposit(amount: bigint, onStep: (step: 'approve' | 'deposit') => void = () => {}): Promise<void> {
    try {
      const token = await this.#public.readContract({ address: this.#escrow, abi, functionName: 'token' });
      onStep('approve');
      const approve = await this.#wallet.writeContract({
        address: token,
        abi,
        functionName: 'approve',
        args: [this.#escrow, amount],
      });
      const approved = await this.#public.waitForTransactionReceipt({ hash: approve });
      if (approved.status !== 'success') throw new Error('the approval was reverted');
      onStep('deposit');
      const hash = await this.#wallet.writeContract({
        address: this.#escrow,
        abi,
        functionName: 'deposit',
        args: [amount],
      });
      const receipt = await this.#public.waitForTransactionReceipt({ hash });
      if (receipt.status !== 'success') throw new Error('the deposit was reverted');
    } catch (error) {
      throw new Error(`deposit failed: ${shortReason(error)}`, { cause: error });
    }
  }

  /** Signs the session's grant (one signature per session; no prompt with a local wallet). */
  signGrant(grant: Grant): Promise<Hex> {
    return this.#wallet.signTypedData({
      account: this.#account,
      domain: escrowDomain(this.#network.escrow.chainId, this.#escrow),
      types: grantTypes,
      primaryType: 'Grant',
      message: grant,
    });
  }
}

/** viem's short message (e.g. "User rejected the request."), else the error's own. */
function shortReason(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}
