import type { AppContext } from "../../context";
import type { SiweOptions } from "../../services/wallets";

/**
 * What this server accepts in a SIWE message beyond the message itself: any chain id (a sign-in
 * proves control of a key, on no particular chain) and EOA signatures.
 */
export function siweOptions(_app: AppContext): SiweOptions {
  return {};
}
