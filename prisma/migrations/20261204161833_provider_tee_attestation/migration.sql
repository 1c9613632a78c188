-- AlterTable
ALTER TABLE "Provider" ADD COLUMN     "teeAttestation" JSONB,
ADD COLUMN     "teeEvidence" JSONB;
