import { type Address, type Hex, zeroHash } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { beforeAll, describe, expect, it } from 'vitest';
import { checkerRegistryAbi } from '../../contracts-client/src/abis/CheckerRegistry.js';
import { sessionEscrowAbi } from '../../contracts-client/src/abis/SessionEscrow.js';
import {
  type CheckerSet,
  executeCheckerChange,
  readCheckerSet,
  scheduleCheckerChange,
  sortAddresses,
} from '../../contracts-client/src/checkers.js';
import {
  attestationOf,
  type EscrowRef,
  encodeSettlement,
  paidMinutes,
  settle,
  signAttestation,
  signGrant,
  sortSignatures,
} from '../../contracts-client/src/escrow.js';
import { sendTx } from '../../contracts-client/src/tx.js';
import {
  accounts,
  admin,
  at,
  attest,
  checkers,
  deployEscrowFixture,
  expectCode,
  newGrant,
  policyHash,
  testClient,
} from './escrow-support.js';

let escrow: EscrowRef;
let registry: Address;
let timelock: Address;
let set: CheckerSet;

beforeAll(async () => {
  ({ escrow, registry, timelock, set } = await deployEscrowFixture());
});

describe('SessionEscrow checker quorum on the payments chain', () => {
  it('refuses unsorted or duplicate signers, a non-checker signer and fewer than the quorum', async () => {
    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const sorted = await attest(escrow, grant, 7);
    const base = { grant, grantSignature, minutes: 7, checkerSet: set, presorted: true };
    await expectCode(
      settle(admin, escrow, { ...base, attestations: [...sorted].reverse() }),
      'CHAIN_SIGNERS_UNSORTED',
    );
    await expectCode(
      settle(admin, escrow, { ...base, attestations: [at(sorted, 0), at(sorted, 0), at(sorted, 1)] }),
      'CHAIN_SIGNERS_UNSORTED',
    );
    const outsider = privateKeyToAccount(generatePrivateKey());
    const outsiderSig = {
      signer: outsider.address,
      signature: await signAttestation(outsider, escrow, attestationOf(grant, 7, policyHash)),
    };
    await expectCode(
      settle(admin, escrow, {
        ...base,
        presorted: false,
        attestations: [at(sorted, 0), at(sorted, 1), outsiderSig],
      }),
      'CHAIN_NOT_CHECKER',
    );
    await expectCode(
      settle(admin, escrow, { ...base, attestations: sorted.slice(0, 2) }),
      'CHAIN_BELOW_QUORUM',
    );
    // Attestations under another QoS policy do not verify.
    const otherPolicy = await Promise.all(
      checkers.slice(0, 3).map(async (c) => ({
        signer: c.address,
        signature: await signAttestation(c, escrow, attestationOf(grant, 7, zeroHash)),
      })),
    );
    await expectCode(
      settle(admin, escrow, { ...base, presorted: false, attestations: otherPolicy }),
      'CHAIN_NOT_CHECKER',
    );
    // The valid quorum still settles: nothing was half-written by the refusals.
    await settle(admin, escrow, { ...base, presorted: false, attestations: sorted });
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(7);
  });

  it('refuses a malformed blob and signers placed at the wrong set positions', async () => {
    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const attestations = sortSignatures(await attest(escrow, grant, 9));
    const blob = encodeSettlement(set, attestations, [{ grant, grantSignature, minutes: 9 }]);
    const send = (data: Hex) =>
      sendTx(admin, { address: escrow.address, abi: sessionEscrowAbi, functionName: 'settle', args: [data] });
    // One byte short, one byte too many, nothing at all.
    await expectCode(send(blob.slice(0, -2) as Hex), 'CHAIN_REVERTED');
    await expectCode(send(`${blob}00`), 'CHAIN_REVERTED');
    await expectCode(send('0x'), 'CHAIN_REVERTED');
    // The same signatures claimed for other checkers of the set: the rebuilt set does not hash to the config.
    const maskAt = 2 + 2 * 35; // hex offset of the one-byte signer mask
    const mask = Number.parseInt(blob.slice(maskAt, maskAt + 2), 16);
    const moved = `${blob.slice(0, maskAt)}${((mask << 1) & 0x1f).toString(16).padStart(2, '0')}${blob.slice(maskAt + 2)}`;
    await expectCode(send(moved as Hex), 'CHAIN_STALE_CHECKER_SET');
    // A set whose quorum claims 2 instead of 3: the config hash does not match either.
    const lowQuorum = encodeSettlement({ ...set, quorum: 2 }, attestations.slice(0, 2), [
      { grant, grantSignature, minutes: 9 },
    ]);
    await expectCode(send(lowQuorum), 'CHAIN_STALE_CHECKER_SET');
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(0);
    await send(blob);
    expect(await paidMinutes(admin.publicClient, escrow, grant.edge, grant.sessionId)).toBe(9);
  });

  it('changes the checker set only through the timelock, and stale sets are refused', async () => {
    const newcomer = privateKeyToAccount(generatePrivateKey());
    const change = { timelock, registry, change: { kind: 'addChecker', checker: newcomer.address } as const };
    // Nobody, not even the deployer, changes the registry directly.
    await expectCode(
      sendTx(admin, {
        address: registry,
        abi: checkerRegistryAbi,
        functionName: 'addChecker',
        args: [newcomer.address],
      }),
      'CHAIN_NOT_AUTHORIZED',
    );
    await scheduleCheckerChange(admin, change);
    await expectCode(executeCheckerChange(admin, change), 'CHAIN_NOT_AUTHORIZED');
    await testClient.increaseTime({ seconds: 601 });
    await testClient.mine({ blocks: 1 });
    await executeCheckerChange(admin, change);
    const current = await readCheckerSet(admin.publicClient, registry);
    expect(current.checkers).toContain(newcomer.address);
    expect(current.checkers).toEqual(sortAddresses(current.checkers));

    const grant = await newGrant();
    const grantSignature = await signGrant(accounts.player, escrow, grant);
    const attestations = await attest(escrow, grant, 4);
    await expectCode(
      settle(admin, escrow, { grant, grantSignature, minutes: 4, attestations, checkerSet: set }),
      'CHAIN_STALE_CHECKER_SET',
    );
    // The newcomer's attestation now counts.
    const withNewcomer = [
      ...attestations.slice(0, 2),
      {
        signer: newcomer.address,
        signature: await signAttestation(newcomer, escrow, attestationOf(grant, 4, policyHash)),
      },
    ];
    await settle(admin, escrow, {
      grant,
      grantSignature,
      minutes: 4,
      attestations: withNewcomer,
      checkerSet: current,
    });
    set = current;
  });
});
