// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

// Compiles OpenZeppelin's TimelockController into the artifacts: it owns the CheckerRegistry
// (and the escrow's fee setting), so checker-set changes wait out its delay.
import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
