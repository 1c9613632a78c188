// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";

import {IStaking} from "./interfaces/IStaking.sol";
import {IComputeMarketplace} from "./interfaces/IComputeMarketplace.sol";

/**
 * @title Staking
 * @notice Providers' stake (in STUN), apart from the marketplace so that each contract keeps room
 * under EIP-170. {ComputeMarketplace} creates it in its constructor and is its only master: the
 * marketplace's owner (the timelock) sets its parameters, the marketplace's pause stops it, and
 * only the marketplace slashes it (after checking M settler signatures over the EIP-712 `Slash`);
 * slashed stake is sent to the marketplace, which credits it to the beneficiary and the treasury.
 *
 * A provider's life: {registerProvider} (with at least `minStake`), {addStake}, {requestUnstake}
 * (the amount unbonds for `unbondingDelay` ≥ the dispute window, so that work still disputable
 * can be slashed), {withdrawStake}. While the marketplace is paused no stake comes in or leaves;
 * unstake requests and slashes (which move no tokens out to providers) still work.
 */
contract Staking is IStaking, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using SafeCast for uint256;

    /// @notice Upper bound on the unbonding delay (its lower bound is the marketplace's dispute window).
    uint64 public constant MAX_UNBONDING_DELAY = 90 days;

    /// @notice The marketplace that created this contract: owner, pause switch and slasher.
    IComputeMarketplace public immutable marketplace;
    /// @inheritdoc IStaking
    IERC20 public immutable stakeToken;

    /// @inheritdoc IStaking
    uint64 public unbondingDelay;
    /// @notice Smallest stake to register as a provider.
    uint256 public minStake;

    mapping(address provider => ProviderStake) private _stakes;

    /**
     * @notice Called by the marketplace's constructor (the caller becomes {marketplace}), which
     * passes its own dispute window: it cannot be read back from a contract still being built.
     */
    constructor(IERC20 stakeToken_, uint64 disputeWindow, uint64 unbondingDelay_, uint256 minStake_) {
        if (address(stakeToken_) == address(0)) revert ZeroAddress();
        marketplace = IComputeMarketplace(msg.sender);
        stakeToken = stakeToken_;
        _setUnbondingDelay(unbondingDelay_, disputeWindow);
        _setMinStake(minStake_);
    }

    /// @dev Reverts while the marketplace is paused.
    modifier whenNotPaused() {
        if (Pausable(address(marketplace)).paused()) revert EnforcedPause();
        _;
    }

    /// @dev The marketplace's owner (the timelock) only.
    modifier onlyMarketplaceOwner() {
        if (msg.sender != Ownable(address(marketplace)).owner()) revert OwnableUnauthorizedAccount(msg.sender);
        _;
    }

    // ─── Providers ───────────────────────────────────────────────────────────────────────────

    /**
     * @notice Registers the caller as a provider with an initial stake of at least `minStake`,
     * pulled from the caller (who must have approved this contract).
     */
    function registerProvider(uint256 amount) external nonReentrant whenNotPaused {
        ProviderStake storage s = _stakes[msg.sender];
        if (s.registered) revert AlreadyRegistered(msg.sender);
        if (amount < minStake) revert StakeBelowMinimum(amount, minStake);
        s.registered = true;
        s.staked = amount.toUint128();
        emit ProviderRegistered(msg.sender, amount);
        if (amount != 0) stakeToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice Adds `amount` to the caller's stake (pulled from the caller).
    function addStake(uint256 amount) external nonReentrant whenNotPaused {
        ProviderStake storage s = _stakes[msg.sender];
        if (!s.registered) revert ProviderNotRegistered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        uint256 staked = s.staked + amount;
        s.staked = staked.toUint128();
        emit StakeAdded(msg.sender, amount, staked);
        stakeToken.safeTransferFrom(msg.sender, address(this), amount);
    }

    /**
     * @notice Moves `amount` of the caller's stake to unbonding; it can be withdrawn after
     * `unbondingDelay`. Unbonding stake can still be slashed. A new request restarts the delay for
     * the whole unbonding amount.
     */
    function requestUnstake(uint256 amount) external {
        ProviderStake storage s = _stakes[msg.sender];
        if (!s.registered) revert ProviderNotRegistered(msg.sender);
        if (amount == 0) revert ZeroAmount();
        if (amount > s.staked) revert InsufficientStake(amount, s.staked);
        s.staked -= uint128(amount);
        uint256 unbonding = s.unbonding + amount;
        s.unbonding = unbonding.toUint128();
        uint64 end = uint64(block.timestamp) + unbondingDelay;
        s.unbondingEnd = end;
        emit UnstakeRequested(msg.sender, amount, unbonding, end);
    }

    /// @notice Sends the caller its unbonding stake once the unbonding delay is over.
    function withdrawStake() external nonReentrant whenNotPaused {
        ProviderStake storage s = _stakes[msg.sender];
        uint256 amount = s.unbonding;
        if (amount == 0) revert NothingUnbonding(msg.sender);
        if (block.timestamp < s.unbondingEnd) revert UnbondingNotOver(s.unbondingEnd);
        s.unbonding = 0;
        emit StakeWithdrawn(msg.sender, amount);
        stakeToken.safeTransfer(msg.sender, amount);
    }

    // ─── Slashing (the marketplace only) ─────────────────────────────────────────────────────

    /// @inheritdoc IStaking
    function slash(address provider, uint256 amount) external returns (uint256 slashed) {
        if (msg.sender != address(marketplace)) revert NotMarketplace(msg.sender);
        ProviderStake storage s = _stakes[provider];
        if (!s.registered) revert ProviderNotRegistered(provider);
        uint256 staked = s.staked;
        uint256 fromStake = amount < staked ? amount : staked;
        uint256 unbonding = s.unbonding;
        uint256 rest = amount - fromStake;
        uint256 fromUnbonding = rest < unbonding ? rest : unbonding;
        s.staked = uint128(staked - fromStake);
        s.unbonding = uint128(unbonding - fromUnbonding);
        slashed = fromStake + fromUnbonding;
        emit StakeSlashed(provider, slashed);
        if (slashed != 0) stakeToken.safeTransfer(msg.sender, slashed);
    }

    // ─── Views ───────────────────────────────────────────────────────────────────────────────

    /// @inheritdoc IStaking
    function isRegistered(address provider) external view returns (bool) {
        return _stakes[provider].registered;
    }

    /// @inheritdoc IStaking
    function stakeOf(address provider) external view returns (ProviderStake memory) {
        return _stakes[provider];
    }

    // ─── Parameters (the marketplace's owner: the timelock) ──────────────────────────────────

    /// @notice Sets the smallest stake to register; applies to later registrations.
    function setMinStake(uint256 newMinStake) external onlyMarketplaceOwner {
        _setMinStake(newMinStake);
    }

    /// @notice Sets the unbonding delay (the marketplace's dispute window..MAX_UNBONDING_DELAY); applies to later unstake requests.
    function setUnbondingDelay(uint64 newUnbondingDelay) external onlyMarketplaceOwner {
        _setUnbondingDelay(newUnbondingDelay, marketplace.disputeWindow());
    }

    function _setMinStake(uint256 newMinStake) private {
        minStake = newMinStake;
        emit MinStakeChanged(newMinStake);
    }

    function _setUnbondingDelay(uint64 newUnbondingDelay, uint64 disputeWindow) private {
        if (newUnbondingDelay < disputeWindow || newUnbondingDelay > MAX_UNBONDING_DELAY) {
            revert UnbondingDelayOutOfBounds(newUnbondingDelay);
        }
        unbondingDelay = newUnbondingDelay;
        emit UnbondingDelayChanged(newUnbondingDelay);
    }
}
