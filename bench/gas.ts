// `npm run bench:gas`: gas of SessionEscrow settlement on a real anvil node (Cancun).
// Single settle: 60-minute sessions, 1/3/5 of 5 checkers, averaged over 8 consecutive sessions (one storage
// word of paid minutes, so the one cold word write is included). Batch: 10 and 100 sessions of 60 minutes,
// each a different player, 3 of 5 checkers. Last line: one JSON object.
// BENCH_GAS_BREAKDOWN=1 also prints where the gas of a q3 settlement goes (anvil --steps-tracing +
// debug_traceTransaction: intrinsic = 21 000 + calldata bytes, then execution cost per opcode, refund).
import { type Address, type Hex, keccak256, maxUint256, type PublicClient, parseEther, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { sessionEscrowAbi } from '../contracts-client/src/abis/SessionEscrow.js';
import { testATHAbi } from '../contracts-client/src/abis/TestATH.js';
import { localChain } from '../contracts-client/src/chains.js';
import { sortAddresses } from '../contracts-client/src/checkers.js';
import { createChainClients } from '../contracts-client/src/clients.js';
import { deployPaymentsChain } from '../contracts-client/src/deploy.js';
import {
  attestationOf,
  batchOf,
  batchSettle,
  type EscrowRef,
  settle,
  signAttestation,
  signAttestationBatch,
  signGrant,
} from '../contracts-client/src/escrow.js';
import { LOCAL_PAYMENTS_CHAIN_ID, localAccounts, startAnvil } from '../contracts-client/src/localChain.js';
import { sendTx } from '../contracts-client/src/tx.js';
import type { Grant } from '../protocol/eip712.js';
import { qosPolicyHash } from '../protocol/qosPolicy.js';

const MINUTES = 60;
const PRICE = parseEther('0.01');
const BREAKDOWN = process.env.BENCH_GAS_BREAKDOWN === '1';

interface StructLog {
  op: string;
  gas: number;
  gasCost: number;
  depth: number;
  refund?: number;
  stack?: string[];
}

/** Where one transaction's gas went: intrinsic (21 000 + calldata), execution per opcode (calls inclusive), refund. */
async function breakdown(publicClient: PublicClient, hash: Hex, label: string): Promise<void> {
  const tx = await publicClient.getTransaction({ hash });
  const receipt = await publicClient.getTransactionReceipt({ hash });
  const trace = (await publicClient.request({
    method: 'debug_traceTransaction' as never,
    params: [hash, { enableMemory: false }] as never,
  })) as { structLogs: StructLog[] };
  const top = trace.structLogs.filter((l) => l.depth === 1);
  const byOp = new Map<string, number>();
  top.forEach((l, i) => {
    const next = top[i + 1];
    const cost = next !== undefined ? l.gas - next.gas : l.gasCost;
    let key = l.op;
    if (l.op === 'STATICCALL' || l.op === 'CALL') {
      const to = BigInt(l.stack?.[l.stack.length - 2] ?? '0x0');
      key = to === 1n ? 'ecrecover' : `${l.op}(contract)`;
    } else if (l.op.startsWith('LOG')) key = 'LOG';
    else if (!['SLOAD', 'SSTORE', 'KECCAK256', 'CALLDATALOAD'].includes(l.op)) key = 'other opcodes';
    byOp.set(key, (byOp.get(key) ?? 0) + cost);
  });
  const data = tx.input.slice(2);
  let zero = 0;
  for (let i = 0; i < data.length; i += 2) if (data.slice(i, i + 2) === '00') zero++;
  const nonZero = data.length / 2 - zero;
  const refund = top[top.length - 1]?.refund ?? 0;
  const parts = [
    `base 21000`,
    `calldata ${zero * 4 + nonZero * 16} (${data.length / 2} bytes, ${zero} zero)`,
    ...[...byOp].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v}`),
    `refund -${refund}`,
  ];
  console.log(`${label}: gasUsed ${receipt.gasUsed} = ${parts.join(' + ')}`);
}

const node = await startAnvil({
  chainId: LOCAL_PAYMENTS_CHAIN_ID,
  ...(BREAKDOWN ? { extraArgs: ['--steps-tracing'] } : {}),
});
try {
  const accounts = localAccounts();
  const clients = createChainClients(localChain(node.chainId, node.rpcUrl), accounts.deployer);
  const checkers = [...accounts.checkers].sort((a, b) => (BigInt(a.address) < BigInt(b.address) ? -1 : 1));
  const policyHash = qosPolicyHash();
  let idCounter = 0n;
  // Session ids come in runs of 8 sharing one storage word (low 3 bits = run position).
  const sessionBase = BigInt(keccak256(toHex('farplay-bench'))) & ~0xffffn;
  const nextId = (): Hex => toHex(sessionBase + idCounter++, { size: 32 });

  async function setup(quorum: number) {
    const d = await deployPaymentsChain(clients, {
      checkerSet: { checkers: sortAddresses(checkers.map((c) => c.address)), quorum, policyHash },
      treasury: accounts.treasury.address,
      timelockDelay: 60n,
    });
    const escrow: EscrowRef = { address: d.escrow as Address, chainId: node.chainId };
    await sendTx(clients, {
      address: d.token,
      abi: testATHAbi,
      functionName: 'mint',
      args: [accounts.deployer.address, parseEther('1000000')],
    });
    await sendTx(clients, {
      address: d.token,
      abi: testATHAbi,
      functionName: 'approve',
      args: [escrow.address, maxUint256],
    });
    const set = { checkers: sortAddresses(checkers.map((c) => c.address)), quorum, policyHash };
    return { escrow, set };
  }

  /** A fresh player who deposited `sessions` sessions' worth (1: the settlement empties the balance). */
  async function session(escrow: EscrowRef, sessions = 1n) {
    const player = privateKeyToAccount(generatePrivateKey());
    await sendTx(clients, {
      address: escrow.address,
      abi: sessionEscrowAbi,
      functionName: 'depositFor',
      args: [player.address, PRICE * BigInt(MINUTES) * sessions],
    });
    const grant: Grant = {
      sessionId: nextId(),
      player: player.address,
      edge: accounts.edge.address,
      pricePerMinute: PRICE,
      maxMinutes: MINUTES,
      expiry: BigInt(Math.floor(Date.now() / 1000) + 86_400),
      sessionKey: privateKeyToAccount(generatePrivateKey()).address,
    };
    return { grant, grantSignature: await signGrant(player, escrow, grant), minutes: MINUTES };
  }

  const settleGas: Record<string, number> = {};
  for (const q of [1, 3, 5]) {
    const { escrow, set } = await setup(q);
    // Steady state: the edge has been paid before (its earnings slot is non-zero).
    const warm = await session(escrow);
    const warmSigs = await Promise.all(
      checkers.slice(0, q).map(async (c) => ({
        signer: c.address,
        signature: await signAttestation(c, escrow, attestationOf(warm.grant, MINUTES, policyHash)),
      })),
    );
    await settle(clients, escrow, { ...warm, attestations: warmSigs, checkerSet: set });
    idCounter = (idCounter + 7n) & ~7n;
    const used: bigint[] = [];
    for (let i = 0; i < 8; i++) {
      const s = await session(escrow);
      const signers = checkers.slice(0, q);
      const attestations = await Promise.all(
        signers.map(async (c) => ({
          signer: c.address,
          signature: await signAttestation(c, escrow, attestationOf(s.grant, MINUTES, policyHash)),
        })),
      );
      const receipt = await settle(clients, escrow, { ...s, attestations, checkerSet: set });
      used.push(receipt.gasUsed);
      if (BREAKDOWN && q === 3 && (i === 0 || i === 7)) {
        await breakdown(
          clients.publicClient,
          receipt.transactionHash,
          `settle q3, balance emptied, ${i === 0 ? 'fresh' : 'warm'} word`,
        );
      }
    }
    const mean = Number(used.reduce((a, b) => a + b, 0n)) / used.length;
    settleGas[`q${q}`] = Math.round(mean);
    console.log(`settle q${q}: per-tx gas ${used.join(' ')} (mean ${Math.round(mean)})`);

    if (q === 3) {
      // Same, but each player keeps a balance (deposited two sessions' worth): no 4 800-gas refund for clearing
      // the balance slot. Printed, not part of the JSON figures.
      idCounter = (idCounter + 7n) & ~7n;
      const kept: bigint[] = [];
      for (let i = 0; i < 8; i++) {
        const s = await session(escrow, 2n);
        const attestations = await Promise.all(
          checkers.slice(0, 3).map(async (c) => ({
            signer: c.address,
            signature: await signAttestation(c, escrow, attestationOf(s.grant, MINUTES, policyHash)),
          })),
        );
        const receipt = await settle(clients, escrow, { ...s, attestations, checkerSet: set });
        kept.push(receipt.gasUsed);
        if (BREAKDOWN && (i === 0 || i === 7)) {
          await breakdown(
            clients.publicClient,
            receipt.transactionHash,
            `settle q3, balance left, ${i === 0 ? 'fresh' : 'warm'} word`,
          );
        }
      }
      const keptMean = Math.round(Number(kept.reduce((a, b) => a + b, 0n)) / kept.length);
      console.log(`settle q3, player keeps a balance: per-tx gas ${kept.join(' ')} (mean ${keptMean})`);
    }
  }

  const batchSettleGas: Record<string, number> = {};
  for (const n of [10, 100]) {
    const { escrow, set } = await setup(3);
    idCounter = (idCounter + 7n) & ~7n;
    const sessions = [];
    for (let i = 0; i < n; i++) sessions.push(await session(escrow));
    const batch = batchOf(sessions, policyHash);
    const attestations = await Promise.all(
      checkers
        .slice(0, 3)
        .map(async (c) => ({ signer: c.address, signature: await signAttestationBatch(c, escrow, batch) })),
    );
    const { receipt, skipped } = await batchSettle(clients, escrow, {
      sessions,
      attestations,
      checkerSet: set,
    });
    if (skipped.length > 0) throw new Error(`batch of ${n} skipped ${skipped.length} records`);
    batchSettleGas[`s${n}`] = Number(receipt.gasUsed);
    if (BREAKDOWN && n === 10)
      await breakdown(clients.publicClient, receipt.transactionHash, 'batchSettle s10');
    console.log(
      `batchSettle s${n}: gas ${receipt.gasUsed} (${Math.round(Number(receipt.gasUsed) / n)} per session)`,
    );
  }

  const result = {
    settleGas,
    batchSettleGas,
    gasPerBilledMinute: {
      single: Math.round((settleGas.q3 ?? 0) / MINUTES),
      batched: Math.round((batchSettleGas.s100 ?? 0) / (100 * MINUTES)),
    },
  };
  console.log(JSON.stringify(result));
} finally {
  await node.close();
}
