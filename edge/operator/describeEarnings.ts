import { formatEther } from 'viem';
import type { VerdictReason } from '../../protocol/evaluateMinute.js';
import type { QosPolicy } from '../../protocol/qosPolicy.js';
import type { EarningsSession, EdgeEarnings, OperatorVerdict } from '../billing/readEarnings.js';

/** A failing verdict counts as a reason not to earn while its session runs, and this long after it ended. */
const RECENT_END_MS = 3_600_000;

const pct = (ratio: number) => `${Math.round(ratio * 100)} %`;
const short = (hex: string) => `${hex.slice(0, 10)}…`;

/** One reason a checker gave, as the metric that failed, its figure against the policy, and what to do. */
export function describeVerdictReason(
  reason: VerdictReason,
  figures: OperatorVerdict['figures'],
  policy: QosPolicy,
): string {
  const f = figures ?? { expectedFrames: 0, deliveredFrames: 0, freezeMs: 0, rttMs: 0, lossPpm: 0 };
  switch (reason) {
    case 'no-edge-report':
      return 'metric edge report: no QoS report from this edge reached the checkers in time — check the edge reaches its checkers (its log shows the retries)';
    case 'no-player-report':
      return 'metric player report: the player sent no QoS report for the minute (its page closed or its network) — such minutes are not billed';
    case 'no-target-fps':
      return 'metric target fps: the edge declared no target frame rate for the minute';
    case 'frames-lost':
      return `metric frames delivered: the player decoded ${f.deliveredFrames} frames, under ${pct(policy.minDeliveredFrameRatio)} of those sent — loss on the way to the player`;
    case 'below-target-fps':
      return `metric delivered fps: ${f.deliveredFrames} of the ${f.expectedFrames} frames the target fps asks for (policy ${pct(policy.minTargetFpsRatio)}) — the encoder is overloaded: lower capacity to what \`farplay-edge bench\` measured`;
    case 'freeze':
      return `metric freeze: ${f.freezeMs} ms of freezes (policy at most ${policy.maxFreezeMsPerMinute} ms per 60 s)`;
    case 'rtt':
      return `metric rtt: ${f.rttMs} ms (policy at most ${policy.maxRttMs} ms) — the player is far from this edge or the link is congested`;
    case 'loss':
      return `metric loss: ${(f.lossPpm / 10_000).toFixed(1)} % of packets (policy at most ${(policy.maxLossPpm / 10_000).toFixed(1)} %) — the uplink is congested or lossy`;
  }
}

/**
 * From the checkers' verdicts: one sentence per session running (or ended within the hour) whose last decided
 * minute was not billable, naming the minute, the checker and each failing metric.
 */
export function describeFailingQos(earnings: EdgeEarnings, now = Date.now()): string[] {
  const out: string[] = [];
  for (const s of earnings.sessions) {
    if (s.endedAt !== undefined && now - s.endedAt > RECENT_END_MS) continue;
    if ('error' in s.qos || s.qos.latest === undefined || s.qos.latest.billable) continue;
    const { latest, checker, policy } = s.qos;
    const metrics = latest.reasons.map((r) => describeVerdictReason(r, latest.figures, policy)).join('; ');
    out.push(`session ${short(s.sessionId)} minute ${latest.minute} (checker ${short(checker)}): ${metrics}`);
  }
  return out;
}

/** The lines `farplay-edge status` prints about the edge's money. */
export function describeEarnings(earnings: EdgeEarnings, now = Date.now()): string[] {
  const t = earnings.today;
  const lines = [
    `  today (${t.day} UTC): ${t.sessions} sessions, ${t.played} minutes played, ${t.attested} attested, ${t.paid} paid; ${earnings.pending} pending settlement`,
  ];
  lines.push(
    'error' in earnings.escrow
      ? `  escrow earnings: unreadable (${earnings.escrow.error})`
      : `  escrow earnings: ${formatEther(BigInt(earnings.escrow.earningsWei))} ATH not withdrawn yet (sessions settled since the edge started)`,
  );
  const last = earnings.lastSettlement;
  if (last === null) lines.push('  last settlement: none since the edge started');
  else {
    const what = `${last.kind === 'batch' ? 'batch of ' : ''}${last.sessions} session${last.sessions === 1 ? '' : 's'}, ${last.minutes} minutes, ${new Date(last.at).toISOString()}`;
    const tx = last.txHash !== undefined ? ` ${last.txHash}` : '';
    if (last.state === 'mined')
      lines.push(
        `  last settlement:${tx} mined in block ${last.block}${last.confirmations !== undefined ? ` (${last.confirmations} confirmations)` : ''}: ${what}`,
      );
    else if (last.state === 'sending')
      lines.push(`  last settlement: sent, waiting for its receipt: ${what}`);
    else lines.push(`  last settlement:${tx} failed [${last.code}] ${last.message}: ${what}`);
  }
  for (const s of earnings.sessions) lines.push(`  ${describeSession(s, now)}`);
  return lines;
}

function describeSession(s: EarningsSession, now: number): string {
  const state = s.ended ? 'ended' : 'running';
  const price =
    s.paidWei !== undefined && s.pricePerMinute !== undefined
      ? `, ${formatEther(BigInt(s.paidWei))} ATH at ${formatEther(BigInt(s.pricePerMinute))}/minute`
      : '';
  const age = Math.round(((s.endedAt ?? now) - s.startedAt) / 60_000);
  let qos: string;
  if ('error' in s.qos) qos = `checkers unreachable (${s.qos.error})`;
  else if (s.qos.decided === 0) qos = 'no minute decided yet';
  else
    qos = `${s.qos.decided} decided, ${s.qos.decided - s.qos.billable > 0 ? `${s.qos.decided - s.qos.billable} not billable` : 'all billable'}`;
  return `session ${short(s.sessionId)} (${state}, ${age} min): ${s.played} played, ${s.attested} attested, ${s.paid} paid, ${s.pending} pending${price}; QoS ${qos}`;
}
