// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

// OpenZeppelin's TimelockController, unchanged: it owns the ComputeMarketplace, its proposer and
// canceller is the StunGovernor, and anyone may execute a ready operation. Importing it here makes
// the build emit its ABI and bytecode next to Stun's own contracts (so it is "unused" on purpose).
// solhint-disable-next-line no-unused-import
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
