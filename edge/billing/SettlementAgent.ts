import type { Logger } from 'pino';
import { type Address, type Hex, recoverTypedDataAddress } from 'viem';
import { CheckerClient } from '../../checker/client/CheckerClient.js';
import { collectAttestations } from '../../checker/collectAttestations.js';
import type { SignedAttestationBatch } from '../../checker/signAttestationBatch.js';
import type { CheckerSet } from '../../contracts-client/src/checkers.js';
import {
  batchSettle,
  type CheckerSignature,
  domainOf,
  type EscrowRef,
  paidMinutes,
  readEdgeEarnings,
  type SessionSettlement,
  settle,
} from '../../contracts-client/src/escrow.js';
import type { ChainClients } from '../../contracts-client/src/tx.js';
import { attestationBatchTypes, type Grant, grantHash } from '../../protocol/eip712.js';
import { type ErrorCode, findError } from '../../protocol/errors.js';
import { grantFromJson } from '../../protocol/qosReport.js';

export interface SettlementAgentParameters {
  /** Payments-chain clients; the wallet pays the gas (anyone may settle: the escrow pays the grant's edge). */
  clients: ChainClients;
  escrow: EscrowRef;
  /** The escrow's checker set (read from the chain's registry; the quorum and policy hash settlement needs). */
  checkerSet: () => Promise<CheckerSet>;
  logger: Logger;
  /** A settlement round every this many ms (default hourly). */
  everyMs?: number;
  /** After a session ends: when its last minutes are decided (period + grace + slack), the round that settles it. */
  settleAfterEndMs: number;
  /** An ended session is kept (and retried) this long after its end (default 1 day). */
  retainMs?: number;
  /** Per-request timeout towards checkers, ms (default 5000). */
  checkerTimeoutMs?: number;
}

/** What the operator sees of one session's money. */
export interface SessionMoney {
  sessionId: Hex;
  /** The highest cumulative minutes a quorum of the session's checkers attested. */
  attested: number;
  /** Minutes the escrow has paid. */
  paid: number;
  /** attested − paid. */
  pending: number;
  ended: boolean;
  /** Periods the edge reported (played), when it started and ended (unix ms). */
  played: number;
  startedAt: number;
  endedAt?: number;
  /** The grant's price per minute, wei (known once the agent has read the grant). */
  pricePerMinute?: bigint;
  /** The session's checkers (base URLs). */
  checkers: string[];
}

/** Minutes of the current UTC day (sessions started, periods played, minutes attested and paid that day). */
export interface DayTotals {
  /** YYYY-MM-DD (UTC). */
  day: string;
  sessions: number;
  played: number;
  attested: number;
  paid: number;
}

/** The agent's last settlement transaction. */
export interface SettlementRecord {
  /** `sending`: sent, no receipt yet; `mined`: paid; `failed`: refused before or by the chain (`code`). */
  state: 'sending' | 'mined' | 'failed';
  /** When it was sent (unix ms). */
  at: number;
  kind: 'batch' | 'single';
  sessions: number;
  minutes: number;
  txHash?: Hex;
  block?: bigint;
  code?: ErrorCode;
  message?: string;
}

interface Tracked {
  sessionId: Hex;
  checkers: CheckerClient[];
  grant?: { grant: Grant; grantSignature: Hex };
  attested: number;
  paid: number;
  played: number;
  startedAt: number;
  endedAt?: number;
}

/** Sessions whose earnings `earnings()` reads back (the escrow keeps them per 8-session word). */
const EARNING_SESSIONS = 512;

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/**
 * The edge's settlement agent: tracks its sessions, and at each session's end and at least every `everyMs`
 * collects a quorum of the checkers' attestations per session, then settles every session with new minutes in
 * one `batchSettle` (one AttestationBatch signature per checker); if no quorum signs the batch, session by session
 * with `settle`. Retrying is safe: the escrow pays each minute once. Never on the stream's path.
 */
export class SettlementAgent {
  readonly #p: SettlementAgentParameters;
  readonly #sessions = new Map<string, Tracked>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #round: Promise<void> = Promise.resolve();
  #closed = false;
  #today: DayTotals = { day: utcDay(Date.now()), sessions: 0, played: 0, attested: 0, paid: 0 };
  #last: SettlementRecord | undefined;
  /** Sessions paid something (most recent last), for `earnings()`. */
  readonly #paidSessions = new Set<Hex>();

  constructor(p: SettlementAgentParameters) {
    this.#p = p;
    this.#every(p.everyMs ?? 3_600_000);
  }

  #every(ms: number): void {
    const timer = setInterval(() => void this.settleNow(), ms);
    timer.unref();
    this.#timers.add(timer);
  }

  /** Starts tracking a session (its billing id and its checkers' URLs). */
  track(sessionId: Hex, checkerUrls: readonly string[]): void {
    if (this.#closed || this.#sessions.has(sessionId.toLowerCase())) return;
    const timeout = this.#p.checkerTimeoutMs ?? 5000;
    this.#sessions.set(sessionId.toLowerCase(), {
      sessionId,
      checkers: checkerUrls.map((u) => new CheckerClient(u, timeout)),
      attested: 0,
      paid: 0,
      played: 0,
      startedAt: Date.now(),
    });
    this.#count('sessions', 1);
  }

  /** The edge closed one of the session's periods (reported or not): one more minute played. */
  periodClosed(sessionId: Hex): void {
    const t = this.#sessions.get(sessionId.toLowerCase());
    if (t === undefined) return;
    t.played += 1;
    this.#count('played', 1);
  }

  #count(field: Exclude<keyof DayTotals, 'day'>, n: number): void {
    const day = utcDay(Date.now());
    if (this.#today.day !== day) this.#today = { day, sessions: 0, played: 0, attested: 0, paid: 0 };
    this.#today[field] += n;
  }

  #setAttested(t: Tracked, minutes: number): void {
    if (minutes > t.attested) this.#count('attested', minutes - t.attested);
    t.attested = Math.max(t.attested, minutes);
  }

  #setPaid(t: Tracked, minutes: number): void {
    if (minutes > t.paid) this.#count('paid', minutes - t.paid);
    t.paid = Math.max(t.paid, minutes);
    if (t.paid > 0) {
      this.#paidSessions.delete(t.sessionId);
      this.#paidSessions.add(t.sessionId);
      if (this.#paidSessions.size > EARNING_SESSIONS) {
        const [oldest] = this.#paidSessions;
        if (oldest !== undefined) this.#paidSessions.delete(oldest);
      }
    }
  }

  /** Today's totals (UTC day). */
  today(): DayTotals {
    this.#count('played', 0);
    return { ...this.#today };
  }

  /** The last settlement transaction (none yet: undefined). */
  lastSettlement(): SettlementRecord | undefined {
    return this.#last === undefined ? undefined : { ...this.#last };
  }

  /** The edge's gross unwithdrawn escrow earnings on the sessions this agent saw paid (read from the chain), wei. */
  earnings(): Promise<bigint> {
    const ids = [...this.#paidSessions];
    if (ids.length === 0) return Promise.resolve(0n);
    const edge = this.#p.clients.walletClient.account?.address;
    if (edge === undefined) throw new Error('the settlement wallet has no account');
    return readEdgeEarnings(this.#p.clients.publicClient, this.#p.escrow, edge, ids);
  }

  /** Payments-chain reads (the current block, for confirmations). */
  get publicClient() {
    return this.#p.clients.publicClient;
  }

  /**
   * Reads what a quorum of each unsettled session's checkers attested and what the escrow paid, without settling
   * (the operator's status between rounds). Runs between rounds.
   */
  refresh(): Promise<void> {
    this.#round = this.#round.then(
      () => this.#refresh(),
      () => this.#refresh(),
    );
    return this.#round;
  }

  async #refresh(): Promise<void> {
    if (this.#closed || this.#sessions.size === 0) return;
    const set = await this.#p.checkerSet();
    await Promise.all(
      [...this.#sessions.values()].map(async (t) => {
        if (t.endedAt !== undefined && t.paid > 0 && t.paid >= t.attested) return;
        await this.#prepare(t, set).catch((err: unknown) =>
          this.#p.logger.debug({ err, sessionId: t.sessionId }, 'cannot read the session’s attestations'),
        );
      }),
    );
  }

  /** The session ended: settle it once its last minutes are decided. */
  ended(sessionId: Hex): void {
    const t = this.#sessions.get(sessionId.toLowerCase());
    if (t === undefined || this.#closed) return;
    t.endedAt = Date.now();
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      void this.settleNow();
    }, this.#p.settleAfterEndMs);
    timer.unref();
    this.#timers.add(timer);
  }

  /** Minutes attested, paid and pending per tracked session (as of the last round). */
  status(): SessionMoney[] {
    return [...this.#sessions.values()].map((t) => ({
      sessionId: t.sessionId,
      attested: t.attested,
      paid: t.paid,
      pending: Math.max(0, t.attested - t.paid),
      ended: t.endedAt !== undefined,
      played: t.played,
      startedAt: t.startedAt,
      ...(t.endedAt !== undefined ? { endedAt: t.endedAt } : {}),
      ...(t.grant !== undefined ? { pricePerMinute: t.grant.grant.pricePerMinute } : {}),
      checkers: t.checkers.map((c) => c.url),
    }));
  }

  /** One settlement round now (rounds run one at a time); resolves when it is done. */
  settleNow(): Promise<void> {
    this.#round = this.#round.then(
      () => this.#settleRound(),
      () => this.#settleRound(),
    );
    return this.#round;
  }

  async #settleRound(): Promise<void> {
    if (this.#closed || this.#sessions.size === 0) return;
    const log = this.#p.logger;
    try {
      const set = await this.#p.checkerSet();
      const due: { t: Tracked; settlement: SessionSettlement; attestations: CheckerSignature[] }[] = [];
      for (const t of this.#sessions.values()) {
        const item = await this.#prepare(t, set).catch((err: unknown) => {
          log.warn({ err, sessionId: t.sessionId }, 'cannot prepare the session’s settlement');
          return undefined;
        });
        if (item !== undefined) due.push({ t, ...item });
      }
      if (due.length > 0) await this.#settle(due, set);
      this.#forgetOld();
    } catch (err) {
      log.warn({ err }, 'settlement round failed; the next round retries');
    }
  }

  async #prepare(t: Tracked, set: CheckerSet) {
    const q = await collectAttestations({
      checkers: t.checkers,
      sessionId: t.sessionId,
      quorum: set.quorum,
      escrow: this.#p.escrow,
    });
    if (q === null) return undefined;
    this.#setAttested(t, q.minutes);
    t.grant ??= await this.#grant(t);
    const { grant, grantSignature } = t.grant;
    if (grantHash(grant) !== q.grantHash) return undefined;
    this.#setPaid(
      t,
      await paidMinutes(this.#p.clients.publicClient, this.#p.escrow, grant.edge, t.sessionId),
    );
    if (q.minutes <= t.paid) return undefined;
    return {
      settlement: { grant, grantSignature, minutes: q.minutes },
      attestations: q.attestations as CheckerSignature[],
    };
  }

  async #grant(t: Tracked): Promise<{ grant: Grant; grantSignature: Hex }> {
    let last: unknown;
    for (const c of t.checkers) {
      try {
        const g = await c.grant(t.sessionId);
        return { grant: grantFromJson(g.grant), grantSignature: g.grantSignature };
      } catch (error) {
        last = error;
      }
    }
    throw last;
  }

  async #settle(
    due: { t: Tracked; settlement: SessionSettlement; attestations: CheckerSignature[] }[],
    set: CheckerSet,
  ): Promise<void> {
    const log = this.#p.logger;
    const batchSigs = await this.#batchSignatures(due, set);
    if (batchSigs !== undefined) {
      const record = this.#sending('batch', due);
      try {
        const result = await batchSettle(this.#p.clients, this.#p.escrow, {
          sessions: due.map((d) => d.settlement),
          attestations: batchSigs,
          checkerSet: set,
        });
        this.#mined(record, result.receipt);
        const skipped = new Set(result.skipped.map((s) => s.index));
        due.forEach((d, i) => {
          if (!skipped.has(i)) this.#setPaid(d.t, d.settlement.minutes);
        });
        log.info(
          { sessions: due.length, skipped: result.skipped, gasUsed: result.receipt.gasUsed.toString() },
          'settled a batch',
        );
        return;
      } catch (err) {
        this.#failed(record, err);
        log.warn({ err: findError(err) ?? err }, 'batch settlement failed; settling session by session');
      }
    }
    for (const d of due) {
      const record = this.#sending('single', [d]);
      try {
        const receipt = await settle(this.#p.clients, this.#p.escrow, {
          ...d.settlement,
          attestations: d.attestations,
          checkerSet: set,
        });
        this.#mined(record, receipt);
        this.#setPaid(d.t, d.settlement.minutes);
        log.info({ sessionId: d.t.sessionId, minutes: d.settlement.minutes }, 'settled a session');
      } catch (err) {
        this.#failed(record, err);
        log.warn(
          { err: findError(err) ?? err, sessionId: d.t.sessionId },
          'settlement failed; retrying later',
        );
      }
    }
  }

  #sending(
    kind: SettlementRecord['kind'],
    due: { t: Tracked; settlement: SessionSettlement }[],
  ): SettlementRecord {
    const minutes = due.reduce((sum, d) => sum + d.settlement.minutes - d.t.paid, 0);
    this.#last = { state: 'sending', at: Date.now(), kind, sessions: due.length, minutes };
    return this.#last;
  }

  #mined(record: SettlementRecord, receipt: { transactionHash: Hex; blockNumber: bigint }): void {
    record.state = 'mined';
    record.txHash = receipt.transactionHash;
    record.block = receipt.blockNumber;
  }

  #failed(record: SettlementRecord, err: unknown): void {
    const known = findError(err);
    record.state = 'failed';
    record.code = known?.code ?? 'INTERNAL';
    record.message = known?.message ?? String(err);
    const hash = (known?.details as { hash?: Hex } | undefined)?.hash;
    if (hash !== undefined) record.txHash = hash;
  }

  /** A quorum of valid AttestationBatch signatures over `due` in order, or undefined. */
  async #batchSignatures(
    due: { t: Tracked; settlement: SessionSettlement }[],
    set: CheckerSet,
  ): Promise<CheckerSignature[] | undefined> {
    const urls = new Map<string, CheckerClient>();
    for (const d of due) for (const c of d.t.checkers) urls.set(c.url, c);
    const sessions = due.map((d) => ({ sessionId: d.t.sessionId, minutes: d.settlement.minutes }));
    const members = new Set(set.checkers.map((c) => c.toLowerCase()));
    const answers = await Promise.all(
      [...urls.values()].map((c) => c.attestBatch(sessions).catch(() => undefined)),
    );
    const out: CheckerSignature[] = [];
    const seen = new Set<string>();
    for (const a of answers) {
      if (a === undefined || out.length >= set.quorum) continue;
      const signer = await this.#batchSigner(a, due, set).catch(() => undefined);
      if (signer === undefined || !members.has(signer.toLowerCase()) || seen.has(signer.toLowerCase()))
        continue;
      seen.add(signer.toLowerCase());
      out.push({ signer, signature: a.signature });
    }
    return out.length >= set.quorum ? out : undefined;
  }

  async #batchSigner(
    a: SignedAttestationBatch,
    due: { settlement: SessionSettlement }[],
    set: CheckerSet,
  ): Promise<Address> {
    return recoverTypedDataAddress({
      domain: domainOf(this.#p.escrow),
      types: attestationBatchTypes,
      primaryType: 'AttestationBatch',
      message: {
        sessions: due.map((d) => ({
          sessionId: d.settlement.grant.sessionId,
          grantHash: grantHash(d.settlement.grant),
          minutes: d.settlement.minutes,
        })),
        policyHash: set.policyHash,
      },
      signature: a.signature,
    });
  }

  #forgetOld(): void {
    const now = Date.now();
    const retain = this.#p.retainMs ?? 86_400_000;
    for (const [id, t] of this.#sessions) {
      if (t.endedAt === undefined) continue;
      const settledAll = now - t.endedAt > 3 * this.#p.settleAfterEndMs && t.paid >= t.attested;
      if (settledAll || now - t.endedAt > retain) this.#sessions.delete(id);
    }
  }

  /** Stops the timers and waits for a running round (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const timer of this.#timers) clearInterval(timer);
    this.#timers.clear();
    await this.#round.catch(() => {});
  }
}
