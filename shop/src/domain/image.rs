//! The shop's own product photos, as products refer to them and as browsers ask for them.
//!
//! An image is named by its content: [`ImageId`] is the first 128 bits of the SHA-256 of the uploaded file. A
//! product's `images` array holds an image's *reference*, `/images/<id>/<width>x<height>`, next to any external
//! URL an older catalogue kept. The reference carries the original's size, so a page can list every variant
//! (`srcset`) without asking the database. Variants are `/images/<id>/<width>.<webp|avif>`: the widths of
//! [`VARIANT_WIDTHS`] narrower than the original, and the original's own width when it is narrower than the
//! largest. Nothing is ever enlarged. A variant's URL never changes meaning, so it is cached for a year.

use std::fmt;

use sha2::{Digest, Sha256};

/// The widths variants are made at, in pixels.
pub const VARIANT_WIDTHS: [u32; 3] = [300, 600, 1200];
/// An upload must be at least this wide and this high: a smaller photo would be blurred on every card.
pub const MIN_SIDE: u32 = 300;
/// An upload may hold at most this many pixels (a 48-megapixel phone photo passes; a decompression bomb
/// does not).
pub const MAX_PIXELS: u64 = 50_000_000;
/// An upload may be at most this wide or this high.
pub const MAX_SIDE: u32 = 12_000;

/// Why an upload is not an image the shop takes (the French words are in `error/rules.rs`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ImageProblem {
    #[error("is not a JPEG, PNG or WebP image")]
    NotAnImage,
    #[error("could not be read as an image ({0})")]
    Unreadable(String),
    #[error("is {width}×{height} pixels; at least {MIN_SIDE}×{MIN_SIDE} are needed")]
    TooSmall { width: u32, height: u32 },
    #[error("is too large: at most {MAX_SIDE} pixels a side and {} megapixels are taken", MAX_PIXELS / 1_000_000)]
    TooLarge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ImageId([u8; 16]);

impl ImageId {
    /// The id of a file: its content, hashed.
    pub fn of(bytes: &[u8]) -> Self {
        let digest = Sha256::digest(bytes);
        let mut id = [0u8; 16];
        id.copy_from_slice(digest.get(..16).unwrap_or_default());
        ImageId(id)
    }

    /// 32 lower-case hex digits, nothing else.
    pub fn parse(raw: &str) -> Option<Self> {
        if raw.len() != 32 || !raw.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return None;
        }
        let mut id = [0u8; 16];
        hex::decode_to_slice(raw, &mut id).ok()?;
        Some(ImageId(id))
    }
}

impl fmt::Display for ImageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

/// The formats variants are encoded in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ImageFormat {
    Webp,
    Avif,
}

impl ImageFormat {
    pub const ALL: [ImageFormat; 2] = [ImageFormat::Avif, ImageFormat::Webp];

    pub fn extension(self) -> &'static str {
        match self {
            ImageFormat::Webp => "webp",
            ImageFormat::Avif => "avif",
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            ImageFormat::Webp => "image/webp",
            ImageFormat::Avif => "image/avif",
        }
    }
}

/// One variant of an image: a width and a format (`600.webp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Variant {
    pub width: u32,
    pub format: ImageFormat,
}

impl Variant {
    /// The file name of a variant's URL: `600.webp`, `300.avif`. Any other name is refused.
    pub fn parse(file: &str) -> Option<Self> {
        let (width, extension) = file.split_once('.')?;
        if width.is_empty() || width.starts_with('0') || !width.bytes().all(|b| b.is_ascii_digit())
        {
            return None;
        }
        let width = width.parse().ok()?;
        let format = ImageFormat::ALL
            .into_iter()
            .find(|f| f.extension() == extension)?;
        Some(Variant { width, format })
    }

    pub fn file_name(self) -> String {
        self.to_string()
    }
}

/// The file name: `600.webp`.
impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.width, self.format.extension())
    }
}

/// An uploaded image as products refer to it: its id and the size of the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImageRef {
    pub id: ImageId,
    pub width: u32,
    pub height: u32,
}

impl ImageRef {
    /// `/images/<id>/<width>x<height>`; anything else (an external URL) is not a reference.
    pub fn parse(reference: &str) -> Option<Self> {
        let rest = reference.strip_prefix("/images/")?;
        let (id, size) = rest.split_once('/')?;
        let (width, height) = size.split_once('x')?;
        let number = |s: &str| -> Option<u32> {
            (!s.is_empty() && !s.starts_with('0') && s.bytes().all(|b| b.is_ascii_digit()))
                .then(|| s.parse().ok())
                .flatten()
                .filter(|n| *n > 0 && *n <= MAX_SIDE)
        };
        Some(ImageRef {
            id: ImageId::parse(id)?,
            width: number(width)?,
            height: number(height)?,
        })
    }

    pub fn reference(&self) -> String {
        format!("/images/{}/{}x{}", self.id, self.width, self.height)
    }

    /// The widths of this image's variants, narrowest first.
    pub fn widths(&self) -> Vec<u32> {
        let largest = VARIANT_WIDTHS
            .iter()
            .copied()
            .max()
            .unwrap_or(self.width)
            .min(self.width);
        let mut widths: Vec<u32> = VARIANT_WIDTHS
            .iter()
            .copied()
            .filter(|w| *w < largest)
            .collect();
        widths.push(largest);
        widths
    }

    /// The largest variant in `format`.
    pub fn largest(&self, format: ImageFormat) -> Variant {
        Variant {
            width: self.widths().last().copied().unwrap_or(self.width),
            format,
        }
    }

    /// Whether this image has the variant `width` wide.
    pub fn has_width(&self, width: u32) -> bool {
        self.widths().contains(&width)
    }

    /// The height of the variant `width` wide, the proportions kept (at least a pixel).
    pub fn height_at(&self, width: u32) -> u32 {
        let height = u64::from(self.height) * u64::from(width) / u64::from(self.width.max(1));
        u32::try_from(height.max(1)).unwrap_or(u32::MAX)
    }

    /// The path of a variant, relative to the asset base.
    pub fn variant_path(&self, variant: Variant) -> String {
        let mut path = String::with_capacity(48);
        self.write_variant_path(&mut path, variant);
        path
    }

    /// [`ImageRef::variant_path`], written at the end of `out` (pages write many into one string).
    pub fn write_variant_path(&self, out: &mut String, variant: Variant) {
        use std::fmt::Write;
        let _ = write!(out, "/images/{}/{variant}", self.id);
    }
}

/// Where things are kept in the image store: the original as uploaded, and each variant.
pub fn original_key(id: ImageId) -> String {
    format!("images/{id}/original")
}

pub fn variant_key(id: ImageId, variant: Variant) -> String {
    format!("images/{id}/{variant}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_round_trips_and_lists_no_variant_wider_than_the_original() {
        let id = ImageId::of(b"photo");
        let large = ImageRef {
            id,
            width: 2000,
            height: 1500,
        };
        assert_eq!(ImageRef::parse(&large.reference()), Some(large));
        assert_eq!(large.widths(), vec![300, 600, 1200]);
        assert_eq!(large.height_at(600), 450);
        let small = ImageRef {
            id,
            width: 800,
            height: 800,
        };
        assert_eq!(small.widths(), vec![300, 600, 800]);
        assert!(small.has_width(800) && !small.has_width(1200));
        let exact = ImageRef {
            id,
            width: 600,
            height: 400,
        };
        assert_eq!(exact.widths(), vec![300, 600]);
    }

    #[test]
    fn only_well_formed_references_and_variant_names_parse() {
        let id = ImageId::of(b"x").to_string();
        assert!(ImageRef::parse(&format!("/images/{id}/800x600")).is_some());
        for bad in [
            "https://images.example.com/a.jpg".to_string(),
            format!("/images/{id}/800x0"),
            format!("/images/{id}/0800x600"),
            format!("/images/{id}/800x600/extra"),
            format!("/images/{}/800x600", id.to_uppercase()),
            format!("/images/{id}/99999x600"),
            "/images/abc/800x600".to_string(),
        ] {
            assert_eq!(ImageRef::parse(&bad), None, "{bad}");
        }
        assert_eq!(
            Variant::parse("600.webp"),
            Some(Variant {
                width: 600,
                format: ImageFormat::Webp
            })
        );
        for bad in [
            "600.png",
            "0600.webp",
            ".webp",
            "600",
            "6x0.avif",
            "600.webp.avif",
        ] {
            assert_eq!(Variant::parse(bad), None, "{bad}");
        }
    }
}
