// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

/// @title CheckerConfig: the checker set, the quorum and the QoS policy hash checkers attest under.
/// @notice The owner is an OpenZeppelin TimelockController, so every change waits out the timelock delay.
/// Contracts verify signatures against `configHash`, the hash of abi.encode(checkers, quorum, policyHash).
/// The SessionEscrow inherits it (its own config slot: one cold SLOAD per settlement instead of a call);
/// CheckerRegistry is the standalone form (the staking chain).
abstract contract CheckerConfig is Ownable {
    error CheckersNotAscending(uint256 index);
    error BadQuorum(uint256 quorum, uint256 checkers);
    error AlreadyChecker(address checker);
    error UnknownChecker(address checker);
    error TooManyCheckers(uint256 checkers);

    event ConfigChanged(address[] checkers, uint256 quorum, bytes32 policyHash, bytes32 configHash);

    address[] internal _checkers;
    uint256 public quorum;
    bytes32 public policyHash;
    bytes32 public configHash;

    /// @dev Packed settlement calldata carries the set size and quorum in one byte each.
    uint256 internal constant MAX_CHECKERS = 255;

    /// @notice The current checker set, ascending.
    function checkers() external view returns (address[] memory) {
        return _checkers;
    }

    /// @notice True when `account` is a checker.
    function isChecker(address account) public view returns (bool) {
        address[] memory list = _checkers;
        for (uint256 i; i < list.length; ++i) if (list[i] == account) return true;
        return false;
    }

    /// @notice Replaces the whole config (owner = timelock).
    function setConfig(address[] calldata checkers_, uint256 quorum_, bytes32 policyHash_) external onlyOwner {
        _set(checkers_, quorum_, policyHash_);
    }

    /// @notice Adds one checker, keeping the list ascending; quorum unchanged.
    function addChecker(address checker) external onlyOwner {
        address[] memory list = _checkers;
        address[] memory next = new address[](list.length + 1);
        uint256 j;
        bool placed;
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == checker) revert AlreadyChecker(checker);
            if (!placed && checker < list[i]) {
                next[j++] = checker;
                placed = true;
            }
            next[j++] = list[i];
        }
        if (!placed) next[j] = checker;
        _set(next, quorum, policyHash);
    }

    /// @notice Removes one checker; reverts if the quorum would exceed the remaining set.
    function removeChecker(address checker) external onlyOwner {
        address[] memory list = _checkers;
        if (list.length == 0) revert UnknownChecker(checker);
        address[] memory next = new address[](list.length - 1);
        uint256 j;
        bool found;
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == checker) {
                found = true;
                continue;
            }
            if (j == next.length) revert UnknownChecker(checker);
            next[j++] = list[i];
        }
        if (!found) revert UnknownChecker(checker);
        _set(next, quorum, policyHash);
    }

    function _set(address[] memory checkers_, uint256 quorum_, bytes32 policyHash_) internal {
        if (checkers_.length > MAX_CHECKERS) revert TooManyCheckers(checkers_.length);
        for (uint256 i = 1; i < checkers_.length; ++i) {
            if (checkers_[i] <= checkers_[i - 1]) revert CheckersNotAscending(i);
        }
        if (quorum_ == 0 || quorum_ > checkers_.length) revert BadQuorum(quorum_, checkers_.length);
        _checkers = checkers_;
        quorum = quorum_;
        policyHash = policyHash_;
        bytes32 h = keccak256(abi.encode(checkers_, quorum_, policyHash_));
        configHash = h;
        emit ConfigChanged(checkers_, quorum_, policyHash_, h);
    }
}

/// @title CheckerRegistry: the standalone checker config (staking chain), owned by a TimelockController.
/// @notice Also where checkers publish their endpoints: each registered checker sets, from its own key, the base URL
/// of its HTTP API; matchmakers assign sessions from `endpoints()`. A removed checker drops out of `endpoints()`
/// (its stored URL is kept but no longer listed). Only here, not in the escrow's CheckerConfig: every function the
/// escrow has lengthens the dispatch before `settle`.
contract CheckerRegistry is CheckerConfig {
    error EndpointTooLong(uint256 length);

    event EndpointChanged(address indexed checker, string endpoint);

    /// @notice Longest endpoint URL, bytes.
    uint256 public constant MAX_ENDPOINT = 256;

    /// @notice The base URL a checker published ("" when none).
    mapping(address checker => string) public endpointOf;

    constructor(address owner_, address[] memory checkers_, uint256 quorum_, bytes32 policyHash_) Ownable(owner_) {
        _set(checkers_, quorum_, policyHash_);
    }

    /// @notice Publishes (or clears, with "") the caller's endpoint; the caller must be a current checker.
    function setEndpoint(string calldata endpoint) external {
        if (!isChecker(msg.sender)) revert UnknownChecker(msg.sender);
        if (bytes(endpoint).length > MAX_ENDPOINT) revert EndpointTooLong(bytes(endpoint).length);
        endpointOf[msg.sender] = endpoint;
        emit EndpointChanged(msg.sender, endpoint);
    }

    /// @notice The current checkers, ascending, with the endpoint each published ("" when none).
    function endpoints() external view returns (address[] memory list, string[] memory urls) {
        list = _checkers;
        urls = new string[](list.length);
        for (uint256 i; i < list.length; ++i) urls[i] = endpointOf[list[i]];
    }
}
