-- Each category's number of live products kept on its row (see the PostgreSQL migration of the same name): the
-- menu and a category listing's count read one row; triggers keep the figure exact whoever writes a product.

ALTER TABLE "Category" ADD COLUMN "productCount" BIGINT NOT NULL DEFAULT 0;

UPDATE "Category"
SET "productCount" = (SELECT COUNT(*) FROM "Product" p WHERE p."categoryId" = "Category"."id" AND p."archivedAt" IS NULL);

CREATE TRIGGER "Product_category_count_insert" AFTER INSERT ON "Product"
WHEN NEW."categoryId" IS NOT NULL AND NEW."archivedAt" IS NULL
BEGIN
    UPDATE "Category" SET "productCount" = "productCount" + 1 WHERE "id" = NEW."categoryId";
END;

CREATE TRIGGER "Product_category_count_delete" AFTER DELETE ON "Product"
WHEN OLD."categoryId" IS NOT NULL AND OLD."archivedAt" IS NULL
BEGIN
    UPDATE "Category" SET "productCount" = "productCount" - 1 WHERE "id" = OLD."categoryId";
END;

CREATE TRIGGER "Product_category_count_update" AFTER UPDATE OF "categoryId", "archivedAt" ON "Product"
BEGIN
    UPDATE "Category" SET "productCount" = "productCount" - 1
    WHERE "id" = OLD."categoryId" AND OLD."archivedAt" IS NULL;
    UPDATE "Category" SET "productCount" = "productCount" + 1
    WHERE "id" = NEW."categoryId" AND NEW."archivedAt" IS NULL;
END;

-- Live products without a category (theirs was deleted): the rest of the catalogue's total.
CREATE INDEX "Product_live_uncategorized_idx" ON "Product"("createdAt") WHERE "archivedAt" IS NULL AND "categoryId" IS NULL;

-- A category's listing in price order and in popularity order, read from the index in that order: a page of
-- 24 reads 24 entries (plus those it skips) instead of sorting all the category's products. With the index on
-- ("categoryId", "createdAt") the three orders a category page offers are covered; the price index serves both
-- directions ("price-desc" breaks ties by descending id).
CREATE INDEX "Product_live_categoryId_priceCents_idx" ON "Product"("categoryId", "priceCents", "id") WHERE "archivedAt" IS NULL;
CREATE INDEX "Product_live_categoryId_popular_idx" ON "Product"("categoryId", "ratingCount" DESC, "createdAt" DESC, "id" DESC) WHERE "archivedAt" IS NULL;
