-- A category's listing in the "best rated" order (see the previous migration).
-- Built without blocking writes to the products (orders change their stock), so alone in its file.
CREATE INDEX CONCURRENTLY "Product_live_categoryId_rating_idx" ON "Product"("categoryId", (CASE WHEN "ratingCount" > 0 THEN "ratingSum" * 1000 / "ratingCount" ELSE 0 END) DESC, "ratingCount" DESC, "id" DESC)
    WHERE "archivedAt" IS NULL;
