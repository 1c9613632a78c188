-- A provider's price per unit of the model's work (docs/PRICING.md): an execution costs price + pricePerUnit x units.
ALTER TABLE "Provider" ADD COLUMN "pricePerUnit" BIGINT NOT NULL DEFAULT 0;
