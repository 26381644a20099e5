import { readFileSync } from 'node:fs';
import {
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  compactSignatureToSignature,
  encodeErrorResult,
  type Hex,
  hashStruct,
  keccak256,
  parseSignature,
  recoverAddress,
  serializeSignature,
  toHex,
} from 'viem';
import { generatePrivateKey, privateKeyToAccount, sign } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { checkerRegistryAbi } from '../../contracts-client/src/abis/CheckerRegistry.js';
import { sessionEscrowAbi } from '../../contracts-client/src/abis/SessionEscrow.js';
import { stakingRegistryAbi } from '../../contracts-client/src/abis/StakingRegistry.js';
import { REVERT_CODES, toChainError } from '../../contracts-client/src/chainErrors.js';
import { localChain } from '../../contracts-client/src/chains.js';
import { createChainClients } from '../../contracts-client/src/clients.js';
import { attestationOf, batchOf } from '../../contracts-client/src/escrow.js';
import { isCanonicalSignature, sendTx, toSig } from '../../contracts-client/src/tx.js';
import {
  attestationBatchDigest,
  attestationBatchTypes,
  attestationDigest,
  attestationTypes,
  edgeBondTypes,
  escrowDomain,
  type Grant,
  grantHash,
  grantTypes,
  qosReportTypes,
  slashTypes,
} from '../../protocol/eip712.js';
import { FarplayError } from '../../protocol/errors.js';

type Types = Record<string, readonly { name: string; type: string }[]>;

/** EIP-712 encodeType: the primary type, then its dependencies sorted by name. */
function encodeType(types: Types, primary: string): string {
  const deps = new Set<string>();
  const visit = (name: string) => {
    for (const field of types[name] ?? []) {
      const base = field.type.replace(/\[\d*\]$/, '');
      if (types[base] !== undefined && !deps.has(base) && base !== primary) {
        deps.add(base);
        visit(base);
      }
    }
  };
  visit(primary);
  return [primary, ...[...deps].sort()]
    .map((t) => `${t}(${(types[t] ?? []).map((f) => `${f.type} ${f.name}`).join(',')})`)
    .join('');
}

function solidityTypeStrings(): string[] {
  const out: string[] = [];
  for (const file of ['SessionEscrow.sol', 'SettlementVerifier.sol', 'StakingRegistry.sol']) {
    const source = readFileSync(new URL(`../../contracts-client/contracts/${file}`, import.meta.url), 'utf8');
    for (const m of source.matchAll(/keccak256\(\s*"([^"]+)"\s*\)/g)) out.push(m[1] as string);
  }
  return out;
}

describe('protocol EIP-712 types match the contracts', () => {
  const onChain = solidityTypeStrings();
  it.each([
    ['Grant', grantTypes],
    ['Attestation', attestationTypes],
    ['AttestationBatch', attestationBatchTypes],
    ['QosReport', qosReportTypes],
    ['Slash', slashTypes],
    ['EdgeBond', edgeBondTypes],
  ] as const)('%s has the type string the contract hashes', (primary, types) => {
    expect(onChain).toContain(encodeType(types as unknown as Types, primary));
  });
});

describe('attestations bind the grant', () => {
  const domain = escrowDomain(31338, '0x00000000000000000000000000000000000000e5');
  const grant: Grant = {
    sessionId: keccak256(toHex('session')),
    player: '0x00000000000000000000000000000000000000a1',
    edge: '0x00000000000000000000000000000000000000b2',
    pricePerMinute: 10n ** 16n,
    maxMinutes: 60,
    expiry: 1_900_000_000n,
    sessionKey: '0x00000000000000000000000000000000000000c3',
  };
  const policyHash = keccak256(toHex('policy'));

  it('carries the grant struct hash, so another grant for the same session id gives another digest', () => {
    expect(grantHash(grant)).toBe(hashStruct({ types: grantTypes, primaryType: 'Grant', data: grant }));
    const real = attestationDigest(domain, attestationOf(grant, 30, policyHash));
    for (const other of [
      { ...grant, pricePerMinute: 1n },
      { ...grant, maxMinutes: 61 },
      { ...grant, expiry: grant.expiry + 1n },
      { ...grant, sessionKey: grant.player },
      { ...grant, player: grant.sessionKey },
    ]) {
      expect(other.sessionId).toBe(grant.sessionId);
      expect(attestationDigest(domain, attestationOf(other, 30, policyHash))).not.toBe(real);
    }
    const session = { grant, grantSignature: '0x' as const, minutes: 30 };
    const batch = batchOf([session], policyHash);
    expect(batch.sessions[0]?.grantHash).toBe(grantHash(grant));
    expect(attestationBatchDigest(domain, batch)).not.toBe(
      attestationBatchDigest(
        domain,
        batchOf([{ ...session, grant: { ...grant, pricePerMinute: 1n } }], policyHash),
      ),
    );
  });
});

describe('compact signatures', () => {
  it('converts a 65-byte signature to (r, vs) that recovers to the same signer', async () => {
    const key = generatePrivateKey();
    const hash = keccak256(toHex('farplay'));
    for (let i = 0; i < 4; i++) {
      const digest = keccak256(toHex(`${hash}${i}`));
      const signature = await sign({ hash: digest, privateKey: key, to: 'hex' });
      const { r, vs } = toSig(signature);
      const back = serializeSignature(compactSignatureToSignature({ r, yParityAndS: vs }));
      expect(await recoverAddress({ hash: digest, signature: back })).toBe(privateKeyToAccount(key).address);
    }
  });
});

describe('canonical signatures (audit finding 6)', () => {
  const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;

  it('refuses the high-s twin and malformed signatures with CHAIN_MALFORMED_SIGNATURE, as the contracts do', async () => {
    const key = generatePrivateKey();
    const digest = keccak256(toHex('farplay-high-s'));
    const signature = await sign({ hash: digest, privateKey: key, to: 'hex' });
    expect(isCanonicalSignature(signature)).toBe(true);
    const { r, s, yParity } = parseSignature(signature);
    const twin = serializeSignature({
      r,
      s: toHex(N - BigInt(s), { size: 32 }),
      yParity: 1 - (yParity ?? 0),
    });
    // The twin is a valid ECDSA signature of the same signer ...
    expect(await recoverAddress({ hash: digest, signature: twin })).toBe(privateKeyToAccount(key).address);
    // ... which the contracts refuse, so the client does too.
    expect(isCanonicalSignature(twin)).toBe(false);
    for (const bad of [twin, signature.slice(0, -2) as Hex, '0x' as Hex]) {
      expect(() => toSig(bad)).toThrow(expect.objectContaining({ code: 'CHAIN_MALFORMED_SIGNATURE' }));
    }
  });
});

describe('contract reverts map to CHAIN_* codes', () => {
  it('maps a decoded custom error to its code and keeps the revert in details', () => {
    const data = encodeErrorResult({
      abi: sessionEscrowAbi,
      errorName: 'MinutesBeyondGrant',
      args: [keccak256(toHex('s')), 61, 60],
    });
    const revert = new ContractFunctionRevertedError({ abi: sessionEscrowAbi, data, functionName: 'settle' });
    const wrapped = new ContractFunctionExecutionError(revert, {
      abi: sessionEscrowAbi,
      functionName: 'settle',
      args: [],
    });
    const error = toChainError(wrapped);
    expect(error).toBeInstanceOf(FarplayError);
    expect(error.code).toBe('CHAIN_BEYOND_GRANT');
    expect(error.details).toMatchObject({
      revert: 'MinutesBeyondGrant',
      args: [expect.any(String), '61', '60'],
    });
  });

  it('gives every custom error of the user-facing contracts a code', () => {
    const internal = new Set([
      'ZeroAmount',
      'AmountTooLarge',
      'EmptyBatch',
      'MalformedSettlement',
      'TooManyCheckers',
      'FeeTooHigh',
      'BadCut',
      'EdgeExists',
      'BadSlashShare',
      'SafeCastOverflowedUintDowncast',
      'CheckersNotAscending',
      'BadQuorum',
      'AlreadyChecker',
      'UnknownChecker',
      'OwnableInvalidOwner',
      'SafeERC20FailedOperation',
      'ECDSAInvalidSignatureLength',
      'InvalidShortString',
      'StringTooLong',
    ]);
    for (const abi of [sessionEscrowAbi, stakingRegistryAbi, checkerRegistryAbi]) {
      for (const item of abi) {
        if (item.type !== 'error' || internal.has(item.name)) continue;
        expect(REVERT_CODES[item.name], item.name).toBeDefined();
      }
    }
  });

  it('maps anything else to CHAIN_REVERTED', () => {
    expect(toChainError(new Error('boom')).code).toBe('CHAIN_REVERTED');
  });
});

describe('an unreachable chain node', () => {
  it('fails a transaction with CHAIN_UNAVAILABLE', async () => {
    const clients = createChainClients(
      localChain(31338, 'http://127.0.0.1:1'),
      privateKeyToAccount(generatePrivateKey()),
    );
    const error = await sendTx(clients, {
      address: '0x0000000000000000000000000000000000000001',
      abi: sessionEscrowAbi,
      functionName: 'withdraw',
      args: [],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((error as FarplayError).code).toBe('CHAIN_UNAVAILABLE');
  });
});
