//! Fills a migrated vivr database with a large generated catalogue for `bench/run`: the demo catalogue plus
//! generated products up to the requested count, 300 customers and a few reviews on most products, so that
//! listings, rating sorts and product pages do realistic work.
//!
//! Usage: `cargo run --release --example bench_catalog -- DATABASE_URL [PRODUCTS]` (default 10000).
// A benchmark fixture generator run by bench/run: a panic is a failed run, reported as such.
#![allow(
    clippy::indexing_slicing,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic
)]

use anyhow::{Context, bail};
use chrono::{NaiveDate, TimeDelta};
use vivr_shop::domain::{Money, Role};
use vivr_shop::seed;
use vivr_shop::store::{Backend, NewProduct, NewUser, PoolOptions, SeedProduct, connect};

const CUSTOMERS: usize = 300;
const MATERIALS: [&str; 8] = [
    "chêne",
    "lin",
    "céramique",
    "grès",
    "rotin",
    "laiton",
    "velours",
    "verre soufflé",
];
const OBJECTS: [&str; 10] = [
    "Vase", "Lampe", "Coussin", "Plaid", "Miroir", "Bougeoir", "Tabouret", "Panier", "Cadre", "Bol",
];

fn generated(index: usize, categories: &[String]) -> SeedProduct {
    let object = OBJECTS[index % OBJECTS.len()];
    let material = MATERIALS[(index / OBJECTS.len()) % MATERIALS.len()];
    let base = NaiveDate::from_ymd_opt(2024, 6, 1)
        .and_then(|d| d.and_hms_opt(8, 0, 0))
        .unwrap_or_default();
    let price = 990 + (index as i64 * 7919) % 60_000;
    SeedProduct {
        product: NewProduct {
            name: format!("{object} en {material} n°{index}"),
            slug: format!("{}-{}-{index}", object.to_lowercase(), slug_part(material)),
            description: format!(
                "{object} fabriqué à la main en {material}, pièce numéro {index} de la collection générée. \
                 Finitions soignées, idéal pour le salon, la chambre ou l'entrée."
            ),
            price: Money::from_cents(price),
            compare_price: index
                .is_multiple_of(9)
                .then(|| Money::from_cents(price + price / 4)),
            images: vec![format!("https://images.example/vivr/{index}.jpg")],
            category_slug: Some(categories[index % categories.len()].clone()),
            stock: (index % 40) as i32,
            featured: index.is_multiple_of(250),
        },
        created_at: base - TimeDelta::minutes(index as i64),
    }
}

fn slug_part(text: &str) -> String {
    vivr_shop::domain::fold_for_search(text).replace(' ', "-")
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let url = args
        .next()
        .context("usage: bench_catalog DATABASE_URL [PRODUCTS]")?;
    let total: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let demo = seed::demo_products();
    if total < demo.len() {
        bail!("at least {} products (the demo catalogue)", demo.len());
    }
    let store = connect(&url, &PoolOptions::default()).await?;
    let now = vivr_shop::auth::now();
    let categories = seed::demo_categories();
    let category_slugs: Vec<String> = categories.iter().map(|c| c.slug.clone()).collect();
    let mut products = demo;
    products.extend((0..total - products.len()).map(|i| generated(i, &category_slugs)));
    let report = store.seed_catalog(&categories, &products, now).await?;

    let mut customers = Vec::with_capacity(CUSTOMERS);
    for i in 0..CUSTOMERS {
        let email = format!("client{i}@bench.vivr.fr");
        let user = match store.user_by_email(&email).await? {
            Some(user) => user,
            None => {
                let new = NewUser {
                    email,
                    name: Some(format!("Client {i}")),
                    // Never used to sign in: the bench reads public pages only.
                    password_hash: "!".to_string(),
                    role: Role::User,
                };
                store.create_user(&new, now).await?
            }
        };
        customers.push(user.id);
    }

    // Reviews: product k gets k % 6 of them, written straight into the table (reviews have no store API yet).
    let mut rows = Vec::new();
    let mut page = vivr_shop::store::ProductQuery {
        limit: 100,
        ..Default::default()
    };
    let mut ids = Vec::new();
    loop {
        let result = store.list_products(&page).await?;
        ids.extend(result.items.iter().map(|p| p.id.clone()));
        if ids.len() as i64 >= result.total || result.items.is_empty() {
            break;
        }
        page.page += 1;
    }
    for (k, product) in ids.iter().enumerate() {
        for r in 0..(k % 6) {
            let user = &customers[(k * 7 + r * 31) % CUSTOMERS];
            let rating = 1 + (k + r * 3) % 5;
            rows.push(format!(
                "('bench-{k}-{r}', '{user}', '{product}', {rating}, 'Avis {r}', 'Très joli, conforme à la description.', \
                 false, '2025-02-01 10:00:00', '2025-02-01 10:00:00')"
            ));
        }
    }
    let mut inserted = 0;
    for chunk in rows.chunks(500) {
        let sql = format!(
            r#"INSERT INTO "Review" ("id", "userId", "productId", "rating", "title", "comment", "verified", "createdAt", "updatedAt")
               VALUES {} ON CONFLICT DO NOTHING"#,
            chunk.join(", ")
        );
        inserted += execute(&url, sql).await?;
    }
    println!(
        "catalogue: {} products ({} new), {} categories ({} new), {CUSTOMERS} customers, {inserted} new reviews",
        ids.len(),
        report.products,
        categories.len(),
        report.categories
    );
    Ok(())
}

async fn execute(url: &str, sql: String) -> anyhow::Result<u64> {
    let sql = sqlx::AssertSqlSafe(sql);
    Ok(match Backend::from_url(url) {
        Some(Backend::Postgres) => {
            let pool = sqlx::PgPool::connect(url).await?;
            sqlx::raw_sql(sql).execute(&pool).await?.rows_affected()
        }
        Some(Backend::Sqlite) => {
            let pool = sqlx::SqlitePool::connect(url).await?;
            sqlx::raw_sql(sql).execute(&pool).await?.rows_affected()
        }
        None => bail!("unsupported database URL"),
    })
}
