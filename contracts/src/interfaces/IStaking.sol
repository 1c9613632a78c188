// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/**
 * @title IStaking
 * @notice Providers' stake in STUN, held apart from the marketplace's escrow: registration,
 * top-ups, unbonding, and the stake the marketplace's settlers slash. The types, events and errors
 * of {Staking}, and the functions {ComputeMarketplace} calls on it.
 */
interface IStaking {
    /// @notice A provider's stake (in the stake token).
    struct ProviderStake {
        uint128 staked;
        uint128 unbonding;
        uint64 unbondingEnd;
        bool registered;
    }

    /// @notice `provider` registered with an initial stake of `stake`.
    event ProviderRegistered(address indexed provider, uint256 stake);
    /// @notice `provider` added `amount`; its active stake is now `staked`.
    event StakeAdded(address indexed provider, uint256 amount, uint256 staked);
    /// @notice `provider` moved `amount` to unbonding (now `unbonding` in all), withdrawable at `unbondingEnd`.
    event UnstakeRequested(address indexed provider, uint256 amount, uint256 unbonding, uint64 unbondingEnd);
    /// @notice `provider` took back `amount` of unbonded stake.
    event StakeWithdrawn(address indexed provider, uint256 amount);
    /// @notice The marketplace slashed `amount` of `provider`'s stake (sent to the marketplace, which credits it).
    event StakeSlashed(address indexed provider, uint256 amount);
    /// @notice The smallest stake to register is now `minStake`.
    event MinStakeChanged(uint256 minStake);
    /// @notice Unstake requests now wait `unbondingDelay` seconds.
    event UnbondingDelayChanged(uint64 unbondingDelay);

    /// @notice The zero address where an address is required.
    error ZeroAddress();
    /// @notice A zero amount where a positive one is required.
    error ZeroAmount();
    /// @notice `provider` has never registered.
    error ProviderNotRegistered(address provider);
    /// @notice `provider` is registered already.
    error AlreadyRegistered(address provider);
    /// @notice A first stake of `amount` is below `minStake`.
    error StakeBelowMinimum(uint256 amount, uint256 minStake);
    /// @notice An unstake request for `requested` exceeds the active stake `staked`.
    error InsufficientStake(uint256 requested, uint256 staked);
    /// @notice `provider` has nothing unbonding.
    error NothingUnbonding(address provider);
    /// @notice The unbonding stake can be withdrawn only from `unbondingEnd` on.
    error UnbondingNotOver(uint64 unbondingEnd);
    /// @notice The unbonding delay must lie within the marketplace's dispute window and {MAX_UNBONDING_DELAY}.
    error UnbondingDelayOutOfBounds(uint64 unbondingDelay);
    /// @notice Only the marketplace may slash.
    error NotMarketplace(address caller);
    /// @notice Only the marketplace's owner may change parameters (same selector as OpenZeppelin's Ownable).
    error OwnableUnauthorizedAccount(address account);
    /// @notice The marketplace is paused (same selector as OpenZeppelin's Pausable).
    error EnforcedPause();

    /// @notice The token providers stake (STUN).
    function stakeToken() external view returns (IERC20);

    /// @notice Seconds between an unstake request and the stake's withdrawal.
    function unbondingDelay() external view returns (uint64);

    /// @notice Whether `provider` has registered (a settlement may pay registered providers only).
    function isRegistered(address provider) external view returns (bool);

    /// @notice `provider`'s stake.
    function stakeOf(address provider) external view returns (ProviderStake memory);

    /**
     * @notice Takes up to `amount` of `provider`'s stake (active first, then unbonding) and sends it
     * to the marketplace; returns what was taken. Marketplace only (it checks the settlers' order).
     */
    function slash(address provider, uint256 amount) external returns (uint256 slashed);
}
