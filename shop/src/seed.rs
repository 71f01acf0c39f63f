//! The demo catalogue: the 6 categories and 20 products of the original shop (reference §7), prices in cents.
//! Loaded into an empty embedded database, and by `vivr serve --seed-demo`.

use chrono::{NaiveDate, NaiveDateTime, TimeDelta};

use crate::domain::Money;
use crate::domain::image::{ImageId, ImageRef};
use crate::store::{NewCategory, NewProduct, SeedProduct};

/// The demo catalogue's photos (drawn by `scripts/demo-images.py`), built into the binary: 800 × 800 WebP,
/// one per product slug and one per category (`categorie-<slug>`). They are images like any upload, but their
/// originals come from here rather than from the image store, so the demo has pictures on any store, offline.
pub struct DemoImage {
    pub name: &'static str,
    pub bytes: &'static [u8],
    pub image: ImageRef,
}

macro_rules! demo_images {
    ($($name:literal),* $(,)?) => {
        [$(($name, include_bytes!(concat!("../demo/images/", $name, ".webp")).as_slice())),*]
    };
}

const DEMO_FILES: [(&str, &[u8]); 26] = demo_images![
    "lampe-table-nordique",
    "vase-ceramique-minimal",
    "canape-3-places-oslo",
    "table-basse-chene",
    "tapis-berbere-ivoire",
    "coussin-lin-naturel",
    "miroir-rond-dore",
    "lampe-chevet-murano",
    "parure-lit-coton-bio",
    "set-planches-decouper",
    "bocaux-verre-lot-4",
    "suspension-cuisine-industrielle",
    "lampe-bureau-articulee",
    "organiseur-bureau-bois",
    "fauteuil-bureau-ergonomique",
    "miroir-salle-bain-led",
    "set-accessoires-bambou",
    "lanterne-solaire-decorative",
    "salon-jardin-resine",
    "pot-fleur-xxl-terracotta",
    "categorie-salon",
    "categorie-chambre",
    "categorie-cuisine",
    "categorie-bureau",
    "categorie-salle-de-bain",
    "categorie-exterieur",
];

/// The side of every demo photo, in pixels (a test decodes each to check).
const DEMO_SIDE: u32 = 800;

static DEMO_IMAGES: std::sync::LazyLock<Vec<DemoImage>> = std::sync::LazyLock::new(|| {
    DEMO_FILES
        .iter()
        .map(|(name, bytes)| DemoImage {
            name,
            bytes,
            image: ImageRef {
                id: ImageId::of(bytes),
                width: DEMO_SIDE,
                height: DEMO_SIDE,
            },
        })
        .collect()
});

pub fn demo_images() -> &'static [DemoImage] {
    &DEMO_IMAGES
}

/// A demo photo by its id.
pub fn demo_image(id: ImageId) -> Option<&'static DemoImage> {
    DEMO_IMAGES.iter().find(|d| d.image.id == id)
}

/// The reference of the demo photo named `name`.
fn demo_reference(name: &str) -> Option<String> {
    DEMO_IMAGES
        .iter()
        .find(|d| d.name == name)
        .map(|d| d.image.reference())
}

const CATEGORIES: [(&str, &str, &str); 6] = [
    ("Salon", "salon", "Meubles et accessoires pour votre salon"),
    (
        "Chambre",
        "chambre",
        "Tout pour une chambre cozy et élégante",
    ),
    (
        "Cuisine",
        "cuisine",
        "Accessoires et déco pour votre cuisine",
    ),
    ("Bureau", "bureau", "Organisez votre espace de travail"),
    (
        "Salle de bain",
        "salle-de-bain",
        "Accessoires pour votre salle de bain",
    ),
    ("Extérieur", "exterieur", "Déco et mobilier d'extérieur"),
];

/// name, slug, category, price, compare price (cents), stock, featured, description (the photo is the demo
/// image named by the slug)
type ProductRow = (
    &'static str,
    &'static str,
    &'static str,
    i64,
    Option<i64>,
    i32,
    bool,
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
        "Grand pot de fleur en terracotta fait main. Diamètre 45cm, idéal pour plantes d'extérieur.",
    ),
];

pub fn demo_categories() -> Vec<NewCategory> {
    CATEGORIES
        .iter()
        .map(|(name, slug, description)| NewCategory {
            name: (*name).to_string(),
            slug: (*slug).to_string(),
            description: Some((*description).to_string()),
            image: demo_reference(&format!("categorie-{slug}")),
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
            |(i, (name, slug, category, price, compare, stock, featured, description))| {
                SeedProduct {
                    product: NewProduct {
                        name: (*name).to_string(),
                        slug: (*slug).to_string(),
                        description: (*description).to_string(),
                        price: Money::from_cents(*price),
                        compare_price: compare.map(Money::from_cents),
                        images: demo_reference(slug).into_iter().collect(),
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
            .map(|(_, slug, _)| {
                products
                    .iter()
                    .filter(|p| p.product.category_slug.as_deref() == Some(slug))
                    .count()
            })
            .collect();
        assert_eq!(per_category, vec![5, 4, 3, 3, 2, 3]);
    }

    #[test]
    fn every_product_and_category_has_its_own_photo_that_decodes_at_the_declared_size() {
        let mut ids = std::collections::HashSet::new();
        for demo in demo_images() {
            let decoded = crate::images::encode::decode(demo.bytes).unwrap();
            assert_eq!(
                (decoded.width(), decoded.height()),
                (DEMO_SIDE, DEMO_SIDE),
                "{}",
                demo.name
            );
            assert!(
                ids.insert(demo.image.id),
                "{} is a copy of another photo",
                demo.name
            );
            assert_eq!(demo_image(demo.image.id).map(|d| d.name), Some(demo.name));
        }
        for p in demo_products() {
            let image = ImageRef::parse(p.product.images.first().unwrap()).unwrap();
            assert!(demo_image(image.id).is_some(), "{}", p.product.slug);
        }
        for c in demo_categories() {
            assert!(
                ImageRef::parse(c.image.as_deref().unwrap()).is_some(),
                "{}",
                c.slug
            );
        }
    }
}
