import type { AppContext } from "../../context";
import type { SiweOptions } from "../../services/wallets";

/**
 * What this server accepts in a SIWE message beyond the message itself. With a chain (CHAIN set):
 * only that chain's id, and smart-contract wallets too (ERC-1271 / ERC-6492, checked by a call to
 * the chain through viem's publicClient.verifyMessage). Without: any chain id (a sign-in proves
 * control of a key, on no particular chain) and EOA signatures only.
 */
export function siweOptions(app: AppContext): SiweOptions {
  const chain = app.chain;
  if (!chain) return {};
  return {
    chainIds: [chain.cfg.chainId],
    verifyContractSignature: ({ address, message, signature }) => chain.clients.publicClient.verifyMessage({ address, message, signature }),
  };
}
