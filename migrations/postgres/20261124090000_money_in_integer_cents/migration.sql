-- Money moves from DOUBLE PRECISION euros to BIGINT cents, with the currency stored beside it.
-- The cast through numeric makes the conversion exact: float8 -> numeric keeps 15 significant digits, so 89.99
-- stays 89.99 rather than 89.98999…, and numeric round() rounds half away from zero.
-- The whole file runs as one transaction: either every amount is converted or nothing changes.

ALTER TABLE "Product"
    ADD COLUMN "priceCents" BIGINT,
    ADD COLUMN "comparePriceCents" BIGINT,
    ADD COLUMN "currency" TEXT NOT NULL DEFAULT 'EUR';

UPDATE "Product" SET
    "priceCents" = round("price"::numeric * 100)::bigint,
    "comparePriceCents" = round("comparePrice"::numeric * 100)::bigint;

ALTER TABLE "Product" ALTER COLUMN "priceCents" SET NOT NULL;
-- squawk-ignore ban-drop-column -- replaced by the cent column filled above
ALTER TABLE "Product" DROP COLUMN "price", DROP COLUMN "comparePrice";

ALTER TABLE "Order"
    ADD COLUMN "subtotalCents" BIGINT,
    ADD COLUMN "shippingCents" BIGINT NOT NULL DEFAULT 0,
    ADD COLUMN "totalCents" BIGINT,
    ADD COLUMN "currency" TEXT NOT NULL DEFAULT 'EUR';

UPDATE "Order" SET
    "subtotalCents" = round("subtotal"::numeric * 100)::bigint,
    "shippingCents" = round("shipping"::numeric * 100)::bigint,
    "totalCents" = round("total"::numeric * 100)::bigint;

ALTER TABLE "Order" ALTER COLUMN "subtotalCents" SET NOT NULL;
ALTER TABLE "Order" ALTER COLUMN "totalCents" SET NOT NULL;
-- squawk-ignore ban-drop-column -- replaced by the cent column filled above
ALTER TABLE "Order" DROP COLUMN "subtotal", DROP COLUMN "shipping", DROP COLUMN "total";

ALTER TABLE "OrderItem" ADD COLUMN "priceCents" BIGINT;
UPDATE "OrderItem" SET "priceCents" = round("price"::numeric * 100)::bigint;
ALTER TABLE "OrderItem" ALTER COLUMN "priceCents" SET NOT NULL;
-- squawk-ignore ban-drop-column -- replaced by the cent column filled above
ALTER TABLE "OrderItem" DROP COLUMN "price";

-- New rows must hold sensible amounts. NOT VALID: rows written by the original app are kept as they are.
ALTER TABLE "Product" ADD CONSTRAINT "Product_priceCents_check" CHECK ("priceCents" >= 0) NOT VALID;
ALTER TABLE "Product" ADD CONSTRAINT "Product_comparePriceCents_check" CHECK ("comparePriceCents" IS NULL OR "comparePriceCents" >= 0) NOT VALID;
ALTER TABLE "Product" ADD CONSTRAINT "Product_stock_check" CHECK ("stock" >= 0) NOT VALID;
ALTER TABLE "Product" ADD CONSTRAINT "Product_currency_check" CHECK ("currency" = 'EUR');
ALTER TABLE "Order" ADD CONSTRAINT "Order_currency_check" CHECK ("currency" = 'EUR');
ALTER TABLE "OrderItem" ADD CONSTRAINT "OrderItem_quantity_check" CHECK ("quantity" > 0) NOT VALID;
