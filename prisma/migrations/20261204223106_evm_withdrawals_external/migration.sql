-- EVM withdrawals move from WithdrawalSubmitter's ChainWithdrawal rows onto the shared payout queue's
-- ExternalPayout (chain/withdrawals.ts: EvmPayoutRail + PayoutQueue). Data only, ids kept: the id is
-- the withdrawal order's nonce (bytes32), so whatever was signed before and what the queue signs now
-- share it and the contract executes at most one. A row with a transaction on the wire (`submitted`,
-- or `pending` after a resend it may still land from) becomes `sent` with that transaction and its
-- order's deadline as the lifetime (its signed bytes were not kept: the queue asks the chain about it
-- and never sends it again); `pending` rows that never had one are sent afresh.
INSERT INTO "ExternalPayout" ("id", "family", "network", "accountId", "toAddress", "token", "amount", "status", "txId", "lifetime", "wire",
                              "attempts", "lastError", "ledgerTxId", "createdAt", "updatedAt", "sentAt", "confirmedAt")
SELECT w."id", 'evm', w."chainId"::text, w."accountId", w."toAddress", w."token", w."amount",
       CASE WHEN w."status" IN ('submitted', 'pending') AND w."txHash" IS NOT NULL THEN 'sent'
            WHEN w."status" = 'submitted' THEN 'pending'
            ELSE w."status" END,
       CASE WHEN w."status" IN ('submitted', 'pending') AND w."txHash" IS NULL THEN NULL ELSE w."txHash" END,
       CASE WHEN w."status" IN ('submitted', 'pending') AND w."txHash" IS NOT NULL AND w."deadline" IS NOT NULL
            THEN floor(extract(epoch FROM w."deadline"))::bigint::text END,
       NULL, w."attempts", w."lastError", w."ledgerTxId", w."createdAt", w."updatedAt",
       CASE WHEN w."txHash" IS NOT NULL THEN w."updatedAt" END, w."confirmedAt"
FROM "ChainWithdrawal" w
ON CONFLICT ("id") DO NOTHING;
