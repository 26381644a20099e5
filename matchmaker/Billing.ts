import { type Address, createPublicClient, type Hex, http, type PublicClient } from 'viem';
import { CheckerClient } from '../checker/client/CheckerClient.js';
import { localChain } from '../contracts-client/src/chains.js';
import { checkerRegistryOf, readCheckerEndpoints } from '../contracts-client/src/checkers.js';
import { verifyGrant } from '../contracts-client/src/escrow.js';
import { getPlayerBalance } from '../contracts-client/src/getPlayerBalance.js';
import { billingSessionId, type NetworkBilling, type SessionBilling } from '../protocol/billingSession.js';
import { FarplayError } from '../protocol/errors.js';
import { type GrantJson, grantFromJson } from '../protocol/qosReport.js';
import { assignCheckers } from './assignCheckers.js';
import { BillingRuns } from './BillingRuns.js';
import { CheckerDirectory, type ReadCheckers } from './CheckerDirectory.js';
import type { MatchmakerConfig } from './config.js';

/** Reads a player's available escrow deposit, ATH wei. */
export type AvailableDeposit = (player: Address) => Promise<bigint>;

/**
 * The matchmaker's part of billing: on a paid network, the payer's deposit must cover the session before a slot is
 * reserved; every allocated session gets its checkers (derived from its id), named in its token for the edge and
 * in the answer for the page with the price, the period and the chains. The checkers come from the staking
 * chain's CheckerRegistry (each registered checker's published endpoint, read every `checkerRefreshMs`), or from
 * `checkerUrls` when that is set (a network without a registry).
 */
export class Billing {
  readonly #config: Readonly<MatchmakerConfig>;
  readonly #urls: string[];
  readonly #directory: CheckerDirectory | undefined;
  readonly #available: AvailableDeposit | undefined;
  readonly #faucet: boolean;
  readonly #runs = new BillingRuns();
  /** Configured checkers' addresses by URL, as their `GET /v1/health` named them (read when first needed). */
  readonly #configured = new Map<string, string>();
  #configuredReadAt = 0;

  constructor(
    config: Readonly<MatchmakerConfig>,
    options: {
      available?: AvailableDeposit;
      faucet?: boolean;
      /** Reads the registered checkers; default: the staking chain's CheckerRegistry, when no checkerUrls. */
      readCheckers?: ReadCheckers;
      /** Told when a registry read fails. */
      onError?: (error: unknown) => void;
    } = {},
  ) {
    this.#config = config;
    this.#urls = config.checkerUrls
      .split(',')
      .map((u) => u.trim().replace(/\/$/, ''))
      .filter((u) => u !== '');
    const read = this.#urls.length > 0 ? undefined : (options.readCheckers ?? this.#readRegistry());
    this.#directory =
      read === undefined
        ? undefined
        : new CheckerDirectory({
            read,
            refreshMs: config.checkerRefreshMs,
            ...(options.onError ? { onError: options.onError } : {}),
          });
    this.#faucet = options.faucet ?? false;
    this.#available = options.available ?? (config.paymentsRpcUrl ? this.#readDeposit() : undefined);
    if (config.requireDeposit && (!this.enabled || this.#available === undefined)) {
      throw new FarplayError(
        'MM_BAD_CONFIG',
        'requireDeposit needs checkers (checkerUrls, or stakingRpcUrl for the registry), escrowAddress, stakingAddress and paymentsRpcUrl',
      );
    }
  }

  /** The staking chain's CheckerRegistry (found from the StakingRegistry), when a staking RPC is configured. */
  #readRegistry(): ReadCheckers | undefined {
    const c = this.#config;
    if (!c.stakingRpcUrl || !c.stakingAddress || !c.escrowAddress) return undefined;
    const client = createPublicClient({
      chain: localChain(c.stakingChainId, c.stakingRpcUrl),
      transport: http(c.stakingRpcUrl, { retryCount: 1 }),
    }) as PublicClient;
    let registry: Address | undefined;
    return async () => {
      registry ??= await checkerRegistryOf(client, c.stakingAddress as Address);
      return readCheckerEndpoints(client, registry);
    };
  }

  /** Reads the checker registry (when checkers come from it) and keeps reading it every `checkerRefreshMs`. */
  start(): Promise<void> {
    return this.#directory?.start() ?? Promise.resolve();
  }

  /** Reads the checker registry now (no-op with configured checkerUrls); the new list applies to the next session. */
  async refreshCheckers(): Promise<readonly string[]> {
    return this.#directory === undefined ? this.#urls : this.#directory.refresh();
  }

  /** Stops reading the registry. Idempotent. */
  close(): void {
    this.#directory?.close();
  }

  /** The checkers sessions are assigned from now. */
  get checkerUrls(): readonly string[] {
    return this.#directory?.urls ?? this.#urls;
  }

  /**
   * Whether `address` is one of the checkers sessions are assigned from: in the registry at its last read, or
   * (configured `checkerUrls`) the address one of them names in its `GET /v1/health` — read again on a miss, at most
   * every 5 s.
   */
  async isChecker(address: string): Promise<boolean> {
    const a = address.toLowerCase();
    if (this.#directory !== undefined) return this.#directory.addresses.has(a);
    if ([...this.#configured.values()].includes(a)) return true;
    if (Date.now() - this.#configuredReadAt < 5000) return false;
    this.#configuredReadAt = Date.now();
    await Promise.all(
      this.#urls.map(async (url) => {
        try {
          const res = await fetch(`${url}/v1/health`, { signal: AbortSignal.timeout(2000) });
          const body = (await res.json()) as { checker?: unknown };
          if (typeof body.checker === 'string') this.#configured.set(url, body.checker.toLowerCase());
        } catch {
          // unreachable now: asked again on the next miss
        }
      }),
    );
    return [...this.#configured.values()].includes(a);
  }

  #readDeposit(): AvailableDeposit {
    const client = createPublicClient({
      chain: localChain(this.#config.paymentsChainId, this.#config.paymentsRpcUrl),
      transport: http(this.#config.paymentsRpcUrl, { retryCount: 1 }),
    }) as PublicClient;
    const escrow = { chainId: this.#config.paymentsChainId, address: this.#config.escrowAddress as Address };
    return async (player) => (await getPlayerBalance(client, escrow, player)).available;
  }

  /** True when sessions are billed (a checker source and both contracts configured). */
  get enabled(): boolean {
    return (
      (this.#urls.length > 0 || this.#directory !== undefined) &&
      this.#config.escrowAddress !== '' &&
      this.#config.stakingAddress !== ''
    );
  }

  /** What pages need before asking for a session. */
  network(): NetworkBilling {
    const c = this.#config;
    return {
      enabled: this.enabled,
      requireDeposit: c.requireDeposit,
      periodMs: c.qosPeriodMs,
      maxMinutes: c.grantMaxMinutes,
      faucet: this.#faucet,
      ...(this.enabled
        ? {
            escrow: { chainId: c.paymentsChainId, address: c.escrowAddress },
            staking: { chainId: c.stakingChainId, address: c.stakingAddress },
          }
        : {}),
      ...(c.paymentsRpcUrl ? { paymentsRpcUrl: c.paymentsRpcUrl } : {}),
    };
  }

  /**
   * On a paid network: the payer named, and its available deposit covering `maxPricePerMinute` × maxMinutes
   * (the dearest edge that could be allocated). MM_PAYMENT_REQUIRED / MM_INSUFFICIENT_DEPOSIT otherwise; on any billed
   * network, MM_NO_CHECKERS while no checker is known.
   */
  async checkDeposit(payer: string | undefined, maxPricePerMinute: () => bigint): Promise<void> {
    // Before any slot is reserved: a billed session needs checkers (MM_NO_CHECKERS otherwise, from assign).
    if (this.enabled && this.checkerUrls.length === 0) throw new FarplayError('MM_NO_CHECKERS');
    if (!this.#config.requireDeposit || this.#available === undefined) return;
    if (payer === undefined) throw new FarplayError('MM_PAYMENT_REQUIRED');
    const need = maxPricePerMinute() * BigInt(this.#config.grantMaxMinutes);
    const available = await this.#available(payer as Address);
    if (available < need) {
      throw new FarplayError('MM_INSUFFICIENT_DEPOSIT', undefined, {
        details: { payer, available: available.toString(), need: need.toString() },
      });
    }
  }

  /**
   * The on-chain id of a session about to be reserved on `edgeId` (the next lane of the edge's run,
   * `BillingRuns`); undefined when sessions are not billed.
   */
  billingIdFor(edgeId: string, sessionId: string): string | undefined {
    return this.enabled ? this.#runs.next(edgeId, sessionId) : undefined;
  }

  /**
   * Checks a page's grant for an allocated session — it names the session's on-chain id (the one allocated with
   * it; `billingSessionId(sid)` for a session recorded without one), its edge and its session
   * key, pays at least the edge's own price (`minPricePerMinute`), is signed by its player for this escrow, and the player's available deposit covers price × maxMinutes — and
   * opens the session at its checkers with it (MM_BAD_GRANT / MM_INSUFFICIENT_DEPOSIT otherwise). Returns how many
   * checkers took it; fewer than the quorum is `MM_BAD_GRANT` with their answers.
   */
  async acceptGrant(
    session: {
      sessionId: string;
      edgeId: string;
      owner?: string | undefined;
      billingId?: string | undefined;
      minPricePerMinute?: bigint;
    },
    json: GrantJson,
    grantSignature: Hex,
  ): Promise<{ checkers: string[]; opened: number }> {
    const assigned = this.assign(session.sessionId, session.edgeId, '0', session.billingId);
    if (assigned === undefined) throw new FarplayError('MM_BAD_GRANT', 'sessions are not billed here');
    const grant = grantFromJson(json);
    const wrong =
      grant.sessionId.toLowerCase() !== assigned.billing.sessionId.toLowerCase()
        ? 'sessionId'
        : grant.edge.toLowerCase() !== session.edgeId.toLowerCase()
          ? 'edge'
          : session.owner !== undefined && grant.sessionKey.toLowerCase() !== session.owner.toLowerCase()
            ? 'sessionKey'
            : grant.pricePerMinute < (session.minPricePerMinute ?? 0n)
              ? 'pricePerMinute'
              : undefined;
    if (wrong === 'pricePerMinute')
      throw new FarplayError('MM_BAD_GRANT', "the grant's pricePerMinute is below the edge's price");
    if (wrong !== undefined)
      throw new FarplayError('MM_BAD_GRANT', `the grant's ${wrong} is not this session's`);
    const escrow = { chainId: this.#config.paymentsChainId, address: this.#config.escrowAddress as Address };
    if (!(await verifyGrant(escrow, grant, grantSignature))) {
      throw new FarplayError('MM_BAD_GRANT', 'the grant is not signed by its player for this escrow');
    }
    if (this.#available !== undefined) {
      const need = grant.pricePerMinute * BigInt(grant.maxMinutes);
      const available = await this.#available(grant.player);
      if (available < need) {
        throw new FarplayError('MM_INSUFFICIENT_DEPOSIT', undefined, {
          details: { payer: grant.player, available: available.toString(), need: need.toString() },
        });
      }
    }
    const urls = assigned.checkers.urls;
    const answers = await Promise.allSettled(
      urls.map((url) => new CheckerClient(url).openSession(json, grantSignature)),
    );
    const opened = answers.filter((a) => a.status === 'fulfilled').length;
    if (opened < assigned.checkers.quorum) {
      throw new FarplayError('MM_BAD_GRANT', `only ${opened} of ${urls.length} checkers took the grant`, {
        details: answers.map((a) => (a.status === 'rejected' ? String(a.reason) : 'ok')),
      });
    }
    return { checkers: urls, opened };
  }

  /**
   * The session's checkers (for its token) and its billing (for the answer), its on-chain id `billingId` (the
   * one `billingIdFor` allocated; default `billingSessionId(sessionId)`); undefined when unbilled.
   */
  assign(
    sessionId: string,
    edgeAddress: string,
    pricePerMinute: string,
    billingId?: string,
  ): { checkers: { urls: string[]; quorum: number }; billing: SessionBilling } | undefined {
    if (!this.enabled) return undefined;
    const c = this.#config;
    const registered = this.checkerUrls;
    // A billed network never hands out an unbilled session: no known checker is an error, not a free session.
    if (registered.length === 0) throw new FarplayError('MM_NO_CHECKERS');
    const urls = assignCheckers(sessionId, registered, c.checkersPerSession);
    const quorum = Math.min(urls.length, c.checkerQuorum || Math.floor(urls.length / 2) + 1);
    return {
      checkers: { urls, quorum },
      billing: {
        sessionId: (billingId ?? billingSessionId(sessionId)).toLowerCase(),
        edge: edgeAddress,
        pricePerMinute,
        maxMinutes: c.grantMaxMinutes,
        checkers: urls,
        quorum,
        periodMs: c.qosPeriodMs,
        escrow: { chainId: c.paymentsChainId, address: c.escrowAddress },
        staking: { chainId: c.stakingChainId, address: c.stakingAddress },
        ...(c.paymentsRpcUrl ? { paymentsRpcUrl: c.paymentsRpcUrl } : {}),
        ...(this.#faucet ? { faucet: true } : {}),
      },
    };
  }
}
