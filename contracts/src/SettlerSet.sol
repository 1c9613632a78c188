// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";

/**
 * @title SettlerSet
 * @notice An M-of-N set of settler keys (the marketplace's validators). An action authorised by
 * the set carries at least `threshold` ECDSA signatures over one EIP-712 digest, from distinct
 * settlers, sorted by signer address (strictly ascending, which is also how duplicates are
 * refused).
 */
abstract contract SettlerSet {
    /// @notice Most settlers a set may hold (bounds the cost of replacing it).
    uint256 public constant MAX_SETTLERS = 32;

    address[] private _settlers;
    mapping(address account => bool) private _isSettler;
    uint256 private _threshold;

    /// @notice The settler set or its threshold changed.
    event SettlersChanged(address[] settlers, uint256 threshold);

    /// @dev A settler set must have 1..MAX_SETTLERS members and 1 ≤ threshold ≤ members.
    error InvalidSettlerSet(uint256 count, uint256 threshold);
    /// @dev The zero address, or the same address twice, in a settler set.
    error InvalidSettler(address settler);
    /// @dev Fewer signatures than the threshold.
    error InsufficientSignatures(uint256 provided, uint256 required);
    /// @dev A signature recovers to an address outside the settler set.
    error UnknownSigner(address signer);
    /// @dev Signers must be strictly ascending (no duplicates).
    error SignersNotAscending(address signer);

    /// @notice The current settlers, in the order they were set.
    function settlers() public view returns (address[] memory) {
        return _settlers;
    }

    /// @notice How many settler signatures an action needs (M of N).
    function settlerThreshold() public view returns (uint256) {
        return _threshold;
    }

    /// @notice Whether `account` is a settler.
    function isSettler(address account) public view returns (bool) {
        return _isSettler[account];
    }

    /// @dev Replaces the whole set. Emits {SettlersChanged}.
    function _setSettlers(address[] memory newSettlers, uint256 threshold) internal {
        uint256 n = newSettlers.length;
        if (n == 0 || n > MAX_SETTLERS || threshold == 0 || threshold > n) revert InvalidSettlerSet(n, threshold);
        address[] storage current = _settlers;
        for (uint256 i = current.length; i > 0; --i) {
            delete _isSettler[current[i - 1]];
            current.pop();
        }
        for (uint256 i = 0; i < n; ++i) {
            address s = newSettlers[i];
            if (s == address(0) || _isSettler[s]) revert InvalidSettler(s);
            _isSettler[s] = true;
            current.push(s);
        }
        _threshold = threshold;
        emit SettlersChanged(newSettlers, threshold);
    }

    /**
     * @dev Reverts unless `signatures` hold at least `threshold` valid signatures of `digest`, all
     * by settlers, signers strictly ascending. Every signature given must be valid.
     */
    function _checkSettlerSignatures(bytes32 digest, bytes[] calldata signatures) internal view {
        uint256 required = _threshold;
        if (signatures.length < required) revert InsufficientSignatures(signatures.length, required);
        address previous = address(0);
        for (uint256 i = 0; i < signatures.length; ++i) {
            address signer = ECDSA.recoverCalldata(digest, signatures[i]);
            if (!_isSettler[signer]) revert UnknownSigner(signer);
            if (signer <= previous) revert SignersNotAscending(signer);
            previous = signer;
        }
    }
}
