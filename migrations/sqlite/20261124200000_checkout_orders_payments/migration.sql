-- Checkout, payments and order emails: the same tables and columns as the PostgreSQL migration of the same name
-- (see it for the reasons).

ALTER TABLE "Order" ADD COLUMN "vatCents" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "Order" ADD COLUMN "vatRateBp" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "Order" ADD COLUMN "shippingMethod" TEXT;
ALTER TABLE "Order" ADD COLUMN "email" TEXT;
ALTER TABLE "Order" ADD COLUMN "idempotencyKey" TEXT;
ALTER TABLE "Order" ADD COLUMN "expiresAt" DATETIME;
CREATE UNIQUE INDEX "Order_userId_idempotencyKey_key" ON "Order"("userId", "idempotencyKey");
CREATE INDEX "Order_pending_expiresAt_idx" ON "Order"("expiresAt") WHERE "status" = 'PENDING';

CREATE TABLE "StripeEvent" (
    "eventId" TEXT NOT NULL PRIMARY KEY,
    "type" TEXT NOT NULL,
    "orderId" TEXT,
    "processedAt" DATETIME NOT NULL
);

CREATE TABLE "OutboundEmail" (
    "id" TEXT NOT NULL PRIMARY KEY,
    "kind" TEXT NOT NULL CHECK ("kind" IN ('ORDER_CONFIRMATION', 'ORDER_SHIPPED')),
    "orderId" TEXT NOT NULL REFERENCES "Order"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "recipient" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" DATETIME NOT NULL,
    "lastError" TEXT,
    "sentAt" DATETIME,
    "createdAt" DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP
);
CREATE UNIQUE INDEX "OutboundEmail_orderId_kind_key" ON "OutboundEmail"("orderId", "kind");
CREATE INDEX "OutboundEmail_due_idx" ON "OutboundEmail"("nextAttemptAt") WHERE "sentAt" IS NULL;

CREATE UNIQUE INDEX "Address_userId_default_key" ON "Address"("userId") WHERE "isDefault";
