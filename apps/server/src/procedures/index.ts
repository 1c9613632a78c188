import { createAccountProcedure } from "./accounts/create";
import { faucetProcedure } from "./accounts/faucet";
import { ledgerProcedure } from "./accounts/ledger";
import { meProcedure } from "./accounts/me";
import { stakeProcedure, unstakeProcedure } from "./accounts/stake";
import { getModelProcedure } from "./models/get";
import { listModelsProcedure } from "./models/list";
import { zkModelProcedure } from "./models/zk";
import { zkEscrowTermsProcedure } from "./models/zk-escrow-terms";
import { quoteProcedure } from "./models/quote";
import { activityProcedure } from "./network/activity";
import { providersProcedure } from "./network/providers";
import { providerTeeProcedure } from "./network/provider-tee";
import { statsProcedure } from "./network/stats";
import { getTaskProcedure } from "./tasks/get";
import { deleteTaskDataProcedure, taskOutputsProcedure } from "./tasks/data";
import { listTasksProcedure } from "./tasks/list";
import { submitTaskProcedure } from "./tasks/submit";
import { runTaskProcedure } from "./tasks/run";
import { siweNonceProcedure, siweVerifyProcedure } from "./auth/siwe";
import { linkedWalletProcedure, linkedWalletsProcedure } from "./auth/wallet";
import { siwsNonceProcedure, siwsVerifyProcedure } from "./auth/siws";
import { tonProofPayloadProcedure, tonProofVerifyProcedure } from "./auth/ton-proof";
import { chainAccountProcedure } from "./chain/account";
import { chainSettlementsProcedure } from "./chain/settlements";
import { chainStatusProcedure } from "./chain/status";
import { chainConservationProcedure } from "./chain/conservation";
import { listWithdrawalsProcedure, withdrawProcedure } from "./chain/withdrawals";
import { listPayoutsProcedure, payoutProcedure } from "./chain/payouts";
import { depositInfoProcedure, externalDepositsProcedure, tonBalanceProcedure, tonDepositMessageProcedure } from "./chain/deposits";
import { createKeyProcedure } from "./keys/create";
import { listKeysProcedure } from "./keys/list";
import { revokeKeyProcedure } from "./keys/revoke";
import { rotateKeyProcedure } from "./keys/rotate";

/** Every API procedure by domain; tRPC's router and the REST table both wire these. */
export const procedures = {
  accounts: {
    create: createAccountProcedure,
    me: meProcedure,
    faucet: faucetProcedure,
    ledger: ledgerProcedure,
    stake: stakeProcedure,
    unstake: unstakeProcedure,
  },
  models: { list: listModelsProcedure, get: getModelProcedure, zk: zkModelProcedure, zkEscrowTerms: zkEscrowTermsProcedure, quote: quoteProcedure },
  tasks: {
    submit: submitTaskProcedure,
    run: runTaskProcedure,
    get: getTaskProcedure,
    list: listTasksProcedure,
    outputs: taskOutputsProcedure,
    deleteData: deleteTaskDataProcedure,
  },
  network: { providers: providersProcedure, providerTee: providerTeeProcedure, stats: statsProcedure, activity: activityProcedure },
  auth: {
    siweNonce: siweNonceProcedure,
    siweVerify: siweVerifyProcedure,
    siwsNonce: siwsNonceProcedure,
    siwsVerify: siwsVerifyProcedure,
    tonProofPayload: tonProofPayloadProcedure,
    tonProofVerify: tonProofVerifyProcedure,
    wallet: linkedWalletProcedure,
    wallets: linkedWalletsProcedure,
  },
  chain: {
    status: chainStatusProcedure,
    account: chainAccountProcedure,
    withdraw: withdrawProcedure,
    withdrawals: listWithdrawalsProcedure,
    payout: payoutProcedure,
    payouts: listPayoutsProcedure,
    depositInfo: depositInfoProcedure,
    deposits: externalDepositsProcedure,
    tonDepositMessage: tonDepositMessageProcedure,
    tonBalance: tonBalanceProcedure,
    settlements: chainSettlementsProcedure,
    conservation: chainConservationProcedure,
  },
  keys: { list: listKeysProcedure, create: createKeyProcedure, revoke: revokeKeyProcedure, rotate: rotateKeyProcedure },
};
