-- AlterTable
ALTER TABLE "ChainWithdrawal" ADD COLUMN     "deadline" TIMESTAMP(3);
