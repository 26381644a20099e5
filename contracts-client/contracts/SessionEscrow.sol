// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {CheckerQuorum, CheckerSet, ICheckerConfig, Sig} from "./CheckerQuorum.sol";

/// @notice A player's EIP-712 grant, signed once at session start (see protocol/eip712.ts).
struct Grant {
    bytes32 sessionId;
    address player;
    address edge;
    uint96 pricePerMinute;
    uint32 maxMinutes;
    uint64 expiry;
    address sessionKey;
}

/// @notice One session in a batch: its grant, the player's signature and the attested cumulative minutes.
struct SessionSettlement {
    Grant grant;
    Sig grantSig;
    uint32 minutes_;
}

/// @title SessionEscrow: per-minute ATH settlement of play sessions, gated by a checker quorum.
/// @notice Players deposit ATH; an edge is paid (attested minutes not yet paid) x price, minus a capped
/// protocol fee, never beyond the grant. Withdrawals wait out an unlock delay so they cannot front-run
/// a pending settlement: settlement keeps drawing on the whole balance during the delay.
contract SessionEscrow is EIP712, Ownable, CheckerQuorum {
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

    event Deposited(address indexed player, uint256 amount, uint256 balance);
    event WithdrawalRequested(address indexed player, uint256 amount, uint32 unlockAt);
    event Withdrawn(address indexed player, uint256 amount);
    event Settled(
        bytes32 indexed sessionId, address indexed player, address indexed edge, uint32 paidMinutes, uint256 amount, uint256 fee
    );
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

    /// @dev One slot per player: balance, the requested withdrawal and when it unlocks.
    struct Account {
        uint128 balance;
        uint96 withdrawAmount;
        uint32 unlockAt;
    }

    /// @dev One slot per edge: its earnings and the protocol fee owed on them (paid out together).
    struct EdgeAccount {
        uint128 earned;
        uint128 fees;
    }

    IERC20 public immutable token;
    uint32 public immutable withdrawDelay;
    uint16 public feeBps;
    address public treasury;

    mapping(address player => Account) public accounts;
    mapping(address edge => EdgeAccount) public edgeAccounts;
    /// @dev Paid minutes, eight sessions (uint32 lanes) per word: word = sessionId >> 3, lane = sessionId & 7.
    /// Sessions whose ids differ only in the low 3 bits share a word, so later settlements write a warm slot.
    mapping(address edge => mapping(uint256 word => uint256 lanes)) private _paid;

    constructor(
        IERC20 token_,
        ICheckerConfig checkerRegistry_,
        address owner_,
        address treasury_,
        uint16 feeBps_,
        uint32 withdrawDelay_
    ) EIP712("Farplay SessionEscrow", "1") Ownable(owner_) CheckerQuorum(checkerRegistry_) {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        token = token_;
        withdrawDelay = withdrawDelay_;
        feeBps = feeBps_;
        treasury = treasury_;
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

    /// @notice Settles one session: grant + checker quorum over Attestation(sessionId, minutes, policyHash).
    function settle(Grant calldata grant, Sig calldata grantSig, uint32 minutes_, Sig[] calldata sigs, CheckerSet calldata set)
        external
    {
        _requireCurrentSet(set);
        bytes32 digest =
            _hashTypedDataV4(keccak256(abi.encode(ATTESTATION_TYPEHASH, grant.sessionId, minutes_, set.policyHash)));
        _verifyQuorum(digest, sigs, set);
        (uint256 amount, uint256 fee) = _settleSession(grant, grantSig, minutes_);
        EdgeAccount storage e = edgeAccounts[grant.edge];
        e.earned += uint128(amount - fee);
        e.fees += uint128(fee);
    }

    /// @notice Settles many sessions: each grant, plus one checker quorum over AttestationBatch(all items).
    function batchSettle(SessionSettlement[] calldata items, Sig[] calldata sigs, CheckerSet calldata set) external {
        uint256 n = items.length;
        if (n == 0) revert EmptyBatch();
        _requireCurrentSet(set);
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i; i < n; ++i) {
            hashes[i] = keccak256(abi.encode(SESSION_MINUTES_TYPEHASH, items[i].grant.sessionId, items[i].minutes_));
        }
        bytes32 digest = _hashTypedDataV4(
            keccak256(abi.encode(ATTESTATION_BATCH_TYPEHASH, keccak256(abi.encodePacked(hashes)), set.policyHash))
        );
        _verifyQuorum(digest, sigs, set);

        // Credit edges once per run of equal edges (an operator's batch is usually one or a few edges).
        address edge = items[0].grant.edge;
        uint256 earned;
        uint256 fees;
        for (uint256 i; i < n; ++i) {
            SessionSettlement calldata it = items[i];
            if (it.grant.edge != edge) {
                _credit(edge, earned, fees);
                edge = it.grant.edge;
                earned = 0;
                fees = 0;
            }
            (uint256 amount, uint256 fee) = _settleSession(it.grant, it.grantSig, it.minutes_);
            earned += amount - fee;
            fees += fee;
        }
        _credit(edge, earned, fees);
    }

    /// @dev Checks the grant and pays (minutes - paid) x price from the player's balance. Returns (amount, fee).
    function _settleSession(Grant calldata g, Sig calldata grantSig, uint32 minutes_)
        private
        returns (uint256 amount, uint256 fee)
    {
        bytes32 sessionId = g.sessionId;
        if (block.timestamp > g.expiry) revert GrantExpired(sessionId, g.expiry);
        if (minutes_ > g.maxMinutes) revert MinutesBeyondGrant(sessionId, minutes_, g.maxMinutes);
        _checkGrantSignature(g, grantSig);

        uint256 word = uint256(sessionId) >> 3;
        uint256 shift = (uint256(sessionId) & 7) << 5;
        mapping(uint256 => uint256) storage paidOfEdge = _paid[g.edge];
        uint256 lanes = paidOfEdge[word];
        uint32 paid = uint32(lanes >> shift);
        if (minutes_ <= paid) revert NothingToSettle(sessionId, minutes_, paid);
        paidOfEdge[word] = (lanes & ~(uint256(0xffffffff) << shift)) | (uint256(minutes_) << shift);

        unchecked {
            // uint32 x uint96 cannot overflow 256 bits; fee <= amount by MAX_FEE_BPS.
            amount = uint256(minutes_ - paid) * g.pricePerMinute;
            fee = amount * feeBps / 10_000;
        }
        Account storage a = accounts[g.player];
        uint128 balance = a.balance;
        if (amount > balance) revert InsufficientBalance(g.player, balance, amount);
        unchecked {
            a.balance = balance - uint128(amount);
        }
        emit Settled(sessionId, g.player, g.edge, minutes_, amount, fee);
    }

    function _checkGrantSignature(Grant calldata g, Sig calldata grantSig) private view {
        address signer = ECDSA.recover(_hashTypedDataV4(keccak256(abi.encode(GRANT_TYPEHASH, g))), grantSig.r, grantSig.vs);
        if (signer != g.player) revert BadGrantSignature(g.sessionId, signer);
    }

    function _credit(address edge, uint256 earned, uint256 fees) private {
        EdgeAccount storage e = edgeAccounts[edge];
        e.earned += uint128(earned);
        e.fees += uint128(fees);
    }

    // ------------------------------------------------------------------ edges, treasury, views

    /// @notice The edge key withdraws its earnings to `to`; the protocol fee on them goes to the treasury.
    function withdrawEarnings(address to) external {
        EdgeAccount memory e = edgeAccounts[msg.sender];
        if (e.earned == 0 && e.fees == 0) revert ZeroAmount();
        delete edgeAccounts[msg.sender];
        if (e.earned > 0) token.safeTransfer(to, e.earned);
        if (e.fees > 0) token.safeTransfer(treasury, e.fees);
        emit EarningsWithdrawn(msg.sender, to, e.earned, e.fees);
    }

    /// @notice Sends the fees accrued on `edges` to the treasury (anyone may call).
    function sweepFees(address[] calldata edges) external {
        uint256 total;
        for (uint256 i; i < edges.length; ++i) {
            EdgeAccount storage e = edgeAccounts[edges[i]];
            total += e.fees;
            e.fees = 0;
        }
        if (total > 0) token.safeTransfer(treasury, total);
    }

    /// @notice Sets the protocol fee (at most MAX_FEE_BPS) and the treasury; owner only (a timelock in production).
    function setFee(uint16 feeBps_, address treasury_) external onlyOwner {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        feeBps = feeBps_;
        treasury = treasury_;
        emit FeeChanged(feeBps_, treasury_);
    }

    /// @notice Minutes already paid for `sessionId` to `edge`.
    function paidMinutes(address edge, bytes32 sessionId) external view returns (uint32) {
        return uint32(_paid[edge][uint256(sessionId) >> 3] >> ((uint256(sessionId) & 7) << 5));
    }

    /// @notice The EIP-712 domain separator (chain id + this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }
}
