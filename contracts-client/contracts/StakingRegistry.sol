// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {CheckerQuorum, CheckerSet, ICheckerConfig, Sig} from "./CheckerQuorum.sol";

/// @notice One QoS report of the edge as evidence: the session/minute are shared by both reports of a pair.
/// @dev `metricsHash` is the EIP-712 struct hash of the report's QosMetrics (protocol/eip712.ts).
struct SignedReport {
    bytes32 metricsHash;
    Sig sig;
}

/// @notice What a checker quorum signs to slash an edge: `bps` of the pool's stake at execution (so withdrawals
/// before it lands cannot make it fail), executable until `deadline` (unix seconds).
struct SlashOrder {
    address edge;
    bytes32 sessionId;
    uint32 minute;
    uint16 bps;
    address player;
    address finder;
    uint64 deadline;
}

/// @notice One minute's QoS metrics exactly as signed (protocol/eip712.ts `QosMetrics`).
struct QosMetrics {
    uint32 frames;
    uint32 bitrateKbps;
    uint32 encodeTimeUs;
    uint32 rttMs;
    uint32 jitterMs;
    uint32 lossPpm;
    uint32 freezeMs;
}

/// @notice The edge's QosReport (role 0) of the order's session and minute, metrics in full, signed by the edge key.
struct EdgeClaim {
    QosMetrics metrics;
    Sig sig;
}

/// @notice The player's QosLink of the order's session and minute (its report has role 1), signed by the session key.
/// @dev `detailHash` is the EIP-712 struct hash of the link's QosDetail (not needed on chain beyond the hash).
struct PlayerLink {
    QosMetrics metrics;
    bytes32 prev;
    uint64 closedAt;
    bytes32 detailHash;
    Sig sig;
}

/// @notice What a checker quorum signs to slash an edge whose claim the player's signed report refutes: like
/// SlashOrder, plus the session key the quorum vouches for (from the player's grant) and the struct hashes of the
/// two reports (the edge's QosReport, the player's QosLink). The type name is the kind ("RefutedSlash").
struct RefutedSlashOrder {
    address edge;
    bytes32 sessionId;
    uint32 minute;
    uint16 bps;
    address player;
    address sessionKey;
    address finder;
    uint64 deadline;
    bytes32 edgeReport;
    bytes32 playerReport;
}

/// @title StakingRegistry: operator stake per edge node, delegation with an operator cut, unbonding, slashing.
/// @notice Each edge is a pool of shares over its staked tokens. Rewards accrue per active share through a
/// cumulative index; slashing lowers the tokens behind every share (active or unbonding) pro rata, so the
/// operator and all delegators bear it in proportion, exactly.
contract StakingRegistry is EIP712, CheckerQuorum {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    error ZeroAmount();
    error EdgeExists(address edge);
    error UnknownEdge(address edge);
    error EdgeInactive(address edge);
    error BelowMinimumStake(uint256 amount, uint256 minimum);
    error BadCut(uint16 cutBps);
    error BadEdgeSignature(address signer);
    error InsufficientShares(uint256 shares, uint256 requested);
    error NothingUnbonding();
    error StillUnbonding(uint64 readyAt);
    /// @notice The pool's tokens per share fell below 1e-9 (or to 0) through slashing: it takes no new stake.
    error PoolDepleted(address edge);
    error InvalidEvidence();
    /// @notice The player's link is not the session key's (role 1) report of the order's session and minute.
    error InvalidPlayerReport();
    /// @notice The player's signed frame count is not below the edge's claim: nothing is refuted.
    error NotRefuted(uint32 edgeFrames, uint32 playerFrames);
    error EvidenceUsed(bytes32 evidenceKey);
    error BadSlashShare(uint16 bps);
    error SlashOrderExpired(uint64 deadline);
    error ZeroDelay();

    event EdgeRegistered(address indexed edge, address indexed operator, uint16 cutBps);
    event Staked(address indexed edge, address indexed delegator, uint256 amount, uint256 shares);
    event Unbonding(address indexed edge, address indexed delegator, uint256 shares, uint64 readyAt);
    event Unbonded(address indexed edge, address indexed delegator, uint256 shares, uint256 amount);
    event RewardsDistributed(address indexed edge, uint256 amount, uint256 operatorCut);
    event RewardsClaimed(address indexed edge, address indexed account, uint256 amount);
    event Slashed(
        address indexed edge, bytes32 indexed sessionId, uint32 minute, uint256 amount, uint256 toPlayer, uint256 toFinder, uint256 burned
    );
    event SlashedRefuted(
        address indexed edge, bytes32 indexed sessionId, uint32 minute, uint256 amount, uint256 toPlayer, uint256 toFinder, uint256 burned
    );

    bytes32 public constant EDGE_BOND_TYPEHASH = keccak256("EdgeBond(address edge,address operator,uint16 cutBps)");
    bytes32 public constant QOS_METRICS_TYPEHASH = keccak256(
        "QosMetrics(uint32 frames,uint32 bitrateKbps,uint32 encodeTimeUs,uint32 rttMs,uint32 jitterMs,uint32 lossPpm,uint32 freezeMs)"
    );
    bytes32 public constant QOS_REPORT_TYPEHASH = keccak256(
        "QosReport(bytes32 sessionId,uint32 minute,uint8 role,QosMetrics metrics)QosMetrics(uint32 frames,uint32 bitrateKbps,uint32 encodeTimeUs,uint32 rttMs,uint32 jitterMs,uint32 lossPpm,uint32 freezeMs)"
    );
    bytes32 public constant SLASH_TYPEHASH = keccak256(
        "Slash(address edge,bytes32 sessionId,uint32 minute,uint16 bps,address player,address finder,uint64 deadline)"
    );
    bytes32 public constant QOS_LINK_TYPEHASH = keccak256(
        "QosLink(QosReport report,bytes32 prev,uint64 closedAt,QosDetail detail)QosDetail(uint32 targetFps,uint32 framesEncoded,uint32 framesDropped,uint32 encodeP99Us,uint32 nackCount,uint32 pliCount,uint32 keyframes,uint32 freezeCount,uint32 jitterBufferMs,uint32 glassP50Ms,uint32 glassP99Ms,uint32 glassSamples)QosMetrics(uint32 frames,uint32 bitrateKbps,uint32 encodeTimeUs,uint32 rttMs,uint32 jitterMs,uint32 lossPpm,uint32 freezeMs)QosReport(bytes32 sessionId,uint32 minute,uint8 role,QosMetrics metrics)"
    );
    bytes32 public constant REFUTED_SLASH_TYPEHASH = keccak256(
        "RefutedSlash(address edge,bytes32 sessionId,uint32 minute,uint16 bps,address player,address sessionKey,address finder,uint64 deadline,bytes32 edgeReport,bytes32 playerReport)"
    );
    /// @notice Tokens are "burned" by sending them here: ATH need not expose burn().
    address public constant BURN_ADDRESS = 0x000000000000000000000000000000000000dEaD;
    uint8 public constant ROLE_EDGE = 0;
    uint8 public constant ROLE_PLAYER = 1;
    uint256 private constant ACC = 1e36;
    /// @dev Shares start 1:1 with tokens; a pool whose shares outnumber its tokens more than this (slashed below
    /// 1e-9 tokens a share) is depleted, so a new stake's shares stay far inside uint128.
    uint256 private constant MAX_SHARES_PER_TOKEN = 1e9;

    struct Pool {
        address operator;
        uint16 cutBps;
        uint128 totalStake; // tokens behind all shares, active and unbonding
        uint128 totalShares;
        uint128 activeShares; // shares that earn rewards (not unbonding)
        uint256 accRewardPerShare; // cumulative reward per active share, scaled by 1e36
    }

    struct Delegation {
        uint128 shares;
        uint128 unbondingShares;
        uint64 readyAt;
        uint256 rewardDebt;
        uint256 rewards;
    }

    IERC20 public immutable token;
    uint256 public immutable minStake;
    uint64 public immutable unbondingDelay;
    uint16 public immutable playerBps;
    uint16 public immutable finderBps;

    mapping(address edge => Pool) public pools;
    mapping(address edge => mapping(address delegator => Delegation)) public delegations;
    mapping(bytes32 evidenceKey => bool) public evidenceUsed;

    constructor(
        IERC20 token_,
        ICheckerConfig checkerRegistry_,
        uint256 minStake_,
        uint64 unbondingDelay_,
        uint16 playerBps_,
        uint16 finderBps_
    ) EIP712("Farplay StakingRegistry", "1") CheckerQuorum(checkerRegistry_) {
        if (uint256(playerBps_) + finderBps_ > 10_000) revert BadCut(playerBps_ + finderBps_);
        if (unbondingDelay_ == 0) revert ZeroDelay();
        token = token_;
        minStake = minStake_;
        unbondingDelay = unbondingDelay_;
        playerBps = playerBps_;
        finderBps = finderBps_;
    }

    // ------------------------------------------------------------------ operators and delegators

    /// @notice The caller (operator) registers `edge` (the node key, which signs EdgeBond) and stakes `amount`.
    function registerEdge(address edge, uint16 cutBps, uint256 amount, Sig calldata edgeSig) external {
        if (pools[edge].operator != address(0)) revert EdgeExists(edge);
        if (cutBps > 10_000) revert BadCut(cutBps);
        if (amount < minStake) revert BelowMinimumStake(amount, minStake);
        bytes32 digest = _hashTypedDataV4(keccak256(abi.encode(EDGE_BOND_TYPEHASH, edge, msg.sender, cutBps)));
        address signer = ECDSA.recover(digest, edgeSig.r, edgeSig.vs);
        if (signer != edge) revert BadEdgeSignature(signer);
        Pool storage p = pools[edge];
        p.operator = msg.sender;
        p.cutBps = cutBps;
        emit EdgeRegistered(edge, msg.sender, cutBps);
        _stake(edge, p, msg.sender, amount);
    }

    /// @notice Stakes `amount` into `edge`'s pool: the operator adds stake (also to get back above the minimum
    /// after a slash), anyone else delegates to an active edge.
    function delegate(address edge, uint256 amount) external {
        Pool storage p = pools[edge];
        if (p.operator == address(0)) revert UnknownEdge(edge);
        if (msg.sender != p.operator && !isActive(edge)) revert EdgeInactive(edge);
        _stake(edge, p, msg.sender, amount);
    }

    /// @notice Moves `shares` into unbonding; they stop earning rewards but stay slashable until withdrawn.
    /// A new unbond restarts the delay for everything the caller has unbonding in this pool.
    function unbond(address edge, uint256 shares) external {
        Pool storage p = pools[edge];
        Delegation storage d = delegations[edge][msg.sender];
        if (shares == 0) revert ZeroAmount();
        if (shares > d.shares) revert InsufficientShares(d.shares, shares);
        _harvest(p, d);
        d.shares -= uint128(shares);
        d.unbondingShares += uint128(shares);
        p.activeShares -= uint128(shares);
        d.rewardDebt = uint256(d.shares) * p.accRewardPerShare / ACC;
        if (msg.sender == p.operator && d.shares > 0) {
            uint256 left = _sharesToTokens(p, d.shares);
            if (left < minStake) revert BelowMinimumStake(left, minStake);
        }
        uint64 readyAt = uint64(block.timestamp) + unbondingDelay;
        d.readyAt = readyAt;
        emit Unbonding(edge, msg.sender, shares, readyAt);
    }

    /// @notice After the unbonding delay, pays out the tokens behind the caller's unbonding shares.
    function withdrawUnbonded(address edge) external {
        Pool storage p = pools[edge];
        Delegation storage d = delegations[edge][msg.sender];
        uint256 shares = d.unbondingShares;
        if (shares == 0) revert NothingUnbonding();
        if (block.timestamp < d.readyAt) revert StillUnbonding(d.readyAt);
        uint256 amount = _sharesToTokens(p, shares);
        d.unbondingShares = 0;
        d.readyAt = 0;
        p.totalShares -= uint128(shares);
        p.totalStake -= uint128(amount);
        if (amount > 0) token.safeTransfer(msg.sender, amount);
        emit Unbonded(edge, msg.sender, shares, amount);
    }

    // ------------------------------------------------------------------ rewards

    /// @notice Pulls `amount` ATH as rewards for `edge`: the operator's cut, the rest per active share.
    function distributeRewards(address edge, uint256 amount) external {
        Pool storage p = pools[edge];
        if (p.operator == address(0)) revert UnknownEdge(edge);
        if (amount == 0) revert ZeroAmount();
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 cut = amount * p.cutBps / 10_000;
        uint256 rest = amount - cut;
        if (p.activeShares == 0) {
            cut = amount;
            rest = 0;
        } else {
            p.accRewardPerShare += rest * ACC / p.activeShares;
        }
        delegations[edge][p.operator].rewards += cut;
        emit RewardsDistributed(edge, amount, cut);
    }

    /// @notice Pays the caller's accrued rewards from `edge`'s pool (including the operator cut).
    function claimRewards(address edge) external returns (uint256 amount) {
        Pool storage p = pools[edge];
        Delegation storage d = delegations[edge][msg.sender];
        _harvest(p, d);
        amount = d.rewards;
        if (amount == 0) revert ZeroAmount();
        d.rewards = 0;
        token.safeTransfer(msg.sender, amount);
        emit RewardsClaimed(edge, msg.sender, amount);
    }

    // ------------------------------------------------------------------ slashing

    /// @notice Slashes `order.bps` of `order.edge`'s pool (its stake now, active and unbonding) with evidence: two
    /// different QoS reports of the edge (role 0) for the same session and minute, both signed by the edge key, plus
    /// a checker quorum over the SlashOrder, before its deadline.
    function slash(
        SlashOrder calldata order,
        SignedReport calldata a,
        SignedReport calldata b,
        Sig[] calldata sigs,
        CheckerSet calldata set
    ) external {
        Pool storage p = _slashablePool(order.edge, order.deadline, order.bps);
        if (a.metricsHash == b.metricsHash) revert InvalidEvidence();
        if (_reportSigner(order, a) != order.edge || _reportSigner(order, b) != order.edge) revert InvalidEvidence();
        bytes32 key = keccak256(abi.encode(order.edge, order.sessionId, order.minute));
        bytes32 orderHash = keccak256(abi.encode(SLASH_TYPEHASH, order));
        _spendEvidence(key, orderHash, sigs, set);
        (uint256 amount, uint256 toPlayer, uint256 toFinder, uint256 burned) =
            _takeSlash(p, order.edge, order.bps, order.player, order.finder);
        emit Slashed(order.edge, order.sessionId, order.minute, amount, toPlayer, toFinder, burned);
    }

    /// @notice Slashes `order.bps` of `order.edge`'s pool for a claim the player's side refutes: the edge's signed
    /// QosReport (role 0) of the session and minute claims more frames than the player's QosLink (role 1) of the same
    /// minute, signed by the session key the order names, says were decoded. What the chain verifies: both
    /// signatures, that both reports are of the order's session and minute, and that the player's count is below the
    /// edge's. What the checker quorum vouches for by signing the RefutedSlash order (over both report hashes): that
    /// `sessionKey` and `player` are the session's grant's, and that the gap crosses the published policy's refute
    /// ratio. One refuted slash per (edge, session): a player's word alone can cost an edge at most one per session.
    function slashRefuted(
        RefutedSlashOrder calldata order,
        EdgeClaim calldata edgeClaim,
        PlayerLink calldata playerLink,
        Sig[] calldata sigs,
        CheckerSet calldata set
    ) external {
        Pool storage p = _slashablePool(order.edge, order.deadline, order.bps);

        bytes32 edgeReport = keccak256(
            abi.encode(
                QOS_REPORT_TYPEHASH,
                order.sessionId,
                order.minute,
                ROLE_EDGE,
                keccak256(abi.encode(QOS_METRICS_TYPEHASH, edgeClaim.metrics))
            )
        );
        if (edgeReport != order.edgeReport || _recover(edgeReport, edgeClaim.sig) != order.edge) {
            revert InvalidEvidence();
        }
        bytes32 playerReport = keccak256(
            abi.encode(
                QOS_LINK_TYPEHASH,
                keccak256(
                    abi.encode(
                        QOS_REPORT_TYPEHASH,
                        order.sessionId,
                        order.minute,
                        ROLE_PLAYER,
                        keccak256(abi.encode(QOS_METRICS_TYPEHASH, playerLink.metrics))
                    )
                ),
                playerLink.prev,
                playerLink.closedAt,
                playerLink.detailHash
            )
        );
        if (
            playerReport != order.playerReport || order.sessionKey == address(0)
                || _recover(playerReport, playerLink.sig) != order.sessionKey
        ) revert InvalidPlayerReport();
        if (playerLink.metrics.frames >= edgeClaim.metrics.frames) {
            revert NotRefuted(edgeClaim.metrics.frames, playerLink.metrics.frames);
        }
        bytes32 key = keccak256(abi.encode(REFUTED_SLASH_TYPEHASH, order.edge, order.sessionId));
        bytes32 orderHash = keccak256(abi.encode(REFUTED_SLASH_TYPEHASH, order));
        _spendEvidence(key, orderHash, sigs, set);
        (uint256 amount, uint256 toPlayer, uint256 toFinder, uint256 burned) =
            _takeSlash(p, order.edge, order.bps, order.player, order.finder);
        emit SlashedRefuted(order.edge, order.sessionId, order.minute, amount, toPlayer, toFinder, burned);
    }

    // ------------------------------------------------------------------ views

    /// @notice True when the operator's own active stake is at least the minimum.
    function isActive(address edge) public view returns (bool) {
        Pool storage p = pools[edge];
        if (p.operator == address(0)) return false;
        return _sharesToTokens(p, delegations[edge][p.operator].shares) >= minStake;
    }

    /// @notice Tokens currently behind `account`'s active and unbonding shares in `edge`'s pool.
    function stakeOf(address edge, address account) external view returns (uint256 active, uint256 unbonding) {
        Pool storage p = pools[edge];
        Delegation storage d = delegations[edge][account];
        return (_sharesToTokens(p, d.shares), _sharesToTokens(p, d.unbondingShares));
    }

    /// @notice Rewards `account` could claim now from `edge`'s pool.
    function pendingRewards(address edge, address account) external view returns (uint256) {
        Pool storage p = pools[edge];
        Delegation storage d = delegations[edge][account];
        return d.rewards + uint256(d.shares) * p.accRewardPerShare / ACC - d.rewardDebt;
    }

    /// @notice The EIP-712 domain separator (chain id + this contract).
    function domainSeparator() external view returns (bytes32) {
        return _domainSeparatorV4();
    }

    // ------------------------------------------------------------------ internals

    /// @dev New shares at the pool's price (rounded down, in favour of the pool); every sum is a checked uint128.
    function _stake(address edge, Pool storage p, address account, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        uint256 totalShares = p.totalShares;
        uint256 totalStake = p.totalStake;
        if (totalShares > 0 && (totalStake == 0 || totalShares / totalStake > MAX_SHARES_PER_TOKEN)) {
            revert PoolDepleted(edge);
        }
        uint256 shares = totalShares == 0 ? amount : Math.mulDiv(amount, totalShares, totalStake);
        if (shares == 0) revert ZeroAmount();
        token.safeTransferFrom(account, address(this), amount);
        Delegation storage d = delegations[edge][account];
        _harvest(p, d);
        d.shares = (uint256(d.shares) + shares).toUint128();
        d.rewardDebt = uint256(d.shares) * p.accRewardPerShare / ACC;
        p.totalShares = (totalShares + shares).toUint128();
        p.activeShares = (uint256(p.activeShares) + shares).toUint128();
        p.totalStake = (totalStake + amount).toUint128();
        emit Staked(edge, account, amount, shares);
    }

    /// @dev Moves rewards earned by the current shares into `rewards` and resets the debt.
    function _harvest(Pool storage p, Delegation storage d) private {
        uint256 accrued = uint256(d.shares) * p.accRewardPerShare / ACC;
        d.rewards += accrued - d.rewardDebt;
        d.rewardDebt = accrued;
    }

    function _sharesToTokens(Pool storage p, uint256 shares) private view returns (uint256) {
        uint256 total = p.totalShares;
        return total == 0 ? 0 : shares * p.totalStake / total;
    }

    /// @dev The pool a slash order names, once the order's own fields pass: a registered edge, before the deadline, a
    /// share of 1..10 000 bps. Both kinds of slash start here, before their evidence is checked.
    function _slashablePool(address edge, uint64 deadline, uint16 bps) private view returns (Pool storage p) {
        p = pools[edge];
        if (p.operator == address(0)) revert UnknownEdge(edge);
        if (block.timestamp > deadline) revert SlashOrderExpired(deadline);
        if (bps == 0 || bps > 10_000) revert BadSlashShare(bps);
    }

    /// @dev Both kinds of slash pass here once their evidence is checked, before the slash is taken: the evidence
    /// `key` unused, a quorum of the current checker set over the order (its EIP-712 struct hash `orderHash`), then
    /// the key spent.
    function _spendEvidence(bytes32 key, bytes32 orderHash, Sig[] calldata sigs, CheckerSet calldata set) private {
        if (evidenceUsed[key]) revert EvidenceUsed(key);
        _requireCurrentSet(set);
        _verifyQuorum(_hashTypedDataV4(orderHash), sigs, set);
        evidenceUsed[key] = true;
    }

    /// @dev Takes `bps` of the pool's stake and splits it: `playerBps` to the player, `finderBps` to the finder, the
    /// rest burned.
    function _takeSlash(Pool storage p, address edge, uint16 bps, address player, address finder)
        private
        returns (uint256 amount, uint256 toPlayer, uint256 toFinder, uint256 burned)
    {
        if (p.totalStake == 0) revert PoolDepleted(edge);
        amount = uint256(p.totalStake) * bps / 10_000;
        p.totalStake -= uint128(amount);
        toPlayer = amount * playerBps / 10_000;
        toFinder = amount * finderBps / 10_000;
        burned = amount - toPlayer - toFinder;
        if (toPlayer > 0) token.safeTransfer(player, toPlayer);
        if (toFinder > 0) token.safeTransfer(finder, toFinder);
        if (burned > 0) token.safeTransfer(BURN_ADDRESS, burned);
    }

    function _reportSigner(SlashOrder calldata order, SignedReport calldata r) private view returns (address) {
        bytes32 structHash =
            keccak256(abi.encode(QOS_REPORT_TYPEHASH, order.sessionId, order.minute, ROLE_EDGE, r.metricsHash));
        return _recover(structHash, r.sig);
    }

    function _recover(bytes32 structHash, Sig calldata sig) private view returns (address signer) {
        (signer,,) = ECDSA.tryRecover(_hashTypedDataV4(structHash), sig.r, sig.vs);
    }
}
