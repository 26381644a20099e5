// Checker benchmark (`npm run bench:checker`): three real checker processes (in-process stores) on a local anvil
// payments chain with a 2-of-3 SessionEscrow.
//   1. throughput: reports verified (and minutes attested) per second of one checker process's CPU time, the edge's
//      reports in batch requests and the pages' single (reportsPerSec), and every report single (reportsPerSecSingle);
//      BENCH_ONLY=throughput stops after this phase;
//   2. attestMs: from a minute's close (both ends report at once) to each checker's attestation of it;
//      quorumMs: from a minute's close to the second checker's attestation (a 2-of-3 quorum);
//   3. gasPerBilledMinute: a run of 8 sessions of one edge with ids from the matchmaker's allocator
//      (matchmaker/BillingRuns.ts), each 60 minutes reported to all three, a quorum collected, settled once by the
//      real SessionEscrow.settle; the receipts' mean gas over 60 (gasPerBilledMinuteCase names the case;
//      …FreshWord: the run's first settlement, which writes a fresh ledger word; …SharedWord: the other 7).
// The last line is one JSON object. Targets (issue 9, a 2-core machine): ≥ 2 000 reports/s per checker core, a
// quorum within 2 s of a minute's close, ≤ 1 000 gas per billed minute; latest figures: checker/README.md, Figures.
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Address, type Hex, hexToBytes, keccak256, type LocalAccount, parseEther, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { CheckerClient } from '../checker/client/CheckerClient.js';
import { collectAttestations } from '../checker/collectAttestations.js';
import { signDigest } from '../checker/signDigest.js';
import { testATHAbi } from '../contracts-client/src/abis/TestATH.js';
import { localChain } from '../contracts-client/src/chains.js';
import { sortAddresses } from '../contracts-client/src/checkers.js';
import { createChainClients } from '../contracts-client/src/clients.js';
import { deployPaymentsChain } from '../contracts-client/src/deploy.js';
import { depositFor, type EscrowRef, settle, signGrant } from '../contracts-client/src/escrow.js';
import { localAccounts, localPrivateKey, startAnvil } from '../contracts-client/src/localChain.js';
import { sendTx } from '../contracts-client/src/tx.js';
import { BillingRuns } from '../matchmaker/BillingRuns.js';
import { BILLING_RUN_LENGTH } from '../protocol/billingSession.js';
import { type Grant, type QosLink, type QosMetrics, QosRole, stakingDomain } from '../protocol/eip712.js';
import { bytesHex, domainSeparatorBytes, hashQosLink, typedDigest } from '../protocol/hashQosLink.js';
import { EMPTY_DETAIL } from '../protocol/QosReportChain.js';
import { qosPolicy, qosPolicyHash } from '../protocol/qosPolicy.js';
import { grantToJson, type SignedQosReport } from '../protocol/qosReport.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const PERIOD = 200;
const GRACE = 30_000;
const policy = qosPolicy({ periodMs: PERIOD, reportGraceMs: GRACE });
const STAKING = { chainId: 31337, address: '0x000000000000000000000000000000000000dEaD' as Address };
const stakingSep = domainSeparatorBytes(stakingDomain(STAKING.chainId, STAKING.address));
const THROUGHPUT_SESSIONS = Number(process.env.BENCH_SESSIONS ?? 150);
const THROUGHPUT_MINUTES = 12;
/** Most reports per batch request in the throughput phase (an edge's sessions of a period). */
const BATCH = 200;
/** Sessions of each warm-up round (not measured). */
const WARMUP_SESSIONS = 50;
// Minute closes are spread evenly over each period (sessions start at different times), as they are in a network.
const QUORUM_SESSIONS = 6;
const QUORUM_MINUTES = 20;
const FRAMES = Math.round((60 * PERIOD) / 1000);
const edgeMetrics: QosMetrics = {
  frames: FRAMES,
  bitrateKbps: 4000,
  encodeTimeUs: 2500,
  rttMs: 30,
  jitterMs: 2,
  lossPpm: 500,
  freezeMs: 0,
};
const playerMetrics: QosMetrics = { ...edgeMetrics, encodeTimeUs: 0, rttMs: 32 };

const percentile = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : (s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number);
};
const round = (x: number) => Math.round(x * 10) / 10;

/** Signs one side's chain quickly (libsecp256k1 on the digests the checker verifies). */
class FastChain {
  #prev: Hex = `0x${'0'.repeat(64)}`;
  constructor(
    readonly sessionId: Hex,
    readonly role: QosRole,
    readonly key: Uint8Array,
  ) {}
  next(minute: number, metrics: QosMetrics): SignedQosReport {
    const link: QosLink = {
      report: { sessionId: this.sessionId, minute, role: this.role, metrics },
      prev: this.#prev,
      closedAt: Date.now(),
      detail: { ...EMPTY_DETAIL, targetFps: this.role === QosRole.edge ? 60 : 0 },
    };
    const h = hashQosLink(link);
    this.#prev = bytesHex(h.link);
    const signed: SignedQosReport = {
      link,
      linkSignature: signDigest(this.key, typedDigest(stakingSep, h.link)),
    };
    if (this.role === QosRole.edge)
      signed.reportSignature = signDigest(this.key, typedDigest(stakingSep, h.report));
    return signed;
  }
}

interface Session {
  grant: Grant;
  grantSignature: Hex;
  edge: FastChain;
  player: FastChain;
}

async function newSession(
  escrow: EscrowRef,
  player: LocalAccount,
  edgeKey: Hex,
  n: number,
  sessionId: Hex = keccak256(toHex(`bench-${n}-${Date.now()}`)),
): Promise<Session> {
  const sessionKey = generatePrivateKey();
  const grant: Grant = {
    sessionId,
    player: player.address,
    edge: privateKeyToAccount(edgeKey).address,
    pricePerMinute: parseEther('0.001'),
    maxMinutes: 120,
    expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400),
    sessionKey: privateKeyToAccount(sessionKey).address,
  };
  return {
    grant,
    grantSignature: await signGrant(player, escrow, grant),
    edge: new FastChain(grant.sessionId, QosRole.edge, hexToBytes(edgeKey)),
    player: new FastChain(grant.sessionId, QosRole.player, hexToBytes(sessionKey)),
  };
}

interface CheckerProcess {
  child: ChildProcess;
  client: CheckerClient;
}

function startChecker(privateKey: Hex, escrow: EscrowRef): Promise<CheckerProcess> {
  // BENCH_CPU_PROF=dir writes each checker's V8 CPU profile there (`node --cpu-prof`).
  const prof = process.env.BENCH_CPU_PROF
    ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`]
    : [];
  const child = spawn(process.execPath, [...prof, '--import', 'tsx', join(root, 'checker/main.ts')], {
    cwd: root,
    env: {
      ...process.env,
      FARPLAY_CHECKER_PORT: '0',
      FARPLAY_CHECKER_LOG_LEVEL: 'info',
      FARPLAY_CHECKER_PRIVATE_KEY: privateKey,
      FARPLAY_CHECKER_PAYMENTS_CHAIN_ID: String(escrow.chainId),
      FARPLAY_CHECKER_ESCROW_ADDRESS: escrow.address,
      FARPLAY_CHECKER_STAKING_CHAIN_ID: String(STAKING.chainId),
      FARPLAY_CHECKER_STAKING_ADDRESS: STAKING.address,
      FARPLAY_CHECKER_PERIOD_MS: String(PERIOD),
      FARPLAY_CHECKER_REPORT_GRACE_MS: String(GRACE),
      FARPLAY_CHECKER_RATE_LIMIT_MAX: '100000000',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGTERM');
      reject(new Error('checker did not start'));
    }, 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const m = /"url":"(http:\/\/[^"]+)"/.exec(out);
      if (m !== null) {
        clearTimeout(timer);
        child.stdout?.removeAllListeners('data');
        child.stdout?.resume();
        resolve({ child, client: new CheckerClient(m[1] as string, 30_000) });
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`checker exited (${code})`));
    });
  });
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

/** CPU seconds (user + system) the process has used, from /proc. */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

interface Throughput {
  reports: number;
  attested: number;
  wallS: number;
  cpuS: number;
  reportsPerSec: number;
}

/** Runs `load` (both sides' reports of `sessions`) against the checker process `pid`: reports/s per CPU second. */
async function throughput(pid: number, sessions: number, load: () => Promise<number>): Promise<Throughput> {
  const reports = sessions * THROUGHPUT_MINUTES * 2;
  const cpu0 = cpuSeconds(pid);
  const t0 = performance.now();
  const attested = await load();
  const wallS = (performance.now() - t0) / 1000;
  const cpuS = cpuSeconds(pid) - cpu0;
  return { reports, attested, wallS, cpuS, reportsPerSec: Math.round(reports / cpuS) };
}

async function pool<T>(items: readonly T[], concurrency: number, run: (item: T) => Promise<void>) {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        await run(item);
      }
    }),
  );
}

async function main(): Promise<void> {
  const anvil = await startAnvil({ chainId: 31338 });
  const checkers: CheckerProcess[] = [];
  try {
    const accounts = localAccounts();
    const chain = localChain(anvil.chainId, anvil.rpcUrl);
    const admin = createChainClients(chain, accounts.deployer);
    const checkerKeys = [5, 6, 7].map((i) => localPrivateKey(i));
    const set = {
      checkers: sortAddresses(checkerKeys.map((k) => privateKeyToAccount(k).address)),
      quorum: 2,
      policyHash: qosPolicyHash(policy),
    };
    const d = await deployPaymentsChain(admin, {
      checkerSet: set,
      treasury: accounts.treasury.address,
      withdrawDelay: 3600,
      timelockDelay: 600n,
    });
    const escrow: EscrowRef = { address: d.escrow as Address, chainId: anvil.chainId };
    await sendTx(admin, {
      address: d.token,
      abi: testATHAbi,
      functionName: 'mint',
      args: [accounts.deployer.address, parseEther('1000')],
    });
    await depositFor(admin, escrow, d.token, accounts.player.address, parseEther('1000'));
    for (const key of checkerKeys) checkers.push(await startChecker(key, escrow));
    const edgeKey = localPrivateKey(3);
    const [c0] = checkers as [CheckerProcess];
    console.log(`3 checkers up: ${checkers.map((c) => c.client.url).join(' ')}`);

    // 1. Throughput of one checker process, two ways of sending, alternated (single, batched, single, batched) after
    // a warm-up of both (the first requests of a process pay for JIT compilation, which favoured whatever ran
    // second), each round with fresh sessions:
    //   single: every report in a request of its own (how pages send theirs, and edges before the batch route);
    //   batched: as a network sends them, the edge's reports of a period for all its sessions in batch requests
    //   (protocol/QosBatchPost.ts), each page's report in a request of its own.
    const pid = c0.child.pid as number;
    let sessionTag = 0;
    const roundOf = async (mode: 'single' | 'batched', count: number) => {
      const ss: Session[] = [];
      for (let i = 0; i < count; i++)
        ss.push(await newSession(escrow, accounts.player, edgeKey, sessionTag++));
      for (const s of ss) await c0.client.openSession(grantToJson(s.grant), s.grantSignature);
      const byMinute = Array.from({ length: THROUGHPUT_MINUTES }, (_, m) =>
        ss.map((s) => ({ s, edge: s.edge.next(m, edgeMetrics), player: s.player.next(m, playerMetrics) })),
      );
      return throughput(pid, count, async () => {
        let attested = 0;
        const count1 = (a: { attestation: unknown }) => {
          if (a.attestation !== null) attested += 1;
        };
        if (mode === 'single') {
          await pool(ss, 16, async (s) => {
            const i = ss.indexOf(s);
            for (const minute of byMinute) {
              const r = minute[i] as (typeof minute)[number];
              await c0.client.report(s.grant.sessionId, r.edge);
              count1(await c0.client.report(s.grant.sessionId, r.player));
            }
          });
          return attested;
        }
        for (const minute of byMinute) {
          for (let i = 0; i < minute.length; i += BATCH) {
            for (const r of await c0.client.reportBatch(minute.slice(i, i + BATCH).map((x) => x.edge)))
              if (!('accepted' in r)) throw new Error(`batch item refused: ${JSON.stringify(r)}`);
          }
          await pool(minute, 16, async ({ s, player }) =>
            count1(await c0.client.report(s.grant.sessionId, player)),
          );
        }
        return attested;
      });
    };
    await roundOf('single', WARMUP_SESSIONS);
    await roundOf('batched', WARMUP_SESSIONS);
    const measured = { single: [] as Throughput[], batched: [] as Throughput[] };
    for (let r = 0; r < 2; r++) {
      measured.single.push(await roundOf('single', THROUGHPUT_SESSIONS));
      measured.batched.push(await roundOf('batched', THROUGHPUT_SESSIONS));
    }
    const sum = (xs: Throughput[]) => {
      const reports = xs.reduce((a, x) => a + x.reports, 0);
      const cpuS = xs.reduce((a, x) => a + x.cpuS, 0);
      const wallS = xs.reduce((a, x) => a + x.wallS, 0);
      const attested = xs.reduce((a, x) => a + x.attested, 0);
      if (attested !== reports / 2) throw new Error(`only ${attested} of ${reports / 2} minutes attested`);
      return { reports, cpuS, wallS, reportsPerSec: Math.round(reports / cpuS) };
    };
    const single = sum(measured.single);
    const batched = sum(measured.batched);
    for (const [name, t, how] of [
      ['single', single, 'each in its own request'],
      ['batched', batched, `the edge's in batches of up to ${BATCH}, the pages' each in its own request`],
    ] as const) {
      console.log(
        `throughput ${name}: ${t.reports} reports (2 rounds of ${THROUGHPUT_SESSIONS} sessions × ${THROUGHPUT_MINUTES} minutes × 2 sides), ${how}: ${round(t.wallS)} s wall, ${round(t.cpuS)} s checker CPU → ${t.reportsPerSec} reports/s per core (${Math.round(t.reports / t.wallS)}/s wall); rounds ${measured[name].map((x) => x.reportsPerSec).join(', ')}`,
      );
    }
    const reportsPerSec = batched.reportsPerSec;
    const total = batched.reports;
    const wallS = batched.wallS;
    // BENCH_ONLY=throughput stops here (A/B runs of the throughput phase alone).
    if (process.env.BENCH_ONLY === 'throughput') {
      console.log(
        JSON.stringify({
          reportsPerSec,
          reportsPerSecSingle: single.reportsPerSec,
          reportsPerSecWall: Math.round(total / wallS),
        }),
      );
      return;
    }

    // 2. attestMs and quorumMs with three checkers, minutes closing in real time.
    const qs: Session[] = [];
    for (let i = 0; i < QUORUM_SESSIONS; i++)
      qs.push(await newSession(escrow, accounts.player, edgeKey, 10_000 + i));
    await Promise.all(
      qs.flatMap((s) => checkers.map((c) => c.client.openSession(grantToJson(s.grant), s.grantSignature))),
    );
    const base = Date.now();
    const attestMs: number[] = [];
    const quorumMs: number[] = [];
    const closes = qs
      .flatMap((s, i) =>
        Array.from({ length: QUORUM_MINUTES }, (_, m) => ({
          s,
          m,
          at: base + (i * PERIOD) / QUORUM_SESSIONS + (m + 1) * PERIOD,
        })),
      )
      .sort((a, b) => a.at - b.at);
    const runs: Promise<void>[] = [];
    // Each checker gets a session's reports in order (a minute's posts wait for the previous minute's).
    const tails = new Map<string, Promise<unknown>>();
    for (const { s, m, at } of closes) {
      await new Promise((r) => setTimeout(r, Math.max(0, at - Date.now())));
      const closed = performance.now();
      const edge = s.edge.next(m, edgeMetrics);
      const player = s.player.next(m, playerMetrics);
      const done: number[] = [];
      const perChecker = checkers.map((c) => {
        const key = `${s.grant.sessionId}|${c.client.url}`;
        const run = (tails.get(key) ?? Promise.resolve()).then(async () => {
          const answers = await Promise.all([
            c.client.report(s.grant.sessionId, edge),
            c.client.report(s.grant.sessionId, player),
          ]);
          if (answers.some((a) => a.attestation !== null)) {
            const now = performance.now();
            attestMs.push(now - closed);
            done.push(now - closed);
          }
        });
        tails.set(key, run);
        return run;
      });
      runs.push(
        Promise.all(perChecker).then(() => {
          done.sort((a, b) => a - b);
          if (done[1] !== undefined) quorumMs.push(done[1]);
        }),
      );
    }
    await Promise.all(runs);
    const attest = { p50: round(percentile(attestMs, 50)), p99: round(percentile(attestMs, 99)) };
    const quorum = { p50: round(percentile(quorumMs, 50)), p99: round(percentile(quorumMs, 99)) };
    console.log(
      `quorum: ${quorumMs.length} minutes, attestMs ${JSON.stringify(attest)}, quorumMs ${JSON.stringify(quorum)}`,
    );

    // 3. A run of 8 sessions of one edge, their on-chain ids handed out as the matchmaker does
    // (matchmaker/BillingRuns.ts: consecutive sessions of an edge take the lanes of one run, sharing the edge's
    // SessionEscrow ledger word), each 60 minutes reported to all three checkers, a quorum collected and settled
    // once through the real SessionEscrow.settle. The run's first settlement writes a fresh ledger word (22 100 gas
    // for the zero-to-non-zero SSTORE), the other 7 the same word again (5 000). `gasPerBilledMinute` is the
    // run's mean (what an edge pays per billed minute on average), `…FreshWord` the first session's,
    // `…SharedWord` the mean of the other 7.
    const idRuns = new BillingRuns();
    const edgeAddress = privateKeyToAccount(edgeKey).address;
    const gs: Session[] = [];
    for (let i = 0; i < BILLING_RUN_LENGTH; i++) {
      const id = idRuns.next(edgeAddress, `bench-${Date.now()}-${i}`);
      gs.push(await newSession(escrow, accounts.player, edgeKey, 99_990 + i, id));
    }
    await Promise.all(
      gs.flatMap((g) => checkers.map((c) => c.client.openSession(grantToJson(g.grant), g.grantSignature))),
    );
    const gOpened = Date.now();
    for (let m = 0; m < 60; m++) {
      const acceptableAt = gOpened + (m + 1) * PERIOD - policy.maxClockSkewMs;
      await new Promise((r) => setTimeout(r, Math.max(0, acceptableAt - Date.now())));
      await Promise.all(
        gs.map(async (g) => {
          const edge = g.edge.next(m, edgeMetrics);
          const player = g.player.next(m, playerMetrics);
          await Promise.all(
            checkers.map(async (c) => {
              await c.client.report(g.grant.sessionId, edge);
              await c.client.report(g.grant.sessionId, player);
            }),
          );
        }),
      );
    }
    const gas: number[] = [];
    for (const g of gs) {
      const q = await collectAttestations({
        checkers: checkers.map((c) => c.client),
        sessionId: g.grant.sessionId,
        quorum: 2,
        escrow,
      });
      if (q === null || q.minutes !== 60) throw new Error(`no quorum for 60 minutes: ${JSON.stringify(q)}`);
      const receipt = await settle(admin, escrow, {
        grant: g.grant,
        grantSignature: g.grantSignature,
        minutes: q.minutes,
        attestations: q.attestations,
        checkerSet: set,
      });
      gas.push(Number(receipt.gasUsed));
    }
    const freshGas = gas[0] as number;
    const sharedGas = gas.slice(1).reduce((a, b) => a + b, 0) / (gas.length - 1);
    const runGas = gas.reduce((a, b) => a + b, 0) / gas.length;
    const gasPerBilledMinute = Math.round(runGas / 60);
    const gasPerBilledMinuteFreshWord = Math.round(freshGas / 60);
    const gasPerBilledMinuteSharedWord = Math.round(sharedGas / 60);
    console.log(
      `settlement: ${gas.length} sessions of one edge (one id run), 60 minutes each, 2 of 3 attestations, settled one by one: gas ${gas.join(' ')} → ${gasPerBilledMinute} per billed minute over the run (fresh ledger word ${gasPerBilledMinuteFreshWord}, shared word ${gasPerBilledMinuteSharedWord})`,
    );

    console.log(
      JSON.stringify({
        reportsPerSec,
        reportsPerSecSingle: single.reportsPerSec,
        reportsPerSecWall: Math.round(total / wallS),
        attestMs: attest,
        quorumMs: quorum,
        gasPerBilledMinute,
        gasPerBilledMinuteCase: `mean of a run of ${gas.length} sessions of one edge settled once each (1 fresh ledger word, ${gas.length - 1} shared)`,
        gasPerBilledMinuteFreshWord,
        gasPerBilledMinuteSharedWord,
        settleGas: gas,
        checkers: 3,
        quorum: 2,
        periodMs: PERIOD,
      }),
    );
  } finally {
    await Promise.all(checkers.map((c) => stopChild(c.child)));
    await anvil.close();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
