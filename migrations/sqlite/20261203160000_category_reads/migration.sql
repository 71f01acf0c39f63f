-- The menu's order read from an index (see the PostgreSQL migration of the same name, where a category's row
-- rewritten for each count left the table large after a bulk load).

CREATE INDEX "Category_name_id_idx" ON "Category"("name", "id");
