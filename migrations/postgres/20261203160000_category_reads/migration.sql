-- A category's row is rewritten each time its product count changes. Loaded in one transaction, 10,000 products
-- leave each category's row in thousands of versions, and after VACUUM the table keeps the pages they took
-- (1.8 MB for six categories): a sequential scan of it cost 0.8 ms, twice on every catalogue page. The menu's
-- order is now read from an index (a few pages, however large the table), and the free space each page keeps
-- lets a count's update stay on its row's page, where later reads and vacuums reclaim it.

CREATE INDEX "Category_name_id_idx" ON "Category"("name", "id");

ALTER TABLE "Category" SET (fillfactor = 50);
