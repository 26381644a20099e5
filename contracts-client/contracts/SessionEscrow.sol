// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {SettlementVerifier} from "./SettlementVerifier.sol";

/// @title SessionEscrow: per-minute ATH settlement of play sessions, gated by a checker quorum.
/// @notice Players deposit ATH; an edge is paid (attested minutes not yet paid) x price, never beyond the grant;
/// the protocol fee (capped) is taken when the edge withdraws. A withdrawal request unlocks after `withdrawDelay`
/// and can be claimed only during the `withdrawClaimWindow` that follows; then it expires. Settlement keeps drawing
/// on the whole balance until the withdrawal is paid. Invariant (contracts-client/README.md): a session whose
/// grant the player's available balance (`playerBalance`: balance minus a pending withdrawal) covered when it
/// started is paid in full if the edge settles it within `withdrawDelay` of that start.
/// The escrow is its own checker config (CheckerConfig via SettlementVerifier, owned by the timelock).
///
/// Settlement calldata is one packed blob (see contracts-client/src/escrow.ts `encodeSettlement`):
///   checker block: policyHash (32) | quorum (1) | n (1) | k (1) | signer mask (ceil(n/8)) | the n - k checkers
///   that did not sign (20 each, ascending) | k sigs (64 each, signers ascending)
///   then per session a 184-byte record:
///   sessionId (32) | player (20) | pricePerMinute (12) | edge (20) | maxMinutes (4) | expiry (8) | sessionKey (20)
///   | minutes (4) | grant r (32) | grant vs (32)
/// Signature checks (checker quorum, grant signer) and the EIP-712 typehashes are in SettlementVerifier.sol.
contract SessionEscrow is SettlementVerifier {
    using SafeERC20 for IERC20;

    error ZeroAmount();
    error GrantExpired(bytes32 sessionId, uint64 expiry);
    error BadGrantSignature(bytes32 sessionId, address signer);
    error MinutesBeyondGrant(bytes32 sessionId, uint32 minutes_, uint32 maxMinutes);
    error NothingToSettle(bytes32 sessionId, uint32 minutes_, uint32 paidMinutes);
    error InsufficientBalance(address player, uint256 balance, uint256 amount);
    error NoWithdrawalRequested();
    error WithdrawalLocked(uint32 unlockAt);
    /// @notice The request's claim window passed: request again (and wait out the delay again).
    error WithdrawalExpired(uint256 expiredAt);
    error ZeroTreasury();
    error ZeroDelay();
    error FeeTooHigh(uint16 feeBps, uint16 maxFeeBps);
    error AmountTooLarge();
    error EmptyBatch();

    event Deposited(address indexed player, uint256 amount, uint256 balance);
    event WithdrawalRequested(address indexed player, uint256 amount, uint32 unlockAt);
    event Withdrawn(address indexed player, uint256 amount);
    /// @notice `amount` is gross: the fee is taken from the edge's earnings when it withdraws.
    event Settled(bytes32 indexed sessionId, address indexed player, address indexed edge, uint32 paidMinutes, uint256 amount);
    /// @notice batchSettle left record `index` unsettled. `reason`: 1 grant expired, 2 minutes beyond the grant,
    /// 3 bad grant signature, 4 nothing to settle, 5 earnings overflow, 6 insufficient balance.
    event SettlementSkipped(bytes32 indexed sessionId, address indexed edge, uint256 index, uint8 reason);
    event EarningsWithdrawn(address indexed edge, address to, uint256 amount, uint256 fee);
    event FeeChanged(uint16 feeBps, address treasury);

    uint16 public constant MAX_FEE_BPS = 1000;
    /// @notice Paid minutes are 16-bit lanes: a session settles at most 65 535 minutes (45 days).
    uint32 public constant MAX_SESSION_MINUTES = 0xffff;
    /// @dev Why batchSettle skipped a record (SettlementSkipped.reason); `settle` reverts with the matching error.
    /// Private (no getters): every public function lengthens the dispatcher walk before `settle`.
    uint8 private constant SKIP_GRANT_EXPIRED = 1; // GrantExpired
    uint8 private constant SKIP_BEYOND_GRANT = 2; // MinutesBeyondGrant
    uint8 private constant SKIP_BAD_GRANT_SIGNATURE = 3; // BadGrantSignature
    uint8 private constant SKIP_NOTHING_TO_SETTLE = 4; // NothingToSettle
    uint8 private constant SKIP_AMOUNT_TOO_LARGE = 5; // AmountTooLarge (the edge's earnings word would overflow)
    uint8 private constant SKIP_INSUFFICIENT_BALANCE = 6; // InsufficientBalance

    uint256 private constant LANES = (1 << 128) - 1;
    /// @dev keccak256("Settled(bytes32,address,address,uint32,uint256)"), emitted from assembly.
    bytes32 private constant SETTLED_EVENT = keccak256("Settled(bytes32,address,address,uint32,uint256)");

    /// @dev One slot per player: balance, the requested withdrawal and when it unlocks.
    struct Account {
        uint128 balance;
        uint96 withdrawAmount;
        uint32 unlockAt;
    }

    IERC20 public immutable token;
    uint32 public immutable withdrawDelay;
    /// @notice Seconds after unlock during which a withdrawal request can be claimed; later it has expired.
    uint32 public immutable withdrawClaimWindow;
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
        uint32 withdrawClaimWindow_,
        address[] memory checkers_,
        uint256 quorum_,
        bytes32 policyHash_
    ) EIP712("Farplay SessionEscrow", "1") Ownable(owner_) {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        if (treasury_ == address(0)) revert ZeroTreasury();
        if (withdrawDelay_ == 0 || withdrawClaimWindow_ == 0) revert ZeroDelay();
        token = token_;
        withdrawDelay = withdrawDelay_;
        withdrawClaimWindow = withdrawClaimWindow_;
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

    /// @notice Starts the unlock delay for withdrawing `amount`; replaces any earlier request (whose delay then
    /// starts again). Claim it with `withdraw` after `withdrawDelay`, within `withdrawClaimWindow`.
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

    /// @notice After the delay and within the claim window, pays out the requested amount, or the balance left if
    /// settlements used some. An expired request pays nothing: request again.
    function withdraw() external {
        Account memory a = accounts[msg.sender];
        if (a.withdrawAmount == 0) revert NoWithdrawalRequested();
        if (block.timestamp < a.unlockAt) revert WithdrawalLocked(a.unlockAt);
        uint256 expiresAt = uint256(a.unlockAt) + withdrawClaimWindow;
        if (block.timestamp > expiresAt) revert WithdrawalExpired(expiresAt);
        uint128 amount = a.withdrawAmount < a.balance ? a.withdrawAmount : a.balance;
        accounts[msg.sender] = Account({balance: a.balance - amount, withdrawAmount: 0, unlockAt: 0});
        if (amount > 0) token.safeTransfer(msg.sender, amount);
        emit Withdrawn(msg.sender, amount);
    }

    /// @notice `player`'s balance, the withdrawal still pending (requested, not expired, at most the balance), what
    /// is available for new sessions (balance - pending), and when the pending request unlocks and expires (0 when
    /// none is pending). A matchmaker starts a session only when `available` covers its grant.
    function playerBalance(address player)
        external
        view
        returns (uint256 balance, uint256 pendingWithdrawal, uint256 available, uint32 unlockAt, uint32 expiresAt)
    {
        Account memory a = accounts[player];
        balance = a.balance;
        uint256 expiry = uint256(a.unlockAt) + withdrawClaimWindow;
        if (a.withdrawAmount != 0 && block.timestamp <= expiry) {
            pendingWithdrawal = a.withdrawAmount < a.balance ? a.withdrawAmount : a.balance;
            unlockAt = a.unlockAt;
            expiresAt = expiry > type(uint32).max ? type(uint32).max : uint32(expiry);
        }
        available = balance - pendingWithdrawal;
    }

    // ------------------------------------------------------------------ settlement

    /// @notice Settles one session: checker block + one record; the quorum signs
    /// Attestation(sessionId, grantHash, minutes, policyHash) for the record's grant.
    function settle(bytes calldata data) external {
        (uint256 start, uint256 rec, bytes32 policyHash) = _header(data);
        if (start + data.length - rec != RECORD) revert MalformedSettlement();
        bytes32 domain = _domainSeparatorV4();
        (bytes32 grantHash, bytes32 digest) = _attestationDigest(rec, domain, policyHash);
        _verifyQuorum(start, digest);
        uint256 failure = _settleRecord(rec, domain, grantHash);
        if (failure != 0) _settleFailure(rec, domain, grantHash, failure);
    }

    /// @notice Settles many sessions: checker block + records; the quorum signs one
    /// AttestationBatch(SessionMinutes(sessionId, grantHash, minutes)[] in record order, policyHash).
    /// A record that cannot be settled (expired grant, drained player, already paid, ...) is skipped with a
    /// SettlementSkipped event naming its reason; the others settle. Only a batch where nothing settles reverts,
    /// with the first record's error. A bad quorum still reverts the whole batch (the signatures cover all of it).
    function batchSettle(bytes calldata data) external {
        (uint256 start, uint256 rec, bytes32 policyHash) = _header(data);
        uint256 bytesLeft = start + data.length - rec;
        uint256 count = bytesLeft / RECORD;
        if (count == 0) revert EmptyBatch();
        if (count * RECORD != bytesLeft) revert MalformedSettlement();
        bytes32 domain = _domainSeparatorV4();
        (uint256 grants, bytes32 digest) = _batchDigest(rec, count, domain, policyHash);
        _verifyQuorum(start, digest);
        uint256 settled;
        uint256 firstFailure;
        uint256 firstIndex;
        for (uint256 i; i < count; ++i) {
            uint256 r;
            bytes32 grantHash;
            assembly ("memory-safe") {
                r := add(rec, mul(i, RECORD))
                grantHash := mload(add(grants, shl(5, i)))
            }
            uint256 failure = _settleRecord(r, domain, grantHash);
            if (failure == 0) {
                ++settled;
                continue;
            }
            if (firstFailure == 0) {
                firstFailure = failure;
                firstIndex = i;
            }
            _skipped(r, i, failure);
        }
        if (settled == 0) {
            uint256 r = rec + firstIndex * RECORD;
            bytes32 grantHash;
            assembly ("memory-safe") {
                grantHash := mload(add(grants, shl(5, firstIndex)))
            }
            _settleFailure(r, domain, grantHash, firstFailure);
        }
    }

    /// @dev Emits SettlementSkipped for the record at calldata offset `rec`.
    function _skipped(uint256 rec, uint256 index, uint256 failure) private {
        bytes32 sessionId;
        address edge;
        assembly ("memory-safe") {
            sessionId := calldataload(rec)
            edge := shr(96, calldataload(add(rec, 64)))
        }
        emit SettlementSkipped(sessionId, edge, index, uint8(failure));
    }

    /// @dev Checks one record's grant (`grantHash`: its struct hash, already bound into the checkers' attestation)
    /// and pays (minutes - paid) x price from the player's balance to the edge's word. Returns 0, or the SKIP_* code
    /// of why nothing was written.
    function _settleRecord(uint256 rec, bytes32 domain, bytes32 grantHash) private returns (uint256 failure) {
        bytes32 settledEvent = SETTLED_EVENT;
        assembly ("memory-safe") {
            let sessionId := calldataload(rec)
            let w1 := calldataload(add(rec, 32))
            let player := shr(96, w1)
            let price := and(w1, 0xffffffffffffffffffffffff)
            let w2 := calldataload(add(rec, 64))
            let edge := shr(96, w2)
            let maxMinutes := and(shr(64, w2), 0xffffffff)
            let expiry := and(w2, 0xffffffffffffffff)
            let w3 := calldataload(add(rec, 96))
            let minutes_ := and(shr(64, w3), 0xffffffff)
            // failure codes: 1 expired, 2 beyond grant, 3 bad grant signature, 4 nothing to settle,
            // 5 earnings overflow, 6 insufficient balance
            for {} 1 {} {
                if gt(timestamp(), expiry) {
                    failure := 1
                    break
                }
                if or(gt(minutes_, maxMinutes), gt(minutes_, 0xffff)) {
                    failure := 2
                    break
                }
                let p := mload(0x40)
                mstore(p, 0x1901)
                mstore(add(p, 0x20), domain)
                mstore(add(p, 0x40), grantHash)
                let digest := keccak256(add(p, 0x1e), 0x42)
                let vs := calldataload(add(rec, 152))
                let s := and(vs, 0x7fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff)
                let signer := 0
                if iszero(gt(s, HALF_N)) {
                    mstore(p, digest)
                    mstore(add(p, 0x20), add(27, shr(255, vs)))
                    mstore(add(p, 0x40), calldataload(add(rec, 120)))
                    mstore(add(p, 0x60), s)
                    mstore(0x00, 0)
                    pop(staticcall(gas(), 0x01, p, 0x80, 0x00, 0x20))
                    signer := mload(0x00)
                }
                if or(iszero(signer), iszero(eq(signer, player))) {
                    failure := 3
                    break
                }
                // _ledger[edge][sessionId >> 3]
                mstore(0x00, edge)
                mstore(0x20, _ledger.slot)
                mstore(0x20, keccak256(0x00, 0x40))
                mstore(0x00, shr(3, sessionId))
                let wordSlot := keccak256(0x00, 0x40)
                let value := sload(wordSlot)
                let shift := shl(4, and(sessionId, 7))
                let paid := and(shr(shift, value), 0xffff)
                if iszero(gt(minutes_, paid)) {
                    failure := 4
                    break
                }
                let amount := mul(sub(minutes_, paid), price)
                let earned := add(shr(128, value), amount)
                if gt(earned, 0xffffffffffffffffffffffffffffffff) {
                    failure := 5
                    break
                }
                // accounts[player].balance (low 128 bits of the slot)
                mstore(0x00, player)
                mstore(0x20, accounts.slot)
                let accountSlot := keccak256(0x00, 0x40)
                let account := sload(accountSlot)
                let bal := and(account, 0xffffffffffffffffffffffffffffffff)
                if gt(amount, bal) {
                    failure := 6
                    break
                }
                sstore(
                    wordSlot,
                    or(
                        or(shl(128, earned), and(and(value, LANES), not(shl(shift, 0xffff)))),
                        shl(shift, minutes_)
                    )
                )
                sstore(accountSlot, sub(account, amount))
                // emit Settled(sessionId, player, edge, minutes, amount)
                mstore(p, minutes_)
                mstore(add(p, 0x20), amount)
                log4(p, 0x40, settledEvent, sessionId, player, edge)
                break
            }
        }
    }

    /// @dev Failure path: decodes the record again and reverts with the precise error.
    function _settleFailure(uint256 rec, bytes32 domain, bytes32 grantHash, uint256 failure) private view {
        bytes32 sessionId;
        address player;
        uint256 w2;
        uint256 minutes_;
        assembly ("memory-safe") {
            sessionId := calldataload(rec)
            player := shr(96, calldataload(add(rec, 32)))
            w2 := calldataload(add(rec, 64))
            minutes_ := and(shr(64, calldataload(add(rec, 96))), 0xffffffff)
        }
        if (failure == 1) revert GrantExpired(sessionId, uint64(w2));
        if (failure == 2) {
            uint32 maxMinutes = uint32(w2 >> 64);
            revert MinutesBeyondGrant(
                sessionId, uint32(minutes_), maxMinutes < MAX_SESSION_MINUTES ? maxMinutes : MAX_SESSION_MINUTES
            );
        }
        if (failure == 3) revert BadGrantSignature(sessionId, _grantSigner(rec, domain, grantHash));
        if (failure == 4) {
            revert NothingToSettle(sessionId, uint32(minutes_), uint32(_paidMinutes(address(uint160(w2 >> 96)), sessionId)));
        }
        if (failure == 5) revert AmountTooLarge();
        uint256 balance = accounts[player].balance;
        uint256 paid = _paidMinutes(address(uint160(w2 >> 96)), sessionId);
        uint256 price;
        assembly ("memory-safe") {
            price := and(calldataload(add(rec, 32)), 0xffffffffffffffffffffffff)
        }
        revert InsufficientBalance(player, balance, (minutes_ - paid) * price);
    }

    function _paidMinutes(address edge, bytes32 sessionId) private view returns (uint256) {
        return (_ledger[edge][uint256(sessionId) >> 3] >> ((uint256(sessionId) & 7) << 4)) & 0xffff;
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
        if (treasury_ == address(0)) revert ZeroTreasury();
        feeBps = feeBps_;
        treasury = treasury_;
        emit FeeChanged(feeBps_, treasury_);
    }

    /// @notice Minutes already paid for `sessionId` to `edge`.
    function paidMinutes(address edge, bytes32 sessionId) external view returns (uint32) {
        return uint32(_paidMinutes(edge, sessionId));
    }
}
