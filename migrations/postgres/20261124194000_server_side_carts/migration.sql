-- Server-side carts. The original kept the cart in the browser (localStorage), with prices and stock frozen when
-- an item was added. A cart now belongs either to a signed-in user or to an anonymous visitor, identified by the
-- SHA-256 of a random cookie token; at sign-in the visitor's cart is merged into the user's. Prices are never
-- stored here: they are read from "Product" every time.
CREATE TABLE "Cart" (
    "id" TEXT NOT NULL,
    "userId" TEXT REFERENCES "User"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "tokenHash" TEXT,
    "createdAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updatedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "Cart_pkey" PRIMARY KEY ("id"),
    CONSTRAINT "Cart_owner_check" CHECK (("userId" IS NULL) <> ("tokenHash" IS NULL))
);
CREATE UNIQUE INDEX "Cart_userId_key" ON "Cart"("userId");
CREATE UNIQUE INDEX "Cart_tokenHash_key" ON "Cart"("tokenHash");
-- Abandoned anonymous carts are purged by age.
CREATE INDEX "Cart_updatedAt_idx" ON "Cart"("updatedAt");

CREATE TABLE "CartItem" (
    "cartId" TEXT NOT NULL REFERENCES "Cart"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "productId" TEXT NOT NULL REFERENCES "Product"("id") ON DELETE CASCADE ON UPDATE CASCADE,
    "quantity" INTEGER NOT NULL,
    "addedAt" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "CartItem_pkey" PRIMARY KEY ("cartId", "productId"),
    CONSTRAINT "CartItem_quantity_check" CHECK ("quantity" > 0)
);
CREATE INDEX "CartItem_productId_idx" ON "CartItem"("productId");
