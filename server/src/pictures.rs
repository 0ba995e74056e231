//! Pictures people did not make here (a linked page's image; later, uploads): decoded
//! only when their size is known to be within [`MAX_PIXELS`] (a small file that claims
//! a huge canvas, a decompression bomb, is refused before a pixel is allocated), turned
//! upright by their EXIF orientation, and written again as WebP thumbnails. What is
//! served is only those new pixels: none of the original's metadata (GPS position,
//! camera, comments) survives. The work is the CPU's, so it runs off the async workers,
//! a few pictures at a time ([`Thumbnailer`]).

use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use std::io::Cursor;
use std::sync::Arc;
use tokio::sync::Semaphore;

/// The most pixels a picture may have to be decoded: 40 megapixels.
pub const MAX_PIXELS: u64 = 40_000_000;
/// The longest side of the small thumbnail (a link's card, a message's picture) and of
/// the large one (the viewer).
pub const SMALL_SIDE: u32 = 400;
pub const LARGE_SIDE: u32 = 1600;

/// Why a picture was not made into thumbnails.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("not a PNG, JPEG, GIF or WebP picture")]
    NotAPicture,
    #[error("{0}×{1} is more than {MAX_PIXELS} pixels")]
    TooManyPixels(u32, u32),
    #[error("the picture cannot be read: {0}")]
    Broken(String),
}

/// A picture's thumbnails (WebP, one per side asked for) and its size upright.
#[derive(Debug, Clone)]
pub struct Thumbnails {
    pub webp: Vec<Vec<u8>>,
    pub width: u32,
    pub height: u32,
}

/// Makes `bytes` (a PNG, JPEG, GIF or WebP picture, told by its content) into a
/// thumbnail no larger than each of `sides` (e.g. [`SMALL_SIDE`], [`LARGE_SIDE`]). CPU
/// work: see [`Thumbnailer`].
pub fn thumbnails(bytes: &[u8], sides: &[u32]) -> Result<Thumbnails, Refused> {
    let reader = ImageReader::new(Cursor::new(bytes)).with_guessed_format().map_err(|_| Refused::NotAPicture)?;
    match reader.format() {
        Some(
            image::ImageFormat::Png | image::ImageFormat::Jpeg | image::ImageFormat::Gif | image::ImageFormat::WebP,
        ) => {}
        _ => return Err(Refused::NotAPicture),
    }
    // The size first (from the header alone), then the decoding, within memory limits.
    let mut reader = reader;
    reader.no_limits();
    let broken = |e: image::ImageError| Refused::Broken(e.to_string());
    let mut decoder = reader.into_decoder().map_err(broken)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Err(Refused::TooManyPixels(width, height));
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_PIXELS * 4 + (64 << 20));
    decoder.set_limits(limits).map_err(broken)?;
    let orientation = decoder.orientation().map_err(broken)?;
    let mut picture = DynamicImage::from_decoder(decoder).map_err(broken)?;
    picture.apply_orientation(orientation);
    let webp = sides.iter().map(|side| webp(&picture, *side)).collect::<Result<_, _>>()?;
    Ok(Thumbnails { webp, width: picture.width(), height: picture.height() })
}

/// `picture` no larger than `side` on its longest side, as a lossless WebP (new pixels
/// only: no metadata is written).
fn webp(picture: &DynamicImage, side: u32) -> Result<Vec<u8>, Refused> {
    let scaled = match picture.width().max(picture.height()) > side {
        true => picture.thumbnail(side, side),
        false => picture.clone(),
    };
    let pixels = match scaled.color().has_alpha() {
        true => DynamicImage::ImageRgba8(scaled.to_rgba8()),
        false => DynamicImage::ImageRgb8(scaled.to_rgb8()),
    };
    let mut out = Vec::new();
    pixels
        .write_with_encoder(image::codecs::webp::WebPEncoder::new_lossless(&mut out))
        .map_err(|e| Refused::Broken(e.to_string()))?;
    Ok(out)
}

/// Makes thumbnails on the blocking threads, at most as many at once as the machine has
/// cores; more wait their turn.
#[derive(Clone)]
pub struct Thumbnailer {
    turns: Arc<Semaphore>,
}

impl Default for Thumbnailer {
    fn default() -> Self {
        let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
        Thumbnailer { turns: Arc::new(Semaphore::new(cores)) }
    }
}

impl Thumbnailer {
    pub async fn make(&self, bytes: bytes::Bytes, sides: &'static [u32]) -> Result<Thumbnails, Refused> {
        let _turn = self.turns.acquire().await.map_err(|e| Refused::Broken(e.to_string()))?;
        tokio::task::spawn_blocking(move || thumbnails(&bytes, sides))
            .await
            .map_err(|e| Refused::Broken(format!("the thumbnailer stopped: {e}")))?
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ExtendedColorType, ImageEncoder, RgbImage};

    /// A JPEG `w`×`h` (left half red, right half blue) with EXIF saying `orientation`
    /// and a GPS position.
    fn photo(w: u32, h: u32, orientation: u8) -> Vec<u8> {
        let picture =
            RgbImage::from_fn(w, h, |x, _| if x < w / 2 { image::Rgb([255, 0, 0]) } else { image::Rgb([0, 0, 255]) });
        // A little-endian TIFF header, then one directory: the orientation, and a GPS
        // directory pointer (the "GPS" bytes the served picture must not carry).
        let mut exif = b"II\x2a\x00\x08\x00\x00\x00\x02\x00".to_vec();
        exif.extend_from_slice(&[0x12, 0x01, 0x03, 0x00, 0x01, 0x00, 0x00, 0x00, orientation, 0, 0, 0]);
        exif.extend_from_slice(&[0x25, 0x88, 0x04, 0x00, 0x01, 0x00, 0x00, 0x00, 0x26, 0, 0, 0]);
        exif.extend_from_slice(&[0, 0, 0, 0]);
        exif.extend_from_slice(b"GPS 52.3676N 4.9041E secret place");
        let mut out = Vec::new();
        let mut encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
        encoder.set_exif_metadata(exif).unwrap();
        encoder.write_image(picture.as_raw(), w, h, ExtendedColorType::Rgb8).unwrap();
        out
    }

    #[test]
    fn a_photo_is_turned_upright_and_served_without_its_metadata() {
        let jpeg = photo(600, 200, 6);
        assert!(jpeg.windows(3).any(|w| w == b"GPS"), "the original carries its position");
        let made = thumbnails(&jpeg, &[SMALL_SIDE, LARGE_SIDE]).unwrap();
        // Orientation 6: turned a quarter clockwise to be upright.
        assert_eq!((made.width, made.height), (200, 600));
        for webp in &made.webp {
            assert_eq!(&webp[..4], b"RIFF");
            assert_eq!(&webp[8..12], b"WEBP");
            for marker in [&b"GPS"[..], b"Exif", b"EXIF", b"secret place"] {
                assert!(!webp.windows(marker.len()).any(|w| w == marker), "{marker:?} in the thumbnail");
            }
        }
        let small = image::load_from_memory(&made.webp[0]).unwrap();
        let large = image::load_from_memory(&made.webp[1]).unwrap();
        assert_eq!((large.width(), large.height()), (200, 600), "never made larger");
        assert_eq!((small.width(), small.height()), (133, 400), "the small one fits 400 px");
        // Upright: what was the left (red) is now on top.
        let top = small.to_rgb8().get_pixel(66, 20).0;
        assert!(top[0] > 200 && top[2] < 60, "red on top: {top:?}");
    }

    /// CRC-32 of a PNG chunk's type and data.
    #[test]
    fn a_decompression_bomb_is_refused_before_its_pixels_are_made() {
        // 80 bytes that claim 10,000 × 10,000 pixels (100 MB to decode, 400 MB as RGBA).
        let bomb = testkit::pictures::png_claiming(10_000, 10_000);
        assert!(bomb.len() < 100);
        let started = std::time::Instant::now();
        assert_eq!(thumbnails(&bomb, &[SMALL_SIDE]).unwrap_err(), Refused::TooManyPixels(10_000, 10_000));
        assert!(started.elapsed() < std::time::Duration::from_millis(100), "{:?}", started.elapsed());
        // Just under the cap, the same lie is decoded as far as its data goes, and fails.
        assert!(matches!(
            thumbnails(&testkit::pictures::png_claiming(100, 100), &[SMALL_SIDE]).unwrap_err(),
            Refused::Broken(_)
        ));
    }

    #[test]
    fn what_is_not_a_picture_is_said_so() {
        assert_eq!(thumbnails(b"<svg onload=alert(1)></svg>", &[SMALL_SIDE]).unwrap_err(), Refused::NotAPicture);
        assert_eq!(thumbnails(b"", &[SMALL_SIDE]).unwrap_err(), Refused::NotAPicture);
        assert!(matches!(thumbnails(b"\x89PNG\r\n\x1a\nbroken", &[SMALL_SIDE]).unwrap_err(), Refused::Broken(_)));
    }
}
