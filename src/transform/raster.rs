//! The decoded image the actions work on: one frame for still images, several for animations.
//! Every frame holds 8-bit RGB or RGBA pixels; decoders convert anything else on the way in, so
//! actions only ever see these two layouts.

use image::{DynamicImage, RgbaImage};

/// One frame of a (possibly animated) image.
#[derive(Debug, Clone)]
pub struct Frame {
    /// `DynamicImage::ImageRgb8` or `DynamicImage::ImageRgba8`, nothing else.
    pub pixels: DynamicImage,
    /// How long the frame is shown, in milliseconds (0 for still images).
    pub delay_ms: u32,
}

/// A decoded image.
#[derive(Debug, Clone)]
pub struct Image {
    /// At least one frame; all frames have the same size.
    pub frames: Vec<Frame>,
    /// Animation loop count (0 = forever), kept for GIF/WebP output.
    pub loop_count: u16,
}

impl Image {
    /// A still image from one buffer (converted to RGB8/RGBA8 if needed).
    pub fn still(pixels: DynamicImage) -> Self {
        Image { frames: vec![Frame { pixels: normalize(pixels), delay_ms: 0 }], loop_count: 0 }
    }

    pub fn width(&self) -> u32 {
        self.frames[0].pixels.width()
    }

    pub fn height(&self) -> u32 {
        self.frames[0].pixels.height()
    }

    pub fn is_animated(&self) -> bool {
        self.frames.len() > 1
    }

    /// Whether any frame carries an alpha channel.
    pub fn has_alpha(&self) -> bool {
        self.frames.iter().any(|f| f.pixels.color().has_alpha())
    }

    /// Drops every frame but the first (animated input that becomes a still image).
    pub fn keep_first_frame(&mut self) {
        self.frames.truncate(1);
        self.frames[0].delay_ms = 0;
    }

    /// A still image passed through `f` (the decoders' per-frame hook).
    pub fn map_still<E>(
        mut self,
        f: impl FnOnce(DynamicImage) -> Result<DynamicImage, E>,
    ) -> Result<Self, E> {
        let px = std::mem::take(&mut self.frames[0].pixels);
        self.frames[0].pixels = normalize(f(px)?);
        Ok(self)
    }

    /// Applies `f` to every frame's pixels.
    pub fn map_frames(&mut self, mut f: impl FnMut(DynamicImage) -> DynamicImage) {
        for frame in &mut self.frames {
            let px = std::mem::take(&mut frame.pixels);
            frame.pixels = normalize(f(px));
        }
    }

    /// Applies a fallible `f` to every frame's pixels.
    pub fn try_map_frames<E>(
        &mut self,
        mut f: impl FnMut(DynamicImage) -> Result<DynamicImage, E>,
    ) -> Result<(), E> {
        for frame in &mut self.frames {
            let px = std::mem::take(&mut frame.pixels);
            frame.pixels = normalize(f(px)?);
        }
        Ok(())
    }
}

/// Converts any pixel layout to RGB8 (no alpha) or RGBA8 (alpha).
pub fn normalize(img: DynamicImage) -> DynamicImage {
    match img {
        DynamicImage::ImageRgb8(_) | DynamicImage::ImageRgba8(_) => img,
        other if other.color().has_alpha() => DynamicImage::ImageRgba8(other.to_rgba8()),
        other => DynamicImage::ImageRgb8(other.to_rgb8()),
    }
}

/// The pixels as RGBA8, converting an RGB8 buffer (opaque) if needed.
pub fn into_rgba(img: DynamicImage) -> RgbaImage {
    match img {
        DynamicImage::ImageRgba8(buf) => buf,
        other => other.to_rgba8(),
    }
}
