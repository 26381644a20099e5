// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {CheckerConfig} from "./CheckerRegistry.sol";

/// @title SessionEscrow: per-minute ATH settlement of play sessions, gated by a checker quorum.
/// @notice Players deposit ATH; an edge is paid (attested minutes not yet paid) x price, never beyond the grant;
/// the protocol fee (capped) is taken when the edge withdraws. Withdrawals wait out an unlock delay so they
/// cannot front-run a pending settlement: settlement keeps drawing on the whole balance during the delay.
/// The escrow is its own checker config (CheckerConfig, owned by the timelock).
///
/// Settlement calldata is one packed blob (see contracts-client/src/escrow.ts `encodeSettlement`):
///   checker block: policyHash (32) | quorum (1) | n (1) | k (1) | signer mask (ceil(n/8)) | the n - k checkers
///   that did not sign (20 each, ascending) | k sigs (64 each, signers ascending)
///   then per session a 184-byte record:
///   sessionId (32) | player (20) | pricePerMinute (12) | edge (20) | maxMinutes (4) | expiry (8) | sessionKey (20)
///   | minutes (4) | grant r (32) | grant vs (32)
/// Signatures are EIP-2098 compact (r, yParity|s). The EIP-712 types are unchanged (protocol/eip712.ts).
contract SessionEscrow is EIP712, CheckerConfig {
    using SafeERC20 for IERC20;

    error ZeroAmount();
    error GrantExpired(bytes32 sessionId, uint64 expiry);
    error BadGrantSignature(bytes32 sessionId, address signer);
    error MinutesBeyondGrant(bytes32 sessionId, uint32 minutes_, uint32 maxMinutes);
    error NothingToSettle(bytes32 sessionId, uint32 minutes_, uint32 paidMinutes);
    error InsufficientBalance(address player, uint256 balance, uint256 amount);
    error NoWithdrawalRequested();
    error WithdrawalLocked(uint32 unlockAt);
    error FeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    error AmountTooLarge();
    error EmptyBatch();
    error MalformedSettlement();
    /// @notice The checker set passed does not hash to the current config.
    error StaleCheckerSet();
    /// @notice Fewer signatures than the quorum.
    error BelowQuorum(uint256 signatures, uint256 quorum);
    /// @notice Recovered signers must be strictly ascending (rejects unsorted and duplicate signers).
    error SignersNotAscending(uint256 index, address signer);
    /// @notice A recovered signer is not in the checker set (also: a signature over other data).
    error NotChecker(address signer);

    event Deposited(address indexed player, uint256 amount, uint256 balance);
    event WithdrawalRequested(address indexed player, uint256 amount, uint32 unlockAt);
    event Withdrawn(address indexed player, uint256 amount);
    /// @notice `amount` is gross: the fee is taken from the edge's earnings when it withdraws.
    event Settled(bytes32 indexed sessionId, address indexed player, address indexed edge, uint32 paidMinutes, uint256 amount);
    event EarningsWithdrawn(address indexed edge, address to, uint256 amount, uint256 fee);
    event FeeChanged(uint16 feeBps, address treasury);

    bytes32 public constant GRANT_TYPEHASH = keccak256(
        "Grant(bytes32 sessionId,address player,address edge,uint96 pricePerMinute,uint32 maxMinutes,uint64 expiry,address sessionKey)"
    );
    bytes32 public constant ATTESTATION_TYPEHASH =
        keccak256("Attestation(bytes32 sessionId,uint32 minutes,bytes32 policyHash)");
    bytes32 public constant SESSION_MINUTES_TYPEHASH = keccak256("SessionMinutes(bytes32 sessionId,uint32 minutes)");
    bytes32 public constant ATTESTATION_BATCH_TYPEHASH = keccak256(
        "AttestationBatch(SessionMinutes[] sessions,bytes32 policyHash)SessionMinutes(bytes32 sessionId,uint32 minutes)"
    );
    uint16 public constant MAX_FEE_BPS = 1000;
    /// @notice Paid minutes are 16-bit lanes: a session settles at most 65 535 minutes (45 days).
    uint32 public constant MAX_SESSION_MINUTES = 0xffff;

    uint256 private constant RECORD = 184;
    uint256 private constant LANES = (1 << 128) - 1;
    /// @dev secp256k1n / 2: larger s values are the malleable twin and are refused.
    uint256 private constant HALF_N = 0x7FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF5D576E7357A4501DDFE92F46681B20A0;

    /// @dev One slot per player: balance, the requested withdrawal and when it unlocks.
    struct Account {
        uint128 balance;
        uint96 withdrawAmount;
        uint32 unlockAt;
    }

    IERC20 public immutable token;
    uint32 public immutable withdrawDelay;
    uint16 public feeBps;
    address public treasury;

    mapping(address player => Account) public accounts;
    /// @dev Per edge, one word per 8 sessions (word = sessionId >> 3, lane = sessionId & 7): the low 128 bits are
    /// eight 16-bit paid-minutes lanes, the high 128 bits the edge's gross unwithdrawn earnings on those sessions.
    /// A settlement writes one word (replay guard and earnings together); sessions whose ids differ only in the low
    /// 3 bits share it, so 7 of 8 settlements write a warm word instead of a fresh 20 000-gas one.
    mapping(address edge => mapping(uint256 word => uint256)) private _ledger;

    constructor(
        IERC20 token_,
        address owner_,
        address treasury_,
        uint16 feeBps_,
        uint32 withdrawDelay_,
        address[] memory checkers_,
        uint256 quorum_,
        bytes32 policyHash_
    ) EIP712("Farplay SessionEscrow", "1") Ownable(owner_) {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        token = token_;
        withdrawDelay = withdrawDelay_;
        feeBps = feeBps_;
        treasury = treasury_;
        _set(checkers_, quorum_, policyHash_);
    }

    // ------------------------------------------------------------------ player

    /// @notice Adds `amount` ATH (pulled with transferFrom) to the caller's balance.
    function deposit(uint256 amount) external {
        depositFor(msg.sender, amount);
    }

    /// @notice Adds `amount` ATH (pulled from the caller) to `player`'s balance.
    function depositFor(address player, uint256 amount) public {
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        Account storage a = accounts[player];
        uint256 balance = uint256(a.balance) + amount;
        if (balance > type(uint128).max) revert AmountTooLarge();
        a.balance = uint128(balance);
        emit Deposited(player, amount, balance);
    }

    /// @notice Starts the unlock delay for withdrawing `amount`; replaces any earlier request.
    function requestWithdraw(uint256 amount) external {
        if (amount == 0) revert ZeroAmount();
        if (amount > type(uint96).max) revert AmountTooLarge();
        Account storage a = accounts[msg.sender];
        if (amount > a.balance) revert InsufficientBalance(msg.sender, a.balance, amount);
        uint32 unlockAt = uint32(block.timestamp) + withdrawDelay;
        a.withdrawAmount = uint96(amount);
        a.unlockAt = unlockAt;
        emit WithdrawalRequested(msg.sender, amount, unlockAt);
    }

    /// @notice After the delay, pays out the requested amount, or the balance left if settlements used some.
    function withdraw() external {
        Account memory a = accounts[msg.sender];
        if (a.withdrawAmount == 0) revert NoWithdrawalRequested();
        if (block.timestamp < a.unlockAt) revert WithdrawalLocked(a.unlockAt);
        uint128 amount = a.withdrawAmount < a.balance ? a.withdrawAmount : a.balance;
        accounts[msg.sender] = Account({balance: a.balance - amount, withdrawAmount: 0, unlockAt: 0});
        if (amount > 0) token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    // ------------------------------------------------------------------ settlement

    /// @notice Settles one session: checker block + one record; the quorum signs
    /// Attestation(sessionId, minutes, policyHash).
    function settle(bytes calldata data) external {
        (uint256 start, uint256 rec, bytes32 policyHash) = _header(data);
        if (start + data.length - rec != RECORD) revert MalformedSettlement();
        bytes32 structHash;
        bytes32 typeHash = ATTESTATION_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, typeHash)
            mstore(add(p, 0x20), calldataload(rec))
            mstore(add(p, 0x40), shr(224, calldataload(add(rec, 116))))
            mstore(add(p, 0x60), policyHash)
            structHash := keccak256(p, 0x80)
        }
        _verifyQuorum(start, _hashTypedDataV4(structHash));
        _settleRecord(rec);
    }

    /// @notice Settles many sessions: checker block + records; the quorum signs one
    /// AttestationBatch(SessionMinutes[] in record order, policyHash).
    function batchSettle(bytes calldata data) external {
        (uint256 start, uint256 rec, bytes32 policyHash) = _header(data);
        uint256 bytesLeft = start + data.length - rec;
        uint256 count = bytesLeft / RECORD;
        if (count == 0) revert EmptyBatch();
        if (count * RECORD != bytesLeft) revert MalformedSettlement();
        bytes32 structHash;
        bytes32 itemType = SESSION_MINUTES_TYPEHASH;
        bytes32 batchType = ATTESTATION_BATCH_TYPEHASH;
        assembly ("memory-safe") {
            let p := mload(0x40)
            let h := add(p, 0x60)
            for { let i := 0 } lt(i, count) { i := add(i, 1) } {
                let r := add(rec, mul(i, RECORD))
                mstore(p, itemType)
                mstore(add(p, 0x20), calldataload(r))
                mstore(add(p, 0x40), shr(224, calldataload(add(r, 116))))
                mstore(add(h, shl(5, i)), keccak256(p, 0x60))
            }
            let arrayHash := keccak256(h, shl(5, count))
            mstore(p, batchType)
            mstore(add(p, 0x20), arrayHash)
            mstore(add(p, 0x40), policyHash)
            structHash := keccak256(p, 0x60)
        }
        _verifyQuorum(start, _hashTypedDataV4(structHash));
        for (uint256 i; i < count; ++i) {
            _settleRecord(rec + i * RECORD);
        }
    }

    /// @dev Checker block: policyHash (32) | quorum (1) | n (1) | k (1) | mask (ceil(n/8) bytes, big-endian, bit i set
    /// when the i-th checker of the ascending set signed) | the n - k checkers that did not sign (20 each, ascending)
    /// | k signatures (64 each, signers ascending). The signers are not sent: they are recovered, merged back into
    /// the set by the mask, and the whole set is checked against the config hash.
    /// Returns the absolute calldata offsets of the block and of the first record, and the policy hash.
    function _header(bytes calldata data) private pure returns (uint256 start, uint256 rec, bytes32 policyHash) {
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

    /// @dev Recovers the k signers of `digest` (strictly ascending), merges them into the set by the mask and checks
    /// the set (with quorum and policy hash) against the config hash: one SLOAD proves every signer a checker.
    function _verifyQuorum(uint256 start, bytes32 digest) private view {
        uint256 n;
        uint256 k;
        uint256 list;
        uint256 signers;
        assembly ("memory-safe") {
            let b := calldataload(add(start, 32))
            n := byte(1, b)
            k := byte(2, b)
            signers := add(mload(0x40), 0x80)
            list := add(signers, shl(5, k))
        }
        {
            uint256 sigs = start + 35 + ((n + 7) >> 3) + (n - k) * 20;
            address prev;
            for (uint256 i; i < k; ++i) {
                bytes32 r;
                bytes32 vs;
                assembly ("memory-safe") {
                    let at := add(sigs, shl(6, i))
                    r := calldataload(at)
                    vs := calldataload(add(at, 32))
                }
                address signer = _recover(digest, r, vs);
                if (signer == address(0)) revert NotChecker(address(0));
                assembly ("memory-safe") {
                    mstore(add(signers, shl(5, i)), signer)
                }
                if (signer <= prev) {
                    // Failure path: a signer outside the set is the clearer reason (e.g. a signature over other data).
                    _protect(list + (k << 5));
                    _requireMembers(signers, i + 1);
                    revert SignersNotAscending(i, signer);
                }
                prev = signer;
            }
        }
        bytes32 h;
        bool complete;
        assembly ("memory-safe") {
            // keccak256(abi.encode(address[] checkers, uint256 quorum, bytes32 policyHash)), as CheckerConfig stores it.
            let b := calldataload(add(start, 32))
            let m := shr(3, add(n, 7))
            let mask := shr(sub(256, shl(3, m)), calldataload(add(start, 35)))
            let others := add(add(start, 35), m)
            mstore(list, 0x60)
            mstore(add(list, 0x20), byte(0, b))
            mstore(add(list, 0x40), calldataload(start))
            mstore(add(list, 0x60), n)
            let si := 0
            let oi := 0
            let out := add(list, 0x80)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                switch and(shr(i, mask), 1)
                case 1 {
                    mstore(add(out, shl(5, i)), mload(add(signers, shl(5, si))))
                    si := add(si, 1)
                }
                default {
                    mstore(add(out, shl(5, i)), shr(96, calldataload(add(others, mul(oi, 20)))))
                    oi := add(oi, 1)
                }
            }
            complete := and(eq(si, k), eq(oi, sub(n, k)))
            h := keccak256(list, add(0x80, shl(5, n)))
        }
        if (!complete || h != configHash) {
            _protect(list + 0x80 + (n << 5));
            _requireMembers(signers, k);
            revert StaleCheckerSet();
        }
    }

    /// @dev Failure paths: moves the free memory pointer past scratch data still needed.
    function _protect(uint256 end) private pure {
        assembly ("memory-safe") {
            mstore(0x40, end)
        }
    }

    /// @dev Failure paths only: reverts NotChecker for the first recovered signer outside the current set.
    function _requireMembers(uint256 signers, uint256 count) private view {
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

    /// @dev ecrecover of an EIP-2098 compact signature through the precompile; 0 when invalid or malleable.
    function _recover(bytes32 digest, bytes32 r, bytes32 vs) private view returns (address signer) {
        assembly ("memory-safe") {
            let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
            if iszero(gt(s, HALF_N)) {
                let p := mload(0x40)
                mstore(p, digest)
                mstore(add(p, 0x20), add(27, shr(255, vs)))
                mstore(add(p, 0x40), r)
                mstore(add(p, 0x60), s)
                mstore(0x00, 0)
                pop(staticcall(gas(), 0x01, p, 0x80, 0x00, 0x20))
                signer := mload(0x00)
            }
        }
    }

    /// @dev Checks one record's grant and pays (minutes - paid) x price from the player's balance to the edge's word.
    function _settleRecord(uint256 rec) private {
        bytes32 sessionId;
        address player;
        uint256 price;
        address edge;
        uint256 maxMinutes;
        uint256 expiry;
        uint256 minutes_;
        bytes32 structHash;
        bytes32 typeHash = GRANT_TYPEHASH;
        assembly ("memory-safe") {
            sessionId := calldataload(rec)
            let w1 := calldataload(add(rec, 32))
            player := shr(96, w1)
            price := and(w1, 0xffffffffffffffffffffffff)
            let w2 := calldataload(add(rec, 64))
            edge := shr(96, w2)
            maxMinutes := and(shr(64, w2), 0xffffffff)
            expiry := and(w2, 0xffffffffffffffff)
            let w3 := calldataload(add(rec, 96))
            minutes_ := and(shr(64, w3), 0xffffffff)
            let p := mload(0x40)
            mstore(p, typeHash)
            mstore(add(p, 0x20), sessionId)
            mstore(add(p, 0x40), player)
            mstore(add(p, 0x60), edge)
            mstore(add(p, 0x80), price)
            mstore(add(p, 0xa0), maxMinutes)
            mstore(add(p, 0xc0), expiry)
            mstore(add(p, 0xe0), shr(96, w3))
            structHash := keccak256(p, 0x100)
        }
        if (block.timestamp > expiry) revert GrantExpired(sessionId, uint64(expiry));
        if (minutes_ > maxMinutes) revert MinutesBeyondGrant(sessionId, uint32(minutes_), uint32(maxMinutes));
        if (minutes_ > MAX_SESSION_MINUTES) {
            revert MinutesBeyondGrant(sessionId, uint32(minutes_), MAX_SESSION_MINUTES);
        }
        {
            bytes32 r;
            bytes32 vs;
            assembly ("memory-safe") {
                r := calldataload(add(rec, 120))
                vs := calldataload(add(rec, 152))
            }
            address signer = _recover(_hashTypedDataV4(structHash), r, vs);
            if (signer != player || signer == address(0)) revert BadGrantSignature(sessionId, signer);
        }

        uint256 amount;
        {
            mapping(uint256 => uint256) storage words = _ledger[edge];
            uint256 word = uint256(sessionId) >> 3;
            uint256 shift = (uint256(sessionId) & 7) << 4;
            uint256 value = words[word];
            uint256 paid = (value >> shift) & 0xffff;
            if (minutes_ <= paid) revert NothingToSettle(sessionId, uint32(minutes_), uint32(paid));
            uint256 earned;
            unchecked {
                // < 2^16 x 2^96: no overflow; earnings are checked against 128 bits below.
                amount = (minutes_ - paid) * price;
                earned = (value >> 128) + amount;
            }
            if (earned > type(uint128).max) revert AmountTooLarge();
            words[word] = (earned << 128) | (value & LANES & ~(uint256(0xffff) << shift)) | (minutes_ << shift);
        }
        Account storage a = accounts[player];
        uint128 balance = a.balance;
        if (amount > balance) revert InsufficientBalance(player, balance, amount);
        unchecked {
            a.balance = balance - uint128(amount);
        }
        emit Settled(sessionId, player, edge, uint32(minutes_), amount);
    }

    // ------------------------------------------------------------------ edges, treasury, views

    /// @notice The edge key withdraws its gross earnings on `sessionIds` (any one id per 8-session word is enough)
    /// to `to`, minus the protocol fee at the current rate, which goes to the treasury.
    function withdrawEarnings(address to, bytes32[] calldata sessionIds) external {
        mapping(uint256 => uint256) storage words = _ledger[msg.sender];
        uint256 gross;
        for (uint256 i; i < sessionIds.length; ++i) {
            uint256 word = uint256(sessionIds[i]) >> 3;
            uint256 value = words[word];
            if (value > LANES) {
                gross += value >> 128;
                words[word] = value & LANES;
            }
        }
        if (gross == 0) revert ZeroAmount();
        uint256 fee = gross * feeBps / 10_000;
        uint256 net = gross - fee;
        token.safeTransfer(to, net);
        if (fee > 0) token.safeTransfer(treasury, fee);
        emit EarningsWithdrawn(msg.sender, to, net, fee);
    }

    /// @notice Gross unwithdrawn earnings of `edge` on the words of `sessionIds` (each word counted once).
    function earnings(address edge, bytes32[] calldata sessionIds) external view returns (uint256 gross) {
        mapping(uint256 => uint256) storage words = _ledger[edge];
        for (uint256 i; i < sessionIds.length; ++i) {
            uint256 word = uint256(sessionIds[i]) >> 3;
            bool seen;
            for (uint256 j; j < i && !seen; ++j) seen = uint256(sessionIds[j]) >> 3 == word;
            if (!seen) gross += words[word] >> 128;
        }
    }

    /// @notice Sets the protocol fee (at most MAX_FEE_BPS) and the treasury; owner only (the timelock).
    /// The fee applies to earnings withdrawn after the change, so edges can withdraw during the timelock delay.
    function setFee(uint16 feeBps_, address treasury_) external onlyOwner {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        feeBps = feeBps_;
        treasury = treasury_;
        emit FeeChanged(feeBps_, treasury_);
    }

    /// @notice Minutes already paid for `sessionId` to `edge`.
    function paidMinutes(address edge, bytes32 sessionId) external view returns (uint32) {
        return uint32((_ledger[edge][uint256(sessionId) >> 3] >> ((uint256(sessionId) & 7) << 4)) & 0xffff);
    }

    /// @notice The EIP-712 domain separator (chain id + this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
