//! What the shop does, independent of how it was asked: page handlers and `/api` handlers both call these.

pub mod accounts;
pub mod addresses;
pub mod cache;
pub mod cart;
pub mod catalog;
pub mod checkout;
pub mod images;
pub mod lifecycle;
pub mod newsletter;
pub mod orders;
pub mod payments;
pub mod reviews;
pub mod search;
pub mod sitemap;
pub mod wishlist;
