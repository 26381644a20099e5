import type { Logger } from 'pino';
import {
  type Address,
  type Hex,
  hashTypedData,
  hexToBytes,
  type LocalAccount,
  type TypedDataDomain,
} from 'viem';
import { privateKeyToAccount } from 'viem/accounts';
import { escrowDomain, grantHash, grantTypes, QosRole, stakingDomain } from '../protocol/eip712.js';
import { FarplayError } from '../protocol/errors.js';
import { evaluateMinute, type MinuteProbe, type MinuteSide } from '../protocol/evaluateMinute.js';
import { hashAttestation } from '../protocol/hashAttestation.js';
import { bytesHex, domainSeparatorBytes, typedDigest } from '../protocol/hashQosLink.js';
import { type QosPolicy, qosPolicyHash } from '../protocol/qosPolicy.js';
import { type GrantJson, grantFromJson, type SignedQosReport } from '../protocol/qosReport.js';
import { recoverAddress } from '../protocol/recoverAddress.js';
import { TypedEmitter } from '../protocol/TypedEmitter.js';
import type {
  CheckerChains,
  CheckerEventArgs,
  CheckerEvents,
  CheckerParameters,
  DecidedVerdict,
  OpenSession,
  ReportResult,
  SignedAttestationRecord,
} from './checkerTypes.js';
import { describeEquivocation } from './describeEquivocation.js';
import { describeRefutation, type SignedRefutedSlash } from './describeRefutation.js';
import { evidenceView } from './evidenceView.js';
import { minuteProbe } from './minuteProbe.js';
import { signDigest } from './signDigest.js';
import type { CheckerSessionRecord, CheckerStore, StoredReport } from './store/CheckerStore.js';
import { verifyReport } from './verifyReport.js';

export type {
  CheckerChains,
  CheckerEvents,
  CheckerParameters,
  DecidedVerdict,
  ReportResult,
  SignedAttestationRecord,
} from './checkerTypes.js';

const SESSION_CACHE = 10_000;

/**
 * The checker's core: opens sessions from players' grants, verifies each side's signed QoS reports (signature,
 * session, timing, chain), decides every minute with the one policy evaluator, signs the cumulative attestation
 * the SessionEscrow settles, and records contradictions (an edge's two reports for one minute become signed
 * slash orders in the StakingRegistry's evidence format).
 */
export class Checker {
  readonly #store: CheckerStore;
  readonly #policy: QosPolicy;
  readonly #policyHash: Hex;
  readonly #key: Uint8Array;
  readonly #account: LocalAccount;
  readonly #chains: CheckerChains;
  readonly #escrowDomain: TypedDataDomain;
  readonly #stakingDomain: TypedDataDomain;
  readonly #stakingSeparator: Uint8Array;
  readonly #escrowSeparator: Uint8Array;
  readonly #log: Logger;
  readonly #slashBps: number;
  readonly #slashWindowS: number;
  readonly #refutedSlashBps: number;
  readonly #now: () => number;
  readonly #retentionMs: number;
  readonly #probes: () => boolean;
  readonly #sessions = new Map<string, OpenSession>();
  readonly #events: TypedEmitter<CheckerEventArgs>;
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<number> = Promise.resolve(0);
  #closed = false;

  constructor(p: CheckerParameters) {
    this.#store = p.store;
    this.#policy = p.policy;
    this.#policyHash = qosPolicyHash(p.policy);
    this.#key = hexToBytes(p.privateKey);
    this.#account = privateKeyToAccount(p.privateKey);
    this.#chains = p.chains;
    this.#escrowDomain = escrowDomain(p.chains.escrow.chainId, p.chains.escrow.address);
    this.#stakingDomain = stakingDomain(p.chains.staking.chainId, p.chains.staking.address);
    this.#escrowSeparator = domainSeparatorBytes(this.#escrowDomain);
    this.#stakingSeparator = domainSeparatorBytes(this.#stakingDomain);
    this.#log = p.logger;
    this.#events = new TypedEmitter<CheckerEventArgs>({
      onListenerError: (err, event) => this.#log.error({ err, event }, 'checker event listener threw'),
    });
    this.#slashBps = p.slashBps;
    this.#slashWindowS = p.slashWindowS;
    this.#refutedSlashBps = p.refutedSlashBps ?? 0;
    this.#now = p.now ?? Date.now;
    this.#retentionMs = p.retentionMs;
    this.#probes = p.probes ?? (() => false);
    if (p.sweepMs > 0) {
      this.#timer = setInterval(() => {
        this.sweep().catch((err: unknown) => this.#log.error({ err }, 'sweep failed'));
      }, p.sweepMs);
      this.#timer.unref();
    }
  }

  /** This checker's address (what the CheckerRegistry / escrow config lists). */
  get address(): Address {
    return this.#account.address;
  }

  get policy(): QosPolicy {
    return this.#policy;
  }

  get policyHash(): Hex {
    return this.#policyHash;
  }

  get chains(): CheckerChains {
    return this.#chains;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Subscribes to an event; returns the unsubscribe function. */
  on<K extends keyof CheckerEvents>(event: K, listener: CheckerEvents[K]): () => void {
    return this.#events.on(event, listener as (...args: CheckerEventArgs[K]) => void);
  }

  #emit<K extends keyof CheckerEvents>(event: K, ...args: CheckerEventArgs[K]): void {
    this.#events.emit(event, ...args);
  }

  /** Opens a session from the player's signed grant (idempotent for the same grant). */
  async openSession(
    json: GrantJson,
    grantSignature: Hex,
  ): Promise<{ record: CheckerSessionRecord; billableMinutes: number }> {
    const grant = grantFromJson(json);
    const digest = hexToBytes(
      hashTypedData({ domain: this.#escrowDomain, types: grantTypes, primaryType: 'Grant', message: grant }),
    );
    const signer = recoverAddress(digest, grantSignature);
    if (signer !== grant.player.toLowerCase()) {
      throw new FarplayError('CHECKER_BAD_GRANT', 'the grant is not signed by its player for this escrow');
    }
    const now = this.#now();
    if (grant.expiry * 1000n <= BigInt(now))
      throw new FarplayError('CHECKER_BAD_GRANT', 'the grant has expired');
    if (grant.maxMinutes === 0) throw new FarplayError('CHECKER_BAD_GRANT', 'the grant allows no minutes');
    const hash = grantHash(grant);
    const record: CheckerSessionRecord = {
      sessionId: grant.sessionId.toLowerCase() as Hex,
      grantJson: JSON.stringify(json),
      grantSignature,
      grantHash: hash,
      openedAt: now,
      expiresAt: now + this.#retentionMs,
    };
    const result = await this.#store.openSession(record);
    if (result === 'conflict') {
      throw new FarplayError('CHECKER_GRANT_CONFLICT', undefined, {
        details: { sessionId: record.sessionId },
      });
    }
    const stored = await this.#store.getSession(record.sessionId);
    if (stored === null) throw new FarplayError('CHECKER_UNKNOWN_SESSION');
    this.#emit('active', stored.record.sessionId, grant.edge);
    return stored;
  }

  async #session(sessionId: Hex): Promise<OpenSession> {
    const id = sessionId.toLowerCase();
    const cached = this.#sessions.get(id);
    if (cached !== undefined) return cached;
    const stored = await this.#store.getSession(sessionId);
    if (stored === null)
      throw new FarplayError('CHECKER_UNKNOWN_SESSION', undefined, { details: { sessionId } });
    const grant = grantFromJson(JSON.parse(stored.record.grantJson) as GrantJson);
    const open: OpenSession = {
      record: stored.record,
      grant,
      signers: [grant.edge.toLowerCase(), grant.sessionKey.toLowerCase()],
    };
    if (this.#sessions.size >= SESSION_CACHE) {
      const oldest = this.#sessions.keys().next().value;
      if (oldest !== undefined) this.#sessions.delete(oldest);
    }
    this.#sessions.set(id, open);
    return open;
  }

  /** Verifies and records one side's signed report of one minute; decides the minute when both sides are in. */
  async submitReport(sessionId: Hex, signed: SignedQosReport): Promise<ReportResult> {
    const { link } = signed;
    const { report } = link;
    if (report.sessionId.toLowerCase() !== sessionId.toLowerCase()) {
      throw new FarplayError('CHECKER_WRONG_SESSION', undefined, {
        details: { posted: sessionId, named: report.sessionId },
      });
    }
    const session = await this.#session(sessionId);
    this.#emit('active', session.record.sessionId, session.grant.edge);
    const role = report.role;
    const now = this.#now();
    const hashes = verifyReport(session, signed, {
      policy: this.#policy,
      now,
      stakingSeparator: this.#stakingSeparator,
    });

    const stored: StoredReport = {
      role,
      minute: report.minute,
      hash: bytesHex(hashes.link),
      json: JSON.stringify({ ...signed, receivedAt: now }),
    };
    const result = await this.#store.appendReport(
      sessionId,
      stored,
      link.prev,
      now + this.#policy.reportGraceMs,
    );
    switch (result.kind) {
      case 'unknown':
        throw new FarplayError('CHECKER_UNKNOWN_SESSION');
      case 'replay':
        throw new FarplayError('CHECKER_REPLAY', undefined, { details: { minute: report.minute, role } });
      case 'broken':
        throw new FarplayError('CHECKER_CHAIN_BROKEN', undefined, { details: { head: result.head } });
      case 'late':
        throw new FarplayError('CHECKER_LATE', undefined, {
          details: { minute: report.minute, recordedForChain: true },
        });
      case 'equivocation': {
        const contradiction = await this.#equivocation(session, result.existing, stored);
        throw new FarplayError('CHECKER_EQUIVOCATION', undefined, { details: contradiction });
      }
      case 'pending':
        return { minute: report.minute, role, verdict: null, attestation: null };
      case 'complete': {
        const [edge, player] = role === QosRole.edge ? [stored, result.other] : [result.other, stored];
        const decided = await this.#decide(session, report.minute, edge, player, stored, signed);
        return { minute: report.minute, role, ...decided };
      }
    }
  }

  /** Decides the minutes whose grace passed with a side missing (one sweep at a time); returns how many. */
  sweep(): Promise<number> {
    this.#sweeping = this.#sweeping.then(
      () => this.#sweepOnce(),
      () => this.#sweepOnce(),
    );
    return this.#sweeping;
  }

  async #sweepOnce(): Promise<number> {
    let count = 0;
    while (!this.#closed) {
      const due = await this.#store.claimDue(this.#now(), 200);
      for (const { sessionId, minute } of due) {
        const session = await this.#session(sessionId).catch(() => undefined);
        if (session === undefined) continue;
        const { edge, player } = await this.#store.minuteReports(sessionId, minute);
        const result = await this.#decide(session, minute, edge, player);
        if (result.verdict !== null) count += 1;
      }
      if (due.length < 200) break;
    }
    return count;
  }

  async #decide(
    session: OpenSession,
    minute: number,
    edge: StoredReport | undefined,
    player: StoredReport | undefined,
    /** The report just received (one of `edge`, `player`) and its parsed form: not parsed again. */
    received?: StoredReport,
    receivedReport?: SignedQosReport,
  ): Promise<{ verdict: DecidedVerdict | null; attestation: SignedAttestationRecord | null }> {
    const side = (r: StoredReport | undefined): MinuteSide | undefined => {
      if (r === undefined) return undefined;
      const { link } =
        r === received && receivedReport !== undefined
          ? receivedReport
          : (JSON.parse(r.json) as SignedQosReport);
      return { metrics: link.report.metrics, detail: link.detail };
    };
    const sessionId = session.record.sessionId;
    const probe = this.#probes() ? await this.#minuteProbe(session, minute) : undefined;
    const verdict: DecidedVerdict = {
      ...evaluateMinute({ policy: this.#policy, minute, edge: side(edge), player: side(player), probe }),
      decidedAt: this.#now(),
    };
    const result = await this.#store.decideMinute(
      sessionId,
      minute,
      JSON.stringify(verdict),
      verdict.billable,
      Math.min(session.grant.maxMinutes, 0xffff),
    );
    if (!result.decided) return { verdict: null, attestation: null };
    this.#emit('verdict', sessionId, verdict);
    if (verdict.contradiction && edge !== undefined && player !== undefined) {
      await this.#store.putContradiction(
        sessionId,
        JSON.stringify({
          kind: 'refuted',
          minute,
          foundAt: verdict.decidedAt,
          disputes: verdict.disputes,
          reports: [edge.hash, player.hash],
        }),
      );
      this.#emit('refuted', sessionId, minute);
    }
    if (!result.counted) return { verdict, attestation: null };
    const attestation = this.#attest(session, result.billableMinutes);
    await this.#store.putAttestation(sessionId, attestation.minutes, attestation.signature);
    this.#emit('attested', attestation);
    return { verdict, attestation };
  }

  /**
   * The minute's probe figure, as anyone re-computes it from the evidence: the smallest RTT of this checker's
   * successful RTT probes of the edge taken within the minute (`openedAt + m·period ≤ at < openedAt + (m+1)·period`).
   */
  async #minuteProbe(session: OpenSession, minute: number): Promise<MinuteProbe | undefined> {
    const from = session.record.openedAt + minute * this.#policy.periodMs;
    return minuteProbe(
      await this.#store.probes(session.record.sessionId),
      from,
      from + this.#policy.periodMs,
    );
  }

  /** Keeps one probe result of a session's edge with the session's evidence (checker/EdgeProber.ts). */
  recordProbe(sessionId: Hex, probe: object): Promise<void> {
    return this.#store.putProbe(sessionId, JSON.stringify(probe));
  }

  #attest(session: OpenSession, minutes: number): SignedAttestationRecord {
    const a = {
      sessionId: session.record.sessionId,
      grantHash: session.record.grantHash,
      minutes,
      policyHash: this.#policyHash,
    };
    const signature = signDigest(this.#key, typedDigest(this.#escrowSeparator, hashAttestation(a)));
    return { ...a, checker: this.address, signature };
  }

  async #equivocation(session: OpenSession, existing: StoredReport, offered: StoredReport): Promise<unknown> {
    const contradiction = await describeEquivocation({
      sessionId: session.record.sessionId,
      grant: session.grant,
      existing,
      offered,
      slashBps: this.#slashBps,
      slashWindowS: this.#slashWindowS,
      account: this.#account,
      stakingDomain: this.#stakingDomain,
      now: this.#now(),
    });
    await this.#store.putContradiction(session.record.sessionId, JSON.stringify(contradiction));
    this.#log.warn(
      {
        sessionId: session.record.sessionId,
        minute: offered.minute,
        role: offered.role,
        slashable: contradiction.slashable,
      },
      'equivocating report',
    );
    return contradiction;
  }

  /**
   * This checker's signed RefutedSlash order for `minute`, naming `finder` (the checker that will submit it), with
   * the evidence: only when this checker's own reports of the minute show the refutation (`CHECKER_NOT_REFUTED`
   * otherwise, also when it signs none: `refutedSlashBps` 0).
   */
  async refutedSlashOrder(sessionId: Hex, minute: number, finder: Address): Promise<SignedRefutedSlash> {
    const session = await this.#session(sessionId);
    if (this.#refutedSlashBps === 0) {
      throw new FarplayError('CHECKER_NOT_REFUTED', 'this checker signs no refuted-claim slash orders');
    }
    const { edge, player } = await this.#store.minuteReports(session.record.sessionId, minute);
    return describeRefutation({
      sessionId: session.record.sessionId,
      grant: session.grant,
      minute,
      edge,
      player,
      policy: this.#policy,
      bps: this.#refutedSlashBps,
      slashWindowS: this.#slashWindowS,
      finder,
      account: this.#account,
      stakingDomain: this.#stakingDomain,
    });
  }

  /** Keeps what became of a refuted-claim slash (submitted, already used, failed) with the session's evidence. */
  async recordSlashOutcome(sessionId: Hex, outcome: Record<string, unknown>): Promise<void> {
    await this.#store.putContradiction(
      sessionId.toLowerCase() as Hex,
      JSON.stringify({ kind: 'refuted-slash', at: this.#now(), ...outcome }),
    );
  }

  /** The session as this checker sees it. */
  async session(sessionId: Hex) {
    const stored = await this.#store.getSession(sessionId);
    if (stored === null) throw new FarplayError('CHECKER_UNKNOWN_SESSION');
    return {
      sessionId: stored.record.sessionId,
      grantHash: stored.record.grantHash,
      policyHash: this.#policyHash,
      periodMs: this.#policy.periodMs,
      openedAt: stored.record.openedAt,
      billableMinutes: stored.billableMinutes,
      checker: this.address,
    };
  }

  /** The signed attestation for exactly `minutes`, or the highest when omitted; null when none. */
  async attestation(sessionId: Hex, minutes?: number): Promise<SignedAttestationRecord | null> {
    const session = await this.#session(sessionId);
    const a = await this.#store.getAttestation(sessionId, minutes);
    if (a === null) return null;
    return {
      sessionId: session.record.sessionId,
      grantHash: session.record.grantHash,
      minutes: a.minutes,
      policyHash: this.#policyHash,
      checker: this.address,
      signature: a.signature,
    };
  }

  /** Everything behind the session's verdicts, for anyone to re-check. */
  async evidence(sessionId: Hex) {
    const e = await this.#store.evidence(sessionId);
    if (e === null) throw new FarplayError('CHECKER_UNKNOWN_SESSION');
    return evidenceView(e, {
      checker: this.address,
      policy: this.#policy,
      policyHash: this.#policyHash,
      chains: this.#chains,
    });
  }

  /** Stops the sweep timer and waits for a running sweep (idempotent); the store belongs to whoever made it. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#events.removeAllListeners();
    await this.#sweeping.catch(() => 0);
  }
}
