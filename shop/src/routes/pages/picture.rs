//! A product photo as a page shows it: `<picture>` with AVIF and WebP `srcset`s for the shop's own images, a
//! plain `<img>` for an external URL, the placeholder when there is none.

use std::fmt::Write;

use crate::AppState;
use crate::domain::image::{ImageFormat, ImageRef, Variant};

pub struct Picture {
    /// What a browser without `srcset` shows.
    pub src: String,
    /// `srcset` per format; empty for an external URL.
    pub avif: String,
    pub webp: String,
    pub width: u32,
    pub height: u32,
}

impl Picture {
    /// A photo shown about `shown` CSS pixels wide (its `src` is the variant nearest to that).
    pub fn new(state: &AppState, source: Option<&str>, shown: u32) -> Self {
        let Some(source) = source else {
            return Picture::plain(
                state.assets().url("placeholder.svg").to_string(),
                shown,
                shown,
            );
        };
        let Some(image) = ImageRef::parse(source) else {
            return Picture::plain(source.to_string(), shown, shown);
        };
        let base = state.config().asset_base_url.as_deref().unwrap_or_default();
        let widths = image.widths();
        // Written straight into each string: a grid renders these for every card.
        let srcset = |format| {
            let mut out = String::with_capacity(widths.len() * (base.len() + 56));
            for (i, &width) in widths.iter().enumerate() {
                if i > 0 {
                    out.push_str(", ");
                }
                out.push_str(base);
                image.write_variant_path(&mut out, Variant { width, format });
                let _ = write!(out, " {width}w");
            }
            out
        };
        let fallback = widths
            .iter()
            .copied()
            .find(|w| *w >= shown)
            .or(widths.last().copied())
            .unwrap_or(image.width);
        let url =
            |width, format| format!("{base}{}", image.variant_path(Variant { width, format }));
        Picture {
            src: url(fallback, ImageFormat::Webp),
            avif: srcset(ImageFormat::Avif),
            webp: srcset(ImageFormat::Webp),
            width: fallback,
            height: image.height_at(fallback),
        }
    }

    /// An absolute URL of the photo at its largest (for structured data, which wants absolute URLs): from the
    /// asset host, else the public URL; an external URL as it is.
    pub fn largest_url(state: &AppState, source: &str) -> String {
        let Some(image) = ImageRef::parse(source) else {
            return source.to_string();
        };
        let config = state.config();
        let base = config
            .asset_base_url
            .as_deref()
            .or(config.public_url.as_deref())
            .unwrap_or_default()
            .trim_end_matches('/');
        format!(
            "{base}{}",
            image.variant_path(image.largest(ImageFormat::Webp))
        )
    }

    fn plain(src: String, width: u32, height: u32) -> Self {
        Picture {
            src,
            avif: String::new(),
            webp: String::new(),
            width,
            height,
        }
    }
}
