//! Text rendering for the `watermark` action's text form (spec §3.15): one line of text becomes
//! a tight RGBA layer (transparent background) in the requested font, colour, size, shadow and
//! rotation. The watermark action places and blends that layer; this module only draws it.
//!
//! Fonts: OSS names seven fonts; the FangZheng (方正) faces are commercial, so each name maps to
//! a free face of the same style, read from Debian packages:
//!
//! | OSS `type`          | file (face 0 of a `.ttc`)                          | Debian package        |
//! |---------------------|----------------------------------------------------|-----------------------|
//! | `wqy-zenhei`        | /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc        | fonts-wqy-zenhei      |
//! | `wqy-microhei`      | /usr/share/fonts/truetype/wqy/wqy-microhei.ttc      | fonts-wqy-microhei    |
//! | `fangzhengheiti`    | (Hei) same as `wqy-microhei`                        | fonts-wqy-microhei    |
//! | `fangzhengkaiti`    | (Kai) /usr/share/fonts/truetype/arphic/ukai.ttc     | fonts-arphic-ukai     |
//! | `fangzhengshusong`  | (Song) /usr/share/fonts/truetype/arphic/uming.ttc   | fonts-arphic-uming    |
//! | `fangzhengfangsong` | (FangSong) same as `fangzhengshusong`               | fonts-arphic-uming    |
//! | `droidsansfallback` | /usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf | fonts-droid-fallback |
//!
//! Face 0 of each collection is the regular Simplified Chinese face (WenQuanYi Zen Hei / Micro
//! Hei rather than their Mono variants, AR PL UKai CN, AR PL UMing CN). `IMGEDGE_FONT_DIR`, if
//! set, is searched first for the same file names. A file is read and parsed once, on first use,
//! and kept for the life of the process (a missing one is remembered as missing too).
//!
//! Characters the chosen font lacks fall back to wqy-zenhei, then droidsansfallback (Droid has
//! no Latin at all, Zen Hei lacks a few symbols); a character none has is skipped.
//!
//! Size: OSS's "font size in px" is read as the em size, as FreeType's `FT_Set_Pixel_Sizes`,
//! CSS `font-size` and ImageMagick's `-pointsize` (72 dpi) mean it: an ideograph, one em wide,
//! advances `size` px. ab_glyph's `PxScale` is the ascent − descent height instead, so it is
//! converted per font. The line box is the chosen font's ascent − descent at that scale.

use std::path::PathBuf;
use std::sync::OnceLock;

use ab_glyph::{point, Font, FontArc, FontVec, GlyphId, OutlinedGlyph, PxScale, ScaleFont};
use image::{imageops, Rgba, RgbaImage};

use crate::transform::error::{Code, Error, Result};
use crate::transform::ops::rotate::{bounds, rotate_any, RotateStep};

/// The fonts OSS names, mapped to free fonts installed from Debian packages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FontName {
    /// OSS's default.
    #[default]
    WqyZenhei,
    WqyMicrohei,
    FangzhengShusong,
    FangzhengKaiti,
    FangzhengHeiti,
    FangzhengFangsong,
    DroidSansFallback,
}

impl FontName {
    pub const ALL: [FontName; 7] = [
        FontName::WqyZenhei,
        FontName::WqyMicrohei,
        FontName::FangzhengShusong,
        FontName::FangzhengKaiti,
        FontName::FangzhengHeiti,
        FontName::FangzhengFangsong,
        FontName::DroidSansFallback,
    ];

    /// The font for an OSS `type` value (already base64-decoded), spelled exactly as OSS does.
    pub fn parse(name: &str) -> Option<FontName> {
        FontName::ALL.into_iter().find(|f| f.name() == name)
    }

    /// The OSS spelling, e.g. `wqy-zenhei`.
    pub fn name(self) -> &'static str {
        match self {
            FontName::WqyZenhei => "wqy-zenhei",
            FontName::WqyMicrohei => "wqy-microhei",
            FontName::FangzhengShusong => "fangzhengshusong",
            FontName::FangzhengKaiti => "fangzhengkaiti",
            FontName::FangzhengHeiti => "fangzhengheiti",
            FontName::FangzhengFangsong => "fangzhengfangsong",
            FontName::DroidSansFallback => "droidsansfallback",
        }
    }

    fn file(self) -> FontFile {
        match self {
            FontName::WqyZenhei => FontFile::Zenhei,
            FontName::WqyMicrohei | FontName::FangzhengHeiti => FontFile::Microhei,
            FontName::FangzhengKaiti => FontFile::Ukai,
            FontName::FangzhengShusong | FontName::FangzhengFangsong => FontFile::Uming,
            FontName::DroidSansFallback => FontFile::Droid,
        }
    }
}

/// One font file; the discriminant indexes `FILE_NAMES` and `Fonts::loaded`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FontFile {
    Zenhei,
    Microhei,
    Ukai,
    Uming,
    Droid,
}

const FILE_NAMES: [&str; 5] =
    ["wqy-zenhei.ttc", "wqy-microhei.ttc", "ukai.ttc", "uming.ttc", "DroidSansFallbackFull.ttf"];
const SYSTEM_DIRS: [&str; 3] =
    ["/usr/share/fonts/truetype/wqy", "/usr/share/fonts/truetype/arphic", "/usr/share/fonts/truetype/droid"];
/// Tried, in order, for characters the chosen font lacks.
const FALLBACK: [FontFile; 2] = [FontFile::Zenhei, FontFile::Droid];

/// Where font files come from; each is loaded once on first use and shared across threads.
pub struct Fonts {
    dirs: Vec<PathBuf>,
    loaded: [OnceLock<Option<FontArc>>; 5],
}

impl Fonts {
    /// The process-wide fonts: `IMGEDGE_FONT_DIR` (if set), then the Debian directories.
    pub fn system() -> &'static Fonts {
        static SYSTEM: OnceLock<Fonts> = OnceLock::new();
        SYSTEM.get_or_init(|| {
            let env = std::env::var_os("IMGEDGE_FONT_DIR").map(PathBuf::from);
            Fonts::in_dirs(env.into_iter().chain(SYSTEM_DIRS.iter().map(PathBuf::from)).collect())
        })
    }

    /// Fonts looked up by file name in `dirs`, first match wins (tests, unusual deployments).
    pub fn in_dirs(dirs: Vec<PathBuf>) -> Fonts {
        Fonts { dirs, loaded: Default::default() }
    }

    fn get(&self, file: FontFile) -> Option<&FontArc> {
        self.loaded[file as usize].get_or_init(|| self.load(file)).as_ref()
    }

    fn load(&self, file: FontFile) -> Option<FontArc> {
        let name = FILE_NAMES[file as usize];
        let bytes = self.dirs.iter().find_map(|d| std::fs::read(d.join(name)).ok())?;
        // Face 0 of a collection is the regular Simplified Chinese face (see the header).
        FontVec::try_from_vec_and_index(bytes, 0).ok().map(FontArc::new)
    }
}

/// How to draw the text; `Default` is OSS's defaults (wqy-zenhei, 40 px, black, no shadow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextStyle {
    pub font: FontName,
    /// Em size in px, 1..=1000.
    pub size: u32,
    pub color: [u8; 3],
    /// Shadow opacity in percent, 0..=100; 0 = no shadow.
    pub shadow: u8,
    /// Clockwise degrees, 0..=360.
    pub rotate: u32,
}

impl Default for TextStyle {
    fn default() -> Self {
        TextStyle { font: FontName::WqyZenhei, size: 40, color: [0, 0, 0], shadow: 0, rotate: 0 }
    }
}

/// Largest side and area of a text layer, before and after rotation: bounds memory per request.
const MAX_SIDE: u32 = 16384;
const MAX_PIXELS: u64 = 16_777_216;

/// Renders one line of text; returns a tight RGBA layer (transparent background) containing the
/// glyphs (and the shadow, if any), rotated clockwise by `rotate` with the canvas grown to fit.
///
/// The unrotated layer spans the line box vertically (grown if a glyph pokes out) and from the
/// pen origin to the last advance horizontally (grown likewise), plus the shadow offset.
pub fn render(fonts: &Fonts, text: &str, style: &TextStyle) -> Result<RgbaImage> {
    if text.is_empty() {
        return Err(watermark_error("watermark text is empty"));
    }
    if !(1..=1000).contains(&style.size) || style.shadow > 100 || style.rotate > 360 {
        return Err(Error::invalid(None, "watermark text style out of range"));
    }
    let primary = style.font.file();
    let missing = || watermark_error(format!("font {} is not available", style.font.name()));
    let mut chain = vec![fonts.get(primary).ok_or_else(missing)?];
    // A fallback that failed to load is just not tried; only the chosen font is required.
    chain.extend(FALLBACK.iter().filter(|&&f| f != primary).filter_map(|&f| fonts.get(f)));
    let size = style.size as f32;
    let scaled: Vec<_> = chain
        .iter()
        .map(|f| {
            let upem = f.units_per_em().unwrap_or(f.height_unscaled());
            f.as_scaled(PxScale::from(size * f.height_unscaled() / upem))
        })
        .collect();

    // Layout on one baseline at y = 0, y growing downwards (ab_glyph's glyph space).
    let (mut x0, mut x1) = (0f32, 0f32);
    let (mut y0, mut y1) = (-scaled[0].ascent(), -scaled[0].descent());
    let mut pen = 0f32;
    let mut prev: Option<(usize, GlyphId)> = None;
    let mut glyphs: Vec<OutlinedGlyph> = Vec::new();
    for c in text.chars().filter(|c| !c.is_control()) {
        let found = scaled.iter().enumerate().find_map(|(i, f)| {
            let id = f.glyph_id(c);
            (id.0 != 0).then_some((i, id))
        });
        let Some((fi, id)) = found else { continue };
        let font = &scaled[fi];
        // Kerning pairs only exist within one font.
        if let Some((_, pid)) = prev.filter(|&(pf, _)| pf == fi) {
            pen += font.kern(pid, id);
        }
        if let Some(g) = font.outline_glyph(id.with_scale_and_position(font.scale(), point(pen, 0.0))) {
            let b = g.px_bounds();
            (x0, x1, y0, y1) = (x0.min(b.min.x), x1.max(b.max.x), y0.min(b.min.y), y1.max(b.max.y));
            glyphs.push(g);
        }
        pen += font.h_advance(id);
        x1 = x1.max(pen);
        prev = Some((fi, id));
        // Stop laying out (and outlining) a line that is already too long.
        check_size((x1 - x0) as u32, 1)?;
    }
    if glyphs.is_empty() && pen <= 0.0 {
        return Err(watermark_error("watermark text has no drawable character"));
    }

    let (left, top) = (x0.floor(), y0.floor());
    let shadow_d = if style.shadow > 0 { (style.size / 20).max(1) } else { 0 };
    let w = ((x1.ceil() - left) as u32).max(1).saturating_add(shadow_d);
    let h = ((y1.ceil() - top) as u32).max(1).saturating_add(shadow_d);
    check_size(w, h)?;

    // Coverage of the text alone, unioned where glyphs overlap; the shadow reuses it shifted.
    let mut cov = vec![0f32; w as usize * h as usize];
    for g in &glyphs {
        let b = g.px_bounds();
        let (gx, gy) = ((b.min.x - left) as usize, (b.min.y - top) as usize);
        g.draw(|x, y, c| {
            let p = &mut cov[(gy + y as usize) * w as usize + gx + x as usize];
            *p = 1.0 - (1.0 - *p) * (1.0 - c.clamp(0.0, 1.0));
        });
    }
    let shadow_a = style.shadow as f32 / 100.0;
    let [r, g, b] = style.color.map(|c| c as f32);
    let layer = RgbaImage::from_fn(w, h, |x, y| {
        let t = cov[(y * w + x) as usize];
        let s = if shadow_d > 0 && x >= shadow_d && y >= shadow_d {
            cov[((y - shadow_d) * w + x - shadow_d) as usize] * shadow_a
        } else {
            0.0
        };
        // Text over a black shadow: the shadow adds alpha but no colour.
        let a = t + s * (1.0 - t);
        if a <= 0.0 {
            return Rgba([0, 0, 0, 0]);
        }
        let k = t / a;
        let ch = |v: f32| (v * k).round().clamp(0.0, 255.0) as u8;
        Rgba([ch(r), ch(g), ch(b), (a * 255.0).round().clamp(0.0, 255.0) as u8])
    });
    rotate(layer, style.rotate % 360)
}

fn rotate(layer: RgbaImage, deg: u32) -> Result<RgbaImage> {
    Ok(match deg {
        0 => layer,
        90 => imageops::rotate90(&layer),
        180 => imageops::rotate180(&layer),
        270 => imageops::rotate270(&layer),
        _ => {
            let (w, h) = bounds(layer.width(), layer.height(), deg);
            // A long line at 45° can need ~9× its own pixels; bound that too.
            check_size(w, h)?;
            rotate_any(&layer, &RotateStep { deg, w, h })
        }
    })
}

fn check_size(w: u32, h: u32) -> Result<()> {
    if w > MAX_SIDE || h > MAX_SIDE || w as u64 * h as u64 > MAX_PIXELS {
        return Err(Error::too_large(None, "watermark text is too large"));
    }
    Ok(())
}

fn watermark_error(message: impl Into<std::borrow::Cow<'static, str>>) -> Error {
    Error::new(Code::WatermarkError, None, message)
}

#[cfg(test)]
#[path = "text_tests.rs"]
mod tests;
