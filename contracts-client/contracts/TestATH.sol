// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/// @title TestATH: an 18-decimal ERC-20 standing in for ATH on local chains only.
/// @notice Anyone can mint; never deploy it to a public chain (real ATH addresses come from config).
contract TestATH is ERC20 {
    constructor() ERC20("Test ATH", "tATH") {}

    /// @notice Mints `amount` to `to`; open to anyone because it only exists on local chains.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }
}
