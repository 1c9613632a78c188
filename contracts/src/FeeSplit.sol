// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/**
 * @title FeeSplit
 * @notice The fee split of an accepted task, bit for bit the same as `splitFee` in
 * `packages/shared/src/fees.ts`, so that the on-chain split and the server's ledger split of one
 * task are identical.
 *
 * - `total` = Σ amounts (each accepted execution's price); `treasury` = ⌊total·treasuryBps/10⁴⌋;
 *   `creator` = ⌊total·creatorBps/10⁴⌋.
 * - The provider pool is `total − treasury − creator`: it absorbs both rounding remainders.
 * - The pool is shared pro rata to each amount: every provider first gets ⌊pool·amount/total⌋;
 *   the base units left over (fewer than the number of providers) go one each to the providers
 *   with the largest remainders (pool·amount mod total), ties in input order (largest-remainder
 *   method). The shares sum to the pool exactly.
 *
 * Products are taken in 512 bits (`Math.mulDiv`, `mulmod`), so no amount that sums within 2²⁵⁶
 * overflows. The remainder step is O(n²) in the number of providers, which callers bound.
 */
library FeeSplit {
    /// @dev Basis-point denominator: 10,000 bps = 100%.
    uint256 internal constant BPS_DENOMINATOR = 10_000;

    /**
     * @dev Splits `amounts` (one per execution) into the treasury's, the creator's and each
     * provider's share. `treasuryBps + creatorBps` must not exceed {BPS_DENOMINATOR} (callers
     * bound it); `shares` has one entry per amount, in input order.
     */
    function split(
        uint256[] calldata amounts,
        uint256 treasuryBps,
        uint256 creatorBps
    ) internal pure returns (uint256 total, uint256 treasury, uint256 creator, uint256[] memory shares) {
        uint256 n = amounts.length;
        for (uint256 i = 0; i < n; ++i) {
            total += amounts[i];
        }
        treasury = Math.mulDiv(total, treasuryBps, BPS_DENOMINATOR);
        creator = Math.mulDiv(total, creatorBps, BPS_DENOMINATOR);
        shares = new uint256[](n);
        if (total == 0) return (total, treasury, creator, shares);

        uint256 pool = total - treasury - creator;
        uint256[] memory remainders = new uint256[](n);
        uint256 leftover = pool;
        for (uint256 i = 0; i < n; ++i) {
            uint256 share = Math.mulDiv(pool, amounts[i], total);
            shares[i] = share;
            remainders[i] = mulmod(pool, amounts[i], total);
            leftover -= share;
        }
        if (leftover == 0) return (total, treasury, creator, shares);

        // Largest-remainder method: provider i gets one more unit when fewer than `leftover`
        // providers come before it in (remainder descending, index ascending) order.
        for (uint256 i = 0; i < n; ++i) {
            uint256 ahead = 0;
            uint256 ri = remainders[i];
            for (uint256 j = 0; j < n && ahead < leftover; ++j) {
                uint256 rj = remainders[j];
                if (rj > ri || (rj == ri && j < i)) ++ahead;
            }
            if (ahead < leftover) ++shares[i];
        }
    }
}
