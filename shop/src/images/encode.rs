//! Decoding an upload and encoding its variants. CPU-bound: callers run these on the blocking pool, one at a
//! time (see `services::images`).

use std::io::Cursor;

use image::imageops::FilterType;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};

use crate::domain::image::{ImageFormat, ImageProblem, MAX_PIXELS, MAX_SIDE, MIN_SIDE};

/// An upload, decoded and turned upright (the EXIF orientation applied: phones store photos sideways).
pub struct Decoded {
    pub image: DynamicImage,
    pub content_type: &'static str,
}

impl Decoded {
    pub fn width(&self) -> u32 {
        self.image.width()
    }

    pub fn height(&self) -> u32 {
        self.image.height()
    }
}

/// Decodes an upload, refusing anything but JPEG, PNG and WebP, and any image too small or too large before
/// its pixels are allocated.
pub fn decode(bytes: &[u8]) -> Result<Decoded, ImageProblem> {
    let reader = ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|_| ImageProblem::NotAnImage)?;
    let content_type = match reader.format() {
        Some(image::ImageFormat::Jpeg) => "image/jpeg",
        Some(image::ImageFormat::Png) => "image/png",
        Some(image::ImageFormat::WebP) => "image/webp",
        _ => return Err(ImageProblem::NotAnImage),
    };
    if content_type == "image/jpeg" && !jpeg_complete(bytes) {
        return Err(ImageProblem::Unreadable(
            "the JPEG data stops before its end marker".into(),
        ));
    }
    let mut reader = reader;
    let mut limits = Limits::default();
    limits.max_image_width = Some(MAX_SIDE);
    limits.max_image_height = Some(MAX_SIDE);
    // Four bytes a pixel for the largest image taken, and room for the decoder's own buffers.
    limits.max_alloc = Some(MAX_PIXELS * 4 + 64 * 1024 * 1024);
    reader.limits(limits);
    let unreadable = |e: image::ImageError| match e {
        image::ImageError::Limits(_) => ImageProblem::TooLarge,
        other => ImageProblem::Unreadable(other.to_string()),
    };
    let mut decoder = reader.into_decoder().map_err(unreadable)?;
    let (width, height) = decoder.dimensions();
    if width > MAX_SIDE || height > MAX_SIDE || u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(ImageProblem::TooLarge);
    }
    let orientation = decoder.orientation().map_err(unreadable)?;
    let mut image = DynamicImage::from_decoder(decoder).map_err(unreadable)?;
    image.apply_orientation(orientation);
    if image.width() < MIN_SIDE || image.height() < MIN_SIDE {
        return Err(ImageProblem::TooSmall {
            width: image.width(),
            height: image.height(),
        });
    }
    Ok(Decoded {
        image,
        content_type,
    })
}

/// Whether a JPEG's last scan is followed by the end-of-image marker. A file cut short (an interrupted upload)
/// decodes without an error, its missing rows grey: it is refused here instead. In compressed data a 0xFF byte
/// is always followed by 0x00 or a restart marker, so 0xFF 0xD9 after the last scan's start is the real end.
fn jpeg_complete(bytes: &[u8]) -> bool {
    let last_scan = bytes.windows(2).rposition(|w| w == [0xFF, 0xDA]);
    let end = bytes.windows(2).rposition(|w| w == [0xFF, 0xD9]);
    matches!((last_scan, end), (Some(scan), Some(end)) if end > scan)
}

/// The image `width` pixels wide, the proportions kept; the image itself when it is that wide already.
pub fn resized(image: &DynamicImage, width: u32, height: u32) -> DynamicImage {
    if image.width() == width {
        return image.clone();
    }
    image.resize_exact(width, height, FilterType::CatmullRom)
}

/// Encodes a variant. Photos are lossy in both formats: WebP at quality 80, AVIF at 62 (about the same
/// look, a third smaller). Transparency is kept.
pub fn encode(image: &DynamicImage, format: ImageFormat) -> Result<Vec<u8>, ImageProblem> {
    let failed = |what: String| ImageProblem::Unreadable(format!("encoding {what}"));
    let (width, height) = (image.width(), image.height());
    let alpha = image.color().has_alpha();
    match format {
        ImageFormat::Webp => {
            let encoded = if alpha {
                let pixels = image.to_rgba8();
                webp::Encoder::from_rgba(pixels.as_raw(), width, height).encode_simple(false, 80.0)
            } else {
                let pixels = image.to_rgb8();
                webp::Encoder::from_rgb(pixels.as_raw(), width, height).encode_simple(false, 80.0)
            };
            encoded
                .map(|m| m.to_vec())
                .map_err(|e| failed(format!("WebP: {e:?}")))
        }
        ImageFormat::Avif => {
            let encoder = ravif::Encoder::new()
                .with_quality(62.0)
                .with_alpha_quality(70.0)
                .with_speed(8);
            let width = width as usize;
            let height = height as usize;
            let encoded = if alpha {
                let pixels: Vec<ravif::RGBA8> = image
                    .to_rgba8()
                    .pixels()
                    .map(|p| {
                        let [r, g, b, a] = p.0;
                        ravif::RGBA8 { r, g, b, a }
                    })
                    .collect();
                encoder.encode_rgba(ravif::Img::new(pixels.as_slice(), width, height))
            } else {
                let pixels: Vec<ravif::RGB8> = image
                    .to_rgb8()
                    .pixels()
                    .map(|p| {
                        let [r, g, b] = p.0;
                        ravif::RGB8 { r, g, b }
                    })
                    .collect();
                encoder.encode_rgb(ravif::Img::new(pixels.as_slice(), width, height))
            };
            encoded
                .map(|e| e.avif_file)
                .map_err(|e| failed(format!("AVIF: {e}")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageBuffer, Rgb, Rgba};

    fn png(width: u32, height: u32, alpha: bool) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        if alpha {
            ImageBuffer::from_fn(width, height, |x, y| {
                Rgba([(x % 256) as u8, (y % 256) as u8, 90, 128])
            })
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        } else {
            ImageBuffer::from_fn(width, height, |x, y| {
                Rgb([(x % 256) as u8, (y % 256) as u8, 90])
            })
            .write_to(&mut out, image::ImageFormat::Png)
            .unwrap();
        }
        out.into_inner()
    }

    #[test]
    fn an_upload_becomes_webp_and_avif_variants_that_decode_at_their_width() {
        for alpha in [false, true] {
            let decoded = decode(&png(640, 480, alpha)).unwrap();
            assert_eq!(
                (decoded.width(), decoded.height(), decoded.content_type),
                (640, 480, "image/png")
            );
            let small = resized(&decoded.image, 300, 225);
            let webp = encode(&small, ImageFormat::Webp).unwrap();
            assert_eq!(webp.get(..4), Some(b"RIFF".as_slice()));
            let back = image::load_from_memory(&webp).unwrap();
            assert_eq!((back.width(), back.height()), (300, 225));
            let avif = encode(&small, ImageFormat::Avif).unwrap();
            assert_eq!(
                avif.get(4..12),
                Some(b"ftypavif".as_slice()),
                "an AVIF file"
            );
        }
    }

    #[test]
    fn what_is_not_a_usable_image_is_refused_before_it_is_decoded() {
        assert_eq!(decode(b"GIF89a....").err(), Some(ImageProblem::NotAnImage));
        assert_eq!(
            decode(b"<svg xmlns='http://www.w3.org/2000/svg'/>").err(),
            Some(ImageProblem::NotAnImage)
        );
        assert_eq!(
            decode(&png(200, 600, false)).err(),
            Some(ImageProblem::TooSmall {
                width: 200,
                height: 600
            })
        );
        // A decompression bomb (a header declaring 12001 × 12001 pixels) is in tests/suite/images.rs.
        let mut cut = png(400, 400, false);
        cut.truncate(cut.len() / 2);
        assert!(matches!(decode(&cut), Err(ImageProblem::Unreadable(_))));
    }
}
