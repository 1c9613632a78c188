-- EVM deposits move from DepositWatcher's ChainDeposit rows onto the family-neutral ExternalDeposit
-- (chain/deposits.ts: EvmDepositSource + DepositScanner). Data only: every recorded deposit is copied
-- under the key the scanner uses (family 'evm', network = chain id, txId = transaction hash, index =
-- log index), so the upgraded server's scan finds each one a duplicate and credits nothing twice;
-- the watcher's deep-reorg states map onto the core's (reorged → reversed, or dropped when it was
-- never credited; vanished → shortfall). Unmatched rows keep the log's bytes32 (hex) as their tag.
INSERT INTO "ExternalDeposit" ("id", "family", "network", "txId", "index", "accountTag", "accountId", "fromAddress", "token", "amount",
                               "slotOrLt", "status", "reason", "ledgerTxId", "createdAt")
SELECT d."id", 'evm', d."chainId"::text, lower(d."txHash"), d."logIndex", COALESCE(d."accountId", lower(d."accountRef")), d."accountId",
       lower(d."fromAddress"), d."token", d."amount", d."blockNumber",
       CASE d."status"
         WHEN 'reorged' THEN CASE WHEN d."accountId" IS NULL THEN 'dropped' ELSE 'reversed' END
         WHEN 'vanished' THEN 'shortfall'
         ELSE d."status"
       END,
       d."reason", d."ledgerTxId", d."createdAt"
FROM "ChainDeposit" d
ON CONFLICT ("family", "network", "txId", "index") DO NOTHING;

-- The watcher's cursor (`deposits:<chainId>:<marketplace>`, block + hash) becomes the scanner's
-- (`deposits:evm:<chainId>:<marketplace>`, text `<block>:<hash>`; an empty hash skips the reorg check once).
INSERT INTO "ExternalCursor" ("id", "cursor", "updatedAt")
SELECT 'deposits:evm:' || substr(c."id", length('deposits:') + 1), c."blockNumber"::text || ':' || COALESCE(c."blockHash", ''), c."updatedAt"
FROM "ChainCursor" c
WHERE c."id" LIKE 'deposits:%'
ON CONFLICT ("id") DO NOTHING;
