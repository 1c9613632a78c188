import type { FastifyRequest } from "fastify";
import type { Procedure } from "../../procedures/define";
import { procedures } from "../../procedures";

export interface RestRoute {
  method: "GET" | "POST" | "DELETE";
  /** Under /api/v1, fastify syntax (`:id`). */
  path: string;
  procedure: Procedure;
  status?: number;
  /** Where the procedure's input comes from. */
  input: (req: FastifyRequest) => unknown;
}

const none = () => ({});
const body = (r: FastifyRequest) => r.body ?? {};
const query = (r: FastifyRequest) => r.query ?? {};
const params = (r: FastifyRequest) => r.params ?? {};
const bodyAndParams = (r: FastifyRequest) => ({ ...(r.body as object), ...(r.params as object) });
const queryAndParams = (r: FastifyRequest) => ({ ...(r.query as object), ...(r.params as object) });

/** The REST contract (docs/API.md; the reference docs/REST.md is generated from it through the OpenAPI document): each route wires one procedure. */
export const restRoutes: RestRoute[] = [
  { method: "POST", path: "/accounts", procedure: procedures.accounts.create, status: 201, input: none },
  { method: "GET", path: "/accounts/me", procedure: procedures.accounts.me, input: none },
  { method: "GET", path: "/accounts/me/ledger", procedure: procedures.accounts.ledger, input: query },
  { method: "POST", path: "/faucet", procedure: procedures.accounts.faucet, input: body },
  { method: "POST", path: "/accounts/me/stake", procedure: procedures.accounts.stake, input: body },
  { method: "POST", path: "/accounts/me/unstake", procedure: procedures.accounts.unstake, input: body },
  { method: "GET", path: "/models", procedure: procedures.models.list, input: query },
  { method: "GET", path: "/models/:id", procedure: procedures.models.get, input: params },
  { method: "GET", path: "/models/:id/zk", procedure: procedures.models.zk, input: params },
  { method: "POST", path: "/models/:id/zk/escrow-terms", procedure: procedures.models.zkEscrowTerms, input: bodyAndParams },
  { method: "GET", path: "/quote", procedure: procedures.models.quote, input: query },
  { method: "POST", path: "/tasks", procedure: procedures.tasks.submit, status: 202, input: body },
  { method: "POST", path: "/tasks/run", procedure: procedures.tasks.run, input: body },
  { method: "GET", path: "/tasks", procedure: procedures.tasks.list, input: query },
  { method: "GET", path: "/tasks/:id", procedure: procedures.tasks.get, input: queryAndParams },
  { method: "GET", path: "/tasks/:id/outputs", procedure: procedures.tasks.outputs, input: params },
  { method: "DELETE", path: "/tasks/:id/data", procedure: procedures.tasks.deleteData, input: params },
  { method: "GET", path: "/providers", procedure: procedures.network.providers, input: none },
  { method: "GET", path: "/providers/:id/tee", procedure: procedures.network.providerTee, input: params },
  { method: "GET", path: "/stats", procedure: procedures.network.stats, input: none },
  { method: "GET", path: "/activity", procedure: procedures.network.activity, input: query },
  { method: "POST", path: "/auth/siwe/nonce", procedure: procedures.auth.siweNonce, input: none },
  { method: "POST", path: "/auth/siwe/verify", procedure: procedures.auth.siweVerify, input: body },
  { method: "POST", path: "/auth/siws/nonce", procedure: procedures.auth.siwsNonce, input: none },
  { method: "POST", path: "/auth/siws/verify", procedure: procedures.auth.siwsVerify, input: body },
  { method: "POST", path: "/auth/ton-proof/payload", procedure: procedures.auth.tonProofPayload, input: none },
  { method: "POST", path: "/auth/ton-proof/verify", procedure: procedures.auth.tonProofVerify, input: body },
  { method: "GET", path: "/accounts/me/wallet", procedure: procedures.auth.wallet, input: none },
  { method: "GET", path: "/accounts/me/wallets", procedure: procedures.auth.wallets, input: none },
  { method: "GET", path: "/chain", procedure: procedures.chain.status, input: none },
  { method: "GET", path: "/chain/account", procedure: procedures.chain.account, input: none },
  { method: "POST", path: "/chain/withdrawals", procedure: procedures.chain.withdraw, status: 201, input: body },
  { method: "GET", path: "/chain/withdrawals", procedure: procedures.chain.withdrawals, input: none },
  { method: "POST", path: "/chain/payouts", procedure: procedures.chain.payout, status: 201, input: body },
  { method: "GET", path: "/chain/payouts", procedure: procedures.chain.payouts, input: none },
  { method: "GET", path: "/chain/deposit-info", procedure: procedures.chain.depositInfo, input: none },
  { method: "GET", path: "/chain/deposits", procedure: procedures.chain.deposits, input: none },
  { method: "POST", path: "/chain/ton-deposit-message", procedure: procedures.chain.tonDepositMessage, input: body },
  { method: "GET", path: "/chain/ton-balance", procedure: procedures.chain.tonBalance, input: query },
  { method: "GET", path: "/chain/settlements", procedure: procedures.chain.settlements, input: query },
  { method: "GET", path: "/chain/conservation", procedure: procedures.chain.conservation, input: none },
  { method: "GET", path: "/accounts/me/keys", procedure: procedures.keys.list, input: query },
  { method: "POST", path: "/accounts/me/keys", procedure: procedures.keys.create, status: 201, input: body },
  { method: "POST", path: "/accounts/me/keys/:id/revoke", procedure: procedures.keys.revoke, input: params },
  { method: "POST", path: "/accounts/me/keys/:id/rotate", procedure: procedures.keys.rotate, status: 201, input: bodyAndParams },
];
