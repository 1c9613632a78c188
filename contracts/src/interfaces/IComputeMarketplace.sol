// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/**
 * @title IComputeMarketplace
 * @notice The types, events and errors of {ComputeMarketplace} (task escrow, settlement by settler
 * signatures or zkML proofs, deposits of Stun accounts, slashing orders), and the functions
 * {Staking} calls on it. Stake itself lives in {IStaking}.
 */
interface IComputeMarketplace {
    // ─── Types ───────────────────────────────────────────────────────────────────────────────


    /// @notice None (unknown id) → Escrowed → Settled → Released | Disputed; Escrowed → Refunded; zk: Escrowed → Released.
    enum TaskStatus {
        None,
        Escrowed,
        Settled,
        Released,
        Disputed,
        Refunded
    }

    /// @notice One task's escrow and settlement record (three storage slots at creation).
    struct Task {
        address requester;
        uint40 deadline; // settle by this time (inclusive); refundable after it
        uint40 releaseAt; // end of the dispute window (set at settlement)
        TaskStatus status;
        bool zk; // created with {createZkTask}: settled only by {settleWithProof}
        address token; // address(0) = native ETH
        uint96 amount; // escrowed
        address modelCreator; // address(0): the creator's share goes to the treasury
        uint96 cost; // Σ accepted executions' prices (set at settlement), ≤ amount
        bytes32 resultDigest; // the settled result (set at settlement)
        bytes32 payoutHash; // keccak256(abi.encode(Payout)) committed at settlement
    }

    /**
     * @notice What M settlers sign to settle a task (EIP-712 `Settlement`): the result and the
     * accepted executions, one (provider, price) per execution. The cost is Σ amounts.
     */
    struct Settlement {
        bytes32 taskId;
        bytes32 resultDigest;
        address[] providers;
        uint256[] amounts;
    }

    /// @notice A settlement's split, as emitted in {TaskSettled}; `release` takes it back.
    struct Payout {
        address[] providers;
        uint256[] shares;
        uint256 treasuryShare;
        uint256 creatorShare;
    }

    /**
     * @notice What M settlers sign to slash a provider (EIP-712 `Slash`): up to `amount` of its
     * stake (active first, then unbonding), of which up to `beneficiaryAmount` goes to
     * `beneficiary` (a wronged requester) and the rest to the treasury. `nonce` is any unique id
     * (the ledger's slash id); each can be used once.
     */
    struct SlashOrder {
        address provider;
        uint256 amount;
        address beneficiary;
        uint256 beneficiaryAmount;
        bytes32 nonce;
    }

    /**
     * @notice What M settlers sign, batched (EIP-712 `DepositSettlementBatch`), to pay one
     * accepted task out of a Stun account's deposit: as {Settlement}, plus the paying `account`,
     * the deposit's `token` and the task's `modelCreator` (address(0): its share goes to the
     * treasury). Providers need no stake on chain here (Stun holds their stake in its ledger).
     */
    struct DepositSettlement {
        bytes32 taskId;
        bytes32 resultDigest;
        bytes32 account;
        address token;
        address modelCreator;
        address[] providers;
        uint256[] amounts;
    }

    /**
     * @notice What M settlers sign (EIP-712 `DepositWithdrawal`) to send `amount` of a Stun
     * account's unspent deposit in `token` to `to` (credited to `to`, taken with {withdraw}).
     * `nonce` is any unique id (the server's withdrawal id); each can be used once. `deadline`
     * (Unix seconds) is the last second the order can be executed: after it, an order whose nonce
     * is still unused can never pay, so the signer may safely treat it as cancelled.
     */
    struct DepositWithdrawal {
        bytes32 account;
        address token;
        uint256 amount;
        address to;
        bytes32 nonce;
        uint256 deadline;
    }

    /// @notice A model's registered Groth16 verifier (a snarkjs-exported contract) and its number of public signals.
    struct ZkVerifier {
        address verifier;
        uint16 nPublic;
    }

    /// @notice What the requester of a zk task commits to: the zkML circuit's publicSignals[0] and [1].
    struct ZkTerms {
        uint256 modelHash; // names the model's weights
        uint256 inputHash; // Poseidon of the task's (private) input
    }

    /// @notice Deployment parameters (see the state variables of the same names, here and on {Staking}).
    struct Config {
        address owner;
        address guardian;
        address treasury;
        IERC20 stakeToken;
        address[] settlers;
        uint256 settlerThreshold;
        uint16 treasuryBps;
        uint16 creatorBps;
        uint64 disputeWindow;
        uint64 unbondingDelay;
        uint256 minStake;
        address[] allowedTokens;
    }

    // ─── Events ──────────────────────────────────────────────────────────────────────────────

    /// @notice `requester` escrowed `amount` of `token` for task `taskId`, to be settled by `deadline`.
    event TaskCreated(
        bytes32 indexed taskId,
        address indexed requester,
        address indexed token,
        uint256 amount,
        uint64 deadline,
        address modelCreator
    );
    /// @notice `change` (escrow − cost) is credited to the requester now; the payout after `releaseAt`.
    event TaskSettled(
        bytes32 indexed taskId,
        bytes32 resultDigest,
        uint256 cost,
        uint256 change,
        uint64 releaseAt,
        Payout payout
    );
    /// @notice A settled task's split was credited after its dispute window.
    event TaskReleased(bytes32 indexed taskId);
    /// @notice Settlers reversed a settlement within its window; `refunded` went back to the payer.
    event TaskDisputed(bytes32 indexed taskId, uint256 refunded);
    /// @notice An unsettled task's whole escrow (`refunded`) was credited back after its deadline.
    event TaskRefunded(bytes32 indexed taskId, uint256 refunded);
    /// @notice `account` took out its `amount` of `token` credits.
    event Withdrawn(address indexed token, address indexed account, uint256 amount);
    /// @notice `from` added `amount` of `token` to Stun account `account`'s deposit.
    event Deposited(bytes32 indexed account, address indexed from, address indexed token, uint256 amount);
    /// @notice Task `taskId` was paid out of `account`'s deposit (its split is in the {TaskSettled} of the same call).
    event SettledFromDeposit(bytes32 indexed taskId, bytes32 indexed account, address indexed token, uint256 cost);
    /// @notice `amount` of `account`'s deposit was credited to `to` (for {withdraw}).
    event DepositWithdrawn(bytes32 indexed account, address indexed token, address indexed to, uint256 amount, bytes32 nonce);

    /// @notice A zk task's requester committed to these terms (with its {TaskCreated} in the same call).
    event ZkTaskCreated(bytes32 indexed taskId, uint256 indexed modelHash, uint256 inputHash);
    /**
     * @notice A zk task was settled with a valid proof: its whole escrow (`cost`) was split and
     * credited at once; `resultDigest` = keccak256 of the proof's output signals (32 bytes each).
     */
    event TaskSettledWithProof(
        bytes32 indexed taskId,
        address indexed provider,
        uint256 indexed modelHash,
        uint256 cost,
        bytes32 resultDigest
    );

    /// @notice Settlers slashed `slashed` of `provider`'s stake: `toBeneficiary` credited to `beneficiary`, `toTreasury` to the treasury.
    event ProviderSlashed(
        address indexed provider,
        bytes32 indexed nonce,
        uint256 slashed,
        address beneficiary,
        uint256 toBeneficiary,
        uint256 toTreasury
    );

    /// @notice Later settlements split with these basis points.
    event FeeSplitChanged(uint16 treasuryBps, uint16 creatorBps);
    /// @notice Later settlements can be disputed for `disputeWindow` seconds.
    event DisputeWindowChanged(uint64 disputeWindow);
    /// @notice Escrow and deposits in `token` are (`allowed`) or are no longer accepted.
    event TokenAllowed(address indexed token, bool allowed);
    /// @notice Later treasury credits go to `treasury`.
    event TreasuryChanged(address indexed previous, address indexed treasury);
    /// @notice `guardian` may now pause and unpause.
    event GuardianChanged(address indexed previous, address indexed guardian);
    /// @notice `verifier` (address(0): none) now verifies proofs of model `modelHash`, with `nPublic` public signals.
    event ZkVerifierSet(uint256 indexed modelHash, address indexed verifier, uint16 nPublic);

    // ─── Errors ──────────────────────────────────────────────────────────────────────────────

    /// @notice The zero address where an address is required.
    error ZeroAddress();
    /// @notice A zero amount where a positive one is required.
    error ZeroAmount();
    /// @notice `token` is not on the allow-list.
    error TokenNotAllowed(address token);
    /// @notice msg.value must be `expected` (the amount for ETH, zero for an ERC-20).
    error InvalidEthValue(uint256 expected, uint256 sent);
    /// @notice A task's deadline must be in the future and below 2⁴⁰.
    error InvalidDeadline(uint64 deadline);
    /// @notice `taskId` is used already.
    error TaskExists(bytes32 taskId);
    /// @notice The task is in `status`, which does not allow the call.
    error InvalidTaskStatus(bytes32 taskId, TaskStatus status);
    /// @notice The task's deadline passed: it can only be refunded.
    error DeadlinePassed(bytes32 taskId, uint64 deadline);
    /// @notice The task can be refunded only after its deadline.
    error DeadlineNotReached(bytes32 taskId, uint64 deadline);
    /// @notice A settlement pays 1..MAX_PROVIDERS executions.
    error InvalidProviderCount(uint256 count);
    /// @notice Two arrays that go together differ in length.
    error LengthMismatch(uint256 providers, uint256 amounts);
    /// @notice `provider` has not registered with {Staking}.
    error ProviderNotRegistered(address provider);
    /// @notice A settlement's cost exceeds the task's escrow.
    error CostExceedsEscrow(bytes32 taskId, uint256 cost, uint256 escrow);
    /// @notice A batch must hold at least one item.
    error EmptyBatch();
    /// @notice The task's payout can be released only from `releaseAt` on.
    error DisputeWindowOpen(bytes32 taskId, uint64 releaseAt);
    /// @notice The task can be disputed only before `releaseAt`.
    error DisputeWindowClosed(bytes32 taskId, uint64 releaseAt);
    /// @notice The payout given is not the one committed at settlement.
    error PayoutMismatch(bytes32 taskId);
    /// @notice `account` has no `token` credits.
    error NothingToWithdraw(address token, address account);
    /// @notice The slash nonce was used already.
    error SlashNonceUsed(bytes32 nonce);
    /// @notice A slash's beneficiary amount exceeds its amount.
    error BeneficiaryAmountTooLarge(uint256 beneficiaryAmount, uint256 amount);
    /// @notice Only the guardian or the owner may pause and unpause.
    error NotGuardian(address account);
    /// @notice treasuryBps + creatorBps must not exceed MAX_FEE_BPS.
    error FeeBpsOutOfBounds(uint256 treasuryBps, uint256 creatorBps);
    /// @notice The dispute window must lie within its bounds and not exceed the unbonding delay.
    error DisputeWindowOutOfBounds(uint64 disputeWindow);
    /// @notice A deposit needs a non-zero Stun account.
    error ZeroAccount();
    /// @notice `account`'s deposit in `token` holds `available`, less than `requested`.
    error InsufficientDeposit(bytes32 account, address token, uint256 requested, uint256 available);
    /// @notice The withdrawal nonce was used already.
    error WithdrawalNonceUsed(bytes32 nonce);
    /// @notice The withdrawal order expired at `deadline`.
    error WithdrawalExpired(bytes32 nonce, uint256 deadline);
    /// @notice A zk verifier must be a contract with at least the zkML circuit's public signals, for a non-zero model hash.
    error InvalidZkVerifier(address verifier, uint16 nPublic);
    /// @notice No verifier is registered for `modelHash`.
    error ZkVerifierNotSet(uint256 modelHash);
    /// @notice The task is not a zk task: settlers settle it.
    error NotZkTask(bytes32 taskId);
    /// @notice The task is a zk task: only a proof settles it.
    error ZkTaskNeedsProof(bytes32 taskId);
    // {settleWithProof} also bubbles up the errors of {ZkProofChecker}, {slash} those of {IStaking}.

    // ─── What {Staking} calls ────────────────────────────────────────────────────────────────

    /// @notice Seconds after settlement during which settlers can dispute it (a floor for the unbonding delay).
    function disputeWindow() external view returns (uint64);
}
