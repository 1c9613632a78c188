// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Address} from "@openzeppelin/contracts/utils/Address.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";

import {FeeSplit} from "./FeeSplit.sol";
import {SettlerSet} from "./SettlerSet.sol";
import {ZkProofChecker} from "./ZkProofChecker.sol";
import {Staking} from "./Staking.sol";
import {IComputeMarketplace} from "./interfaces/IComputeMarketplace.sol";
import {IStaking} from "./interfaces/IStaking.sol";

/**
 * @title ComputeMarketplace
 * @notice Stun's on-chain settlement: task escrow (native ETH or an allow-listed ERC-20),
 * settlement by an M-of-N set of settler keys with the 80/15/5 fee split, a dispute window before
 * payouts can be claimed, refunds after a task's deadline, slashing orders, and an emergency pause.
 * Its types, events and errors are in {IComputeMarketplace}.
 *
 * Provider stake (in STUN) lives in {Staking}, a separate contract this one creates in its
 * constructor (`staking()`): providers register and stake there; this contract asks it whether a
 * provider is registered before paying it, and M settler signatures over a `Slash` here make it
 * hand slashed stake over, to be credited like any payout. Staking obeys this contract's owner and
 * pause.
 *
 * A task's life: `createTask` (Escrowed) → `settle` / `settleBatch` by M settler signatures
 * (Settled; the unspent escrow is credited to the requester at once) → after the dispute window,
 * `release` credits the providers, the treasury and the model creator (Released) — or, within the
 * window, `dispute` by M settler signatures reverses the settlement and credits the cost back to the
 * requester (Disputed). A task not settled by its deadline can be refunded by anyone (Refunded).
 * Every payout is a credit: its owner takes it out with `withdraw` (pull payments).
 *
 * A zk task (`createZkTask`) is settled instead by a Groth16 proof of its model on its input,
 * submitted by anyone with `settleWithProof`: the requester commits to the model hash and the input
 * hash, the model's snarkjs verifier (registered by the owner with `setZkVerifier`) checks the
 * proof, which also binds the task id and the paid provider; the whole escrow is split and credited
 * at once (Escrowed → Released), with no settler and no dispute window. See {ZkProofChecker}.
 *
 * Stun accounts can also be funded on chain without naming a task: `deposit` adds to the
 * account's pool balance (`depositOf`, keyed by the Stun account id as bytes32), which M settler
 * signatures then spend task by task with `settleFromDeposits` — the same split, the same dispute
 * window and the same `release` as an escrowed task — or send back to a wallet with
 * `withdrawDeposit`. Settlers can never spend more of an account than it deposited.
 *
 * Roles: the owner (a TimelockController governed by StunGovernor) changes parameters; the
 * guardian (and the owner) can pause and unpause; settlers sign settlements (never of a zk task),
 * disputes and slashes.
 * While paused, nothing new can be escrowed, deposited, staked, settled or released, no deposit
 * withdrawal is granted, and no money leaves the contract; refunds, disputes, slashes and unstake requests (which only move credits) still work.
 *
 * Tokens on the allow-list must be plain ERC-20s (no fee on transfer, no rebasing).
 */
contract ComputeMarketplace is IComputeMarketplace, Ownable, Pausable, ReentrancyGuardTransient, EIP712, SettlerSet {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    // ─── Constants ───────────────────────────────────────────────────────────────────────────

    // EIP-712 type hashes (viem: `types` in src-ts/typed-data.ts).
    /// @notice EIP-712 type hash of `Settlement` (what {settle} checks).
    bytes32 public constant SETTLEMENT_TYPEHASH =
        keccak256("Settlement(bytes32 taskId,bytes32 resultDigest,address[] providers,uint256[] amounts)");
    /// @notice EIP-712 type hash of `SettlementBatch` (what {settleBatch} checks).
    bytes32 public constant SETTLEMENT_BATCH_TYPEHASH =
        keccak256(
            "SettlementBatch(Settlement[] settlements)Settlement(bytes32 taskId,bytes32 resultDigest,address[] providers,uint256[] amounts)"
        );
    /// @notice EIP-712 type hash of `Dispute` (what {dispute} checks).
    bytes32 public constant DISPUTE_TYPEHASH = keccak256("Dispute(bytes32 taskId,bytes32 resultDigest)");
    /// @notice EIP-712 type hash of `Slash` (what {slash} checks).
    bytes32 public constant SLASH_TYPEHASH =
        keccak256("Slash(address provider,uint256 amount,address beneficiary,uint256 beneficiaryAmount,bytes32 nonce)");
    /// @notice EIP-712 type hash of one `DepositSettlement` of a batch.
    bytes32 public constant DEPOSIT_SETTLEMENT_TYPEHASH =
        keccak256(
            "DepositSettlement(bytes32 taskId,bytes32 resultDigest,bytes32 account,address token,address modelCreator,address[] providers,uint256[] amounts)"
        );
    /// @notice EIP-712 type hash of `DepositSettlementBatch` (what {settleFromDeposits} checks).
    bytes32 public constant DEPOSIT_SETTLEMENT_BATCH_TYPEHASH =
        keccak256(
            "DepositSettlementBatch(DepositSettlement[] settlements)DepositSettlement(bytes32 taskId,bytes32 resultDigest,bytes32 account,address token,address modelCreator,address[] providers,uint256[] amounts)"
        );
    /// @notice EIP-712 type hash of `DepositWithdrawal` (what {withdrawDeposit} checks).
    bytes32 public constant DEPOSIT_WITHDRAWAL_TYPEHASH =
        keccak256("DepositWithdrawal(bytes32 account,address token,uint256 amount,address to,bytes32 nonce,uint256 deadline)");

    /// @notice Most executions (providers) one settlement may pay.
    uint256 public constant MAX_PROVIDERS = 32;
    /// @notice Upper bound on treasuryBps + creatorBps (providers keep at least 70%).
    uint256 public constant MAX_FEE_BPS = 3_000;
    /// @notice Lower bound on the dispute window.
    uint64 public constant MIN_DISPUTE_WINDOW = 1 minutes;
    /// @notice Upper bound on the dispute window.
    uint64 public constant MAX_DISPUTE_WINDOW = 30 days;
    /// @notice Fewest public signals of a zkML circuit: modelHash, inputHash, one output, taskId, provider.
    uint16 internal constant MIN_ZK_PUBLIC_SIGNALS = 5;

    // ─── State ───────────────────────────────────────────────────────────────────────────────

    /// @notice Providers' stake (created by the constructor; this contract is its owner-of-record, pause switch and slasher).
    IStaking public immutable staking;
    /// @notice The token providers stake (STUN): {staking}'s, in which slashed stake is credited.
    IERC20 public immutable stakeToken;
    /// @notice Checks zkML proofs for {settleWithProof} (created by the constructor; stateless).
    ZkProofChecker public immutable zkProofChecker;

    /// @notice Receives the treasury's share of every settlement and slashed stake.
    address public treasury;
    /// @notice Treasury share in basis points (default 1,500 = 15%).
    uint16 public treasuryBps;
    /// @notice Model creator share in basis points (default 500 = 5%).
    uint16 public creatorBps;
    /// @notice Seconds after settlement during which settlers can dispute it.
    uint64 public disputeWindow;
    /// @notice May pause and unpause (as may the owner).
    address public guardian;

    /// @notice Tokens tasks can be escrowed in; address(0) is native ETH.
    mapping(address token => bool) public isTokenAllowed;
    /// @notice What `account` can withdraw, per token (address(0) = ETH).
    mapping(address token => mapping(address account => uint256)) public claimable;
    /// @notice Slash nonces already used.
    mapping(bytes32 nonce => bool) public slashNonceUsed;

    /// @notice Unspent deposits of Stun accounts (bytes32: the account id's UTF-8 bytes, right-padded), per token.
    mapping(bytes32 account => mapping(address token => uint256)) public depositOf;
    /// @notice The Stun account a task settled with {settleFromDeposits} was paid from (zero otherwise).
    mapping(bytes32 taskId => bytes32 account) public taskAccount;
    /// @notice Deposit withdrawal nonces already used.
    mapping(bytes32 nonce => bool) public withdrawalNonceUsed;

    /// @notice The Groth16 verifier of each model, by its model hash (the zkML circuit's publicSignals[0]).
    mapping(uint256 modelHash => ZkVerifier) public zkVerifierOf;
    /// @notice The zk terms of a task created with {createZkTask} (zero otherwise).
    mapping(bytes32 taskId => ZkTerms) public zkTermsOf;

    mapping(bytes32 taskId => Task) private _tasks;

    // ─── Construction ────────────────────────────────────────────────────────────────────────

    /// @notice Deploys the marketplace with its {ZkProofChecker} and its {Staking} (given `config`'s stake settings).
    constructor(Config memory config) Ownable(config.owner) EIP712("Stun ComputeMarketplace", "1") {
        zkProofChecker = new ZkProofChecker();
        _setTreasury(config.treasury);
        _setGuardian(config.guardian);
        _setFeeSplit(config.treasuryBps, config.creatorBps);
        _setDisputeWindow(config.disputeWindow);
        stakeToken = config.stakeToken; // Staking's constructor refuses address(0)
        staking = new Staking(config.stakeToken, config.disputeWindow, config.unbondingDelay, config.minStake);
        _setSettlers(config.settlers, config.settlerThreshold);
        for (uint256 i = 0; i < config.allowedTokens.length; ++i) {
            _setTokenAllowed(config.allowedTokens[i], true);
        }
    }

    // ─── Escrow ──────────────────────────────────────────────────────────────────────────────

    /**
     * @notice Escrows `amount` of `token` (address(0): native ETH, sent as msg.value) for task
     * `taskId`. ERC-20s are pulled from the caller, who must have approved this contract.
     * @param taskId any id not used before (e.g. keccak256 of the server's task id)
     * @param token an allow-listed token, or address(0) for ETH
     * @param amount the most the task may cost (< 2⁹⁶); what it does not cost is credited back
     * @param deadline unix time by which the task must be settled (< 2⁴⁰); after it, `refund`
     * @param modelCreator receives the creator share; address(0) gives it to the treasury
     */
    function createTask(
        bytes32 taskId,
        address token,
        uint256 amount,
        uint64 deadline,
        address modelCreator
    ) external payable nonReentrant whenNotPaused {
        _createTask(taskId, token, amount, deadline, modelCreator, 0, 0);
    }

    /**
     * @notice {createTask} for an ERC-20 with an ERC-2612 permit instead of a prior approval. A
     * permit that fails (e.g. already used by a front-runner) is ignored; the transfer then needs
     * an allowance as usual.
     */
    function createTaskWithPermit(
        bytes32 taskId,
        address token,
        uint256 amount,
        uint64 deadline,
        address modelCreator,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant whenNotPaused {
        _tryPermit(token, amount, permitDeadline, v, r, s);
        _createTask(taskId, token, amount, deadline, modelCreator, 0, 0);
    }

    /**
     * @notice {createTask} for a task settled by a zkML proof instead of settler signatures: the
     * requester commits to the model and the input, and anyone holding a valid Groth16 proof of
     * this model on this input, bound to this task, settles it with {settleWithProof}. Settlers
     * cannot settle it; it is refundable after its deadline as usual.
     * @param taskId the Stun task id as bytes32 (`idToBytes32`): proofs bind `sha256(id)` (see {ZkProofChecker-taskField})
     * @param token an allow-listed token, or address(0) for ETH (then msg.value = amount)
     * @param amount the task's whole price: all of it is paid out (split) to whoever proves it
     * @param deadline unix time by which it must be proven (< 2⁴⁰); after it, `refund`
     * @param modelCreator receives the creator share; address(0) gives it to the treasury
     * @param modelHash the zkML circuit's publicSignals[0], naming the weights; must have a verifier
     * @param inputHash the zkML circuit's publicSignals[1], Poseidon of the task's private input
     */
    function createZkTask(
        bytes32 taskId,
        address token,
        uint256 amount,
        uint64 deadline,
        address modelCreator,
        uint256 modelHash,
        uint256 inputHash
    ) external payable nonReentrant whenNotPaused {
        if (zkVerifierOf[modelHash].verifier == address(0)) revert ZkVerifierNotSet(modelHash);
        _createTask(taskId, token, amount, deadline, modelCreator, modelHash, inputHash);
    }

    /// @dev Escrows a task; `modelHash != 0` makes it a zk task (registered model hashes are non-zero).
    function _createTask(
        bytes32 taskId,
        address token,
        uint256 amount,
        uint64 deadline,
        address modelCreator,
        uint256 modelHash,
        uint256 inputHash
    ) private {
        if (!isTokenAllowed[token]) revert TokenNotAllowed(token);
        if (amount == 0) revert ZeroAmount();
        if (deadline <= block.timestamp || deadline > type(uint40).max) revert InvalidDeadline(deadline);
        Task storage task = _tasks[taskId];
        if (task.status != TaskStatus.None) revert TaskExists(taskId);
        _checkValue(token, amount);

        task.requester = msg.sender;
        task.deadline = uint40(deadline); // checked above
        task.status = TaskStatus.Escrowed;
        task.token = token;
        task.amount = amount.toUint96();
        if (modelCreator != address(0)) task.modelCreator = modelCreator;
        emit TaskCreated(taskId, msg.sender, token, amount, deadline, modelCreator);
        if (modelHash != 0) {
            task.zk = true;
            zkTermsOf[taskId] = ZkTerms(modelHash, inputHash);
            emit ZkTaskCreated(taskId, modelHash, inputHash);
        }

        if (token != address(0)) IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Refunds the whole escrow of a task that was not settled by its deadline (credited to
     * the requester). Anyone may call it once the deadline has passed.
     */
    function refund(bytes32 taskId) external {
        Task storage task = _tasks[taskId];
        if (task.status != TaskStatus.Escrowed) revert InvalidTaskStatus(taskId, task.status);
        if (block.timestamp <= task.deadline) revert DeadlineNotReached(taskId, task.deadline);
        task.status = TaskStatus.Refunded;
        uint256 amount = task.amount;
        claimable[task.token][task.requester] += amount;
        emit TaskRefunded(taskId, amount);
    }

    // ─── Deposits of Stun accounts ───────────────────────────────────────────────────────────

    /**
     * @notice Adds `amount` of `token` (address(0): native ETH, sent as msg.value) to the deposit of
     * Stun account `account`. ERC-20s are pulled from the caller, who must have approved this
     * contract. Anyone may fund any account; Stun's server credits the account once the
     * {Deposited} log is final.
     * @param token an allow-listed token, or address(0) for ETH
     * @param amount in the token's base units
     * @param account the Stun account id's UTF-8 bytes, right-padded with zeros to 32 bytes
     */
    function deposit(address token, uint256 amount, bytes32 account) external payable nonReentrant whenNotPaused {
        _deposit(token, amount, account);
    }

    /**
     * @notice {deposit} of an ERC-20 with an ERC-2612 permit instead of a prior approval. A permit
     * that fails (e.g. already used by a front-runner) is ignored; the transfer then needs an
     * allowance as usual.
     */
    function depositWithPermit(
        address token,
        uint256 amount,
        bytes32 account,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant whenNotPaused {
        _tryPermit(token, amount, permitDeadline, v, r, s);
        _deposit(token, amount, account);
    }

    /// @dev Checks msg.value: `amount` for ETH (token address(0)), zero for an ERC-20.
    function _checkValue(address token, uint256 amount) private view {
        uint256 expected = token == address(0) ? amount : 0;
        if (msg.value != expected) revert InvalidEthValue(expected, msg.value);
    }

    /// @dev Uses an ERC-2612 permit for `amount` of `token` (not ETH); a failing permit is ignored.
    function _tryPermit(address token, uint256 amount, uint256 permitDeadline, uint8 v, bytes32 r, bytes32 s) private {
        if (token == address(0)) revert TokenNotAllowed(token);
        // Both blocks empty on purpose: a failed permit falls back to an ordinary allowance.
        // solhint-disable-next-line no-empty-blocks
        try IERC20Permit(token).permit(msg.sender, address(this), amount, permitDeadline, v, r, s) {} catch {}
    }

    function _deposit(address token, uint256 amount, bytes32 account) private {
        if (!isTokenAllowed[token]) revert TokenNotAllowed(token);
        if (amount == 0) revert ZeroAmount();
        if (account == bytes32(0)) revert ZeroAccount();
        _checkValue(token, amount);
        depositOf[account][token] += amount;
        emit Deposited(account, msg.sender, token, amount);
        if (token != address(0)) IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Settles many tasks out of Stun accounts' deposits in one transaction, with one set of
     * M settler signatures over the EIP-712 `DepositSettlementBatch`. Each task's cost (Σ amounts)
     * is taken from its account's deposit in its token and split with {FeeSplit}, exactly as
     * {settle} does; the task is then Settled like an escrowed one (no change to return): its split
     * becomes claimable through {release} after the dispute window, and {dispute} within the
     * window puts the cost back into the account's deposit. All or nothing: one task that cannot
     * be settled (id already used, deposit too small, …) reverts the batch.
     * @param settlements one per task (ids never used before, by any task)
     * @param signatures settler signatures, signers strictly ascending
     */
    function settleFromDeposits(DepositSettlement[] calldata settlements, bytes[] calldata signatures) external whenNotPaused {
        _checkSettlerSignatures(depositSettlementBatchDigest(settlements), signatures);
        for (uint256 i = 0; i < settlements.length; ++i) {
            _settleFromDeposit(settlements[i]);
        }
    }

    function _settleFromDeposit(DepositSettlement calldata settlement) private {
        bytes32 taskId = settlement.taskId;
        Task storage task = _tasks[taskId];
        if (task.status != TaskStatus.None) revert TaskExists(taskId);
        bytes32 account = settlement.account;
        if (account == bytes32(0)) revert ZeroAccount();
        uint256 n = settlement.providers.length;
        if (n == 0 || n > MAX_PROVIDERS) revert InvalidProviderCount(n);
        if (n != settlement.amounts.length) revert LengthMismatch(n, settlement.amounts.length);
        for (uint256 i = 0; i < n; ++i) {
            if (settlement.providers[i] == address(0)) revert ZeroAddress();
        }

        (uint256 cost, uint256 treasuryShare, uint256 creatorShare, uint256[] memory shares) = FeeSplit.split(
            settlement.amounts,
            treasuryBps,
            creatorBps
        );
        address token = settlement.token;
        uint256 available = depositOf[account][token];
        if (cost > available) revert InsufficientDeposit(account, token, cost, available);
        depositOf[account][token] = available - cost;

        Payout memory payout = Payout(settlement.providers, shares, treasuryShare, creatorShare);
        uint40 releaseAt = uint40(block.timestamp + disputeWindow);
        task.releaseAt = releaseAt;
        task.status = TaskStatus.Settled;
        task.token = token;
        task.amount = cost.toUint96();
        address creator = settlement.modelCreator;
        if (creator != address(0)) task.modelCreator = creator;
        task.cost = uint96(cost); // checked by toUint96 above
        task.resultDigest = settlement.resultDigest;
        task.payoutHash = keccak256(abi.encode(payout));
        taskAccount[taskId] = account;
        emit SettledFromDeposit(taskId, account, token, cost);
        emit TaskSettled(taskId, settlement.resultDigest, cost, 0, releaseAt, payout);
    }

    /**
     * @notice Sends part of a Stun account's unspent deposit back out, with M settler signatures
     * over the EIP-712 `DepositWithdrawal`: `amount` leaves the deposit and is credited to `to`,
     * who takes it with {withdraw}. Stun's server asks for it when the account withdraws its
     * balance to its linked wallet. Reverts `WithdrawalNonceUsed` for a nonce already used and
     * `WithdrawalExpired` once `block.timestamp` is past the order's deadline.
     * @param withdrawal the account, token, amount, recipient, nonce and deadline the settlers signed
     * @param signatures settler signatures, signers strictly ascending
     */
    function withdrawDeposit(DepositWithdrawal calldata withdrawal, bytes[] calldata signatures) external whenNotPaused {
        if (withdrawal.amount == 0) revert ZeroAmount();
        if (withdrawal.to == address(0)) revert ZeroAddress();
        if (withdrawalNonceUsed[withdrawal.nonce]) revert WithdrawalNonceUsed(withdrawal.nonce);
        if (block.timestamp > withdrawal.deadline) revert WithdrawalExpired(withdrawal.nonce, withdrawal.deadline);
        _checkSettlerSignatures(depositWithdrawalDigest(withdrawal), signatures);
        uint256 available = depositOf[withdrawal.account][withdrawal.token];
        if (withdrawal.amount > available) {
            revert InsufficientDeposit(withdrawal.account, withdrawal.token, withdrawal.amount, available);
        }
        withdrawalNonceUsed[withdrawal.nonce] = true;
        depositOf[withdrawal.account][withdrawal.token] = available - withdrawal.amount;
        claimable[withdrawal.token][withdrawal.to] += withdrawal.amount;
        emit DepositWithdrawn(withdrawal.account, withdrawal.token, withdrawal.to, withdrawal.amount, withdrawal.nonce);
    }

    // ─── Settlement ──────────────────────────────────────────────────────────────────────────

    /**
     * @notice Settles one task with M settler signatures over its EIP-712 `Settlement`: records
     * the result digest, splits the cost (Σ amounts) with {FeeSplit} — providers pro rata, the
     * treasury and the model creator their basis points — and credits the unspent escrow back to
     * the requester. The split becomes claimable through {release} after the dispute window.
     * @param settlement the task, its result digest and the accepted executions (provider, price)
     * @param signatures settler signatures, signers strictly ascending
     */
    function settle(Settlement calldata settlement, bytes[] calldata signatures) external whenNotPaused {
        _checkSettlerSignatures(_hashTypedDataV4(_hashSettlement(settlement)), signatures);
        _settle(settlement);
    }

    /**
     * @notice Settles many tasks in one transaction with one set of M signatures over the EIP-712
     * `SettlementBatch`. All or nothing: one task that cannot be settled reverts the batch.
     */
    function settleBatch(Settlement[] calldata settlements, bytes[] calldata signatures) external whenNotPaused {
        _checkSettlerSignatures(settlementBatchDigest(settlements), signatures);
        for (uint256 i = 0; i < settlements.length; ++i) {
            _settle(settlements[i]);
        }
    }

    function _settle(Settlement calldata settlement) private {
        bytes32 taskId = settlement.taskId;
        Task storage task = _settleableTask(taskId, false);
        uint256 n = settlement.providers.length;
        if (n == 0 || n > MAX_PROVIDERS) revert InvalidProviderCount(n);
        if (n != settlement.amounts.length) revert LengthMismatch(n, settlement.amounts.length);
        for (uint256 i = 0; i < n; ++i) {
            address provider = settlement.providers[i];
            if (!staking.isRegistered(provider)) revert ProviderNotRegistered(provider);
        }

        (uint256 cost, uint256 treasuryShare, uint256 creatorShare, uint256[] memory shares) = FeeSplit.split(
            settlement.amounts,
            treasuryBps,
            creatorBps
        );
        uint256 escrow = task.amount;
        if (cost > escrow) revert CostExceedsEscrow(taskId, cost, escrow);

        Payout memory payout = Payout(settlement.providers, shares, treasuryShare, creatorShare);
        uint40 releaseAt = uint40(block.timestamp + disputeWindow);
        task.status = TaskStatus.Settled;
        task.releaseAt = releaseAt;
        task.cost = uint96(cost); // ≤ amount
        task.resultDigest = settlement.resultDigest;
        task.payoutHash = keccak256(abi.encode(payout));
        uint256 change = escrow - cost;
        if (change != 0) claimable[task.token][task.requester] += change;
        emit TaskSettled(taskId, settlement.resultDigest, cost, change, releaseAt, payout);
    }

    // ─── Settlement with a zkML proof ────────────────────────────────────────────────────────

    /**
     * @notice Settles a zk task (see {createZkTask}) with a Groth16 proof of its model on its
     * input, bound to the task and to a provider. Anyone may submit it: the proof is the evidence,
     * no settler signs. The whole escrow is the cost; it is split with {FeeSplit} (one provider:
     * the treasury and creator their basis points, the provider the rest) and credited at once
     * (there is no dispute window: nothing to dispute); the task is then Released.
     * Public signals, in the zkML circuit's order: [modelHash, inputHash, out_0 … out_{m−1},
     * taskId, provider], with taskId = {ZkProofChecker-taskField}(taskId) and provider = the EVM address that
     * is paid (uint160). The provider need not be registered or staked.
     * @param pA the proof's A (snarkjs `solidityCalldata` [0])
     * @param pB the proof's B ([1])
     * @param pC the proof's C ([2])
     * @param pubSignals the public signals ([3]); their count must be the verifier's nPublic
     */
    function settleWithProof(
        bytes32 taskId,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pubSignals
    ) external whenNotPaused {
        Task storage task = _settleableTask(taskId, true);
        uint256 modelHash = zkTermsOf[taskId].modelHash;
        (address provider, bytes32 resultDigest) = _checkProof(taskId, modelHash, pA, pB, pC, pubSignals);
        _payZkTask(taskId, task, provider, modelHash, resultDigest);
    }

    /**
     * @dev {ZkProofChecker-check} of the proof against the task's terms and its model's verifier,
     * encoded by hand: the calldata arrays are copied as they are (a high-level call would re-encode
     * them, with ~300 bytes more code). A revert bubbles up with the checker's error.
     */
    function _checkProof(
        bytes32 taskId,
        uint256 modelHash,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pubSignals
    ) private view returns (address provider, bytes32 resultDigest) {
        ZkVerifier memory v = zkVerifierOf[modelHash]; // none (zero): the checker reverts ZkVerifierNotSet
        uint256 inputHash = zkTermsOf[taskId].inputHash;
        address checker = address(zkProofChecker);
        bytes4 selector = ZkProofChecker.check.selector;
        // Hand-encoded to copy the calldata arrays as they are (see above).
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            // check(Claim(taskId, modelHash, inputHash, verifier, nPublic), pA, pB, pC, pubSignals)
            let n := pubSignals.length
            let ptr := mload(0x40)
            mstore(ptr, selector)
            mstore(add(ptr, 0x04), taskId)
            mstore(add(ptr, 0x24), modelHash)
            mstore(add(ptr, 0x44), inputHash)
            mstore(add(ptr, 0x64), mload(v))
            mstore(add(ptr, 0x84), mload(add(v, 0x20)))
            calldatacopy(add(ptr, 0xa4), pA, 0x40)
            calldatacopy(add(ptr, 0xe4), pB, 0x80)
            calldatacopy(add(ptr, 0x164), pC, 0x40)
            mstore(add(ptr, 0x1a4), 0x1c0) // offset of pubSignals: after the 14 head words
            mstore(add(ptr, 0x1c4), n)
            calldatacopy(add(ptr, 0x1e4), pubSignals.offset, shl(5, n))
            if iszero(staticcall(gas(), checker, ptr, add(0x1e4, shl(5, n)), 0, 0x40)) {
                returndatacopy(ptr, 0, returndatasize())
                revert(ptr, returndatasize())
            }
            provider := mload(0)
            resultDigest := mload(0x20)
        }
    }

    /// @dev Effects of {settleWithProof}: the whole escrow split and credited, the task Released.
    function _payZkTask(bytes32 taskId, Task storage task, address provider, uint256 modelHash, bytes32 resultDigest) private {
        uint256 cost = task.amount;
        uint256 treasuryShare;
        uint256 creatorShare;
        unchecked {
            // cost < 2⁹⁶ and bps < 2¹⁶: no overflow; the shares sum to at most cost.
            treasuryShare = (cost * treasuryBps) / FeeSplit.BPS_DENOMINATOR;
            creatorShare = (cost * creatorBps) / FeeSplit.BPS_DENOMINATOR;
        }
        task.status = TaskStatus.Released;
        task.releaseAt = uint40(block.timestamp);
        task.cost = uint96(cost);
        task.resultDigest = resultDigest;
        mapping(address => uint256) storage credit = claimable[task.token];
        unchecked {
            credit[provider] += cost - treasuryShare - creatorShare;
        }
        _creditFees(credit, task.modelCreator, treasuryShare, creatorShare);
        emit TaskSettledWithProof(taskId, provider, modelHash, cost, resultDigest);
    }

    /// @dev Credits the treasury and the model creator their shares (the creator's to the treasury when it is address(0)).
    function _creditFees(mapping(address => uint256) storage credit, address creator, uint256 treasuryShare, uint256 creatorShare) private {
        if (creator == address(0)) {
            treasuryShare += creatorShare;
            creatorShare = 0;
        }
        if (treasuryShare != 0) credit[treasury] += treasuryShare;
        if (creatorShare != 0) credit[creator] += creatorShare;
    }

    /// @dev The task, checked to be Escrowed, within its deadline, and of the kind asked for (zk or not).
    function _settleableTask(bytes32 taskId, bool zk) private view returns (Task storage task) {
        task = _tasks[taskId];
        if (task.status != TaskStatus.Escrowed) revert InvalidTaskStatus(taskId, task.status);
        if (block.timestamp > task.deadline) revert DeadlinePassed(taskId, task.deadline);
        if (task.zk != zk) {
            if (zk) revert NotZkTask(taskId);
            revert ZkTaskNeedsProof(taskId);
        }
    }

    /**
     * @notice After the dispute window, credits a settled task's split: each provider its share,
     * the treasury and the model creator theirs. Anyone may call it with the `payout` emitted in
     * {TaskSettled}.
     */
    function release(bytes32 taskId, Payout calldata payout) external whenNotPaused {
        _release(taskId, payout);
    }

    /// @notice {release} for many tasks in one transaction.
    function releaseBatch(bytes32[] calldata taskIds, Payout[] calldata payouts) external whenNotPaused {
        if (taskIds.length != payouts.length) revert LengthMismatch(taskIds.length, payouts.length);
        for (uint256 i = 0; i < taskIds.length; ++i) {
            _release(taskIds[i], payouts[i]);
        }
    }

    function _release(bytes32 taskId, Payout calldata payout) private {
        Task storage task = _tasks[taskId];
        if (task.status != TaskStatus.Settled) revert InvalidTaskStatus(taskId, task.status);
        if (block.timestamp < task.releaseAt) revert DisputeWindowOpen(taskId, task.releaseAt);
        if (keccak256(abi.encode(payout)) != task.payoutHash) revert PayoutMismatch(taskId);
        task.status = TaskStatus.Released;

        address token = task.token;
        mapping(address => uint256) storage credit = claimable[token];
        for (uint256 i = 0; i < payout.providers.length; ++i) {
            uint256 share = payout.shares[i];
            if (share != 0) credit[payout.providers[i]] += share;
        }
        _creditFees(credit, task.modelCreator, payout.treasuryShare, payout.creatorShare);
        emit TaskReleased(taskId);
    }

    /**
     * @notice Within the dispute window, M settler signatures over the EIP-712 `Dispute` (task id
     * and the settled result digest) reverse a settlement: nothing is paid out, and the cost is
     * credited back to the requester (who already has the change) — or, for a task paid with
     * {settleFromDeposits}, put back into the paying account's deposit.
     */
    function dispute(bytes32 taskId, bytes[] calldata signatures) external {
        Task storage task = _tasks[taskId];
        if (task.status != TaskStatus.Settled) revert InvalidTaskStatus(taskId, task.status);
        if (block.timestamp >= task.releaseAt) revert DisputeWindowClosed(taskId, task.releaseAt);
        _checkSettlerSignatures(disputeDigest(taskId, task.resultDigest), signatures);
        task.status = TaskStatus.Disputed;
        uint256 refunded = task.cost;
        if (refunded != 0) {
            bytes32 account = taskAccount[taskId];
            if (account != bytes32(0)) depositOf[account][task.token] += refunded;
            else claimable[task.token][task.requester] += refunded;
        }
        emit TaskDisputed(taskId, refunded);
    }

    /**
     * @notice Sends the caller everything it can claim in `token` (address(0): ETH).
     */
    function withdraw(address token) external nonReentrant whenNotPaused {
        uint256 amount = claimable[token][msg.sender];
        if (amount == 0) revert NothingToWithdraw(token, msg.sender);
        claimable[token][msg.sender] = 0;
        emit Withdrawn(token, msg.sender, amount);
        if (token == address(0)) {
            Address.sendValue(payable(msg.sender), amount);
        } else {
            IERC20(token).safeTransfer(msg.sender, amount);
        }
    }

    // ─── Slashing ────────────────────────────────────────────────────────────────────────────

    /**
     * @notice Slashes a provider with M settler signatures over the EIP-712 `Slash`: {Staking}
     * takes up to `order.amount` from its stake (active first, then unbonding) and sends it here;
     * up to `order.beneficiaryAmount` of it is credited to `order.beneficiary` and the rest to the
     * treasury. Works while paused (it only moves credits out of reach of the provider).
     */
    function slash(SlashOrder calldata order, bytes[] calldata signatures) external nonReentrant {
        if (order.amount == 0) revert ZeroAmount();
        if (order.beneficiaryAmount > order.amount) revert BeneficiaryAmountTooLarge(order.beneficiaryAmount, order.amount);
        if (order.beneficiaryAmount != 0 && order.beneficiary == address(0)) revert ZeroAddress();
        if (slashNonceUsed[order.nonce]) revert SlashNonceUsed(order.nonce);
        _checkSettlerSignatures(slashDigest(order), signatures);
        slashNonceUsed[order.nonce] = true;

        // The only external call; Staking is this contract's own creation and sends the stake token here.
        uint256 slashed = staking.slash(order.provider, order.amount);
        uint256 toBeneficiary = order.beneficiaryAmount < slashed ? order.beneficiaryAmount : slashed;
        uint256 toTreasury = slashed - toBeneficiary;
        address token = address(stakeToken);
        if (toBeneficiary != 0) claimable[token][order.beneficiary] += toBeneficiary;
        if (toTreasury != 0) claimable[token][treasury] += toTreasury;
        emit ProviderSlashed(order.provider, order.nonce, slashed, order.beneficiary, toBeneficiary, toTreasury);
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @notice A task's record (status None for an unknown id).
    function getTask(bytes32 taskId) external view returns (Task memory) {
        return _tasks[taskId];
    }

    /// @notice The split {settle} would make of `amounts` with the current fee parameters.
    function previewSplit(
        uint256[] calldata amounts
    ) external view returns (uint256 cost, uint256 treasuryShare, uint256 creatorShare, uint256[] memory shares) {
        return FeeSplit.split(amounts, treasuryBps, creatorBps);
    }

    /// @notice The EIP-712 digest settlers sign for {settle}.
    function settlementDigest(Settlement calldata settlement) external view returns (bytes32) {
        return _hashTypedDataV4(_hashSettlement(settlement));
    }

    /// @notice The EIP-712 digest settlers sign for {settleBatch}.
    function settlementBatchDigest(Settlement[] calldata settlements) public view returns (bytes32) {
        uint256 n = settlements.length;
        if (n == 0) revert EmptyBatch();
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            hashes[i] = _hashSettlement(settlements[i]);
        }
        return _hashTypedDataV4(keccak256(abi.encode(SETTLEMENT_BATCH_TYPEHASH, keccak256(abi.encodePacked(hashes)))));
    }

    /// @notice The EIP-712 digest settlers sign for {settleFromDeposits}.
    function depositSettlementBatchDigest(DepositSettlement[] calldata settlements) public view returns (bytes32) {
        uint256 n = settlements.length;
        if (n == 0) revert EmptyBatch();
        bytes32[] memory hashes = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            hashes[i] = _hashDepositSettlement(settlements[i]);
        }
        return
            _hashTypedDataV4(keccak256(abi.encode(DEPOSIT_SETTLEMENT_BATCH_TYPEHASH, keccak256(abi.encodePacked(hashes)))));
    }

    /// @notice The EIP-712 digest settlers sign for {withdrawDeposit}.
    function depositWithdrawalDigest(DepositWithdrawal calldata withdrawal) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        DEPOSIT_WITHDRAWAL_TYPEHASH,
                        withdrawal.account,
                        withdrawal.token,
                        withdrawal.amount,
                        withdrawal.to,
                        withdrawal.nonce,
                        withdrawal.deadline
                    )
                )
            );
    }

    /// @notice The EIP-712 digest settlers sign for {dispute}.
    function disputeDigest(bytes32 taskId, bytes32 resultDigest) public view returns (bytes32) {
        return _hashTypedDataV4(keccak256(abi.encode(DISPUTE_TYPEHASH, taskId, resultDigest)));
    }

    /// @notice The EIP-712 digest settlers sign for {slash}.
    function slashDigest(SlashOrder calldata order) public view returns (bytes32) {
        return
            _hashTypedDataV4(
                keccak256(
                    abi.encode(
                        SLASH_TYPEHASH,
                        order.provider,
                        order.amount,
                        order.beneficiary,
                        order.beneficiaryAmount,
                        order.nonce
                    )
                )
            );
    }

    function _hashSettlement(Settlement calldata s) private pure returns (bytes32) {
        return
            keccak256(
                abi.encode(
                    SETTLEMENT_TYPEHASH,
                    s.taskId,
                    s.resultDigest,
                    keccak256(abi.encodePacked(s.providers)),
                    keccak256(abi.encodePacked(s.amounts))
                )
            );
    }

    function _hashDepositSettlement(DepositSettlement calldata s) private pure returns (bytes32) {
        return
            keccak256(
                bytes.concat(
                    abi.encode(DEPOSIT_SETTLEMENT_TYPEHASH, s.taskId, s.resultDigest, s.account, s.token, s.modelCreator),
                    abi.encode(keccak256(abi.encodePacked(s.providers)), keccak256(abi.encodePacked(s.amounts)))
                )
            );
    }

    // ─── Guardian ────────────────────────────────────────────────────────────────────────────

    modifier onlyGuardianOrOwner() {
        if (msg.sender != guardian && msg.sender != owner()) revert NotGuardian(msg.sender);
        _;
    }

    /// @notice Emergency stop (guardian or owner). See the contract notice for what it stops.
    function pause() external onlyGuardianOrOwner {
        _pause();
    }

    /// @notice Lifts the emergency stop (guardian or owner).
    function unpause() external onlyGuardianOrOwner {
        _unpause();
    }

    // ─── Parameters (owner: the timelock) ────────────────────────────────────────────────────

    /// @notice Sets the treasury and creator basis points (sum ≤ MAX_FEE_BPS); applies to later settlements.
    function setFeeSplit(uint16 newTreasuryBps, uint16 newCreatorBps) external onlyOwner {
        _setFeeSplit(newTreasuryBps, newCreatorBps);
    }

    /// @notice Sets the dispute window (MIN_DISPUTE_WINDOW..MAX_DISPUTE_WINDOW, ≤ unbondingDelay); applies to later settlements.
    function setDisputeWindow(uint64 newDisputeWindow) external onlyOwner {
        if (newDisputeWindow > staking.unbondingDelay()) revert DisputeWindowOutOfBounds(newDisputeWindow);
        _setDisputeWindow(newDisputeWindow);
    }

    /// @notice Replaces the settler set and its threshold (M of N).
    function setSettlers(address[] calldata newSettlers, uint256 threshold) external onlyOwner {
        _setSettlers(newSettlers, threshold);
    }

    /// @notice Allows or disallows escrow in `token` (address(0): ETH); tasks already escrowed are unaffected.
    function setTokenAllowed(address token, bool allowed) external onlyOwner {
        _setTokenAllowed(token, allowed);
    }

    /// @notice Sets the treasury (later credits go to it; earlier credits stay with the old one).
    function setTreasury(address newTreasury) external onlyOwner {
        _setTreasury(newTreasury);
    }

    /// @notice Sets the guardian (address(0): only the owner can pause).
    function setGuardian(address newGuardian) external onlyOwner {
        _setGuardian(newGuardian);
    }

    /**
     * @notice Registers `verifier` (a snarkjs-exported Groth16 verifier contract, with `nPublic`
     * public signals, ≥ {MIN_ZK_PUBLIC_SIGNALS}) for the zkML model whose model hash is
     * `modelHash` (≠ 0); address(0) removes it. Applies to later proofs, including those of zk
     * tasks already escrowed (a task whose model has no verifier can only be refunded).
     */
    function setZkVerifier(uint256 modelHash, address verifier, uint16 nPublic) external onlyOwner {
        if (verifier == address(0)) nPublic = 0;
        else if (modelHash == 0 || nPublic < MIN_ZK_PUBLIC_SIGNALS || verifier.code.length == 0) {
            revert InvalidZkVerifier(verifier, nPublic);
        }
        zkVerifierOf[modelHash] = ZkVerifier(verifier, nPublic);
        emit ZkVerifierSet(modelHash, verifier, nPublic);
    }

    function _setFeeSplit(uint16 newTreasuryBps, uint16 newCreatorBps) private {
        if (uint256(newTreasuryBps) + newCreatorBps > MAX_FEE_BPS) revert FeeBpsOutOfBounds(newTreasuryBps, newCreatorBps);
        treasuryBps = newTreasuryBps;
        creatorBps = newCreatorBps;
        emit FeeSplitChanged(newTreasuryBps, newCreatorBps);
    }

    function _setDisputeWindow(uint64 newDisputeWindow) private {
        if (newDisputeWindow < MIN_DISPUTE_WINDOW || newDisputeWindow > MAX_DISPUTE_WINDOW) {
            revert DisputeWindowOutOfBounds(newDisputeWindow);
        }
        disputeWindow = newDisputeWindow;
        emit DisputeWindowChanged(newDisputeWindow);
    }

    function _setTokenAllowed(address token, bool allowed) private {
        isTokenAllowed[token] = allowed;
        emit TokenAllowed(token, allowed);
    }

    function _setTreasury(address newTreasury) private {
        if (newTreasury == address(0)) revert ZeroAddress();
        emit TreasuryChanged(treasury, newTreasury);
        treasury = newTreasury;
    }

    function _setGuardian(address newGuardian) private {
        emit GuardianChanged(guardian, newGuardian);
        guardian = newGuardian;
    }
}
