//! The demo catalogue: the 6 categories and 20 products of the original shop (reference §7), prices in cents.
//! Loaded into an empty embedded database, and by `vivr serve --seed-demo`.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use crate::domain::Money;
use crate::store::{NewCategory, NewProduct, SeedProduct};

fn unsplash(photo: &str) -> String {
    format!("https://images.unsplash.com/{photo}?w=600&q=80")
}

const CATEGORIES: [(&str, &str, &str, &str); 6] = [
    (
        "Salon",
        "salon",
        "Meubles et accessoires pour votre salon",
        "photo-1555041469-a586c61ea9bc",
    ),
    (
        "Chambre",
        "chambre",
        "Tout pour une chambre cozy et élégante",
        "photo-1522771739844-6a9f6d5f14af",
    ),
    (
        "Cuisine",
        "cuisine",
        "Accessoires et déco pour votre cuisine",
        "photo-1556909114-f6e7ad7d3136",
    ),
    (
        "Bureau",
        "bureau",
        "Organisez votre espace de travail",
        "photo-1593062096033-9a26b09da705",
    ),
    (
        "Salle de bain",
        "salle-de-bain",
        "Accessoires pour votre salle de bain",
        "photo-1552321554-5fefe8c9ef14",
    ),
    (
        "Extérieur",
        "exterieur",
        "Déco et mobilier d'extérieur",
        "photo-1600210492486-724fe5c67fb0",
    ),
];

/// name, slug, category, price, compare price (cents), stock, featured, photo, description
type ProductRow = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    Option<i64>,
    i32,
    bool,
    &'static str,
    &'static str,
);

const PRODUCTS: [ProductRow; 20] = [
    (
        "Lampe de table Nordique",
        "lampe-table-nordique",
        "salon",
        8999,
        Some(12999),
        15,
        true,
        "photo-1513506003901-1e6a229e2d15",
        "Lampe design scandinave en bois naturel et abat-jour en lin. Éclairage doux et chaleureux pour votre intérieur.",
    ),
    (
        "Vase céramique minimal",
        "vase-ceramique-minimal",
        "salon",
        4500,
        None,
        25,
        true,
        "photo-1581783898377-1c85bf937427",
        "Vase artisanal en céramique blanche au design épuré. Parfait pour des fleurs séchées ou comme objet décoratif.",
    ),
    (
        "Canapé 3 places Oslo",
        "canape-3-places-oslo",
        "salon",
        59900,
        Some(79900),
        5,
        true,
        "photo-1555041469-a586c61ea9bc",
        "Canapé 3 places au design scandinave avec pieds en bois massif. Tissu doux et confortable, parfait pour votre salon.",
    ),
    (
        "Table basse en chêne",
        "table-basse-chene",
        "salon",
        24900,
        None,
        10,
        false,
        "photo-1533090481720-856c6e3c1fdc",
        "Table basse rectangulaire en chêne massif avec finition naturelle. Design minimaliste et intemporel.",
    ),
    (
        "Tapis berbère ivoire",
        "tapis-berbere-ivoire",
        "salon",
        18900,
        Some(23900),
        8,
        false,
        "photo-1600166898405-da9535204843",
        "Tapis berbère tissé main en laine naturelle. Motifs géométriques traditionnels sur fond ivoire.",
    ),
    (
        "Coussin lin naturel",
        "coussin-lin-naturel",
        "chambre",
        3500,
        None,
        50,
        false,
        "photo-1584100936595-c0654b55a2e2",
        "Coussin en lin lavé au toucher doux et naturel. Coloris beige, parfait pour une ambiance cosy.",
    ),
    (
        "Miroir rond doré",
        "miroir-rond-dore",
        "chambre",
        15900,
        Some(19900),
        8,
        true,
        "photo-1618220179428-22790b461013",
        "Miroir mural rond avec cadre en métal doré. Diamètre 60cm, idéal pour agrandir visuellement votre pièce.",
    ),
    (
        "Lampe de chevet Murano",
        "lampe-chevet-murano",
        "chambre",
        7500,
        None,
        20,
        false,
        "photo-1507473885765-e6ed057ab6fe",
        "Lampe de chevet en verre soufflé style Murano. Lumière tamisée et ambiance chaleureuse garantie.",
    ),
    (
        "Parure de lit en coton bio",
        "parure-lit-coton-bio",
        "chambre",
        11900,
        Some(14900),
        30,
        true,
        "photo-1522771739844-6a9f6d5f14af",
        "Parure de lit 240x220cm en coton biologique certifié. Douceur incomparable et teintes naturelles.",
    ),
    (
        "Set de planches à découper",
        "set-planches-decouper",
        "cuisine",
        4900,
        None,
        40,
        false,
        "photo-1556909114-f6e7ad7d3136",
        "Lot de 3 planches à découper en bois d'acacia. Différentes tailles pour tous vos besoins en cuisine.",
    ),
    (
        "Bocaux en verre (lot de 4)",
        "bocaux-verre-lot-4",
        "cuisine",
        3200,
        None,
        35,
        false,
        "photo-1584568694244-14fbdf83bd30",
        "Lot de 4 bocaux en verre avec couvercle en bambou. Parfaits pour ranger pâtes, riz, céréales.",
    ),
    (
        "Suspension cuisine industrielle",
        "suspension-cuisine-industrielle",
        "cuisine",
        8900,
        Some(11900),
        12,
        true,
        "photo-1540574163026-643ea20ade25",
        "Suspension en métal noir style industriel. Parfaite au-dessus d'un îlot ou d'une table de cuisine.",
    ),
    (
        "Lampe de bureau articulée",
        "lampe-bureau-articulee",
        "bureau",
        6900,
        None,
        20,
        false,
        "photo-1507003211169-0a1dd7228f2d",
        "Lampe de bureau LED articulée en aluminium brossé. Intensité réglable et design moderne.",
    ),
    (
        "Organiseur de bureau en bois",
        "organiseur-bureau-bois",
        "bureau",
        4200,
        None,
        25,
        false,
        "photo-1593062096033-9a26b09da705",
        "Organiseur de bureau multi-compartiments en bois de noyer. Rangement stylos, cartes et accessoires.",
    ),
    (
        "Fauteuil de bureau ergonomique",
        "fauteuil-bureau-ergonomique",
        "bureau",
        32900,
        Some(42900),
        7,
        true,
        "photo-1586023492125-27b2c045efd7",
        "Fauteuil de bureau ergonomique avec accoudoirs réglables et support lombaire. Tissu respirant.",
    ),
    (
        "Miroir salle de bain LED",
        "miroir-salle-bain-led",
        "salle-de-bain",
        17900,
        Some(22900),
        10,
        true,
        "photo-1552321554-5fefe8c9ef14",
        "Miroir rectangulaire avec éclairage LED intégré et système anti-buée. 80x60cm.",
    ),
    (
        "Set accessoires bambou",
        "set-accessoires-bambou",
        "salle-de-bain",
        3800,
        None,
        30,
        false,
        "photo-1620626011761-996317b8d101",
        "Set de 4 accessoires de salle de bain en bambou : distributeur savon, gobelet, porte-brosse, plateau.",
    ),
    (
        "Lanterne solaire décorative",
        "lanterne-solaire-decorative",
        "exterieur",
        2900,
        None,
        45,
        false,
        "photo-1600210492486-724fe5c67fb0",
        "Lanterne solaire en métal ajouré avec LED blanc chaud. S'allume automatiquement à la tombée de la nuit.",
    ),
    (
        "Salon de jardin résine tressée",
        "salon-jardin-resine",
        "exterieur",
        44900,
        Some(59900),
        3,
        true,
        "photo-1600585154340-be6161a56a0c",
        "Salon de jardin 4 places en résine tressée avec coussins gris. Résistant aux intempéries.",
    ),
    (
        "Pot de fleur XXL terracotta",
        "pot-fleur-xxl-terracotta",
        "exterieur",
        5500,
        None,
        18,
        false,
        "photo-1485955900006-10f4d324d411",
        "Grand pot de fleur en terracotta fait main. Diamètre 45cm, idéal pour plantes d'extérieur.",
    ),
];

pub fn demo_categories() -> Vec<NewCategory> {
    CATEGORIES
        .iter()
        .map(|(name, slug, description, photo)| NewCategory {
            name: (*name).to_string(),
            slug: (*slug).to_string(),
            description: Some((*description).to_string()),
            image: Some(unsplash(photo)),
        })
        .collect()
}

/// The products, each a minute older than the previous one so that "newest" lists them in catalogue order.
pub fn demo_products() -> Vec<SeedProduct> {
    let base: NaiveDateTime = NaiveDate::from_ymd_opt(2025, 1, 15)
        .and_then(|d| d.and_hms_opt(12, 0, 0))
        .unwrap_or_default();
    PRODUCTS
        .iter()
        .enumerate()
        .map(
            |(i, (name, slug, category, price, compare, stock, featured, photo, description))| {
                SeedProduct {
                    product: NewProduct {
                        name: (*name).to_string(),
                        slug: (*slug).to_string(),
                        description: (*description).to_string(),
                        price: Money::from_cents(*price),
                        compare_price: compare.map(Money::from_cents),
                        images: vec![unsplash(photo)],
                        category_slug: Some((*category).to_string()),
                        stock: *stock,
                        featured: *featured,
                    },
                    created_at: base - TimeDelta::minutes(i as i64),
                }
            },
        )
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_reference_catalogue() {
        let products = demo_products();
        assert_eq!(demo_categories().len(), 6);
        assert_eq!(products.len(), 20);
        assert_eq!(
            products
                .iter()
                .map(|p| i64::from(p.product.stock))
                .sum::<i64>(),
            416
        );
        assert_eq!(products.iter().filter(|p| p.product.featured).count(), 9);
        assert_eq!(
            products
                .iter()
                .filter(|p| p.product.compare_price.is_some())
                .count(),
            9
        );
        let per_category: Vec<usize> = CATEGORIES
            .iter()
            .map(|(_, slug, _, _)| {
                products
                    .iter()
                    .filter(|p| p.product.category_slug.as_deref() == Some(slug))
                    .count()
            })
            .collect();
        assert_eq!(per_category, vec![5, 4, 3, 3, 2, 3]);
    }
}
