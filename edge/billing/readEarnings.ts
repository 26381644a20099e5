import type { Address, Hex } from 'viem';
import { CheckerClient, type SessionVerdicts } from '../../checker/client/CheckerClient.js';
import { findError } from '../../protocol/errors.js';
import type { VerdictReason } from '../../protocol/evaluateMinute.js';
import type { QosPolicy } from '../../protocol/qosPolicy.js';
import type { DayTotals, SessionMoney, SettlementAgent } from './SettlementAgent.js';

/** One checker verdict as the operator sees it. */
export interface OperatorVerdict {
  minute: number;
  billable: boolean;
  reasons: VerdictReason[];
  figures: {
    expectedFrames: number;
    deliveredFrames: number;
    freezeMs: number;
    rttMs: number;
    lossPpm: number;
  } | null;
}

/** What the session's checkers decided, read from one of them (`GET /v1/sessions/:id/verdicts`). */
export type SessionQos =
  | {
      checker: Hex;
      decided: number;
      billable: number;
      /** The last decided minute. */
      latest?: OperatorVerdict;
      /** The unbillable minutes among the last `RECENT` decided ones, oldest first. */
      failing: OperatorVerdict[];
      policy: QosPolicy;
    }
  | { error: string };

/** One session's settlement, JSON-safe (wei as decimal strings). */
export interface EarningsSession {
  sessionId: Hex;
  played: number;
  attested: number;
  paid: number;
  pending: number;
  ended: boolean;
  startedAt: number;
  endedAt?: number;
  pricePerMinute?: string;
  paidWei?: string;
  /** The session's checkers (base URLs). */
  checkers: string[];
  qos: SessionQos;
}

/** What the edge answers on `GET /v1/earnings` (loopback only) when it bills. */
export interface EdgeEarnings {
  billing: true;
  edge: Address;
  asOf: number;
  /** Today's (UTC) minutes; `pending` is over every tracked session. */
  today: DayTotals;
  pending: number;
  sessions: EarningsSession[];
  lastSettlement: {
    state: 'sending' | 'mined' | 'failed';
    at: number;
    kind: 'batch' | 'single';
    sessions: number;
    minutes: number;
    txHash?: Hex;
    block?: string;
    confirmations?: number;
    code?: string;
    message?: string;
  } | null;
  /** The edge's gross unwithdrawn earnings in the escrow on the sessions it settled since it started, wei. */
  escrow: { earningsWei: string } | { error: string };
}

/** The answer when the edge does not bill (no payments chain configured). */
export interface NoEarnings {
  billing: false;
}

/** Verdicts of this many recent minutes are looked at per session. */
const RECENT = 10;
/** At most this many sessions (the most recent) are listed. */
const MAX_SESSIONS = 50;

export interface ReadEarningsParameters {
  agent: SettlementAgent;
  edge: Address;
  /** Checker request timeout, ms (default 3000). */
  timeoutMs?: number;
}

/**
 * The operator's view of the edge's money: refreshes what the checkers attested and the escrow paid (no
 * settlement), then per session minutes played / attested / paid / pending and the checkers' recent verdicts with
 * their reasons, today's totals, the last settlement transaction with its confirmations, and the escrow earnings.
 */
export async function readEarnings(p: ReadEarningsParameters): Promise<EdgeEarnings> {
  await p.agent.refresh().catch(() => {});
  const money = p.agent
    .status()
    .sort((a, b) => b.startedAt - a.startedAt)
    .slice(0, MAX_SESSIONS);
  const sessions = await Promise.all(money.map((m) => describeSession(m, p.timeoutMs ?? 3000)));
  const last = p.agent.lastSettlement();
  let confirmations: number | undefined;
  if (last?.block !== undefined) {
    const head = await p.agent.publicClient.getBlockNumber().catch(() => undefined);
    if (head !== undefined) confirmations = Number(head - last.block) + 1;
  }
  let escrow: EdgeEarnings['escrow'];
  try {
    escrow = { earningsWei: (await p.agent.earnings()).toString() };
  } catch (error) {
    escrow = { error: findError(error)?.message ?? String(error) };
  }
  return {
    billing: true,
    edge: p.edge,
    asOf: Date.now(),
    today: p.agent.today(),
    pending: p.agent.status().reduce((sum, s) => sum + s.pending, 0),
    sessions,
    lastSettlement:
      last === undefined
        ? null
        : {
            ...withoutBlock(last),
            ...(last.block !== undefined ? { block: last.block.toString() } : {}),
            ...(confirmations !== undefined ? { confirmations } : {}),
          },
    escrow,
  };
}

async function describeSession(m: SessionMoney, timeoutMs: number): Promise<EarningsSession> {
  return {
    sessionId: m.sessionId,
    played: m.played,
    attested: m.attested,
    paid: m.paid,
    pending: m.pending,
    ended: m.ended,
    startedAt: m.startedAt,
    ...(m.endedAt !== undefined ? { endedAt: m.endedAt } : {}),
    ...(m.pricePerMinute !== undefined
      ? {
          pricePerMinute: m.pricePerMinute.toString(),
          paidWei: (m.pricePerMinute * BigInt(m.paid)).toString(),
        }
      : {}),
    checkers: m.checkers,
    qos: await readQos(m, timeoutMs),
  };
}

/** The session's recent verdicts from the first of its checkers that answers. */
async function readQos(m: SessionMoney, timeoutMs: number): Promise<SessionQos> {
  let lastError: unknown;
  for (const url of m.checkers) {
    let answer: SessionVerdicts;
    try {
      answer = await new CheckerClient(url, timeoutMs).verdicts(m.sessionId);
    } catch (error) {
      lastError = error;
      continue;
    }
    const verdicts = answer.verdicts
      .map(
        (v): OperatorVerdict => ({
          minute: v.minute,
          billable: v.billable,
          reasons: v.reasons,
          figures: v.figures,
        }),
      )
      .sort((a, b) => a.minute - b.minute);
    const latest = verdicts.at(-1);
    return {
      checker: answer.checker,
      decided: verdicts.length,
      billable: answer.billableMinutes,
      ...(latest !== undefined ? { latest } : {}),
      failing: verdicts.slice(-RECENT).filter((v) => !v.billable),
      policy: answer.policy,
    };
  }
  return { error: findError(lastError)?.message ?? String(lastError ?? 'the session names no checker') };
}

function withoutBlock<T extends { block?: bigint }>(record: T): Omit<T, 'block'> {
  const { block: _block, ...rest } = record;
  return rest;
}
