-- The network prefix a provider last connected from (QA: distinct prefixes per quorum, sibling resets).
ALTER TABLE "Provider" ADD COLUMN "netPrefix" TEXT;
