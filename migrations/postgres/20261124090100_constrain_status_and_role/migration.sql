-- Order status and user role were free text in the original schema. The original app only wrote upper-case
-- values, but its account page used lower-case ones, so known values are upper-cased first; any other value
-- makes this migration fail as a whole, naming the constraint, rather than being guessed at.
UPDATE "Order" SET "status" = upper("status") WHERE "status" <> upper("status");
ALTER TABLE "Order" ADD CONSTRAINT "Order_status_check"
    CHECK ("status" IN ('PENDING', 'PAID', 'PROCESSING', 'SHIPPED', 'DELIVERED', 'CANCELLED', 'REFUNDED'));

UPDATE "User" SET "role" = upper("role") WHERE "role" <> upper("role");
ALTER TABLE "User" ADD CONSTRAINT "User_role_check" CHECK ("role" IN ('USER', 'ADMIN'));

ALTER TABLE "Review" ADD CONSTRAINT "Review_rating_check" CHECK ("rating" BETWEEN 1 AND 5) NOT VALID;
