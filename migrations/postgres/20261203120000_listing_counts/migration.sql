-- Each category's number of live products kept on its row, so that the menu every page shows and the count of
-- a category's listing read one row instead of counting products on every request. A trigger keeps the figure
-- exact whoever writes a product (the shop, an admin tool, a data repair), in the same transaction as the
-- product itself: a product counts while it is not archived, in the category it names.

ALTER TABLE "Category" ADD COLUMN "productCount" BIGINT NOT NULL DEFAULT 0;

UPDATE "Category" c
SET "productCount" = (SELECT COUNT(*) FROM "Product" p WHERE p."categoryId" = c."id" AND p."archivedAt" IS NULL);

CREATE FUNCTION "vivr_category_product_count"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD."categoryId" IS NOT NULL AND OLD."archivedAt" IS NULL THEN
        UPDATE "Category" SET "productCount" = "productCount" - 1 WHERE "id" = OLD."categoryId";
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW."categoryId" IS NOT NULL AND NEW."archivedAt" IS NULL THEN
        UPDATE "Category" SET "productCount" = "productCount" + 1 WHERE "id" = NEW."categoryId";
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER "Product_category_count"
AFTER INSERT OR DELETE OR UPDATE OF "categoryId", "archivedAt" ON "Product"
FOR EACH ROW EXECUTE FUNCTION "vivr_category_product_count"();

-- Live products without a category (theirs was deleted): the rest of the catalogue's total.
CREATE INDEX "Product_live_uncategorized_idx" ON "Product"("createdAt") WHERE "archivedAt" IS NULL AND "categoryId" IS NULL;

-- A category's listing in price order and in popularity order, read from the index in that order: a page of
-- 24 reads 24 entries (plus those it skips) instead of sorting all the category's products. With the index on
-- ("categoryId", "createdAt") the three orders a category page offers are covered; the price index serves both
-- directions ("price-desc" breaks ties by descending id).
CREATE INDEX "Product_live_categoryId_priceCents_idx" ON "Product"("categoryId", "priceCents", "id") WHERE "archivedAt" IS NULL;
CREATE INDEX "Product_live_categoryId_popular_idx" ON "Product"("categoryId", "ratingCount" DESC, "createdAt" DESC, "id" DESC) WHERE "archivedAt" IS NULL;
