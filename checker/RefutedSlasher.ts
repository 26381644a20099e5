import type { Logger } from 'pino';
import { type Address, type Hex, recoverTypedDataAddress } from 'viem';
import { stakingRegistryAbi } from '../contracts-client/src/abis/StakingRegistry.js';
import {
  type CheckerSet,
  checkerRegistryOf,
  readCheckerEndpoints,
  readCheckerSet,
} from '../contracts-client/src/checkers.js';
import type { CheckerSignature } from '../contracts-client/src/escrow.js';
import {
  isEvidenceUsed,
  refutedEvidenceKey,
  type StakingRef,
  slashRefuted,
  stakingDomainOf,
} from '../contracts-client/src/staking.js';
import type { ChainClients } from '../contracts-client/src/tx.js';
import { type RefutedSlashOrder, refutedSlashTypes } from '../protocol/eip712.js';
import { FarplayError } from '../protocol/errors.js';
import type { Checker } from './Checker.js';
import { CheckerClient } from './client/CheckerClient.js';
import type { SignedRefutedSlash } from './describeRefutation.js';

export interface RefutedSlasherParameters {
  checker: Checker;
  /** The checker's own key on the staking chain (it pays the gas and is the finder). */
  clients: ChainClients;
  /** The StakingRegistry. */
  staking: Address;
  logger: Logger;
  /**
   * Before its first attempt a checker waits its rank in the (ascending) checker set times this, ms: the first
   * submits, the others then find the evidence used and submit nothing.
   */
  staggerMs: number;
  /** Attempts per session (a peer not decided yet, the node down), waits doubling from `retryMs`. Default 6, 1 s. */
  attempts?: number;
  retryMs?: number;
  /** The other checkers to ask for signatures; default the CheckerRegistry's published endpoints. */
  peers?: () => Promise<readonly CheckerClient[]>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The JSON order back to the typed one. */
function orderOf(o: SignedRefutedSlash['order']): RefutedSlashOrder {
  return { ...o, deadline: BigInt(o.deadline) };
}

/**
 * Turns a checker's `refuted` contradictions into `StakingRegistry.slashRefuted` transactions: signs the order naming
 * itself as finder, asks the other checkers to co-sign (each re-checks the refutation from its own reports),
 * submits with a quorum, and records the outcome with the session's evidence (`refuted-slash`). One run per session
 * (the contract slashes a refuted claim once per edge and session); it runs beside billing and never blocks it.
 * Retries are safe: the contract refuses used evidence (`CHAIN_EVIDENCE_USED`), which ends the run.
 */
export class RefutedSlasher {
  readonly #p: RefutedSlasherParameters;
  readonly #runs = new Map<string, Promise<void>>();
  #staking: Promise<{ ref: StakingRef; registry: Address }> | undefined;
  #closed = false;

  constructor(p: RefutedSlasherParameters) {
    this.#p = p;
  }

  /** Starts a run for the session unless one is going or has slashed; returns at once. */
  enqueue(sessionId: Hex, minute: number): void {
    const id = sessionId.toLowerCase();
    if (this.#closed || this.#runs.has(id)) return;
    const run = this.#run(id as Hex, minute).then(
      (done) => {
        // A run that gave up leaves the session to a later refuted minute.
        if (!done) this.#runs.delete(id);
      },
      (err: unknown) => {
        this.#runs.delete(id);
        this.#p.logger.error({ err, sessionId: id }, 'refuted-claim slash run failed');
      },
    );
    this.#runs.set(id, run as Promise<void>);
  }

  /** Waits for the runs going on (tests); new ones are refused after `close()`. */
  async idle(): Promise<void> {
    await Promise.all(this.#runs.values());
  }

  async close(): Promise<void> {
    this.#closed = true;
  }

  #stakingRef(): Promise<{ ref: StakingRef; registry: Address }> {
    const pub = this.#p.clients.publicClient;
    this.#staking ??= Promise.all([
      pub.readContract({ address: this.#p.staking, abi: stakingRegistryAbi, functionName: 'token' }),
      checkerRegistryOf(pub, this.#p.staking),
    ]).then(([token, registry]) => ({
      ref: { address: this.#p.staking, chainId: this.#p.clients.publicClient.chain?.id ?? 0, token },
      registry,
    }));
    this.#staking.catch(() => {
      this.#staking = undefined;
    });
    return this.#staking;
  }

  async #peers(registry: Address): Promise<readonly CheckerClient[]> {
    if (this.#p.peers) return this.#p.peers();
    const self = this.#p.checker.address.toLowerCase();
    const list = await readCheckerEndpoints(this.#p.clients.publicClient, registry);
    return list
      .filter((c) => c.checker.toLowerCase() !== self && c.endpoint !== '')
      .map((c) => new CheckerClient(c.endpoint));
  }

  /** True when the session is done with (slashed, by anyone); false when it gave up. */
  async #run(sessionId: Hex, minute: number): Promise<boolean> {
    const { checker, logger } = this.#p;
    const self = checker.address;
    const { ref, registry } = await this.#stakingRef();
    const pub = this.#p.clients.publicClient;
    const first = await readCheckerSet(pub, registry);
    const rank = first.checkers.findIndex((c) => c.toLowerCase() === self.toLowerCase());
    if (rank < 0) {
      await checker.recordSlashOutcome(sessionId, { minute, status: 'failed', code: 'CHAIN_NOT_CHECKER' });
      return false;
    }
    await sleep(rank * this.#p.staggerMs);
    const attempts = this.#p.attempts ?? 6;
    for (let attempt = 0; attempt < attempts && !this.#closed; attempt++) {
      try {
        const own = await checker.refutedSlashOrder(sessionId, minute, self);
        const order = orderOf(own.order);
        if (await isEvidenceUsed(pub, ref, refutedEvidenceKey(order.edge, order.sessionId))) {
          await checker.recordSlashOutcome(sessionId, { minute, status: 'already-slashed' });
          return true;
        }
        const set = await readCheckerSet(pub, registry);
        const signatures = await this.#quorum(sessionId, minute, own, set, ref);
        const receipt = await slashRefuted(this.#p.clients, ref, {
          order,
          evidence: own.evidence,
          signatures,
          checkerSet: set,
        });
        await checker.recordSlashOutcome(sessionId, {
          minute,
          status: 'slashed',
          tx: receipt.transactionHash,
          gasUsed: receipt.gasUsed.toString(),
          signers: signatures.map((s) => s.signer),
        });
        logger.warn(
          { sessionId, minute, tx: receipt.transactionHash },
          'slashed an edge for a refuted claim',
        );
        return true;
      } catch (err) {
        const code = err instanceof FarplayError ? err.code : 'INTERNAL';
        if (code === 'CHAIN_EVIDENCE_USED') {
          await checker.recordSlashOutcome(sessionId, { minute, status: 'already-slashed' });
          return true;
        }
        await checker
          .recordSlashOutcome(sessionId, {
            minute,
            status: 'failed',
            attempt,
            code,
            message: (err as Error).message,
          })
          .catch(() => {});
        logger.warn({ err, sessionId, minute, attempt, code }, 'refuted-claim slash not submitted (yet)');
        if (code === 'CHECKER_NOT_REFUTED' || code === 'CHAIN_SLASH_EXPIRED') return false;
        await sleep((this.#p.retryMs ?? 1000) * 2 ** attempt);
      }
    }
    return false;
  }

  /** This checker's signature and the peers' over the same order, verified, until the quorum. */
  async #quorum(
    sessionId: Hex,
    minute: number,
    own: SignedRefutedSlash,
    set: CheckerSet,
    ref: StakingRef,
  ): Promise<CheckerSignature[]> {
    const members = new Set(set.checkers.map((c) => c.toLowerCase()));
    const wanted = JSON.stringify(own.order);
    const out: CheckerSignature[] = [{ signer: own.checker, signature: own.signature }];
    const peers = await this.#peers((await this.#stakingRef()).registry);
    const answers = await Promise.all(
      peers.map((peer) => peer.refutedSlashOrder(sessionId, minute, own.checker).catch(() => null)),
    );
    for (const a of answers) {
      if (a === null || out.length >= set.quorum || JSON.stringify(a.order) !== wanted) continue;
      const signer = await recoverTypedDataAddress({
        domain: stakingDomainOf(ref),
        types: refutedSlashTypes,
        primaryType: 'RefutedSlash',
        message: orderOf(a.order),
        signature: a.signature,
      });
      const lower = signer.toLowerCase();
      if (!members.has(lower) || out.some((s) => s.signer.toLowerCase() === lower)) continue;
      out.push({ signer, signature: a.signature });
    }
    if (out.length < set.quorum) {
      throw new FarplayError('CHAIN_BELOW_QUORUM', `${out.length} of ${set.quorum} checkers signed so far`);
    }
    return out;
  }
}
