//! JSON shapes of the API. Built from store models; never a database row serialised as is.

use chrono::NaiveDateTime;
use serde::Serialize;

use crate::store::{CategoryRef, Product, Review, User};

fn iso(t: NaiveDateTime) -> String {
    crate::domain::time::rfc3339_utc(t)
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct RatingView {
    pub average: f64,
    pub count: i64,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ProductView<'a> {
    pub id: &'a str,
    pub slug: &'a str,
    pub name: &'a str,
    pub description: &'a str,
    pub price_cents: i64,
    pub price: String,
    pub compare_price_cents: Option<i64>,
    pub compare_price: Option<String>,
    pub discount_percent: Option<i64>,
    pub currency: &'static str,
    pub images: &'a [String],
    pub stock: i32,
    pub in_stock: bool,
    pub featured: bool,
    pub category: Option<&'a CategoryRef>,
    pub rating: RatingView,
    pub created_at: String,
    pub updated_at: String,
}

impl<'a> From<&'a Product> for ProductView<'a> {
    fn from(p: &'a Product) -> Self {
        ProductView {
            id: &p.id,
            slug: &p.slug,
            name: &p.name,
            description: &p.description,
            price_cents: p.price.cents(),
            price: p.price.display_fr(),
            compare_price_cents: p.compare_price.map(|c| c.cents()),
            compare_price: p.compare_price.map(|c| c.display_fr()),
            discount_percent: p.discount_percent(),
            currency: "EUR",
            images: &p.images,
            stock: p.stock,
            in_stock: p.stock > 0,
            featured: p.featured,
            category: p.category.as_ref(),
            rating: RatingView {
                average: p.rating_average(),
                count: p.rating_count,
            },
            created_at: iso(p.created_at),
            updated_at: iso(p.updated_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct ReviewView<'a> {
    pub id: &'a str,
    pub rating: i32,
    pub title: Option<&'a str>,
    pub comment: Option<&'a str>,
    pub verified: bool,
    pub author: &'a str,
    pub created_at: String,
}

impl<'a> From<&'a Review> for ReviewView<'a> {
    fn from(r: &'a Review) -> Self {
        ReviewView {
            id: &r.id,
            rating: r.rating,
            title: r.title.as_deref(),
            comment: r.comment.as_deref(),
            verified: r.verified,
            author: &r.author,
            created_at: iso(r.created_at),
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct Pagination {
    pub page: u32,
    pub limit: u32,
    pub total: i64,
    pub total_pages: i64,
}

impl Pagination {
    pub fn new(page: u32, limit: u32, total: i64) -> Self {
        let limit_i = i64::from(limit.max(1));
        Pagination {
            page,
            limit,
            total,
            total_pages: (total + limit_i - 1) / limit_i,
        }
    }
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView<'a> {
    pub id: &'a str,
    pub email: &'a str,
    pub name: Option<&'a str>,
    pub role: crate::domain::Role,
    pub created_at: String,
}

impl<'a> From<&'a User> for UserView<'a> {
    fn from(u: &'a User) -> Self {
        UserView {
            id: &u.id,
            email: &u.email,
            name: u.name.as_deref(),
            role: u.role,
            created_at: iso(u.created_at),
        }
    }
}
