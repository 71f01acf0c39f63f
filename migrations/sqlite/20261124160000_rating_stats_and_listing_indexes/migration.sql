-- Rating statistics kept on the product row (see the PostgreSQL migration of the same name): listings read one
-- row per product; triggers keep the figures exact whoever writes a review.

ALTER TABLE "Product" ADD COLUMN "ratingCount" BIGINT NOT NULL DEFAULT 0;
ALTER TABLE "Product" ADD COLUMN "ratingSum" BIGINT NOT NULL DEFAULT 0;

UPDATE "Product"
SET "ratingCount" = (SELECT COUNT(*) FROM "Review" r WHERE r."productId" = "Product"."id"),
    "ratingSum" = (SELECT COALESCE(SUM(r."rating"), 0) FROM "Review" r WHERE r."productId" = "Product"."id");

CREATE TRIGGER "Review_rating_stats_insert" AFTER INSERT ON "Review"
BEGIN
    UPDATE "Product" SET "ratingCount" = "ratingCount" + 1, "ratingSum" = "ratingSum" + NEW."rating"
    WHERE "id" = NEW."productId";
END;

CREATE TRIGGER "Review_rating_stats_delete" AFTER DELETE ON "Review"
BEGIN
    UPDATE "Product" SET "ratingCount" = "ratingCount" - 1, "ratingSum" = "ratingSum" - OLD."rating"
    WHERE "id" = OLD."productId";
END;

CREATE TRIGGER "Review_rating_stats_update" AFTER UPDATE OF "rating", "productId" ON "Review"
BEGIN
    UPDATE "Product" SET "ratingCount" = "ratingCount" - 1, "ratingSum" = "ratingSum" - OLD."rating"
    WHERE "id" = OLD."productId";
    UPDATE "Product" SET "ratingCount" = "ratingCount" + 1, "ratingSum" = "ratingSum" + NEW."rating"
    WHERE "id" = NEW."productId";
END;

-- Live products in each order the catalogue offers, and per category: listings and their counts read an index
-- instead of the table. They replace the original indexes that lead with the same columns but cover archived
-- products too: with both present, a planner without statistics (a young SQLite file) picked the old ones and
-- visited the table row by row. The index on "archivedAt" alone goes too: nearly every product is live.
DROP INDEX "Product_archivedAt_idx";
DROP INDEX "Product_createdAt_idx";
DROP INDEX "Product_categoryId_createdAt_idx";
DROP INDEX "Product_categoryId_featured_idx";
CREATE INDEX "Product_live_createdAt_idx" ON "Product"("createdAt" DESC, "id" DESC) WHERE "archivedAt" IS NULL;
CREATE INDEX "Product_live_categoryId_createdAt_idx" ON "Product"("categoryId", "createdAt" DESC, "id" DESC) WHERE "archivedAt" IS NULL;
CREATE INDEX "Product_live_priceCents_idx" ON "Product"("priceCents", "id") WHERE "archivedAt" IS NULL;
CREATE INDEX "Product_live_popular_idx" ON "Product"("ratingCount" DESC, "createdAt" DESC, "id" DESC) WHERE "archivedAt" IS NULL;
