// `npm run bench:gas`: gas of SessionEscrow settlement on a real anvil node (Cancun).
// Single settle: 60-minute sessions, 1/3/5 of 5 checkers, averaged over 8 consecutive sessions (one storage
// word of paid minutes, so the one cold word write is included). Batch: 10 and 100 sessions of 60 minutes,
// each a different player, 3 of 5 checkers. Last line: one JSON object.
import { type Address, type Hex, keccak256, maxUint256, parseEther, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { sessionEscrowAbi } from '../contracts-client/src/abis/SessionEscrow.js';
import { testATHAbi } from '../contracts-client/src/abis/TestATH.js';
import { localChain } from '../contracts-client/src/chains.js';
import { sortAddresses } from '../contracts-client/src/checkers.js';
import { createChainClients } from '../contracts-client/src/clients.js';
import { deployPaymentsChain } from '../contracts-client/src/deploy.js';
import {
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
const node = await startAnvil({ chainId: LOCAL_PAYMENTS_CHAIN_ID });
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

  async function session(escrow: EscrowRef) {
    const player = privateKeyToAccount(generatePrivateKey());
    await sendTx(clients, {
      address: escrow.address,
      abi: sessionEscrowAbi,
      functionName: 'depositFor',
      args: [player.address, PRICE * BigInt(MINUTES)],
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
        signature: await signAttestation(c, escrow, {
          sessionId: warm.grant.sessionId,
          minutes: MINUTES,
          policyHash,
        }),
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
          signature: await signAttestation(c, escrow, {
            sessionId: s.grant.sessionId,
            minutes: MINUTES,
            policyHash,
          }),
        })),
      );
      const receipt = await settle(clients, escrow, { ...s, attestations, checkerSet: set });
      used.push(receipt.gasUsed);
    }
    const mean = Number(used.reduce((a, b) => a + b, 0n)) / used.length;
    settleGas[`q${q}`] = Math.round(mean);
    console.log(`settle q${q}: per-tx gas ${used.join(' ')} (mean ${Math.round(mean)})`);
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
    const receipt = await batchSettle(clients, escrow, { sessions, attestations, checkerSet: set });
    batchSettleGas[`s${n}`] = Number(receipt.gasUsed);
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
