import { hashStruct, hashTypedData, hexToBytes, keccak256, toHex } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { describe, expect, it } from 'vitest';
import { signDigest } from '../../checker/signDigest.js';
import {
  attestationDigest,
  escrowDomain,
  type QosLink,
  QosRole,
  qosLinkDigest,
  qosLinkHash,
  qosMetricsHash,
  qosReportDigest,
  qosReportTypes,
  stakingDomain,
} from '../../protocol/eip712.js';
import { hashAttestation } from '../../protocol/hashAttestation.js';
import { bytesHex, domainSeparatorBytes, hashQosLink, typedDigest } from '../../protocol/hashQosLink.js';
import { EMPTY_DETAIL, QosReportChain } from '../../protocol/QosReportChain.js';
import { recoverAddress } from '../../protocol/recoverAddress.js';

const staking = stakingDomain(31337, '0x5FbDB2315678afecb367f032d93F642f64180aa3');
const escrow = escrowDomain(31338, '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512');
const link: QosLink = {
  report: {
    sessionId: keccak256(toHex('hash-test')),
    minute: 7,
    role: QosRole.edge,
    metrics: {
      frames: 3600,
      bitrateKbps: 4000,
      encodeTimeUs: 2100,
      rttMs: 31,
      jitterMs: 2,
      lossPpm: 120,
      freezeMs: 0,
    },
  },
  prev: keccak256(toHex('prev')),
  closedAt: 1_790_000_000_123,
  detail: {
    ...EMPTY_DETAIL,
    targetFps: 60,
    framesEncoded: 3600,
    encodeP99Us: 9000,
    keyframes: 2,
    glassSamples: 0,
  },
};

describe('fast EIP-712 hashing of QoS reports', () => {
  it('gives the same struct hashes and digests as viem (what the StakingRegistry computes)', () => {
    const h = hashQosLink(link);
    expect(bytesHex(h.metrics)).toBe(qosMetricsHash(link.report.metrics));
    expect(bytesHex(h.report)).toBe(
      hashStruct({ types: qosReportTypes, primaryType: 'QosReport', data: link.report }),
    );
    expect(bytesHex(h.link)).toBe(qosLinkHash(link));
    const sep = domainSeparatorBytes(staking);
    expect(bytesHex(typedDigest(sep, h.link))).toBe(qosLinkDigest(staking, link));
    expect(bytesHex(typedDigest(sep, h.report))).toBe(qosReportDigest(staking, link.report));
  });

  it('gives the same attestation digest as viem (what the SessionEscrow computes)', () => {
    const a = {
      sessionId: link.report.sessionId,
      grantHash: keccak256(toHex('grant')),
      minutes: 42,
      policyHash: keccak256(toHex('policy')),
    };
    expect(bytesHex(typedDigest(domainSeparatorBytes(escrow), hashAttestation(a)))).toBe(
      attestationDigest(escrow, a),
    );
  });

  it('signs like viem (deterministic) and recovers the signer; refuses the malleable twin', async () => {
    const key = generatePrivateKey();
    const account = privateKeyToAccount(key);
    const digest = hexToBytes(qosLinkDigest(staking, link));
    const signature = signDigest(hexToBytes(key), digest);
    expect(signature).toBe(await account.sign({ hash: qosLinkDigest(staking, link) }));
    expect(recoverAddress(digest, signature)).toBe(account.address.toLowerCase());
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
    const s = BigInt(`0x${signature.slice(66, 130)}`);
    const v = signature.slice(130) === '1b' ? '1c' : '1b';
    const twin = `${signature.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${v}`;
    expect(recoverAddress(digest, twin)).toBe('malleable');
    expect(recoverAddress(digest, '0x1234')).toBeUndefined();
    expect(recoverAddress(digest, `0x${'00'.repeat(65)}`)).toBeUndefined();
  });

  it('chains a side’s reports: each link carries the previous link’s hash', async () => {
    const account = privateKeyToAccount(generatePrivateKey());
    const chain = new QosReportChain({
      sessionId: link.report.sessionId,
      role: QosRole.edge,
      signer: account,
      domain: staking,
    });
    const first = await chain.next(0, link.report.metrics, { targetFps: 60 }, 1000);
    const second = await chain.next(1, link.report.metrics, { targetFps: 60 }, 2000);
    expect(first.link.prev).toBe(`0x${'0'.repeat(64)}`);
    expect(second.link.prev).toBe(qosLinkHash(first.link));
    expect(recoverAddress(hexToBytes(qosLinkDigest(staking, second.link)), second.linkSignature)).toBe(
      account.address.toLowerCase(),
    );
    expect(
      recoverAddress(
        hexToBytes(
          hashTypedData({
            domain: staking,
            types: qosReportTypes,
            primaryType: 'QosReport',
            message: second.link.report,
          }),
        ),
        second.reportSignature ?? '',
      ),
    ).toBe(account.address.toLowerCase());
  });
});
