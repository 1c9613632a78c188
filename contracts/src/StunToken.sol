// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {ERC20Votes} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Votes.sol";
import {Nonces} from "@openzeppelin/contracts/utils/Nonces.sol";

/**
 * @title StunToken
 * @notice The STUN token: providers stake it on the marketplace, holders govern with it
 * (ERC20Votes checkpoints, delegate to vote), and it signs gasless approvals (ERC-2612 permit).
 * The whole supply is minted once, at deployment, to a holder the deployer chooses; there is no
 * mint or burn afterwards.
 */
contract StunToken is ERC20, ERC20Permit, ERC20Votes {
    /// @notice Mints the whole supply (no more can ever be minted).
    /// @param holder receives the whole initial supply
    /// @param initialSupply in base units (18 decimals)
    constructor(address holder, uint256 initialSupply) ERC20("Stun", "STUN") ERC20Permit("Stun") {
        _mint(holder, initialSupply);
    }

    /// @inheritdoc ERC20Permit
    function nonces(address owner) public view override(ERC20Permit, Nonces) returns (uint256) {
        return super.nonces(owner);
    }

    function _update(address from, address to, uint256 value) internal override(ERC20, ERC20Votes) {
        super._update(from, to, value);
    }
}
