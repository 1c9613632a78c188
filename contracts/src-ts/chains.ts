/**
 * The EVM chains Stun settles on: id, a name for people, default deposit confirmations and the
 * block explorer. The server's CHAIN setting names one (apps/server/src/chain/config.ts), and the
 * deploy script (scripts/deploy.ts) refuses an RPC endpoint whose chain id is not the named one's.
 */
export const CHAIN_PRESETS = {
  local: { id: 31337, label: "Anvil (local)", confirmations: 1, explorerUrl: undefined, mainnet: false },
  ethereum: { id: 1, label: "Ethereum", confirmations: 12, explorerUrl: "https://etherscan.io", mainnet: true },
  base: { id: 8453, label: "Base", confirmations: 12, explorerUrl: "https://basescan.org", mainnet: true },
  arbitrum: { id: 42161, label: "Arbitrum One", confirmations: 12, explorerUrl: "https://arbiscan.io", mainnet: true },
  sepolia: { id: 11155111, label: "Sepolia", confirmations: 3, explorerUrl: "https://sepolia.etherscan.io", mainnet: false },
  "base-sepolia": { id: 84532, label: "Base Sepolia", confirmations: 3, explorerUrl: "https://sepolia.basescan.org", mainnet: false },
  "arbitrum-sepolia": { id: 421614, label: "Arbitrum Sepolia", confirmations: 3, explorerUrl: "https://sepolia.arbiscan.io", mainnet: false },
} as const satisfies Record<string, { id: number; label: string; confirmations: number; explorerUrl: string | undefined; mainnet: boolean }>;

export type ChainName = keyof typeof CHAIN_PRESETS;
export const CHAIN_NAMES = Object.keys(CHAIN_PRESETS) as [ChainName, ...ChainName[]];
