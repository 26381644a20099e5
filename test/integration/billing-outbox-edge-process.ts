// The first edge process of billing-outbox.test.ts's restart test: opens the edge's QoS outbox file, signs and queues
// `count` reports of one session for a checker that is down, prints "queued" once they are all in the file, and
// waits to be killed (a crash: nothing is flushed or closed on the way out).
import { privateKeyToAccount } from 'viem/accounts';
import { QosOutboxFile } from '../../edge/billing/QosOutboxFile.js';
import { billingSessionId } from '../../protocol/billingSession.js';
import { QosRole, stakingDomain } from '../../protocol/eip712.js';
import { QosOutbox } from '../../protocol/QosOutbox.js';
import { QosReportChain } from '../../protocol/QosReportChain.js';
import { goodMinute } from './checker-support.js';

const p = JSON.parse(process.env.OUTBOX_EDGE ?? '{}') as {
  file: string;
  sessionId: string;
  checker: string;
  edgeKey: `0x${string}`;
  staking: { chainId: number; address: `0x${string}` };
  periodMs: number;
  count: number;
};
const { file } = QosOutboxFile.open(p.file);
const outbox = new QosOutbox({
  checkers: [p.checker],
  journal: file.journal(p.sessionId),
  backoffMs: 50,
  maxBackoffMs: 200,
});
const chain = new QosReportChain({
  sessionId: billingSessionId(p.sessionId),
  role: QosRole.edge,
  signer: privateKeyToAccount(p.edgeKey),
  domain: stakingDomain(p.staking.chainId, p.staking.address),
});
const good = goodMinute(p.periodMs);
for (let minute = 0; minute < p.count; minute++) {
  outbox.push(await chain.next(minute, good.edge, { targetFps: 60 }, Date.now()));
}
process.stdout.write(`queued ${JSON.stringify(outbox.pending)}\n`);
setInterval(() => {}, 60_000);
