// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";

/**
 * @title ZkProofChecker
 * @notice The stateless half of {ComputeMarketplace-settleWithProof}: checks a zkML proof's public
 * signals against a task's terms and calls the model's Groth16 verifier. The marketplace creates
 * one in its constructor (so the pair deploys as one contract, and the marketplace's own code stays
 * under the EIP-170 limit) and calls it with a plain static call; its errors bubble up through the
 * marketplace (whose TypeScript ABI includes them).
 *
 * Public signals of Stun's zkML circuit (circuits/zkml), in order:
 * `[modelHash, inputHash, out_0 … out_{m−1}, taskId, provider]` with
 * - `taskId` = {taskField}(the task's bytes32 id) = the first 31 bytes of sha256 of the Stun id's
 *   UTF-8 bytes (circuits' `taskIdToField`);
 * - `provider` = the paid EVM address as an integer (circuits' `addressToField` of a 0x address).
 *
 * The verifiers are snarkjs-exported contracts: `verifyProof(uint256[2] _pA, uint256[2][2] _pB,
 * uint256[2] _pC, uint256[N] _pubSignals) view returns (bool)`, N differing per model (so does
 * the selector: see {verifierSelector}). They return false rather than revert when a pairing
 * precompile runs out of gas, so each call gets a fixed budget: {VERIFY_GAS_BASE} +
 * {VERIFY_GAS_PER_SIGNAL}·N (a verifier of 7 signals uses ~305k).
 */
contract ZkProofChecker {
    /// @notice Gas given to a verifier call: this base plus {VERIFY_GAS_PER_SIGNAL} per public signal.
    uint256 public constant VERIFY_GAS_BASE = 400_000;
    /// @notice Gas added to a verifier call's budget per public signal (an ecMul and an ecAdd each).
    uint256 public constant VERIFY_GAS_PER_SIGNAL = 10_000;

    /// @notice What a proof must match: the task, its terms, and the model's registered verifier.
    struct Claim {
        bytes32 taskId;
        uint256 modelHash; // publicSignals[0]
        uint256 inputHash; // publicSignals[1]
        address verifier; // the model's snarkjs verifier
        uint256 nPublic; // its number of public signals
    }

    /// @notice No verifier is registered for the task's model (any more): the task can only be refunded.
    error ZkVerifierNotSet(uint256 modelHash);
    /// @notice The proof has `count` public signals; the model's verifier takes `expected`.
    error PublicSignalCount(uint256 expected, uint256 count);
    /// @notice publicSignals[0] is not the task's model hash (a proof of another model).
    error ModelHashMismatch(uint256 expected, uint256 signal);
    /// @notice publicSignals[1] is not the task's input hash (a proof on another input).
    error InputHashMismatch(uint256 expected, uint256 signal);
    /// @notice publicSignals[n−2] is not {taskField}(taskId) (a proof bound to another task).
    error ProofTaskMismatch(bytes32 taskId, uint256 expected, uint256 signal);
    /// @notice publicSignals[n−1] is zero or not an EVM address (≥ 2¹⁶⁰).
    error InvalidProofProvider(uint256 signal);
    /// @notice The model's verifier did not accept the proof (forged, tampered, or another model's key).
    error InvalidProof(bytes32 taskId);

    /**
     * @notice Checks a proof for task `c.taskId` (terms `c.modelHash`, `c.inputHash`) against the
     * model's verifier `c.verifier` with `c.nPublic` public signals, and returns whom it pays and
     * the result it proves. Reverts with one of this contract's errors when anything does not match.
     * @return provider the address in publicSignals[n−1]
     * @return resultDigest keccak256 of the output signals publicSignals[2 … n−3], 32 bytes each
     */
    function check(
        Claim calldata c,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pubSignals
    ) external view returns (address provider, bytes32 resultDigest) {
        if (c.verifier == address(0)) revert ZkVerifierNotSet(c.modelHash);
        uint256 n = pubSignals.length;
        if (n != c.nPublic || n < 5) revert PublicSignalCount(c.nPublic, n);
        if (pubSignals[0] != c.modelHash) revert ModelHashMismatch(c.modelHash, pubSignals[0]);
        if (pubSignals[1] != c.inputHash) revert InputHashMismatch(c.inputHash, pubSignals[1]);
        uint256 field = taskField(c.taskId);
        if (pubSignals[n - 2] != field) revert ProofTaskMismatch(c.taskId, field, pubSignals[n - 2]);
        uint256 p = pubSignals[n - 1];
        if (p == 0 || p > type(uint160).max) revert InvalidProofProvider(p);
        if (!_verify(c.verifier, pA, pB, pC, pubSignals)) revert InvalidProof(c.taskId);
        provider = address(uint160(p));
        // Hashes the output signals in place, without copying them to a new memory array.
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            let len := shl(5, sub(n, 4))
            let ptr := mload(0x40)
            calldatacopy(ptr, add(pubSignals.offset, 0x40), len)
            resultDigest := keccak256(ptr, len)
        }
    }

    /**
     * @notice The field element a zkML proof binds as its task id: `uint256(sha256(id)) >> 8` (the
     * first 31 bytes of the digest), where `id` is `taskId` without its trailing zero bytes — the
     * Stun id that `idToBytes32` right-padded. Equals the circuits package's `taskIdToField(id)`.
     */
    function taskField(bytes32 taskId) public pure returns (uint256) {
        uint256 len = 32;
        while (len != 0 && taskId[len - 1] == 0) --len;
        bytes memory id = abi.encodePacked(taskId);
        // Shortens the array in place (Solidity has no way to truncate a bytes memory).
        // solhint-disable-next-line no-inline-assembly
        assembly ("memory-safe") {
            mstore(id, len) // shorten to the id's bytes
        }
        return uint256(sha256(id)) >> 8;
    }

    /// @notice The selector of `verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[nPublic])`.
    function verifierSelector(uint256 nPublic) public pure returns (bytes4) {
        return
            bytes4(
                keccak256(
                    bytes.concat(
                        "verifyProof(uint256[2],uint256[2][2],uint256[2],uint256[",
                        bytes(Strings.toString(nPublic)),
                        "])"
                    )
                )
            );
    }

    /// @dev Calls the verifier with a bounded budget; false when it reverts, runs out of gas or answers anything but true.
    function _verify(
        address verifier,
        uint256[2] calldata pA,
        uint256[2][2] calldata pB,
        uint256[2] calldata pC,
        uint256[] calldata pubSignals
    ) private view returns (bool) {
        // Fixed-size arrays are ABI-encoded inline: the selector, pA, pB, pC, then the N signals.
        bytes memory data = bytes.concat(
            abi.encodeWithSelector(verifierSelector(pubSignals.length), pA, pB, pC),
            abi.encodePacked(pubSignals)
        );
        uint256 budget = VERIFY_GAS_BASE + pubSignals.length * VERIFY_GAS_PER_SIGNAL;
        (bool ok, bytes memory ret) = verifier.staticcall{gas: budget}(data);
        return ok && ret.length == 32 && abi.decode(ret, (uint256)) == 1;
    }
}
