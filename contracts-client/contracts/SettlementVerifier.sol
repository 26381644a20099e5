// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {CheckerConfig} from "./CheckerRegistry.sol";

/// @title SettlementVerifier: the signature checks of SessionEscrow's packed settlement calldata.
/// @notice Parses the checker block, proves a quorum of the current checker set signed a digest (one SLOAD of
/// `configHash`), and recovers who signed a record's grant. No storage of its own: SessionEscrow's layout is
/// EIP712, then CheckerConfig, then the escrow's own slots, as before this base existed.
/// Signatures are EIP-2098 compact (r, yParity|s). The EIP-712 types are in protocol/eip712.ts.
/// Checker attestations bind the grant: they carry the grant's EIP-712 struct hash (`grantHash`), which the escrow
/// computes from the record, so a quorum's attestation pays only under the very grant the checkers saw. Another
/// grant the player signs for the same session id and edge (say at 1 wei a minute) has another hash: the
/// attestations do not verify for it, and it can neither be paid nor mark the session's minutes paid. Checkers attest
/// one grant per (edge, sessionId), the one the edge runs the session under; the ledger records no grant per session
/// (that would be a fresh storage slot, about 22 100 gas, per session).
abstract contract SettlementVerifier is EIP712, CheckerConfig {
    error MalformedSettlement();
    /// @notice The checker set passed does not hash to the current config.
    error StaleCheckerSet();
    /// @notice Fewer signatures than the quorum.
    error BelowQuorum(uint256 signatures, uint256 quorum);
    /// @notice Recovered signers must be strictly ascending (rejects unsorted and duplicate signers).
    error SignersNotAscending(uint256 index, address signer);
    /// @notice A recovered signer is not in the checker set: an outsider's signature, or a checker's signature over
    /// other data (another grant, e.g. a second grant for the same session; other minutes; another policy).
    error NotChecker(address signer);

    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(bytes32 sessionId,address player,address edge,uint96 pricePerMinute,uint32 maxMinutes,uint64 expiry,address sessionKey)"
    );
    /// @dev `grantHash` is the EIP-712 struct hash of the Grant being settled (hashStruct, without the domain).
    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(bytes32 sessionId,bytes32 grantHash,uint32 minutes,bytes32 policyHash)");
    bytes32 public constant SESSION_MINUTES_TYPEHASH =
        keccak256("SessionMinutes(bytes32 sessionId,bytes32 grantHash,uint32 minutes)");
    bytes32 public constant ATTESTATION_BATCH_TYPEHASH = keccak256(
        "AttestationBatch(SessionMinutes[] sessions,bytes32 policyHash)SessionMinutes(bytes32 sessionId,bytes32 grantHash,uint32 minutes)"
    );
    /// @dev Bytes per session record (layout in SessionEscrow.sol).
    uint256 internal constant RECORD = 184;
    /// @dev secp256k1n / 2: larger s values are the malleable twin and are refused.
    uint256 internal constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev The record's grant struct hash and the digest the quorum signs for it:
    /// Attestation(sessionId, grantHash, minutes, policyHash). Scratch memory only.
    function _attestationDigest(uint256 rec, bytes32 domain, bytes32 policyHash)
        internal
        pure
        returns (bytes32 grantHash, bytes32 digest)
    {
        bytes32 grantType = GRANT_TYPEHASH;
        bytes32 typeHash = ATTESTATION_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            // hashStruct(Grant(sessionId, player, edge, pricePerMinute, maxMinutes, expiry, sessionKey)) of the record
            let id := calldataload(rec)
            let w1 := calldataload(add(rec, 32))
            let w2 := calldataload(add(rec, 64))
            let w3 := calldataload(add(rec, 96))
            mstore(p, grantType)
            mstore(add(p, 0x20), id)
            mstore(add(p, 0x40), shr(96, w1))
            mstore(add(p, 0x60), shr(96, w2))
            mstore(add(p, 0x80), and(w1, 0xffffffffffffffffffffffff))
            mstore(add(p, 0xa0), and(shr(64, w2), 0xffffffff))
            mstore(add(p, 0xc0), and(w2, 0xffffffffffffffff))
            mstore(add(p, 0xe0), shr(96, w3))
            grantHash := keccak256(p, 0x100)
            // hashStruct(Attestation(sessionId, grantHash, minutes, policyHash))
            mstore(p, typeHash)
            mstore(add(p, 0x40), grantHash)
            mstore(add(p, 0x60), and(shr(64, w3), 0xffffffff))
            mstore(add(p, 0x80), policyHash)
            let structHash := keccak256(p, 0xa0)
            mstore(p, 0x1901)
            mstore(add(p, 0x20), domain)
            mstore(add(p, 0x40), structHash)
            digest := keccak256(add(p, 0x1e), 0x42)
        }
    }

    /// @dev The digest the quorum signs for `count` records at `rec`: AttestationBatch(SessionMinutes[] in record
    /// order, policyHash). Leaves the grant struct hashes at memory `grants` (one word per record, kept allocated).
    function _batchDigest(uint256 rec, uint256 count, bytes32 domain, bytes32 policyHash)
        internal
        pure
        returns (uint256 grants, bytes32 digest)
    {
        bytes32 itemType = SESSION_MINUTES_TYPEHASH;
        bytes32 batchType = ATTESTATION_BATCH_TYPEHASH;
        bytes32 grantType = GRANT_TYPEHASH;
        // Memory: 0x100 bytes of scratch for hashing, then the grant hashes (kept for settling), then the item hashes.
        assembly ("memory-safe") {
            let p := mload(0x40)
            grants := add(p, 0x100)
            let items := shl(5, count)
            let h := add(grants, items)
            for {
                let g := grants
                let r := rec
            } lt(g, h) {
                g := add(g, 0x20)
                r := add(r, RECORD)
            } {
                // hashStruct(Grant(sessionId, player, edge, pricePerMinute, maxMinutes, expiry, sessionKey)) of the record
                let id := calldataload(r)
                let w1 := calldataload(add(r, 32))
                let w2 := calldataload(add(r, 64))
                let w3 := calldataload(add(r, 96))
                mstore(p, grantType)
                mstore(add(p, 0x20), id)
                mstore(add(p, 0x40), shr(96, w1))
                mstore(add(p, 0x60), shr(96, w2))
                mstore(add(p, 0x80), and(w1, 0xffffffffffffffffffffffff))
                mstore(add(p, 0xa0), and(shr(64, w2), 0xffffffff))
                mstore(add(p, 0xc0), and(w2, 0xffffffffffffffff))
                mstore(add(p, 0xe0), shr(96, w3))
                let gh := keccak256(p, 0x100)
                mstore(g, gh)
                // hashStruct(SessionMinutes(sessionId, grantHash, minutes))
                mstore(p, itemType)
                mstore(add(p, 0x40), gh)
                mstore(add(p, 0x60), and(shr(64, w3), 0xffffffff))
                mstore(add(g, items), keccak256(p, 0x80))
            }
            let arrayHash := keccak256(h, items)
            mstore(p, batchType)
            mstore(add(p, 0x20), arrayHash)
            mstore(add(p, 0x40), policyHash)
            let structHash := keccak256(p, 0x60)
            mstore(p, 0x1901)
            mstore(add(p, 0x20), domain)
            mstore(add(p, 0x40), structHash)
            digest := keccak256(add(p, 0x1e), 0x42)
            // Keep the grant hashes; the item hashes and everything after them are scratch again.
            mstore(0x40, h)
        }
    }
    /// @dev Checker block: policyHash (32) | quorum (1) | n (1) | k (1) | mask (ceil(n/8) bytes, big-endian, bit i set
    /// when the i-th checker of the ascending set signed) | the n - k checkers that did not sign (20 each, ascending)
    /// | k signatures (64 each, signers ascending). The signers are not sent: they are recovered, merged back into
    /// the set by the mask, and the whole set is checked against the config hash.
    /// Returns the absolute calldata offsets of the block and of the first record, and the policy hash.
    function _header(bytes calldata data) internal pure returns (uint256 start, uint256 rec, bytes32 policyHash) {
        if (data.length < 35) revert MalformedSettlement();
        uint256 quorum_;
        uint256 n;
        uint256 k;
        assembly ("memory-safe") {
            start := data.offset
            policyHash := calldataload(start)
            let b := calldataload(add(start, 32))
            quorum_ := byte(0, b)
            n := byte(1, b)
            k := byte(2, b)
            rec := add(add(add(start, 35), shr(3, add(n, 7))), add(mul(sub(n, k), 20), shl(6, k)))
        }
        if (k > n || rec > start + data.length) revert MalformedSettlement();
        if (k < quorum_) revert BelowQuorum(k, quorum_);
    }

    /// @dev Recovers the k signers of `digest` (strictly ascending, through the ecrecover precompile), merges them
    /// into the set by the mask and checks the set (with quorum and policy hash) against the config hash: one SLOAD
    /// proves every signer a checker. Failures take a slow path that names the precise reason.
    function _verifyQuorum(uint256 start, bytes32 digest) internal view {
        uint256 signers;
        uint256 end;
        uint256 failAt = type(uint256).max;
        address failSigner;
        bytes32 h;
        bool complete;
        assembly ("memory-safe") {
            let b := calldataload(add(start, 32))
            let n := byte(1, b)
            let k := byte(2, b)
            let m := shr(3, add(n, 7))
            let others := add(add(start, 35), m)
            let sigs := add(others, mul(sub(n, k), 20))
            let p := mload(0x40)
            signers := add(p, 0x80)
            let list := add(signers, shl(5, k))
            end := add(list, add(0x80, shl(5, n)))
            mstore(p, digest)
            let prev := 0
            let sp := signers
            for { let at := sigs } lt(sp, list) {
                at := add(at, 64)
                sp := add(sp, 0x20)
            } {
                let vs := calldataload(add(at, 32))
                let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
                mstore(0x00, 0)
                if iszero(gt(s, HALF_N)) {
                    mstore(add(p, 0x20), add(27, shr(255, vs)))
                    mstore(add(p, 0x40), calldataload(at))
                    mstore(add(p, 0x60), s)
                    pop(staticcall(gas(), 0x01, p, 0x80, 0x00, 0x20))
                }
                let signer := mload(0x00)
                mstore(sp, signer)
                if iszero(gt(signer, prev)) {
                    failAt := shr(5, sub(sp, signers))
                    failSigner := signer
                    break
                }
                prev := signer
            }
            if eq(sp, list) {
                // keccak256(abi.encode(address[] checkers, uint256 quorum, bytes32 policyHash)), as CheckerConfig stores it.
                let mask := shr(sub(256, shl(3, m)), calldataload(add(start, 35)))
                mstore(list, 0x60)
                mstore(add(list, 0x20), byte(0, b))
                mstore(add(list, 0x40), calldataload(start))
                mstore(add(list, 0x60), n)
                sp := signers
                let op := others
                for { let out := add(list, 0x80) } lt(out, end) {
                    out := add(out, 0x20)
                    mask := shr(1, mask)
                } {
                    if and(mask, 1) {
                        mstore(out, mload(sp))
                        sp := add(sp, 0x20)
                        continue
                    }
                    mstore(out, shr(96, calldataload(op)))
                    op := add(op, 20)
                }
                complete := and(eq(sp, list), eq(op, sigs))
                h := keccak256(list, sub(end, list))
            }
        }
        if (failAt != type(uint256).max) {
            // An invalid signature, or signers out of order: a signer outside the set is the clearer reason
            // (e.g. a signature over other data).
            if (failSigner == address(0)) revert NotChecker(address(0));
            _protect(end);
            _requireMembers(signers, failAt + 1);
            revert SignersNotAscending(failAt, failSigner);
        }
        if (!complete || h != configHash) {
            _protect(end);
            uint256 k;
            assembly ("memory-safe") {
                k := byte(2, calldataload(add(start, 32)))
            }
            _requireMembers(signers, k);
            revert StaleCheckerSet();
        }
    }

    /// @dev Failure paths: moves the free memory pointer past scratch data still needed.
    function _protect(uint256 end) internal pure {
        assembly ("memory-safe") {
            mstore(0x40, end)
        }
    }

    /// @dev Failure paths only: reverts NotChecker for the first recovered signer outside the current set.
    function _requireMembers(uint256 signers, uint256 count) internal view {
        address[] memory current = _checkers;
        for (uint256 i; i < count; ++i) {
            address signer;
            assembly ("memory-safe") {
                signer := mload(add(signers, shl(5, i)))
            }
            bool member;
            for (uint256 j; j < current.length && !member; ++j) member = current[j] == signer;
            if (!member) revert NotChecker(signer);
        }
    }

    /// @dev Failure path: who signed the record's grant (0 when the signature is invalid).
    function _grantSigner(uint256 rec, bytes32 domain, bytes32 grantHash) internal view returns (address signer) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, 0x1901)
            mstore(add(p, 0x20), domain)
            mstore(add(p, 0x40), grantHash)
            let digest := keccak256(add(p, 0x1e), 0x42)
            let vs := calldataload(add(rec, 152))
            let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
            if iszero(gt(s, HALF_N)) {
                mstore(p, digest)
                mstore(add(p, 0x20), add(27, shr(255, vs)))
                mstore(add(p, 0x40), calldataload(add(rec, 120)))
                mstore(add(p, 0x60), s)
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, p, 0x80, 0x00, 0x20))
                signer := mload(0x00)
            }
        }
    }

    /// @notice The EIP-712 domain separator (chain id + this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
