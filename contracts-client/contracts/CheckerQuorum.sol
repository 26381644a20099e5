// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/// @notice An EIP-2098 compact signature (r, yParity|s); 64 bytes of calldata instead of 96+.
struct Sig {
    bytes32 r;
    bytes32 vs;
}

/// @notice The checker set a caller claims is current: checked against the registry's config hash.
/// @dev `checkers` sorted strictly ascending. Passing it in calldata costs one SLOAD instead of one per signer.
struct CheckerSet {
    address[] checkers;
    uint256 quorum;
    bytes32 policyHash;
}

/// @notice The one value a CheckerRegistry exposes for on-chain verification.
interface ICheckerConfig {
    function configHash() external view returns (bytes32);
}

/// @title CheckerQuorum: k-of-n checker signature verification shared by the escrow and the staking registry.
abstract contract CheckerQuorum {
    /// @notice The CheckerSet passed does not hash to the registry's current config.
    error StaleCheckerSet();
    /// @notice Fewer signatures than the quorum.
    error BelowQuorum(uint256 signatures, uint256 quorum);
    /// @notice Recovered signers must be strictly ascending (rejects unsorted and duplicate signers).
    error SignersNotAscending(uint256 index, address signer);
    /// @notice A recovered signer is not in the checker set (also: a signature over other data).
    error NotChecker(address signer);

    ICheckerConfig public immutable checkerRegistry;

    constructor(ICheckerConfig registry) {
        checkerRegistry = registry;
    }

    /// @dev Hash of a checker set exactly as CheckerRegistry computes it.
    function _checkerSetHash(CheckerSet calldata set) internal pure returns (bytes32) {
        return keccak256(abi.encode(set.checkers, set.quorum, set.policyHash));
    }

    function _requireCurrentSet(CheckerSet calldata set) internal view {
        if (_checkerSetHash(set) != checkerRegistry.configHash()) revert StaleCheckerSet();
    }

    /// @dev Verifies at least `set.quorum` distinct checker signatures over `digest`, signers ascending.
    function _verifyQuorum(bytes32 digest, Sig[] calldata sigs, CheckerSet calldata set) internal pure {
        uint256 n = sigs.length;
        if (n < set.quorum) revert BelowQuorum(n, set.quorum);
        address[] calldata checkers = set.checkers;
        uint256 total = checkers.length;
        uint256 p;
        address prev;
        for (uint256 i; i < n; ++i) {
            address signer = ECDSA.recover(digest, sigs[i].r, sigs[i].vs);
            if (signer <= prev) revert SignersNotAscending(i, signer);
            prev = signer;
            // Both lists ascend, so one forward walk over the set checks every membership.
            while (p < total && checkers[p] < signer) ++p;
            if (p == total || checkers[p] != signer) revert NotChecker(signer);
            ++p;
        }
    }
}
