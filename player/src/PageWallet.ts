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
  readonly #provider: Eip1193Provider | undefined;

  private constructor(network: WalletNetwork, account: LocalAccount | Address, provider?: Eip1193Provider) {
    this.kind = provider === undefined ? 'local' : 'injected';
    this.#provider = provider;
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
   * Puts an injected wallet on the payments chain before it sends or signs for it: asks it to switch
   * (`wallet_switchEthereumChain`), and when it does not know the chain (error 4902) adds it with the network's RPC
   * (`wallet_addEthereumChain`) and switches. Nothing to do for the local wallet. Throws a short message naming the
   * chain when the user refuses or the wallet cannot switch.
   */
  async ensureChain(): Promise<void> {
    const provider = this.#provider;
    if (provider === undefined) return;
    const want = this.#network.escrow.chainId;
    const current = Number(await provider.request({ method: 'eth_chainId' }));
    if (current === want) return;
    const chainId = `0x${want.toString(16)}`;
    try {
      try {
        await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId }] });
      } catch (error) {
        const rpc = this.#network.paymentsRpcUrl;
        if (errorCode(error) !== UNRECOGNIZED_CHAIN || rpc === undefined) throw error;
        await provider.request({
          method: 'wallet_addEthereumChain',
          params: [
            {
              chainId,
              chainName: `Farplay payments (${want})`,
              nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
              rpcUrls: [rpc],
            },
          ],
        });
        await provider.request({ method: 'wallet_switchEthereumChain', params: [{ chainId }] });
      }
    } catch (error) {
      throw new Error(`switch the wallet to chain ${want}: ${shortReason(error)}`, { cause: error });
    }
    const now = Number(await provider.request({ method: 'eth_chainId' }));
    if (now !== want) throw new Error(`the wallet stayed on chain ${now}; Farplay pays on chain ${want}`);
  }

  /**
   * Approves and deposits `amount` ATH wei into the escrow; `onStep` tells which transaction is waiting. Throws
   * with a short message when the wallet refuses or a transaction reverts.
   */
  async deposit(amount: bigint, onStep: (step: 'approve' | 'deposit') => void = () => {}): Promise<void> {
    try {
      await this.ensureChain();
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

  /**
   * Signs the session's grant (one signature per session; no prompt with a local wallet). An injected wallet is put
   * on the payments chain first: wallets refuse typed data whose domain names another chain.
   */
  async signGrant(grant: Grant): Promise<Hex> {
    await this.ensureChain();
    return this.#wallet.signTypedData({
      account: this.#account,
      domain: escrowDomain(this.#network.escrow.chainId, this.#escrow),
      types: grantTypes,
      primaryType: 'Grant',
      message: grant,
    });
  }
}

/** EIP-1193 / EIP-3085: the wallet does not know the chain it was asked to switch to. */
const UNRECOGNIZED_CHAIN = 4902;

/** The EIP-1193 error code of `error` (also when viem wrapped it), if any. */
function errorCode(error: unknown): number | undefined {
  for (let e = error; e !== null && typeof e === 'object'; e = (e as { cause?: unknown }).cause) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'number') return code;
  }
  return undefined;
}

/** viem's short message (e.g. "User rejected the request."), else the error's own. */
function shortReason(error: unknown): string {
  if (error instanceof BaseError) return error.shortMessage;
  return error instanceof Error ? error.message : String(error);
}
