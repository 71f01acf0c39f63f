-- Checkout, payments and order emails.

-- An order now records what the customer was shown and charged: the VAT included in its total (and the rate, in
-- basis points: 2000 = 20 %), the shipping method, the email to write to, and when an unpaid order gives its
-- stock back. "idempotencyKey" makes a repeated submission (double click, client retry) return the first order.
-- Rows from the original app keep the defaults: no VAT breakdown was ever computed for them.
ALTER TABLE "Order"
    ADD COLUMN "vatCents" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "vatRateBp" INTEGER NOT NULL DEFAULT 0,
    ADD COLUMN "shippingMethod" TEXT,
    ADD COLUMN "email" TEXT,
    ADD COLUMN "idempotencyKey" TEXT,
    ADD COLUMN "expiresAt" TIMESTAMP(3);
CREATE UNIQUE INDEX "Order_userId_idempotencyKey_key" ON "Order"("userId", "idempotencyKey");
-- The expiry job reads unpaid orders by deadline.
CREATE INDEX "Order_pending_expiresAt_idx" ON "Order"("expiresAt") WHERE "status" = 'PENDING';

-- Each Stripe event is handled once: its id is inserted in the same transaction as the order change it causes.
-- (The original app queried a "StripeEvent" table that no migration ever created.)
CREATE TABLE "StripeEvent" (
    "eventId" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "orderId" TEXT,
    "processedAt" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "StripeEvent_pkey" PRIMARY KEY ("eventId")
);

-- Emails are queued in the transaction that causes them and sent afterwards by a worker, with retries: a slow or
-- failing mail server never blocks or undoes an order change. One email of each kind per order.
CREATE TABLE "OutboundEmail" (
    "id" TEXT NOT NULL,
    "kind" TEXT NOT NULL,
    "orderId" TEXT NOT NULL REFERENCES "Order"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "recipient" TEXT NOT NULL,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "nextAttemptAt" TIMESTAMP(3) NOT NULL,
    "lastError" TEXT,
    "sentAt" TIMESTAMP(3),
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "OutboundEmail_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "OutboundEmail_kind_check" CHECK ("kind" IN ('ORDER_CONFIRMATION', 'ORDER_SHIPPED'))
);
CREATE UNIQUE INDEX "OutboundEmail_orderId_kind_key" ON "OutboundEmail"("orderId", "kind");
CREATE INDEX "OutboundEmail_due_idx" ON "OutboundEmail"("nextAttemptAt") WHERE "sentAt" IS NULL;

-- At most one default address per customer.
CREATE UNIQUE INDEX "Address_userId_default_key" ON "Address"("userId") WHERE "isDefault";
