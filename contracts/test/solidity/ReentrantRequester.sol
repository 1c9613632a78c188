// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

interface IMarketplace {
    function createTask(bytes32 taskId, address token, uint256 amount, uint64 deadline, address modelCreator) external payable;
    function withdraw(address token) external;
}

/// @dev Test helper: a requester contract that tries to re-enter `withdraw` when it receives ETH.
contract ReentrantRequester {
    IMarketplace public immutable market;

    constructor(IMarketplace market_) {
        market = market_;
    }

    function createTask(bytes32 taskId, uint64 deadline) external payable {
        market.createTask{value: msg.value}(taskId, address(0), msg.value, deadline, address(0));
    }

    function withdraw() external {
        market.withdraw(address(0));
    }

    receive() external payable {
        market.withdraw(address(0));
    }
}
