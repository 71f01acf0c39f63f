-- A category's listing in the "best rated" order (see the previous migration).
CREATE INDEX "Product_live_categoryId_rating_idx" ON "Product"("categoryId", (CASE WHEN "ratingCount" > 0 THEN "ratingSum" * 1000 / "ratingCount" ELSE 0 END) DESC, "ratingCount" DESC, "id" DESC)
    WHERE "archivedAt" IS NULL;
